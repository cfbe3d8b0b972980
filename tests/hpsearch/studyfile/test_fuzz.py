"""Bad input, property-based: any TOML document and any space either loads or gives one clear
error (StudyFileError; CLI exit 2 with one line on stderr, no traceback), and `validate` never
writes a run folder. The same for the files hpsearch reads: any edit of an ensemble file's
manifest, any damage to its bytes (`hpsearch predict`), any CSV or NPZ data set (`hpsearch
validate`) loads or gives one line and exit 2, within a bounded amount of memory (tracemalloc).
The file fuzzing keeps `FILE_SETTINGS` small (25 examples each) so the default run stays quick;
HYPOTHESIS_PROFILE=long runs 500."""

from __future__ import annotations

import functools
import io
import json
import math
import os
import tempfile
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from hpsearch.cli import app
from hpsearch.exceptions import StudyFileError
from hpsearch.studyfile.reader import load_study_file

SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
FILE_SETTINGS = settings(max_examples=500 if os.environ.get("HYPOTHESIS_PROFILE") == "long"
                         else 25, deadline=None,
                         suppress_health_check=[HealthCheck.too_slow,
                                                HealthCheck.function_scoped_fixture])
MEMORY_BOUND = 64 * 2**20  # what one refused (or accepted) small file may cost, in bytes

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


# ----------------------------------------------------------------------------- files hpsearch reads
def one_line_or_ok(result) -> None:
    assert result.exit_code in (0, 2), (result.exit_code, result.output, result.exception)
    if result.exit_code == 2:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("hpsearch: error: "), result.stderr
    assert "Traceback" not in result.output


def bounded(command: list[str]):
    tracemalloc.start()
    try:
        result = CliRunner().invoke(app, command)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_BOUND, f"{peak / 2**20:.0f} MiB for {command}"
    return result


@functools.cache
def good_ensemble() -> bytes:
    """The bytes of a small two-member ensemble file (built once)."""
    from hpsearch.ensembles import save_ensemble
    from hpsearch.ensembles.file import make_ensemble
    from nn_core.estimator import MLPClassifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    y = (X[:, 0] > 0).astype(int)
    members = []
    for seed in (0, 1):
        model = MLPClassifier(hidden_sizes=(4,), epochs=1, preprocess="standardize",
                              seed=seed).fit(X, y)
        config, arrays = model.to_arrays()
        members.append({"config": config, "arrays": arrays, "weight": 1.0})
    with tempfile.TemporaryDirectory() as tmp:
        path = save_ensemble(make_ensemble("classification", members, ["a", "b", "c"]),
                             Path(tmp) / "e.npz")
        return path.read_bytes()


def json_paths(value, prefix=()):
    """Every path into a JSON document (dict keys and list indices)."""
    yield prefix
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from json_paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from json_paths(inner, (*prefix, index))


def replaced(document, path, new):
    if not path:
        return new
    copy = json.loads(json.dumps(document))
    target = copy
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return copy


def manifest_of(raw: bytes) -> dict:
    with np.load(io.BytesIO(raw), allow_pickle=False) as stored:
        return json.loads(str(stored["manifest"]))


def with_manifest_text(raw: bytes, text: str) -> bytes:
    members = {}
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        for info in archive.infolist():
            members[info.filename] = archive.read(info)
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.array(text), allow_pickle=False)
    members["manifest.npy"] = buffer.getvalue()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()


wild = st.one_of(values, st.just(float("nan")), st.just(10**18), st.just(-1), st.just([]),
                 st.just({}), st.just("|O"), st.just("<U999999999"), st.just([10**9]),
                 st.integers(-(2**70), 2**70), st.lists(st.integers(0, 10**6), max_size=4))


def predict_on(folder: Path, raw: bytes):
    ensemble = folder / "e.npz"
    ensemble.write_bytes(raw)
    data = folder / "x.csv"
    data.write_text("a,b,c\n1,2,3\n0.5,-1,2\n")
    return bounded(["predict", str(ensemble), str(data)])


@FILE_SETTINGS
@given(data=st.data())
def test_any_edit_of_an_ensemble_manifest_predicts_or_gives_one_line(data):
    raw = good_ensemble()
    manifest = manifest_of(raw)
    path = data.draw(st.sampled_from(list(json_paths(manifest))), label="path")
    edited = replaced(manifest, path, data.draw(wild, label="value"))
    with tempfile.TemporaryDirectory() as tmp:
        one_line_or_ok(predict_on(Path(tmp), with_manifest_text(raw, json.dumps(edited))))


