"""MemoryStorage: storage=None, trials and artifacts kept in this process only.

Artifacts are copied in and out, as the SQLite backend's files are: an objective that reuses
its buffers, or a caller that changes an array it loaded, cannot change what was stored.
Checkpoints too (`hpsearch.storage.checkpoints`), checked by the same rules as on disk.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping

import numpy as np

from hpsearch.exceptions import StorageError
from hpsearch.storage.base import StudyMeta, check_same_study
from hpsearch.storage.checkpoints import Checkpoint, checkpoint_problem
from hpsearch.trial import FrozenTrial


class MemoryStorage:
    """storage=None: trials and artifacts kept in this process only."""

    path: str | None = None
    readonly = False

    def __init__(self, meta: StudyMeta | None = None) -> None:
        self.meta = meta  # None until a Study attaches to it
        self.closed = False
        self._trials: dict[int, FrozenTrial] = {}
        self._artifacts: dict[int, dict[str, np.ndarray]] = {}
        self._checkpoints: dict[int, Checkpoint] = {}

    def load_trials(self) -> list[FrozenTrial]:
        return [self._trials[n] for n in sorted(self._trials)]

    def save_trial(self, trial: FrozenTrial,
                   artifacts: Mapping[str, np.ndarray] | None = None,
                   checkpoint: Checkpoint | None = None) -> None:
        if checkpoint is not None:
            problem = checkpoint_problem(checkpoint)
            if problem is not None:
                raise StorageError(f"trial {trial.number}: {problem}")
            self._checkpoints[trial.number] = checkpoint.copy()
        if artifacts:
            self._artifacts[trial.number] = {k: np.array(v) for k, v in artifacts.items()}
        self._trials[trial.number] = trial

    def load_artifacts(self, number: int) -> dict[str, np.ndarray]:
        return {k: np.array(v) for k, v in self._artifacts.get(number, {}).items()}

    def load_checkpoint(self, number: int) -> Checkpoint | None:
        stored = self._checkpoints.get(number)
        return None if stored is None else stored.copy()

    def delete_checkpoint(self, number: int) -> None:
        self._checkpoints.pop(number, None)

    def lock(self) -> contextlib.AbstractContextManager:
        return contextlib.nullcontext()

    def data_version(self) -> int:
        return 0  # only this process writes it

    def attach(self, meta: StudyMeta) -> StudyMeta:
        """Hold `meta` when new; else check it against the study held."""
        if self.meta is None:
            self.meta = meta
        else:
            check_same_study(self.meta, meta, "this MemoryStorage")
        return self.meta

    def close(self) -> None:
        self.closed = True
