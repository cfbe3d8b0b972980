"""Median and ASHA pruners on hand-made learning curves, the [pruner] table, and a study
pruned through the real report channel with two worker processes."""

from __future__ import annotations

import math
import textwrap

import pytest

import hpsearch as hp
from hpsearch.exceptions import StudyFileError
from hpsearch.pruners import make_pruner
from hpsearch.pruners.service import PruningService
from hpsearch.studyfile.reader import load_study_file
from hpsearch.trial import FrozenTrial, TrialState


def done(number: int, curve: dict[int, float], state: TrialState = TrialState.COMPLETE,
         ) -> FrozenTrial:
    value = curve[max(curve)] if curve else None
    return FrozenTrial(number, {}, state, 0, value=value, intermediate=dict(curve))


def replay(pruner: hp.Pruner, events: list[tuple[int, int, float]], direction: str,
           finished: list[FrozenTrial] | None = None) -> dict[int, int]:
    """Feed (trial, step, value) reports in this order through the driver's service; return
    {trial: step at which it was pruned}. Reports of a pruned trial after that are ignored."""
    history = list(finished or [])
    service = PruningService(pruner, direction, lambda: history)
    pruned: dict[int, int] = {}
    for number, step, value in events:
        if number not in pruned and service.report(number, step, value):
            pruned[number] = step
    return pruned


# ----- median ------------------------------------------------------------------------------

# Five complete curves (maximise): at step s, the values are 0.1*s + {0.0, 0.1, 0.2, 0.3, 0.4};
# the median at step s is 0.1*s + 0.2.
COMPLETE = [done(i, {s: 0.1 * s + 0.1 * i for s in range(1, 6)}) for i in range(5)]


def test_median_prunes_below_the_median_at_the_same_step():
    pruner = hp.MedianPruner(n_startup_trials=5)
    # At step 2 the median is 0.4.
    assert pruner.prune(2, 0.35, {1: 0.2, 2: 0.35}, COMPLETE, "maximize")
    assert not pruner.prune(2, 0.45, {1: 0.2, 2: 0.45}, COMPLETE, "maximize")
    assert not pruner.prune(2, 0.4, {2: 0.4}, COMPLETE, "maximize")  # equal: not worse
    # The trial's best value so far counts, so one bad epoch after a good one does not prune.
    assert not pruner.prune(2, 0.1, {1: 0.5, 2: 0.1}, COMPLETE, "maximize")


def test_median_minimize_mirrors_maximize():
    losses = [done(i, {s: 1.0 - 0.1 * s + 0.1 * i for s in range(1, 6)}) for i in range(5)]
    pruner = hp.MedianPruner(n_startup_trials=5)
    assert pruner.prune(3, 0.95, {3: 0.95}, losses, "minimize")  # median 0.9
    assert not pruner.prune(3, 0.85, {3: 0.85}, losses, "minimize")


def test_median_waits_for_startup_trials():
    pruner = hp.MedianPruner(n_startup_trials=5)
    assert not pruner.prune(2, -1.0, {2: -1.0}, COMPLETE[:4], "maximize")
    # Pruned and running trials do not count as start-up trials, nor towards the median.
    others = COMPLETE[:4] + [done(9, {1: 5.0, 2: 5.0}, TrialState.PRUNED),
                             done(10, {1: 5.0, 2: 5.0}, TrialState.RUNNING)]
    assert not pruner.prune(2, -1.0, {2: -1.0}, others, "maximize")
    assert hp.MedianPruner(n_startup_trials=4).prune(2, 0.3, {2: 0.3}, others, "maximize")
    assert not hp.MedianPruner(n_startup_trials=4).prune(2, 0.36, {2: 0.36}, others,
                                                         "maximize")  # median of 4: 0.35


