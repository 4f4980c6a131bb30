"""Cost model behind ``method="auto"``.

Each method's time is predicted from operation counts and per-operation costs
that were fitted to timings on the project's reference machine (2-core AMD EPYC
Zen 4, see ``benchmarks/calibrate.py``, which prints fresh constants).  Only
the *ranking* matters, so the constants need to be right to within ~30%.
``choose_method(..., measure=True)`` times the candidates instead.
"""

from __future__ import annotations

import math

from .. import _backend as B
from ._direct import HAVE_CV2
from ._fft import overlap_add_length
from ._geometry import Geometry

# Seconds per unit, float32 (float64 costs ``_F64`` times more), one thread.
# Fitted by benchmarks/calibrate.py on the reference machine.
COST = {
    "fft": 1.9e-9,  # per point * log2(points) of one real transform
    "mem": 1.2e-9,  # per point copied / multiplied
    "cv2": 1.0e-10,  # per output * kernel tap, OpenCV filter2D (float32)
    "cv2_dft_taps": 121,  # filter2D switches to its own DFT at about 11x11 taps
    "ndimage": 7.0e-10,  # per output * kernel tap, scipy.ndimage.correlate
    "call": 2e-5,  # fixed overhead of one call
}
_F64 = 1.6
_THREAD_GAIN = 0.6  # an FFT with 2 threads takes ~0.6x the 1-thread time


def _fft_volume(geom: Geometry, explicit_pad: bool, real: bool):
    lens = [B.good_size(g.min_circular_length(explicit_pad), real) for g in geom.per_axis]
    vol = math.prod(lens)
    x_batch = math.prod(s for ax, s in enumerate(geom.x_shape) if ax not in geom.axes)
    k_batch = math.prod(s for ax, s in enumerate(geom.k_shape) if ax not in geom.axes)
    out_batch = math.prod(s for ax, s in enumerate(geom.batch_shape) if ax not in geom.axes)
    return vol, x_batch, k_batch, out_batch


def fft_cost(geom: Geometry, *, explicit_pad: bool, real: bool, cached_kernel: bool = False, workers: int = 1) -> float:
    vol, xb, kb, ob = _fft_volume(geom, explicit_pad, real)
    logv = math.log2(max(vol, 2))
    transforms = (xb + ob + (0 if cached_kernel else kb)) * vol * logv
    mem = (xb + 2 * ob) * vol
    t = COST["fft"] * transforms * (1 if real else 2) + COST["mem"] * mem
    if workers > 1:
        t *= _THREAD_GAIN
    return t + COST["call"]


def overlap_add_cost(geom: Geometry, *, explicit_pad: bool, real: bool, block_axis: int, workers: int = 1) -> float:
    ib = geom.axes.index(block_axis)
    g = geom.per_axis[ib]
    n_in = g.padded if explicit_pad else g.n
    L = overlap_add_length(g.k, n_in, real)
    blocks = -(-n_in // (L - g.k + 1))
    other = 1
    for ax, ga in zip(geom.axes, geom.per_axis):
        if ax != block_axis:
            other *= B.good_size(ga.min_circular_length(explicit_pad), real)
    vol = blocks * L * other
    xb = math.prod(s for ax, s in enumerate(geom.x_shape) if ax not in geom.axes)
    ob = math.prod(s for ax, s in enumerate(geom.batch_shape) if ax not in geom.axes)
    logv = math.log2(max(L * other, 2))
    t = COST["fft"] * (xb + ob) * vol * logv * (1 if real else 2) + COST["mem"] * (2 * xb + 3 * ob) * vol
    if workers > 1:
        t *= _THREAD_GAIN
    return t + COST["call"]


def direct_cost(geom: Geometry, *, cv2_path: bool, workers: int = 1) -> float:
    out = math.prod(geom.out_shape)
    taps = geom.kernel_volume
    if cv2_path and HAVE_CV2:
        # filter2D switches to a DFT of its own for large kernels; its cost then grows like an FFT's
        t = COST["cv2"] * out * min(taps, COST["cv2_dft_taps"])
        if taps > COST["cv2_dft_taps"]:
            t += COST["fft"] * 3 * out * math.log2(max(out, 2))
        return t + COST["call"]
    return COST["ndimage"] * out * taps + COST["call"]


def best_block_axis(geom: Geometry) -> int | None:
    """The convolved axis where overlap-add helps most (input much longer than the kernel)."""
    best, ratio = None, 0.0
    for ax, g in zip(geom.axes, geom.per_axis):
        r = g.n / g.k
        if r > ratio:
            best, ratio = ax, r
    return best if ratio >= 8 else None


def estimate_costs(geom: Geometry, *, explicit_pad: bool, real: bool, cv2_path: bool, exact_int: bool, workers: int, cached_kernel: bool = False) -> dict[str, float]:
    """Predicted seconds per method (lower is better)."""
    scale = 1.0 if real and not exact_int else _F64
    costs = {
        "direct": direct_cost(geom, cv2_path=cv2_path, workers=workers),
        "fft": fft_cost(geom, explicit_pad=explicit_pad, real=real, cached_kernel=cached_kernel, workers=workers) * scale,
    }
    ax = best_block_axis(geom)
    if ax is not None:
        costs["overlap-add"] = overlap_add_cost(geom, explicit_pad=explicit_pad, real=real, block_axis=ax, workers=workers) * scale
    return costs
