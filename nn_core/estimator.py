"""scikit-learn style estimators over Network + train: `MLPClassifier` and `MLPRegressor`.

`KEYWORDS` (from `nn_core.keywords`, re-exported here) is the one table of the estimators'
keyword arguments (the same names are the vocabulary of hpsearch study files): each entry
gives the default, the accepted type, the allowed values or range, and one line of
documentation. Validation (`validate_params`) and the docs (`keyword_table()`, the
constructors' signatures) are derived from it.

Habits kept from scikit-learn: constructors only store their keywords; `fit` validates them
(ValueError naming the keyword and what is allowed) and learns attributes ending in `_`:
`network_`, `params_` (the network's parameter dict), `history_` (a `trainer.History`),
`preprocessor_`, `n_features_in_`, and for classifiers `classes_`. `get_params()` /
`set_params(**kw)` work as in scikit-learn.

Randomness: `seed` feeds one `np.random.SeedSequence`, spawned into independent Generators for
the initial weights, the validation hold-out and the training loop (shuffling, dropout), so the
same call with the same seed gives the same model and history.

Saving without pickle: `to_arrays() -> (config, arrays)` returns a JSON-able dict and a dict of
plain NumPy arrays; `from_arrays(config, arrays)` rebuilds the fitted estimator.
"""

from __future__ import annotations

import inspect
from dataclasses import asdict, fields
from typing import Any

import numpy as np

from nn_core import metrics
from nn_core import preprocess as preprocess_module
from nn_core.data import split as split_data
from nn_core.history import History
from nn_core.keywords import BY_NAME, KEYWORDS, Keyword, keyword_table, validate_params
from nn_core.network import Network, NetworkConfig
from nn_core.trainer import TrainConfig, train

__all__ = ["KEYWORDS", "Keyword", "MLPClassifier", "MLPRegressor", "keyword_table",
           "validate_params"]


_NETWORK_FIELDS = {f.name for f in fields(NetworkConfig)}
_TRAIN_FIELDS = {f.name for f in fields(TrainConfig)}


