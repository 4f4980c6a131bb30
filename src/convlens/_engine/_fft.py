"""FFT and overlap-add execution of a planned convolution (NumPy arrays).

A plan transforms the kernel once at the padded size and keeps its spectrum;
executing it costs one forward and one inverse transform of x.  Buffers for the
padded input and the spectrum are kept between calls (the zero padding of the
input buffer is written once: only the x region changes), which avoids the page
faults of touching a fresh 100 MB array on every call (measured: a first write to
new memory costs about as much as one FFT pass at 4096²).
"""

from __future__ import annotations

import contextlib
import itertools
import math
import threading

import numpy as np

from .. import _backend as B
from . import _scratch
from ._blocks import block_count, tile_lengths
from ._geometry import Geometry
from ._threads import even_parts, run_shares
from ._tiled import TiledPlan


def tiled_plan(kernel, geom: Geometry, *, explicit_pad: bool, dtype: np.dtype, workers: int, whole) -> TiledPlan | None:
    """A plan of cache-sized tiles (``_tiled``) when they beat whole-array transforms of lengths ``whole``."""
    if len(geom.axes) != 2:  # 1-D: whole transforms or ducc0's fused overlap-save; 3-D: see tile_lengths
        return None
    batch = max(
        math.prod(s for ax, s in enumerate(geom.x_shape) if ax not in geom.axes),
        math.prod(s for ax, s in enumerate(geom.batch_shape) if ax not in geom.axes),
    )
    tiles = tile_lengths(
        tuple(g.k for g in geom.per_axis),
        tuple(g.out_len for g in geom.per_axis),
        tuple(whole),
        dtype.itemsize,
        dtype.kind == "f",
        batch,
        workers,
    )
    if tiles is None:
        return None
    return TiledPlan(kernel, geom, explicit_pad=explicit_pad, dtype=dtype, workers=workers, tiles=tiles)


def threaded_assign(dst: np.ndarray, src: np.ndarray, workers: int, axis: int = 0) -> None:
    """``dst[...] = src``, split across threads along ``axis`` for large arrays (memory-bound copy)."""
    n = dst.shape[axis]
    if workers <= 1 or dst.size < (1 << 20) or n < workers:
        dst[...] = src
        return
    src = np.broadcast_to(src, dst.shape)

    def part(sl):
        index = (slice(None),) * (axis % dst.ndim) + (sl,)
        dst[index] = src[index]

    run_shares(part, even_parts(n, workers))


