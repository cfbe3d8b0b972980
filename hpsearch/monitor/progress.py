"""What a study says while it runs: one log line per finished trial, and the live progress
line of `study.optimize(..., show_progress=True)` (and of `hpsearch run` on a terminal).

Contract:
- `log_trial(study, trial)` logs one line per told trial on the `hpsearch.trials` logger
  (a child of `hpsearch`): `trial 7 complete: value 0.9749; best 0.9749 (trial 7); 2.31 s`;
  INFO for complete and pruned trials, WARNING for failed ones (with the error's first
  line). The params follow at DEBUG.
- `ProgressLine(name, total)`: a Rich progress bar on stderr (in a notebook, Rich's own
  widget): done/total, running, failed, best so far, elapsed time and ETA. The loop calls
  `start(study, done)`, `update(study, running)` whenever a trial starts or finishes (so
  `running` counts the busy workers, not the trials told), and `stop()`. Log records
  written to stderr while it shows appear above the bar.
- `start_summary(study, n_trials) -> str`: the one line a run starts with: how many trials
  are kept, how many interrupted ones run again and how many are new, or that there is
  nothing to do.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from hpsearch.trial import FrozenTrial, TrialState


class Study(Protocol):
    """What the log lines and the progress line read of a study (`hp.Study` provides it)."""

    directions: tuple[str, ...]
    tally: Any  # counts by state, best trial (hpsearch.study.tally.Tally)

    @property
    def trials(self) -> list[FrozenTrial]: ...

    @property
    def n_finished(self) -> int: ...

    def pareto_front(self) -> list[FrozenTrial]: ...

__all__ = ["ProgressLine", "log_trial", "start_summary", "best_text"]

trials_logger = logging.getLogger("hpsearch.trials")


def best_text(study: Study) -> str:
    """'best 0.9749 (trial 7)', or 'no complete trial yet' (several objectives: the size of
    the Pareto front)."""
    if len(study.directions) > 1:
        return f"Pareto front {len(study.pareto_front())}"
    best = study.tally.best  # kept as trials finish: no scan of every trial
    if best is None:
        return "no complete trial yet"
    return f"best {best.value:.6g} (trial {best.number})"


def log_trial(study: Study, trial: FrozenTrial) -> None:
    """One line for a told trial (see the module docstring)."""
    seconds = "?" if trial.duration_s is None else f"{trial.duration_s:.2f}"
    if trial.state is TrialState.FAILED:
        first = (trial.error or "").strip().splitlines()
        trials_logger.warning("trial %d failed: %s; %s; %s s", trial.number,
                              first[0] if first else "no error text", best_text(study), seconds)
    else:
        value = "-" if trial.value is None else f"{trial.value:.6g}"
        trials_logger.info("trial %d %s: value %s; %s; %s s", trial.number, trial.state, value,
                           best_text(study), seconds)
    trials_logger.debug("trial %d params: %s", trial.number, dict(trial.params))


def start_summary(study: Study, n_trials: int) -> str:
    """The line a run starts with (see the module docstring)."""
    trials = study.trials
    finished = sum(t.state.is_finished for t in trials)
    interrupted = sum(t.state is TrialState.INTERRUPTED for t in trials)
    if finished >= n_trials:
        return (f"nothing to do: {finished} of n_trials = {n_trials} trials are already "
                "finished (n_trials counts the study's finished trials, earlier runs "
                f"included); raise n_trials (--n-trials) to run more, e.g. {finished + 5} "
                "for 5 more")
    to_run = n_trials - finished
    if not trials:
        return f"starting: {to_run} trials to run"
    paused = sum(t.state is TrialState.PAUSED for t in trials)
    to_run = max(to_run - paused, 0)
    again = min(interrupted, to_run)
    waiting = f"{paused} paused trials to promote, " if paused else ""
    return (f"resuming: {finished} finished trials kept, {waiting}{again} interrupted trials "
            f"run again, {to_run - again} new ({n_trials} in all)")


class ProgressLine:
    """The live bar (see the module docstring)."""

    def __init__(self, name: str, total: int, console: Any = None) -> None:
        self.name, self.total, self.console = name, total, console
        self.bar: Any = None

    def start(self, study: Study, done: int) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        console = self.console or Console(stderr=True)
        self.bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                            MofNCompleteColumn(), TextColumn("{task.fields[status]}"),
                            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                            console=console, transient=False)
        self.task = self.bar.add_task(self.name, total=self.total,
                                      completed=min(done, self.total),
                                      status=self._status(study, 0))
        self.bar.start()

    @staticmethod
    def _status(study: Study, running: int) -> str:
        failed = study.tally.counts[TrialState.FAILED]
        return f"running {running}  failed {failed}  {best_text(study)}"

    def update(self, study: Study, running: int) -> None:
        if self.bar is not None:
            self.bar.update(self.task, completed=min(study.n_finished, self.total),
                            status=self._status(study, running))

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None
