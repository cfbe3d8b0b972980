"""The contract suite every storage backend passes: subclass `StorageContract` in a pytest
module and give it a `storage_factory` fixture.

    from hpsearch.testing.storage import StorageContract

    class TestMyStorage(StorageContract):
        @pytest.fixture
        def storage_factory(self, tmp_path):
            return lambda meta: MyStorage.open(tmp_path / "run", meta)

`storage_factory` returns `make(meta) -> Storage`: a new, empty, writable storage of the study
`meta` (see `hpsearch.storage.base` for the interface). A storage that outlives its process
also overrides `reopen`, returning `reopen(storage) -> Storage`: a second storage object on
the same study (for `SqliteStorage`, `SqliteStorage.open_readonly(storage.path)`); the default,
None, skips the two tests that need it.

The suite checks: a new storage is empty and holds the given `meta`; trials of every state
round-trip with every field (params keep their Python types, intermediate steps stay ints,
floats stay exact); `save_trial` inserts or replaces by number; `load_trials` is in number
order; artifacts of many dtypes and shapes round-trip, are kept per trial and replaced as a
whole, read back as {} when there are none, and are a snapshot (changing an array after saving
it, or after loading it, does not change what is stored); checkpoints round-trip with their
step, per trial, replaced by a newer one, kept by a save without one, gone after
`delete_checkpoint` (no file left in a run folder), refused (StorageError) for object arrays
while the last good one stays, and are snapshots; `lock()` is re-entrant and free again
after an exception; `attach(meta)` gives the study back and refuses another space or direction
(`StudyMismatchError`); the storage's own writes leave `data_version()` alone (the study reloads
only when it changes); `closed` turns True at `close()`, which is idempotent; a `hp.Study` given
the storage object runs ask/tell on it; with `reopen`, another writer changes a reader's
`data_version()`, every save is visible to a second reader at once and everything survives
`close()` (which the suite may call twice: the second call is a no-op).

pytest is only a test dependency (the `test` extra): hpsearch never imports this module.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Iterator, Mapping

import numpy as np

try:
    import pytest
except ImportError as err:  # pragma: no cover - only without the test extra
    raise ImportError("hpsearch.testing.storage needs pytest: "
                      "pip install 'hpsearch[test]'") from err

from hpsearch.exceptions import StorageError, StudyMismatchError
from hpsearch.space import Categorical, Float, Int, Space
from hpsearch.storage.base import Storage, StudyMeta
from hpsearch.storage.checkpoints import Checkpoint
from hpsearch.trial import FrozenTrial, TrialState

__all__ = ["StorageContract", "StorageFactory", "study_meta", "trials_of_every_state",
           "artifacts_of_every_dtype", "assert_same_trials", "assert_same_artifacts"]

StorageFactory = Callable[[StudyMeta], Storage]

PARAMS = {"learning_rate": 0.1 + 0.2, "hidden_size": 64, "activation": "tanh",
          "dropout": None, "batchnorm": True, "width": 2.0}


def study_meta() -> StudyMeta:
    """A study with a seed, options, a metric, a warm start and a space of every kind (as
    `Space.to_dict` gives it)."""
    space = Space({"learning_rate": Float(1e-4, 1.0, log=True), "hidden_size": Int(8, 128),
                   "activation": Categorical(["relu", "tanh", None, 3, True])})
    return StudyMeta(space=space.to_dict(), direction="maximize", strategy="tpe",
                     seed=2**40 + 3, strategy_options={"n_startup_trials": 3},
                     created_at=1_700_000_000.125, metric="val_accuracy",
                     warm_start=("runs/earlier",))


def trials_of_every_state() -> list[FrozenTrial]:
    """One trial per `TrialState` (numbers 0..5), every optional field used somewhere."""
    start = 1_700_000_000.0 + 1 / 3
    return [
        FrozenTrial(0, PARAMS, TrialState.RUNNING, seed=2**32 - 1, started_at=start),
        FrozenTrial(1, {**PARAMS, "hidden_size": 8}, TrialState.COMPLETE, seed=17,
                    value=-0.1 - 0.2, metrics={"val_accuracy": 0.875, "train_loss": 1e-12},
                    intermediate={0: 0.5, 1: 0.75, 10: 0.875}, started_at=start,
                    finished_at=start + 2.5),
        FrozenTrial(2, PARAMS, TrialState.PRUNED, seed=0, value=0.5,
                    intermediate={0: 0.6, 1: 0.5}, started_at=start, finished_at=start + 1),
        FrozenTrial(3, PARAMS, TrialState.FAILED, seed=5, started_at=start,
                    error="Traceback (most recent call last):\nValueError: bäd ünïcode ✗",
                    finished_at=start + 0.25),
        FrozenTrial(4, PARAMS, TrialState.INTERRUPTED, seed=6, intermediate={3: 1.5},
                    started_at=start),
        FrozenTrial(5, PARAMS, TrialState.PAUSED, seed=8, value=0.25, parent=1, steps=9,
                    intermediate={1: 0.5, 3: 0.25}, started_at=start, finished_at=start + 3),
    ]


def artifacts_of_every_dtype() -> dict[str, np.ndarray]:
    """Arrays of many dtypes and shapes (0-d, empty, 3-d, Fortran order, dotted names)."""
    rng = np.random.default_rng(0)
    return {
        "member0.param.hidden1.w": rng.normal(size=(4, 3)),
        "member0.config": np.array(json.dumps({"preprocess": "standardize"})),
        "curve.loss": rng.random(7).astype(np.float32),
        "half": np.array([0.5, -2.0, 65504.0], dtype=np.float16),
        "counts": np.arange(-3, 9, dtype=np.int64),
        "small": np.array([-128, 0, 127], dtype=np.int8),
        "pixels": rng.integers(0, 256, size=(2, 8, 8)).astype(np.uint8),
        "mask": np.array([True, False, True]),
        "complex": np.array([1 + 2j, -0.5j]),
        "scalar": np.array(3.5),
        "empty": np.zeros((0, 3)),
        "fortran": np.asfortranarray(rng.normal(size=(3, 5))),
        "names": np.array(["pixel_0_0", "pixel_0_1"]),
    }


def assert_same_trials(loaded: list[FrozenTrial], expected: list[FrozenTrial]) -> None:
    """Equal trials, with the types equality alone does not see (2 == 2.0 == True)."""
    assert loaded == expected
    for got, want in zip(loaded, expected, strict=True):
        assert isinstance(got.state, TrialState)
        assert {k: type(v) for k, v in got.params.items()} == {
            k: type(v) for k, v in want.params.items()}
        assert all(type(step) is int for step in got.intermediate)
        assert type(got.number) is int and type(got.seed) is int


def assert_same_artifacts(loaded: Mapping[str, np.ndarray],
                          expected: Mapping[str, np.ndarray]) -> None:
    """The same names, and for each an ndarray of the same dtype, shape and values."""
    assert sorted(loaded) == sorted(expected)
    for name, want in expected.items():
        got = loaded[name]
        assert isinstance(got, np.ndarray), name
        assert (got.dtype, got.shape) == (want.dtype, want.shape), name
        np.testing.assert_array_equal(got, want, err_msg=name)


def _files(folder: str | None) -> set[str]:
    """Every file under `folder` (none for a storage without one)."""
    if folder is None:
        return set()
    return {os.path.join(root, name) for root, _, names in os.walk(folder) for name in names}


class StorageContract:
    """The tests; subclass it as `Test<Name>` and define `storage_factory` (module docstring)."""

    @pytest.fixture
    def storage_factory(self) -> StorageFactory:
        raise NotImplementedError(
            f"{type(self).__name__} must define a `storage_factory` fixture returning "
            "make(meta) -> Storage")

    @pytest.fixture
    def reopen(self) -> Callable[[Storage], Storage] | None:
        return None

    @pytest.fixture
    def meta(self) -> StudyMeta:
        return study_meta()

    @pytest.fixture
    def storage(self, storage_factory: StorageFactory, meta: StudyMeta) -> Iterator[Storage]:
        opened = storage_factory(meta)
        yield opened
        opened.close()

    @pytest.fixture
    def reader(self, storage: Storage, reopen) -> Callable[[], Storage]:
        if reopen is None:
            pytest.skip("the storage lives in this process only (no `reopen` fixture)")
        return lambda: reopen(storage)

    # ----- the study and its trials
    def test_new_storage_is_empty_writable_and_holds_the_meta(self, storage, meta):
        assert storage.load_trials() == []
        assert storage.load_artifacts(0) == {}
        assert storage.readonly is False
        assert storage.meta == meta
        assert storage.path is None or isinstance(storage.path, str)

    def test_trials_of_every_state_round_trip(self, storage):
        trials = trials_of_every_state()
        for trial in trials:
            storage.save_trial(trial)
        assert_same_trials(storage.load_trials(), trials)
        assert {t.state for t in storage.load_trials()} == set(TrialState)

    def test_save_inserts_or_replaces_by_number(self, storage):
        running, complete = trials_of_every_state()[:2]
        storage.save_trial(running)
        finished = FrozenTrial(0, running.params, TrialState.COMPLETE, seed=running.seed,
                               value=1.25, started_at=running.started_at, finished_at=2e9)
        storage.save_trial(finished)
        storage.save_trial(complete)
        assert_same_trials(storage.load_trials(), [finished, complete])

    def test_trials_load_in_number_order(self, storage):
        numbers = [3, 0, 10, 2, 1]
        for number in numbers:
            storage.save_trial(FrozenTrial(number, {"x": float(number)}, TrialState.COMPLETE,
                                           seed=number, value=float(number)))
        assert [t.number for t in storage.load_trials()] == sorted(numbers)

    # ----- artifacts
    def test_artifacts_of_every_dtype_round_trip(self, storage):
        arrays = artifacts_of_every_dtype()
        complete = trials_of_every_state()[1]
        storage.save_trial(complete, arrays)
        assert_same_artifacts(storage.load_artifacts(1), arrays)
        assert_same_trials(storage.load_trials(), [complete])

    def test_no_artifacts_read_back_as_an_empty_dict(self, storage):
        trials = trials_of_every_state()
        storage.save_trial(trials[1])
        storage.save_trial(trials[2], None)
        storage.save_trial(trials[3], {})
        for number in (1, 2, 3, 99):
            assert storage.load_artifacts(number) == {}

    def test_artifacts_are_per_trial_and_replaced_as_a_whole(self, storage):
        first, second = trials_of_every_state()[1:3]
        storage.save_trial(FrozenTrial(first.number, first.params, TrialState.RUNNING,
                                       seed=first.seed), {"old": np.ones(2)})
        storage.save_trial(second, {"weights": np.full((2, 2), 2.0)})
        storage.save_trial(first, {"weights": np.zeros(3), "bias": np.ones(1)})
        assert_same_artifacts(storage.load_artifacts(first.number),
                              {"weights": np.zeros(3), "bias": np.ones(1)})
        assert_same_artifacts(storage.load_artifacts(second.number),
                              {"weights": np.full((2, 2), 2.0)})

    def test_artifacts_are_a_snapshot(self, storage):
        arrays = {"weights": np.ones((2, 3))}
        storage.save_trial(trials_of_every_state()[1], arrays)
        arrays["weights"][:] = 7.0  # the objective reuses its buffer
        arrays["late"] = np.zeros(1)
        loaded = storage.load_artifacts(1)
        assert_same_artifacts(loaded, {"weights": np.ones((2, 3))})
        loaded["weights"][:] = 9.0  # a reader changes its copy
        assert_same_artifacts(storage.load_artifacts(1), {"weights": np.ones((2, 3))})

    # ----- the lock
    def test_lock_is_reentrant_and_free_again_after_an_exception(self, storage):
        trials = trials_of_every_state()
        with storage.lock():
            with storage.lock():
                storage.save_trial(trials[1])
            storage.save_trial(trials[2])
        with pytest.raises(RuntimeError, match="inside the lock"):
            with storage.lock():
                raise RuntimeError("inside the lock")
        with storage.lock():
            storage.save_trial(trials[3])
        assert [t.number for t in storage.load_trials()] == [1, 2, 3]

    # ----- checkpoints (see hpsearch.storage.checkpoints)
    def test_checkpoints_round_trip_per_trial_and_are_replaced(self, storage):
        paused = trials_of_every_state()[5]
        assert storage.load_checkpoint(5) is None
        arrays = artifacts_of_every_dtype()
        storage.save_trial(paused, checkpoint=Checkpoint(arrays, 3))
        storage.save_trial(FrozenTrial(6, PARAMS, TrialState.PAUSED, seed=1),
                           checkpoint=Checkpoint({"w": np.ones(2)}, 1))
        got = storage.load_checkpoint(5)
        assert got.step == 3 and type(got.step) is int
        assert_same_artifacts(got.arrays, arrays)
        storage.save_trial(paused, checkpoint=Checkpoint({"w": np.zeros(3)}, 4))
        replaced = storage.load_checkpoint(5)
        assert replaced.step == 4
        assert_same_artifacts(replaced.arrays, {"w": np.zeros(3)})
        storage.save_trial(dataclasses.replace(paused, state=TrialState.RUNNING))
        kept = storage.load_checkpoint(5)  # a save without one keeps it
        assert kept is not None and kept.step == 4
        assert_same_artifacts(storage.load_checkpoint(6).arrays, {"w": np.ones(2)})

    def test_deleted_checkpoints_are_gone(self, storage):
        paused = trials_of_every_state()[5]
        storage.save_trial(paused)
        files = _files(storage.path)
        storage.save_trial(paused, checkpoint=Checkpoint({"w": np.ones(2)}, 3))
        storage.delete_checkpoint(5)
        storage.delete_checkpoint(5)  # again: nothing to do
        storage.delete_checkpoint(99)  # no such trial
        assert storage.load_checkpoint(5) is None
        assert _files(storage.path) == files  # no file left behind (disk stays bounded)

    def test_checkpoints_refuse_object_arrays_and_keep_the_last_good_one(self, storage):
        paused = trials_of_every_state()[5]
        storage.save_trial(paused, checkpoint=Checkpoint({"w": np.ones(2)}, 3))
        bad = Checkpoint({"objects": np.array([{"a": 1}, None], dtype=object)}, 4)
        with pytest.raises(StorageError, match="objects"):
            storage.save_trial(paused, checkpoint=bad)
        assert storage.load_checkpoint(5).step == 3

    def test_checkpoints_are_a_snapshot(self, storage):
        arrays = {"w": np.arange(4.0)}
        storage.save_trial(trials_of_every_state()[5], checkpoint=Checkpoint(arrays, 2))
        arrays["w"][:] = -1
        loaded = storage.load_checkpoint(5)
        loaded.arrays["w"][:] = -2
        np.testing.assert_array_equal(storage.load_checkpoint(5).arrays["w"], np.arange(4.0))

    # ----- what a Study relies on besides the trials
    def test_attach_gives_the_study_and_refuses_another(self, storage, meta):
        assert storage.attach(meta) == meta
        other = dataclasses.replace(meta, direction="minimize")
        with pytest.raises(StudyMismatchError, match="direction"):
            storage.attach(other)
        with pytest.raises(StudyMismatchError, match="space"):
            storage.attach(dataclasses.replace(meta, space={"x": {"type": "float", "low": 0.0,
                                                                  "high": 1.0}}))

    def test_own_writes_leave_data_version_alone(self, storage):
        """The study reloads when data_version changes: its own saves must not cause that."""
        version = storage.data_version()
        assert isinstance(version, int)
        for trial in trials_of_every_state():
            storage.save_trial(trial)
        assert storage.data_version() == version

    def test_closed_after_close_and_close_is_idempotent(self, storage):
        assert storage.closed is False
        storage.close()
        assert storage.closed is True
        storage.close()
        assert storage.closed is True

    def test_a_study_runs_on_it(self, storage, meta):
        """hp.Study(storage=<this object>): ask/tell, results and best trial through it."""
        from hpsearch.space import Space
        from hpsearch.study.study import Study

        space = Space.from_dict(meta.space)
        study = Study(space, direction=meta.direction, strategy=meta.strategy, seed=meta.seed,
                      storage=storage, metric=meta.metric,
                      strategy_options=meta.strategy_options)
        for _ in range(4):
            trial = study.ask()
            study.tell(trial, float(trial.params["hidden_size"]))
        assert [t.number for t in storage.load_trials()] == [0, 1, 2, 3]
        assert all(t.state is TrialState.COMPLETE for t in storage.load_trials())
        assert study.best_value == max(t.value for t in storage.load_trials())

    def test_another_writer_changes_data_version(self, storage, reader):
        second = reader()
        try:
            version = second.data_version()
            storage.save_trial(trials_of_every_state()[1])
            assert second.data_version() != version
        finally:
            second.close()

    # ----- a second reader (storages that outlive their process)
    def test_every_save_is_visible_to_a_second_reader_at_once(self, storage, reader):
        trials = trials_of_every_state()
        arrays = artifacts_of_every_dtype()
        for trial in trials:
            storage.save_trial(trial, arrays if trial.number == 1 else None)
        second = reader()
        try:
            assert second.meta == storage.meta
            assert_same_trials(second.load_trials(), trials)
            assert_same_artifacts(second.load_artifacts(1), arrays)
            storage.save_trial(FrozenTrial(7, PARAMS, TrialState.COMPLETE, seed=7, value=1.0))
            assert [t.number for t in second.load_trials()] == [0, 1, 2, 3, 4, 5, 7]
        finally:
            second.close()

    def test_everything_survives_close(self, storage, reader, meta):
        trials = trials_of_every_state()
        for trial in trials:
            storage.save_trial(trial, {"weights": np.arange(trial.number + 1.0)})
        storage.close()
        second = reader()
        try:
            assert second.meta == meta
            assert_same_trials(second.load_trials(), trials)
            for trial in trials:
                assert_same_artifacts(second.load_artifacts(trial.number),
                                      {"weights": np.arange(trial.number + 1.0)})
        finally:
            second.close()

    def test_checkpoints_survive_close(self, storage, reader):
        storage.save_trial(trials_of_every_state()[5],
                           checkpoint=Checkpoint({"w": np.arange(3.0)}, 3))
        storage.close()
        second = reader()
        try:
            assert second.load_checkpoint(5).step == 3
            assert_same_artifacts(second.load_checkpoint(5).arrays, {"w": np.arange(3.0)})
        finally:
            second.close()
