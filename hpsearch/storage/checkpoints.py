"""A paused trial's checkpoint: what storage keeps of it, and its files in a run folder.

Contract:
- `Checkpoint(arrays, step)`: {name: ndarray} as the objective gave them to
  `trial.save_checkpoint`, and the last step the trial reported before it was saved. Every
  storage keeps at most one checkpoint per trial: `save_trial(trial, checkpoint=...)` stores it
  with the trial's row (the old one is replaced), `load_checkpoint(number)` returns it (None
  when there is none) and `delete_checkpoint(number)` removes it. A study deletes the
  checkpoint of every trial that can no longer be promoted (complete, pruned, failed), so the
  disk holds one checkpoint per paused (or promoted and running) trial at most.
- `checkpoint_problem(checkpoint)` says why a checkpoint cannot be stored (the artifact rules
  of `hpsearch.storage.artifacts`: names storage can hold, no arrays of Python objects), or None.
- In a run folder (`SqliteStorage`): `trials/<number>/checkpoint-<token>.npz`, the artifacts
  file format (NumPy `.npy` members in an uncompressed ZIP, read with `allow_pickle=False`),
  with a fresh token per save; the trial's row names the file and the step (a column of JSON
  `{"file": ..., "step": ...}`), so the row's commit is what makes a checkpoint current: a
  driver killed between writing the file and committing the row leaves the previous checkpoint
  in force and an unreferenced file, which the next save or delete of that trial removes
  (`stale_files`). `write_checkpoint_file` writes through a temporary name and `os.replace`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from hpsearch.storage.artifacts import artifact_problem, read_artifacts, write_artifacts

__all__ = ["Checkpoint", "checkpoint_problem", "write_checkpoint_file",
           "read_checkpoint_file", "stale_files", "PREFIX"]

PREFIX = "checkpoint-"
_SUFFIX = ".npz"


@dataclass(frozen=True)
class Checkpoint:
    """A trial's saved arrays and the step it had reported when they were saved."""

    arrays: Mapping[str, np.ndarray] = field(default_factory=dict)
    step: int = 0

    def copy(self) -> Checkpoint:
        """A deep copy (storage hands out and keeps snapshots)."""
        return Checkpoint({k: np.array(v) for k, v in self.arrays.items()}, int(self.step))


def checkpoint_problem(checkpoint: Checkpoint) -> str | None:
    """Why `checkpoint` cannot be stored, or None."""
    for name, array in checkpoint.arrays.items():
        problem = artifact_problem(name, np.asarray(array))
        if problem is not None:
            return problem.replace("artifact", "checkpoint", 1)
    return None


def write_checkpoint_file(folder: str, checkpoint: Checkpoint) -> str:
    """Write `checkpoint`'s arrays into a fresh file in `folder` (created if needed); return
    the file's name. OSError when it cannot be written (nothing is left behind then)."""
    name = f"{PREFIX}{secrets.token_hex(8)}{_SUFFIX}"
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, name + ".tmp")
    try:
        write_artifacts(tmp, checkpoint.arrays)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, os.path.join(folder, name))
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(tmp)
        raise
    return name


def read_checkpoint_file(folder: str, name: str, step: int) -> Checkpoint:
    """The checkpoint in `folder/name` (errors as `read_artifacts`)."""
    return Checkpoint(read_artifacts(os.path.join(folder, name)), int(step))


def stale_files(folder: str, keep: str | None) -> list[str]:
    """The checkpoint files in `folder` other than `keep` (full paths)."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    return [os.path.join(folder, n) for n in names if n.startswith(PREFIX) and n != keep]
