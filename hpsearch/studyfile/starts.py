"""What a study file starts from: `[[study.enqueue]]` configurations (also read from a file by
`hpsearch run --enqueue`) and `[study].warm_start` run folders, each checked with errors naming
the file and key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hpsearch.exceptions import SpaceError, StudyFileError
from hpsearch.space import Space
from hpsearch.study.proposals import check_partial
from hpsearch.studyfile.tomlfile import Reader, read_toml, show


def parse_enqueue(path: Path, where: str, tables: Any, space: Space
                  ) -> tuple[dict[str, Any], ...]:
    """`[[study.enqueue]]` (a list of {name: value} tables) checked against the space."""
    if isinstance(tables, dict):
        tables = [tables]
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise StudyFileError(f"{path}: {where}: expected tables of hyperparameter values, "
                             f"e.g. [[study.enqueue]] learning_rate = 1e-3, got {show(tables)}")
    out = []
    for k, table in enumerate(tables):
        try:
            out.append(check_partial(space, table))
        except SpaceError as err:
            raise StudyFileError(f"{path}: {where} #{k + 1}: "
                                 f"{str(err).removeprefix('enqueue: ')}") from None
    return tuple(out)


def read_enqueue_file(path: str | Path, space: Space) -> tuple[dict[str, Any], ...]:
    """Configurations to enqueue from a TOML file (`hpsearch run --enqueue FILE`): its
    `[[study.enqueue]]` tables, or its `[objective.fixed]` table (what `hpsearch best --toml`
    prints), or its top-level keys; only the names of `space` are kept from `[objective.fixed]`
    (it may also hold the study's constant hyperparameters)."""
    path = Path(path)
    data = read_toml(path)
    if isinstance(data.get("study"), dict) and "enqueue" in data["study"]:
        return parse_enqueue(path, "[[study.enqueue]]", data["study"]["enqueue"], space)
    if isinstance(data.get("objective"), dict) and isinstance(data["objective"].get("fixed"),
                                                              dict):
        fixed = {k: v for k, v in data["objective"]["fixed"].items() if k in space}
        return parse_enqueue(path, "[objective.fixed]", [fixed], space)
    return parse_enqueue(path, "top level", [data], space)


def warm_start_folders(study: Reader) -> tuple[Path, ...]:
    """`[study].warm_start`: a run folder or a list of them (relative to the working folder,
    like `storage`)."""
    value = study.table.get("warm_start", [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        study.fail("warm_start", f"expected a run folder or a list of run folders, got "
                                 f"{show(value)}")
    return tuple(Path(v) for v in value)
