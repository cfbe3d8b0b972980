"""Optuna's distributions as hpsearch dimensions and back; the space Optuna's trials imply.

Contract:
- `dimension_for(distribution)`: `FloatDistribution(low, high, log, step)` ->
  `Float(low, high, log=log, step=step)`, `IntDistribution(low, high, log, step)` ->
  `Int(low, high, log=log, step=step)`, `CategoricalDistribution(choices)` ->
  `Categorical(choices)`. `distribution_for(dimension)` is the inverse (the export's own
  `hpsearch.export.optuna.optuna_distribution`), so `distribution_for(dimension_for(d)) == d`
  for every distribution hpsearch can hold. It cannot hold a single-valued one (low == high,
  one choice: Optuna fills those in itself, no sampler is asked) nor a categorical that lists
  the same choice twice (True, 1 and 1.0 are three choices): `dimension_for` raises
  `SpaceError` for them, and the sampler draws them uniformly, outside the relative space.
- `infer_space(trials) -> InferredSpace`: the search space that the finished trials of a
  define-by-run study imply, as an hpsearch `Space` with conditions. A parameter is in it
  when every trial that has it has it with the same distribution and that distribution has a
  dimension (above). One present in every trial is unconditional: those are exactly Optuna's
  `IntersectionSearchSpace`. One present in only some trials is conditional on a parent: a
  categorical or integer parameter of the space, present in strictly more trials (in every
  trial that has the child, and more), whose values tell the two apart: the trials that have
  the child are exactly those whose parent takes one of a set of values, which becomes the
  child's `when={parent: values}`. Of several such parents the one present in the fewest
  trials (the innermost `if`) is taken, ties by name. A conditional parameter with no such
  parent (its presence depends on a float, on two parents at once, or on chance) is left out
  of the space, as is every parameter seen with two distributions (a changing range); the
  sampler samples those independently. Values of a parent never seen yet activate none of its
  children, until a trial shows what they activate.
- Cost: O(T P) for T trials and P parameter names, plus O(T P^2) for the conditional ones.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import FrozenTrial

from hpsearch.exceptions import SpaceError
from hpsearch.export.optuna import optuna_distribution
from hpsearch.space import Categorical, Dimension, Float, Int, Space, same_value

__all__ = ["InferredSpace", "dimension_for", "distribution_for", "infer_space",
           "space_from_distributions"]


def dimension_for(distribution: BaseDistribution) -> Dimension:
    """The hpsearch dimension of an Optuna distribution; `SpaceError` for one it cannot hold
    (see the module docstring)."""
    if distribution.single():
        raise SpaceError(f"{distribution} holds a single value: Optuna fills it in itself")
    if isinstance(distribution, FloatDistribution):
        return Float(distribution.low, distribution.high, log=distribution.log,
                     step=distribution.step)
    if isinstance(distribution, IntDistribution):
        return Int(distribution.low, distribution.high, log=distribution.log,
                   step=distribution.step)
    if isinstance(distribution, CategoricalDistribution):
        return Categorical(tuple(distribution.choices))
    raise SpaceError(f"no hpsearch dimension for the Optuna distribution {distribution!r}")


def distribution_for(dimension: Dimension) -> BaseDistribution:
    """The Optuna distribution of an hpsearch dimension (its `when` has no Optuna form)."""
    return optuna_distribution(dimension)


@dataclass(frozen=True)
class InferredSpace:
    """`space` (None: no parameter could be held) and `distributions`, its parameters'
    Optuna distributions (what `infer_relative_search_space` returns)."""

    space: Space | None
    distributions: Mapping[str, BaseDistribution] = field(default_factory=dict)


def space_from_distributions(distributions: Mapping[str, BaseDistribution]) -> InferredSpace:
    """An unconditional space of the distributions that have a dimension."""
    dims = {}
    for name, distribution in distributions.items():
        try:
            dims[name] = dimension_for(distribution)
        except SpaceError:
            continue
    return InferredSpace(Space(dims) if dims else None,
                         {name: distributions[name] for name in dims})


def infer_space(trials: Sequence[FrozenTrial]) -> InferredSpace:
    """The space the trials imply (see the module docstring); `trials` are the finished
    trials to learn from (the sampler gives the complete ones)."""
    seen: dict[str, BaseDistribution] = {}
    changing: set[str] = set()
    present: dict[str, set[int]] = {}
    for k, trial in enumerate(trials):
        for name, distribution in trial.distributions.items():
            if seen.setdefault(name, distribution) != distribution:
                changing.add(name)
            present.setdefault(name, set()).add(k)
    dims: dict[str, Dimension] = {}
    for name in sorted(seen):
        if name in changing:
            continue
        try:
            dims[name] = dimension_for(seen[name])
        except SpaceError:
            continue
    # outermost first: a parent is present in strictly more trials than its children
    order = sorted(dims, key=lambda name: (-len(present[name]), name))
    kept: dict[str, Dimension] = {}
    for name in order:
        if len(present[name]) == len(trials):
            kept[name] = dims[name]
            continue
        when = _condition(name, kept, present, trials)
        if when is not None:
            parent, values = when
            kept[name] = _with_when(dims[name], {parent: values})
    if not kept:
        return InferredSpace(None, {})
    names = sorted(kept)
    return InferredSpace(Space({name: kept[name] for name in names}),
                         {name: seen[name] for name in names})


def _condition(child: str, kept: Mapping[str, Dimension], present: Mapping[str, set[int]],
               trials: Sequence[FrozenTrial]) -> tuple[str, list[Any]] | None:
    """(parent, values) whose values decide exactly when `child` is present, or None."""
    has_child = present[child]
    candidates = sorted((name for name, dim in kept.items()
                         if isinstance(dim, Categorical | Int)
                         and has_child < present[name]),
                        key=lambda name: (len(present[name]), name))
    for parent in candidates:
        values: list[Any] = []
        for k in sorted(has_child):
            value = trials[k].params[parent]
            if not any(same_value(value, v) for v in values):
                values.append(value)
        others = present[parent] - has_child
        if not any(any(same_value(trials[k].params[parent], v) for v in values) for k in others):
            return parent, values
    return None


def _with_when(dim: Dimension, when: dict[str, list[Any]]) -> Dimension:
    return dataclasses.replace(dim, when=when)
