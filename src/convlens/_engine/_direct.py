"""Direct (spatial) convolution: a true direct sum for every size and dtype.

``method="direct"`` promises the numbers of a literal sum of products (no FFT
anywhere, so near-overflow data stays finite and huge dynamic ranges keep their
small values).  Four back ends, each of them a genuine sum; :func:`direct_route`
picks one per geometry once (the lean path of repeated calls keeps it):

* convlens' own compiled sum (``_directsum``, C with AVX2/FMA where the CPU has
  them) for real and complex convolutions over the last one or two axes with one
  kernel for the whole batch, wherever the cost model ranks it first (nearly
  everywhere: 2-12x numpy.convolve on 1-D signals, 1.1-2.5x OpenCV on planes).
  Its outputs whose taps reach past x's edge run the vector loops on small
  zero-filled copies of the columns they read (an edge of 1 or 2 columns in a
  scalar loop), and rows narrower than a block of vectors go 4 at a time; where
  the cost model finds a padded copy of x cheaper it pads first instead.
  Over three axes (a volume: x's last three) it runs plane by plane of the kernel,
  chunks of output planes at a time (:func:`native_volume`).
  It sums in float32 or float64 (:func:`native_sum_dtype`): float32 kernels of
  ``NATIVE_F32_MAX_TAPS`` taps or more are summed in float64 and rounded once,
  and a complex convolution is four real ones (the real and imaginary parts of
  x and kernel), so neither falls to the slow back ends below.
* OpenCV's ``filter2D`` for 2-D float32/float64 planes below the size where it
  switches to a DFT of its own (measured on OpenCV 5.0: from 50 taps in float64,
  130 in float32 -- a NaN then spreads over the whole plane).  SIMD loops; about
  10x faster than ``scipy.ndimage`` on a 3x3 kernel over a 4096² image.  NumPy
  boundary rules map onto OpenCV's border types, so 'same' needs no padding copy.
* the same ``filter2D`` for one 1-D signal as a one-row image, for kernels of
  ``CV2_ROW_MIN_TAPS`` taps or more (fewer on long signals; in strips of
  ``ROW_STRIP`` outputs for very long ones: OpenCV slows down on long rows).
* ``numpy.convolve`` for the other 1-D signals (dot products over every tap),
  in one piece per thread for long signals with ``workers > 1``.
* ``scipy.ndimage.correlate`` for other real inputs whose kernel is one for the
  whole batch and has no weight with ``|w| <= 2.2e-16``: ndimage silently drops
  such weights (zeros included, so ``0 * nan`` would be lost), and its 1-D
  ``correlate1d`` even treats a kernel as symmetric within that tolerance, so
  outside this case it is not a direct sum.
* a loop over the kernel taps with whole-array shifted products (``out += k[m] *
  x[shifted]``) for what the compiled sum cannot take: four or more convolved
  axes, a volume whose kernel differs along a batch axis, ``longdouble``.

OpenCV computes a correlation, so the kernel is flipped for it.  It centres a
kernel of length K at index K // 2, which is exactly the centring of scipy's
'same' mode (also for even K).
"""

from __future__ import annotations

import math
import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise

import numpy as np
import scipy.ndimage as ndi

from ._blocks import block_input, output_blocks
from ._cost_table import COST
from ._geometry import Geometry, axis_geometry, make_geometry
from ._threads import even_parts, run_shares

try:
    from . import _directsum

    HAVE_NATIVE = True
except ImportError:  # pragma: no cover - installed without a C compiler: NumPy and OpenCV alone
    _directsum = None
    HAVE_NATIVE = False

try:
    import cv2

    HAVE_CV2 = True
except ImportError:  # pragma: no cover
    cv2 = None
    HAVE_CV2 = False

# Outputs x taps up to which one windowed product replaces the loop over taps (the
# temporary holds that many elements: 2**22 float64 is 32 MiB).
_WINDOW_PRODUCT_LIMIT = 2**22
# scipy.ndimage builds offset tables that grow with the kernel's footprint; past this
# many taps it can fail with a bare MemoryError, so larger kernels use the tap loop.
_NDIMAGE_MAX_TAPS = 4096

_CV_BORDER = {}
if HAVE_CV2:
    _CV_BORDER = {
        "constant": cv2.BORDER_CONSTANT,
        "edge": cv2.BORDER_REPLICATE,
        "symmetric": cv2.BORDER_REFLECT,
        "reflect": cv2.BORDER_REFLECT_101,
    }

_cv_lock = threading.Lock()


def filter2d(a: np.ndarray, kf: np.ndarray, border: int, workers: int) -> np.ndarray:
    """``cv2.filter2D`` on one plane with ``workers`` threads (a correlation with ``kf``).

    ``a`` and ``kf`` are made C-contiguous (a no-op when they are).

    cv2's thread count is process-global: a lock keeps concurrent calls from fighting over
    it, and it is only changed (and restored) when it differs (a few hundred ns a call).
    """
    with _cv_lock:
        old = cv2.getNumThreads()
        if old != workers:
            cv2.setNumThreads(workers)
        try:
            return cv2.filter2D(np.ascontiguousarray(a), -1, np.ascontiguousarray(kf), borderType=border)
        finally:
            if old != workers:
                cv2.setNumThreads(old)


# filter2D is a direct sum below these tap counts and a DFT from them on (OpenCV 5.0, measured;
# the same for one-row kernels)
CV2_DIRECT_TAPS = {np.dtype(np.float32): 130, np.dtype(np.float64): 50}
# One 1-D signal: filter2D on a one-row image beats numpy.convolve (one dot product per output,
# with a fast path up to 11 taps) from this many taps on -- 4096 (x) 31 in float32: ~10 us against
# ~100 us -- and from CV2_ROW_MIN_TAPS_LONG taps on signals of CV2_ROW_LONG samples or more (65536 (x) 8
# in float32: ~80 us against ~120 us; on short ones OpenCV's fixed cost dominates).  Rows up to this length
# go in one call; a row of 2**20 samples runs 10-20x slower per sample than one of 2**16 (2**23 (x) 3
# in float32: ~155 ms in one row), so a longer signal goes in strips of ROW_STRIP outputs, each a
# one-row image of its samples and halo (2**20 (x) 31 in float32: ~3 ms, overlap-add ~3.5-5 ms);
# with workers > 1 the strips run side by side.
NPCONV_FAST_TAPS = 11  # numpy.convolve's small-kernel loop (measured on NumPy 2.4: a 5x cliff at 12 taps)
CV2_ROW_MIN_TAPS = NPCONV_FAST_TAPS + 1
CV2_ROW_MIN_TAPS_LONG = 8
CV2_ROW_LONG = 1 << 15
CV2_ROW_MAX = 1 << 17
ROW_STRIP = 1 << 16
# numpy.convolve is single-threaded (and releases the GIL): with workers > 1 a long signal is cut
# into pieces of at most NPCONV_PIECE outputs, each thread taking an equal run of them.  Small pieces
# matter: each piece is numpy's own temporary, and temporaries above glibc's mmap threshold (32 MiB)
# are fresh pages that both threads fault in at once (2**23 (x) 3 in float64 in two halves: ~2.5x
# *slower* than one thread).  The split pays from NPCONV_SPLIT_TAPS taps and NPCONV_SPLIT_WORK
# outputs * taps (2**20 (x) 11: ~1.3-1.6x on 2 threads, 2**22 (x) 11 in float64: ~1.3x).  Below that
# many taps numpy's loop is bound by memory, not arithmetic: in the benchmark's conditions (other
# large allocations between calls) 2**23 (x) 3 on 2 threads ran 0.95-1.3x in float32 and 0.35-0.55x
# in float64, its 64 MiB output faulted in from both threads at once.
NPCONV_SPLIT_TAPS = 8
NPCONV_SPLIT_WORK = 1 << 23
NPCONV_PIECE = 1 << 17
# A piece of P outputs convolves P + taps - 1 input samples (its full convolution, cropped): the
# pieces redo (taps - 1) / P of the work each.  Pieces are therefore at least NPCONV_PIECE_TAPS times
# the kernel, and a signal runs on no more threads than it has such pieces (4096 (x) 4096 'full' in
# two halves computed the whole convolution twice: no faster on 2 threads, 2.7x slower on 7).
NPCONV_PIECE_TAPS = 8


