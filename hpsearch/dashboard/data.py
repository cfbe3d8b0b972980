"""The dashboard's JSON snapshots of a storage folder and of one run (read-only).

Contract:
- `run_names(storage) -> {name: Path}`: the run folders `find_runs` finds, by their path
  relative to `storage` ("." for the storage folder itself when it is a run folder).
- `runs_snapshot(storage) -> dict`: {"storage", "runs": [summary records]}.
- `run_snapshot(path, name) -> dict`: {"name", "summary", "table": {"headers", "rows",
  "hidden"}, "curves": [{"number", "state", "running", "reports": [[step, value], ...]}],
  "version"}: the trials table best first (at most `MAX_ROWS` rows, the columns
  `hpsearch results` shows), the curves of the running trials and of the `TOP_CURVES` best
  finished trials, and a version that changes whenever any of it does.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from hpsearch.direction import Direction

__all__ = ["run_names", "runs_snapshot", "run_snapshot", "MAX_ROWS", "TOP_CURVES"]

MAX_ROWS = 50
TOP_CURVES = 5


def run_names(storage: Path) -> dict[str, Path]:
    from hpsearch.report.runs import find_runs

    return {("." if path == storage else path.relative_to(storage).as_posix()): path
            for path in find_runs(storage)}


def runs_snapshot(storage: Path) -> dict[str, Any]:
    from hpsearch.report.display import records_of
    from hpsearch.report.runs import as_record, summarize

    runs = [as_record(summarize(path, name)) for name, path in run_names(storage).items()]
    return records_of({"storage": str(storage), "runs": runs})


def _table(study: Any) -> dict[str, Any]:
    from hpsearch.report import display

    frame = study.results(best_first=True)
    metric = study.metric if isinstance(study.metric, str) else None
    choice = display.choose(frame, metric)
    shown = frame.head(MAX_ROWS)
    rows = [[display.cell(n, v) for n, v in zip(choice.names, row, strict=True)]
            for row in shown[choice.names].itertuples(index=False, name=None)]
    return {"headers": [display.label(n, metric) for n in choice.names], "rows": rows,
            "hidden": {display.label(n, metric): why for n, why in choice.hidden.items()},
            "total": len(frame)}


def _curves(trials: list, summary: Any) -> list[dict[str, Any]]:
    from hpsearch.trial import TrialState

    running = {t.number: t for t in summary.running}
    done = [t for t in trials if t.state is not TrialState.RUNNING and t.intermediate
            and t.has_value]
    sign = Direction.of(summary.direction).sign
    best = sorted(done, key=lambda t: (sign * t.value, t.number))[:TOP_CURVES]
    curves = [{"number": t.number, "state": "running", "running": True,
               "reports": sorted(t.reports.items())} for t in running.values()]
    curves += [{"number": t.number, "state": str(t.state), "running": False,
                "reports": sorted(t.intermediate.items())} for t in best]
    return curves


def run_snapshot(path: Path, name: str) -> dict[str, Any]:
    """One run now (see the module docstring)."""
    from hpsearch.report.display import records_of
    from hpsearch.report.runs import as_record, summarize
    from hpsearch.study.study import load_study

    summary = summarize(path, name)
    body: dict[str, Any] = {"name": name, "summary": as_record(summary)}
    if summary.error is None:
        study = load_study(path)
        trials = study.trials
        body["table"] = _table(study)
        body["curves"] = _curves(trials, summary)
    body = records_of(body)
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode())
    body["version"] = digest.hexdigest()[:16]
    return body


def report_key(path: Path) -> tuple:
    """What the report's figures depend on: the finished and paused trials and the exported
    ensembles."""
    from hpsearch.study.study import load_study
    from hpsearch.trial import TrialState

    trials = load_study(path).trials
    finished = tuple((t.number, str(t.state)) for t in trials
                     if t.state.is_finished or t.state is TrialState.PAUSED)
    ensembles = path / "ensembles"
    stamp = os.stat(ensembles).st_mtime_ns if ensembles.is_dir() else 0
    return finished, stamp
