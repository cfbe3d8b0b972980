"""Parameter averaging of same-architecture networks, and the guard that refuses a bad average.

Contract: `average_parameters(members)` takes (config, arrays) pairs as nn_core's `to_arrays`
makes them and returns one network whose parameters and batchnorm buffers are the members'
elementwise mean; members must share the architecture and the preprocessing (`EnsembleError`
naming the first difference otherwise). `check_averaging(averaged_score, member_scores, metric,
maximize)` is the guard: the averaged network's validation score must be no worse than its
members' mean (networks trained from different initialisations have permuted hidden units, so
their average is usually a worse network), or `EnsembleError` suggesting `predictions`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hpsearch.exceptions import EnsembleError
from hpsearch.objectives.mlp import schema

__all__ = ["average_parameters", "check_averaging"]

_AVERAGED = ("param.", "buffer.")
_PREPROCESS = "preprocess."


def _architecture(config: Mapping[str, Any]) -> dict[str, Any]:
    return {**config["network"], "estimator": config["estimator"],
            "preprocess": config["preprocess"]}


def _check_member(i: int, config: Mapping[str, Any], arrays: Mapping[str, np.ndarray],
                  reference: Mapping[str, Any], first: Mapping[str, np.ndarray]) -> None:
    """EnsembleError when member `i` differs from member 0 in architecture, arrays, shapes
    or preprocessing statistics."""
    other = _architecture(config)
    if other != reference:
        diff = sorted(k for k in set(reference) | set(other)
                      if reference.get(k) != other.get(k))
        raise EnsembleError(
            f"parameter averaging needs identical architectures; member {i} differs in "
            + ", ".join(f"{k} ({reference.get(k)!r} vs {other.get(k)!r})" for k in diff[:3])
            + "; use --method predictions")
    if set(arrays) != set(first) or any(np.shape(arrays[k]) != np.shape(first[k])
                                        for k in arrays):
        raise EnsembleError(f"parameter averaging: member {i} has other arrays or shapes "
                            "than member 0; use --method predictions")
    for name in arrays:
        if name.startswith(_PREPROCESS) and not np.allclose(arrays[name], first[name],
                                                           rtol=1e-6, atol=1e-9):
            raise EnsembleError(f"parameter averaging: member {i} was preprocessed "
                                f"differently ({name}); use --method predictions")


def average_parameters(members: Sequence[tuple[Mapping[str, Any], Mapping[str, np.ndarray]]]
                       ) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The mean of same-architecture members' `param.*` and `buffer.*` arrays.

    members: (config, arrays) pairs as from nn_core's `to_arrays`. Returns the first member's
    config (marked `"averaged_from": n`) and arrays with every parameter and buffer replaced
    by the elementwise mean (same shapes and dtypes); the preprocessing statistics must agree.
    EnsembleError names the first difference in architecture or preprocessing.
    """
    if not members:
        raise EnsembleError("nothing to average")
    first_config, first_arrays = members[0]
    reference = _architecture(first_config)
    for i, (config, arrays) in enumerate(members[1:], start=1):
        _check_member(i, config, arrays, reference, first_arrays)
    averaged = {}
    for name, value in first_arrays.items():
        if name.startswith(_AVERAGED):
            stack = np.stack([np.asarray(a[name], dtype=np.float64) for _, a in members])
            averaged[name] = stack.mean(axis=0).astype(np.asarray(value).dtype)
        else:
            averaged[name] = value
    config = json.loads(json.dumps(first_config))
    config[schema.AVERAGED_FROM] = len(members)
    config.pop(schema.EPOCH, None)
    return config, averaged


def check_averaging(averaged_score: float, member_scores: Sequence[float], metric: str,
                    maximize: bool) -> None:
    """The parameter-averaging guard: refuse (EnsembleError) when the averaged network's
    validation score is worse than the mean of its members' scores."""
    mean = float(np.mean(member_scores))
    slack = 1e-9 * max(1.0, abs(mean))  # the mean of equal scores may round up
    worse = averaged_score < mean - slack if maximize else averaged_score > mean + slack
    if worse or not math.isfinite(averaged_score):
        raise EnsembleError(
            f"parameter averaging refused: the averaged network scores {metric} "
            f"{averaged_score:.4g} against its {len(member_scores)} members' mean {mean:.4g} "
            "(networks trained from different initialisations have permuted hidden units, so "
            "averaging their weights breaks them); use --method predictions, or --method "
            "snapshot / parameters --trial N on checkpoints of one run (checkpoint_epochs)")
