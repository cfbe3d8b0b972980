"""The study report: PNG figures and one self-contained HTML page about a run folder.

Contract:
- `write_report(run_dir, out_dir=None, top=3) -> Report` reads the run folder (read-only; it
  works during a live run) and writes into `out_dir` (default `<run_dir>/report`, created):
  `report.html` and the figures it shows, each also a PNG file:
  `history.png` (each trial's value and the best so far), `parameters.png` (each
  hyperparameter against the value: log x axes for log dimensions, box plus strip plots for
  categoricals), `parallel_coordinates.png`, `importance.png` (Optuna's fANOVA evaluator,
  `optuna.importance.get_param_importances`, on an in-memory Optuna study of the complete
  trials), `learning_curves.png` (loss per iteration, train/val score per epoch of the `top`
  best trials), `update_ratios.png` (update/weight ratio per layer and epoch, log axis, with
  the seed's 1e-3 guide line) and `first_layer_weights.png` (the best trial's first-layer
  weights, one tile per hidden unit, when the inputs are image pixels: features named
  `pixel_<row>_<col>`, as for digits, or `pixel<k>` with a square count).
- The page has a summary (counts by state, the best trial, the top trials table, failed
  trials with their errors), one section per figure (ids `summary`, `history`, `parameters`,
  `parallel`, `importance`, `curves`, `update-ratios`, `weights`, `ensembles`, `omitted`), and
  the ensemble table when the run folder holds records of exported ensembles
  (`<run_dir>/ensembles/*.json`, ensemble-file manifests). A section that cannot be drawn
  (no complete trial, one trial only, an objective that returned no curves, inputs that are
  not images, no ensemble exported) keeps its heading and says why; `Report.omitted` lists
  the same (section id, reason) pairs.
- Self-contained: images are base64 `data:` URIs, styles and the one small script are
  inline, and a Content-Security-Policy meta tag forbids every network load. The script
  marks `<html data-render="ok">` once every image decoded, or `data-render="error"` with the
  errors in `data-errors` (so a headless browser's `--dump-dom` shows whether it rendered).
- Figures are drawn on matplotlib `Figure` objects with the Agg canvas (no pyplot state);
  when pyplot has not been imported yet, the Agg backend is also selected with
  `matplotlib.use("Agg")`, so nothing ever needs a display.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import logging
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hpsearch.report.figures import (
    RunData,
    curves_figure,
    history_figure,
    image_shape,
    importance_figure,
    importances,
    metric_name,
    parallel_figure,
    parameters_figure,
    update_ratios_figure,
    weights_figure,
)
from hpsearch.trial import FrozenTrial, TrialState

__all__ = ["Report", "write_report"]

logger = logging.getLogger("hpsearch")

FIGURES = ("history.png", "parameters.png", "parallel_coordinates.png", "importance.png",
           "learning_curves.png", "update_ratios.png", "first_layer_weights.png")


@dataclasses.dataclass(frozen=True)
class Report:
    """What `write_report` wrote: the page, the figures, and the sections it left out."""

    html: Path
    figures: tuple[Path, ...]
    omitted: tuple[tuple[str, str], ...]


# ----------------------------------------------------------------------------- sections
@dataclasses.dataclass
class _Section:
    id: str
    title: str
    figure: str | None = None   # file name
    body: str = ""              # HTML
    omitted: str | None = None  # why the figure is not there


def _save(figure: Any, folder: Path, name: str) -> Path:
    path = folder / name
    figure.savefig(path, format="png")
    return path


def _top_artifacts(run: RunData, top: int, needed: str) -> list[tuple[FrozenTrial, dict]]:
    out = []
    for trial in run.ranked[:top]:  # only the best: artifacts can be large
        arrays = run.study.artifacts(trial.number)
        if needed in arrays:
            out.append((trial, arrays))
    return out


def _first_layer(arrays: dict) -> tuple[str, np.ndarray] | None:
    names = sorted(k for k in arrays if k.startswith("member0.param.") and k.endswith(".w"))
    for preferred in ("member0.param.hidden1.w", "member0.param.output.w"):
        if preferred in names:
            return preferred.removeprefix("member0.param.").removesuffix(".w"), arrays[preferred]
    return None


def _weights_section(run: RunData, folder: Path) -> _Section:
    section = _Section("weights", "First-layer weights")
    best = run.ranked[0] if run.ranked else None
    if best is None:
        section.omitted = "no first-layer weights: the study has no complete trial"
        return section
    arrays = run.study.artifacts(best.number)
    found = _first_layer(arrays)
    if found is None:
        section.omitted = ("no first-layer weight pictures: the objective saved no network "
                           "parameters (only the built-in network objective does)")
        return section
    layer, weights = found
    data = run.path / "data.npz"
    names: list[str] = []
    if data.is_file():
        with np.load(data, allow_pickle=False) as stored:
            if "feature_names" in stored.files:
                names = [str(n) for n in stored["feature_names"]]
    config = json.loads(str(arrays.get("member0.config", "{}")))
    preprocess = str(config.get("preprocess") or "")
    shape = image_shape(names, weights.shape[0])
    if shape is None:
        section.omitted = (f"no first-layer weight pictures: the {weights.shape[0]} input "
                           "features are not the pixels of an image")
    elif "pca" in preprocess or "whiten" in preprocess:
        section.omitted = (f"no first-layer weight pictures: the network's inputs are "
                           f"{preprocess} components, not pixels")
    else:
        _save(weights_figure(best, weights, shape, layer), folder, "first_layer_weights.png")
        section.figure = "first_layer_weights.png"
        section.body = (f"<p>The best trial ({best.number}): each tile is one unit's incoming "
                        f"weights over the {shape[0]}×{shape[1]} input image, after "
                        f"{html.escape(preprocess or 'no')} preprocessing. Smooth, "
                        "stroke-like templates are a good sign; uniform noise suggests too "
                        "little training or regularisation.</p>")
    return section


def _ensemble_section(run: RunData) -> _Section:
    section = _Section("ensembles", "Exported ensembles")
    records = sorted((run.path / "ensembles").glob("*.json"))
    rows = []
    for path in records:
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if not isinstance(manifest, dict) or "members" not in manifest:
            continue
        metrics = manifest.get("metrics") or {}
        scores = " ".join(f"{k} {v:.4f}" for k, v in metrics.items()
                          if isinstance(v, (int, float)))
        members = manifest.get("members") or []
        trials = sorted({m.get("trial") for m in members if isinstance(m, dict)},
                        key=lambda n: (n is None, n))
        single = metrics.get("best_single") if isinstance(metrics.get("best_single"),
                                                           dict) else {}
        single_text = " ".join(f"{k} {v:.4f}" for k, v in single.items()
                               if k != "trial" and isinstance(v, (int, float)))
        if "trial" in single:
            single_text = f"trial {single['trial']}: {single_text}"
        rows.append([path.stem, str(manifest.get("method", "?")), str(len(members)),
                     ", ".join(str(n) for n in trials), scores, single_text or "-",
                     str(manifest.get("note") or "")])
    if not rows:
        section.omitted = ("no ensemble table: no ensemble export is recorded in this run "
                           "folder (looked for ensembles/*.json in it)")
        return section
    section.body = _table(["ensemble", "method", "members", "trials", "ensemble scores",
                           "best single trial", "note"], rows)
    return section


# ----------------------------------------------------------------------------- HTML
def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                   for row in rows)
    return (f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody>'
            "</table></div>")


def _fmt(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _summary(run: RunData, rows: int = 10) -> _Section:
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
    ranked = run.ranked[:rows]
    if ranked:
        metric_names = [m for m in sorted({m for t in ranked for m in t.metrics})
                        if m != run.metric]
        header = ["rank", "trial", run.metric, *run.space, *metric_names, "seconds"]
        table = [[str(i + 1), str(t.number), _fmt(t.value),
                  *(_fmt(t.params.get(n)) for n in run.space),
                  *(_fmt(t.metrics.get(m)) for m in metric_names), _fmt(t.duration_s)]
                 for i, t in enumerate(ranked)]
        body += f"<h3>Top {len(ranked)} trials</h3>" + _table(header, table)
    failed = [t for t in run.trials if t.state in (TrialState.FAILED, TrialState.INTERRUPTED)]
    if failed:
        table = [[str(t.number), str(t.state),
                  (t.error or "").strip().splitlines()[-1][:160] if t.error else "-"]
                 for t in failed[:rows]]
        more = f" (first {rows} of {len(failed)})" if len(failed) > rows else ""
        body += (f"<h3>Failed and interrupted trials{more}</h3>"
                 + _table(["trial", "state", "error (last line)"], table))
    return _Section("summary", "Summary", body=body)


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1250px; color: #222;
       padding: 0 1em; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.55em; text-align: right; }
th { background: #f0f0f0; } td:first-child, th:first-child { text-align: left; }
dl { display: grid; grid-template-columns: max-content auto; gap: 0.2em 1em; }
dt { font-weight: bold; } dd { margin: 0; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
.scroll { overflow-x: auto; }
.omitted { color: #8a5a00; background: #fff7e0; padding: 0.4em 0.7em; }
nav a { margin-right: 0.8em; }
"""

