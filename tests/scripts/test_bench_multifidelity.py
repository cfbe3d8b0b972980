"""scripts/bench_multifidelity.py's accounting, on a fake surrogate (no yahpo-gym needed).

Costs of fresh and resumed training, the budget, the incumbent (epoch-52 evaluations only),
ranks and regret, the reference unit, whole runs of our methods, the JSON-lines cache."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
accounting = importlib.import_module("mf_accounting")
methods = importlib.import_module("mf_methods")
bench = importlib.import_module("bench_multifidelity")
EPOCHS = accounting.EPOCHS


def fake_curve(params: dict) -> accounting.Curve:
    """A curve that rises with the learning rate; each epoch costs batch_size / 16 seconds."""
    epochs = np.arange(1, EPOCHS + 1)
    top = 50 + 40 * np.log10(params["learning_rate"] / 1e-4) / 3
    accuracy = top * (1 - np.exp(-epochs / 10))
    return accounting.Curve.from_surrogate(accuracy, epochs * params["batch_size"] / 16)


def fake_curves(configs: list[dict]) -> list[accounting.Curve]:
    return [fake_curve(c) for c in configs]


CONFIG = {"batch_size": 32, "learning_rate": 0.01, "max_dropout": 0.1, "max_units": 128,
          "momentum": 0.9, "num_layers": 2, "weight_decay": 0.001}  # 2 s an epoch


def test_surrogate_time_is_made_cumulative_and_starts_at_zero():
    curve = accounting.Curve.from_surrogate(np.ones(EPOCHS), [5.0, 4.0, *range(6, 56)])
    assert curve.time[0] == 0 and curve.time[1] == curve.time[2] == 5.0
    assert np.all(np.diff(curve.time) >= 0) and len(curve.time) == EPOCHS + 1


def test_a_resumed_trial_pays_only_its_new_epochs_and_a_restart_pays_all():
    ledger = accounting.Ledger(unit=104.0)  # one unit = 52 epochs of CONFIG
    curve = fake_curve(CONFIG)
    accuracy = ledger.train("a", curve, 0, 3)
    assert ledger.clock == pytest.approx(6.0) and accuracy == pytest.approx(curve.accuracy[:3])
    ledger.train("a", curve, 3, 10)  # resumed from its checkpoint at epoch 3
    assert ledger.clock == pytest.approx(20.0)
    ledger.train("a", curve, 0, 2)  # started again from scratch: pays epochs 1-2 again
    assert ledger.clock == pytest.approx(24.0) and ledger.epochs == 12
    with pytest.raises(ValueError, match="reached only 2"):
        ledger.train("a", curve, 5, 8)  # cannot resume past what it trained
    with pytest.raises(ValueError, match="resumes from epoch 1"):
        ledger.train("b", curve, 1, 2)


def test_the_incumbent_counts_epoch_52_evaluations_only_and_by_the_time_they_end():
    ledger = accounting.Ledger(unit=104.0)
    high = fake_curve({**CONFIG, "learning_rate": 0.1})
    low = fake_curve({**CONFIG, "learning_rate": 0.001})
    ledger.train("high", high, 0, EPOCHS - 1)  # 51 epochs: never counts
    ledger.train("low", low, 0, EPOCHS)  # ends at 1.98 units
    assert ledger.full == [[pytest.approx(2 - 2 / 104), pytest.approx(low.accuracy[-1])]]
    assert accounting.incumbent(ledger.full, 1.5) is None
    assert accounting.incumbent(ledger.full, 2.0) == pytest.approx(low.accuracy[-1])
    ledger.train("high", high, EPOCHS - 1, EPOCHS)  # resumed: one epoch, ends at 2.0 units
    assert accounting.incumbent(ledger.full, 2.0) == pytest.approx(high.accuracy[-1])


def test_training_past_the_budget_is_not_done():
    ledger = accounting.Ledger(unit=104.0, budget_units=2)
    curve = fake_curve(CONFIG)
    ledger.train(0, curve, 0, EPOCHS)
    ledger.train(1, curve, 0, 1)
    ledger.train(2, curve, 0, 51)  # the clock is at exactly 2 units: still within
    with pytest.raises(accounting.BudgetSpent):
        ledger.train(2, curve, 51, EPOCHS)  # would end at 2 units + 2 s
    assert len(ledger.full) == 1 and ledger.clock == pytest.approx(208.0)


def test_the_unit_is_the_median_epoch_52_time_of_the_first_thousand_configurations():
    class FakeClient:
        def query(self, instance, configs, epochs):
            assert list(epochs) == [EPOCHS]
            curves = fake_curves(configs)
            return {"val_accuracy": [[c.accuracy[-1]] for c in curves],
                    "time": [[c.time[-1]] for c in curves]}

    ref = accounting.reference(FakeClient(), "126026")
    configs = accounting.sample_configs(np.random.default_rng([126026, 52]), 10_000)
    times = [fake_curve(c).time[-1] for c in configs]
    tops = [fake_curve(c).accuracy[-1] for c in configs]
    assert ref.unit == pytest.approx(np.median(times[:1000]))
    assert ref.unit != pytest.approx(np.median(times))  # the first thousand, not all
    assert ref.top == pytest.approx(max(tops)) and ref.median == pytest.approx(np.median(tops))


def test_sampled_configurations_stay_in_the_space():
    configs = accounting.sample_configs(np.random.default_rng(0), 2000)
    for name, (low, high, _log, integer) in accounting.SPACE.items():
        values = [c[name] for c in configs]
        assert low <= min(values) and max(values) <= high
        assert all(isinstance(v, int) for v in values) == integer
    sizes = np.array([c["batch_size"] for c in configs])
    assert np.mean(sizes < 90) == pytest.approx(0.5, abs=0.05)  # log-uniform: median ~ 90


def test_ranks_share_ties_and_put_a_run_without_incumbent_last():
    assert accounting.ranks({"a": 90.0, "b": 91.0, "c": 90.0, "d": None}) == {
        "a": 2.5, "b": 1.0, "c": 2.5, "d": 4.0}
    assert accounting.regret(None, 99.0, 93.0) == float("inf")
    assert accounting.regret(96.0, 99.0, 93.0) == pytest.approx(0.5)


@pytest.mark.parametrize("method", ["random", "random+asha", "random+hyperband", "random+pbt",
                                    "optuna_tpe+hyperband"])
def test_a_run_spends_its_budget_and_records_epoch_52_evaluations(method):
    if method.startswith("optuna"):
        pytest.importorskip("optuna")
    problem = accounting.Problem("126026", 104.0 * 8, fake_curves)  # 1 unit = 8 full trainings
    problem.ledger.budget_units = 4
    outcome = methods.run(method, problem, seed=3)
    ledger = problem.ledger
    assert ledger.clock == pytest.approx(4 * 104.0 * 8)
    assert ledger.full and all(at <= 4 for at, _ in ledger.full)
    assert outcome["trials"] >= len(ledger.full) and outcome["seconds"] > 0
    if method == "random+asha":  # most trials stop early
        assert outcome["trials"] > 2 * len(ledger.full)


class Recording(accounting.Problem):
    """A Problem that keeps every training call: (trial, start, stop, source)."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.calls: list[tuple] = []
        self.charged: list[int | None] = []  # charge_from of each call

    def train(self, trial, params, start, stop, source=None, charge_from=None):
        self.calls.append((trial, start, stop, trial if source is None else source))
        self.charged.append(charge_from)
        return super().train(trial, params, start, stop, source, charge_from)


