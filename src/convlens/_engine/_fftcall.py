"""The lean path of a repeated small FFT call: everything but the transforms is decided once.

A one-shot ``convolve(x, k)`` builds a plan per call (its kernel is new each time).
For a small whole-array FFT that plan's bookkeeping -- a plan object, its shapes
and crops, a lock, buffers handed out with finalizers -- cost about twice the
transforms themselves (4096 (x) 1024 in float64: ~230 us a call against ~80 us
of padding, three transforms and a product).  A template plan (see ``_api``)
therefore keeps one :class:`FFTCall` per input dtype holding the shapes, regions,
crops and memory estimate, and a call is the kernel's check, two padded copies,
three transforms, a product and a crop, with buffers from the shared pool.

Nothing of the contract is traded: it runs only where the general path would
run the same whole-array transform (constant zero boundary, ``nan_policy=
'propagate'``, no integers to keep exact, no tiles) and returns None -- the
caller then takes the general path -- when the input's spectrum says it holds
NaN or inf (the general path's rule for ``'propagate'``).
"""

from __future__ import annotations

import math

import numpy as np

from .. import _backend as B
from .._validation import check_memory
from . import _scratch
from ._cost import LEAN_FFT_MAX_BYTES
from ._fastpath import KERNEL_NOT_FINITE
from ._recipe import Recipe


class FFTCall:
    """The per-dtype constants of a small whole-array FFT convolution (see the module docstring)."""

    __slots__ = (
        "axes",
        "conj",
        "crop",
        "dc",
        "flip",
        "k_key",
        "k_region",
        "k_shape",
        "kbuf_shape",
        "kspec_key",
        "kspec_shape",
        "last",
        "nbytes",
        "out_dtype",
        "real",
        "spec_key",
        "spec_shape",
        "threads",
        "what",
        "work",
        "x_key",
        "x_region",
        "xbuf_shape",
    )

    def __init__(self, plan, r: Recipe, xbuf_shape: tuple, kbuf_shape: tuple, spec_shape: tuple, kspec_shape: tuple):
        geom = r.geometry
        self.axes, self.real, self.work, self.out_dtype = geom.axes, r.work.kind == "f", r.work, r.out_dtype
        self.threads, self.last = r.threads, r.lengths[-1]
        self.k_shape = plan.kernel.shape
        self.xbuf_shape, self.kbuf_shape, self.spec_shape = xbuf_shape, kbuf_shape, spec_shape
        self.kspec_shape = kspec_shape
        self.x_region = tuple(slice(0, s) for s in geom.x_shape)
        self.k_region = tuple(slice(0, s) for s in self.k_shape)
        # the pool's keys name the region written (the rest of a zero-padded buffer stays zero);
        # the same keys as the general path's, so the two share buffers
        self.x_key = ("pad", xbuf_shape, tuple(geom.x_shape), r.work.str)
        self.k_key = ("pad", kbuf_shape, tuple(self.k_shape), r.work.str)
        cdt = B.complex_of(r.work)
        self.spec_key = ("spec", spec_shape, cdt.str)
        self.kspec_key = ("spec", kspec_shape, cdt.str)
        self.crop = tuple(slice(g.offset, g.offset + g.out_len) for g in geom.per_axis)  # along each of axes
        self.dc = tuple(0 if ax in geom.axes else slice(None) for ax in range(len(xbuf_shape)))
        # a correlation's template is reversed (and conjugated) into a convolution kernel
        self.flip = (
            tuple(slice(None, None, -1) if d in geom.axes else slice(None) for d in range(len(self.k_shape)))
            if plan._correlate
            else None
        )
        self.conj = plan._correlate and r.work.kind == "c"
        itemsize = r.work.itemsize
        cplx = itemsize * (2 if self.real else 1)
        spectra = 2 * math.prod(spec_shape) + math.prod(kspec_shape)  # x's, the kernel's, the inverse's
        self.nbytes = (math.prod(xbuf_shape) + math.prod(kbuf_shape)) * itemsize + spectra * cplx
        self.what = plan._what + " (fft)"

    def __call__(self, x: np.ndarray, kernel: np.ndarray) -> np.ndarray | None:
        """The convolution of ``x`` with ``kernel`` (unchecked, as the caller passed it), or None."""
        if kernel.shape != self.k_shape:
            kernel = kernel.reshape(self.k_shape)
        if kernel.dtype.kind in "fc" and not np.isfinite(kernel).all():
            raise ValueError(KERNEL_NOT_FINITE)
        if self.flip is not None:
            kernel = kernel[self.flip]
        if self.conj:
            kernel = np.conj(kernel)
        check_memory(self.nbytes, self.what)
        cdt = B.complex_of(self.work)
        xbuf = _scratch.take(self.x_key, self.xbuf_shape, self.work, zero=True)
        kbuf = _scratch.take(self.k_key, self.kbuf_shape, self.work, zero=True)
        spec = _scratch.take(self.spec_key, self.spec_shape, cdt, zero=False)
        kspec = _scratch.take(self.kspec_key, self.kspec_shape, cdt, zero=False)
        try:
            xbuf[self.x_region] = x
            kbuf[self.k_region] = kernel
            # the padding's rows are not transformed, nor the outputs cropped away computed (see _backend)
            B.padded_forward(xbuf, self.axes, spec, self.threads)
            dc = np.isfinite(spec[self.dc])
            if not (bool(dc) if dc.ndim == 0 else bool(dc.all())):
                return None  # NaN or inf in x (or an overflowing sum): the general path decides
            B.padded_forward(kbuf, self.axes, kspec, self.threads)
            np.multiply(spec, kspec, out=spec)
            # the last axis into a fresh array: the spectrum goes back to the pool
            res = B.cropped_inverse(spec, self.axes, self.last, self.crop, self.threads, real=self.real)
        finally:
            for key, buf in ((self.x_key, xbuf), (self.k_key, kbuf), (self.spec_key, spec), (self.kspec_key, kspec)):
                _scratch.give(key, buf)
        return res.astype(self.out_dtype, copy=False)


def fft_call(plan, r: Recipe) -> FFTCall | None:
    """An :class:`FFTCall` for this template plan and recipe, or None where only the general path applies."""
    if r.method != "fft" or r.exact or r.explicit_pad or plan.nan_policy != "propagate" or plan._nonfinite_fill:
        return None
    geom = r.geometry
    spec, kspec = list(geom.x_shape), list(geom.k_shape)
    for ax, n in zip(geom.axes, r.lengths):
        spec[ax] = kspec[ax] = n
    if math.prod(spec) * r.work.itemsize > LEAN_FFT_MAX_BYTES:  # the whole padded input
        return None
    # the buffers are zero-padded along the last transformed axis only (see _backend.padded_forward)
    last = geom.axes[-1]
    xbuf, kbuf = list(geom.x_shape), list(geom.k_shape)
    xbuf[last] = kbuf[last] = r.lengths[-1]
    if r.work.kind == "f":
        spec[last] = kspec[last] = r.lengths[-1] // 2 + 1
    # a kernel without x's batch axes (one kernel for every row) broadcasts into x's spectrum
    if np.broadcast_shapes(tuple(spec), tuple(kspec)) != tuple(spec):
        return None
    return FFTCall(plan, r, tuple(xbuf), tuple(kbuf), tuple(spec), tuple(kspec))