# Marks <html data-render> so a headless browser's DOM dump shows whether the page rendered.
_SCRIPT = """
(function () {
  var errors = [];
  function mark() {
    var root = document.documentElement;
    root.setAttribute("data-render", errors.length ? "error" : "ok");
    if (errors.length) { root.setAttribute("data-errors", errors.join(" | ")); }
  }
  window.addEventListener("error", function (event) {
    errors.push(event.message || ("failed to load " + (event.target && event.target.tagName)));
  }, true);
  window.addEventListener("load", function () {
    var images = document.images;
    for (var i = 0; i < images.length; i++) {
      if (!images[i].complete || images[i].naturalWidth === 0) {
        errors.push("image " + (images[i].alt || i) + " did not decode");
      }
    }
    mark();
  });
})();
"""

_CSP = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        "script-src 'unsafe-inline'; base-uri 'none'; form-action 'none'")


def _page(run: RunData, sections: list[_Section], folder: Path) -> str:
    name = html.escape(run.path.resolve().name)
    parts = []
    for s in sections:
        block = f'<section id="{s.id}"><h2>{html.escape(s.title)}</h2>'
        if s.omitted:
            block += f'<p class="omitted">{html.escape(s.omitted)}</p>'
        block += s.body
        if s.figure:
            data = base64.b64encode((folder / s.figure).read_bytes()).decode("ascii")
            block += (f'<p><img src="data:image/png;base64,{data}" '
                      f'alt="{html.escape(s.title)}" title="{html.escape(s.figure)}"></p>')
        parts.append(block + "</section>")
    left_out = [s for s in sections if s.omitted]
    omitted = '<section id="omitted"><h2>What this page leaves out</h2>'
    omitted += ("<ul>" + "".join(f"<li><strong>{html.escape(s.title)}</strong>: "
                                 f"{html.escape(s.omitted or '')}</li>" for s in left_out)
                + "</ul>") if left_out else "<p>Nothing: every section could be drawn.</p>"
    parts.append(omitted + "</section>")
    nav = "".join(f'<a href="#{s.id}">{html.escape(s.title)}</a>' for s in sections)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    return (f'<!DOCTYPE html>\n<html lang="en" data-render="pending"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>hpsearch report: {name}</title><style>{_STYLE}</style>"
            f"<script>{_SCRIPT}</script></head>\n<body><h1>hpsearch report: {name}</h1>"
            f"<p>{len(run.trials)} trials; written {stamp} by <code>hpsearch report</code>."
            f"</p><nav>{nav}</nav>\n" + "\n".join(parts) + "\n</body></html>\n")


