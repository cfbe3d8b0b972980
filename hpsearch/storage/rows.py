"""A trial as a row of the SQLite trials table and back (see `hpsearch.storage.sqlite` for the
schema): JSON in the text columns, never pickle.

Contract: `trial_row(trial, artifacts)` gives the values of `sqlite`'s `_COLUMNS` for an
upsert; `row_trial(row, db_path)` decodes a row read by name. A row whose stored data does not
decode (bad JSON, a column of the wrong JSON type, an unknown state, a NULL number) raises
`StorageError` naming the database and the trial, the decoding error as its cause (the
database is damaged); an error in this code itself propagates as it is. `dumps` is the JSON
every text column is written with (a value JSON cannot hold is written as its repr).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from hpsearch.exceptions import StorageError
from hpsearch.trial import FrozenTrial, TrialState

__all__ = ["dumps", "row_trial", "trial_row"]


def dumps(value: Any) -> str:
    """`value` as JSON text (what JSON cannot hold, as its repr)."""
    return json.dumps(value, default=repr)


def trial_row(trial: FrozenTrial, artifacts: list[str] | None) -> tuple:
    """The trial's values for the trials table, in `sqlite`'s column order (`artifacts`: the
    stored names, or None)."""
    values = None if trial.values is None or len(trial.values) < 2 else dumps(
        list(trial.values))
    return (trial.number, str(trial.state), dumps(dict(trial.params)), trial.value,
            dumps(dict(trial.metrics)),
            dumps({str(k): v for k, v in trial.intermediate.items()}), int(trial.seed),
            trial.error, trial.started_at, trial.finished_at,
            None if artifacts is None else dumps(artifacts), values, trial.parent,
            int(trial.steps))


def _decoded(row: sqlite3.Row, column: str, kind: type) -> Any:
    """A JSON column of a trials row; ValueError when it does not hold a `kind`."""
    value = json.loads(row[column])
    if not isinstance(value, kind):
        raise ValueError(f"{column} holds {type(value).__name__}, not {kind.__name__}")
    return value


def row_trial(row: sqlite3.Row, db_path: str) -> FrozenTrial:
    """One trials row as a FrozenTrial. Stored data that does not decode raises StorageError
    naming the trial (the database is damaged); an error of this code is not reported so."""
    try:
        number, state, seed = int(row["number"]), TrialState(row["state"]), int(row["seed"])
        params, metrics = _decoded(row, "params", dict), _decoded(row, "metrics", dict)
        intermediate = {int(k): v for k, v in _decoded(row, "intermediate", dict).items()}
        values = None if row["values"] is None else tuple(_decoded(row, "values", list))
        parent = None if row["parent"] is None else int(row["parent"])
        steps = int(row["steps"] or 0)
    except (ValueError, TypeError) as err:  # bad JSON, an unknown state, a NULL number
        raise StorageError(f"{db_path}: trial {row['number']!r} cannot be read ({err}); the "
                           "database is damaged") from err
    return FrozenTrial(number=number, params=params, state=state, seed=seed,
                       value=row["value"], metrics=metrics, intermediate=intermediate,
                       error=row["error"], started_at=row["started_at"],
                       finished_at=row["finished_at"], values=values, parent=parent,
                       steps=steps)
