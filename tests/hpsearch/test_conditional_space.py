"""Conditional spaces: checks at construction, active parts, grid counts, round trips."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hpsearch as hp

NETWORK = {
    "optimizer": hp.Categorical(["sgd", "momentum", "nesterov", "adam"]),
    "learning_rate": hp.Float(1e-4, 1e-1, log=True),
    "mu": hp.Float(0.5, 0.99, when={"optimizer": ["momentum", "nesterov"]}),
    "beta2": hp.Float(0.9, 0.9999, when={"optimizer": ["adam"]}),
    "num_layers": hp.Int(1, 3),
    "hidden_size_2": hp.Int(16, 256, log=True, when={"num_layers": [2, 3]}),
    "hidden_size_3": hp.Int(16, 256, log=True, when={"num_layers": [3]}),
    # a chain: active only when hidden_size_3 is (which needs num_layers = 3), and adam
    "dropout_3": hp.Categorical([0.0, 0.5], when={"hidden_size_3": list(range(16, 257)),
                                                   "optimizer": ["adam"]}),
}


@pytest.mark.parametrize("space, culprit", [
    ({"a": hp.Float(0, 1, when={"b": [1]})}, "unknown parent dimension 'b'"),
    ({"a": hp.Int(0, 3, when={"a": [1]})}, "cannot depend on itself"),
    ({"a": hp.Int(0, 3, when={"b": [1]}), "b": hp.Int(0, 3, when={"a": [1]})},
     "cycle: a -> b -> a"),
    ({"a": hp.Float(0, 1), "b": hp.Int(0, 2, when={"a": [0.5]})}, "float dimension"),
    ({"a": hp.Categorical(["x"]), "b": hp.Int(0, 2, when={"a": ["y"]})},
     r"\['y'\] are not values of 'a'"),
    ({"a": hp.Int(0, 3), "b": {"type": "int", "low": 0, "high": 2, "when": {"a": 7}}},
     "non-empty list"),
])
def test_broken_conditions_are_refused_naming_them(space, culprit):
    with pytest.raises(hp.SpaceError, match=culprit):
        hp.Space(space)


def test_active_part_and_validation():
    space = hp.Space(NETWORK)
    full = {name: dim.sample(np.random.default_rng(0)) for name, dim in space.items()}
    full.update(optimizer="sgd", num_layers=2)
    active = space.active(full)
    assert set(active) == {"optimizer", "learning_rate", "num_layers", "hidden_size_2"}
    space.validate(active)
    with pytest.raises(hp.SpaceError, match="'mu' is inactive"):
        space.validate({**active, "mu": 0.9})
    with pytest.raises(hp.SpaceError, match="missing 'hidden_size_2'"):
        space.validate({k: v for k, v in active.items() if k != "hidden_size_2"})
    chain = space.active({**full, "optimizer": "adam", "num_layers": 3})
    assert {"beta2", "hidden_size_3", "dropout_3"} <= set(chain) and "mu" not in chain


def test_grid_counts_only_active_combinations():
    space = hp.Space({
        "optimizer": hp.Categorical(["sgd", "momentum", "adam"]),
        "mu": hp.Float(0.5, 0.9, grid_points=3, when={"optimizer": ["momentum"]}),
        "beta2": hp.Float(values=[0.99, 0.999], when={"optimizer": ["adam"]}),
        "layers": hp.Int(1, 2),
        "width_2": hp.Int(values=[32, 64], when={"layers": [2]}),
    })
    # by hand: optimizers give 1 (sgd) + 3 (momentum) + 2 (adam) = 6 branches; layers give
    # 1 (one layer) + 2 (two layers, two widths) = 3; 6 * 3 = 18
    grid = space.grid()
    assert len(grid) == 18
    assert len({tuple(sorted(p.items())) for p in grid}) == 18
    for point in grid:
        space.validate(point)
    assert hp.Space({"a": hp.Int(0, 2), "b": hp.Int(0, 1)}).grid()[:3] == [
        {"a": 0, "b": 0}, {"a": 0, "b": 1}, {"a": 1, "b": 0}]  # row-major, as before
    study = hp.Study(space, strategy="grid", seed=0)
    study.optimize(lambda p: 0.0, n_trials=100)
    assert len(study.trials) == 18 and study.exhausted


def test_conditions_round_trip_through_dicts_and_storage(tmp_path):
    space = hp.Space(NETWORK)
    assert hp.Space.from_dict(space.to_dict()) == space
    study = hp.Study(space, seed=0, storage=tmp_path)
    study.optimize(lambda p: p["learning_rate"], n_trials=3)
    again = hp.Study(NETWORK, storage=tmp_path)  # the same space: no mismatch
    assert again.space == space
    flat = {k: v for k, v in space.to_dict().items()}
    assert "when" not in flat["optimizer"] and flat["mu"]["when"] == {
        "optimizer": ["momentum", "nesterov"]}


def test_sampling_draws_parents_first_and_flat_spaces_as_before():
    flat = hp.Space({"x": hp.Float(0, 1), "k": hp.Categorical(["a", "b"])})
    rng = np.random.default_rng(5)
    expected = {"x": flat["x"].sample(rng), "k": flat["k"].sample(rng)}
    assert flat.sample(np.random.default_rng(5)) == expected
    # a child declared before its parent is still drawn after it
    space = hp.Space({"mu": hp.Float(0.5, 0.9, when={"opt": ["m"]}),
                      "opt": hp.Categorical(["m", "s"])})
    assert space.order == ["opt", "mu"]
    points = [space.sample(np.random.default_rng(s)) for s in range(40)]
    assert {p["opt"] for p in points} == {"m", "s"}
    assert all(("mu" in p) == (p["opt"] == "m") for p in points)


def test_results_leave_inactive_params_empty():
    study = hp.Study(NETWORK, seed=1)
    study.optimize(lambda p: p["learning_rate"], n_trials=12)
    frame = study.results()
    for _, row in frame.iterrows():
        trial = study.trials[int(row["number"])]
        for name in NETWORK:
            assert pd.isna(row[f"params_{name}"]) == (name not in trial.params)
