"""Commands on studies: `run`, `results`, `best`, `validate`."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from hpsearch.cli import logs
from hpsearch.cli.app import app
from hpsearch.cli.common import (
    Backend,
    Format,
    error,
    metric_label,
    open_run,
    set_verbosity,
    user_errors,
)
from hpsearch.cli.signals import TERMINATED_EXIT_CODE, Terminated, sigterm_interrupts
from hpsearch.report import display


@app.command()
@user_errors
def run(
    ctx: typer.Context,
    study_file: Annotated[Path, typer.Argument(help="The study file (TOML).")],
    n_trials: Annotated[int | None, typer.Option("--n-trials", help="Override \\[study].n_trials.")] = None,
    n_jobs: Annotated[int | None, typer.Option("--n-jobs", help="Override \\[study].n_jobs.")] = None,
    storage: Annotated[Path | None, typer.Option("--storage", help="Override \\[study].storage (the parent of the run folder).")] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Delete the study's earlier trials and start afresh.")] = False,
    top: Annotated[int, typer.Option("--top", help="Rows of the final table.")] = 5,
    backend: Annotated[Backend | None, typer.Option("--backend", help="Override \\[study].backend: local (this machine) or dask (a Dask cluster).")] = None,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="Override \\[study].scheduler, the Dask scheduler address (tcp://HOST:8786); implies --backend dask.")] = None,
    enqueue: Annotated[list[Path] | None, typer.Option("--enqueue", metavar="FILE", help="A TOML file of hyperparameter values to try first (\\[\\[study.enqueue]] tables, an \\[objective.fixed] table as `hpsearch best --toml` prints, or plain keys); partial values are completed by the strategy. Repeatable.")] = None,
    warm_start: Annotated[list[Path] | None, typer.Option("--warm-start", metavar="RUN_DIR", help="An earlier run folder whose finished trials are told to the strategy before the first trial (not rerun, not counted). Repeatable.")] = None,
    verbose: Annotated[int, typer.Option("-v", "--verbose", count=True, show_default=False, help="Log every trial's line (-vv: debug records too).")] = 0,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="Warnings and errors only, no progress bar.")] = False,
) -> None:
    """Run a study file; run it again to resume where it stopped.

    On a terminal a live line shows progress; otherwise (CI, a log file) each finished trial gets one log line on stderr.

    Example: hpsearch run studies/digits_mlp.toml --n-jobs 2
    Warm start and a configuration to try first:
    hpsearch run study.toml --warm-start runs/old --enqueue best.toml
    On a Dask cluster: hpsearch run study.toml --backend dask --scheduler tcp://HOST:8786
    """
    from hpsearch.exceptions import AllTrialsFailed, TooManyFailuresError
    from hpsearch.studyfile import runner
    from hpsearch.studyfile.reader import load_study_file
    from hpsearch.studyfile.starts import read_enqueue_file

    if scheduler is not None and backend is None:
        backend = Backend.dask
    spec = load_study_file(study_file, n_trials=n_trials, n_jobs=n_jobs, storage=storage,
                           backend=None if backend is None else str(backend),
                           scheduler=scheduler, warm_start=warm_start or None)
    if enqueue:
        queued = [params for path in enqueue for params in read_enqueue_file(path, spec.space)]
        spec = load_study_file(study_file, n_trials=n_trials, n_jobs=n_jobs, storage=storage,
                               backend=None if backend is None else str(backend),
                               scheduler=scheduler, warm_start=warm_start or None,
                               enqueue=queued)
    verbosity = set_verbosity(ctx, verbose, quiet)
    try:
        with sigterm_interrupts():  # SIGTERM stops the study as Ctrl-C does, then exits 143
            study = runner.run(spec, fresh=fresh, show_progress=logs.show_progress(verbosity))
    except (TooManyFailuresError, AllTrialsFailed) as err:
        raise error(str(err), code=1) from None
    except KeyboardInterrupt as stop:
        terminated = isinstance(stop, Terminated)
        typer.echo(f"{'terminated (SIGTERM)' if terminated else 'interrupted'}: finished "
                   f"trials are kept in {spec.run_dir}; run the same command again to resume",
                   err=True)
        raise typer.Exit(TERMINATED_EXIT_CODE if terminated else 130) from None
    _report_run(study, spec, top)


def _report_run(study: Any, spec: Any, top: int) -> None:
    """The end of `run`: counts by state, the top trials, the best one; exit 1 when no trial
    completed."""
    frame = study.results(best_first=True)
    states = frame["state"].value_counts().to_dict()
    typer.echo(f"\n{spec.name}: {len(frame)} trials ("
               + ", ".join(f"{n} {s}" for s, n in sorted(states.items())) + ")")
    if study.stop_reason:
        typer.echo(f"stopped early: {study.stop_reason}")
    if states.get("complete", 0) == 0:  # (all failed is AllTrialsFailed, caught in run)
        raise error("no trial completed (" + ", ".join(
            f"{n} {s}" for s, n in sorted(states.items())) + ")", code=1)
    display.print_table(frame.head(top), display.choose(frame, metric_label(study)),
                        metric_label(study))
    if study.n_objectives > 1:
        front = study.pareto_front()
        typer.echo(f"\nPareto front ({', '.join(study.objective_names)}): {len(front)} trials "
                   f"({', '.join(str(t.number) for t in front)}); the pareto column marks them")
    else:
        typer.echo(f"\nbest {spec.metric} = {study.best_value:.6g} "
                   f"(trial {study.best_trial.number})")
    typer.echo(f"run folder: {spec.run_dir}\n  trials.csv, trials.parquet, study.db, trials/; "
               f"hpsearch results {spec.run_dir} shows the table")


@app.command()
@user_errors
def results(
    run_dir: Annotated[Path, typer.Argument(help="The run folder (<storage>/<name>).")],
    top: Annotated[int | None, typer.Option("--top", help="Show only the best N rows.")] = None,
    sort: Annotated[str | None, typer.Option("--sort", metavar="[-]COLUMN", help="Sort by this column instead of best first (e.g. number, duration_s, learning_rate); -COLUMN sorts descending.")] = None,
    columns: Annotated[str | None, typer.Option("--columns", metavar="A,B,...", help="Show these columns, in this order (names as shown, e.g. trial,val_accuracy,learning_rate).")] = None,
    show_all: Annotated[bool, typer.Option("--all", help="Show every column, also constant, empty and detail ones (seed, timestamps).")] = False,
    fmt: Annotated[Format, typer.Option("--format", help="table, csv, json or markdown.")] = Format.table,
    trial: Annotated[int | None, typer.Option("--trial", metavar="N", help="Show only trial N: as a table, every column one a line and its whole error text (type, message, traceback) last.")] = None,
) -> None:
    """Print the trials table, best first.

    The table fits the terminal: constant and empty columns are hidden (a note on stderr
    names them) and columns that do not fit are left out; a chosen error column (--columns
    error) shows whole error texts. csv and json hold every column.

    Example: hpsearch results runs/digits_mlp --top 10 --sort -duration_s
    A failed trial's traceback: hpsearch results runs/digits_mlp --trial 7
    """
    study = open_run(run_dir)
    frame = study.results(best_first=True)
    metric = metric_label(study)
    if trial is not None:
        if trial not in set(frame["number"]):
            raise error(f"--trial {trial}: {run_dir} has no trial {trial} (trials "
                        f"{frame['number'].min()} to {frame['number'].max()})"
                        if len(frame) else f"--trial {trial}: {run_dir} has no trials yet")
        frame = frame[frame["number"] == trial]
        if fmt is Format.table and columns is None:
            display.print_trial(frame, trial, metric)
            return
    if sort is not None:
        try:
            column = display.resolve(frame, sort.removeprefix("-"), metric)
        except display.UnknownColumn as err:
            raise error(f"--sort {sort}: {err}") from None
        frame = frame.sort_values(column, ascending=not sort.startswith("-"), kind="stable",
                                  na_position="last")
    chosen = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    try:
        choice = display.choose(frame, metric, chosen, show_all)
    except display.UnknownColumn as err:
        raise error(f"--columns: {err}") from None
    if top is not None:
        frame = frame.head(top)
    if fmt is Format.csv:
        typer.echo((frame[choice.names] if chosen else frame).to_csv(index=False), nl=False)
    elif fmt is Format.json:
        typer.echo(json.dumps(display.records(frame, choice.names if chosen else None),
                              indent=2))
    elif fmt is Format.markdown:
        typer.echo(display.markdown(frame, choice, metric))
    else:
        display.print_table(frame, choice, metric)


class BestFormat(StrEnum):
    text = "text"
    json = "json"


@app.command()
@user_errors
def best(
    run_dir: Annotated[Path, typer.Argument(help="The run folder (<storage>/<name>).")],
    toml: Annotated[bool, typer.Option("--toml", help="Print the best params as TOML to put back in the study file: the whole \\[objective.fixed] table (the keys it fixed and the best params) for the built-in network, a \\[\\[study.enqueue]] table for a Python objective. Also readable by run --enqueue.")] = False,
    study_file: Annotated[Path | None, typer.Option("--study-file", metavar="NEW.toml", help="Write a complete study file: the run's own, named after NEW, with every searched hyperparameter pinned to the best trial's value (strategy grid, one trial).")] = None,
    fmt: Annotated[BestFormat, typer.Option("--format", help="text or json (lossless floats).")] = BestFormat.text,
) -> None:
    """Print the best trial's params and metrics.

    Example: hpsearch best runs/digits_mlp --study-file digits_best.toml
    """
    from hpsearch.exceptions import StudyError
    from hpsearch.studyfile.record import best_study_file, fixed_fragment, recorded

    study = open_run(run_dir)
    if study.n_objectives > 1:
        raise error(f"{run_dir}: the study has {study.n_objectives} objectives, so no one best "
                    "trial; hpsearch results lists its Pareto front (the pareto column)")
    try:
        trial = study.best_trial
    except StudyError as err:
        raise error(f"{run_dir}: {err}") from None
    params = dict(trial.params)
    copy = recorded(run_dir)
    if study_file is not None:
        if copy is None:
            raise error(f"{run_dir}: no study.toml in the run folder (it was run before "
                        "hpsearch kept one); run its study file again to record it")
        study_file.write_text(best_study_file(copy, params, study_file), encoding="utf-8")
        typer.echo(f"wrote {study_file}: trial {trial.number}'s configuration; check it with "
                   f"hpsearch validate {study_file}")
        return
    if toml:
        kind = _objective_kind(copy, study)
        typer.echo(f"# best trial {trial.number} of {run_dir}: "
                   f"{metric_label(study) or 'value'} = {trial.value!r}")
        typer.echo(fixed_fragment(copy, params, kind), nl=False)
        return
    if fmt is BestFormat.json:
        record = {"run": str(run_dir), "trial": trial.number, "value": trial.value,
                  "metric": metric_label(study), "direction": study.direction,
                  "params": params, "metrics": dict(trial.metrics), "seed": trial.seed}
        typer.echo(json.dumps(display.records_of(record), indent=2))
        return
    typer.echo(f"trial {trial.number}  value {trial.value:.6g}  ({study.direction})")
    typer.echo("params:")
    for name, value in params.items():
        typer.echo(f"  {name} = {value!r}")
    if trial.metrics:
        typer.echo("metrics:")
        for name, value in sorted(trial.metrics.items()):
            typer.echo(f"  {name} = {value:.6g}")


def _objective_kind(copy: Any, study: Any) -> str:
    """mlp or python: from the recorded study file, else from the artifacts' shape."""
    import tomllib

    if copy is not None:
        return str(tomllib.loads(copy.text).get("objective", {}).get("kind", "mlp"))
    return "mlp" if any(k.startswith("member0.") for k in study.artifacts(
        study.best_trial.number)) else "python"