class FFTPlan:
    """Kernel spectrum, padded lengths and crop for one geometry (whole-array FFT).

    Large N-d arrays run in cache-sized tiles instead (:class:`._tiled.TiledPlan`,
    the same results); everything a call needs besides the arrays is computed here
    once, since one-shot calls build a plan each time.
    """

    def __init__(
        self,
        kernel: np.ndarray,
        geom: Geometry,
        *,
        explicit_pad: bool,
        dtype: np.dtype,
        workers: int,
        lengths: tuple[int, ...] | None = None,
        _defer: bool = False,
    ):
        self.geom, self.explicit_pad, self.workers = geom, explicit_pad, workers
        self.dtype = np.dtype(dtype)
        self.real = self.dtype.kind == "f"
        self.axes = axes = geom.axes
        if lengths is None:  # the recipe's lengths when given (the same rule)
            lengths = tuple(B.fast_length(g.min_circular_length(explicit_pad)) for g in geom.per_axis)
        self.lengths = tuple(lengths)
        self.crop = tuple(
            slice(st, st + g.out_len) for g, st in ((g, g.k - 1 if explicit_pad else g.offset) for g in geom.per_axis)
        )
        in_shape = list(geom.x_shape)
        for ax, g in zip(axes, geom.per_axis):
            in_shape[ax] = g.padded if explicit_pad else g.n
        # The input buffer is zero-padded along the last transformed axis only: the padding along
        # the others is never transformed (``B.padded_forward``), nor are outputs cropped away
        # computed (``B.cropped_inverse``).
        buf_shape = list(in_shape)
        buf_shape[axes[-1]] = self.lengths[-1]
        spec_shape = list(in_shape)
        for ax, n in zip(axes, self.lengths):
            spec_shape[ax] = n
        self.in_shape, self.buf_shape = tuple(in_shape), tuple(buf_shape)
        if self.real:
            spec_shape[axes[-1]] = spec_shape[axes[-1]] // 2 + 1
        self.spectrum_shape = tuple(spec_shape)
        self._kernel = kernel
        self.kspec = None
        self._dc = tuple(0 if ax in axes else slice(None) for ax in range(len(buf_shape)))
        self._lock = threading.Lock()
        self._inbuf: np.ndarray | None = None
        self._spec: np.ndarray | None = None
        self._inplace = True  # the product fits the spectrum buffer (no kernel batch to broadcast over)
        # large arrays: cache-sized tiles instead of one whole-array transform (same results)
        self.tiled = tiled_plan(
            kernel, geom, explicit_pad=explicit_pad, dtype=self.dtype, workers=workers, whole=lengths
        )
        if not _defer:
            self.prepare()

    def prepare(self) -> None:
        """Transform the kernel (once)."""
        if self.tiled is not None:
            self.tiled.prepare()
        elif self.kspec is None:
            # work buffers from the pool (see _scratch): one-shot calls build a plan each time
            k = self._kernel.astype(self.dtype, copy=False)
            spec_shape = list(k.shape)
            for ax, n in zip(self.axes, self.lengths):
                spec_shape[ax] = n
            if self.real:
                spec_shape[self.axes[-1]] = spec_shape[self.axes[-1]] // 2 + 1
            cdt = B.complex_of(self.dtype)
            kspec = _scratch.lend(self, ("spec", tuple(spec_shape), cdt.str), tuple(spec_shape), cdt, zero=False)
            if len(self.axes) > 1:
                self.kspec = self._kernel_spectrum(k, kspec)
            else:
                self.kspec = self._transform(self._kernel_buffer(k), kspec)
            self._inplace = self.spectrum_shape == np.broadcast_shapes(self.spectrum_shape, self.kspec.shape)
            self._kernel = None

    # -- helpers -----------------------------------------------------------------
    def _kernel_buffer(self, k: np.ndarray) -> np.ndarray:
        """1-D: the kernel zero-padded to the transform length, in the input buffer.

        Writing x later overwrites every kernel sample (x's region covers the kernel's), and a
        one-shot call faults in one large buffer fewer.  A pooled input buffer holds zeros only
        outside x's region, so that region is cleared first.
        """
        shape = list(k.shape)
        shape[self.axes[0]] = self.lengths[0]
        if tuple(shape) != self.buf_shape or any(a > b for a, b in zip(k.shape, self.in_shape)):
            return self._padded(k, np.zeros(shape, dtype=self.dtype))  # a batch of kernels: its own buffer
        buf = self._input_buffer()
        buf[tuple(slice(0, s) for s in self.in_shape)] = 0
        return self._padded(k, buf)

    def _kernel_spectrum(self, k: np.ndarray, kspec: np.ndarray) -> np.ndarray:
        """N-d: the kernel's spectrum, the zero padding's rows skipped (``B.padded_forward``).

        Its buffer is the kernel zero-padded along the last transformed axis only (255 rows of
        4320 for a 255² kernel on a 4096² image), never the whole padded kernel.
        """
        rows = list(k.shape)
        rows[self.axes[-1]] = self.lengths[-1]
        key = ("pad", tuple(rows), k.shape, self.dtype.str)
        kbuf = _scratch.take(key, tuple(rows), self.dtype, zero=True)
        kbuf[tuple(slice(0, s) for s in k.shape)] = k
        B.padded_forward(kbuf, self.axes, kspec, self.workers)
        _scratch.give(key, kbuf)
        return kspec

    def _input_buffer(self) -> np.ndarray:
        """The zero-padded input buffer: from the pool, back to it when this plan is collected."""
        if self._inbuf is None:
            key = ("pad", self.buf_shape, self.in_shape, self.dtype.str)
            self._inbuf = _scratch.lend(self, key, self.buf_shape, self.dtype, zero=True)
        return self._inbuf

    def _padded(self, a: np.ndarray, buf: np.ndarray | None = None) -> np.ndarray:
        if buf is None:
            shape = list(a.shape)
            for ax, n in zip(self.axes, self.lengths):
                shape[ax] = n
            buf = np.zeros(shape, dtype=self.dtype)
        threaded_assign(buf[tuple(slice(0, s) for s in a.shape)], a, self.workers)
        return buf

    def _transform(self, a: np.ndarray, out: np.ndarray) -> np.ndarray:
        return B.padded_forward(a, self.axes, out, self.workers)

    def _inverse(self, spec: np.ndarray) -> np.ndarray:
        # the last axis into a fresh array: the spectrum is the plan's reusable buffer, results must not alias it
        return B.cropped_inverse(spec, self.axes, self.lengths[-1], self.crop, self.workers, real=self.real)

    def memory_estimate(self) -> int:
        """Bytes of the working set of one execution (input buffer, spectrum, output)."""
        if self.tiled is not None:
            return self.tiled.memory_estimate()
        itemsize = self.dtype.itemsize
        cplx = 2 * itemsize if self.real else itemsize
        spec = math.prod(self.spectrum_shape)
        if self.kspec is not None:
            kshape = self.kspec.shape
        else:
            kshape = tuple(
                s if ax in self.axes else ks for ax, (s, ks) in enumerate(zip(self.spectrum_shape, self._kernel.shape))
            )
        out = spec if kshape == self.spectrum_shape else math.prod(np.broadcast_shapes(self.spectrum_shape, kshape))
        return math.prod(self.buf_shape) * itemsize * 2 + (spec + math.prod(kshape) + out) * cplx

    # -- execution ---------------------------------------------------------------
    def __call__(self, a: np.ndarray) -> np.ndarray:
        """Convolve ``a`` (x, or x already extended by the boundary rule) and crop."""
        return self.run(a)[0]

    def run(self, a: np.ndarray) -> tuple[np.ndarray, bool]:
        """The convolution of ``a``, and whether ``a``'s sum is finite (read off the spectrum, free)."""
        if self.tiled is not None:
            return self.tiled.run(a)
        # The padded-input and spectrum buffers are reused between calls (their zero padding
        # is written once); the lock keeps concurrent calls on one plan from sharing them.
        with self._lock:
            if self._spec is None:  # from the pool, back to it when this plan is collected
                cdt = B.complex_of(self.dtype)
                self._spec = _scratch.lend(
                    self, ("spec", self.spectrum_shape, cdt.str), self.spectrum_shape, cdt, False
                )
            spec = self._transform(self._padded(a, self._input_buffer()), self._spec)
            # The zero-frequency term is the sum of the input: it is finite unless the input holds
            # a NaN or inf (or its sum overflows), so the caller can skip a scan of x.
            dc = np.isfinite(spec[self._dc])
            sum_finite = bool(dc) if dc.ndim == 0 else bool(dc.all())
            if sum_finite:
                spec = self._product(spec)
            else:  # the caller recomputes this result from the finite samples: no warnings
                with np.errstate(invalid="ignore", over="ignore"):
                    spec = self._product(spec)
            res = self._inverse(spec)
        return res, sum_finite

    def _product(self, spec: np.ndarray) -> np.ndarray:
        if self._inplace:
            return np.multiply(spec, self.kspec, out=spec)  # memory-bound: threads do not help (measured)
        return spec * self.kspec


