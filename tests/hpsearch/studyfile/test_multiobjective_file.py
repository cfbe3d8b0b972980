"""A study file with two metrics: runs end to end, resumes, reports, exports to Optuna, and
builds an ensemble from its Pareto front."""

from __future__ import annotations

import optuna
import pytest
from typer.testing import CliRunner

import hpsearch as hp
from hpsearch.cli import app

STUDY = """
[study]
name = "mo"
strategy = "{strategy}"
n_trials = {n_trials}
seed = 0
metric = ["val_accuracy", "n_params"]
direction = ["maximize", "minimize"]
storage = "{storage}"

[objective]
dataset = "spiral"

[objective.fixed]
epochs = 3
batch_size = 32

[space]
learning_rate = {{ type = "float", low = 1e-3, high = 1e-1, log = true }}
hidden_size = {{ type = "int", low = 2, high = 32, log = true }}
"""


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("strategy", ["gp", "nsga2"])
def test_two_metric_study_file_end_to_end(tmp_path, strategy):
    path = tmp_path / "mo.toml"
    path.write_text(STUDY.format(strategy=strategy, n_trials=4, storage=tmp_path / "runs"))
    result = invoke("run", path)
    assert result.exit_code == 0, result.output
    assert "Pareto front (val_accuracy, n_params)" in result.stdout
    path.write_text(STUDY.format(strategy=strategy, n_trials=6, storage=tmp_path / "runs"))
    assert invoke("run", path).exit_code == 0  # resumes to 6
    run_dir = tmp_path / "runs" / "mo"
    study = hp.load_study(run_dir)
    assert len(study.trials) == 6 and study.directions == ("maximize", "minimize")
    for trial in study.trials:
        assert trial.values == (trial.metrics["val_accuracy"], trial.metrics["n_params"])
        assert trial.metrics["predict_ms"] > 0 and trial.metrics["train_s"] > 0
    frame = study.results()
    assert frame["pareto"].sum() == len(study.pareto_front()) >= 1
    url = f"sqlite:///{tmp_path / 'optuna.db'}"
    assert invoke("export-optuna", run_dir, url).exit_code == 0
    exported = optuna.load_study(study_name="mo", storage=url)
    assert [d.name for d in exported.directions] == ["MAXIMIZE", "MINIMIZE"]
    assert exported.metric_names == ["val_accuracy", "n_params"]
    assert sorted(t.number for t in exported.best_trials) == sorted(
        t.number for t in study.pareto_front())
    result = invoke("ensemble", run_dir, "--from-front", "--top-k", "2")
    assert result.exit_code == 0, result.output
    assert "parameters" in result.stdout and "ms per 1,000 predictions" in result.stdout
    result = invoke("report", run_dir)
    assert result.exit_code == 0, result.output
    assert (run_dir / "report" / "pareto_front.png").exists()
    assert (run_dir / "report" / "hypervolume.png").exists()


def test_bad_metric_and_direction_lists(tmp_path):
    path = tmp_path / "mo.toml"
    text = STUDY.format(strategy="gp", n_trials=2, storage=tmp_path / "runs")
    path.write_text(text.replace('direction = ["maximize", "minimize"]',
                                 'direction = ["maximize"]'))
    result = invoke("run", path)
    assert result.exit_code == 2 and "[study].direction" in result.stderr
    path.write_text(text + '\n[pruner]\nkind = "median"\n')
    result = invoke("run", path)
    assert result.exit_code == 2 and "takes no pruner" in result.stderr
    path.write_text(text.replace('strategy = "gp"', 'strategy = "skopt"'))
    result = invoke("run", path)
    assert result.exit_code == 2 and "one objective" in result.stderr
