"""The built-in network objective: the one place where hpsearch meets nn_core.

Contract:
- Hyperparameter names are exactly nn_core's estimator keywords (`nn_core.estimator.KEYWORDS`,
  all but `seed`, which comes from the trial), plus the convenience pair `hidden_size` and
  `num_layers` (giving `hidden_sizes = (hidden_size,) * num_layers`; `num_layers = 0` is a
  linear model). `check_hyperparameters(spec)` checks names, types and every fixed value and
  choice against that table and raises `StudyFileError` naming the file and key.
- `load_data(spec)` reads the dataset (digits, spiral, CSV or NPZ) and checks it fits the task.
  `prepare(spec, run_dir)` draws the train/val/test split once from the study seed, stores the
  features, targets and split indices in `<run_dir>/data.npz` (reused as stored when the study
  resumes) and returns an `MLPObjective` that workers load the file from. Per-trial seeds only
  drive initialisation, shuffling and dropout, so every trial predicts the same rows.
- `MLPObjective(params, trial)` trains on the train split (preprocessing fitted there), reports
  the validation score each epoch to `trial.report` (pruning; the validation loss instead
  when the study's metric is `val_loss`), and returns an `hp.Result` whose
  value is the study's metric, with metrics `val_accuracy`/`val_r2`, `val_loss`, the same for
  `test_` (when there is a test split), `train_accuracy`/`train_r2` and `epochs`, and artifacts
  for the ensemble step: per member `member<r>.config` (JSON string) and `member<r>.<array>`
  (parameters, batchnorm buffers, preprocessing statistics, from `to_arrays`), plus
  `val_proba`/`test_proba` (classification; `val_pred`/`test_pred` for regression) averaged
  over members, and the learning curves `curve.loss`, `curve.train_score`, `curve.val_score`,
  `curve.update_ratio.<weight>` of the first member, and `study_metric` (the name of the metric
  that is the trial's value, so the ensemble step never has to guess it). No pickle anywhere.
- `repeats = N` trains each trial under N seeds spawned from the trial's seed (the seed's
  "same model, different initialisations"); metrics are the members' mean.
- `model_from_arrays(config, arrays)` rebuilds a fitted network from such artifacts, and
  `refit_member(config, X, y)` trains a member's keywords and seed again on other rows (both
  used by the ensemble step, which does not import nn_core itself). A member's config records
  `stop_reason` and `epochs_trained` (the epochs behind its kept parameters).
- `checkpoint_epochs = [e1, e2, ...]` (1-based epoch numbers) snapshots the first member at
  the end of each listed epoch (the seed's "same model at different times"), for snapshot
  ensembles and parameter averaging: `checkpoint<e>.config` (JSON string, as `member<r>.config`
  plus `"epoch": e`), `checkpoint<e>.param.<name>`, `checkpoint<e>.buffer.<name>`, and the
  snapshot's own `checkpoint<e>.val_proba`/`checkpoint<e>.test_proba` (`_pred` for regression).
  Checkpoints share member 0's preprocessing (`member0.preprocess.*`; not stored again).
  `checkpoint_epochs` (int array) lists the epochs actually saved: an epoch the run never
  reached (early stopping, pruning, fewer epochs) is skipped. L-BFGS runs count as epoch 1.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hpsearch.exceptions import ObjectiveError, StudyFileError, TrialPruned
from hpsearch.space import Categorical, Float, Int
from hpsearch.study.seeds import DATASET_STREAM, SPLIT_STREAM, objective_rng
from hpsearch.studyfile.reader import StudySpec
from hpsearch.trial import Result
from nn_core.data import Dataset, load_csv, load_dataset, split
from nn_core.estimator import KEYWORDS, MLPClassifier, MLPRegressor

__all__ = ["HYPERPARAMETERS", "MLPObjective", "check_hyperparameters", "load_data",
           "model_from_arrays", "prepare", "refit_member"]

_KEYWORDS = {k.name: k for k in KEYWORDS if k.name != "seed"}
#: every name a study file may fix or search for the built-in network
HYPERPARAMETERS: tuple[str, ...] = (*_KEYWORDS, "hidden_size", "num_layers")
_CONVENIENCE = {"hidden_size": (1, None), "num_layers": (0, None)}
_DEFAULT_HIDDEN_SIZE = 100
_ESTIMATORS = {"MLPClassifier": MLPClassifier, "MLPRegressor": MLPRegressor}  # config names
_SCORE_METRICS = {"classification": "accuracy", "multilabel": "accuracy", "regression": "r2"}


def _fail(spec: StudySpec, where: str, what: str) -> StudyFileError:
    return StudyFileError(f"{spec.path}: {where}: {what}")


def _check_value(spec: StudySpec, where: str, name: str, value: Any) -> None:
    if name in _CONVENIENCE:
        low = _CONVENIENCE[name][0]
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise _fail(spec, where, f"expected an integer >= {low}, got {value!r}")
        return
    keyword = _KEYWORDS[name]
    if keyword.kind == "sizes" and isinstance(value, list):
        value = tuple(value)
    try:
        keyword.validate(value)
    except ValueError as err:
        raise _fail(spec, where, str(err)) from None


def check_hyperparameters(spec: StudySpec) -> None:
    """Check `[objective.fixed]` and `[space]` against nn_core's keyword table."""
    fixed, space = spec.objective.fixed, spec.space
    for section, names in (("objective.fixed", fixed), ("space", space)):
        for name in names:
            if name not in HYPERPARAMETERS:
                close = difflib.get_close_matches(name, HYPERPARAMETERS, n=1, cutoff=0.6)
                if name == "lr":
                    close = ["learning_rate"]
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise _fail(spec, f"[{section}].{name}",
                            f"unknown hyperparameter{hint}; the network takes: "
                            f"{', '.join(HYPERPARAMETERS)}")
    both = sorted(set(fixed) & set(space))
    if both:
        raise _fail(spec, f"[space].{both[0]}", "is both fixed in [objective.fixed] and "
                                                "searched in [space]; keep one")
    names = set(fixed) | set(space)
    if "hidden_sizes" in names and names & set(_CONVENIENCE):
        raise _fail(spec, "[objective.fixed]", "give hidden_sizes, or hidden_size and "
                                               "num_layers, not both")
    if "hidden_sizes" in space:
        raise _fail(spec, "[space].hidden_sizes", "cannot be searched (a list); search "
                                                  "hidden_size and num_layers instead")
    for name, value in fixed.items():
        _check_value(spec, f"[objective.fixed].{name}", name, value)
    for name, dim in space.items():
        where = f"[space].{name}"
        kind = "int" if name in _CONVENIENCE else _KEYWORDS[name].kind
        if isinstance(dim, Categorical):
            for choice in dim.choices:
                _check_value(spec, where, name, choice)
            continue
        if kind in ("str", "bool"):
            raise _fail(spec, where, f"{name} takes {_KEYWORDS[name].allowed()}; search it with "
                                     "type = \"categorical\"")
        if kind == "int" and isinstance(dim, Float):
            raise _fail(spec, where, f"{name} is an integer; use type = \"int\"")
        for value in (dim.grid() if dim.values is not None else (dim.low, dim.high)):
            _check_value(spec, where, name, int(value) if isinstance(dim, Int) else value)
    loss = fixed.get("loss")
    allowed = {"classification": ("softmax", "svm"), "regression": ("l2", "l1"),
               "multilabel": ()}[spec.objective.task]
    losses = [loss] if loss is not None else []
    if isinstance(space.get("loss"), Categorical):
        losses = list(space["loss"].choices)
    for value in losses:
        if value not in allowed:
            raise _fail(spec, "[objective.fixed].loss" if loss else "[space].loss",
                        f"{spec.objective.task} takes loss "
                        f"{' | '.join(allowed) or 'unset (sigmoid cross-entropy)'}, got {value!r}")


