"""The accounting of scripts/bench_multifidelity.py: simulated training time, budget, incumbent.

One implementation, used for every method (ours, Optuna's, and the peers driven from their own
venvs through `mf_peers.py`):

- A configuration's learning curve (`Curve`): val_accuracy (percent) at epochs 1..52 and the
  surrogate's cumulative training time, made non-decreasing (`np.maximum.accumulate`: the
  surrogate's time can dip by a fraction of an epoch, and training never gives time back).
- A run's `Ledger`: one worker, a simulated clock. Training configuration `key` from epoch
  `start` to epoch `stop` costs time(stop) - time(start) (time(0) = 0): a trial resumed from a
  checkpoint at `start` pays only its new epochs; one that starts again from 0 pays all. A
  trial can only resume from an epoch it reached (a PBT copy: its source reached). A copy made
  by PBT from a checkpoint at epoch e of configuration A and trained on with configuration B
  reads B's curve from e on (the surrogate knows no mixed histories: an approximation in PBT's
  favour, as in Syne Tune's simulated PBT). Training whose end would pass the budget
  (`BUDGET_UNITS` budget units) is not done: the ledger raises `BudgetSpent`.
- A budget unit = the median time(52) of 1,000 random configurations of the instance
  (`Reference.unit`). The incumbent at u units = the best val_accuracy among the epoch-52
  evaluations that ended at or before u units; lower epochs never count.
- Normalised regret = (top - incumbent) / (top - median), with top and median the best and
  the median epoch-52 val_accuracy of 10,000 random configurations (negative when a method
  beats the best of 10,000 draws); a run with no epoch-52 evaluation yet has regret inf.
- Ranks: within each (instance, seed), average ranks (1 = best, ties shared), a run with no
  incumbent last.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

EPOCHS = 52
BUDGET_UNITS = 50
CHECKPOINTS = (10, 25, 50)
N_UNIT, N_REFERENCE = 1_000, 10_000
ROOT = Path(__file__).resolve().parent.parent
DATA_PATH = ROOT.parent / "shared" / "yahpo_data"
YAHPO_PYTHON = Path("/work/venvs/yahpo/bin/python")
# name -> (low, high, log, integer): LCBench's 7 hyperparameters (config_space.json)
SPACE = {
    "batch_size": (16, 512, True, True),
    "learning_rate": (1e-4, 1e-1, True, False),
    "max_dropout": (0.0, 1.0, False, False),
    "max_units": (64, 1024, True, True),
    "momentum": (0.1, 0.99, False, False),
    "num_layers": (1, 5, False, True),
    "weight_decay": (1e-5, 1e-1, False, False),
}


class BudgetSpent(Exception):
    """The next training would end past the run's budget: the run is over."""


@dataclass(frozen=True)
class Curve:
    """accuracy[e - 1] = val_accuracy at epoch e; time[e] = cumulative seconds (time[0] = 0)."""

    accuracy: np.ndarray  # (EPOCHS,)
    time: np.ndarray  # (EPOCHS + 1,), non-decreasing

    @classmethod
    def from_surrogate(cls, accuracy: Sequence[float], seconds: Sequence[float]) -> Curve:
        cumulative = np.maximum.accumulate(np.maximum(np.asarray(seconds, float), 0.0))
        return cls(np.asarray(accuracy, float), np.concatenate([[0.0], cumulative]))


def config_key(params: dict) -> tuple:
    """A configuration's identity for the curve cache (integers as ints, floats exact)."""
    return tuple((int(params[n]) if SPACE[n][3] else float(params[n])) for n in SPACE)


@dataclass
class Ledger:
    """One run's simulated clock (module docstring). `unit` = seconds per budget unit."""

    unit: float
    budget_units: float = BUDGET_UNITS
    clock: float = 0.0
    epochs: int = 0
    reached: dict = field(default_factory=dict)  # trial id -> the last epoch it trained to
    full: list = field(default_factory=list)  # [units at the end, val_accuracy] at epoch 52

    def train(self, trial: object, curve: Curve, start: int, stop: int,
              source: object = None, charge_from: int | None = None) -> np.ndarray:
        """Train `trial` (any hashable id) on `curve` from epoch `start` to `stop`, resuming
        from a checkpoint of `source` (default: the trial itself; PBT's copy: its parent's)
        when start > 0; returns the val accuracies at epochs start+1..stop. BudgetSpent when
        it would end past the budget. `charge_from`: the epoch the time is charged from
        (default `start`; 0 charges a PBT copy as if its configuration had been trained from
        scratch, the pessimistic bound of `pbt_scratch`)."""
        source = trial if source is None else source
        if not 0 <= start < stop <= EPOCHS:
            raise ValueError(f"train from epoch {start} to {stop}: need 0 <= start < stop <= "
                             f"{EPOCHS}")
        if start > self.reached.get(source, 0):
            raise ValueError(f"trial {trial!r} resumes from epoch {start} but {source!r} "
                             f"reached only {self.reached.get(source, 0)}")
        paid_from = start if charge_from is None else charge_from
        end = self.clock + float(curve.time[stop] - curve.time[paid_from])
        if end > self.budget_units * self.unit:
            self.clock = self.budget_units * self.unit
            raise BudgetSpent
        self.clock = end
        self.epochs += stop - start
        self.reached[trial] = stop
        if stop == EPOCHS:
            self.full.append([end / self.unit, float(curve.accuracy[-1])])
        return curve.accuracy[start:stop]


