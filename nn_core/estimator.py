"""scikit-learn estimators over the network and trainer: `MLPClassifier` and `MLPRegressor`.

They are scikit-learn estimators (`BaseEstimator` with the classifier or regressor mixin),
so `Pipeline`, `GridSearchCV`, `cross_val_score`, `clone`, `CalibratedClassifierCV`,
`OneVsRestClassifier`, `StackingClassifier` and `check_estimator` take them as they are. This
is nn_core's one scikit-learn import at module level; the network, layers and trainer stay
NumPy-only (`nn_core.fitted` does the training, without scikit-learn).

Keywords: `KEYWORDS` (from `nn_core.keywords`, re-exported here) is the one table of the
estimators' keyword arguments, and the vocabulary of hpsearch study files: default, accepted
type, allowed values, one line of documentation. `__init__` only stores them (its signature
is the table's, checked by a test); `fit` validates them (`validate_params`: ValueError naming
the keyword and what is allowed); `set_params` refuses a name that is not a keyword.

Input: scikit-learn's own validation (`validate_data`): arrays, lists and DataFrames (then
`feature_names_in_`), NaN/inf, complex, sparse (refused: the network computes densely) and
object input refused or converted with scikit-learn's messages; predicting before `fit`
raises `NotFittedError`. Learned attributes end in `_`: `network_`, `params_` (the network's
parameter dict), `history_` (a `nn_core.history.History`), `preprocessor_`, `n_features_in_`,
`n_iter_` (epochs trained; iterations for lbfgs), `loss_curve_` (per epoch; per iteration for
lbfgs), `validation_scores_` (per epoch, None without validation data), and `classes_` for
the classifier.

Classifier targets: labels of any sortable type (predictions come back in them); a binary
task's `decision_function` is (N,) (the positive class's score minus the negative's, so
`> 0` predicts `classes_[1]`), a multiclass one's (N, C); a 0/1 label matrix (N, L) trains L
attributes with the sigmoid cross-entropy (multi-label). A continuous target is refused
("Unknown label type"). Regressor targets: (N,) or (N, L); predictions float64 of the same
shape; no `decision_function` or `predict_proba`.

Saving without pickle: `to_arrays() -> (config, arrays)` returns a JSON-able dict and plain
NumPy arrays; `from_arrays(config, arrays)` rebuilds the fitted estimator.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d

from nn_core import fitted
from nn_core.keywords import KEYWORDS, Keyword, keyword_table, validate_params
from nn_core.trainer import Callback

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data
except ImportError:  # older: the same function as a method
    def validate_data(estimator: Any, /, X: Any = "no_validation", y: Any = "no_validation",
                      **options: Any) -> Any:
        return estimator._validate_data(X, y, **options)

__all__ = ["KEYWORDS", "Keyword", "MLPClassifier", "MLPRegressor", "keyword_table",
           "validate_params"]

_FLOATS = (np.float64, np.float32)  # kept as given; anything else becomes float64


class _BaseMLP(BaseEstimator):
    """Shared machinery; see the module docstring."""

    _losses: tuple[str, ...] = ()

    def __init__(self, *, hidden_sizes=(100,), activation="relu", leaky_alpha=0.01,
                 maxout_pieces=2, batchnorm=False, dropout=0.0, init="he", loss=None,
                 dtype="float32", regularization="l2", reg=0.0, l1_ratio=0.5, max_norm=None,
                 optimizer="adam", learning_rate=1e-3, momentum=0.9, beta1=0.9, beta2=0.999,
                 epsilon=1e-8, decay_rate=0.99, batch_size=128, epochs=200, max_iter=200,
                 lr_schedule=None, lr_decay=None, lr_step=5, lr_patience=3,
                 early_stopping=False, patience=10, validation_fraction=0.1,
                 preprocess="standardize", n_components=None, scale_targets=True,
                 seed=0) -> None:
        given = locals()
        for keyword in KEYWORDS:  # only store: fit validates
            setattr(self, keyword.name, given[keyword.name])

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
        """(encoded y, loss, output width) for the network; sets the target attributes."""
        raise NotImplementedError

    def _encode_validation(self, y_val: Any) -> np.ndarray:
        raise NotImplementedError

    def fit(self, X: Any, y: Any, X_val: Any = None, y_val: Any = None,
            callback: Callback | None = None, resume: dict[str, np.ndarray] | None = None,
            keep_state: bool = False) -> _BaseMLP:
        """Train on X (N, D) and y; X_val/y_val (optional) are scored each epoch.

        callback(epoch, score, val_loss) may return True (or raise trainer.StopTraining) to
        stop (see `nn_core.trainer`). keep_state=True keeps the run's whole state when it stops
        in `training_state_` ({name: ndarray}, `nn_core.resume`); `resume=` such a state, with
        the same data and parameters, goes on from it exactly as if it had never stopped.
        """
        params = self._validated()
        X, y = validate_data(self, X, y, dtype=_FLOATS, multi_output=True,
                             y_numeric=isinstance(self, RegressorMixin))
        if (X_val is None) != (y_val is None):
            raise ValueError("give both X_val and y_val, or neither")
        y_encoded, loss, output_dim = self._encode_targets(y, params)
        validation = None
        if X_val is not None:
            X_val = validate_data(self, X_val, dtype=_FLOATS, reset=False)
            validation = (X_val, self._encode_validation(y_val))
        regression = isinstance(self, RegressorMixin)
        prepared = fitted.prepare(X, y_encoded, loss, output_dim, params, validation,
                                  stratify=not regression and y_encoded.ndim == 1,
                                  scale_targets=regression and params["scale_targets"])
        if regression:
            self.target_mean_ = _or_zeros(prepared.target_mean, output_dim)
            self.target_scale_ = _or_ones(prepared.target_scale, output_dim)
        # Set before training so that a callback can snapshot the model (checkpoints) through
        # to_arrays(); the parameters keep changing until train returns.
        self.network_, self.preprocessor_ = prepared.network, prepared.preprocessor
        self.params_ = prepared.network.params
        state: dict[str, np.ndarray] | None = {} if keep_state else None
        history = prepared.train(callback, resume, state)
        self.training_state_ = state
        self.history_ = history
        lbfgs = params["optimizer"] == "lbfgs"
        self.n_iter_ = history.n_iterations if lbfgs else history.epochs
        self.loss_curve_ = [float(v) for v in (history.loss if lbfgs else history.epoch_loss)]
        self.validation_scores_ = list(history.val_score) or None
        return self

    def _scores(self, X: Any) -> np.ndarray:
        """Raw network scores (N, C) float64 for X (N, D), evaluation mode."""
        check_is_fitted(self, "network_")
        X = validate_data(self, X, dtype=_FLOATS, reset=False)
        return fitted.scores(self.network_, self.preprocessor_, X)

    # --- export without pickle ------------------------------------------------------------

    def to_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(JSON-able config, {name: array}) describing the fitted model; see from_arrays."""
        check_is_fitted(self, "network_")
        params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.get_params().items()}
        saved, arrays = fitted.save(self.network_, self.preprocessor_)
        config = {"estimator": type(self).__name__, "params": params, **saved,
                  **self._extra_config()}
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
        model.network_, model.preprocessor_ = fitted.load(config, arrays)
        model.params_ = model.network_.params
        model.n_features_in_ = model.preprocessor_.n_features_in_
        model._load_extra_config(config)
        return model

    def _load_extra_config(self, config: dict[str, Any]) -> None:
        pass


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """Multilayer perceptron classifier (softmax or SVM loss; sigmoid for 0/1 label matrices).

    Labels may be any sortable values (strings, non-contiguous ints): `classes_` holds them
    and predictions come back in the same values. A 2-D 0/1 y (N, L) trains L independent
    attributes (multi-label) with the sigmoid cross-entropy; `predict` then returns 0/1 (N, L).
    score is accuracy (subset accuracy for multi-label). Keywords: see `KEYWORDS`.
    """

    _losses = ("softmax", "svm")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = self.loss is None  # the sigmoid cross-entropy
        return tags

    def _more_tags(self) -> dict[str, Any]:  # scikit-learn < 1.6
        return {"multilabel": self.loss is None}

    def _encode_targets(self, y, params):
        check_classification_targets(y)
        kind = type_of_target(y)
        if kind == "multilabel-indicator":
            if params["loss"] is not None:
                raise ValueError(
                    f"loss must be None for a 0/1 label matrix (sigmoid_cross_entropy is used); "
                    f"got {params['loss']!r}"
                )
            y = np.asarray(y)
            self.classes_ = np.arange(y.shape[1])
            self._multilabel = True
            return y.astype(params["dtype"]), "sigmoid_cross_entropy", y.shape[1]
        if kind not in ("binary", "multiclass"):
            raise ValueError(f"y must be class labels (N,) or a 0/1 label matrix (N, L); got "
                             f"a {kind} target")
        y = column_or_1d(y, warn=True)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        self._multilabel = False
        if len(self.classes_) < 2:
            raise ValueError(f"y has only one class ({self.classes_.tolist()}); a classifier "
                             "needs at least 2")
        return encoded.astype(np.int64), params["loss"] or "softmax", len(self.classes_)

    def _encode_validation(self, y_val):
        y_val = np.asarray(y_val)
        if self._multilabel:
            return y_val.astype(str(self.dtype))
        y_val = column_or_1d(y_val)
        index = np.clip(np.searchsorted(self.classes_, y_val), 0, len(self.classes_) - 1)
        unknown = self.classes_[index] != y_val
        if np.any(unknown):
            raise ValueError(
                f"y_val holds labels not seen in y: {np.unique(y_val[unknown]).tolist()[:5]}"
            )
        return index.astype(np.int64)

    def decision_function(self, X: Any) -> np.ndarray:
        """Scores for X (N, D), float64: (N,) for two classes (positive minus negative), else
        (N, C); (N, L) per-label logits for multi-label."""
        scores = self._scores(X)
        if not self._multilabel and scores.shape[1] == 2:
            return scores[:, 1] - scores[:, 0]
        return scores

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities (N, C) (softmax of the scores; per-label sigmoid if multi-label).

        With loss="svm" the scores are margins and these are not calibrated probabilities.
        """
        decision = self.decision_function(X)
        if self._multilabel:
            return expit(decision)
        if decision.ndim == 1:
            positive = expit(decision)
            return np.column_stack([1.0 - positive, positive])
        shifted = decision - decision.max(axis=1, keepdims=True)
        np.exp(shifted, out=shifted)
        shifted /= shifted.sum(axis=1, keepdims=True)
        return shifted

    def predict_log_proba(self, X: Any) -> np.ndarray:
        """log of predict_proba (N, C)."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X: Any) -> np.ndarray:
        """Labels (N,) from classes_, or a 0/1 matrix (N, L) for multi-label."""
        decision = self.decision_function(X)
        if self._multilabel:
            return (decision > 0).astype(np.int64)
        if decision.ndim == 1:
            return self.classes_[(decision > 0).astype(np.int64)]
        return self.classes_[decision.argmax(axis=1)]

    def _extra_config(self):
        return {
            "classes": self.classes_.tolist(),
            "classes_dtype": self.classes_.dtype.str,
            "multilabel": self._multilabel,
        }

    def _load_extra_config(self, config):
        self.classes_ = np.array(config["classes"], dtype=np.dtype(config["classes_dtype"]))
        self._multilabel = bool(config["multilabel"])


