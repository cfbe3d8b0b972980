"""The gp strategy's trust region: TuRBO's success/failure rule and its box."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hpsearch.space import Categorical, Float, Space
from hpsearch.strategies import make_strategy
from hpsearch.strategies.gp_region import (
    INITIAL_LENGTH,
    MAX_LENGTH,
    MIN_LENGTH,
    SUCCESSES,
    TrustRegion,
)
from hpsearch.trial import FrozenTrial, TrialState


def test_successes_double_the_side_and_failures_halve_it_then_restart():
    region = TrustRegion(n_continuous=2)  # shrinks after max(4, 2) = 4 failures
    values = [10.0]
    region.update(values)
    for step in range(SUCCESSES):
        values.append(9.0 - step)
        region.update(values)
    assert region.length == 2 * INITIAL_LENGTH
    for _ in range(2 * SUCCESSES):  # capped
        values.append(values[-1] - 1)
        region.update(values)
    assert region.length == MAX_LENGTH
    halvings = 0
    while region.length >= MIN_LENGTH * 2:
        for _ in range(4):
            values.append(100.0)
            region.update(values)
        halvings += 1
    assert region.length == MAX_LENGTH / 2 ** halvings
    for _ in range(4):
        values.append(100.0)
        region.update(values)
    assert region.length == INITIAL_LENGTH  # below MIN_LENGTH: a fresh start


def test_failed_trials_count_nothing_and_a_batch_counts_once():
    region = TrustRegion(n_continuous=1)
    region.update([5.0])
    region.update([5.0, math.nan])
    assert (region.successes, region.failures) == (0, 0)
    region.update([5.0, math.nan, 4.0, 3.0, 7.0])  # one batch of three: one success
    assert (region.successes, region.failures) == (1, 0)


def test_the_box_splits_its_side_by_the_length_scales_and_stays_in_the_cube():
    region = TrustRegion(n_continuous=2)
    center = np.array([0.5, 0.05, 1.0, 0.0])  # columns 2, 3: a categorical, never boxed
    low, high = region.box(center, np.array([0.1, 0.4, 1.0, 1.0]), np.array([0, 1]))
    # weights l / geometric mean(l) = (0.5, 2): their geometric mean is 1; half sides 0.2, 0.8
    sides = np.array([0.5, 2.0]) * INITIAL_LENGTH / 2
    np.testing.assert_allclose(low, [0.5 - sides[0], 0.0, 0.0, 0.0])
    np.testing.assert_allclose(high, [0.5 + sides[0], 0.05 + sides[1], 1.0, 1.0])


def test_gp_with_a_trust_region_proposes_inside_the_box_and_finds_the_minimum():
    space = Space({"x": Float(-5, 5), "y": Float(-5, 5), "c": Categorical(["a", "b"])})
    strategy = make_strategy("gp", space, np.random.default_rng(0), "minimize",
                             trust_region=True)
    best = math.inf
    for number in range(40):
        params = strategy.ask(1)[0]
        if number >= strategy.options["n_startup"]:
            region = strategy._region
            gp = strategy._models.gp
            low, high = region.box(gp.X[int(np.argmin(gp.y))], gp.lengthscales,
                                   strategy.encoding.continuous_array)
            row = strategy.encoding.encode_params(params)
            assert np.all(row >= low - 1e-9) and np.all(row <= high + 1e-9)
        value = (params["x"] - 1) ** 2 + (params["y"] + 2) ** 2 + (params["c"] == "b")
        best = min(best, value)
        strategy.tell(FrozenTrial(number=number, params=params, state=TrialState.COMPLETE,
                                  seed=0, value=value))
    assert best < 1e-2


def _told(values: np.ndarray, xs: np.ndarray, **options):
    strategy = make_strategy("gp", Space({"x": Float(0, 1)}), np.random.default_rng(0),
                             "minimize", n_startup=len(xs), **options)
    for number, (x, v) in enumerate(zip(xs, values, strict=True)):
        strategy.tell(FrozenTrial(number=number, params={"x": float(x)},
                                  state=TrialState.COMPLETE, seed=0, value=float(v)))
    return strategy


def _box_centre(strategy, monkeypatch) -> float:
    """Where the next ask centres the trust region."""
    seen = {}
    real_box = strategy._region.box

    def spy(center, lengthscales, continuous):
        seen["center"] = float(center[0])
        return real_box(center, lengthscales, continuous)

    monkeypatch.setattr(strategy._region, "box", spy)
    strategy.ask(1)
    return seen["center"]


XS = np.linspace(0.0, 1.0, 60)  # dense enough that even the tight prior sees the noise
NOISY = (XS - 0.7) ** 2 + 0.05 * np.random.default_rng(1).standard_normal(len(XS))


def test_the_mean_incumbent_is_the_lowest_posterior_mean_and_centres_the_box(monkeypatch):
    from hpsearch.gp.model import predict

    xs, values = XS, NOISY
    centres = {}
    for incumbent in ("observed", "mean"):
        strategy = _told(values, xs, incumbent=incumbent, noise_prior="weak")
        centres[incumbent] = _box_centre(strategy, monkeypatch)
        gp = strategy._models.gp
        fitted, _ = predict(gp, gp.X)
        if incumbent == "mean":
            assert centres[incumbent] == pytest.approx(float(gp.X[np.argmin(fitted), 0]))
    assert centres["observed"] == pytest.approx(xs[np.argmin(values)])
    # the noise put the lowest observation away from 0.7; the model's mean does not follow it
    assert abs(centres["mean"] - 0.7) < abs(centres["observed"] - 0.7)


def test_auto_switches_to_the_weak_noise_prior_and_the_mean_incumbent_on_noisy_values(
        monkeypatch):
    from hpsearch.gp.model import predict
    from hpsearch.strategies.gp_options import NOISY_RATIO, SWITCH_RATIO

    strategy = _told(NOISY, XS)  # the defaults: noise_prior="auto", incumbent="auto"
    assert strategy._models.prior.noise_b == 300.0
    centre = _box_centre(strategy, monkeypatch)
    gp = strategy._models.gp
    assert strategy._models.prior.noise_b == 30.0 and strategy._models.noisy_prior is None
    assert gp.noise_variance > SWITCH_RATIO * gp.signal_variance > NOISY_RATIO
    fitted, _ = predict(gp, gp.X)
    assert centre == pytest.approx(float(gp.X[np.argmin(fitted), 0]))
    assert centre != pytest.approx(XS[np.argmin(NOISY)])  # not the lucky draw
    # the model was refitted under the weak prior: it is the weak prior's own optimum
    weak = _told(NOISY, XS, noise_prior="weak", incumbent="observed")
    weak.ask(1)
    assert gp.noise_variance == pytest.approx(weak._models.gp.noise_variance, rel=0.05)


def test_auto_keeps_the_tight_prior_and_the_observed_incumbent_on_smooth_values(monkeypatch):
    from hpsearch.strategies.gp_options import NOISY_RATIO

    values = (XS - 0.7) ** 2
    strategy = _told(values, XS)
    centre = _box_centre(strategy, monkeypatch)
    gp = strategy._models.gp
    assert strategy._models.prior.noise_b == 300.0 and strategy._models.noisy_prior is not None
    assert gp.noise_variance < NOISY_RATIO * gp.signal_variance
    assert centre == pytest.approx(XS[np.argmin(values)])
