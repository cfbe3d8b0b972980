"""Hyperband: promotion-based asynchronous Hyperband (Li et al., JMLR 2018; asynchronous as in
ASHA, Li et al., MLSys 2020, and in Syne Tune's and Ray Tune's promotion schedulers).

Notation: r = min_resource, R = max_resource, eta = reduction_factor. The rung levels are
L_k = r * eta**k for k = 0 .. K-1, every one below R (K of them); a trial that passes the last
rung trains to R (its objective's own end). Bracket b (0 <= b < brackets, brackets <= K + 1)
pauses its trials at the rungs L_b .. L_{K-1}; bracket 0 is ASHA's, bracket K trains every
trial to R. A new trial's bracket is drawn from its own seed
(`SeedSequence([seed, BRACKET_STREAM])`), with probabilities proportional to the number of
configurations synchronous Hyperband starts in each bracket, n_s = ceil((K+1)/(s+1) * eta**s)
for s = K - b halvings (so `restore` finds the same bracket again).

Rule (state per bracket and rung: the value of each trial that reached it, its first report at
a step >= L_k): a trial reaching a rung goes on at once when fewer than floor(n / eta) of the n
values recorded there are strictly better than its own (it is in the top 1/eta), else it is
paused. At `next`, paused trials in that same position are promoted, the highest rung first
(ASHA's get_job), the best value first within a rung; then new trials start. A non-finite value
is pruned for good. With `remaining` new trials to come, a paused trial is hopeless when, even
if every trial that can still reach its rung (the bracket's running trials below it, its paused
trials at lower rungs, and the `remaining` new ones) arrived with a worse value, it would not
be in the top 1/eta: m >= (n + arrivals) // eta, m being how many values there beat it.
The end of a budget: once no new trial may start (`next(count, new_allowed=False)`) and no
live trial can reach a rung any more (the rung is settled), its best paused trial is promoted
even when the rung holds fewer than eta values, and is never hopeless (m >= max((n + 0) //
eta, 1) for the others): synchronous successive halving keeps at least one configuration per
rung too, so a budget of a few trials still trains some trial to max_resource.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from hpsearch.exceptions import ParameterError
from hpsearch.pruners.base import check_ints
from hpsearch.pruners.index import value_at
from hpsearch.pruners.scheduler import Action, Fresh, Resume, Scheduler, SchedulerState
from hpsearch.space import Space
from hpsearch.trial import FrozenTrial, TrialState

__all__ = ["Hyperband", "HyperbandState", "BRACKET_STREAM"]

BRACKET_STREAM = 11  # SeedSequence([trial seed, BRACKET_STREAM]) draws a trial's bracket


@dataclass(frozen=True)
class Hyperband(Scheduler):
    """Promotion-based asynchronous Hyperband (module docstring); `brackets=1` is ASHA with
    promotion, `brackets=None` uses every bracket (K + 1)."""

    min_resource: int = 1
    max_resource: int | None = None
    reduction_factor: int = 3
    brackets: int | None = None

    def __post_init__(self) -> None:
        if self.max_resource is None:
            raise ParameterError("Hyperband needs max_resource: the step (epoch) a fully trained "
                             "trial reaches")
        check_ints(self, min_resource=1, max_resource=1, reduction_factor=2)
        if self.max_resource <= self.min_resource:
            raise ParameterError(f"Hyperband: max_resource must be above min_resource "
                             f"({self.min_resource}), got {self.max_resource}")
        if self.brackets is not None:
            check_ints(self, brackets=1)

    @property
    def levels(self) -> list[int]:
        """The rung steps L_0 < L_1 < ... below max_resource."""
        out, level = [], self.min_resource
        while level < self.max_resource:
            out.append(level)
            level *= self.reduction_factor
        return out

    @property
    def n_brackets(self) -> int:
        most = len(self.levels) + 1
        return most if self.brackets is None else min(self.brackets, most)

    def bracket_probabilities(self) -> np.ndarray:
        """P(bracket b), b = 0 .. n_brackets - 1 (module docstring)."""
        top = len(self.levels)
        sizes = [math.ceil((top + 1) / (top - b + 1) * self.reduction_factor ** (top - b))
                 for b in range(self.n_brackets)]
        return np.asarray(sizes, dtype=float) / sum(sizes)

    def bracket(self, seed: int) -> int:
        """The bracket of a trial with this seed."""
        if self.n_brackets == 1:
            return 0
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), BRACKET_STREAM]))
        return int(rng.choice(self.n_brackets, p=self.bracket_probabilities()))

    def new_state(self, direction: str, space: Space | None = None) -> HyperbandState:
        return HyperbandState(self, direction)


@dataclass
class _Track:
    """One trial's place: its bracket, the next rung it stops at, where it is paused."""

    bracket: int
    target: int
    paused_at: int | None = None
    pausing: int | None = None  # the rung it was told to stop at, until told
    alive: bool = True


