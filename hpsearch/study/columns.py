"""The trials table's column types: one schema for a run, whatever happened in it.

Contract (pandas and pyarrow are imported inside the functions):
- `typed(frame, space)`: the same frame with every column typed by what it holds, never by
  which values happened to occur: number, seed and steps int64; value, duration_s, metrics_*
  and values_* float64; last_step and parent Int64 (nullable); params_<name> by its dimension
  (Float float64, Int Int64, a Categorical of bools boolean, of ints Int64, of numbers float64, of
  strings or of mixed types (written as reprs) object holding str or None); state, error,
  source object (str or None); started_at and finished_at UTC timestamps
  (datetime64[us, UTC]). An inactive parameter, a failed trial's value or an empty text cell
  is missing (None, NaN or NA by the column's type), and the column keeps its type.
- `parquet_schema(frame)`: the Arrow schema trials.parquet is written with: text columns are
  `string` even when every cell is empty, so the Parquet files of many runs scan as one table.
- `csv_back(frame)`: a frame read from trials.csv with its timestamps parsed back (the CSV
  holds them as ISO 8601 text, `2025-01-31 12:00:00.123456+00:00`).
- `json_records(frame) -> list[dict]`: plain Python values for `json.dumps`: floats as they
  are (Python writes the shortest repr that reads back to the same double: lossless), missing
  and non-finite numbers as None, timestamps as ISO 8601 text with their +00:00 offset.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from hpsearch.dimensions import Categorical, Float, Int
from hpsearch.space import Space

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = ["TIMESTAMPS", "TEXT", "typed", "parquet_schema", "csv_back", "text_back",
           "json_records"]

TIMESTAMPS = ("started_at", "finished_at")
TEXT = ("state", "error", "source")
_TIMESTAMP_DTYPE = "datetime64[us, UTC]"


def _param_dtype(dim: Any) -> str:
    """The pandas dtype of a parameter column (see the module docstring)."""
    if isinstance(dim, Float):
        return "float64"
    if isinstance(dim, Int):
        return "Int64"
    if isinstance(dim, Categorical):
        kinds = {type(c) for c in dim.choices if c is not None}
        if kinds == {bool}:
            return "boolean"
        if kinds == {int}:
            return "Int64"
        if kinds == {float}:
            return "float64"
    return "object"


def _timestamps(column: pd.Series) -> pd.Series:
    import pandas as pd

    if isinstance(column.dtype, pd.DatetimeTZDtype):
        return column.astype(_TIMESTAMP_DTYPE)
    seconds = pd.to_numeric(column, errors="coerce").astype("float64")
    return pd.to_datetime(seconds, unit="s", utc=True).astype(_TIMESTAMP_DTYPE)


def _text(column: pd.Series) -> pd.Series:
    return column.astype(object).where(column.notna(), None)


def typed(frame: pd.DataFrame, space: Space) -> pd.DataFrame:
    """The frame with the column types of the module docstring."""
    frame = frame.copy()
    for name in frame.columns:
        if name in TIMESTAMPS:
            frame[name] = _timestamps(frame[name])
        elif name in TEXT:
            frame[name] = _text(frame[name])
        elif name in ("number", "seed"):
            frame[name] = frame[name].astype("int64")
        elif name == "steps":
            frame[name] = frame[name].astype("int64")
        elif name in ("last_step", "parent"):
            frame[name] = frame[name].astype("Int64")
        elif name in ("value", "duration_s") or name.startswith(("metrics_", "values_")):
            frame[name] = frame[name].astype("float64")
        elif name.startswith("params_") and name.removeprefix("params_") in space:
            dtype = _param_dtype(space[name.removeprefix("params_")])
            frame[name] = (_text(frame[name]) if dtype == "object"
                           else frame[name].astype(dtype))
    return frame


def parquet_schema(frame: pd.DataFrame) -> pa.Schema:
    """The Arrow schema of trials.parquet: the frame's own, text columns always `string`."""
    import pyarrow as pa

    schema = pa.Schema.from_pandas(frame, preserve_index=False)
    for index, field in enumerate(schema):
        if field.type in (pa.null(), pa.large_string()):
            schema = schema.set(index, field.with_type(pa.string()))
    return schema


def csv_back(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame read from trials.csv, its ISO 8601 timestamps parsed back to UTC timestamps."""
    import pandas as pd

    for name in TIMESTAMPS:
        if name in frame and not isinstance(frame[name].dtype, pd.DatetimeTZDtype):
            parsed = pd.to_datetime(frame[name], utc=True, format="ISO8601")
            frame[name] = parsed.astype(_TIMESTAMP_DTYPE)
    return frame


def text_back(frame: pd.DataFrame) -> pd.DataFrame:
    """A frame read from either file, its text columns objects with None for an empty cell
    (a CSV reads an empty cell back as NaN)."""
    for name in TEXT:
        if name in frame:
            frame[name] = _text(frame[name])
    return frame


def _plain(value: Any) -> Any:
    import pandas as pd

    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if hasattr(value, "item"):  # a NumPy scalar
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """One dict per row, plain Python values (see the module docstring)."""
    columns = [str(c) for c in frame.columns]
    return [{name: _plain(value) for name, value in zip(columns, row, strict=True)}
            for row in frame.itertuples(index=False, name=None)]
