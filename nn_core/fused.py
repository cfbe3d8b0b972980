"""The trainer's Adam step in one pass over memory, compiled by numba (the optional `fast`
extra), with `nn_core.optim.adam_scaled_moments` as the fallback.

`adam_fused(w, dw, state, ...)` takes the steps of `optim.adam_scaled_moments` with the same
state (`_m_scaled`, `_v_scaled`, `t`), so either can continue the other. For 1-D C-contiguous
float32/float64 arrays (the trainer's flat parameter vector) a numba loop reads w, dw, M and V
once and writes w, M and V once, where NumPy needs ten passes (1.1M float32 parameters: about
0.7 ms a step against 2 ms). It computes the same operations in the same order and precision
(no fastmath, so no fused multiply-adds or reordering), so its results equal NumPy's to
rounding (bit for bit on the bench machine; tests/nn_core/test_fast.py), with one difference:
a moment that falls below the dtype's smallest normal number (`np.finfo(dtype).tiny`, 1.2e-38
in float32) is stored as zero. The first moment of a unit whose gradient stays zero (a dead
ReLU) decays by beta1 a step and turns subnormal after some 800 steps; arithmetic on subnormal
numbers is some 100x slower on x86, and at 100k x 64 rows, H = 1024 the step took 3.3 ms
instead of 0.7 ms by the second epoch. Anything else, no numba installed, or the environment
variable `NN_CORE_FAST=0` falls back to NumPy (which keeps the subnormals, and their cost).

numba is imported at the first step (about 0.3 s) and the kernel compiled once per dtype
(about 0.5 s), then cached on disk (`cache=True`: later processes load it in milliseconds).
`TRAINER_RULES` is what the trainer runs for a rule name: `optim.TRAINER_RULES` with `adam`
replaced by `adam_fused`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nn_core import blas, optim

__all__ = ["TRAINER_RULES", "adam_fused", "fused_available"]

_kernel: Any = None  # the compiled loop, False once numba is known to be missing


def _compile() -> Any:
    """The numba kernel, or False without numba (or with NN_CORE_FAST=0)."""
    if not blas.FAST_ENABLED:
        return False
    try:
        import numba
    except ImportError:
        return False

    @numba.njit(cache=True, nogil=True, error_model="numpy")
    def adam_pass(w, g, m, v, beta1, beta2, step_size, epsilon, tiny):  # pragma: no cover
        # optim.adam_scaled_moments's passes, one entry at a time (scalars already in w's
        # dtype), with subnormal moments flushed to zero (see the module docstring)
        for i in range(w.shape[0]):
            gi = g[i]
            mi = m[i] * beta1 + gi
            vi = v[i] * beta2 + gi * gi
            if abs(mi) < tiny:
                mi = tiny - tiny  # zero in w's dtype
            if vi < tiny:
                vi = tiny - tiny
            m[i] = mi
            v[i] = vi
            w[i] -= mi / (np.sqrt(vi) + epsilon) * step_size

    return adam_pass


def fused_available() -> bool:
    """Whether `adam_fused` runs the numba kernel (compiles nothing; imports numba once)."""
    global _kernel
    if _kernel is None:
        _kernel = _compile()
    return _kernel is not False


def adam_fused(
    w: np.ndarray,
    dw: np.ndarray,
    state: dict[str, Any],
    learning_rate: float = 1e-3,
    beta1: float = 0.9,
    beta2: float = 0.999,
    epsilon: float = 1e-8,
) -> tuple[np.ndarray, dict[str, Any]]:
    """`optim.adam_scaled_moments` in one pass (see the module docstring); updates w in place."""
    if not (fused_available() and w.ndim == 1 and w.dtype in (np.float32, np.float64)):
        return optim.adam_scaled_moments(w, dw, state, learning_rate, beta1, beta2, epsilon)
    # the same zero moments adam_scaled_moments would create, if it has to take over
    m_scaled = optim.state_array(state, "_m_scaled", w)
    v_scaled = optim.state_array(state, "_v_scaled", w)
    if not all(a.dtype == w.dtype and a.shape == w.shape and a.flags.c_contiguous
               for a in (w, dw, m_scaled, v_scaled)):
        return optim.adam_scaled_moments(w, dw, state, learning_rate, beta1, beta2, epsilon)
    t = state["t"] = state.get("t", 0) + 1
    # The scalars of adam_scaled_moments, rounded to w's dtype as NumPy rounds Python floats.
    step_size, epsilon_scaled = optim.adam_scaled_scalars(t, learning_rate, beta1, beta2,
                                                          epsilon)
    cast = w.dtype.type
    _kernel(w, dw, m_scaled, v_scaled, cast(beta1), cast(beta2), cast(step_size),
            cast(epsilon_scaled), np.finfo(w.dtype).tiny)
    return w, state


TRAINER_RULES: dict[str, optim.Rule] = {**optim.TRAINER_RULES, "adam": adam_fused}
