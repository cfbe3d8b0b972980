"""The studies a service holds: one run folder each, directly under STORAGE.

Contract:
- `Registry(storage, lease_seconds)` serves the run folders under `storage` (created if
  needed). `open_all()` opens every folder an earlier service created (it holds `SPEC_FILE`,
  the create-study document), resuming their leases; a folder that cannot open is logged and
  skipped (its requests answer 404 until it is created again).
- A study name must be a plain folder name (`hpsearch.studyfile.reader.name_problem`: no '/',
  '\\', '..', '.', control characters, at most 255 bytes); the run folder is
  `<storage>/<name>`, so no request reaches a path outside STORAGE (`folder(name)` checks the
  resolved path's parent too, against symbolic links). A bad name is a 400 naming `name`.
- `create(doc)`: a new study, or the one already served under that name when `doc` is the same
  document (`created` False); a different document for an existing name is 409, naming the
  first key that differs. `get(name)`: 404 for an unknown study. `expire()` runs every
  study's lease expiry. `close()` closes every study (their running trials become
  `interrupted`, leases stay recorded and resume at the next start).
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from hpsearch.exceptions import HpsearchError, ServiceError
from hpsearch.service.hosted import HostedStudy, check_document
from hpsearch.studyfile.reader import name_problem

__all__ = ["Registry", "SPEC_FILE", "first_difference"]

logger = logging.getLogger("hpsearch")

SPEC_FILE = "service_study.json"


def first_difference(a: Any, b: Any, path: str = "") -> str | None:
    """The first key path where two JSON documents differ ("" for the root), or None."""
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            where = f"{path}.{key}" if path else key
            if key not in a or key not in b:
                return where
            inner = first_difference(a[key], b[key], where)
            if inner is not None:
                return inner
        return None
    return None if a == b else path


class Registry:
    """The served studies (see the module docstring)."""

    def __init__(self, storage: str | os.PathLike, lease_seconds: float) -> None:
        self.storage = Path(storage).resolve()
        self.storage.mkdir(parents=True, exist_ok=True)
        self.lease_seconds = lease_seconds
        self._studies: dict[str, HostedStudy] = {}

    def folder(self, name: Any) -> Path:
        problem = name_problem(name)
        if problem is not None:
            raise ServiceError(f"study name: {problem}", 400, "name")
        path = (self.storage / name).resolve()
        if path.parent != self.storage:
            raise ServiceError(f"study name {name!r}: its folder leaves the storage folder",
                               400, "name")
        return path

    def open_all(self) -> None:
        for spec_file in sorted(self.storage.glob(f"*/{SPEC_FILE}")):
            try:
                doc = json.loads(spec_file.read_text(encoding="utf-8"))
                self._open(self.folder(spec_file.parent.name), doc)
            except (HpsearchError, OSError, ValueError) as err:
                logger.error("cannot serve %s: %s", spec_file.parent, err)

    def _open(self, folder: Path, doc: dict[str, Any]) -> HostedStudy:
        hosted = HostedStudy.open(folder, doc, self.lease_seconds)
        self._studies[hosted.name] = hosted
        return hosted

    def create(self, doc: dict[str, Any]) -> tuple[HostedStudy, bool]:
        check_document(doc, "create-study body")  # errors before anything is written
        name = doc["study"]["name"]
        folder = self.folder(name)
        if name in self._studies:
            served = self._studies[name]
            differs = first_difference(served.doc, doc)
            if differs is not None:
                raise ServiceError(f"study {name!r} exists with another definition ({differs} "
                                   "differs); choose another name", 409, differs)
            return served, False
        hosted = self._open(folder, doc)
        spec_file = folder / SPEC_FILE
        temporary = spec_file.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(doc, indent=1), encoding="utf-8")
        os.replace(temporary, spec_file)
        return hosted, True

    def get(self, name: str) -> HostedStudy:
        self.folder(name)
        if name not in self._studies:
            raise ServiceError(f"no study {name!r} is served here", 404, "name")
        return self._studies[name]

    def names(self) -> list[str]:
        return sorted(self._studies)

    def expire(self) -> None:
        for hosted in list(self._studies.values()):
            try:
                hosted.expire()
            except HpsearchError as err:
                logger.error("study %s: cannot expire leases: %s", hosted.name, err)

    def close(self) -> None:
        for hosted in self._studies.values():
            hosted.close()
        self._studies.clear()
