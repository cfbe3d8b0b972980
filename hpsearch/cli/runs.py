"""Commands on the runs under a storage folder: `list`, `status` and `dashboard`."""

from __future__ import annotations

import json
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from hpsearch.cli.app import app
from hpsearch.cli.common import error, user_errors
from hpsearch.report import display


class RunFormat(StrEnum):
    table = "table"
    json = "json"


def ago(when: float | None, now: float | None = None) -> str:
    """'42 s ago', '5 min ago', '3 h ago', '2 days ago', or '-'."""
    if when is None:
        return "-"
    seconds = max(0.0, (now or time.time()) - when)
    for unit, size in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f} {unit} ago"
    return f"{seconds:.0f} s ago"


def driver_text(pid: int | None) -> str:
    if pid is None:
        return "-"
    return "running" + (f" (pid {pid})" if pid else "")


def best_text(summary: Any) -> str:
    if summary.front is not None:
        return f"front of {summary.front}"
    if summary.best_value is None:
        return "-"
    return f"{summary.best_value:.6g} (#{summary.best_trial})"


def _table(headers: list[str], rows: list[list[str]], whole: tuple[str, ...] = ()) -> None:
    """A table that fits the terminal without cutting anything: the `whole` columns
    (identifiers, numbers) keep their full width on one line; the others wrap at spaces
    (a long word folds), never narrower than their longest word."""
    import sys

    from rich import box
    from rich.console import Console
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, padding=(0, 0, 0, 1),
                  header_style="bold")
    for k, head in enumerate(headers):
        cells = [head, *(row[k] for row in rows)]
        if head in whole:
            table.add_column(head, no_wrap=True, min_width=max(map(len, cells)))
        else:
            longest_word = max(len(word) for text in cells for word in text.split() or [""])
            table.add_column(head, overflow="fold", min_width=min(longest_word, 16))
    for row in rows:
        table.add_row(*row)
    Console(file=sys.stdout, highlight=False, soft_wrap=False).print(table)


def _storage_error(storage: Path) -> None:
    if not storage.exists():
        raise error(f"{storage}: no such folder")
    if not storage.is_dir():
        raise error(f"{storage}: not a folder")


@app.command("list")
@user_errors
def list_runs(
    storage: Annotated[Path, typer.Argument(help="The storage folder (the parent of the run folders).")] = Path("runs"),
    fmt: Annotated[RunFormat, typer.Option("--format", help="table or json.")] = RunFormat.table,
) -> None:
    """List the run folders under STORAGE: strategy, trials by state, best, last activity, and whether a driver is running it now.

    Example: hpsearch list runs
    """
    from hpsearch.report.runs import as_record, counts_text, find_runs, summarize

    _storage_error(storage)
    summaries = [summarize(p, str(p.relative_to(storage)) if p != storage else p.name)
                 for p in find_runs(storage)]
    if fmt is RunFormat.json:
        typer.echo(json.dumps(display.records_of([as_record(s) for s in summaries]), indent=2))
        return
    if not summaries:
        typer.echo(f"no run folders under {storage}", err=True)
        return
    rows = [[s.name, s.strategy or "-", counts_text(s.counts) if not s.error else s.error,
             best_text(s), ago(s.last_activity), driver_text(s.driver)] for s in summaries]
    _table(["run", "strategy", "trials", "best", "last activity", "driver"], rows,
           whole=("run", "strategy", "best"))


@app.command()
@user_errors
def status(
    run_dir: Annotated[Path, typer.Argument(help="The run folder (<storage>/<name>).")],
    fmt: Annotated[RunFormat, typer.Option("--format", help="table or json.")] = RunFormat.table,
) -> None:
    """One run now: what `list` shows, plus its running trials (started, last report).

    Example: hpsearch status runs/digits_mlp
    """
    from hpsearch.report.runs import as_record, counts_text, summarize

    if not (run_dir / "study.db").is_file():
        raise error(f"{run_dir}: not a study run folder (no study.db in it)"
                    if run_dir.exists() else f"{run_dir}: no such run folder")
    summary = summarize(run_dir)
    if summary.error:
        raise error(summary.error)
    if fmt is RunFormat.json:
        typer.echo(json.dumps(display.records_of(as_record(summary)), indent=2))
        return
    metric = summary.metric if isinstance(summary.metric, str) else "value"
    typer.echo(f"run       {run_dir}")
    typer.echo(f"strategy  {summary.strategy}  ({summary.direction} {metric})")
    typer.echo(f"trials    {summary.total}: {counts_text(summary.counts)}")
    typer.echo(f"best      {best_text(summary)}")
    typer.echo(f"activity  {ago(summary.last_activity)}")
    typer.echo(f"driver    {driver_text(summary.driver)}")
    if not summary.running:
        return
    now = time.time()
    rows = [[str(t.number), ago(t.started_at, now).removesuffix(" ago"),
             str(max(t.reports)) if t.reports else "-",
             f"{t.reports[max(t.reports)]:.4g}" if t.reports else "-",
             ", ".join(f"{k}={display.cell(k, v)}" for k, v in t.params.items())]
            for t in summary.running]
    typer.echo("")
    _table(["running", "for", "step", "reported", "params"], rows,
           whole=("running", "for", "step", "reported"))


@app.command()
@user_errors
def dashboard(
    ctx: typer.Context,
    storage: Annotated[Path, typer.Argument(help="The storage folder (the parent of the run folders).")] = Path("runs"),
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="The port on 127.0.0.1 (0: any free port).")] = 8765,
) -> None:
    """Serve a live, read-only web page about the runs under STORAGE on 127.0.0.1.

    Per run: the summary, the running trials' learning curves as they report, the trials table and the report's figures, redrawn as trials finish (no reload needed). Stop it with Ctrl-C or SIGTERM (exit code 143); its figure worker stops with it.

    Example: hpsearch dashboard runs --port 8765
    """
    from hpsearch.cli import logs
    from hpsearch.cli.signals import TERMINATED_EXIT_CODE, Terminated, sigterm_interrupts
    from hpsearch.dashboard import DashboardServer

    _storage_error(storage)
    if (ctx.find_root().obj or {}).get("verbosity", 0) <= 0:
        logs.configure(-1)  # not a line per redrawn report: warnings only, unless -v
    try:
        server = DashboardServer(storage, port)
    except OSError as err:
        raise error(f"cannot listen on 127.0.0.1:{port}: {err.strerror or err}") from None
    typer.echo(f"hpsearch dashboard: {server.url} (read-only: {storage.resolve()}); "
               "Ctrl-C stops it")
    try:
        with sigterm_interrupts():  # SIGTERM stops it as Ctrl-C does: its worker too
            server.serve_forever()
    except Terminated:
        raise typer.Exit(TERMINATED_EXIT_CODE) from None
    except KeyboardInterrupt:
        pass
