"""Update rules: hand-computed steps, convergence on a convex problem, Nesterov's two forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nn_core import optim

W0 = np.array([1.0, -2.0, 0.5])
DW1 = np.array([0.1, -0.3, 0.2])
DW2 = np.array([-0.2, 0.1, 0.4])


def run_two_steps(rule, **settings):
    w = W0.copy()
    state: dict = {}
    w, state = rule(w, DW1.copy(), state, **settings)
    first = w.copy()
    w, state = rule(w, DW2.copy(), state, **settings)
    return first, w, state


def test_sgd_step_by_hand():
    w, state = optim.sgd(W0.copy(), DW1, {}, learning_rate=0.1)
    np.testing.assert_allclose(w, W0 - 0.1 * DW1)
    assert not [key for key in state if not key.startswith("_")]


def test_momentum_two_steps_by_hand():
    lr, mu = 0.1, 0.9
    first, second, state = run_two_steps(optim.momentum, learning_rate=lr, momentum=mu)
    v1 = -lr * DW1
    np.testing.assert_allclose(first, W0 + v1)
    v2 = mu * v1 - lr * DW2
    np.testing.assert_allclose(second, W0 + v1 + v2)
    np.testing.assert_allclose(state["velocity"], v2)


def test_nesterov_two_steps_by_hand():
    lr, mu = 0.1, 0.9
    first, second, state = run_two_steps(optim.nesterov, learning_rate=lr, momentum=mu)
    v1 = -lr * DW1
    w1 = W0 - mu * 0.0 + (1 + mu) * v1
    np.testing.assert_allclose(first, w1)
    v2 = mu * v1 - lr * DW2
    np.testing.assert_allclose(second, w1 - mu * v1 + (1 + mu) * v2)
    np.testing.assert_allclose(state["velocity"], v2)


def test_adagrad_two_steps_by_hand():
    lr, eps = 0.1, 1e-8
    first, second, state = run_two_steps(optim.adagrad, learning_rate=lr, epsilon=eps)
    c1 = DW1**2
    w1 = W0 - lr * DW1 / (np.sqrt(c1) + eps)
    np.testing.assert_allclose(first, w1)
    c2 = c1 + DW2**2
    np.testing.assert_allclose(second, w1 - lr * DW2 / (np.sqrt(c2) + eps))
    np.testing.assert_allclose(state["cache"], c2)


def test_rmsprop_two_steps_by_hand():
    lr, decay, eps = 0.1, 0.9, 1e-8
    first, second, state = run_two_steps(
        optim.rmsprop, learning_rate=lr, decay_rate=decay, epsilon=eps
    )
    c1 = (1 - decay) * DW1**2
    w1 = W0 - lr * DW1 / (np.sqrt(c1) + eps)
    np.testing.assert_allclose(first, w1)
    c2 = decay * c1 + (1 - decay) * DW2**2
    np.testing.assert_allclose(second, w1 - lr * DW2 / (np.sqrt(c2) + eps))
    np.testing.assert_allclose(state["cache"], c2)


def test_adam_two_steps_by_hand():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-3  # a large epsilon makes its placement visible
    first, second, state = run_two_steps(
        optim.adam, learning_rate=lr, beta1=b1, beta2=b2, epsilon=eps
    )
    w = W0.copy()
    m = np.zeros(3)
    v = np.zeros(3)
    for t, dw in enumerate((DW1, DW2), start=1):
        m = b1 * m + (1 - b1) * dw
        v = b2 * v + (1 - b2) * dw**2
        mt = m / (1 - b1**t)
        vt = v / (1 - b2**t)
        w = w - lr * mt / (np.sqrt(vt) + eps)
        if t == 1:
            np.testing.assert_allclose(first, w)
    np.testing.assert_allclose(second, w)
    np.testing.assert_allclose(state["m"], m)
    np.testing.assert_allclose(state["v"], v)
    assert state["t"] == 2


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_trainer_adam_with_scaled_moments_takes_adams_steps(dtype):
    rng = np.random.default_rng(0)
    w_ref = rng.normal(size=50).astype(dtype)
    w = w_ref.copy()
    ref_state: dict = {}
    state: dict = {}
    settings = {"learning_rate": 0.01, "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-3}
    for _ in range(20):
        dw = rng.normal(size=50).astype(dtype)
        dw[:5] = 0.0  # parameters without gradient: both forms must leave them alone
        w_ref, ref_state = optim.adam(w_ref, dw.copy(), ref_state, **settings)
        w, state = optim.adam_scaled_moments(w, dw.copy(), state, **settings)
        assert w.dtype == dtype
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(w, w_ref, rtol=rtol)
    np.testing.assert_allclose(state["_m_scaled"] * 0.2, ref_state["m"], rtol=rtol, atol=1e-7)
    np.testing.assert_allclose(state["_v_scaled"] * 0.01, ref_state["v"], rtol=rtol)
    assert state["t"] == ref_state["t"] == 20
    assert optim.TRAINER_RULES["adam"] is optim.adam_scaled_moments


def test_rules_work_in_float32_without_upcasting():
    w = W0.astype(np.float32)
    for name, rule in optim.OPTIMIZERS.items():
        out, _ = rule(w.copy(), DW1.astype(np.float32), {})
        assert out.dtype == np.float32, name


@pytest.mark.parametrize("name", sorted(optim.OPTIMIZERS))
def test_each_rule_drives_a_convex_loss_down(name):
    # Ill-conditioned quadratic 0.5 * sum(h * w**2), minimum at 0.
    h = np.array([1.0, 10.0, 0.1])
    w = np.array([3.0, -2.0, 5.0])
    start = 0.5 * np.sum(h * w**2)
    state: dict = {}
    learning_rate = {"adagrad": 0.5, "rmsprop": 0.05, "adam": 0.05}.get(name, 0.05)
    for _ in range(300):
        w, state = optim.OPTIMIZERS[name](w, h * w, state, learning_rate=learning_rate)
    assert 0.5 * np.sum(h * w**2) < 0.05 * start


def test_nesterov_matches_lookahead_form_on_a_quadratic():
    A = np.array([[3.0, 0.5], [0.5, 1.0]])
    b = np.array([1.0, -2.0])

    def grad(x):
        return A @ x - b

    lr, mu = 0.05, 0.9
    # Seed's form: x_ahead = x + mu v; v = mu v - lr grad(x_ahead); x += v.
    x = np.array([2.0, 2.0])
    v = np.zeros(2)
    # Our form works on w = x + mu v, the look-ahead point, with the gradient at w.
    w = x.copy()
    state: dict = {}
    for _ in range(50):
        x_ahead = x + mu * v
        v = mu * v - lr * grad(x_ahead)
        x = x + v
        w, state = optim.nesterov(w, grad(w), state, learning_rate=lr, momentum=mu)
        np.testing.assert_allclose(w, x + mu * v, rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(state["velocity"], v, rtol=1e-10, atol=1e-12)


def test_unknown_rule_names_the_argument():
    with pytest.raises(ValueError, match="optimizer.*'adam'.*got 'adamw'"):
        optim.get_rule("adamw")
    assert optim.get_rule("adam") is optim.adam


class _Quadratic:
    """A stand-in model with the network contract: minimise 0.5 ||x w - y||^2 / N."""

    def __init__(self):
        self.params = {"w": np.zeros(3), "b": np.zeros(1)}

    def loss(self, X, y, training=False, rng=None):
        residual = X @ self.params["w"] + self.params["b"][0] - y
        grads = {"w": X.T @ residual / len(y), "b": np.array([residual.mean()])}
        return 0.5 * float(residual @ residual) / len(y), grads


def test_lbfgs_solves_least_squares():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.3
    model = _Quadratic()
    result = optim.lbfgs(model, X, y, max_iter=100)
    np.testing.assert_allclose(model.params["w"], [1.0, -2.0, 0.5], atol=1e-5)
    np.testing.assert_allclose(model.params["b"], [0.3], atol=1e-5)
    assert result["loss"] < 1e-9
    assert result["losses"] == sorted(result["losses"], reverse=True)


def test_lbfgs_callback_stops():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    model = _Quadratic()
    result = optim.lbfgs(model, X, y, callback=lambda iteration, loss: iteration >= 2)
    assert result["n_iterations"] == 2
    assert result["message"] == "stopped by callback"
    assert math.isfinite(result["loss"])


def test_adam_in_blocks_gives_the_numbers_of_one_pass(monkeypatch):
    rng = np.random.default_rng(0)
    size = 3 * optim.ADAM_BLOCK + 5  # several blocks and a short last one
    w0 = rng.standard_normal(size).astype(np.float32)
    grads = [rng.standard_normal(size).astype(np.float32) for _ in range(3)]

    def run():
        w, state = w0.copy(), {}
        for dw in grads:
            optim.adam_scaled_moments(w, dw, state, learning_rate=1e-2)
        return w

    blocked = run()
    monkeypatch.setattr(optim, "ADAM_BLOCK", size)
    np.testing.assert_array_equal(blocked, run())
