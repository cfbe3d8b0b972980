"""SearchCV: GridSearchCV's interface, with hpsearch's strategies, storage, pruning and parallel
trials behind it.

Contract: `SearchCV(estimator, space, *, strategy="gp", n_trials=50, cv=5, scoring=None,
n_jobs=1, refit=True, seed=None, storage=None, pruner=None, ensemble=None,
error_score=nan)` is a scikit-learn meta-estimator that tunes any estimator or pipeline
(`"clf__alpha"` names).
- `space`: see `hpsearch.sklearn.space` (hp dimensions, `when=` conditions, or GridSearchCV's
  lists of values). `strategy`: any of `hp.STRATEGY_NAMES`. `cv`, `scoring`: as in
  GridSearchCV (an int is stratified for classifiers; one metric, greater is better).
- `fit(X, y=None, groups=None, **fit_params)` runs a study (`hp.Study`, direction maximize,
  metric `mean_test_<scoring>` or `mean_test_score`) until it holds `n_trials` finished
  trials, each trial one candidate cross-validated by `hpsearch.sklearn.objective` (each fold
  a step for `pruner`); `n_jobs` trials run at once (loky workers for n_jobs > 1, -1 = all
  cores). `storage`: a run folder path makes the search durable: a `fit` that was interrupted
  resumes there (same data expected), and `hpsearch results` / `hpsearch report` read it;
  None keeps it in memory. `seed=None` draws a fresh seed (a stored study keeps its own).
- After fit: `cv_results_` (GridSearchCV's keys, one row per finished trial, see
  `hpsearch.sklearn.results`), `best_index_`, `best_params_`, `best_score_` (mean CV score of
  the best complete trial), `n_splits_`, `scorer_`, `multimetric_` (False), `trials_` (the
  study's trials) and `run_folder_` (the storage path, or None); with `refit`,
  `best_estimator_` (refitted on all of X) and `refit_time_`, and `predict`, `predict_proba`,
  `decision_function`, `transform`, `score`, ... delegate to it. `ensemble=k` also refits
  the k best candidates and keeps them averaged in `ensemble_` (`hpsearch.sklearn.ensemble`:
  mean `predict_proba` for classifiers, mean prediction for regressors).
- Failures: with `error_score=nan` (GridSearchCV's default) a candidate whose fit or score
  raises is a failed trial: it stays in `cv_results_` with a NaN mean score, ranked last (as
  pruned ones do), and the search goes on (hpsearch stops it after 10 failures in a row); no
  candidate completing raises `hp.StudyError` with the first error. With
  `error_score="raise"` the first failure stops the search and is raised again in the driver,
  with its own type, message and traceback (the failed candidate is cross-validated again
  there, where it fails the same way; if it does not, `hp.StudyError` gives the recorded
  error).
"""

from __future__ import annotations

import contextlib
import os
import time
from copy import deepcopy
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, indexable

from hpsearch.exceptions import AllTrialsFailed, ParameterError, StrategyError, StudyError
from hpsearch.sklearn.ensemble import averaging_ensemble
from hpsearch.sklearn.objective import CrossValidation
from hpsearch.sklearn.results import cv_results
from hpsearch.sklearn.space import SearchSpace
from hpsearch.study import Study
from hpsearch.trial import FrozenTrial, TrialState

__all__ = ["SearchCV"]


def _best_estimator_has(attr: str):
    """Delegate `attr` to best_estimator_ when refitted, else ask the unfitted estimator."""

    def check(self: SearchCV) -> bool:
        if not self.refit:
            raise AttributeError(f"This 'SearchCV' has no attribute {attr!r}: refit=False "
                                 "keeps no best_estimator_")
        getattr(self.best_estimator_ if hasattr(self, "best_estimator_") else self.estimator,
                attr)
        return True

    return check


def _stop_at_a_failure(study: Study, trial: FrozenTrial) -> None:
    if trial.state is TrialState.FAILED:
        study.stop(f"candidate {trial.number} failed (error_score='raise')")


class _Unpruned:
    """The stand-in trial a failed candidate is cross-validated again with."""

    def report(self, step: int, value: float) -> bool:
        return False


def _raise_first_failure(trials: list[FrozenTrial], objective: CrossValidation) -> None:
    failed = next((t for t in trials if t.state is TrialState.FAILED), None)
    if failed is None:
        return
    objective(failed.params, _Unpruned())  # raises as it did in the study, as a rule
    raise StudyError(f"candidate {failed.number} failed in the search but not when run "
                     f"again: {failed.error}")


