"""Local sums of an image over every template-sized window, and their round-off bounds.

The sums ``sum I`` and ``sum I**2`` of every window are running sums (integral
images, Lewis 1995) in float64: O(N) whatever the window.  A running sum is as
accurate as the *prefix* it is a difference of, so a window's error follows the
energy of everything before it, not the window's own.  :func:`stats_error` bounds
that error; the callers flag windows whose own variance is not far above it and
recompute them locally (``_refine``), so that a window's accuracy depends only on
that window.
"""

from __future__ import annotations

import importlib.util
import math
import threading
from collections.abc import Callable, Sequence

import numpy as np

EPS64 = float(np.finfo(np.float64).eps)

# OpenCV's integral images (sum and squared sum in float64, one pass) serve 2-D data;
# imported on first use, so that importing this lens stays light.
HAVE_CV2 = importlib.util.find_spec("cv2") is not None

try:  # the compiled window sums (``_boxsums.c``), built where a C compiler was found
    from . import _boxsums
except ImportError:  # pragma: no cover - built in every supported install
    _boxsums = None
HAVE_BOXSUMS = _boxsums is not None

SumsReader = Callable[[int, int], tuple[np.ndarray, np.ndarray]]


def window_sums(a: np.ndarray, wshape: Sequence[int]) -> np.ndarray:
    """Sums of ``a`` (C, *sp) over every window of ``wshape`` fully inside, in float64.

    Separable running sums: per axis a cumulative sum and one difference.  Along
    leading axes a loop of whole-slice adds is used: NumPy's ``cumsum`` over a
    non-contiguous axis is about 5x slower.
    """
    s = np.asarray(a, dtype=np.float64)
    # +inf and -inf in one running sum give NaN: that is the signal (a non-finite sum marks a
    # strip to rerun with its non-finite samples masked), not a warning for the user
    with np.errstate(invalid="ignore"):
        for k, m in enumerate(wshape):
            ax = k + 1
            n = s.shape[ax]
            moved = np.moveaxis(s, ax, 0)
            c = np.empty((n + 1, *moved.shape[1:]), dtype=np.float64)
            c[0] = 0
            if ax == s.ndim - 1 or moved[0].size < 64:
                np.cumsum(moved, axis=0, out=c[1:])
            else:
                for i in range(n):
                    np.add(c[i], moved[i], out=c[i + 1])
            s = np.moveaxis(c[m:] - c[: n + 1 - m], 0, ax)
    return np.ascontiguousarray(s)


def sums_reader(xs: np.ndarray, wshape: Sequence[int]) -> tuple[SumsReader, float]:
    """``(read, energy)``: ``read(r0, r1)`` gives the window sums of ``xs`` and ``xs**2`` for output rows r0..r1.

    ``xs`` is (C, *sp); ``energy`` is ``sum xs**2`` (float64), the scale of the round-off.
    The sums returned may be overwritten by the caller; they stay valid until the
    next ``read`` on the same thread.  2-D single-channel data use OpenCV's float64
    integral images when available (see :func:`_integral_reader`).
    """
    if xs.shape[0] == 1 and len(wshape) == 2 and xs.dtype in (np.float32, np.float64):
        if HAVE_BOXSUMS:
            return _box_reader(np.ascontiguousarray(xs[0]), wshape)
        if HAVE_CV2:
            return _integral_reader(xs[0], wshape)
    sq = np.square(xs, dtype=np.float64)
    B_all, C_all = window_sums(xs, wshape), window_sums(sq, wshape)

    def read(r0: int, r1: int) -> tuple[np.ndarray, np.ndarray]:
        return B_all[:, r0:r1], C_all[:, r0:r1]

    return read, float(sq.sum())


# Scratch of the integral reader, kept from one strip (and one search) to the next by the
# main thread while it is at most _SCRATCH_BYTES: a first write to fresh memory costs a page
# fault per 4 KiB (measured: a 13 MB integral pair took 7 ms fresh, 0.6 ms reused).  Other
# threads (strips on workers, Dask's pool) allocate theirs per strip, so at most one set
# stays alive in a process.
_scratch = threading.local()
_SCRATCH_BYTES = 64 << 20


def _buffers(name: str, shapes: tuple[tuple[int, int], ...]) -> tuple[np.ndarray, ...]:
    """float64 arrays of ``shapes`` for this thread: the kept ones when they are at least as large."""
    kept = getattr(_scratch, name, None)
    if kept is not None and all(k.shape[0] >= s[0] and k.shape[1] == s[1] for k, s in zip(kept, shapes)):
        return tuple(k[: s[0]] for k, s in zip(kept, shapes))
    new = tuple(np.empty(s) for s in shapes)
    if threading.current_thread() is threading.main_thread() and sum(b.nbytes for b in new) <= _SCRATCH_BYTES:
        setattr(_scratch, name, new)
    return new