class _BaseMLP:
    """Shared machinery; see the module docstring."""

    _losses: tuple[str, ...] = ()

    def __init__(self, **params: Any) -> None:
        for keyword in KEYWORDS:
            setattr(self, keyword.name, keyword.default)
        self._extra: dict[str, Any] = {}
        self.set_params(**params)

    # --- scikit-learn habits ----------------------------------------------------------------

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The keywords and their current values."""
        params = {keyword.name: getattr(self, keyword.name) for keyword in KEYWORDS}
        params.update(self._extra)
        return params

    def set_params(self, **params: Any) -> _BaseMLP:
        """Store keywords (checked in fit); returns self."""
        for name, value in params.items():
            if name in BY_NAME:
                setattr(self, name, value)
            else:
                self._extra[name] = value  # rejected with a clear message in fit
        return self

    def __repr__(self) -> str:
        changed = [
            f"{keyword.name}={getattr(self, keyword.name)!r}"
            for keyword in KEYWORDS
            if getattr(self, keyword.name) != keyword.default
        ]
        return f"{type(self).__name__}({', '.join(changed)})"

    # --- fitting ----------------------------------------------------------------------------

    def _validated(self) -> dict[str, Any]:
        params = validate_params(self.get_params())
        if params["loss"] is not None and params["loss"] not in self._losses:
            raise ValueError(
                f"loss must be one of {', '.join(self._losses)} or None for "
                f"{type(self).__name__}; got {params['loss']!r}"
            )
        return params

    def _encode_targets(self, y: np.ndarray, params: dict[str, Any]) -> tuple[np.ndarray, str, int]:
        raise NotImplementedError

    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        X_val: np.ndarray | None = None,
        y_val: np.ndarray | None = None,
        callback: Any = None,
    ) -> _BaseMLP:
        """Train on X (N, D) and y; X_val/y_val (optional) are scored each epoch.

        callback(epoch, score, val_loss) may return True (or raise trainer.StopTraining) to
        stop (see `nn_core.trainer`).
        """
        params = self._validated()
        X = _as_features(X, "X")
        y = np.asarray(y)
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]}")
        if (X_val is None) != (y_val is None):
            raise ValueError("give both X_val and y_val, or neither")
        seeds = np.random.SeedSequence(params["seed"]).spawn(3)
        init_rng, split_rng, train_rng = (np.random.default_rng(s) for s in seeds)
        y_encoded, loss, output_dim = self._encode_targets(y, params)
        if X_val is not None:
            X_val = _as_features(X_val, "X_val")
            y_val_encoded = self._encode_validation(np.asarray(y_val))
        elif params["early_stopping"]:
            parts = split_data(
                X, y_encoded, params["validation_fraction"], 0.0, split_rng,
                stratify=y_encoded.ndim == 1 and loss in ("softmax", "svm"),
            )
            X, y_encoded = parts.X_train, parts.y_train
            X_val, y_val_encoded = parts.X_val, parts.y_val
        else:
            y_val_encoded = None
        preprocessor = _make_preprocessor(params)
        dtype = np.dtype(params["dtype"])
        X = preprocessor.fit_transform(X.astype(dtype, copy=False))
        if X_val is not None:
            X_val = preprocessor.transform(X_val.astype(dtype, copy=False))
        network_config = NetworkConfig(
            input_dim=X.shape[1],
            output_dim=output_dim,
            loss=loss,
            **{k: v for k, v in params.items() if k in _NETWORK_FIELDS and k != "loss"},
        )
        network = Network(network_config, init_rng)
        train_config = TrainConfig(**{k: v for k, v in params.items() if k in _TRAIN_FIELDS})
        # Set before training so that a callback can snapshot the model (checkpoints) through
        # to_arrays(); the parameters keep changing until train returns.
        self.network_ = network
        self.params_ = network.params
        self.preprocessor_ = preprocessor
        self.n_features_in_ = preprocessor.n_features_in_
        self.history_: History = train(
            network, X, y_encoded, X_val, y_val_encoded, train_config, train_rng, callback
        )
        return self

    def _encode_validation(self, y_val: np.ndarray) -> np.ndarray:
        return y_val

    def decision_function(self, X: np.ndarray) -> np.ndarray:
        """Raw network scores (N, C) for X (N, D) in evaluation mode."""
        self._check_fitted()
        X = _as_features(X, "X").astype(self.network_.dtype, copy=False)
        return self.network_.predict_scores(self.preprocessor_.transform(X))

    def _check_fitted(self) -> None:
        if not hasattr(self, "network_"):
            raise ValueError(f"this {type(self).__name__} is not fitted yet: call fit(X, y)")

    # --- export without pickle ------------------------------------------------------------

    def to_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(JSON-able config, {name: array}) describing the fitted model; see from_arrays."""
        self._check_fitted()
        params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.get_params().items()}
        config: dict[str, Any] = {
            "estimator": type(self).__name__,
            "params": params,
            "network": {k: (list(v) if isinstance(v, tuple) else v)
                        for k, v in asdict(self.network_.config).items()},
            "preprocess": self.preprocessor_.name,
        }
        config.update(self._extra_config())
        arrays = {f"param.{k}": np.array(v) for k, v in self.network_.params.items()}
        arrays.update({f"buffer.{k}": np.array(v) for k, v in self.network_.buffers.items()})
        arrays.update({f"preprocess.{k}": v for k, v in self.preprocessor_.state().items()})
        return config, arrays

    def _extra_config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_arrays(cls, config: dict[str, Any], arrays: dict[str, np.ndarray]) -> _BaseMLP:
        """Rebuild a fitted estimator from `to_arrays()` output (no training, no pickle)."""
        if config.get("estimator") != cls.__name__:
            raise ValueError(f"config describes {config.get('estimator')!r}, not {cls.__name__}")
        params = dict(config["params"])
        if isinstance(params.get("hidden_sizes"), list):
            params["hidden_sizes"] = tuple(params["hidden_sizes"])
        model = cls(**params)
        net_settings = dict(config["network"])
        net_settings["hidden_sizes"] = tuple(net_settings["hidden_sizes"])
        network = Network(NetworkConfig(**net_settings), np.random.default_rng(0))
        for group, target in (("param.", network.params), ("buffer.", network.buffers)):
            for key in list(target):
                name = group + key
                if name not in arrays:
                    raise ValueError(f"arrays: missing key {name!r}")
                target[key] = np.asarray(arrays[name], dtype=network.dtype).reshape(
                    target[key].shape
                ).copy()
        prefix = "preprocess."
        state = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
        model.preprocessor_ = preprocess_module.from_state(config["preprocess"], state)
        model.network_ = network
        model.params_ = network.params
        model.n_features_in_ = model.preprocessor_.n_features_in_
        model._load_extra_config(config)
        return model

    def _load_extra_config(self, config: dict[str, Any]) -> None:
        pass


def _make_preprocessor(params: dict[str, Any]) -> Any:
    """The unfitted preprocessor the validated keywords ask for."""
    settings = {}
    if params["preprocess"] in ("pca", "whiten"):
        settings["n_components"] = params["n_components"]
    return preprocess_module.make_preprocessor(params["preprocess"], **settings)


def _as_features(X: Any, name: str) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (n_samples, n_features); got {X.shape}")
    if not np.issubdtype(X.dtype, np.number):
        raise ValueError(f"{name} must be numeric; got dtype {X.dtype}")
    return X


def _softmax(scores: np.ndarray) -> np.ndarray:
    shifted = scores - scores.max(axis=1, keepdims=True)
    np.exp(shifted, out=shifted)
    shifted /= shifted.sum(axis=1, keepdims=True)
    return shifted


