"""The artifact schema of the network objective: the one module that writes and reads the keys.

A trial's artifacts (name -> array; a config is a 0-d JSON string) are:

- `member<r>.config` and `member<r>.<array>` for each repeat r = 0..repeats-1: the network's
  config and arrays from nn_core's `to_arrays` (`param.*`, `buffer.*`, `preprocess.*`). The
  config is nn_core's plus `stop_reason` and `epochs_trained` (the epochs behind its kept
  parameters); a refitted one adds `refit_samples`, a parameter average `averaged_from`.
- `val_proba` / `test_proba` (classification, multi-label; `val_pred` / `test_pred` for
  regression): the trial's predictions on the stored split, the mean over its members.
- `checkpoint<e>.config` (member 0's config plus `"epoch": e`), `checkpoint<e>.param.*`,
  `checkpoint<e>.buffer.*` and the snapshot's own `checkpoint<e>.val_proba` / `.test_proba`
  (`_pred`): member 0 at the end of 1-based epoch e. Checkpoints share member 0's
  preprocessing (`member0.preprocess.*`, not stored again). `checkpoint_epochs` (int array)
  lists the epochs saved.
- `curve.loss`, `curve.train_score`, `curve.val_score`, `curve.val_loss` and
  `curve.update_ratio.<weight>`: member 0's learning curves.
- `study_metric`: the name of the metric that is the trial's value.

A *prefix* (`member<r>`, `checkpoint<e>`) names one network; `read_network(artifacts, prefix)`
gives back its (config, arrays) as `to_arrays` made them. Pure: NumPy and json only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["AVERAGED_FROM", "CHECKPOINT_EPOCHS", "EPOCH", "EPOCHS_TRAINED", "REFIT_SAMPLES",
           "STOP_REASON", "STUDY_METRIC", "checkpoint_artifacts", "checkpoint_prefix",
           "classes_of", "curve_artifacts", "has_networks", "member_artifacts", "member_prefix",
           "network_artifacts", "output_name", "read_checkpoint_epochs", "read_config",
           "read_members", "read_network", "read_output", "read_study_metric", "task_of"]

STUDY_METRIC = "study_metric"
CHECKPOINT_EPOCHS = "checkpoint_epochs"
_CONFIG = "config"
_PREPROCESS = "preprocess."
_MEMBER = "member"
_CHECKPOINT = "checkpoint"
_PARTS = ("val", "test")

# keys a member config carries beside nn_core's own
STOP_REASON = "stop_reason"
EPOCHS_TRAINED = "epochs_trained"
EPOCH = "epoch"  # checkpoints only
REFIT_SAMPLES = "refit_samples"  # refitted networks only
AVERAGED_FROM = "averaged_from"  # parameter averages only


def member_prefix(repeat: int) -> str:
    """The prefix of member `repeat` (0-based)."""
    return f"{_MEMBER}{repeat}"


def checkpoint_prefix(epoch: int) -> str:
    """The prefix of the checkpoint at the end of 1-based `epoch`."""
    return f"{_CHECKPOINT}{epoch}"


def output_name(part: str, task: str) -> str:
    """The key of the predictions on split `part` (val or test): `<part>_pred` for regression,
    `<part>_proba` otherwise."""
    return f"{part}_pred" if task == "regression" else f"{part}_proba"


def task_of(config: Mapping[str, Any]) -> str:
    """classification, multilabel or regression: the task a member config was trained for."""
    if config["estimator"] == "MLPRegressor":
        return "regression"
    return "multilabel" if config.get("multilabel") else "classification"


def classes_of(config: Mapping[str, Any]) -> np.ndarray | None:
    """The class labels (C,) of a classifier's config; None for a regressor."""
    if task_of(config) == "regression":
        return None
    return np.array(config["classes"], dtype=np.dtype(config["classes_dtype"]))


# ----- writing -------------------------------------------------------------------------------

def network_artifacts(prefix: str, config: Mapping[str, Any], arrays: Mapping[str, np.ndarray],
                      outputs: Mapping[str, np.ndarray] | None = None,
                      with_preprocessing: bool = True) -> dict[str, np.ndarray]:
    """`<prefix>.config` (JSON) and `<prefix>.<array>` for every array (the `preprocess.*`
    ones only `with_preprocessing`), plus `<prefix>.<output>` for `outputs` ({output_name:
    predictions})."""
    out = {f"{prefix}.{_CONFIG}": np.array(json.dumps(config))}
    out.update({f"{prefix}.{k}": v for k, v in arrays.items()
                if with_preprocessing or not k.startswith(_PREPROCESS)})
    out.update({f"{prefix}.{k}": v for k, v in (outputs or {}).items()})
    return out


