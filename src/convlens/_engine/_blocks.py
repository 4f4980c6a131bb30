"""One blocking mechanism: cut a convolution along one axis into blocks with halos.

Everything that convolves a long axis piece by piece -- the engine's overlap-add
and overlap-save paths, chunked (Dask) arrays, strips of a template search --
needs the same bookkeeping: which input samples (with how much boundary
extension) one block of outputs reads, and how long an FFT one block should use.
It is written once here, from the per-axis geometry (``_geometry.AxisGeometry``).

Overlap-save view (used for chunked inputs): output samples ``j0 .. j1`` along an
axis read the x samples ``offset + j0 - (K - 1) .. offset + j1 - 1`` (the *halo*
is the ``K - 1`` samples before the block's own range).  Indices below 0 or at
``n`` and beyond lie in the boundary extension.  :func:`block_input` builds a
block's extended input by ``numpy.pad``'s rules, without extending the whole x,
and the *valid* convolution of that input with the kernel is the block's output.

>>> from convlens._engine._geometry import axis_geometry
>>> g = axis_geometry(10, 3, "same")
>>> [(b.out.start, b.out.stop, b.lo, b.hi) for b in output_blocks(g, 4)]
[(0, 4, -1, 5), (4, 8, 3, 9), (8, 10, 7, 11)]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import _backend as B
from ._geometry import AxisGeometry


@dataclass(frozen=True)
class Block:
    """One block of outputs along an axis and the x samples it reads."""

    out: slice  # output samples of this block (step 1)
    lo: int  # first x index read (negative: boundary extension before x)
    hi: int  # one past the last x index read (beyond n: extension after x)

    def source(self, n: int) -> slice:
        """The part of x (of length ``n``) that the block reads directly."""
        return slice(min(max(self.lo, 0), n), max(min(self.hi, n), 0))

    def extension(self, n: int) -> tuple[int, int]:
        """Samples of boundary extension needed before and after :meth:`source`."""
        src = self.source(n)
        return src.start - self.lo, self.hi - src.start - (src.stop - src.start)


def output_blocks(g: AxisGeometry, block: int) -> tuple[Block, ...]:
    """Blocks of at most ``block`` outputs covering the axis' output, each with its input range."""
    if block < 1:
        raise ValueError(f"block must be a positive number of outputs; got {block!r}")
    out = []
    for j0 in range(0, g.out_len, block):
        j1 = min(j0 + block, g.out_len)
        out.append(Block(slice(j0, j1), g.offset + j0 - (g.k - 1), g.offset + j1))
    return tuple(out)


def chunk_blocks(g: AxisGeometry, chunks: tuple[int, ...]) -> tuple[Block, ...]:
    """Blocks whose outputs follow given chunk sizes (e.g. a Dask array's chunks along the axis)."""
    if sum(chunks) != g.out_len or any(c < 1 for c in chunks):
        raise ValueError(f"chunks must be positive and sum to the output length {g.out_len}; got {chunks!r}")
    out, j0 = [], 0
    for c in chunks:
        out.append(Block(slice(j0, j0 + c), g.offset + j0 - (g.k - 1), g.offset + j0 + c))
        j0 += c
    return tuple(out)


def extended_indices(lo: int, hi: int, n: int, boundary: str) -> np.ndarray:
    """x indices of the extended samples ``lo .. hi - 1`` by ``numpy.pad``'s rule (-1 = constant fill)."""
    i = np.arange(lo, hi)
    if boundary == "constant":
        return np.where((i >= 0) & (i < n), i, -1)
    if boundary == "edge" or n == 1:
        return np.clip(i, 0, n - 1)
    if boundary == "wrap":
        return i % n
    # mirrored extensions are periodic: 'reflect' (edge sample not repeated) 2n - 2, 'symmetric' 2n;
    # the second half of each period runs backwards
    if boundary == "reflect":
        i = i % (2 * n - 2)
        return np.where(i < n, i, 2 * n - 2 - i)
    i = i % (2 * n)
    return np.where(i < n, i, 2 * n - 1 - i)


