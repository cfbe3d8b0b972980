"""What each ensemble method chooses: its members, its table rows and its combined predictions.

Contract: every function takes an open `RunFolder` and returns a `Selection`: `members` (dicts
with config, arrays, weight, trial, source and metrics, as `make_ensemble` takes them), `rows`
(one dict per table row: trial, member, params, val, test, weight), `val` / `test` (the
ensemble's predictions on the stored rows, from the study's stored predictions; test None
without a test split) and a one-line `note`. See `hpsearch.ensembles.build` for the methods.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hpsearch.ensembles.averaging import average_parameters, check_averaging
from hpsearch.ensembles.run_folder import RunFolder
from hpsearch.ensembles.selection import bagged_greedy_selection
from hpsearch.exceptions import EnsembleError
from hpsearch.objectives.mlp import schema
from hpsearch.study.seeds import bagging_rng

__all__ = ["Selection", "choose_greedy", "choose_one_network_or_snapshots", "choose_predictions",
           "top_trials"]

Network = tuple[str, dict, dict]  # (source, config, arrays)


@dataclass(frozen=True)
class Selection:
    """A method's choice; see the module docstring."""

    members: list[dict[str, Any]]
    rows: list[dict[str, Any]]
    val: np.ndarray
    test: np.ndarray | None
    note: str


def top_trials(run: RunFolder, top_k: int | None, default: int | None) -> list[Any]:
    """The best `top_k` complete trials (`default` when None; None: every one)."""
    k = default if top_k is None else top_k
    if k is not None and k < 1:
        raise EnsembleError(f"--top-k must be at least 1, got {k}")
    return run.trials if k is None else run.trials[:k]


def _params_text(params: Mapping[str, Any]) -> str:
    return " ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in params.items())


def _by_trial(run: RunFolder, weights: Mapping[int, float], note: str) -> Selection:
    """Every member of the trials weighted as `weights` ({number: w}), each with its trial's
    share divided by the trial's member count."""
    total = float(sum(weights.values()))
    members, rows = [], []
    first = next(iter(weights))
    val = np.zeros_like(run.output(first, "val"))
    test = np.zeros_like(run.output(first, "test")) if run.has_test() else None
    by_number = {t.number: t for t in run.trials}
    for number, weight in weights.items():
        share = weight / total
        trial_val = run.output(number, "val")
        val += share * trial_val
        row = {"trial": number, "member": "all", "params": _params_text(by_number[number].params),
               "val": run.score(trial_val, "val"), "test": None, "weight": share}
        if test is not None:
            trial_test = run.output(number, "test")
            test += share * trial_test
            row["test"] = run.score(trial_test, "test")
        rows.append(row)
        listed = run.members(number)
        for source, config, arrays in listed:
            members.append({"config": config, "arrays": arrays, "weight": share / len(listed),
                            "trial": number, "source": source,
                            "metrics": {"val": row["val"], "test": row["test"]}})
    return Selection(members, rows, val, test, note)


def choose_predictions(run: RunFolder, top_k: int | None) -> Selection:
    """The mean of the predictions of the top `top_k` trials (default 5)."""
    chosen = top_trials(run, top_k, 5)
    return _by_trial(run, {t.number: 1.0 for t in chosen},
                     f"mean of the predictions of the top {len(chosen)} trials")


def choose_greedy(run: RunFolder, top_k: int | None, size: int, bags: int,
           bag_fraction: float) -> Selection:
    """Greedy selection of `size` picks among the top `top_k` trials (default every one), in
    `bags` bags of `bag_fraction` of them; weights are the counts."""
    candidates = top_trials(run, top_k, None)
    outputs = np.stack([run.output(t.number, "val") for t in candidates])
    # Bags are drawn from the study's seed, so a run folder always gives the same ensemble.
    rng = bagging_rng(run.study.seed)
    counts = bagged_greedy_selection(outputs, run.key, size, bags, bag_fraction, rng)
    weights = {t.number: float(c) for t, c in zip(candidates, counts, strict=True) if c}
    bagging = "" if bags == 1 and bag_fraction == 1.0 else \
        f" in each of {bags} bags of {bag_fraction:g} of them"
    return _by_trial(run, weights, f"greedy selection of {size} picks from {len(candidates)} "
                                   f"trials{bagging}: {len(weights)} distinct")


@dataclass(frozen=True)
class _Snapshot:
    source: str  # "epoch <e>" or "final"
    prefix: str  # the artifact prefix: checkpoint<e> or member0
    config: dict
    arrays: dict
    val: np.ndarray
    test: np.ndarray | None


