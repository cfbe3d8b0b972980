"""Run Optuna's own sampler test suite against `HpsearchSampler`.

Optuna's tests are not part of this project: get them, at the version installed, outside it
(the source distribution carries them):

    pip download optuna==$(python -c "import optuna; print(optuna.__version__)") \\
        --no-binary :all: --no-deps -d /tmp/optuna-sdist
    mkdir -p /work/venvs/optuna-tests && tar xzf /tmp/optuna-sdist/optuna-*.tar.gz \\
        --strip-components=1 -C /work/venvs/optuna-tests optuna-*/tests optuna-*/pyproject.toml
    python scripts/run_optuna_sampler_tests.py --optuna-tests /work/venvs/optuna-tests

How HpsearchSampler enters the suite: exactly where Optuna's suite lists its own samplers.
`tests/samplers_tests/test_samplers.py` parametrises its shared contract classes
(`TestBasicSampler`, `TestRelativeSampler`, `TestMultiObjectiveSampler`, from
`optuna.testing.pytest_samplers`) with a `sampler` fixture whose params are sampler
factories, and its seeded tests (`test_reproducible`, `test_reproducible_in_other_process`,
`test_reseed_rng_change_sampling`) with the dict `sampler_class_with_seed` and the lists
built from it; `test_partial_fixed.py` has its `parametrize_sampler` list. This script imports
those modules, replaces each class's `sampler` fixture by one whose params are HpsearchSampler
factories (`FACTORIES`: gp with its defaults and with `n_startup=0`, the way Optuna runs
GPSampler and TPESampler with `n_startup_trials=0` so that the model is used at once; tpe;
random), adds the seeded factories (`SEEDED`) to the dict and the lists, then runs pytest on
those two files and deselects every case that runs one of Optuna's samplers instead of ours.
What it does not run, and why, is printed at the end (`INAPPLICABLE`, `OTHER_FILES`).

Exit status: pytest's (0 when every selected case passed).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path
from typing import Any

ROOT_VARIABLE = "HPSEARCH_OPTUNA_TESTS"  # the tests' folder, for spawned child processes
MODULES = ("tests.samplers_tests.test_samplers", "tests.samplers_tests.test_partial_fixed")

# (test module, test function or class) -> why it does not apply to HpsearchSampler
INAPPLICABLE = {
    ("test_samplers", "TestSingleOnlySampler"): "asserts that a single-objective-only sampler "
    "raises ValueError on a multi-objective study; HpsearchSampler searches several "
    "objectives (ParEGO), which TestMultiObjectiveSampler checks instead",
    ("test_samplers", "test_sampler_reseed_rng"): "inspects the sampler's attributes for "
    "Optuna's private LazyRandomState and a wrapped BaseSampler; HpsearchSampler draws from "
    "NumPy Generators and wraps no Optuna sampler (its reseeding is checked by "
    "test_reseed_rng_change_sampling)",
    ("test_samplers", "test_pickle_random_sampler"): "RandomSampler's pickling only",
    ("test_samplers", "test_sample_relative"): "checks Optuna's Trial with its own "
    "FixedSampler; no sampler of ours is involved",
    ("test_partial_fixed", "*"): "PartialFixedSampler's own behaviour (out-of-range fixed "
    "values, warnings, its after_trial), with Optuna's samplers only; test_fixed_sampling, "
    "the one parametrised over samplers, runs with ours",
}
OTHER_FILES = {
    "test_gp.py": "GPSampler's own options and internals",
    "test_cmaes.py": "CmaEsSampler's",
    "test_grid.py": "GridSampler's",
    "test_nsgaii.py": "NSGAIISampler's",
    "test_nsgaiii.py": "NSGAIIISampler's",
    "test_base_gasampler.py": "BaseGASampler's (genetic samplers)",
    "test_qmc.py": "QMCSampler's",
    "test_brute_force.py": "BruteForceSampler's",
    "test_lazy_random_state.py": "Optuna's LazyRandomState helper",
    "tpe_tests/": "TPESampler's internals (Parzen estimator, truncated normal)",
}


def factories() -> dict[str, Any]:
    from hpsearch.integrations.optuna import HpsearchSampler

    return {
        "HpsearchSampler(gp)": lambda: HpsearchSampler(),
        "HpsearchSampler(gp, n_startup=0)": lambda: HpsearchSampler(n_startup=0),
        "HpsearchSampler(tpe, n_startup_trials=0)": lambda: HpsearchSampler(
            "tpe", n_startup_trials=0),
        "HpsearchSampler(random)": lambda: HpsearchSampler("random"),
    }


def seeded() -> dict[str, Any]:
    from hpsearch.integrations.optuna import HpsearchSampler

    return {
        "HpsearchSampler(gp)": lambda seed: HpsearchSampler(seed=seed),
        "HpsearchSampler(tpe)": lambda seed: HpsearchSampler("tpe", seed=seed),
        "HpsearchSampler(random)": lambda seed: HpsearchSampler("random", seed=seed),
    }


def _fixture(params: dict[str, Any]):
    import pytest

    @pytest.fixture(params=[pytest.param(f, id=name) for name, f in params.items()])
    def sampler(self, request):
        return request.param

    return sampler


def register(root: Path) -> set[int]:
    """Put HpsearchSampler into the upstream parametrisations (see the module docstring);
    returns the ids of our factories, by which our cases are recognised."""
    import pytest

    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    samplers = importlib.import_module(MODULES[0])
    partial = importlib.import_module(MODULES[1])
    ours, with_seed = factories(), seeded()
    for name in ("TestBasicSampler", "TestRelativeSampler", "TestMultiObjectiveSampler"):
        getattr(samplers, name).sampler = _fixture(ours)
    for name, factory in with_seed.items():
        samplers.sampler_class_with_seed[name] = factory
        samplers.param_sampler_with_seed.append(pytest.param(factory, id=name))
        samplers.param_sampler_name_with_seed.append(pytest.param(name, id=name))
    partial_list = partial.parametrize_sampler.mark.args[1]
    partial_list.extend(pytest.param(f, id=name) for name, f in ours.items())
    return {id(f) for f in (*ours.values(), *with_seed.values())} | {id(n) for n in with_seed}


class OnlyOurs:
    """A pytest plugin: deselect the cases that run none of our factories, and list them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.ours: set[int] = set()

    def pytest_configure(self, config: Any) -> None:
        # here, after Optuna's conftest asked pytest to rewrite pytest_samplers' asserts
        self.ours = register(self.root)

    def _is_ours(self, item: Any) -> bool:
        callspec = getattr(item, "callspec", None)
        return callspec is not None and any(id(v) in self.ours for v in callspec.params.values())

    def pytest_collection_modifyitems(self, config: Any, items: list) -> None:
        kept, dropped = [], []
        for item in items:
            (kept if self._is_ours(item) else dropped).append(item)
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept

    def summary(self) -> str:
        lines = ["", "Not applicable to HpsearchSampler (not run):"]
        for (module, owner), why in INAPPLICABLE.items():
            lines.append(f"- {module}::{owner}: {why}")
        lines.append("- every case parametrised with one of Optuna's own samplers: those "
                     "samplers' tests, not ours")
        for name, why in OTHER_FILES.items():
            lines.append(f"- samplers_tests/{name}: {why} tests")
        return "\n".join(lines)


