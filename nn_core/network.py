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
- `network.loss(X, y=None, training=False, rng=None)`: X (N, input_dim) (or (N, d1, ..., dk)
  flattening to it). Without y: scores (N, output_dim), raw (the output layer has no
  activation). With y: `(loss, grads)`, loss a float including the regularisation penalty and
  grads keyed exactly like params. `training=True` uses batch statistics in batchnorm (and
  updates the running statistics) and applies dropout, which then needs `rng`.

Per hidden layer: affine (no bias with batchnorm) -> batchnorm -> activation -> dropout. For
maxout the affine layer computes the k pieces of every unit, batchnorm (if on) normalises each
piece, and the activation takes the maximum over pieces. With `hidden_sizes=()` the network is
the single-neuron linear classifier: softmax regression, or a linear SVM with loss="svm".

Everything stays in `config.dtype` end to end: X is cast once, activations run in place, and
the first layer's input gradient is never computed.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from nn_core._validate import check_choice, check_generator, check_probability
from nn_core.init import INITIALIZERS, initialize, zeros_bias
from nn_core.layers import (
    batchnorm_backward,
    batchnorm_forward,
    dropout_mask,
    max_over_pieces,
    max_over_pieces_backward,
    prelu_backward,
    prelu_forward,
)
from nn_core.losses import LOSSES
from nn_core.regularization import REGULARIZERS, penalty

__all__ = ["ACTIVATIONS", "Network", "NetworkConfig"]

ACTIVATIONS = ("relu", "leaky_relu", "prelu", "tanh", "sigmoid", "maxout")
DTYPES = ("float32", "float64")
PRELU_INITIAL_SLOPE = 0.25  # He et al. (2015)
BATCHNORM_MOMENTUM = 0.9
BATCHNORM_EPS = 1e-5


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer; got {value!r}")
    return int(value)


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
        _positive_int("input_dim", self.input_dim)
        _positive_int("output_dim", self.output_dim)
        if isinstance(self.hidden_sizes, int | str) or not hasattr(self.hidden_sizes, "__iter__"):
            raise ValueError(
                f"hidden_sizes must be a sequence of positive integers, e.g. (100,) or (); "
                f"got {self.hidden_sizes!r}"
            )
        sizes = tuple(self.hidden_sizes)
        for size in sizes:
            _positive_int("hidden_sizes entries", size)
        object.__setattr__(self, "hidden_sizes", tuple(int(s) for s in sizes))
        check_choice("activation", self.activation, ACTIVATIONS)
        alpha = float(self.leaky_alpha)
        if not 0.0 <= alpha < 1.0:
            raise ValueError(f"leaky_alpha must be in [0, 1); got {self.leaky_alpha!r}")
        if _positive_int("maxout_pieces", self.maxout_pieces) < 2:
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


def _product(a: np.ndarray, b: np.ndarray, target: np.ndarray | None,
             shape: tuple[int, ...]) -> np.ndarray:
    """a @ b as an array of `shape` (a parameter's shape: a maxout weight's (D, k, M) for a
    (D, k*M) product), computed straight into `target` (an array of that shape) when given."""
    if target is None:
        return np.matmul(a, b).reshape(shape)
    product_shape = (a.shape[0], b.shape[1]) if a.ndim == 2 else (b.shape[1],)
    if target.shape == product_shape:
        np.matmul(a, b, out=target)
    elif target.flags.c_contiguous:  # then the reshape is a view of target
        np.matmul(a, b, out=target.reshape(product_shape))
    else:
        np.copyto(target, np.matmul(a, b).reshape(shape))
    return target


