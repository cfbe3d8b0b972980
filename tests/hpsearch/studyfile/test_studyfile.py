"""Study-file parsing: what a good file resolves to, and that every mistake names file and key."""

from pathlib import Path

import pytest

from hpsearch.exceptions import StudyFileError
from hpsearch.space import Categorical, Float, Int
from hpsearch.studyfile.reader import load_study_file

GOOD = """
[study]
name = "digits-mlp"
strategy = "gp"
n_trials = 40
n_jobs = 2
seed = 3
direction = "maximize"
metric = "val_accuracy"
storage = "somewhere"

[strategy_options]
n_startup = 8

[objective]
kind = "mlp"
task = "classification"
dataset = "data/my.csv"
target = "label"
val_fraction = 0.25
test_fraction = 0.15

[objective.fixed]
activation = "relu"
epochs = 30

[space]
learning_rate = { type = "float", low = 1e-4, high = 1e-1, log = true }
hidden_size   = { type = "int", low = 32, high = 512, log = true }
optimizer     = { type = "categorical", choices = ["sgd", "adam"] }
"""


def write(tmp_path: Path, text: str, name: str = "study.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_good_file_resolves_every_key(tmp_path):
    spec = load_study_file(write(tmp_path, GOOD))
    assert spec.name == "digits-mlp"
    assert (spec.strategy, spec.n_trials, spec.n_jobs, spec.seed) == ("gp", 40, 2, 3)
    assert spec.direction == "maximize" and spec.metric == "val_accuracy"
    assert spec.run_dir == Path("somewhere") / "digits-mlp"
    assert spec.strategy_options == {"n_startup": 8}
    assert spec.objective.fixed == {"activation": "relu", "epochs": 30}
    assert spec.objective.val_fraction == 0.25
    assert spec.space["learning_rate"] == Float(1e-4, 1e-1, log=True)
    assert spec.space["hidden_size"] == Int(32, 512, log=True)
    assert spec.space["optimizer"] == Categorical(("sgd", "adam"))
    # a dataset path is relative to the study file, not the working directory
    assert spec.resolve_dataset() == str((tmp_path / "data" / "my.csv").resolve())


def test_defaults_and_overrides(tmp_path):
    text = '[study]\nstrategy = "random"\nn_trials = 5\n[space]\nx = { type = "float", ' \
           'low = 0, high = 1 }\n'
    spec = load_study_file(write(tmp_path, text, "branin.toml"))
    assert spec.name == "branin"  # the file's stem
    assert spec.storage == Path("runs") and spec.n_jobs == 1 and spec.seed == 0
    assert spec.metric == "val_accuracy" and spec.direction == "maximize"
    spec = load_study_file(tmp_path / "branin.toml", n_trials=9, n_jobs=None, storage="elsewhere")
    assert spec.n_trials == 9 and spec.n_jobs == 1 and spec.storage == Path("elsewhere")
    assert load_study_file(tmp_path / "branin.toml", n_jobs=-1).n_jobs == -1  # every core
    with pytest.raises(StudyFileError, match="--n-jobs"):
        load_study_file(tmp_path / "branin.toml", n_jobs=0)


BAD = [
    ("[study\n", "not valid TOML"),
    ('[study]\nn_trials = 3\n[space]\nx = { type = "float", low = 0, high = 1 }\n',
     "[study].strategy: missing"),
    ('[study]\nstrategy = "bayes"\nn_trials = 3\n[space]\nx = { type = "float", low = 0, '
     'high = 1 }\n', "[study].strategy: expected one of"),
    ('[study]\nstrategy = "gp"\nn_trials = "ten"\n[space]\nx = { type = "float", low = 0, '
     'high = 1 }\n', "[study].n_trials: expected an integer, got str 'ten'"),
    ('[study]\nstrategy = "gp"\nn_trials = 0\n[space]\nx = { type = "float", low = 0, '
     'high = 1 }\n', "[study].n_trials: expected a value >= 1"),
    ('[study]\nstrategy = "gp"\nn_trials = 3\nn_jobs = 0\n[space]\nx = { type = "float", '
     'low = 0, high = 1 }\n', "[study].n_jobs: expected a positive integer or -1"),
    ('[study]\nstrategy = "gp"\nn_trails = 3\n[space]\nx = { type = "float", low = 0, '
     'high = 1 }\n', "did you mean 'n_trials'"),
    ('[study]\nstrategy = "gp"\nn_trials = 3\n[spaces]\n', "did you mean 'space'"),
    ('[study]\nstrategy = "gp"\nn_trials = 3\n', "[space]: expected at least one"),
    ('[study]\nstrategy = "gp"\nn_trials = 3\n[space]\nx = { type = "float", low = 2, '
     'high = 1 }\n', "[space].x: Float: low must be below high"),
    ('[study]\nstrategy = "gp"\nn_trials = 3\n[space]\nx = { type = "float", low = 0, '
     'high = 1, log = true }\n', "[space].x: Float: log=True needs low > 0"),
    ('[study]\nstrategy = "gp"\nn_trials = 3\n[space]\nx = { type = "categorical", '
     'choices = [] }\n', "[space].x: Categorical: choices must not be empty"),
    ('[study]\nstrategy = "gp"\nn_trials = 3\n[space]\nx = { type = "real", low = 0, '
     'high = 1 }\n', "[space].x: type must be one of"),
    ('[study]\nstrategy = "gp"\nn_trials = 3\n[space]\nx = 3\n', "[space].x: expected an inline"),
    ('[study]\nstrategy = "gp"\nn_trials = 3\n[objective]\nkind = "python"\n[space]\n'
     'x = { type = "float", low = 0, high = 1 }\n', "[objective].entry: missing"),
    ('[study]\nstrategy = "gp"\nn_trials = 3\n[objective]\nval_fraction = 0.6\n'
     'test_fraction = 0.4\n[space]\nx = { type = "float", low = 0, high = 1 }\n',
     "[objective].test_fraction"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_bad_file_names_file_and_key(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(StudyFileError) as info:
        load_study_file(path)
    assert str(info.value).startswith(str(path))
    assert message in str(info.value)
    assert "\n" not in str(info.value).strip() or "TOML" in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(StudyFileError, match="no such study file"):
        load_study_file(tmp_path / "nope.toml")


def test_best_study_file_keeps_perturb_within_its_pinned_space(tmp_path):
    """`hpsearch best --study-file` removes the hyperparameters inactive in the best trial;
    `[pruner].perturb` loses them too, so the file it writes loads."""
    from hpsearch.studyfile.record import Recorded, best_study_file

    text = """
[study]
strategy = "random"
n_trials = 4
[objective]
kind = "python"
entry = "m:f"
[space]
kind = { type = "categorical", choices = ["a", "b"] }
x = { type = "float", low = 0, high = 1 }
depth = { type = "int", low = 1, high = 3, when = { kind = ["b"] } }
[pruner]
kind = "pbt"
interval = 2
perturb = ["x", "depth"]
"""
    source = tmp_path / "s.toml"
    source.write_text(text)
    load_study_file(source)
    path = tmp_path / "best.toml"
    path.write_text(best_study_file(Recorded(text, source), {"kind": "a", "x": 0.5}, path))
    spec = load_study_file(path)
    assert set(spec.space) == {"kind", "x"} and spec.pruner["perturb"] == ["x"]
