"""Hyperband: promotion-based asynchronous Hyperband (Li et al., JMLR 2018; asynchronous as in
ASHA, Li et al., MLSys 2020, and in Syne Tune's and Ray Tune's promotion schedulers), whose
rungs judge only while their ranking carries over to the next rung.

Notation: r = min_resource, R = max_resource, eta = reduction_factor. The rung levels are
L_k = r * eta**k for k = 0 .. K-1, every one below R (K of them); a trial that passes the last
rung trains to R (its objective's own end). Bracket b (0 <= b < brackets, brackets <= K + 1)
pauses its trials at the rungs L_b .. L_{K-1}; bracket 0 is ASHA's, bracket K trains every
trial to R. `brackets=None` is settled by the study (`for_strategy`): every bracket (K + 1)
for a strategy that learns from steps (gp, tpe: its proposals beat random ones, so fewer need
culling at the lowest rung, and the later brackets' longer trainings pay), one bracket (ASHA
with promotion) for the others (random, grid, whose proposals are mostly poor and gain the most
from early culling). Measured both ways on LCBench (docs/multifidelity-benchmark.md).
A new trial's bracket is drawn from its own seed (`SeedSequence([seed, BRACKET_STREAM])`),
with probabilities proportional to the number of
configurations synchronous Hyperband starts in each bracket, n_s = ceil((K+1)/(s+1) * eta**s)
for s = K - b halvings (so `restore` finds the same bracket again).

Rule (state per bracket and rung: the value of each trial that reached it, its first report at
a step >= L_k). A trial reaching a rung goes on at once when fewer than max(1, floor(n / eta))
of the n values recorded there are strictly better than its own: it is in the top 1/eta, or the
best so far (the first arrivals go on, as in asynchronous successive halving, so trials reach R
from the start); otherwise it is paused. At `next`, paused trials that have since come into that
position are promoted, the highest rung first (ASHA's get_job), the best value first within a
rung; then new trials start. A non-finite value is pruned for good.

Rank agreement (Hyper-Tune's question, Li et al., VLDB 2022: how far can a rung's ranking be
trusted?). A rung judges only while its ranking agrees with the next one's: over the trials
with a value both at L_k and at the next level (L_{k+1}, or R for the last rung; every bracket
counts), once there are `MIN_PAIRS` of them, Kendall's tau must be at least
`min_rank_correlation` (default 1/2: three concordant pairs for each discordant one). A rung
below it lets every trial go on, and its paused trials are promoted; it judges again when its
agreement recovers (it is re-read as values arrive). So a useless first rung (the epoch-1
accuracy of a network often says nothing of its epoch-50 one) stops culling trials at random,
and the budget goes to the rungs that rank. `min_rank_correlation=None` turns this off.

With `remaining` new trials to come, a paused trial is hopeless when its rung judges and, even
if every trial that can still reach its rung (the bracket's running trials below it, its paused
trials at lower rungs, and the `remaining` new ones) arrived with a worse value, it would not
be promoted: m >= max(1, (n + arrivals) // eta), m being how many values there beat it.
"""

from __future__ import annotations

import bisect
import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from hpsearch.exceptions import ParameterError
from hpsearch.pruners.base import check_ints, check_rank_correlation
from hpsearch.pruners.index import MIN_PAIRS, RANK_CORRELATION, rank_agreement, value_at
from hpsearch.pruners.scheduler import Action, Fresh, Resume, Scheduler, SchedulerState
from hpsearch.space import Space
from hpsearch.trial import FrozenTrial, TrialState

__all__ = ["Hyperband", "HyperbandState", "BRACKET_STREAM", "MIN_PAIRS"]

BRACKET_STREAM = 11  # SeedSequence([trial seed, BRACKET_STREAM]) draws a trial's bracket


