"""HpsearchSampler inside Optuna: what is sampled relatively and what independently, what the
strategy is told (pruned, failed, running trials), several objectives, several threads and
processes, seeds. Optuna's own sampler suite runs from scripts/run_optuna_sampler_tests.py."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

import hpsearch as hp
from hpsearch.integrations.optuna import HpsearchSampler
from hpsearch.integrations.optuna.sampler import PARAMS_ATTR
from hpsearch.strategies.gp import GPStrategy

ROOT = Path(__file__).resolve().parents[3]

optuna.logging.set_verbosity(optuna.logging.WARNING)


def branin(trial):
    x = trial.suggest_float("x", -5, 10)
    y = trial.suggest_float("y", 0, 15)
    return ((y - 5.1 / (4 * math.pi ** 2) * x ** 2 + 5 / math.pi * x - 6) ** 2
            + 10 * (1 - 1 / (8 * math.pi)) * math.cos(x) + 10)


def conditional(trial):
    kind = trial.suggest_categorical("kind", ["quadratic", "constant"])
    if kind == "quadratic":
        return (trial.suggest_float("u", -1, 1) - 0.4) ** 2
    return 0.5 + trial.suggest_int("level", 1, 10, log=True) / 10


@pytest.fixture
def told(monkeypatch):
    """Every record the gp strategy is told, and every `pending` it is asked with."""
    seen = {"tell": [], "pending": []}
    tell, ask = GPStrategy.tell, GPStrategy.ask

    def spy_tell(self, trial):
        seen["tell"].append(trial)
        return tell(self, trial)

    def spy_ask(self, n, pending=()):
        seen["pending"].append(list(pending))
        return ask(self, n, pending)

    monkeypatch.setattr(GPStrategy, "tell", spy_tell)
    monkeypatch.setattr(GPStrategy, "ask", spy_ask)
    return seen


def test_bad_strategy_or_option_is_refused_at_construction():
    with pytest.raises(hp.StrategyError, match="valid strategies: gp, tpe, random"):
        HpsearchSampler("cmaes")
    with pytest.raises(hp.StrategyError, match="n_startupp"):
        HpsearchSampler(n_startupp=3)


@pytest.mark.parametrize("strategy", ["gp", "tpe", "random"])
def test_every_strategy_searches_inside_optuna(strategy):
    study = optuna.create_study(sampler=HpsearchSampler(strategy, seed=0))
    study.optimize(branin, n_trials=25)
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    assert study.best_value < 5.0  # random's best of 25 on Branin is about 1-3


def test_the_first_trial_is_independent_then_relative_over_the_inferred_space():
    study = optuna.create_study(sampler=HpsearchSampler(seed=1))
    study.optimize(branin, n_trials=3)
    first, *later = study.trials
    assert PARAMS_ATTR not in first.system_attrs  # no complete trial yet: independent
    for trial in later:
        assert trial.system_attrs[PARAMS_ATTR] == trial.params  # the strategy's whole point

    def wider(trial):  # x's range changes: x leaves the relative space, y stays in it
        return trial.suggest_float("x", -10, 10) + branin_y(trial)

    study.optimize(wider, n_trials=2)
    assert set(study.trials[-1].system_attrs[PARAMS_ATTR]) == {"y"}


def branin_y(trial):
    return trial.suggest_float("y", 0, 15)


def test_define_by_run_conditional_space(told):
    study = optuna.create_study(sampler=HpsearchSampler(seed=0))
    study.optimize(conditional, n_trials=30)
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    kinds = [t.params["kind"] for t in study.trials]
    both_seen = max(kinds.index("quadratic"), kinds.index("constant")) + 1
    assert both_seen < 10
    # from then on, each point holds exactly its branch's parameter, as when= says
    own = {"quadratic": {"kind", "u"}, "constant": {"kind", "level"}}
    for trial in study.trials[both_seen:]:
        point = trial.system_attrs[PARAMS_ATTR]
        assert set(point) == own[point["kind"]] == set(trial.params)
    assert study.best_params["kind"] == "quadratic" and study.best_value < 1e-3
    assert any(t.params.get("kind") == "constant" and "level" in t.params for t in told["tell"])


def test_pruned_and_failed_trials_are_told_as_gp_treats_them(told):
    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        if x > 0.8:
            raise ValueError("this configuration breaks")
        for step in range(3):
            trial.report(x + step, step)
            if x > 0.5 and step == 1:
                raise optuna.TrialPruned()
        return x

    study = optuna.create_study(sampler=HpsearchSampler(seed=3, n_startup=4))
    study.optimize(objective, n_trials=20, catch=(ValueError,))
    states = {t.number: t.state for t in study.trials}
    by_state = {s: [r for r in told["tell"] if r.state == s] for s in hp.TrialState}
    pruned = [n for n, s in states.items() if s == TrialState.PRUNED]
    failed = [n for n, s in states.items() if s == TrialState.FAIL]
    assert pruned and failed
    assert {r.number for r in by_state[hp.TrialState.PRUNED]} <= set(pruned)
    for record in by_state[hp.TrialState.PRUNED]:
        assert record.intermediate == {0: record.params["x"], 1: record.params["x"] + 1}
    assert {r.number for r in by_state[hp.TrialState.FAILED]} <= set(failed)
    assert by_state[hp.TrialState.FAILED]  # told, for gp's failed="worst"


def test_running_trials_are_pending_for_the_strategy(told):
    study = optuna.create_study(sampler=HpsearchSampler(seed=0, n_startup=3))
    study.optimize(branin, n_trials=5)
    running = study.ask()
    running.suggest_float("x", -5, 10)  # the whole point is recorded at the first suggest
    point = study.trials[-1].system_attrs[PARAMS_ATTR]
    told["pending"].clear()
    other = study.ask()
    other.suggest_float("x", -5, 10)
    assert told["pending"] == [[point]]
    assert study.trials[-1].system_attrs[PARAMS_ATTR] != point


def test_pruner_with_two_threads_ends_without_a_failed_trial():
    def objective(trial):
        x, y = trial.suggest_float("x", -5, 10), trial.suggest_float("y", 0, 15)
        for step in range(5):
            trial.report(abs(x - 3) + abs(y - 2) + 5 - step, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return abs(x - 3) + abs(y - 2)

    study = optuna.create_study(sampler=HpsearchSampler(seed=0, n_startup=5),
                                pruner=optuna.pruners.MedianPruner(n_startup_trials=3))
    study.optimize(objective, n_trials=24, n_jobs=2, catch=())
    states = [t.state for t in study.trials]
    assert len(states) == 24 and TrialState.FAIL not in states
    assert TrialState.PRUNED in states


WORKER = textwrap.dedent("""
    import sys, time
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend
    from hpsearch.integrations.optuna import HpsearchSampler

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = JournalStorage(JournalFileBackend(sys.argv[1]))
    study = optuna.load_study(study_name="shared", storage=storage,
                              sampler=HpsearchSampler(n_startup=4))

    def objective(trial):
        x, y = trial.suggest_float("x", -5, 5), trial.suggest_int("n", 1, 8)
        time.sleep(0.05)  # so that the two processes overlap
        return x * x + y

    study.optimize(objective, n_trials=10, catch=())
