"""Plans as data: the frozen recipe of one convolution.

A :class:`Recipe` says *how* a convolution of given shapes and dtypes is computed
-- geometry, method, whether x is extended explicitly, output and working dtypes,
FFT lengths, block axis and block length -- and nothing else: no arrays, no
buffers, no locks.  It is hashable and picklable, and :func:`make_recipe` is
``lru_cache``d, so a repeated call with the same shapes reuses it for free.

Execution (:mod:`._convolver`) is a function of a recipe, a kernel (and its
spectrum, built lazily from the recipe) and x.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .. import _backend as B
from . import _cost
from ._blocks import block_length
from ._direct import cv2_direct_ok, native_bytes, native_ok, one_line
from ._geometry import Geometry


@dataclass(frozen=True)
class Recipe:
    """How one convolution is computed (pure data; see the module docstring)."""

    geometry: Geometry
    method: str  # 'direct', 'fft' or 'overlap-add'
    explicit_pad: bool  # x is extended by the boundary rule before an FFT (else zero padding is implicit)
    out_dtype: np.dtype
    work: np.dtype  # dtype the sums are computed in
    exact: bool  # integer inputs: exact integer result
    cv2_direct: bool  # the direct path runs OpenCV's filter2D (which skips zero taps)
    lengths: tuple[int, ...] = ()  # FFT length per convolved axis ('fft'; other axes for 'overlap-add')
    block_axis: int | None = None  # 'overlap-add': the axis cut into blocks
    block_fft_len: int | None = None  # ... and the FFT length of one block
    fused_1d: bool = False  # 'overlap-add' along one axis with one kernel: ducc0's fused overlap-save
    one_line: bool = False  # one 1-D signal and kernel (numpy.convolve's case on the direct path)
    direct_bytes: int = 0  # working memory of the direct path (extended x and the output)
    threads: int = 1  # threads the FFT paths run on (``workers``, or 1 where threads would not pay)

    @property
    def real(self) -> bool:
        """Real transforms (r2c/c2r) rather than complex ones."""
        return self.work.kind == "f"


def fft_lengths(geom: Geometry, explicit_pad: bool) -> tuple[int, ...]:
    """Fast FFT length per convolved axis, long enough that the wrap-around misses the kept outputs."""
    return tuple(B.fast_length(g.min_circular_length(explicit_pad)) for g in geom.per_axis)


def _blocking(geom: Geometry, explicit_pad: bool, real: bool, k_batch: bool) -> tuple[int, int, tuple[int, ...], bool]:
    """(block axis, block FFT length, lengths of the other convolved axes, fused 1-D?) for 'overlap-add'."""
    ax = _cost.best_block_axis(geom)
    if ax is None:
        ax = max(zip(geom.axes, geom.per_axis), key=lambda t: t[1].n)[0]
    g = geom.per_axis[geom.axes.index(ax)]
    others = tuple(
        B.fast_length(ga.min_circular_length(explicit_pad)) for a, ga in zip(geom.axes, geom.per_axis) if a != ax
    )
    L = block_length(g.k, g.padded if explicit_pad else g.n, real, math.prod(others))
    fused = len(geom.axes) == 1 and not k_batch and B.HAVE_DUCC
    return ax, L, others, fused


@lru_cache(maxsize=2048)
def make_recipe(
    geom: Geometry,
    out_dtype: np.dtype,
    work: np.dtype,
    exact: bool,
    *,
    explicit_pad: bool,
    method: str,
    workers: int,
    cached_kernel: bool,
) -> Recipe:
    """The recipe for a convolution of this geometry and these dtypes (cached).

    ``method`` is the requested one; 'auto' is resolved here by the cost model.
    """
    real = work.kind == "f"
    cv2_direct = real and cv2_direct_ok(geom, work)
    options = dict(
        explicit_pad=explicit_pad,
        real=real,
        native=work.name if not exact and native_ok(geom, work) else "",
        cv2_path=cv2_direct,
        exact_int=exact,
        cached_kernel=cached_kernel,
        double=work.itemsize == (8 if real else 16),
        itemsize=work.itemsize,
    )
    if method == "auto":
        costs = _cost.estimate_costs(geom, workers=workers, **options)
        method = min(costs.items(), key=lambda kv: kv[1])[0]
    threads = workers
    if workers > 1 and method != "direct":
        threads = _cost.fft_threads(_cost.estimate_costs(geom, workers=1, **options).get(method), workers)
    common = dict(
        geometry=geom,
        method=method,
        out_dtype=out_dtype,
        work=work,
        exact=exact,
        cv2_direct=cv2_direct,
        threads=threads,
    )
    if method == "direct":
        padded = math.prod(s + w0 + w1 for s, (w0, w1) in zip(geom.x_shape, geom.pad_width))
        nbytes = (math.prod(geom.out_shape) + padded) * work.itemsize
        if not exact and native_ok(geom, work):
            nbytes += native_bytes(geom, work)
        return Recipe(explicit_pad=explicit_pad, one_line=one_line(geom), direct_bytes=nbytes, **common)
    if method == "fft":
        return Recipe(explicit_pad=explicit_pad, lengths=fft_lengths(geom, explicit_pad), **common)
    k_batch = any(s != 1 for a, s in enumerate(geom.k_shape) if a not in geom.axes)
    ax, L, others, fused = _blocking(geom, explicit_pad, real, k_batch)
    return Recipe(explicit_pad=explicit_pad, lengths=others, block_axis=ax, block_fft_len=L, fused_1d=fused, **common)
