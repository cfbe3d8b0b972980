"""The storage contract (`hpsearch.testing.storage`) for both backends, and proof that the
suite fails a backend that breaks it."""

from __future__ import annotations

import numpy as np
import pytest

from hpsearch.storage import MemoryStorage, SqliteStorage
from hpsearch.testing.storage import StorageContract, study_meta


class TestMemoryStorage(StorageContract):
    @pytest.fixture
    def storage_factory(self):
        return MemoryStorage


class TestSqliteStorage(StorageContract):
    @pytest.fixture
    def storage_factory(self, tmp_path):
        return lambda meta: SqliteStorage.open(tmp_path / "run", meta)

    @pytest.fixture
    def reopen(self):
        return lambda storage: SqliteStorage.open_readonly(storage.path)


# ----------------------------------------------------------------------------- the suite fails
class SharedArrays(MemoryStorage):
    """Keeps the caller's arrays themselves (no snapshot)."""

    def save_trial(self, trial, artifacts=None):
        self._trials[trial.number] = trial
        if artifacts:
            self._artifacts[trial.number] = artifacts

    def load_artifacts(self, number):
        return self._artifacts.get(number, {})


class Stringly(MemoryStorage):
    """Round-trips params through str (a backend that loses types)."""

    def save_trial(self, trial, artifacts=None):
        import dataclasses

        params = {k: v if isinstance(v, str) else repr(v) for k, v in trial.params.items()}
        super().save_trial(dataclasses.replace(trial, params=params), artifacts)


class InsertionOrder(MemoryStorage):
    def load_trials(self):
        return list(self._trials.values())


class NoReentrantLock(MemoryStorage):
    def __init__(self, meta):
        super().__init__(meta)
        self.held = False

    def lock(self):
        import contextlib

        @contextlib.contextmanager
        def held():
            assert not self.held, "lock already held"
            self.held = True
            try:
                yield
            finally:
                self.held = False

        return held()


@pytest.mark.parametrize(("cls", "test"), [
    (SharedArrays, "test_artifacts_are_a_snapshot"),
    (Stringly, "test_trials_of_every_state_round_trip"),
    (InsertionOrder, "test_trials_load_in_number_order"),
    (NoReentrantLock, "test_lock_is_reentrant_and_free_again_after_an_exception"),
])
def test_the_suite_fails_a_broken_storage(cls, test):
    storage = cls(study_meta())
    with pytest.raises(AssertionError):
        getattr(StorageContract(), test)(storage)


def test_the_suite_fails_a_storage_that_drops_a_dtype():
    class Float64Only(MemoryStorage):
        def save_trial(self, trial, artifacts=None):
            super().save_trial(trial, {k: np.asarray(v, dtype=float) for k, v in
                                       (artifacts or {}).items() if np.asarray(v).dtype.kind
                                       in "fiub"})

    with pytest.raises(AssertionError):
        StorageContract().test_artifacts_of_every_dtype_round_trip(Float64Only(study_meta()))


def test_the_suite_fails_a_storage_whose_second_reader_sees_nothing():
    """As a backend that commits only on close (or keeps trials in its own process) would."""
    contract = StorageContract()
    with pytest.raises(AssertionError):
        contract.test_every_save_is_visible_to_a_second_reader_at_once(
            MemoryStorage(study_meta()), lambda: MemoryStorage(study_meta()))
    with pytest.raises(AssertionError):
        contract.test_everything_survives_close(
            MemoryStorage(study_meta()), lambda: MemoryStorage(study_meta()), study_meta())
