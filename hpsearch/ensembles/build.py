"""Ensembles built from a finished run folder, without retraining (unless asked to `refit`).

Contract: `build_ensemble(run_dir, method, top_k=None, size=20, trial=None, bags=None,
bag_fraction=None, refit=False, n_jobs=1, progress=None) -> EnsembleBuild`
reads the study (read-only), its `data.npz` and the trials' artifacts written by the network
objective (`hpsearch.objectives.mlp`), and returns the `Ensemble` (see `hpsearch.ensembles.file`)
with a table of its members and its validation and test scores beside the best single trial's.
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
at once, each on one BLAS thread, so the result does not depend on it. On digits it raised the
median test accuracy of top-5 averaging by 0.3-0.8 points over four 5-seed runs
(scripts/ensemble_study.py). The run folder is not changed.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hpsearch.ensembles.file import Ensemble, make_ensemble
from hpsearch.exceptions import EnsembleError, HpsearchError
from hpsearch.study.seeds import bagging_rng
from hpsearch.trial import TrialState

__all__ = ["METHODS", "EnsembleBuild", "average_parameters", "bagged_greedy_selection",
           "build_ensemble", "check_averaging", "greedy_selection"]

METHODS = ("predictions", "greedy", "parameters", "snapshot")
_EPS = 1e-12


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


# ----- pure pieces ---------------------------------------------------------------------------

def greedy_selection(outputs: np.ndarray, key: Callable[[np.ndarray], Any],
                     size: int) -> np.ndarray:
    """Ensemble selection with replacement (Caruana et al., 2004).

    outputs: (M, N, ...) validation predictions of M candidates; key(mean_prediction) -> a
    comparable value, larger is better. Returns counts (M,) summing to `size`: the number of
    times each candidate was added. Ties go to the lower candidate index.
    """
    if size < 1:
        raise EnsembleError(f"the ensemble size must be at least 1, got {size}")
    outputs = np.asarray(outputs, dtype=np.float64)
    counts = np.zeros(len(outputs), dtype=np.int64)
    total = np.zeros(outputs.shape[1:], dtype=np.float64)
    for step in range(1, size + 1):
        best, best_key = 0, None
        for m in range(len(outputs)):
            value = key((total + outputs[m]) / step)
            if best_key is None or value > best_key:
                best, best_key = m, value
        counts[best] += 1
        total += outputs[best]
    return counts


def bagged_greedy_selection(outputs: np.ndarray, key: Callable[[np.ndarray], Any], size: int,
                            bags: int, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """Bagged ensemble selection (Caruana et al., 2004, section 2.5), their remedy for greedy
    selection overfitting a small validation set: `bags` times, `greedy_selection` of `size`
    picks among a random `fraction` of the candidates (at least one); returns the summed counts
    (M,). With bags=1 and fraction=1 it is `greedy_selection` itself."""
    if bags < 1:
        raise EnsembleError(f"the number of bags must be at least 1, got {bags}")
    if not 0.0 < fraction <= 1.0:
        raise EnsembleError(f"the bag fraction must be in (0, 1], got {fraction}")
    outputs = np.asarray(outputs, dtype=np.float64)
    m = len(outputs)
    chosen = max(1, int(fraction * m + 0.5))  # half up (round() would round half to even)
    counts = np.zeros(m, dtype=np.int64)
    for _ in range(bags):
        subset = np.arange(m) if chosen == m else np.sort(rng.choice(m, chosen, replace=False))
        counts[subset] += greedy_selection(outputs[subset], key, size)
    return counts


def _architecture(config: Mapping[str, Any]) -> dict[str, Any]:
    return {**config["network"], "estimator": config["estimator"],
            "preprocess": config["preprocess"]}


def average_parameters(members: Sequence[tuple[Mapping[str, Any], Mapping[str, np.ndarray]]]
                       ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The mean of same-architecture members' `param.*` and `buffer.*` arrays.

    members: (config, arrays) pairs as from nn_core's `to_arrays`. Returns the first member's
    config (marked `"averaged_from": n`) and arrays with every parameter and buffer replaced
    by the elementwise mean (same shapes and dtypes); the preprocessing statistics must agree.
    EnsembleError names the first difference in architecture or preprocessing.
    """
    if not members:
        raise EnsembleError("nothing to average")
    first_config, first_arrays = members[0]
    reference = _architecture(first_config)
    for i, (config, arrays) in enumerate(members[1:], start=1):
        other = _architecture(config)
        if other != reference:
            diff = sorted(k for k in set(reference) | set(other)
                          if reference.get(k) != other.get(k))
            raise EnsembleError(
                f"parameter averaging needs identical architectures; member {i} differs in "
                + ", ".join(f"{k} ({reference.get(k)!r} vs {other.get(k)!r})" for k in diff[:3])
                + "; use --method predictions")
        if set(arrays) != set(first_arrays) or any(
                np.shape(arrays[k]) != np.shape(first_arrays[k]) for k in arrays):
            raise EnsembleError(f"parameter averaging: member {i} has other arrays or shapes "
                                "than member 0; use --method predictions")
        for name in arrays:
            if name.startswith("preprocess.") and not np.allclose(
                    arrays[name], first_arrays[name], rtol=1e-6, atol=1e-9):
                raise EnsembleError(f"parameter averaging: member {i} was preprocessed "
                                    f"differently ({name}); use --method predictions")
    averaged = {}
    for name, value in first_arrays.items():
        if name.startswith(("param.", "buffer.")):
            stack = np.stack([np.asarray(a[name], dtype=np.float64) for _, a in members])
            averaged[name] = stack.mean(axis=0).astype(np.asarray(value).dtype)
        else:
            averaged[name] = value
    config = json.loads(json.dumps(first_config))
    config["averaged_from"] = len(members)
    config.pop("epoch", None)
    return config, averaged