@dataclass(frozen=True)
class Hyperband(Scheduler):
    """Promotion-based asynchronous Hyperband (module docstring); `brackets=1` is ASHA with
    promotion; `brackets=None`: every bracket (K + 1) with a strategy that learns from steps
    (gp, tpe), one with the others (`for_strategy`). A rung whose ranking agrees with the next
    level's less than `min_rank_correlation` (Kendall's tau) does not judge."""

    min_resource: int = 1
    max_resource: int | None = None
    reduction_factor: int = 3
    brackets: int | None = None
    min_rank_correlation: float | None = RANK_CORRELATION

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
        check_rank_correlation(self)

    @property
    def levels(self) -> list[int]:
        """The rung steps L_0 < L_1 < ... below max_resource."""
        out, level = [], self.min_resource
        while level < self.max_resource:
            out.append(level)
            level *= self.reduction_factor
        return out

    def for_strategy(self, learns_from_steps: bool) -> Hyperband:
        """`brackets=None` settled (module docstring): every bracket for a strategy that
        learns from steps, one for the others."""
        if self.brackets is not None:
            return self
        return replace(self, brackets=len(self.levels) + 1 if learns_from_steps else 1)

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
    better, sorted (how many beat a value is one bisection); per rung, every bracket's values
    together, and the values at max_resource (`final`), for the rank agreement."""

    sign: float
    values: dict[tuple[int, int], dict[int, float]] = field(default_factory=dict)
    ordered: dict[tuple[int, int], list[float]] = field(default_factory=dict)
    waiting: dict[tuple[int, int], list[tuple[float, int]]] = field(default_factory=dict)
    pooled: dict[int, dict[int, float]] = field(default_factory=dict)
    final: dict[int, float] = field(default_factory=dict)

    def at(self, bracket: int, rung: int) -> dict[int, float]:
        return self.values.setdefault((bracket, rung), {})

    def add(self, bracket: int, rung: int, number: int, value: float) -> None:
        """Record a trial's value at a rung (its first one only)."""
        values = self.at(bracket, rung)
        if number not in values:
            values[number] = value
            self.pooled.setdefault(rung, {})[number] = value
            bisect.insort(self.ordered.setdefault((bracket, rung), []), self.sign * value)

    def behind(self, bracket: int, rung: int, number: int) -> int:
        """How many values at the rung are strictly better than trial `number`'s."""
        own = self.sign * self.values[(bracket, rung)][number]
        return bisect.bisect_left(self.ordered[(bracket, rung)], own)

    def top(self, bracket: int, rung: int, reduction_factor: int) -> int:
        """How many values at the rung go on: max(1, n // reduction_factor)."""
        return max(1, len(self.at(bracket, rung)) // reduction_factor)

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

    def promotable(self, reduction_factor: int, judging: Mapping[int, bool]
                   ) -> list[tuple[int, float, int]]:
        """(-rung, signed value, number) of the paused trials that may go on: a prefix of each
        rung's waiting list (fewer than `top` values strictly better), or all of it at a rung
        that does not judge (`judging[rung]` False)."""
        out = []
        for (bracket, rung), waiting in self.waiting.items():
            if not waiting:
                continue
            if not judging[rung]:
                out += [(-rung, signed, number) for signed, number in waiting]
                continue
            cut = self.ordered[(bracket, rung)][self.top(bracket, rung, reduction_factor) - 1]
            for signed, number in waiting:
                if signed > cut:
                    break
                out.append((-rung, signed, number))
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
        self._agreement: dict[tuple[int, int], bool] = {}  # (rung, pairs) -> judges
        self._pairs: dict[tuple[int, int, int], int] = {}  # (rung, sizes) -> pairs
        self._running: set[int] = set()  # alive and not paused (`_below` reads these only)

    # ----- reading
    def behind(self, bracket: int, rung: int, number: int) -> int:
        """How many values at the rung are strictly better than trial `number`'s."""
        return self._rungs.behind(bracket, rung, number)

    def promotable(self, bracket: int, rung: int, number: int) -> bool:
        """In the top 1/reduction_factor of its rung, or the best there."""
        top = self._rungs.top(bracket, rung, self.config.reduction_factor)
        return self.behind(bracket, rung, number) < top

    def judges(self, rung: int) -> bool:
        """Whether the rung pauses trials: its ranking agrees with the next level's (module
        docstring), or too few trials have both values to tell yet."""
        if self.config.min_rank_correlation is None:
            return True
        here = self._rungs.pooled.get(rung, {})
        after = (self._rungs.pooled.get(rung + 1, {}) if rung + 1 < len(self.levels)
                 else self._rungs.final)
        # both maps only grow: their sizes name their contents (so the pairs are counted once
        # per change, not at every report and ask), and the pair count names the pairs (so tau
        # is computed once per new pair)
        sizes = (rung, len(here), len(after))
        if sizes not in self._pairs:
            self._pairs[sizes] = sum(1 for number in after if number in here)
        pairs = self._pairs[sizes]
        if pairs < MIN_PAIRS:
            return True
        key = (rung, pairs)
        if key not in self._agreement:
            tau = rank_agreement(here, after)
            self._agreement[key] = tau >= self.config.min_rank_correlation
        return self._agreement[key]

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
            self._agreement, self._pairs = {}, {}
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
                self._final(trial)

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
                if self.judges(rung) and not self.promotable(track.bracket, rung, number):
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
            self._final(trial)

    def _final(self, trial: FrozenTrial) -> None:
        """Record the trial's value at max_resource, if it got there."""
        if trial.state.is_finished and trial.number not in self._rungs.final:
            value = value_at(trial.intermediate, self.config.max_resource)
            if value is not None and math.isfinite(value):
                self._rungs.final[trial.number] = value

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

    def candidates(self) -> list[int]:
        """The paused trials promotable now, in promotion order: the highest rung level
        first, then the best value, then the lowest number."""
        judging = {rung: self.judges(rung) for rung in range(len(self.levels))}
        ready = sorted(self._rungs.promotable(self.config.reduction_factor, judging))
        return [number for *_, number in ready]

    def next(self, count: int, new_allowed: bool) -> list[Action]:
        with self._lock:
            out: list[Action] = []
            for number in self.candidates()[:count]:
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
                if not waiting or not self.judges(rung):
                    continue  # at a rung that does not judge: promoted at the next `next`
                arrivals = remaining + int(below[bracket, rung])
                values = self._rungs.at(bracket, rung)
                limit = (len(values) + arrivals) // self.config.reduction_factor
                out += self._rungs.beaten(bracket, rung, max(limit, 1))
            return sorted(out)