def main() -> int:
    import pytest

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--optuna-tests", type=Path, default=Path("/work/venvs/optuna-tests"),
                        help="the folder holding Optuna's tests/ and pyproject.toml")
    parser.add_argument("pytest_args", nargs="*", help="more pytest arguments (after --)")
    args = parser.parse_args()
    root = args.optuna_tests.resolve()
    if not (root / "tests" / "samplers_tests" / "test_samplers.py").is_file():
        parser.error(f"{root}: no tests/samplers_tests/test_samplers.py (see --help)")
    os.environ[ROOT_VARIABLE] = str(root)
    plugin = OnlyOurs(root)
    files = [str(root / "tests" / "samplers_tests" / name)
             for name in ("test_samplers.py", "test_partial_fixed.py")]
    code = pytest.main(["-c", str(root / "pyproject.toml"), "--rootdir", str(root), "-p",
                        "no:cacheprovider", "-q", "-rs", "--color=no", *files, *args.pytest_args],
                       plugins=[plugin])
    print(plugin.summary())
    return int(code)


if __name__ == "__mp_main__" and os.environ.get(ROOT_VARIABLE):
    # A child that test_reproducible_in_other_process spawned: it imports this script as
    # __mp_main__ before it unpickles Optuna's run_optimize, whose sampler it looks up by name.
    register(Path(os.environ[ROOT_VARIABLE]))

if __name__ == "__main__":
    sys.path.insert(1, str(Path(__file__).resolve().parents[1]))
    sys.exit(main())
