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


def test_fits_start_from_the_last_fit_and_afresh_one_in_fresh_every(monkeypatch):
    import hpsearch.strategies.gp_trials as gp_trials

    starts = []
    real_fit = gp_trials.fit

    def counting_fit(X, y, initial_thetas, prior):
        starts.append(len(np.atleast_2d(initial_thetas)))
        return real_fit(X, y, initial_thetas, prior)

    monkeypatch.setattr(gp_trials, "fit", counting_fit)
    rng = np.random.default_rng(0)
    rows = list(rng.random((12, 2)))
    values = [float(v) for v in rng.standard_normal(12)]
    models = ModelTrials(256, Prior(), np.random.default_rng(1), 2, "worst", "none")
    for _ in range(2 * gp_trials.FRESH_EVERY):  # every ask refits while n <= EXACT_UP_TO
        models.model(rows, values)
        rows.append(rng.random(2))
        values.append(float(rng.standard_normal()))
    # the first fit: the default and 2 random starts; then the last fit alone, except every
    # FRESH_EVERY-th fit: the last fit, the default and 2 random starts
    fresh = [3] + [1] * (gp_trials.FRESH_EVERY - 2) + [4]
    assert starts == fresh + [1] * (gp_trials.FRESH_EVERY - 1) + [4]
