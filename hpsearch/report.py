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
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hpsearch.space import Categorical, Int, Space
from hpsearch.trial import FrozenTrial, TrialState

__all__ = ["Report", "write_report"]

logger = logging.getLogger("hpsearch")

FIGURES = ("history.png", "parameters.png", "parallel_coordinates.png", "importance.png",
           "learning_curves.png", "update_ratios.png", "first_layer_weights.png")
GUIDE_RATIO = 1e-3  # the seed: updates about a thousandth of the weights' magnitude


@dataclasses.dataclass(frozen=True)
class Report:
    """What `write_report` wrote: the page, the figures, and the sections it left out."""

    html: Path
    figures: tuple[Path, ...]
    omitted: tuple[tuple[str, str], ...]


@dataclasses.dataclass
class _Run:
    path: Path
    study: Any
    trials: list[FrozenTrial]
    space: Space
    direction: str
    metric: str

    @property
    def ranked(self) -> list[FrozenTrial]:
        """Complete trials with a value, best first (ties by number)."""
        sign = 1.0 if self.direction == "minimize" else -1.0
        done = [t for t in self.trials if t.state is TrialState.COMPLETE and t.has_value]
        return sorted(done, key=lambda t: (sign * t.value, t.number))


def _metric_name(trials: Sequence[FrozenTrial]) -> str:
    """The metric the value is (e.g. val_accuracy), when a metric always equals it."""
    done = [t for t in trials if t.state is TrialState.COMPLETE and t.has_value]
    if done:
        for name in sorted(done[0].metrics):
            if all(t.metrics.get(name) == t.value for t in done):
                return name
    return "value"


# ----------------------------------------------------------------------------- figures
def _figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _history(run: _Run) -> Any:
    from matplotlib.ticker import MaxNLocator
    from matplotlib.transforms import blended_transform_factory

    figure = _figure(8, 4.2)
    ax = figure.add_subplot()
    done = [t for t in run.trials if t.state is TrialState.COMPLETE and t.has_value]
    pruned = [t for t in run.trials if t.state is TrialState.PRUNED and t.has_value]
    lost = [t for t in run.trials if not t.has_value]
    if done:
        ax.plot([t.number for t in done], [t.value for t in done], "o", color="C0",
                label="complete trial")
    if pruned:
        ax.plot([t.number for t in pruned], [t.value for t in pruned], "x", color="0.5",
                label="pruned (last report)")
    if done:
        better = min if run.direction == "minimize" else max
        best, xs, ys = None, [], []
        for t in done:
            best = t.value if best is None else better(best, t.value)
            xs.append(t.number)
            ys.append(best)
        xs.append(max(t.number for t in run.trials))
        ys.append(ys[-1])
        ax.step(xs, ys, where="post", color="C1", linewidth=2, label="best so far")
    if not done and not pruned:
        ax.set_yticks([])
        ax.text(0.5, 0.5, "no trial has a value yet", transform=ax.transAxes, ha="center",
                va="center", color="0.4")
    if lost:
        bottom = blended_transform_factory(ax.transData, ax.transAxes)
        ax.plot([t.number for t in lost], [0.02] * len(lost), "v", color="C3",
                transform=bottom, label="failed / no value")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("trial number")
    ax.set_ylabel(run.metric)
    ax.set_title(f"Optimisation history ({run.direction} {run.metric})")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    return figure


def _count(n: int) -> str:
    return f"{n} complete trial{'' if n == 1 else 's'}"


def _jitter(n: int) -> np.ndarray:
    """Deterministic horizontal offsets (n,) for a strip plot."""
    return np.zeros(n) if n < 2 else np.linspace(-0.18, 0.18, n)


