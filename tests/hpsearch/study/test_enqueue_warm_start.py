"""Enqueued configurations run first; warm-start folders teach the strategy, not the budget."""

from __future__ import annotations

import pytest

import hpsearch as hp
from hpsearch.testing.benchmarks import BENCHMARKS, branin, branin_space

BRANIN_MINIMUM = BENCHMARKS["branin"].minimum

SPACE = {"x": hp.Float(-5, 10), "y": hp.Float(0, 15),
         "kind": hp.Categorical(["a", "b"]),
         "extra": hp.Float(0, 1, when={"kind": ["b"]})}


def test_enqueued_trials_run_first_in_order_and_partial_ones_are_completed():
    study = hp.Study(SPACE, strategy="gp", seed=0)
    study.enqueue({"x": 1.0, "y": 2.0, "kind": "a"})
    study.enqueue({"kind": "b"})  # partial: x, y and extra come from the strategy / the seed
    study.optimize(lambda p: p["x"] ** 2 + p["y"], n_trials=4)
    first, second = study.trials[:2]
    assert first.params == {"x": 1.0, "y": 2.0, "kind": "a"}
    assert second.params["kind"] == "b" and set(second.params) == {"x", "y", "kind", "extra"}
    again = hp.Study(SPACE, strategy="gp", seed=0)
    again.enqueue({"x": 1.0, "y": 2.0, "kind": "a"})
    again.enqueue({"kind": "b"})
    again.optimize(lambda p: p["x"] ** 2 + p["y"], n_trials=4)
    assert [t.params for t in again.trials] == [t.params for t in study.trials]  # seeded


def test_enqueue_refuses_what_the_space_refuses_and_skips_what_exists():
    study = hp.Study(SPACE, seed=0)
    with pytest.raises(hp.SpaceError, match="'z' is not a dimension"):
        study.enqueue({"z": 1})
    with pytest.raises(hp.SpaceError, match="outside"):
        study.enqueue({"x": 99.0})
    with pytest.raises(hp.SpaceError, match="'extra' is inactive"):
        study.enqueue({"kind": "a", "extra": 0.5})
    assert study.enqueue({"x": 0.5, "kind": "a"}) is True
    study.optimize(lambda p: p["x"], n_trials=1)
    assert study.enqueue({"x": 0.5, "kind": "a"}, skip_if_exists=True) is False
    assert study.enqueue({"x": 0.25}, skip_if_exists=True) is True


def test_warm_start_tells_the_strategy_without_counting_or_rerunning(tmp_path):
    old = hp.Study(branin_space(), strategy="random", seed=0, storage=tmp_path / "old")
    old.optimize(branin, n_trials=20)
    old_outside = hp.Study({"x": hp.Float(-5, 10), "y": hp.Float(0, 30)}, seed=1,
                           storage=tmp_path / "wide")
    old_outside.optimize(branin, n_trials=10)
    new = hp.Study(branin_space(), strategy="gp", seed=1, storage=tmp_path / "new",
                   warm_start=[tmp_path / "old", tmp_path / "wide"],
                   strategy_options={"n_startup": 10})
    inside_wide = sum(t.params["y"] <= 15 for t in old_outside.trials)
    assert len(new.warm_start.trials) == 20 + inside_wide
    assert new.warm_start.skipped[str(tmp_path / "wide")] == 10 - inside_wide
    new.optimize(branin, n_trials=3)
    assert len(new.trials) == 3  # not counted in n_trials, not rerun
    # with 20+ told trials the GP models from its first ask instead of a Sobol design
    cold = hp.Study(branin_space(), strategy="gp", seed=1, strategy_options={"n_startup": 10})
    cold.optimize(branin, n_trials=3)
    assert [t.params for t in new.trials] != [t.params for t in cold.trials]
    frame = hp.load_study(tmp_path / "new").results()
    assert len(frame) == 3 + len(new.warm_start.trials)
    assert frame["source"].isna().sum() == 3
    assert set(frame["source"].dropna()) == {str(tmp_path / "old"), str(tmp_path / "wide")}
    best = min(t.value for t in new.trials)
    assert best - BRANIN_MINIMUM < 2.0


def test_warm_start_refuses_another_direction_or_metric(tmp_path):
    hp.Study(branin_space(), seed=0, storage=tmp_path / "old", metric="val_loss").optimize(
        branin, n_trials=2)
    with pytest.raises(hp.StudyMismatchError, match="direction is 'minimize'"):
        hp.Study(branin_space(), direction="maximize", warm_start=[tmp_path / "old"])
    with pytest.raises(hp.StudyMismatchError, match="metric is 'val_loss'"):
        hp.Study(branin_space(), metric="val_accuracy", warm_start=[tmp_path / "old"])
    with pytest.raises(hp.StorageError, match="no study database"):
        hp.Study(branin_space(), warm_start=[tmp_path / "nowhere"])
    assert not (tmp_path / "nowhere").exists()
