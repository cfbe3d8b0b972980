"""The artifacts file of a trial, `trials/<number>/artifacts.npz`: written and read here only.

Contract:
- The file is an uncompressed ZIP with one member `<name>.npy` per artifact, each in NumPy's
  `.npy` format (what `np.savez` writes, so older files read the same). It is written member
  by member from the {name: array} mapping, never through keyword arguments, so any name
  round-trips ("file", "allow_pickle", "x.npy" included), and read member by member the same
  way (`allow_pickle=False`: object arrays are refused on both sides).
- A name can be stored when it is a `str` of 1 to `MAX_NAME_CHARS` characters, encodable as
  UTF-8, without "/", "\\" or NUL (a ZIP member name is a path; NUL ends it). An array can be
  stored unless its dtype holds Python objects. `artifact_problem(name, array)` says what is
  wrong, or None; the trial task fails a trial whose artifacts have a problem before they
  leave the worker, and `write_artifacts` refuses them with `ValueError`.
"""

from __future__ import annotations

import zipfile
from collections.abc import Mapping
from typing import Any

import numpy as np

from hpsearch.exceptions import FormatError, ParameterError

__all__ = ["MAX_NAME_CHARS", "artifact_problem", "write_artifacts", "read_artifacts"]

MAX_NAME_CHARS = 200
_SUFFIX = ".npy"


def artifact_problem(name: Any, array: Any) -> str | None:
    """Why the artifact `name` -> `array` cannot be stored (None when it can)."""
    if not isinstance(name, str):
        return f"artifact names must be strings, got {type(name).__name__} {name!r}"
    if not name or len(name) > MAX_NAME_CHARS:
        return (f"artifact name {name[:40]!r}{'...' if len(name) > 40 else ''} has "
                f"{len(name)} characters; names have 1 to {MAX_NAME_CHARS}")
    for bad, what in (("/", "'/'"), ("\\", "'\\'"), ("\0", "NUL")):
        if bad in name:
            return f"artifact name {name!r} contains {what}, which a stored name cannot hold"
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return f"artifact name {name!r} cannot be encoded as UTF-8"
    dtype = getattr(array, "dtype", None)
    if dtype is not None and dtype.hasobject:
        return (f"artifact {name!r} has dtype {dtype}, which holds Python objects; artifacts "
                "are saved without pickle, so give numeric or string arrays")
    return None


def write_artifacts(path: str, arrays: Mapping[str, np.ndarray]) -> None:
    """Write `arrays` ({name: ndarray}) to `path`; ValueError for a name or array that cannot
    be stored, OSError when the file cannot be written."""
    arrays = {name: np.asarray(array) for name, array in arrays.items()}
    for name, array in arrays.items():
        problem = artifact_problem(name, array)
        if problem is not None:
            raise ParameterError(problem)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name, array in arrays.items():
            with archive.open(name + _SUFFIX, "w", force_zip64=True) as member:
                np.lib.format.write_array(member, array, allow_pickle=False)


def read_artifacts(path: str) -> dict[str, np.ndarray]:
    """{name: ndarray} from `path`; zipfile.BadZipFile, ValueError, OSError or EOFError when
    the file is damaged."""
    out: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if not info.filename.endswith(_SUFFIX):
                raise FormatError(f"unexpected member {info.filename!r}")
            with archive.open(info) as member:
                out[info.filename[:-len(_SUFFIX)]] = np.lib.format.read_array(
                    member, allow_pickle=False)
    return out
