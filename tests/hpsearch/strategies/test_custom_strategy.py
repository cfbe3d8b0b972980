"""A strategy that is not registered by name, given to a study as an object: the example in
`examples/custom_strategy.py` passes the strategy contract (which runs and resumes a study on
it), and the study checks the object against its own space and direction."""

from __future__ import annotations

import numpy as np
import pytest

import hpsearch as hp
from hpsearch.exceptions import StudyError
from hpsearch.strategies import STRATEGY_NAMES
from hpsearch.testing.strategies import StrategyContract
from tests.hpsearch.examples import load_example


def _example():
    return load_example("custom_strategy.py")


LocalSearch = _example().LocalSearch


class TestLocalSearch(StrategyContract):
    @pytest.fixture
    def strategy_factory(self):
        return lambda space, rng, direction: LocalSearch(space, rng, direction, n_startup=3)


def test_the_strategy_is_not_registered_and_the_example_finds_branins_basin():
    assert LocalSearch.name not in STRATEGY_NAMES
    study = _example().main()
    assert study.strategy_name == "local_search"
    assert study.best_value < 2.0  # Branin's minimum is 0.398; a random point averages ~50


def test_the_object_is_copied_so_the_callers_object_is_untouched():
    space = hp.Space({"x": hp.Float(0, 1)})
    strategy = LocalSearch(space, np.random.default_rng(0), n_startup=2)
    study = hp.Study(space, strategy=strategy, seed=0)
    study.optimize(lambda p: p["x"], n_trials=5)
    assert strategy.n_told == 0 and strategy.best is None


def test_a_strategy_object_for_another_space_or_direction_is_refused():
    space = hp.Space({"x": hp.Float(0, 1)})
    other = LocalSearch(hp.Space({"y": hp.Float(0, 1)}), np.random.default_rng(0))
    with pytest.raises(StudyError, match="another space"):
        hp.Study(space, strategy=other)
    maximizing = LocalSearch(space, np.random.default_rng(0), "maximize")
    with pytest.raises(StudyError, match="direction"):
        hp.Study(space, strategy=maximizing, direction="minimize")
    with pytest.raises(StudyError, match="strategy_options"):
        hp.Study(space, strategy=LocalSearch(space, np.random.default_rng(0)),
                 strategy_options={"scale": 0.5})
    with pytest.raises(StudyError, match="registered name or an hpsearch Strategy"):
        hp.Study(space, strategy=object())