def member_artifacts(repeat: int, config: Mapping[str, Any],
                     arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The artifacts of member `repeat`: its config and every array."""
    return network_artifacts(member_prefix(repeat), config, arrays)


def checkpoint_artifacts(epoch: int, config: Mapping[str, Any], arrays: Mapping[str, np.ndarray],
                         outputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The artifacts of member 0's snapshot at the end of 1-based `epoch`: its config (with
    `"epoch": epoch`), parameters and buffers (not the preprocessing, member 0's) and its own
    predictions ({output_name: array})."""
    return network_artifacts(checkpoint_prefix(epoch), {**config, EPOCH: epoch}, arrays,
                             outputs, with_preprocessing=False)


def curve_artifacts(history: Any) -> dict[str, np.ndarray]:
    """The learning curves of an nn_core training `history` (loss per iteration, scores and
    validation loss per epoch, update/weight ratios per weight)."""
    out = {"curve.loss": np.asarray(history.loss, dtype=np.float32),
           "curve.train_score": np.asarray(history.train_score),
           "curve.val_score": np.asarray(history.val_score),
           "curve.val_loss": np.asarray(history.val_loss)}
    for name, ratios in history.update_ratio.items():
        out[f"curve.update_ratio.{name}"] = np.asarray(ratios)
    return out


# ----- reading -------------------------------------------------------------------------------

def _is_output(name: str) -> bool:
    return any(name in (output_name(part, "regression"), output_name(part, "classification"))
               for part in _PARTS)


def read_config(artifacts: Mapping[str, np.ndarray], prefix: str) -> dict[str, Any]:
    """The config of the network under `prefix`."""
    return json.loads(str(artifacts[f"{prefix}.{_CONFIG}"]))


def read_network(artifacts: Mapping[str, np.ndarray], prefix: str
                 ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(config, arrays) of the network under `prefix` (`member<r>` or `checkpoint<e>`); a
    checkpoint gets member 0's preprocessing arrays."""
    config = read_config(artifacts, prefix)
    start = len(prefix) + 1
    own = {k[start:]: v for k, v in artifacts.items()
           if k.startswith(prefix + ".") and k[start:] != _CONFIG and not _is_output(k[start:])}
    if prefix.startswith(_CHECKPOINT):
        shared = member_prefix(0) + "."
        own.update({k[len(shared):]: v for k, v in artifacts.items()
                    if k.startswith(shared + _PREPROCESS)})
    return config, own


def read_members(artifacts: Mapping[str, np.ndarray]
                 ) -> list[tuple[str, dict[str, Any], dict[str, np.ndarray]]]:
    """(prefix, config, arrays) of every member of a trial, in repeat order."""
    count = sum(1 for k in artifacts if k.startswith(_MEMBER) and k.endswith("." + _CONFIG))
    return [(member_prefix(r), *read_network(artifacts, member_prefix(r))) for r in range(count)]


def read_output(artifacts: Mapping[str, np.ndarray], part: str, task: str,
                prefix: str | None = None) -> np.ndarray | None:
    """The stored predictions on split `part` as float64 (the trial's, or those of the network
    under `prefix`); None when they were not stored (no such split)."""
    key = output_name(part, task) if prefix is None else f"{prefix}.{output_name(part, task)}"
    return np.asarray(artifacts[key], dtype=np.float64) if key in artifacts else None


def read_checkpoint_epochs(artifacts: Mapping[str, np.ndarray]) -> list[int]:
    """The epochs whose checkpoints were saved (empty without checkpoints)."""
    return [int(e) for e in artifacts.get(CHECKPOINT_EPOCHS, np.zeros(0, dtype=np.int64))]


def read_study_metric(artifacts: Mapping[str, np.ndarray]) -> str | None:
    """The name of the trial's value metric; None in run folders from before it was stored."""
    return str(artifacts[STUDY_METRIC]) if STUDY_METRIC in artifacts else None


def has_networks(artifacts: Mapping[str, np.ndarray]) -> bool:
    """Whether a trial's artifacts hold the objective's networks (member 0 at least)."""
    return f"{member_prefix(0)}.{_CONFIG}" in artifacts
