"""The command line: each command, bad input (exit 2, one clear line, nothing damaged), resume."""

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from hpsearch.cli import app
from hpsearch.study.tables import read_table

runner = CliRunner()

TINY = """
[study]
name = "tiny"
strategy = "random"
n_trials = 3
n_jobs = 1
seed = 0
storage = "{storage}"

[objective]
kind = "mlp"
dataset = "{dataset}"

[objective.fixed]
epochs = 3
batch_size = 64
hidden_size = 16

[space]
learning_rate = {{ type = "float", low = 1e-3, high = 1e-1, log = true }}
optimizer = {{ type = "categorical", choices = ["adam", "momentum"] }}
"""


def tiny_csv(folder: Path) -> Path:
    """A small, separable 3-class CSV data set with a header and a named label column."""
    import numpy as np

    rng = np.random.default_rng(0)
    centres = np.array([[0, 0, 0], [4, 4, 0], [0, 4, 4]], dtype=float)
    y = np.repeat(np.arange(3), 40)
    X = centres[y] + rng.normal(size=(len(y), 3))
    path = folder / "blobs.csv"
    rows = [f"{a:.4f},{b:.4f},{c:.4f},k{t}" for (a, b, c), t in zip(X, y, strict=True)]
    lines = ["a,b,c,label", *rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def write_study(folder: Path, text: str = TINY, name: str = "study.toml", **fmt) -> Path:
    fmt.setdefault("storage", str(folder / "runs"))
    fmt.setdefault("dataset", "blobs.csv")
    path = folder / name
    path.write_text(text.format(**fmt))
    return path


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def folder_digest(folder: Path) -> dict[str, str]:
    """Hashes of every file but the lock and SQLite's shared-memory index (rewritten on read)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name not in ("study.lock", "study.db-shm")}


def test_run_results_best_and_resume(tmp_path):
    tiny_csv(tmp_path)
    study = write_study(tmp_path)
    result = invoke("run", study)
    assert result.exit_code == 0, result.output
    run_dir = tmp_path / "runs" / "tiny"
    assert "best val_accuracy" in result.stdout and str(run_dir) in result.stdout
    table = pd.read_csv(run_dir / "trials.csv")
    assert list(table["number"]) == [0, 1, 2] and set(table["state"]) == {"complete"}
    assert table["metrics_val_accuracy"].between(0, 1).all()
    # the same table in both files (CSV holds the UTC timestamps as ISO 8601 text)
    pd.testing.assert_frame_equal(read_table(str(run_dir / "trials.parquet")),
                                  read_table(str(run_dir / "trials.csv")), check_dtype=False)

    # running it again with more trials resumes: the three finished trials are kept as they were
    result = invoke("run", study, "--n-trials", "5")
    assert result.exit_code == 0, result.output
    resumed = pd.read_csv(run_dir / "trials.csv")
    assert list(resumed["number"]) == [0, 1, 2, 3, 4]
    pd.testing.assert_frame_equal(resumed.iloc[:3], table)

    result = invoke("results", run_dir, "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    values = [r["value"] for r in rows]
    assert values == sorted(values, reverse=True)  # best first for a maximised metric

    result = invoke("results", run_dir, "--top", "2", "--format", "markdown")
    assert result.exit_code == 0 and result.stdout.count("\n") == 4  # header, rule, 2 rows

    result = invoke("results", run_dir, "--sort", "learning_rate", "--format", "csv")
    assert result.exit_code == 0
    frame = pd.read_csv(__import__("io").StringIO(result.stdout))
    assert frame["params_learning_rate"].is_monotonic_increasing

    result = invoke("best", run_dir, "--toml")
    assert result.exit_code == 0
    assert "[objective.fixed]" in result.stdout and "learning_rate = " in result.stdout
    best_row = rows[0]
    assert f"optimizer = \"{best_row['params_optimizer']}\"" in result.stdout

    result = invoke("best", run_dir)
    assert result.exit_code == 0 and "val_accuracy" in result.stdout


def test_validate_prints_space_and_grid_size(tmp_path):
    tiny_csv(tmp_path)
    text = TINY.replace('log = true }}', 'log = true, grid_points = 3 }}')
    study = write_study(tmp_path, text)
    result = invoke("validate", study)
    assert result.exit_code == 0, result.output
    assert "grid size 6" in result.stdout and "(120, 3)" in result.stdout
    assert not (tmp_path / "runs").exists()  # validate writes nothing


def test_python_objective_with_metric(tmp_path, python_study):
    (tmp_path / "objective_module.py").write_text(textwrap.dedent("""
        import hpsearch as hp
        def f(params):
            return hp.Result(params["x"] ** 2, metrics={"score": -params["x"] ** 2})
    """))
    study = python_study(tmp_path / "py.toml", "objective_module:f", low=-1, n_trials=4,
                         metric="score", direction="maximize")
    result = invoke("run", study)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "runs" / "py" / "trials.csv")
    assert (table["value"] == table["metrics_score"]).all()


BAD_STUDIES = [
    ("[study\n", "not valid TOML"),
    (TINY.replace('"random"', '"bayesian"'), "[study].strategy"),
    (TINY.replace("learning_rate = ", "lr = "), "did you mean 'learning_rate'"),
    (TINY.replace("hidden_size = 16", "hidden_size = 16\nlearning_rate = 0.1"),
     "both fixed"),
    (TINY.replace("epochs = 3", 'epochs = "three"'), "[objective.fixed].epochs"),
    (TINY.replace("low = 1e-3, high = 1e-1", "low = 1e-1, high = 1e-3"),
     "[space].learning_rate"),
    (TINY.replace('["adam", "momentum"]', '["adam", "adamw"]'), "[space].optimizer"),
    (TINY.replace('dataset = "{dataset}"', 'dataset = "missing.csv"'), "missing.csv"),
    (TINY.replace('dataset = "{dataset}"', 'dataset = "bad.csv"'), "bad.csv"),
    (TINY.replace('kind = "mlp"\ndataset = "{dataset}"', 'kind = "python"\nentry = "nope.py:f"')
     .split("[objective.fixed]")[0] + "[space]\nx = {{ type = \"float\", low = 0, high = 1 }}\n",
     "[objective].entry"),
    (TINY.replace('"random"', '"grid"'), "grid"),
    (TINY.replace("hidden_size = 16", 'activation = "swish"'), "[objective.fixed].activation"),
    (TINY.replace("[space]", "[strategy_options]\nn_startup = 3\n[space]"),
     "[strategy_options]"),
    (TINY.replace('dataset = "{dataset}"', 'dataset = "{dataset}"\ntask = "regresion"'),
     "did you mean 'regression'"),
]


@pytest.mark.parametrize(("text", "culprit"), BAD_STUDIES)
def test_bad_study_exits_2_with_one_line(tmp_path, text, culprit):
    tiny_csv(tmp_path)
    (tmp_path / "bad.csv").write_text("a,b,label\n1,2,x\n3,oops,y\n")
    study = write_study(tmp_path, text)
    result = invoke("run", study)
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hpsearch: error: ")
    assert culprit in lines[0]
    assert not (tmp_path / "runs" / "tiny" / "study.db").exists()  # failed up front


def test_bad_run_folder_and_options(tmp_path):
    for args, culprit in [
        (("results", tmp_path / "nowhere"), "no such run folder"),
        (("results", tmp_path), "not a study run folder"),
        (("best", tmp_path), "not a study run folder"),
        (("run", tmp_path / "nope.toml"), "no such study file"),
        (("validate", tmp_path), "is a folder"),
    ]:
        result = invoke(*args)
        assert result.exit_code == 2, (args, result.output)
        assert culprit in result.stderr and "Traceback" not in result.output


def test_changed_study_is_refused_and_nothing_is_damaged(tmp_path):
    tiny_csv(tmp_path)
    study = write_study(tmp_path)
    assert invoke("run", study).exit_code == 0
    run_dir = tmp_path / "runs" / "tiny"
    before = folder_digest(run_dir)
    write_study(tmp_path, TINY.replace("high = 1e-1", "high = 0.5"))
    result = invoke("run", study)
    assert result.exit_code == 2
    assert "--fresh" in result.stderr and "space" in result.stderr
    result = invoke("results", run_dir, "--sort", "nonsense")
    assert result.exit_code == 2 and "nonsense" in result.stderr
    after = folder_digest(run_dir)
    assert {k for k in before if before[k] != after.get(k)} == set()
    # --fresh starts afresh on purpose
    result = invoke("run", study, "--fresh")
    assert result.exit_code == 0, result.output


def test_every_trial_failed_exits_1(tmp_path, python_study):
    (tmp_path / "boom.py").write_text("def f(params):\n    raise RuntimeError('kaput')\n")
    study = python_study(tmp_path / "boom.toml", "boom.py:f", n_trials=3)
    result = invoke("run", study)
    assert result.exit_code == 1
    assert "every trial failed" in result.stderr and "kaput" in result.stderr
    assert len(pd.read_csv(tmp_path / "runs" / "boom" / "trials.csv")) == 3


def test_help_imports_no_heavy_library():
    code = textwrap.dedent("""
        import sys
        from hpsearch.cli import app
        try:
            app(["--help"])
        except SystemExit:
            pass
        heavy = ["sklearn", "skopt", "scipy", "pandas", "optuna", "matplotlib", "dask", "torch"]
        print("heavy:" + ",".join(m for m in heavy if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "Usage" in out.stdout
    assert out.stdout.strip().splitlines()[-1] == "heavy:"


def test_version():
    result = invoke("--version")
    assert result.exit_code == 0 and result.stdout.startswith("hpsearch ")


STUDIES = sorted((Path(__file__).resolve().parents[3] / "studies").glob("*.toml"))


@pytest.mark.parametrize("study", STUDIES, ids=[p.stem for p in STUDIES])
def test_every_shipped_study_validates(study):
    assert len(STUDIES) >= 5
    result = invoke("validate", study)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"{study}: ok")
