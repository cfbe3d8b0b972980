"""The storage interface every backend implements, and what a study is (`StudyMeta`).

Contract (`Storage`, a Protocol): `meta` (the stored `StudyMeta`), `path` (the run folder, or
None in memory), `readonly`, `load_trials()` (every trial, by number), `save_trial(trial,
artifacts=None, checkpoint=None)` (insert or replace, committed at once; artifacts, {name:
ndarray}, are written first and read back by `load_artifacts(number)`, {} when none; a
`Checkpoint` is stored with the row, replacing the trial's earlier one, and read back by
`load_checkpoint(number)`, None when none; `delete_checkpoint(number)` removes it: see
`hpsearch.storage.checkpoints`), `lock()` (a context manager: the writer's lock, re-entrant),
`data_version()` (a number that changes when another connection has written since: the study
reloads only then), `close()` (idempotent) and `closed`, and `attach(meta) -> StudyMeta`
(called once by the Study that uses a storage object it was given: the stored study's meta,
checked against `meta` with `check_same_study`; a storage that holds no study yet stores
`meta`). Strategies never see storage; the study is its only writer.
`hpsearch.testing.storage` is the contract suite every backend passes.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from hpsearch.exceptions import StudyMismatchError
from hpsearch.storage.checkpoints import Checkpoint
from hpsearch.storage.rows import dumps
from hpsearch.trial import FrozenTrial

__all__ = ["Storage", "StudyMeta", "DB_NAME", "LOCK_NAME", "check_same_study"]

DB_NAME = "study.db"
LOCK_NAME = "study.lock"


@dataclass(frozen=True)
class StudyMeta:
    """What a study is: stored once, checked on every reopen."""

    space: Mapping[str, Any]
    direction: str
    strategy: str
    seed: int | None
    strategy_options: Mapping[str, Any] = field(default_factory=dict)
    created_at: float = field(default_factory=time.time)
    metric: str | None = None  # the name of the value (a study file's metric), if known
    warm_start: tuple[str, ...] = ()  # earlier run folders told to the strategy first


def _plain(value: Any) -> Any:
    return json.loads(dumps(value))  # as the SQLite backend stores it


def check_same_study(stored: StudyMeta, given: StudyMeta, where: str) -> None:
    """StudyMismatchError naming what differs when a study is reopened with another space,
    direction, seed (when given) or metric (when both are known)."""
    differences = []
    if _plain(given.space) != _plain(stored.space):
        differences.append(f"space (stored {stored.space}, given {_plain(given.space)})")
    if _plain(given.direction) != _plain(stored.direction):
        differences.append(f"direction (stored {stored.direction!r}, "
                           f"given {given.direction!r})")
    if given.seed is not None and given.seed != stored.seed:
        differences.append(f"seed (stored {stored.seed}, given {given.seed})")
    if None not in (given.metric, stored.metric) and given.metric != stored.metric:
        differences.append(f"metric (stored {stored.metric!r}, given {given.metric!r})")
    if differences:
        raise StudyMismatchError(
            f"the study in {where} differs in {'; '.join(differences)}; "
            "use overwrite=True to start afresh or another storage folder")


@runtime_checkable
class Storage(Protocol):
    """Where a study's trials live; see the module docstring."""

    meta: StudyMeta
    path: str | None
    readonly: bool

    @property
    def closed(self) -> bool: ...

    def attach(self, meta: StudyMeta) -> StudyMeta: ...

    def load_trials(self) -> list[FrozenTrial]: ...

    def save_trial(self, trial: FrozenTrial,
                   artifacts: Mapping[str, np.ndarray] | None = None,
                   checkpoint: Checkpoint | None = None) -> None: ...

    def load_artifacts(self, number: int) -> dict[str, np.ndarray]: ...

    def load_checkpoint(self, number: int) -> Checkpoint | None: ...

    def delete_checkpoint(self, number: int) -> None: ...

    def lock(self) -> contextlib.AbstractContextManager: ...

    def data_version(self) -> int: ...

    def close(self) -> None: ...
