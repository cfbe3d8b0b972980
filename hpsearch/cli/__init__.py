"""The `hpsearch` command line (Typer).

Contract: every command imports what it needs inside its body, so `hpsearch --help` starts
without scikit-learn, SciPy, pandas, Optuna, scikit-optimize, matplotlib, Dask or torch. A user
mistake (an `HpsearchError`) prints one line on stderr, `hpsearch: error: ...`, and exits 2;
Ctrl-C exits 130 and SIGTERM 143 after the study has written its tables (`hpsearch.cli.signals`);
a study whose trials all failed exits 1. Only this package prints. One module per group of commands, composed here.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

# --help lists the commands in the order their modules register them.
# isort: off
from hpsearch.cli import study, runs, ensembles, reports, service  # noqa: F401
# isort: on
from hpsearch.cli.app import app
from hpsearch.cli.common import user_errors

__all__ = ["app", "main", "user_errors"]


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"hpsearch {version('hpsearch')}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
    verbose: Annotated[int, typer.Option("-v", "--verbose", count=True, show_default=False,
                                         help="Log more: -v every trial's line, -vv debug records.")] = 0,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Log warnings and errors only; no progress bar.")] = False,
) -> None:
    """Hyperparameter search for neural networks."""
    from hpsearch.cli import logs

    ctx.obj = {"verbosity": -1 if quiet else verbose}
    logs.configure(ctx.obj["verbosity"])
    ctx.call_on_close(logs.reset)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
