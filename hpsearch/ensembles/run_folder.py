"""The run-folder reader: a finished study of the network objective, as the ensembles see it.

Contract: `open_run_folder(run_dir) -> RunFolder` opens the study read-only (`EnsembleError` when
the folder is not a run folder of the built-in network objective, or has no complete trial)
with its stored split (`data.npz`: the validation and test rows, and the train and validation
rows together for refitting). `RunFolder.trials` are the complete trials, best first (by the
study's value and direction, then number; a multi-objective study's by its first objective, and
with `from_front=True` only its Pareto front's). `kind` is the study's metric without its split
(accuracy, loss or r2: the one whose value the trials report as their value; run folders from
before the objective recorded it have it inferred). A trial's networks and predictions are read
through the objective's artifact schema (`hpsearch.objectives.mlp.schema`); scores come from
`hpsearch.objectives.mlp.score`, the objective's own scoring.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hpsearch.direction import Direction
from hpsearch.exceptions import EnsembleError, HpsearchError
from hpsearch.objectives.mlp import schema
from hpsearch.trial import TrialState

__all__ = ["RunFolder", "open_run_folder"]

_KINDS = ("accuracy", "loss", "r2")


@dataclass
class RunFolder:
    """A study's complete trials, its stored split and how to score them; see the module
    docstring. X, y: {"val": (n, D), "test": ...} and their targets; fit_rows: (X, y) of the
    train and validation rows together (for refit); classes (C,) or None for regression."""

    study: Any
    path: Path
    task: str
    kind: str  # accuracy | loss | r2
    metric: str
    classes: np.ndarray | None
    feature_names: list[str]
    X: dict[str, np.ndarray]
    y: dict[str, np.ndarray]
    trials: list[Any]
    fit_rows: tuple[np.ndarray, np.ndarray]
    _artifacts: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)

    def artifacts(self, number: int) -> dict[str, np.ndarray]:
        """Trial `number`'s artifacts (read once)."""
        if number not in self._artifacts:
            self._artifacts[number] = self.study.artifacts(number)
        return self._artifacts[number]

    @property
    def maximize(self) -> bool:
        return self.kind != "loss"

    def has_test(self) -> bool:
        return len(self.y["test"]) > 0

    def score(self, output: np.ndarray, part: str, kind: str | None = None) -> float:
        """The metric (`kind`, default the study's) of predictions `output` on split `part`."""
        from hpsearch.objectives.mlp import score

        return score(kind or self.kind, self.task, self.y[part], output, self.classes)

    def key(self, output: np.ndarray) -> tuple[float, ...]:
        """Validation ranking key, larger is better: the metric, then lower loss."""
        primary = self.score(output, "val")
        primary = primary if self.maximize else -primary
        if self.kind == "loss" or self.task == "regression":
            return (primary,)
        return (primary, -self.score(output, "val", "loss"))

    def output(self, number: int, part: str, prefix: str | None = None) -> np.ndarray | None:
        """Stored predictions of trial `number` (or of its network under `prefix`) on `part`."""
        return schema.read_output(self.artifacts(number), part, self.task, prefix)

    def network(self, number: int, prefix: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(config, arrays) of `member<r>` or `checkpoint<e>` of a trial."""
        return schema.read_network(self.artifacts(number), prefix)

    def members(self, number: int) -> list[tuple[str, dict, dict]]:
        """(prefix, config, arrays) of every member (repeat) of a trial."""
        return schema.read_members(self.artifacts(number))

    def checkpoint_epochs(self, number: int) -> list[int]:
        return schema.read_checkpoint_epochs(self.artifacts(number))

    def predict(self, config: Mapping[str, Any], arrays: Mapping[str, np.ndarray],
                part: str) -> np.ndarray:
        """Predictions of one network on split `part`: (N, C) probabilities or values."""
        from hpsearch.objectives.mlp import model_from_arrays, network_output

        return network_output(model_from_arrays(config, arrays), self.X[part])


def _infer_metric(trials: Sequence[Any], task: str) -> str:
    """The metric whose value every complete trial reports as its value (run folders written
    before the objective stored `study_metric`)."""
    names = [n for n in trials[0].metrics if n.startswith("val_")]
    names += [n for n in trials[0].metrics if not n.startswith("val_")]
    for name in names:
        if all(math.isclose(t.metrics.get(name, math.nan), t.value, rel_tol=1e-12,
                            abs_tol=1e-15) for t in trials):
            return name
    return "val_r2" if task == "regression" else "val_accuracy"


def _kind(metric: str, task: str) -> str:
    """accuracy, loss or r2: the study's metric without its split, as the task allows."""
    kind = metric.split("_", 1)[-1]
    if kind not in _KINDS:
        kind = "r2" if task == "regression" else "accuracy"
    return "r2" if task == "regression" and kind == "accuracy" else kind


def _load(path: Path, from_front: bool = False) -> tuple[Any, list[Any]]:
    """The study in `path` and its complete trials (only its Pareto front's with
    `from_front`), best first by its (first) objective."""
    from hpsearch.objectives.mlp import DATA_FILE
    from hpsearch.study.study import load_study

    if not (path / "study.db").is_file():
        raise EnsembleError(f"{path}: not a study run folder (no study.db in it)")
    if not (path / DATA_FILE).is_file():
        raise EnsembleError(f"{path}: no data.npz: ensembles need a study of the built-in "
                            "network objective (kind = \"mlp\")")
    try:
        study = load_study(path)
    except HpsearchError as err:
        raise EnsembleError(str(err)) from None
    if from_front and study.n_objectives < 2:
        raise EnsembleError(f"{path}: --from-front needs a multi-objective study (one with a "
                            "list of metrics); this one has one objective")
    trials = study.pareto_front() if from_front else [
        t for t in study.trials if t.state is TrialState.COMPLETE and t.has_value]
    if not trials:
        raise EnsembleError(f"{path}: the study has no complete trial")
    sign = Direction.of(study.directions[0]).sign
    trials.sort(key=lambda t: (sign * t.values[0], t.number))
    return study, trials


def open_run_folder(run_dir: str | os.PathLike, from_front: bool = False) -> RunFolder:
    """Open a run folder of the network objective; see the module docstring."""
    from hpsearch.objectives.mlp import DATA_FILE, read_split

    path = Path(run_dir)
    study, trials = _load(path, from_front)
    split, names = read_split(path / DATA_FILE)
    X = {part: split[f"{part}_X"] for part in ("val", "test")}
    y = {part: split[f"{part}_y"] for part in ("val", "test")}
    fit_rows = (np.concatenate([split["train_X"], split["val_X"]]),
                np.concatenate([split["train_y"], split["val_y"]]))
    first = study.artifacts(trials[0].number)
    if not schema.has_networks(first):
        raise EnsembleError(f"{path}: trial {trials[0].number} has no saved networks; "
                            "ensembles need the built-in network objective")
    config = schema.read_config(first, schema.member_prefix(0))
    task = schema.task_of(config)
    metric = schema.read_study_metric(first) or _infer_metric(trials, task)
    kind = _kind(metric, task)
    return RunFolder(study, path, task, kind, f"val_{kind}", schema.classes_of(config), names,
                     X, y, trials, fit_rows)

