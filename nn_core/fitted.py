"""A network with its preprocessing, as the estimators train, run and save it (no scikit-learn).

Contract:
- `prepare(X, y, loss, output_dim, params, validation=None, stratify=False) -> Prepared`:
  X (N, D) float, y already encoded for `loss` (int labels (N,) for softmax/svm, float targets
  (N, L) otherwise), `params` the validated estimator keywords (`nn_core.keywords`),
  `validation` an optional (X_val, y_val) pair encoded the same way. Without it and with
  `early_stopping`, `validation_fraction` of the rows is held out (stratified when
  `stratify`). The preprocessor is fitted on the training rows only; the network is built
  from the keywords. With `scale_targets` (regression), each target column is standardised
  with the training rows' mean and standard deviation (`Prepared.target_mean`,
  `target_scale`, (L,); a constant column keeps scale 1), the validation targets alike, so
  the network learns unit-scale targets whatever their units; the losses it records are then
  in those units (R^2 is unchanged). `Prepared.train(callback)` trains the network in place
  and returns the `nn_core.history.History`.
- Randomness: `params["seed"]` feeds one `np.random.SeedSequence`, spawned into independent
  Generators for the initial weights, the validation hold-out and the training loop
  (shuffling, dropout): same call, same seed, same model and history.
- `scores(network, preprocessor, X) -> (N, C)`: raw scores in evaluation mode, computed in
  float64 whatever the training dtype, on a float64 copy of the weights: one-row and
  many-row float32 products round differently (about 1e-7), and a row's prediction must not
  depend on the rows beside it.
- `save(network, preprocessor) -> (config, arrays)`: the network's settings and the
  preprocessing name (JSON-able) and its arrays (`param.*`, `buffer.*`, `preprocess.*`);
  `load(config, arrays) -> (network, preprocessor)` rebuilds them, ValueError for a missing
  array.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np

from nn_core import preprocess as preprocess_module
from nn_core.data import split as split_data
from nn_core.history import History
from nn_core.network import Network, NetworkConfig
from nn_core.trainer import Callback, TrainConfig, train

__all__ = ["Prepared", "load", "prepare", "save", "scores"]

_NETWORK_FIELDS = {f.name for f in fields(NetworkConfig)} - {"input_dim", "output_dim", "loss"}
_TRAIN_FIELDS = {f.name for f in fields(TrainConfig)}


@dataclass(frozen=True)
class Prepared:
    """A built network and fitted preprocessor, with the transformed data to train on."""

    network: Network
    preprocessor: Any
    config: TrainConfig
    data: tuple[np.ndarray, np.ndarray]
    validation: tuple[np.ndarray, np.ndarray] | None
    rng: np.random.Generator
    target_mean: np.ndarray | None = None
    target_scale: np.ndarray | None = None

    def train(self, callback: Callback | None = None,
              resume: dict[str, np.ndarray] | None = None,
              state_out: dict[str, np.ndarray] | None = None) -> History:
        """Train the network in place (see `nn_core.trainer.train`)."""
        X_val, y_val = self.validation if self.validation is not None else (None, None)
        return train(self.network, *self.data, X_val, y_val, self.config, self.rng, callback,
                     resume, state_out)


def prepare(X: np.ndarray, y: np.ndarray, loss: str, output_dim: int, params: Mapping[str, Any],
            validation: tuple[np.ndarray, np.ndarray] | None = None,
            stratify: bool = False, scale_targets: bool = False) -> Prepared:
    """Hold out, preprocess and build; see the module docstring."""
    seeds = np.random.SeedSequence(params["seed"]).spawn(3)
    init_rng, split_rng, train_rng = (np.random.default_rng(s) for s in seeds)
    if validation is None and params["early_stopping"]:
        X, y, validation = _hold_out(X, y, params["validation_fraction"], split_rng, stratify)
    mean = scale = None
    if scale_targets:
        mean = y.mean(axis=0, dtype=np.float64)
        std = y.std(axis=0, dtype=np.float64)
        scale = np.where(std > 0, std, 1.0)
        y = ((y - mean) / scale).astype(y.dtype)
        if validation is not None:
            validation = (validation[0], ((validation[1] - mean) / scale).astype(y.dtype))
    settings = {}
    if params["preprocess"] in ("pca", "whiten"):
        settings["n_components"] = params["n_components"]
    preprocessor = preprocess_module.make_preprocessor(params["preprocess"], **settings)
    dtype = np.dtype(params["dtype"])
    X = preprocessor.fit_transform(X.astype(dtype, copy=False))
    if validation is not None:
        validation = (preprocessor.transform(validation[0].astype(dtype, copy=False)),
                      validation[1])
    network_config = NetworkConfig(
        input_dim=X.shape[1], output_dim=output_dim, loss=loss,
        **{k: v for k, v in params.items() if k in _NETWORK_FIELDS},
    )
    train_config = TrainConfig(**{k: v for k, v in params.items() if k in _TRAIN_FIELDS})
    return Prepared(Network(network_config, init_rng), preprocessor, train_config, (X, y),
                    validation, train_rng, mean, scale)


def _hold_out(X: np.ndarray, y: np.ndarray, fraction: float, rng: np.random.Generator,
              stratify: bool) -> tuple[np.ndarray, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """(X_train, y_train, (X_val, y_val)): `fraction` of the rows held out, stratified where
    every split keeps rows; at least one row each side (small data rounds to none)."""
    n = len(y)
    if n < 2:
        raise ValueError(f"early_stopping needs at least 2 samples to hold some out; got "
                         f"n_samples={n} (give X_val and y_val, or early_stopping=False)")
    parts = split_data(X, y, fraction, 0.0, rng, stratify=stratify)
    if len(parts.y_val) == 0 or len(parts.y_train) == 0:
        parts = split_data(X, y, min(max(fraction, 1.0 / n), (n - 1) / n - 1e-9), 0.0, rng,
                           stratify=False)
    return parts.X_train, parts.y_train, (parts.X_val, parts.y_val)


def scores(network: Network, preprocessor: Any, X: np.ndarray) -> np.ndarray:
    """Evaluation-mode scores (N, C), float64, for X (N, D); see the module docstring."""
    if network.dtype != np.float64:
        network = _float64_copy(network)
    X = preprocessor.transform(np.asarray(X, dtype=np.float64))
    return network.predict_scores(X)


def _float64_copy(network: Network) -> Network:
    copy = Network(replace(network.config, dtype="float64"), np.random.default_rng(0))
    for source, target in ((network.params, copy.params), (network.buffers, copy.buffers)):
        for key, value in source.items():
            target[key] = value.astype(np.float64)
    return copy


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def save(network: Network, preprocessor: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """({"network": settings, "preprocess": name}, arrays); copies, so training may go on."""
    config = {"network": {k: _plain(v) for k, v in asdict(network.config).items()},
              "preprocess": preprocessor.name}
    arrays = {f"param.{k}": np.array(v) for k, v in network.params.items()}
    arrays.update({f"buffer.{k}": np.array(v) for k, v in network.buffers.items()})
    arrays.update({f"preprocess.{k}": v for k, v in preprocessor.state().items()})
    return config, arrays


def load(config: Mapping[str, Any], arrays: Mapping[str, np.ndarray]) -> tuple[Network, Any]:
    """The network and preprocessor `save` described (no training)."""
    settings = dict(config["network"])
    settings["hidden_sizes"] = tuple(settings["hidden_sizes"])
    network = Network(NetworkConfig(**settings), np.random.default_rng(0))
    for group, target in (("param.", network.params), ("buffer.", network.buffers)):
        for key in list(target):
            name = group + key
            if name not in arrays:
                raise ValueError(f"arrays: missing key {name!r}")
            target[key] = np.asarray(arrays[name], dtype=network.dtype).reshape(
                target[key].shape).copy()
    prefix = "preprocess."
    state = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
    return network, preprocess_module.from_state(config["preprocess"], state)
