"""`hp.Float` and `hp.Int` refuse what is not a number for a numeric field (a string, even one
that reads as a number, or a bool) with `SpaceTypeError`: an `HpsearchError` that is also a
`TypeError` and a `ValueError`, naming the field."""

from __future__ import annotations

import numpy as np
import pytest

import hpsearch as hp

BAD = ["abc", "1e-4", "3", True, False, None, [1], np.bool_(True)]
FIELDS = {  # the keywords a numeric field is given with, around the bad value
    "low": lambda bad: {"low": bad, "high": 5},
    "high": lambda bad: {"low": 1, "high": bad},
    "step": lambda bad: {"low": 1, "high": 5, "step": bad},
    "grid_points": lambda bad: {"low": 1, "high": 5, "grid_points": bad},
    "values": lambda bad: {"values": [1, bad]},
}


@pytest.mark.parametrize("bad", BAD, ids=repr)
@pytest.mark.parametrize("field", sorted(FIELDS))
@pytest.mark.parametrize("dimension", [hp.Float, hp.Int])
def test_numeric_fields_refuse_strings_and_bools(dimension, field, bad):
    if bad is None and field in ("step", "grid_points"):
        pytest.skip("None means 'not given' for an optional field")
    if bad is None and field in ("low", "high"):
        pytest.skip("None bounds mean 'take them from values' (refused with its own message)")
    with pytest.raises(hp.SpaceTypeError) as caught:
        dimension(**FIELDS[field](bad))
    err = caught.value
    assert isinstance(err, hp.HpsearchError | TypeError) and isinstance(err, ValueError)
    assert isinstance(err, TypeError) and isinstance(err, hp.SpaceError)
    name = "each value" if field == "values" else field
    assert str(err).startswith(f"{dimension.__name__}: {name} must be "), str(err)
    assert repr(bad) in str(err)


def test_the_newcomers_cases():
    with pytest.raises(hp.SpaceTypeError, match=r"Float: low must be a number, got str 'abc'"):
        hp.Float("abc", 1)
    with pytest.raises(hp.SpaceTypeError, match=r"Float: low must be a number, got bool True"):
        hp.Float(True, 5)
    with pytest.raises(hp.SpaceTypeError, match=r"Int: high must be an integer, got str '5'"):
        hp.Int(1, "5")


def test_numbers_of_every_numeric_type_accepted():
    assert hp.Float(np.float32(0.5), np.int64(2)).high == 2.0
    assert hp.Int(np.int64(1), 5, step=np.int64(2)).step == 2
    assert hp.Int(values=[1, 2.0]).values == (1, 2)
    assert hp.Float(0, 1, grid_points=np.int64(3)).grid() == [0.0, 0.5, 1.0]
