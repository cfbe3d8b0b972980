"""The sections of the study report: each builder draws its figure (if it can) and returns a
`Section`; the page (`hpsearch.report.page`) lays them out.

Contract:
- `Section(id, title, figure=None, body="", omitted=None, shown=True)`: `figure` is the file
  name of a PNG in the output folder, `body` trusted HTML (every value in it escaped here),
  `omitted` the reason a section could not be drawn (then it keeps its heading and says why;
  with `shown=False` it is only listed under what the page leaves out).
- `build_sections(run, folder, top) -> list[Section]` gives, in page order, the sections with
  ids `summary`, `history`, `parameters`, `parallel`, `importance`, `curves`,
  `update-ratios`, `weights`, `ensembles`, writing each drawn figure into `folder` (one of
  `FIGURES`). For an objective that records no curves and no networks (a Python one), the
  three network sections are one `network` line under what the page leaves out. The
  ensembles table has one column per score. The page adds the last one, `omitted`, from the
  sections' reasons.
- `table(header, rows)` and `fmt(value)` are the page's HTML table and number format.
"""

from __future__ import annotations

import dataclasses
import html
import json
import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hpsearch.report.figures import (
    RunData,
    curves_figure,
    history_figure,
    image_shape,
    parallel_figure,
    parameters_figure,
    update_ratios_figure,
    weights_figure,
)
from hpsearch.report.importance import importance_figure, importances
from hpsearch.trial import FrozenTrial, TrialState

__all__ = ["FIGURES", "Section", "build_sections", "table", "fmt"]

logger = logging.getLogger("hpsearch")

FIGURES = ("history.png", "parameters.png", "parallel_coordinates.png", "importance.png",
           "learning_curves.png", "update_ratios.png", "first_layer_weights.png")

NONE_COMPLETE = "the study has no complete trial with a value"


@dataclasses.dataclass
class Section:
    """One section of the page (see the module docstring)."""

    id: str
    title: str
    figure: str | None = None   # file name
    body: str = ""              # HTML
    omitted: str | None = None  # why the figure is not there
    shown: bool = True          # False: only listed in "What this page leaves out"


# ----------------------------------------------------------------------------- HTML pieces
def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """An HTML table (escaped cells) in a horizontally scrolling box."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                   for row in rows)
    return (f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody>'
            "</table></div>")


def fmt(value: Any) -> str:
    """A table cell: '-' for None and non-finite floats, 4 significant digits for floats."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def draw(section: Section, folder: Path, name: str, make: Callable[[], Any]) -> Section:
    """Save the figure `make()` returns as `folder/name` and show it in `section`."""
    make().savefig(folder / name, format="png")
    section.figure = name
    return section


# ----------------------------------------------------------------------------- summary
def summary_section(run: RunData, rows: int = 10) -> Section:
    """Counts by state, the best trial, the top `rows` trials and the failed ones."""
    counts: dict[str, int] = {}
    for t in run.trials:
        counts[str(t.state)] = counts.get(str(t.state), 0) + 1
    facts = [("run folder", str(run.path)), ("direction", f"{run.direction} {run.metric}"),
             ("strategy", f"{run.study.strategy_name} (seed {run.study.seed})"),
             ("trials", ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "none")]
    if run.ranked:
        best = run.ranked[0]
        facts.append(("best", f"trial {best.number}: {run.metric} = {best.value:.6g}"))
    body = "<dl>" + "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>"
                            for k, v in facts) + "</dl>"
    return Section("summary", "Summary", body=body + _top_table(run, rows)
                   + _paused_table(run, rows) + _lineage_table(run, rows)
                   + _failed_table(run, rows))


