"""How a study speaks of its failed trials (the failure model itself: `hpsearch.study.loop`).

Contract:
- `describe_failure(study, trial)`: a failed trial's first error line ('Type: message') and
  where its whole error text is: `hpsearch results <run folder> --trial N` for a stored
  study, `study.trials[N].error` for one in memory.
- `check_some_trial_worked(study)`: `AllTrialsFailed` (a `StudyError`) when the study has
  finished trials and every one failed, naming the last to finish (`describe_failure`).
- `check_max_failures(limit)`: `StudyError` unless a study's `max_consecutive_failures` (the
  loop stops the study with `TooManyFailuresError` after that many failures in a row) is None
  or an integer >= 1.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hpsearch.exceptions import AllTrialsFailed, StudyError
from hpsearch.trial import FrozenTrial, TrialState

if TYPE_CHECKING:
    from hpsearch.study.study import Study

__all__ = ["check_max_failures", "check_some_trial_worked", "describe_failure"]


def describe_failure(study: Study, trial: FrozenTrial) -> str:
    """'Type: message (trial N; its traceback: <where>)'; see the module docstring."""
    first = ((trial.error or "").strip() or "unknown error").splitlines()[0]
    where = (f"hpsearch results {study.path} --trial {trial.number}" if study.path
             else f"study.trials[{trial.number}].error")
    return f"{first} (trial {trial.number}; its traceback: {where})"


def check_some_trial_worked(study: Study) -> None:
    """AllTrialsFailed when every finished trial of the study failed."""
    finished = [t for t in study.trials if t.state.is_finished]
    if finished and all(t.state is TrialState.FAILED for t in finished):
        last = max(finished, key=lambda t: t.finished_at or 0.0)
        raise AllTrialsFailed(f"every trial failed ({len(finished)} trials); last error: "
                              f"{describe_failure(study, last)}")


def check_max_failures(limit: object) -> None:
    """StudyError unless `limit` is None or an integer >= 1 (see the module docstring)."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise StudyError(f"max_consecutive_failures must be a positive integer or None, got "
                         f"{limit!r}")