""")


def test_two_processes_share_a_journal_storage(tmp_path):
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    path = str(tmp_path / "journal.log")
    optuna.create_study(study_name="shared",
                        storage=JournalStorage(JournalFileBackend(path)))
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = {"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}
    workers = [subprocess.Popen([sys.executable, str(script), path], env=env,
                                stderr=subprocess.PIPE, text=True) for _ in range(2)]
    errors = [w.communicate(timeout=300)[1] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], errors
    study = optuna.load_study(study_name="shared",
                              storage=JournalStorage(JournalFileBackend(path)))
    trials = study.get_trials()
    summary = [(t.number, t.state.name, t.params) for t in trials]
    assert len(trials) == 20 and all(t.state == TrialState.COMPLETE for t in trials), summary
    # both processes sampled relatively once a trial was complete (the first trial of each
    # may have started before any finished: independent)
    assert sum(PARAMS_ATTR in t.system_attrs for t in trials) >= 18, summary


def test_several_objectives():
    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        return x, (1 - x) ** 2

    study = optuna.create_study(directions=["minimize", "minimize"],
                                sampler=HpsearchSampler(seed=0, n_startup=4))
    study.optimize(objective, n_trials=15)
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    assert len(study.best_trials) >= 3
    assert all(PARAMS_ATTR in t.system_attrs for t in study.trials[1:])


def _params(seed):
    study = optuna.create_study(sampler=HpsearchSampler(seed=seed))
    study.optimize(conditional, n_trials=16)
    return [t.params for t in study.trials]


def test_a_seed_reproduces_the_study():
    assert _params(7) == _params(7)
    assert _params(7) != _params(8)
