"""nn_core.metrics against scikit-learn's sklearn.metrics, and the task-level scores."""

import numpy as np
import pytest
from sklearn import metrics as sk

from nn_core import metrics


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_accuracy_and_subset_accuracy(rng):
    y, predicted = rng.integers(0, 4, 50), rng.integers(0, 4, 50)
    assert metrics.accuracy(y, predicted) == pytest.approx(sk.accuracy_score(y, predicted))
    Y, P = rng.integers(0, 2, (60, 3)), rng.integers(0, 2, (60, 3))
    P[:20] = Y[:20]
    assert metrics.accuracy(Y, P) == pytest.approx(sk.accuracy_score(Y, P))
    names = np.array(["cat", "dog"])
    assert metrics.accuracy(names[[0, 1, 1]], names[[0, 1, 0]]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="same shape"):
        metrics.accuracy(y, predicted[:10])


def test_log_loss_multiclass(rng):
    y = rng.integers(0, 4, 40)
    proba = softmax(rng.normal(size=(40, 4)))
    expected = sk.log_loss(y, proba, labels=range(4))
    assert metrics.log_loss(y, proba) == pytest.approx(expected, rel=1e-12)
    labels = np.array([-3, 5, 10, 11])
    assert metrics.log_loss(labels[y], proba, classes=labels) == pytest.approx(expected,
                                                                                rel=1e-12)


def test_log_loss_of_an_unknown_label_is_that_of_probability_zero():
    proba = np.array([[0.5, 0.5], [0.9, 0.1]])
    loss = metrics.log_loss(np.array(["a", "z"]), proba, classes=np.array(["a", "b"]))
    assert loss == pytest.approx((-np.log(0.5) - np.log(1e-12)) / 2)


def test_log_loss_multilabel_is_the_mean_binary_log_loss(rng):
    Y = rng.integers(0, 2, (30, 3))
    proba = 1 / (1 + np.exp(-rng.normal(size=(30, 3))))
    expected = np.mean([sk.log_loss(Y[:, j], proba[:, j], labels=[0, 1]) for j in range(3)])
    assert metrics.log_loss(Y, proba) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("outputs", [None, 1, 3])
def test_r2_mse_mae(rng, outputs):
    shape = (25,) if outputs is None else (25, outputs)
    y = rng.normal(size=shape)
    pred = y + rng.normal(scale=0.5, size=shape)
    assert metrics.r2(y, pred) == pytest.approx(sk.r2_score(y, pred), rel=1e-12)
    assert metrics.mean_squared_error(y, pred) == pytest.approx(
        sk.mean_squared_error(y, pred), rel=1e-12)
    assert metrics.mean_absolute_error(y, pred) == pytest.approx(
        sk.mean_absolute_error(y, pred), rel=1e-12)


@pytest.mark.parametrize(
    ("y", "pred"),
    [
        ([2.0, 2.0, 2.0], [2.0, 2.0, 2.0]),  # constant, perfect: 1
        ([2.0, 2.0, 2.0], [2.0, 2.0, 2.0 + 1e-8]),  # constant, imperfect: 0
        ([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]], [[1.0, 5.0], [2.5, 5.0], [3.0, 4.0]]),  # mixed
        ([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]], [[1.5, 5.0], [2.0, 5.0], [3.0, 5.0]]),
    ],
)
def test_r2_on_constant_targets_follows_scikit_learn(y, pred):
    assert metrics.r2(np.array(y), np.array(pred)) == pytest.approx(
        sk.r2_score(y, pred), abs=1e-15)


def test_r2_reshapes_predictions_to_the_targets():
    y = np.array([1.0, 2.0, 4.0])
    assert metrics.r2(y, y[:, None]) == 1.0


def test_r2_from_sums_rule():
    assert metrics.r2_from_sums(np.array([0.0, 1.0, 2.0]), np.array([0.0, 0.0, 4.0])) == \
        pytest.approx((1.0 + 0.0 + 0.5) / 3)


def test_score_by_task(rng):
    classes = np.array([3, 7, 9])
    y = classes[rng.integers(0, 3, 30)]
    proba = softmax(rng.normal(size=(30, 3)))
    assert metrics.score("accuracy", y, proba, "classification", classes) == pytest.approx(
        sk.accuracy_score(y, classes[proba.argmax(axis=1)]))
    assert metrics.score("loss", y, proba, "classification", classes) == pytest.approx(
        sk.log_loss(y, proba, labels=classes), rel=1e-12)
    Y = rng.integers(0, 2, (30, 2))
    label_proba = rng.uniform(size=(30, 2))
    assert metrics.score("accuracy", Y, label_proba, "multilabel") == pytest.approx(
        sk.accuracy_score(Y, (label_proba > 0.5).astype(int)))
    assert metrics.score("log_loss", Y, label_proba, "multilabel") == pytest.approx(
        metrics.log_loss(Y, label_proba))
    target = rng.normal(size=30)
    pred = target + 0.1
    assert metrics.score("r2", target, pred[:, None], "regression") == pytest.approx(
        sk.r2_score(target, pred))
    assert metrics.score("loss", target, pred, "regression") == pytest.approx(0.01)
    assert metrics.score("mae", target, pred, "regression") == pytest.approx(0.1)


@pytest.mark.parametrize(("metric", "task", "message"), [
    ("r2", "classification", "metric for task 'classification' must be one of"),
    ("accuracy", "regression", "metric for task 'regression'"),
    ("accuracy", "multiclass", "task must be one of 'classification'"),
])
def test_score_rejects_what_a_task_does_not_have(metric, task, message):
    with pytest.raises(ValueError, match=message):
        metrics.score(metric, np.zeros(3), np.zeros((3, 2)), task)


def test_network_score_and_minibatch_score_agree(rng):
    cases = {
        "classification": (rng.normal(size=(40, 3)), rng.integers(0, 3, 40)),
        "multilabel": (rng.normal(size=(40, 2)), rng.integers(0, 2, (40, 2)).astype(float)),
        "regression": (rng.normal(size=(40, 2)), rng.normal(size=(40, 2))),
    }
    for task, (scores, y) in cases.items():
        whole = metrics.network_score(task, scores, y)
        running = metrics.MinibatchScore(task, y)
        for _ in range(2):  # reset() starts the next epoch afresh
            running.reset()
            for begin in range(0, 40, 16):
                running.add(scores[begin:begin + 16], y[begin:begin + 16])
            assert running.value() == pytest.approx(whole, rel=1e-12), task
    scores, y = cases["multilabel"]
    assert metrics.network_score("multilabel", scores, y) == pytest.approx(
        sk.accuracy_score(y.astype(int), (scores > 0).astype(int)))


def test_task_of():
    assert [metrics.task_of(loss) for loss in ("softmax", "svm", "sigmoid_cross_entropy",
                                               "l2", "l1")] == \
        ["classification", "classification", "multilabel", "regression", "regression"]