# ----------------------------------------------------------------------------- entry point
def _draw(sections: list[_Section], section: _Section, folder: Path, name: str,
          make: Any) -> None:
    _save(make(), folder, name)
    section.figure = name
    sections.append(section)


def write_report(run_dir: str | os.PathLike, out_dir: str | os.PathLike | None = None,
                 top: int = 3) -> Report:
    """Write the figures and `report.html` for `run_dir`; see the module docstring."""
    import matplotlib

    from hpsearch.study.study import load_study

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    path = Path(run_dir)
    study = load_study(path)
    trials = study.trials
    run = RunData(path, study, trials, study.space, study.direction, metric_name(trials))
    folder = Path(out_dir) if out_dir is not None else path / "report"
    folder.mkdir(parents=True, exist_ok=True)
    for name in FIGURES:  # a figure this report cannot draw must not linger from an older one
        (folder / name).unlink(missing_ok=True)

    sections = [_summary(run)]
    none_complete = "the study has no complete trial with a value"
    history = _Section("history", "Optimisation history")
    if trials:
        _draw(sections, history, folder, "history.png", lambda: history_figure(run))
    else:
        history.omitted = "no history: the study has no trial yet"
        sections.append(history)

    parameters = _Section("parameters", "Hyperparameters against the value")
    parallel = _Section("parallel", "Parallel coordinates")
    importance = _Section("importance", "Hyperparameter importance")
    if run.ranked:
        _draw(sections, parameters, folder, "parameters.png", lambda: parameters_figure(run))
        _draw(sections, parallel, folder, "parallel_coordinates.png", lambda: parallel_figure(run))
    else:
        parameters.omitted = parallel.omitted = f"not drawn: {none_complete}"
        sections += [parameters, parallel]
    if len(run.ranked) < 2:
        importance.omitted = (f"no importances: they need at least 2 complete trials, the "
                              f"study has {len(run.ranked)}")
    elif len({tuple(sorted(map(repr, t.params.items()))) for t in run.ranked}) < 2:
        importance.omitted = "no importances: every complete trial has the same parameters"
    else:
        try:
            scores = importances(run)
        except Exception as err:  # an auxiliary figure must not cost the whole report
            logger.warning("hyperparameter importance failed: %s", err)
            importance.omitted = ("no importances: Optuna's fANOVA failed ("
                                  f"{type(err).__name__}: {' '.join(str(err).split())[:200]})")
        else:
            _save(importance_figure(scores), folder, "importance.png")
            importance.figure = "importance.png"
            importance.body = ("<p>fANOVA (Optuna's <code>FanovaImportanceEvaluator</code>, "
                               f"seed 0) over the {len(run.ranked)} complete trials: the share "
                               "of the value's variance each hyperparameter explains. With few "
                               "trials treat it as a hint.</p>")
    sections.append(importance)

    curves = _Section("curves", "Learning curves")
    ratios = _Section("update-ratios", "Update/weight ratios")
    chosen = _top_artifacts(run, top, "curve.loss")
    if chosen:
        _draw(sections, curves, folder, "learning_curves.png", lambda: curves_figure(run, chosen))
        with_ratios = [(t, a) for t, a in chosen
                       if any(k.startswith("curve.update_ratio.") for k in a)]
        if with_ratios:
            _draw(sections, ratios, folder, "update_ratios.png",
                  lambda: update_ratios_figure(with_ratios))
        else:
            ratios.omitted = "no update/weight ratios: the objective recorded none"
            sections.append(ratios)
    else:
        reason = (none_complete if not run.ranked
                  else "the objective returned none (only the built-in network objective "
                       "records curves)")
        curves.omitted = f"no learning curves: {reason}"
        ratios.omitted = f"no update/weight ratios: {reason}"
        sections += [curves, ratios]
    sections.append(_weights_section(run, folder))
    sections.append(_ensemble_section(run))

    page = folder / "report.html"
    tmp = folder / "report.html.tmp"
    tmp.write_text(_page(run, sections, folder), encoding="utf-8")
    os.replace(tmp, page)
    figures = tuple(folder / s.figure for s in sections if s.figure)
    omitted = tuple((s.id, s.omitted) for s in sections if s.omitted)
    logger.info("report of %s: %s (%d figures)", path, page, len(figures))
    return Report(page, figures, omitted)
