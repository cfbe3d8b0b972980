"""Refitting an ensemble's members on the train and validation rows together (`refit=True`).

Contract: `refit_members(run, members, rows, best, n_jobs, progress)` trains every chosen member
network again with its own keywords and seed (`hpsearch.objectives.mlp.RefitObjective`), and,
with a test split, the best single trial's members too (its refitted test score is reported
beside the ensemble's). Each network is refitted once. The refits run like trials, through the
execution package (`hpsearch.execution.make_executor`: in this process for one worker, else on
the loky pool the study uses), each on one BLAS thread: float32 sums taken in another order
would send training elsewhere, and the same run folder must give the same ensemble on any
number of cores or processes. `n_jobs` follows the study's rule (-1: every core).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from hpsearch.ensembles.run_folder import RunFolder
from hpsearch.exceptions import EnsembleError
from hpsearch.execution import make_executor
from hpsearch.execution.objective import ObjectiveRef
from hpsearch.execution.task import TrialOutcome, TrialTask
from hpsearch.execution.workers import local_workers
from hpsearch.trial import TrialState

__all__ = ["Refitter", "refit_members"]

Job = tuple[int, str, Mapping[str, Any]]  # (trial number, member prefix, member config)


class Refitter:
    """Members trained again on the train and validation rows (`refit`), each once."""

    def __init__(self, run: RunFolder, n_jobs: int) -> None:
        self.run, self.n_jobs = run, n_jobs
        self._done: dict[tuple[int, str], tuple[dict, dict, np.ndarray | None]] = {}

    def fit(self, jobs: Sequence[Job]) -> None:
        """Refit (trial, source, config) networks not refitted yet, up to `n_jobs` at once."""
        from hpsearch.objectives.mlp import RefitObjective

        todo = list({(n, s): (n, s, c) for n, s, c in jobs if (n, s) not in self._done}.values())
        if not todo:
            return
        objective = ObjectiveRef(function=RefitObjective(*self.run.fit_rows))
        # The member's own seed is in its config; the task's seed is not used.
        tasks = [TrialTask(i, {"config": config}, 0, objective, limit_blas=True)
                 for i, (_, _, config) in enumerate(todo)]
        executor = make_executor(min(local_workers(self.n_jobs), len(todo)))
        try:
            outcomes = [future.result() for future in [executor.submit(t) for t in tasks]]
        finally:
            executor.shutdown()
        for (number, source, _), outcome in zip(todo, outcomes, strict=True):
            config, arrays = _refitted(number, source, outcome)
            test = self.run.predict(config, arrays, "test") if self.run.has_test() else None
            self._done[(number, source)] = (config, arrays, test)

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


def _refitted(number: int, source: str, outcome: TrialOutcome) -> tuple[dict, dict]:
    """(config, arrays) of a refit's outcome; EnsembleError with the reason it failed."""
    from hpsearch.objectives.mlp import refit_result

    reason = outcome.error
    if outcome.state is TrialState.COMPLETE:
        try:
            return refit_result(outcome.artifacts)
        except (ValueError, EnsembleError) as err:
            reason = str(err)
    raise EnsembleError(f"trial {number} {source}: refitting failed: {reason}")


def _announce(run: RunFolder, jobs: Sequence[Job], n_jobs: int,
              progress: Callable[[str], None] | None) -> None:
    if progress is None:
        return
    count = len({(number, source) for number, source, _ in jobs})
    at_once = "" if n_jobs == 1 else f", {'every core' if n_jobs == -1 else n_jobs} at once"
    progress(f"refitting {count} network{'s' if count != 1 else ''} on the train and "
             f"validation rows ({len(run.fit_rows[1])} samples{at_once})...")


def refit_members(run: RunFolder, members: list[dict], rows: list[dict], best: int, n_jobs: int,
                  progress: Callable[[str], None] | None
                  ) -> tuple[np.ndarray | None, float | None]:
    """Replace each member by its network refitted on train+val (same keywords and seed);
    adds `refit_test` to the rows. Returns the ensemble's test output and the best single
    trial's refitted test score (both None without a test split: nothing to score, so the
    best single trial is not refitted either)."""
    refitter = Refitter(run, n_jobs)
    jobs: list[Job] = [(m["trial"], m["source"], m["config"]) for m in members]
    if run.has_test():
        jobs += [(best, source, config) for source, config, _ in run.members(best)]
    _announce(run, jobs, n_jobs, progress)
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
