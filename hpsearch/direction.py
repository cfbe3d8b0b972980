"""Which way a value is better: the one place the sign rule lives.

Contract:
- `Direction` is a string enum (`"minimize"`, `"maximize"`): it compares equal to its name, so
  it is stored and shown as the plain name.
- `Direction.of(value)` parses a name (or a Direction) and raises `StudyError` naming anything
  else; `check_directions(direction)` takes one name or a list of them and returns a tuple.
- `direction.sign` is +1.0 for minimize and -1.0 for maximize: `sign * value` is a value to
  minimise, so every "lower is better" computation (ranks, best-so-far, regret, dominance)
  is written once for minimisation and reads a maximised value through `sign`.
- `direction.better(a, b)`: a is strictly better than b. `direction.best(values)`: the best
  of an iterable of numbers.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence

from hpsearch.exceptions import StudyError

__all__ = ["Direction", "DIRECTIONS", "check_directions"]


class Direction(enum.StrEnum):
    """Whether lower (`MINIMIZE`) or higher (`MAXIMIZE`) values are better."""

    MINIMIZE = "minimize"
    MAXIMIZE = "maximize"

    @classmethod
    def of(cls, value: str | Direction) -> Direction:
        """The direction named by `value`; StudyError for anything else."""
        try:
            return cls(value)
        except ValueError:
            raise StudyError(f"direction must be one of {DIRECTIONS} (or a list of them), "
                             f"got {value!r}") from None

    @property
    def sign(self) -> float:
        """+1.0 for minimize, -1.0 for maximize: `sign * value` is to be minimised."""
        return 1.0 if self is Direction.MINIMIZE else -1.0

    def better(self, a: float, b: float) -> bool:
        """Whether `a` is strictly better than `b`."""
        return self.sign * a < self.sign * b

    def best(self, values: Iterable[float]) -> float:
        """The best of `values` (ValueError when empty, as min/max)."""
        return min(values) if self is Direction.MINIMIZE else max(values)


DIRECTIONS = tuple(d.value for d in Direction)


def check_directions(direction: str | Direction | Sequence[str | Direction]
                     ) -> tuple[Direction, ...]:
    """One direction or a list of them -> a tuple of `Direction` (StudyError naming a bad one;
    an empty list is refused)."""
    given = (direction,) if isinstance(direction, str) else tuple(direction)
    if not given:
        raise StudyError("direction must be 'minimize', 'maximize' or a list of them")
    return tuple(Direction.of(d) for d in given)
