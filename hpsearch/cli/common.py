"""What the commands share: the user-error wrapper (one line on stderr, exit 2), opening a
run folder, and the table formats."""

from __future__ import annotations

import functools
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer


def error(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"hpsearch: error: {message}", err=True)
    return typer.Exit(code)


def user_errors(command: Callable) -> Callable:
    """Turn HpsearchError into one line on stderr and exit code 2."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from hpsearch.exceptions import HpsearchError

        try:
            return command(*args, **kwargs)
        except HpsearchError as err:
            raise error(" ".join(str(err).split("\n"))) from None

    return wrapper


def open_run(run_dir: Path) -> Any:
    from hpsearch.study.study import load_study

    if not run_dir.exists():
        raise error(f"{run_dir}: no such run folder")
    if not (run_dir / "study.db").is_file():
        raise error(f"{run_dir}: not a study run folder (no study.db in it)")
    return load_study(run_dir)


class Backend(StrEnum):
    local = "local"
    dask = "dask"


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    markdown = "markdown"


def markdown(frame: Any) -> str:
    columns = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in frame.itertuples(index=False):
        cells = ["" if missing(v) else cell(v) for v in row]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value).replace("\n", " ")


def table_frame(frame: Any, top: int | None) -> Any:
    shown = frame.head(top) if top else frame
    drop = [c for c in ("started_at", "finished_at", "seed") if c in shown.columns]
    shown = shown.drop(columns=drop)
    if "error" in shown.columns:
        if shown["error"].isna().all():
            shown = shown.drop(columns=["error"])
        else:
            shown = shown.assign(error=shown["error"].map(
                lambda e: e if missing(e) else str(e).strip().splitlines()[-1][:60]))
    return shown.rename(columns=lambda c: c.removeprefix("params_").removeprefix("metrics_"))


def print_table(frame: Any) -> None:
    import pandas as pd

    with pd.option_context("display.max_columns", None, "display.width", 200,
                           "display.max_colwidth", 60, "display.float_format", "{:.6g}".format):
        typer.echo(frame.to_string(index=False))
