"""Pareto dominance and the exact hypervolume: hand-computed cases and Optuna's own."""

from __future__ import annotations

import numpy as np
import pytest
from optuna._hypervolume import compute_hypervolume

import hpsearch as hp
from hpsearch.direction import check_directions
from hpsearch.pareto import pareto_mask


def test_pareto_mask_by_hand():
    points = np.array([[1, 5], [2, 2], [3, 1], [3, 3], [2, 2], [5, 0.5], [6, 6]])
    assert pareto_mask(points).tolist() == [True, True, True, False, True, True, False]


@pytest.mark.parametrize("points, reference, expected", [
    ([[1, 2], [2, 1]], [3, 3], 3.0),  # (3-1)(3-2) + (3-2)(2-1)
    ([[1, 1]], [2, 3], 2.0),
    ([[1, 1], [0.5, 4]], [2, 3], 2.0),  # the second point does not dominate the reference
    ([[1, 1, 1]], [2, 2, 2], 1.0),
    # boxes of 2 each, pairwise overlaps 1, triple overlap 1: 6 - 3 + 1
    ([[0, 1, 1], [1, 0, 1], [1, 1, 0]], [2, 2, 2], 4.0),
    ([], [1, 1], 0.0),
])
def test_hypervolume_by_hand(points, reference, expected):
    assert hp.hypervolume(np.array(points, dtype=float).reshape(-1, len(reference)),
                          reference) == pytest.approx(expected)


@pytest.mark.parametrize("k", [2, 3, 4])
def test_hypervolume_agrees_with_optuna(k):
    rng = np.random.default_rng(k)
    for n in (1, 7, 40):
        points = rng.random((n, k))
        reference = np.full(k, 1.2)
        assert hp.hypervolume(points, reference) == pytest.approx(
            compute_hypervolume(points, reference), rel=1e-12)


def test_hypervolume_reads_maximised_objectives():
    # accuracy (max) against size (min): reference worse than both
    points = [[0.9, 100.0], [0.8, 10.0]]
    reference = [0.0, 1000.0]
    assert hp.hypervolume(points, reference, directions=["maximize", "minimize"]) == \
        pytest.approx(hp.hypervolume([[-0.9, 100.0], [-0.8, 10.0]], [0.0, 1000.0]))


def test_directions_are_checked():
    assert check_directions(["minimize", "maximize"]) == ("minimize", "maximize")
    with pytest.raises(hp.StudyError, match="'up'"):
        check_directions(["minimize", "up"])