@dataclass
class _Rungs:
    """Per (bracket, rung): each trial's value there, and the values signed so that lower is
    better, sorted (how many beat a value is one bisection)."""

    sign: float
    values: dict[tuple[int, int], dict[int, float]] = field(default_factory=dict)
    ordered: dict[tuple[int, int], list[float]] = field(default_factory=dict)
    waiting: dict[tuple[int, int], list[tuple[float, int]]] = field(default_factory=dict)

    def at(self, bracket: int, rung: int) -> dict[int, float]:
        return self.values.setdefault((bracket, rung), {})

    def add(self, bracket: int, rung: int, number: int, value: float) -> None:
        """Record a trial's value at a rung (its first one only)."""
        values = self.at(bracket, rung)
        if number not in values:
            values[number] = value
            bisect.insort(self.ordered.setdefault((bracket, rung), []), self.sign * value)

    def behind(self, bracket: int, rung: int, number: int) -> int:
        """How many values at the rung are strictly better than trial `number`'s."""
        own = self.sign * self.values[(bracket, rung)][number]
        return bisect.bisect_left(self.ordered[(bracket, rung)], own)

    def pause(self, bracket: int, rung: int, number: int) -> None:
        entry = (self.sign * self.values[(bracket, rung)][number], number)
        bisect.insort(self.waiting.setdefault((bracket, rung), []), entry)

    def unpause(self, bracket: int, rung: int, number: int) -> None:
        waiting = self.waiting.get((bracket, rung), [])
        entry = (self.sign * self.values[(bracket, rung)][number], number)
        position = bisect.bisect_left(waiting, entry)
        if position < len(waiting) and waiting[position] == entry:
            del waiting[position]

    def beaten(self, bracket: int, rung: int, count: int) -> list[int]:
        """The paused trials at the rung that at least `count` values beat (`behind` >= count):
        a suffix of its waiting list, found by bisection."""
        waiting = self.waiting.get((bracket, rung), [])
        if count <= 0:
            return [number for _, number in waiting]
        ordered = self.ordered.get((bracket, rung), [])
        if count > len(ordered):
            return []
        # behind(v) >= count  <=>  the count-th best value is strictly better than v
        start = bisect.bisect_right(waiting, (ordered[count - 1], math.inf))
        return [number for _, number in waiting[start:]]

    def promotable(self, reduction_factor: int, settled: set[tuple[int, int]]
                   ) -> list[tuple[int, float, int, int, int]]:
        """(-rung, signed value, number, bracket, rung) of the paused trials in the top
        1/reduction_factor of their rung (at least the best one at a `settled` rung): a prefix
        of each rung's waiting list."""
        out = []
        for (bracket, rung), waiting in self.waiting.items():
            top = len(self.values[(bracket, rung)]) // reduction_factor
            if (bracket, rung) in settled:
                top = max(top, 1)
            if not waiting or top == 0:
                continue
            cut = self.ordered[(bracket, rung)][top - 1]  # fewer than `top` strictly better
            for signed, number in waiting:
                if signed > cut:
                    break
                out.append((-rung, signed, number, bracket, rung))
        return out


