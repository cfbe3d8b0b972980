"""Learning-rate schedules.

Each schedule is a small object with `unit` ("epoch" or "iteration": what its `t` counts) and
`__call__(t) -> learning_rate` for t = 0, 1, 2, ... (t = 0 gives the initial rate). The trainer
asks an "iteration" schedule before every minibatch step and an "epoch" schedule once at the
start of every epoch.

- `StepDecay`: lr0 * drop ** (t // every), t in epochs (e.g. halve every 5 epochs).
- `ExponentialDecay`: lr0 * exp(-k t), t in iterations (the seed's form).
- `InverseTimeDecay`: lr0 / (1 + k t), t in iterations (the seed's "1/t decay").
- `Plateau`: the seed's heuristic, stateful: `step(val_score)` once per epoch cuts the rate by
  `factor` when the validation score has not improved for `patience` epochs; `__call__`
  returns the current rate whatever t is.

`make_schedule(name, learning_rate, decay=..., step=..., patience=...)` builds one by name:
none | step | exponential | inverse_time | plateau.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from nn_core._validate import check_choice

SCHEDULE_NAMES = ("none", "step", "exponential", "inverse_time", "plateau")


@dataclass(frozen=True)
class Constant:
    """The learning rate never changes."""

    learning_rate: float
    unit: str = "epoch"

    def __call__(self, t: int) -> float:
        return self.learning_rate


@dataclass(frozen=True)
class StepDecay:
    """lr0 * drop ** floor(t / every), t counting epochs."""

    learning_rate: float
    drop: float = 0.5
    every: int = 5
    unit: str = "epoch"

    def __call__(self, t: int) -> float:
        return self.learning_rate * self.drop ** (t // self.every)


@dataclass(frozen=True)
class ExponentialDecay:
    """lr0 * exp(-k t), t counting iterations."""

    learning_rate: float
    k: float = 1e-3
    unit: str = "iteration"

    def __call__(self, t: int) -> float:
        return self.learning_rate * math.exp(-self.k * t)


@dataclass(frozen=True)
class InverseTimeDecay:
    """lr0 / (1 + k t), t counting iterations."""

    learning_rate: float
    k: float = 1e-3
    unit: str = "iteration"

    def __call__(self, t: int) -> float:
        return self.learning_rate / (1.0 + self.k * t)


@dataclass
class Plateau:
    """Cut the rate by `factor` once the validation score stalls for `patience` epochs.

    `mode="max"` for scores where higher is better (accuracy, R^2), "min" for losses. An
    improvement must beat the best so far by more than `min_delta`. After a cut the count
    starts again. The rate never falls below `min_learning_rate`. Stateful: one object per run.
    """

    learning_rate: float
    factor: float = 0.1
    patience: int = 3
    mode: str = "max"
    min_delta: float = 0.0
    min_learning_rate: float = 0.0
    unit: str = "epoch"
    current: float = field(init=False)
    best: float = field(init=False)
    stalled: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        check_choice("mode", self.mode, ("max", "min"))
        self.current = self.learning_rate
        self.best = -math.inf if self.mode == "max" else math.inf

    def __call__(self, t: int) -> float:
        return self.current

    def step(self, score: float) -> float:
        """Record one epoch's validation score; return the rate for the next epoch."""
        improved = (
            score > self.best + self.min_delta
            if self.mode == "max"
            else score < self.best - self.min_delta
        )
        if improved:
            self.best = float(score)
            self.stalled = 0
        else:
            self.stalled += 1
            if self.stalled >= self.patience:
                self.current = max(self.current * self.factor, self.min_learning_rate)
                self.stalled = 0
        return self.current


Schedule = Constant | StepDecay | ExponentialDecay | InverseTimeDecay | Plateau


def make_schedule(
    name: str | None,
    learning_rate: float,
    *,
    decay: float | None = None,
    step: int = 5,
    patience: int = 3,
    mode: str = "max",
) -> Schedule:
    """Build the schedule called `name` (None means "none").

    `decay` is the schedule's factor: the drop of "step" and the cut of "plateau" (default
    0.5 and 0.1), the k of "exponential" and "inverse_time" (default 1e-3 per iteration).
    `step` is the number of epochs between drops of "step"; `patience` and `mode` belong to
    "plateau".
    """
    name = "none" if name is None else name
    check_choice("lr_schedule", name, SCHEDULE_NAMES)
    if name == "none":
        return Constant(learning_rate)
    if name == "step":
        return StepDecay(learning_rate, drop=0.5 if decay is None else decay, every=int(step))
    if name == "exponential":
        return ExponentialDecay(learning_rate, k=1e-3 if decay is None else decay)
    if name == "inverse_time":
        return InverseTimeDecay(learning_rate, k=1e-3 if decay is None else decay)
    return Plateau(
        learning_rate, factor=0.1 if decay is None else decay, patience=int(patience), mode=mode
    )
