"""The report of a multi-objective study: its Pareto front and the hypervolume history.

Contract: `pareto_sections(study, folder)` returns the two sections a study with several
objectives adds after the summary (none for one objective): "Pareto front" (every complete
trial, the front drawn through its points; for three objectives, one panel per pair) and
"Hypervolume" (of the front after each finished trial, in trial-number order, against the
reference point: each objective's worst finite value plus a tenth of its range, so the worst
trial still counts). `first_objective(trials)` gives the other sections what they plot: each
trial's first objective as its value. `FIGURES` names the files this module writes.
"""

from __future__ import annotations

import dataclasses
import html
import itertools
from pathlib import Path
from typing import Any

import numpy as np

from hpsearch.pareto import hypervolume, pareto_mask, to_minimize
from hpsearch.report.figures import new_figure
from hpsearch.report.sections import Section, draw
from hpsearch.trial import FrozenTrial, TrialState

__all__ = ["FIGURES", "pareto_sections", "first_objective", "reference_point",
           "hypervolume_history"]

FIGURES = ("pareto_front.png", "hypervolume.png")


def first_objective(trials: list[FrozenTrial]) -> list[FrozenTrial]:
    """The trials with their first objective as `value` (for the one-value sections)."""
    return [dataclasses.replace(t, value=t.values[0], values=t.values[:1]) if t.values else t
            for t in trials]


def _complete(study: Any) -> list[FrozenTrial]:
    return [t for t in study.trials if t.state is TrialState.COMPLETE and t.has_value
            and len(t.values) == study.n_objectives]


def reference_point(points: np.ndarray) -> np.ndarray:
    """(n, k) points to minimise -> (k,): the worst value plus a tenth of the range."""
    worst, best = points.max(axis=0), points.min(axis=0)
    span = np.where(worst > best, worst - best, np.maximum(np.abs(worst), 1.0))
    return worst + 0.1 * span


def hypervolume_history(study: Any) -> tuple[list[int], list[float], np.ndarray]:
    """(trial numbers, hypervolume after each, reference) over the complete trials."""
    done = sorted(_complete(study), key=lambda t: t.number)
    points = to_minimize(np.array([t.values for t in done]), study.directions)
    reference = reference_point(points)
    volumes = [hypervolume(points[: i + 1], reference) for i in range(len(done))]
    return [t.number for t in done], volumes, reference


def _pareto_figure(study: Any) -> Any:
    done = _complete(study)
    values = np.array([t.values for t in done])
    front = pareto_mask(to_minimize(values, study.directions))
    names = study.objective_names
    pairs = list(itertools.combinations(range(study.n_objectives), 2))
    figure = new_figure(5.2 * len(pairs), 4.4)
    for k, (i, j) in enumerate(pairs):
        ax = figure.add_subplot(1, len(pairs), k + 1)
        ax.plot(values[~front, i], values[~front, j], "o", color="0.6", alpha=0.7,
                label="trial")
        on = values[front][np.argsort(values[front][:, i])]
        ax.plot(on[:, i], on[:, j], "o-" if study.n_objectives == 2 else "o", color="C3",
                label="Pareto front")
        ax.set_xlabel(f"{names[i]} ({study.directions[i]})")
        ax.set_ylabel(f"{names[j]} ({study.directions[j]})")
        ax.grid(alpha=0.3)
        if k == 0:
            ax.legend(fontsize="small")
    figure.suptitle(f"Pareto front: {int(front.sum())} of {len(done)} complete trials")
    return figure


def _hypervolume_figure(numbers: list[int], volumes: list[float]) -> Any:
    figure = new_figure(7, 3.8)
    ax = figure.add_subplot()
    ax.step(numbers, volumes, where="post", color="C0")
    ax.plot(numbers, volumes, ".", color="C0")
    ax.set_xlabel("trial")
    ax.set_ylabel("hypervolume of the front")
    ax.set_title("Hypervolume after each trial")
    ax.grid(alpha=0.3)
    return figure


def pareto_sections(study: Any, folder: Path) -> list[Section]:
    """See the module docstring."""
    if study.n_objectives < 2:
        return []
    front_section = Section("pareto", "Pareto front")
    volume_section = Section("hypervolume", "Hypervolume")
    if len(_complete(study)) < 1:
        front_section.omitted = volume_section.omitted = "no complete trial yet"
        return [front_section, volume_section]
    front = study.pareto_front()
    front_section.body = (f"<p>{len(front)} trials on the front: "
                          f"{html.escape(', '.join(str(t.number) for t in front))}.</p>")
    draw(front_section, folder, "pareto_front.png", lambda: _pareto_figure(study))
    numbers, volumes, reference = hypervolume_history(study)
    volume_section.body = (f"<p>Reference point ({html.escape(', '.join(study.objective_names))}"
                           f", to minimise): {html.escape(str(np.round(reference, 6).tolist()))}"
                           f"; final hypervolume {volumes[-1]:.6g}.</p>")
    draw(volume_section, folder, "hypervolume.png",
         lambda: _hypervolume_figure(numbers, volumes))
    return [front_section, volume_section]
