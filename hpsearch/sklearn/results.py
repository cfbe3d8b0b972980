"""`cv_results_` from a SearchCV study's trials, with GridSearchCV's keys.

Contract: `cv_results(trials, n_splits, decode)` takes the finished trials (complete, pruned,
failed; one candidate each, in trial order) and returns GridSearchCV's single-metric
`cv_results_`: `mean_fit_time`, `std_fit_time`, `mean_score_time`, `std_score_time`,
`param_<name>` (masked arrays: a conditional parameter is masked where inactive), `params`
(decoded by `decode`), `split<k>_test_score`, `mean_test_score`, `std_test_score`,
`rank_test_score` (1 = best; NaN means rank last, as in GridSearchCV).

A complete trial's scores and times come from its metrics (`hpsearch.sklearn.objective`). A
pruned or failed trial has no mean score (NaN: its folds are not all scored); the folds it did
score are recovered from its reports (the running mean after each fold), its times are NaN.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy.stats import rankdata

from hpsearch.sklearn.objective import FIT_TIME, SCORE, SCORE_TIME, metric_names
from hpsearch.trial import FrozenTrial, TrialState

__all__ = ["cv_results", "fold_scores"]


def fold_scores(trial: FrozenTrial, n_splits: int) -> np.ndarray:
    """The trial's test score on each split (n_splits,), NaN where it has none."""
    names = metric_names(n_splits)
    if all(name in trial.metrics for name in names):
        return np.array([trial.metrics[name] for name in names], dtype=np.float64)
    scores = np.full(n_splits, np.nan)
    means = trial.intermediate
    for step in range(1, n_splits + 1):
        if step in means and (step == 1 or step - 1 in means):
            previous = means[step - 1] if step > 1 else 0.0
            scores[step - 1] = step * means[step] - (step - 1) * previous
    return scores


def _table(trials: Sequence[FrozenTrial], n_splits: int, kind: str) -> np.ndarray:
    if kind == SCORE:
        return np.array([fold_scores(t, n_splits) for t in trials]).reshape(-1, n_splits)
    names = metric_names(n_splits, kind)
    return np.array([[t.metrics.get(name, np.nan) for name in names] for t in trials],
                    dtype=np.float64).reshape(-1, n_splits)


def _param_columns(params: Sequence[Mapping[str, Any]]) -> dict[str, np.ma.MaskedArray]:
    names = list(dict.fromkeys(name for p in params for name in p))
    columns = {}
    for name in names:
        values = [p[name] for p in params if name in p]
        try:
            inferred = np.array(values)
            dtype = inferred.dtype if inferred.dtype.kind != "U" and inferred.ndim == 1 \
                else np.dtype(object)
        except ValueError:  # sequences of different lengths
            dtype = np.dtype(object)
        column = np.ma.MaskedArray(np.empty(len(params), dtype=dtype), mask=True)
        for index, p in enumerate(params):
            if name in p:
                column[index] = p[name]
        columns[f"param_{name}"] = column
    return columns


def _rank(means: np.ndarray) -> np.ndarray:
    if means.size == 0 or np.isnan(means).all():
        return np.ones_like(means, dtype=np.int32)
    filled = np.where(np.isnan(means), np.nanmin(means) - 1, means)
    return rankdata(-filled, method="min").astype(np.int32)


def cv_results(trials: Sequence[FrozenTrial], n_splits: int,
               decode: Callable[[Mapping[str, Any]], dict[str, Any]]) -> dict[str, Any]:
    """GridSearchCV's `cv_results_` for `trials`; see the module docstring."""
    results: dict[str, Any] = {}
    for kind in (FIT_TIME, SCORE_TIME):
        table = _table(trials, n_splits, kind)
        results[f"mean_{kind}"] = table.mean(axis=1)
        results[f"std_{kind}"] = table.std(axis=1)
    params = [decode(t.params) for t in trials]
    results.update(_param_columns(params))
    results["params"] = params
    scores = _table(trials, n_splits, SCORE)
    for k in range(n_splits):
        results[f"split{k}_{SCORE}"] = scores[:, k]
    complete = np.array([t.state is TrialState.COMPLETE for t in trials], dtype=bool)
    means = np.where(complete, scores.mean(axis=1), np.nan) if len(trials) else np.empty(0)
    results[f"mean_{SCORE}"] = means
    results[f"std_{SCORE}"] = np.where(complete, scores.std(axis=1), np.nan) \
        if len(trials) else np.empty(0)
    results[f"rank_{SCORE}"] = _rank(means)
    return results
