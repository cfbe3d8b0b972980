"""Paused trials and PBT lineage are shown by every reader: the results table, `hpsearch status`
and `list`, the HTML report and the dashboard's data."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import hpsearch as hp
from hpsearch.cli import app
from hpsearch.dashboard.data import run_snapshot
from hpsearch.report import write_report
from hpsearch.report.runs import counts_text, summarize


def train(trial):
    """Eight epochs; saves a checkpoint when told to stop. Returns the value or None."""
    checkpoint = trial.checkpoint()
    epoch = 0 if checkpoint is None else int(checkpoint["epoch"])
    while epoch < 8:
        epoch += 1
        value = (trial.params["x"] - 0.3) ** 2 + 1 / epoch
        if trial.report(epoch, value):
            trial.save_checkpoint({"epoch": np.array(epoch)})
            return None
    return value


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A stored PBT study left with paused trials and copies (12 ask/tell rounds)."""
    folder = tmp_path_factory.mktemp("paused") / "run"
    pbt = hp.PopulationBasedTraining(interval=2, population=3, max_step=8)
    with hp.Study({"x": hp.Float(0.0, 1.0)}, seed=2, storage=folder, pruner=pbt) as study:
        for _ in range(12):
            trial = study.ask()
            value = train(trial)
            if value is None:
                study.tell(trial, state="pruned")
            else:
                study.tell(trial, value)
        study.write_tables()
        trials = study.trials
    assert any(t.state is hp.TrialState.PAUSED for t in trials)
    assert any(t.parent is not None for t in trials)
    return folder, trials


def test_status_list_and_results_show_paused_trials_and_steps(run):
    folder, trials = run
    paused = sum(t.state is hp.TrialState.PAUSED for t in trials)
    assert f"{paused} paused" in counts_text(summarize(folder).counts)
    runner = CliRunner()
    for args in (["status", folder], ["list", folder.parent]):
        out = runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "160"})
        assert out.exit_code == 0, out.output
        assert f"{paused} paused" in out.output
    out = runner.invoke(app, ["results", str(folder), "--format", "json"])
    assert out.exit_code == 0, out.output
    rows = {row["number"]: row for row in json.loads(out.stdout)}
    for t in trials:
        assert rows[t.number]["state"] == str(t.state)
        assert rows[t.number]["steps"] == t.steps
        assert rows[t.number]["parent"] == t.parent


def test_the_report_has_paused_trials_and_the_lineage(run, tmp_path):
    folder, trials = run
    report = write_report(folder, tmp_path / "report")
    page = (tmp_path / "report" / "report.html").read_text()
    assert "Paused trials" in page and "Lineage" in page
    child = next(t for t in trials if t.parent is not None)
    assert f"{child.number} &lt;- {child.parent}" in page
    assert report is not None


def test_the_dashboard_data_has_paused_curves_and_steps(run):
    folder, trials = run
    snapshot = run_snapshot(folder, "run")
    states = {curve["number"]: curve["state"] for curve in snapshot["curves"]}
    assert "paused" in states.values() or not any(
        t.state is hp.TrialState.PAUSED and t.has_value for t in trials)
    assert "paused" in snapshot["summary"]["counts"]
    assert "steps" in str(snapshot["table"])