def load_data(spec: StudySpec) -> Dataset:
    """Read the study's dataset and check it suits the task; StudyFileError on any problem."""
    where = "[objective].dataset"
    source = spec.resolve_dataset()
    rng = objective_rng(spec.seed, DATASET_STREAM)
    try:
        if source.lower().endswith(".csv"):
            data = load_csv(source, label_column=spec.objective.target)
        else:
            if spec.objective.target is not None:
                raise ValueError("target names a CSV column; this dataset is not a CSV")
            data = load_dataset(source, rng)
    except ValueError as err:
        raise _fail(spec, where, str(err)) from None
    task, y = spec.objective.task, data.y
    if task == "multilabel" and (y.ndim != 2 or not np.isin(y, (0, 1)).all()):
        raise _fail(spec, where, f"task multilabel needs y as a 0/1 matrix (N, L); got shape "
                                 f"{y.shape}")
    if task == "classification" and y.ndim != 1:
        raise _fail(spec, where, f"task classification needs 1-D labels; got shape {y.shape} "
                                 "(use task = \"multilabel\" for a 0/1 label matrix)")
    if task == "regression" and not np.issubdtype(y.dtype, np.number):
        raise _fail(spec, where, f"task regression needs numeric targets; got {y.dtype}")
    if len(y) < 10:
        raise _fail(spec, where, f"has {len(y)} rows; need at least 10 to split")
    return data


