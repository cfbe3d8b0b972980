"""The gp strategy's bounded model (hpsearch.strategies.gp_trials): the cap, which trials."""

from __future__ import annotations

import numpy as np

from hpsearch.gp.model import Prior
from hpsearch.strategies.gp_trials import ModelTrials, space_filling


def test_space_filling_takes_the_farthest_points_first():
    Z = np.array([[0.5, 0.5], [0.0, 0.0], [1.0, 1.0], [0.52, 0.5], [0.0, 1.0]])
    picked = space_filling(Z, np.array([0]), np.arange(1, 5), 3)
    assert set(picked.tolist()) == {1, 2, 4}  # the corners, never the near twin 3


def test_the_model_is_capped_and_keeps_the_best_half():
    rng = np.random.default_rng(0)
    rows = list(rng.random((400, 3)))
    values = [float(((r - 0.3) ** 2).sum()) for r in rows]
    models = ModelTrials(64, Prior(), np.random.default_rng(1), 0, "worst", "none")
    gp, best = models.model(rows, values)
    assert len(gp.X) == 64
    best_half = np.argsort(values)[:32]
    assert set(best_half.tolist()) <= set(models.index.tolist())
    assert best == gp.y.min()
    for extra in range(10):  # told between fits: added to the model, not refitted
        rows.append(rng.random(3))
        values.append(1.0 + extra)
        gp, _ = models.model(rows, values)
    assert len(gp.X) == 74 and models.n_at_fit == 400


def test_up_to_the_cap_every_trial_is_in_the_model():
    rng = np.random.default_rng(0)
    rows = list(rng.random((50, 2)))
    values = [float(v) for v in rng.standard_normal(50)]
    values[3] = float("nan")  # failed: the worst value with failed="worst", left out by "skip"
    assert len(ModelTrials(256, Prior(), rng, 0, "worst", "none").model(rows, values)[0].X) == 50
    assert len(ModelTrials(256, Prior(), rng, 0, "skip", "none").model(rows, values)[0].X) == 49
