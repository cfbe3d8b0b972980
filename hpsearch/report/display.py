"""The trials table on a terminal, in Markdown, CSV and JSON: which columns, in which order,
and how they fit.

Contract:
- `choose(frame, metric, columns=None, show_all=False) -> Choice`: the columns to show, in
  order (trial number, state, the study's value (headed by its metric's name), the values
  of several objectives, the searched params in space order, the metrics (validation, then
  test, then the rest), last step, steps, parent, seconds, error, source), and the ones hidden
  with why: constant in every row, empty in every row, the same as the value, or detail (seed
  and the timestamps). Steps and parent are left out without a word when no scheduler paused
  a trial (no parent anywhere, steps equal to the last step). `columns` (names as shown, or
  as in the files: `learning_rate` or
  `params_learning_rate`) chooses exactly those (`Choice.chosen`); `show_all` shows every
  column.
- `resolve(frame, name, metric) -> str`: the frame's column a user's name means, or
  `UnknownColumn` listing the names.
- `print_table(frame, choice, metric, width=None)`: a Rich table that fits the terminal (or
  `width`): columns are taken in order while they fit, the rest are named in a note; a cell
  longer than 28 characters ends in an ellipsis and a row never wraps, unless the user chose
  the columns: then no cell is cut and the error column holds the whole error text (type,
  message, traceback), wrapped. The note (hidden and left-out columns) goes to stderr, so
  stdout holds only the table.
- `print_trial(frame, number, metric)`: one trial, a column a line (every column but the empty
  ones), its whole error text last.
- `markdown(frame, choice)` and `records(frame, names)` (JSON-able rows, lossless floats).
"""

from __future__ import annotations

import math
import sys
import textwrap
from dataclasses import dataclass, field
from typing import Any

import typer

from hpsearch.exceptions import UnknownColumn

__all__ = ["Choice", "UnknownColumn", "choose", "resolve", "print_table", "print_trial",
           "markdown", "records", "records_of", "label"]

DETAIL = ("seed", "started_at", "finished_at")
_TAIL = ("last_step", "steps", "parent", "duration_s", "error", "source")
_MAX_CELL = 28  # a longer cell (an error, a long choice) ends in an ellipsis
_GAP = 2  # spaces between two columns


@dataclass(frozen=True)
class Choice:
    """The columns to show (frame names, in order) and the hidden ones with why."""

    names: list[str]
    hidden: dict[str, str] = field(default_factory=dict)
    chosen: bool = False  # the user named the columns: show them whole


def label(name: str, metric: str | None) -> str:
    """A column's heading: its name without the params_/metrics_ prefix."""
    if name == "number":
        return "trial"
    if name == "value" and metric:
        return metric
    if name == "duration_s":
        return "seconds"
    return name.removeprefix("params_").removeprefix("metrics_")


def _metric_rank(name: str) -> tuple[int, str]:
    short = name.removeprefix("metrics_")
    return (0 if short.startswith("val_") else 1 if short.startswith("test_") else 2, short)


def ordered(frame: Any) -> list[str]:
    """Every column of the frame, in display order (see the module docstring)."""
    names = [str(c) for c in frame.columns]
    head = [c for c in ("number", "state", "value") if c in names]
    values = [c for c in names if c.startswith("values_") or c == "pareto"]
    params = [c for c in names if c.startswith("params_")]
    metrics = sorted((c for c in names if c.startswith("metrics_")), key=_metric_rank)
    tail = [c for c in _TAIL if c in names]
    rest = [c for c in names if c not in {*head, *values, *params, *metrics, *tail}]
    return head + values + params + metrics + tail + rest


def _missing(value: Any) -> bool:
    try:
        return value is None or bool(value != value)
    except (TypeError, ValueError):  # pandas' NA
        return True


def _why_hidden(frame: Any, name: str) -> str | None:
    column = frame[name]
    cells = [None if _missing(v) else v for v in column]
    if all(v is None for v in cells):
        return "empty"
    if name in DETAIL:
        return "detail"
    if name.startswith("metrics_") and "value" in frame.columns:
        same = all(_missing(a) and _missing(b) or a == b
                   for a, b in zip(column, frame["value"], strict=True))
        if same:
            return "same as the value"
    if len(cells) > 1 and name != "number" and len({repr(v) for v in cells}) == 1:
        return f"{cell(name, cells[0])} in every row"
    return None


def resolve(frame: Any, name: str, metric: str | None) -> str:
    """The column `name` means: a column, a params_/metrics_ name without its prefix, or a
    heading (`trial`, `seconds`, the metric's name for the value)."""
    names = [str(c) for c in frame.columns]
    for candidate in (name, f"params_{name}", f"metrics_{name}"):
        if candidate in names:
            return candidate
    for column in names:
        if label(column, metric) == name:
            return column
    shown = ", ".join(label(c, metric) for c in ordered(frame))
    raise UnknownColumn(f"no such column {name!r}; columns: {shown}")


def choose(frame: Any, metric: str | None, columns: list[str] | None = None,
           show_all: bool = False) -> Choice:
    """The columns to show; see the module docstring."""
    if columns:
        return Choice([resolve(frame, c, metric) for c in columns], chosen=True)
    names = ordered(frame)
    if show_all:
        return Choice(names)
    hidden, quiet = {}, _unscheduled(frame)
    for name in names:
        why = _why_hidden(frame, name)
        if why is not None and name != "number":
            hidden[name] = why
    shown = [n for n in names if n not in hidden and n not in quiet]
    return Choice(shown, {n: why for n, why in hidden.items() if n not in quiet})


