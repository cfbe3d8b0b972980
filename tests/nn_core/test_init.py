"""Initialisation schemes: empirical std against the formula, determinism, zeros warns."""

import math

import numpy as np
import pytest

from nn_core import init

N_IN, N_OUT = 400, 300


@pytest.mark.parametrize(
    ("name", "expected_std"),
    [
        ("small", 0.01),
        ("calibrated", 1 / math.sqrt(N_IN)),
        ("xavier", math.sqrt(2 / (N_IN + N_OUT))),
        ("he", math.sqrt(2 / N_IN)),
    ],
)
def test_empirical_std_matches_formula(name, expected_std):
    w = init.initialize(name, (N_IN, N_OUT), np.random.default_rng(0))
    assert w.shape == (N_IN, N_OUT)
    assert abs(w.mean()) < 0.01 * expected_std * 10
    assert w.std() == pytest.approx(expected_std, rel=0.02)


def test_sparse_connects_each_unit_to_ten_inputs():
    w = init.initialize("sparse", (N_IN, N_OUT), np.random.default_rng(0))
    assert np.all((w != 0).sum(axis=0) == 10)
    assert w[w != 0].std() == pytest.approx(0.01, rel=0.05)


def test_sparse_with_few_inputs_connects_all():
    w = init.sparse((4, 50), np.random.default_rng(0))
    assert np.all((w != 0).sum(axis=0) == 4)


def test_zeros_warns_about_symmetry():
    with pytest.warns(UserWarning, match="symmetry"):
        w = init.initialize("zeros", (3, 2), np.random.default_rng(0))
    assert not w.any()


@pytest.mark.parametrize("name", [n for n in init.INITIALIZERS if n != "zeros"])
def test_same_seed_same_weights(name):
    a = init.initialize(name, (20, 10), np.random.default_rng(5))
    b = init.initialize(name, (20, 10), np.random.default_rng(5))
    c = init.initialize(name, (20, 10), np.random.default_rng(6))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_dtype_and_maxout_shape():
    w = init.initialize("he", (8, 3, 5), np.random.default_rng(0), dtype="float32")
    assert w.shape == (8, 3, 5) and w.dtype == np.float32
    assert init.zeros_bias(5, "float32").dtype == np.float32
    assert not init.zeros_bias(5).any()


def test_unknown_name_lists_valid_names():
    with pytest.raises(
        ValueError, match=r"init must be one of 'small', 'calibrated'.*'zeros'; got 'glorot'"
    ):
        init.initialize("glorot", (3, 2), np.random.default_rng(0))


def test_requires_a_generator():
    with pytest.raises(ValueError, match="rng must be a numpy.random.Generator"):
        init.initialize("he", (3, 2), 0)
