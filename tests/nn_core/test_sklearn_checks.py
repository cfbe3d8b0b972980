"""nn_core's estimators against scikit-learn's own bar: every `check_estimator` check (no
expected failures), and the meta-estimators and tools a scikit-learn user reaches for."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import sklearn
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.calibration import CalibratedClassifierCV
from sklearn.datasets import load_breast_cancer, load_diabetes, make_classification
from sklearn.ensemble import StackingClassifier
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, KFold, StratifiedKFold, cross_val_score
from sklearn.multiclass import OneVsRestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import check_is_fitted

from nn_core import MLPClassifier, MLPRegressor

SKLEARN_VERSION = tuple(int(part) for part in sklearn.__version__.split(".")[:2])
SMALL = {"hidden_sizes": (16,), "epochs": 100}  # quick, and learns the small tasks below
X_BINARY, Y_BINARY = make_classification(n_samples=200, n_features=6, n_informative=4,
                                         random_state=0)


# The defaults, as a user constructs them: about 3 s for both.
@parametrize_with_checks([MLPClassifier(), MLPRegressor()])
def test_scikit_learn_checks_on_the_defaults(estimator, check):
    check(estimator)


@pytest.mark.skipif(SKLEARN_VERSION < (1, 6), reason="this form of the check is 1.6's")
def test_array_api_dispatch_check_with_scipy_array_api_set():
    # The one check the suite skips without SCIPY_ARRAY_API=1, which must be set before SciPy
    # is imported: so in a fresh interpreter.
    code = (
        "from sklearn.utils.estimator_checks import check_array_api_input\n"
        "from nn_core import MLPClassifier, MLPRegressor\n"
        "for model in (MLPClassifier(), MLPRegressor()):\n"
        "    check_array_api_input(type(model).__name__, model, array_namespace='numpy',\n"
        "                          expect_only_array_outputs=False)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True,
                   env={**os.environ, "SCIPY_ARRAY_API": "1"})


@pytest.mark.slow
@parametrize_with_checks([
    MLPClassifier(dtype="float64"), MLPRegressor(dtype="float64"),
    MLPClassifier(batchnorm=True, dropout=0.2), MLPRegressor(batchnorm=True, dropout=0.2),
    MLPClassifier(activation="maxout", hidden_sizes=(16,), preprocess="whiten"),
    MLPRegressor(loss="l1", optimizer="rmsprop"),
    MLPClassifier(loss="svm"),
])
def test_scikit_learn_checks_on_other_settings(estimator, check):
    check(estimator)


def test_types_and_fitted_state():
    assert is_classifier(MLPClassifier()) and is_regressor(MLPRegressor())
    model = MLPClassifier(**SMALL)
    with pytest.raises(NotFittedError):
        check_is_fitted(model)
    with pytest.raises(NotFittedError):
        model.predict(X_BINARY)
    model.fit(X_BINARY, Y_BINARY)
    check_is_fitted(model)
    assert model.n_iter_ == 100 and len(model.loss_curve_) == 100
    assert model.validation_scores_ is None
    with pytest.raises(ValueError, match="Invalid parameter 'bogus'"):
        model.set_params(bogus=1)


def test_clone_keeps_keywords_and_drops_the_fit():
    model = MLPClassifier(hidden_sizes=(8, 4), reg=1e-3).fit(X_BINARY, Y_BINARY)
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert not hasattr(copy, "network_")


def test_refusals_with_scikit_learn_messages():
    X = X_BINARY.copy()
    with pytest.raises(ValueError, match="requires y to be passed"):
        MLPClassifier().fit(X, None)
    with pytest.raises(ValueError, match="Unknown label type"):
        MLPClassifier().fit(X, np.linspace(0, 1, len(X)))
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        MLPRegressor().fit(X, Y_BINARY)
    fitted = MLPClassifier(**SMALL).fit(X_BINARY, Y_BINARY)
    with pytest.raises(ValueError, match="X has 5 features, but MLPClassifier is expecting 6"):
        fitted.predict(X_BINARY[:, :5])


def test_dataframe_feature_names():
    pd = pytest.importorskip("pandas")
    frame = pd.DataFrame(X_BINARY, columns=[f"f{i}" for i in range(6)])
    model = MLPClassifier(**SMALL).fit(frame, Y_BINARY)
    assert model.feature_names_in_.tolist() == list(frame.columns)
    with pytest.warns(UserWarning, match="feature names"):
        model.predict(X_BINARY)


def test_binary_decision_function_is_one_column_and_roc_auc_scores():
    model = MLPClassifier(**SMALL).fit(X_BINARY, Y_BINARY)
    decision = model.decision_function(X_BINARY)
    assert decision.shape == (len(X_BINARY),)
    np.testing.assert_array_equal(model.classes_[(decision > 0).astype(int)],
                                  model.predict(X_BINARY))
    scores = cross_val_score(MLPClassifier(**SMALL), X_BINARY, Y_BINARY, cv=3,
                             scoring="roc_auc")
    assert np.all(np.isfinite(scores)) and scores.mean() > 0.85


def test_pipeline_cross_val_score_and_grid_search_have_no_nan():
    pipeline = Pipeline([("scale", StandardScaler()), ("clf", MLPClassifier(**SMALL))])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a failed fit would only warn, then score NaN
        scores = cross_val_score(pipeline, X_BINARY, Y_BINARY, cv=3)
    assert np.all(np.isfinite(scores)) and scores.mean() > 0.8
    search = GridSearchCV(pipeline, {"clf__reg": [0.0, 1e-2], "clf__hidden_sizes": [(8,), (16,)]},
                          cv=3, error_score="raise").fit(X_BINARY, Y_BINARY)
    assert np.isfinite(search.best_score_) and search.best_score_ > 0.8
    assert search.best_estimator_.named_steps["clf"].reg == search.best_params_["clf__reg"]


def test_meta_estimators_take_the_classifier():
    X, y = make_classification(n_samples=240, n_features=6, n_informative=4, n_classes=3,
                               class_sep=2.0, random_state=1)
    for meta in (CalibratedClassifierCV(MLPClassifier(**SMALL), cv=3),
                 OneVsRestClassifier(MLPClassifier(**SMALL)),
                 StackingClassifier([("mlp", MLPClassifier(**SMALL)),
                                     ("lr", LogisticRegression())], cv=3)):
        meta.fit(X, y)
        proba = meta.predict_proba(X)
        assert proba.shape == (len(X), 3)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0)
        assert meta.score(X, y) > 0.7, type(meta).__name__
    binary = CalibratedClassifierCV(MLPClassifier(**SMALL), cv=3).fit(X_BINARY, Y_BINARY)
    assert binary.predict_proba(X_BINARY).shape == (len(X_BINARY), 2)


def test_defaults_on_scikit_learns_small_data_sets():
    # Measured (5-fold, shuffled, seed 0): diabetes R^2 0.451 (scikit-learn's MLPRegressor
    # defaults: -3.10, or -1.03 after StandardScaler); breast cancer accuracy 0.974 (0.937, or
    # 0.975 after StandardScaler).
    X, y = load_diabetes(return_X_y=True)
    r2 = cross_val_score(MLPRegressor(), X, y, cv=KFold(5, shuffle=True, random_state=0))
    assert r2.mean() > 0.4
    X, y = load_breast_cancer(return_X_y=True)
    accuracy = cross_val_score(MLPClassifier(), X, y,
                               cv=StratifiedKFold(5, shuffle=True, random_state=0))
    assert accuracy.mean() > 0.96
