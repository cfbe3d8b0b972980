"""SearchCV: GridSearchCV's results on a grid, pipelines and conditional spaces, per-fold
pruning, durable storage that resumes and that the CLI reads, failures, the top-k ensemble,
nn_core's estimators tuned, and scikit-learn's own checks for meta-estimators."""

from __future__ import annotations

import logging
import pickle

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.linear_model import LogisticRegression, Ridge, RidgeClassifier
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier as SklearnMLP
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.utils.estimator_checks import parametrize_with_checks
from typer.testing import CliRunner

import hpsearch as hp
from hpsearch.cli import app
from hpsearch.report import write_report
from hpsearch.sklearn import SearchCV

X_CANCER, Y_CANCER = load_breast_cancer(return_X_y=True)
X, Y = X_CANCER[::3], Y_CANCER[::3]  # 190 rows: quick fits
X_DIABETES, Y_DIABETES = load_diabetes(return_X_y=True)
C = hp.Float(1e-3, 1e2, log=True)


def scaled_logistic():
    return Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(solver="liblinear"))])


# The checks scikit-learn runs on GridSearchCV, on a classifier and on a regressor pipeline.
@parametrize_with_checks([
    SearchCV(RidgeClassifier(), {"alpha": hp.Float(0.1, 10.0, log=True)}, n_trials=2, cv=2,
             seed=0, error_score="raise"),
    SearchCV(make_pipeline(StandardScaler(), Ridge()), {"ridge__alpha": [0.1, 1.0]},
             strategy="grid", n_trials=2, cv=2, seed=0, error_score="raise"),
])
def test_scikit_learn_checks(estimator, check):
    logging.getLogger("hpsearch").setLevel(logging.ERROR)  # the checks' failing fits
    check(estimator)


@pytest.mark.slow
@parametrize_with_checks([
    SearchCV(KNeighborsClassifier(), {"n_neighbors": hp.Int(1, 5)}, strategy="random",
             n_trials=3, cv=3, seed=0, error_score="raise"),
    SearchCV(Ridge(), {"alpha": hp.Float(0.1, 10.0, log=True)}, strategy="tpe", n_trials=3,
             cv=3, seed=0, error_score="raise"),
])
def test_scikit_learn_checks_on_other_strategies(estimator, check):
    logging.getLogger("hpsearch").setLevel(logging.ERROR)
    check(estimator)


def test_a_grid_gives_gridsearchcvs_results():
    grid = {"alpha": [0.01, 0.1, 1.0, 10.0], "fit_intercept": [True, False]}
    ours = SearchCV(Ridge(), grid, strategy="grid", n_trials=8, cv=3, seed=0)
    ours.fit(X_DIABETES, Y_DIABETES)
    theirs = GridSearchCV(Ridge(), grid, cv=3).fit(X_DIABETES, Y_DIABETES)
    assert list(ours.cv_results_) == list(theirs.cv_results_)
    ours_by = {tuple(sorted(p.items())): s for p, s in
               zip(ours.cv_results_["params"], ours.cv_results_["mean_test_score"], strict=True)}
    theirs_by = {tuple(sorted(p.items())): s for p, s in
                 zip(theirs.cv_results_["params"], theirs.cv_results_["mean_test_score"],
                     strict=True)}
    assert ours_by == pytest.approx(theirs_by)
    assert ours.best_params_ == theirs.best_params_
    assert ours.best_score_ == pytest.approx(theirs.best_score_)
    assert ours.cv_results_["rank_test_score"][ours.best_index_] == 1
    np.testing.assert_allclose(ours.predict(X_DIABETES), theirs.predict(X_DIABETES))
    assert ours.score(X_DIABETES, Y_DIABETES) == pytest.approx(
        theirs.score(X_DIABETES, Y_DIABETES))


def test_pipeline_names_gp_and_roc_auc():
    search = SearchCV(scaled_logistic(), {"clf__C": C}, n_trials=8, cv=3, scoring="roc_auc",
                      seed=0).fit(X, Y)
    assert search.best_score_ > 0.98
    assert search.best_estimator_.named_steps["clf"].C == search.best_params_["clf__C"]
    assert search.best_score_ == pytest.approx(
        cross_val_score(scaled_logistic().set_params(**search.best_params_), X, Y, cv=3,
                        scoring="roc_auc").mean())
    assert search.predict_proba(X).shape == (len(X), 2)
    assert set(search.classes_) == {0, 1}
    pickle.loads(pickle.dumps(search)).predict(X)


