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

import numpy as np

from .. import _backend as B
from . import _scratch
from ._blocks import block_count
from ._geometry import Geometry
from ._threads import even_parts, run_shares


def _tile_key(name: str, shape: tuple[int, ...], dtype) -> tuple:
    """The pool's key of one of a tile worker's buffers."""
    return ("tile-" + name, tuple(shape), np.dtype(dtype).str)


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
        """Bytes of one execution: the (margined) output and each worker's tile buffers."""
        batch = math.prod(s for ax, s in enumerate(self.geom.batch_shape) if ax not in self.axes)
        out = list(self.out_lens)
        if len(self.axes) == 2:  # see _margined_output
            out = [self.counts[0] * self.steps[0], self.counts[1] * self.steps[1] + self.ks[1] - 1]
        tile = 6 * batch * math.prod(self.tiles) * max(self.workers, 1)
        return (batch * math.prod(out) + tile) * self.dtype.itemsize

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
        if len(self.axes) == 2:
            full, out = self._margined_output()
            # bands of tiles along the first axis, each right to left (see _inverse_into)
            order = [(i, j) for i in range(self.counts[0]) for j in reversed(range(self.counts[1]))]
        else:
            full = out = np.empty(self.geom.out_shape, dtype=self.dtype)
            order = list(itertools.product(*(range(c) for c in self.counts)))
        # equal shares of consecutive tiles, each with its own buffers
        shares = [order[part] for part in even_parts(len(order), self.workers)]
        return out, all(run_shares(lambda share: self._tiles(a, full, out, share), shares))

    def _margined_output(self) -> tuple[np.ndarray, np.ndarray]:
        """2-D: the array the tiles' inverse transforms write into, and the output (a view of it).

        Whole tile rows are written (``T`` samples along the second axis, the first
        ``K - 1`` of them wrap-around): the array has ``K - 1`` columns of margin in
        front and room for the last tiles, and the tiles of a band go right to left
        so that each one's wrap-around is overwritten by its left neighbour's outputs.
        """
        (a0, a1), k1 = self.axes, self.ks[1]
        shape = list(self.geom.out_shape)
        shape[a0] = self.counts[0] * self.steps[0]
        shape[a1] = self.counts[1] * self.steps[1] + k1 - 1
        full = np.empty(shape, dtype=self.dtype)
        view = [slice(None)] * full.ndim
        view[a0], view[a1] = slice(0, self.out_lens[0]), slice(k1 - 1, k1 - 1 + self.out_lens[1])
        return full, full[tuple(view)]

    def _buffers(self, a: np.ndarray) -> dict[str, np.ndarray]:
        """One worker's tile buffers by name: input window ``in``, spectrum ``spec``, inverse ``res`` and,
        where the kernel's spectrum broadcasts it to a larger shape, the product ``prod``.

        From the pool (:mod:`._scratch`): fresh buffers fault in page by page on every call.
        The input window needs no zeroing (:meth:`_window` zero-fills it where it leaves ``a``).
        """
        window = list(a.shape)
        for ax, t in zip(self.axes, self.tiles):
            window[ax] = t
        spec = list(window)
        if self.real:
            spec[self.axes[-1]] = self.tiles[-1] // 2 + 1
        cdt = B.complex_of(self.dtype)
        prod = np.broadcast_shapes(tuple(spec), self.kspec.shape)
        res = list(self.geom.out_shape)
        for ax, t in zip(self.axes, self.tiles):
            res[ax] = t
        shapes = {"in": (tuple(window), self.dtype), "spec": (tuple(spec), cdt), "res": (tuple(res), self.dtype)}
        if prod != tuple(spec):
            shapes["prod"] = (prod, cdt)
        return {name: _scratch.take(_tile_key(name, *sd), *sd, zero=False) for name, sd in shapes.items()}

    def _tiles(self, a: np.ndarray, full: np.ndarray, out: np.ndarray, tiles: list[tuple[int, ...]]) -> bool:
        """Compute the given tiles (indices along the convolved axes) into ``out``.

        2-D: tiles write whole rows into ``full`` (see :meth:`_margined_output`), except a
        share's last tile when its left neighbour belongs to another thread: that one's
        outputs are copied from a tile buffer, so that it writes nothing of its neighbour's.
        """
        bufs = self._buffers(a)
        inbuf, spec, prod, res = bufs["in"], bufs["spec"], bufs.get("prod"), bufs["res"]
        direct = len(self.axes) == 2
        last = tiles[-1] if direct and tiles[-1][1] > 0 else None
        finite = True
        dc = tuple(0 if ax in self.axes else slice(None) for ax in range(a.ndim))
        for index in tiles:
            s = self._forward(self._window(a, index, inbuf), spec)
            ok = np.isfinite(s[dc])  # the zero frequency: the window's sum
            if bool(ok) if ok.ndim == 0 else bool(ok.all()):
                p = np.multiply(s, self.kspec, out=s if prod is None else prod)
            else:  # the caller recomputes this result from the finite samples: no warnings
                finite = False
                with np.errstate(invalid="ignore", over="ignore"):
                    p = np.multiply(s, self.kspec, out=s if prod is None else prod)
            if direct and index != last:
                self._inverse_into(p, full, index)
            else:
                self._store(out, self._inverse(p, res), index)
        for name, buf in bufs.items():
            _scratch.give(_tile_key(name, buf.shape, buf.dtype), buf)
        return finite

    def _inverse_into(self, p: np.ndarray, full: np.ndarray, index: tuple[int, ...]) -> None:
        """2-D: inverse transform of a tile's product straight into the margined output.

        Along the first axis all ``T`` points (in place), along the second only the
        ``U`` rows that hold outputs, written as whole rows (see :meth:`_margined_output`).
        """
        (a0, a1), (i, j), (u0, u1) = self.axes, index, self.steps
        B.ifftn(p, (a0,), 1, out=p)
        rows = [slice(None)] * p.ndim
        rows[a0] = slice(self.ks[0] - 1, None)
        dst = [slice(None)] * full.ndim
        dst[a0], dst[a1] = slice(i * u0, i * u0 + u0), slice(j * u1, j * u1 + self.tiles[1])
        if self.real:
            B.irfftn(p[tuple(rows)], (a1,), self.tiles[1], 1, out=full[tuple(dst)])
        else:
            B.ifftn(p[tuple(rows)], (a1,), 1, out=full[tuple(dst)])

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
        inbuf[tuple(dst)] = a[tuple(src)]
        # zeros only where the window leaves a: the slabs before and after the samples along each
        # axis, within the span of the axes before it (filling all of it first wrote most twice)
        zone = [slice(None)] * a.ndim
        for ax, t in zip(self.axes, self.tiles):
            d0, d1 = dst[ax].start, dst[ax].stop
            for part in (slice(0, d0), slice(d1, t)):
                if part.start < part.stop:
                    zone[ax] = part
                    inbuf[tuple(zone)] = 0
            zone[ax] = dst[ax]
        return inbuf

    def _store(self, out: np.ndarray, y: np.ndarray, index: tuple[int, ...]) -> None:
        """Copy a tile's valid outputs (positions ``K - 1 ..``) into ``out``."""
        dst = [slice(None)] * out.ndim
        src = [slice(None)] * out.ndim
        for ax, i, u, k, n in zip(self.axes, index, self.steps, self.ks, self.out_lens):
            m = min(u, n - i * u)
            dst[ax], src[ax] = slice(i * u, i * u + m), slice(k - 1, k - 1 + m)
        out[tuple(dst)] = y[tuple(src)]