def _top_table(run: RunData, rows: int) -> str:
    ranked = run.ranked[:rows]
    if not ranked:
        return ""
    metric_names = [m for m in sorted({m for t in ranked for m in t.metrics})
                    if m != run.metric]
    header = ["rank", "trial", run.metric, *run.space, *metric_names, "seconds"]
    cells = [[str(i + 1), str(t.number), fmt(t.value),
              *(fmt(t.params.get(n)) for n in run.space),
              *(fmt(t.metrics.get(m)) for m in metric_names), fmt(t.duration_s)]
             for i, t in enumerate(ranked)]
    return f"<h3>Top {len(ranked)} trials</h3>" + table(header, cells)


def _paused_table(run: RunData, rows: int) -> str:
    """The trials a scheduler paused (it may promote them): where they stopped."""
    paused = [t for t in run.trials if t.state is TrialState.PAUSED]
    if not paused:
        return ""
    cells = [[str(t.number), str(max(t.intermediate, default=0)), str(t.steps), fmt(t.value)]
             for t in paused[:rows]]
    more = f" (first {rows} of {len(paused)})" if len(paused) > rows else ""
    return (f"<h3>Paused trials{more}</h3>"
            + table(["trial", "paused at step", "steps trained", f"{run.metric} there"], cells))


def _lineage_table(run: RunData, rows: int) -> str:
    """Population-based training's copies: each trial's parent and the step it started from."""
    copies = [t for t in run.trials if t.parent is not None]
    if not copies:
        return ""
    by_number = {t.number: t for t in run.trials}

    def line(trial: FrozenTrial) -> str:
        chain, seen = [str(trial.number)], {trial.number}
        while trial.parent is not None and trial.parent in by_number \
                and trial.parent not in seen:
            trial = by_number[trial.parent]
            chain.append(str(trial.number))
            seen.add(trial.number)
        return " <- ".join(chain)

    best = {t.number for t in run.ranked[:rows]}
    shown = sorted(copies, key=lambda t: (t.number not in best, t.number))[:rows]
    # it trained `steps` steps up to its last report, so it started `steps` before it
    cells = [[str(t.number), str(t.parent), str(max(max(t.intermediate, default=0) - t.steps, 0)),
              str(t.state), line(t)] for t in shown]
    more = f" (first {rows} of {len(copies)})" if len(copies) > rows else ""
    return (f"<h3>Lineage: trials copied from another's checkpoint{more}</h3>"
            + table(["trial", "parent", "from step", "state", "lineage"], cells))


def _failed_table(run: RunData, rows: int) -> str:
    failed = [t for t in run.trials if t.state in (TrialState.FAILED, TrialState.INTERRUPTED)]
    if not failed:
        return ""
    cells = [[str(t.number), str(t.state),
              (t.error or "").strip().splitlines()[-1][:160] if t.error else "-"]
             for t in failed[:rows]]
    more = f" (first {rows} of {len(failed)})" if len(failed) > rows else ""
    return (f"<h3>Failed and interrupted trials{more}</h3>"
            + table(["trial", "state", "error (last line)"], cells))


# ----------------------------------------------------------------------------- figures
def history_section(run: RunData, folder: Path) -> Section:
    section = Section("history", "Optimisation history")
    if not run.trials:
        section.omitted = "no history: the study has no trial yet"
        return section
    return draw(section, folder, "history.png", lambda: history_figure(run))


def parameter_sections(run: RunData, folder: Path) -> list[Section]:
    """The hyperparameters against the value, and the parallel coordinates."""
    parameters = Section("parameters", "Hyperparameters against the value")
    parallel = Section("parallel", "Parallel coordinates")
    if not run.ranked:
        parameters.omitted = parallel.omitted = f"not drawn: {NONE_COMPLETE}"
        return [parameters, parallel]
    return [draw(parameters, folder, "parameters.png", lambda: parameters_figure(run)),
            draw(parallel, folder, "parallel_coordinates.png", lambda: parallel_figure(run))]