def _snapshots(run: RunFolder, number: int) -> list[_Snapshot]:
    """A trial's checkpoints and its final first-member network (skipped when equal to the
    last checkpoint)."""
    epochs = run.checkpoint_epochs(number)
    if not epochs:
        raise EnsembleError(
            f"trial {number} has no checkpoints: add checkpoint_epochs = [...] (e.g. the last "
            "few epochs) to the study file's [objective] and run it again")
    out = []
    for epoch in epochs:
        prefix = schema.checkpoint_prefix(epoch)
        config, own = run.network(number, prefix)
        out.append(_Snapshot(f"epoch {epoch}", prefix, config, own,
                             run.output(number, "val", prefix), run.output(number, "test", prefix)))
    prefix = schema.member_prefix(0)
    config, own = run.network(number, prefix)
    last = out[-1].arrays
    if not all(np.array_equal(own[k], last[k]) for k in last):
        test = run.predict(config, own, "test") if run.has_test() else None
        out.append(_Snapshot("final", prefix, config, own, run.predict(config, own, "val"), test))
    return out


def _average(run: RunFolder, parts: Sequence[Network]
             ) -> tuple[dict, dict, np.ndarray, np.ndarray | None, list[float]]:
    """Average parameters and check the guard; returns config, arrays, outputs, member scores."""
    config, arrays = average_parameters([(c, a) for _, c, a in parts])
    member_scores = [run.score(run.predict(c, a, "val"), "val") for _, c, a in parts]
    val = run.predict(config, arrays, "val")
    check_averaging(run.score(val, "val"), member_scores, run.metric, run.maximize)
    test = run.predict(config, arrays, "test") if run.has_test() else None
    return config, arrays, val, test, member_scores


def _networks(run: RunFolder, method: str, top_k: int | None, trial: int | None
              ) -> tuple[list[Network], list[int], list[_Snapshot] | None]:
    """The networks to combine, the trial each comes from, and the snapshots they are (when
    they are one trial's checkpoints)."""
    if method == "snapshot" or trial is not None:
        number = run.trials[0].number if trial is None else trial
        snaps = _snapshots(run, number)
        return [(s.source, s.config, s.arrays) for s in snaps], [number] * len(snaps), snaps
    chosen = top_trials(run, top_k, 5)
    parts = [part for t in chosen for part in run.members(t.number)]
    return parts, [t.number for t in chosen for _ in run.members(t.number)], None


def _snapshot_rows(run: RunFolder, parts: Sequence[Network], origin: Sequence[int],
                   snaps: Sequence[_Snapshot] | None) -> list[dict[str, Any]]:
    """One row per network; the snapshots' own scores when they are snapshots."""
    numbers = {t.number: t for t in run.trials}
    rows = [{"trial": n, "member": source, "params": _params_text(numbers[n].params),
             "val": None, "test": None, "weight": 1.0 / len(parts)}
            for n, (source, _, _) in zip(origin, parts, strict=True)]
    if snaps is not None:
        for row, snap in zip(rows, snaps, strict=True):
            row["val"] = run.score(snap.val, "val")
            row["test"] = run.score(snap.test, "test") if snap.test is not None else None
    return rows


def choose_one_network_or_snapshots(run: RunFolder, method: str, top_k: int | None,
                             trial: int | None) -> Selection:
    """`parameters` (one averaged network, or a refusal) and `snapshot` (the averaged network
    when it passes the guard and scores at least as well on validation as the mean of the
    snapshots' predictions, else that mean)."""
    parts, origin, snaps = _networks(run, method, top_k, trial)
    rows = _snapshot_rows(run, parts, origin, snaps)
    refused, averaged = "", None
    try:
        averaged = _average(run, parts)
    except EnsembleError as err:
        if method == "parameters":
            raise  # a refusal is the answer
        refused = str(err).split(";")[0]
    if averaged is not None:
        for row, score in zip(rows, averaged[4], strict=True):
            row["val"] = score
    if snaps is not None:
        mean_val = np.mean([s.val for s in snaps], axis=0)
        mean_test = np.mean([s.test for s in snaps], axis=0) if run.has_test() else None
    if averaged is not None and (snaps is None or run.key(averaged[2]) >= run.key(mean_val)):
        config, arrays, val, test, _ = averaged
        member = {"config": config, "arrays": arrays, "weight": 1.0, "source": "average",
                  "trial": origin[0] if len(set(origin)) == 1 else None,
                  "metrics": {"averaged": [f"trial {n} {source}" for n, (source, _, _)
                                           in zip(origin, parts, strict=True)]}}
        note = f"one network: the parameter average of {len(parts)} networks (guard passed)"
        return Selection([member], rows, val, test, note)
    members = [{"config": s.config, "arrays": s.arrays, "weight": 1.0 / len(snaps),
                "trial": origin[0], "metrics": {}, "source": s.prefix} for s in snaps]
    note = (f"mean of the predictions of {len(snaps)} snapshots ("
            + (refused or "the parameter average scored lower on validation") + ")")
    return Selection(members, rows, mean_val, mean_test, note)
