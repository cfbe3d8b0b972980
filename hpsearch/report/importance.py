"""Hyperparameter importance: Optuna's fANOVA over the complete trials, and its bar chart.

Conditional parameters: fANOVA over the trials where each is active (beside the always-active
parameters), its share weighted by how often it is active; all shares renormalised to sum to 1.
"""

from __future__ import annotations

from typing import Any

from hpsearch.report.figures import RunData, new_figure


def importances(run: RunData) -> dict[str, float]:
    import warnings

    import optuna

    from hpsearch.export.optuna import in_memory_study

    always = [n for n in run.space if not run.space.parents(n)]
    conditional = [n for n in run.space if run.space.parents(n)]

    def fanova(trials: list, names: list[str]) -> dict[str, float]:
        study = in_memory_study(trials, run.space, run.direction)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)
            return dict(optuna.importance.get_param_importances(study, evaluator=evaluator,
                                                                params=names))

    scores = fanova(run.ranked, always)
    # Conditional parameters: fANOVA over the trials where each is active (beside the
    # always-active ones), its share weighted by how often it is active; then renormalised.
    for name in conditional:
        active = [t for t in run.ranked if name in t.params]
        if len(active) >= 4:
            within = fanova(active, [*always, name])
            scores[name] = within.get(name, 0.0) * len(active) / len(run.ranked)
    total = sum(scores.values()) or 1.0
    return dict(sorted(((n, v / total) for n, v in scores.items()), key=lambda kv: -kv[1]))


def importance_figure(importances: dict[str, float]) -> Any:
    names = list(importances)[::-1]
    figure = new_figure(7, 0.45 * len(names) + 1.6)
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
