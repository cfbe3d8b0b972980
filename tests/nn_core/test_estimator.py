"""The scikit-learn style estimators: fit/predict, labels, keywords, export, reproducibility."""

from __future__ import annotations

import inspect
import json

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

from nn_core import KEYWORDS, MLPClassifier, MLPRegressor, keyword_table
from nn_core.data import load_digits, make_spiral, split
from nn_core.keywords import validate_params

SPIRAL = make_spiral(100, 3, np.random.default_rng(0))


@pytest.mark.slow
def test_digits_default_configuration_reaches_97_percent():
    # The stated configuration: one hidden layer of 256 ReLUs, Adam at 3e-3, L2 1e-3,
    # 50 epochs, the other keywords at their defaults; 80/20 stratified splits from seeds 0-2
    # (the median over three splits: one split's 360 test samples move in 0.28-point steps,
    # and seed 0 alone sits one sample above the mark). Measured: 97.2, 98.9, 98.9.
    digits = load_digits()
    scores = []
    for seed in range(3):
        parts = split(digits.X, digits.y, 0.0, 0.2, np.random.default_rng(seed))
        model = MLPClassifier(hidden_sizes=(256,), learning_rate=3e-3, reg=1e-3, epochs=50,
                              seed=seed)
        model.fit(parts.X_train, parts.y_train)
        scores.append(model.score(parts.X_test, parts.y_test))
    assert np.median(scores) >= 0.97
    assert min(scores) >= 0.96


def test_spiral_through_the_estimator():
    model = MLPClassifier(learning_rate=1e-2, epochs=300, batch_size=300, preprocess="none")
    model.fit(SPIRAL.X, SPIRAL.y)
    assert model.score(SPIRAL.X, SPIRAL.y) >= 0.98
    proba = model.predict_proba(SPIRAL.X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(model.classes_[proba.argmax(axis=1)], model.predict(SPIRAL.X))


def test_string_and_sparse_int_labels_round_trip():
    names = np.array(["cat", "dog", "emu"])[SPIRAL.y]
    model = MLPClassifier(epochs=30, learning_rate=1e-2).fit(SPIRAL.X, names)
    assert model.classes_.tolist() == ["cat", "dog", "emu"]
    assert set(model.predict(SPIRAL.X)) <= {"cat", "dog", "emu"}
    assert model.score(SPIRAL.X, names) > 0.5
    sparse = np.array([-7, 3, 100])[SPIRAL.y]
    model = MLPClassifier(epochs=5).fit(SPIRAL.X, sparse, SPIRAL.X, sparse)
    assert model.classes_.tolist() == [-7, 3, 100]
    assert set(model.predict(SPIRAL.X).tolist()) <= {-7, 3, 100}
    assert len(model.history_.val_score) == 5


def test_multilabel_with_a_label_matrix():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    Y = np.column_stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0, X[:, 3] < 0.5]).astype(int)
    model = MLPClassifier(epochs=60, learning_rate=1e-2).fit(X, Y)
    assert model.network_.config.loss == "sigmoid_cross_entropy"
    predicted = model.predict(X)
    assert predicted.shape == (300, 3) and set(np.unique(predicted)) <= {0, 1}
    assert np.mean(predicted == Y) > 0.95
    assert model.predict_proba(X).shape == (300, 3)
    assert model.score(X, Y) > 0.85


def test_regressor_r2():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    y = np.sin(X[:, 0]) + X[:, 1] * X[:, 2]
    model = MLPRegressor(hidden_sizes=(64,), epochs=100, learning_rate=1e-2).fit(X, y)
    assert model.predict(X).shape == (400,)
    assert model.score(X, y) > 0.9
    assert model.history_.metric == "r2"
    two = MLPRegressor(epochs=5, loss="l1").fit(X, np.column_stack([y, -y]))
    assert two.predict(X).shape == (400, 2)


def test_same_seed_same_history_and_predictions():
    runs = [
        MLPClassifier(epochs=4, dropout=0.2, early_stopping=True, seed=3).fit(SPIRAL.X, SPIRAL.y)
        for _ in range(2)
    ]
    first, second = (run.history_.to_dict() for run in runs)
    for record in (first, second):
        record.pop("epoch_time"), record.pop("wall_time")
    assert first == second
    np.testing.assert_array_equal(runs[0].predict_proba(SPIRAL.X), runs[1].predict_proba(SPIRAL.X))
    other = MLPClassifier(epochs=4, seed=4).fit(SPIRAL.X, SPIRAL.y)
    assert not np.array_equal(other.history_.loss, runs[0].history_.loss)


def test_validation_happens_in_fit_and_names_the_keyword():
    model = MLPClassifier(activation="swish")  # constructors only store
    assert model.activation == "swish"
    with pytest.raises(ValueError, match="activation must be relu .*got 'swish'"):
        model.fit(SPIRAL.X, SPIRAL.y)
    with pytest.raises(TypeError, match="learning_rat"):
        MLPClassifier(learning_rat=0.1)  # a keyword the table does not have
    with pytest.raises(ValueError, match="Invalid parameter 'learning_rat'"):
        MLPClassifier().set_params(learning_rat=0.1)
    with pytest.raises(ValueError, match="unknown keyword 'learning_rat'.*'learning_rate'"):
        validate_params({"learning_rat": 0.1})
    with pytest.raises(ValueError, match="dropout must be float in \\[0, 1\\)"):
        MLPClassifier(dropout=1.0).fit(SPIRAL.X, SPIRAL.y)
    with pytest.raises(ValueError, match="loss must be one of l2, l1"):
        MLPRegressor(loss="softmax").fit(SPIRAL.X, SPIRAL.y.astype(float))
    with pytest.raises(NotFittedError, match="not fitted"):
        MLPClassifier().predict(SPIRAL.X)


