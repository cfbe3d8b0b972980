"""The contract every registered strategy passes (`hpsearch.testing.strategies`; grid gets a
space with grid points), the study-level guarantees that need a registered name, and proof
that the suite fails a strategy that breaks it."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import hpsearch as hp
from hpsearch.exceptions import SpaceError
from hpsearch.strategies import STRATEGY_NAMES, make_strategy
from hpsearch.strategies.grid import GridStrategy
from hpsearch.strategies.random_search import RandomStrategy
from hpsearch.testing.strategies import StrategyContract, every_kind, every_kind_grid
from hpsearch.trial import TrialState

# Small model warm-ups so the model-based paths run within a few trials.
FAST_OPTIONS = {
    "tpe": {"n_startup_trials": 3},
    "skopt": {"n_initial_points": 3, "acq_optimizer": "sampling", "acq_func": "EI"},
    "gp": {"n_startup": 3},
    "nsga2": {"population_size": 4},
}

SLOW_STRATEGIES = {"skopt"}  # a scikit-learn GP fit per tell: seconds per trial


def strategies(slow: set[str] = SLOW_STRATEGIES) -> list:
    return [pytest.param(n, marks=pytest.mark.slow) if n in slow else n for n in STRATEGY_NAMES]


def space_for(name: str) -> hp.Space:
    return every_kind_grid() if name == "grid" else every_kind()


class Registered(StrategyContract):
    """The contract for the strategy registered as `name`, with its fast options."""

    name = ""

    @pytest.fixture
    def strategy_factory(self):
        return lambda space, rng, direction: make_strategy(
            self.name, space, rng, direction, **FAST_OPTIONS.get(self.name, {}))


class TestGrid(Registered):
    name = "grid"
    finite = True

    @pytest.fixture
    def space(self):
        return every_kind_grid()


class TestRandom(Registered):
    name = "random"


class TestGP(Registered):
    name = "gp"


@pytest.mark.slow
class TestSkopt(Registered):
    name = "skopt"


class TestTPE(Registered):
    name = "tpe"


class TestNSGA2(Registered):
    name = "nsga2"


def test_every_registered_strategy_runs_the_contract():
    assert sorted(c.name for c in Registered.__subclasses__()) == sorted(STRATEGY_NAMES)


def test_gp_is_registered():
    assert set(STRATEGY_NAMES) >= {"grid", "random", "gp", "skopt", "tpe"}


def run_study(name: str, objective: str, n_jobs: int) -> list[dict]:
    study = hp.Study(space_for(name), strategy=name, seed=7,
                     strategy_options=FAST_OPTIONS.get(name, {}))
    study.optimize(objective, n_trials=6, n_jobs=n_jobs)
    assert all(t.state is TrialState.COMPLETE for t in study.trials)
    return [dict(t.params) for t in study.trials]


@pytest.mark.parametrize("name", strategies())
def test_same_study_twice_gives_same_trials(name, objective_file):
    first = run_study(name, objective_file("mixed"), n_jobs=1)
    second = run_study(name, objective_file("mixed"), n_jobs=1)
    assert first == second


@pytest.mark.slow
@pytest.mark.parametrize("name", ["grid", "random"])
def test_grid_and_random_do_not_depend_on_n_jobs(name, objective_file):
    objective = objective_file("mixed")
    assert run_study(name, objective, n_jobs=1) == run_study(name, objective, n_jobs=2)


def test_hpsearch_never_imports_the_contract_suites():
    code = ("import sys, hpsearch, hpsearch.cli, hpsearch.testing, hpsearch.testing.benchmarks\n"
            "names = ('pytest', 'hpsearch.testing.strategies', 'hpsearch.testing.storage')\n"
            "print(','.join(m for m in names if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == ""


# ----------------------------------------------------------------------------- the suite fails
class OutOfBounds(RandomStrategy):
    def ask(self, n, pending=()):
        return [{**p, "float": 99.0} for p in super().ask(n, pending)]


class OwnEntropy(RandomStrategy):
    def ask(self, n, pending=()):  # ignores its Generator: fresh OS entropy each call
        return [self.space.sample(np.random.default_rng()) for _ in range(n)]


class OnePointOnly(RandomStrategy):
    def ask(self, n, pending=()):
        return super().ask(min(n, 1), pending)


class NeedsAValue(RandomStrategy):
    def tell(self, trial):
        self.best = min(getattr(self, "best", np.inf), float(trial.value))


class ForgetfulGrid(GridStrategy):
    def tell(self, trial):
        pass


class ForgetfulContract(StrategyContract):
    finite = True


def builder(cls, space):
    return lambda seed=0, direction="minimize": cls(space, np.random.default_rng(seed), direction)


@pytest.mark.parametrize(("cls", "test"), [
    (OutOfBounds, "test_values_inside_bounds_for_every_dimension_kind"),
    (OnePointOnly, "test_ask_gives_n_points_unless_exhausted"),
    (NeedsAValue, "test_failed_and_pruned_trials_in_history_do_not_break_ask"),
])
def test_the_suite_fails_a_broken_strategy(cls, test):
    space = every_kind()
    with pytest.raises((AssertionError, SpaceError, TypeError)):
        getattr(StrategyContract(), test)(builder(cls, space), space)


def test_the_suite_fails_a_strategy_that_ignores_its_generator():
    with pytest.raises(AssertionError):
        StrategyContract().test_same_seed_and_history_give_the_same_points(
            builder(OwnEntropy, every_kind()), "minimize")


def test_the_suite_fails_a_finite_strategy_that_repeats_done_points_on_resume():
    space = every_kind_grid()
    with pytest.raises(AssertionError):
        ForgetfulContract().test_resume_replays_finished_trials_through_tell(
            builder(ForgetfulGrid, space), space)
    StrategyContract().test_resume_replays_finished_trials_through_tell(  # not finite: passes
        builder(ForgetfulGrid, space), space)
