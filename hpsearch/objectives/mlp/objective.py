"""The network objective: one nn_core MLP per repeat trained on the stored split, per trial.

Contract: `prepare(spec, run_dir)` stores the split (`hpsearch.objectives.mlp.data`) and returns
an `MLPObjective` that workers load the file from. Per-trial seeds only drive initialisation,
shuffling and dropout, so every trial predicts the same rows. `MLPObjective(params, trial)`
trains on the train split (preprocessing fitted there), reports the validation score each
epoch to `trial.report` (pruning; the validation loss instead when the study's metric is
`val_loss`), and returns an `hp.Result` whose value is the study's metric (or, for a list of
metrics, whose values are those metrics: multi-objective), with metrics
`val_accuracy`/`val_r2`, `val_loss`, the same for `test_` (when there is a test split),
`train_accuracy`/`train_r2`, `epochs`, and the costs of shipping it (`n_params`, `predict_ms`
per 1,000 rows on one thread, `train_s` seconds of training; `hpsearch.objectives.mlp.cost`),
the members' mean, and the artifacts of
`hpsearch.objectives.mlp.schema`. `repeats = N` trains each trial under N seeds spawned from
the trial's seed (the seed's "same model, different initialisations"). `checkpoint_epochs`
snapshots the first member at the end of each listed epoch that the run reaches (L-BFGS runs
count as epoch 1). Paused and promoted by a scheduler (`hp.Hyperband`,
`hp.PopulationBasedTraining`): a trial told to stop saves its first member's whole training
state (`nn_core.resume`: weights, optimizer moments, schedule position, batch-norm statistics,
random state, epoch) as its checkpoint, and a promoted trial resumes from it exactly: its
network ends the same as one trained without pausing (the data is the stored split and the
preprocessing is fitted again on it, deterministically). `checkpoint_epochs` snapshots then
cover the epochs of the last run only. Scores come from `hpsearch.objectives.mlp.scoring`, as
the ensembles' do.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hpsearch.exceptions import ObjectiveError, TrialPruned
from hpsearch.objectives.mlp import schema
from hpsearch.objectives.mlp.cost import n_params, predict_ms
from hpsearch.objectives.mlp.data import load_data, load_split, split_fingerprint, store_split
from hpsearch.objectives.mlp.hyperparameters import estimator_keywords
from hpsearch.objectives.mlp.networks import estimator_for, network_output
from hpsearch.objectives.mlp.scoring import SCORES, score
from hpsearch.objectives.mlp.settings import NetworkStudy
from hpsearch.trial import Result
from nn_core.data import Dataset

__all__ = ["MLPObjective", "prepare"]


def prepare(spec: NetworkStudy, run_dir: Path, data: Dataset | None = None) -> MLPObjective:
    """Split once from the study seed, store `<run_dir>/data.npz`, return the objective."""
    path = store_split(spec, load_data(spec) if data is None else data, run_dir)
    return MLPObjective(data_file=str(path.resolve()), data_fingerprint=split_fingerprint(path),
                        task=spec.objective.task,
                        fixed=tuple(sorted(spec.objective.fixed.items())),
                        metric=spec.metric, repeats=spec.objective.repeats,
                        checkpoint_epochs=tuple(spec.objective.checkpoint_epochs))


def _epochs_trained(keywords: Mapping[str, Any], history: Any) -> int:
    """Epochs behind the kept parameters: the best epoch's when early stopping restored it."""
    if keywords.get("early_stopping") and history.best_epoch is not None:
        return int(history.best_epoch) + 1
    return int(history.epochs)