class MLPRegressor(RegressorMixin, _BaseMLP):
    """Multilayer perceptron regressor (L2 or L1 loss); score is R^2.

    y (N,) gives predictions (N,); y (N, L) gives (N, L). With `scale_targets` (the default)
    the network learns standardised targets (`target_mean_`, `target_scale_`, (L,), from the
    training rows) and `predict` maps its outputs back. Keywords: see `KEYWORDS`.
    """

    _losses = ("l2", "l1")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _more_tags(self) -> dict[str, Any]:  # scikit-learn < 1.6
        return {"multioutput": True}

    def _encode_targets(self, y, params):
        self._single_output = y.ndim == 1
        targets = y.reshape(y.shape[0], -1).astype(params["dtype"])
        return targets, params["loss"] or "l2", targets.shape[1]

    def _encode_validation(self, y_val):
        y_val = np.asarray(y_val, dtype=np.float64)
        return y_val.reshape(y_val.shape[0], -1).astype(str(self.dtype))

    def predict(self, X: Any) -> np.ndarray:
        """Predictions (N,) for 1-D training targets, else (N, L); float64."""
        values = self._scores(X) * self.target_scale_ + self.target_mean_
        return values[:, 0] if self._single_output else values

    def _extra_config(self):
        return {"single_output": self._single_output,
                "target_mean": self.target_mean_.tolist(),
                "target_scale": self.target_scale_.tolist()}

    def _load_extra_config(self, config):
        self._single_output = bool(config["single_output"])
        width = self.network_.config.output_dim
        if "target_mean" not in config:  # saved before targets were scaled
            self.scale_targets = False
        self.target_mean_ = np.asarray(config.get("target_mean", np.zeros(width)), np.float64)
        self.target_scale_ = np.asarray(config.get("target_scale", np.ones(width)), np.float64)


def _or_zeros(values: np.ndarray | None, width: int) -> np.ndarray:
    return np.zeros(width) if values is None else values


def _or_ones(values: np.ndarray | None, width: int) -> np.ndarray:
    return np.ones(width) if values is None else values


# help(MLPClassifier) shows the table: keywords, defaults, allowed values, meaning.
_table_doc = "\n\nKeywords\n--------\n" + keyword_table()
MLPClassifier.__doc__ = (MLPClassifier.__doc__ or "") + _table_doc
MLPRegressor.__doc__ = (MLPRegressor.__doc__ or "") + _table_doc