def _fingerprint(X: np.ndarray, y: np.ndarray) -> str:
    digest = hashlib.sha256(np.ascontiguousarray(X).tobytes())
    digest.update(np.ascontiguousarray(y).astype(str).tobytes())
    return digest.hexdigest()


def prepare(spec: StudySpec, run_dir: Path, data: Dataset | None = None) -> MLPObjective:
    """Split once from the study seed, store `<run_dir>/data.npz`, return the objective."""
    data = load_data(spec) if data is None else data
    fingerprint = _fingerprint(data.X, data.y)
    path = Path(run_dir) / "data.npz"
    if path.exists():
        with np.load(path, allow_pickle=False) as stored:
            if str(stored["fingerprint"]) != fingerprint:
                raise _fail(spec, "[objective].dataset",
                            f"the data differs from what this study started with ({path}); "
                            "run with --fresh to start afresh")
    else:
        o = spec.objective
        rows = np.arange(len(data.y))[:, None]
        parts = split(rows, data.y, o.val_fraction, o.test_fraction,
                      objective_rng(spec.seed, SPLIT_STREAM),
                      stratify=o.task == "classification")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name("data.tmp.npz")
        np.savez(tmp, X=data.X, y=data.y, train=parts.X_train[:, 0], val=parts.X_val[:, 0],
                 test=parts.X_test[:, 0], fingerprint=np.array(fingerprint),
                 feature_names=np.array(data.feature_names, dtype=str))
        tmp.replace(path)
    return MLPObjective(data_file=str(path.resolve()), task=spec.objective.task,
                        fixed=tuple(sorted(spec.objective.fixed.items())),
                        metric=spec.metric, repeats=spec.objective.repeats,
                        checkpoint_epochs=tuple(spec.objective.checkpoint_epochs))


# Worker processes run many trials on the same data: read it once per process.
_DATA_CACHE: dict[str, dict[str, np.ndarray]] = {}


def _load_split(data_file: str) -> dict[str, np.ndarray]:
    if data_file not in _DATA_CACHE:
        with np.load(data_file, allow_pickle=False) as stored:
            X, y = stored["X"], stored["y"]
            _DATA_CACHE[data_file] = {
                f"{part}_{name}": array[stored[part]]
                for part in ("train", "val", "test") for name, array in (("X", X), ("y", y))
            }
    return _DATA_CACHE[data_file]


def estimator_keywords(params: Mapping[str, Any]) -> dict[str, Any]:
    """Study hyperparameters -> MLPClassifier/MLPRegressor keywords."""
    kw = {k: v for k, v in params.items() if k not in _CONVENIENCE}
    if "hidden_size" in params or "num_layers" in params:
        size = int(params.get("hidden_size", _DEFAULT_HIDDEN_SIZE))
        kw["hidden_sizes"] = (size,) * int(params.get("num_layers", 1))
    elif isinstance(kw.get("hidden_sizes"), list):
        kw["hidden_sizes"] = tuple(kw["hidden_sizes"])
    return kw


def _epochs_trained(keywords: Mapping[str, Any], history: Any) -> int:
    """Epochs behind the kept parameters: the best epoch's when early stopping restored it."""
    if keywords.get("early_stopping") and history.best_epoch is not None:
        return int(history.best_epoch) + 1
    return int(history.epochs)


