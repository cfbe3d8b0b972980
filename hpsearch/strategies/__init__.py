"""The strategy registry: names used in `hp.Study(strategy=...)` and study files.

Contract:
- `STRATEGY_NAMES` lists every registered name; `make_strategy(name, space, rng, direction,
  **options)` builds one. Each entry is a "module:Class" reference imported on first use, so
  a strategy whose module or backend is missing (gp, skopt, tpe) only breaks that name, and
  `import hpsearch` never imports optuna, skopt or scikit-learn.
- Unknown names, unknown options, and options a strategy rejects raise `StrategyError` naming
  them and the valid ones. Options are the keyword parameters of the class's `__init__` after
  (space, rng, direction); a class taking `**options` validates its own.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import numpy as np

from hpsearch.exceptions import StrategyError
from hpsearch.space import Space
from hpsearch.strategies.base import Strategy

__all__ = ["STRATEGY_NAMES", "Strategy", "make_strategy", "strategy_class", "strategy_options"]

_REGISTRY: dict[str, str] = {
    "grid": "hpsearch.strategies.grid:GridStrategy",
    "random": "hpsearch.strategies.random_search:RandomStrategy",
    "gp": "hpsearch.strategies.gp:GPStrategy",
    "skopt": "hpsearch.strategies.skopt_strategy:SkoptStrategy",
    "tpe": "hpsearch.strategies.tpe:TPEStrategy",
    "nsga2": "hpsearch.strategies.nsga2:NSGA2Strategy",
}

STRATEGY_NAMES: tuple[str, ...] = tuple(_REGISTRY)

_FIXED_PARAMETERS = ("self", "space", "rng", "direction")


def strategy_class(name: str) -> type[Strategy]:
    """Import and return the class registered as `name`."""
    if name not in _REGISTRY:
        raise StrategyError(
            f"unknown strategy {name!r}; valid strategies: {', '.join(STRATEGY_NAMES)}"
        )
    module_name, _, class_name = _REGISTRY[name].partition(":")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, class_name)
    except (ImportError, AttributeError) as err:
        raise StrategyError(f"strategy {name!r} is unavailable: {err}") from err


def strategy_options(cls: type[Strategy]) -> tuple[list[str], bool]:
    """(the named keyword options of `cls`, whether it also takes **options)."""
    params = inspect.signature(cls.__init__).parameters.values()
    named = [p.name for p in params if p.name not in _FIXED_PARAMETERS
             and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    var_keyword = any(p.kind is p.VAR_KEYWORD for p in params)
    return named, var_keyword


def make_strategy(name: str, space: Space, rng: np.random.Generator,
                  direction: str = "minimize", **options: Any) -> Strategy:
    """Build the strategy registered as `name` with its keyword options."""
    cls = strategy_class(name)
    named, var_keyword = strategy_options(cls)
    unknown = sorted(set(options) - set(named))
    if unknown and not var_keyword:
        raise StrategyError(
            f"strategy {name!r}: unknown option(s) {', '.join(unknown)}; "
            f"valid options: {', '.join(named) or '(none)'}"
        )
    try:
        return cls(space, rng, direction, **options)
    except StrategyError:
        raise
    except (TypeError, ValueError) as err:
        raise StrategyError(
            f"strategy {name!r}: bad options {options}: {err}; "
            f"valid options: {', '.join(named) or '(none)'}"
        ) from err
