"""First-order update rules and full-batch L-BFGS.

The contract every rule follows::

    next_w, state = rule(w, dw, state, **hyperparameters)

- `w` is a floating-point array of parameters, `dw` the gradient of the loss at `w` (same
  shape and dtype).
- `state` is a dict that starts empty (`{}`) for each parameter array and is passed back on the
  next call; the rule creates its entries on the first call and returns the dict updated.
  Keys: `momentum`/`nesterov` keep `"velocity"`; `adagrad`/`rmsprop` keep `"cache"`; `adam`
  keeps `"m"`, `"v"` and `"t"` (the number of steps taken so far, incremented before the bias
  correction). Keys starting with `_` are scratch space, never part of the maths.
- For speed a rule updates `w` in place and returns that same array as `next_w`; callers that
  need the old value copy it first. Working in place keeps the training loop free of
  allocations: the trainer applies one rule to all parameters as one flat vector.
- Hyperparameters are keyword arguments with the seed's usual defaults.

`OPTIMIZERS` maps names to the rules; `get_rule(name)` raises ValueError naming the argument
for an unknown name. `TRAINER_RULES` names faster NumPy equivalents (`adam_scaled_moments` for
`adam`, private state), which `nn_core.fused.TRAINER_RULES` extends for the trainer.
`lbfgs` (full batch, through `scipy.optimize.minimize`) is not a rule: it trains a network's
flattened parameters directly and suits small data sets. `FlatParameters` rebinds a
network's parameters as views of one vector, so that one rule call updates them all.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

Rule = Callable[..., tuple[np.ndarray, dict[str, Any]]]


# Why not BLAS axpy (y += a * x in one pass instead of two)? SciPy's BLAS is a second OpenBLAS
# beside NumPy's; with more than one thread their two spinning thread pools fought over the
# cores and 2-thread training ran 14x slower (measured with scripts/bench_nn.py).


def _scratch(w: np.ndarray, state: dict[str, Any]) -> np.ndarray:
    buffer = state.get("_scratch")
    if buffer is None or buffer.shape != w.shape or buffer.dtype != w.dtype:
        buffer = np.empty_like(w)
        state["_scratch"] = buffer
    return buffer


def state_array(state: dict[str, Any], key: str, w: np.ndarray) -> np.ndarray:
    """state[key], created as zeros shaped like w on the first step."""
    if state.get(key) is None:
        state[key] = np.zeros_like(w)
    return state[key]


def sgd(
    w: np.ndarray, dw: np.ndarray, state: dict[str, Any], learning_rate: float = 1e-2
) -> tuple[np.ndarray, dict[str, Any]]:
    """Vanilla step: w -= learning_rate * dw. Keeps no state."""
    scratch = _scratch(w, state)
    np.multiply(dw, learning_rate, out=scratch)
    w -= scratch
    return w, state


def _velocity_step(w: np.ndarray, dw: np.ndarray, state: dict[str, Any], learning_rate: float,
                   momentum: float) -> tuple[np.ndarray, np.ndarray]:
    """v = mu * v - learning_rate * dw in place; returns v and the scratch holding lr * dw."""
    velocity = state_array(state, "velocity", w)
    scratch = _scratch(w, state)
    velocity *= momentum
    np.multiply(dw, learning_rate, out=scratch)
    velocity -= scratch
    return velocity, scratch


def momentum(
    w: np.ndarray,
    dw: np.ndarray,
    state: dict[str, Any],
    learning_rate: float = 1e-2,
    momentum: float = 0.9,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Momentum: v = mu * v - learning_rate * dw; w += v. Keeps `state["velocity"]`."""
    velocity, _ = _velocity_step(w, dw, state, learning_rate, momentum)
    w += velocity
    return w, state