class HyperbandState(SchedulerState):
    """Hyperband's bookkeeping (see the module docstring)."""

    def __init__(self, config: Hyperband, direction: str) -> None:
        self.config = config
        self.direction = direction
        self.levels = config.levels
        self._lock = threading.RLock()
        self._tracks: dict[int, _Track] = {}
        self._rungs = _Rungs(1.0 if direction == "minimize" else -1.0)
        self._running: set[int] = set()  # alive and not paused (`_below` reads these only)

    # ----- reading
    def behind(self, bracket: int, rung: int, number: int) -> int:
        """How many values at the rung are strictly better than trial `number`'s."""
        return self._rungs.behind(bracket, rung, number)

    def promotable(self, bracket: int, rung: int, number: int) -> bool:
        values = self._rungs.at(bracket, rung)
        return self.behind(bracket, rung, number) < len(values) // self.config.reduction_factor

    def paused(self) -> dict[int, tuple[int, int]]:
        """{number: (bracket, rung)} of the paused trials."""
        with self._lock:
            return {n: (t.bracket, t.paused_at) for n, t in self._tracks.items()
                    if t.paused_at is not None}

    # ----- the protocol
    def _track(self, number: int, seed: int) -> _Track:
        if number not in self._tracks:
            bracket = self.config.bracket(seed)
            self._tracks[number] = _Track(bracket, bracket)
        return self._tracks[number]

    def restore(self, trials: Iterable[FrozenTrial]) -> None:
        with self._lock:
            self._tracks, self._rungs, self._running = {}, _Rungs(self._rungs.sign), set()
            for trial in sorted(trials, key=lambda t: t.number):
                track = self._track(trial.number, trial.seed)
                reached = []
                for rung in range(track.bracket, len(self.levels)):
                    value = value_at(trial.intermediate, self.levels[rung])
                    if value is None or not math.isfinite(value):
                        break
                    self._rungs.add(track.bracket, rung, trial.number, value)
                    reached.append(rung)
                if trial.state is TrialState.PAUSED and reached:
                    self._pause(trial.number, track, reached[-1])
                    track.target = reached[-1]
                elif reached:
                    track.target = reached[-1] + 1
                track.alive = not trial.state.is_finished
                self._note(trial.number, track)

    def started(self, trial: FrozenTrial) -> None:
        with self._lock:
            track = self._track(trial.number, trial.seed)
            self._pause(trial.number, track, None)
            track.alive, track.pausing = True, None
            self._note(trial.number, track)

    def report(self, number: int, step: int, value: float) -> bool:
        with self._lock:
            track = self._tracks.get(number)
            if track is None:
                return False
            if not math.isfinite(value):
                track.pausing = None
                return True
            while track.target < len(self.levels) and step >= self.levels[track.target]:
                rung = track.target
                self._rungs.add(track.bracket, rung, number, value)
                if not self.promotable(track.bracket, rung, number):
                    track.pausing = rung
                    return True
                track.target = rung + 1
            return False

    def stopped(self, trial: FrozenTrial) -> bool:
        with self._lock:
            track = self._tracks.get(trial.number)
            if track is None or track.pausing is None:
                self.finished(trial)
                return False
            self._pause(trial.number, track, track.pausing)
            track.pausing = None
            return True

    def finished(self, trial: FrozenTrial) -> None:
        with self._lock:
            track = self._tracks.get(trial.number)
            if track is not None:
                self._pause(trial.number, track, None)
                track.alive, track.pausing = False, None
                self._note(trial.number, track)

    def _pause(self, number: int, track: _Track, rung: int | None) -> None:
        """Set where the trial waits (None: nowhere), in its track and in the rung's list."""
        if track.paused_at is not None:
            self._rungs.unpause(track.bracket, track.paused_at, number)
        track.paused_at = rung
        if rung is not None:
            self._rungs.pause(track.bracket, rung, number)
        self._note(number, track)

    def _note(self, number: int, track: _Track) -> None:
        """Keep `_running` in step with the track's `alive` and `paused_at`."""
        if track.alive and track.paused_at is None:
            self._running.add(number)
        else:
            self._running.discard(number)

    def candidates(self, settled: set[tuple[int, int]] = frozenset()) -> list[int]:
        """The paused trials promotable now, in promotion order: the highest rung level
        first, then the best value, then the lowest number. At a `settled` rung (no trial can
        arrive there any more) the best paused trial is promotable even when the rung holds
        fewer than reduction_factor values."""
        ready = sorted((-self.levels[rung], signed, number)
                       for _, signed, number, _, rung in
                       self._rungs.promotable(self.config.reduction_factor, settled))
        return [number for *_, number in ready]

    def next(self, count: int, new_allowed: bool) -> list[Action]:
        with self._lock:
            out: list[Action] = []
            settled: set[tuple[int, int]] = set()
            if not new_allowed:  # no new trial: the rungs no live trial can reach any more
                below = self._below()
                settled = {key for key, waiting in self._rungs.waiting.items()
                           if waiting and below[key] == 0}
            for number in self.candidates(settled)[:count]:
                track = self._tracks[number]
                track.target = track.paused_at + 1
                self._pause(number, track, None)
                out.append(Resume(number))
            if new_allowed:
                out += [Fresh() for _ in range(count - len(out))]
            return out

    def _below(self) -> np.ndarray:
        """(brackets, rungs + 1): how many live trials can still reach each rung (running at
        or below it, paused below it). O(running trials + rungs): a paused trial is in its
        rung's waiting list, and only alive trials are paused."""
        below = np.zeros((self.config.n_brackets, len(self.levels) + 1), dtype=np.int64)
        for number in self._running:
            track = self._tracks[number]
            below[track.bracket, track.target:] += 1  # reaches target and on
        for (bracket, rung), waiting in self._rungs.waiting.items():
            below[bracket, rung + 1:] += len(waiting)
        return below

    def hopeless(self, remaining: int | None) -> list[int]:
        if remaining is None:
            return []
        with self._lock:
            below = self._below()
            out = []
            for (bracket, rung), waiting in self._rungs.waiting.items():
                if not waiting:
                    continue
                arrivals = remaining + int(below[bracket, rung])
                values = self._rungs.at(bracket, rung)
                limit = (len(values) + arrivals) // self.config.reduction_factor
                out += self._rungs.beaten(bracket, rung, max(limit, arrivals == 0))
            return sorted(out)
