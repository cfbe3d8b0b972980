"""The methods of scripts/bench_multifidelity.py: each trains configurations on a `Problem`
(mf_accounting) until its budget is spent (`BudgetSpent`).

Method names: `<ours>[+<scheduler>]` with ours in random / gp / tpe (gp_evidence: gp with
evidence_margin=0.1, gp_free: gp with evidence_margin="off") and scheduler in asha
(`hp.ASHAPruner(min_resource=1, reduction_factor=3, max_resource=52)`), median
(`hp.MedianPruner()`), hyperband (`hp.Hyperband(min_resource=1, max_resource=52,
reduction_factor=3)`, promotion-based: paused trials resume from their checkpoint), pbt
(`hp.PopulationBasedTraining(interval=4, population=10, max_step=52)`), pbt_scratch (the same,
but a copy pays its epochs up to the checkpoint again, as if its new configuration had been
trained from scratch: the pessimistic bound of PBT on a surrogate, whose copies otherwise read
their new configuration's curve from the checkpoint on for free);
`optuna_tpe[+hyperband]` (Optuna's TPESampler, with its HyperbandPruner(1, 52, 3)); and the
peers of `mf_peers.PEERS`, run in their own venvs (`/work/venvs/<venv>`) and driven over JSON
lines: the peer sends {"train": {"trial", "params", "start", "stop"}}, the driver answers
{"accuracy": [...]} from the one ledger, or {"stop": true} once the budget is spent; the peer
then exits after one line {"seconds": s}, its own time minus the time it waited for the driver.

Every objective trains epoch by epoch and reports each epoch's val_accuracy (`trial.report`),
so a scheduler may stop it at any epoch. A scheduler takes keywords after colons, read as JSON:
`random+hyperband:min_resource=3:brackets=2`.
"""

from __future__ import annotations

import json
import math
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from mf_accounting import EPOCHS, SPACE, BudgetSpent, Problem

SCRIPTS = Path(__file__).resolve().parent
OURS = ("random", "gp", "tpe", "gp_evidence", "gp_free")
# variants of ours: (strategy, strategy_options)
VARIANTS = {"gp_evidence": ("gp", {"evidence_margin": 0.1}),
            "gp_free": ("gp", {"evidence_margin": "off"})}
OUR_SCHEDULERS = ("asha", "median", "hyperband", "pbt", "pbt_scratch")
# peer method -> its venv under /work/venvs
PEER_VENVS = {"dehb": "dehb", "smac_hb": "smac", "smac_mf": "smac", "syne_asha": "synetune",
              "syne_bohb": "synetune", "syne_hyperband": "synetune",
              "syne_asha_bore": "synetune", "syne_asha_promotion": "synetune013",
              "syne_mobster": "synetune013", "syne_hypertune": "synetune013",
              "syne_dyhpo": "synetune013"}
VENVS = Path("/work/venvs")
PBT_INTERVAL, PBT_POPULATION = 4, 10


def known(method: str) -> bool:
    base, _, scheduler = method.partition("+")
    if base in OURS:
        return scheduler.partition(":")[0] in ("", *OUR_SCHEDULERS)
    if base == "optuna_tpe":
        return scheduler in ("", "hyperband")
    return method in PEER_VENVS


def hp_space():
    import hpsearch as hp

    return hp.Space({name: (hp.Int(low, high, log=log) if integer else
                            hp.Float(low, high, log=log))
                     for name, (low, high, log, integer) in SPACE.items()})


def our_pruner(scheduler: str):
    """"hyperband" -> hp.Hyperband(1, 52, 3); "hyperband:min_resource=3:brackets=2" sets
    keywords (values read as JSON), to compare settings side by side."""
    import hpsearch as hp

    name, *pairs = scheduler.split(":")
    options = {key: json.loads(value) for key, _, value in (p.partition("=") for p in pairs)}
    if name == "asha":
        return hp.ASHAPruner(**{"min_resource": 1, "reduction_factor": 3,
                                "max_resource": EPOCHS, **options})
    if name == "median":
        return hp.MedianPruner(**options)
    if name == "hyperband":
        return hp.Hyperband(**{"min_resource": 1, "max_resource": EPOCHS,
                               "reduction_factor": 3, **options})
    if name in ("pbt", "pbt_scratch"):
        return hp.PopulationBasedTraining(**{"interval": PBT_INTERVAL,
                                             "population": PBT_POPULATION,
                                             "max_step": EPOCHS, **options})
    return None


def at_bounds(configs: list[dict]) -> float:
    """The share of configurations after the 10th with at least 3 of the 6 parameters other
    than num_layers within 1% of a bound (in the unit cube: log scale for log parameters)."""
    def near(params: dict) -> int:
        count = 0
        for name, (low, high, log, _integer) in SPACE.items():
            if name == "num_layers" or name not in params:
                continue
            scale = math.log if log else float
            u = (scale(params[name]) - scale(low)) / (scale(high) - scale(low))
            count += u <= 0.01 or u >= 0.99
        return count
    later = configs[10:]
    return sum(near(p) >= 3 for p in later) / len(later) if later else math.nan