def test_median_waits_for_warmup_steps():
    pruner = hp.MedianPruner(n_startup_trials=0, n_warmup_steps=3)
    assert not pruner.prune(2, -1.0, {2: -1.0}, COMPLETE, "maximize")
    assert pruner.prune(3, -1.0, {2: -1.0, 3: -1.0}, COMPLETE, "maximize")


def test_median_interval_steps_judges_once_per_interval():
    pruner = hp.MedianPruner(n_startup_trials=0, n_warmup_steps=1, interval_steps=2)
    bad = {1: -1.0, 2: -1.0, 3: -1.0, 4: -1.0}
    decisions = [pruner.prune(s, -1.0, {k: v for k, v in bad.items() if k <= s}, COMPLETE,
                              "maximize") for s in (1, 2, 3, 4)]
    assert decisions == [True, False, True, False]  # points 1, 3, 5, ...
    # A trial that skipped step 3 is judged at its first report after it.
    assert pruner.prune(4, -1.0, {2: -1.0, 4: -1.0}, COMPLETE, "maximize")


def test_median_needs_n_min_trials_at_the_step_and_prunes_nan():
    pruner = hp.MedianPruner(n_startup_trials=0, n_min_trials=2)
    assert not pruner.prune(7, -1.0, {7: -1.0}, COMPLETE, "maximize")  # nobody reported 7
    assert pruner.prune(2, math.nan, {2: math.nan}, COMPLETE, "maximize")


def test_median_through_the_service_in_asynchronous_order():
    # Trial 5 (poor) and 6 (good) run side by side after the five complete ones.
    events = [(5, 1, 0.05), (6, 1, 0.45), (6, 2, 0.55), (5, 2, 0.1), (5, 3, 0.2), (6, 3, 0.7)]
    assert replay(hp.MedianPruner(n_startup_trials=5), events, "maximize", COMPLETE) == {5: 1}
    assert replay(hp.MedianPruner(n_startup_trials=5, n_warmup_steps=2), events, "maximize",
                  COMPLETE) == {5: 2}
    assert replay(hp.MedianPruner(n_startup_trials=6), events, "maximize", COMPLETE) == {}


# ----- ASHA ---------------------------------------------------------------------------------

def test_asha_rungs():
    assert hp.ASHAPruner(1, 3).rungs(30) == [1, 3, 9, 27]
    assert hp.ASHAPruner(2, 2).rungs(20) == [2, 4, 8, 16]
    assert hp.ASHAPruner(1, 3, min_early_stopping_rate=1).rungs(30) == [3, 9, 27]
    assert hp.ASHAPruner(1, 3, max_resource=27).rungs(30) == [1, 3, 9]


def test_asha_eta3_promotes_the_top_third_in_arrival_order():
    # Values at rung 1 arrive in this order (maximise). Promotion needs the top
    # max(n // 3, 1) of the n values recorded so far, own included:
    # 0.5 (1 value: best) on; 0.4 (top1 of 2 is 0.5) pruned; 0.6 on; 0.55 (top1 of 4 is 0.6)
    # pruned; 0.3 pruned; 0.2 (top2 of 6: 0.6, 0.55) pruned; 0.58 (top2 of 7: 0.6, 0.58) on.
    values = [0.5, 0.4, 0.6, 0.55, 0.3, 0.2, 0.58]
    events = [(i, 1, v) for i, v in enumerate(values)]
    assert replay(hp.ASHAPruner(1, 3), events, "maximize") == {1: 1, 3: 1, 4: 1, 5: 1}
    # Minimisation: the same ranks with the values negated.
    flipped = [(i, 1, -v) for i, v in enumerate(values)]
    assert replay(hp.ASHAPruner(1, 3), flipped, "minimize") == {1: 1, 3: 1, 4: 1, 5: 1}