def nesterov(
    w: np.ndarray,
    dw: np.ndarray,
    state: dict[str, Any],
    learning_rate: float = 1e-2,
    momentum: float = 0.9,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Nesterov momentum in the form that needs only the gradient at `w` itself.

    With the change of variable x_ahead = x + mu * v, the seed's look-ahead update becomes
    v_prev = v; v = mu * v - learning_rate * dw; w += -mu * v_prev + (1 + mu) * v,
    where `w` plays the role of the look-ahead point. Keeps `state["velocity"]`.
    """
    # -mu v_prev + (1 + mu) v_new equals mu v_new - lr dw (substitute mu v_prev = v_new + lr dw),
    # which needs no copy of v_prev.
    velocity, scratch = _velocity_step(w, dw, state, learning_rate, momentum)
    w -= scratch
    np.multiply(velocity, momentum, out=scratch)
    w += scratch
    return w, state


def adagrad(
    w: np.ndarray,
    dw: np.ndarray,
    state: dict[str, Any],
    learning_rate: float = 1e-2,
    epsilon: float = 1e-8,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Adagrad: cache += dw**2; w -= learning_rate * dw / (sqrt(cache) + epsilon)."""
    cache = state_array(state, "cache", w)
    scratch = _scratch(w, state)
    np.multiply(dw, dw, out=scratch)
    cache += scratch
    _scaled_step(w, dw, cache, scratch, learning_rate, epsilon)
    return w, state


def rmsprop(
    w: np.ndarray,
    dw: np.ndarray,
    state: dict[str, Any],
    learning_rate: float = 1e-2,
    decay_rate: float = 0.99,
    epsilon: float = 1e-8,
) -> tuple[np.ndarray, dict[str, Any]]:
    """RMSprop: cache = decay * cache + (1 - decay) * dw**2; then the Adagrad step."""
    cache = state_array(state, "cache", w)
    scratch = _scratch(w, state)
    np.multiply(dw, dw, out=scratch)
    scratch -= cache
    scratch *= 1.0 - decay_rate
    cache += scratch
    _scaled_step(w, dw, cache, scratch, learning_rate, epsilon)
    return w, state


def _scaled_step(w, dw, cache, scratch, learning_rate, epsilon) -> None:
    # w -= lr * dw / (sqrt(cache) + eps), without temporaries (Adam passes m, v and its step).
    np.sqrt(cache, out=scratch)
    scratch += epsilon
    np.divide(dw, scratch, out=scratch)
    scratch *= learning_rate
    w -= scratch


def adam(
    w: np.ndarray,
    dw: np.ndarray,
    state: dict[str, Any],
    learning_rate: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    epsilon: float = 1e-8,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Adam with bias correction.

    t += 1; m = b1 m + (1 - b1) dw; v = b2 v + (1 - b2) dw**2;
    w -= learning_rate * (m / (1 - b1**t)) / (sqrt(v / (1 - b2**t)) + epsilon).
    Keeps `state["m"]`, `state["v"]`, `state["t"]`.
    """
    m, v = state_array(state, "m", w), state_array(state, "v", w)
    t = state["t"] = state.get("t", 0) + 1
    scratch = _scratch(w, state)
    np.subtract(dw, m, out=scratch)
    scratch *= 1.0 - beta1
    m += scratch
    np.multiply(dw, dw, out=scratch)
    scratch -= v
    scratch *= 1.0 - beta2
    v += scratch
    # Exact rewrite of the bias-corrected step with scalar factors only:
    # mhat / (sqrt(vhat) + eps) = m * c2 / c1 / (sqrt(v) + eps * c2), c_i = sqrt-ish corrections.
    correction2 = math.sqrt(1.0 - beta2**t)
    step_size = learning_rate * correction2 / (1.0 - beta1**t)
    _scaled_step(w, m, v, scratch, step_size, epsilon * correction2)
    return w, state


#: Entries per block of `adam_scaled_moments`: a block's five arrays stay in L2 from one pass to
#: the next (1.9M float32 parameters: 4.7 ms a step unblocked, 3.4 ms in blocks of 32768).
ADAM_BLOCK = 32768


def adam_scaled_moments(
    w: np.ndarray,
    dw: np.ndarray,
    state: dict[str, Any],
    learning_rate: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    epsilon: float = 1e-8,
) -> tuple[np.ndarray, dict[str, Any]]:
    """The `adam` step in 10 passes over memory instead of 12, in cache-sized blocks, for the
    trainer's flat vector.

    Keeps the moments scaled, `state["_m_scaled"]` = m / (1 - b1) and `state["_v_scaled"]` =
    v / (1 - b2), so that their updates need no scaling pass (M = b1 M + dw; V = b2 V + dw**2)
    and the constants move into the scalar step; `state["t"]` as in `adam`. Every pass is
    elementwise, so running them `ADAM_BLOCK` entries at a time gives the same numbers. The
    same steps as `adam` up to rounding (tests/nn_core/test_optim.py). The trainer uses it for
    `optimizer="adam"`; `adam` itself keeps the documented `m`/`v` state.
    """
    m_scaled = state_array(state, "_m_scaled", w)
    v_scaled = state_array(state, "_v_scaled", w)
    t = state["t"] = state.get("t", 0) + 1
    scratch = _scratch(w, state)
    step_size, epsilon_scaled = adam_scaled_scalars(t, learning_rate, beta1, beta2, epsilon)
    arrays = (w, dw, m_scaled, v_scaled, scratch)
    flat = all(array.flags.c_contiguous for array in arrays)  # else one block, as they are
    arrays, block = ((tuple(a.reshape(-1) for a in arrays), ADAM_BLOCK) if flat
                     else (arrays, max(w.size, 1)))
    for begin in range(0, max(w.size, 1), block):
        wb, gb, mb, vb, sb = arrays if not flat else (x[begin:begin + block] for x in arrays)
        mb *= beta1
        mb += gb
        np.multiply(gb, gb, out=sb)
        vb *= beta2
        vb += sb
        _scaled_step(wb, mb, vb, sb, step_size, epsilon_scaled)
    return w, state


def adam_scaled_scalars(t: int, learning_rate: float, beta1: float, beta2: float,
                        epsilon: float) -> tuple[float, float]:
    """(step, eps_scaled): mhat / (sqrt(vhat) + eps) = step * M / (sqrt(V) + eps_scaled)."""
    a = math.sqrt((1.0 - beta2) / (1.0 - beta2**t))
    return learning_rate * (1.0 - beta1) / (1.0 - beta1**t) / a, epsilon / a


TRAINER_RULES: dict[str, Rule] = {"adam": adam_scaled_moments}

OPTIMIZERS: dict[str, Rule] = {
    "sgd": sgd,
    "momentum": momentum,
    "nesterov": nesterov,
    "adagrad": adagrad,
    "rmsprop": rmsprop,
    "adam": adam,
}

# The settings each rule accepts besides the learning rate (used by the trainer to pass only
# what a rule understands).
RULE_SETTINGS: dict[str, tuple[str, ...]] = {
    "sgd": (),
    "momentum": ("momentum",),
    "nesterov": ("momentum",),
    "adagrad": ("epsilon",),
    "rmsprop": ("decay_rate", "epsilon"),
    "adam": ("beta1", "beta2", "epsilon"),
}


def get_rule(name: str, argument: str = "optimizer") -> Rule:
    """Return the update rule called `name`; ValueError naming `argument` otherwise."""
    try:
        return OPTIMIZERS[name]
    except (KeyError, TypeError):
        allowed = ", ".join(repr(key) for key in [*OPTIMIZERS, "lbfgs"])
        raise ValueError(f"{argument} must be one of {allowed}; got {name!r}") from None


def flatten_params(params: dict[str, np.ndarray]) -> np.ndarray:
    """Concatenate `params` (in dict order) into one float64 vector of length sum(sizes)."""
    return np.concatenate([np.asarray(v, dtype=np.float64).ravel() for v in params.values()])


def unflatten_into(params: dict[str, np.ndarray], vector: np.ndarray) -> None:
    """Write `vector` (as from `flatten_params`) back into the arrays of `params` in place."""
    offset = 0
    for value in params.values():
        size = value.size
        value[...] = vector[offset : offset + size].reshape(value.shape)
        offset += size


class FlatParameters:
    """Rebinds every array of `params` (in place, in dict order) as a view of one flat vector.

    `flat` (P,) holds the parameters and `grad` (P,) a gradient of the same layout; `views` and
    `grad_views` map each name to its view (the parameter's shape) of either, `slices` to its
    slice. One rule call on the flat vector replaces a dozen small ones per step.
    """

    def __init__(self, params: dict[str, np.ndarray]) -> None:
        keys = list(params)
        dtype = params[keys[0]].dtype
        total = sum(value.size for value in params.values())
        self.flat = np.empty(total, dtype=dtype)
        self.grad = np.empty(total, dtype=dtype)
        self.views: dict[str, np.ndarray] = {}
        self.grad_views: dict[str, np.ndarray] = {}
        self.slices: dict[str, slice] = {}
        offset = 0
        for key in keys:
            value = params[key]
            end = offset + value.size
            view = self.flat[offset:end].reshape(value.shape)
            view[...] = value
            params[key] = self.views[key] = view
            self.grad_views[key] = self.grad[offset:end].reshape(value.shape)
            self.slices[key] = slice(offset, end)
            offset = end


def lbfgs(
    network: Any,
    X: np.ndarray,
    y: np.ndarray,
    max_iter: int = 200,
    tol: float = 1e-9,
    seed: int = 0,
    callback: Callable[[int, float], bool | None] | None = None,
) -> dict[str, Any]:
    """Train `network` full batch with `scipy.optimize.minimize(method="L-BFGS-B", jac=True)`.

    X: (N, D) inputs; y: labels or targets as `network.loss` expects. The objective is the
    full-batch loss (with the regularisation penalty) in training mode; dropout masks come from
    a Generator re-seeded with `seed` at every evaluation, so the objective is deterministic as
    L-BFGS needs. `callback(iteration, loss)` runs after each iteration and may return True to
    stop. The network's parameters are updated in place. Returns a dict with `loss` (final),
    `losses` (per iteration), `n_iterations`, `n_evaluations`, `converged` and `message`.
    """
    from scipy.optimize import minimize  # SciPy only when L-BFGS is asked for

    params = network.params
    dtype = next(iter(params.values())).dtype
    objective = _FullBatchObjective(network, X, y, seed, callback)
    try:
        result = minimize(
            objective,
            flatten_params(params),
            jac=True,
            method="L-BFGS-B",
            callback=objective.on_iteration,
            options={"maxiter": int(max_iter), "gtol": tol, "ftol": tol},
        )
    except _StopLbfgs:
        unflatten_into(params, objective.accepted.astype(dtype))
        return {
            "loss": objective.losses[-1],
            "losses": objective.losses,
            "n_iterations": len(objective.losses),
            "n_evaluations": -1,
            "converged": False,
            "message": "stopped by callback",
        }
    unflatten_into(params, result.x.astype(dtype))
    return {
        "loss": float(result.fun),
        "losses": objective.losses,
        "n_iterations": int(result.nit),
        "n_evaluations": int(result.nfev),
        "converged": bool(result.success),
        "message": str(result.message),
    }


class _StopLbfgs(Exception):  # noqa: N818 - raised only to leave scipy's loop
    """The callback asked L-BFGS to stop."""


class _FullBatchObjective:
    """`lbfgs`'s objective on the flat float64 parameter vector, and its iteration callback."""

    def __init__(self, network: Any, X: np.ndarray, y: np.ndarray, seed: int,
                 callback: Callable[[int, float], bool | None] | None) -> None:
        self.network, self.X, self.y, self.seed, self.callback = network, X, y, seed, callback
        self.dtype = next(iter(network.params.values())).dtype
        self.losses: list[float] = []
        self.last_loss = math.nan
        self.accepted: np.ndarray | None = None  # the last iteration's parameters

    def __call__(self, vector: np.ndarray) -> tuple[float, np.ndarray]:
        params = self.network.params
        unflatten_into(params, vector.astype(self.dtype, copy=False))
        loss, grads = self.network.loss(self.X, self.y, training=True,
                                        rng=np.random.default_rng(self.seed))
        self.last_loss = float(loss)
        gradient = np.concatenate(
            [np.asarray(grads[key], dtype=np.float64).ravel() for key in params]
        )
        return float(loss), gradient

    def on_iteration(self, vector: np.ndarray) -> None:
        self.accepted = np.array(vector, dtype=np.float64)
        self.losses.append(self.last_loss)
        if self.callback is not None and self.callback(len(self.losses), self.losses[-1]):
            raise _StopLbfgs
