"""Item 3 of issue 20: `hpsearch best --toml` prints TOML that goes back into the study (exact
floats, quoted keys, the keys already fixed), and `--study-file NEW.toml` writes a complete
study file that `validate` accepts and that runs the best configuration."""

from __future__ import annotations

import json
import tomllib

from tests.hpsearch.cli.conftest import invoke
from tests.hpsearch.cli.test_cli import TINY, tiny_csv, write_study


def best_params(run_dir) -> dict:
    result = invoke("best", run_dir, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["params"]


def test_python_study_round_trips_through_toml_and_study_file(wide_run, study_file, tmp_path):
    params = best_params(wide_run)
    assert "a key with spaces" in params
    fragment = invoke("best", wide_run, "--toml")
    assert fragment.exit_code == 0, fragment.output
    parsed = tomllib.loads(fragment.stdout)  # valid TOML, quoted keys included
    assert parsed["study"]["enqueue"] == [params]  # floats exact, every key
    merged = tmp_path / "merged.toml"
    merged.write_text(study_file().read_text() + "\n" + fragment.stdout)
    checked = invoke("validate", merged)
    assert checked.exit_code == 0, checked.output
    assert "enqueue" in checked.stdout

    new = tmp_path / "elsewhere" / "wide_best.toml"
    new.parent.mkdir()
    written = invoke("best", wide_run, "--study-file", new)
    assert written.exit_code == 0, written.output
    assert invoke("validate", new).exit_code == 0
    ran = invoke("run", new)
    assert ran.exit_code == 0, ran.output
    assert best_params(tmp_path / "runs" / "wide_best") == params


def test_network_study_toml_holds_the_fixed_keys_and_goes_back_in(tmp_path):
    tiny_csv(tmp_path)
    study = write_study(tmp_path, TINY)
    assert invoke("run", study).exit_code == 0
    run_dir = tmp_path / "runs" / "tiny"
    params = best_params(run_dir)
    fragment = invoke("best", run_dir, "--toml")
    fixed = tomllib.loads(fragment.stdout)["objective"]["fixed"]
    assert fixed == {"epochs": 3, "batch_size": 64, "hidden_size": 16, **params}
    # the table replaces the study file's own, with the searched keys now fixed
    text = study.read_text()
    head, rest = text.split("[objective.fixed]")
    space = rest[rest.index("[space]"):]
    kept = "\n".join(line for line in space.splitlines()
                     if line.split("=")[0].strip() not in params)
    replaced = tmp_path / "replaced.toml"
    replaced.write_text(head + fragment.stdout + "\n" + kept + "\n"
                        + 'dropout = { type = "float", low = 0.0, high = 0.5 }\n')
    assert invoke("validate", replaced).exit_code == 0
    enqueue = tmp_path / "best.toml"
    enqueue.write_text(fragment.stdout)
    assert invoke("run", study, "--enqueue", enqueue, "--n-trials", "4").exit_code == 0

    new = tmp_path / "tiny_best.toml"
    assert invoke("best", run_dir, "--study-file", new).exit_code == 0
    checked = invoke("validate", new)
    assert checked.exit_code == 0, checked.output
    assert "grid size 1" in checked.stdout and "blobs.csv" in new.read_text()


def test_best_without_a_recorded_study_file_says_what_to_do(wide_run, tmp_path):
    (wide_run / "study.toml").unlink()
    result = invoke("best", wide_run, "--study-file", tmp_path / "x.toml")
    assert result.exit_code == 2 and "run its study file again" in result.stderr