def test_asha_eta2_second_rung_compares_only_trials_that_got_there():
    # Rungs at 2, 4 (eta=2, min_resource=2). Steps 1 and 3 are not rungs: no decision there.
    curves = {0: {1: 0.1, 2: 0.5, 3: 0.55, 4: 0.6, 5: 0.62},
              1: {1: 0.1, 2: 0.6, 3: 0.6, 4: 0.58, 5: 0.7},
              2: {1: 0.1, 2: 0.4},
              3: {1: 0.9, 2: 0.7, 3: 0.7, 4: 0.65}}
    order = [(0, s) for s in (1, 2, 3, 4, 5)] + [(1, s) for s in (1, 2, 3, 4, 5)] \
        + [(2, 1), (2, 2), (3, 1), (3, 2), (3, 3), (3, 4)]
    events = [(n, s, curves[n][s]) for n, s in order]
    # Rung 2: 0.5 on (alone); 0.6 on (top1 of 2); 0.4 pruned (top1 of 3 is 0.6);
    # 0.7 on (top2 of 4: 0.7, 0.6). Rung 4: trial 0's 0.6 on (alone); trial 1's 0.58 pruned
    # (top1 of 2 is 0.6); trial 3's 0.65 on (top1 of 3).
    assert replay(hp.ASHAPruner(2, 2), events, "maximize") == {1: 4, 2: 2}


def test_asha_is_asynchronous_running_trials_count_at_their_rungs():
    # Trial 0 is still running (no finished trial yet) when trial 1 reaches rung 1 below it.
    events = [(0, 1, 0.8), (1, 1, 0.3), (0, 2, 0.85), (2, 1, 0.9), (3, 1, 0.1)]
    assert replay(hp.ASHAPruner(1, 3), events, "maximize") == {1: 1, 3: 1}
    # The same values from finished trials give the same decisions (resume-safe).
    history = [done(0, {1: 0.8, 2: 0.85}), done(1, {1: 0.3}, TrialState.PRUNED)]
    assert replay(hp.ASHAPruner(1, 3), [(2, 1, 0.9), (3, 1, 0.1)], "maximize",
                  history) == {3: 1}


def test_asha_judges_skipped_rungs_with_the_first_report_past_them():
    history = [done(i, {10: v}) for i, v in enumerate([0.9, 0.8, 0.7])]  # at rungs 1, 3, 9
    pruner = hp.ASHAPruner(1, 3)
    assert pruner.prune(10, 0.5, {10: 0.5}, history, "maximize")  # crosses 1, 3, 9: worst
    assert not pruner.prune(10, 0.95, {10: 0.95}, history, "maximize")
    # Already past rung 9 at an earlier report: no new rung at step 12, no decision.
    assert not pruner.prune(12, 0.1, {10: 0.95, 12: 0.1}, history, "maximize")
    assert pruner.prune(1, math.nan, {1: math.nan}, [], "maximize")


def test_pruner_keywords_are_checked():
    with pytest.raises(ValueError, match="reduction_factor"):
        hp.ASHAPruner(reduction_factor=1)
    with pytest.raises(ValueError, match="n_startup_trials"):
        hp.MedianPruner(n_startup_trials=-1)
    assert make_pruner({}) is None and make_pruner({"kind": "none"}) is None
    assert make_pruner({"kind": "asha", "reduction_factor": 2}) == hp.ASHAPruner(1, 2)


# ----- [pruner] in a study file ------------------------------------------------------------

BASE = """
[study]
strategy = "random"
n_trials = 3
stop_after_no_improvement = 4

[space]
x = { type = "float", low = 0, high = 1 }
"""


