"""`gp` on categoricals with many choices: the encoding's width is bounded (one index column
past 32 choices or 256 one-hot columns), so an ask on 10,000 choices takes megabytes, not
gigabytes; index columns encode, decode and condition like one-hot ones, and the strategy
contract holds on such a space. Options that would make an ask unbounded are refused."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import hpsearch as hp
from hpsearch.exceptions import StrategyError
from hpsearch.strategies import make_strategy
from hpsearch.strategies.encoding import MAX_ONE_HOT, MAX_ONE_HOT_COLUMNS, Encoding
from hpsearch.testing.strategies import StrategyContract, every_kind
from hpsearch.trial import FrozenTrial, TrialState


def choices(k: int, prefix: str = "c") -> list[str]:
    return [f"{prefix}{i}" for i in range(k)]


def test_width_is_bounded_whatever_the_number_of_choices():
    huge = Encoding(hp.Space({"c": hp.Categorical(choices(10_000)), "x": hp.Float(0, 1)}))
    assert huge.n_columns == 2 and huge.groups == []
    edge = Encoding(hp.Space({"c": hp.Categorical(choices(MAX_ONE_HOT))}))
    assert edge.n_columns == MAX_ONE_HOT and len(edge.groups) == 1
    many = Encoding(hp.Space({f"c{j}": hp.Categorical(choices(30)) for j in range(20)}))
    one_hot = MAX_ONE_HOT_COLUMNS // 30  # 8 fit in the budget, in the space's order
    assert len(many.groups) == one_hot
    assert many.n_columns == one_hot * 30 + (20 - one_hot) <= 20 + MAX_ONE_HOT_COLUMNS
    assert [kind for kind, _ in many.layout] == ["categorical"] * one_hot + ["index"] * 12


def test_index_columns_round_trip_and_snap_to_a_choice():
    space = hp.Space({"c": hp.Categorical([*choices(99), None, 3, True]), "x": hp.Float(0, 1)})
    encoding = Encoding(space)
    for value in ("c0", "c57", None, 3, True):
        row = encoding.encode_params({"c": value, "x": 0.25})
        assert encoding.decode(row) == {"c": value, "x": 0.25}
    rows = encoding.encode_units(np.random.default_rng(0).random((50, 2)))
    assert all(space["c"].contains(encoding.decode(r)["c"]) for r in rows)
    grid = (np.arange(102) + 0.5) / 102
    assert np.isin(rows[:, 0], grid).all()  # snapped onto a choice's position
    with pytest.raises(hp.SpaceError):
        encoding.encode_params({"c": "not a choice", "x": 0.25})


def test_an_index_encoded_parent_switches_its_children():
    space = hp.Space({"kind": hp.Categorical(choices(50)),
                      "width": hp.Int(1, 8, when={"kind": ["c3", "c40"]})})
    encoding = Encoding(space)
    on = encoding.encode_params({"kind": "c40", "width": 5})
    off = encoding.encode_params({"kind": "c7"})
    rows, mask = encoding.project(np.vstack([on, off]))
    assert not mask[0].any() and mask[1, 1]
    assert encoding.decode(rows[0]) == {"kind": "c40", "width": 5}
    assert encoding.decode(rows[1]) == {"kind": "c7"}


def told(strategy, space, n, rng):
    for number in range(n):
        params = space.sample(rng)
        value = (params["x"] - 0.3) ** 2 + int(params["c"][1:]) % 7 / 10
        strategy.tell(FrozenTrial(number, params, TrialState.COMPLETE, seed=number,
                                  value=value))


def test_an_ask_on_ten_thousand_choices_stays_small():
    space = hp.Space({"c": hp.Categorical(choices(10_000)), "x": hp.Float(0.0, 1.0)})
    strategy = make_strategy("gp", space, np.random.default_rng(1), "minimize")
    told(strategy, space, 20, np.random.default_rng(0))
    tracemalloc.start()
    (params,) = strategy.ask(1)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert space["c"].contains(params["c"]) and 0.0 <= params["x"] <= 1.0
    assert peak < 64 * 2**20  # was 7.7 GB with a column per choice


@pytest.mark.parametrize("option, value", [("n_candidates", 10**9), ("n_local", 10**6),
                                           ("n_restarts", 10**4), ("n_startup", 10**8),
                                           ("max_model_trials", 10**7)])
def test_options_that_would_make_an_ask_unbounded_are_refused(option, value):
    with pytest.raises(StrategyError, match=f"{option} must be an integer from"):
        make_strategy("gp", hp.Space({"x": hp.Float(0, 1)}), np.random.default_rng(0),
                      "minimize", **{option: value})


def test_a_space_wider_than_sobol_starts_from_uniform_draws():
    space = hp.Space({f"x{j}": hp.Float(0, 1) for j in range(21_300)})
    strategy = make_strategy("gp", space, np.random.default_rng(0), "minimize", n_startup=2)
    (params,) = strategy.ask(1)
    assert len(params) == 21_300


class TestGPOnLargeCategoricals(StrategyContract):
    """The strategy contract on a space whose categoricals are index columns."""

    @pytest.fixture
    def strategy_factory(self):
        return lambda space, rng, direction: make_strategy("gp", space, rng, direction,
                                                           n_startup=3)

    @pytest.fixture
    def space(self):  # every kind, plus an index-encoded parent with a conditional child
        return hp.Space({**dict(every_kind().items()), "big": hp.Categorical(choices(300, "b")),
                         "depth": hp.Int(1, 4, when={"big": choices(150, "b")})})
