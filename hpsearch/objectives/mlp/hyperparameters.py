"""The network objective's hyperparameters: nn_core's estimator keywords, checked and translated.

Contract: the names a study may fix or search are exactly nn_core's estimator keywords
(`nn_core.estimator.KEYWORDS`, all but `seed`, which comes from the trial), plus the convenience
keywords `hidden_size` and `num_layers` (giving `hidden_sizes = (hidden_size,) * num_layers`;
`num_layers = 0` is a linear model), `hidden_size_2` and `hidden_size_3` (the widths of the
second and third hidden layers, `hidden_size` where absent: in a conditional space, active for
`num_layers` >= 2 and >= 3), and `mu`, the seed's name for `momentum`.
`check_hyperparameters(spec)` checks names, types and every fixed value and choice against that
table and raises `StudyFileError` naming the file and key;
`estimator_keywords(params)` turns a trial's hyperparameters into estimator keywords.
`SHAPE_HYPERPARAMETERS` are the names whose value can change the network's arrays (their
shapes or dtype: layer widths and count, activations with parameters of their own (prelu,
maxout), batch normalisation, the dtype, and the preprocessing that sets the input width): a
training state (`nn_core.resume`) saved under one value cannot be resumed under another, so
population-based training must not perturb them (`hpsearch.studyfile.objectives.pruner`).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from hpsearch.exceptions import StudyFileError
from hpsearch.objectives.mlp.settings import NetworkStudy
from hpsearch.space import Categorical, Float, Int
from nn_core.keywords import KEYWORDS

__all__ = ["HYPERPARAMETERS", "SHAPE_HYPERPARAMETERS", "check_hyperparameters",
           "estimator_keywords", "spec_error"]

_KEYWORDS = {k.name: k for k in KEYWORDS if k.name != "seed"}
#: every name a study file may fix or search for the built-in network
_CONVENIENCE = {"hidden_size": (1, None), "num_layers": (0, None), "hidden_size_2": (1, None),
                "hidden_size_3": (1, None)}
_ALIASES = {"mu": "momentum"}  # the seed's symbol for the momentum coefficient
HYPERPARAMETERS: tuple[str, ...] = (*_KEYWORDS, *_CONVENIENCE, *_ALIASES)
#: the names whose value can change the network's arrays (module docstring)
SHAPE_HYPERPARAMETERS: tuple[str, ...] = (
    "hidden_sizes", *_CONVENIENCE, "activation", "maxout_pieces", "batchnorm", "dtype",
    "preprocess", "n_components")
_DEFAULT_HIDDEN_SIZE = 100
_LOSSES = {"classification": ("softmax", "svm"), "regression": ("l2", "l1"), "multilabel": ()}


def spec_error(spec: NetworkStudy, where: str, what: str) -> StudyFileError:
    """The error for key `where` of the study file: '<file>: <where>: <what>'."""
    return StudyFileError(f"{spec.path}: {where}: {what}")


def _check_value(spec: NetworkStudy, where: str, name: str, value: Any) -> None:
    if name in _CONVENIENCE:
        low = _CONVENIENCE[name][0]
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise spec_error(spec, where, f"expected an integer >= {low}, got {value!r}")
        return
    keyword = _KEYWORDS[_ALIASES.get(name, name)]
    if keyword.kind == "sizes" and isinstance(value, list):
        value = tuple(value)
    try:
        keyword.validate(value)
    except ValueError as err:
        raise spec_error(spec, where, str(err)) from err


def _check_names(spec: NetworkStudy) -> None:
    """Every name known, none both fixed and searched, one way of giving the hidden layers."""
    fixed, space = spec.objective.fixed, spec.space
    for section, names in (("objective.fixed", fixed), ("space", space)):
        for name in names:
            if name not in HYPERPARAMETERS:
                close = difflib.get_close_matches(name, HYPERPARAMETERS, n=1, cutoff=0.6)
                if name == "lr":
                    close = ["learning_rate"]
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise spec_error(spec, f"[{section}].{name}",
                                 f"unknown hyperparameter{hint}; the network takes: "
                                 f"{', '.join(HYPERPARAMETERS)}")
    both = sorted(set(fixed) & set(space))
    if both:
        raise spec_error(spec, f"[space].{both[0]}", "is both fixed in [objective.fixed] and "
                                                     "searched in [space]; keep one")
    names = set(fixed) | set(space)
    if "hidden_sizes" in names and names & set(_CONVENIENCE):
        raise spec_error(spec, "[objective.fixed]", "give hidden_sizes, or hidden_size and "
                                                    "num_layers, not both")
    if "hidden_sizes" in space:
        raise spec_error(spec, "[space].hidden_sizes", "cannot be searched (a list); search "
                                                       "hidden_size and num_layers instead")
    for alias, name in _ALIASES.items():
        if alias in names and name in names:
            raise spec_error(spec, "[space]" if alias in space else "[objective.fixed]",
                             f"give {alias} or {name} (the same hyperparameter), not both")
    for width in ("hidden_size_2", "hidden_size_3"):
        if width in names and "num_layers" not in names:
            raise spec_error(spec, f"[space].{width}" if width in space else
                             f"[objective.fixed].{width}", "needs num_layers (fixed or "
                             "searched): it is the width of a layer that num_layers adds")


def _check_space(spec: NetworkStudy) -> None:
    """Every searched dimension's type suits its keyword, and its ends or choices are valid."""
    for name, dim in spec.space.items():
        where = f"[space].{name}"
        kind = "int" if name in _CONVENIENCE else _KEYWORDS[_ALIASES.get(name, name)].kind
        if isinstance(dim, Categorical):
            for choice in dim.choices:
                _check_value(spec, where, name, choice)
            continue
        if kind in ("str", "bool"):
            allowed = _KEYWORDS[_ALIASES.get(name, name)].allowed()
            raise spec_error(spec, where, f"{name} takes {allowed}; search it with "
                                          "type = \"categorical\"")
        if kind == "int" and isinstance(dim, Float):
            raise spec_error(spec, where, f"{name} is an integer; use type = \"int\"")
        for value in (dim.grid() if dim.values is not None else (dim.low, dim.high)):
            _check_value(spec, where, name, int(value) if isinstance(dim, Int) else value)