@dataclass(eq=False, slots=True)
class _HiddenCache:
    """What one hidden layer's backward pass needs."""

    inputs: np.ndarray
    batchnorm: object = None
    activation: object = None
    dropout_mask: np.ndarray | None = None


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
        dtype = cfg.dtype
        self.dtype = np.dtype(dtype)
        self.params, self.buffers = {}, {}
        weight_keys = []
        pieces = cfg.maxout_pieces if cfg.activation == "maxout" else 1
        fan_in = cfg.input_dim
        for i, size in enumerate(cfg.hidden_sizes, start=1):
            shape = (fan_in, pieces, size) if pieces > 1 else (fan_in, size)
            self.params[f"hidden{i}.w"] = initialize(cfg.init, shape, rng, dtype)
            weight_keys.append(f"hidden{i}.w")
            if cfg.batchnorm:
                width = pieces * size
                self.params[f"bn{i}.gamma"] = np.ones(width, dtype=dtype)
                self.params[f"bn{i}.beta"] = np.zeros(width, dtype=dtype)
                self.buffers[f"bn{i}.running_mean"] = np.zeros(width, dtype=dtype)
                self.buffers[f"bn{i}.running_var"] = np.ones(width, dtype=dtype)
            else:
                self.params[f"hidden{i}.b"] = zeros_bias(shape[1:], dtype)
            if cfg.activation == "prelu":
                self.params[f"prelu{i}.alpha"] = np.full(size, PRELU_INITIAL_SLOPE, dtype=dtype)
            fan_in = size
        self.params["output.w"] = initialize(cfg.init, (fan_in, cfg.output_dim), rng, dtype)
        self.params["output.b"] = zeros_bias(cfg.output_dim, dtype)
        weight_keys.append("output.w")
        self.weight_keys = tuple(weight_keys)
        self._loss_fn = LOSSES[cfg.loss]
        # Names used on every step, formatted once: (weight, bias, z buffer, dh buffer, mask).
        self._names = tuple((f"hidden{i}.w", f"hidden{i}.b", f"z{i}", f"dh{i}", f"mask{i}")
                            for i in range(1, len(cfg.hidden_sizes) + 1))
        # Gradients the layers compute into arrays of their own (the rest go straight into
        # `grads_out`): batchnorm's gamma/beta and PReLU's slopes.
        self._copied_grads = tuple(k for k in self.params if k.startswith(("bn", "prelu")))
        self._kink_log: list[np.ndarray] | None = None
        self._work: dict[str, np.ndarray] = {}  # reused activation buffers, see _buffer
        self._zeros: dict[int, np.ndarray] = {}  # see _zeros_like

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
        use_dropout = training and cfg.dropout > 0.0
        if use_dropout:
            rng = check_generator("rng (needed for dropout in training mode)", rng)
        p = self.params
        caches: list[_HiddenCache] = []
        h = X
        for i, (w_key, b_key, z_name, _, _) in enumerate(self._names, start=1):
            cache = _HiddenCache(inputs=h)
            w = p[w_key]
            w2 = w if w.ndim == 2 else w.reshape(w.shape[0], -1)
            z = h @ w2 if y is None else np.matmul(h, w2, out=self._buffer(z_name, h, w2))
            if cfg.batchnorm:
                z = self._batchnorm_forward(i, z, training, cache)
            else:
                b = p[b_key]
                z += b if b.ndim == 1 else b.reshape(-1)
            h = self._activation_forward(i, z, cache, reuse=y is not None)
            if use_dropout:
                mask = dropout_mask(h.shape, 1.0 - cfg.dropout, rng, self.dtype)
                cache.dropout_mask = mask
                # tanh/sigmoid backward reads the activation output, so do not overwrite it.
                if cfg.activation in ("tanh", "sigmoid"):
                    h = h * mask
                else:
                    h *= mask
            caches.append(cache)
        w_out = p["output.w"]
        scores = h @ w_out
        scores += p["output.b"]
        if y is None:
            return scores
        if self._kink_log is not None:
            self._record_loss_kinks(scores, y)

        loss, dscores = self._loss_fn(scores, y)
        # The trainer reads the training accuracy off these scores instead of a second pass.
        self.last_scores = scores
        grads: dict[str, np.ndarray] = {}
        out = grads_out if grads_out is not None else {}
        grads["output.w"] = np.matmul(h.T, dscores, out=out.get("output.w"))
        ones = self._ones(scores.shape[0])
        grads["output.b"] = np.matmul(ones, dscores, out=out.get("output.b"))
        dh = np.matmul(dscores, w_out.T, out=self._buffer("dh", dscores, w_out.T)) \
            if caches else None
        for i in range(len(caches), 0, -1):
            w_key, b_key, _, dh_name, _ = self._names[i - 1]
            cache = caches[i - 1]
            if cache.dropout_mask is not None:
                dh *= cache.dropout_mask
            dz = self._activation_backward(i, dh, cache, grads)
            if cfg.batchnorm:
                dz, grads[f"bn{i}.gamma"], grads[f"bn{i}.beta"] = batchnorm_backward(
                    dz, cache.batchnorm
                )
            else:
                grads[b_key] = _product(ones, dz, out.get(b_key), p[b_key].shape)
            w = p[w_key]
            w2 = w if w.ndim == 2 else w.reshape(w.shape[0], -1)
            grads[w_key] = _product(cache.inputs.T, dz, out.get(w_key), w.shape)
            if i > 1:  # the input's own gradient is never needed
                dh = np.matmul(dz, w2.T, out=self._buffer(dh_name, dz, w2.T))

        if cfg.reg > 0.0 and cfg.regularization != "none":
            for key in self.weight_keys:
                value, grad = penalty(cfg.regularization, p[key], cfg.reg, cfg.l1_ratio)
                loss += value
                grads[key] += grad
        if grads_out is not None:
            for key in self._copied_grads:  # computed by the layers into their own arrays
                np.copyto(grads_out[key], grads[key])
            return loss, grads_out
        return loss, {key: grads[key] for key in p}

    def _buffer(self, name: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """A reusable (a.shape[0], b.shape[1]) array for the product a @ b."""
        shape = (a.shape[0], b.shape[1])
        buffer = self._work.get(name)
        if buffer is None or buffer.shape != shape:
            buffer = self._work[name] = np.empty(shape, dtype=self.dtype)
        return buffer

    def _mask_buffer(self, name: str, like: np.ndarray) -> np.ndarray:
        """A reusable boolean array shaped like `like` (masks never outlive one `loss` call)."""
        buffer = self._work.get(name)
        if buffer is None or buffer.shape != like.shape:
            buffer = self._work[name] = np.empty(like.shape, dtype=bool)
        return buffer

    def _zeros_like(self, like: np.ndarray) -> np.ndarray:
        """Read-only zeros shaped like the 2-D `like` (the ReLU's other operand): rows of one
        cached array per width, grown to the largest batch seen."""
        rows, width = like.shape
        zeros = self._zeros.get(width)
        if zeros is None or zeros.shape[0] < rows:
            zeros = self._zeros[width] = np.zeros((rows, width), dtype=self.dtype)
            zeros.flags.writeable = False
        return zeros[:rows]

    def _ones(self, n: int) -> np.ndarray:
        """A cached ones vector of length n: bias gradients as ones @ dz (a GEMV, ~3x np.sum)."""
        ones = self._work.get("ones")
        if ones is None or ones.shape != (n,):
            ones = self._work["ones"] = np.ones(n, dtype=self.dtype)
        return ones

    def predict_scores(self, X: np.ndarray, batch_size: int = 4096) -> np.ndarray:
        """Evaluation-mode scores (N, output_dim), computed `batch_size` rows at a time."""
        X = self._check_input(X)
        batch_size = _positive_int("batch_size", batch_size)
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

    def _check_input(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X)
        expected = self.config.input_dim
        if X.ndim < 2 or math.prod(X.shape[1:]) != expected:
            raise ValueError(f"X must have shape (N, {expected}); got shape {X.shape}")
        if X.ndim > 2:
            X = X.reshape(X.shape[0], -1)
        return X.astype(self.dtype, copy=False)

    def _batchnorm_forward(
        self, i: int, z: np.ndarray, training: bool, cache: _HiddenCache
    ) -> np.ndarray:
        mean_key, var_key = f"bn{i}.running_mean", f"bn{i}.running_var"
        out, bn_cache = batchnorm_forward(
            z,
            self.params[f"bn{i}.gamma"],
            self.params[f"bn{i}.beta"],
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

    def _activation_forward(self, i: int, z: np.ndarray, cache: _HiddenCache,
                            reuse: bool = False) -> np.ndarray:
        """Applies layer i's activation to z (N, width), in place where the backward allows.

        reuse: the training path, whose cached helper arrays live as long as the network (like
        its activation buffers); inference never grows them."""
        kind = self.config.activation
        if self._kink_log is not None:
            self._record_activation_kinks(z)
        if kind == "relu":
            # Against an array of zeros: NumPy's maximum is vectorised only between arrays, and
            # np.maximum(z, 0) (a broadcast scalar) runs about 3x slower.
            np.maximum(z, self._zeros_like(z) if reuse else 0, out=z)
            cache.activation = z
            return z
        if kind == "leaky_relu":
            # For 0 <= alpha < 1, max(z, alpha * z) is the leaky ReLU.
            np.maximum(z, z * self.config.leaky_alpha, out=z)
            cache.activation = z
            return z
        if kind == "tanh":
            np.tanh(z, out=z)
            cache.activation = z
            return z
        if kind == "sigmoid":
            z *= 0.5  # sigmoid(z) = (1 + tanh(z / 2)) / 2, overflow-free
            np.tanh(z, out=z)
            z += 1.0
            z *= 0.5
            cache.activation = z
            return z
        if kind == "prelu":
            out, cache.activation = prelu_forward(z, self.params[f"prelu{i}.alpha"])
            return out
        # maxout
        n = z.shape[0]
        pieces = self.config.maxout_pieces
        out, winners = max_over_pieces(z.reshape(n, pieces, -1))
        cache.activation = winners
        return out

    def _activation_backward(
        self, i: int, dh: np.ndarray, cache: _HiddenCache, grads: dict[str, np.ndarray]
    ) -> np.ndarray:
        """Gradient with respect to the pre-activation; may overwrite dh."""
        kind = self.config.activation
        a = cache.activation
        if kind == "relu":
            mask = np.greater(a, 0, out=self._mask_buffer(self._names[i - 1][4], a))
            np.multiply(dh, mask, out=dh)
            return dh
        if kind == "leaky_relu":
            return np.where(a > 0, dh, dh * self.config.leaky_alpha)
        if kind == "tanh":
            dh *= 1.0 - a * a
            return dh
        if kind == "sigmoid":
            dh *= a * (1.0 - a)
            return dh
        if kind == "prelu":
            dz, grads[f"prelu{i}.alpha"] = prelu_backward(dh, a)
            return dz
        dz = max_over_pieces_backward(dh, a, self.config.maxout_pieces)
        return dz.reshape(dz.shape[0], -1)

    def _record_activation_kinks(self, z: np.ndarray) -> None:
        kind = self.config.activation
        if kind in ("relu", "leaky_relu", "prelu"):
            self._kink_log.append(z > 0)
        elif kind == "maxout":
            n = z.shape[0]
            self._kink_log.append(z.reshape(n, self.config.maxout_pieces, -1).argmax(axis=1))

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
