"""The pruner interface and the socket report channel, without a study."""

from __future__ import annotations

import pickle

import hpsearch as hp
from hpsearch.execution.reports import ReportServer
from hpsearch.pruners.service import PruningService
from hpsearch.trial import TrialHandle


def test_threshold_pruner_follows_the_direction():
    pruner = hp.ThresholdPruner(threshold=1.0, min_step=2)
    assert not pruner.prune(1, 5.0, {}, [], "minimize")
    assert pruner.prune(2, 5.0, {}, [], "minimize")
    assert not pruner.prune(2, 0.5, {}, [], "minimize")
    assert pruner.prune(3, 0.5, {}, [], "maximize")


def test_socket_channel_carries_reports_and_decisions():
    service = PruningService(hp.ThresholdPruner(threshold=1.0), "minimize", history=list)
    server = ReportServer(service)
    try:
        client = pickle.loads(pickle.dumps(server.client))  # as a worker receives it
        handle = TrialHandle(number=7, seed=1, reporter=client)
        assert handle.report(0, 0.5) is False and not handle.should_prune()
        assert handle.report(1, 2.0) is True and handle.should_prune()
        assert service.intermediate(7) == {0: 0.5, 1: 2.0}
        assert handle.intermediate == {0: 0.5, 1: 2.0}
    finally:
        server.close()


def test_report_without_a_channel_records_locally():
    handle = TrialHandle(number=0, seed=3)
    assert handle.report(0, 10.0) is False
    assert handle.intermediate == {0: 10.0}