@FILE_SETTINGS
@given(text=st.one_of(st.text(max_size=200),
                      st.integers(1, 20_000).map(lambda n: "[" * n + "]" * n),
                      st.integers(1, 20_000).map(lambda n: '{"a":' * n + "1" + "}" * n)))
def test_any_manifest_text_gives_one_line(text):
    with tempfile.TemporaryDirectory() as tmp:
        one_line_or_ok(predict_on(Path(tmp), with_manifest_text(good_ensemble(), text)))


@FILE_SETTINGS
@given(edits=st.lists(st.tuples(st.floats(0.0, 1.0, exclude_max=True), st.integers(0, 255)),
                      min_size=1, max_size=8),
       cut=st.one_of(st.none(), st.floats(0.0, 1.0)))
def test_any_damage_to_an_ensemble_file_gives_one_line(edits, cut):
    raw = bytearray(good_ensemble())
    for where, byte in edits:
        raw[int(where * len(raw))] = byte
    if cut is not None:
        raw = raw[: int(cut * len(raw))]
    with tempfile.TemporaryDirectory() as tmp:
        one_line_or_ok(predict_on(Path(tmp), bytes(raw)))


MLP_STUDY = """
[study]
name = "fuzz_data"
strategy = "random"
n_trials = 1
storage = "{storage}"
[objective]
dataset = "{dataset}"
{impute}
[space]
learning_rate = {{ type = "float", low = 1e-3, high = 1e-1, log = true }}
"""


def validate_dataset(folder: Path, dataset: Path, impute: bool = False):
    study = folder / "study.toml"
    study.write_text(MLP_STUDY.format(storage=folder / "runs", dataset=dataset.name,
                                      impute='impute = "mean"' if impute else ""))
    result = bounded(["validate", str(study)])
    one_line_or_ok(result)
    assert not (folder / "runs").exists()
    return result


cell = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                 st.integers(-10, 10).map(str), st.sampled_from(["", "nan", "inf", "-inf",
                                                                 "1e39", "1e-320", "NaN", " "]),
                 st.text(max_size=4))


@FILE_SETTINGS
@given(rows=st.lists(st.lists(cell, min_size=3, max_size=4), min_size=0, max_size=14),
       labels=st.lists(st.sampled_from(["0", "1", "2", "a", "nan", ""]), min_size=14,
                       max_size=14),
       impute=st.booleans())
def test_any_csv_data_set_validates_or_gives_one_line(rows, labels, impute):
    lines = ["a,b,c,label"] + [",".join([*row, label])
                               for row, label in zip(rows, labels[:len(rows)], strict=True)]
    with tempfile.TemporaryDirectory() as tmp:
        dataset = Path(tmp) / "data.csv"
        dataset.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
        validate_dataset(Path(tmp), dataset, impute)


dtypes = st.sampled_from(["<f8", "<f4", "<i8", "|u1", "|b1", "<c16", "<U3", "<M8[s]"])
special = st.sampled_from([0.0, 1.0, float("nan"), float("inf"), -float("inf"), 1e300, -1e39])


@FILE_SETTINGS
@given(n=st.integers(0, 16), d=st.integers(0, 3), x_dtype=dtypes, y_dtype=dtypes,
       values=st.lists(special, min_size=1, max_size=6), y_shape=st.integers(0, 2),
       damage=st.one_of(st.none(), st.tuples(st.floats(0.0, 1.0, exclude_max=True),
                                             st.integers(0, 255))))
def test_any_npz_data_set_validates_or_gives_one_line(n, d, x_dtype, y_dtype, values, y_shape,
                                                       damage):
    X = np.resize(np.array(values), n * d).reshape(n, d)
    y = np.arange(n) % 2
    y = y if y_shape == 1 else (y[:, None].repeat(2, axis=1) if y_shape == 2 else y[:1])
    with tempfile.TemporaryDirectory() as tmp:
        dataset = Path(tmp) / "data.npz"
        with np.errstate(all="ignore"):
            arrays = {}
            for name, array, dtype in (("X", X, x_dtype), ("y", y, y_dtype)):
                try:
                    arrays[name] = array.astype(dtype)
                except (ValueError, TypeError, OverflowError):
                    arrays[name] = array
        np.savez(dataset, **arrays)
        if damage is not None:
            raw = bytearray(dataset.read_bytes())
            raw[int(damage[0] * len(raw))] = damage[1]
            dataset.write_bytes(bytes(raw))
        validate_dataset(Path(tmp), dataset)
