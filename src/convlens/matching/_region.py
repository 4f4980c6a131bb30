"""The part of an image a search reads, extended beyond its edges by ``numpy.pad``'s rules."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._engine import extended_indices

__all__ = ["region"]


def region(x: np.ndarray, lo: Sequence[int], length: Sequence[int], boundary: str, fill: Any) -> np.ndarray:
    """``x`` (C, *sp) extended by the boundary rule and cut to ``lo[k] .. lo[k] + length[k]`` per spatial axis.

    Only the region is read (fancy indexing): a lag range costs that range, not the
    whole extended image.  Inside the image it is a view.
    """
    sp = x.shape[1:]
    if all(a >= 0 and a + L <= n for a, L, n in zip(lo, length, sp)):
        return x[(slice(None), *(slice(a, a + L) for a, L in zip(lo, length)))]
    idx = [np.arange(a, a + L) for a, L in zip(lo, length)]
    # the engine's index map: -1 marks the constant fill (read as the last sample, overwritten below)
    src = (extended_indices(a, a + L, n, boundary) for a, L, n in zip(lo, length, sp))
    out = x[np.ix_(np.arange(x.shape[0]), *src)]
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
