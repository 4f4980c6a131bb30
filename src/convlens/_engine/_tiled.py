"""Tiled overlap-save over every convolved axis: cache-sized FFT tiles.

A whole-array FFT of a 4096² image streams ~70 MB through memory on each of its
passes (padded copy, two transforms of two axes each, product, crop).  Cutting
the output into tiles of ``U = T - K + 1`` samples per axis, each computed from a
``T``-long window of the input (its halo included) by an r2c, a product with the
kernel's ``T``-sized spectrum and a c2r, keeps every step in L2 cache: the input
is read once (straight from x through a strided view, no padded copy) and the
output written once.  The tile lengths come from :func:`._blocks.tile_lengths`
(which tiles 2-D convolutions only; the plan itself works for any number of axes).

Circular convolution of a window starting at input index ``lo`` gives, at
positions ``K - 1 .. T - 1``, the linear convolution's samples ``lo + K - 1 ..
lo + T - 1`` (full-convolution indices): the tile's outputs.  Windows reaching
past x read zeros (the implicit zero extension, or the end of an already
extended x).  With several workers, equal shares of the tiles go to a thread
pool (ducc0 releases the GIL; one tile is too small for its own threads to pay
off).
"""

from __future__ import annotations

import itertools
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from .. import _backend as B
from ._blocks import block_count
from ._geometry import Geometry