def check_averaging(averaged_score: float, member_scores: Sequence[float], metric: str,
                    maximize: bool) -> None:
    """The parameter-averaging guard: refuse (EnsembleError) when the averaged network's
    validation score is worse than the mean of its members' scores."""
    mean = float(np.mean(member_scores))
    slack = 1e-9 * max(1.0, abs(mean))  # the mean of equal scores may round up
    worse = averaged_score < mean - slack if maximize else averaged_score > mean + slack
    if worse or not math.isfinite(averaged_score):
        raise EnsembleError(
            f"parameter averaging refused: the averaged network scores {metric} "
            f"{averaged_score:.4g} against its {len(member_scores)} members' mean {mean:.4g} "
            "(networks trained from different initialisations have permuted hidden units, so "
            "averaging their weights breaks them); use --method predictions, or --method "
            "snapshot / parameters --trial N on checkpoints of one run (checkpoint_epochs)")


# ----- reading a run folder ------------------------------------------------------------------

@dataclass
class _Run:
    study: Any
    path: Path
    task: str
    kind: str  # accuracy | loss | r2
    metric: str
    classes: np.ndarray | None
    feature_names: list[str]
    X: dict[str, np.ndarray]
    y: dict[str, np.ndarray]
    trials: list[Any]
    fit_rows: tuple[np.ndarray, np.ndarray]  # train and validation rows together, for refit
    _artifacts: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)

    def artifacts(self, number: int) -> dict[str, np.ndarray]:
        if number not in self._artifacts:
            self._artifacts[number] = self.study.artifacts(number)
        return self._artifacts[number]

    @property
    def maximize(self) -> bool:
        return self.kind != "loss"

    def output_name(self, part: str) -> str:
        return f"{part}_pred" if self.task == "regression" else f"{part}_proba"

    def has_test(self) -> bool:
        return len(self.y["test"]) > 0

    def score(self, output: np.ndarray, part: str, kind: str | None = None) -> float:
        """The metric of predictions `output` on split `part` (val or test)."""
        kind, y = kind or self.kind, self.y[part]
        if self.task == "regression":
            pred = output.reshape(y.shape)
            if kind == "loss":
                return float(np.mean((pred - y) ** 2))
            total = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
            residual = ((y - pred) ** 2).sum(axis=0)
            return float(np.mean(1.0 - residual / np.maximum(total, _EPS)))
        if self.task == "multilabel":
            if kind == "loss":
                p = np.clip(output, _EPS, 1 - _EPS)
                return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
            return float(np.mean(np.all((output > 0.5) == (y > 0.5), axis=1)))
        if kind == "loss":
            encoded = np.searchsorted(self.classes, y)
            return float(-np.mean(np.log(np.clip(output[np.arange(len(y)), encoded], _EPS,
                                                 None))))
        return float(np.mean(self.classes[output.argmax(axis=1)] == y))

    def key(self, output: np.ndarray) -> tuple[float, ...]:
        """Validation ranking key, larger is better: the metric, then lower loss."""
        primary = self.score(output, "val")
        primary = primary if self.maximize else -primary
        if self.kind == "loss" or self.task == "regression":
            return (primary,)
        return (primary, -self.score(output, "val", "loss"))

    def member(self, number: int, prefix: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(config, arrays) of `member<r>` or `checkpoint<e>` of a trial."""
        arrays = self.artifacts(number)
        config = json.loads(str(arrays[f"{prefix}.config"]))
        own = {k[len(prefix) + 1:]: v for k, v in arrays.items()
               if k.startswith(prefix + ".") and not k.endswith(("config", "_proba", "_pred"))}
        if prefix.startswith("checkpoint"):  # checkpoints share member 0's preprocessing
            own.update({k[len("member0."):]: v for k, v in arrays.items()
                        if k.startswith("member0.preprocess.")})
        return config, own

    def members(self, number: int) -> list[tuple[str, dict, dict]]:
        arrays = self.artifacts(number)
        count = sum(1 for k in arrays if k.startswith("member") and k.endswith(".config"))
        return [(f"member{r}", *self.member(number, f"member{r}")) for r in range(count)]

    def predict(self, config: Mapping[str, Any], arrays: Mapping[str, np.ndarray],
                part: str) -> np.ndarray:
        """Predictions of one network on split `part`: (N, C) probabilities or values."""
        from hpsearch.objectives.mlp import model_from_arrays

        model = model_from_arrays(config, arrays)
        X = self.X[part]
        if self.task == "regression":
            return np.asarray(model.predict(X), dtype=np.float64)
        return np.asarray(model.predict_proba(X), dtype=np.float64)


def _infer_metric(study: Any, trials: Sequence[Any], task: str) -> str:
    """The metric whose value every complete trial reports as its value (run folders written
    before the objective stored `study_metric`)."""
    names = [n for n in trials[0].metrics if n.startswith("val_")]
    names += [n for n in trials[0].metrics if not n.startswith("val_")]
    for name in names:
        if all(math.isclose(t.metrics.get(name, math.nan), t.value, rel_tol=1e-12,
                            abs_tol=1e-15) for t in trials):
            return name
    return "val_r2" if task == "regression" else "val_accuracy"


def _open(run_dir: str | os.PathLike) -> _Run:
    from hpsearch.study.study import load_study

    path = Path(run_dir)
    data_file = path / "data.npz"
    if not (path / "study.db").is_file():
        raise EnsembleError(f"{path}: not a study run folder (no study.db in it)")
    if not data_file.is_file():
        raise EnsembleError(f"{path}: no data.npz: ensembles need a study of the built-in "
                            "network objective (kind = \"mlp\")")
    try:
        study = load_study(path)
    except HpsearchError as err:
        raise EnsembleError(str(err)) from None
    trials = [t for t in study.trials if t.state is TrialState.COMPLETE and t.has_value]
    if not trials:
        raise EnsembleError(f"{path}: the study has no complete trial")
    sign = -1.0 if study.direction == "maximize" else 1.0
    trials.sort(key=lambda t: (sign * t.value, t.number))
    with np.load(data_file, allow_pickle=False) as stored:
        X_all, y_all = stored["X"], stored["y"]
        X = {part: X_all[stored[part]] for part in ("val", "test")}
        y = {part: y_all[stored[part]] for part in ("val", "test")}
        both = np.concatenate([stored["train"], stored["val"]])
        fit_rows = (X_all[both], y_all[both])
        names = [str(n) for n in stored["feature_names"]] if "feature_names" in stored else []
    first = study.artifacts(trials[0].number)
    if "member0.config" not in first:
        raise EnsembleError(f"{path}: trial {trials[0].number} has no saved networks; "
                            "ensembles need the built-in network objective")
    config = json.loads(str(first["member0.config"]))
    task = "regression" if config["estimator"] == "MLPRegressor" else (
        "multilabel" if config.get("multilabel") else "classification")
    classes = None if task == "regression" else np.array(
        config["classes"], dtype=np.dtype(config["classes_dtype"]))
    # The objective records the study's metric; older run folders have it inferred.
    metric = str(first["study_metric"]) if "study_metric" in first else \
        _infer_metric(study, trials, task)
    kind = metric.split("_", 1)[-1]
    if kind not in ("accuracy", "loss", "r2"):
        kind = "r2" if task == "regression" else "accuracy"
    if task == "regression" and kind == "accuracy":
        kind = "r2"
    return _Run(study, path, task, kind, f"val_{kind}", classes, names, X, y, trials, fit_rows)


# ----- methods -------------------------------------------------------------------------------

def _trial_output(run: _Run, number: int, part: str) -> np.ndarray:
    return np.asarray(run.artifacts(number)[run.output_name(part)], dtype=np.float64)


def _params_text(params: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in params.items())


def _by_trial(run: _Run, weights: Mapping[int, float]) -> tuple[list, list, np.ndarray,
                                                                  np.ndarray | None]:
    """Members, rows and combined outputs of trials weighted as `weights` ({number: w})."""
    total = float(sum(weights.values()))
    members, rows = [], []
    val = np.zeros_like(_trial_output(run, next(iter(weights)), "val"))
    test = np.zeros_like(_trial_output(run, next(iter(weights)), "test")) if run.has_test() \
        else None
    by_number = {t.number: t for t in run.trials}
    for number, weight in weights.items():
        share = weight / total
        trial_val = _trial_output(run, number, "val")
        val += share * trial_val
        row = {"trial": number, "member": "all", "params": _params_text(by_number[number].params),
               "val": run.score(trial_val, "val"), "test": None, "weight": share}
        if test is not None:
            trial_test = _trial_output(run, number, "test")
            test += share * trial_test
            row["test"] = run.score(trial_test, "test")
        rows.append(row)
        listed = run.members(number)
        for source, config, arrays in listed:
            members.append({"config": config, "arrays": arrays, "weight": share / len(listed),
                            "trial": number, "source": source,
                            "metrics": {"val": row["val"], "test": row["test"]}})
    return members, rows, val, test


def _top(run: _Run, top_k: int | None, default: int | None) -> list[Any]:
    k = default if top_k is None else top_k
    if k is not None and k < 1:
        raise EnsembleError(f"--top-k must be at least 1, got {k}")
    return run.trials if k is None else run.trials[:k]


def _refit_one(config: Mapping[str, Any], X: np.ndarray, y: np.ndarray
               ) -> tuple[tuple[dict, dict] | None, str | None]:
    """`refit_member` on one BLAS thread, as in the study's workers: float32 sums taken in
    another order would send training elsewhere, and the same run folder must give the same
    ensemble on any number of cores or processes. Returns (result, None) or (None, error)."""
    from threadpoolctl import threadpool_limits

    from hpsearch.objectives.mlp import refit_member

    with threadpool_limits(limits=1):
        try:
            return refit_member(config, X, y), None
        except ValueError as err:
            return None, str(err)


class _Refitter:
    """Members trained again on the train and validation rows (`refit`), each once."""

    def __init__(self, run: _Run, n_jobs: int) -> None:
        self.run, self.n_jobs = run, n_jobs
        self._done: dict[tuple[int, str], tuple[dict, dict, np.ndarray | None]] = {}

    def fit(self, jobs: Sequence[tuple[int, str, Mapping[str, Any]]]) -> None:
        """Refit (trial, source, config) networks not refitted yet, `n_jobs` processes at once
        (loky's reusable pool; -1 = every core)."""
        todo = list({(n, s): (n, s, c) for n, s, c in jobs if (n, s) not in self._done}.values())
        if not todo:
            return
        X, y = self.run.fit_rows
        if self.n_jobs == 1 or len(todo) == 1:
            results = [_refit_one(config, X, y) for _, _, config in todo]
        else:
            # The loky pool the study executor uses (joblib.Parallel would try to adopt it
            # and fail on a pool it did not create itself).
            from joblib.externals.loky import get_reusable_executor

            cores = os.cpu_count() or 1
            workers = min(cores if self.n_jobs == -1 else self.n_jobs, len(todo))
            pool = get_reusable_executor(max_workers=workers)
            futures = [pool.submit(_refit_one, config, X, y) for _, _, config in todo]
            results = [future.result() for future in futures]
        for (number, source, _), (result, error) in zip(todo, results, strict=True):
            if error is not None:
                raise EnsembleError(f"trial {number} {source}: refitting failed: {error}")
            new_config, arrays = result
            test = self.run.predict(new_config, arrays, "test") if self.run.has_test() else None
            self._done[(number, source)] = (new_config, arrays, test)

    def __call__(self, number: int, source: str, config: Mapping[str, Any]
                 ) -> tuple[dict, dict, np.ndarray | None]:
        """(config, arrays, test output) of member `source` of trial `number`, refitted."""
        self.fit([(number, source, config)])
        return self._done[(number, source)]

    def trial_test(self, number: int) -> np.ndarray:
        """Test output of every member of trial `number` refitted, averaged (as the trial's);
        runs with a test split only."""
        return np.mean([self(number, source, config)[2] for source, config, _ in
                        self.run.members(number)], axis=0)


def _refit(run: _Run, members: list[dict], rows: list[dict], best: int, n_jobs: int,
           progress: Callable[[str], None] | None) -> tuple[np.ndarray | None, float | None]:
    """Replace each member by its network refitted on train+val (same keywords and seed);
    adds `refit_test` to the rows. Returns the ensemble's test output and the best single
    trial's refitted test score (both None without a test split: nothing to score, so the
    best single trial is not refitted either)."""
    refitter = _Refitter(run, n_jobs)
    jobs = [(m["trial"], m["source"], m["config"]) for m in members]
    if run.has_test():
        jobs += [(best, source, config) for source, config, _ in run.members(best)]
    if progress is not None:
        count = len({(number, source) for number, source, _ in jobs})
        at_once = "" if n_jobs == 1 else f", {'every core' if n_jobs == -1 else n_jobs} at once"
        progress(f"refitting {count} network{'s' if count != 1 else ''} on the train and "
                 f"validation rows ({len(run.fit_rows[1])} samples{at_once})...")
    refitter.fit(jobs)
    scores = {row["trial"]: run.score(refitter.trial_test(row["trial"]), "test")
              if run.has_test() else None for row in rows}
    test = None
    for member in members:
        config, arrays, output = refitter(member["trial"], member["source"], member["config"])
        member.update(config=config, arrays=arrays, metrics={
            **member["metrics"], "test_before_refit": member["metrics"]["test"],
            "test": scores[member["trial"]]})
        if output is not None:
            test = member["weight"] * output if test is None else test + member["weight"] * output
    for row in rows:
        row["refit_test"] = scores[row["trial"]]
    best_test = run.score(refitter.trial_test(best), "test") if run.has_test() else None
    return test, best_test


def _snapshots(run: _Run, number: int) -> list[tuple[str, dict, dict, np.ndarray,
                                                     np.ndarray | None]]:
    """(source, config, arrays, val_output, test_output) of a trial's checkpoints and its
    final first-member network (skipped when equal to the last checkpoint)."""
    arrays = run.artifacts(number)
    epochs = [int(e) for e in arrays.get("checkpoint_epochs", np.zeros(0, dtype=np.int64))]
    if not epochs:
        raise EnsembleError(
            f"trial {number} has no checkpoints: add checkpoint_epochs = [...] (e.g. the last "
            "few epochs) to the study file's [objective] and run it again")
    out = []
    for epoch in epochs:
        prefix = f"checkpoint{epoch}"
        config, own = run.member(number, prefix)
        val = np.asarray(arrays[f"{prefix}.{run.output_name('val')}"], dtype=np.float64)
        test_key = f"{prefix}.{run.output_name('test')}"
        test = np.asarray(arrays[test_key], dtype=np.float64) if test_key in arrays else None
        out.append((f"epoch {epoch}", config, own, val, test))
    config, own = run.member(number, "member0")
    last = out[-1][2]
    if not all(np.array_equal(own[k], last[k]) for k in last):
        test = run.predict(config, own, "test") if run.has_test() else None
        out.append(("final", config, own, run.predict(config, own, "val"), test))
    return out


def _average(run: _Run, members: Sequence[tuple[str, dict, dict]]
             ) -> tuple[dict, dict, np.ndarray, np.ndarray | None, list[float]]:
    """Average parameters and check the guard; returns config, arrays, outputs, member scores."""
    config, arrays = average_parameters([(c, a) for _, c, a in members])
    member_scores = [run.score(run.predict(c, a, "val"), "val") for _, c, a in members]
    val = run.predict(config, arrays, "val")
    check_averaging(run.score(val, "val"), member_scores, run.metric, run.maximize)
    test = run.predict(config, arrays, "test") if run.has_test() else None
    return config, arrays, val, test, member_scores


def _one_network_or_snapshots(run: _Run, method: str, top_k: int | None, trial: int | None
                              ) -> tuple[list, list, np.ndarray, np.ndarray | None, str]:
    """`parameters` and `snapshot`: members, rows, val/test outputs and the note."""
    numbers = {t.number: t for t in run.trials}
    snaps = None
    if method == "snapshot" or trial is not None:
        number = run.trials[0].number if trial is None else trial
        snaps = _snapshots(run, number)
        parts = [(source, config, arrays) for source, config, arrays, _, _ in snaps]
        origin = [number] * len(parts)
    else:
        chosen = _top(run, top_k, 5)
        parts = [part for t in chosen for part in run.members(t.number)]
        origin = [t.number for t in chosen for _ in run.members(t.number)]
    rows = [{"trial": n, "member": source, "params": _params_text(numbers[n].params),
             "val": None, "test": None, "weight": 1.0 / len(parts)}
            for n, (source, _, _) in zip(origin, parts, strict=True)]
    if snaps is not None:
        for row, (_, _, _, val, test) in zip(rows, snaps, strict=True):
            row["val"] = run.score(val, "val")
            row["test"] = run.score(test, "test") if test is not None else None
    refused = ""
    if method == "parameters":
        averaged = _average(run, parts)  # a refusal is the answer
    else:
        try:
            averaged = _average(run, parts)
        except EnsembleError as err:
            averaged, refused = None, str(err).split(";")[0]
    if averaged is not None:
        for row, score in zip(rows, averaged[4], strict=True):
            row["val"] = score
    if snaps is not None:
        mean_val = np.mean([snap[3] for snap in snaps], axis=0)
        mean_test = np.mean([snap[4] for snap in snaps], axis=0) if run.has_test() else None
    if averaged is not None and (snaps is None or run.key(averaged[2]) >= run.key(mean_val)):
        config, arrays, val, test, _ = averaged
        member = {"config": config, "arrays": arrays, "weight": 1.0, "source": "average",
                  "trial": origin[0] if len(set(origin)) == 1 else None,
                  "metrics": {"averaged": [f"trial {n} {source}" for n, (source, _, _)
                                           in zip(origin, parts, strict=True)]}}
        note = f"one network: the parameter average of {len(parts)} networks (guard passed)"
        return [member], rows, val, test, note
    members = [{"config": config, "arrays": arrays, "weight": 1.0 / len(snaps),
                "trial": origin[0], "metrics": {},
                "source": source.replace("epoch ", "checkpoint").replace("final", "member0")}
               for source, config, arrays, _, _ in snaps]
    note = (f"mean of the predictions of {len(snaps)} snapshots ("
            + (refused or "the parameter average scored lower on validation") + ")")
    return members, rows, mean_val, mean_test, note


def build_ensemble(run_dir: str | os.PathLike, method: str, top_k: int | None = None,
                   size: int = 20, trial: int | None = None, bags: int | None = None,
                   bag_fraction: float | None = None, refit: bool = False, n_jobs: int = 1,
                   progress: Callable[[str], None] | None = None) -> EnsembleBuild:
    """Build an ensemble from a run folder; see the module docstring. `n_jobs`: processes
    that refit at once (-1 = every core). `progress`, if given, receives a line before long
    work (refitting)."""
    if method not in METHODS:
        raise EnsembleError(f"unknown method {method!r}; choose {' | '.join(METHODS)}")
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
        raise EnsembleError(f"--n-jobs must be a positive integer or -1 (every core), got "
                            f"{n_jobs!r}")
    if n_jobs != 1 and not refit:
        raise EnsembleError("--n-jobs applies to --refit (the only step that trains)")
    if refit and method not in ("predictions", "greedy"):
        raise EnsembleError(
            f"--refit applies to predictions and greedy, not {method}: {method} checks its "
            "average on the validation split, which refitting would train on")
    if trial is not None and method in ("predictions", "greedy"):
        raise EnsembleError(f"--trial applies to snapshot and parameters, not {method}")
    run = _open(run_dir)
    if trial is not None and trial not in {t.number for t in run.trials}:
        raise EnsembleError(f"trial {trial} is not a complete trial of {run.path}")
    if method != "greedy" and (bags is not None or bag_fraction is not None):
        raise EnsembleError(f"--bags and --bag-fraction apply to greedy, not {method}")
    note, options = "", {"top_k": top_k, "size": size, "trial": trial, "refit": refit}
    if method == "greedy":
        bags = 1 if bags is None else bags
        if bag_fraction is None:
            bag_fraction = 1.0 if bags == 1 else 0.5
        options.update(bags=bags, bag_fraction=bag_fraction)
    if method == "predictions":
        chosen = _top(run, top_k, 5)
        members, rows, val, test = _by_trial(run, {t.number: 1.0 for t in chosen})
        note = f"mean of the predictions of the top {len(chosen)} trials"
    elif method == "greedy":
        candidates = _top(run, top_k, None)
        outputs = np.stack([_trial_output(run, t.number, "val") for t in candidates])
        # Bags are drawn from the study's seed, so a run folder always gives the same ensemble.
        rng = bagging_rng(run.study.seed)
        counts = bagged_greedy_selection(outputs, run.key, size, bags, bag_fraction, rng)
        weights = {t.number: float(c) for t, c in zip(candidates, counts, strict=True) if c}
        members, rows, val, test = _by_trial(run, weights)
        bagging = "" if bags == 1 and bag_fraction == 1.0 else \
            f" in each of {bags} bags of {bag_fraction:g} of them"
        note = (f"greedy selection of {size} picks from {len(candidates)} trials{bagging}: "
                f"{len(weights)} distinct")
    else:
        members, rows, val, test, note = _one_network_or_snapshots(run, method, top_k, trial)
    best = run.trials[0]
    best_val_output = _trial_output(run, best.number, "val")
    best_val = run.score(best_val_output, "val")
    best_test = run.score(_trial_output(run, best.number, "test"), "test") \
        if run.has_test() else None
    val_score = run.score(val, "val")
    test_score = run.score(test, "test") if test is not None else None
    before = best_refit = None
    if refit:
        test, best_refit = _refit(run, members, rows, best.number, n_jobs, progress)
        before, test_score = test_score, run.score(test, "test") if test is not None else None
        note += (f"; every network refitted on the train and validation rows "
                 f"({len(run.fit_rows[1])} samples), chosen on validation before that")
    metrics = {f"val_{run.kind}": val_score, f"test_{run.kind}": test_score,
               "best_single": {"trial": best.number, f"val_{run.kind}": best_val,
                               f"test_{run.kind}": best_test}}
    if refit:  # on both sides, test_<m> is the refitted networks' and the other the study's
        metrics[f"test_{run.kind}_before_refit"] = before
        metrics["best_single"].update({f"test_{run.kind}": best_refit,
                                       f"test_{run.kind}_before_refit": best_test})
    study_info = {"run_dir": str(run.path.resolve()), "direction": run.study.direction,
                  "metric": run.metric, "seed": run.study.seed, "strategy": run.study.strategy_name,
                  "complete_trials": len(run.trials)}
    ensemble = make_ensemble(run.task, members, run.feature_names, method=method,
                             options=options, note=note, metrics=metrics, study=study_info)
    return EnsembleBuild(ensemble, tuple(rows), run.kind, val_score, test_score, best.number,
                         best_val, best_test, val, test, note, options, before, best_refit)
