"""Commands on ensembles: `ensemble` (build and export) and `predict`."""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from hpsearch.cli.app import app
from hpsearch.cli.common import error, user_errors


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
    bags: Annotated[int | None, typer.Option("--bags", help="greedy: selections on random subsets of the candidates, counts added up (default 1: plain greedy).")] = None,
    bag_fraction: Annotated[float | None, typer.Option("--bag-fraction", help="greedy: the share of the candidates in each bag (default 0.5 with --bags > 1).")] = None,
    trial: Annotated[int | None, typer.Option("--trial", help="snapshot/parameters: the trial whose checkpoints to use (snapshot default: the best).")] = None,
    refit: Annotated[bool, typer.Option("--refit", help="predictions/greedy: once chosen on validation, train every member network again (same keywords and seed) on the train and validation rows together; the file holds those networks.")] = False,
    n_jobs: Annotated[int, typer.Option("--n-jobs", help="--refit: networks trained at once, in processes (-1: every core); the result does not depend on it.")] = 1,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write the ensemble to this .npz file.")] = None,
    from_front: Annotated[bool, typer.Option("--from-front", help="Candidates are the Pareto front of a multi-objective study (ranked by its first metric).")] = False,
) -> None:
    """Build an ensemble from a run's trials, print its members and scores, save it.

    Example: hpsearch ensemble runs/digits_mlp --method greedy -o digits.npz
    """
    from hpsearch.ensembles import build_ensemble, save_ensemble

    if not run_dir.exists():
        raise error(f"{run_dir}: no such run folder")
    built = build_ensemble(run_dir, method.value, top_k=top_k, size=size, trial=trial,
                           bags=bags, bag_fraction=bag_fraction, refit=refit, n_jobs=n_jobs,
                           progress=lambda line: typer.echo(line, err=True),
                           from_front=from_front)
    kind = built.metric
    header = ["trial", "member", f"val_{kind}", f"test_{kind}", "weight", "params"]
    cells = [[str(r["trial"]), str(r["member"]), _score(r["val"]), _score(r["test"]),
              f"{r['weight']:.3f}", str(r["params"])] for r in built.rows]
    if refit:
        header.insert(4, f"refit_test_{kind}")
        for row, line in zip(built.rows, cells, strict=True):
            line.insert(4, _score(row["refit_test"]))
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(header)]
    for line in [header, *cells]:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
    networks = len(built.ensemble)
    typer.echo(f"\n{method.value}: {built.note}")
    label = f"ensemble ({networks} network{'s' if networks != 1 else ''})"
    single = f"best single trial {built.best_trial}"
    width = max(len(label), len(single))
    # With refit, test_<m> is the study's networks' score and the refitted one follows it.
    for name, val, test, refitted in (
            (label, built.val_score, built.test_before_refit if refit else built.test_score,
             built.test_score),
            (single, built.best_val, built.best_test, built.best_refit_test)):
        line = f"{name.ljust(width)}  val_{kind} {_score(val)}  test_{kind} {_score(test)}"
        typer.echo(line + (f"  refit test_{kind} {_score(refitted)}" if refit else ""))
    typer.echo(f"ensemble size {built.n_params:,} parameters, "
               f"{built.predict_ms:.3g} ms per 1,000 predictions (one thread)")
    if output is not None:
        save_ensemble(built.ensemble, output)
        _record_ensemble(run_dir, output, built.ensemble.manifest)
        typer.echo(f"wrote {output} ({output.stat().st_size / 1024:.0f} KiB); use it with: "
                   f"hpsearch predict {output} INPUT.csv")


def _read_npz(path: Path, n_features: int) -> Any:
    """Features (N, D) from an NPZ: array `X`, or its only array (by position)."""
    import zipfile

    import numpy as np

    try:
        loaded = np.load(path, allow_pickle=False)
        if not hasattr(loaded, "files"):
            raise error(f"{path}: a single .npy array; save features with "
                         "numpy.savez(path, X=X)")
        with loaded as stored:
            names = list(stored.files)
            if "X" not in names and len(names) != 1:
                raise error(f"{path}: expected an array named X (or a single array); "
                             f"found {', '.join(names) or 'none'}")
            X = stored["X" if "X" in names else names[0]]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise error(f"{path}: not a readable .npz: {' '.join(str(err).split())}") from None
    X = X.reshape(len(X), -1) if X.ndim == 1 and n_features == 1 else X
    if X.ndim != 2 or X.shape[1] != n_features:
        raise error(f"{path}: X has shape {X.shape}; the ensemble expects "
                     f"(n_samples, {n_features})")
    return X


def _number(cell: str) -> float | None:
    try:
        return float(cell)
    except ValueError:
        return None


def _csv_columns(path: Path, first: list[str], feature_names: list[str], n_features: int
                 ) -> tuple[list[int], bool]:
    """The columns holding the features, in the ensemble's order, and whether the first row
    is a header: matched by name when both have names, else by position."""
    has_header = any(_number(cell) is None for cell in first)
    if has_header and feature_names:
        missing = [name for name in feature_names if name not in first]
        if missing:
            shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more"
                                              if len(missing) > 5 else "")
            raise error(f"{path}: missing feature column{'s' if len(missing) > 1 else ''} "
                         f"{shown}")
        return [first.index(name) for name in feature_names], True
    if len(first) != n_features:
        raise error(f"{path}: {len(first)} columns; the ensemble expects {n_features} "
                     "features (matched by position)")
    return list(range(n_features)), has_header


def _read_csv(path: Path, feature_names: list[str], n_features: int) -> Any:
    """Features (N, D) from a CSV (matched by header names, or by position without one)."""
    import csv

    import numpy as np

    with path.open(newline="", encoding="utf-8") as handle:
        rows = [row for row in csv.reader(handle) if any(cell.strip() for cell in row)]
    if not rows:
        raise error(f"{path}: empty file")
    first = [cell.strip() for cell in rows[0]]
    columns, has_header = _csv_columns(path, first, feature_names, n_features)
    body, offset = (rows[1:], 2) if has_header else (rows, 1)
    X = np.empty((len(body), len(columns)), dtype=np.float64)
    for i, row in enumerate(body):
        if len(row) != len(first):
            raise error(f"{path}: line {i + offset}: expected {len(first)} cells, found "
                         f"{len(row)}")
        for j, column in enumerate(columns):
            value = _number(row[column])
            if value is None:
                raise error(f"{path}: line {i + offset}, column {column + 1}: not a number: "
                             f"{row[column]!r}")
            X[i, j] = value
    return X


def _read_input(path: Path, feature_names: list[str], n_features: int) -> Any:
    """Features (N, D) from a CSV (matched by header names, or by position without a header)
    or an NPZ (array `X`, or its only array; by position); a cell that is NaN, inf or beyond
    float32's range is refused naming its row and column, as data sets are."""
    import numpy as np

    from hpsearch.objectives.mlp.data import NonFiniteError, check_finite

    if not path.is_file():
        raise error(f"{path}: no such file")
    if path.suffix.lower() == ".npz":
        X = _read_npz(path, n_features)
    elif path.suffix.lower() != ".csv":
        raise error(f"{path}: INPUT must be a .csv or .npz file")
    else:
        X = _read_csv(path, feature_names, n_features)
    array = np.asarray(X)
    names = list(feature_names) if len(feature_names) == array.shape[-1] else [
        str(j) for j in range(array.shape[-1])]
    try:
        check_finite(array, str(path), rows=[f"row {k + 1}" for k in range(len(array))],
                     columns=names)
    except NonFiniteError as err:
        raise error(str(err)) from None
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

    from hpsearch.ensembles import load_ensemble

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
