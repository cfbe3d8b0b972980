"""The one table of the estimators' keyword arguments: `KEYWORDS`.

Each entry (`Keyword`) gives a keyword's default, its accepted type, the allowed values or
range, and one line of documentation; the same names are the vocabulary of hpsearch study
files. Validation (`validate_params`, `Keyword.validate`) and the docs (`keyword_table()`, the
estimators' signatures) are derived from it. `BY_NAME` maps each name to its entry.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from nn_core import preprocess as preprocess_module
from nn_core.init import INITIALIZERS
from nn_core.network_config import ACTIVATIONS
from nn_core.optim import OPTIMIZERS
from nn_core.regularization import REGULARIZERS
from nn_core.schedules import SCHEDULE_NAMES

__all__ = ["BY_NAME", "KEYWORDS", "Keyword", "keyword_table", "validate_params"]


@dataclass(frozen=True)
class Keyword:
    """One estimator keyword: default, type, allowed values or range, documentation.

    kind: "int", "float", "bool", "str", "sizes" (tuple of positive ints) or "components"
    (int >= 1 or float in (0, 1]). low/high bound numbers (open ends with low_open/high_open).
    choices: allowed strings. optional: None is also allowed.
    """

    name: str
    default: Any
    kind: str
    doc: str
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    optional: bool = False

    def allowed(self) -> str:
        """Human-readable description of the accepted values."""
        if self.choices:
            text = " | ".join(self.choices)
        elif self.kind == "sizes":
            text = "tuple of positive ints, e.g. (100,) or (256, 256); () = linear model"
        elif self.kind == "bool":
            text = "True | False"
        elif self.kind == "components":
            text = "int >= 1 (components) or float in (0, 1] (variance kept)"
        else:
            low = "-inf" if self.low is None else f"{self.low:g}"
            high = "inf" if self.high is None else f"{self.high:g}"
            left = "(" if self.low_open or self.low is None else "["
            right = ")" if self.high_open or self.high is None else "]"
            text = f"{self.kind} in {left}{low}, {high}{right}"
        return text + (" or None" if self.optional else "")

    def validate(self, value: Any) -> Any:
        """Return the value in canonical form, or raise ValueError naming the keyword."""
        if value is None and self.optional:
            return None
        problem = f"{self.name} must be {self.allowed()}; got {value!r}"
        if self.kind == "str":
            if not isinstance(value, str) or value not in self.choices:
                raise ValueError(problem)
            return value
        if self.kind == "bool":
            if not isinstance(value, bool | np.bool_):
                raise ValueError(problem)
            return bool(value)
        if self.kind == "sizes":
            if isinstance(value, int | np.integer) and not isinstance(value, bool):
                value = (value,)
            try:
                sizes = tuple(value)
            except TypeError:
                raise ValueError(problem) from None
            if not all(isinstance(s, int | np.integer) and not isinstance(s, bool) and s >= 1
                       for s in sizes):
                raise ValueError(problem)
            return tuple(int(s) for s in sizes)
        if self.kind == "components":
            if isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= 1:
                return int(value)
            if isinstance(value, float) and 0.0 < value <= 1.0:
                return value
            raise ValueError(problem)
        if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
            raise ValueError(problem)
        if self.kind == "int":
            if not float(value).is_integer():
                raise ValueError(problem)
            value = int(value)
        else:
            value = float(value)
            if not math.isfinite(value):
                raise ValueError(problem)
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            raise ValueError(problem)
        if self.high is not None and (value >= self.high if self.high_open else value > self.high):
            raise ValueError(problem)
        return value


def _k(name, default, kind, doc, **rest) -> Keyword:
    return Keyword(name, default, kind, doc, **rest)


KEYWORDS: tuple[Keyword, ...] = (
    # architecture
    _k("hidden_sizes", (100,), "sizes", "Units of each hidden layer."),
    _k("activation", "relu", "str", "Hidden-layer nonlinearity.", choices=ACTIVATIONS),
    _k("leaky_alpha", 0.01, "float", "Slope of leaky_relu for negative inputs.",
       low=0.0, high=1.0, high_open=True),
    _k("maxout_pieces", 2, "int", "Linear pieces per maxout unit.", low=2),
    _k("batchnorm", False, "bool", "Batch normalisation before each hidden activation."),
    _k("dropout", 0.0, "float", "Drop probability of hidden units in training (0 = off).",
       low=0.0, high=1.0, high_open=True),
    _k("init", "he", "str", "Weight initialisation.", choices=tuple(INITIALIZERS)),
    _k("loss", None, "str", "Data loss; None = softmax (classifier; sigmoid_cross_entropy for "
       "a 0/1 label matrix) or l2 (regressor).",
       choices=("softmax", "svm", "l2", "l1"), optional=True),
    _k("dtype", "float32", "str", "Floating-point type of parameters and computation.",
       choices=("float32", "float64")),
    # regularisation
    _k("regularization", "l2", "str", "Weight penalty (biases are never penalised).",
       choices=tuple(REGULARIZERS)),
    _k("reg", 0.0, "float", "Penalty strength lambda (0 = off).", low=0.0),
    _k("l1_ratio", 0.5, "float", "L1 share of the elastic penalty.", low=0.0, high=1.0),
    _k("max_norm", None, "float", "Max-norm radius of each unit's incoming weights.",
       low=0.0, low_open=True, optional=True),
    # optimisation
    _k("optimizer", "adam", "str", "Update rule (lbfgs: full batch through SciPy).",
       choices=(*OPTIMIZERS, "lbfgs")),
    _k("learning_rate", 1e-3, "float", "Initial learning rate.", low=0.0, low_open=True),
    _k("momentum", 0.9, "float", "mu of momentum and nesterov.", low=0.0, high=1.0,
       high_open=True),
    _k("beta1", 0.9, "float", "Adam's first-moment decay.", low=0.0, high=1.0, high_open=True),
    _k("beta2", 0.999, "float", "Adam's second-moment decay.", low=0.0, high=1.0,
       high_open=True),
    _k("epsilon", 1e-8, "float", "Denominator guard of adagrad, rmsprop, adam.",
       low=0.0, low_open=True),
    _k("decay_rate", 0.99, "float", "RMSprop's cache decay.", low=0.0, high=1.0,
       high_open=True),
    _k("batch_size", 128, "int", "Minibatch size (capped at the training-set size); a "
       "remainder under half a batch joins the last batch.", low=1),
    _k("epochs", 200, "int", "Passes over the training data (all of them: see early_stopping).",
       low=1),
    _k("max_iter", 200, "int", "Iterations of lbfgs (other optimizers use epochs).", low=1),
    _k("lr_schedule", None, "str", "Learning-rate schedule (None = constant).",
       choices=SCHEDULE_NAMES, optional=True),
    _k("lr_decay", None, "float", "Schedule factor: step drop (0.5), plateau cut (0.1), or k "
       "per iteration of exponential / inverse_time (1e-3); None = those defaults.",
       low=0.0, low_open=True, optional=True),
    _k("lr_step", 5, "int", "Epochs between drops of the step schedule.", low=1),
    _k("lr_patience", 3, "int", "Epochs without improvement before plateau cuts.", low=1),
    _k("early_stopping", False, "bool", "Stop when the validation score stalls; keep the best "
       "epoch's parameters."),
    _k("patience", 10, "int", "Epochs without validation improvement before early stopping.",
       low=1),
    _k("validation_fraction", 0.1, "float", "Share of the training data held out (stratified) "
       "for validation when early_stopping is on and no X_val is given.",
       low=0.0, high=1.0, low_open=True, high_open=True),
    # data
    _k("preprocess", "standardize", "str", "Preprocessing fitted on the training split.",
       choices=preprocess_module.PREPROCESSOR_NAMES),
    _k("n_components", None, "components", "Components kept by pca/whiten (None = all).",
       optional=True),
    _k("scale_targets", True, "bool", "Regressor: standardise each target on the training "
       "rows and map predictions back (recorded losses are then in standardised units); the "
       "classifier ignores it."),
    _k("seed", 0, "int", "Seed of every random draw (weights, hold-out, shuffling, dropout).",
       low=0),
)

BY_NAME = {keyword.name: keyword for keyword in KEYWORDS}

def keyword_table() -> str:
    """The keyword table as Markdown (name, default, allowed, meaning)."""
    rows = ["| keyword | default | allowed | meaning |", "|---|---|---|---|"]
    for keyword in KEYWORDS:
        allowed = keyword.allowed().replace("|", "\\|")
        rows.append(f"| `{keyword.name}` | `{keyword.default!r}` | {allowed} | {keyword.doc} |")
    return "\n".join(rows)


def validate_params(params: dict[str, Any]) -> dict[str, Any]:
    """Check every keyword against the table; ValueError names the first bad one."""
    out = {}
    for name, value in params.items():
        keyword = BY_NAME.get(name)
        if keyword is None:
            close = difflib.get_close_matches(name, list(BY_NAME), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"unknown keyword {name!r}{hint}; known: {', '.join(BY_NAME)}")
        out[name] = keyword.validate(value)
    return out