def _parameters(run: _Run) -> Any:
    done = run.ranked
    names = list(run.space)
    columns = min(3, len(names))
    rows = math.ceil(len(names) / columns)
    figure = _figure(4.3 * columns, 3.4 * rows)
    axes = figure.subplots(rows, columns, squeeze=False)
    values = np.array([t.value for t in done])
    best = done[0]
    for k, name in enumerate(names):
        ax = axes[k // columns][k % columns]
        dim = run.space[name]
        if isinstance(dim, Categorical):
            labels = [str(c) for c in dim.choices]
            groups = [[t.value for t in done if t.params.get(name) == c] for c in dim.choices]
            filled = [i for i, g in enumerate(groups) if g]
            ax.boxplot([groups[i] for i in filled], positions=filled, widths=0.5,
                       showfliers=False)
            for i in filled:
                ax.plot(i + _jitter(len(groups[i])), sorted(groups[i]), "o", color="C0",
                        alpha=0.7, markersize=4)
            ax.set_xticks(range(len(labels)), labels,
                          rotation=30 if max(map(len, labels)) > 6 else 0)
            ax.set_xlim(-0.6, len(labels) - 0.4)
            ax.plot([dim.choices.index(best.params[name])], [best.value], "*", color="C3",
                    markersize=12, label="best trial")
        else:
            xs = np.array([float(t.params[name]) for t in done])
            ax.plot(xs, values, "o", color="C0", alpha=0.7, label="complete trial")
            ax.plot([float(best.params[name])], [best.value], "*", color="C3", markersize=12,
                    label="best trial")
            _numeric_axis(ax, dim)
        ax.set_xlabel(name + (" (log scale)" if getattr(dim, "log", False) else ""))
        if k % columns == 0:
            ax.set_ylabel(run.metric)
        ax.grid(alpha=0.3)
        if k == 0:
            ax.legend(fontsize="small", loc="best")
    for k in range(len(names), rows * columns):
        axes[k // columns][k % columns].set_visible(False)
    figure.suptitle(f"Each hyperparameter against {run.metric} ({_count(len(done))})")
    return figure


def _numeric_axis(ax: Any, dim: Any) -> None:
    """Log scale for log dimensions (plain numbers on short spans), integer ticks for Int."""
    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

    if dim.log:
        ax.set_xscale("log")
        if dim.high / dim.low < 100:  # under two decades: label 20, 50... not 2x10^1
            ax.xaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 3.0, 5.0)))
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_minor_formatter(NullFormatter())
    elif isinstance(dim, Int):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlim(*_padded(dim.low, dim.high, dim.log))


def _padded(low: float, high: float, log: bool) -> tuple[float, float]:
    if log:
        span = math.log10(high) - math.log10(low)
        return low / 10 ** (0.04 * span), high * 10 ** (0.04 * span)
    pad = 0.04 * (high - low)
    return low - pad, high + pad


def _unit(dim: Any, value: Any) -> float:
    """A parameter value on its parallel-coordinates axis, [0, 1] over the dimension."""
    if isinstance(dim, Categorical):
        n = len(dim.choices)
        return 0.5 if n == 1 else dim.choices.index(value) / (n - 1)
    if dim.log:
        return (math.log(value) - math.log(dim.low)) / (math.log(dim.high) - math.log(dim.low))
    return (float(value) - dim.low) / (dim.high - dim.low)


def _tick(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _axis_label(ax: Any, x: float, y: float, text: str) -> None:
    ax.annotate(text, (x, y), xytext=(3, 0), textcoords="offset points", fontsize="x-small",
                va="center", color="0.1", zorder=5,
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})


