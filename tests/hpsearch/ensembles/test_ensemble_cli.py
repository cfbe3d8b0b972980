"""`hpsearch ensemble` and `hpsearch predict`: tables, files, input matching, exit codes."""

import io
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import hpsearch as hp
from hpsearch.cli import app

runner = CliRunner()

STUDY = """
[study]
name = "blobs"
strategy = "random"
n_trials = 3
n_jobs = 1
seed = 0
storage = "{storage}"

[objective]
kind = "mlp"
dataset = "blobs.csv"
target = "label"
checkpoint_epochs = [2, 3]

[objective.fixed]
epochs = 4
batch_size = 32
hidden_size = 8

[space]
learning_rate = {{ type = "float", low = 1e-3, high = 1e-1, log = true }}
"""


def invoke(*args):
    return runner.invoke(app, [str(a) for a in args])


def blobs(n_per_class=40, seed=0):
    """(X (N, 3), labels (N,) strings k0..k2): three separable blobs."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0, 0, 0], [4, 4, 0], [0, 4, 4]], dtype=float)
    y = np.repeat(np.arange(3), n_per_class)
    return centres[y] + rng.normal(size=(len(y), 3)), np.array([f"k{t}" for t in y])


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli_ensemble")
    X, y = blobs()
    # the label column sits in the middle: matching must go by name
    frame = pd.DataFrame({"a": X[:, 0], "label": y, "b": X[:, 1], "c": X[:, 2]})
    frame.to_csv(folder / "blobs.csv", index=False, float_format="%.6f")
    (folder / "study.toml").write_text(STUDY.format(storage=folder / "runs"))
    result = invoke("run", folder / "study.toml")
    assert result.exit_code == 0, result.output
    return folder / "runs" / "blobs"


@pytest.fixture(scope="module")
def model_file(run_dir):
    path = run_dir.parent.parent / "model.npz"
    result = invoke("ensemble", run_dir, "--method", "predictions", "--top-k", "2", "-o", path)
    assert result.exit_code == 0, result.output
    return path


@pytest.mark.slow  # trains networks end to end (seconds)
def test_ensemble_prints_members_and_scores(run_dir, model_file):
    result = invoke("ensemble", run_dir, "--method", "greedy", "--size", "5")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["trial", "member", "val_accuracy", "test_accuracy", "weight",
                                "params"]
    assert any(line.startswith("ensemble (") and "test_accuracy" in line for line in lines)
    assert any(line.startswith("best single trial") for line in lines)
    assert model_file.is_file()
    manifest = hp.load_ensemble(model_file).manifest
    assert manifest["feature_names"] == ["a", "b", "c"] and manifest["classes"] == ["k0", "k1",
                                                                                  "k2"]
    # the export is recorded in the run folder, and the report shows it
    record = json.loads((run_dir / "ensembles" / "model.json").read_text())
    assert record["members"] == manifest["members"] and record["file"] == str(model_file)
    result = invoke("report", run_dir, "-o", run_dir.parent.parent / "report")
    assert result.exit_code == 0, result.output
    page = (run_dir.parent.parent / "report" / "report.html").read_text()
    assert "model.json" in page or "predictions" in page.split('id="ensembles"')[1][:3000]


def test_snapshot_and_parameters_commands(run_dir, tmp_path):
    result = invoke("ensemble", run_dir, "--method", "snapshot", "-o", tmp_path / "snap.npz")
    assert result.exit_code == 0, result.output
    assert "epoch 2" in result.stdout and "snapshot" in result.stdout
    result = invoke("ensemble", run_dir, "--method", "parameters", "--top-k", "3")
    if result.exit_code != 0:  # refused: one clear line that points to predictions
        assert result.exit_code == 2 and result.stderr.count("\n") == 1
        assert "use --method predictions" in result.stderr


def test_predict_csv_with_header_matches_by_name(model_file, tmp_path):
    X, y = blobs(5, seed=1)
    # other column order, and the target column is present: it is ignored
    frame = pd.DataFrame({"c": X[:, 2], "label": y, "a": X[:, 0], "b": X[:, 1]})
    frame.to_csv(tmp_path / "new.csv", index=False)
    result = invoke("predict", model_file, tmp_path / "new.csv")
    assert result.exit_code == 0, result.output
    out = pd.read_csv(io.StringIO(result.stdout))
    assert list(out.columns) == ["proba_k0", "proba_k1", "proba_k2", "prediction"]
    model = hp.load_ensemble(model_file)
    np.testing.assert_allclose(out[["proba_k0", "proba_k1", "proba_k2"]].to_numpy(),
                               model.predict_proba(X), rtol=1e-12)
    assert list(out["prediction"]) == list(model.predict(X))
    assert np.mean(out["prediction"] == y) >= 0.8


def test_predict_headerless_csv_and_npz_by_position(model_file, tmp_path):
    X, _ = blobs(3, seed=2)
    np.savetxt(tmp_path / "plain.csv", X, delimiter=",")
    np.savez(tmp_path / "new.npz", X=X)
    outputs = []
    for name in ("plain.csv", "new.npz"):
        result = invoke("predict", model_file, tmp_path / name, "-o", tmp_path / f"{name}.out")
        assert result.exit_code == 0, result.output
        outputs.append(pd.read_csv(tmp_path / f"{name}.out"))
    pd.testing.assert_frame_equal(outputs[0], outputs[1])
    assert len(outputs[0]) == 9


@pytest.mark.parametrize(("content", "message"), [
    ("a,b,label\n1,2,k0\n", "missing feature column c"),
    ("1,2\n3,4\n", "2 columns; the ensemble expects 3 features"),
    ("a,b,c\n1,x,2\n", "line 2, column 2: not a number"),
    ("a,b,c\n1,2,3\n1,nan,2\n", "row 2, column 'b': nan is not a finite number"),
    ("a,b,c\n1,2,inf\n", "row 1, column 'c': inf is not a finite number"),
    ("a,b,c\n1,2,1e39\n", "1e+39 is not a finite number within float32's range"),
])
def test_predict_bad_input(model_file, tmp_path, content, message):
    (tmp_path / "bad.csv").write_text(content)
    result = invoke("predict", model_file, tmp_path / "bad.csv")
    assert result.exit_code == 2
    assert message in result.stderr and result.stderr.count("\n") == 1


def test_predict_npz_feature_count_and_damaged_model(model_file, tmp_path):
    np.savez(tmp_path / "wide.npz", X=np.zeros((2, 4)))
    result = invoke("predict", model_file, tmp_path / "wide.npz")
    assert result.exit_code == 2 and "(n_samples, 3)" in result.stderr
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes(model_file.read_bytes()[:500])
    result = invoke("predict", damaged, tmp_path / "wide.npz")
    assert result.exit_code == 2 and result.stderr.startswith("hpsearch: error: ")
    assert "not a readable ensemble file" in result.stderr and "Traceback" not in result.output


def test_ensemble_bad_run_folder(tmp_path):
    result = invoke("ensemble", tmp_path / "nowhere")
    assert result.exit_code == 2 and "no such run folder" in result.stderr
    result = invoke("ensemble", tmp_path, "--method", "bagging")
    assert result.exit_code == 2


def test_greedy_bagging_options(run_dir):
    result = invoke("ensemble", run_dir, "--method", "greedy")
    assert result.exit_code == 0, result.output
    assert "bags" not in result.stdout  # the plain method (the default) says nothing of bags
    result = invoke("ensemble", run_dir, "--method", "greedy", "--bags", "5")
    assert result.exit_code == 0 and "in each of 5 bags of 0.5 of them" in result.stdout
    result = invoke("ensemble", run_dir, "--method", "predictions", "--bags", "5")
    assert result.exit_code == 2 and "apply to greedy" in result.stderr
    result = invoke("ensemble", run_dir, "--method", "greedy", "--bag-fraction", "1.5")
    assert result.exit_code == 2 and "bag fraction must be in (0, 1]" in result.stderr


def test_refit_option(run_dir, tmp_path):
    result = invoke("ensemble", run_dir, "--method", "predictions", "--top-k", "2", "--refit",
                    "-o", tmp_path / "refit.npz")
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("refitting ")
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["trial", "member", "val_accuracy", "test_accuracy",
                                "refit_test_accuracy", "weight", "params"]
    assert "refitted on the train and validation rows" in result.stdout
    assert any(line.startswith("best single trial") and "refit test_accuracy" in line
               for line in lines)
    assert hp.load_ensemble(tmp_path / "refit.npz").manifest["options"]["refit"] is True
    result = invoke("ensemble", run_dir, "--method", "snapshot", "--refit")
    assert result.exit_code == 2 and "--refit applies to predictions and greedy" in result.stderr
    result = invoke("ensemble", run_dir, "--refit", "--trial", "1")
    assert result.exit_code == 2 and "refitting" not in result.stderr  # checked before work
    result = invoke("ensemble", run_dir, "--refit", "--n-jobs", "0")
    assert result.exit_code == 2 and "--n-jobs must be a positive integer" in result.stderr
    result = invoke("ensemble", run_dir, "--method", "greedy", "--size", "3", "--refit",
                    "--n-jobs", "2")
    assert result.exit_code == 0 and "2 at once" in result.stderr
