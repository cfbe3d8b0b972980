"""The stopping rules' rank-agreement guard: a rung (ASHAPruner) or step (MedianPruner) stops
trials only while the complete trials' ranking there carries over to their final values
(`hpsearch.pruners.index.FinalAgreement`), and "auto" is settled by the study's strategy."""

from __future__ import annotations

import pytest
from scipy.stats import kendalltau

import hpsearch as hp
from hpsearch.pruners import make_pruner
from hpsearch.pruners.index import MIN_PAIRS, FinalAgreement
from hpsearch.pruners.service import PruningService
from hpsearch.trial import FrozenTrial, TrialState


def complete(number: int, curve: dict[int, float], final: float) -> FrozenTrial:
    return FrozenTrial(number, {}, TrialState.COMPLETE, 0, value=final,
                       intermediate=dict(curve))


def crossing(n: int) -> list[FrozenTrial]:
    """n complete trials (maximise) whose epoch-1 ranking is the reverse of their final one
    and whose epoch-3 ranking is the final one: curves that cross after epoch 1."""
    return [complete(i, {1: 1.0 - 0.05 * i, 3: 0.1 + 0.05 * i, 9: 0.2 + 0.05 * i},
                     0.3 + 0.05 * i) for i in range(n)]


# ----- FinalAgreement ----------------------------------------------------------------------

def test_final_agreement_is_kendall_tau_at_each_step():
    agreement = FinalAgreement()
    rng_values = [0.3, 0.1, 0.8, 0.5, 0.9, 0.2, 0.7, 0.4, 0.6, 0.0, 0.35, 0.05]
    finals = [0.2, 0.3, 0.9, 0.4, 0.8, 0.1, 0.5, 0.6, 0.7, 0.05, 0.0, 0.15]
    for number, (value, final) in enumerate(zip(rng_values, finals, strict=True)):
        agreement.add(number, {2: value}, final)
    tau, pairs = agreement.agreement(2)
    assert pairs == 12
    assert tau == pytest.approx(kendalltau(rng_values, finals).statistic)
    assert agreement.agreement(5) == (0.0, 0)  # no trial there


def test_a_step_judges_only_with_enough_agreeing_pairs():
    agreement = FinalAgreement()
    for trial in crossing(MIN_PAIRS - 1):
        agreement.add(trial.number, trial.intermediate, trial.value)
    assert not agreement.judges(3, 0.5)  # tau 1, but too few pairs
    assert agreement.judges(3, None)  # no guard: every step judges
    trial = crossing(MIN_PAIRS)[-1]
    agreement.add(trial.number, trial.intermediate, trial.value)
    assert agreement.agreement(1) == (pytest.approx(-1.0), MIN_PAIRS)
    assert agreement.judges(3, 0.5) and not agreement.judges(1, 0.5)
    assert agreement.judges(1, -1.0)  # -1: every step judges


def test_a_trial_added_again_replaces_its_values_and_non_finite_finals_are_left_out():
    agreement = FinalAgreement()
    for trial in crossing(MIN_PAIRS):
        agreement.add(trial.number, trial.intermediate, trial.value)
    agreement.add(99, {1: 5.0}, float("nan"))
    assert agreement.agreement(1)[1] == MIN_PAIRS
    for trial in crossing(MIN_PAIRS):  # the same trials, epoch 1 now in the final order
        agreement.add(trial.number, {1: trial.value}, trial.value)
    assert agreement.agreement(1) == (pytest.approx(1.0), MIN_PAIRS)
    assert agreement.agreement(3)[1] == 0  # their epoch-3 values were replaced too


# ----- the rules with the guard ------------------------------------------------------------

def test_asha_stops_only_at_a_rung_that_ranks_like_the_final_values():
    history = crossing(MIN_PAIRS)
    guarded = hp.ASHAPruner(min_resource=1, reduction_factor=3, max_resource=27,
                            min_rank_correlation=0.5)
    plain = hp.ASHAPruner(min_resource=1, reduction_factor=3, max_resource=27,
                          min_rank_correlation=None)
    # Worst of all at epoch 1: the plain rule stops it, the guard lets it go on (epoch 1
    # ranks the complete trials in reverse).
    assert plain.prune(1, 0.0, {1: 0.0}, history, "maximize")
    assert not guarded.prune(1, 0.0, {1: 0.0}, history, "maximize")
    # Worst at epoch 3, whose ranking is the final one: both stop it.
    assert guarded.prune(3, 0.0, {1: 0.0, 3: 0.0}, history, "maximize")
    # With one complete trial fewer than MIN_PAIRS, the guard stops nobody yet.
    assert not guarded.prune(3, 0.0, {1: 0.0, 3: 0.0}, history[1:], "maximize")
    # Minimising: the same data mirrored gives the same decisions.
    mirrored = [complete(t.number, {s: -v for s, v in t.intermediate.items()}, -t.value)
                for t in history]
    assert not guarded.prune(1, 0.0, {1: 0.0}, mirrored, "minimize")
    assert guarded.prune(3, 0.0, {1: 0.0, 3: 0.0}, mirrored, "minimize")


