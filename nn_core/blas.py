"""Matrix products for nn_core's layers: NumPy's, or MKL's GEMM where the optional `fast` extra
is installed.

`matmul(a, b, out=None)` is `np.matmul(a, b, out=out)`. When MKL's runtime library (the `mkl`
package of the `fast` extra: `pip install "hpsearch[fast]"`) can be loaded, 2-D float32/float64
products of at least `MIN_WORK` multiply-adds (m * k * n) go to `cblas_sgemm`/`cblas_dgemm`
through ctypes instead, reading transposed views (`w.T`, `x.T`) in place as NumPy's OpenBLAS
does. Below that size the call overhead (about 5 us) costs more than MKL gains, and anything
else (other dtypes or ranks, strided or overlapping operands, a read-only or mismatched `out`)
stays with NumPy. The results equal NumPy's up to float rounding (another summation order).

MKL is loaded with its default (OpenMP) threading, which threadpoolctl sees and limits like
NumPy's OpenBLAS, and `matmul` uses it only while MKL is limited to one thread (under
`threadpool_limits(1)`, as the benchmarks and hpsearch's trial workers run): with two threads
each, MKL's OpenMP pool and OpenBLAS's spinning threads fought over the cores (float64 digits
on 2 threads ran 2.1x slower than with NumPy alone). Setting the environment
variable `NN_CORE_FAST=0` keeps NumPy for every product (and numba out of the Adam step, see
`nn_core.fused`). `BACKEND` says which is in use: "mkl" or "numpy".

Measured on the bench machine (1 thread, float32, scripts/bench_nn.py's matmul shapes): MKL
5-25% faster than OpenBLAS from 128 x 64 x 256 up, about 2x slower at 64^3 (the overhead).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from pathlib import Path

import numpy as np

__all__ = ["BACKEND", "MIN_WORK", "matmul", "mkl_matmul"]

#: m * k * n from which a product goes to MKL (measured: 128 x 256 x 10 is slower through
#: ctypes, 128 x 1024 x 10 already 1.3x faster)
MIN_WORK = 1 << 20

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def _library_paths() -> list[str]:
    lib = Path(sys.prefix) / "lib"
    found = ctypes.util.find_library("mkl_rt")
    return [str(lib / "libmkl_rt.so.3"), str(lib / "libmkl_rt.so.2"), str(lib / "libmkl_rt.so"),
            *([found] if found else [])]


FAST_ENABLED = os.environ.get("NN_CORE_FAST", "1") != "0"  # MKL here, numba in nn_core.fused


def _load_gemms() -> dict[str, ctypes._CFuncPtr]:
    """cblas_sgemm and cblas_dgemm by dtype char, or {} without MKL (or with NN_CORE_FAST=0)."""
    if not FAST_ENABLED:
        return {}
    for path in _library_paths():
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        gemms = {}
        for char, name, scalar in (("f", "cblas_sgemm", ctypes.c_float),
                                   ("d", "cblas_dgemm", ctypes.c_double)):
            function = getattr(library, name)
            function.restype = None
            integer, pointer = ctypes.c_int, ctypes.c_void_p
            function.argtypes = [integer] * 6 + [scalar, pointer, integer, pointer, integer,
                                                  scalar, pointer, integer]
            gemms[char] = function
        gemms["threads"] = library.MKL_Get_Max_Threads
        return gemms
    return {}


_GEMMS = _load_gemms()
BACKEND = "mkl" if _GEMMS else "numpy"


def _layout(a: np.ndarray) -> tuple[int, int] | None:
    """(transpose flag, leading dimension) of a 2-D operand as row-major BLAS reads it: rows
    contiguous (a C-contiguous array, or rows of one) or columns contiguous (a transposed view);
    None otherwise."""
    rows, cols = a.shape
    row_stride, col_stride = a.strides
    size = a.itemsize
    if col_stride == size and row_stride % size == 0 and row_stride >= cols * size:
        return _NO_TRANS, row_stride // size
    if row_stride == size and col_stride % size == 0 and col_stride >= rows * size:
        return _TRANS, col_stride // size
    return None


def mkl_matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray | None:
    """a @ b by MKL's GEMM into `out` (or a new array); None if MKL cannot take these operands
    (see the module docstring), whatever their size."""
    gemm = _GEMMS.get(a.dtype.char) if a.dtype.isnative else None  # ">f4".char is "f" too
    if gemm is None or a.ndim != 2 or b.ndim != 2 or b.dtype != a.dtype:
        return None
    (m, k), n = a.shape, b.shape[-1]
    layout_a, layout_b = _layout(a), _layout(b)
    if b.shape[0] != k or layout_a is None or layout_b is None or 0 in (m, k, n):
        return None
    if out is None:
        out = np.empty((m, n), dtype=a.dtype)
    elif (out.shape != (m, n) or out.dtype != a.dtype or not out.flags.c_contiguous
          or not out.flags.writeable or np.may_share_memory(out, a)
          or np.may_share_memory(out, b)):
        return None
    gemm(_ROW_MAJOR, layout_a[0], layout_b[0], m, n, k, 1.0, a.ctypes.data, layout_a[1],
         b.ctypes.data, layout_b[1], 0.0, out.ctypes.data, n)
    return out


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """np.matmul(a, b, out=out), through MKL for large 2-D float products when it is there."""
    if _GEMMS and a.ndim == 2 and b.ndim == 2 and a.shape[0] * a.shape[1] * b.shape[-1] \
            >= MIN_WORK and _GEMMS["threads"]() == 1:
        product = mkl_matmul(a, b, out)
        if product is not None:
            return product
    return np.matmul(a, b, out=out)
