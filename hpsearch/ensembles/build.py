"""Ensembles built from a finished run folder, without retraining (unless asked to `refit`).

Contract: `build_ensemble(run_dir, method, top_k=None, size=20, trial=None, bags=None,
bag_fraction=None, refit=False, n_jobs=1, progress=None) -> EnsembleBuild`
reads the study (read-only), its `data.npz` and the trials' artifacts written by the network
objective (through `hpsearch.ensembles.run_folder`), and returns the `Ensemble` (see
`hpsearch.ensembles.file`) with a table of its members and its validation and test scores
beside the best single trial's.
Only complete trials take part. Trials are ranked by the study's value and direction; scores
are measured on the stored predictions with the study's metric (accuracy, loss or r2: the one
whose value the trials report as their value; a trial with repeats counts as the average of
its members' predictions). Every member of a chosen trial (repeats) enters the ensemble, each
with the trial's weight divided by the number of members. Methods:

- `predictions`: the mean of the predictions of the top `top_k` trials (default 5).
- `greedy`: ensemble selection with replacement (Caruana et al., 2004) on the validation
  predictions: start empty and `size` times add the trial (repeats allowed) whose addition
  gives the best validation score (ties: lower validation loss, then the better-ranked trial);
  weights are the counts. Candidates: the top `top_k` trials (default: every complete trial).
  Optionally bagged (the paper's remedy for overfitting the validation set): with `bags` > 1
  the selection runs `bags` times on a random `bag_fraction` (default 0.5) of the candidates,
  drawn from the study's seed, and the counts add up. The default is the plain method (bags=1):
  on digits, 35 seeds, bagging did not beat it (scripts/ensemble_study.py).
- `parameters`: one network whose parameters (and batchnorm buffers) are the mean of its
  members': with `trial`, that trial's checkpoints (`checkpoint_epochs`) and final network
  (the "running average" of snapshots); otherwise every member of the top `top_k` trials
  (default 5). Members must share the architecture and the preprocessing (`EnsembleError`
  otherwise). The guard: the averaged network's validation score must be no worse than its
  members' mean, or the build is refused (networks trained from different initialisations
  have permuted hidden units, so their average is usually a worse network) with a message
  suggesting `predictions`.
- `snapshot`: the checkpoints and the final network of one trial (`trial`, default the best),
  first member only. It averages their predictions, unless the parameter average passes the
  guard and scores at least as well on validation: then that single network is kept (one
  network to run instead of several). `EnsembleBuild.note` says which was picked.

All selection uses validation predictions only; test scores are reported, never used.

`refit=True` (predictions and greedy): once the members and weights are chosen as above, every
member network is trained again, with its own keywords and seed, on the train and validation
rows together (`hpsearch.objectives.mlp.refit_member`: no early stopping, the epochs its kept
parameters had), and those networks are the ensemble. Validation scores stay those of the
selection; the test score is the refitted ensemble's, reported beside the same selection's
before refitting and the best single trial's refitted the same way. `n_jobs` processes refit
at once (the execution package's local pool, see `hpsearch.ensembles.refit`), each on one BLAS
thread, so the result does not depend on it. On digits it raised the
median test accuracy of top-5 averaging by 0.3-0.8 points over four 5-seed runs
(scripts/ensemble_study.py). The run folder is not changed.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hpsearch.ensembles.file import Ensemble, make_ensemble
from hpsearch.ensembles.methods import (
    Selection,
    choose_greedy,
    choose_one_network_or_snapshots,
    choose_predictions,
)
from hpsearch.ensembles.refit import refit_members
from hpsearch.ensembles.run_folder import RunFolder, open_run_folder
from hpsearch.exceptions import EnsembleError, StudyError
from hpsearch.execution.workers import check_n_jobs
from hpsearch.objectives.mlp.cost import ensemble_predict_ms, n_params

__all__ = ["METHODS", "EnsembleBuild", "build_ensemble"]

METHODS = ("predictions", "greedy", "parameters", "snapshot")


@dataclass(frozen=True)
class EnsembleBuild:
    """What `build_ensemble` made: the ensemble, its member table and its scores.

    rows: one dict per table row (trial, member, params, val, test, weight; with refit also
    refit_test). val_output / test_output: the ensemble's predictions on the stored split rows
    ((N, C) probabilities, or (N,) / (N, L) regression values), computed from the study's
    stored predictions. With refit, test_output and test_score are the refitted networks'
    (what the exported file predicts), test_before_refit is the score of the same selection
    before refitting and best_refit_test that of the best single trial refitted the same way;
    val_output and val_score stay those of the selection (held-out networks).
    """

    ensemble: Ensemble
    rows: tuple[dict[str, Any], ...]
    metric: str
    val_score: float
    test_score: float | None
    best_trial: int
    best_val: float
    best_test: float | None
    val_output: np.ndarray
    test_output: np.ndarray | None
    note: str = ""
    options: dict[str, Any] = field(default_factory=dict)
    test_before_refit: float | None = None
    best_refit_test: float | None = None
    n_params: int = 0  # learned parameters of every member network together
    predict_ms: float = float("nan")  # the ensemble's time for 1,000 rows, one thread


def _check_arguments(method: str, trial: int | None, refit: bool, n_jobs: int) -> None:
    """The argument checks that need no run folder."""
    if method not in METHODS:
        raise EnsembleError(f"unknown method {method!r}; choose {' | '.join(METHODS)}")
    try:
        check_n_jobs(n_jobs, "--n-jobs")
    except StudyError as err:
        raise EnsembleError(str(err)) from None
    if n_jobs != 1 and not refit:
        raise EnsembleError("--n-jobs applies to --refit (the only step that trains)")
    if refit and method not in ("predictions", "greedy"):
        raise EnsembleError(
            f"--refit applies to predictions and greedy, not {method}: {method} checks its "
            "average on the validation split, which refitting would train on")
    if trial is not None and method in ("predictions", "greedy"):
        raise EnsembleError(f"--trial applies to snapshot and parameters, not {method}")


def _options(run: RunFolder, method: str, top_k: int | None, size: int, trial: int | None,
             bags: int | None, bag_fraction: float | None, refit: bool) -> dict[str, Any]:
    """The checked options as the manifest records them (greedy: bags resolved)."""
    if trial is not None and trial not in {t.number for t in run.trials}:
        raise EnsembleError(f"trial {trial} is not a complete trial of {run.path}")
    if method != "greedy" and (bags is not None or bag_fraction is not None):
        raise EnsembleError(f"--bags and --bag-fraction apply to greedy, not {method}")
    options = {"top_k": top_k, "size": size, "trial": trial, "refit": refit}
    if method == "greedy":
        bags = 1 if bags is None else bags
        options.update(bags=bags, bag_fraction=(1.0 if bags == 1 else 0.5)
                       if bag_fraction is None else bag_fraction)
    return options


def _select(run: RunFolder, method: str, options: dict[str, Any]) -> Selection:
    if method == "predictions":
        return choose_predictions(run, options["top_k"])
    if method == "greedy":
        return choose_greedy(run, options["top_k"], options["size"], options["bags"],
                             options["bag_fraction"])
    return choose_one_network_or_snapshots(run, method, options["top_k"], options["trial"])


def _manifest_metrics(run: RunFolder, scores: dict[str, Any]) -> dict[str, Any]:
    """The manifest's `metrics`: on both sides, with refit, test_<m> is the refitted
    networks' score and test_<m>_before_refit the study's."""
    kind = run.kind
    metrics = {f"val_{kind}": scores["val"], f"test_{kind}": scores["test"],
               "best_single": {"trial": scores["best"], f"val_{kind}": scores["best_val"],
                               f"test_{kind}": scores["best_test"]}}
    if scores["refit"]:
        metrics[f"test_{kind}_before_refit"] = scores["before"]
        metrics["best_single"].update({f"test_{kind}": scores["best_refit"],
                                       f"test_{kind}_before_refit": scores["best_test"]})
    return metrics


def build_ensemble(run_dir: str | os.PathLike, method: str, top_k: int | None = None,
                   size: int = 20, trial: int | None = None, bags: int | None = None,
                   bag_fraction: float | None = None, refit: bool = False, n_jobs: int = 1,
                   progress: Callable[[str], None] | None = None,
                   from_front: bool = False) -> EnsembleBuild:
    """Build an ensemble from a run folder; see the module docstring. `n_jobs`: processes
    that refit at once (-1 = every core). `progress`, if given, receives a line before long
    work (refitting). `from_front`: candidates are a multi-objective study's Pareto front."""
    _check_arguments(method, trial, refit, n_jobs)
    run = open_run_folder(run_dir, from_front)
    options = _options(run, method, top_k, size, trial, bags, bag_fraction, refit)
    chosen = _select(run, method, options)
    best = run.trials[0].number
    scores: dict[str, Any] = {
        "best": best, "refit": refit, "before": None, "best_refit": None,
        "best_val": run.score(run.output(best, "val"), "val"),
        "best_test": run.score(run.output(best, "test"), "test") if run.has_test() else None,
        "val": run.score(chosen.val, "val"),
        "test": run.score(chosen.test, "test") if chosen.test is not None else None}
    test, note = chosen.test, chosen.note
    if refit:
        test, scores["best_refit"] = refit_members(run, chosen.members, chosen.rows, best,
                                                   n_jobs, progress)
        scores["before"] = scores["test"]
        scores["test"] = run.score(test, "test") if test is not None else None
        note += (f"; every network refitted on the train and validation rows "
                 f"({len(run.fit_rows[1])} samples), chosen on validation before that")
    study_info = {"run_dir": str(run.path.resolve()), "direction": run.study.direction,
                  "metric": run.metric, "seed": run.study.seed, "strategy": run.study.strategy_name,
                  "complete_trials": len(run.trials)}
    ensemble = make_ensemble(run.task, chosen.members, run.feature_names, method=method,
                             options=options, note=note, metrics=_manifest_metrics(run, scores),
                             study=study_info)
    return EnsembleBuild(ensemble, tuple(chosen.rows), run.kind, scores["val"], scores["test"],
                         best, scores["best_val"], scores["best_test"], chosen.val, test, note,
                         options, scores["before"], scores["best_refit"],
                         n_params=sum(n_params(m["arrays"]) for m in chosen.members),
                         predict_ms=ensemble_predict_ms(ensemble, run.X["val"]))