def run_ours(method: str, problem: Problem, seed: int) -> tuple[int, float]:
    """hpsearch's ask/tell loop; returns the number of trials asked and `at_bounds`. A trial
    told to stop saves a checkpoint {epoch, the trial that trained it}: a scheduler that pauses
    (Hyperband, PBT) hands it back from `ask`, and it trains on from that epoch."""
    import hpsearch as hp

    base, _, scheduler = method.partition("+")
    scratch = scheduler.startswith("pbt_scratch")
    strategy, options = VARIANTS.get(base, (base, {}))
    study = hp.Study(hp_space(), direction="maximize", strategy=strategy, seed=seed,
                     pruner=our_pruner(scheduler), strategy_options=options)
    asked = 0
    try:
        while True:
            trial = study.ask()
            asked += 1
            saved = trial.checkpoint()
            start = 0 if saved is None else int(saved["epoch"])
            source = trial.number if saved is None else int(saved["trial"])
            accuracy, stopped = None, False
            copy = source != trial.number
            for epoch in range(start + 1, EPOCHS + 1):
                first = epoch == start + 1
                charge = 0 if first and copy and scratch else None
                accuracy = float(problem.train(trial.number, trial.params, epoch - 1, epoch,
                                               source if first else None, charge)[0])
                if trial.report(epoch, accuracy):
                    trial.save_checkpoint({"epoch": np.array(epoch),
                                           "trial": np.array(trial.number)})
                    stopped = True
                    break
            if stopped:
                study.tell(trial, state="pruned")
            else:
                study.tell(trial, accuracy)
    except BudgetSpent:
        return asked, at_bounds([t.params for t in study.trials])


def run_optuna(method: str, problem: Problem, seed: int) -> tuple[int, float]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    pruner = (optuna.pruners.HyperbandPruner(min_resource=1, max_resource=EPOCHS,
                                             reduction_factor=3)
              if method.endswith("+hyperband") else optuna.pruners.NopPruner())
    study = optuna.create_study(direction="maximize", pruner=pruner,
                                sampler=optuna.samplers.TPESampler(seed=seed))
    asked = 0
    try:
        while True:
            trial = study.ask()
            asked += 1
            params = {name: (trial.suggest_int(name, low, high, log=log) if integer else
                             trial.suggest_float(name, low, high, log=log))
                      for name, (low, high, log, integer) in SPACE.items()}
            accuracy = None
            for epoch in range(1, EPOCHS + 1):
                accuracy = float(problem.train(trial.number, params, epoch - 1, epoch)[0])
                trial.report(accuracy, epoch)
                if trial.should_prune():
                    study.tell(trial, state=optuna.trial.TrialState.PRUNED)
                    break
            else:
                study.tell(trial, accuracy)
    except BudgetSpent:
        return asked, at_bounds([t.params for t in study.trials])


def run_peer(method: str, problem: Problem, seed: int) -> tuple[int, float]:
    """Drive a peer process (module docstring); returns (trials, the peer's own seconds)."""
    python = VENVS / PEER_VENVS[method] / "bin" / "python"
    log = tempfile.TemporaryFile("w+")  # the peer's stderr (a pipe could fill up and block)
    process = subprocess.Popen([str(python), str(SCRIPTS / "mf_peers.py"), method, str(seed)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                               stderr=log)
    trials, spent = set(), False
    try:
        for line in process.stdout:
            message = json.loads(line)
            if "seconds" in message:
                return len(trials), float(message["seconds"])
            if "error" in message:
                process.wait()
                log.seek(0)
                raise RuntimeError(f"{method}: {message['error']}\n{log.read()[-3000:]}")
            order = message["train"]
            trials.add(order["trial"])
            reply: dict = {"stop": True}
            if not spent:
                try:
                    accuracy = problem.train(order["trial"], order["params"], int(order["start"]),
                                             int(order["stop"]))
                    reply = {"accuracy": [float(a) for a in accuracy]}
                except BudgetSpent:
                    spent = True
            process.stdin.write(json.dumps(reply) + "\n")
            process.stdin.flush()
        raise RuntimeError(f"{method}: the peer exited without its seconds "
                           f"(exit code {process.wait()})")
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        log.close()


def available(method: str) -> bool:
    if method in PEER_VENVS:
        return (VENVS / PEER_VENVS[method] / "bin" / "python").exists()
    return True


def run(method: str, problem: Problem, seed: int) -> dict:
    """One run: its trials, its optimizer seconds (the method's own time: wall time minus the
    surrogate and the accounting; a peer's as it measured it)."""
    start = time.perf_counter()
    if method in PEER_VENVS:  # a peer's configurations stay in its process: no "bounds"
        trials, seconds = run_peer(method, problem, seed)
        return {"trials": trials, "seconds": seconds}
    runner = run_optuna if method.startswith("optuna_tpe") else run_ours
    trials, bounds = runner(method, problem, seed)
    seconds = time.perf_counter() - start - problem.outside
    return {"trials": trials, "seconds": seconds, "bounds": bounds}

