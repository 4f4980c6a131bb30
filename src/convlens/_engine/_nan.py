"""Non-finite samples: local propagation at FFT speed, and where they are.

An FFT spreads one NaN over the whole output.  A direct sum spreads it only to
the outputs whose window covers it.  We reproduce the direct sum exactly:
compute the convolution with the non-finite samples set to zero, then mark as
NaN every output whose window (the kernel's whole footprint: ``0 * nan`` is
nan) covers a NaN, and as +-inf those that see infinities of one sign only.
The footprint test is a box sum, done with cumulative sums in O(N) per axis.
"""

from __future__ import annotations

import numpy as np

from ._geometry import Geometry


def nonfinite_report(x: np.ndarray, name: str = "x", *, exhaustive: bool = False) -> str | None:
    """None when ``x`` is all finite, else a sentence saying how many and where the first is."""
    if x.dtype.kind not in "fc":
        return None
    # Fast path: the sum of a finite array is finite unless it overflows; only then look closer.
    with np.errstate(all="ignore"):
        if not exhaustive and np.isfinite(x.sum()):
            return None
    bad = ~np.isfinite(x)
    count = int(bad.sum())
    if count == 0:
        return None
    first = tuple(int(i) for i in np.unravel_index(int(np.argmax(bad)), x.shape))
    return f"{name} contains {count} non-finite value(s) (NaN or inf); the first is at index {first}"


def window_any(mask: np.ndarray, geom: Geometry) -> np.ndarray:
    """For each output, whether any True sample of ``mask`` (already extended) lies in its window."""
    counts = mask.astype(np.int32)
    for ax, g in zip(geom.axes, geom.per_axis):
        c = np.cumsum(counts, axis=ax, dtype=np.int32)
        zero_shape = list(c.shape)
        zero_shape[ax] = 1
        c = np.concatenate([np.zeros(zero_shape, np.int32), c], axis=ax)
        hi = [slice(None)] * c.ndim
        lo = [slice(None)] * c.ndim
        hi[ax] = slice(g.k, g.k + g.out_len)
        lo[ax] = slice(0, g.out_len)
        counts = c[tuple(hi)] - c[tuple(lo)]
    return counts > 0


def apply_nonfinite(result: np.ndarray, xe: np.ndarray, kernel: np.ndarray, geom: Geometry, conv) -> np.ndarray:
    """Put NaN / inf where a direct sum over the extended input ``xe`` would have them.

    ``conv(a, k)`` computes the valid convolution of an extended array (used for
    the sign bookkeeping of infinities, which is rare).
    """
    finite = np.isfinite(xe)
    nan_mask = np.isnan(xe) if xe.dtype.kind == "f" else ~finite
    out_nan = window_any(nan_mask, geom)
    inf_mask = ~finite & ~nan_mask
    out_shape = np.broadcast_shapes(out_nan.shape, result.shape)
    if out_nan.shape != out_shape:
        out_nan = np.broadcast_to(out_nan, out_shape)
    if inf_mask.any():
        pos_inf = (xe == np.inf).astype(np.float64)
        neg_inf = (xe == -np.inf).astype(np.float64)
        kp = (kernel > 0).astype(np.float64)
        kn = (kernel < 0).astype(np.float64)
        kz = (kernel == 0).astype(np.float64)
        plus = conv(pos_inf, kp) + conv(neg_inf, kn)
        minus = conv(pos_inf, kn) + conv(neg_inf, kp)
        zero = conv(pos_inf + neg_inf, kz)
        plus, minus, zero = (np.rint(v) > 0 for v in (plus, minus, zero))
        out_nan = out_nan | zero | (plus & minus)
        result[plus & ~out_nan] = np.inf
        result[minus & ~out_nan] = -np.inf
    result[out_nan] = np.nan
    return result
