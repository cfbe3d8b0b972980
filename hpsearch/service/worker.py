"""`hpsearch worker`: pull trials from a served study and run them here.

Contract: `worker_objective(study, objective=None, workdir)` is what this worker runs: the
`objective` given ("file.py:function" or "module:function", imported here), or else the
objective the study's document names: the built-in network (`kind = "mlp"`: its data set is
loaded here and split from the study seed into `<workdir>/<name>/data.npz`, so every worker
trains on the same split) or a Python `entry` (relative to the current folder). A study
whose metric is not `value` reads its value from the metrics the objective returns, as
`hpsearch run` does. A study that names no objective needs `objective` (ServiceError).
`run_worker(client, name, objective, n_trials, workdir)` runs trials until the study is done
or `n_trials` ran here, and returns how many ran.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hpsearch.exceptions import ServiceError
from hpsearch.execution.objective import load_objective
from hpsearch.service.client import Client
from hpsearch.service.remote import RemoteStudy
from hpsearch.studyfile import objectives
from hpsearch.studyfile.reader import study_spec

__all__ = ["run_worker", "worker_objective"]


def worker_objective(study: RemoteStudy, objective: str | None,
                     workdir: str | Path) -> Callable | str:
    """See the module docstring."""
    spec = study_spec(study.document, Path.cwd() / f"served study {study.name}", served=True)
    spec = dataclasses.replace(spec, storage=Path(workdir).resolve())
    if objective is not None:
        load_objective(objective)  # fail here, before any trial is leased
        return objective if spec.metric == "value" else objectives.MetricObjective(
            objective, spec.metric)
    if spec.objective.kind == "python" and not spec.objective.entry:
        raise ServiceError(f"study {study.name!r} names no objective: give --objective "
                           "FILE.py:function", 0, "--objective")
    data: Any = objectives.check(spec, fresh=True)
    spec.run_dir.mkdir(parents=True, exist_ok=True)
    return objectives.build(spec, spec.run_dir, data)


def run_worker(client: Client, name: str, objective: str | None = None,
               n_trials: int | None = None, workdir: str | Path = ".hpsearch-worker") -> int:
    """See the module docstring."""
    study = client.study(name)
    return study.work(worker_objective(study, objective, workdir), n_trials=n_trials)