def test_init_signature_is_the_keyword_table():
    for cls in (MLPClassifier, MLPRegressor):
        parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
        assert [p.name for p in parameters] == [k.name for k in KEYWORDS]
        assert all(p.kind is p.KEYWORD_ONLY for p in parameters)
        assert {p.name: p.default for p in parameters} == {k.name: k.default for k in KEYWORDS}
        assert cls().get_params() == {k.name: k.default for k in KEYWORDS}


def test_regressor_learns_targets_in_their_own_units():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    y = 1000.0 + 250.0 * (X[:, 0] - 0.5 * X[:, 1] ** 2)
    model = MLPRegressor(epochs=100).fit(X, y)
    assert model.score(X, y) > 0.9
    assert model.target_mean_ == pytest.approx([y.mean()])
    assert model.target_scale_ == pytest.approx([y.std()])
    raw = MLPRegressor(epochs=100, scale_targets=False).fit(X, y)
    assert raw.score(X, y) < 0.5  # the output layer cannot reach 1000 +- 250 in 300 steps
    np.testing.assert_array_equal(raw.target_scale_, [1.0])
    again = MLPRegressor.from_arrays(*model.to_arrays())
    np.testing.assert_allclose(again.predict(X), model.predict(X))
    old_config, arrays = raw.to_arrays()
    del old_config["target_mean"], old_config["target_scale"]  # a run folder from before
    old = MLPRegressor.from_arrays(old_config, arrays)
    assert old.scale_targets is False
    np.testing.assert_allclose(old.predict(X), raw.predict(X))


def test_every_optimizer_and_activation_is_accepted():
    for optimizer in ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "lbfgs"):
        model = MLPClassifier(optimizer=optimizer, epochs=2, max_iter=5, hidden_sizes=(8,))
        assert model.fit(SPIRAL.X, SPIRAL.y).score(SPIRAL.X, SPIRAL.y) > 0.2
    for activation in ("relu", "leaky_relu", "prelu", "tanh", "sigmoid", "maxout"):
        model = MLPClassifier(activation=activation, epochs=2, hidden_sizes=(8,), batchnorm=True)
        model.fit(SPIRAL.X, SPIRAL.y)


def test_get_set_params():
    model = MLPClassifier(hidden_sizes=(10,), momentum=0.5)
    params = model.get_params()
    assert params["hidden_sizes"] == (10,) and params["momentum"] == 0.5
    assert set(params) == {keyword.name for keyword in KEYWORDS}
    assert model.set_params(epochs=3) is model and model.epochs == 3
    assert "hidden_sizes=(10,)" in repr(model)


def test_export_and_import_without_pickle(tmp_path):
    names = np.array(["a", "b", "c"])[SPIRAL.y]
    model = MLPClassifier(epochs=10, batchnorm=True, preprocess="whiten").fit(SPIRAL.X, names)
    config, arrays = model.to_arrays()
    text = json.dumps(config)
    path = tmp_path / "model.npz"
    np.savez(path, **arrays)
    with np.load(path, allow_pickle=False) as archive:
        loaded = {key: archive[key] for key in archive.files}
    rebuilt = MLPClassifier.from_arrays(json.loads(text), loaded)
    np.testing.assert_array_equal(rebuilt.predict(SPIRAL.X), model.predict(SPIRAL.X))
    np.testing.assert_allclose(rebuilt.predict_proba(SPIRAL.X), model.predict_proba(SPIRAL.X))
    regressor = MLPRegressor(epochs=3).fit(SPIRAL.X, SPIRAL.X[:, 0])
    again = MLPRegressor.from_arrays(*regressor.to_arrays())
    np.testing.assert_allclose(again.predict(SPIRAL.X), regressor.predict(SPIRAL.X))
    with pytest.raises(ValueError, match="describes 'MLPRegressor'"):
        MLPClassifier.from_arrays(*regressor.to_arrays())


def test_keyword_table_documents_every_keyword():
    table = keyword_table()
    for keyword in KEYWORDS:
        assert f"`{keyword.name}`" in table
    assert "learning_rate" in (MLPClassifier.__doc__ or "")


def test_early_stopping_holds_out_validation_and_callback_prunes():
    model = MLPClassifier(epochs=50, early_stopping=True, patience=2, learning_rate=1e-2)
    model.fit(SPIRAL.X, SPIRAL.y, callback=lambda epoch, score, val_loss: epoch == 1)
    assert model.history_.stop_reason == "callback"
    assert len(model.history_.val_score) == 2


def test_float64_end_to_end():
    model = MLPClassifier(epochs=2, dtype="float64").fit(SPIRAL.X, SPIRAL.y)
    assert all(value.dtype == np.float64 for value in model.params_.values())
    assert model.decision_function(SPIRAL.X).dtype == np.float64


def test_float32_training_predicts_in_float64_row_by_row_as_in_batches():
    model = MLPClassifier(epochs=5).fit(SPIRAL.X, SPIRAL.y)
    assert all(value.dtype == np.float32 for value in model.params_.values())
    batched = model.predict_proba(SPIRAL.X[:20])
    one_by_one = np.concatenate([model.predict_proba(row[None]) for row in SPIRAL.X[:20]])
    assert batched.dtype == np.float64
    np.testing.assert_allclose(one_by_one, batched, rtol=1e-12, atol=1e-15)
    float32_scores = model.network_.predict_scores(
        model.preprocessor_.transform(SPIRAL.X.astype(np.float32)))
    np.testing.assert_allclose(model.decision_function(SPIRAL.X), float32_scores, atol=1e-5)