class SearchCV(MetaEstimatorMixin, BaseEstimator):
    """Hyperparameter search with cross-validation on hpsearch; see the module docstring."""

    _required_parameters = ["estimator", "space"]  # scikit-learn < 1.6's checks read it

    def __init__(self, estimator: Any, space: Any, *, strategy: str = "gp", n_trials: int = 50,
                 cv: Any = 5, scoring: Any = None, n_jobs: int = 1, refit: bool = True,
                 seed: int | None = None, storage: str | os.PathLike | None = None,
                 pruner: Any = None, ensemble: int | None = None,
                 error_score: float | str = np.nan) -> None:
        self.estimator = estimator
        self.space = space
        self.strategy = strategy
        self.n_trials = n_trials
        self.cv = cv
        self.scoring = scoring
        self.n_jobs = n_jobs
        self.refit = refit
        self.seed = seed
        self.storage = storage
        self.pruner = pruner
        self.ensemble = ensemble
        self.error_score = error_score

    # --- tags: those of the estimator searched ----------------------------------------------

    def __sklearn_tags__(self):
        from sklearn.utils import get_tags

        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = deepcopy(inner.classifier_tags)
        tags.regressor_tags = deepcopy(inner.regressor_tags)
        tags.target_tags = deepcopy(inner.target_tags)  # multi-output y if it takes one
        tags.input_tags.pairwise = inner.input_tags.pairwise
        tags.input_tags.sparse = inner.input_tags.sparse
        return tags

    def _more_tags(self) -> dict[str, Any]:  # scikit-learn < 1.6
        inner = self.estimator._get_tags() if hasattr(self.estimator, "_get_tags") else {}
        return {key: inner[key] for key in ("pairwise", "multioutput", "multilabel",
                                             "poor_score", "requires_y") if key in inner}

    @property
    def _estimator_type(self) -> str | None:  # scikit-learn < 1.6 reads it
        return getattr(self.estimator, "_estimator_type", None)

    # --- fitting ----------------------------------------------------------------------------

    def _check_settings(self) -> None:
        for name, low in (("n_trials", 1), ("ensemble", 1)):
            value = getattr(self, name)
            if name == "ensemble" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
                raise ParameterError(f"{name} must be an integer >= {low}; got {value!r}")
        if not isinstance(self.refit, bool | np.bool_):
            raise ParameterError(f"refit must be True or False; got {self.refit!r}")
        if not (self.error_score == "raise" or (isinstance(self.error_score, float)
                                                 and np.isnan(self.error_score))):
            raise ParameterError(f"error_score must be 'raise' or nan; got {self.error_score!r}")

    def fit(self, X: Any, y: Any = None, groups: Any = None, **fit_params: Any) -> SearchCV:
        """Search, then refit (see the module docstring). X (N, D), y (N,) or (N, L)."""
        self._check_settings()
        search = SearchSpace.build(self.space, self.estimator)
        X, y, groups = indexable(X, y, groups)
        splitter = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        splits = tuple(splitter.split(X, y, groups))
        self.scorer_ = check_scoring(self.estimator, self.scoring)
        objective = CrossValidation(self.estimator, X, y, splits, self.scorer_, fit_params,
                                    search.decode)
        metric = f"mean_test_{self.scoring}" if isinstance(self.scoring, str) \
            else "mean_test_score"
        try:
            study = Study(search.space, direction="maximize", strategy=self.strategy,
                          seed=self.seed, storage=self.storage, pruner=self.pruner, metric=metric)
        except (StrategyError, StudyError) as err:  # a bad strategy, seed or pruner
            raise ParameterError(str(err)) from err  # a ValueError, as scikit-learn expects
        raising = self.error_score == "raise"
        try:
            with contextlib.suppress(AllTrialsFailed):  # said below, as scikit-learn says it
                study.optimize(objective, n_trials=int(self.n_trials), n_jobs=self.n_jobs,
                               callbacks=[_stop_at_a_failure] if raising else [])
            trials = [t for t in study.trials if t.state.is_finished]
        finally:
            study.close()
        if raising:
            _raise_first_failure(trials, objective)
        self._record(trials, len(splits), search, study.path)
        self._refit(X, y, search, fit_params)
        return self

    def _record(self, trials: list[FrozenTrial], n_splits: int, search: SearchSpace,
                path: str | None) -> None:
        complete = [t for t in trials if t.state is TrialState.COMPLETE]
        if not complete:
            failed = next((t for t in trials if t.error), None)
            reason = f"; the first error: {failed.error.splitlines()[0]}" if failed else ""
            raise StudyError(f"no candidate completed cross-validation ({len(trials)} "
                             f"tried){reason}")
        best = max(complete, key=lambda t: (t.value, -t.number))
        self.trials_ = trials
        self.run_folder_ = path
        self.n_splits_ = n_splits
        self.multimetric_ = False
        self.cv_results_ = cv_results(trials, n_splits, search.decode)
        self.best_index_ = trials.index(best)
        self.best_params_ = search.decode(best.params)
        self.best_score_ = float(best.value)
        self._ranked = sorted(complete, key=lambda t: (-t.value, t.number))

    def _refit(self, X: Any, y: Any, search: SearchSpace, fit_params: dict[str, Any]) -> None:
        if self.refit:
            started = time.perf_counter()
            best = clone(self.estimator).set_params(**self.best_params_)
            self.best_estimator_ = best.fit(X, y, **fit_params)
            self.refit_time_ = time.perf_counter() - started
        if self.ensemble is not None:
            members = [clone(self.estimator).set_params(**search.decode(t.params))
                       for t in self._ranked[: int(self.ensemble)]]
            self.ensemble_ = averaging_ensemble(members).fit(X, y, **fit_params)
        del self._ranked

    # --- the refitted best estimator -------------------------------------------------------

    def score(self, X: Any, y: Any = None) -> float:
        """`scorer_` of best_estimator_ on (X, y): the search's own metric."""
        check_is_fitted(self, "best_estimator_")
        return float(self.scorer_(self.best_estimator_, X, y))

    @available_if(_best_estimator_has("predict"))
    def predict(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict(X)

    @available_if(_best_estimator_has("predict_proba"))
    def predict_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict_proba(X)

    @available_if(_best_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.predict_log_proba(X)

    @available_if(_best_estimator_has("decision_function"))
    def decision_function(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.decision_function(X)

    @available_if(_best_estimator_has("score_samples"))
    def score_samples(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.score_samples(X)

    @available_if(_best_estimator_has("transform"))
    def transform(self, X: Any) -> Any:
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.transform(X)

    @available_if(_best_estimator_has("inverse_transform"))
    def inverse_transform(self, X: Any) -> Any:
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.inverse_transform(X)

    @property
    def classes_(self) -> np.ndarray:
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.classes_

    @property
    def n_features_in_(self) -> int:
        check_is_fitted(self, "best_estimator_")
        return self.best_estimator_.n_features_in_
