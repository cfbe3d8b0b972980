"""A third-party storage, given to a study as an object: a folder holding one JSON-lines file.

`JsonLinesStorage(folder)` appends every saved trial to `<folder>/trials.jsonl` as one JSON line
(the last line of a trial number wins when it is read back) and keeps each trial's artifacts in
`<folder>/artifacts/<number>.npz`, written to a temporary file and renamed, and read back with
`allow_pickle=False`; a paused trial's checkpoint goes to `<folder>/checkpoints/<number>.npz`
the same way, its step beside it in `<number>.step`. The study's meta is the file's first line.
Nothing is ever unpickled. It passes hpsearch's storage contract suite, including a second
reader on the same file
(`tests/hpsearch/storage/test_custom_storage.py`).

What it leaves out, compared with the built-in SQLite run folder: a lock across processes (one
writer at a time is the user's job) and recovery of a torn last line after a crash (a line that
does not parse is skipped). Run it: `python examples/custom_storage.py`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path

import numpy as np

import hpsearch as hp
from hpsearch.storage.base import StudyMeta, check_same_study
from hpsearch.storage.checkpoints import Checkpoint, checkpoint_problem


class JsonLinesStorage:
    """A study in one JSON-lines file (see the module docstring)."""

    readonly = False

    def __init__(self, folder: str | os.PathLike) -> None:
        self.path = str(folder)  # the run folder: the study writes its tables here too
        os.makedirs(self.path, exist_ok=True)
        self.file = os.path.join(self.path, "trials.jsonl")
        self.closed = False
        self._lock = threading.RLock()
        self._arrays = Path(self.path) / "artifacts"
        self._checkpoints = Path(self.path) / "checkpoints"
        self._version, self._known_size = 0, self._size()
        lines = self._lines()
        self.meta: StudyMeta | None = None
        if lines:
            raw = lines[0]["meta"]
            self.meta = StudyMeta(**{**raw, "warm_start": tuple(raw["warm_start"])})

    def _lines(self) -> list[dict]:
        if not os.path.exists(self.file):
            return []
        out = []
        with open(self.file, encoding="utf-8") as handle:
            for line in handle:
                with contextlib.suppress(json.JSONDecodeError):  # a torn last line
                    out.append(json.loads(line))
        return out

    def _size(self) -> int:
        return os.path.getsize(self.file) if os.path.exists(self.file) else 0

    def _append(self, record: dict) -> None:
        changed_elsewhere = self._size() != self._known_size
        with open(self.file, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self._version += changed_elsewhere
        self._known_size = self._size()

    def attach(self, meta: StudyMeta) -> StudyMeta:
        if self.meta is None:
            self._append({"meta": dataclasses.asdict(meta)})
            self.meta = meta
        check_same_study(self.meta, meta, self.file)
        return self.meta

    def load_trials(self) -> list[hp.FrozenTrial]:
        trials = {}
        for record in self._lines()[1:]:
            fields = record["trial"]
            fields["state"] = hp.TrialState(fields["state"])
            fields["intermediate"] = {int(k): v for k, v in fields["intermediate"].items()}
            fields["values"] = None if fields["values"] is None else tuple(fields["values"])
            trials[fields["number"]] = hp.FrozenTrial(**fields)
        return [trials[n] for n in sorted(trials)]

    def save_trial(self, trial: hp.FrozenTrial,
                   artifacts: Mapping[str, np.ndarray] | None = None,
                   checkpoint: Checkpoint | None = None) -> None:
        with self._lock:
            if checkpoint is not None:
                problem = checkpoint_problem(checkpoint)
                if problem is not None:
                    raise hp.StorageError(f"trial {trial.number}: {problem}")
                self._checkpoints.mkdir(exist_ok=True)
                target = self._checkpoints / f"{trial.number}.npz"
                temporary = target.with_suffix(".tmp.npz")
                np.savez(temporary, **{k: np.asarray(v) for k, v in checkpoint.arrays.items()})
                (self._checkpoints / f"{trial.number}.step").write_text(str(checkpoint.step))
                os.replace(temporary, target)
            if artifacts is not None:
                self._arrays.mkdir(exist_ok=True)
                target = self._arrays / f"{trial.number}.npz"
                temporary = target.with_suffix(".tmp.npz")
                np.savez(temporary, **{k: np.asarray(v) for k, v in artifacts.items()})
                os.replace(temporary, target)
            self._append({"trial": {**dataclasses.asdict(trial), "state": str(trial.state)}})

    def load_artifacts(self, number: int) -> dict[str, np.ndarray]:
        target = self._arrays / f"{number}.npz"
        if not target.is_file():
            return {}
        with np.load(target, allow_pickle=False) as stored:
            return {name: stored[name] for name in stored.files}

    def load_checkpoint(self, number: int) -> Checkpoint | None:
        target = self._checkpoints / f"{number}.npz"
        if not target.is_file():
            return None
        step = int((self._checkpoints / f"{number}.step").read_text())
        with np.load(target, allow_pickle=False) as stored:
            return Checkpoint({name: stored[name] for name in stored.files}, step)

    def delete_checkpoint(self, number: int) -> None:
        for suffix in (".npz", ".step"):
            (self._checkpoints / f"{number}{suffix}").unlink(missing_ok=True)

    def lock(self) -> contextlib.AbstractContextManager:
        return self._lock

    def data_version(self) -> int:
        """Changes when another writer appended since (the file grew by more than our own
        lines); the study reloads only then."""
        if self._size() != self._known_size:
            self._version, self._known_size = self._version + 1, self._size()
        return self._version

    def close(self) -> None:
        self.closed = True


def main(folder: str | os.PathLike = "runs/quadratic_jsonl") -> hp.Study:
    storage = JsonLinesStorage(folder)
    space = hp.Space({"x": hp.Float(-3, 3)})
    study = hp.Study(space, direction="minimize", strategy="random", seed=0, storage=storage)
    study.optimize(lambda params: (params["x"] - 1) ** 2, n_trials=20)
    print(f"{len(storage.load_trials())} trials in {storage.file}; best {study.best_value:.4f}")
    return study




if __name__ == "__main__":
    main()
