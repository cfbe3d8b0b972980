"""The run folders under a storage folder, and what each one holds now: for `hpsearch list`,
`hpsearch status` and `hpsearch dashboard`.

Contract (read-only: nothing is written, no lock is taken):
- `find_runs(storage) -> list[Path]`: the run folders (a folder holding `study.db`) that are
  `storage` itself, its children or their children, sorted; a folder whose real path is
  outside `storage` (a symbolic link out of it) is left out.
- `summarize(run_dir) -> RunSummary`: strategy, direction and metric, the trials by state as
  readers see them (a dead driver's `running` trials are `interrupted`, see
  `hpsearch.storage.holder`), the best value and trial (one objective) or the size of the
  Pareto front, the last activity (the latest start or finish, epoch seconds), the pid of the
  driver holding the lock (0: held, pid unknown; None: no driver), and the running trials
  with their reports so far (from `live.json`, `hpsearch.monitor.live`). A run folder that
  cannot be read gives a summary whose `error` says why, and counts nothing.
- `as_record(summary) -> dict`: the same as plain JSON values (floats exact, times epoch s).
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hpsearch.direction import Direction
from hpsearch.storage.base import DB_NAME
from hpsearch.storage.holder import lock_holder
from hpsearch.trial import TrialState

__all__ = ["RunningTrial", "RunSummary", "find_runs", "summarize", "as_record", "counts_text"]


@dataclass(frozen=True)
class RunningTrial:
    """A trial running now: its number, params, start (epoch s) and reports {step: value}."""

    number: int
    params: dict[str, Any]
    started_at: float | None
    reports: dict[int, float] = field(default_factory=dict)


@dataclass(frozen=True)
class RunSummary:
    """One run folder as it is now (see the module docstring)."""

    path: str
    name: str
    strategy: str | None = None
    direction: Any = None
    metric: Any = None
    counts: dict[str, int] = field(default_factory=dict)
    best_value: float | None = None
    best_trial: int | None = None
    front: int | None = None
    last_activity: float | None = None
    driver: int | None = None
    running: tuple[RunningTrial, ...] = ()
    error: str | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _inside(path: Path, root: Path) -> bool:
    try:
        return path.resolve().is_relative_to(root)
    except OSError:
        return False


def find_runs(storage: str | os.PathLike) -> list[Path]:
    """The run folders under `storage` (see the module docstring)."""
    root = Path(storage)
    real = root.resolve()
    found, level = [], [root]
    for _depth in range(3):
        found += [p for p in level if (p / DB_NAME).is_file() and _inside(p, real)]
        level = sorted(c for p in level if p.is_dir() and not (p / DB_NAME).is_file()
                       for c in _children(p))
    return sorted(found)


def _children(folder: Path) -> list[Path]:
    try:
        return [c for c in folder.iterdir() if c.is_dir() and not c.name.startswith(".")]
    except OSError:
        return []


def summarize(run_dir: str | os.PathLike, name: str | None = None) -> RunSummary:
    """What `run_dir` holds now (see the module docstring)."""
    from hpsearch.exceptions import HpsearchError
    from hpsearch.monitor.live import read_live
    from hpsearch.study.study import load_study

    path = Path(run_dir)
    name = name or path.name
    try:
        study = load_study(path)
        trials = study.trials
    except HpsearchError as err:
        return RunSummary(str(path), name, error=str(err).splitlines()[0])
    counts: dict[str, int] = {}
    for t in trials:
        counts[str(t.state)] = counts.get(str(t.state), 0) + 1
    best_value = best_trial = front = None
    if len(study.directions) > 1:
        front = len(study.pareto_front())
    else:
        done = [t for t in trials if t.state is TrialState.COMPLETE and t.has_value]
        if done:
            sign = Direction.of(study.direction).sign
            best = min(done, key=lambda t: (sign * t.value, t.number))
            best_value, best_trial = float(best.value), best.number
    times = [x for t in trials for x in (t.started_at, t.finished_at) if x is not None]
    live = read_live(path)
    running = tuple(RunningTrial(t.number, dict(t.params), t.started_at,
                                 {**t.intermediate, **live.get(t.number, {})})
                    for t in trials if t.state is TrialState.RUNNING)
    return RunSummary(str(path), name, study.strategy_name, study.direction, study.metric,
                      counts, best_value, best_trial, front, max(times, default=None),
                      lock_holder(path), running)


def counts_text(counts: dict[str, int]) -> str:
    """'28 complete, 2 failed', in the states' own order."""
    order = [str(s) for s in TrialState]
    return ", ".join(f"{counts[s]} {s}" for s in sorted(counts, key=order.index)) or "none"


def as_record(summary: RunSummary) -> dict[str, Any]:
    """The summary as plain JSON values (non-finite floats as None)."""
    record = asdict(summary)
    record["running"] = [asdict(t) | {"reports": [[s, v] for s, v in sorted(t.reports.items())]}
                         for t in summary.running]
    record["alive"] = summary.driver is not None
    if isinstance(record["best_value"], float) and not math.isfinite(record["best_value"]):
        record["best_value"] = None
    return record
