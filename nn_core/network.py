"""A fully connected network built from a plain config.

Contract (the seam between model and trainer):
- `Network(config, rng)` draws its weights from `rng` only.
- `network.params`: dict of arrays keyed by readable names, in layer order:
  "hidden{i}.w" (D, M) or (D, k, M) for maxout, "hidden{i}.b" (M,) or (k, M) (absent when
  batchnorm is on: beta replaces it), "bn{i}.gamma"/"bn{i}.beta" (M,) or (k*M,) for maxout,
  "prelu{i}.alpha" (M,), "output.w" (M_last, C), "output.b" (C,). Layers count from 1.
- `network.buffers`: batchnorm running statistics "bn{i}.running_mean"/"bn{i}.running_var";
  state, not parameters (never trained, never regularised).
- `network.weight_keys`: the regularised weight matrices ("hidden{i}.w" ..., "output.w").
- `network.loss(X, y=None, training=False, rng=None, grads_out=None)`: X (N, input_dim) (or
  (N, d1, ..., dk) flattening to it). Without y: scores (N, output_dim), raw (the output
  layer has no activation). With y: `(loss, grads)`, loss a float including the
  regularisation penalty and grads keyed exactly like params (written into `grads_out` when
  given). `training=True` uses batch statistics in batchnorm (and updates the running
  statistics) and applies dropout, which then needs `rng`.
- `network.last_scores`: the scores (N, output_dim) of the last `loss` call with y (None
  before one); the trainer reads the training score off them instead of a second pass.

Per hidden layer: affine (no bias with batchnorm) -> batchnorm -> activation -> dropout. For
maxout the affine layer computes the k pieces of every unit, batchnorm (if on) normalises each
piece, and the activation takes the maximum over pieces. With `hidden_sizes=()` the network is
the single-neuron linear classifier: softmax regression, or a linear SVM with loss="svm".

Every layer is computed by the `nn_core.layers` pairs, the same functions the layer tests
gradient-check: affine, batchnorm and dropout directly, the activation through
`nn_core.hidden.ACTIVATION_LAYERS`, the one table of activation pairs. Everything stays in
`config.dtype` end to end: X is cast once, the training path writes into reused buffers
(`out=`, a `nn_core.workspace.Workspace`), activations run in place, and the first layer's
input gradient is never computed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from nn_core import layers
from nn_core._validate import check_generator, check_positive_int
from nn_core.hidden import ACTIVATION_LAYERS, HiddenLayer
from nn_core.init import initialize, zeros_bias
from nn_core.losses import LOSSES
from nn_core.network_config import ACTIVATIONS, NetworkConfig
from nn_core.regularization import penalty
from nn_core.workspace import Workspace

__all__ = ["ACTIVATIONS", "Network", "NetworkConfig"]

PRELU_INITIAL_SLOPE = 0.25  # He et al. (2015)
BATCHNORM_MOMENTUM = 0.9
BATCHNORM_EPS = 1e-5


@dataclass(eq=False, slots=True)
class _HiddenCache:
    """What one hidden layer's backward pass needs."""

    inputs: np.ndarray
    batchnorm: layers.BatchNormCache | None = None
    activation: object = None
    dropout_mask: np.ndarray | None = None


# --- the network ----------------------------------------------------------------------------