def test_hyperband_resumes_paused_trials_and_never_pays_an_epoch_twice():
    problem = Recording("126026", 104.0 * 8, fake_curves)
    problem.ledger.budget_units = 4
    methods.run("random+hyperband", problem, seed=0)
    calls = problem.calls
    resumed = [now for before, now in zip(calls, calls[1:], strict=False)
               if now[1] > 0 and before[0] != now[0]]  # a trial picked up again, later
    assert resumed and all(trial == source for trial, _, _, source in resumed)
    assert problem.ledger.epochs == sum(problem.ledger.reached.values())


def test_a_pbt_copy_trains_on_from_its_sources_checkpoint():
    problem = Recording("126026", 104.0 * 8, fake_curves)
    problem.ledger.budget_units = 3
    methods.run("random+pbt", problem, seed=0)
    copies = [c for c in problem.calls if c[3] != c[0]]
    assert copies and all(c[1] > 0 for c in copies)
    assert all(problem.ledger.reached[source] >= start for _, start, _, source in copies)
    assert problem.ledger.epochs < sum(problem.ledger.reached.values())  # copies skip epochs
    assert set(problem.charged) == {None}  # each epoch paid once


def test_pbt_scratch_charges_a_copy_its_epochs_up_to_the_checkpoint_again():
    ledger = accounting.Ledger(unit=104.0)  # CONFIG: 2 s an epoch
    curve = fake_curve(CONFIG)
    ledger.train("source", curve, 0, 8)
    ledger.train("copy", curve, 8, 9, source="source", charge_from=0)  # pays epochs 1-9
    assert ledger.clock == pytest.approx(16.0 + 18.0) and ledger.epochs == 9
    problem = Recording("126026", 104.0 * 8, fake_curves)
    problem.ledger.budget_units = 3
    methods.run("random+pbt_scratch", problem, seed=0)
    firsts = [(call, charge) for call, charge in zip(problem.calls, problem.charged, strict=True)
              if call[3] != call[0]]
    assert firsts and all(charge == 0 for _, charge in firsts)


