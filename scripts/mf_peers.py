"""The peers of scripts/bench_multifidelity.py, each run in its own venv and driven over JSON lines.

    /work/venvs/<venv>/bin/python scripts/mf_peers.py METHOD SEED

A peer asks the driver to train: it writes {"train": {"trial", "params", "start", "stop"}} and
reads back {"accuracy": [val_accuracy at epochs start+1..stop]} or {"stop": true} (the run's
budget is spent: the peer exits). Its last line is {"seconds": s}, its own time minus the time
it waited for the driver. The simulated time and the incumbent are the driver's
(mf_accounting), never the peer's. This file imports no hpsearch; its only import from the
benchmark is mf_accounting's space.

- dehb: DEHB 0.1.2 (ask/tell; min_fidelity 1, max_fidelity 52, eta 3), each evaluation at its
  fidelity from scratch (DEHB has no checkpoints).
- smac_hb, smac_mf: SMAC3 2.4 HyperbandFacade (random configurations) and MultiFidelityFacade
  (random forest + Hyperband intensification), budgets 1..52, eta 3, from scratch.
- syne_asha, syne_bohb, syne_hyperband, syne_asha_bore: Syne Tune 0.16's ASHA, BOHB, ASHA with
  4 brackets (asynchronous Hyperband) and ASHA with a BORE searcher; stopping type (0.16 has no
  promotion type), grace period 1, reduction factor 3, driven epoch by epoch through the
  scheduler's own suggest / on_trial_result / on_trial_complete.
- syne_asha_promotion, syne_mobster, syne_hypertune, syne_dyhpo: Syne Tune 0.13 (its last
  release with these; venv synetune013): ASHA and MOBSTER of the promotion type, HyperTune
  (4 brackets, promotion type), DyHPO; paused trials resume from the epoch they reached.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from mf_accounting import EPOCHS, SPACE  # noqa: E402


class Spent(Exception):
    """The driver said the budget is spent."""


class Driver:
    """The peer's end of the channel; stdout is kept for it (the peers' logs go to stderr)."""

    def __init__(self) -> None:
        self.out, sys.stdout = sys.stdout, sys.stderr
        self.began = time.perf_counter()
        self.waited = 0.0

    def train(self, trial: str | int, config: dict, start: int, stop: int) -> list[float]:
        params = {name: (int(round(config[name])) if SPACE[name][3] else float(config[name]))
                  for name in SPACE}
        begin = time.perf_counter()
        self.out.write(json.dumps({"train": {"trial": trial, "params": params, "start": start,
                                             "stop": stop}}) + "\n")
        self.out.flush()
        reply = json.loads(sys.stdin.readline())
        self.waited += time.perf_counter() - begin
        if reply.get("stop"):
            raise Spent
        return reply["accuracy"]

    def finish(self) -> None:
        seconds = time.perf_counter() - self.began - self.waited
        self.out.write(json.dumps({"seconds": seconds}) + "\n")
        self.out.flush()


def configspace(seed: int):
    from ConfigSpace import ConfigurationSpace, Float, Integer

    space = ConfigurationSpace(seed=seed)
    space.add([(Integer if integer else Float)(name, (low, high), log=log)
               for name, (low, high, log, integer) in SPACE.items()])
    return space


def run_dehb(method: str, seed: int, driver: Driver) -> None:
    from dehb import DEHB

    with tempfile.TemporaryDirectory() as folder:
        optimizer = DEHB(cs=configspace(seed), dimensions=len(SPACE), min_fidelity=1,
                         max_fidelity=EPOCHS, eta=3, n_workers=1, seed=seed,
                         output_path=folder, log_level="ERROR")
        for number in range(10**9):
            job = optimizer.ask()
            config = dict(job["config"])  # a Configuration with configspace=True
            epochs = max(1, min(EPOCHS, round(job["fidelity"])))
            accuracy = driver.train(f"dehb{number}", config, 0, epochs)[-1]
            optimizer.tell(job, {"fitness": 100.0 - accuracy, "cost": float(epochs)})


def run_smac(method: str, seed: int, driver: Driver) -> None:
    from smac import HyperbandFacade, MultiFidelityFacade, Scenario
    from smac.runhistory.dataclasses import TrialValue

    facade_type = HyperbandFacade if method == "smac_hb" else MultiFidelityFacade
    with tempfile.TemporaryDirectory() as folder:
        scenario = Scenario(configspace(seed), deterministic=True, n_trials=10**9,
                            min_budget=1, max_budget=EPOCHS, seed=seed,
                            output_directory=Path(folder) / "smac")
        smac = facade_type(scenario, lambda config, seed=0, budget=1: 0.0, overwrite=True,
                           logging_level=40,
                           intensifier=facade_type.get_intensifier(scenario, eta=3))
        for number in range(10**9):
            info = smac.ask()
            epochs = max(1, min(EPOCHS, round(info.budget)))
            accuracy = driver.train(f"smac{number}", dict(info.config), 0, epochs)[-1]
            smac.tell(info, TrialValue(cost=100.0 - accuracy))


def syne_scheduler(method: str, seed: int):
    from syne_tune.optimizer.baselines import ASHA, ASHABORE, BOHB

    kind, options = {"syne_asha": (ASHA, {}), "syne_bohb": (BOHB, {}),
                     "syne_hyperband": (ASHA, {"brackets": 4}),
                     "syne_asha_bore": (ASHABORE, {})}[method]
    return kind(syne_space(), metric="val_accuracy", do_minimize=False, time_attr="epoch",
                max_t=EPOCHS, random_seed=seed, grace_period=1, reduction_factor=3, **options)


def run_syne(method: str, seed: int, driver: Driver) -> None:
    import datetime

    import numpy as np
    from syne_tune.backend.trial_status import Trial

    np.random.seed(seed)  # noqa: NPY002  (Syne Tune draws brackets from the global generator)
    scheduler = syne_scheduler(method, seed)
    for trial_id in range(10**9):
        suggestion = scheduler.suggest()
        trial = Trial(trial_id=trial_id, config=suggestion.config,
                      creation_time=datetime.datetime.now())
        scheduler.on_trial_add(trial)
        syne_epochs(scheduler, driver, trial, 0)


def syne_epochs(scheduler, driver: Driver, trial, start: int) -> int:
    """Train a Syne Tune trial on from epoch `start`, reporting each epoch, until its
    scheduler stops or pauses it or it completes epoch 52; returns the epoch it reached."""
    from syne_tune.optimizer.scheduler import SchedulerDecision

    for epoch in range(start + 1, EPOCHS + 1):
        accuracy = driver.train(trial.trial_id, trial.config, epoch - 1, epoch)[0]
        result = {"epoch": epoch, "val_accuracy": accuracy}
        decision = scheduler.on_trial_result(trial, result)
        if epoch == EPOCHS:
            scheduler.on_trial_complete(trial, result)
        elif decision != SchedulerDecision.CONTINUE:
            return epoch
    return EPOCHS


def syne_space() -> dict:
    from syne_tune.config_space import lograndint, loguniform, randint, uniform

    return {name: ((lograndint if log else randint) if integer else
                   (loguniform if log else uniform))(low, high)
            for name, (low, high, log, integer) in SPACE.items()}


def run_syne_promotion(method: str, seed: int, driver: Driver) -> None:
    """Syne Tune 0.13's pause-and-resume schedulers: a paused trial comes back from
    `suggest` (checkpoint_trial_id) and trains on from the epoch it reached."""
    import datetime

    from syne_tune.backend.trial_status import Trial
    from syne_tune.optimizer import baselines

    kind, options = {"syne_asha_promotion": (baselines.ASHA, {"type": "promotion"}),
                     "syne_mobster": (baselines.MOBSTER, {"type": "promotion"}),
                     "syne_hypertune": (baselines.HyperTune, {"type": "promotion",
                                                              "brackets": 4}),
                     "syne_dyhpo": (baselines.DyHPO, {})}[method]
    if method != "syne_dyhpo":  # DyHPO keeps its own linearly spaced rung levels
        options.update(grace_period=1, reduction_factor=3)
    scheduler = kind(syne_space(), metric="val_accuracy", resource_attr="epoch", mode="max",
                     max_t=EPOCHS, random_seed=seed, **options)
    trials: dict[int, Trial] = {}
    reached: dict[int, int] = {}  # trial id -> the epoch it reached
    while True:
        suggestion = scheduler.suggest(len(trials))
        if suggestion.spawn_new_trial_id:
            trial_id = len(trials)
            trials[trial_id] = Trial(trial_id=trial_id, config=suggestion.config,
                                     creation_time=datetime.datetime.now())
            scheduler.on_trial_add(trials[trial_id])
        else:
            trial_id = suggestion.checkpoint_trial_id
        reached[trial_id] = syne_epochs(scheduler, driver, trials[trial_id],
                                        reached.get(trial_id, 0))


PEERS = {"dehb": run_dehb, "smac_hb": run_smac, "smac_mf": run_smac, "syne_asha": run_syne,
         "syne_bohb": run_syne, "syne_hyperband": run_syne, "syne_asha_bore": run_syne,
         "syne_asha_promotion": run_syne_promotion, "syne_mobster": run_syne_promotion,
         "syne_hypertune": run_syne_promotion, "syne_dyhpo": run_syne_promotion}


def main() -> None:
    method, seed = sys.argv[1], int(sys.argv[2])
    driver = Driver()
    try:
        PEERS[method](method, seed, driver)
    except Spent:
        pass
    except Exception as error:  # the driver reports it; the peer's traceback goes to stderr
        import traceback

        traceback.print_exc()
        driver.out.write(json.dumps({"error": f"{type(error).__name__}: {error}"}) + "\n")
        driver.out.flush()
        return
    driver.finish()


if __name__ == "__main__":
    main()
