"""Hashable keys for points, shared by strategies that match told trials to asked points."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hpsearch.space import Space


def point_key(space: Space, params: Mapping[str, Any]) -> tuple:
    """A hashable key of a point, in the space's order; 1 and 1.0 and True stay distinct."""
    return tuple((type(params[name]).__name__, repr(params[name])) for name in space)
