"""Direct (spatial) convolution for small kernels.

Two compiled back ends, picked per call:

* OpenCV's ``filter2D`` for 2-D float32/float64 planes (SIMD loops; about 10x
  faster than ``scipy.ndimage`` on a 3x3 kernel over a 4096² image).  NumPy
  boundary rules map onto OpenCV's border types, so 'same' needs no padding copy.
* ``scipy.ndimage.correlate`` for everything else (any ndim, complex).

Both compute a correlation, so the kernel is flipped here.  Anchors: OpenCV and
ndimage both centre a kernel of length K at index K // 2, which is exactly the
centring of scipy's 'same' mode (also for even K).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

import numpy as np
import scipy.ndimage as ndi

from ._geometry import Geometry

try:
    import cv2

    HAVE_CV2 = True
except ImportError:  # pragma: no cover
    cv2 = None
    HAVE_CV2 = False

_CV_BORDER = {}
if HAVE_CV2:
    _CV_BORDER = {
        "constant": cv2.BORDER_CONSTANT,
        "edge": cv2.BORDER_REPLICATE,
        "symmetric": cv2.BORDER_REFLECT,
        "reflect": cv2.BORDER_REFLECT_101,
    }

_cv_lock = threading.Lock()


@contextmanager
def _cv_threads(n: int):
    # cv2's thread count is process-global; hold a lock so concurrent calls don't fight over it.
    with _cv_lock:
        old = cv2.getNumThreads()
        cv2.setNumThreads(n)
        try:
            yield
        finally:
            cv2.setNumThreads(old)


def _cv2_ok(a: np.ndarray, kernel: np.ndarray, geom: Geometry) -> bool:
    """True when OpenCV can do this convolution plane by plane (last two axes)."""
    if not HAVE_CV2 or a.dtype not in (np.float32, np.float64) or kernel.dtype.kind != "f":
        return False
    nd = a.ndim
    if not all(ax >= nd - 2 for ax in geom.axes):
        return False
    # a non-convolved axis among the last two must not carry a per-row kernel
    return all(kernel.shape[ax] == 1 for ax in range(max(nd - 2, 0), nd) if ax not in geom.axes)


# OpenCV's filter2D switches to a DFT of its own at 50 kernel taps (130 for float32),
# after which a NaN would spread; below that every back end here sums directly.
DIRECT_SUM_TAPS = 50


def direct_is_local(geom: Geometry, kernel: np.ndarray) -> bool:
    """True when the direct path gives a direct sum's NaN/inf by itself.

    Both back ends skip zero weights (so ``0 * nan`` would be lost): only kernels
    without zero taps qualify.
    """
    return geom.kernel_volume < DIRECT_SUM_TAPS and bool(np.all(kernel != 0))


def convolve_direct(
    a: np.ndarray, kernel: np.ndarray, geom: Geometry, *, padded: bool, boundary: str, workers: int
) -> np.ndarray:
    """Direct convolution of ``a`` with ``kernel``.

    ``a`` is x itself (``padded=False``; the boundary rule is applied here) or x
    already extended by the boundary rule (``padded=True``; the valid part is kept).
    """
    dtype = np.result_type(a.dtype, kernel.dtype)
    if _cv2_ok(a.astype(dtype, copy=False), kernel.astype(dtype, copy=False), geom):
        a, kernel = a.astype(dtype, copy=False), kernel.astype(dtype, copy=False)
        border_ok = geom.mode != "full" and boundary in _CV_BORDER and all(g.k <= g.n for g in geom.per_axis)
        # OpenCV quirk (measured): a one-row image with BORDER_CONSTANT runs ~15x slower on
        # freshly allocated memory; padding ourselves avoids that border mode.
        border_ok = border_ok and not (a.ndim == 1 and boundary == "constant")
        if not padded and not border_ok:
            a, padded = pad(a, geom, boundary), True
        return _direct_cv2(a, kernel, geom, padded, boundary, workers)
    if not padded:
        a = pad(a, geom, boundary)
    return _direct_ndimage(a, kernel, geom)


def pad(a: np.ndarray, geom: Geometry, boundary: str, fill_value=0) -> np.ndarray:
    """Extend ``a`` past its edges by ``numpy.pad``'s rule, as far as the outputs need."""
    if boundary == "constant":
        return np.pad(a, geom.pad_width, mode="constant", constant_values=fill_value)
    return np.pad(a, geom.pad_width, mode=boundary)


