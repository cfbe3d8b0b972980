"""The `hpsearch` command line (Typer).

Contract: every command imports what it needs inside its body, so `hpsearch --help` starts
without scikit-learn, SciPy, pandas, Optuna, scikit-optimize, matplotlib, Dask or torch. A user
mistake (an `HpsearchError`) prints one line on stderr, `hpsearch: error: ...`, and exits 2;
Ctrl-C exits 130 after the study has written its tables; a study whose trials all failed exits
1. Only this module prints.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

app = typer.Typer(
    name="hpsearch",
    help="Hyperparameter search for neural networks.\n\nExample: hpsearch run "
         "studies/digits_mlp.toml, then hpsearch results runs/digits_mlp",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        typer.echo(f"hpsearch {version('hpsearch')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Hyperparameter search for neural networks."""


def _error(message: str, code: int = 2) -> typer.Exit:
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
            raise _error(" ".join(str(err).split("\n"))) from None

    return wrapper


def _open_run(run_dir: Path) -> Any:
    from hpsearch.study import load_study

    if not run_dir.exists():
        raise _error(f"{run_dir}: no such run folder")
    if not (run_dir / "study.db").is_file():
        raise _error(f"{run_dir}: not a study run folder (no study.db in it)")
    return load_study(run_dir)


class Backend(StrEnum):
    local = "local"
    dask = "dask"


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"
    markdown = "markdown"


def _markdown(frame: Any) -> str:
    columns = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in frame.itertuples(index=False):
        cells = ["" if _missing(v) else _cell(v) for v in row]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value).replace("\n", " ")


def _table_frame(frame: Any, top: int | None) -> Any:
    shown = frame.head(top) if top else frame
    drop = [c for c in ("started_at", "finished_at", "seed") if c in shown.columns]
    shown = shown.drop(columns=drop)
    if "error" in shown.columns:
        if shown["error"].isna().all():
            shown = shown.drop(columns=["error"])
        else:
            shown = shown.assign(error=shown["error"].map(
                lambda e: e if _missing(e) else str(e).strip().splitlines()[-1][:60]))
    return shown.rename(columns=lambda c: c.removeprefix("params_").removeprefix("metrics_"))


def _print_table(frame: Any) -> None:
    import pandas as pd

    with pd.option_context("display.max_columns", None, "display.width", 200,
                           "display.max_colwidth", 60, "display.float_format", "{:.6g}".format):
        typer.echo(frame.to_string(index=False))


@app.command()
@user_errors
def run(
    study_file: Annotated[Path, typer.Argument(help="The study file (TOML).")],
    n_trials: Annotated[int | None, typer.Option("--n-trials", help="Override [study].n_trials.")] = None,
    n_jobs: Annotated[int | None, typer.Option("--n-jobs", help="Override [study].n_jobs.")] = None,
    storage: Annotated[Path | None, typer.Option("--storage", help="Override [study].storage (the parent of the run folder).")] = None,
    fresh: Annotated[bool, typer.Option("--fresh", help="Delete the study's earlier trials and start afresh.")] = False,
    top: Annotated[int, typer.Option("--top", help="Rows of the final table.")] = 5,
    backend: Annotated[Backend | None, typer.Option("--backend", help="Override [study].backend: local (this machine) or dask (a Dask cluster).")] = None,
    scheduler: Annotated[str | None, typer.Option("--scheduler", help="Override [study].scheduler, the Dask scheduler address (tcp://HOST:8786); implies --backend dask.")] = None,
) -> None:
    """Run a study file; run it again to resume where it stopped.

    Example: hpsearch run studies/digits_mlp.toml --n-jobs 2
    On a Dask cluster: hpsearch run study.toml --backend dask --scheduler tcp://HOST:8786
    """
    from hpsearch import runner
    from hpsearch.studyfile import load_study_file

    if scheduler is not None and backend is None:
        backend = Backend.dask
    spec = load_study_file(study_file, n_trials=n_trials, n_jobs=n_jobs, storage=storage,
                           backend=None if backend is None else str(backend),
                           scheduler=scheduler)
    progress = _Progress(spec)
    try:
        study = runner.run(spec, fresh=fresh, callbacks=[progress.update],
                           on_start=progress.start)
    except KeyboardInterrupt:
        progress.stop()
        typer.echo(f"interrupted: finished trials are kept in {spec.run_dir}; run the same "
                   "command again to resume", err=True)
        raise typer.Exit(130) from None
    finally:
        progress.stop()
    frame = study.results(best_first=True)
    states = frame["state"].value_counts().to_dict()
    typer.echo(f"\n{spec.name}: {len(frame)} trials ("
               + ", ".join(f"{n} {s}" for s, n in sorted(states.items())) + ")")
    if study.stop_reason:
        typer.echo(f"stopped early: {study.stop_reason}")
    if states.get("complete", 0) == 0:
        last = frame["error"].dropna()
        reason = str(last.iloc[0]).strip().splitlines()[-1] if len(last) else "unknown"
        if states.get("failed", 0) == len(frame):
            raise _error(f"every trial failed; the first error: {reason}", code=1)
        raise _error("no trial completed (" + ", ".join(
            f"{n} {s}" for s, n in sorted(states.items())) + ")", code=1)
    _print_table(_table_frame(frame, top))
    typer.echo(f"\nbest {spec.metric} = {study.best_value:.6g} (trial {study.best_trial.number})")
    typer.echo(f"run folder: {spec.run_dir}  (trials.csv, trials.parquet, study.db, trials/)")