class OverlapAddPlan:
    """Overlap-add along one axis (``block_axis``); whole-length FFT along the other convolved axes.

    Long signals are cut into blocks of length ``block``; all blocks are
    transformed in one batched FFT, which also lets both cores work on a long
    1-D signal (one long 1-D transform does not parallelize: its passes over the
    data are sequential).
    """

    def __init__(
        self,
        kernel,
        geom: Geometry,
        *,
        explicit_pad: bool,
        dtype,
        workers: int,
        block_axis: int,
        fft_len: int,
        _defer: bool = False,
    ):
        self.geom = geom
        self.explicit_pad = explicit_pad
        self.dtype = np.dtype(dtype)
        self.real = self.dtype.kind == "f"
        self.workers = workers
        self.block_axis = block_axis
        ib = geom.axes.index(block_axis)
        gb = geom.per_axis[ib]
        self.kb = gb.k
        self.fft_len = fft_len
        self.block = fft_len - gb.k + 1
        if self.block < 1:
            raise ValueError("overlap-add block length must exceed the kernel length")
        self.in_len = gb.padded if explicit_pad else gb.n
        self.nblocks = block_count(self.in_len, self.block)
        start = gb.k - 1 if explicit_pad else gb.offset
        self.block_crop = slice(start, start + gb.out_len)
        # Other convolved axes: as in FFTPlan.
        lens, crops = {}, {}
        for ax, g in zip(geom.axes, geom.per_axis):
            if ax == block_axis:
                continue
            lens[ax] = B.fast_length(g.min_circular_length(explicit_pad))
            st = g.k - 1 if explicit_pad else g.offset
            crops[ax] = slice(st, st + g.out_len)
        self.other_lens, self.other_crops = lens, crops
        # Blocked layout: block_axis is split into (nblocks, fft_len); fft axes shift by one after it.
        self.fft_axes = tuple((ax + 1 if ax == block_axis else (ax + 1 if ax > block_axis else ax)) for ax in geom.axes)
        self._kernel = kernel
        self.kspec = None
        self._lock = threading.Lock()
        # the plan's work buffers, lent from the pool on the first call (see run)
        self._inbuf: np.ndarray | None = None
        self._spec: np.ndarray | None = None
        self._ybuf: np.ndarray | None = None
        # N-d: cache-sized tiles over every axis beat blocks along one (same results)
        whole = [self.nblocks * fft_len if ax == block_axis else lens[ax] for ax in geom.axes]
        self.tiled = tiled_plan(kernel, geom, explicit_pad=explicit_pad, dtype=self.dtype, workers=workers, whole=whole)
        if not _defer:
            self.prepare()

    def prepare(self) -> None:
        """Transform the kernel (once), in the blocked layout."""
        if self.tiled is not None:
            self.tiled.prepare()
            return
        if self.kspec is not None:
            return
        k = np.asarray(self._kernel, dtype=self.dtype)
        ba = self.block_axis
        kb = np.expand_dims(k, ba)  # (.., 1, K, ..)
        shape = list(kb.shape)
        shape[ba + 1] = self.fft_len
        for ax, L in self.other_lens.items():
            shape[ax + 1 if ax > ba else ax] = L
        # pooled buffers: fresh ones of a few MB cost as much as the transform (page faults, see _scratch)
        key = ("oa-kernel", tuple(shape), kb.shape, self.dtype.str)
        kbuf = _scratch.take(key, tuple(shape), self.dtype, zero=True)
        kbuf[tuple(slice(0, s) for s in kb.shape)] = kb
        self.kspec = self._transform(kbuf, self._spectrum_buffer(kbuf.shape, "oa-kspec"))
        _scratch.give(key, kbuf)
        self._kernel = None

    def _spectrum_buffer(self, shape, tag: str) -> np.ndarray:
        """A pooled buffer for the spectrum of a blocked array of ``shape`` (back when this plan is collected)."""
        spec = list(shape)
        if self.real:
            spec[self.fft_axes[-1]] = spec[self.fft_axes[-1]] // 2 + 1
        cdt = B.complex_of(self.dtype)
        return _scratch.lend(self, (tag, tuple(spec), cdt.str), tuple(spec), cdt, zero=False)

    def _transform(self, a, out=None):
        if self.real:
            return B.rfftn(a, self.fft_axes, self.workers, out=out)
        return B.fftn(a, self.fft_axes, self.workers, out=out)

    def memory_estimate(self) -> int:
        """Bytes of the working set of one execution."""
        if self.tiled is not None:
            return self.tiled.memory_estimate()
        itemsize = self.dtype.itemsize
        n = self.nblocks * self.fft_len
        for ax, s in enumerate(self.geom.batch_shape):
            if ax == self.block_axis:
                continue
            n *= self.other_lens.get(ax, s)
        return 4 * n * itemsize

    def __call__(self, a: np.ndarray) -> np.ndarray:
        """Convolve ``a`` (x, or x already extended by the boundary rule) and crop."""
        return self.run(a)[0]

    def run(self, a: np.ndarray) -> tuple[np.ndarray, bool]:
        """The convolution of ``a``, and whether every block's sum is finite (read off the spectra, free)."""
        if self.tiled is not None:
            return self.tiled.run(a)
        # The blocked input, its spectrum and the blocks' inverse live in pooled buffers kept by the
        # plan (the blocked input's zero padding is written once); the lock keeps concurrent calls
        # on one plan from sharing them.
        with self._lock:
            blocks = self._blocked(a)
            if self._spec is None:  # lent once: back to the pool when this plan is collected
                self._spec = self._spectrum_buffer(blocks.shape, "oa-spec")
            spec = self._transform(blocks, self._spec)
            # each block's zero-frequency term is its sum: all finite unless a block holds NaN or inf
            dc = tuple(0 if ax in self.fft_axes else slice(None) for ax in range(spec.ndim))
            sum_finite = bool(np.isfinite(spec[dc]).all())
            # not finite: the caller recomputes this result from the finite samples (no warnings)
            with np.errstate(all="ignore") if not sum_finite else contextlib.nullcontext():
                if spec.shape == np.broadcast_shapes(spec.shape, self.kspec.shape):
                    np.multiply(spec, self.kspec, out=spec)
                else:
                    spec = spec * self.kspec
                if self.real:
                    last = self.geom.axes[-1]
                    L = self.fft_len if last == self.block_axis else self.other_lens[last]
                    if self._ybuf is None:
                        shape = list(spec.shape)
                        shape[self.fft_axes[-1]] = L
                        key = ("oa-inverse", tuple(shape), self.dtype.str)
                        self._ybuf = _scratch.lend(self, key, tuple(shape), self.dtype, False)
                    y = B.irfftn(spec, self.fft_axes, L, self.workers, out=self._ybuf)
                else:
                    y = B.ifftn(spec, self.fft_axes, self.workers, out=spec)
                out = self._overlap_add(y)
        return out, sum_finite

    def _blocked(self, a: np.ndarray) -> np.ndarray:
        """``a`` cut into zero-padded blocks: shape (.., nb, L, ..), other FFT axes at full length.

        The buffer is the plan's (pooled, keyed by the region written into it: the rest stays zero).
        """
        ba, nb, blk, L = self.block_axis, self.nblocks, self.block, self.fft_len
        shape = list(a.shape)
        shape[ba : ba + 1] = [nb, L]
        for ax, Lo in self.other_lens.items():
            shape[ax + 1 if ax > ba else ax] = Lo
        if self._inbuf is None:
            key = ("oa-blocks", tuple(shape), a.shape, ba, blk, self.in_len, self.dtype.str)
            self._inbuf = _scratch.lend(self, key, tuple(shape), self.dtype, zero=True)
        buf = self._inbuf
        whole = (self.in_len // blk) * blk
        src = [slice(None)] * a.ndim
        dst = [slice(0, s) for s in a.shape]
        dst[ba : ba + 1] = [slice(None), slice(0, blk)]
        if whole:  # the full blocks, through a reshaped view
            src[ba] = slice(0, whole)
            part = a[tuple(src)]
            pshape = list(part.shape)
            pshape[ba : ba + 1] = [whole // blk, blk]
            d = list(dst)
            d[ba] = slice(0, whole // blk)
            buf[tuple(d)] = part.reshape(pshape)
        rest = self.in_len - whole
        if rest:  # the last, partial block
            src[ba] = slice(whole, self.in_len)
            d = list(dst)
            d[ba], d[ba + 1] = slice(nb - 1, nb), slice(0, rest)
            buf[tuple(d)] = np.expand_dims(a[tuple(src)], ba)
        return buf

    def _overlap_add(self, y: np.ndarray) -> np.ndarray:
        """The cropped output, straight from the blocks' inverse ``y`` (shape (.., nb, L, ..)).

        Sample ``j`` of the full block-axis sequence is the head of block ``j // blk`` (its
        samples ``0 .. blk - 1``) plus the tails (samples ``blk .. L - 1``, ``K - 1`` of them) of the
        blocks before it that reach ``j``.  Only the crop is written: every head copied (past the
        last head, zeros), then every tail added -- a fresh, contiguous output.
        """
        ba, nb, blk, L = self.block_axis, self.nblocks, self.block, self.fft_len
        lo, hi = self.block_crop.start, self.block_crop.stop
        oshape = list(self.geom.out_shape)
        for ax in range(len(oshape)):  # non-convolved axes broadcast x against the kernel
            if ax != ba and ax not in self.other_crops:
                oshape[ax] = y.shape[ax + 1 if ax > ba else ax]
        out = np.empty(oshape, dtype=y.dtype)
        yi = [slice(None)] * y.ndim
        for ax, sl in self.other_crops.items():
            yi[ax + 1 if ax > ba else ax] = sl
        oi = [slice(None)] * out.ndim

        def piece(b: int, j0: int, j1: int, add: bool) -> None:
            # full-sequence samples j0..j1 of block b (clipped to the crop)
            j0, j1 = max(j0, lo), min(j1, hi)
            if j0 >= j1:
                return
            yi[ba], yi[ba + 1] = b, slice(j0 - b * blk, j1 - b * blk)
            oi[ba] = slice(j0 - lo, j1 - lo)
            if add:
                out[tuple(oi)] += y[tuple(yi)]
            else:
                out[tuple(oi)] = y[tuple(yi)]

        for b in range(nb):
            piece(b, b * blk, (b + 1) * blk, add=False)
        if hi > nb * blk:  # past the last head only the last tail reaches
            oi[ba] = slice(max(nb * blk, lo) - lo, hi - lo)
            out[tuple(oi)] = 0
        for b in range(nb):
            piece(b, (b + 1) * blk, b * blk + L, add=True)
        return out


_OS_CHUNK_BYTES = 1 << 21  # one convolve_axis call's output (stays in cache until copied out)


class OverlapSave1DPlan:
    """Overlap-save along one axis with one kernel for every row (the common 1-D case).

    Overlapping segments of the input are read through a strided view of x (no
    copy; only segments that reach past x read a zero-extended copy of their
    samples) and each is transformed, multiplied and transformed back by ducc0's
    ``convolve_axis`` while it is in cache, instead of streaming the whole array
    through memory three times as a batched FFT would.  Segments go in chunks
    whose results are copied out while still in cache.
    """

    def __init__(self, kernel: np.ndarray, geom: Geometry, *, explicit_pad: bool, dtype, workers: int, fft_len: int):
        self.geom, self.dtype, self.workers = geom, np.dtype(dtype), workers
        (self.axis,), (g,) = geom.axes, geom.per_axis
        self.k = g.k
        self.fft_len = fft_len
        self.block = fft_len - g.k + 1
        self.in_len = g.padded if explicit_pad else g.n
        self.start = g.k - 1 if explicit_pad else g.offset  # full-convolution index of output 0
        self.out_len = g.out_len
        self.nblocks = block_count(self.out_len, self.block)
        k = np.zeros(fft_len, dtype=self.dtype)
        k[: g.k] = np.asarray(kernel, dtype=self.dtype).reshape(-1)
        self.kernel = k

    def prepare(self) -> None:
        """Nothing to precompute: ``convolve_axis`` transforms the short kernel itself."""

    def memory_estimate(self) -> int:
        """Bytes of one execution: the output and one chunk's scratch (and the zero-extended edges)."""
        rows = math.prod(s for ax, s in enumerate(self.geom.batch_shape) if ax != self.axis)
        itemsize = self.dtype.itemsize
        return rows * (self.nblocks * self.block + 4 * self._chunk(rows) * self.fft_len) * itemsize

    def _chunk(self, rows: int) -> int:
        """Blocks per ``convolve_axis`` call: their results stay in cache until copied out."""
        return max(1, min(self.nblocks, _OS_CHUNK_BYTES // (rows * self.fft_len * self.dtype.itemsize)))

    def __call__(self, a: np.ndarray) -> np.ndarray:
        """Convolve ``a`` (x, or x already extended by the boundary rule) and crop."""
        k, blk, nb = self.k, self.block, self.nblocks
        a = np.moveaxis(a, self.axis, -1)
        batch = a.shape[:-1]
        res = np.empty(batch + (nb * blk,), dtype=self.dtype)
        # segment b reads a[lo + b * blk : lo + b * blk + L]; those inside a are read in place
        lo = self.start - (k - 1)
        first = min(nb, max(0, -(lo // blk)))  # ceil(-lo / blk): the first segment starting inside a
        last = max(first, min(nb, (self.in_len - self.fft_len - lo) // blk + 1))  # one past the last inside
        step = self._chunk(math.prod(batch))
        cuts = sorted({0, first, last, nb, *range(first, last, step)})
        # pooled scratch, one per chunk shape (edge chunks differ): a fresh one of a few hundred KB
        # faults in every page, which cost ~40 % of a 65536 (x) 1001 call on the reference VM
        scratch: dict[tuple, np.ndarray] = {}
        try:
            for b0, b1 in itertools.pairwise(cuts):
                segs = self._segments(a, lo, b0, b1)
                key = ("os-scratch", segs.shape, self.dtype.str)
                if key not in scratch:
                    scratch[key] = _scratch.take(key, segs.shape, self.dtype, zero=False)
                buf = scratch[key]
                B.convolve_axis(segs, buf, len(batch) + 1, self.kernel, self.workers)
                dst = res[..., b0 * blk : b1 * blk].reshape(batch + (b1 - b0, blk))
                dst[...] = buf[..., k - 1 :]  # from cache: the valid part of every segment
        finally:
            for key, buf in scratch.items():
                _scratch.give(key, buf)
        return np.moveaxis(res[..., : self.out_len], -1, self.axis)

    def _segments(self, a: np.ndarray, lo: int, b0: int, b1: int) -> np.ndarray:
        """Segments ``b0 .. b1 - 1`` as a strided (overlapping, read-only) view: of ``a`` itself when
        they lie inside it, else of a zero-extended copy of the samples they read."""
        blk, L = self.block, self.fft_len
        s0, s1 = lo + b0 * blk, lo + (b1 - 1) * blk + L  # the input samples read
        if s0 < 0 or s1 > self.in_len:
            ext = np.zeros(a.shape[:-1] + (s1 - s0,), dtype=self.dtype)
            c0, c1 = max(s0, 0), min(s1, self.in_len)
            if c1 > c0:
                ext[..., c0 - s0 : c1 - s0] = a[..., c0:c1]
            base = ext
        else:
            base = a[..., s0:s1]
        st = base.strides
        shape = base.shape[:-1] + (b1 - b0, L)
        return np.lib.stride_tricks.as_strided(base, shape, st[:-1] + (blk * st[-1], st[-1]), writeable=False)
