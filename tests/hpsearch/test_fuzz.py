"""Bad input, property-based: any TOML document and any space either loads or gives one clear
error (StudyFileError; CLI exit 2 with one line on stderr, no traceback), and `validate` never
writes a run folder."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from hpsearch.cli import app
from hpsearch.exceptions import StudyFileError
from hpsearch.studyfile.reader import load_study_file

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])

OBJECTIVE = "def objective(params):\n    return 0.0\n"


def toml_value(value) -> str:
    """A tiny TOML writer for the values generated here (inline tables for dicts)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + " }"


def toml_document(sections: dict) -> str:
    lines = []
    for name, table in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{json.dumps(k)} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


scalars = st.one_of(st.booleans(), st.integers(-10**6, 10**6),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8)
numbers = st.one_of(st.integers(-100, 100), st.floats(-1e3, 1e3), st.floats(), st.text(max_size=3))

dimension = st.fixed_dictionaries({}, optional={
    "type": st.one_of(st.sampled_from(["float", "int", "categorical"]), st.text(max_size=6)),
    "low": numbers, "high": numbers, "log": st.one_of(st.booleans(), numbers),
    "step": numbers,
    "choices": st.one_of(st.lists(scalars, max_size=4), scalars),
    "extra": values,
})
space = st.dictionaries(st.text(min_size=1, max_size=10), st.one_of(dimension, values),
                        max_size=4)
study_table = st.fixed_dictionaries({}, optional={
    "strategy": st.one_of(st.sampled_from(["random", "grid", "gp", "tpe", "skopt"]),
                          st.text(max_size=6)),
    "n_trials": st.one_of(st.integers(-2, 50), values),
    "n_jobs": st.one_of(st.integers(-2, 4), values),
    "seed": st.one_of(st.integers(-5, 2**40), values),
    "direction": st.one_of(st.sampled_from(["minimize", "maximize"]), values),
    "timeout": numbers, "trial_timeout": numbers, "max_memory_mb": numbers,
    "backend": st.one_of(st.sampled_from(["local", "dask"]), values),
    "scheduler": st.one_of(st.just("tcp://127.0.0.1:8786"), values),
    "name": st.one_of(st.sampled_from(["fuzz", "", ".", "a/b"]), st.text(max_size=8)),
    "surprise": values,
})


def write(folder: Path, text: str) -> Path:
    (folder / "objective.py").write_text(OBJECTIVE)
    path = folder / "study.toml"
    path.write_text(text)
    return path


def document(folder: Path, study: dict, dims: dict, objective_kind: str,
             top_extra: dict) -> dict:
    doc = {"study": dict(study, storage=str(folder / "runs")), "space": dims,
           "objective": {"kind": objective_kind, "entry": "objective.py:objective"}}
    doc.update(top_extra)
    return doc


def check_loader_and_cli(path: Path) -> None:
    try:
        load_study_file(path)
    except StudyFileError as err:
        assert str(path) in str(err)
    # any other exception fails the property
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert result.exit_code in (0, 2), (result.exit_code, result.output, result.exception)
    if result.exit_code == 2:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("hpsearch: error: "), result.stderr
    assert "Traceback" not in result.output
    assert not (path.parent / "runs").exists(), "validate wrote a run folder"


@SETTINGS
@given(study=study_table, dims=space,
       kind=st.sampled_from(["python", "mlp", "nonsense"]),
       top_extra=st.dictionaries(st.sampled_from(["strategy_options", "pruner", "extra"]),
                                 st.dictionaries(st.text(max_size=5), scalars, max_size=2),
                                 max_size=2))
def test_any_study_document_loads_or_gives_one_clear_error(study, dims, kind, top_extra):
    with tempfile.TemporaryDirectory() as tmp:
        text = toml_document(document(Path(tmp), study, dims, kind, top_extra))
        check_loader_and_cli(write(Path(tmp), text))


@SETTINGS
@given(text=st.one_of(st.text(max_size=300),
                      st.binary(max_size=200).map(lambda b: b.decode("latin-1"))))
def test_any_text_loads_or_gives_one_clear_error(text):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "study.toml"
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        check_loader_and_cli(path)


@SETTINGS
@given(text=st.binary(max_size=200))
def test_any_bytes_load_or_give_one_clear_error(text):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "study.toml"
        path.write_bytes(text)
        check_loader_and_cli(path)
