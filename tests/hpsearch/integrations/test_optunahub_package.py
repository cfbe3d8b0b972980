"""package/samplers/hpsearch/: the folder OptunaHub's registry takes (its layout and README
front matter), loadable by optunahub as a local registry (optunahub is a benchmark tool here:
the loading test skips without it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hpsearch.integrations.optuna import HpsearchSampler

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "package" / "samplers" / "hpsearch"
FRONT_MATTER = ("author", "title", "description", "tags", "optuna_versions", "license")


def test_layout_and_front_matter():
    assert {"__init__.py", "README.md", "LICENSE"} <= {p.name for p in PACKAGE.iterdir()}
    text = (PACKAGE / "README.md").read_text()
    head, sep, body = text.removeprefix("---\n").partition("\n---\n")
    assert text.startswith("---\n") and sep
    fields = dict(line.split(": ", 1) for line in head.splitlines())
    assert set(fields) == set(FRONT_MATTER)
    assert "sampler" in fields["tags"].strip("[]").split(", ")  # required under samplers/
    assert fields["license"] == "MIT License"
    assert (PACKAGE / "LICENSE").read_text().startswith("MIT License")
    import optuna

    assert optuna.__version__ in fields["optuna_versions"]
    for section in ("## Abstract", "## APIs", "## Installation", "## Example"):
        assert section in body


def test_optunahub_loads_the_sampler_from_the_folder():
    optunahub = pytest.importorskip("optunahub")
    module = optunahub.load_local_module(package="samplers/hpsearch",
                                         registry_root=str(ROOT / "package"))
    assert module.HpsearchSampler is HpsearchSampler
