"""Arrays the training path reuses from one `Network.loss` call to the next.

A `Workspace` hands out named arrays by shape: activation and gradient buffers for `out=`,
boolean mask scratch, read-only zeros (ReLU's other operand) and a ones vector (bias
gradients as a matrix-vector product). Only the training path (a loss with targets) uses one,
so scoring a large X never pins arrays of its size. An array is handed out again on the next
call: nothing it holds outlives the `loss` call that filled it, except through the caller's
own copies.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Workspace"]


class Workspace:
    """Named reusable arrays in one dtype. `arrays` holds buffers, masks and the ones vector by
    name; `zeros` holds one read-only zeros array per width, grown to the largest batch."""

    def __init__(self, dtype: np.dtype) -> None:
        self.dtype = np.dtype(dtype)
        self.arrays: dict[str, np.ndarray] = {}
        self.zeros: dict[int, np.ndarray] = {}

    def product(self, name: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """A reusable (a.shape[0], b.shape[1]) array for the product a @ b."""
        shape = (a.shape[0], b.shape[1])
        array = self.arrays.get(name)
        if array is None or array.shape != shape:
            array = self.arrays[name] = np.empty(shape, dtype=self.dtype)
        return array

    def mask(self, name: str, like: np.ndarray) -> np.ndarray:
        """A reusable boolean array shaped like `like`."""
        array = self.arrays.get(name)
        if array is None or array.shape != like.shape:
            array = self.arrays[name] = np.empty(like.shape, dtype=bool)
        return array

    def zeros_like(self, like: np.ndarray) -> np.ndarray:
        """Read-only zeros shaped like the 2-D `like`: rows of one cached array per width."""
        rows, width = like.shape
        zeros = self.zeros.get(width)
        if zeros is None or zeros.shape[0] < rows:
            zeros = self.zeros[width] = np.zeros((rows, width), dtype=self.dtype)
            zeros.flags.writeable = False
        return zeros[:rows]

    def ones(self, n: int) -> np.ndarray:
        """A cached ones vector of length n."""
        ones = self.arrays.get("ones")
        if ones is None or ones.shape != (n,):
            ones = self.arrays["ones"] = np.ones(n, dtype=self.dtype)
        return ones