@dataclass(frozen=True)
class MLPObjective:
    """Train one nn_core MLP per member on the stored split; see the module docstring."""

    data_file: str
    data_fingerprint: str  # of the data in data_file: the split this objective was built for
    task: str
    fixed: tuple[tuple[str, Any], ...]
    metric: str | tuple[str, ...]  # several: one value per metric (multi-objective)
    repeats: int = 1
    checkpoint_epochs: tuple[int, ...] = ()

    def __call__(self, params: Mapping[str, Any], trial: Any) -> Result:
        data = load_split(self.data_file, self.data_fingerprint)
        keywords = estimator_keywords({**dict(self.fixed), **params})
        seeds = np.random.SeedSequence(trial.seed).spawn(self.repeats)
        members, artifacts = [], {}
        for r, child in enumerate(seeds):
            seed = int(child.generate_state(1)[0] % 2**31)
            model = estimator_for(self.task)(**keywords, seed=seed)
            started = time.perf_counter()
            saved = self._fit(model, data, trial, artifacts, first=r == 0)
            train_s = time.perf_counter() - started
            history = model.history_
            metrics, outputs = self._evaluate(model, data)
            metrics["train_s"] = train_s
            metrics["predict_ms"] = predict_ms(model, data["val_X"] if len(data["val_X"])
                                               else data["train_X"])
            metrics[f"train_{SCORES[self.task]}"] = float(history.train_score[-1]) \
                if history.train_score else math.nan
            metrics["epochs"] = float(history.epochs)
            members.append((metrics, outputs))
            config, arrays = model.to_arrays()
            metrics["n_params"] = float(n_params(arrays))
            config[schema.STOP_REASON] = history.stop_reason
            config[schema.EPOCHS_TRAINED] = _epochs_trained(keywords, history)
            artifacts.update(schema.member_artifacts(r, config, arrays))
            if r == 0:
                artifacts.update(schema.curve_artifacts(history))
                if self.checkpoint_epochs:
                    artifacts[schema.CHECKPOINT_EPOCHS] = np.asarray(saved, dtype=np.int64)
        return self._result(members, artifacts)

    def _fit(self, model: Any, data: Mapping[str, np.ndarray], trial: Any,
             artifacts: dict[str, np.ndarray], first: bool) -> list[int]:
        """Train `model` on the train split. The first member reports to the pruner and adds
        its checkpoints to `artifacts`; returns the epochs checkpointed."""
        # The pruner sees the study's metric: the validation score, or the validation loss.
        report = first and isinstance(self.metric, str) and self.metric in (
            f"val_{SCORES[self.task]}", "val_loss")
        report_loss = self.metric == "val_loss"
        saved: list[int] = []

        def on_epoch(epoch: int, value: float, val_loss: float) -> bool:
            # Only the first member's curve feeds the pruner: one curve per trial.
            if first and epoch + 1 in self.checkpoint_epochs:
                artifacts.update(self._checkpoint(model, data, epoch + 1))
                saved.append(epoch + 1)
            # The trainer counts epochs from 0; the step reported is the epochs completed.
            return bool(report and trial.report(epoch + 1, val_loss if report_loss else value))

        # The first member pauses and resumes exactly (nn_core.resume): a scheduler's promoted
        # trial goes on from its checkpoint. L-BFGS runs are one step: nothing to resume.
        resumable = first and model.get_params().get("optimizer") != "lbfgs"
        resume = trial.checkpoint() if resumable and hasattr(trial, "checkpoint") else None
        try:
            model.fit(data["train_X"], data["train_y"], data["val_X"], data["val_y"],
                      callback=on_epoch, resume=resume, keep_state=resumable)
        except ValueError as err:
            raise ObjectiveError(f"the network rejected these hyperparameters: {err}") from err
        if trial.should_prune():
            if resumable and hasattr(trial, "save_checkpoint"):
                trial.save_checkpoint(model.training_state_)
            raise TrialPruned(f"pruned at epoch {model.history_.epochs}")
        return saved

    def _result(self, members: list[tuple[dict, dict]], artifacts: dict[str, np.ndarray]
                ) -> Result:
        """The members' mean metrics and predictions; the value is the study's metric."""
        metrics = {k: float(np.mean([m[k] for m, _ in members])) for k in members[0][0]}
        for key in members[0][1]:
            artifacts[key] = np.mean([o[key] for _, o in members], axis=0)
        names = (self.metric,) if isinstance(self.metric, str) else tuple(self.metric)
        for name in names:
            if name not in metrics:
                raise ObjectiveError(f"metric {name!r} is not one the network returns: "
                                     f"{', '.join(sorted(metrics))}")
        artifacts[schema.STUDY_METRIC] = np.array(names[0])  # what ensembles rank by
        if len(names) == 1:
            return Result(metrics[names[0]], metrics, artifacts)
        return Result(metrics=metrics, artifacts=artifacts,
                      values=[metrics[name] for name in names])

    def _checkpoint(self, model: Any, data: Mapping[str, np.ndarray],
                    epoch: int) -> dict[str, np.ndarray]:
        """Snapshot arrays of `model` at the end of 1-based `epoch` (see the schema)."""
        config, arrays = model.to_arrays()  # copies: training goes on after this
        _, outputs = self._evaluate(model, data)
        return schema.checkpoint_artifacts(epoch, config, arrays, outputs)

    def _evaluate(self, model: Any, data: Mapping[str, np.ndarray]) -> tuple[dict, dict]:
        """Metrics `<part>_loss` and `<part>_<accuracy|r2>` and predictions
        (`schema.output_name`) on the validation and test splits (those with rows)."""
        metrics, outputs = {}, {}
        classes = getattr(model, "classes_", None)
        for part in ("val", "test"):
            X, y = data[f"{part}_X"], data[f"{part}_y"]
            if len(y) == 0:
                continue
            output = network_output(model, X)
            outputs[schema.output_name(part, self.task)] = output
            metrics[f"{part}_loss"] = score("loss", self.task, y, output, classes)
            name = SCORES[self.task]
            metrics[f"{part}_{name}"] = score(name, self.task, y, output, classes)
        return metrics, outputs