class MLPClassifier(_BaseMLP):
    """Multilayer perceptron classifier (softmax or SVM loss; sigmoid for 0/1 label matrices).

    Labels may be any sortable values (strings, non-contiguous ints): `classes_` holds them
    and predictions come back in the same values. A 2-D 0/1 y (N, L) trains L independent
    attributes (multi-label) with the sigmoid cross-entropy; `predict` then returns 0/1 (N, L).
    Keywords: see `KEYWORDS` / `keyword_table()`.
    """

    _losses = ("softmax", "svm")

    def _encode_targets(self, y, params):
        if y.ndim == 2:
            values = np.unique(y)
            if not np.all(np.isin(values, (0, 1))):
                raise ValueError("a 2-D y must be a 0/1 label matrix (multi-label)")
            if params["loss"] is not None:
                raise ValueError(
                    f"loss must be None for a 0/1 label matrix (sigmoid_cross_entropy is used); "
                    f"got {params['loss']!r}"
                )
            self.classes_ = np.arange(y.shape[1])
            self._multilabel = True
            return y.astype(params["dtype"]), "sigmoid_cross_entropy", y.shape[1]
        if y.ndim != 1:
            raise ValueError(f"y must be 1-D labels or a 2-D 0/1 matrix; got shape {y.shape}")
        self.classes_, encoded = np.unique(y, return_inverse=True)
        self._multilabel = False
        if len(self.classes_) < 2:
            raise ValueError(f"y has a single class {self.classes_.tolist()}; need at least 2")
        return encoded.astype(np.int64), params["loss"] or "softmax", len(self.classes_)

    def _encode_validation(self, y_val):
        if self._multilabel:
            return y_val.astype(str(self.dtype))
        index = np.searchsorted(self.classes_, y_val)
        index = np.clip(index, 0, len(self.classes_) - 1)
        unknown = self.classes_[index] != y_val
        if np.any(unknown):
            raise ValueError(
                f"y_val holds labels not seen in y: {np.unique(y_val[unknown]).tolist()[:5]}"
            )
        return index.astype(np.int64)

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities (N, C) (softmax of the scores; per-label sigmoid if multi-label).

        With loss="svm" the scores are margins and these are not calibrated probabilities.
        """
        scores = self.decision_function(X)
        if self._multilabel:
            return 0.5 * (1.0 + np.tanh(0.5 * scores))
        return _softmax(scores)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Labels (N,) from classes_, or a 0/1 matrix (N, L) for multi-label."""
        scores = self.decision_function(X)
        if self._multilabel:
            return (scores > 0).astype(np.int64)
        return self.classes_[scores.argmax(axis=1)]

    def score(self, X: np.ndarray, y: np.ndarray) -> float:
        """Accuracy (subset accuracy for multi-label)."""
        return metrics.accuracy(np.asarray(y), self.predict(X))

    def _extra_config(self):
        return {
            "classes": self.classes_.tolist(),
            "classes_dtype": self.classes_.dtype.str,
            "multilabel": self._multilabel,
        }

    def _load_extra_config(self, config):
        self.classes_ = np.array(config["classes"], dtype=np.dtype(config["classes_dtype"]))
        self._multilabel = bool(config["multilabel"])


class MLPRegressor(_BaseMLP):
    """Multilayer perceptron regressor (L2 or L1 loss); score is R^2.

    y (N,) gives predictions (N,); y (N, L) gives (N, L). Keywords: see `KEYWORDS`.
    """

    _losses = ("l2", "l1")

    def _encode_targets(self, y, params):
        if y.ndim not in (1, 2) or not np.issubdtype(y.dtype, np.number):
            raise ValueError(f"y must be numeric, 1-D or 2-D; got {y.dtype} of shape {y.shape}")
        self._single_output = y.ndim == 1
        targets = y.reshape(y.shape[0], -1).astype(params["dtype"])
        return targets, params["loss"] or "l2", targets.shape[1]

    def _encode_validation(self, y_val):
        return y_val.reshape(y_val.shape[0], -1).astype(str(self.dtype))

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predictions (N,) for 1-D training targets, else (N, L)."""
        scores = self.decision_function(X)
        return scores[:, 0] if self._single_output else scores

    def score(self, X: np.ndarray, y: np.ndarray) -> float:
        """R^2, averaged uniformly over outputs."""
        return metrics.r2(np.asarray(y), self.decision_function(X))

    def _extra_config(self):
        return {"single_output": self._single_output}

    def _load_extra_config(self, config):
        self._single_output = bool(config["single_output"])


def _signature() -> inspect.Signature:
    parameters = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    parameters += [
        inspect.Parameter(k.name, inspect.Parameter.KEYWORD_ONLY, default=k.default)
        for k in KEYWORDS
    ]
    return inspect.Signature(parameters)


# help(MLPClassifier) and IDEs show the table's keywords and defaults.
MLPClassifier.__init__.__signature__ = _signature()  # type: ignore[attr-defined]
_table_doc = "\n\nKeywords\n--------\n" + keyword_table()
MLPClassifier.__doc__ = (MLPClassifier.__doc__ or "") + _table_doc
MLPRegressor.__doc__ = (MLPRegressor.__doc__ or "") + _table_doc
