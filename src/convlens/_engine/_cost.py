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

import numpy as np

from .. import _backend as B
from ._blocks import block_count, block_length, tile_growth, tile_lengths
from ._cost_table import COST
from ._direct import (
    CV2_ROW_MAX,
    HAVE_CV2,
    NPCONV_FAST_TAPS,
    native_layout,
    native_sum_dtype,
    native_threads,
    native_total_cost,
    npconv_split,
    one_line,
    volume_threads,
)
from ._geometry import Geometry

# One-shot whole-array FFTs whose input buffer is at most this many bytes take the lean path
# (``_fftcall``): no plan is built, so they skip ``call_plan``.  Far below the size where plans
# run in tiles (8 MiB) and where the bookkeeping stops mattering (~1 ms calls).
LEAN_FFT_MAX_BYTES = 1 << 21


def _overhead(cached_kernel: bool, lean: bool = False) -> float:
    """Fixed seconds of one FFT-path call: a plan's call, or a one-shot call (lean or building a plan)."""
    return COST["call"] + COST["call_fft"] + (0.0 if cached_kernel or lean else COST["call_plan"])


def _penalty(lengths) -> float:
    vol = math.prod(lengths)
    if vol <= COST["big_points"]:
        return 1.0
    return COST["big_1d"] if len(lengths) == 1 else COST["big_nd"]


def _batches(geom: Geometry):
    xb = math.prod(s for ax, s in enumerate(geom.x_shape) if ax not in geom.axes)
    kb = math.prod(s for ax, s in enumerate(geom.k_shape) if ax not in geom.axes)
    ob = math.prod(s for ax, s in enumerate(geom.batch_shape) if ax not in geom.axes)
    return xb, kb, ob


def tiled_cost(
    geom: Geometry, whole, *, itemsize: int, real: bool, cached_kernel: bool, workers: int, one_shot: bool = False
) -> float | None:
    """2-D FFT in cache-sized tiles (what the fft and overlap-add plans run when ``tile_lengths``
    prefers tiles to whole transforms of lengths ``whole``), or None when they do not tile.
    ``itemsize``: bytes of one work-dtype point (0: the caller's plan never tiles); ``one_shot``: a plan is
    built for the call (its kernel spectrum may still be made once, ``cached_kernel``)."""
    if len(geom.axes) != 2 or not itemsize:
        return None
    xb, kb, ob = _batches(geom)
    batch = max(xb, ob)
    tiles = tile_lengths(
        tuple(g.k for g in geom.per_axis),
        tuple(g.out_len for g in geom.per_axis),
        tuple(whole),
        itemsize,
        real,
        batch,
        workers,
    )
    if tiles is None:
        return None
    count = math.prod(block_count(g.out_len, t - g.k + 1) for g, t in zip(geom.per_axis, tiles))
    tvol = math.prod(tiles)
    growth = tile_growth(tvol * itemsize * batch)
    work = COST["tile"] * count * tvol * math.log2(tvol) * growth * batch * (1 if real else 2)
    kernel = 0.0 if cached_kernel else COST["fft"] * kb * tvol * math.log2(tvol) * (1 if real else 2)
    t = work + kernel + COST["mem"] * 2 * batch * math.prod(g.out_len for g in geom.per_axis)
    return t * (COST["thread_gain"] if workers > 1 else 1.0) + _overhead(not one_shot)


def _pruned(lens, extents) -> float:
    """The share of a whole N-d transform that ``B.padded_forward`` / ``B.cropped_inverse`` compute.

    ``extents``: the data's length per axis (forward) or the kept crop's (inverse).  Either way the
    pass along axis ``j`` runs only over the rows that the axes before it hold data in (forward:
    those axes are transformed after it; inverse: they were transformed, then cropped, before it),
    and costs its share ``log2(N_j)`` of ``log2(vol)``.
    """
    if len(lens) < 2:
        return 1.0
    frac = [min(e / n, 1.0) for e, n in zip(extents, lens)]
    logs = [math.log2(max(n, 2)) for n in lens]
    return sum(math.prod(frac[:j]) * lg for j, lg in enumerate(logs)) / sum(logs)