@dataclass(eq=False)
class Network:
    """Fully connected network; see the module docstring for the contract."""

    config: NetworkConfig
    rng: np.random.Generator = field(repr=False)
    params: dict[str, np.ndarray] = field(init=False, repr=False)
    buffers: dict[str, np.ndarray] = field(init=False, repr=False)
    weight_keys: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.config, NetworkConfig):
            raise ValueError(f"config must be a NetworkConfig; got {type(self.config).__name__}")
        rng = check_generator("rng", self.rng)
        cfg = self.config
        self.dtype = np.dtype(cfg.dtype)
        self.params, self.buffers = {}, {}
        weight_keys = []
        fan_in = cfg.input_dim
        self._layers = tuple(HiddenLayer.numbered(i, cfg)
                             for i in range(1, len(cfg.hidden_sizes) + 1))
        for layer, size in zip(self._layers, cfg.hidden_sizes, strict=True):
            self._add_hidden_params(layer, fan_in, size, rng)
            weight_keys.append(layer.weight)
            fan_in = size
        self.params["output.w"] = initialize(cfg.init, (fan_in, cfg.output_dim), rng, cfg.dtype)
        self.params["output.b"] = zeros_bias(cfg.output_dim, cfg.dtype)
        weight_keys.append("output.w")
        self.weight_keys = tuple(weight_keys)
        self.last_scores: np.ndarray | None = None
        self._loss_fn = LOSSES[cfg.loss]
        self._activation = ACTIVATION_LAYERS[cfg.activation]
        # Gradients the layers compute into arrays of their own (the rest go straight into
        # `grads_out`): batchnorm's gamma/beta and PReLU's slopes.
        self._copied_grads = tuple(k for k in self.params if k.startswith(("bn", "prelu")))
        self._kink_log: list[np.ndarray] | None = None
        self._workspace = Workspace(self.dtype)  # the training path's reused arrays
        # Under these names too (the tests check that scoring leaves them empty).
        self._work, self._zeros = self._workspace.arrays, self._workspace.zeros

    def _add_hidden_params(self, layer: HiddenLayer, fan_in: int, size: int,
                           rng: np.random.Generator) -> None:
        cfg, dtype = self.config, self.config.dtype
        pieces = cfg.maxout_pieces if cfg.activation == "maxout" else 1
        shape = (fan_in, pieces, size) if pieces > 1 else (fan_in, size)
        self.params[layer.weight] = initialize(cfg.init, shape, rng, dtype)
        if cfg.batchnorm:
            width = pieces * size
            self.params[layer.gamma] = np.ones(width, dtype=dtype)
            self.params[layer.beta] = np.zeros(width, dtype=dtype)
            self.buffers[layer.running_mean] = np.zeros(width, dtype=dtype)
            self.buffers[layer.running_var] = np.ones(width, dtype=dtype)
        else:
            self.params[layer.bias] = zeros_bias(shape[1:], dtype)
        if cfg.activation == "prelu":
            self.params[layer.alpha] = np.full(size, PRELU_INITIAL_SLOPE, dtype=dtype)

    # --- public API -------------------------------------------------------------------------

    def loss(
        self,
        X: np.ndarray,
        y: np.ndarray | None = None,
        training: bool = False,
        rng: np.random.Generator | None = None,
        grads_out: dict[str, np.ndarray] | None = None,
    ) -> np.ndarray | tuple[float, dict[str, np.ndarray]]:
        """Scores (N, output_dim) without y; `(loss, grads)` with y (see the module docstring).

        grads_out: optional arrays shaped like `params` that receive the gradients in place
        (the trainer passes views of its flat gradient vector); the returned grads are then
        those arrays. With y, intermediate activations live in buffers reused across calls.
        """
        cfg = self.config
        X = self._check_input(X)
        if grads_out is not None and grads_out.keys() != self.params.keys():
            raise ValueError("grads_out must hold an array for every parameter: "
                             f"{', '.join(self.params)}")
        if training and cfg.dropout > 0.0:
            rng = check_generator("rng (needed for dropout in training mode)", rng)
        h, caches = self._forward_hidden(X, training, rng, reuse=y is not None)
        scores, _ = layers.affine_forward(h, self.params["output.w"], self.params["output.b"])
        if y is None:
            return scores
        if self._kink_log is not None:
            self._record_loss_kinks(scores, y)
        loss, dscores = self._loss_fn(scores, y)
        self.last_scores = scores
        grads = self._backward(h, dscores, caches, {} if grads_out is None else grads_out)
        if cfg.reg > 0.0 and cfg.regularization != "none":
            for key in self.weight_keys:
                value, grad = penalty(cfg.regularization, self.params[key], cfg.reg,
                                      cfg.l1_ratio)
                loss += value
                grads[key] += grad
        if grads_out is not None:
            for key in self._copied_grads:  # computed by the layers into their own arrays
                np.copyto(grads_out[key], grads[key])
            return loss, grads_out
        return loss, {key: grads[key] for key in self.params}

    def predict_scores(self, X: np.ndarray, batch_size: int = 4096) -> np.ndarray:
        """Evaluation-mode scores (N, output_dim), computed `batch_size` rows at a time."""
        X = self._check_input(X)
        batch_size = check_positive_int("batch_size", batch_size)
        if X.shape[0] <= batch_size:
            return self.loss(X)
        parts = [
            self.loss(X[start : start + batch_size]) for start in range(0, X.shape[0], batch_size)
        ]
        return np.concatenate(parts, axis=0)

    def loss_and_kinks(
        self,
        X: np.ndarray,
        y: np.ndarray,
        training: bool = False,
        rng: np.random.Generator | None = None,
    ) -> tuple[float, list[np.ndarray]]:
        """The loss for (X, y) and which side of every kink the network sits on.

        The kinks are a list of arrays: ReLU/leaky/PReLU pre-activation signs, maxout winners,
        SVM margin signs, L1 loss residual signs and L1-regularised weight signs. Two parameter
        values with different kink lists lie across a kink, where a numerical gradient is not
        trustworthy (used by nn_core.gradcheck).
        """
        self._kink_log = []
        try:
            loss, _ = self.loss(X, y, training=training, rng=rng)
            return loss, self._kink_log
        finally:
            self._kink_log = None

    # --- internals --------------------------------------------------------------------------

    def _forward_hidden(self, X: np.ndarray, training: bool, rng: np.random.Generator | None,
                        reuse: bool) -> tuple[np.ndarray, list[_HiddenCache]]:
        """Every hidden layer on X (N, input_dim): the last one's output and their caches."""
        cfg, p = self.config, self.params
        use_dropout = training and cfg.dropout > 0.0
        activation = self._activation
        work = self._workspace if reuse else None
        caches: list[_HiddenCache] = []
        h = X
        for layer in self._layers:
            cache = _HiddenCache(inputs=h)
            w2 = _as_matrix(p[layer.weight])
            bias = None if cfg.batchnorm else p[layer.bias]
            if bias is not None and bias.ndim == 2:  # maxout's (k, M)
                bias = bias.reshape(-1)
            buffer = work.product(layer.z, h, w2) if work is not None else None
            z, _ = layers.affine_forward(h, w2, bias, out=buffer)
            if cfg.batchnorm:
                z = self._batchnorm_forward(layer, z, training, cache)
            if self._kink_log is not None and activation.kinks is not None:
                self._kink_log.append(activation.kinks(z, layer))
            h, cache.activation = activation.forward(z, layer, p, work)
            if use_dropout:
                h, cache.dropout_mask = layers.dropout_forward(
                    h, 1.0 - cfg.dropout, True, rng, out=h if activation.dropout_in_place else None
                )
            caches.append(cache)
        return h, caches

    def _backward(self, h: np.ndarray, dscores: np.ndarray, caches: list[_HiddenCache],
                  out: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Gradients of every parameter from dscores (N, output_dim); h is the last hidden
        output. Written into the arrays of `out` where it has them."""
        grads: dict[str, np.ndarray] = {}
        work = self._workspace
        ones = work.ones(dscores.shape[0])
        grads["output.w"], grads["output.b"] = layers.affine_weight_gradients(
            dscores, h, True, out.get("output.w"), out.get("output.b"), ones
        )
        if not caches:
            return grads
        w_out = self.params["output.w"]
        dh = layers.affine_input_gradient(dscores, w_out, out=work.product("dh", dscores, w_out.T))
        for layer, cache in zip(reversed(self._layers), reversed(caches), strict=True):
            dh = self._backward_hidden(layer, cache, dh, grads, out, ones)
        return grads

    def _backward_hidden(self, layer: HiddenLayer, cache: _HiddenCache, dh: np.ndarray,
                         grads: dict[str, np.ndarray], out: dict[str, np.ndarray],
                         ones: np.ndarray) -> np.ndarray | None:
        """One hidden layer's gradients into `grads`; returns the gradient for its input (None
        for the first layer, whose input gradient is never needed). May overwrite dh."""
        cfg, work = self.config, self._workspace
        if cache.dropout_mask is not None:
            dh = layers.dropout_backward(dh, cache.dropout_mask, out=dh)
        dz, alpha_grad = self._activation.backward(dh, cache.activation, layer, work)
        if alpha_grad is not None:
            grads[layer.alpha] = alpha_grad
        if cfg.batchnorm:
            dz, grads[layer.gamma], grads[layer.beta] = layers.batchnorm_backward(
                dz, cache.batchnorm
            )
        w = self.params[layer.weight]
        dw, db = layers.affine_weight_gradients(
            dz, cache.inputs, not cfg.batchnorm, out.get(layer.weight), out.get(layer.bias), ones
        )
        grads[layer.weight] = dw if dw.shape == w.shape else dw.reshape(w.shape)
        if db is not None:
            shape = self.params[layer.bias].shape
            grads[layer.bias] = db if db.shape == shape else db.reshape(shape)
        if layer.index == 1:
            return None
        w2 = _as_matrix(w)
        return layers.affine_input_gradient(dz, w2, out=work.product(layer.dh, dz, w2.T))

    def _check_input(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        expected = self.config.input_dim
        if X.ndim < 2 or math.prod(X.shape[1:]) != expected:
            raise ValueError(f"X must have shape (N, {expected}); got shape {X.shape}")
        if X.ndim > 2:
            X = X.reshape(X.shape[0], -1)
        return X.astype(self.dtype, copy=False)

    def _batchnorm_forward(
        self, layer: HiddenLayer, z: np.ndarray, training: bool, cache: _HiddenCache
    ) -> np.ndarray:
        mean_key, var_key = layer.running_mean, layer.running_var
        out, bn_cache = layers.batchnorm_forward(
            z,
            self.params[layer.gamma],
            self.params[layer.beta],
            self.buffers[mean_key],
            self.buffers[var_key],
            training,
            momentum=BATCHNORM_MOMENTUM,
            eps=BATCHNORM_EPS,
        )
        if training:
            self.buffers[mean_key] = bn_cache.running_mean
            self.buffers[var_key] = bn_cache.running_var
        cache.batchnorm = bn_cache
        return out

    def _record_loss_kinks(self, scores: np.ndarray, y: np.ndarray) -> None:
        cfg = self.config
        if cfg.loss == "svm":
            y = np.asarray(y)
            correct = scores[np.arange(scores.shape[0]), y][:, None]
            self._kink_log.append(scores - correct + 1.0 > 0)
        elif cfg.loss == "l1":
            self._kink_log.append(np.sign(scores - np.asarray(y).reshape(scores.shape[0], -1)))
        if cfg.reg > 0.0 and cfg.regularization in ("l1", "elastic"):
            self._kink_log.extend(np.sign(self.params[key]) for key in self.weight_keys)


def _as_matrix(w: np.ndarray) -> np.ndarray:
    """A weight as the matrix its affine layer multiplies by: maxout's (D, k, M) as (D, k*M)."""
    return w if w.ndim == 2 else w.reshape(w.shape[0], -1)