def _integral_reader(x: np.ndarray, wshape: Sequence[int]) -> tuple[SumsReader, float]:
    """:func:`sums_reader` for one 2-D channel: OpenCV's integral images, read by two differences each.

    The integral images and the differences go to this thread's scratch buffers
    (the caller is done with one strip's reader before it asks for the next).
    """
    import cv2

    h, w = x.shape[0] + 1, x.shape[1] + 1
    S, Q = _buffers("integrals", ((h, w), (h, w)))
    cv2.integral2(x, sum=S, sqsum=Q, sdepth=cv2.CV_64F, sqdepth=cv2.CV_64F)
    m, n = wshape
    width = w - n

    def read2d(r0: int, r1: int) -> tuple[np.ndarray, np.ndarray]:
        rows = r1 - r0
        tmp, B, Cc = _buffers("rows", ((rows, w), (rows, width), (rows, width)))
        # rows first (whole rows: contiguous), then columns; OpenCV's strided differences
        # run about twice as fast as NumPy's on these views
        for integral, dst in ((S, B), (Q, Cc)):
            cv2.subtract(integral[r0 + m : r1 + m], integral[r0:r1], dst=tmp)
            cv2.subtract(tmp[:, n:], tmp[:, :width], dst=dst)
        return B[np.newaxis], Cc[np.newaxis]

    return read2d, float(Q[-1, -1])


def _box_reader(x: np.ndarray, wshape: Sequence[int]) -> tuple[SumsReader, float]:
    """:func:`sums_reader` for one 2-D channel: the compiled window sums of each block of rows.

    Each ``read`` computes its rows' sums while they are in cache (``_boxsums.c``), starting
    afresh, into this thread's scratch buffers; no strip-sized array is made.
    """
    (h, w), (m, n) = x.shape, wshape
    width = w - n + 1

    def read2d(r0: int, r1: int) -> tuple[np.ndarray, np.ndarray]:
        B, Cc = _buffers("box", ((r1 - r0, width), (r1 - r0, width)))
        _boxsums.window_sums(x, B, Cc, h, w, m, n, r0, r1)
        return B[np.newaxis], Cc[np.newaxis]

    def variance(r0: int, r1: int, dst: np.ndarray, scale: float) -> None:
        """``dst`` (C-contiguous, rows r0..r1) = ``Cc - scale * B**2``, computed in float64."""
        _boxsums.window_variance(x, dst, h, w, m, n, r0, r1, scale)

    read2d.variance = variance  # the fused pass of a score that needs only the variance
    return read2d, _boxsums.energy(x)


def stats_error(energy: float, shape: Sequence[int]) -> float:
    """Bound on the round-off of a window's ``sum (I - mean)**2`` from running sums over a block of ``shape``.

    The difference of prefix sums carries about ``eps * energy`` of the block
    (measured: at most 8 eps E on photos and noise, 2-D, windows 16² and 64²), grown
    with the accumulation length; ``max(sqrt(sum(shape)), 16) eps E`` leaves a margin.
    """
    return max(math.sqrt(sum(int(s) for s in shape)), 16.0) * EPS64 * energy


def fft_error(eps_work: float, energy: float, size: int, kernel_l1: float) -> float:
    """Bound on the round-off of one output of an FFT correlation of a block (``size`` points, ``energy``).

    The error spreads over the block: about ``eps * rms(x) * max|K|`` per output,
    with ``max|K| <= sum|k|`` and a ``sqrt(log2 N)`` growth through the transforms
    (measured on photos, float32: at most 6 eps rms sum|k| / sqrt(n); the factor 3
    sqrt(log2 N) leaves a margin).
    """
    rms = math.sqrt(max(energy, 0.0) / max(size, 1))
    return 3.0 * math.sqrt(math.log2(max(size, 2))) * eps_work * rms * kernel_l1


def unsure_threshold(e_fft: float, e_stats: float, t_energy: float, tol: float) -> float:
    """Window energies (variance sums) at or below this may carry a score error above ``tol``.

    The score error is about ``e_fft / sqrt(s_i * s_t) + e_stats / (2 s_i)`` for a
    window energy ``s_i`` and template energy ``s_t``: each term is kept below ``tol / 2``.
    """
    a = (2.0 * e_fft / tol) ** 2 / max(t_energy, np.finfo(np.float64).tiny)
    return max(a, e_stats / tol)


def box_range(x: np.ndarray, valid: np.ndarray | None, wshape: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Minimum and maximum of ``x`` (C, *sp) over every window (valid pixels only), per channel.

    A window whose box holds one value (on its valid pixels) is flat, whatever the
    template mask: an exact test, independent of any sum.
    """
    from scipy import ndimage  # minimum / maximum filters, not convolutions

    size = (1, *wshape)
    origin = (0, *(-(m // 2) for m in wshape))  # window starting at the index
    lo_in = x if valid is None else np.where(valid, x, np.inf)
    hi_in = x if valid is None else np.where(valid, x, -np.inf)
    lo = ndimage.minimum_filter(lo_in, size=size, origin=origin, mode="nearest")
    hi = ndimage.maximum_filter(hi_in, size=size, origin=origin, mode="nearest")
    crop = (slice(None), *(slice(0, n - m + 1) for n, m in zip(x.shape[1:], wshape)))
    return lo[crop], hi[crop]
