"""Sanity checks as library calls: initial loss near ln C, overfitting a tiny subset."""

from __future__ import annotations

import math
from dataclasses import FrozenInstanceError

import numpy as np
import pytest

from nn_core.data import make_spiral
from nn_core.network import Network, NetworkConfig
from nn_core.sanity import initial_loss_check, overfit_check

SPIRAL = make_spiral(100, 5, np.random.default_rng(0))


def test_initial_loss_is_near_ln_c_with_small_weights():
    config = NetworkConfig(2, 5, (50,), init="small")
    check = initial_loss_check(Network(config, np.random.default_rng(0)), SPIRAL.X, SPIRAL.y)
    assert check.expected == pytest.approx(math.log(5))
    assert check.passed and check.relative_gap < 0.01
    with pytest.raises(FrozenInstanceError):
        check.passed = False


def test_initial_loss_check_fails_for_huge_weights():
    network = Network(NetworkConfig(2, 5, (50,)), np.random.default_rng(0))
    network.params["output.w"] *= 1000
    check = initial_loss_check(network, SPIRAL.X, SPIRAL.y)
    assert not check.passed and check.observed > 2 * check.expected


def test_overfit_tiny_subset_reaches_full_accuracy():
    check = overfit_check(NetworkConfig(2, 5, (100,), reg=1.0, dropout=0.5), SPIRAL.X, SPIRAL.y,
                          np.random.default_rng(0), n_samples=20)
    assert check.n_samples == 20
    assert check.passed and check.train_accuracy == 1.0
    assert check.final_loss < 0.1 * check.first_loss


def test_overfit_check_reports_failure():
    check = overfit_check(NetworkConfig(2, 5, (2,)), SPIRAL.X, SPIRAL.y,
                          np.random.default_rng(0), n_samples=50, epochs=5)
    assert not check.passed and check.train_accuracy < 1.0