def refit_member(config: Mapping[str, Any], X: np.ndarray, y: np.ndarray
                 ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Train a member's network again, same keywords and seed, on (X, y) (the ensemble step's
    `refit`: train and validation rows together). With no data held out there is no early
    stopping: the network trains for the epochs its kept parameters had (`epochs_trained`;
    the configured `epochs` for run folders older than that key, whose early-stopped members
    are refused), and a `plateau` schedule watches the training loss. Returns (config, arrays)
    as the objective stores them; ValueError when the config does not describe a network or
    the new training diverges where the study's did not (its kept parameters would be those
    before the blow-up; a member that diverged in the study too is redone as it was).
    """
    cls = _ESTIMATORS.get(config.get("estimator"))
    if cls is None or not isinstance(config.get("params"), Mapping):
        raise ValueError(f"not a network member config (estimator {config.get('estimator')!r})")
    params = estimator_keywords(config["params"])  # JSON lists back to tuples
    if "epochs_trained" not in config and \
            str(config.get("stop_reason", "")).startswith("early stopping"):
        raise ValueError("it stopped early, and its run folder predates the record of the "
                         "epochs behind its kept parameters; run the study again to refit it")
    epochs = int(config.get("epochs_trained", params.get("epochs", 1)))
    params.update(early_stopping=False, epochs=max(1, epochs))
    model = cls(**params).fit(X, y)
    stop_reason = str(model.history_.stop_reason)
    if stop_reason.startswith("diverged") and \
            not str(config.get("stop_reason", "")).startswith("diverged"):
        raise ValueError(f"its new training {stop_reason}, where the study's did not; build "
                         "without refit, or search lower learning rates")
    new_config, arrays = model.to_arrays()
    new_config["stop_reason"] = model.history_.stop_reason
    new_config["epochs_trained"] = int(model.history_.epochs)
    new_config["refit_samples"] = len(X)
    return new_config, arrays


def model_from_arrays(config: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> Any:
    """A fitted MLPClassifier/MLPRegressor from a member's config and arrays (no pickle).

    The seam through which `hpsearch.ensembles` rebuilds members without importing nn_core;
    ValueError when the config or arrays do not describe a network.
    """
    cls = _ESTIMATORS.get(config.get("estimator"))
    if cls is None:
        raise ValueError(f"unknown estimator {config.get('estimator')!r}")
    try:
        return cls.from_arrays(dict(config), dict(arrays))
    except (KeyError, TypeError) as err:
        raise ValueError(f"config does not describe a network: {err!r}") from None


def _log_loss(proba: np.ndarray, y: np.ndarray, multilabel: bool) -> float:
    eps = 1e-12
    if multilabel:
        p = np.clip(proba, eps, 1 - eps)
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    return float(-np.mean(np.log(np.clip(proba[np.arange(len(y)), y], eps, None))))


@dataclass(frozen=True)
class MLPObjective:
    """Train one nn_core MLP per member on the stored split; see the module docstring."""

    data_file: str
    task: str
    fixed: tuple[tuple[str, Any], ...]
    metric: str
    repeats: int = 1
    checkpoint_epochs: tuple[int, ...] = ()

    def __call__(self, params: Mapping[str, Any], trial: Any) -> Result:
        data = _load_split(self.data_file)
        keywords = estimator_keywords({**dict(self.fixed), **params})
        score_name = _SCORE_METRICS[self.task]
        # The pruner sees the study's metric: the validation score, or the validation loss.
        report = self.metric in (f"val_{score_name}", "val_loss")
        report_loss = self.metric == "val_loss"
        seeds = np.random.SeedSequence(trial.seed).spawn(self.repeats)
        members, artifacts, saved = [], {}, []
        for r, child in enumerate(seeds):
            cls = MLPRegressor if self.task == "regression" else MLPClassifier
            model = cls(**keywords, seed=int(child.generate_state(1)[0] % 2**31))

            def on_epoch(epoch: int, value: float, val_loss: float, first: bool = r == 0,
                         model: Any = model) -> bool:
                # Only the first member's curve feeds the pruner: one curve per trial.
                if first and epoch + 1 in self.checkpoint_epochs:
                    artifacts.update(self._checkpoint(model, data, epoch + 1))
                    saved.append(epoch + 1)
                # The trainer counts epochs from 0; the step reported is the epochs completed.
                return bool(first and report and trial.report(
                    epoch + 1, val_loss if report_loss else value))

            try:
                model.fit(data["train_X"], data["train_y"], data["val_X"], data["val_y"],
                          callback=on_epoch)
            except ValueError as err:
                raise ObjectiveError(f"the network rejected these hyperparameters: {err}") from err
            history = model.history_
            if trial.should_prune():
                raise TrialPruned(f"pruned at epoch {history.epochs}")
            metrics, outputs = self._evaluate(model, data)
            metrics[f"train_{score_name}"] = float(history.train_score[-1]) \
                if history.train_score else math.nan
            metrics["epochs"] = float(history.epochs)
            members.append((metrics, outputs))
            config, arrays = model.to_arrays()
            config["stop_reason"] = history.stop_reason
            config["epochs_trained"] = _epochs_trained(keywords, history)
            artifacts[f"member{r}.config"] = np.array(json.dumps(config))
            artifacts.update({f"member{r}.{k}": v for k, v in arrays.items()})
            if r == 0:
                artifacts["curve.loss"] = np.asarray(history.loss, dtype=np.float32)
                artifacts["curve.train_score"] = np.asarray(history.train_score)
                artifacts["curve.val_score"] = np.asarray(history.val_score)
                artifacts["curve.val_loss"] = np.asarray(history.val_loss)
                for name, ratios in history.update_ratio.items():
                    artifacts[f"curve.update_ratio.{name}"] = np.asarray(ratios)
                if self.checkpoint_epochs:
                    artifacts["checkpoint_epochs"] = np.asarray(saved, dtype=np.int64)
        metrics = {k: float(np.mean([m[k] for m, _ in members])) for k in members[0][0]}
        for key in members[0][1]:
            artifacts[key] = np.mean([o[key] for _, o in members], axis=0)
        if self.metric not in metrics:
            raise ObjectiveError(f"metric {self.metric!r} is not one the network returns: "
                                 f"{', '.join(sorted(metrics))}")
        artifacts["study_metric"] = np.array(self.metric)
        return Result(metrics[self.metric], metrics, artifacts)

    def _checkpoint(self, model: Any, data: Mapping[str, np.ndarray],
                    epoch: int) -> dict[str, np.ndarray]:
        """Snapshot arrays of `model` at the end of 1-based `epoch` (see the module docstring)."""
        config, arrays = model.to_arrays()  # copies: training goes on after this
        config["epoch"] = epoch
        prefix = f"checkpoint{epoch}"
        out = {f"{prefix}.config": np.array(json.dumps(config))}
        out.update({f"{prefix}.{k}": v for k, v in arrays.items()
                    if not k.startswith("preprocess.")})
        _, outputs = self._evaluate(model, data)
        out.update({f"{prefix}.{k}": v for k, v in outputs.items()})
        return out

    def _evaluate(self, model: Any, data: Mapping[str, np.ndarray]) -> tuple[dict, dict]:
        metrics, outputs = {}, {}
        for part in ("val", "test"):
            X, y = data[f"{part}_X"], data[f"{part}_y"]
            if len(y) == 0:
                continue
            if self.task == "regression":
                pred = np.asarray(model.predict(X), dtype=np.float64)
                outputs[f"{part}_pred"] = pred
                metrics[f"{part}_loss"] = float(np.mean((pred - y) ** 2))
                metrics[f"{part}_r2"] = float(model.score(X, y))
            else:
                proba = np.asarray(model.predict_proba(X), dtype=np.float64)
                outputs[f"{part}_proba"] = proba
                multilabel = self.task == "multilabel"
                encoded = y if multilabel else np.searchsorted(model.classes_, y)
                metrics[f"{part}_loss"] = _log_loss(proba, encoded, multilabel)
                metrics[f"{part}_accuracy"] = float(model.score(X, y))
        return metrics, outputs
