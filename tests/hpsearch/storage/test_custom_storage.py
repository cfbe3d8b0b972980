"""A storage that hpsearch does not ship, given to a study as an object: the example in
`examples/custom_storage.py` passes the storage contract, a second reader included."""

from __future__ import annotations

import pytest

from hpsearch.testing.storage import StorageContract
from tests.hpsearch.examples import load_example


def _example():
    return load_example("custom_storage.py")


JsonLinesStorage = _example().JsonLinesStorage


class TestJsonLinesStorage(StorageContract):
    @pytest.fixture
    def storage_factory(self, tmp_path):
        def make(meta):
            storage = JsonLinesStorage(tmp_path / "run")
            storage.attach(meta)
            return storage

        return make

    @pytest.fixture
    def reopen(self):
        return lambda storage: JsonLinesStorage(storage.path)


def test_the_example_runs_and_reopens(tmp_path):
    study = _example().main(tmp_path / "run")
    assert len(study.trials) == 20 and (tmp_path / "run" / "trials.parquet").is_file()
    again = _example().main(tmp_path / "run")  # reopened: the 20 trials are there, none added
    assert [t.params for t in again.trials] == [t.params for t in study.trials]
