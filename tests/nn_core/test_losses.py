"""Losses: gradient checks, hand-worked values, numerical stability at |scores| ~ 1e4."""

import math

import numpy as np
import pytest

from nn_core import losses
from nn_core.gradcheck import numerical_gradient, relative_error

TOL = 1e-7


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def make_targets(name, rng, n, c):
    if name in ("softmax", "svm"):
        return rng.integers(0, c, n)
    if name == "sigmoid_cross_entropy":
        return rng.integers(0, 2, (n, c))
    return rng.standard_normal((n, c))


@pytest.mark.parametrize("name", list(losses.LOSSES))
def test_loss_gradients(rng, name):
    loss_fn = losses.get_loss(name)
    scores = rng.standard_normal((6, 4)) * 2
    y = make_targets(name, rng, 6, 4)
    loss, dscores = loss_fn(scores, y)
    assert isinstance(loss, float)
    numeric = numerical_gradient(lambda s: loss_fn(s, y)[0], scores)
    assert relative_error(dscores, numeric) < TOL


def test_test_points_are_away_from_kinks(rng):
    # The svm and l1 checks above are only valid if no margin or residual is within 1e-5 of 0.
    scores = rng.standard_normal((6, 4)) * 2
    y = rng.integers(0, 4, 6)
    margins = scores - scores[np.arange(6), y][:, None] + 1
    assert np.min(np.abs(margins)) > 1e-4


@pytest.mark.parametrize("name", ["softmax", "svm"])
def test_label_losses_accept_any_layout_and_integer_kind(rng, name):
    loss_fn = losses.get_loss(name)
    scores = rng.standard_normal((6, 4)) * 2
    y = rng.integers(0, 4, 6)
    loss, dscores = loss_fn(scores, y)
    for variant, labels in [(np.asfortranarray(scores), y),  # flat views need C order
                            (np.ascontiguousarray(scores.T).T, y),
                            (scores[:, ::-1][:, ::-1], y),
                            (scores, y.astype(np.uint64)),  # uint64 + int64 offsets is float
                            (scores, y.astype(np.int8))]:
        other, dother = loss_fn(variant, labels)
        assert other == pytest.approx(loss, rel=1e-12)
        np.testing.assert_allclose(dother, dscores, rtol=1e-12, atol=1e-15)
    whole = np.round(scores * 3).astype(np.int64)  # integer scores are scored as floats
    loss, dscores = loss_fn(whole, y)
    other, dother = loss_fn(whole.astype(np.float64), y)
    assert loss == pytest.approx(other, rel=1e-12)
    np.testing.assert_allclose(dscores, dother, rtol=1e-12)


def test_softmax_of_equal_scores_is_log_c():
    loss, _ = losses.softmax_loss(np.zeros((5, 10)), np.arange(5))
    assert loss == pytest.approx(math.log(10))


def test_svm_hand_worked_example():
    # CS231n: scores (3.2, 5.1, -1.7), true class 0: max(0, 2.9) + max(0, -3.9) = 2.9
    loss, dscores = losses.svm_loss(np.array([[3.2, 5.1, -1.7]]), np.array([0]))
    assert loss == pytest.approx(2.9)
    np.testing.assert_allclose(dscores, [[-1.0, 1.0, 0.0]])


def test_regression_losses_hand_worked():
    scores = np.array([[1.0, 2.0], [0.0, -1.0]])
    y = np.array([[0.0, 0.0], [1.0, 1.0]])
    assert losses.l2_loss(scores, y)[0] == pytest.approx((1 + 4 + 1 + 4) / 2)
    assert losses.l1_loss(scores, y)[0] == pytest.approx((1 + 2 + 1 + 2) / 2)


def test_single_output_regression_accepts_flat_targets():
    loss, dscores = losses.l2_loss(np.array([[1.0], [3.0]]), np.array([0.0, 1.0]))
    assert loss == pytest.approx((1 + 4) / 2)
    assert dscores.shape == (2, 1)


def test_sigmoid_cross_entropy_matches_naive_form(rng):
    scores = rng.standard_normal((5, 3))
    y = rng.integers(0, 2, (5, 3))
    p = 1 / (1 + np.exp(-scores))
    naive = -(y * np.log(p) + (1 - y) * np.log(1 - p)).sum() / 5
    assert losses.sigmoid_cross_entropy_loss(scores, y)[0] == pytest.approx(naive)


@pytest.mark.parametrize("name", list(losses.LOSSES))
def test_losses_are_stable_for_huge_scores(rng, name):
    scores = rng.standard_normal((4, 3)) * 1e4
    y = make_targets(name, rng, 4, 3)
    # Underflow to 0 is harmless; overflow, 0/0 and log(0) are the failures to catch.
    with np.errstate(over="raise", invalid="raise", divide="raise", under="ignore"):
        loss, dscores = losses.get_loss(name)(scores, y)
    assert math.isfinite(loss) and np.all(np.isfinite(dscores))


def test_huge_score_values_are_exact():
    scores = np.array([[1e4, 0.0, -1e4]])
    assert losses.softmax_loss(scores, np.array([0]))[0] == pytest.approx(0.0, abs=1e-12)
    assert losses.softmax_loss(scores, np.array([2]))[0] == pytest.approx(2e4)
    attrs = losses.sigmoid_cross_entropy_loss(scores, np.array([[0, 1, 1]]))[0]
    assert attrs == pytest.approx(1e4 + math.log(2) + 1e4)


@pytest.mark.parametrize("name", list(losses.LOSSES))
def test_losses_keep_float32(rng, name):
    scores = rng.standard_normal((4, 3)).astype(np.float32)
    _, dscores = losses.get_loss(name)(scores, make_targets(name, rng, 4, 3))
    assert dscores.dtype == np.float32


def test_bad_labels_are_rejected():
    with pytest.raises(ValueError, match=r"y must hold class labels in \[0, 3\)"):
        losses.softmax_loss(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match=r"y must be integer class labels of shape \(2,\)"):
        losses.svm_loss(np.zeros((2, 3)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"y must have shape \(2, 3\)"):
        losses.l2_loss(np.zeros((2, 3)), np.zeros(2))


def test_unknown_loss_name():
    with pytest.raises(ValueError, match="loss must be one of 'softmax', 'svm'"):
        losses.get_loss("hinge")