def incumbent(full: Sequence[Sequence[float]], units: float) -> float | None:
    """The best val_accuracy among epoch-52 evaluations ended by `units` (None: none yet)."""
    values = [accuracy for at, accuracy in full if at <= units]
    return max(values) if values else None


def regret(value: float | None, top: float, median: float) -> float:
    return math.inf if value is None else (top - value) / (top - median)


def ranks(values: dict[str, float | None]) -> dict[str, float]:
    """Average ranks of accuracies (higher is better; None is worst), ties shared."""
    score = {m: (-math.inf if v is None else round(v, 6)) for m, v in values.items()}
    return {m: sum(w > v for w in score.values()) + (sum(w == v for w in score.values()) + 1) / 2
            for m, v in score.items()}


def sample_configs(rng: np.random.Generator, n: int) -> list[dict]:
    """n configurations uniformly from SPACE (log dimensions uniform in log space)."""
    columns = {}
    for name, (low, high, log, integer) in SPACE.items():
        if log:
            values = np.exp(rng.uniform(math.log(low), math.log(high), n))
        else:
            values = rng.uniform(low, high, n)
        columns[name] = np.clip(np.round(values), low, high).astype(int) if integer else values
    return [{name: columns[name][i].item() for name in SPACE} for i in range(n)]


class SurrogateClient:
    """The LCBench surrogate served by scripts/lcbench_surrogate.py from the yahpo venv."""

    def __init__(self, python: Path = YAHPO_PYTHON, data_path: Path = DATA_PATH) -> None:
        if not python.exists():
            raise SystemExit(f"{python} not found: create it with `python -m venv "
                             f"{python.parent.parent}` and `pip install yahpo-gym==1.0.2 "
                             "onnxruntime`")
        self.command = [str(python), str(ROOT / "scripts" / "lcbench_surrogate.py"),
                        str(data_path)]
        self.log = ROOT / "runs" / f"surrogate.{os.getpid()}.log"  # the server's stderr
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.process = self._start()

    def _start(self) -> subprocess.Popen:
        with self.log.open("a") as log:
            return subprocess.Popen(self.command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=log, text=True)

    def query(self, instance: str, configs: list[dict], epochs: Sequence[int]) -> dict:
        """The surrogate's reply; a server that died (no reply) is started again once and
        the request repeated (the surrogate is deterministic), its exit code and the end of
        its stderr printed."""
        request = json.dumps({"instance": instance, "configs": configs,
                              "epochs": list(epochs)}) + "\n"
        for attempt in range(2):
            try:
                self.process.stdin.write(request)
                self.process.stdin.flush()
                line = self.process.stdout.readline()
            except (BrokenPipeError, OSError):
                line = ""
            if line:
                break
            code = self.process.poll()
            tail = self.log.read_text()[-2000:] if self.log.exists() else ""
            print(f"# surrogate server died (exit {code}); its stderr ends:\n{tail}",
                  file=sys.stderr, flush=True)
            if attempt:
                raise RuntimeError(f"surrogate died twice on instance {instance}")
            self.process.kill()
            self.process = self._start()
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"surrogate: {reply['error']}")
        return reply

    def curves(self, instance: str, configs: list[dict]) -> list[Curve]:
        reply = self.query(instance, configs, range(1, EPOCHS + 1))
        return [Curve.from_surrogate(a, t) for a, t in zip(reply["val_accuracy"], reply["time"],
                                                           strict=True)]

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait()


class Problem:
    """One instance as a run sees it: curves by configuration (cached), the run's ledger, and
    the seconds spent outside the method (surrogate, accounting): `outside`."""

    def __init__(self, instance: str, unit: float, curves: Callable[[list[dict]], list[Curve]]):
        self.instance = instance
        self.ledger = Ledger(unit)
        self._curves = curves
        self._cache: dict[tuple, Curve] = {}
        self.outside = 0.0

    def curve(self, params: dict) -> Curve:
        key = config_key(params)
        if key not in self._cache:
            start = time.perf_counter()
            self._cache[key] = self._curves([dict(params)])[0]
            self.outside += time.perf_counter() - start
        return self._cache[key]

    def train(self, trial: object, params: dict, start: int, stop: int,
              source: object = None, charge_from: int | None = None) -> np.ndarray:
        curve = self.curve(params)
        begin = time.perf_counter()
        try:
            return self.ledger.train(trial, curve, start, stop, source, charge_from)
        finally:
            self.outside += time.perf_counter() - begin


@dataclass(frozen=True)
class Reference:
    """Per instance: seconds per budget unit, and the top / median epoch-52 accuracy of
    N_REFERENCE random configurations (for the normalised regret)."""

    unit: float
    top: float
    median: float


def reference(client: SurrogateClient, instance: str) -> Reference:
    """From N_REFERENCE random configurations (seeded by the instance); the unit from the first
    N_UNIT of them."""
    configs = sample_configs(np.random.default_rng([int(instance), 52]), N_REFERENCE)
    reply = client.query(instance, configs, [EPOCHS])
    accuracy = np.array(reply["val_accuracy"])[:, 0]
    seconds = np.array(reply["time"])[:, 0]
    return Reference(float(np.median(seconds[:N_UNIT])), float(accuracy.max()),
                     float(np.median(accuracy)))
