"""Crafted ensemble files: every one is a single `EnsembleError` (one line and exit 2 from
`hpsearch predict`, no traceback), refused before anything the file merely claims is allocated:
bad dtype strings, non-numeric sizes, preprocessing without its state, deep or huge manifests,
networks larger than their arrays, arrays larger than their bytes, NaN weights."""

from __future__ import annotations

import io
import json
import tracemalloc
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from hpsearch.cli import app
from hpsearch.ensembles import load_ensemble, save_ensemble
from hpsearch.ensembles.file import make_ensemble
from hpsearch.exceptions import EnsembleError
from nn_core.estimator import MLPClassifier

BOUND = 20 * 2**20  # bytes load_ensemble may allocate for any file here (the files are KBs)


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    """A two-member classification ensemble with PCA preprocessing (a few KB)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    members = []
    for seed in (0, 1):
        model = MLPClassifier(hidden_sizes=(4,), epochs=2, preprocess="pca", n_components=2,
                              seed=seed).fit(X, y)
        config, arrays = model.to_arrays()
        members.append({"config": config, "arrays": arrays, "weight": 1.0})
    path = tmp_path_factory.mktemp("good") / "good.npz"
    return save_ensemble(make_ensemble("classification", members, ["a", "b", "c"]), path)


def npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def members_of(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def write(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def with_manifest(good: Path, target: Path, edit: Callable[[dict], None] | None = None,
                  text: str | None = None, drop: tuple[str, ...] = ()) -> Path:
    """`good` with its manifest edited (or replaced by `text`) and members dropped."""
    members = members_of(good)
    manifest = json.loads(str(np.load(good)["manifest"]))
    if edit is not None:
        edit(manifest)
    members["manifest.npy"] = npy(np.array(text if text is not None else json.dumps(manifest)))
    for name in drop:
        del members[name + ".npy"]
    return write(target, members)


def refused(path: Path, match: str) -> None:
    tracemalloc.start()
    try:
        with pytest.raises(EnsembleError, match=match) as caught:
            load_ensemble(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(caught.value)
    assert message.startswith(str(path)) and "\n" not in message
    assert peak < BOUND, f"{peak / 2**20:.0f} MiB allocated before refusing"


def set_in(*keys, value):
    def edit(manifest):
        target = manifest
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value
    return edit


def test_the_good_file_loads(good):
    assert len(load_ensemble(good)) == 2


@pytest.mark.parametrize("keys, value, match", [
    (("classes_dtype",), "garbage", "classes_dtype: expected a numpy dtype"),
    (("classes_dtype",), "|O", "classes_dtype"),
    (("classes_dtype",), "<U999999999", "classes_dtype"),
    (("classes_dtype",), "V8", "classes_dtype"),
    (("classes_dtype",), "<i1", None),  # fine: 0 and 1 fit
    (("members", 0, "config", "classes_dtype"), "not a dtype", r"members\[0\].config.classes"),
    (("members", 0, "arrays", "param.output.w", "dtype"), "|O", "numbers expected"),
    (("members", 0, "arrays", "param.output.w", "dtype"), "made up", "manifest says made up"),
])
def test_bad_dtype_strings(good, tmp_path, keys, value, match):
    path = with_manifest(good, tmp_path / "dtype.npz", set_in(*keys, value=value))
    if match is None:
        assert len(load_ensemble(path)) == 2
    else:
        refused(path, match)


@pytest.mark.parametrize("value", ["abc", 3.5, True, -1, None, 10**12])
def test_non_numeric_or_wrong_n_features(good, tmp_path, value):
    path = with_manifest(good, tmp_path / "n.npz", set_in("n_features", value=value))
    refused(path, "n_features|feature_names|features")


def test_preprocessing_without_its_state(good, tmp_path):
    state = [f"m0.preprocess.{k}" for k in ("mean_", "components_", "explained_variance_",
                                            "explained_variance_ratio_")]

    def forget(manifest):
        for name in state:
            del manifest["members"][0]["arrays"][name.removeprefix("m0.")]

    refused(with_manifest(good, tmp_path / "pca.npz", forget, drop=tuple(state)),
            "member m0 does not (run|rebuild)")
    refused(with_manifest(good, tmp_path / "kind.npz",
                          set_in("members", 0, "config", "preprocess", value="whiten")),
            "member m0 does not (run|rebuild)")
    refused(with_manifest(good, tmp_path / "unknown.npz",
                          set_in("members", 0, "config", "preprocess", value="magic")),
            "member m0 does not rebuild")
    refused(with_manifest(good, tmp_path / "list.npz",
                          set_in("members", 0, "config", "preprocess", value=["pca"])),
            "preprocess: expected a preprocessing name")


def test_deep_json_is_refused(good, tmp_path):
    deep = '{"format": "hpsearch-ensemble", "format_version": 1, "x": ' + "[" * 100_000 + \
        "]" * 100_000 + "}"
    refused(with_manifest(good, tmp_path / "deep.npz", text=deep), "damaged manifest")
    nested = {}
    cursor = nested
    for _ in range(40):
        cursor["a"] = {}
        cursor = cursor["a"]
    refused(with_manifest(good, tmp_path / "nested.npz", set_in("metrics", value=nested)),
            "nesting at most 32 deep")


@pytest.mark.parametrize("network, match", [
    ({"hidden_sizes": [10**9]}, "describes a network of .* weights but its arrays hold"),
    ({"hidden_sizes": [4] * 500}, "describes a network"),
    ({"activation": "maxout", "maxout_pieces": 10**6}, "describes a network"),
    ({"input_dim": 10**8}, "describes a network"),
    ({"hidden_sizes": [4.0]}, "hidden_sizes: expected a list"),
    ({"hidden_sizes": "4"}, "hidden_sizes: expected a list"),
    ({"output_dim": "2"}, "output_dim: expected a positive integer"),
    ({"dtype": "object"}, "dtype"),
])
def test_configs_larger_than_their_arrays_are_refused_before_building(good, tmp_path,
                                                                      network, match):
    def edit(manifest):
        manifest["members"][0]["config"]["network"].update(network)

    refused(with_manifest(good, tmp_path / "huge.npz", edit), match)


def test_a_huge_config_list_is_refused(good, tmp_path):
    refused(with_manifest(good, tmp_path / "layers.npz",
                          set_in("members", 0, "config", "network", "hidden_sizes",
                                 value=[1] * 5000)), "at most 1000")


@pytest.mark.parametrize("weights, match", [
    ([float("nan"), 0.5], "weight: expected a finite positive number, got nan"),
    ([float("inf"), 0.5], "finite positive"),
    ([-0.5, 1.5], "finite positive"),
    ([0.5, 0.6], "sum to 1"),
    (["0.5", 0.5], "finite positive"),
    ([True, 0.5], "finite positive"),
])
def test_member_weights(good, tmp_path, weights, match):
    def edit(manifest):
        for member, weight in zip(manifest["members"], weights, strict=True):
            member["weight"] = weight

    refused(with_manifest(good, tmp_path / "w.npz", edit), match)


@pytest.mark.parametrize("edit, match", [
    (set_in("members", value=[]), "members: expected a list"),
    (set_in("members", value={"m0": {}}), "members: expected a list"),
    (set_in("members", 0, "key", value="m7"), r"members\[0\].key"),
    (set_in("members", 0, "arrays", "param.output.w", "shape", value=["2", 2]), "shape"),
    (set_in("members", 0, "arrays", "param.output.w", "sha256", value=None), "sha256"),
    (set_in("members", 0, "config", "estimator", value="os.system"), "estimator"),
    (set_in("members", 0, "config", "params", value=[]), "params"),
    (set_in("task", value="clustering"), "task"),
    (set_in("classes", value=[[1], 2]), "classes"),
    (set_in("classes", value=[300, 1]), None),  # labels that do not fit the dtype: below
    (set_in("feature_names", value=["a", 2, "c"]), "feature_names"),
])
def test_fields_of_the_wrong_type(good, tmp_path, edit, match):
    path = with_manifest(good, tmp_path / "field.npz", edit)
    if match is None:  # 300 fits int64: the members' labels then differ from the manifest's
        refused(path, "other class labels")
    else:
        refused(path, match)


def test_an_array_declaring_more_than_it_holds_is_refused_before_reading(good, tmp_path):
    members = members_of(good)
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": "<f4", "fortran_order": False,
                                                  "shape": (10**6, 10**5)})
    members["m0.param.output.w.npy"] = buffer.getvalue() + b"\0" * 64
    refused(write(tmp_path / "big.npz", members), r"declares float32 \[1000000, 100000\]")


def test_a_manifest_too_large_is_refused_before_reading(good, tmp_path):
    members = members_of(good)
    buffer = io.BytesIO()
    characters = 10 * 2**20  # 40 MiB of UTF-32, stored in a few KB of deflate
    np.lib.format.write_array_header_1_0(buffer, {"descr": f"<U{characters}",
                                                  "fortran_order": False, "shape": ()})
    members["manifest.npy"] = buffer.getvalue() + b"\0" * (4 * characters)
    refused(write(tmp_path / "manifest.npz", members), "more than the .* a manifest may have")


def test_a_manifest_that_is_not_a_string_is_refused(good, tmp_path):
    members = members_of(good)
    members["manifest.npy"] = npy(np.zeros(3))
    refused(write(tmp_path / "numbers.npz", members), "no manifest")


def test_predict_on_a_crafted_file_is_one_line_and_exit_2(good, tmp_path):
    data = tmp_path / "x.csv"
    data.write_text("a,b,c\n1,2,3\n")
    assert CliRunner().invoke(app, ["predict", str(good), str(data)]).exit_code == 0
    for name, edit in [("nan", set_in("members", 0, "weight", value=float("nan"))),
                       ("dtype", set_in("classes_dtype", value="garbage")),
                       ("huge", set_in("members", 0, "config", "network", "hidden_sizes",
                                       value=[10**9]))]:
        path = with_manifest(good, tmp_path / f"{name}.npz", edit)
        result = CliRunner().invoke(app, ["predict", str(path), str(data)])
        assert result.exit_code == 2, (result.output, result.exception)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("hpsearch: error: "), result.stderr
        assert "Traceback" not in result.output
