"""TOML files: reading one (errors name the file) and typed access to a table whose errors name the
file, the key path and what was expected.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hpsearch.exceptions import StudyFileError


class Reader:
    """Typed access to one TOML table, with error messages naming the file and key path
    (`[section].key`; `[section].within.key` for a table inside a section, e.g. one
    hyperparameter's inline table in `[space]`)."""

    def __init__(self, path: Path, section: str, table: Any, within: str = "") -> None:
        self.path, self.section, self.within = path, section, within
        if not isinstance(table, dict):
            self.fail("", f"expected a table, got {show(table)}")
        self.table = table

    def fail(self, key: str, what: str) -> None:
        where = f"[{self.section}]" + "".join(f".{k}" for k in (self.within, key) if k)
        raise StudyFileError(f"{self.path}: {where}: {what}")

    def check_keys(self, allowed: set[str]) -> None:
        for key in self.table:
            if key not in allowed:
                self.fail(key, f"unknown key{did_you_mean(key, allowed)}; "
                               f"expected one of: {', '.join(sorted(allowed))}")

    def get(self, key: str, kind: str, default: Any = None, choices: tuple = (),
            low: float | None = None, high: float | None = None, required: bool = False) -> Any:
        if key not in self.table:
            if required:
                self.fail(key, f"missing; expected {expect(kind, choices)}")
            return default
        value = self.table[key]
        ok = {
            "str": isinstance(value, str),
            "int": isinstance(value, int) and not isinstance(value, bool),
            "float": isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value),
            "bool": isinstance(value, bool),
            "int_list": isinstance(value, list)
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value),
            "str_list": isinstance(value, list) and all(isinstance(v, str) for v in value),
            "float_list": isinstance(value, list) and all(
                isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                for v in value),
        }[kind]
        if not ok:
            self.fail(key, f"expected {expect(kind, choices)}, got {show(value)}")
        if choices and value not in choices:
            self.fail(key, f"expected one of {', '.join(map(repr, choices))}"
                           f"{did_you_mean(str(value), set(choices))}, got {show(value)}")
        if low is not None and value < low:
            self.fail(key, f"expected a value >= {low}, got {show(value)}")
        if high is not None and value > high:
            self.fail(key, f"expected a value <= {high}, got {show(value)}")
        return float(value) if kind == "float" else value


def show(value: Any) -> str:
    return f"{type(value).__name__} {value!r}" if not isinstance(value, dict) else "a table"


def expect(kind: str, choices: tuple) -> str:
    if choices:
        return "one of " + ", ".join(map(repr, choices))
    return {"str": "a string", "int": "an integer", "float": "a number", "bool": "true or false",
            "int_list": "a list of integers", "float_list": "a list of numbers",
            "str_list": "a list of strings"}[kind]


def did_you_mean(key: str, allowed: set[str] | Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.6)
    if not close:
        aliases = {"lr": "learning_rate", "wd": "reg", "weight_decay": "reg", "l2": "reg",
                   "bs": "batch_size", "layers": "num_layers", "units": "hidden_size",
                   "n_layers": "num_layers", "hidden": "hidden_size", "act": "activation",
                   "algorithm": "strategy", "sampler": "strategy", "trials": "n_trials",
                   "jobs": "n_jobs", "workers": "n_jobs"}
        if aliases.get(key) in allowed:
            close = [aliases[key]]
    return f" (did you mean {close[0]!r}?)" if close else ""


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; a missing or malformed file raises StudyFileError naming it."""
    try:
        with open(path, "rb") as f:
            return tomllib.load(f)
    except FileNotFoundError:
        raise StudyFileError(f"{path}: no such study file") from None
    except IsADirectoryError:
        raise StudyFileError(f"{path}: is a folder, expected a study file (.toml)") from None
    except tomllib.TOMLDecodeError as err:
        raise StudyFileError(f"{path}: not valid TOML: {err}") from err
    except UnicodeDecodeError:
        raise StudyFileError(f"{path}: not valid TOML: the file is not UTF-8 text") from None