def importance_section(run: RunData, folder: Path) -> Section:
    """fANOVA importances; a failure of Optuna's evaluator only costs this section."""
    section = Section("importance", "Hyperparameter importance")
    if len(run.ranked) < 2:
        section.omitted = (f"no importances: they need at least 2 complete trials, the "
                           f"study has {len(run.ranked)}")
        return section
    if len({tuple(sorted(map(repr, t.params.items()))) for t in run.ranked}) < 2:
        section.omitted = "no importances: every complete trial has the same parameters"
        return section
    try:
        scores = importances(run)
    except Exception as err:  # an auxiliary figure must not cost the whole report
        logger.warning("hyperparameter importance failed: %s", err)
        section.omitted = ("no importances: Optuna's fANOVA failed ("
                           f"{type(err).__name__}: {' '.join(str(err).split())[:200]})")
        return section
    section.body = ("<p>fANOVA (Optuna's <code>FanovaImportanceEvaluator</code>, "
                    f"seed 0) over the {len(run.ranked)} complete trials: the share "
                    "of the value's variance each hyperparameter explains. With few "
                    "trials treat it as a hint.</p>")
    return draw(section, folder, "importance.png", lambda: importance_figure(scores))


def top_artifacts(run: RunData, top: int, needed: str) -> list[tuple[FrozenTrial, dict]]:
    """(trial, artifacts) of the `top` best trials whose artifacts hold `needed`."""
    out = []
    for trial in run.ranked[:top]:  # only the best: artifacts can be large
        arrays = run.study.artifacts(trial.number)
        if needed in arrays:
            out.append((trial, arrays))
    return out


def curve_sections(run: RunData, folder: Path, top: int) -> list[Section]:
    """The learning curves and the update/weight ratios of the `top` best trials."""
    curves = Section("curves", "Learning curves")
    ratios = Section("update-ratios", "Update/weight ratios")
    chosen = top_artifacts(run, top, "curve.loss")
    if not chosen:
        reason = (NONE_COMPLETE if not run.ranked
                  else "the objective returned none (only the built-in network objective "
                       "records curves)")
        curves.omitted = f"no learning curves: {reason}"
        ratios.omitted = f"no update/weight ratios: {reason}"
        return [curves, ratios]
    draw(curves, folder, "learning_curves.png", lambda: curves_figure(run, chosen))
    with_ratios = [(t, a) for t, a in chosen
                   if any(k.startswith("curve.update_ratio.") for k in a)]
    if with_ratios:
        draw(ratios, folder, "update_ratios.png", lambda: update_ratios_figure(with_ratios))
    else:
        ratios.omitted = "no update/weight ratios: the objective recorded none"
    return [curves, ratios]


def first_layer(arrays: dict) -> tuple[str, np.ndarray] | None:
    """(layer name, weights (n_inputs, n_units)) of member 0's first layer, if saved."""
    names = sorted(k for k in arrays if k.startswith("member0.param.") and k.endswith(".w"))
    for preferred in ("member0.param.hidden1.w", "member0.param.output.w"):
        if preferred in names:
            return preferred.removeprefix("member0.param.").removesuffix(".w"), arrays[preferred]
    return None


def _feature_names(run: RunData) -> list[str]:
    data = run.path / "data.npz"
    if data.is_file():
        with np.load(data, allow_pickle=False) as stored:
            if "feature_names" in stored.files:
                return [str(n) for n in stored["feature_names"]]
    return []