class _Progress:
    """A live line on stderr: done/total, running, failed, best so far, elapsed and ETA."""

    def __init__(self, spec: Any) -> None:
        self.spec, self.bar, self.started = spec, None, time.monotonic()
        self.done_at_start = 0

    def start(self, study: Any) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.done_at_start = sum(t.state.is_finished for t in study.trials)
        self.bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(),
                            MofNCompleteColumn(), TextColumn("{task.fields[status]}"),
                            TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                            console=Console(stderr=True), transient=False)
        self.task = self.bar.add_task(self.spec.name, total=self.spec.n_trials,
                                      completed=min(self.done_at_start, self.spec.n_trials),
                                      status=self._status(study))
        self.bar.start()

    def _status(self, study: Any) -> str:
        trials = study.trials
        running = sum(t.state == "running" for t in trials)
        failed = sum(t.state == "failed" for t in trials)
        try:
            best = f"best {study.best_value:.4g}"
        except Exception:  # no complete trial yet
            best = "best -"
        return f"running {running}  failed {failed}  {best}"

    def update(self, study: Any, trial: Any) -> None:
        if self.bar is not None:
            done = sum(t.state.is_finished for t in study.trials)
            self.bar.update(self.task, completed=min(done, self.spec.n_trials),
                            status=self._status(study))

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()
            self.bar = None


@app.command()
@user_errors
def results(
    run_dir: Annotated[Path, typer.Argument(help="The run folder (<storage>/<name>).")],
    top: Annotated[int | None, typer.Option("--top", help="Show only the best N rows.")] = None,
    sort: Annotated[str | None, typer.Option("--sort", help="Sort by this column instead of best first (e.g. number, duration_s, params_learning_rate).")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="table, csv, json or markdown.")] = Format.table,
) -> None:
    """Print the trials table, best first.

    Example: hpsearch results runs/digits_mlp --top 10 --format markdown
    """
    study = _open_run(run_dir)
    frame = study.results(best_first=True)
    if sort is not None:
        column = sort if sort in frame.columns else next(
            (c for c in frame.columns if c in (f"params_{sort}", f"metrics_{sort}")), None)
        if column is None:
            raise _error(f"--sort {sort}: no such column; columns: {', '.join(frame.columns)}")
        frame = frame.sort_values(column, kind="stable", na_position="last")
    if top is not None:
        frame = frame.head(top)
    if fmt is Format.csv:
        typer.echo(frame.to_csv(index=False), nl=False)
    elif fmt is Format.json:
        typer.echo(frame.to_json(orient="records", indent=2))
    elif fmt is Format.markdown:
        typer.echo(_markdown(_table_frame(frame, None)))
    else:
        _print_table(_table_frame(frame, None))


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, float):
        return repr(value)
    return str(value)


@app.command()
@user_errors
def best(
    run_dir: Annotated[Path, typer.Argument(help="The run folder (<storage>/<name>).")],
    toml: Annotated[bool, typer.Option("--toml", help="Print the params as an [objective.fixed] table to paste into a study file.")] = False,
) -> None:
    """Print the best trial's params and metrics.

    Example: hpsearch best runs/digits_mlp --toml
    """
    study = _open_run(run_dir)
    trial = study.best_trial
    if toml:
        typer.echo(f"# best trial {trial.number} of {run_dir}: value = {trial.value:.6g}")
        typer.echo("[objective.fixed]")
        for name, value in trial.params.items():
            typer.echo(f"{name} = {_toml_value(value)}")
        return
    typer.echo(f"trial {trial.number}  value {trial.value:.6g}  ({study.direction})")
    typer.echo("params:")
    for name, value in trial.params.items():
        typer.echo(f"  {name} = {value!r}")
    if trial.metrics:
        typer.echo("metrics:")
        for name, value in sorted(trial.metrics.items()):
            typer.echo(f"  {name} = {value:.6g}")


