"""Tables: trials as pandas DataFrames, and the CSV/Parquet files of a run folder.

Contract: pandas is imported only here and in `hpsearch.study.columns` (the column types: one
per column whatever happened; UTC timestamps), inside the functions (so `import hpsearch` stays
light). `results_frame(trials, space)` has one row per trial, sorted by number, with columns
number, state (lower-case), value, last_step (the last step the trial reported, e.g. the
epoch a pruned trial reached; empty when it reported none), steps (the steps the objective
trained for the trial over all its runs: a trial paused and promoted pays only its new steps
when it resumed from its checkpoint), parent (the trial a PBT copy started from, else empty),
params_<name> (space order),
metrics_<name> (sorted), seed, duration_s, error, started_at, finished_at (UTC
timestamps), source (empty for the study's own trials; the run folder of a warm-start trial, whose
rows follow the study's own with their original numbers). An inactive parameter of a
conditional space is empty. A categorical parameter whose choices mix types is written as the
repr of each value, so CSV and Parquet read back the same. A multi-objective study (several
`directions`) adds `values_<name>` per objective after `value` (which is empty), named by
`objectives` (a study file's metrics, else 0, 1, ...), and `pareto` (True on the study's own
Pareto front). `best_first(frame, direction)`
orders rows best first: complete trials by value, then pruned by value, then paused, failed,
interrupted and running.
`write_tables(frame, folder)` writes trials.csv and trials.parquet atomically and returns
their paths; `read_table(path)` reads either back.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hpsearch.direction import Direction
from hpsearch.space import Categorical, Space
from hpsearch.study.best import pareto_front
from hpsearch.study.columns import csv_back, parquet_schema, text_back, typed
from hpsearch.trial import FrozenTrial

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["COLUMNS", "results_frame", "best_first", "write_tables", "read_table"]

COLUMNS = ("number", "state", "value", "seed", "duration_s", "error", "started_at",
           "finished_at")
_STATE_RANK = {"complete": 0, "pruned": 1, "paused": 2, "failed": 3, "interrupted": 4,
               "running": 5}


def _mixed(dim: Any) -> bool:
    if not isinstance(dim, Categorical):
        return False
    return len({type(c) for c in dim.choices if c is not None}) > 1


def results_frame(trials: Sequence[FrozenTrial], space: Space,
                  warm: Sequence[tuple[str, FrozenTrial]] = (),
                  objectives: Sequence[str] = ("value",),
                  directions: Sequence[str] = ("minimize",)) -> pd.DataFrame:
    """One row per trial, sorted by number, then the warm-start trials (see the module
    docstring for the columns)."""
    import pandas as pd

    ordered = [(None, t) for t in sorted(trials, key=lambda t: t.number)] + list(warm)
    several = len(directions) > 1
    front = {t.number for t in pareto_front(trials, directions)} if several else set()
    metric_names = sorted({name for _, t in ordered for name in t.metrics})
    rows = []
    for source, t in ordered:
        row: dict[str, Any] = {"number": t.number, "state": str(t.state), "value": t.value,
                               "last_step": max(t.intermediate) if t.intermediate else None,
                               "steps": t.steps, "parent": t.parent}
        if several:
            values = t.values if t.values is not None and len(t.values) == len(directions) \
                else (None,) * len(directions)
            row.update({f"values_{name}": v for name, v in zip(objectives, values,
                                                                strict=True)})
            row["pareto"] = source is None and t.number in front
        for name, dim in space.items():
            value = t.params.get(name)
            row[f"params_{name}"] = repr(value) if _mixed(dim) else value
        for name in metric_names:
            row[f"metrics_{name}"] = t.metrics.get(name)
        row.update(seed=t.seed, duration_s=t.duration_s, error=t.error,
                   started_at=t.started_at, finished_at=t.finished_at, source=source)
        rows.append(row)
    value_columns = [f"values_{n}" for n in objectives] + ["pareto"] if several else []
    columns = (["number", "state", "value", *value_columns, "last_step", "steps", "parent"]
               + [f"params_{n}" for n in space]
               + [f"metrics_{n}" for n in metric_names] + list(COLUMNS[3:]) + ["source"])
    frame = pd.DataFrame(rows, columns=columns)
    for name in ("value", "duration_s", "started_at", "finished_at",
                 *(f"metrics_{n}" for n in metric_names), *value_columns[:-1]):
        frame[name] = frame[name].astype("float64")
    frame["number"] = frame["number"].astype("int64")
    frame["last_step"] = frame["last_step"].astype("Int64")  # nullable: no report, no step
    frame["steps"] = frame["steps"].astype("int64")
    frame["parent"] = frame["parent"].astype("Int64")  # nullable: most trials have none
    frame["seed"] = frame["seed"].astype("int64")
    if several:
        frame["pareto"] = frame["pareto"].astype("bool")
    return typed(frame, space)  # one type per column: hpsearch.study.columns


def best_first(frame: pd.DataFrame, direction: str | Sequence[str] = "minimize"
               ) -> pd.DataFrame:
    """The same rows, best first: complete by value, pruned by value, then the rest. Several
    objectives: the Pareto front first, each group by its first objective."""
    rank = frame["state"].map(_STATE_RANK).fillna(len(_STATE_RANK))
    directions = (direction,) if isinstance(direction, str) else tuple(direction)
    if len(directions) > 1:
        rank = rank - frame["pareto"].astype(float) * 0.5  # front rows ahead of their state
        first = next(c for c in frame.columns if c.startswith("values_"))
        key = Direction.of(directions[0]).sign * frame[first]
    else:
        key = Direction.of(directions[0]).sign * frame["value"]
    order = frame.assign(_rank=rank, _key=key).sort_values(
        ["_rank", "_key", "number"], na_position="last", kind="stable")
    return order.drop(columns=["_rank", "_key"]).reset_index(drop=True)


def write_tables(frame: pd.DataFrame, folder: str) -> tuple[str, str]:
    """Write `<folder>/trials.csv` and `<folder>/trials.parquet`; return both paths."""
    csv_path = os.path.join(folder, "trials.csv")
    parquet_path = os.path.join(folder, "trials.parquet")
    frame.to_csv(csv_path + ".tmp", index=False)
    os.replace(csv_path + ".tmp", csv_path)
    frame.to_parquet(parquet_path + ".tmp", index=False, schema=parquet_schema(frame))
    os.replace(parquet_path + ".tmp", parquet_path)
    return csv_path, parquet_path


def read_table(path: str) -> pd.DataFrame:
    """Read trials.csv or trials.parquet back."""
    import pandas as pd

    frame = pd.read_parquet(path) if path.endswith(".parquet") else csv_back(pd.read_csv(path))
    return text_back(frame)