def weights_section(run: RunData, folder: Path) -> Section:
    """The best trial's first-layer weights as images, when its inputs are pixels."""
    section = Section("weights", "First-layer weights")
    best = run.ranked[0] if run.ranked else None
    if best is None:
        section.omitted = "no first-layer weights: the study has no complete trial"
        return section
    arrays = run.study.artifacts(best.number)
    found = first_layer(arrays)
    if found is None:
        section.omitted = ("no first-layer weight pictures: the objective saved no network "
                           "parameters (only the built-in network objective does)")
        return section
    layer, weights = found
    config = json.loads(str(arrays.get("member0.config", "{}")))
    preprocess = str(config.get("preprocess") or "")
    shape = image_shape(_feature_names(run), weights.shape[0])
    if shape is None:
        section.omitted = (f"no first-layer weight pictures: the {weights.shape[0]} input "
                           "features are not the pixels of an image")
    elif "pca" in preprocess or "whiten" in preprocess:
        section.omitted = (f"no first-layer weight pictures: the network's inputs are "
                           f"{preprocess} components, not pixels")
    else:
        draw(section, folder, "first_layer_weights.png",
             lambda: weights_figure(best, weights, shape, layer))
        section.body = (f"<p>The best trial ({best.number}): each tile is one unit's incoming "
                        f"weights over the {shape[0]}×{shape[1]} input image, after "
                        f"{html.escape(preprocess or 'no')} preprocessing. Smooth, "
                        "stroke-like templates are a good sign; uniform noise suggests too "
                        "little training or regularisation.</p>")
    return section


# ----------------------------------------------------------------------------- ensembles
def _scores(table: Any) -> dict[str, float]:
    return {k: float(v) for k, v in (table or {}).items()
            if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "trial"}


def _ensemble_rows(manifests: list[tuple[str, dict]]) -> tuple[list[str], list[list[str]]]:
    """One row per exported ensemble, one column per score (the ensemble's, then the best
    single trial's), so that the numbers line up."""
    def single(manifest: dict) -> dict:
        best = (manifest.get("metrics") or {}).get("best_single")
        return best if isinstance(best, dict) else {}

    own = sorted({k for _, m in manifests for k in _scores(m.get("metrics"))})
    theirs = sorted({k for _, m in manifests for k in _scores(single(m))})
    header = ["ensemble", "method", "members", "trials", *own, "best single trial",
              *(f"single {k}" for k in theirs), "note"]
    rows = []
    for name, manifest in manifests:
        members = manifest.get("members") or []
        trials = sorted({m.get("trial") for m in members if isinstance(m, dict)},
                        key=lambda n: (n is None, n))
        scores, best = _scores(manifest.get("metrics")), single(manifest)
        rows.append([name, str(manifest.get("method", "?")), str(len(members)),
                     ", ".join(str(n) for n in trials),
                     *(f"{scores[k]:.4f}" if k in scores else "-" for k in own),
                     f"trial {best['trial']}" if "trial" in best else "-",
                     *(f"{_scores(best)[k]:.4f}" if k in _scores(best) else "-"
                       for k in theirs),
                     str(manifest.get("note") or "")])
    return header, rows


def ensemble_section(run: RunData) -> Section:
    """A table of the ensemble manifests recorded in `<run>/ensembles/*.json`."""
    section = Section("ensembles", "Exported ensembles")
    manifests = []
    for path in sorted((run.path / "ensembles").glob("*.json")):
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if isinstance(manifest, dict) and "members" in manifest:
            manifests.append((path.stem, manifest))
    if not manifests:
        section.omitted = ("no ensemble table: no ensemble export is recorded in this run "
                           "folder (looked for ensembles/*.json in it)")
        return section
    section.body = table(*_ensemble_rows(manifests))
    return section


# ----------------------------------------------------------------------------- all of them
def build_sections(run: RunData, folder: Path, top: int) -> list[Section]:
    """Every section in page order, drawing the figures into `folder`."""
    network = [*curve_sections(run, folder, top), weights_section(run, folder)]
    if run.ranked and not any(s.figure for s in network) and not top_artifacts(
            run, top, "member0.config"):
        # an objective without networks (a Python one): one line, not three empty sections
        network = [Section("network", "Learning curves, update ratios, first-layer weights",
                           omitted="drawn for the built-in network objective only; this "
                                   "objective recorded no curves or networks",
                           shown=False)]
    return [summary_section(run), history_section(run, folder),
            *parameter_sections(run, folder), importance_section(run, folder),
            *network, ensemble_section(run)]
