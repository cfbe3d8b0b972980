"""hp.PopulationBasedTraining: pausing at intervals, exploit and explore, lineage."""

from __future__ import annotations

import numpy as np
import pytest

import hpsearch as hp
from hpsearch.pruners import make_pruner
from hpsearch.pruners.pbt import PopulationBasedTraining, perturb
from hpsearch.pruners.scheduler import Exploit, Fresh, Resume
from hpsearch.trial import FrozenTrial, TrialState

SPACE = hp.Space({"lr": hp.Float(0.01, 1.0, log=True), "width": hp.Int(1, 10),
                  "act": hp.Categorical(["relu", "tanh", "sigmoid"]),
                  "step": hp.Float(0.0, 1.0, step=0.25)})
PARAMS = {"lr": 0.5, "width": 4, "act": "tanh", "step": 0.5}


def test_perturb_multiplies_numbers_and_moves_categories_to_a_neighbour():
    rng = np.random.default_rng(0)
    for _ in range(50):
        out = perturb(SPACE, PARAMS, rng, (0.8, 1.2), resample_probability=0.0)
        assert out["lr"] in (pytest.approx(0.4), pytest.approx(0.6))
        assert out["width"] in (3, 5)  # 4 * 0.8 = 3.2 -> 3; 4 * 1.2 = 4.8 -> 5
        assert out["act"] in ("relu", "sigmoid")
        assert out["step"] in (0.5, 0.75)  # 0.4 -> 0.5 and 0.6 -> 0.5 (then 0.75 from 1.2?)
    edge = perturb(SPACE, {"lr": 1.0, "width": 1, "act": "relu", "step": 0.0}, rng, (2.0,),
                   0.0)
    assert edge["lr"] == 1.0 and edge["width"] == 2  # clipped; an integer moves by one
    resampled = [perturb(SPACE, PARAMS, np.random.default_rng(k), (1.0,), 1.0)
                 for k in range(20)]
    assert len({r["lr"] for r in resampled}) == 20  # every value drawn afresh
    for out in resampled:
        SPACE.validate(out)


def test_perturb_fills_a_parameter_that_becomes_active():
    space = hp.Space({"kind": hp.Categorical(["a", "b"]),
                      "depth": hp.Int(1, 5, when={"kind": ["b"]})})
    rng = np.random.default_rng(1)
    outs = [perturb(space, {"kind": "a"}, rng, (1.0,), 0.0) for _ in range(10)]
    assert {o["kind"] for o in outs} == {"b"}  # the only neighbour of "a"
    assert all(1 <= o["depth"] <= 5 for o in outs)


def test_perturb_moves_only_the_listed_hyperparameters():
    rng = np.random.default_rng(2)
    outs = [perturb(SPACE, PARAMS, rng, (0.8, 1.2), 0.5, names=("lr", "act"))
            for _ in range(200)]
    assert all(o["width"] == PARAMS["width"] and o["step"] == PARAMS["step"] for o in outs)
    assert len({o["lr"] for o in outs}) > 10 and {o["act"] for o in outs} == {"relu", "tanh",
                                                                              "sigmoid"}
    assert all(o == PARAMS for o in (perturb(SPACE, PARAMS, rng, names=()) for _ in range(20)))


def test_a_kept_parent_keeps_its_children_and_a_moved_one_draws_them():
    space = hp.Space({"kind": hp.Categorical(["a", "b"]), "lr": hp.Float(0.1, 1.0),
                      "depth": hp.Int(1, 5, when={"kind": ["b"]})})
    rng = np.random.default_rng(3)
    kept = [perturb(space, {"kind": "b", "lr": 0.5, "depth": 4}, rng, (0.8, 1.2), 0.5,
                    names=("lr",)) for _ in range(50)]
    assert all(o["kind"] == "b" and o["depth"] == 4 for o in kept)
    assert len({o["lr"] for o in kept}) > 5
    # "kind" moves from "a" to "b": "depth", unlisted, becomes active and is drawn
    moved = [perturb(space, {"kind": "a", "lr": 0.5}, rng, (1.0,), 0.0, names=("kind",))
             for _ in range(50)]
    assert all(o["kind"] == "b" and o["lr"] == 0.5 and 1 <= o["depth"] <= 5 for o in moved)
    assert len({o["depth"] for o in moved}) > 1