def _unscheduled(frame: Any) -> set[str]:
    """The scheduler's columns (steps, parent) when no scheduler paused anything: no trial has
    a parent and every trial's steps are its last step (or 0): they say nothing then, so they
    are left out of the table and of its note."""
    names = {str(c) for c in frame.columns}
    if not {"steps", "parent", "last_step"} <= names or frame["parent"].notna().any():
        return set()
    last = frame["last_step"].fillna(0).astype("int64")
    return {"steps", "parent"} if bool((frame["steps"].isin([0]) | (frame["steps"] == last))
                                       .all()) else set()


def cell(name: str, value: Any, whole: bool = False) -> str:
    """One cell as text: '-' when empty, 4 significant digits (6 for the value), the last
    line of an error (`whole`: all of it), timestamps to the second (UTC)."""
    if _missing(value):
        return "-"
    if name in ("started_at", "finished_at") and hasattr(value, "strftime"):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if name == "error":
        text = str(value).strip()
        return (text if whole else text.splitlines()[-1]) if text else "-"
    if isinstance(value, float) or type(value).__name__.startswith("float"):
        value = float(value)
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return f"{value:.6g}" if name == "value" or name.startswith("values_") \
            else f"{value:.4g}"
    return str(value).replace("\n", " ")


def _note(choice: Choice, dropped: list[str], metric: str | None, width: int) -> str | None:
    parts = []
    if choice.hidden:
        parts.append("hidden: " + ", ".join(f"{label(n, metric)} ({why})"
                                            for n, why in choice.hidden.items()))
    if dropped:
        parts.append(f"not shown at {width} columns: "
                     + ", ".join(label(n, metric) for n in dropped))
    if not parts:
        return None
    return "; ".join(parts) + ". --all shows every column, --columns NAME,... chooses"


def _fit(rows: list[list[str]], headers: list[str], width: int, most: list[int | None]) -> int:
    """How many leading columns fit in `width` (`_GAP` spaces between columns), column k at
    most `most[k]` characters wide (None: as wide as its longest line)."""
    used = 0
    for k, head in enumerate(headers):
        natural = max([len(head), *(len(line) for r in rows for line in r[k].splitlines())])
        natural = natural if most[k] is None else min(natural, most[k])
        used += natural + (_GAP if k else 0)
        if used > width:
            return max(k, 1)
    return len(headers)


def print_table(frame: Any, choice: Choice, metric: str | None = None,
                width: int | None = None) -> None:
    """The frame's chosen columns as a Rich table that never wraps a row."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console(file=sys.stdout, width=width, highlight=False, soft_wrap=False)
    width = console.width
    names = list(choice.names)
    rows = [[cell(n, v, whole=choice.chosen) for n, v in zip(names, row, strict=True)]
            for row in frame[names].itertuples(index=False, name=None)]
    headers = [label(n, metric) for n in names]
    most = None if choice.chosen else _MAX_CELL
    # a chosen error column wraps: it needs only a narrow share of the width
    keep = _fit(rows, headers, width,
                [_MAX_CELL if choice.chosen and n == "error" else most for n in names])
    names, dropped = names[:keep], names[keep:]
    headers, rows = headers[:keep], [r[:keep] for r in rows]
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                  padding=(0, 0, 0, _GAP - 1), header_style="bold")
    for name, head in zip(names, headers, strict=True):
        numeric = name not in ("state", "error", "source") and frame[name].dtype.kind in "iufb"
        wraps = choice.chosen and name == "error"  # a traceback, shown whole
        table.add_column(head, justify="right" if numeric else "left", no_wrap=not wraps,
                         overflow="fold" if wraps else "ellipsis", max_width=most)
    for row in rows:
        table.add_row(*row)
    console.print(table)
    note = _note(choice, dropped, metric, width)
    if note:
        typer.echo(textwrap.fill(note, width=max(width, 40), break_on_hyphens=False), err=True)


def print_trial(frame: Any, number: int, metric: str | None = None) -> None:
    """Trial `number` of the frame, a column a line (empty ones left out), in table order,
    its whole error text (type, message, traceback) last."""
    rows = frame[frame["number"] == number]
    names = [n for n in ordered(frame) if n != "error" and not _missing(rows.iloc[0][n])]
    width = max(len(label(n, metric)) for n in names)
    for name in names:
        typer.echo(f"{label(name, metric):<{width}}  {cell(name, rows.iloc[0][name])}")
    error = rows.iloc[0].get("error")
    if not _missing(error) and str(error).strip():
        typer.echo(f"error\n{str(error).strip()}")


def markdown(frame: Any, choice: Choice, metric: str | None = None) -> str:
    """The chosen columns as a Markdown table."""
    names = choice.names
    lines = ["| " + " | ".join(label(n, metric) for n in names) + " |",
             "|" + "---|" * len(names)]
    for row in frame[names].itertuples(index=False, name=None):
        cells = [cell(n, v).replace("|", "\\|") for n, v in zip(names, row, strict=True)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def records(frame: Any, names: list[str] | None = None) -> list[dict[str, Any]]:
    """The rows as JSON-able dicts (lossless floats; see `hpsearch.study.columns`)."""
    from hpsearch.study.columns import json_records

    return json_records(frame if names is None else frame[names])


def records_of(value: Any) -> Any:
    """A nested structure with plain JSON values: non-finite floats as None (finite ones are
    written exactly by `json.dumps`)."""
    if isinstance(value, dict):
        return {str(k): records_of(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [records_of(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
