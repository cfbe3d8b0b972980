"""The storage contract (`hpsearch.testing.storage`) for both backends, and proof that the
suite fails a backend that breaks it."""

from __future__ import annotations

import contextlib
import dataclasses

import numpy as np
import pytest

from hpsearch.exceptions import StorageError
from hpsearch.storage import MemoryStorage, SqliteStorage
from hpsearch.storage.base import check_same_study
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
class DictStorage:
    """A minimal in-process storage for the broken variants below to bend."""

    path = None
    readonly = False

    def __init__(self, meta):
        self.meta = meta
        self.trials = {}
        self.arrays = {}
        self.checkpoints = {}

    def load_trials(self):
        return [self.trials[n] for n in sorted(self.trials)]

    def save_trial(self, trial, artifacts=None, checkpoint=None):
        if checkpoint is not None:
            if any(np.asarray(a).dtype.hasobject for a in checkpoint.arrays.values()):
                raise StorageError("objects refused")
            self.checkpoints[trial.number] = checkpoint.copy()
        self.trials[trial.number] = trial
        if artifacts:
            self.arrays[trial.number] = {k: np.array(v) for k, v in artifacts.items()}

    def load_artifacts(self, number):
        return {k: np.array(v) for k, v in self.arrays.get(number, {}).items()}

    def load_checkpoint(self, number):
        stored = self.checkpoints.get(number)
        return None if stored is None else stored.copy()

    def delete_checkpoint(self, number):
        self.checkpoints.pop(number, None)

    def lock(self):
        return contextlib.nullcontext()

    def data_version(self):
        return 0

    def attach(self, meta):
        check_same_study(self.meta, meta, "a DictStorage")
        return self.meta

    closed = False

    def close(self):
        self.closed = True


class TestDictStorage(StorageContract):
    """The minimal storage passes, so each broken variant fails for its one flaw only."""

    @pytest.fixture
    def storage_factory(self):
        return DictStorage


class SharedArrays(DictStorage):
    """Keeps the caller's arrays themselves and hands them out (no snapshot)."""

    def save_trial(self, trial, artifacts=None, checkpoint=None):
        self.trials[trial.number] = trial
        if artifacts:
            self.arrays[trial.number] = artifacts

    def load_artifacts(self, number):
        return self.arrays.get(number, {})


class SharedCheckpoints(DictStorage):
    """Keeps the caller's checkpoint itself (no snapshot)."""

    def save_trial(self, trial, artifacts=None, checkpoint=None):
        super().save_trial(trial, artifacts)
        if checkpoint is not None:
            self.checkpoints[trial.number] = checkpoint

    def load_checkpoint(self, number):
        return self.checkpoints.get(number)


class ForgetfulCheckpoints(DictStorage):
    """Drops the checkpoint whenever the trial is saved again without one."""

    def save_trial(self, trial, artifacts=None, checkpoint=None):
        super().save_trial(trial, artifacts, checkpoint)
        if checkpoint is None:
            self.checkpoints.pop(trial.number, None)


class Stringly(DictStorage):
    """Keeps params as text (a backend that loses their types)."""

    def save_trial(self, trial, artifacts=None, checkpoint=None):
        params = {k: v if isinstance(v, str) else repr(v) for k, v in trial.params.items()}
        super().save_trial(dataclasses.replace(trial, params=params), artifacts)


class NoStudyCheck(DictStorage):
    """Takes any study (a backend that would mix two studies' trials)."""

    def attach(self, meta):
        return self.meta


class NeverClosed(DictStorage):
    def close(self):
        pass


class CountsOwnWrites(DictStorage):
    """data_version moves with its own saves (the study would reload after every tell)."""

    version = 0

    def save_trial(self, trial, artifacts=None):
        self.version += 1
        super().save_trial(trial, artifacts)

    def data_version(self):
        return self.version


class InsertionOrder(DictStorage):
    def load_trials(self):
        return list(self.trials.values())


class NoReentrantLock(DictStorage):
    held = False

    @contextlib.contextmanager
    def lock(self):
        assert not self.held, "lock already held"
        self.held = True
        try:
            yield
        finally:
            self.held = False


class Float64Only(DictStorage):
    def save_trial(self, trial, artifacts=None, checkpoint=None):
        super().save_trial(trial, {k: np.asarray(v, dtype=float) for k, v in
                                   (artifacts or {}).items() if np.asarray(v).dtype.kind in "fiub"})


@pytest.mark.parametrize(("cls", "test"), [
    (SharedArrays, "test_artifacts_are_a_snapshot"),
    (Stringly, "test_trials_of_every_state_round_trip"),
    (InsertionOrder, "test_trials_load_in_number_order"),
    (NoReentrantLock, "test_lock_is_reentrant_and_free_again_after_an_exception"),
    (Float64Only, "test_artifacts_of_every_dtype_round_trip"),
    (SharedCheckpoints, "test_checkpoints_are_a_snapshot"),
    (ForgetfulCheckpoints, "test_checkpoints_round_trip_per_trial_and_are_replaced"),
    (NoStudyCheck, "test_attach_gives_the_study_and_refuses_another"),
    (NeverClosed, "test_closed_after_close_and_close_is_idempotent"),
    (CountsOwnWrites, "test_own_writes_leave_data_version_alone"),
])
def test_the_suite_fails_a_broken_storage(cls, test):
    storage = cls(study_meta())
    with pytest.raises((AssertionError, pytest.fail.Exception)):
        contract = StorageContract()
        method = getattr(contract, test)
        if "meta" in method.__code__.co_varnames[:method.__code__.co_argcount]:
            method(storage, study_meta())
        else:
            method(storage)


def test_the_suite_fails_a_storage_whose_second_reader_sees_nothing():
    """As a backend that commits only on close (or keeps trials in its own process) would."""
    contract = StorageContract()
    with pytest.raises(AssertionError):
        contract.test_every_save_is_visible_to_a_second_reader_at_once(
            DictStorage(study_meta()), lambda: DictStorage(study_meta()))
    with pytest.raises(AssertionError):
        contract.test_everything_survives_close(
            DictStorage(study_meta()), lambda: DictStorage(study_meta()), study_meta())
