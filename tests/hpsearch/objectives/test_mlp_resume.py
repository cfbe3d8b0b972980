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
