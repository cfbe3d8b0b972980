"""Penalties against numerical gradients, max-norm projection, biases never regularised."""

import numpy as np
import pytest

from nn_core import regularization as regu
from nn_core.gradcheck import numerical_gradient, relative_error
from nn_core.network import Network, NetworkConfig


@pytest.fixture
def weights():
    rng = np.random.default_rng(0)
    # Away from 0, where |w| has its kink.
    return rng.uniform(0.1, 1.0, (5, 4)) * rng.choice([-1.0, 1.0], (5, 4))


def test_values_match_definitions(weights):
    w = weights
    assert regu.l2(w, 0.3)[0] == pytest.approx(0.5 * 0.3 * (w**2).sum())
    assert regu.l1(w, 0.3)[0] == pytest.approx(0.3 * np.abs(w).sum())
    expected = 0.3 * (0.2 * np.abs(w).sum() + 0.8 * 0.5 * (w**2).sum())
    assert regu.elastic(w, 0.3, l1_ratio=0.2)[0] == pytest.approx(expected)
    assert regu.penalty("none", w, 0.3)[0] == 0.0


@pytest.mark.parametrize("name", ["l2", "l1", "elastic"])
def test_gradients_match_numerical(weights, name):
    _, grad = regu.penalty(name, weights, 0.7, l1_ratio=0.3)
    numeric = numerical_gradient(lambda w: regu.penalty(name, w, 0.7, l1_ratio=0.3)[0], weights)
    assert relative_error(grad, numeric) < 1e-7


def test_unknown_penalty_name(weights):
    with pytest.raises(
        ValueError, match="regularization must be one of 'l2', 'l1', 'elastic', 'none'"
    ):
        regu.penalty("ridge", weights, 0.1)


def test_max_norm_clips_columns():
    rng = np.random.default_rng(1)
    w = rng.standard_normal((10, 6)) * np.array([0.01, 0.01, 2, 3, 4, 5])
    projected = regu.max_norm(w, 1.5)
    norms = np.linalg.norm(projected, axis=0)
    assert np.all(norms <= 1.5 + 1e-12)
    small = np.linalg.norm(w, axis=0) <= 1.5
    assert small[:2].all() and not small[2:].any()
    np.testing.assert_array_equal(projected[:, small], w[:, small])  # inside the ball: untouched
    np.testing.assert_allclose(norms[~small], 1.5)
    # Directions are kept.
    np.testing.assert_allclose(
        projected[:, ~small] / norms[~small], w[:, ~small] / np.linalg.norm(w[:, ~small], axis=0)
    )


def test_max_norm_in_place_and_maxout_layout():
    w = np.random.default_rng(2).standard_normal((6, 2, 3)).astype(np.float32) * 5
    out = regu.max_norm(w, 1.0, out=w)
    assert out is w and w.dtype == np.float32
    assert np.all(np.linalg.norm(w.reshape(6, -1), axis=0) <= 1.0 + 1e-6)


def test_max_norm_rejects_non_positive_radius():
    with pytest.raises(ValueError, match="c .* must be positive"):
        regu.max_norm(np.ones((2, 2)), 0.0)


@pytest.mark.parametrize("kind", ["l2", "l1", "elastic"])
def test_network_biases_and_batchnorm_not_regularised(kind):
    rng = np.random.default_rng(3)
    X, y = rng.standard_normal((6, 4)), rng.integers(0, 3, 6)

    def grads(reg, batchnorm):
        config = NetworkConfig(
            4,
            3,
            (5,),
            activation="prelu",
            batchnorm=batchnorm,
            regularization=kind,
            reg=reg,
            dtype="float64",
        )
        return Network(config, np.random.default_rng(0)).loss(X, y, training=True)

    for batchnorm in (False, True):
        (loss0, g0), (loss1, g1) = grads(0.0, batchnorm), grads(0.5, batchnorm)
        assert loss1 > loss0
        for key in g0:
            if key.endswith(".w"):
                assert not np.allclose(g0[key], g1[key]), key
            else:
                np.testing.assert_array_equal(g0[key], g1[key], err_msg=key)
