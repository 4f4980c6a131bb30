"""Cost model behind ``method="auto"``.

Each method's time is predicted from operation counts and per-operation costs
that were fitted to timings on the project's reference machine (2-core AMD EPYC
Zen 4, see ``benchmarks/calibrate.py``, which prints fresh constants).  Only
the *ranking* matters, so the constants need to be right to within ~30%.
``choose_method(..., measure=True)`` times the candidates instead.
"""

from __future__ import annotations

import math
from functools import lru_cache

from .. import _backend as B
from ._blocks import block_count, block_length
from ._direct import HAVE_CV2
from ._geometry import Geometry

# Seconds per unit, float32, one thread (float64 costs ``_F64`` times more).
# Fitted to CPU-time measurements on the reference machine; refit with benchmarks/calibrate.py.
COST = {
    "fft": 1.0e-10,  # per point * log2(points) of one real transform, in cache
    "mem": 1.5e-9,  # per point and pass over memory (copies, products, overlap-add)
    "cv2": 5.0e-11,  # per output * kernel tap, OpenCV filter2D
    "cv2_dft_taps": 121,  # filter2D switches to a DFT of its own above about 11x11 taps
    "ndimage": 9.7e-10,  # per output * kernel tap, scipy.ndimage.correlate
    "call": 2e-5,  # fixed overhead of one call
}
_F64 = 1.6
_THREAD_GAIN = 0.6  # 2 threads take ~0.6x the 1-thread time of an FFT
# Whole-array transforms leave the caches: measured 1.3x slower per point in 2-D/3-D
# beyond 2**18 points, and 2.5x for one long 1-D transform (2**22 samples with a 4096-tap
# kernel: one whole-length FFT is 3.7x slower than blocked overlap-add).
_BIG = 1 << 18


def _penalty(lengths) -> float:
    vol = math.prod(lengths)
    if vol <= _BIG:
        return 1.0
    return 2.5 if len(lengths) == 1 else 1.3


def _batches(geom: Geometry):
    xb = math.prod(s for ax, s in enumerate(geom.x_shape) if ax not in geom.axes)
    kb = math.prod(s for ax, s in enumerate(geom.k_shape) if ax not in geom.axes)
    ob = math.prod(s for ax, s in enumerate(geom.batch_shape) if ax not in geom.axes)
    return xb, kb, ob


def fft_cost(geom: Geometry, *, explicit_pad: bool, real: bool, cached_kernel: bool = False, workers: int = 1) -> float:
    """Whole-array FFT: transforms of x, the kernel (unless cached) and the product."""
    lens = [B.fast_length(g.min_circular_length(explicit_pad)) for g in geom.per_axis]
    vol = math.prod(lens)
    xb, kb, ob = _batches(geom)
    transforms = (xb + ob + (0 if cached_kernel else kb)) * vol * math.log2(max(vol, 2)) * _penalty(lens)
    passes = (xb + ob) * vol * (2 if cached_kernel else 3)
    t = COST["fft"] * transforms * (1 if real else 2) + COST["mem"] * passes
    return t * (_THREAD_GAIN if workers > 1 else 1.0) + COST["call"]


def overlap_add_cost(geom: Geometry, *, explicit_pad: bool, real: bool, block_axis: int, workers: int = 1) -> float:
    """Blocked FFT along ``block_axis`` (fused overlap-save in 1-D, overlap-add in N-d)."""
    ib = geom.axes.index(block_axis)
    g = geom.per_axis[ib]
    n_in = g.padded if explicit_pad else g.n
    other = [
        B.fast_length(ga.min_circular_length(explicit_pad))
        for ax, ga in zip(geom.axes, geom.per_axis)
        if ax != block_axis
    ]
    L = block_length(g.k, n_in, real, math.prod(other))
    blocks = block_count(n_in, L - g.k + 1)
    vol = blocks * L * math.prod(other)
    xb, _, ob = _batches(geom)
    one_d = not other
    logv = math.log2(max(L * math.prod(other), 2))
    transforms = (xb + ob) * vol * logv * (0.9 if one_d else 1.0)
    passes = (xb + ob) * vol * (1.5 if one_d else 2)
    t = COST["fft"] * transforms * (1 if real else 2) + COST["mem"] * passes
    return t * (_THREAD_GAIN if workers > 1 else 1.0) + COST["call"]


def direct_cost(geom: Geometry, *, cv2_path: bool, workers: int = 1) -> float:
    """Direct sums (OpenCV filter2D, or scipy.ndimage for what OpenCV cannot do)."""
    out = math.prod(geom.out_shape)
    taps = geom.kernel_volume
    if cv2_path and HAVE_CV2:
        # filter2D switches to a DFT of its own for large kernels; its cost then grows like an FFT's
        if taps <= COST["cv2_dft_taps"]:
            return COST["cv2"] * out * taps + COST["call"]
        # filter2D then runs a tiled DFT of its own: measured about 3x our one-shot FFT
        # (300² ⊛ 300²: 52 ms against 12 ms), a little less for long 1-D signals.
        return 3.0 * fft_cost(geom, explicit_pad=True, real=True, workers=workers)
    return COST["ndimage"] * out * taps + COST["call"]


def best_block_axis(geom: Geometry) -> int | None:
    """The convolved axis where blocking helps most (input much longer than the kernel)."""
    best, ratio = None, 0.0
    for ax, g in zip(geom.axes, geom.per_axis):
        r = g.n / g.k
        if r > ratio:
            best, ratio = ax, r
    return best if ratio >= 8 else None


@lru_cache(maxsize=1024)
def estimate_costs(
    geom: Geometry,
    *,
    explicit_pad: bool,
    real: bool,
    cv2_path: bool,
    exact_int: bool,
    workers: int,
    cached_kernel: bool = False,
) -> dict[str, float]:
    """Predicted seconds per method (lower is better)."""
    scale = 1.0 if real and not exact_int else _F64
    costs = {
        "direct": direct_cost(geom, cv2_path=cv2_path, workers=workers) * (scale if cv2_path else 1.0),
        "fft": fft_cost(geom, explicit_pad=explicit_pad, real=real, cached_kernel=cached_kernel, workers=workers)
        * scale,
    }
    ax = best_block_axis(geom)
    if ax is not None:
        costs["overlap-add"] = (
            overlap_add_cost(geom, explicit_pad=explicit_pad, real=real, block_axis=ax, workers=workers) * scale
        )
    return costs
