"""The plain, validated description of a network: `NetworkConfig`.

A frozen dataclass of architecture, loss and regularisation settings, checked when it is
built (ValueError naming the field and what is allowed). `nn_core.network.Network` builds
its parameters and layers from it; `ACTIVATIONS` and `DTYPES` are the accepted names.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from nn_core._validate import check_choice, check_positive_int, check_probability
from nn_core.init import INITIALIZERS
from nn_core.losses import LOSSES
from nn_core.regularization import REGULARIZERS

__all__ = ["ACTIVATIONS", "DTYPES", "NetworkConfig"]

#: hidden-layer activations, in the order error messages list them (the network's table of
#: layer pairs has one row for each)
ACTIVATIONS = ("relu", "leaky_relu", "prelu", "tanh", "sigmoid", "maxout")
DTYPES = ("float32", "float64")


@dataclass(frozen=True)
class NetworkConfig:
    """Architecture and loss of a Network; validated at construction (ValueError names the field).

    dropout is the DROP probability in [0, 1) (0 = off); the dropout layer keeps units with
    probability 1 - dropout. reg is the regularisation strength (lambda), l1_ratio the L1 share
    of the elastic penalty.
    """

    input_dim: int
    output_dim: int
    hidden_sizes: tuple[int, ...] = (100,)
    activation: str = "relu"
    leaky_alpha: float = 0.01
    maxout_pieces: int = 2
    batchnorm: bool = False
    dropout: float = 0.0
    init: str = "he"
    loss: str = "softmax"
    regularization: str = "l2"
    reg: float = 0.0
    l1_ratio: float = 0.5
    dtype: str = "float32"

    def __post_init__(self) -> None:
        check_positive_int("input_dim", self.input_dim)
        check_positive_int("output_dim", self.output_dim)
        if isinstance(self.hidden_sizes, int | str) or not hasattr(self.hidden_sizes, "__iter__"):
            raise ValueError(
                f"hidden_sizes must be a sequence of positive integers, e.g. (100,) or (); "
                f"got {self.hidden_sizes!r}"
            )
        sizes = tuple(self.hidden_sizes)
        for size in sizes:
            check_positive_int("hidden_sizes entries", size)
        object.__setattr__(self, "hidden_sizes", tuple(int(s) for s in sizes))
        check_choice("activation", self.activation, ACTIVATIONS)
        alpha = float(self.leaky_alpha)
        if not 0.0 <= alpha < 1.0:
            raise ValueError(f"leaky_alpha must be in [0, 1); got {self.leaky_alpha!r}")
        if check_positive_int("maxout_pieces", self.maxout_pieces) < 2:
            raise ValueError(f"maxout_pieces must be at least 2; got {self.maxout_pieces!r}")
        if not isinstance(self.batchnorm, bool | np.bool_):
            raise ValueError(f"batchnorm must be True or False; got {self.batchnorm!r}")
        check_probability("dropout", self.dropout, low_open=False, high_open=True)
        check_choice("init", self.init, INITIALIZERS)
        check_choice("loss", self.loss, LOSSES)
        check_choice("regularization", self.regularization, REGULARIZERS)
        if not (isinstance(self.reg, numbers.Real) and math.isfinite(self.reg) and self.reg >= 0):
            raise ValueError(f"reg must be a finite number >= 0; got {self.reg!r}")
        check_probability("l1_ratio", self.l1_ratio, low_open=False, high_open=False)
        check_choice("dtype", self.dtype, DTYPES)
        if self.loss == "sigmoid_cross_entropy" and self.output_dim < 1:
            raise ValueError("output_dim must be >= 1 for sigmoid_cross_entropy")
