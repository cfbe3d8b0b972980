"""The study's side of a scheduler (`hpsearch.pruners.scheduler`): paused trials, their
checkpoints and their promotion.

Contract (`Scheduling(storage, schedule, space, seed)`, owned by a `Study`; `schedule` is None
for a study without a scheduler, and then only `resume_point` and `finish` do anything):
- `resume_point(trial) -> (arrays | None, step, intermediate)`: what a handed-out trial starts
  from: its stored checkpoint and that checkpoint's step, and the reports it keeps (those of a
  paused or promoted trial, or of one with a checkpoint; none for a trial run again from
  scratch). A trial without a checkpoint starts again at step 0.
- `settle(record, checkpoint)`: a trial told `pruned` becomes `paused` when the scheduler may
  promote it (its checkpoint, if the objective saved one, is stored with it); any other
  finished trial is told to the scheduler and its checkpoint deleted (`finish`).
- `actions(count, new)`: the scheduler's next hand-outs (`Resume`, `Exploit`, `Fresh`).
- `child(action, number, source)`: the new trial of a PBT `Exploit`: number `number`, the
  study's seed for it, the perturbed params, `parent` = the source, the source's reports up to
  its checkpoint's step, recorded with a copy of that checkpoint.
- Steps: `steps(running, ran)` is a told trial's steps over all its runs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from hpsearch.pruners.scheduler import Action, Exploit, SchedulerState
from hpsearch.space import Space
from hpsearch.storage import Storage
from hpsearch.storage.checkpoints import Checkpoint
from hpsearch.study.seeds import trial_seed
from hpsearch.trial import FrozenTrial, TrialState

__all__ = ["Scheduling"]


class Scheduling:
    """See the module docstring."""

    def __init__(self, storage: Storage, schedule: SchedulerState | None, space: Space,
                 seed: int) -> None:
        self.storage, self.schedule, self.space, self.seed = storage, schedule, space, seed

    def restore(self, trials: list[FrozenTrial]) -> None:
        if self.schedule is not None:
            self.schedule.restore(trials)

    def resume_point(self, trial: FrozenTrial
                     ) -> tuple[dict[str, np.ndarray] | None, int, dict[int, float]]:
        stored = self.storage.load_checkpoint(trial.number)
        keeps = (stored is not None or trial.state is TrialState.PAUSED
                 or (self.schedule is not None and trial.state is TrialState.RUNNING))
        intermediate = dict(trial.intermediate) if keeps else {}
        if stored is None:
            return None, 0, intermediate
        return dict(stored.arrays), stored.step, intermediate

    def started(self, trial: FrozenTrial) -> None:
        if self.schedule is not None:
            self.schedule.started(trial)

    def settle(self, record: FrozenTrial,
               checkpoint: tuple[Mapping[str, np.ndarray], int] | None) -> tuple[
                   FrozenTrial, Checkpoint | None]:
        """(the record to store, the checkpoint to store with it)."""
        if (record.state is TrialState.PRUNED and self.schedule is not None
                and self.schedule.stopped(record)):
            stored = None if checkpoint is None else Checkpoint(dict(checkpoint[0]),
                                                                int(checkpoint[1]))
            return dataclasses.replace(record, state=TrialState.PAUSED), stored
        return record, None

    def finish(self, record: FrozenTrial) -> None:
        """A trial that can no longer be promoted: tell the scheduler, drop its checkpoint."""
        if self.schedule is not None:
            self.schedule.finished(record)
            self.storage.delete_checkpoint(record.number)

    def actions(self, count: int, new: bool) -> list[Action]:
        return [] if self.schedule is None else self.schedule.next(count, new)

    def hopeless(self, remaining: int | None) -> list[int]:
        return [] if self.schedule is None else self.schedule.hopeless(remaining)

    def child(self, action: Exploit, number: int, source: FrozenTrial
              ) -> tuple[FrozenTrial, Checkpoint | None]:
        stored = self.storage.load_checkpoint(source.number)
        upto = stored.step if stored is not None else 0
        intermediate = {s: v for s, v in source.intermediate.items() if s <= upto}
        params: dict[str, Any] = dict(action.params)
        child = FrozenTrial(number, params, TrialState.RUNNING, trial_seed(self.seed, number),
                            intermediate=intermediate, parent=source.number)
        return child, stored

    @staticmethod
    def steps(running: FrozenTrial, ran: int) -> int:
        return int(running.steps) + max(int(ran), 0)
