"""Figures of the study report, drawn on matplotlib `Figure` objects with the Agg canvas.

Contract: each `*_figure` function takes a `RunData` (the run folder's trials, space,
direction and metric, read once) or the chosen trials' artifacts, and returns a Figure (no
pyplot state, nothing shown). `image_shape`
says whether the network's inputs are image pixels (digits: 8x8). The page that embeds them
is built in `hpsearch.report`.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hpsearch.direction import Direction
from hpsearch.space import Categorical, Int, Space
from hpsearch.trial import FrozenTrial, TrialState

GUIDE_RATIO = 1e-3  # the seed: updates about a thousandth of the weights' magnitude


@dataclasses.dataclass
class RunData:
    path: Path
    study: Any
    trials: list[FrozenTrial]
    space: Space
    direction: str
    metric: str

    @property
    def ranked(self) -> list[FrozenTrial]:
        """Complete trials with a value, best first (ties by number)."""
        sign = Direction.of(self.direction).sign
        done = [t for t in self.trials if t.state is TrialState.COMPLETE and t.has_value]
        return sorted(done, key=lambda t: (sign * t.value, t.number))


def metric_name(trials: Sequence[FrozenTrial]) -> str:
    """The metric the value is (e.g. val_accuracy), when a metric always equals it."""
    done = [t for t in trials if t.state is TrialState.COMPLETE and t.has_value]
    if done:
        for name in sorted(done[0].metrics):
            if all(t.metrics.get(name) == t.value for t in done):
                return name
    return "value"


# ----------------------------------------------------------------------------- figures
def new_figure(width: float, height: float) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def history_figure(run: RunData) -> Any:
    from matplotlib.ticker import MaxNLocator
    from matplotlib.transforms import blended_transform_factory

    figure = new_figure(8, 4.2)
    ax = figure.add_subplot()
    done = [t for t in run.trials if t.state is TrialState.COMPLETE and t.has_value]
    pruned = [t for t in run.trials if t.state is TrialState.PRUNED and t.has_value]
    paused = [t for t in run.trials if t.state is TrialState.PAUSED and t.has_value]
    lost = [t for t in run.trials if not t.has_value and t.state is not TrialState.PAUSED]
    if done:
        ax.plot([t.number for t in done], [t.value for t in done], "o", color="C0",
                label="complete trial")
    if pruned:
        ax.plot([t.number for t in pruned], [t.value for t in pruned], "x", color="0.5",
                label="pruned (last report)")
    if paused:
        ax.plot([t.number for t in paused], [t.value for t in paused], "|", color="C2",
                markersize=10, label="paused (may be promoted)")
    if done:
        better = Direction.of(run.direction).best
        best, xs, ys = None, [], []
        for t in done:
            best = t.value if best is None else better((best, t.value))
            xs.append(t.number)
            ys.append(best)
        xs.append(max(t.number for t in run.trials))
        ys.append(ys[-1])
        ax.step(xs, ys, where="post", color="C1", linewidth=2, label="best so far")
    if not done and not pruned and not paused:
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


def parameters_figure(run: RunData) -> Any:
    done = run.ranked
    names = list(run.space)
    columns = min(3, len(names))
    rows = math.ceil(len(names) / columns)
    figure = new_figure(4.3 * columns, 3.4 * rows)
    axes = figure.subplots(rows, columns, squeeze=False)
    best = done[0]
    for k, name in enumerate(names):
        ax = axes[k // columns][k % columns]
        dim = run.space[name]
        # a conditional parameter: only the trials where it is active have a point
        has = [t for t in done if name in t.params]
        best_has = name in best.params
        if not has:
            ax.text(0.5, 0.5, "inactive in every complete trial", ha="center", va="center",
                    transform=ax.transAxes)
        elif isinstance(dim, Categorical):
            labels = [str(c) for c in dim.choices]
            groups = [[t.value for t in has if t.params[name] == c] for c in dim.choices]
            filled = [i for i, g in enumerate(groups) if g]
            ax.boxplot([groups[i] for i in filled], positions=filled, widths=0.5,
                       showfliers=False)
            for i in filled:
                ax.plot(i + _jitter(len(groups[i])), sorted(groups[i]), "o", color="C0",
                        alpha=0.7, markersize=4)
            ax.set_xticks(range(len(labels)), labels,
                          rotation=30 if max(map(len, labels)) > 6 else 0)
            ax.set_xlim(-0.6, len(labels) - 0.4)
            if best_has:
                ax.plot([dim.choices.index(best.params[name])], [best.value], "*", color="C3",
                        markersize=12, label="best trial")
        else:
            xs = np.array([float(t.params[name]) for t in has])
            ax.plot(xs, [t.value for t in has], "o", color="C0", alpha=0.7,
                    label="complete trial")
            if best_has:
                ax.plot([float(best.params[name])], [best.value], "*", color="C3",
                        markersize=12, label="best trial")
            _numeric_axis(ax, dim)
        when = run.space.describe_when(name)
        if when:
            ax.set_title(f"active when {when} ({len(has)} trials)", fontsize="small")
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


def parallel_figure(run: RunData) -> Any:
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    done = run.ranked
    names = list(run.space)
    figure = new_figure(max(6.0, 1.6 * (len(names) + 1)), 4.6)
    ax = figure.add_subplot()
    values = np.array([t.value for t in done])
    low, high = float(values.min()), float(values.max())
    if high == low:
        low, high = low - 0.5, high + 0.5
    norm = Normalize(low, high)
    # brighter = better, whatever the direction
    cmap = colormaps["viridis_r" if Direction.of(run.direction).sign > 0 else "viridis"]
    positions = np.arange(len(names) + 1)
    for t in reversed(done):  # the best drawn last, on top
        # an inactive parameter is a gap in the line (NaN), never a point at 0
        ys = [_unit(run.space[n], t.params[n]) if n in t.params else math.nan
              for n in names] + [norm(t.value)]
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


def _smooth(values: np.ndarray, width: int) -> np.ndarray:
    if width < 2 or len(values) < width:
        return values
    return np.convolve(values, np.ones(width) / width, mode="valid")


def curves_figure(run: RunData, chosen: list[tuple[FrozenTrial, dict]]) -> Any:
    score = "accuracy" if any("val_accuracy" in t.metrics for t, _ in chosen) else "R²" \
        if any("val_r2" in t.metrics for t, _ in chosen) else "score"
    figure = new_figure(12, 4.4)
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
    scale = loss_scale(loss_ax, [arrays["curve.loss"] for _, arrays in chosen])
    loss_ax.set_xlabel("iteration (minibatch)")
    loss_ax.set_ylabel(f"loss ({scale} scale)")
    loss_ax.set_title("Loss per iteration (faint: raw; bold: moving mean)")
    score_ax.set_xlabel("epoch")
    score_ax.set_ylabel(score)
    score_ax.set_title(f"Train (solid) and validation (dashed) {score}")
    for ax in (loss_ax, score_ax):
        ax.grid(alpha=0.3)
        ax.legend(fontsize="x-small", loc="best")
    return figure


def loss_scale(ax: Any, losses: list) -> str:
    """A log y axis for losses (one early spike does not flatten the rest), symlog when a
    loss reaches 0 or below (hinge losses can); returns the scale's name."""
    values = np.concatenate([np.asarray(v, dtype=np.float64).ravel() for v in losses])
    values = values[np.isfinite(values)]
    if not len(values):
        return "linear"
    if values.min() > 0:
        ax.set_yscale("log")
        return "log"
    ax.set_yscale("symlog", linthresh=max(1e-3 * float(np.abs(values).max()), 1e-12))
    return "symlog"


def update_ratios_figure(chosen: list[tuple[FrozenTrial, dict]]) -> Any:
    figure = new_figure(4.6 * len(chosen) + 0.6, 4.0)
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


def image_shape(feature_names: Sequence[str], n_features: int) -> tuple[int, int] | None:
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


def weights_figure(trial: FrozenTrial, weights: np.ndarray, shape: tuple[int, int],
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
    figure = new_figure(min(10.0, 0.9 * per_row + 1.5), min(10.0, 0.9 * grid_rows + 1.2))
    ax = figure.add_subplot()
    ax.imshow(np.ma.masked_invalid(canvas), cmap="gray", interpolation="nearest")
    ax.set_facecolor("#c62828")
    ax.set_axis_off()
    more = f", the {shown} largest of {units}" if shown < units else ""
    ax.set_title(f"Trial {trial.number}: {layer} weights, one {rows}×{cols} tile per unit"
                 f"{more}\n(each tile scaled to its own range: black low, white high)",
                 fontsize="medium")
    return figure