def test_asha_guard_decides_the_same_from_its_index_and_from_the_history():
    history = crossing(MIN_PAIRS)
    pruner = hp.ASHAPruner(max_resource=27, min_rank_correlation=0.5)
    service = PruningService(pruner, "maximize", lambda: history)
    decisions = [service.report(50, 1, 0.0), service.report(50, 3, 0.0)]
    direct = [pruner.prune(1, 0.0, {1: 0.0}, history, "maximize"),
              pruner.prune(3, 0.0, {1: 0.0, 3: 0.0}, history, "maximize")]
    assert decisions == direct == [False, True]


def test_median_stops_only_at_a_step_that_ranks_like_the_final_values():
    history = crossing(MIN_PAIRS)
    guarded = hp.MedianPruner(n_startup_trials=5, min_rank_correlation=0.5)
    plain = hp.MedianPruner(n_startup_trials=5, min_rank_correlation=None)
    assert plain.prune(1, 0.0, {1: 0.0}, history, "maximize")
    assert not guarded.prune(1, 0.0, {1: 0.0}, history, "maximize")
    assert guarded.prune(3, 0.0, {3: 0.0}, history, "maximize")
    assert not guarded.prune(3, 0.0, {3: 0.0}, history[1:], "maximize")
    service = PruningService(guarded, "maximize", lambda: history)
    assert [service.report(50, 1, 0.0), service.report(50, 3, 0.0)] == [False, True]


# ----- "auto", settled by the strategy; bad values -----------------------------------------

@pytest.mark.parametrize("pruner", [hp.ASHAPruner(max_resource=27), hp.MedianPruner()])
def test_auto_is_settled_by_the_strategy(pruner):
    assert pruner.min_rank_correlation == "auto"
    assert pruner.for_strategy(learns_from_steps=True).min_rank_correlation == 0.5
    assert pruner.for_strategy(learns_from_steps=False).min_rank_correlation is None
    chosen = type(pruner)(min_rank_correlation=0.2)
    assert chosen.for_strategy(True) == chosen and chosen.for_strategy(False) == chosen
    space = {"x": hp.Float(0.0, 1.0)}
    assert hp.Study(space, strategy="gp", pruner=pruner).pruner.min_rank_correlation == 0.5
    assert hp.Study(space, strategy="tpe", pruner=pruner).pruner.min_rank_correlation == 0.5
    assert hp.Study(space, strategy="random", pruner=pruner).pruner.min_rank_correlation is None


def test_auto_outside_a_study_and_minus_one_judge_at_every_step():
    history = crossing(MIN_PAIRS)
    assert hp.ASHAPruner(max_resource=27).prune(1, 0.0, {1: 0.0}, history, "maximize")
    # -1 (a study file's "off"): no complete trial needed before the first stop, as None
    off = hp.ASHAPruner(max_resource=27, min_rank_correlation=-1.0)
    assert off.prune(1, 0.0, {1: 0.0}, history[:3], "maximize")
    assert hp.MedianPruner(n_startup_trials=3, min_rank_correlation=-1).prune(
        1, 0.0, {1: 0.0}, history[:3], "maximize")
    assert not hp.MedianPruner(n_startup_trials=3, min_rank_correlation=0.5).prune(
        1, 0.0, {1: 0.0}, history[:3], "maximize")


@pytest.mark.parametrize("kind", [hp.ASHAPruner, hp.MedianPruner])
def test_bad_rank_correlation_is_refused(kind):
    for bad in (1.5, -2, "0.5", "automatic", True):
        with pytest.raises(ValueError, match="min_rank_correlation must be a Kendall tau"):
            kind(min_rank_correlation=bad)


@pytest.mark.parametrize("kind", ["asha", "median"])
def test_the_study_file_key(kind):
    assert make_pruner({"kind": kind, "min_rank_correlation": 0.3}).min_rank_correlation == 0.3
    assert make_pruner({"kind": kind}).min_rank_correlation == "auto"
