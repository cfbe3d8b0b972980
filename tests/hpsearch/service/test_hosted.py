"""One served study without HTTP: atomic asks that see pending trials, idempotent asks and
tells, lease expiry and resumption, the pruner behind `report`."""

from __future__ import annotations

import pytest

from hpsearch.exceptions import LeaseLostError, ServiceError
from hpsearch.service.hosted import HostedStudy
from hpsearch.service.registry import Registry, first_difference
from hpsearch.service.wire import Body, decode_artifacts, encode_artifacts

DOC = {"study": {"name": "h", "strategy": "grid", "n_trials": 4, "metric": "value"},
       "space": {"x": {"type": "categorical", "choices": [1, 2, 3, 4]}},
       "objective": {"kind": "python"}}


@pytest.fixture
def hosted(tmp_path):
    study = HostedStudy.open(tmp_path / "h", DOC, lease_seconds=60)
    yield study
    study.close()


def tell(hosted, trial, value, **extra):
    return hosted.tell(Body({"number": trial["number"], "lease": trial["lease"],
                             "value": value, **extra}))


def test_asks_are_distinct_because_the_strategy_sees_pending_trials(hosted):
    asked = [hosted.ask(1, "w", None)["trials"][0] for _ in range(4)]
    assert sorted(t["params"]["x"] for t in asked) == [1, 2, 3, 4]
    assert hosted.ask(1, "w", None) == {"trials": [], "lease_seconds": 60.0, "done": False}
    for trial in asked:
        tell(hosted, trial, 1.0)
    assert hosted.ask(1, "w", None)["done"] is True


def test_a_repeated_ask_or_tell_changes_nothing(hosted):
    first = hosted.ask(2, "w", "request-1")
    assert hosted.ask(2, "w", "request-1") == first
    assert hosted.status()["leased"] == 2
    trial = first["trials"][0]
    told = tell(hosted, trial, 0.5)
    again = tell(hosted, trial, 0.75)  # the same lease: the record comes back, unchanged
    assert again == {**told, "repeated": True}
    assert hosted.study.n_finished == 1 and hosted.study.trials[trial["number"]].value == 0.5


def test_an_expired_lease_interrupts_the_trial_and_it_comes_back_as_it_was(hosted):
    trial = hosted.ask(1, "w", None)["trials"][0]
    hosted.leases.holders[trial["number"]].expires = 0.0
    assert hosted.expire() == [trial["number"]]
    assert hosted.study.trials[0].state == "interrupted"
    with pytest.raises(LeaseLostError, match="expired"):
        tell(hosted, trial, 1.0)
    with pytest.raises(LeaseLostError):
        hosted.heartbeat(trial["number"], trial["lease"])
    again = hosted.ask(1, "w2", None)["trials"][0]
    assert (again["number"], again["params"], again["seed"]) == (
        trial["number"], trial["params"], trial["seed"])
    assert again["lease"] != trial["lease"]
    tell(hosted, again, 2.0)
    with pytest.raises(LeaseLostError, match="another worker"):
        tell(hosted, trial, 1.0)
    assert [t.value for t in hosted.study.trials] == [2.0]


def test_leases_resume_when_the_study_opens_again(tmp_path):
    first = HostedStudy.open(tmp_path / "h", DOC, lease_seconds=60)
    held = first.ask(2, "w", None)["trials"]
    tell(first, held[0], 1.0)
    lost = first.ask(1, "w", None)["trials"][0]
    first.leases.holders[lost["number"]].expires = 0.0
    first.expire()
    first.close()  # as a stopped service: held[1] is interrupted on disk, its lease recorded
    second = HostedStudy.open(tmp_path / "h", DOC, lease_seconds=60)
    try:
        assert set(second.leases.holders) == {held[1]["number"]}
        assert tell(second, held[1], 3.0)["trial"]["state"] == "complete"
        assert second.ask(1, "w", None)["trials"][0]["number"] == lost["number"]
    finally:
        second.close()


def test_report_asks_the_pruner_and_renews_the_lease(tmp_path):
    doc = {**DOC, "study": {**DOC["study"], "name": "p"},
           "pruner": {"kind": "threshold", "threshold": 10.0}}
    hosted = HostedStudy.open(tmp_path / "p", doc, lease_seconds=60)
    try:
        trial = hosted.ask(1, "w", None)["trials"][0]
        lease = hosted.leases.holders[trial["number"]]
        lease.expires = 1.0
        assert hosted.report(trial["number"], trial["lease"], 1, 5.0)["prune"] is False
        assert lease.expires > 1.0
        assert hosted.report(trial["number"], trial["lease"], 2, 50.0)["prune"] is True
        told = hosted.tell(Body({"number": trial["number"], "lease": trial["lease"],
                                 "state": "pruned"}))
        assert told["trial"]["state"] == "pruned" and told["trial"]["value"] == 50.0
        assert told["trial"]["intermediate"] == {"1": 5.0, "2": 50.0}
    finally:
        hosted.close()


def test_the_registry_keeps_names_inside_storage_and_definitions_apart(tmp_path):
    registry = Registry(tmp_path / "runs", 60)
    try:
        for name in ("..", ".", "a/b", "", "x" * 300, "a\x00b"):
            with pytest.raises(ServiceError):
                registry.folder(name)
        hosted, created = registry.create(DOC)
        assert created and registry.create(DOC) == (hosted, False)
        other = {**DOC, "study": {**DOC["study"], "strategy": "random"}}
        with pytest.raises(ServiceError, match="study.strategy differs"):
            registry.create(other)
    finally:
        registry.close()
    assert first_difference({"a": {"b": 1}}, {"a": {"b": 2}}) == "a.b"


def test_artifacts_travel_as_npy_and_objects_are_refused():
    import numpy as np

    arrays = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "s": np.array(["a", "bc"])}
    back = decode_artifacts(encode_artifacts(arrays))
    assert all(np.array_equal(back[k], arrays[k]) and back[k].dtype == arrays[k].dtype
               for k in arrays)
    import base64
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(ServiceError, match="artifacts.o"):
        decode_artifacts({"o": {"npy": base64.b64encode(buffer.getvalue()).decode()}})