def test_exploit_copies_keep_the_hyperparameters_outside_perturb():
    for seed in range(20):  # the explore draws come from the exploited trial's seed
        config = PopulationBasedTraining(interval=2, population=4, perturb=["lr"],
                                         resample_probability=0.5)
        s = config.new_state("minimize", SPACE)
        sources = {n: {**PARAMS, "width": n + 1, "act": SPACE["act"].choices[n % 3]}
                   for n in range(4)}
        for n in range(4):
            s.started(FrozenTrial(n, sources[n], TrialState.RUNNING, seed=100 * seed + n))
            s.report(n, 2, 0.1 * (n + 1))
            s.stopped(FrozenTrial(n, sources[n], TrialState.PRUNED, seed=100 * seed + n,
                                  intermediate={2: 0.1 * (n + 1)}))
        exploit = s.next(4, new_allowed=True)[3]
        assert isinstance(exploit, Exploit) and exploit.source == 0
        source = sources[exploit.source]
        assert {k: v for k, v in exploit.params.items() if k != "lr"} == {
            k: v for k, v in source.items() if k != "lr"}
    assert config.perturb == ("lr",)  # a tuple: the configuration stays frozen and hashable


def test_perturb_names_are_checked():
    for bad in ("lr", ["lr", 3], 5):
        with pytest.raises(hp.ParameterError, match="perturb must be a list of hyperparameter"):
            PopulationBasedTraining(interval=2, perturb=bad)
    config = PopulationBasedTraining(interval=2, perturb=["lr", "widht", "depth"])
    with pytest.raises(hp.ParameterError) as info:
        config.new_state("minimize", SPACE)
    message = str(info.value)
    assert "'widht', 'depth'" in message and "lr, width, act, step" in message
    with pytest.raises(hp.ParameterError, match="'widht'"):
        hp.Study(SPACE, pruner=config)
    assert PopulationBasedTraining(interval=2, perturb=()).new_state("minimize", SPACE)


def state(population=4, quantile=0.25):
    config = PopulationBasedTraining(interval=2, population=population, quantile=quantile)
    return config.new_state("minimize", SPACE)


def start(s, number, intermediate=None):
    s.started(FrozenTrial(number, PARAMS, TrialState.RUNNING, seed=number,
                          intermediate=intermediate or {}))


def pause(s, number, intermediate):
    return s.stopped(FrozenTrial(number, PARAMS, TrialState.PRUNED, seed=number,
                                 intermediate=intermediate))


def test_trials_pause_every_interval_and_new_ones_fill_the_population():
    s = state()
    assert s.next(3, new_allowed=True) == [Fresh()] * 3
    for n in range(3):
        start(s, n)
    assert s.next(2, new_allowed=True) == [Fresh()]  # 4 live at most
    assert s.report(0, 1, 0.9) is False and s.report(0, 2, 0.8) is True
    assert pause(s, 0, {1: 0.9, 2: 0.8}) is True
    start(s, 0, {1: 0.9, 2: 0.8})  # resumed at 2: pauses again at 4
    assert s.report(0, 3, 0.7) is False and s.report(0, 4, 0.6) is True
    assert s.report(1, 2, float("nan")) is True
    assert pause(s, 1, {2: float("nan")}) is False  # pruned for good
    assert s.live() == 2


def test_the_bottom_quantile_copies_a_top_trial_the_rest_resume():
    s = state(population=4)
    for n in range(4):
        start(s, n)
    values = {0: 0.1, 1: 0.2, 2: 0.3, 3: 0.4}  # minimise: trial 3 is the bottom quarter
    for n, v in values.items():
        assert s.report(n, 2, v) is True
        assert pause(s, n, {2: v})
    actions = s.next(4, new_allowed=True)  # no Fresh: the population is full
    assert actions[:3] == [Resume(0), Resume(1), Resume(2)]
    exploit = actions[3]
    assert isinstance(exploit, Exploit) and exploit.stopped == 3 and exploit.source == 0
    SPACE.validate(exploit.params)
    assert s.live() == 3  # the exploited trial left; its copy joins when started
    assert s.next(1, new_allowed=True) == [Fresh()]


