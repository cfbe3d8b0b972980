"""Layers: gradient checks in float64, batchnorm and dropout behaviour, dtype preservation."""

import numpy as np
import pytest

from nn_core import layers
from nn_core.gradcheck import numerical_gradient_array, relative_error

TOL = 1e-7


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def away_from_zero(rng, shape, low=0.1):
    """Values with |x| >= low, so a ReLU-like kink is never crossed by a 1e-5 step."""
    return rng.uniform(low, 1.0, shape) * rng.choice([-1.0, 1.0], shape)


def test_affine_gradients_with_multidimensional_input(rng):
    x = rng.standard_normal((4, 2, 3))
    w = rng.standard_normal((6, 5))
    b = rng.standard_normal(5)
    dout = rng.standard_normal((4, 5))
    out, cache = layers.affine_forward(x, w, b)
    np.testing.assert_allclose(out, x.reshape(4, 6) @ w + b)
    dx, dw, db = layers.affine_backward(dout, cache)
    assert dx.shape == x.shape
    assert (
        relative_error(
            dx, numerical_gradient_array(lambda v: layers.affine_forward(v, w, b)[0], x, dout)
        )
        < TOL
    )
    assert (
        relative_error(
            dw, numerical_gradient_array(lambda v: layers.affine_forward(x, v, b)[0], w, dout)
        )
        < TOL
    )
    assert (
        relative_error(
            db, numerical_gradient_array(lambda v: layers.affine_forward(x, w, v)[0], b, dout)
        )
        < TOL
    )


def test_affine_without_bias(rng):
    x, w = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    out, cache = layers.affine_forward(x, w, None)
    np.testing.assert_allclose(out, x @ w)
    _, _, db = layers.affine_backward(np.ones((3, 2)), cache)
    assert db is None


@pytest.mark.parametrize(
    ("forward", "backward"),
    [
        (layers.relu_forward, layers.relu_backward),
        (lambda x: layers.leaky_relu_forward(x, 0.1), layers.leaky_relu_backward),
        (layers.sigmoid_forward, layers.sigmoid_backward),
        (layers.tanh_forward, layers.tanh_backward),
    ],
    ids=["relu", "leaky_relu", "sigmoid", "tanh"],
)
def test_elementwise_activation_gradients(rng, forward, backward):
    x = away_from_zero(rng, (5, 7)) * 3
    dout = rng.standard_normal((5, 7))
    _, cache = forward(x)
    dx = backward(dout, cache)
    assert relative_error(dx, numerical_gradient_array(lambda v: forward(v)[0], x, dout)) < TOL


def test_activation_values(rng):
    x = np.array([[-2.0, 0.5]])
    np.testing.assert_allclose(layers.relu_forward(x)[0], [[0.0, 0.5]])
    np.testing.assert_allclose(layers.leaky_relu_forward(x, 0.1)[0], [[-0.2, 0.5]])
    np.testing.assert_allclose(layers.sigmoid_forward(x)[0], 1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(layers.tanh_forward(x)[0], np.tanh(x))


def test_sigmoid_is_stable_for_huge_inputs():
    with np.errstate(all="raise"):
        out, _ = layers.sigmoid_forward(np.array([-1e4, 0.0, 1e4]))
    np.testing.assert_allclose(out, [0.0, 0.5, 1.0])


def test_prelu_gradients(rng):
    x = away_from_zero(rng, (6, 4))
    alpha = rng.uniform(0.05, 0.5, 4)
    dout = rng.standard_normal((6, 4))
    out, cache = layers.prelu_forward(x, alpha)
    np.testing.assert_allclose(out, np.where(x > 0, x, alpha * x))
    dx, dalpha = layers.prelu_backward(dout, cache)
    assert dalpha.shape == (4,)
    num_dx = numerical_gradient_array(lambda v: layers.prelu_forward(v, alpha)[0], x, dout)
    num_da = numerical_gradient_array(lambda v: layers.prelu_forward(x, v)[0], alpha, dout)
    assert relative_error(dx, num_dx) < TOL
    assert relative_error(dalpha, num_da) < TOL


def test_maxout_gradients(rng):
    x = rng.standard_normal((5, 3, 2))
    w = rng.standard_normal((6, 3, 4))
    b = rng.standard_normal((3, 4))
    dout = rng.standard_normal((5, 4))
    out, cache = layers.maxout_forward(x, w, b)
    pieces = np.einsum("nd,dkm->nkm", x.reshape(5, 6), w) + b
    np.testing.assert_allclose(out, pieces.max(axis=1))
    # No two pieces tie within the finite-difference step (no kink crossed).
    top2 = np.sort(pieces, axis=1)[:, -2:, :]
    assert np.min(top2[:, 1] - top2[:, 0]) > 1e-3
    dx, dw, db = layers.maxout_backward(dout, cache)
    assert (dx.shape, dw.shape, db.shape) == (x.shape, w.shape, b.shape)
    f = layers.maxout_forward
    assert relative_error(dx, numerical_gradient_array(lambda v: f(v, w, b)[0], x, dout)) < TOL
    assert relative_error(dw, numerical_gradient_array(lambda v: f(x, v, b)[0], w, dout)) < TOL
    assert relative_error(db, numerical_gradient_array(lambda v: f(x, w, v)[0], b, dout)) < TOL


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_gradients(rng, training):
    x = rng.standard_normal((8, 5)) * 3 + 2
    gamma, beta = rng.standard_normal(5), rng.standard_normal(5)
    mean, var = rng.standard_normal(5), rng.uniform(0.5, 2, 5)
    dout = rng.standard_normal((8, 5))

    def forward(x_, g_, b_):
        return layers.batchnorm_forward(x_, g_, b_, mean, var, training)[0]

    _, cache = layers.batchnorm_forward(x, gamma, beta, mean, var, training)
    dx, dgamma, dbeta = layers.batchnorm_backward(dout, cache)
    assert (
        relative_error(dx, numerical_gradient_array(lambda v: forward(v, gamma, beta), x, dout))
        < TOL
    )
    assert (
        relative_error(dgamma, numerical_gradient_array(lambda v: forward(x, v, beta), gamma, dout))
        < TOL
    )
    assert (
        relative_error(dbeta, numerical_gradient_array(lambda v: forward(x, gamma, v), beta, dout))
        < TOL
    )


def test_batchnorm_training_normalises_and_updates_running_stats(rng):
    x = rng.standard_normal((200, 3)) * [1.0, 5.0, 0.1] + [3.0, -2.0, 7.0]
    running_mean, running_var = np.ones(3), np.full(3, 2.0)
    before = running_mean.copy(), running_var.copy()
    out, cache = layers.batchnorm_forward(
        x, np.ones(3), np.zeros(3), running_mean, running_var, True
    )
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-10)
    np.testing.assert_allclose(out.var(axis=0), 1.0, rtol=2e-3)
    # eps sits inside the square root: the variance is exactly var / (var + eps).
    np.testing.assert_allclose(out.var(axis=0), x.var(axis=0) / (x.var(axis=0) + 1e-5))
    np.testing.assert_allclose(cache.running_mean, 0.9 * 1.0 + 0.1 * x.mean(axis=0))
    np.testing.assert_allclose(cache.running_var, 0.9 * 2.0 + 0.1 * x.var(axis=0))
    # The caller's arrays are not mutated.
    np.testing.assert_array_equal(running_mean, before[0])
    np.testing.assert_array_equal(running_var, before[1])


