"""scripts/bbob.py, the BBOB benchmark of bench_search.py: method names, ranks, the noise model.

The parts that need COCO's functions skip without `cocoex` (a benchmark-only dependency)."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

SPEC = importlib.util.spec_from_file_location(
    "bbob", Path(__file__).resolve().parents[2] / "scripts" / "bbob.py")
bbob = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(bbob)


def test_method_names_carry_options_and_labels():
    assert bbob.parse_method("gp") == ("gp", {})
    assert bbob.parse_method("gp:n_local=16:trust_region=false:noise_prior=weak") == (
        "gp", {"n_local": 16, "trust_region": False, "noise_prior": "weak"})
    assert bbob.parse_method("gp@v2:trust_region=true") == ("gp", {"trust_region": True})
    assert bbob.parse_method("optuna_gp@t") == ("optuna_gp", {})


def test_ranks_share_ties_to_a_hundredth_of_a_decade():
    ranks = bbob.ranks({"a": -8.0, "b": -8.001, "c": 1.0, "d": 0.5})
    assert ranks == {"a": 1.5, "b": 1.5, "c": 4.0, "d": 3.0}


def test_budget_and_integer_lists():
    assert [bbob.budget_for(d, None) for d in (2, 5, 10)] == [30, 75, 100]
    assert bbob.budget_for(10, 40) == 40
    assert bbob.int_list("1-3,7,10-11") == [1, 2, 3, 7, 10, 11]


def test_a_noisy_run_is_scored_on_the_true_value_of_its_best_observed_point():
    pytest.importorskip("cocoex")
    problem = bbob.Problem(1, 2, 1, noisy=True, seed=0)
    rng = np.random.default_rng(0)
    for _ in range(20):
        problem(rng.uniform(-5, 5, 2))
    assert problem.observed != problem.true  # the noise is there
    picked = int(np.argmin(problem.observed))
    expected = math.log10(max(problem.true[picked] - problem.optimum, bbob.FLOOR))
    assert problem.log_regret() == pytest.approx(expected)
    again = bbob.Problem(1, 2, 1, noisy=True, seed=0)  # the same seed, the same noise
    for x in np.random.default_rng(0).uniform(-5, 5, (20, 2)):
        again(x)
    assert again.observed == problem.observed


def test_a_run_records_a_best_so_far_curve_at_cocos_optimum():
    pytest.importorskip("cocoex")
    problem = bbob.Problem(1, 2, 1, noisy=False, seed=0)
    assert problem(problem.bare.best_parameter()) == pytest.approx(problem.optimum)
    record = bbob.one_run(("random", 1, 2, 1, 0, 12, False))
    curve = record["curve"]
    assert len(curve) == 12 and all(b <= a for a, b in zip(curve, curve[1:], strict=False))
    assert tuple(record) == bbob.RECORD_FIELDS