def _parallel(run: _Run) -> Any:
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    done = run.ranked
    names = list(run.space)
    figure = _figure(max(6.0, 1.6 * (len(names) + 1)), 4.6)
    ax = figure.add_subplot()
    values = np.array([t.value for t in done])
    low, high = float(values.min()), float(values.max())
    if high == low:
        low, high = low - 0.5, high + 0.5
    norm = Normalize(low, high)
    # brighter = better, whatever the direction
    cmap = colormaps["viridis" if run.direction == "maximize" else "viridis_r"]
    positions = np.arange(len(names) + 1)
    for t in reversed(done):  # the best drawn last, on top
        ys = [_unit(run.space[n], t.params[n]) for n in names] + [norm(t.value)]
        ax.plot(positions, ys, color=cmap(norm(t.value)), alpha=0.8, linewidth=1.4)
    for i, name in enumerate(names):
        ax.axvline(i, color="0.3", linewidth=0.8)
        dim = run.space[name]
        if isinstance(dim, Categorical):
            marks = [(_unit(dim, c), str(c)) for c in dim.choices]
        else:
            marks = [(0.0, _tick(dim.low)), (1.0, _tick(dim.high))]
        for y, text in marks:
            _axis_label(ax, i, y, text)
    ax.axvline(len(names), color="0.3", linewidth=0.8)
    for y, value in ((0.0, low), (1.0, high)):
        _axis_label(ax, len(names), y, f"{value:.4g}")
    ax.set_xticks(positions, [n + (" (log)" if getattr(run.space[n], "log", False) else "")
                              for n in names] + [run.metric], rotation=20)
    ax.set_yticks([0, 1], ["low", "high"])
    ax.set_xlim(-0.2, len(names) + 0.4)
    ax.set_ylim(-0.05, 1.05)
    ax.set_ylabel("position in the dimension's range")
    figure.colorbar(ScalarMappable(norm, cmap), ax=ax, label=run.metric)
    ax.set_title(f"Parallel coordinates ({_count(len(done))}; brighter is better)")
    return figure


def _importances(run: _Run) -> dict[str, float]:
    import warnings

    import optuna

    from hpsearch.optuna_export import in_memory_study

    study = in_memory_study(run.ranked, run.space, run.direction)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
        return dict(optuna.importance.get_param_importances(study, evaluator=evaluator))


def _importance_figure(importances: dict[str, float]) -> Any:
    names = list(importances)[::-1]
    figure = _figure(7, 0.45 * len(names) + 1.6)
    ax = figure.add_subplot()
    ax.barh(names, [importances[n] for n in names], color="C0")
    for y, name in enumerate(names):
        ax.annotate(f"{importances[name]:.2f}", (importances[name], y), xytext=(3, 0),
                    textcoords="offset points", va="center", fontsize="small")
    ax.set_xlim(0, max(1e-9, max(importances.values())) * 1.15)
    ax.set_xlabel("importance (fANOVA share of the value's variance; sums to 1)")
    ax.set_title("Hyperparameter importance (Optuna, fANOVA)")
    ax.grid(axis="x", alpha=0.3)
    return figure


def _smooth(values: np.ndarray, width: int) -> np.ndarray:
    if width < 2 or len(values) < width:
        return values
    return np.convolve(values, np.ones(width) / width, mode="valid")