@app.command()
@user_errors
def validate(
    study_file: Annotated[Path, typer.Argument(help="The study file (TOML).")],
) -> None:
    """Check a study file without running it: the resolved space, grid size and data.

    Example: hpsearch validate studies/digits_grid.toml
    """
    from hpsearch import runner
    from hpsearch.studyfile import load_study_file

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
        typer.echo(f"  space     {name}: {dim.to_dict()}")
    grid = checked.grid_size
    typer.echo(f"  grid size {grid if grid is not None else 'infinite (continuous dimensions)'}")
    if spec.strategy == "grid" and grid is not None and grid < spec.n_trials:
        typer.echo(f"  note      the grid has {grid} points; the study stops there")


class Method(StrEnum):
    predictions = "predictions"
    greedy = "greedy"
    parameters = "parameters"
    snapshot = "snapshot"


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _record_ensemble(run_dir: Path, output: Path, manifest: dict) -> None:
    """Keep the exported ensemble's manifest in `<run>/ensembles/` for `hpsearch report`."""
    record = run_dir / "ensembles" / f"{output.stem}.json"
    try:
        record.parent.mkdir(exist_ok=True)
        tmp = record.with_suffix(".json.tmp")
        tmp.write_text(json.dumps({**manifest, "file": str(output.resolve())}, indent=1))
        tmp.replace(record)
    except OSError as err:  # the export itself succeeded; the record is a convenience
        typer.echo(f"note: could not record the ensemble in {record.parent}: {err}", err=True)


@app.command()
@user_errors
def ensemble(
    run_dir: Annotated[Path, typer.Argument(help="The run folder (<storage>/<name>).")],
    method: Annotated[Method, typer.Option("--method", help="predictions (mean of the top k), greedy (ensemble selection on validation), parameters (one averaged network), snapshot (one trial's checkpoints).")] = Method.predictions,
    top_k: Annotated[int | None, typer.Option("--top-k", help="Candidates: the best K trials (default: 5; greedy: every complete trial).")] = None,
    size: Annotated[int, typer.Option("--size", help="greedy: number of picks (with replacement).")] = 20,
    trial: Annotated[int | None, typer.Option("--trial", help="snapshot/parameters: the trial whose checkpoints to use (snapshot default: the best).")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write the ensemble to this .npz file.")] = None,
) -> None:
    """Build an ensemble from a run's trials, print its members and scores, save it.

    Example: hpsearch ensemble runs/digits_mlp --method greedy -o digits.npz
    """
    from hpsearch.ensemble import build_ensemble
    from hpsearch.ensemble_file import save_ensemble

    if not run_dir.exists():
        raise _error(f"{run_dir}: no such run folder")
    built = build_ensemble(run_dir, method.value, top_k=top_k, size=size, trial=trial)
    kind = built.metric
    header = ["trial", "member", f"val_{kind}", f"test_{kind}", "weight", "params"]
    cells = [[str(r["trial"]), str(r["member"]), _score(r["val"]), _score(r["test"]),
              f"{r['weight']:.3f}", str(r["params"])] for r in built.rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    for line in [header, *cells]:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
    networks = len(built.ensemble)
    typer.echo(f"\n{method.value}: {built.note}")
    label = f"ensemble ({networks} network{'s' if networks != 1 else ''})"
    single = f"best single trial {built.best_trial}"
    width = max(len(label), len(single))
    typer.echo(f"{label.ljust(width)}  val_{kind} {_score(built.val_score)}  "
               f"test_{kind} {_score(built.test_score)}")
    typer.echo(f"{single.ljust(width)}  val_{kind} {_score(built.best_val)}  "
               f"test_{kind} {_score(built.best_test)}")
    if output is not None:
        save_ensemble(built.ensemble, output)
        _record_ensemble(run_dir, output, built.ensemble.manifest)
        typer.echo(f"wrote {output} ({output.stat().st_size / 1024:.0f} KiB); use it with: "
                   f"hpsearch predict {output} INPUT.csv")


def _read_input(path: Path, feature_names: list[str], n_features: int) -> Any:
    """Features (N, D) from a CSV (matched by header names, or by position without a header)
    or an NPZ (array `X`, or its only array; by position)."""
    import csv
    import zipfile

    import numpy as np

    if not path.is_file():
        raise _error(f"{path}: no such file")
    if path.suffix.lower() == ".npz":
        try:
            loaded = np.load(path, allow_pickle=False)
            if not hasattr(loaded, "files"):
                raise _error(f"{path}: a single .npy array; save features with "
                             "numpy.savez(path, X=X)")
            with loaded as stored:
                names = list(stored.files)
                if "X" not in names and len(names) != 1:
                    raise _error(f"{path}: expected an array named X (or a single array); "
                                 f"found {', '.join(names) or 'none'}")
                X = stored["X" if "X" in names else names[0]]
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
            raise _error(f"{path}: not a readable .npz: {' '.join(str(err).split())}") from None
        X = X.reshape(len(X), -1) if X.ndim == 1 and n_features == 1 else X
        if X.ndim != 2 or X.shape[1] != n_features:
            raise _error(f"{path}: X has shape {X.shape}; the ensemble expects "
                         f"(n_samples, {n_features})")
        return X
    if path.suffix.lower() != ".csv":
        raise _error(f"{path}: INPUT must be a .csv or .npz file")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.reader(handle) if any(cell.strip() for cell in row)]
    if not rows:
        raise _error(f"{path}: empty file")

    def number(cell: str) -> float | None:
        try:
            return float(cell)
        except ValueError:
            return None

    first = [cell.strip() for cell in rows[0]]
    has_header = any(number(cell) is None for cell in first)
    if has_header and feature_names:
        missing = [name for name in feature_names if name not in first]
        if missing:
            shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more"
                                              if len(missing) > 5 else "")
            raise _error(f"{path}: missing feature column{'s' if len(missing) > 1 else ''} "
                         f"{shown}")
        columns = [first.index(name) for name in feature_names]
        body, offset = rows[1:], 2
    else:
        body, offset = (rows[1:], 2) if has_header else (rows, 1)
        if len(first) != n_features:
            raise _error(f"{path}: {len(first)} columns; the ensemble expects {n_features} "
                         "features (matched by position)")
        columns = list(range(n_features))
    X = np.empty((len(body), len(columns)), dtype=np.float64)
    for i, row in enumerate(body):
        if len(row) != len(first):
            raise _error(f"{path}: line {i + offset}: expected {len(first)} cells, found "
                         f"{len(row)}")
        for j, column in enumerate(columns):
            value = number(row[column])
            if value is None:
                raise _error(f"{path}: line {i + offset}, column {column + 1}: not a number: "
                             f"{row[column]!r}")
            X[i, j] = value
    return X