def test_the_cache_resumes_and_the_table_ranks_cells_every_method_ran(tmp_path, capsys):
    path = tmp_path / "runs.jsonl"
    cache = bench.Cache(path)
    cache.add({"kind": "reference", "instance": "1", "unit": 10.0, "top": 99.0, "median": 93.0})
    for method, full in (("a", [[5.0, 95.0], [30.0, 97.0]]), ("b", [[12.0, 96.0]])):
        cache.add({"kind": "run", "method": method, "instance": "1", "seed": 0, "full": full,
                   "epochs": 100, "trials": 3, "seconds": 0.5})
    cache.add({"kind": "run", "method": "a", "instance": "1", "seed": 1, "full": [],
               "epochs": 1, "trials": 1, "seconds": 0.1})  # b never ran seed 1: not ranked
    again = bench.Cache(path)
    assert set(again.runs) == {("a", "1", 0), ("b", "1", 0), ("a", "1", 1)}
    assert json.loads(path.read_text().splitlines()[0])["kind"] == "reference"
    bench.run_all(again, [("a", "1", 0), ("b", "1", 0)], jobs=1)  # all cached: nothing runs
    bench.table(again, ["a", "b"], ["1"], [0, 1])
    rows = {line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines()
            if line.startswith(("a ", "b "))}
    assert rows["a"][:3] == ["1.00", "2.00", "1.00"]  # @10: a has 95, b none; @25: b leads
    assert rows["b"][:3] == ["2.00", "1.00", "2.00"]
    assert rows["a"][3:6] == ["0.667", "0.667", "0.333"]  # (99 - 95) / 6, then (99 - 97) / 6
    assert rows["b"][3:6] == ["inf", "0.500", "0.500"]


FAKE_PEER = '''
import json, sys
params = {"batch_size": 32, "learning_rate": 0.01, "max_dropout": 0.1, "max_units": 128,
          "momentum": 0.9, "num_layers": 2, "weight_decay": 0.001}
orders = [("a", 0, 52), ("b", 0, 3), ("b", 3, 52), ("c", 0, 52), ("d", 0, 52)]
if sys.argv[1] == "broken":
    print(json.dumps({"error": "ValueError: no"}), flush=True)
    sys.exit(0)
for trial, start, stop in orders:
    print(json.dumps({"train": {"trial": trial, "params": params, "start": start,
                                "stop": stop}}), flush=True)
    if json.loads(sys.stdin.readline()).get("stop"):
        break
print(json.dumps({"seconds": 0.25}), flush=True)
'''


@pytest.fixture
def fake_peer(tmp_path, monkeypatch):
    (tmp_path / "mf_peers.py").write_text(FAKE_PEER)
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    (tmp_path / "venv" / "bin" / "python").symlink_to(sys.executable)
    monkeypatch.setattr(methods, "SCRIPTS", tmp_path)
    monkeypatch.setattr(methods, "VENVS", tmp_path)
    monkeypatch.setitem(methods.PEER_VENVS, "fake", "venv")
    monkeypatch.setitem(methods.PEER_VENVS, "broken", "venv")


def test_a_peer_is_charged_by_the_drivers_ledger_and_stopped_by_its_budget(fake_peer):
    problem = accounting.Problem("126026", 104.0, fake_curves)  # 1 unit = one full training
    problem.ledger.budget_units = 2.5
    outcome = methods.run("fake", problem, seed=0)
    ledger = problem.ledger
    assert outcome == {"trials": 3, "seconds": 0.25}  # the peer's own seconds
    assert [at for at, _ in ledger.full] == [pytest.approx(1.0), pytest.approx(2.0)]  # b resumed
    assert ledger.clock == pytest.approx(2.5 * 104.0)  # c would end at 3 units: not trained


def test_a_peers_error_is_raised_with_its_message(fake_peer):
    problem = accounting.Problem("126026", 104.0, fake_curves)
    with pytest.raises(RuntimeError, match="broken: ValueError: no"):
        methods.run("broken", problem, seed=0)