def fft_cost(
    geom: Geometry, *, explicit_pad: bool, real: bool, cached_kernel: bool = False, workers: int = 1, itemsize: int = 0
) -> float:
    """Whole-array FFT: transforms of x, the kernel (unless cached) and the product (or tiles, see ``tiled_cost``)."""
    lens = [B.fast_length(g.min_circular_length(explicit_pad)) for g in geom.per_axis]
    tiled = tiled_cost(
        geom,
        lens,
        itemsize=itemsize,
        real=real,
        cached_kernel=cached_kernel,
        workers=workers,
        one_shot=not cached_kernel,
    )
    if tiled is not None:
        return tiled
    vol = math.prod(lens)
    xb, kb, ob = _batches(geom)
    g = geom.per_axis
    x_in = [ga.padded if explicit_pad else ga.n for ga in g]
    fx, fk = _pruned(lens, x_in), _pruned(lens, [ga.k for ga in g])
    fo = _pruned(lens, [ga.out_len for ga in g])
    transforms = (xb * fx + ob * fo + (0 if cached_kernel else kb * fk)) * vol * math.log2(max(vol, 2)) * _penalty(lens)
    passes = (xb + ob) * vol * (2 if cached_kernel else 3)
    t = COST["fft"] * transforms * (1 if real else 2) + COST["mem"] * passes
    lean = not explicit_pad and 0 < xb * vol * itemsize <= LEAN_FFT_MAX_BYTES  # itemsize 0: not a lean caller
    return t * (COST["thread_gain"] if workers > 1 else 1.0) + _overhead(cached_kernel, lean)


def overlap_add_cost(
    geom: Geometry,
    *,
    explicit_pad: bool,
    real: bool,
    block_axis: int,
    workers: int = 1,
    itemsize: int = 0,
    cached_kernel: bool = False,
) -> float:
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
    if other:  # N-d: the plan runs in tiles where they beat its blocks (the kernel spectrum is made once)
        whole = [
            blocks * L if ax == block_axis else B.fast_length(ga.min_circular_length(explicit_pad))
            for ax, ga in zip(geom.axes, geom.per_axis)
        ]
        tiled = tiled_cost(
            geom, whole, itemsize=itemsize, real=real, cached_kernel=True, workers=workers, one_shot=not cached_kernel
        )
        if tiled is not None:
            return tiled
    vol = blocks * L * math.prod(other)
    xb, kb, ob = _batches(geom)
    one_d = not other
    logv = math.log2(max(L * math.prod(other), 2))
    transforms = (xb + ob) * vol * logv * (COST["oa_1d_fft"] if one_d else 1.0)
    passes = (xb + ob) * vol * (COST["oa_1d_mem"] if one_d else COST["oa_nd_mem"])
    t = COST["fft"] * transforms * (1 if real else 2) + COST["mem"] * passes
    if not one_d:  # N-d blocks: measured slower against the whole-array FFT than the model's points
        # say (more so in float64), and a one-shot call transforms the kernel at one block's size
        # (1-D: ducc0's fused overlap-save does that in place)
        t *= COST["oa_nd"] * (COST["oa_nd_f64"] if itemsize == (8 if real else 16) else 1.0)
        if not cached_kernel:
            t += COST["fft"] * kb * L * math.prod(other) * logv * (1 if real else 2)
    return t * (COST["thread_gain"] if workers > 1 else 1.0) + _overhead(cached_kernel)


