"""What a pruner's decisions need from the other trials, kept as reports arrive.

Contract:
- A `PruningIndex` is fed every finished trial once (`add_finished(trial)`, in any order) and
  every report of a running trial after the pruner has decided on it (`add_report(number,
  step, intermediate)`, intermediate = that trial's {step: value} so far). It holds no trial's
  whole curve: only the values the pruner's rule reads, sorted per step, so a decision costs
  O(log n) (plus a list insertion) instead of a scan of every trial.
- `PruningIndex()` keeps nothing (pruners that read no history: threshold).
- `MedianIndex`: the number of complete trials and, per step, the sorted finite values the
  complete trials reported there (running, pruned and failed trials do not count); with the
  guard (`agreement`), also their values per step by trial for `FinalAgreement`: the same
  O(complete trials x steps) again.
- `RungIndex(rungs)`: per rung step, the sorted finite values of every trial (finished or
  running) at that rung, a trial's value at a rung being its first report at a step >= the
  rung (`value_at`); `rungs(up_to)` lists the rungs <= up_to. A running
  trial's rung values are recorded as it crosses each rung and reconciled with its record
  when it finishes; its bookkeeping is then dropped. `recorded(number, rung)` is a running
  trial's own value at a rung (None if not recorded), which a decision leaves out.
- `build(index, trials)` feeds a plain history (the stateless `Pruner.prune` path).
- `rank_agreement(first, second)`: Kendall's tau between two {trial: value} maps over the
  trials in both (how far a ranking at one step carries over to another).
- `FinalAgreement`: per step, the rank agreement of the complete trials' values there with
  their final values (`add(number, values, final)` once per complete trial; `judges(step,
  threshold)`: whether a stopping rule may judge at that step, the guard of `ASHAPruner` and
  `MedianPruner` with a strategy that learns from steps). A step judges once `MIN_PAIRS` trials
  have both values and their tau is at least the threshold; before that it does not (the
  first complete trials are what tells).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable, Mapping

from hpsearch.trial import FrozenTrial, TrialState

__all__ = ["PruningIndex", "MedianIndex", "RungIndex", "StepValues", "FinalAgreement", "MIN_PAIRS",
           "build", "rank_agreement", "value_at"]

MIN_PAIRS = 10  # trials with values at both steps before a rank agreement counts
RANK_CORRELATION = 0.5  # the default least Kendall tau at which a step (rung) judges


def value_at(intermediate: Mapping[int, float], rung: int) -> float | None:
    """A trial's value at a rung: its first report at a step >= rung (None if it never got
    there)."""
    steps = [s for s in intermediate if s >= rung]
    return intermediate[min(steps)] if steps else None


def rank_agreement(first: Mapping[int, float], second: Mapping[int, float]) -> float:
    """Kendall's tau (tau-b) between two sets of values over the trials (keys) in both: 1 when
    they rank those trials alike, -1 when reversed; 0 when fewer than two trials are shared or
    either side is constant."""
    from scipy.stats import kendalltau  # here: `hpsearch --help` imports no scipy

    shared = [number for number in second if number in first]
    if len(shared) < 2:
        return 0.0
    tau = kendalltau([first[n] for n in shared], [second[n] for n in shared]).statistic
    return float(tau) if math.isfinite(tau) else 0.0


class FinalAgreement:
    """Per step, Kendall's tau between the complete trials' values there and their final values
    (module docstring). A tau is computed again only when its step gained pairs."""

    def __init__(self) -> None:
        self._final: dict[int, float] = {}  # trial -> final value
        self._at: dict[int, dict[int, float]] = {}  # step -> {trial: value there}
        self._known: dict[int, tuple[int, float]] = {}  # step -> (pairs, tau)

    def add(self, number: int, values: Mapping[int, float], final: float) -> None:
        """A complete trial: its values at the steps that can be judged, and its final value.
        A trial added again replaces its values; with a non-finite final value it is left
        out (or taken out)."""
        if number in self._final:
            del self._final[number]
            self._known.clear()
            for at in self._at.values():
                at.pop(number, None)
        if not math.isfinite(final):
            return
        self._final[number] = float(final)
        for step, value in values.items():
            if math.isfinite(value):
                self._at.setdefault(int(step), {})[number] = float(value)

    def agreement(self, step: int) -> tuple[float, int]:
        """(Kendall's tau at `step` with the final values, the number of pairs)."""
        at = self._at.get(step, {})
        known = self._known.get(step)
        if known is None or known[0] != len(at):
            known = (len(at), rank_agreement(at, self._final))
            self._known[step] = known
        return known[1], known[0]

    def judges(self, step: int, threshold: float | None) -> bool:
        """Whether a stopping rule may stop a trial at `step`: always when `threshold` is
        None; else once `MIN_PAIRS` complete trials have a value there and their tau with the
        final values is at least `threshold`."""
        if threshold is None:
            return True
        tau, pairs = self.agreement(step)
        return pairs >= MIN_PAIRS and tau >= threshold


class StepValues:
    """Sorted finite values per step."""

    def __init__(self) -> None:
        self.values: dict[int, list[float]] = {}

    def add(self, step: int, value: float) -> None:
        if math.isfinite(value):
            bisect.insort(self.values.setdefault(step, []), value)

    def remove(self, step: int, value: float) -> None:
        values = self.values.get(step)
        if values and math.isfinite(value):
            position = bisect.bisect_left(values, value)
            if position < len(values) and values[position] == value:
                del values[position]

    def at(self, step: int) -> list[float]:
        """The sorted values at `step` (do not modify)."""
        return self.values.get(step, [])


class PruningIndex:
    """Keeps nothing; the base of the indexes (see the module docstring)."""

    def add_finished(self, trial: FrozenTrial) -> None:
        pass

    def add_report(self, number: int, step: int, intermediate: Mapping[int, float]) -> None:
        pass


class MedianIndex(PruningIndex):
    """Complete trials' values per step (see the module docstring); with `agreement`, also
    their `FinalAgreement` at every step (`final`)."""

    def __init__(self, agreement: bool = False) -> None:
        self.n_complete = 0
        self.steps = StepValues()
        self.final = FinalAgreement() if agreement else None

    def add_finished(self, trial: FrozenTrial) -> None:
        if trial.state is TrialState.COMPLETE:
            self.n_complete += 1
            for step, value in trial.intermediate.items():
                self.steps.add(step, value)
            if self.final is not None and trial.has_value:
                self.final.add(trial.number, trial.intermediate, float(trial.value))


class RungIndex(PruningIndex):
    """Every trial's values at the rungs (see the module docstring); with `agreement`, also the
    complete trials' `FinalAgreement` at the rungs (`final`)."""

    def __init__(self, rungs: Callable[[int], list[int]], agreement: bool = False) -> None:
        self.rungs = rungs
        self.steps = StepValues()
        self.final = FinalAgreement() if agreement else None
        self.running: dict[int, dict[int, float]] = {}  # number -> {rung: value recorded}
        self.last_step: dict[int, int] = {}

    def recorded(self, number: int | None, rung: int) -> float | None:
        own = self.running.get(number) if number is not None else None
        return None if own is None else own.get(rung)

    def add_report(self, number: int, step: int, intermediate: Mapping[int, float]) -> None:
        own = self.running.setdefault(number, {})
        if step > self.last_step.get(number, -1):  # the usual case: steps go up
            self.last_step[number] = step
            for rung in self.rungs(step):
                if rung not in own:
                    own[rung] = intermediate[step]
                    self.steps.add(rung, own[rung])
        else:  # a step reported again, or out of order: recompute this trial's values
            self._reconcile(own, intermediate)

    def add_finished(self, trial: FrozenTrial) -> None:
        own = self.running.pop(trial.number, None)
        self.last_step.pop(trial.number, None)
        self._reconcile({} if own is None else own, trial.intermediate)
        if (self.final is not None and trial.state is TrialState.COMPLETE
                and trial.has_value and trial.intermediate):
            at = {rung: value_at(trial.intermediate, rung)
                  for rung in self.rungs(max(trial.intermediate))}
            self.final.add(trial.number, {r: v for r, v in at.items() if v is not None},
                           float(trial.value))

    def _reconcile(self, own: dict[int, float], intermediate: Mapping[int, float]) -> None:
        """Make the recorded rung values `own` those of `intermediate`, in the index too."""
        rungs = self.rungs(max(intermediate, default=-1))
        for rung in set(own) | set(rungs):
            value = value_at(intermediate, rung) if rung in rungs else None
            old = own.get(rung)
            if old == value or (old is not None and value is not None
                                and math.isnan(old) and math.isnan(value)):
                continue
            if old is not None:
                self.steps.remove(rung, old)
                del own[rung]
            if value is not None:
                own[rung] = value
                self.steps.add(rung, value)


def build(index: PruningIndex, trials: Iterable[FrozenTrial]) -> PruningIndex:
    """Feed every trial of a plain history to `index`; returns it."""
    for trial in trials:
        index.add_finished(trial)
    return index
