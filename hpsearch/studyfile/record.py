"""The study file a run folder was run from, kept in it, and the study files and fragments
`hpsearch best` writes from it.

Contract:
- `record(spec)`: `hpsearch run` copies the study file into `<run_dir>/study.toml`, after a
  first comment line naming where it came from (`# hpsearch run: copied from <path>`);
  rewritten at every run, atomically. Only the driver writes it.
- `recorded(run_dir) -> Recorded | None`: that copy (its text without the comment, and the
  original's path), or None for a run folder from before hpsearch kept it.
- `fixed_fragment(recorded, params, kind) -> str`: what `hpsearch best --toml` prints: for the
  built-in network (`kind = "mlp"`), the whole `[objective.fixed]` table (the keys the study
  file fixed, then the best params), to put in place of the study file's own table; for a
  Python objective (which takes no fixed table), a `[[study.enqueue]]` table of the best
  params, to append. Either is also a file `hpsearch run --enqueue` reads. Keys are quoted
  where TOML needs it; floats are written exactly (shortest repr).
- `best_study_file(recorded, params, path) -> str`: a complete study file: the recorded one,
  comments kept, under the new name `path.stem`, with every searched hyperparameter pinned
  to the best trial's value (a one-value categorical: a study file needs at least one
  dimension, and a Python objective takes no fixed table), the ones inactive in the best
  trial removed, `strategy = "grid"` and `n_trials = 1` (one trial: the best configuration
  trained again under its own seed), `[strategy_options]`, `[[study.enqueue]]` and
  `warm_start` removed, the removed hyperparameters taken out of `[pruner].perturb`, and the
  dataset and entry paths rewritten relative to `path`'s folder.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["STUDY_COPY", "Recorded", "record", "recorded", "fixed_fragment", "best_study_file"]

STUDY_COPY = "study.toml"
_HEADER = "# hpsearch run: copied from "


@dataclass(frozen=True)
class Recorded:
    """A run folder's copy of its study file: the text and where the original was."""

    text: str
    source: Path


def record(spec: Any) -> None:
    """Copy `spec.path` into `<spec.run_dir>/study.toml` (see the module docstring)."""
    source = Path(spec.path).resolve()
    target = Path(spec.run_dir) / STUDY_COPY
    text = source.read_text(encoding="utf-8")
    tmp = target.with_suffix(".toml.tmp")
    tmp.write_text(f"{_HEADER}{source}\n{text}", encoding="utf-8")
    os.replace(tmp, target)


def recorded(run_dir: str | os.PathLike) -> Recorded | None:
    path = Path(run_dir) / STUDY_COPY
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    first, _, rest = text.partition("\n")
    if not first.startswith(_HEADER):
        return None
    return Recorded(rest, Path(first.removeprefix(_HEADER)))


def _table(items: dict[str, Any]) -> Any:
    import tomlkit

    table = tomlkit.table()
    for name, value in items.items():
        table.add(name, value)
    return table


def fixed_fragment(source: Recorded | None, params: dict[str, Any], kind: str) -> str:
    """`hpsearch best --toml`'s text (see the module docstring)."""
    import tomlkit

    document = tomlkit.document()
    if kind != "mlp":
        enqueue = tomlkit.aot()
        enqueue.append(_table(params))
        document.add("study", tomlkit.table(is_super_table=True))
        document["study"].add("enqueue", enqueue)
        return tomlkit.dumps(document)
    fixed: dict[str, Any] = {}
    if source is not None:
        original = tomlkit.parse(source.text).get("objective", {}).get("fixed", {})
        fixed.update({k: v for k, v in original.items() if k not in params})
    fixed.update(params)
    objective = tomlkit.table(is_super_table=True)
    objective.add("fixed", _table(fixed))
    document.add("objective", objective)
    return tomlkit.dumps(document)


def _relative(value: str, source: Path, target: Path) -> str:
    path = Path(value).expanduser()
    if not path.is_absolute():
        path = source.parent / path
    return os.path.relpath(path.resolve(), target.parent.resolve())


def best_study_file(source: Recorded, params: dict[str, Any], path: Path) -> str:
    """A study file that trains the best configuration (see the module docstring)."""
    import tomlkit

    document = tomlkit.parse(source.text)
    study = document["study"]
    study["name"] = Path(path).stem
    study["strategy"] = "grid"
    study["n_trials"] = 1
    for key in ("enqueue", "warm_start"):
        if key in study:
            del study[key]
    if "strategy_options" in document:
        del document["strategy_options"]
    objective = document.get("objective", {})
    for key in ("dataset", "entry"):
        value = objective.get(key)
        if isinstance(value, str) and (key == "entry" or value not in ("digits", "spiral")):
            if key == "entry" and value.split(":")[0].endswith(".py"):
                file, _, name = value.partition(":")
                objective[key] = f"{_relative(file, source.source, path)}:{name}"
            elif key == "dataset":
                objective[key] = _relative(value, source.source, path)
    space = document["space"]
    for name in list(space):
        if name not in params:
            del space[name]
    perturb = document.get("pruner", {}).get("perturb")
    if perturb is not None:  # it may name only hyperparameters of the space
        document["pruner"]["perturb"] = [name for name in perturb if name in params]
    for name, value in params.items():
        pinned = tomlkit.inline_table()
        pinned.update({"type": "categorical", "choices": [value]})
        space[name] = pinned
    space.comment("pinned to the best trial's values by hpsearch best")
    return tomlkit.dumps(document)
