"""One hidden layer as `nn_core.network.Network` runs it: its names and its activation pair.

`HiddenLayer.numbered(i, config)` gives hidden layer i's parameter, buffer and scratch-array
names (layers count from 1) and the activation's settings. `ACTIVATION_LAYERS` is the one table
from activation name to `ActivationLayer`, the row that calls that activation's
`nn_core.layers` pair; the network chooses an activation nowhere else. A row's functions:

- forward(z, layer, params, workspace) -> (h, cache): z (N, width) pre-activations (width =
  k*M for maxout), which it may overwrite; params: the network's parameters; workspace: the
  network's `Workspace` on the training path, None when only scoring.
- backward(dh, cache, layer, workspace) -> (dz (N, width), the PReLU slope gradient (M,) or
  None); it may overwrite dh.
- dropout_in_place: dropout may scale h in place (the backward reads only h's sign, or not h).
- kinks(z, layer): which side of its kinks z lies on (for gradient checks), None if smooth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nn_core import layers
from nn_core.network_config import NetworkConfig
from nn_core.workspace import Workspace

__all__ = ["ACTIVATION_LAYERS", "ActivationLayer", "HiddenLayer"]


@dataclass(frozen=True, slots=True)
class HiddenLayer:
    """Names and activation settings of hidden layer `index` (from 1)."""

    index: int
    weight: str
    bias: str
    alpha: str
    gamma: str
    beta: str
    running_mean: str
    running_var: str
    z: str  # workspace names: pre-activations, input gradient, ReLU mask
    dh: str
    mask: str
    leaky_alpha: float
    pieces: int

    @classmethod
    def numbered(cls, i: int, config: NetworkConfig) -> HiddenLayer:
        return cls(i, f"hidden{i}.w", f"hidden{i}.b", f"prelu{i}.alpha", f"bn{i}.gamma",
                   f"bn{i}.beta", f"bn{i}.running_mean", f"bn{i}.running_var", f"z{i}",
                   f"dh{i}", f"mask{i}", config.leaky_alpha, config.maxout_pieces)


@dataclass(frozen=True)
class ActivationLayer:
    """How a hidden layer runs one activation's `nn_core.layers` pair (module docstring)."""

    forward: Callable[..., tuple[np.ndarray, object]]
    backward: Callable[..., tuple[np.ndarray, np.ndarray | None]]
    dropout_in_place: bool
    kinks: Callable[[np.ndarray, HiddenLayer], np.ndarray] | None = None


Params = dict[str, np.ndarray]


def _relu_forward(z: np.ndarray, layer: HiddenLayer, params: Params, work: Workspace | None):
    return layers.relu_forward(z, out=z, zeros=None if work is None else work.zeros_like(z))


def _relu_backward(dh: np.ndarray, cache: np.ndarray, layer: HiddenLayer, work: Workspace):
    return layers.relu_backward(dh, cache, out=dh, mask=work.mask(layer.mask, dh)), None


def _leaky_relu_forward(z: np.ndarray, layer: HiddenLayer, params: Params, work: Workspace):
    return layers.leaky_relu_forward(z, layer.leaky_alpha, out=z)


def _leaky_relu_backward(dh: np.ndarray, cache: tuple, layer: HiddenLayer, work: Workspace):
    return layers.leaky_relu_backward(dh, cache), None


def _prelu_forward(z: np.ndarray, layer: HiddenLayer, params: Params, work: Workspace):
    return layers.prelu_forward(z, params[layer.alpha])


def _prelu_backward(dh: np.ndarray, cache: tuple, layer: HiddenLayer, work: Workspace):
    return layers.prelu_backward(dh, cache)


def _tanh_forward(z: np.ndarray, layer: HiddenLayer, params: Params, work: Workspace):
    return layers.tanh_forward(z, out=z)


def _tanh_backward(dh: np.ndarray, cache: np.ndarray, layer: HiddenLayer, work: Workspace):
    return layers.tanh_backward(dh, cache, out=dh), None


def _sigmoid_forward(z: np.ndarray, layer: HiddenLayer, params: Params, work: Workspace):
    return layers.sigmoid_forward(z, out=z)


def _sigmoid_backward(dh: np.ndarray, cache: np.ndarray, layer: HiddenLayer, work: Workspace):
    return layers.sigmoid_backward(dh, cache, out=dh), None


def _maxout_forward(z: np.ndarray, layer: HiddenLayer, params: Params, work: Workspace):
    return layers.max_over_pieces(z.reshape(z.shape[0], layer.pieces, -1))


def _maxout_backward(dh: np.ndarray, cache: np.ndarray, layer: HiddenLayer, work: Workspace):
    dz = layers.max_over_pieces_backward(dh, cache, layer.pieces)
    return dz.reshape(dz.shape[0], -1), None


def _sign_kinks(z: np.ndarray, layer: HiddenLayer) -> np.ndarray:
    return z > 0


def _maxout_kinks(z: np.ndarray, layer: HiddenLayer) -> np.ndarray:
    return z.reshape(z.shape[0], layer.pieces, -1).argmax(axis=1)


#: one row per name of `ACTIVATIONS`, in that order (the config validates against those names)
ACTIVATION_LAYERS: dict[str, ActivationLayer] = {
    "relu": ActivationLayer(_relu_forward, _relu_backward, True, _sign_kinks),
    "leaky_relu": ActivationLayer(_leaky_relu_forward, _leaky_relu_backward, True, _sign_kinks),
    "prelu": ActivationLayer(_prelu_forward, _prelu_backward, True, _sign_kinks),
    # Their backward passes read the output's value: dropout must not overwrite it.
    "tanh": ActivationLayer(_tanh_forward, _tanh_backward, False),
    "sigmoid": ActivationLayer(_sigmoid_forward, _sigmoid_backward, False),
    "maxout": ActivationLayer(_maxout_forward, _maxout_backward, True, _maxout_kinks),
}