def test_the_least_advanced_paused_trial_goes_first_and_restore_agrees():
    s = state(population=2)
    start(s, 0)
    start(s, 1)
    s.report(0, 2, 0.5)
    pause(s, 0, {2: 0.5})
    start(s, 0, {2: 0.5})
    s.report(0, 4, 0.4)
    pause(s, 0, {2: 0.5, 4: 0.4})
    s.report(1, 2, 0.3)
    pause(s, 1, {2: 0.3})
    records = [FrozenTrial(0, PARAMS, TrialState.PAUSED, seed=0, intermediate={2: 0.5, 4: 0.4}),
               FrozenTrial(1, PARAMS, TrialState.PAUSED, seed=1, intermediate={2: 0.3})]
    rebuilt = state(population=2)
    rebuilt.restore(records)
    # trial 1 (at step 2) goes before trial 0 (at step 4); 2 live, k = 1: trial 0 (0.4 after
    # 0.3) is the bottom one and copies trial 1
    actions = s.next(2, new_allowed=False)
    assert actions == rebuilt.next(2, new_allowed=False)
    assert actions[0] == Resume(1)
    assert (actions[1].stopped, actions[1].source) == (0, 1)


def test_bad_settings_are_refused():
    for kwargs, key in [({"interval": 0}, "interval"), ({"interval": 2, "quantile": 0.7},
                                                         "quantile"),
                        ({"interval": 2, "population": 1}, "population"),
                        ({"interval": 2, "perturbation_factors": (0.0,)}, "perturbation")]:
        with pytest.raises(ValueError, match=key):
            PopulationBasedTraining(**kwargs)
    assert make_pruner({"kind": "pbt", "interval": 3, "population": 4}) == \
        PopulationBasedTraining(interval=3, population=4)
    assert hp.PopulationBasedTraining is PopulationBasedTraining


def network(log):
    """A 'training' whose progress per epoch is its learning rate; the checkpoint holds the
    weight and the lineage of the checkpoint (which trial saved it at which epoch)."""
    def run(params, trial):
        checkpoint = trial.checkpoint()
        epoch = 0 if checkpoint is None else int(checkpoint["epoch"])
        w = 0.0 if checkpoint is None else float(checkpoint["w"])
        if checkpoint is not None:
            log.append((trial.number, int(checkpoint["saved_by"]), epoch))
        while epoch < 12:
            epoch += 1
            w += params["lr"] * (1 - w)
            if trial.report(epoch, 1 - w):
                trial.save_checkpoint({"epoch": np.array(epoch), "w": np.array(w),
                                       "saved_by": np.array(trial.number)})
                raise hp.TrialPruned()
        return 1 - w
    return run


@pytest.mark.parametrize("stored", [False, True])
def test_copies_start_from_their_parent_checkpoint_with_lineage(tmp_path, stored):
    study = hp.Study({"lr": hp.Float(0.01, 0.5, log=True)}, seed=0,
                     storage=tmp_path / "run" if stored else None,
                     pruner=hp.PopulationBasedTraining(interval=3, population=4, max_step=12))
    log = []
    study.optimize(network(log), n_trials=10)
    trials = {t.number: t for t in study.trials}
    copies = [t for t in trials.values() if t.parent is not None]
    assert copies and {str(t.state) for t in trials.values()} <= {"complete", "pruned"}
    for child in copies:
        parent = trials[child.parent]
        first = next(entry for entry in log if entry[0] == child.number)
        assert first[1] == parent.number  # resumed from the parent's checkpoint
        upto = first[2]
        assert {s: v for s, v in child.intermediate.items() if s <= upto} == {
            s: v for s, v in parent.intermediate.items() if s <= upto}
    assert any(child.params != trials[child.parent].params for child in copies)  # explored
    frame = study.results()
    assert frame["parent"].notna().sum() == len(copies)
    complete = [t for t in trials.values() if t.state is hp.TrialState.COMPLETE]
    assert all(max(t.intermediate) == 12 for t in complete)
    if stored:
        assert not list((tmp_path / "run" / "trials").rglob("checkpoint*"))


def test_ask_tell_drives_pbt():
    study = hp.Study({"lr": hp.Float(0.01, 0.5, log=True)}, seed=1,
                     pruner=hp.PopulationBasedTraining(interval=3, population=2, max_step=12))
    log, run = [], network([])
    a, b = study.ask(), study.ask()
    with pytest.raises(hp.StudyError, match="population is running"):
        study.ask()
    told = []
    for trial in (a, b):
        try:
            told.append(study.tell(trial, run(trial.params, trial)))
        except hp.TrialPruned:
            told.append(study.tell(trial, state="pruned"))
    assert [str(t.state) for t in told] == ["paused", "paused"]
    nxt = study.ask()
    assert nxt.number in (a.number, b.number, 2) and nxt.last_step == 3
    assert log == []