def _check_loss(spec: NetworkStudy) -> None:
    """The fixed loss, or every searched one, suits the task."""
    fixed, space = spec.objective.fixed, spec.space
    loss = fixed.get("loss")
    allowed = _LOSSES[spec.objective.task]
    losses = [loss] if loss is not None else []
    if isinstance(space.get("loss"), Categorical):
        losses = list(space["loss"].choices)
    for value in losses:
        if value not in allowed:
            raise spec_error(spec, "[objective.fixed].loss" if loss else "[space].loss",
                             f"{spec.objective.task} takes loss "
                             f"{' | '.join(allowed) or 'unset (sigmoid cross-entropy)'}, "
                             f"got {value!r}")


def check_hyperparameters(spec: NetworkStudy) -> None:
    """Check `[objective.fixed]` and `[space]` against nn_core's keyword table."""
    _check_names(spec)
    for name, value in spec.objective.fixed.items():
        _check_value(spec, f"[objective.fixed].{name}", name, value)
    _check_space(spec)
    _check_loss(spec)


def estimator_keywords(params: Mapping[str, Any]) -> dict[str, Any]:
    """Study hyperparameters -> MLPClassifier/MLPRegressor keywords."""
    kw = {_ALIASES.get(k, k): v for k, v in params.items() if k not in _CONVENIENCE}
    if set(params) & set(_CONVENIENCE):
        size = int(params.get("hidden_size", _DEFAULT_HIDDEN_SIZE))
        widths = (size, int(params.get("hidden_size_2", size)),
                  int(params.get("hidden_size_3", size)))
        layers = int(params.get("num_layers", 1))
        kw["hidden_sizes"] = widths[:layers] + (size,) * max(0, layers - len(widths))
    elif isinstance(kw.get("hidden_sizes"), list):
        kw["hidden_sizes"] = tuple(kw["hidden_sizes"])
    return kw
