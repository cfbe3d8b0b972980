"""The report channel on Dask: the scheduler's queues, no socket of ours, bad messages dropped."""

from __future__ import annotations

import logging

import pytest

import hpsearch as hp
from hpsearch.execution import reports
from hpsearch.execution.dask_reports import DaskReportRelay, request_queue_name
from hpsearch.pruners.service import PruningService
from hpsearch.trial import Trial

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
            distributed.Client(cluster, set_as_default=False) as client:
        yield client


def two_reports(reporter) -> list[bool]:
    handle = Trial(4, seed=0, reporter=reporter)
    return [handle.report(0, 0.5), handle.report(1, 2.0)]


def test_reports_go_through_the_scheduler_and_bad_messages_are_dropped(client):
    service = PruningService(hp.ThresholdPruner(threshold=1.0), "minimize", history=list)
    relay = DaskReportRelay(client, service)
    try:
        requests = distributed.Queue(request_queue_name(relay.token), client=client)
        for bad in ([4, 0, 9.0], {"number": "4", "step": 0, "value": 9.0}, "x" * 10_000,
                    {"number": 4, "step": 0, "value": 9.0, "reply": "elsewhere"}):
            requests.put(bad)
        future = client.submit(two_reports, relay.client, pure=False)
        assert future.result(timeout=120) == [False, True]
        assert service.intermediate(4) == {0: 0.5, 1: 2.0}
    finally:
        relay.close()


def test_a_dask_study_prunes_without_a_socket_of_its_own(client, monkeypatch,
                                                         objective_file):
    def refuse(*args, **kwargs):
        raise AssertionError("the Dask executor opened a ReportServer")

    monkeypatch.setattr(reports.ReportServer, "__init__", refuse)
    study = hp.Study({"x": hp.Float(0.0, 10.0)}, seed=0,
                     pruner=hp.ThresholdPruner(threshold=5.0, min_step=2))
    study.optimize(objective_file("pruned_above_5"), n_trials=6, n_jobs=2, backend="dask",
                   scheduler=client)
    for trial in study.trials:
        assert str(trial.state) == ("pruned" if trial.params["x"] > 5.0 else "complete")