def _curves(run: _Run, chosen: list[tuple[FrozenTrial, dict]]) -> Any:
    score = "accuracy" if any("val_accuracy" in t.metrics for t, _ in chosen) else "R²" \
        if any("val_r2" in t.metrics for t, _ in chosen) else "score"
    figure = _figure(12, 4.4)
    loss_ax, score_ax = figure.subplots(1, 2)
    for k, (trial, arrays) in enumerate(chosen):
        color = f"C{k}"
        loss = np.asarray(arrays["curve.loss"], dtype=np.float64)
        label = f"trial {trial.number} ({run.metric} {trial.value:.4g})"
        width = max(1, len(loss) // 50)
        loss_ax.plot(np.arange(1, len(loss) + 1), loss, color=color, alpha=0.25, linewidth=0.7)
        smooth = _smooth(loss, width)
        loss_ax.plot(np.arange(len(smooth)) + (width + 1) / 2, smooth, color=color,
                     label=f"{label}, training loss")
        val_loss = arrays.get("curve.val_loss")
        if val_loss is not None and len(val_loss):
            per_epoch = len(loss) / len(val_loss)
            loss_ax.plot(per_epoch * np.arange(1, len(val_loss) + 1), val_loss, "s--",
                         color=color, markersize=4, label=f"trial {trial.number}, val loss")
        epochs = np.arange(1, len(arrays.get("curve.train_score", [])) + 1)
        if len(epochs):
            score_ax.plot(epochs, arrays["curve.train_score"], "-o", color=color,
                          markersize=3, label=f"trial {trial.number} train")
        val = arrays.get("curve.val_score")
        if val is not None and len(val):
            score_ax.plot(np.arange(1, len(val) + 1), val, "--s", color=color, markersize=3,
                          label=f"trial {trial.number} val")
    loss_ax.set_xlabel("iteration (minibatch)")
    loss_ax.set_ylabel("loss")
    loss_ax.set_title("Loss per iteration (faint: raw; bold: moving mean)")
    score_ax.set_xlabel("epoch")
    score_ax.set_ylabel(score)
    score_ax.set_title(f"Train (solid) and validation (dashed) {score}")
    for ax in (loss_ax, score_ax):
        ax.grid(alpha=0.3)
        ax.legend(fontsize="x-small", loc="best")
    return figure


def _update_ratios(chosen: list[tuple[FrozenTrial, dict]]) -> Any:
    figure = _figure(4.6 * len(chosen) + 0.6, 4.0)
    axes = figure.subplots(1, len(chosen), squeeze=False, sharey=True)[0]
    for ax, (trial, arrays) in zip(axes, chosen, strict=True):
        keys = sorted(k for k in arrays if k.startswith("curve.update_ratio."))
        for j, key in enumerate(keys):
            ratios = np.asarray(arrays[key], dtype=np.float64)
            shown = np.where(ratios > 0, ratios, np.nan)  # log axis: zero means no update
            ax.plot(np.arange(1, len(ratios) + 1), shown, "-o", color=f"C{j}", markersize=3,
                    label=key.removeprefix("curve.update_ratio."))
        ax.axhline(GUIDE_RATIO, color="0.3", linestyle="--", linewidth=1,
                   label="1e-3 guide")
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_title(f"trial {trial.number}")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize="x-small", loc="best")
    axes[0].set_ylabel("update / weight ratio (log scale)")
    figure.suptitle("Update/weight ratio per layer (the seed's rule of thumb: about 1e-3)")
    return figure


def _image_shape(feature_names: Sequence[str], n_features: int) -> tuple[int, int] | None:
    """(rows, cols) when the features are the pixels of an image, else None."""
    cells = [re.fullmatch(r"pixel_?(\d+)_(\d+)", str(n)) for n in feature_names]
    if feature_names and all(cells):
        rows = 1 + max(int(c.group(1)) for c in cells)
        cols = 1 + max(int(c.group(2)) for c in cells)
        return (rows, cols) if rows * cols == n_features else None
    side = math.isqrt(n_features)
    flat = [re.fullmatch(r"pixel_?(\d+)", str(n)) for n in feature_names]
    if feature_names and all(flat) and side * side == n_features and side > 1:
        return side, side
    return None


def _weights(trial: FrozenTrial, weights: np.ndarray, shape: tuple[int, int],
             layer: str) -> Any:
    """Tiles of `weights` (n_features, units): unit u's incoming weights as a `shape` image."""
    rows, cols = shape
    units = weights.shape[1]
    shown = min(units, 64)
    # the units with the largest incoming weights first: the most developed templates
    order = np.argsort(-np.linalg.norm(weights, axis=0), kind="stable")[:shown]
    per_row = math.ceil(math.sqrt(shown))
    grid_rows = math.ceil(shown / per_row)
    gap = 1
    canvas = np.full((grid_rows * (rows + gap) + gap, per_row * (cols + gap) + gap), np.nan)
    for k, unit in enumerate(order):
        tile = weights[:, unit].reshape(rows, cols).astype(np.float64)
        span = tile.max() - tile.min()
        tile = (tile - tile.min()) / span if span > 0 else np.full_like(tile, 0.5)
        r, c = divmod(k, per_row)
        top, left = gap + r * (rows + gap), gap + c * (cols + gap)
        canvas[top:top + rows, left:left + cols] = tile
    figure = _figure(min(10.0, 0.9 * per_row + 1.5), min(10.0, 0.9 * grid_rows + 1.2))
    ax = figure.add_subplot()
    ax.imshow(np.ma.masked_invalid(canvas), cmap="gray", interpolation="nearest")
    ax.set_facecolor("#c62828")
    ax.set_axis_off()
    more = f", the {shown} largest of {units}" if shown < units else ""
    ax.set_title(f"Trial {trial.number}: {layer} weights, one {rows}×{cols} tile per unit"
                 f"{more}\n(each tile scaled to its own range: black low, white high)",
                 fontsize="medium")
    return figure


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


