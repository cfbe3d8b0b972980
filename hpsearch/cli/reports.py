"""Commands that show a study elsewhere: `report` (figures and HTML) and `export-optuna`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hpsearch.cli.app import app
from hpsearch.cli.common import open_run, user_errors


@app.command()
@user_errors
def report(
    run_dir: Annotated[Path, typer.Argument(help="The run folder (<storage>/<name>).")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Folder for report.html and the PNG figures (default: RUN_DIR/report).")] = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Learning curves and update ratios of the best N trials.")] = 3,
) -> None:
    """Write figures and one self-contained HTML page about a run.

    Example: hpsearch report runs/digits_mlp -o digits_report
    """
    from hpsearch.report import write_report

    open_run(run_dir)
    written = write_report(run_dir, output, top=top)
    typer.echo(f"wrote {written.html} ({len(written.figures)} figures beside it)")
    for section, reason in written.omitted:
        typer.echo(f"  left out {section}: {reason}")


@app.command("export-optuna")
@user_errors
def export_optuna(
    run_dir: Annotated[Path, typer.Argument(help="The run folder (<storage>/<name>).")],
    storage_url: Annotated[str, typer.Argument(help="An Optuna storage URL, e.g. sqlite:///optuna.db.")],
    study_name: Annotated[str | None, typer.Option("--study-name", help="Name of the Optuna study (default: the run folder's name).")] = None,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Replace a study of that name in the storage.")] = False,
) -> None:
    """Copy a run's trials into an Optuna study (for optuna-dashboard and Optuna's plots).

    Interrupted trials become FAIL, running ones are skipped; metrics become user attributes.

    Example: hpsearch export-optuna runs/digits_mlp sqlite:///optuna.db
    """
    from hpsearch.export.optuna import export_to_optuna

    open_run(run_dir)
    done = export_to_optuna(run_dir, storage_url, study_name=study_name, overwrite=overwrite)
    verb = "replaced" if done.overwritten else "created"
    typer.echo(f"{verb} Optuna study {done.study_name!r} ({done.direction}) in {storage_url} "
               f"with {done.added} trials")
    if done.skipped:
        typer.echo(f"  skipped {len(done.skipped)} running trial(s): "
                   + ", ".join(str(n) for n in done.skipped))
    typer.echo(f"view it with: optuna-dashboard {storage_url}")