@pytest.mark.parametrize("table, expected", [
    ('[pruner]\nkind = "asha"\nmin_resource = 2\n', {"kind": "asha", "min_resource": 2}),
    ('[pruner]\nkind = "median"\nn_warmup_steps = 3\n', {"kind": "median", "n_warmup_steps": 3}),
    ('[pruner]\nkind = "none"\n', {"kind": "none"}),
    ('[pruner]\nkind = "hyperband"\nmax_resource = 27\nbrackets = 1\n',
     {"kind": "hyperband", "max_resource": 27, "brackets": 1}),
    ('[pruner]\nkind = "hyperband"\nmax_resource = 27\nmin_rank_correlation = -1.0\n',
     {"kind": "hyperband", "max_resource": 27, "min_rank_correlation": -1.0}),
    ('[pruner]\nkind = "pbt"\ninterval = 4\npopulation = 8\nmax_step = 40\n',
     {"kind": "pbt", "interval": 4, "population": 8, "max_step": 40}),
    ('[pruner]\nkind = "pbt"\ninterval = 4\nperturb = ["x"]\n',
     {"kind": "pbt", "interval": 4, "perturb": ["x"]}),
    ("", {}),
])
def test_pruner_table_resolves(tmp_path, table, expected):
    path = tmp_path / "s.toml"
    path.write_text(BASE + table)
    spec = load_study_file(path)
    assert spec.pruner == expected and spec.stop_after_no_improvement == 4


@pytest.mark.parametrize("table, message", [
    ('kind = "asha"\nreduction_factr = 2\n',
     "[pruner].reduction_factr: unknown key (did you mean 'reduction_factor'?)"),
    ('kind = "asha"\nn_warmup_steps = 2\n', "[pruner].n_warmup_steps: unknown key"),
    ('kind = "asha"\nmin_resource = "2"\n', "[pruner].min_resource: expected an integer"),
    ('kind = "median"\nn_startup_trials = -1\n',
     "[pruner].n_startup_trials: expected a value >= 0"),
    ('kind = "hyperbands"\n', "[pruner].kind: expected one of"),
    ('kind = "hyperband"\n', "[pruner].max_resource: missing"),
    ('kind = "hyperband"\nmin_resource = 9\nmax_resource = 9\n',
     "[pruner].max_resource: max_resource must be above min_resource (9), got 9"),
    ('kind = "hyperband"\nmax_resource = 9\nmin_rank_correlation = 1.5\n',
     "[pruner].min_rank_correlation: min_rank_correlation must be a Kendall tau in [-1, 1]"),
    ('kind = "pbt"\ninterval = 2\nquantile = 0.75\n',
     "[pruner].quantile: quantile must be in (0, 0.5], got 0.75"),
    ('kind = "pbt"\nquantile = 0.25\n', "[pruner].interval: missing"),
    ('kind = "pbt"\ninterval = 2\nperturb = "x"\n',
     "[pruner].perturb: expected a list of strings, got str 'x'"),
    ('kind = "pbt"\ninterval = 2\nperturb = ["x", "y", "z"]\n',
     "[pruner].perturb: perturb names 'y', 'z', not in the study's space; its hyperparameters "
     "are: x"),
    ('kind = "hyperband"\nmax_resource = 9\nperturb = ["x"]\n',
     "[pruner].perturb: unknown key"),
    ('min_resource = 2\n', "[pruner].kind: missing"),
    ('kind = "none"\nmin_resource = 2\n', "[pruner].min_resource: unknown key"),
])
def test_pruner_table_mistakes_name_file_and_key(tmp_path, table, message):
    path = tmp_path / "s.toml"
    path.write_text(BASE + "[pruner]\n" + table)
    with pytest.raises(StudyFileError) as info:
        load_study_file(path)
    assert str(info.value).startswith(str(path)) and message in str(info.value)


def test_perturb_goes_from_the_file_to_the_scheduler(tmp_path):
    from hpsearch.studyfile.objectives import study_pruner

    path = tmp_path / "s.toml"
    path.write_text(BASE.replace('x = {', 'y = { type = "int", low = 1, high = 4 }\nx = {') +
                    '[objective]\nkind = "python"\nentry = "m:f"\n'
                    '[pruner]\nkind = "pbt"\ninterval = 3\nperturb = ["x"]\n')
    spec = load_study_file(path)
    assert make_pruner(spec.pruner) == hp.PopulationBasedTraining(interval=3, perturb=("x",))
    assert study_pruner(spec).perturb == ("x",)  # a Python objective: as the file says
    path.write_text(path.read_text().replace('perturb = ["x"]\n', ""))
    assert study_pruner(load_study_file(path)).perturb is None  # every hyperparameter