def _direct_cv2(a, kernel, geom: Geometry, padded: bool, boundary: str, workers: int) -> np.ndarray:
    nd = a.ndim
    kf = np.flip(kernel, axis=geom.axes)
    # With explicit padding the kept (valid) outputs never read OpenCV's border: any mode
    # works, and BORDER_CONSTANT is the slow one (see convolve_direct).
    border = cv2.BORDER_REFLECT_101 if padded else _CV_BORDER[boundary]
    # Position of output sample 0 in filter2D's same-size output (anchor at K // 2):
    # filter2D sample j is full-convolution sample j + (K - 1 - K // 2).
    plane = [slice(None), slice(None)]
    for ax, g in zip(geom.axes, geom.per_axis):
        st = g.k // 2 if padded else g.offset - (g.k - 1 - g.k // 2)
        plane[ax - nd + 2 if nd >= 2 else 1] = slice(st, st + g.out_len)
    plane = tuple(plane)
    lead = geom.batch_shape[: max(nd - 2, 0)]
    if not lead:  # one plane: return filter2D's result (cropped view) without another copy
        x2, k2 = (a[None, :], kf[None, :]) if nd == 1 else (a, kf)
        with _cv_threads(workers):
            res = cv2.filter2D(np.ascontiguousarray(x2), -1, np.ascontiguousarray(k2), borderType=border)[plane]
        return res[0] if nd == 1 else res
    out = np.empty(geom.out_shape, dtype=a.dtype)
    with _cv_threads(workers):
        for idx in np.ndindex(*lead):
            xi = tuple(i if a.shape[d] > 1 else 0 for d, i in enumerate(idx))
            ki = tuple(i if kf.shape[d] > 1 else 0 for d, i in enumerate(idx))
            x2, k2 = a[xi], kf[ki]
            if nd == 1:
                x2, k2 = x2[None, :], k2[None, :]
            res = cv2.filter2D(np.ascontiguousarray(x2), -1, np.ascontiguousarray(k2), borderType=border)[plane]
            out[idx] = res[0] if nd == 1 else res
    return out


def _direct_ndimage(a, kernel, geom: Geometry) -> np.ndarray:
    dtype = np.result_type(a.dtype, kernel.dtype)
    if dtype.kind not in "fc":
        dtype = np.dtype(np.float64)
    a = a.astype(dtype, copy=False)
    kf = np.flip(kernel, axis=geom.axes).astype(dtype, copy=False)
    if kf.dtype.kind == "c":
        kf = np.conj(kf)  # ndimage.correlate conjugates complex weights; undo it for a convolution
    # ndimage needs equal ndim and broadcasts nothing: expand x along kernel batch axes.
    if any(kd > xd for kd, xd in zip(kf.shape, a.shape)):
        shape = tuple(max(kd, xd) if ax not in geom.axes else xd for ax, (kd, xd) in enumerate(zip(kf.shape, a.shape)))
        a = np.broadcast_to(a, shape)
    if any(kf.shape[ax] > 1 for ax in range(a.ndim) if ax not in geom.axes):
        # a different kernel per batch index: loop over the batch axes that differ
        out = np.empty(geom.out_shape, dtype=dtype)
        batch_axes = [ax for ax in range(a.ndim) if ax not in geom.axes and kf.shape[ax] > 1]
        for idx in np.ndindex(*[a.shape[ax] for ax in batch_axes]):
            sl_a = [slice(None)] * a.ndim
            for ax, i in zip(batch_axes, idx):
                sl_a[ax] = slice(i, i + 1)
            res = ndi.correlate(a[tuple(sl_a)], kf[tuple(sl_a)], mode="constant", cval=0.0)
            out[tuple(sl_a)] = _valid_crop(res, geom)
        return out
    res = ndi.correlate(a, kf, mode="constant", cval=0.0)
    return _valid_crop(res, geom)


def _valid_crop(res: np.ndarray, geom: Geometry) -> np.ndarray:
    index = [slice(None)] * res.ndim
    for ax, g in zip(geom.axes, geom.per_axis):
        index[ax] = slice(g.k // 2, g.k // 2 + g.out_len)
    return res[tuple(index)]


def convolve_exact_int(a: np.ndarray, kernel: np.ndarray, geom: Geometry) -> np.ndarray:
    """Exact integer convolution by summing shifted copies (one per non-zero tap).

    Used when the values are too large for float64 to represent every partial
    sum exactly (|x| * sum|k| >= 2**53).  ``a`` must already be extended.
    """
    if a.dtype == object:  # Python integers: no overflow at all
        acc_dtype = object
    else:
        acc_dtype = np.uint64 if a.dtype.kind == "u" and kernel.dtype.kind in "ub" else np.int64
    out = np.zeros(geom.out_shape, dtype=acc_dtype)
    a = a.astype(acc_dtype, copy=False)
    kern = kernel.astype(acc_dtype, copy=False)
    # one pass per tap position of the convolved axes (a kernel may differ along batch axes)
    taps = sorted({tuple(int(m[ax]) for ax in geom.axes) for m in zip(*np.nonzero(kernel))})
    for tap in taps:
        index = [slice(None)] * a.ndim
        kidx = [slice(None)] * a.ndim
        for ax, g, m in zip(geom.axes, geom.per_axis, tap):
            # full index i uses x index i - m; valid part of the padded input starts at K - 1
            start = g.k - 1 - m
            index[ax] = slice(start, start + g.out_len)
            kidx[ax] = slice(m, m + 1)
        out += a[tuple(index)] * kern[tuple(kidx)]
    return out
