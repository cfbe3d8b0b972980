"""The space SearchCV searches: hpsearch dimensions, or plain lists of any values.

Contract: `SearchSpace.build(space, estimator)` takes an `hp.Space` or a dict mapping an
estimator parameter name (`"alpha"`, `"clf__alpha"` in a pipeline) to an `hp.Float`, `hp.Int`
or `hp.Categorical` (conditions `when=` included) or to a list of values as GridSearchCV
takes them. A list of plain values (str, int, float, bool, None) becomes `hp.Categorical`;
any other list (tuples such as `hidden_layer_sizes`, estimators) becomes a categorical over
the values' `repr` strings, which is what the study stores and `hpsearch results` shows, and
`decode` maps them back to the values (estimators cloned, as GridSearchCV does). A name the
estimator does not have raises ValueError naming it; so do an empty list and two values with
the same repr. `SearchSpace.space` is the `hp.Space` the study runs on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sklearn.base import clone

from hpsearch.exceptions import ParameterError
from hpsearch.space import Categorical, Dimension, Float, Int, Space

__all__ = ["SearchSpace"]

_PLAIN = (str, int, float, bool, type(None))


@dataclass(frozen=True)
class SearchSpace:
    """The study's space and how its values map back to estimator parameters."""

    space: Space
    choices: Mapping[str, Mapping[str, Any]]  # name -> {stored repr: value}, repr-coded only

    @classmethod
    def build(cls, space: Space | Mapping[str, Any], estimator: Any) -> SearchSpace:
        if not isinstance(space, Mapping) or not space:
            raise ParameterError("space must map estimator parameter names to hp.Float, hp.Int, "
                             f"hp.Categorical or lists of values; got {space!r}")
        known = estimator.get_params(deep=True)
        dimensions: dict[str, Dimension] = {}
        choices: dict[str, dict[str, Any]] = {}
        for name, entry in space.items():
            if name not in known:
                raise ParameterError(f"space: {type(estimator).__name__} has no parameter "
                                 f"{name!r} (get_params() lists what it takes)")
            if isinstance(entry, Float | Int | Categorical):
                dimensions[name] = entry
            elif isinstance(entry, list | tuple):
                dimensions[name], coded = _categorical(name, list(entry))
                if coded:
                    choices[name] = coded
            else:
                raise ParameterError(f"space.{name}: expected hp.Float, hp.Int, hp.Categorical or "
                                 f"a list of values, got {entry!r}")
        return cls(Space(dimensions), choices)

    def decode(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """A trial's params as the estimator takes them (repr-coded values mapped back)."""
        out = {}
        for name, value in params.items():
            coded = self.choices.get(name)
            out[name] = value if coded is None else clone(coded[value], safe=False)
        return out


def _categorical(name: str, values: list[Any]) -> tuple[Categorical, dict[str, Any]]:
    if not values:
        raise ParameterError(f"space.{name}: an empty list of values")
    if all(isinstance(v, _PLAIN) for v in values):
        return Categorical(values), {}
    coded = {repr(v): v for v in values}
    if len(coded) != len(values):
        raise ParameterError(f"space.{name}: two values print the same ({values!r}); give each a "
                         "distinct repr")
    return Categorical(list(coded)), coded