def direct_cost(geom: Geometry, *, cv2_path: bool, workers: int = 1, real: bool = True, native: str = "") -> float:
    """A direct sum on the back end the direct path would use (see ``_direct``).

    ``native``: the working dtype's name where the compiled sum runs it (else empty).
    """
    if native:  # the compiled sum, in the dtype and layout it runs in
        work = np.dtype(native)
        sd = native_sum_dtype(geom, work)
        layout = native_layout(geom, sd)
        one = native_total_cost(geom, work)
        if layout is None:  # a volume: its chunks of planes are shared among threads
            threaded = volume_threads(geom, sd.itemsize == 8, workers) > 1
        else:
            threaded = native_threads(layout.geom, sd.itemsize == 8, workers) > 1
        return one * (COST["thread_gain"] if threaded else 1.0) + COST["call"]
    out = math.prod(geom.out_shape)
    taps = geom.kernel_volume
    line = one_line(geom)
    # OpenCV splits a plane's rows over the threads; a long signal runs in pieces (numpy.convolve)
    # or strips (OpenCV) side by side
    pieces = npconv_split(out, taps, workers) if not cv2_path else geom.per_axis[0].padded > CV2_ROW_MAX
    gain = COST["thread_gain"] if workers > 1 and (not line or pieces) else 1.0
    if cv2_path and HAVE_CV2:  # only below OpenCV's DFT switch (the recipe checks it)
        per = COST["cv2_row"] * taps if line else COST["cv2"] * taps + COST["cv2_out"]
        rows = 0 if line else out // geom.out_shape[-1]
        return (per * out + rows * COST["cv2_line"]) * gain + COST["call"]
    if line:
        if taps <= NPCONV_FAST_TAPS:  # numpy's small-kernel loop
            return out * taps * COST["npconv_short"] * gain + COST["call"]
        short = min(taps, 64)
        per = COST["npconv"] * short + COST["npconv_long"] * (taps - short)
        return out * per * gain + COST["call"]
    # real kernels usually go to ndimage; complex ones (and zero or tiny taps) to the tap loop
    return COST["ndimage" if real else "taps"] * out * taps + COST["call"]


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
    double: bool = False,
    itemsize: int = 0,
    native: str = "",
) -> dict[str, float]:
    """Predicted seconds per method (lower is better).

    ``itemsize``: bytes of one point of the work dtype (large 2-D FFTs then run in tiles).
    ``double``: the sums run in float64.  That slows OpenCV (half the SIMD lanes) by
    ``cv2_f64`` more than it slows the other methods, whose float32/float64 costs
    move together and leave their ranking alone (the compiled sum: ``native_f64``).
    ``native``: the working dtype's name where the direct path runs the compiled sum
    (``_direct.native_ok``), else empty.
    """
    if workers > 1:  # the FFT paths run on one thread where threads would not pay (``fft_threads``)
        one = estimate_costs(
            geom,
            explicit_pad=explicit_pad,
            real=real,
            cv2_path=cv2_path,
            exact_int=exact_int,
            workers=1,
            cached_kernel=cached_kernel,
            double=double,
            itemsize=itemsize,
            native=native,
        )
    scale = 1.0 if real and not exact_int else COST["f64"]
    cv2_scale = COST["cv2_f64"] if double or exact_int else 1.0
    costs = {
        "direct": direct_cost(geom, cv2_path=cv2_path, workers=workers, real=real, native=native)
        * (cv2_scale if cv2_path else 1.0),
        "fft": fft_cost(
            geom, explicit_pad=explicit_pad, real=real, cached_kernel=cached_kernel, workers=workers, itemsize=itemsize
        )
        * scale,
    }
    ax = best_block_axis(geom)
    if ax is not None:
        costs["overlap-add"] = (
            overlap_add_cost(
                geom,
                explicit_pad=explicit_pad,
                real=real,
                block_axis=ax,
                workers=workers,
                itemsize=itemsize,
                cached_kernel=cached_kernel,
            )
            * scale
        )
    if workers > 1:
        for m, c in one.items():
            if m != "direct" and fft_threads(c, workers) == 1:
                costs[m] = c
    return costs


def fft_threads(one_thread_cost: float | None, workers: int) -> int:
    """Threads an FFT path of this predicted 1-thread cost runs on.

    Below ``thread_min`` seconds the hand-offs between threads (each transform of a small plan is
    split and joined again) cost more than they save: on the reference machine 256**2 (x) 63**2 in
    float32 took 0.7 ms on one thread and 1.4 ms on two, 65536 (x) 1001 0.6 against 0.8 ms.
    """
    if workers <= 1 or one_thread_cost is None:
        return workers
    return workers if one_thread_cost >= COST["thread_min"] else 1
