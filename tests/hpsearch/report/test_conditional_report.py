"""A conditional space in the report: inactive parameters are left out, not drawn at 0."""

from __future__ import annotations

import math

import pytest

import hpsearch as hp
from hpsearch.report import write_report
from hpsearch.report.figures import RunData, parallel_figure, parameters_figure
from hpsearch.report.importance import importances

SPACE = {
    "optimizer": hp.Categorical(["sgd", "momentum", "adam"]),
    "lr": hp.Float(1e-4, 1e-1, log=True),
    "mu": hp.Float(0.5, 0.99, when={"optimizer": ["momentum"]}),
    "layers": hp.Int(1, 2),
    "width_2": hp.Int(8, 64, log=True, when={"layers": [2]}),
}


def objective(p):
    value = (math.log10(p["lr"]) + 2) ** 2 + (p.get("mu", 0.9) - 0.9) * 5
    return value + (0.0 if p["optimizer"] == "adam" else 0.5) + 0.01 * p.get("width_2", 0)


@pytest.mark.slow  # trains networks end to end (seconds)
def test_report_of_a_conditional_study(tmp_path):
    study = hp.Study(SPACE, strategy="random", seed=0, storage=tmp_path / "run")
    study.optimize(objective, n_trials=40)
    report = write_report(tmp_path / "run")
    assert (tmp_path / "run" / "report" / "parameters.png").stat().st_size > 0
    html = (tmp_path / "run" / "report" / "report.html").read_text()
    assert 'id="importance"' in html and 'id="parallel"' in html
    loaded = hp.load_study(tmp_path / "run")
    run = RunData(tmp_path / "run", loaded, loaded.trials, loaded.space, "minimize", "value")
    scores = importances(run)
    assert set(scores) == set(SPACE) and abs(sum(scores.values()) - 1) < 1e-9
    figure = parameters_figure(run)
    mu_axis = next(ax for ax in figure.axes if ax.get_xlabel() == "mu")
    drawn = sum(len(line.get_xdata()) for line in mu_axis.get_lines()
                if line.get_label() == "complete trial")
    assert drawn == sum("mu" in t.params for t in run.ranked) < len(run.ranked)
    lines = parallel_figure(run).axes[0].get_lines()
    with_gaps = [line for line in lines if any(math.isnan(y) for y in line.get_ydata())]
    assert with_gaps  # inactive parameters break the line instead of sitting at 0
    assert report is not None