def test_conditional_space_and_values_of_any_type():
    space = {"svc__kernel": hp.Categorical(["linear", "rbf"]),
             "svc__gamma": hp.Float(1e-4, 1e-1, log=True, when={"svc__kernel": ["rbf"]}),
             "svc__class_weight": [None, {0: 1.0, 1: 2.0}]}  # a dict: searched by its repr
    search = SearchCV(make_pipeline(StandardScaler(), SVC()), space, strategy="random",
                      n_trials=8, cv=3, seed=1).fit(X, Y)
    results = search.cv_results_
    kernels = list(results["param_svc__kernel"])
    gamma = results["param_svc__gamma"]
    assert [bool(m) for m in np.ma.getmaskarray(gamma)] == [k == "linear" for k in kernels]
    assert {repr(w) for w in results["param_svc__class_weight"]} <= {"None", "{0: 1.0, 1: 2.0}"}
    assert all(isinstance(p["svc__class_weight"], dict | type(None)) for p in results["params"])


def test_tuples_are_searched_as_values():
    search = SearchCV(SklearnMLP(max_iter=30, random_state=0),
                      {"hidden_layer_sizes": [(8,), (16, 8)], "alpha": C},
                      strategy="random", n_trials=3, cv=2, seed=0)
    with pytest.warns(Warning):  # scikit-learn's ConvergenceWarning at max_iter=30
        search.fit(X, Y)
    assert search.best_params_["hidden_layer_sizes"] in ((8,), (16, 8))
    assert search.best_estimator_.hidden_layer_sizes == search.best_params_["hidden_layer_sizes"]
    stored = {t.params["hidden_layer_sizes"] for t in search.trials_}
    assert stored <= {"(8,)", "(16, 8)"}


def test_each_fold_is_a_step_and_the_pruner_stops_bad_candidates():
    # C = 1e-6 barely learns: once four candidates have completed, the median stops them.
    search = SearchCV(scaled_logistic(), {"clf__C": [1e-6, 1.0, 10.0]}, strategy="random",
                      n_trials=12, cv=5, seed=0,
                      pruner=hp.MedianPruner(n_startup_trials=4)).fit(X, Y)
    trials = search.trials_
    complete = [t for t in trials if t.state == "complete"]
    assert all(sorted(t.intermediate) == [1, 2, 3, 4, 5] for t in complete)
    for t in complete:
        assert t.intermediate[5] == pytest.approx(t.value)  # the running mean of the folds
    pruned = [t for t in trials if t.state == "pruned"]
    assert pruned and all(t.params["clf__C"] == 1e-6 for t in pruned)
    for t in pruned:
        row = trials.index(t)
        assert np.isnan(search.cv_results_["mean_test_score"][row])
        assert search.cv_results_["rank_test_score"][row] == len(trials) - len(pruned) + 1
        assert not np.isnan(search.cv_results_["split0_test_score"][row])
    assert search.best_params_["clf__C"] != 1e-6


def test_storage_resumes_and_the_cli_reads_it(tmp_path):
    run = tmp_path / "runs" / "ridge"
    first = SearchCV(Ridge(), {"alpha": C}, n_trials=4, cv=3, seed=3, storage=run)
    first.fit(X_DIABETES, Y_DIABETES)
    assert first.run_folder_ == str(run)
    again = SearchCV(Ridge(), {"alpha": C}, n_trials=7, cv=3, storage=run)
    again.fit(X_DIABETES, Y_DIABETES)
    assert len(again.cv_results_["params"]) == 7
    assert again.cv_results_["params"][:4] == first.cv_results_["params"]
    study = hp.load_study(run)
    assert study.metric == "mean_test_score" and study.seed == 3
    assert max(t.value for t in study.trials) == pytest.approx(again.best_score_)
    result = CliRunner().invoke(app, ["results", str(run)])
    assert result.exit_code == 0, result.output
    assert "alpha" in result.output
    report = write_report(run)
    assert report.html.exists() and report.figures