class TiledPlan:
    """Kernel spectrum at the tile lengths and the tiling of one geometry."""

    def __init__(
        self, kernel: np.ndarray, geom: Geometry, *, explicit_pad: bool, dtype, workers: int, tiles: tuple[int, ...]
    ):
        self.geom, self.dtype, self.workers = geom, np.dtype(dtype), workers
        self.real = self.dtype.kind == "f"
        self.axes, self.tiles = geom.axes, tuple(tiles)
        g = geom.per_axis
        self.ks = tuple(a.k for a in g)
        self.in_lens = tuple(a.padded if explicit_pad else a.n for a in g)
        # full-convolution index of output sample 0 (x index + kernel index)
        self.starts = tuple(a.k - 1 if explicit_pad else a.offset for a in g)
        self.out_lens = tuple(a.out_len for a in g)
        self.steps = tuple(t - k + 1 for t, k in zip(self.tiles, self.ks))
        self.counts = tuple(block_count(n, u) for n, u in zip(self.out_lens, self.steps))
        self._kernel = kernel
        self.kspec = None

    def prepare(self) -> None:
        """Transform the kernel (once), zero-padded to the tile lengths."""
        if self.kspec is not None:
            return
        k = np.asarray(self._kernel, dtype=self.dtype)
        shape = list(k.shape)
        for ax, t in zip(self.axes, self.tiles):
            shape[ax] = t
        buf = np.zeros(shape, dtype=self.dtype)
        buf[tuple(slice(0, s) for s in k.shape)] = k
        self.kspec = self._forward(buf, None)
        self._kernel = None

    def memory_estimate(self) -> int:
        """Bytes of one execution: the output and each worker's tile buffers."""
        tile = math.prod(
            self.geom.batch_shape[ax] if ax not in self.axes else 1 for ax in range(len(self.geom.x_shape))
        )
        tile *= math.prod(self.tiles) * self.dtype.itemsize
        return math.prod(self.geom.out_shape) * self.dtype.itemsize + 6 * tile * max(self.workers, 1)

    def _forward(self, a: np.ndarray, out: np.ndarray | None) -> np.ndarray:
        if self.real:
            return B.rfftn(a, self.axes, 1, out=out)
        return B.fftn(a, self.axes, 1, out=out)

    def _inverse(self, spec: np.ndarray, out: np.ndarray) -> np.ndarray:
        if self.real:
            return B.irfftn(spec, self.axes, self.tiles[-1], 1, out=out)
        return B.ifftn(spec, self.axes, 1, out=out)

    # -- execution ---------------------------------------------------------------
    def __call__(self, a: np.ndarray) -> np.ndarray:
        """Convolve ``a`` (x, or x already extended by the boundary rule)."""
        return self.run(a)[0]

    def run(self, a: np.ndarray) -> tuple[np.ndarray, bool]:
        """The convolution of ``a``, and whether every tile's input sum is finite (from the spectra)."""
        out = np.empty(self.geom.out_shape, dtype=self.dtype)
        tiles = list(itertools.product(*(range(c) for c in self.counts)))
        parts = min(self.workers, len(tiles))
        if parts > 1:  # equal shares of tiles, one share per thread, each with its own buffers
            step = -(-len(tiles) // parts)
            shares = [tiles[i : i + step] for i in range(0, len(tiles), step)]
            with ThreadPoolExecutor(len(shares)) as pool:
                flags = list(pool.map(lambda share: self._tiles(a, out, share), shares))
        else:
            flags = [self._tiles(a, out, tiles)]
        return out, all(flags)

    def _buffers(self, a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray]:
        """One worker's tile buffers: input window, spectrum, broadcast product, inverse."""
        window = list(a.shape)
        for ax, t in zip(self.axes, self.tiles):
            window[ax] = t
        inbuf = np.zeros(window, dtype=self.dtype)
        spec = self._forward(inbuf, None)
        shape = np.broadcast_shapes(spec.shape, self.kspec.shape)
        prod = None if shape == spec.shape else np.empty(shape, dtype=spec.dtype)
        res = list(self.geom.out_shape)
        for ax, t in zip(self.axes, self.tiles):
            res[ax] = t
        return inbuf, spec, prod, np.empty(res, dtype=self.dtype)

    def _tiles(self, a: np.ndarray, out: np.ndarray, tiles: list[tuple[int, ...]]) -> bool:
        """Compute the given tiles (indices along the convolved axes) into ``out``."""
        inbuf, spec, prod, res = self._buffers(a)
        finite = True
        dc = tuple(0 if ax in self.axes else slice(None) for ax in range(a.ndim))
        for index in tiles:
            src = self._window(a, index, inbuf)
            s = self._forward(src, spec)
            finite = finite and bool(np.isfinite(s[dc]).all())  # the zero frequency: the window's sum
            with np.errstate(invalid="ignore", over="ignore"):
                p = np.multiply(s, self.kspec, out=s if prod is None else prod)
            y = self._inverse(p, res)
            self._store(out, y, index)
        return finite

    def _window(self, a: np.ndarray, index: tuple[int, ...], inbuf: np.ndarray) -> np.ndarray:
        """The input window of one tile: a view of ``a``, or a zero-filled copy where it leaves ``a``."""
        src = [slice(None)] * a.ndim
        dst = [slice(None)] * a.ndim
        inside = True
        for ax, i, u, k, t, n, st in zip(self.axes, index, self.steps, self.ks, self.tiles, self.in_lens, self.starts):
            lo = st + i * u - (k - 1)
            a0, a1 = max(lo, 0), min(lo + t, n)
            inside = inside and a0 == lo and a1 == lo + t
            src[ax], dst[ax] = slice(a0, a1), slice(a0 - lo, a1 - lo)
        if inside:
            return a[tuple(src)]
        inbuf.fill(0)
        inbuf[tuple(dst)] = a[tuple(src)]
        return inbuf

    def _store(self, out: np.ndarray, y: np.ndarray, index: tuple[int, ...]) -> None:
        """Copy a tile's valid outputs (positions ``K - 1 ..``) into ``out``."""
        dst = [slice(None)] * out.ndim
        src = [slice(None)] * out.ndim
        for ax, i, u, k, n in zip(self.axes, index, self.steps, self.ks, self.out_lens):
            m = min(u, n - i * u)
            dst[ax], src[ax] = slice(i * u, i * u + m), slice(k - 1, k - 1 + m)
        out[tuple(dst)] = y[tuple(src)]
