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
    """Print `message` as one line on stderr (every line break in it, a name's control
    characters included, becomes a space) and return the exit to raise."""
    typer.echo(f"hpsearch: error: {' '.join(message.splitlines())}", err=True)
    return typer.Exit(code)


def user_errors(command: Callable) -> Callable:
    """Turn HpsearchError into one line on stderr and exit code 2."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from hpsearch.exceptions import HpsearchError

        try:
            return command(*args, **kwargs)
        except HpsearchError as err:
            raise error(str(err)) from None

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


def metric_label(study: Any) -> str | None:
    """The name of a study's value, for headings (None when the study did not record one)."""
    metric = getattr(study, "metric", None)
    return metric if isinstance(metric, str) else None


def set_verbosity(ctx: Any, verbose: int, quiet: bool) -> int:
    """A command's own -v/-q over the root's (`hpsearch -v run ...`); returns the verbosity
    in force and sends the log records there (see `hpsearch.cli.logs`)."""
    from hpsearch.cli import logs

    root = (ctx.find_root().obj or {}).get("verbosity", 0) if ctx is not None else 0
    verbosity = -1 if quiet else max(root, verbose) if verbose else root
    if verbosity != root:
        logs.configure(verbosity)
    return verbosity
