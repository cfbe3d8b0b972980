"""Several objectives: directions, Pareto dominance and the hypervolume, arrays in, arrays out.

Notation: `points` is (n, k), one row per point, every objective to be minimised (`to_minimize`
flips the maximised columns of user-facing values); `reference` is (k,).

- `pareto_mask(points)` -> (n,) bool: True where no other point dominates the row (at least as
  good in every objective, better in one). Duplicated rows are all on the front.
- `hypervolume(points, reference, directions=None)`: the measure of the region dominated by
  the points and bounded by the reference point (points that do not strictly dominate the
  reference add nothing). Exact: a sweep for 2 objectives (O(n log n)), slicing along the
  last objective over 2-D fronts for 3 (O(n^2 log n)), and recursive slicing beyond.
  `directions` (e.g. ["maximize", "minimize"]) says how to read user-facing points.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from hpsearch.direction import Direction, check_directions
from hpsearch.exceptions import ParameterError

__all__ = ["to_minimize", "pareto_mask", "hypervolume"]



def to_minimize(values: np.ndarray, directions: Sequence[str]) -> np.ndarray:
    """(n, k) user-facing values -> (n, k) values to minimise (maximised columns negated)."""
    signs = np.array([Direction.of(d).sign for d in directions])
    return np.asarray(values, dtype=float) * signs


def pareto_mask(points: np.ndarray) -> np.ndarray:
    """(n, k) points to minimise -> (n,) True for the non-dominated rows."""
    points = np.asarray(points, dtype=float)
    n = len(points)
    keep = np.ones(n, dtype=bool)
    for i in range(n):
        if not keep[i]:
            continue
        dominated = np.all(points[i] <= points, axis=1) & np.any(points[i] < points, axis=1)
        keep &= ~dominated
    return keep


def _hv2(points: np.ndarray, reference: np.ndarray) -> float:
    """Exact 2-D hypervolume of points (n, 2) that all dominate the reference."""
    order = np.lexsort((points[:, 1], points[:, 0]))
    volume, best_y = 0.0, reference[1]
    for x, y in points[order]:
        if y < best_y:
            volume += (reference[0] - x) * (best_y - y)
            best_y = y
    return volume


def _hv(points: np.ndarray, reference: np.ndarray) -> float:
    """Exact hypervolume by slicing along the last objective (points dominate reference)."""
    if len(points) == 0:
        return 0.0
    k = points.shape[1]
    if k == 1:
        return float(reference[0] - points[:, 0].min())
    if k == 2:
        return _hv2(points, reference)
    order = np.argsort(points[:, -1], kind="stable")
    points = points[order]
    volume = 0.0
    for i in range(len(points)):
        upper = points[i + 1, -1] if i + 1 < len(points) else reference[-1]
        depth = upper - points[i, -1]
        if depth <= 0:
            continue
        slab = points[: i + 1, :-1]
        volume += depth * _hv(slab[pareto_mask(slab)], reference[:-1])
    return float(volume)


def hypervolume(points: np.ndarray | Sequence[Sequence[float]], reference: Sequence[float],
                directions: Sequence[str] | None = None) -> float:
    """The hypervolume dominated by `points` up to `reference` (see the module docstring)."""
    points = np.asarray(points, dtype=float)
    reference = np.asarray(reference, dtype=float)
    if points.size == 0:
        return 0.0
    if points.ndim != 2 or reference.shape != (points.shape[1],):
        raise ParameterError(f"hypervolume: points must be (n, k) and reference (k,), got "
                         f"{points.shape} and {reference.shape}")
    if directions is not None:
        points = to_minimize(points, check_directions(directions))
        reference = to_minimize(reference[None, :], directions)[0]
    inside = points[np.all(points < reference, axis=1) & np.all(np.isfinite(points), axis=1)]
    return _hv(inside[pareto_mask(inside)], reference)
