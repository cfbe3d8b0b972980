"""Warm start: what earlier run folders teach a new study's strategy before its first ask.

Contract: `read_warm_start(folders, space, direction, metric)` opens each run folder read-only
and returns a `WarmStart`: the finished trials (complete, pruned, failed) whose params lie in
`space` (exactly the active names, each in range), in folder then number order, and how many
were skipped per folder. A folder whose direction differs, or whose recorded metric differs
from a known `metric`, raises `StudyMismatchError` naming it; a folder that is not a run
folder raises `StorageError`. The trials keep their own number, params and values; the study
tells them to its strategy under negative numbers (so counters such as random search's are
not moved), never runs them again, and does not count them in `n_trials`.
`stored_warm_start(meta, space)` reads back the folders a run folder recorded, for its tables
(a folder that is gone or no longer matches is left out with a warning).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from hpsearch.exceptions import HpsearchError, SpaceError, StudyMismatchError
from hpsearch.space import Space
from hpsearch.storage.base import StudyMeta
from hpsearch.storage.sqlite import SqliteStorage
from hpsearch.trial import FrozenTrial

__all__ = ["WarmStart", "read_warm_start", "stored_warm_start"]

logger = logging.getLogger("hpsearch")


@dataclass(frozen=True)
class WarmStart:
    """Trials from earlier run folders: (folder, trial) pairs, and skips per folder."""

    trials: tuple[tuple[str, FrozenTrial], ...] = ()
    skipped: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        """One line: what was told and what was skipped."""
        if not self.skipped:
            return ""
        skipped = sum(self.skipped.values())
        folders = ", ".join(self.skipped)
        return (f"warm start from {folders}: {len(self.trials)} finished trials told to the "
                f"strategy, {skipped} skipped (params outside this study's space)")


def read_warm_start(folders: Sequence[str | os.PathLike], space: Space, direction: str,
                    metric: str | None) -> WarmStart:
    """See the module docstring."""
    trials: list[tuple[str, FrozenTrial]] = []
    skipped: dict[str, int] = {}
    for folder in folders:
        path = os.path.abspath(os.fspath(folder))
        storage = SqliteStorage.open_readonly(path)
        try:
            meta = storage.meta
            if meta.direction != direction:
                raise StudyMismatchError(
                    f"warm start from {path}: its direction is {meta.direction!r}, this "
                    f"study's is {direction!r}")
            if None not in (metric, meta.metric) and meta.metric != metric:
                raise StudyMismatchError(
                    f"warm start from {path}: its metric is {meta.metric!r}, this study's "
                    f"is {metric!r}")
            skipped[path] = 0
            for trial in storage.load_trials():
                if not trial.state.is_finished:
                    continue
                try:
                    space.validate(trial.params)
                except SpaceError:
                    skipped[path] += 1
                    continue
                trials.append((path, trial))
        finally:
            storage.close()
    return WarmStart(tuple(trials), skipped)


def stored_warm_start(meta: StudyMeta, space: Space) -> WarmStart:
    """The warm-start trials a run folder recorded, for its tables; folders that are gone or
    no longer match are left out with a warning (the study itself needs nothing of them)."""
    trials, skipped = [], {}
    for folder in meta.warm_start:
        try:
            found = read_warm_start([folder], space, meta.direction, meta.metric)
        except HpsearchError as err:
            logger.warning("warm-start folder left out of the tables: %s", err)
            continue
        trials += found.trials
        skipped.update(found.skipped)
    return WarmStart(tuple(trials), skipped)
