"""HpsearchSampler loaded the OptunaHub way, from this folder (run from the repository root:
`python package/samplers/hpsearch/example.py`)."""

from __future__ import annotations

import optuna
import optunahub


def objective(trial: optuna.Trial) -> float:
    optimizer = trial.suggest_categorical("optimizer", ["sgd", "adam"])
    lr = trial.suggest_float("learning_rate", 1e-5, 1.0, log=True)
    if optimizer == "sgd":
        momentum = trial.suggest_float("momentum", 0.0, 0.99)
        return (lr - 0.1) ** 2 + (momentum - 0.9) ** 2
    return (lr - 1e-3) ** 2 + 0.01 * trial.suggest_int("warmup_epochs", 0, 5)


module = optunahub.load_local_module(package="samplers/hpsearch", registry_root="package")
study = optuna.create_study(sampler=module.HpsearchSampler(seed=0))
study.optimize(objective, n_trials=40)
print(study.best_params, study.best_value)
