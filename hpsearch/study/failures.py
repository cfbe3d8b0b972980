"""How a study speaks of its failed trials (the failure model itself: `hpsearch.study.loop`).

Contract:
- `describe_failure(path, trial)`: a failed trial's first error line ('Type: message') and
  where its whole error text is: `hpsearch results <run folder> --trial N` for a study stored
  at `path`, `study.trials[N].error` for one in memory (`path` None).
- `check_some_trial_worked(trials, path)`: `AllTrialsFailed` (a `StudyError`) when a study's
  `trials` include finished ones and every one failed, naming the last to finish
  (`describe_failure`).
- `check_max_failures(limit)`: `StudyError` unless a study's `max_consecutive_failures` (the
  loop stops the study with `TooManyFailuresError` after that many failures in a row) is None
  or an integer >= 1.
"""

from __future__ import annotations

from collections.abc import Iterable

from hpsearch.exceptions import AllTrialsFailed, StudyError
from hpsearch.trial import FrozenTrial, TrialState

__all__ = ["check_max_failures", "check_some_trial_worked", "describe_failure"]


def describe_failure(path: str | None, trial: FrozenTrial) -> str:
    """'Type: message (trial N; its traceback: <where>)'; see the module docstring."""
    first = ((trial.error or "").strip() or "unknown error").splitlines()[0]
    where = (f"hpsearch results {path} --trial {trial.number}" if path
             else f"study.trials[{trial.number}].error")
    return f"{first} (trial {trial.number}; its traceback: {where})"


def check_some_trial_worked(trials: Iterable[FrozenTrial], path: str | None) -> None:
    """AllTrialsFailed when every finished trial of a study failed."""
    finished = [t for t in trials if t.state.is_finished]
    if finished and all(t.state is TrialState.FAILED for t in finished):
        last = max(finished, key=lambda t: t.finished_at or 0.0)
        raise AllTrialsFailed(f"every trial failed ({len(finished)} trials); last error: "
                              f"{describe_failure(path, last)}")


def check_max_failures(limit: object) -> None:
    """StudyError unless `limit` is None or an integer >= 1 (see the module docstring)."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise StudyError(f"max_consecutive_failures must be a positive integer or None, got "
                         f"{limit!r}")