def test_failed_candidates_rank_last_or_raise():
    # A negative C makes LogisticRegression raise: the trial fails and the search goes on.
    search = SearchCV(scaled_logistic(), {"clf__C": [-1.0, 1.0]}, strategy="grid",
                      n_trials=2, cv=3, seed=0).fit(X, Y)
    failed = [i for i, p in enumerate(search.cv_results_["params"]) if p["clf__C"] < 0][0]
    assert np.isnan(search.cv_results_["mean_test_score"][failed])
    assert search.cv_results_["rank_test_score"][failed] == 2
    assert search.best_params_ == {"clf__C": 1.0}
    assert "C" in search.trials_[failed].error
    strict = SearchCV(scaled_logistic(), {"clf__C": [-1.0, 1.0]}, strategy="grid", n_trials=2,
                      cv=3, error_score="raise")
    with pytest.raises(ValueError, match="'C' parameter"):  # scikit-learn's own error
        strict.fit(X, Y)
    with pytest.raises(hp.StudyError, match="no candidate completed"):
        SearchCV(scaled_logistic(), {"clf__C": [-1.0, -2.0]}, strategy="grid", n_trials=2,
                 cv=3).fit(X, Y)


def test_top_k_ensemble_averages_refitted_candidates():
    search = SearchCV(scaled_logistic(), {"clf__C": C}, strategy="random", n_trials=6, cv=3,
                      seed=0, ensemble=3).fit(X, Y)
    members = search.ensemble_.estimators_
    assert len(members) == 3
    ranked = np.argsort(search.cv_results_["rank_test_score"], kind="stable")[:3]
    assert [m.named_steps["clf"].C for m in members] == [
        search.cv_results_["params"][i]["clf__C"] for i in ranked]
    np.testing.assert_allclose(search.ensemble_.predict_proba(X),
                               np.mean([m.predict_proba(X) for m in members], axis=0))
    assert search.ensemble_.score(X, Y) > 0.95
    regression = SearchCV(Ridge(), {"alpha": C}, n_trials=4, cv=3, seed=0, ensemble=2,
                          refit=False).fit(X_DIABETES, Y_DIABETES)
    assert not hasattr(regression, "best_estimator_")
    assert regression.ensemble_.predict(X_DIABETES).shape == Y_DIABETES.shape
    with pytest.raises(AttributeError, match="has no attribute 'predict'"):
        regression.predict(X_DIABETES)


def test_tunes_nn_cores_network_with_pruning():
    from nn_core import MLPClassifier

    space = {"learning_rate": hp.Float(1e-4, 3e-2, log=True), "hidden_sizes": [(16,), (32,)]}
    search = SearchCV(MLPClassifier(epochs=40), space, n_trials=5, cv=3, seed=0,
                      pruner=hp.MedianPruner(n_startup_trials=2)).fit(X, Y)
    assert search.best_score_ > 0.9
    assert search.best_estimator_.hidden_sizes in ((16,), (32,))


def test_settings_are_checked_at_fit():
    with pytest.raises(ValueError, match="has no parameter 'C_'"):
        SearchCV(LogisticRegression(), {"C_": C}).fit(X, Y)
    with pytest.raises(ValueError, match="n_trials must be an integer >= 1"):
        SearchCV(LogisticRegression(), {"C": C}, n_trials=0).fit(X, Y)
    with pytest.raises(ValueError, match="error_score"):
        SearchCV(LogisticRegression(), {"C": C}, error_score=0.0).fit(X, Y)
    with pytest.raises(hp.SpaceError):
        SearchCV(LogisticRegression(), {"C": hp.Float(1.0, 0.1)}).fit(X, Y)


@pytest.mark.slow
def test_parallel_trials_on_workers():
    search = SearchCV(scaled_logistic(), {"clf__C": C}, n_trials=6, cv=3, n_jobs=2, seed=0,
                      pruner=hp.MedianPruner(n_startup_trials=2)).fit(X, Y)
    assert len(search.trials_) == 6 and search.best_score_ > 0.95
