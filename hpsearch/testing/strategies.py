"""The contract suite every strategy passes: subclass `StrategyContract` in a pytest module and
give it a `strategy_factory` fixture.

    from hpsearch.testing.strategies import StrategyContract

    class TestMyStrategy(StrategyContract):
        @pytest.fixture
        def strategy_factory(self):
            return lambda space, rng, direction: MyStrategy(space, rng, direction)

`strategy_factory` returns `make(space, rng, direction) -> Strategy` (see
`hpsearch.strategies.base` for the ask/tell contract). The suite checks, on a space with every
dimension kind (`every_kind()`: float, log float, stepped float, int, log int, categorical
with None and a number): every point asked for is valid and inside its bounds, with ints as
ints; ask(n) gives n points unless the strategy says it is exhausted; failed and pruned trials
in the history do not break ask; a fresh strategy told a finished history (a resume) asks for
valid points; the same seed and the same history give the same points in both directions; a
`hp.Study` given the strategy object runs, resumes from its run folder and is reproducible.

Overridable: the `space` fixture (a strategy that needs grid points on float and int
dimensions uses `every_kind_grid()`; a replacement keeps the names and kinds of
`every_kind()`), and `finite = True` for a strategy with a finite set of points: then a
resumed strategy must not propose a point already done.

pytest is only a test dependency (the `test` extra): hpsearch never imports this module.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

try:
    import pytest
except ImportError as err:  # pragma: no cover - only without the test extra
    raise ImportError("hpsearch.testing.strategies needs pytest: "
                      "pip install 'hpsearch[test]'") from err

from hpsearch.space import Categorical, Float, Int, Space
from hpsearch.strategies.base import Strategy
from hpsearch.trial import FrozenTrial, TrialState

__all__ = ["StrategyContract", "StrategyFactory", "every_kind", "every_kind_grid", "score"]

StrategyFactory = Callable[[Space, np.random.Generator, str], Strategy]


def every_kind() -> Space:
    """One dimension of each kind: float, log float, stepped float, int, log int, categorical."""
    return Space({
        "float": Float(-2.0, 3.0),
        "float_log": Float(1e-4, 1e-1, log=True),
        "float_step": Float(0.0, 1.0, step=0.25),
        "int": Int(-3, 7),
        "int_log": Int(1, 256, log=True),
        "cat": Categorical(["relu", "tanh", None, 3]),
    })


def every_kind_grid() -> Space:
    """`every_kind()` with grid points on every float and int dimension (for grid search)."""
    return Space({
        "float": Float(-2.0, 3.0, grid_points=2),
        "float_log": Float(1e-4, 1e-1, log=True, grid_points=2),
        "float_step": Float(0.0, 1.0, step=0.5),
        "int": Int(-3, 7, grid_points=2),
        "int_log": Int(1, 256, log=True, grid_points=2),
        "cat": Categorical(["relu", None]),
    })


def score(params: Mapping[str, Any]) -> float:
    """A deterministic objective value of a point of `every_kind()`."""
    return float(params["float"] ** 2 + np.log10(params["float_log"]) + params["int"])


def _complete(number: int, params: Mapping[str, Any]) -> FrozenTrial:
    return FrozenTrial(number, params, TrialState.COMPLETE, seed=number, value=score(params))


def _key(params: Mapping[str, Any]) -> tuple:
    return tuple(sorted(params.items(), key=str))


class StrategyContract:
    """The tests; subclass it as `Test<Name>` and define `strategy_factory` (module docstring)."""

    #: a strategy with a finite set of points (grid): a resume must skip the ones done
    finite: bool = False

    @pytest.fixture
    def strategy_factory(self) -> StrategyFactory:
        raise NotImplementedError(
            f"{type(self).__name__} must define a `strategy_factory` fixture returning "
            "make(space, rng, direction) -> Strategy")

    @pytest.fixture
    def space(self) -> Space:
        return every_kind()

    @pytest.fixture
    def build(self, strategy_factory: StrategyFactory, space: Space) -> Callable[..., Strategy]:
        """build(seed=0, direction="minimize") -> a fresh strategy on `space`."""

        def make(seed: int = 0, direction: str = "minimize") -> Strategy:
            return strategy_factory(space, np.random.default_rng(seed), direction)

        return make

    def test_values_inside_bounds_for_every_dimension_kind(self, build, space):
        strategy = build()
        number = 0
        seen_kinds = set()
        for _ in range(4):
            pending = strategy.ask(1)
            points = pending + strategy.ask(2, pending=pending)
            assert 0 < len(points) <= 3
            for params in points:
                space.validate(params)
                assert isinstance(params["int"], int) and isinstance(params["int_log"], int)
                assert params["float_step"] in {0.0, 0.25, 0.5, 0.75, 1.0}
                seen_kinds.add(params["cat"])
                strategy.tell(_complete(number, params))
                number += 1
        assert len(seen_kinds) >= 1

    def test_ask_gives_n_points_unless_exhausted(self, build, space):
        strategy = build()
        for number in range(3):
            points = strategy.ask(3)
            assert len(points) == 3 or strategy.exhausted
            assert isinstance(strategy.exhausted, bool)
            for params in points:
                space.validate(params)
            if points:
                strategy.tell(_complete(number, points[0]))

    def test_failed_and_pruned_trials_in_history_do_not_break_ask(self, build, space):
        strategy = build()
        for number in range(7):
            (params,) = strategy.ask(1)
            space.validate(params)
            if number % 3 == 0:
                trial = FrozenTrial(number, params, TrialState.FAILED, seed=number, error="boom")
            elif number % 3 == 1:
                trial = FrozenTrial(number, params, TrialState.PRUNED, seed=number, value=1.0,
                                    intermediate={0: 2.0, 1: 1.0})
            else:
                trial = _complete(number, params)
            strategy.tell(trial)
        for params in strategy.ask(2):
            space.validate(params)

    def test_resume_replays_finished_trials_through_tell(self, build, space):
        first = build(seed=1)
        history = []
        for number in range(6):
            (params,) = first.ask(1)
            trial = _complete(number, params)
            first.tell(trial)
            history.append(trial)
        resumed = build(seed=1)
        for trial in history:
            resumed.tell(trial)
        points = resumed.ask(2)
        assert points
        for params in points:
            space.validate(params)
        if self.finite:  # a resumed finite strategy skips the points already done
            done = {_key(t.params) for t in history}
            assert not done & {_key(p) for p in points}

    @pytest.mark.parametrize("direction", ["minimize", "maximize"])
    def test_same_seed_and_history_give_the_same_points(self, build, direction):
        def drive(strategy: Strategy) -> list[dict]:
            asked = []
            for number in range(6):
                (params,) = strategy.ask(1)
                strategy.tell(_complete(number, params))
                asked.append(dict(params))
            return asked + [dict(p) for p in strategy.ask(2)]

        first = drive(build(seed=3, direction=direction))
        assert first == drive(build(seed=3, direction=direction))

    def test_a_study_runs_on_it_and_resumes(self, build, space, tmp_path):
        """hp.Study(strategy=<the object>): trials valid, a reopened study replays its history
        into a fresh copy of the object and goes on, and the same object and interruptions give the
        same study."""
        from hpsearch.study.study import Study

        def objective(params: Mapping[str, Any]) -> float:
            return float(params["float"]) + float(params["int"])

        def run(folder: Any, n_trials: int) -> list[dict]:
            with Study(space, strategy=build(seed=5), seed=0, storage=folder) as study:
                study.optimize(objective, n_trials=n_trials)
                return [dict(t.params) for t in study.trials]

        first = run(tmp_path / "a", 6)
        assert 0 < len(first) <= 6
        for params in first:
            space.validate(params)
        resumed = run(tmp_path / "a", 9)
        assert resumed[:len(first)] == first and len(resumed) >= len(first)
        assert run(tmp_path / "b", 6) == first and run(tmp_path / "b", 9) == resumed