def _top_artifacts(run: _Run, top: int, needed: str) -> list[tuple[FrozenTrial, dict]]:
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


def _weights_section(run: _Run, folder: Path) -> _Section:
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
    shape = _image_shape(names, weights.shape[0])
    if shape is None:
        section.omitted = (f"no first-layer weight pictures: the {weights.shape[0]} input "
                           "features are not the pixels of an image")
    elif "pca" in preprocess or "whiten" in preprocess:
        section.omitted = (f"no first-layer weight pictures: the network's inputs are "
                           f"{preprocess} components, not pixels")
    else:
        _save(_weights(best, weights, shape, layer), folder, "first_layer_weights.png")
        section.figure = "first_layer_weights.png"
        section.body = (f"<p>The best trial ({best.number}): each tile is one unit's incoming "
                        f"weights over the {shape[0]}×{shape[1]} input image, after "
                        f"{html.escape(preprocess or 'no')} preprocessing. Smooth, "
                        "stroke-like templates are a good sign; uniform noise suggests too "
                        "little training or regularisation.</p>")
    return section


def _ensemble_section(run: _Run) -> _Section:
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


def _summary(run: _Run, rows: int = 10) -> _Section:
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


def _page(run: _Run, sections: list[_Section], folder: Path) -> str:
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

    from hpsearch.study import load_study

    if "matplotlib.pyplot" not in sys.modules:
        matplotlib.use("Agg")
    path = Path(run_dir)
    study = load_study(path)
    trials = study.trials
    run = _Run(path, study, trials, study.space, study.direction, _metric_name(trials))
    folder = Path(out_dir) if out_dir is not None else path / "report"
    folder.mkdir(parents=True, exist_ok=True)
    for name in FIGURES:  # a figure this report cannot draw must not linger from an older one
        (folder / name).unlink(missing_ok=True)

    sections = [_summary(run)]
    none_complete = "the study has no complete trial with a value"
    history = _Section("history", "Optimisation history")
    if trials:
        _draw(sections, history, folder, "history.png", lambda: _history(run))
    else:
        history.omitted = "no history: the study has no trial yet"
        sections.append(history)

    parameters = _Section("parameters", "Hyperparameters against the value")
    parallel = _Section("parallel", "Parallel coordinates")
    importance = _Section("importance", "Hyperparameter importance")
    if run.ranked:
        _draw(sections, parameters, folder, "parameters.png", lambda: _parameters(run))
        _draw(sections, parallel, folder, "parallel_coordinates.png", lambda: _parallel(run))
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
            scores = _importances(run)
        except Exception as err:  # an auxiliary figure must not cost the whole report
            logger.warning("hyperparameter importance failed: %s", err)
            importance.omitted = ("no importances: Optuna's fANOVA failed ("
                                  f"{type(err).__name__}: {' '.join(str(err).split())[:200]})")
        else:
            _save(_importance_figure(scores), folder, "importance.png")
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
        _draw(sections, curves, folder, "learning_curves.png", lambda: _curves(run, chosen))
        with_ratios = [(t, a) for t, a in chosen
                       if any(k.startswith("curve.update_ratio.") for k in a)]
        if with_ratios:
            _draw(sections, ratios, folder, "update_ratios.png",
                  lambda: _update_ratios(with_ratios))
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