@app.command()
@user_errors
def validate(
    study_file: Annotated[Path, typer.Argument(help="The study file (TOML).")],
) -> None:
    """Check a study file without running it: the resolved space, grid size and data.

    Example: hpsearch validate studies/digits_grid.toml
    """
    from hpsearch.studyfile import runner
    from hpsearch.studyfile.reader import load_study_file

    spec = load_study_file(study_file)
    checked = runner.validate(spec)
    typer.echo(f"{spec.path}: ok")
    typer.echo(f"  study     {spec.name} -> run folder {spec.run_dir}")
    typer.echo(f"  strategy  {spec.strategy}  ({spec.n_trials} trials, {spec.n_jobs} jobs, "
               f"seed {spec.seed}, {spec.direction} {spec.metric})")
    if spec.objective.kind == "mlp":
        classes = f", {checked.n_classes} classes" if checked.n_classes else ""
        typer.echo(f"  objective mlp on {spec.objective.dataset} {checked.data_shape}{classes}, "
                   f"task {spec.objective.task}")
        for name, value in spec.objective.fixed.items():
            typer.echo(f"  fixed     {name} = {value!r}")
    else:
        typer.echo(f"  objective python {spec.objective.entry}")
    for name, dim in spec.space.items():
        when = spec.space.describe_when(name)
        shown = {k: v for k, v in dim.to_dict().items() if k != "when"}
        typer.echo(f"  space     {name}: {shown}" + (f"  (inactive unless {when})" if when else ""))
    for params in spec.enqueue:
        typer.echo(f"  enqueue   {params}")
    for folder in spec.warm_start:
        typer.echo(f"  warm start {folder}")
    grid = checked.grid_size
    typer.echo(f"  grid size {grid if grid is not None else 'infinite (continuous dimensions)'}")
    if spec.strategy == "grid" and grid is not None and grid < spec.n_trials:
        typer.echo(f"  note      the grid has {grid} points; the study stops there")
