"""Gradient-check utilities: numerical gradients, relative error, the network report."""

import math

import numpy as np
import pytest

from nn_core.gradcheck import (
    GradientCheckReport,
    GradientCheckRow,
    check_network_gradients,
    numerical_gradient,
    numerical_gradient_array,
    relative_error,
)
from nn_core.network import Network, NetworkConfig


def test_numerical_gradient_of_cubic_and_restores_x():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    original = x.copy()
    grad = numerical_gradient(lambda v: float((v**3).sum()), x)
    np.testing.assert_allclose(grad, 3 * original**2, rtol=1e-8)
    np.testing.assert_array_equal(x, original)


def test_numerical_gradient_array_contracts_with_dout():
    x = np.array([0.3, -1.2, 2.0])
    dout = np.array([1.0, 2.0, -1.0])
    grad = numerical_gradient_array(np.sin, x, dout)
    np.testing.assert_allclose(grad, np.cos(x) * dout, rtol=1e-8)


def test_relative_error_definition():
    assert relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.2])) == pytest.approx(0.2 / 2.2)
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    # The 1e-8 floor keeps tiny differences of tiny numbers from dividing by zero.
    assert relative_error(np.array([0.0]), np.array([1e-12])) == pytest.approx(1e-4)
    with pytest.raises(ValueError, match="same shape"):
        relative_error(np.zeros(2), np.zeros(3))


def test_report_table_and_verdict():
    report = GradientCheckReport(
        (GradientCheckRow("hidden1.w", 3e-9, 10, 1), GradientCheckRow("output.b", math.nan, 2, 2)),
        h=1e-5,
    )
    assert report.worst_relative_error == 3e-9
    assert report.passed() and not report.passed(tolerance=1e-10)
    table = report.format_table()
    assert table.splitlines()[0].split() == [
        "parameter",
        "worst",
        "rel.",
        "error",
        "checked",
        "kinks",
    ]
    assert "hidden1.w" in table and "3.000e-09" in table and str(report) == table


def test_check_network_accepts_a_float32_network_without_touching_it():
    X = np.random.default_rng(0).standard_normal((6, 4))
    y = np.array([0, 1, 2, 0, 1, 2])
    net = Network(NetworkConfig(4, 3, (5,), activation="tanh"), np.random.default_rng(0))
    before = {k: v.copy() for k, v in net.params.items()}
    report = check_network_gradients(net, X, y, num_checks=3)
    assert [r.parameter for r in report.rows] == list(net.params)
    assert [r.num_checked for r in report.rows] == [3, 3, 3, 3]
    assert report.passed()
    for key in before:
        assert net.params[key].dtype == np.float32
        np.testing.assert_array_equal(net.params[key], before[key])


class _BrokenNetwork(Network):
    """A network whose hidden-bias gradient is 1 % off: the check must catch it."""

    def loss(self, X, y=None, training=False, rng=None):
        result = super().loss(X, y, training, rng)
        if y is None:
            return result
        loss, grads = result
        grads["hidden1.b"] = grads["hidden1.b"] * 1.01
        return loss, grads


def test_a_wrong_gradient_is_detected():
    X = np.random.default_rng(0).standard_normal((6, 4))
    y = np.array([0, 1, 2, 0, 1, 2])
    net = _BrokenNetwork(NetworkConfig(4, 3, (5,), activation="tanh"), np.random.default_rng(0))
    report = check_network_gradients(net, X, y)
    worst = {r.parameter: r.worst_relative_error for r in report.rows}
    assert worst["hidden1.b"] > 1e-3 and worst["hidden1.w"] < 1e-6
    assert not report.passed()


def test_kinks_are_flagged_and_excluded():
    # A huge step crosses ReLU kinks; those entries are counted but not scored.
    X = np.random.default_rng(0).standard_normal((20, 4))
    y = np.arange(20) % 3
    config = NetworkConfig(4, 3, (8,), activation="relu")
    report = check_network_gradients(config, X, y, num_checks=20, h=0.5)
    assert sum(r.num_kinks for r in report.rows) > 0
    assert report.rows[-1].num_kinks == 0  # the output bias touches no kink


class _RecordingNetwork(Network):
    """Remembers the regularisation strength and dtype of every loss evaluation."""

    seen: list = []

    def loss(self, X, y=None, training=False, rng=None):
        _RecordingNetwork.seen.append((self.config.reg, self.dtype, np.asarray(X).dtype))
        return super().loss(X, y, training, rng)


def test_reg_argument_overrides_config_and_runs_in_float64():
    X = np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32)
    y = np.array([0, 1, 2, 0, 1, 2])
    config = NetworkConfig(4, 3, (5,), activation="tanh", regularization="l2", reg=0.0)
    net = _RecordingNetwork(config, np.random.default_rng(0))
    _RecordingNetwork.seen.clear()
    report = check_network_gradients(net, X, y, reg=0.5, num_checks=2)
    assert report.passed()
    assert set(_RecordingNetwork.seen) == {(0.5, np.dtype(np.float64), np.dtype(np.float64))}


def test_rejects_other_objects():
    with pytest.raises(ValueError, match="network_or_config must be a Network or a NetworkConfig"):
        check_network_gradients({"hidden": 3}, np.zeros((2, 2)), np.zeros(2, int))
