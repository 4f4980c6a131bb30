"""The part of an image a search reads, extended beyond its edges by ``numpy.pad``'s rules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["boundary_index", "region"]


def boundary_index(idx: np.ndarray, n: int, boundary: str) -> np.ndarray:
    """Source index of each extended index, by ``numpy.pad``'s rule (any extension width)."""
    if boundary == "wrap":
        return idx % n
    if boundary == "reflect":
        if n == 1:
            return np.zeros_like(idx)
        p = 2 * (n - 1)
        j = idx % p
        return np.where(j < n, j, p - j)
    if boundary == "symmetric":
        p = 2 * n
        j = idx % p
        return np.where(j < n, j, p - 1 - j)
    return np.clip(idx, 0, n - 1)  # 'edge' (and 'constant' before the fill)


def region(x: np.ndarray, lo: Sequence[int], length: Sequence[int], boundary: str, fill: Any) -> np.ndarray:
    """``x`` (C, *sp) extended by the boundary rule and cut to ``lo[k] .. lo[k] + length[k]`` per spatial axis.

    Only the region is read (fancy indexing): a lag range costs that range, not the
    whole extended image.  Inside the image it is a view.
    """
    sp = x.shape[1:]
    if all(a >= 0 and a + L <= n for a, L, n in zip(lo, length, sp)):
        return x[(slice(None), *(slice(a, a + L) for a, L in zip(lo, length)))]
    idx = [np.arange(a, a + L) for a, L in zip(lo, length)]
    out = x[np.ix_(np.arange(x.shape[0]), *(boundary_index(i, n, boundary) for i, n in zip(idx, sp)))]
    if boundary == "constant":
        if out.dtype.kind in "biu":
            out = out.astype(np.float64)
        for k, (i, n) in enumerate(zip(idx, sp)):
            outside = (i < 0) | (i >= n)
            if outside.any():
                sl = [slice(None)] * out.ndim
                sl[k + 1] = outside
                out[tuple(sl)] = fill
    return out