@app.command()
@user_errors
def predict(
    ensemble_file: Annotated[Path, typer.Argument(help="An ensemble file from hpsearch ensemble -o.")],
    input_file: Annotated[Path, typer.Argument(help="Features: a CSV (with a header: columns matched by name; without: by position) or an NPZ (array X).")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write the CSV here instead of stdout.")] = None,
) -> None:
    """Predict with an ensemble file: proba_<label> columns, then prediction.

    Example: hpsearch predict digits.npz new_samples.csv -o predictions.csv
    """
    import csv
    import io

    from hpsearch.ensemble_file import load_ensemble

    model = load_ensemble(ensemble_file)
    X = _read_input(input_file, model.feature_names, model.n_features)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    prediction = model.predict(X)
    if model.task == "regression":
        values = prediction.reshape(len(X), -1)
        names = ["prediction"] if prediction.ndim == 1 else \
            [f"prediction_{j}" for j in range(values.shape[1])]
        writer.writerow(names)
        writer.writerows([[repr(float(v)) for v in row] for row in values])
    else:
        classes = model.classes
        proba = model.predict_proba(X)
        writer.writerow([f"proba_{label}" for label in classes] + ["prediction"])
        for p, label in zip(proba, prediction, strict=True):
            shown = ";".join(str(c) for c, on in zip(classes, label, strict=True) if on) \
                if model.task == "multilabel" else str(label)
            writer.writerow([repr(float(v)) for v in p] + [shown])
    if output is None:
        typer.echo(buffer.getvalue(), nl=False)
    else:
        output.write_text(buffer.getvalue(), encoding="utf-8")
        typer.echo(f"wrote {len(X)} predictions to {output}", err=True)


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

    _open_run(run_dir)
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
    from hpsearch.optuna_export import export_to_optuna

    _open_run(run_dir)
    done = export_to_optuna(run_dir, storage_url, study_name=study_name, overwrite=overwrite)
    verb = "replaced" if done.overwritten else "created"
    typer.echo(f"{verb} Optuna study {done.study_name!r} ({done.direction}) in {storage_url} "
               f"with {done.added} trials")
    if done.skipped:
        typer.echo(f"  skipped {len(done.skipped)} running trial(s): "
                   + ", ".join(str(n) for n in done.skipped))
    typer.echo(f"view it with: optuna-dashboard {storage_url}")


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
