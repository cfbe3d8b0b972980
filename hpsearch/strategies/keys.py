"""The identity of a point, shared by every strategy that matches points to each other.

`point_key(space, params)` is hashable and in the space's order: categoricals by choice index
(so True and 1 stay apart), numbers as floats (so 3, 3.0 and np.int64(3) are the same point),
and an inactive dimension (absent from `params`) as None.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hpsearch.space import Categorical, Space

__all__ = ["point_key"]


def point_key(space: Space, params: Mapping[str, Any]) -> tuple:
    """A hashable identity for a point (see the module docstring); SpaceError for a value
    that is not one of a categorical's choices."""
    key: list[Any] = []
    for name, dim in space.items():
        if name not in params:
            key.append(None)
        elif isinstance(dim, Categorical):
            key.append(dim.index(params[name]))
        else:
            key.append(float(params[name]))
    return tuple(key)
