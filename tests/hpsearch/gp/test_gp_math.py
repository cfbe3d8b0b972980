"""The GP maths against closed forms, numerical gradients and SciPy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.integrate
import scipy.stats

from hpsearch.gp import acquisition as acq
from hpsearch.gp.kernels import matern52
from hpsearch.gp.model import (
    Prior,
    condition,
    default_theta,
    dimension_scaled,
    extend,
    fit,
    neg_log_posterior,
    predict,
    predict_with_grad,
    training_mean,
)
from hpsearch.gp.optimize_acq import maximize
from hpsearch.gp.warping import WARPINGS, warp, yeo_johnson


def _theta(lengthscales, signal, noise):
    return np.log(np.r_[lengthscales, signal, noise])


def test_matern52_matches_its_formula_at_known_distances():
    X1 = np.array([[0.0, 0.0]])
    X2 = np.array([[0.0, 0.0], [0.3, 0.0], [0.3, 0.4]])
    k = matern52(X1, X2, np.array([0.5, 0.5]), 2.0)[0]
    for value, r in zip(k, [0.0, 0.6, 1.0], strict=True):
        s = math.sqrt(5) * r
        assert value == pytest.approx(2.0 * (1 + s + s * s / 3) * math.exp(-s), rel=1e-12)


def test_posterior_with_one_point_matches_the_hand_formula():
    X = np.array([[0.2, 0.7]])
    y = np.array([1.5])
    signal, noise = 1.3, 0.01
    gp = condition(X, y, _theta([0.4, 0.9], signal, noise))
    x = np.array([[0.2, 0.7], [0.5, 0.1], [0.9, 0.9]])
    k = matern52(x, X, np.array([0.4, 0.9]), signal)[:, 0]
    mean, var = predict(gp, x)
    np.testing.assert_allclose(mean, k * y[0] / (signal + noise), rtol=1e-9)
    np.testing.assert_allclose(var, signal - k * k / (signal + noise), rtol=1e-7, atol=1e-8)


def test_posterior_with_two_points_matches_the_2x2_inverse():
    X = np.array([[0.1], [0.6]])
    y = np.array([-1.0, 2.0])
    signal, noise, ell = 0.8, 1e-3, np.array([0.3])
    gp = condition(X, y, _theta(ell, signal, noise))
    c = matern52(X[:1], X[1:], ell, signal)[0, 0]
    a = signal + noise
    inverse = np.array([[a, -c], [-c, a]]) / (a * a - c * c)
    x = np.array([[0.35], [0.0], [0.6]])
    k = matern52(x, X, ell, signal)
    mean, var = predict(gp, x)
    np.testing.assert_allclose(mean, k @ inverse @ y, rtol=1e-8)
    np.testing.assert_allclose(var, signal - np.einsum("ai,ij,aj->a", k, inverse, k), rtol=1e-6)


@pytest.mark.parametrize("with_prior", ["none", "unit", "dimension"])
def test_marginal_likelihood_gradient_matches_centred_differences(with_prior):
    rng = np.random.default_rng(3)
    X = rng.random((15, 3))
    y = np.sin(4 * X).sum(1)
    y = (y - y.mean()) / y.std()
    prior = {"none": None, "unit": Prior(), "dimension": dimension_scaled(3)}[with_prior]
    theta = np.array([-1.0, -0.3, 0.4, 0.2, -3.0])
    _, grad = neg_log_posterior(theta, X, y, prior)
    h = 1e-6
    numeric = [(neg_log_posterior(theta + e, X, y, prior)[0]
                - neg_log_posterior(theta - e, X, y, prior)[0]) / (2 * h)
               for e in np.eye(theta.size) * h]
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-6)


def test_dimension_scaled_prior_is_botorchs_log_normal():
    # log l ~ Normal(sqrt(2) + log(d) / 2, 3): its log density up to a constant, and the
    # default start at its median
    d = 10
    prior = dimension_scaled(d)
    theta = np.r_[np.log([0.5, 2.0, 13.0] + [1.0] * (d - 3)), 0.0, math.log(1e-3)]
    value, _ = prior.log_density(theta)
    loc = math.sqrt(2) + math.log(d) / 2
    expected = float(scipy.stats.norm(loc, math.sqrt(3)).logpdf(theta[:d]).sum()
                     - d * scipy.stats.norm(loc, math.sqrt(3)).logpdf(loc))
    signal_noise, _ = Prior().log_density(np.r_[np.zeros(d), theta[d:]])
    unit_lengthscales = -0.1 * 2 * d  # the unit prior's length-scale term at l = 1
    assert value == pytest.approx(expected + signal_noise - unit_lengthscales, abs=1e-9)
    np.testing.assert_allclose(default_theta(d, prior)[:d], loc)
    assert default_theta(d, Prior())[:d].tolist() == [0.0] * d


def test_training_mean_is_the_posterior_mean_at_the_training_inputs():
    rng = np.random.default_rng(3)
    X = rng.random((25, 3))
    y = np.sin(6 * X[:, 0]) + X[:, 1] + 0.1 * rng.standard_normal(25)
    theta = np.r_[np.log([0.3, 0.5, 2.0]), 0.0, math.log(0.05)]  # a real noise level
    gp = extend(condition(X[:20], y[:20], theta), X[20:], y[20:])  # the bordered update too
    mean, _ = predict(gp, X)
    np.testing.assert_allclose(training_mean(gp), mean, atol=1e-10)
    assert np.abs(training_mean(gp) - y).max() > 0.01  # with noise it smooths, not interpolates


def test_maximize_stays_inside_a_box():
    peak = np.array([0.9, 0.1])  # outside the box: the optimum is its nearest corner

    def acquisition(x, grad):
        return -((x - peak) ** 2).sum(1), (-2 * (x - peak)) if grad else None

    rng = np.random.default_rng(1)
    low, high = np.array([0.2, 0.3]), np.array([0.6, 0.7])
    candidates = low + (high - low) * rng.random((40, 2))
    points, _ = maximize(acquisition, candidates, np.array([0, 1]), [], np.array([0.3, 2.0]),
                         lambda x: x, n_local=4, box=(low, high))
    assert np.all(points >= low - 1e-12) and np.all(points <= high + 1e-12)
    np.testing.assert_allclose(points[0], [0.6, 0.3], atol=1e-6)


def test_fit_improves_on_its_start_and_interpolates_a_smooth_function():
    rng = np.random.default_rng(0)
    X = rng.random((25, 2))
    y = np.sin(3 * X[:, 0]) + X[:, 1] ** 2
    y = (y - y.mean()) / y.std()
    start = default_theta(2, Prior())
    gp = fit(X, y, start[None, :])
    assert neg_log_posterior(gp.theta, X, y, Prior())[0] < neg_log_posterior(start, X, y,
                                                                             Prior())[0]
    mean, var = predict(gp, X)
    np.testing.assert_allclose(mean, y, atol=0.05)
    assert np.all(var >= 0)


def test_posterior_gradients_match_centred_differences():
    rng = np.random.default_rng(1)
    X = rng.random((12, 3))
    gp = condition(X, rng.standard_normal(12), _theta([0.3, 0.5, 0.8], 1.2, 1e-4))
    x = rng.random((4, 3))
    mean, var, dmean, dvar = predict_with_grad(gp, x)
    np.testing.assert_allclose(predict(gp, x)[0], mean, rtol=1e-10)
    h = 1e-6
    for j in range(3):
        step = np.zeros(3)
        step[j] = h
        (mp, vp), (mm, vm) = predict(gp, x + step), predict(gp, x - step)
        np.testing.assert_allclose(dmean[:, j], (mp - mm) / (2 * h), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(dvar[:, j], (vp - vm) / (2 * h), rtol=1e-5, atol=1e-7)


def test_expected_improvement_matches_its_integral():
    mean, var, best, xi = np.array([0.3, -0.5, 1.2]), np.array([0.4, 0.05, 2.0]), 0.1, 0.02
    values, _, _ = acq.expected_improvement(mean, var, best, xi)
    for m, v, value in zip(mean, var, values, strict=True):
        sd = math.sqrt(v)
        integral, _ = scipy.integrate.quad(
            lambda f, m=m, sd=sd: (best - xi - f) * scipy.stats.norm.pdf(f, m, sd),
            -np.inf, best - xi)
        assert value == pytest.approx(integral, rel=1e-7)
        z = (best - xi - m) / sd
        formula = sd * (z * scipy.stats.norm.cdf(z) + scipy.stats.norm.pdf(z))
        assert value == pytest.approx(formula, rel=1e-12)


def test_log_ei_is_log_of_ei_where_finite_and_finite_far_in_the_tail():
    z = np.array([-30.0, -10.0, -3.0, -1.0, -0.5, 0.0, 0.5, 3.0, 10.0])
    mean, var = -z, np.ones_like(z)
    ei, _, _ = acq.expected_improvement(mean, var, 0.0)
    log_ei, _, _ = acq.log_expected_improvement(mean, var, 0.0)
    assert np.all(ei > 0)
    np.testing.assert_allclose(log_ei, np.log(ei), rtol=1e-9)
    tail = np.array([40.0, 1e3, 1e6, 1e12])
    far, _, _ = acq.log_expected_improvement(tail, np.ones(4), 0.0)
    underflow, _, _ = acq.expected_improvement(tail, np.ones(4), 0.0)
    assert np.all(np.isfinite(far)) and np.all(np.diff(far) < 0)
    assert np.all(underflow == 0.0)


@pytest.mark.parametrize("name", ["ei", "logei", "lcb", "pi"])
def test_acquisition_derivatives_match_centred_differences(name):
    functions = {
        "ei": lambda m, v: acq.expected_improvement(m, v, 0.1, 0.01),
        "logei": lambda m, v: acq.log_expected_improvement(m, v, 0.1, 0.01),
        "lcb": lambda m, v: acq.lower_confidence_bound(m, v, 2.0),
        "pi": lambda m, v: acq.log_probability_of_improvement(m, v, 0.1, 0.01),
    }
    f = functions[name]
    mean, var = np.array([0.3, -0.2, 2.0, 6.0]), np.array([0.5, 0.1, 0.3, 0.2])
    _, d_mean, d_var = f(mean, var)
    h = 1e-6
    np.testing.assert_allclose(d_mean, (f(mean + h, var)[0] - f(mean - h, var)[0]) / (2 * h),
                               rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(d_var, (f(mean, var + h)[0] - f(mean, var - h)[0]) / (2 * h),
                               rtol=1e-5, atol=1e-8)


def test_maximize_finds_the_peak_of_a_smooth_function_and_the_best_category():
    peak = np.array([0.37, 0.81])
    bonus = np.array([0.0, 0.5, 0.2])  # the second category is best

    def acquisition(x, grad):
        value = -((x[:, :2] - peak) ** 2).sum(1) + x[:, 2:] @ bonus
        gradient = np.zeros_like(x)
        gradient[:, :2] = -2 * (x[:, :2] - peak)
        gradient[:, 2:] = bonus
        return value, gradient if grad else None

    rng = np.random.default_rng(0)
    candidates = np.zeros((50, 5))
    candidates[:, :2] = rng.random((50, 2))
    candidates[np.arange(50), 2 + rng.integers(3, size=50)] = 1.0
    candidates[:, 3] = 0.0  # no candidate starts in the best category
    candidates[candidates[:, 2:].sum(1) == 0, 2] = 1.0
    points, values = maximize(acquisition, candidates, np.array([0, 1]), [np.array([2, 3, 4])],
                              np.ones(5), lambda x: x, n_local=4)
    np.testing.assert_allclose(points[0, :2], peak, atol=1e-4)
    np.testing.assert_array_equal(points[0, 2:], [0.0, 1.0, 0.0])
    assert np.all(np.diff(values) <= 0)


@pytest.mark.parametrize("method", WARPINGS)
def test_warping_keeps_the_order_and_standardises(method):
    y = np.exp(np.random.default_rng(2).standard_normal(40) * 2) - 3.0
    w = warp(y, method)
    np.testing.assert_array_equal(np.argsort(w, kind="stable"), np.argsort(y, kind="stable"))
    assert abs(w.mean()) < 1e-9 and w.std() == pytest.approx(1.0)
    assert np.all(warp(np.full(5, 2.0), method) == 0.0)


def test_yeo_johnson_matches_scipy():
    x = np.random.default_rng(4).standard_normal(30) * 2
    for lam in (-1.5, 0.0, 0.7, 2.0, 3.0):
        np.testing.assert_allclose(yeo_johnson(x, [lam])[0], scipy.stats.yeojohnson(x, lam),
                                   rtol=1e-10, atol=1e-12)


def test_extend_equals_conditioning_on_everything():
    from hpsearch.gp.model import extend, retarget

    rng = np.random.default_rng(3)
    X, y = rng.random((30, 3)), rng.standard_normal(30)
    theta = _theta([0.3, 0.5, 0.8], 1.2, 1e-3)
    whole = condition(X, y, theta)
    grown = extend(extend(condition(X[:20], y[:20], theta), X[20:21], y[20:21]), X[21:], y[21:])
    np.testing.assert_allclose(grown.L, whole.L, atol=1e-10)
    np.testing.assert_allclose(grown.alpha, whole.alpha, rtol=1e-8, atol=1e-8)
    y2 = rng.standard_normal(30)
    np.testing.assert_allclose(retarget(whole, y2).alpha, condition(X, y2, theta).alpha,
                               rtol=1e-8, atol=1e-8)
