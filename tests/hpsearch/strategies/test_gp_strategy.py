"""The `gp` strategy through ask/tell: bounds, batches, failures, small spaces, determinism."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hpsearch.exceptions import StrategyError
from hpsearch.space import Categorical, Float, Int, Space
from hpsearch.strategies.gp import GPStrategy
from hpsearch.testing.benchmarks import branin, branin_space
from hpsearch.trial import FrozenTrial, TrialState

MIXED = Space({
    "lr": Float(1e-4, 1e-1, log=True),
    "momentum": Float(0.0, 0.99),
    "dropout": Float(0.0, 0.5, step=0.1),
    "units": Int(8, 256, log=True),
    "layers": Int(1, 4),
    "activation": Categorical(["relu", "tanh", "elu"]),
})


def _objective(params):
    value = (math.log10(params["lr"]) + 2.5) ** 2 + (params["momentum"] - 0.9) ** 2
    value += abs(params["dropout"] - 0.2) + abs(math.log2(params["units"]) - 6) * 0.1
    value += 0.1 * params["layers"] + {"relu": 0.0, "tanh": 0.3, "elu": 0.1}[params["activation"]]
    return value


def _complete(number, params, value):
    return FrozenTrial(number=number, params=params, state=TrialState.COMPLETE, seed=0,
                       value=value)


def _run(strategy, objective, n, start=0):
    asked = []
    for number in range(start, start + n):
        params = strategy.ask(1)[0]
        asked.append(params)
        strategy.tell(_complete(number, params, objective(params)))
    return asked


def test_proposals_lie_inside_bounds_for_every_dimension_kind():
    strategy = GPStrategy(MIXED, np.random.default_rng(0), n_startup=4, n_candidates=128)
    asked = _run(strategy, _objective, 10)
    assert strategy._models.theta is not None  # the model proposed the later points
    for params in asked:
        MIXED.validate(params)
        assert isinstance(params["units"], int) and isinstance(params["layers"], int)
        assert params["dropout"] == pytest.approx(round(params["dropout"] / 0.1) * 0.1)
        assert params["activation"] in ("relu", "tanh", "elu")


def test_fewer_finished_trials_than_startup_points_samples_without_a_model():
    strategy = GPStrategy(MIXED, np.random.default_rng(0), n_startup=5)
    asked = _run(strategy, _objective, 5)
    assert strategy._models.theta is None
    assert len({tuple(p.values()) for p in asked}) == 5
    strategy.ask(1)
    assert strategy._models.theta is not None


@pytest.mark.parametrize("liar", ["min", "mean", "max", "believer"])
def test_a_batch_of_four_with_pending_trials_gives_four_distinct_new_points(liar):
    space = branin_space()
    strategy = GPStrategy(space, np.random.default_rng(1), n_startup=5, liar=liar,
                          n_candidates=256)
    told = _run(strategy, branin, 8)
    pending = [strategy.ask(1)[0], strategy.ask(1)[0]]
    batch = strategy.ask(4, pending=pending)
    keys = {tuple(p.values()) for p in batch}
    assert len(batch) == 4 and len(keys) == 4
    assert keys.isdisjoint({tuple(p.values()) for p in pending + told})


def test_parallel_startup_points_are_distinct():
    strategy = GPStrategy(branin_space(), np.random.default_rng(0), n_startup=6)
    first = strategy.ask(3)
    second = strategy.ask(3, pending=first)
    assert len({tuple(p.values()) for p in first + second}) == 6


@pytest.mark.parametrize("failed", ["worst", "skip"])
def test_failed_nan_and_pruned_trials_do_not_break_the_fit(failed):
    space = branin_space()
    strategy = GPStrategy(space, np.random.default_rng(2), n_startup=4, failed=failed,
                          n_candidates=128)
    rng = np.random.default_rng(3)
    trials = []
    for number in range(9):
        params = space.sample(rng)
        if number % 3 == 0:
            trials.append(FrozenTrial(number=number, params=params, state=TrialState.FAILED,
                                      seed=0, error="ValueError: diverged"))
        elif number % 3 == 1:
            trials.append(_complete(number, params, float("nan")))
        else:
            trials.append(_complete(number, params, branin(params)))
    trials.append(FrozenTrial(number=9, params=space.sample(rng), state=TrialState.PRUNED, seed=0,
                              intermediate={0: 50.0, 1: float("nan"), 2: 20.0}))
    trials.append(_complete(10, space.sample(rng), branin(space.sample(rng))))
    for trial in trials:
        strategy.tell(trial)
    proposals = strategy.ask(2)
    assert strategy._models.theta is not None and np.all(np.isfinite(strategy._models.theta))
    for params in proposals:
        space.validate(params)


def test_only_categorical_space_works_and_survives_exhaustion():
    space = Space({"a": Categorical(["x", "y", "z"]), "b": Categorical([True, False])})
    strategy = GPStrategy(space, np.random.default_rng(0), n_startup=3)

    def objective(p):
        return {"x": 1.0, "y": 0.0, "z": 2.0}[p["a"]] + (0.5 if p["b"] else 0.0)

    asked = _run(strategy, objective, 8)
    assert len({tuple(p.values()) for p in asked[:6]}) == 6  # every combination, no repeats
    for params in asked:
        space.validate(params)


def test_only_integer_space_works():
    space = Space({"i": Int(0, 20), "j": Int(1, 1000, log=True)})
    strategy = GPStrategy(space, np.random.default_rng(0), n_startup=5, n_candidates=256)
    asked = _run(strategy, lambda p: (p["i"] - 13) ** 2 + (math.log(p["j"]) - 3) ** 2, 15)
    for params in asked:
        space.validate(params)
    assert len({tuple(p.values()) for p in asked}) == len(asked)
    assert min((p["i"] - 13) ** 2 for p in asked[5:]) <= 1


@pytest.mark.parametrize("acquisition", ["logei", "ei", "lcb", "pi", "hedge"])
def test_same_seed_same_proposals(acquisition):
    def proposals():
        strategy = GPStrategy(MIXED, np.random.default_rng(7), n_startup=3, n_candidates=64,
                              acquisition=acquisition)
        return _run(strategy, _objective, 6)

    assert proposals() == proposals()


def test_maximize_direction_is_applied():
    strategy = GPStrategy(branin_space(), np.random.default_rng(0), "maximize", n_startup=5,
                          n_candidates=256)
    asked = _run(strategy, lambda p: -branin(p), 15)
    assert min(branin(p) for p in asked[5:]) < min(branin(p) for p in asked[:5])


def test_unknown_and_bad_options_raise_strategy_error_naming_them():
    with pytest.raises(StrategyError, match="n_startupp.*valid options: n_startup"):
        GPStrategy(branin_space(), np.random.default_rng(0), n_startupp=3)
    with pytest.raises(StrategyError, match="acquisition must be one of"):
        GPStrategy(branin_space(), np.random.default_rng(0), acquisition="ucb")
    with pytest.raises(StrategyError, match="n_candidates"):
        GPStrategy(branin_space(), np.random.default_rng(0), n_candidates=0)
    for option, value, message in (
            ("trust_region", "yes", "trust_region must be true or false, got 'yes'"),
            ("noise_prior", "loose", r"noise_prior must be one of \['auto', 'tight', 'weak'\]"),
            ("lengthscale_prior", "d", r"lengthscale_prior must be one of \['dimension'"),
            ("xi", True, "xi must be a number >= 0, got True"),
            ("max_model_trials", 9, "max_model_trials must be an integer from 10 to 4096")):
        with pytest.raises(StrategyError, match=message):
            GPStrategy(branin_space(), np.random.default_rng(0), **{option: value})


@pytest.mark.parametrize("noise_prior", ["auto", "tight", "weak"])
def test_the_noise_prior_option_sets_the_rate_of_the_noise_prior(noise_prior):
    strategy = GPStrategy(branin_space(), np.random.default_rng(0), noise_prior=noise_prior,
                          lengthscale_prior="dimension")
    assert strategy.prior.noise_b == {"auto": 300.0, "tight": 300.0, "weak": 30.0}[noise_prior]
    switch = strategy._models.noisy_prior  # "auto" starts tight and may switch to weak
    assert (switch is None) == (noise_prior != "auto")
    if switch is not None:
        assert switch.noise_b == 30.0
        assert switch.lengthscale_loc == strategy.prior.lengthscale_loc
    assert strategy.prior.lengthscale_loc == pytest.approx(math.sqrt(2) + math.log(2) / 2)


def _best_of(strategy_or_none, seed, budget=30):
    space = branin_space()
    if strategy_or_none is None:
        rng = np.random.default_rng(seed)
        return min(branin(space.sample(rng)) for _ in range(budget))
    return min(branin(p) for p in _run(strategy_or_none(seed), branin, budget))


@pytest.mark.slow
def test_gp_beats_random_on_branin_within_30_evaluations():
    def make(seed):
        return GPStrategy(branin_space(), np.random.default_rng(seed))

    gp_best = [_best_of(make, seed) for seed in range(5)]
    random_best = [_best_of(None, seed) for seed in range(5)]
    assert np.median(gp_best) < 0.5
    assert np.median(gp_best) < np.median(random_best)
    assert _best_of(make, 0) == gp_best[0]  # deterministic under a fixed seed


def test_study_with_gp_strategy_runs_end_to_end():
    import hpsearch as hp

    space = {"x": hp.Float(-5, 10), "y": hp.Float(0, 15), "kind": hp.Categorical(["a", "b"])}

    def objective(params):
        return branin(params) + (0.0 if params["kind"] == "a" else 1.0)

    study = hp.Study(space, direction="minimize", strategy="gp", seed=0,
                     strategy_options={"n_startup": 5, "n_candidates": 128})
    study.optimize(objective, n_trials=12)
    assert len(study.trials) == 12
    assert all(t.state == hp.TrialState.COMPLETE for t in study.trials)
    assert study.best_value < 20.0
    assert set(study.best_params) == {"x", "y", "kind"}


def test_numpy_scalars_and_int_valued_floats_count_as_the_same_point():
    space = Space({"i": Int(0, 2), "c": Categorical(["a", "b"])})
    strategy = GPStrategy(space, np.random.default_rng(0), n_startup=2)
    strategy.tell(_complete(0, {"i": np.int64(1), "c": "a"}, 1.0))
    asked = strategy.ask(4, pending=[{"i": 0, "c": "a"}])  # the 4 points left
    keys = {(p["i"], p["c"]) for p in asked}
    assert len(keys) == 4 and keys.isdisjoint({(1, "a"), (0, "a")})
