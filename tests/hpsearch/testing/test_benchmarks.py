"""Benchmark functions reach their known minima inside their own spaces."""

from __future__ import annotations

import math

import pytest

from hpsearch.testing.benchmarks import BENCHMARKS, branin, hartmann6, styblinski_tang

MINIMISERS = {
    "branin": [{"x": -math.pi, "y": 12.275}, {"x": math.pi, "y": 2.275},
               {"x": 9.42478, "y": 2.475}],
    "hartmann6": [dict(zip([f"x{i}" for i in range(1, 7)],
                           [0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573],
                           strict=True))],
    "styblinski_tang": [{"x1": -2.903534, "x2": -2.903534}],
}


@pytest.mark.parametrize("name", sorted(BENCHMARKS))
def test_known_minimisers_reach_the_minimum(name):
    bench = BENCHMARKS[name]
    for params in MINIMISERS[name]:
        bench.space.validate(params)
        assert bench.function(params) == pytest.approx(bench.minimum, abs=1e-4)


def test_minimum_is_a_lower_bound_on_a_sample():
    import numpy as np

    rng = np.random.default_rng(0)
    for bench in BENCHMARKS.values():
        values = [bench.function(bench.space.sample(rng)) for _ in range(200)]
        assert min(values) >= bench.minimum - 1e-6


def test_functions_are_importable_by_reference():
    assert branin.__module__ == hartmann6.__module__ == styblinski_tang.__module__