def test_batchnorm_eval_uses_running_stats(rng):
    x = rng.standard_normal((4, 3))
    gamma, beta = np.array([1.0, 2.0, 0.5]), np.array([0.0, 1.0, -1.0])
    mean, var = np.array([0.5, -1.0, 2.0]), np.array([4.0, 1.0, 0.25])
    out, cache = layers.batchnorm_forward(x, gamma, beta, mean, var, False)
    np.testing.assert_allclose(out, (x - mean) / np.sqrt(var + 1e-5) * gamma + beta)
    assert cache.running_mean is mean and cache.running_var is var


def test_dropout_gradient_with_fixed_generator(rng):
    x = rng.standard_normal((6, 5))
    dout = rng.standard_normal((6, 5))
    out, cache = layers.dropout_forward(x, 0.6, True, np.random.default_rng(7))
    dx = layers.dropout_backward(dout, cache)

    def f(v):
        return layers.dropout_forward(v, 0.6, True, np.random.default_rng(7))[0]

    assert relative_error(dx, numerical_gradient_array(f, x, dout)) < TOL


def test_dropout_is_inverted_and_identity_at_eval(rng):
    x = np.ones((400, 250))
    out, mask = layers.dropout_forward(x, 0.8, True, rng)
    kept = out != 0
    assert abs(kept.mean() - 0.8) < 0.01
    np.testing.assert_allclose(out[kept], 1 / 0.8)
    assert abs(out.mean() - 1.0) < 0.01  # expectation preserved
    out_eval, cache = layers.dropout_forward(x, 0.8, False, None)
    assert out_eval is x and cache is None


@pytest.mark.parametrize("keep_prob", [0.0, -0.1, 1.5])
def test_dropout_rejects_keep_prob_outside_unit_interval(rng, keep_prob):
    with pytest.raises(ValueError, match=r"keep_prob must be in \(0, 1\]"):
        layers.dropout_forward(np.ones((2, 2)), keep_prob, True, rng)


def test_dropout_training_needs_a_generator():
    with pytest.raises(ValueError, match="rng must be a numpy.random.Generator"):
        layers.dropout_forward(np.ones((2, 2)), 0.5, True, None)


def test_layers_preserve_float32(rng):
    x = away_from_zero(rng, (4, 6)).astype(np.float32)
    w = rng.standard_normal((6, 3)).astype(np.float32)
    b = np.zeros(3, np.float32)
    ones = np.ones((4, 6), np.float32)
    assert layers.affine_forward(x, w, b)[0].dtype == np.float32
    for forward, backward in [
        (layers.relu_forward, layers.relu_backward),
        (layers.leaky_relu_forward, layers.leaky_relu_backward),
        (layers.sigmoid_forward, layers.sigmoid_backward),
        (layers.tanh_forward, layers.tanh_backward),
    ]:
        out, cache = forward(x)
        assert out.dtype == np.float32 and backward(ones, cache).dtype == np.float32
    g, z = np.ones(6, np.float32), np.zeros(6, np.float32)
    out, cache = layers.batchnorm_forward(x, g, z, z, g, True)
    assert out.dtype == cache.running_mean.dtype == np.float32
    assert all(a.dtype == np.float32 for a in layers.batchnorm_backward(ones, cache))
    out, mask = layers.dropout_forward(x, 0.5, True, rng)
    assert out.dtype == np.float32 and mask.dtype == np.float32
    out, cache = layers.prelu_forward(x, np.full(6, 0.25, np.float32))
    assert all(a.dtype == np.float32 for a in (out, *layers.prelu_backward(ones, cache)))
