"""One SearchCV trial: cross-validate a scikit-learn estimator at the trial's parameters.

Contract: `CrossValidation(estimator, X, y, splits, scorer, fit_params, decode=dict)` is an
hpsearch objective `f(params, trial) -> Result`. For each split k (0-based) it fits a clone of
`estimator` with `decode(params)` set on the training rows and scores it on the test rows with
`scorer(model, X_test, y_test)` (greater is better), then reports the mean score of the folds
so far to `trial.report(k + 1, mean)`: each fold is a step, so a pruner compares trials on
the same folds, and the last report is the trial's value. When the pruner asks, it raises
`hp.TrialPruned` after that fold. The result's value is the mean test score; its metrics are
`split<k>_test_score`, `split<k>_fit_time` and `split<k>_score_time` (seconds) for every
split (`metric_names(n_splits)`), which `hpsearch.sklearn.results` reads back. An estimator
that raises fails the trial (hpsearch records the error and goes on). `fit_params` with one
entry per sample (`sample_weight`) are cut to the training rows; others pass as they are.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.utils import _safe_indexing  # public, despite its name (in the API reference)

from hpsearch.exceptions import TrialPruned
from hpsearch.trial import Result

__all__ = ["CrossValidation", "fold_params", "metric_names", "n_rows"]

SCORE, FIT_TIME, SCORE_TIME = "test_score", "fit_time", "score_time"


def metric_names(n_splits: int, kind: str = SCORE) -> list[str]:
    """The metric names of one kind ("test_score", "fit_time", "score_time") for n splits."""
    return [f"split{k}_{kind}" for k in range(n_splits)]


def fold_params(fit_params: Mapping[str, Any], n_samples: int,
                rows: np.ndarray) -> dict[str, Any]:
    """`fit_params` for the rows `rows` (n_samples long values are indexed, others kept)."""
    return {name: _safe_indexing(value, rows) if _per_sample(value, n_samples) else value
            for name, value in fit_params.items()}


def _per_sample(value: Any, n_samples: int) -> bool:
    return hasattr(value, "__len__") and not isinstance(value, str) and \
        len(value) == n_samples


@dataclass(frozen=True, eq=False)
class CrossValidation:
    """The per-trial cross-validation; see the module docstring."""

    estimator: Any
    X: Any
    y: Any
    splits: Sequence[tuple[np.ndarray, np.ndarray]]
    scorer: Callable[[Any, Any, Any], float]
    fit_params: Mapping[str, Any]
    decode: Callable[[Mapping[str, Any]], Mapping[str, Any]] = dict

    def __call__(self, params: Mapping[str, Any], trial: Any) -> Result:
        params = self.decode(params)
        n_samples = n_rows(self.X)
        scores: list[float] = []
        metrics: dict[str, float] = {}
        for k, (train, test) in enumerate(self.splits):
            model = clone(self.estimator).set_params(**params)
            started = time.perf_counter()
            model.fit(_safe_indexing(self.X, train), _rows(self.y, train),
                      **fold_params(self.fit_params, n_samples, train))
            fitted = time.perf_counter()
            score = float(self.scorer(model, _safe_indexing(self.X, test), _rows(self.y, test)))
            metrics[f"split{k}_{FIT_TIME}"] = fitted - started
            metrics[f"split{k}_{SCORE_TIME}"] = time.perf_counter() - fitted
            metrics[f"split{k}_{SCORE}"] = score
            scores.append(score)
            if trial.report(k + 1, float(np.mean(scores))):
                raise TrialPruned(f"pruned after fold {k + 1} of {len(self.splits)}")
        return Result(float(np.mean(scores)), metrics)


def n_rows(X: Any) -> int:
    """The number of samples in X (array, DataFrame, sparse matrix or list)."""
    return int(X.shape[0]) if hasattr(X, "shape") else len(X)


def _rows(y: Any, rows: np.ndarray) -> Any:
    return None if y is None else _safe_indexing(y, rows)
