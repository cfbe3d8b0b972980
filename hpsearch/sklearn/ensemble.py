"""The top-k ensemble SearchCV keeps in `ensemble_`: estimators averaged.

Contract: `averaging_ensemble(estimators)` returns an `AveragingClassifier` (every member a
classifier) or an `AveragingRegressor`, scikit-learn estimators over a list of unfitted
estimators (the best k configurations). `fit(X, y, **fit_params)` fits a clone of each on all
of X, y and keeps them in `estimators_`. A classifier ensemble (every member a classifier)
predicts the mean of the members' `predict_proba` (N, C) and its argmax over `classes_`
(members must agree on `classes_`: they are fitted on the same y); a regressor ensemble
predicts the mean of the members' `predict`. `score` is the mixin's: accuracy or R^2.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone, is_classifier
from sklearn.utils.validation import check_is_fitted

from hpsearch.exceptions import ParameterError

__all__ = ["AveragingClassifier", "AveragingRegressor", "averaging_ensemble"]


class _Averaging(BaseEstimator):
    def __init__(self, estimators: list[Any]) -> None:
        self.estimators = estimators

    def fit(self, X: Any, y: Any, **fit_params: Any) -> _Averaging:
        """Fit a clone of every member on (X, y)."""
        if not self.estimators:
            raise ParameterError("an ensemble needs at least one estimator")
        self.estimators_ = [clone(e).fit(X, y, **fit_params) for e in self.estimators]
        first = self.estimators_[0]
        if hasattr(first, "n_features_in_"):
            self.n_features_in_ = first.n_features_in_
        return self


class AveragingClassifier(ClassifierMixin, _Averaging):
    """The members' mean predict_proba; see the module docstring."""

    def fit(self, X: Any, y: Any, **fit_params: Any) -> AveragingClassifier:
        super().fit(X, y, **fit_params)
        self.classes_ = self.estimators_[0].classes_
        for member in self.estimators_[1:]:
            if not np.array_equal(member.classes_, self.classes_):
                raise ParameterError("ensemble members disagree on classes_")
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Mean of the members' predict_proba (N, C)."""
        check_is_fitted(self)
        return np.mean([member.predict_proba(X) for member in self.estimators_], axis=0)

    def predict(self, X: Any) -> np.ndarray:
        """classes_ at the argmax of predict_proba (N,)."""
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class AveragingRegressor(RegressorMixin, _Averaging):
    """The members' mean prediction; see the module docstring."""

    def predict(self, X: Any) -> np.ndarray:
        """Mean of the members' predictions (N,) or (N, L)."""
        check_is_fitted(self)
        return np.mean([member.predict(X) for member in self.estimators_], axis=0)


def averaging_ensemble(estimators: list[Any]) -> AveragingClassifier | AveragingRegressor:
    """The averaging ensemble for these members: a classifier's if they are classifiers."""
    if estimators and all(is_classifier(e) for e in estimators):
        return AveragingClassifier(estimators)
    return AveragingRegressor(estimators)
