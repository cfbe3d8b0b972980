"""The optional fast paths (the `fast` extra) against the plain NumPy ones: MKL's GEMM in
nn_core.blas and the numba Adam step in nn_core.fused. Each is skipped, with the reason, where
its package is not installed."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from nn_core import MLPClassifier, blas, fused, optim

needs_mkl = pytest.mark.skipif(blas.BACKEND != "mkl",
                               reason="MKL not installed (pip install 'hpsearch[fast]')")
needs_numba = pytest.mark.skipif(not fused.fused_available(),
                                 reason="numba not installed (pip install 'hpsearch[fast]')")

TOLERANCE = {np.float32: 1e-5, np.float64: 1e-12}


def operands(rng, m, k, n, dtype, transpose_a=False, transpose_b=False):
    a = rng.standard_normal((k, m) if transpose_a else (m, k)).astype(dtype)
    b = rng.standard_normal((n, k) if transpose_b else (k, n)).astype(dtype)
    return (a.T if transpose_a else a), (b.T if transpose_b else b)


@needs_mkl
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("transpose_a", "transpose_b"),
                         [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize(("m", "k", "n"), [(128, 784, 256), (512, 1024, 10), (3, 5, 7), (1, 9, 4)])
def test_mkl_products_equal_numpy(dtype, transpose_a, transpose_b, m, k, n):
    rng = np.random.default_rng(m + k + n)
    a, b = operands(rng, m, k, n, dtype, transpose_a, transpose_b)
    expected = np.matmul(a, b)
    scale = np.abs(a) @ np.abs(b)  # bounds the rounding of any summation order
    for out in (None, np.full((m, n), np.nan, dtype=dtype)):
        product = blas.mkl_matmul(a, b, out)
        assert product is not None and product.dtype == dtype
        assert out is None or product is out
        assert np.all(np.abs(product - expected) <= TOLERANCE[dtype] * scale)


@needs_mkl
def test_mkl_declines_what_it_cannot_take():
    rng = np.random.default_rng(0)
    a, b = operands(rng, 64, 64, 64, np.float32)
    assert blas.mkl_matmul(a[:, ::2], b[::2]) is None  # strided
    assert blas.mkl_matmul(a.astype(np.float16), b.astype(np.float16)) is None
    swapped_a, swapped_b = a.astype(">f4"), b.astype(">f4")  # big-endian: its char is "f" too
    assert blas.mkl_matmul(swapped_a, swapped_b) is None
    np.testing.assert_allclose(blas.matmul(swapped_a, swapped_b), a @ b, rtol=1e-5)
    assert blas.mkl_matmul(a, b, out=np.empty((64, 64), dtype=np.float64)) is None
    assert blas.mkl_matmul(a, b, out=a) is None  # overlaps an operand
    frozen = np.empty((64, 64), dtype=np.float32)
    frozen.flags.writeable = False
    assert blas.mkl_matmul(a, b, out=frozen) is None
    # matmul itself then falls back to NumPy, errors included
    assert np.array_equal(blas.matmul(a, b, out=a.copy()), np.matmul(a, b))
    with pytest.raises(ValueError):
        blas.matmul(a, b, out=np.empty((64, 32), dtype=np.float32))


@needs_mkl
def test_products_go_to_mkl_on_one_thread_only(monkeypatch):
    rng = np.random.default_rng(6)
    a, b = operands(rng, 128, 256, 256, np.float32)
    calls = []
    monkeypatch.setattr(blas, "mkl_matmul", lambda *args: calls.append(args) or None)
    with threadpool_limits(2):
        blas.matmul(a, b)
    assert calls == []
    with threadpool_limits(1):
        blas.matmul(a, b)
    assert len(calls) == 1


def test_small_products_stay_with_numpy():
    rng = np.random.default_rng(1)
    a, b = operands(rng, 32, 32, 32, np.float32)
    assert 32**3 < blas.MIN_WORK
    assert np.array_equal(blas.matmul(a, b), np.matmul(a, b))


@needs_numba
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_adam_equals_numpy_adam(dtype):
    rng = np.random.default_rng(2)
    w = rng.standard_normal(10_007).astype(dtype)
    w_plain, state, state_plain = w.copy(), {}, {}
    for _ in range(25):
        g = rng.standard_normal(w.size).astype(dtype)
        g[:100] = 0.0  # zero gradients: v stays 0 and the step rests on epsilon
        out, _ = fused.adam_fused(w, g, state, learning_rate=1e-2, epsilon=1e-7)
        optim.adam_scaled_moments(w_plain, g, state_plain, learning_rate=1e-2, epsilon=1e-7)
        assert out is w
    assert state["t"] == state_plain["t"] == 25
    for got, expected in ((w, w_plain), (state["_m_scaled"], state_plain["_m_scaled"]),
                          (state["_v_scaled"], state_plain["_v_scaled"])):
        assert got.dtype == dtype
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=np.finfo(dtype).tiny)


@needs_numba
def test_fused_adam_flushes_subnormal_moments_and_keeps_the_steps():
    rng = np.random.default_rng(5)
    w = rng.standard_normal(1000).astype(np.float32)
    w_plain, state, state_plain = w.copy(), {}, {}
    zero = np.zeros_like(w)
    for step in range(900):  # one gradient, then none: M decays by beta1 a step
        g = rng.standard_normal(w.size).astype(np.float32) * 1e-3 if step == 0 else zero
        fused.adam_fused(w, g, state)
        optim.adam_scaled_moments(w_plain, g, state_plain)
    tiny = np.finfo(np.float32).tiny
    plain_m = state_plain["_m_scaled"]
    assert np.any((plain_m != 0) & (np.abs(plain_m) < tiny))  # NumPy's went subnormal
    assert not np.any((state["_m_scaled"] != 0) & (np.abs(state["_m_scaled"]) < tiny))
    np.testing.assert_allclose(state["_m_scaled"], plain_m, rtol=1e-6, atol=tiny)
    np.testing.assert_allclose(w, w_plain, rtol=1e-6, atol=0)


def test_fused_adam_falls_back_for_other_arrays():
    rng = np.random.default_rng(3)
    w = rng.standard_normal((40, 30)).astype(np.float32)  # 2-D: the NumPy rule
    w_plain, state, state_plain = w.copy(), {}, {}
    for _ in range(3):
        g = rng.standard_normal(w.shape).astype(np.float32)
        fused.adam_fused(w, g, state)
        optim.adam_scaled_moments(w_plain, g, state_plain)
    assert np.array_equal(w, w_plain)


def test_the_trainer_runs_the_fused_rule():
    assert fused.TRAINER_RULES["adam"] is fused.adam_fused
    assert {k: v for k, v in fused.TRAINER_RULES.items() if k != "adam"} == {
        k: v for k, v in optim.TRAINER_RULES.items() if k != "adam"}


def fit_params(X, y):  # 128 x 100 x 256 and up: products MKL takes
    model = MLPClassifier(hidden_sizes=(256, 256), epochs=3, batch_size=128, dtype="float32",
                          seed=0).fit(X, y)
    return model.network_.params


@pytest.mark.skipif(blas.BACKEND != "mkl" and not fused.fused_available(),
                    reason="neither MKL nor numba installed (pip install 'hpsearch[fast]')")
def test_training_with_the_fast_paths_equals_the_plain_one(monkeypatch):
    rng = np.random.default_rng(4)
    X = rng.standard_normal((600, 100))
    y = (X[:, :3].sum(axis=1) > 0).astype(int)
    with threadpool_limits(1):  # MKL's products run on one thread only
        fast = fit_params(X, y)
        monkeypatch.setattr(blas, "_GEMMS", {})
        monkeypatch.setitem(fused.TRAINER_RULES, "adam", optim.adam_scaled_moments)
        plain = fit_params(X, y)
    for key in plain:
        np.testing.assert_allclose(fast[key], plain[key], rtol=1e-3, atol=1e-5)


def test_nn_core_fast_0_keeps_numpy():
    code = ("from nn_core import blas, fused; "
            "print(blas.BACKEND, fused.fused_available())")
    env = {**os.environ, "NN_CORE_FAST": "0"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, check=True)
    assert result.stdout.split() == ["numpy", "False"]