def test_stop_key_is_checked(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(BASE.replace("= 4", "= 0"))
    with pytest.raises(StudyFileError, match=r"\[study\].stop_after_no_improvement"):
        load_study_file(path)


# ----- a pruned study through the real channel --------------------------------------------

CURVES = '''
import time

import hpsearch as hp


def curve(params, trial):
    """Accuracy-like curve rising to x over 9 steps."""
    for step in range(1, 10):
        time.sleep(0.01)
        if trial.report(step, params["x"] * step / 9):
            raise hp.TrialPruned()
    return params["x"]
'''


def test_asha_study_with_two_workers_gives_pruned_rows_with_their_last_step(tmp_path):
    (tmp_path / "curves.py").write_text(textwrap.dedent(CURVES))
    study = hp.Study({"x": hp.Float(0.0, 1.0)}, direction="maximize", strategy="random",
                     seed=1, storage=tmp_path / "run", pruner=hp.ASHAPruner(1, 3,
                                                                       max_resource=9))
    study.optimize(f"{tmp_path / 'curves.py'}:curve", n_trials=12, n_jobs=2)
    frame = study.results()
    pruned = frame[frame["state"] == "pruned"]
    complete = frame[frame["state"] == "complete"]
    assert len(pruned) >= 4 and len(complete) >= 1
    assert set(pruned["last_step"]) <= {1, 3}  # rungs below the last step
    assert (complete["last_step"] == 9).all()
    for trial in study.trials:
        assert max(trial.intermediate) == frame.loc[trial.number, "last_step"]
        if trial.state is TrialState.PRUNED:
            assert trial.value == trial.intermediate[max(trial.intermediate)]
    written = __import__("pandas").read_csv(tmp_path / "run" / "trials.csv")
    assert list(written["last_step"]) == list(frame["last_step"])
    # The best complete trial has the best x of all the trials that finished.
    assert study.best_value == max(t.params["x"] for t in study.trials
                                   if t.state is TrialState.COMPLETE)


# ----- the network objective reports the study's metric ------------------------------------

NETWORK = """
[study]
strategy = "random"
n_trials = 1
metric = "{metric}"

[objective]
dataset = "spiral"

[objective.fixed]
epochs = 3
batch_size = 32
hidden_size = 12

[space]
learning_rate = {{ type = "float", low = 1e-3, high = 1e-1, log = true }}
"""


@pytest.mark.parametrize("metric, curve", [("val_accuracy", "curve.val_score"),
                                           ("val_loss", "curve.val_loss")])
def test_network_objective_reports_the_metric_per_epoch(tmp_path, metric, curve):
    from hpsearch.objectives import mlp
    from hpsearch.trial import TrialHandle

    path = tmp_path / "s.toml"
    path.write_text(NETWORK.format(metric=metric))
    objective = mlp.prepare(load_study_file(path), tmp_path / "run")
    handle = TrialHandle(number=0, seed=5)
    result = objective({"learning_rate": 0.05}, handle)
    assert sorted(handle.intermediate) == [1, 2, 3]
    assert [handle.intermediate[s] for s in (1, 2, 3)] == pytest.approx(
        list(result.artifacts[curve]))


def test_training_callback_gets_epoch_score_and_val_loss():
    import numpy as np

    from nn_core import MLPClassifier

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), rng.integers(0, 2, 40)
    seen = []
    MLPClassifier(hidden_sizes=(4,), epochs=2, seed=0).fit(
        X, y, X, y, callback=lambda epoch, score, loss: seen.append((epoch, score, loss)))
    assert [epoch for epoch, _, _ in seen] == [0, 1]
    assert all(0 <= score <= 1 and loss > 0 for _, score, loss in seen)

