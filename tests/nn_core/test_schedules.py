"""Learning-rate schedules against their closed forms."""

from __future__ import annotations

import math

import pytest

from nn_core import schedules


def test_step_decay_closed_form():
    schedule = schedules.StepDecay(0.1, drop=0.5, every=5)
    assert schedule.unit == "epoch"
    for t in range(23):
        assert schedule(t) == pytest.approx(0.1 * 0.5 ** (t // 5))
    assert schedule(4) == pytest.approx(0.1) and schedule(5) == pytest.approx(0.05)


def test_exponential_decay_closed_form():
    schedule = schedules.ExponentialDecay(0.1, k=0.01)
    assert schedule.unit == "iteration"
    for t in (0, 1, 10, 100, 1000):
        assert schedule(t) == pytest.approx(0.1 * math.exp(-0.01 * t))


def test_inverse_time_decay_closed_form():
    schedule = schedules.InverseTimeDecay(0.1, k=0.5)
    assert schedule.unit == "iteration"
    for t in (0, 1, 2, 10):
        assert schedule(t) == pytest.approx(0.1 / (1 + 0.5 * t))


def test_plateau_cuts_after_patience_and_resets():
    schedule = schedules.Plateau(1.0, factor=0.1, patience=2, mode="max")
    rates = [schedule.step(score) for score in (0.5, 0.6, 0.6, 0.59, 0.7, 0.7, 0.7)]
    assert rates == pytest.approx([1.0, 1.0, 1.0, 0.1, 0.1, 0.1, 0.01])
    assert schedule(123) == pytest.approx(0.01)


def test_plateau_min_mode_for_losses():
    schedule = schedules.Plateau(1.0, factor=0.5, patience=1, mode="min")
    assert schedule.step(1.0) == 1.0
    assert schedule.step(0.9) == 1.0
    assert schedule.step(0.95) == 0.5


def test_make_schedule_by_name():
    assert schedules.make_schedule(None, 0.1)(100) == 0.1
    assert isinstance(schedules.make_schedule("step", 0.1, decay=0.1, step=3), schedules.StepDecay)
    assert schedules.make_schedule("step", 0.1, decay=0.1, step=3)(3) == pytest.approx(0.01)
    assert schedules.make_schedule("exponential", 0.1, decay=0.1)(10) == pytest.approx(
        0.1 * math.exp(-1.0)
    )
    assert schedules.make_schedule("inverse_time", 0.1, decay=1.0)(1) == pytest.approx(0.05)
    assert isinstance(schedules.make_schedule("plateau", 0.1), schedules.Plateau)
    with pytest.raises(ValueError, match="lr_schedule"):
        schedules.make_schedule("cosine", 0.1)
