"""The built-in network objective pauses and resumes exactly (a scheduler's promotion)."""

import numpy as np
import pytest

from hpsearch.exceptions import TrialPruned
from hpsearch.objectives import mlp
from hpsearch.trial import Trial

from .test_mlp import spec_for


class StopAt:
    """A report channel that says "stop" at one step."""

    def __init__(self, step: int) -> None:
        self.step = step

    def report(self, number: int, step: int, value: float) -> bool:
        return step == self.step


@pytest.mark.parametrize("optimizer", ["adam", "momentum"])
def test_a_paused_and_promoted_trial_ends_as_an_uninterrupted_one(tmp_path, optimizer):
    spec = spec_for(tmp_path, batchnorm=True, dropout=0.2, optimizer=optimizer,
                    lr_schedule="step", lr_step=2)
    objective = mlp.prepare(spec, tmp_path / "run")
    params = {"learning_rate": 0.02}
    whole = objective(params, Trial(0, 11))
    paused = Trial(0, 11, StopAt(2))
    with pytest.raises(TrialPruned):
        objective(params, paused)
    saved, step = paused.new_checkpoint()
    assert step == 2 and int(saved["epoch"]) == 2
    promoted = Trial(0, 11, checkpoint=saved, checkpoint_step=step,
                     intermediate=paused.intermediate)
    resumed = objective(params, promoted)
    assert sorted(promoted.intermediate) == [1, 2, 3, 4]
    assert promoted.steps_run == 2  # only the new epochs
    assert resumed.value == whole.value
    assert resumed.metrics["val_loss"] == whole.metrics["val_loss"]
    for name, array in whole.artifacts.items():
        if name.startswith("member0.param"):
            assert np.array_equal(array, resumed.artifacts[name]), name


def test_a_study_file_with_hyperband_resumes_the_network_from_its_checkpoints(tmp_path):
    """End to end: [pruner] kind = "hyperband" on the built-in network; every complete trial
    trained each of its epochs once (paused and promoted from the stored training state)."""
    from hpsearch.studyfile import runner
    from hpsearch.studyfile.reader import load_study_file

    path = tmp_path / "s.toml"
    path.write_text(f"""
[study]
name = "hb"
strategy = "random"
n_trials = 8
seed = 5
storage = "{tmp_path / 'runs'}"
[objective]
dataset = "spiral"
[objective.fixed]
epochs = 9
batch_size = 32
hidden_size = 12
batchnorm = true
[space]
learning_rate = {{ type = "float", low = 1e-3, high = 1e-1, log = true }}
[pruner]
kind = "hyperband"
max_resource = 9
brackets = 1
""")
    study = runner.run(load_study_file(path))
    trials = study.trials
    assert {str(t.state) for t in trials} <= {"complete", "pruned"}
    complete = [t for t in trials if str(t.state) == "complete"]
    assert complete and all(t.steps == 9 and t.metrics["epochs"] == 9 for t in complete)
    assert not list((tmp_path / "runs" / "hb" / "trials").rglob("checkpoint*"))


PBT_FILE = """
[study]
name = "pbt"
strategy = "random"
n_trials = 6
seed = 3
storage = "{storage}"
[objective]
dataset = "spiral"
[objective.fixed]
epochs = 8
batch_size = 64
[space]
learning_rate = {{ type = "float", low = 1e-3, high = 1e-1, log = true }}
hidden_size = {{ type = "int", low = 4, high = 24 }}
num_layers = {{ type = "int", low = 1, high = 2 }}
[pruner]
kind = "pbt"
interval = 2
population = 4
max_step = 8
resample_probability = 0.5
"""


def test_pbt_on_the_network_perturbs_only_what_a_checkpoint_survives(tmp_path):
    """End to end: [pruner] kind = "pbt" on the built-in network without `perturb`: the copies
    keep their source's layer sizes (the default leaves out the shape hyperparameters), so
    every copy resumes its source's checkpoint and none fails."""
    from hpsearch.studyfile import objectives, runner
    from hpsearch.studyfile.reader import load_study_file

    path = tmp_path / "s.toml"
    path.write_text(PBT_FILE.format(storage=tmp_path / "runs"))
    spec = load_study_file(path)
    assert objectives.study_pruner(spec).perturb == ("learning_rate",)
    trials = {t.number: t for t in runner.run(spec).trials}
    assert {str(t.state) for t in trials.values()} <= {"complete", "pruned"}
    copies = [t for t in trials.values() if t.parent is not None]
    assert copies and any(str(t.state) == "complete" for t in copies)
    for copy in copies:
        source = trials[copy.parent]
        for name in ("hidden_size", "num_layers"):
            assert copy.params[name] == source.params[name]
    assert any(c.params["learning_rate"] != trials[c.parent].params["learning_rate"]
               for c in copies)


def test_pbt_listing_a_shape_hyperparameter_is_refused_before_any_trial(tmp_path):
    from hpsearch.exceptions import StudyFileError
    from hpsearch.studyfile import runner
    from hpsearch.studyfile.reader import load_study_file

    path = tmp_path / "s.toml"
    path.write_text(PBT_FILE.format(storage=tmp_path / "runs") +
                    'perturb = ["learning_rate", "num_layers"]\n')
    with pytest.raises(StudyFileError) as info:
        runner.validate(load_study_file(path))
    message = str(info.value)
    assert message.startswith(f"{path}: [pruner].perturb: 'num_layers' changes the network's")
    assert "learning_rate'" not in message
    assert not (tmp_path / "runs").exists()