def npconv_threads(outputs: int, taps: int, workers: int) -> int:
    """Threads ``npconvolve`` runs a signal of ``outputs`` outputs on (1: one ``numpy.convolve``)."""
    if workers <= 1 or taps < NPCONV_SPLIT_TAPS or outputs * taps < NPCONV_SPLIT_WORK:
        return 1
    return max(1, min(workers, outputs // (NPCONV_PIECE_TAPS * taps)))


def npconv_split(outputs: int, taps: int, workers: int) -> bool:
    """Whether ``npconvolve`` cuts a signal of ``outputs`` outputs into pieces per thread."""
    return npconv_threads(outputs, taps, workers) > 1


def npconvolve(a: np.ndarray, kern: np.ndarray, crop: slice, workers: int) -> np.ndarray:
    """``numpy.convolve(a, kern)[crop]`` of 1-D arrays, in pieces per thread where that pays."""
    threads = npconv_threads(crop.stop - crop.start, kern.size, workers)
    if threads <= 1:
        return np.convolve(a, kern)[crop]
    return npconvolve_pieces(a, kern, crop, threads)


def npconvolve_pieces(a: np.ndarray, kern: np.ndarray, crop: slice, workers: int) -> np.ndarray:
    """``numpy.convolve(a, kern)[crop]`` in pieces, ``workers`` threads each taking an equal run of them."""
    start, stop = crop.start, crop.stop
    n, k = stop - start, kern.size
    piece = max(NPCONV_PIECE, NPCONV_PIECE_TAPS * k)  # long next to the kernel (see NPCONV_PIECE_TAPS)
    count = -(-max(-(-n // piece), workers) // workers) * workers  # a multiple of workers
    bounds = [start + n * i // count for i in range(count + 1)]
    pieces = list(pairwise(bounds))
    out = np.empty(n, dtype=np.result_type(a, kern))

    def run(share) -> None:
        for j0, j1 in share:
            # full outputs j0 .. j1-1 read a[j - k + 1 .. j]: the piece's own full convolution, shifted
            s0 = max(0, j0 - k + 1)
            out[j0 - start : j1 - start] = np.convolve(a[s0 : min(a.size, j1)], kern)[j0 - s0 : j1 - s0]

    per = count // workers
    run_shares(run, [pieces[i * per : (i + 1) * per] for i in range(workers)])
    return out


def one_line(geom: Geometry) -> bool:
    """One 1-D signal and one 1-D kernel along one convolved axis (numpy.convolve's case)."""
    if len(geom.axes) != 1:
        return False
    ax = geom.axes[0]
    return all(s == 1 for d, s in enumerate(geom.x_shape) if d != ax) and all(
        s == 1 for d, s in enumerate(geom.k_shape) if d != ax
    )


NATIVE_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
# The compiled sum adds each output's terms one after another in the input's dtype, as OpenCV
# does.  In float32 that keeps the error of OpenCV's direct sum (measured on a photograph: 1.6e-7
# of the largest output at 9 taps, 7e-7 at 121), but past OpenCV's own limit of direct taps the
# rounding grows (961 taps: 2.6e-6), so longer float32 kernels are summed in float64 and rounded
# once, as ndimage does (1024² (x) 15² float32: 21 ms, against 283 ms in ndimage).
NATIVE_F32_MAX_TAPS = CV2_DIRECT_TAPS[np.dtype(np.float32)]
# With workers > 1 the compiled sum shares its output rows (one long row: its columns) among
# threads when it is predicted to take at least this long on one (a thread hand-off costs ~20 us;
# the sums of short calls are bound by memory as much as by arithmetic).
NATIVE_SPLIT_SECONDS = 5e-4
NATIVE_PIECE = 1 << 12  # ... in pieces of at least this many outputs


def _plane_axes(geom: Geometry):
    """The per-axis geometry of the plane's two axes (a stand-in of size 1 for a 1-D x's missing row,
    and for a plane axis that is not convolved)."""
    nd = len(geom.x_shape)
    for d in ([None] if nd == 1 else [nd - 2]) + [nd - 1]:
        if d is not None and d in geom.axes:
            yield geom.per_axis[geom.axes.index(d)]
        else:
            yield axis_geometry(1 if d is None else geom.x_shape[d], 1, "valid")


@lru_cache(maxsize=1024)
def _native_layout(geom: Geometry, extended: bool) -> tuple[int, int, int, int, int, int]:
    """(KH, KW, MH, MW, sh, sw): the compiled sum's plane of this geometry.

    The plane is x's last two axes (a 1-D x is one row); output (i, j) is full-convolution
    sample (i + sh, j + sw) of the plane, or valid sample (i, j) of an ``extended`` x.
    """
    gh, gw = _plane_axes(geom)
    kh, kw, mh, mw = gh.k, gw.k, gh.out_len, gw.out_len
    sh, sw = (gh.k - 1, gw.k - 1) if extended else (gh.offset, gw.offset)
    return kh, kw, mh, mw, sh, sw


# Mirrors _directsum.c: edges of output columns whose taps reach past x, at least this many
# columns wide, run the vector loops on a zero-filled copy of the columns they read (narrower
# ones, one output at a time, in the scalar loop)
STRIP_MIN_COLS = 3


def _native_edge_costs(geom: Geometry, double: bool) -> tuple[float, float]:
    """(zero extension by the compiled sum itself, a zero-padded copy of x first): seconds each adds
    to the vector loop's work on every output.

    With zero extension an edge of 1 or 2 columns takes the scalar loop (about half the taps an
    output, ``native_edge`` each); a wider one, or a whole row with no vector's width of columns
    inside x, runs the vector loops on a zero-filled copy (``_directsum.c``): its outputs rounded up
    to one vector, plus the copy.  Rows (or strips) narrower than one block of 8 vectors run one
    vector of 4 rows at a time, ~1.3x slower per output * tap (``native_narrow``).
    """
    lanes = 4 if double else 8
    kh, kw, _, mw, _, sw = _native_layout(geom, False)
    rows = math.prod(geom.out_shape) // mw
    taps = geom.kernel_volume
    vec = COST["native"] * (COST["native_f64"] if double else 1.0)
    slow = vec * (COST["native_narrow"] - 1)

    def narrow(width: int) -> float:  # extra seconds of a vector part ``width`` outputs wide
        return rows * taps * width * slow if lanes <= width < 8 * lanes else 0.0

    def strip(width: int) -> float:  # extra seconds of ``width`` outputs a row computed on a copy
        m = max(width, lanes)
        copied = rows * (m + kw - 1) * (8 if double else 4) * 2  # bytes read and written, in cache
        return rows * taps * (m - width) * vec + narrow(m) + copied * COST["native_byte"]

    padded = math.prod(s + w0 + w1 for s, (w0, w1) in zip(geom.x_shape, geom.pad_width))
    # rows with less than a vector's width inside x run in strips too, with a loop overhead per output
    # row and kernel row that dominates at a few taps a row (20000 rows of 2 (x) 31 x 1 float64: 0.75 ms,
    # against 0.24 ms for the transposed 1-D sums)
    every = strip(mw) + rows * kh * COST["native_row"]
    # a padded copy: its passes over memory, and one more allocation and assignment (~ a call's overhead)
    padded_cost = COST["mem"] * 2 * padded + COST["call"] + (every if mw < lanes else narrow(mw))
    jlo = min(max(kw - 1 - sw, 0), mw)
    jhi = min(max(geom.x_shape[-1] - sw, jlo), mw)
    if jhi - jlo < lanes:
        return every, padded_cost
    zero_ext = narrow(jhi - jlo)
    for edge in (jlo, mw - jhi):
        if edge >= STRIP_MIN_COLS:
            zero_ext += strip(edge)
        elif edge:
            zero_ext += rows * edge * taps / 2 * COST["native_edge"]
    return zero_ext, padded_cost


def native_pads(geom: Geometry, double: bool) -> bool:
    """Whether the compiled sum extends x by zeros first (cheaper than its scalar loop on the edges)."""
    scalar, copy = _native_edge_costs(geom, double)
    return scalar > copy


def native_cost(geom: Geometry, double: bool) -> float:
    """Predicted seconds of the compiled sum on one thread (float32 units of the cost model).

    The vector loop for every output, plus the cheaper of the scalar loop on the edge
    outputs and a zero-extended copy of x.
    """
    vec = COST["native"] * (COST["native_f64"] if double else 1.0)
    return math.prod(geom.out_shape) * geom.kernel_volume * vec + min(_native_edge_costs(geom, double))


def _other_direct_cost(geom: Geometry, dtype: np.dtype) -> float:
    """Predicted seconds of the direct back end the compiled sum would replace (one thread)."""
    work = math.prod(geom.out_shape) * geom.kernel_volume
    if _cv2_possible(geom, dtype):
        if one_line(geom):
            t = work * COST["cv2_row"]
        else:
            out = math.prod(geom.out_shape)
            t = work * COST["cv2"] + out * COST["cv2_out"] + out // geom.out_shape[-1] * COST["cv2_line"]
        return t * (COST["cv2_f64"] if dtype.itemsize == 8 else 1.0) + COST["cv2_call"]
    if one_line(geom):
        taps = geom.kernel_volume
        if taps <= NPCONV_FAST_TAPS:
            return work * COST["npconv_short"]
        return work / taps * (COST["npconv"] * min(taps, 64) + COST["npconv_long"] * max(taps - 64, 0))
    return work * COST["ndimage" if dtype.kind == "f" else "taps"]


@dataclass(frozen=True)
class NativeLayout:
    """Where the compiled sum runs a geometry: on x as it is, or with the convolved axes moved last."""

    perm: tuple[int, ...]  # () for x as it is; else x.transpose(perm) has the convolved axes last
    geom: Geometry  # the geometry the sum sees (of the transposed x)
    cost: float  # predicted seconds on one thread, copies included (float32 units)


def moved_geometry(geom: Geometry, perm: tuple[int, ...]) -> Geometry:
    """The geometry of ``x.transpose(perm)`` and ``kernel.transpose(perm)``."""
    axes = tuple(sorted(perm.index(a) for a in geom.axes))
    return make_geometry(tuple(geom.x_shape[d] for d in perm), tuple(geom.k_shape[d] for d in perm), axes, geom.mode)


@lru_cache(maxsize=1024)
def native_layout(geom: Geometry, dtype: np.dtype) -> NativeLayout | None:
    """The cheaper of the layouts the compiled sum can run this geometry in, or None where it cannot.

    It needs at most two axes with a kernel longer than 1.  Those axes must be x's last two
    -- else (or where the last axis is too short for the vector loop: a stereo signal of
    shape (n, 2) along axis 0) x is transposed into a contiguous copy with them last, and the
    result back, two passes over memory that pay for themselves many times on a channels-last
    image.  A kernel that differs along a batch axis (one per channel) runs plane by plane
    (row by row where that axis is the plane's unconvolved first axis).
    """
    dtype = np.dtype(dtype)
    if not HAVE_NATIVE or dtype not in NATIVE_DTYPES:
        return None
    if dtype.itemsize == 4 and geom.kernel_volume >= NATIVE_F32_MAX_TAPS:
        return None
    nd = len(geom.x_shape)
    conv = _long_axes(geom)
    if len(conv) > 2:
        return None
    # batch axes along which the kernel differs: one call of the compiled sum per plane
    per_plane = {d for d in range(nd) if d not in geom.axes and geom.k_shape[d] != 1}
    calls = 0.0
    if per_plane:
        calls = math.prod(geom.out_shape[d] for d in per_plane) * COST["call"] * 0.3
    double = dtype.itemsize == 8
    options = []
    # planes (or rows) have their own kernels only along the axes before the last: a kernel that
    # differs along an unconvolved last axis (one filter per column of an (n, channels) signal)
    # takes the transposed layout, which moves that axis first
    if all(ax >= nd - 2 for ax in conv) and nd - 1 not in per_plane:
        options.append(NativeLayout((), geom, native_cost(geom, double) + calls))
    perm = tuple([d for d in range(nd) if d not in conv] + conv)
    if perm != tuple(range(nd)):
        moved = moved_geometry(geom, perm)
        copies = COST["mem"] * 2 * (math.prod(geom.x_shape) + math.prod(geom.out_shape))
        options.append(NativeLayout(perm, moved, native_cost(moved, double) + copies + calls))
    return min(options, key=lambda o: o.cost) if options else None


def _long_axes(geom: Geometry) -> list[int]:
    """The convolved axes whose kernel is longer than 1 (the others change nothing but the shape)."""
    return [ax for ax, g in zip(geom.axes, geom.per_axis) if g.k > 1]


def native_sum_dtype(geom: Geometry, work: np.dtype) -> np.dtype | None:
    """The real dtype the compiled sum runs a direct convolution of working dtype ``work`` in.

    float32 and complex64 sum in float32 below ``NATIVE_F32_MAX_TAPS`` taps and in
    float64 from there on (rounded once at the end); float64 and complex128 in float64.
    None where the compiled sum cannot take it (not built, other dtypes).

    >>> from convlens._engine._geometry import make_geometry
    >>> g = make_geometry((64, 64), (15, 15), (0, 1), "same")
    >>> str(native_sum_dtype(g, np.dtype(np.complex64))) if HAVE_NATIVE else 'float64'
    'float64'
    """
    work = np.dtype(work)
    if not HAVE_NATIVE or work.kind not in "fc":
        return None
    base = np.dtype(np.finfo(work).dtype)  # complex64 -> float32
    if base not in NATIVE_DTYPES:
        return None
    if base.itemsize == 4 and geom.kernel_volume >= NATIVE_F32_MAX_TAPS:
        return np.dtype(np.float64)
    return base


def native_total_cost(geom: Geometry, work: np.dtype) -> float | None:
    """Predicted seconds of the compiled sum on one thread for working dtype ``work``, or None.

    A float32 sum widened to float64 adds its casts; a complex convolution is four
    real sums, with x split into its real and imaginary parts and the result joined.
    """
    sd = native_sum_dtype(geom, work)
    if sd is None:
        return None
    layout = native_layout(geom, sd)
    if layout is not None:
        cost, sums = layout.cost, native_cost(layout.geom, sd.itemsize == 8)
    elif volume_ok(geom):
        cost = sums = volume_cost(geom, sd.itemsize == 8)
    else:
        return None
    moved = math.prod(geom.x_shape) + math.prod(geom.out_shape)
    if np.dtype(work).kind == "c":
        # four sums; a transposition's copies (if any) once, fused with the split; the join
        return 4 * sums + (cost - sums) + COST["mem"] * 2 * moved
    return cost + (COST["mem"] * 2 * moved if sd != work else 0.0)


# -- volumes: three convolved axes, one plane of the kernel at a time ----------------------------
# Output planes go in chunks of about this many bytes, so that a chunk's partial sums stay in cache
VOLUME_CHUNK_BYTES = 256 << 10


def volume_ok(geom: Geometry) -> bool:
    """Whether the compiled sum runs this geometry as a volume (see :func:`native_volume`):
    three axes with a kernel longer than 1, x's last three, and one kernel for the whole batch."""
    nd = len(geom.x_shape)
    if _long_axes(geom) != [nd - 3, nd - 2, nd - 1]:
        return False
    return all(geom.k_shape[d] == 1 for d in range(nd) if d not in geom.axes)


def _plane_geometry(geom: Geometry) -> Geometry:
    """The 2-D geometry of one plane of a volume (its last two axes)."""
    return make_geometry(geom.x_shape[-2:], geom.k_shape[-2:], (0, 1), geom.mode)


def volume_cost(geom: Geometry, double: bool) -> float:
    """Predicted seconds of :func:`native_volume` on one thread (float32 units of the cost model)."""
    plane = _plane_geometry(geom)
    kd, md = geom.k_shape[-3], geom.out_shape[-3]
    planes = math.prod(geom.out_shape) // math.prod(plane.out_shape)
    # every kernel plane over every output plane, and the partial sums added in cache
    per_plane = native_cost(plane, double) * kd + COST["mem"] * 0.5 * (kd - 1) * math.prod(plane.out_shape)
    calls = kd * -(-md // _chunk_planes(plane, 8 if double else 4)) * (planes // md)
    return per_plane * planes + calls * COST["call"] * 0.3


def volume_pads(geom: Geometry, double: bool) -> bool:
    """Whether a volume is extended by zeros first: its planes' edge loops (run once for every kernel
    plane) cost more than one copy."""
    zero_ext, padded = _native_edge_costs(_plane_geometry(geom), double)
    return geom.k_shape[-3] * zero_ext > padded


def volume_threads(geom: Geometry, double: bool, workers: int) -> int:
    """Threads :func:`native_volume` shares its chunks among (1 below ``NATIVE_SPLIT_SECONDS`` of work)."""
    if workers <= 1 or volume_cost(geom, double) < NATIVE_SPLIT_SECONDS:
        return 1
    return min(workers, os.cpu_count() or 1)


def _chunk_planes(plane: Geometry, itemsize: int) -> int:
    return max(1, VOLUME_CHUNK_BYTES // (math.prod(plane.out_shape) * itemsize))


def native_volume(a: np.ndarray, kern: np.ndarray, geom: Geometry, *, extended: bool, workers: int) -> np.ndarray:
    """The compiled sum over three axes: each output plane is the sum, over the kernel's planes,
    of 2-D compiled sums of the x planes they meet.

    ``a`` (x, zero-extended implicitly, or x ``extended`` already) and ``kern`` have the dtype the
    sum runs in (float32 or float64); :func:`volume_ok` holds.  Output plane ``d`` (full
    convolution plane ``d + s``) adds ``sum_t conv2d(x[d + s - t], kern[t])`` over the kernel
    planes ``t`` whose x plane exists (the others add exactly zero: the kernel is finite).  The
    output planes go in chunks of ``VOLUME_CHUNK_BYTES`` whose partial sums stay in cache; with
    ``workers > 1`` the chunks are shared among threads (every output is computed the same way
    wherever it is: the split does not change a bit).
    """
    plane = _plane_geometry(geom)
    double = a.dtype.itemsize == 8
    p = native_shapes(plane, extended, double, 1)
    gd = geom.per_axis[-3]
    shift = gd.k - 1 if extended else gd.offset  # output plane d is full-convolution plane d + shift
    x = a if a.flags.c_contiguous else np.ascontiguousarray(a)
    k = (kern if kern.flags.c_contiguous else np.ascontiguousarray(kern)).reshape(kern.shape[-3:])
    depth, md = x.shape[-3], geom.out_shape[-3]
    lead = geom.out_shape[:-3]
    xs = x.reshape((-1, *x.shape[-3:]))
    if xs.shape[0] != math.prod(lead):  # x broadcast along a batch axis the kernel does not have
        xs = np.ascontiguousarray(np.broadcast_to(x, (*lead, *x.shape[-3:]))).reshape((-1, *x.shape[-3:]))
    out = np.empty(geom.out_shape, dtype=a.dtype)
    outs = out.reshape((-1, *out.shape[-3:]))
    step = _chunk_planes(plane, a.dtype.itemsize)
    chunks = [(b, d0, min(d0 + step, md)) for b in range(xs.shape[0]) for d0 in range(0, md, step)]
    run = _directsum.convolve_plane
    rest = p.dims[1:]
    window = (0, p.dims[5], 0, p.dims[6])

    def share(part: list[tuple[int, int, int]]) -> None:
        # inf - inf is nan in any direct sum: no warning (errstate is per thread: set in each share)
        with np.errstate(invalid="ignore", over="ignore"):
            add_chunks(part, tmp=np.empty((step, *out.shape[-2:]), dtype=a.dtype))

    def add_chunks(part: list[tuple[int, int, int]], tmp: np.ndarray) -> None:
        for b, d0, d1 in part:
            dst, first = outs[b, d0:d1], True
            for t in range(k.shape[0]):
                lo, hi = max(d0, t - shift), min(d1, depth - shift + t)  # planes whose x plane exists
                if lo >= hi:
                    continue
                src = xs[b, lo + shift - t : hi + shift - t]
                if first and (lo, hi) == (d0, d1):
                    run(src, k[t], dst, hi - lo, *rest, *window)
                else:
                    if first:
                        dst[...] = 0
                    part_out = tmp[: hi - lo]
                    run(src, k[t], part_out, hi - lo, *rest, *window)
                    dst[lo - d0 : hi - d0] += part_out
                first = False
            if first:  # no kernel plane meets x (cannot happen in any mode; kept for safety)
                dst[...] = 0

    threads = volume_threads(geom, double, workers)
    run_shares(share, [chunks[sl] for sl in even_parts(len(chunks), threads)])
    return out


@lru_cache(maxsize=1024)
def native_ok(geom: Geometry, dtype: np.dtype) -> bool:
    """True when the compiled sum runs this direct convolution (see the module docstring).

    Complex data takes it wherever it can, whatever the cost: ``numpy.convolve``'s complex dot
    products give nan where a literal multiply-add gives inf (``(inf + 0j) * (1 + 1j)``).
    """
    cost = native_total_cost(geom, dtype)
    if cost is None:
        return False
    return (np.dtype(dtype).kind == "c" and one_line(geom)) or cost <= _other_direct_cost(geom, np.dtype(dtype))


def native_bytes(geom: Geometry, work: np.dtype) -> int:
    """Bytes the compiled sum needs beyond x and the output, for working dtype ``work``: x cast
    to its sum dtype and the result in it (float32 summed in float64; a complex x split into real
    parts, up to four real results; a volume's chunk of partial sums)."""
    sd = native_sum_dtype(geom, work)
    if sd is None or native_total_cost(geom, work) is None:
        return 0
    padded = math.prod(s + w0 + w1 for s, (w0, w1) in zip(geom.x_shape, geom.pad_width))
    out = math.prod(geom.out_shape)
    extra = 0
    if np.dtype(work).kind == "c":
        extra = (2 * padded + 4 * out) * sd.itemsize
    elif sd != work:
        extra = (padded + out) * sd.itemsize
    if native_layout(geom, sd) is None:  # a volume: one chunk of partial sums per thread
        extra += 2 * VOLUME_CHUNK_BYTES
    return extra


@lru_cache(maxsize=1024)
def native_threads(geom: Geometry, double: bool, workers: int) -> int:
    """Threads the compiled sum runs on (1 below ``NATIVE_SPLIT_SECONDS`` of predicted work)."""
    if workers <= 1:
        return 1
    # Short sums are bound by memory as much as by arithmetic: count the bytes read and written
    # (1 M float64 samples (x) 3 taps: 0.18 ms of arithmetic predicted, 0.65 ms measured, and
    # 0.45 ms on two threads; 1 M float32 samples: 0.19 ms, and slower on two).
    moved = (math.prod(geom.x_shape) + math.prod(geom.out_shape)) * (8 if double else 4)
    if native_cost(geom, double) + moved * COST["native_byte"] < NATIVE_SPLIT_SECONDS:
        return 1
    _, _, mh, mw, _, _ = _native_layout(geom, False)
    lines = mh if mh > 1 else mw // NATIVE_PIECE  # rows, or pieces of one long row
    return max(1, min(workers, lines, os.cpu_count() or 1))  # more shares than cores would only queue


@dataclass(frozen=True)
class NativeShapes:
    """The compiled sum's sizes for one geometry, worked out once (small calls notice microseconds)."""

    dims: tuple[int, ...]  # B, H, W, KH, KW, MH, MW, sh, sw (see _directsum.c)
    bounds: tuple[int, ...]  # rows (or one long row's columns) of each thread's share
    by_rows: bool
    out_shape: tuple[int, ...]

    @property
    def whole(self) -> tuple[int, ...]:
        """``convolve_plane``'s sizes and window for all outputs on one thread."""
        return (*self.dims, 0, self.dims[5], 0, self.dims[6])


@lru_cache(maxsize=1024)
def native_shapes(geom: Geometry, extended: bool, double: bool, workers: int) -> NativeShapes:
    """The :class:`NativeShapes` of a compiled sum on ``workers`` threads at most."""
    kh, kw, mh, mw, sh, sw = _native_layout(geom, extended)
    batch = math.prod(geom.out_shape) // (mh * mw)
    # x's plane (an extended x: its valid outputs are exactly the kept ones)
    h, w = (kh - 1 + mh, kw - 1 + mw) if extended else (g.n for g in _plane_axes(geom))
    threads = native_threads(geom, double, workers)
    by_rows = mh > 1
    n = mh if by_rows else mw
    return NativeShapes(
        dims=(batch, h, w, kh, kw, mh, mw, sh, sw),
        bounds=tuple(n * t // threads for t in range(threads + 1)),
        by_rows=by_rows,
        out_shape=tuple(geom.out_shape),
    )


def native_sum(
    a: np.ndarray, kern: np.ndarray, geom: Geometry, *, extended: bool, workers: int, shapes: NativeShapes | None = None
) -> np.ndarray:
    """The compiled direct sum of ``a`` (x, zero-extended implicitly, or x ``extended`` already) and ``kern``.

    Both have the dtype the sum runs in (float32 or float64; see :func:`native_sum_dtype`).
    ``shapes``: ``native_shapes(geom, extended, ...)``, where the caller holds it already.
    """
    p = shapes or native_shapes(geom, extended, a.dtype.itemsize == 8, workers)
    x = a if a.flags.c_contiguous else np.ascontiguousarray(a)
    h = kern if kern.flags.c_contiguous else np.ascontiguousarray(kern)
    out = np.empty(p.out_shape, dtype=a.dtype)
    run = _directsum.convolve_plane
    dims, bounds = p.dims, p.bounds
    if h.size != dims[3] * dims[4]:  # a kernel for each plane, or for each row (see native_layout)
        by_row = h.ndim >= 2 and h.shape[-2] != dims[3]
        lead = out.shape[:-1] if by_row else out.shape[:-2]
        planes = list(np.ndindex(*lead))
        # a row: one plane of one row (its kernel is one row too, so the row offset is 0)
        one = (1, 1, *dims[2:5], 1, dims[6], 0, dims[8]) if by_row else (1, *dims[1:])
        one = (*one, 0, one[5], 0, one[6])

        def pick(arr: np.ndarray, index: tuple[int, ...]) -> np.ndarray:  # broadcast along size-1 axes
            return arr[tuple(i if n > 1 else 0 for i, n in zip(index, arr.shape))]

        def planes_share(part: list[tuple[int, ...]]) -> None:
            for index in part:
                run(pick(x, index), pick(h, index), out[index], *one)

        threads = min(len(bounds) - 1, len(planes))
        run_shares(planes_share, [planes[sl] for sl in even_parts(len(planes), threads)])
        return out
    if len(bounds) == 2:
        run(x, h, out, *p.whole)
        return out
    mh, mw = dims[5], dims[6]
    # equal runs of rows (or of one long row's columns): every output adds its terms in the
    # same order wherever it is computed, so the split does not change a single bit

    def share(lo: int, hi: int) -> None:
        if p.by_rows:
            run(x, h, out, *dims, lo, hi, 0, mw)
        else:
            run(x, h, out, *dims, 0, mh, lo, hi)

    run_shares(lambda b: share(*b), pairwise(bounds))
    return out


def _cv2_possible(geom: Geometry, dtype: np.dtype) -> bool:
    """True when OpenCV can do this convolution plane by plane (last two axes) as a direct sum.

    One 1-D signal goes to OpenCV as a one-row image (in strips when long) only for
    kernels of ``CV2_ROW_MIN_TAPS`` taps or more (``CV2_ROW_MIN_TAPS_LONG`` on long
    signals); otherwise to ``numpy.convolve`` (faster there: no border copy).
    """
    dtype = np.dtype(dtype)
    if not HAVE_CV2 or dtype not in CV2_DIRECT_TAPS or geom.kernel_volume >= CV2_DIRECT_TAPS[dtype]:
        return False
    nd = len(geom.x_shape)
    if one_line(geom) and geom.axes[0] >= nd - 2:  # filter2D's planes are the last two axes
        g = geom.per_axis[0]
        return g.k >= CV2_ROW_MIN_TAPS or (g.k >= CV2_ROW_MIN_TAPS_LONG and g.padded >= CV2_ROW_LONG)
    if not all(ax >= nd - 2 for ax in geom.axes):
        return False
    # a non-convolved axis among the last two must not carry a per-row kernel
    return all(geom.k_shape[ax] == 1 for ax in range(max(nd - 2, 0), nd) if ax not in geom.axes)


def cv2_direct_ok(geom: Geometry, dtype: np.dtype) -> bool:
    """True when the direct path runs OpenCV's filter2D (it can, and the compiled sum is not faster)."""
    return _cv2_possible(geom, dtype) and not native_ok(geom, np.dtype(dtype))


@dataclass(frozen=True)
class Route:
    """How the direct path runs one geometry, decided once (see :func:`direct_route`)."""

    backend: str  # 'native' (the compiled sum), 'volume' (the same over three axes), 'npconv' (numpy.convolve,
    # cropped), 'cv2' (filter2D), 'cv2rows' (filter2D in strips) or 'taps'
    pad: bool  # extend x by the boundary rule first (else the back end applies it)
    border: int = 0  # 'cv2': OpenCV's border type
    plane: tuple = ()  # 'cv2': crop of filter2D's same-size output, on the last two axes
    crop: slice | None = None  # 'npconv': crop of the full convolution
    padded: bool = False  # 'cv2rows', 'native': x arrives already extended (its valid part is kept)
    perm: tuple = ()  # 'native': x is transposed so first (``NativeLayout``)
    sum_dtype: np.dtype | None = None  # 'native', 'volume': the real dtype it sums in (``native_sum_dtype``)

    def native_on(self, work: np.dtype) -> bool:
        """The compiled sum on x of working dtype ``work`` as it is: no padding, transposition, cast or split."""
        return self.backend == "native" and not self.pad and not self.perm and self.sum_dtype == work

    @property
    def opencv(self) -> bool:
        """OpenCV runs it: the kernel goes flipped (filter2D correlates), zero taps are skipped."""
        return self.backend in ("cv2", "cv2rows")


@lru_cache(maxsize=1024)
def direct_route(geom: Geometry, boundary: str, fill_zero: bool, dtype: np.dtype, padded: bool) -> Route:
    """The back end and its fixed arguments for a direct convolution of this geometry.

    ``dtype`` is the working dtype of x and a real or complex kernel (a complex
    kernel never goes to OpenCV); ``padded`` says x arrives already extended.
    """
    line = one_line(geom)
    if native_ok(geom, dtype):
        # the compiled sum extends by zeros itself (its edge outputs in a scalar loop): other
        # boundaries, and edges where that loop would cost more than a copy, pad first
        sd = native_sum_dtype(geom, dtype)
        layout = native_layout(geom, sd)
        if layout is None:  # a volume (``volume_ok``)
            zero_ext = boundary == "constant" and fill_zero and not volume_pads(geom, sd.itemsize == 8)
            return Route("volume", not padded and not zero_ext, padded=padded, sum_dtype=sd)
        zero_ext = boundary == "constant" and fill_zero and not native_pads(layout.geom, sd.itemsize == 8)
        return Route("native", not padded and not zero_ext, padded=padded, perm=layout.perm, sum_dtype=sd)
    # wrap, and a non-zero constant fill, have no OpenCV border of their own: pad first
    extend = not padded and (boundary == "wrap" or (boundary == "constant" and not fill_zero))
    if line and not padded and not extend and boundary == "constant" and not cv2_direct_ok(geom, dtype):
        g = geom.per_axis[0]  # zero extension: numpy's full convolution, cropped
        return Route("npconv", False, crop=slice(g.offset, g.offset + g.out_len))
    if dtype.kind == "f" and cv2_direct_ok(geom, dtype):
        if line and geom.per_axis[0].padded > CV2_ROW_MAX:
            return Route("cv2rows", False, padded=padded)  # strips read their own extension (block_input)
        border_ok = geom.mode != "full" and boundary in _CV_BORDER and all(g.k <= g.n for g in geom.per_axis)
        # OpenCV quirk (measured): a one-row image with BORDER_CONSTANT runs ~15x slower on
        # freshly allocated memory; padding ourselves avoids that border mode.
        border_ok = border_ok and not (line and boundary == "constant") and not extend
        pad_first = not padded and not border_ok
        # With explicit padding the kept (valid) outputs never read OpenCV's border: any mode
        # works, and BORDER_CONSTANT is the slow one.
        border = cv2.BORDER_REFLECT_101 if padded or pad_first else _CV_BORDER[boundary]
        return Route("cv2", pad_first, border, _cv2_plane(geom, padded or pad_first))
    return Route("taps", not padded)


def _cv2_plane(geom: Geometry, padded: bool) -> tuple:
    """Crop of filter2D's same-size output on the last two axes (a 1-D x is one row)."""
    # Position of output sample 0 in filter2D's same-size output (anchor at K // 2):
    # filter2D sample j is full-convolution sample j + (K - 1 - K // 2).
    nd = len(geom.x_shape)
    plane = [slice(None), slice(None)]
    for ax, g in zip(geom.axes, geom.per_axis):
        st = g.k // 2 if padded else g.offset - (g.k - 1 - g.k // 2)
        plane[ax - nd + 2 if nd >= 2 else 1] = slice(st, st + g.out_len)
    return tuple(plane)


def convolve_direct(
    a: np.ndarray,
    kernel: np.ndarray,
    geom: Geometry,
    *,
    padded: bool,
    boundary: str,
    workers: int,
    fill_value=0,
) -> np.ndarray:
    """Direct convolution of ``a`` with ``kernel``.

    ``a`` is x itself (``padded=False``; the boundary rule is applied here) or x
    already extended by the boundary rule (``padded=True``; the valid part is kept).
    """
    dtype = np.result_type(a.dtype, kernel.dtype)
    if dtype.kind not in "fc":
        dtype = np.dtype(np.float64)
    route = direct_route(geom, boundary, bool(fill_value == 0), dtype, padded)
    kern = kernel.astype(dtype, copy=False)
    if route.opencv:
        kern = np.flip(kern, axis=geom.axes)
    return run_route(route, a.astype(dtype, copy=False), kern, geom, boundary, fill_value, workers)


def run_route(
    route: Route, a: np.ndarray, kern: np.ndarray, geom: Geometry, boundary: str, fill_value, workers: int
) -> np.ndarray:
    """Run a :class:`Route` on ``a`` and ``kern``, both of the working dtype.

    For 'cv2' ``kern`` is the kernel flipped along the convolved axes (filter2D correlates).
    """
    if route.pad:
        a = pad(a, geom, boundary, fill_value)
    if route.backend == "volume":
        return _native_parts(a, kern, geom, route.sum_dtype, route.pad or route.padded, workers, native_volume)
    if route.backend == "native":
        extended = route.pad or route.padded
        if not route.perm:
            return _native_parts(a, kern, geom, route.sum_dtype, extended, workers)
        # the convolved axes last, in contiguous copies; the result transposed back (contiguous, as elsewhere)
        perm = route.perm
        moved = moved_geometry(geom, perm)
        res = _native_parts(a.transpose(perm), kern.transpose(perm), moved, route.sum_dtype, extended, workers)
        return np.ascontiguousarray(res.transpose(np.argsort(perm)))
    if route.backend == "npconv":
        if a.ndim == 1:
            return npconvolve(a, kern, route.crop, workers)
        return npconvolve(a.reshape(-1), kern.reshape(-1), route.crop, workers).reshape(geom.out_shape)
    if route.backend == "cv2":
        return _direct_cv2(a, kern, geom, route, workers)
    if route.backend == "cv2rows":
        return _cv2_rows(a, kern, geom, route.padded, boundary, fill_value, workers)
    return tap_sum(a, kern, geom)


def _native_parts(
    a: np.ndarray, kern: np.ndarray, geom: Geometry, sd: np.dtype, extended: bool, workers: int, summer=None
) -> np.ndarray:
    """The compiled sum in its dtype ``sd``: a real x cast (where ``sd`` is wider), a complex one in parts.

    A complex convolution is ``(xr + i xi) * (kr + i ki) = (xr*kr - xi*ki) + i (xr*ki + xi*kr)``:
    the same products as a complex sum, added in another order.  With a real kernel (``ki`` all
    zero) two sums suffice wherever every output is finite; where one is not, the two sums with
    ``ki`` run as well, so that ``0 * nan`` and ``0 * inf`` turn into nan in both parts exactly
    as a complex multiply-add would have it.
    """

    summer = summer or native_sum

    def run(x: np.ndarray, k: np.ndarray) -> np.ndarray:
        return summer(
            np.ascontiguousarray(x, dtype=sd),
            np.ascontiguousarray(k, dtype=sd),
            geom,
            extended=extended,
            workers=workers,
        )

    if a.dtype.kind != "c":
        res = run(a, kern)
        if res.dtype == a.dtype:
            return res
        with np.errstate(over="ignore"):  # a float64 sum beyond float32's range is inf, as a float32 sum
            return res.astype(a.dtype)
    kr, ki = kern.real, kern.imag
    rr, ir = run(a.real, kr), run(a.imag, kr)
    out = np.empty(rr.shape, dtype=a.dtype)
    if not ki.any():
        with np.errstate(invalid="ignore"):
            finite = bool(np.isfinite(rr).all() and np.isfinite(ir).all())
        if finite:
            with np.errstate(over="ignore"):
                out.real, out.imag = rr, ir
            return out
    ri, ii = run(a.real, ki), run(a.imag, ki)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf is nan in any direct sum
        np.subtract(rr, ii, out=out.real)
        np.add(ri, ir, out=out.imag)
    return out


def _cv2_rows(a, kf, geom: Geometry, padded: bool, boundary: str, fill_value, workers: int) -> np.ndarray:
    """One long 1-D signal on OpenCV in strips of ``ROW_STRIP`` outputs (``kf``: the flipped kernel).

    Each strip reads its own extended input (a view of x except at the ends), so x is
    never padded as a whole; ``padded`` x is already extended (its valid part is kept).
    """
    x = a.reshape(-1)
    g = axis_geometry(x.size, geom.per_axis[0].k, "valid") if padded else geom.per_axis[0]
    k1 = np.ascontiguousarray(kf.reshape(1, -1))
    out = np.empty(g.out_len, dtype=a.dtype)
    h = g.k // 2

    def strip(blk) -> None:
        piece = np.ascontiguousarray(block_input(x, 0, blk, boundary, fill_value), dtype=a.dtype)[None]
        # the strip's outputs are the valid part of filter2D's same-size output (anchor at K // 2)
        res = cv2.filter2D(piece, -1, k1, borderType=cv2.BORDER_REFLECT_101)
        out[blk.out] = res[0, h : h + blk.out.stop - blk.out.start]

    blocks = output_blocks(g, ROW_STRIP)
    # OpenCV's own threads stay out of it (its thread count is process-global: under the lock);
    # with workers > 1 the strips are the threads' work, in ``workers`` runs of strips
    runs = [blocks[i::workers] for i in range(min(workers, len(blocks)))]
    with _cv_lock:
        old = cv2.getNumThreads()
        cv2.setNumThreads(1)
        try:
            run_shares(lambda run: [strip(blk) for blk in run], runs)
        finally:
            cv2.setNumThreads(old)
    return out.reshape(geom.out_shape)


def pad(a: np.ndarray, geom: Geometry, boundary: str, fill_value=0) -> np.ndarray:
    """Extend ``a`` past its edges by ``numpy.pad``'s rule, as far as the outputs need."""
    if boundary == "constant" and a.dtype.kind in "fc" and fill_value == 0:
        # numpy.pad's result, without its ~20 us of Python bookkeeping (small inputs notice)
        widths = geom.pad_width
        out = np.zeros(tuple(s + w0 + w1 for s, (w0, w1) in zip(a.shape, widths)), dtype=a.dtype)
        out[tuple(slice(w0, w0 + s) for s, (w0, _) in zip(a.shape, widths))] = a
        return out
    if boundary == "constant":
        return np.pad(a, geom.pad_width, mode="constant", constant_values=fill_value)
    return np.pad(a, geom.pad_width, mode=boundary)


def _direct_cv2(a, kf, geom: Geometry, route: Route, workers: int) -> np.ndarray:
    nd = a.ndim
    lead = geom.batch_shape[: max(nd - 2, 0)]
    if not lead:  # one plane: return filter2D's result (cropped view) without another copy
        x2, k2 = (a[None, :], kf[None, :]) if nd == 1 else (a, kf)
        res = filter2d(x2, k2, route.border, workers)[route.plane]
        return res[0] if nd == 1 else res
    out = np.empty(geom.out_shape, dtype=a.dtype)
    for idx in np.ndindex(*lead):
        xi = tuple(i if a.shape[d] > 1 else 0 for d, i in enumerate(idx))
        ki = tuple(i if kf.shape[d] > 1 else 0 for d, i in enumerate(idx))
        x2, k2 = a[xi], kf[ki]
        out[idx] = filter2d(x2, k2, route.border, workers)[route.plane]
    return out


def _ndimage_ok(a: np.ndarray, kernel: np.ndarray, geom: Geometry) -> bool:
    """Whether ``scipy.ndimage.correlate`` computes this as a faithful direct sum (see the module doc)."""
    if a.dtype.kind != "f" or kernel.dtype.kind != "f" or a.ndim != kernel.ndim:
        return False
    if any(kernel.shape[d] != 1 for d in range(a.ndim) if d not in geom.axes):
        return False
    return bool(np.all(np.abs(kernel) > np.finfo(np.float64).eps))


def tap_sum(a: np.ndarray, kernel: np.ndarray, geom: Geometry) -> np.ndarray:
    """Valid convolution of ``a`` (x already extended) as a literal sum over every tap.

    The accumulator has ``a``'s dtype (object arrays: Python integers, no overflow).
    One signal and one kernel along one axis go to ``numpy.convolve`` (the same sum,
    in compiled dot products); otherwise one whole-array multiply-add per tap.
    Zero taps are kept, so ``0 * nan`` is nan as in any direct sum.
    """
    if a.dtype != object and one_line(geom):
        res = np.convolve(a.reshape(-1), kernel.reshape(-1).astype(a.dtype, copy=False), "valid")
        return res.reshape(geom.out_shape).astype(a.dtype, copy=False)
    taps = math.prod(g.k for g in geom.per_axis)
    if a.dtype != object and math.prod(geom.out_shape) * taps <= _WINDOW_PRODUCT_LIMIT:
        # Few outputs under a large kernel (e.g. 'valid' with a kernel as large as x):
        # one product per (output, tap) pair at once, instead of a Python loop over the
        # taps or ndimage, which computes every padded position and whose offset tables
        # for kernels of ~10^4+ taps exhaust memory.
        return _window_products(a, kernel.astype(a.dtype, copy=False), geom)
    if _ndimage_ok(a, kernel, geom) and taps <= _NDIMAGE_MAX_TAPS:
        # ndimage correlates (flip the kernel) and centres at K // 2: keep the valid part
        res = ndi.correlate(a, np.flip(kernel, axis=geom.axes), mode="constant", cval=0.0)
        index = [slice(None)] * a.ndim
        for ax, g in zip(geom.axes, geom.per_axis):
            index[ax] = slice(g.k // 2, g.k // 2 + g.out_len)
        return res[tuple(index)]
    out = np.zeros(geom.out_shape, dtype=a.dtype)
    kern = kernel.astype(a.dtype, copy=False)
    tmp = None if a.dtype == object else np.empty(geom.out_shape, dtype=a.dtype)
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf is nan in any direct sum: no warning
        _accumulate_taps(out, tmp, a, kern, geom)
    return out


def _window_products(a: np.ndarray, kernel: np.ndarray, geom: Geometry) -> np.ndarray:
    """``tap_sum`` as one windowed product: out[i] = sum_j a[i + j] * flip(kernel)[j]."""
    axes = geom.axes
    windows = np.lib.stride_tricks.sliding_window_view(a, [g.k for g in geom.per_axis], axis=axes)
    index = [slice(None)] * a.ndim
    for ax, g in zip(axes, geom.per_axis):
        index[ax] = slice(0, g.out_len)
    windows = windows[tuple(index)]
    # the kernel's convolved axes move to the end, size-1 axes stand in their places
    kflip = np.flip(kernel, axis=axes)
    kexp = np.expand_dims(np.moveaxis(kflip, axes, range(-len(axes), 0)), axis=axes)
    with np.errstate(invalid="ignore", over="ignore"):  # inf * 0 is nan in any direct sum
        res = (windows * kexp).sum(axis=tuple(range(-len(axes), 0)))
    if res.shape == tuple(geom.out_shape) and res.dtype == a.dtype and res.flags.c_contiguous:
        return res  # a fresh array of its own
    # a copy: broadcast_to gives a read-only view, and a caller's result must be writable
    out = np.empty(geom.out_shape, dtype=a.dtype)
    out[...] = res
    return out


def _accumulate_taps(out: np.ndarray, tmp: np.ndarray | None, a: np.ndarray, kern: np.ndarray, geom: Geometry) -> None:
    for tap in np.ndindex(*[g.k for g in geom.per_axis]):
        index = [slice(None)] * a.ndim
        kidx = [slice(None)] * a.ndim
        for ax, g, m in zip(geom.axes, geom.per_axis, tap):
            # full index i reads x index i - m; the valid part of the extended input starts at K - 1
            start = g.k - 1 - m
            index[ax] = slice(start, start + g.out_len)
            kidx[ax] = slice(m, m + 1)
        if tmp is None:
            out += a[tuple(index)] * kern[tuple(kidx)]
        else:
            np.multiply(a[tuple(index)], kern[tuple(kidx)], out=tmp)
            out += tmp


def convolve_exact_int(a: np.ndarray, kernel: np.ndarray, geom: Geometry) -> np.ndarray:
    """Exact integer convolution of ``a`` (already extended): a direct sum in integers.

    Used when the values are too large for float64 to represent every partial
    sum exactly (|x| * sum|k| >= 2**53).  Sums run in uint64 when both inputs are
    unsigned, else in int64 (the caller has checked that no partial sum overflows),
    or in Python integers for object arrays.
    """
    if a.dtype == object:  # Python integers: no overflow at all
        acc_dtype = object
    else:
        acc_dtype = np.uint64 if a.dtype.kind in "ub" and kernel.dtype.kind in "ub" else np.int64
    return tap_sum(a.astype(acc_dtype, copy=False), kernel.astype(acc_dtype, copy=False), geom)