def block_input(x: np.ndarray, axis: int, blk: Block, boundary: str, fill_value=0) -> np.ndarray:
    """The extended input one block reads along ``axis`` (a copy only where extension is needed)."""
    n = x.shape[axis]
    before, after = blk.extension(n)
    src = [slice(None)] * x.ndim
    src[axis] = blk.source(n)
    if before == 0 and after == 0:
        return x[tuple(src)]
    idx = extended_indices(blk.lo, blk.hi, n, boundary)
    if boundary != "constant":
        return np.take(x, idx, axis=axis)
    dtype = np.result_type(x.dtype, fill_value)
    shape = list(x.shape)
    shape[axis] = blk.hi - blk.lo
    out = np.full(shape, fill_value, dtype=dtype)
    dst = [slice(None)] * x.ndim
    dst[axis] = slice(before, before + blk.source(n).stop - blk.source(n).start)
    out[tuple(dst)] = x[tuple(src)]
    return out


def block_count(length: int, block: int) -> int:
    """Number of blocks of ``block`` samples that cover ``length`` samples."""
    return -(-length // block)


def block_length(k: int, n: int, real: bool = True, other: int = 1) -> int:
    """FFT length per block for a kernel of length k on a signal of length n.

    ``other`` is the number of points of one block across the other transformed
    axes.  Measured on a 2-core Zen 4 machine (1 thread): in 1-D about 8k points
    per block, kept between 4096 and 16384 so a block stays in L2 cache; in N-d
    blocks of about 2**19 points in all.  At least 2k (4k in 1-D, 3k for a 1-D
    signal shorter than 64 such blocks), and never longer than the signal needs.
    """
    if other == 1:
        want = max(min(max(8 * k, 4096), 16384), 4 * k)
        if 64 * want > n:
            # a short signal: ~64 blocks, or blocks of 3k.  Each call transforms the kernel once
            # per chunk of blocks (at least three: the edges go apart), which at ~10 blocks was a
            # quarter of the work: 65536 (x) 1001 took 1.27x as long in blocks of 8100 as in
            # blocks of 3072, 262144 (x) 1001 1.13x as long as in blocks of 4050 (1 thread)
            want = max(min(want, n // 64), 3 * k)
    else:
        want = max(2 * k, min(8 * k, (1 << 19) // other))
    want = min(want, max(n + k - 1, 2 * k))
    return B.good_size(max(want, k + 1), real)


# One tile (its real input, or its complex input for complex data) stays within this many bytes:
# its transform, product and inverse then run in L2 cache.  Measured on a 2-core Zen 4 machine
# (1 MiB L2 per core pair): r2c + product + c2r costs ~0.23 ns per point * log2(points) in float32
# from 256² to 512² tiles, against ~0.35 for a whole 4116² array that streams through memory
# (which also needs extra passes: padding, product, crop).
TILE_BYTES = 1 << 20
# ... unless the kernel is too long for such a tile (it would be mostly halo): then tiles up to this
# size, each doubling of a tile's bytes beyond TILE_BYTES costing ``_TILE_GROWTH`` more per point.
# Measured on a 2-core Xeon (2 MiB L2 a core), float64, one thread: 4096² (x) 255² in 16 tiles of 1280²
# (13 MB each) took 255 ms against 552 ms as one 4374² transform (and 2048² (x) 127² 59 against 115
# ms in tiles of 640²); per point * log2 a 13 MB tile cost ~1.4x a 1 MB one, the whole array ~1.9x.
TILE_MAX_BYTES = 1 << 24
_TILE_GROWTH = 0.1
_WHOLE_IN_CACHE = 8 << 20  # bytes: a smaller whole-array transform runs mostly in L3 (1024² float32
# was slower in tiles, float64 and 2048² float32 faster)
# ... on one thread.  With several, tiles from this size on: each thread then runs whole tiles
# (copy in, transforms, product, inverse) where a whole-array transform splits only its passes
# and leaves the padded copy and the product to one thread (measured on a 2-core Zen 3, 2 threads:
# 1024² float32 (x) 15² 6.2 ms in tiles against 8.2 whole, (x) 63² 6.6 against 7.6; 512² float64
# (x) 15² 2.8 against 3.3; 768² float64 (x) 31² 5.2 against 6.9; 512² float32 (1 MiB) stays whole)
_WHOLE_IN_CACHE_THREADED = 2 << 20
_WHOLE_PENALTY = 1.4  # per point * log2 of a whole-array transform out of cache, relative to a tile
_WHOLE_PASSES = 6.0  # its extra passes over memory (padded copy, product, crop), in point * log2 units


def _smooth_lengths(lo: int, hi: int, real: bool) -> list[int]:
    """Fast FFT lengths in ``lo .. hi`` (distinct ``good_size`` values)."""
    out, n = [], lo
    while n <= hi:
        m = B.good_size(n, real)
        if m > hi:
            break
        out.append(m)
        n = m + 1
    return out


def tile_lengths(
    ks: tuple[int, ...],
    out_lens: tuple[int, ...],
    whole: tuple[int, ...],
    itemsize: int,
    real: bool = True,
    batch: int = 1,
    workers: int = 1,
) -> tuple[int, ...] | None:
    """FFT lengths of cache-sized N-d tiles (overlap-save over every axis), or None when a
    whole-array transform of lengths ``whole`` is predicted faster.

    ``ks`` and ``out_lens`` are the kernel and output lengths per convolved axis,
    ``itemsize`` the bytes of one point of the input (8 for float64 or complex64),
    ``real`` whether the transforms are r2c/c2r, ``batch`` the number of arrays
    carried in every tile (non-convolved axes), ``workers`` the threads that share the tiles.
    Tiles are at most ``TILE_BYTES`` where that leaves them mostly outputs, else up to
    ``TILE_MAX_BYTES`` (at least two per thread).

    >>> tile_lengths((31, 31), (4096, 4096), (4116, 4116), 4)
    (486, 486)
    >>> tile_lengths((255, 255), (4096, 4096), (4375, 4375), 4)  # 1 MiB tiles would be mostly halo
    (1620, 1620)
    >>> tile_lengths((15, 15), (1024, 1024), (1040, 1040), 4) is None  # in L3: whole transforms win
    True
    >>> tile_lengths((15, 15), (1024, 1024), (1040, 1040), 4, workers=2)  # ... but not on two threads
    (270, 270)
    """
    d = len(ks)
    vol = math.prod(whole)
    # 2-D only: 3-D tiles measured no faster than whole-array transforms (256³ ⊛ 9³, 128³ ⊛ 5³)
    workers = max(workers, 1)
    in_cache = _WHOLE_IN_CACHE if workers == 1 else _WHOLE_IN_CACHE_THREADED
    if d != 2 or not B.HAVE_DUCC or vol * batch * itemsize < in_cache:
        return None
    best, best_cost = None, math.inf
    cap = TILE_BYTES
    while cap <= TILE_MAX_BYTES:
        tiles = _tiles_within(ks, out_lens, int((cap / (itemsize * batch)) ** (1.0 / d)), real)
        if tiles is not None:
            count = math.prod(block_count(n, t - k + 1) for k, n, t in zip(ks, out_lens, tiles))
            tvol = math.prod(tiles)
            nbytes = tvol * itemsize * batch
            # a tile beyond the cache-sized one must still cut the array (one tile is a whole transform
            # with extra copies), and the threads take whole tiles: the last round may run part-empty
            if nbytes <= TILE_BYTES or count >= 2 * max(workers, 2):
                rounds = -(-count // workers) * workers / count
                cost = count * tvol * math.log2(tvol) * tile_growth(nbytes) * rounds
                if cost < best_cost:
                    best, best_cost = tiles, cost
        cap *= 2
    whole_cost = vol * (math.log2(vol) * _WHOLE_PENALTY + _WHOLE_PASSES)
    return best if best_cost < whole_cost else None


def tile_growth(nbytes: int) -> float:
    """Per-point cost of a tile of ``nbytes`` relative to a cache-sized one (see ``TILE_MAX_BYTES``)."""
    return 1.0 + _TILE_GROWTH * max(0.0, math.log2(nbytes / TILE_BYTES))


def _tiles_within(ks, out_lens, tmax: int, real: bool) -> tuple[int, ...] | None:
    """Per axis the fast tile length up to ``tmax`` that transforms the fewest points (None: none fits)."""
    tiles = []
    for k, n_out in zip(ks, out_lens):
        cands = _smooth_lengths(max(2 * k, 16), tmax, real)
        if not cands:
            return None
        # fewest points transformed: tiles needed along the axis * tile length
        tiles.append(min(cands, key=lambda t: (block_count(n_out, t - k + 1) * t, t)))
    return tuple(tiles)
