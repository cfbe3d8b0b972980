"""What the network objective reads from a study: its `[objective]` section and the study
around it.

Contract: `ObjectiveSpec` is the `[objective]` section (parsed and checked by
`hpsearch.studyfile`); `NetworkStudy` is the protocol of the study the network objective is
prepared for (the study file's `StudySpec` satisfies it): the file it came from, its seed,
metric(s), space, objective section, and `resolve_dataset()` (the data set's name or absolute
path). The objective needs nothing else, so it depends on no study-file code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from hpsearch.space import Space

__all__ = ["ObjectiveSpec", "NetworkStudy"]


@dataclass(frozen=True)
class ObjectiveSpec:
    """The `[objective]` section; `fixed` holds `[objective.fixed]` (constant hyperparameters)."""

    kind: str = "mlp"
    task: str = "classification"
    dataset: str = "digits"
    target: str | None = None
    val_fraction: float = 0.2
    test_fraction: float = 0.2
    entry: str | None = None
    fixed: Mapping[str, Any] = field(default_factory=dict)
    repeats: int = 1
    checkpoint_epochs: tuple[int, ...] = ()
    impute: str | None = None  # None: a missing feature cell is refused


class NetworkStudy(Protocol):
    """The study the network objective is prepared for (see the module docstring)."""

    path: Path
    seed: int
    metric: str | tuple[str, ...]
    space: Space
    objective: ObjectiveSpec

    def resolve_dataset(self) -> str: ...
