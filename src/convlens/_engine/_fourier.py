"""Filtering in the Fourier domain: multiply the spectrum by a response.

This is circular convolution with the kernel whose DFT is the response (the
convolution theorem), the form in which frequency masks, the spectral Gaussian
and the periodic heat propagator are defined.  For non-periodic boundaries x is
first extended by the boundary rule, so that the wrap-around of the circular
convolution falls on the extension and is cropped away.

Non-finite samples follow the engine's contract (``nan_policy``).  A spectral
filter has no taps to look at, so the caller says how far its impulse response
reaches (``radius``); the window of an output is then the box of that radius
around it on the boundary-extended input, exactly as for a kernel of that size
in :func:`convlens.convolve`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .. import _backend as B
from .._validation import (
    BOUNDARIES,
    NAN_POLICIES,
    check_array,
    check_axes,
    check_choice,
    check_memory,
    check_scalar,
    check_workers,
    result_dtype,
)
from ._direct import pad as _pad_by_geometry
from ._geometry import make_geometry
from ._nan import nonfinite_report, window_any


def _check_ints(name: str, value, axes: tuple[int, ...], what: str) -> tuple[int, ...]:
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        vals = (int(value),) * len(axes)
    else:
        try:
            vals = tuple(value)
        except TypeError:
            raise TypeError(f"{name} must be {what}; got {value!r}") from None
        if any(isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) for v in vals):
            raise TypeError(f"{name} must be {what}; got {value!r}")
        if len(vals) != len(axes):
            raise ValueError(f"{name} must have one entry per filtered axis ({len(axes)}); got {value!r}")
        vals = tuple(int(v) for v in vals)
    if any(v < 0 for v in vals):
        raise ValueError(f"{name} must be non-negative; got {value!r}")
    return vals


def _check_pad(pad, axes: tuple[int, ...]) -> tuple[int, ...]:
    return _check_ints("pad", pad, axes, "a non-negative int or one int per filtered axis")


def frequency_grid(lengths, axes, ndim: int, real: bool) -> list[np.ndarray]:
    """Frequencies (cycles/sample) of an FFT of the given lengths, shaped to broadcast.

    For a real transform the last axis holds only the non-negative half (``rfftfreq``).
    """
    grids = []
    for i, (ax, n) in enumerate(zip(axes, lengths)):
        f = np.fft.rfftfreq(n) if real and i == len(axes) - 1 else np.fft.fftfreq(n)
        shape = [1] * ndim
        shape[ax] = f.size
        grids.append(f.reshape(shape))
    return grids


class _Spectral:
    """The planned filter: FFT lengths, the extension that fills them, the response on that grid."""

    def __init__(self, x_shape, axes, boundary, pads, response, real, work, workers):
        self.axes, self.boundary, self.real, self.work, self.workers = axes, boundary, real, work, workers
        self.shape = x_shape
        lengths, widths = [], [(0, 0)] * len(x_shape)
        for ax, p in zip(axes, pads):
            n = x_shape[ax]
            if p == 0 and boundary == "wrap":
                lengths.append(n)
                continue
            L = B.good_size(n + 2 * p, real)
            lengths.append(L)
            widths[ax] = (p, L - n - p)
        self.lengths, self.widths = lengths, widths
        self.response = response

    def widened(self) -> _Spectral:
        """The same filter computed in float64 (complex128), for the weight sums of 'interpolate'."""
        work = np.dtype(np.complex128 if self.work.kind == "c" else np.float64)
        if work == self.work:
            return self
        wide = _Spectral(
            self.shape, self.axes, self.boundary, (0,) * len(self.axes), self.response, self.real, work, self.workers
        )
        wide.lengths, wide.widths = self.lengths, self.widths
        wide.gain(len(self.shape))
        return wide

    def spectrum_shape(self) -> tuple[int, ...]:
        shape = list(self.shape)
        for i, (ax, n) in enumerate(zip(self.axes, self.lengths)):
            shape[ax] = n // 2 + 1 if self.real and i == len(self.axes) - 1 else n
        return tuple(shape)

    def gain(self, x_ndim: int) -> np.ndarray:
        """The response and its value at frequency 0 (the kernel's sum), per batch entry."""
        resp = self.response
        if callable(resp):
            h = np.asarray(resp(*frequency_grid(self.lengths, self.axes, x_ndim, self.real)))
        else:
            h = resp
        if h.dtype.kind not in "biufc":
            raise TypeError(f"response must be numeric; got dtype {h.dtype}")
        try:
            np.broadcast_shapes(h.shape, self.spectrum_shape())
        except ValueError:
            raise ValueError(
                f"response array must broadcast to the spectrum shape {self.spectrum_shape()}; got {h.shape}"
            ) from None
        cdt = B.complex_of(self.work)
        h = h.astype(cdt if h.dtype.kind == "c" else cdt.type(0).real.dtype, copy=False)
        h = h.reshape((1,) * (x_ndim - h.ndim) + h.shape)  # align a shorter array with x's axes
        dc = h[tuple(slice(0, 1) if a in self.axes and h.shape[a] > 1 else slice(None) for a in range(h.ndim))]
        self.h = h
        return dc

    def __call__(self, a: np.ndarray, fill) -> np.ndarray:
        """Filter ``a`` (in the working dtype, finite), extended with ``fill`` for 'constant'."""
        if any(w != (0, 0) for w in self.widths):
            kw = {"constant_values": fill} if self.boundary == "constant" else {}
            a = np.pad(a, self.widths, mode=self.boundary, **kw)
        spec = B.rfftn(a, self.axes, self.workers) if self.real else B.fftn(a, self.axes, self.workers)
        h = self.h
        if np.broadcast_shapes(h.shape, spec.shape) == spec.shape:
            np.multiply(spec, h, out=spec)
        else:
            spec = spec * h
        if self.real:
            full = B.irfftn(spec, self.axes, self.lengths[-1], self.workers)
        else:
            full = B.ifftn(spec, self.axes, self.workers, out=spec)
        crop = [slice(None)] * a.ndim
        for ax in self.axes:
            crop[ax] = slice(self.widths[ax][0], self.widths[ax][0] + self.shape[ax])
        return np.ascontiguousarray(full[tuple(crop)])


def fourier_filter(
    x,
    response: Callable[..., np.ndarray] | np.ndarray,
    *,
    axes=None,
    boundary: str = "wrap",
    pad=0,
    fill_value: float = 0,
    nan_policy: str = "propagate",
    radius=None,
    workers: int | None = None,
) -> np.ndarray:
    """Multiply the DFT of ``x`` by a frequency response and transform back.

    Parameters
    ----------
    x : array_like
        Input; real input gives real output (the response is applied on the
        half spectrum of a real FFT, i.e. it is taken as Hermitian).
    response : callable or ndarray
        ``response(*freqs)`` gets one frequency array per filtered axis, in
        cycles/sample (from -0.5 to 0.5, float64), shaped to broadcast like
        ``np.ix_`` (the last filtered axis holds the non-negative half for real
        x) and returns the response (real or complex, broadcastable to the
        spectrum).  Or an array of exactly the spectrum's shape (only with
        ``pad=0`` and, for real x, the half-spectrum layout of ``numpy.fft.rfftn``).
    axes : int or sequence of int, optional
        Axes to filter (default: all).
    boundary : {'wrap', 'constant', 'reflect', 'symmetric', 'edge'}, optional
        'wrap' (default) is exact periodic filtering at the input's own length
        (``pad`` is then ignored).  Other rules extend x by ``pad`` samples per
        side (and further to a fast FFT length) by ``numpy.pad``'s rule before
        filtering, and crop back.
    pad : int or tuple of int, optional
        Extension per side for non-periodic boundaries; make it at least the
        reach of the filter's impulse response (e.g. 4 sigma for a Gaussian).
    fill_value : scalar, optional
        Value outside x for ``boundary='constant'``.
    nan_policy : {'propagate', 'raise', 'interpolate'}, optional
        The engine's contract for NaN and inf in x, with the window of each
        output being the box of ``radius`` samples around it on the extended
        x.  'propagate' (default): outputs whose window covers a NaN are NaN;
        a window covering infinities of one sign only gives that infinity
        times the sign of the response at frequency 0 (what a direct sum with
        a non-negative kernel gives; a response that is 0 there gives NaN),
        both signs give NaN.  'raise': ValueError with the count and the index
        of the first.  'interpolate': normalized convolution,
        ``F(x * w) / F(w) * H(0)`` over the finite samples ``w`` (as
        ``convolve(..., nan_policy='interpolate')``); outputs with no finite
        sample in their window, or whose finite weights cancel to round-off
        (``|F(w)| <= 64 eps max|H|``, in float64), are NaN.  A non-negative
        kernel (Gaussian, heat) never cancels, as in the engine.  Needs
        ``H(0) != 0``.
    radius : int or tuple of int, optional
        Reach of the response's impulse response, in samples per filtered
        axis, for ``nan_policy`` (e.g. the truncation radius of a Gaussian).
        Default: the whole axis (a response with infinite support, such as an
        ideal mask, mixes every sample of a line into every output).
    workers : int, optional
        FFT threads (default: all cores).

    Returns
    -------
    ndarray
        Same shape as x, in the dtype of the engine's table: float32 stays
        float32, float16 is computed in float32 and returned as float16,
        integers give float64, byte order is native.

    Examples
    --------
    >>> import numpy as np
    >>> from convlens import fourier_filter
    >>> x = np.array([0.0, 0, 1, 0, 0, 0, 0, 0])
    >>> # a 3-tap moving average, written as its frequency response (1 + 2 cos 2 pi f) / 3
    >>> h = lambda f: (1 + 2 * np.cos(2 * np.pi * f)) / 3
    >>> fourier_filter(x, h).round(4)
    array([0.    , 0.3333, 0.3333, 0.3333, 0.    , 0.    , 0.    , 0.    ])
    >>> x[6] = np.nan   # the 3-tap window (radius 1) of outputs 5, 6, 7 covers it
    >>> fourier_filter(x, h, radius=1).round(4)
    array([0.    , 0.3333, 0.3333, 0.3333, 0.    ,    nan,    nan,    nan])
    """
    x = check_array("x", x)
    axes = check_axes(axes, x.ndim)
    boundary = check_choice("boundary", boundary, BOUNDARIES)
    check_scalar("fill_value", fill_value)
    nan_policy = check_choice("nan_policy", nan_policy, NAN_POLICIES)
    workers = check_workers(workers)
    pads = _check_pad(pad, axes)
    radii = (
        tuple(x.shape[a] for a in axes)
        if radius is None
        else _check_ints("radius", radius, axes, "a non-negative int or one int per filtered axis")
    )
    if not (callable(response) or isinstance(response, np.ndarray)):
        raise TypeError(f"response must be a callable or an ndarray; got {type(response).__name__}")
    out_dtype, work = result_dtype(x.dtype, name="x")
    if boundary == "wrap":
        pads = (0,) * len(axes)
    if isinstance(response, np.ndarray) and any(pads):
        raise ValueError(
            "an array response needs pad=0 (its shape fixes the FFT size); pass a callable to filter with padding"
        )
    # plan: FFT lengths, the extension that fills them, the response on that grid
    real = x.dtype.kind != "c"
    plan = _Spectral(x.shape, axes, boundary, pads, response, real, work, workers)
    # refused before anything reads x (a broadcast view can be huge); non-finite data need twice that
    working_set = math.prod(plan.spectrum_shape()) * np.dtype(work).itemsize * (4 if real else 3)
    check_memory(working_set, f"fourier_filter of shape {x.shape}")
    report = nonfinite_report(x, "x")
    fill_bad = boundary == "constant" and not np.isfinite(fill_value)
    if report or fill_bad:
        check_memory(2 * working_set, f"fourier_filter of shape {x.shape} with non-finite values")
    if nan_policy == "raise" and (report or fill_bad):
        what = report or f"fill_value={fill_value!r} is non-finite"
        raise ValueError(what + " and nan_policy='raise'; use nan_policy='propagate' or 'interpolate' to accept them")
    dc = plan.gain(x.ndim)
    if real:  # a real x sees the Hermitian part of the response, whose value at frequency 0 is real
        dc = dc.real
    # execute
    a = x.astype(work, copy=False)
    if not (report or fill_bad):
        return plan(a, fill_value).astype(out_dtype, copy=False)
    return _nonfinite(plan, a, dc, radii, fill_value, nan_policy).astype(out_dtype, copy=False)


def _window_test(mask: np.ndarray, plan: _Spectral, radii, fill: bool) -> np.ndarray:
    """For each output, whether its window (box of ``radii``, on the extended mask) holds a True sample."""
    k_shape = [1] * mask.ndim
    for ax, r in zip(plan.axes, radii):
        k_shape[ax] = 2 * r + 1
    geom = make_geometry(mask.shape, k_shape, plan.axes, "same")
    return window_any(_pad_by_geometry(mask, geom, plan.boundary, fill), geom)


def _nonfinite(plan: _Spectral, a: np.ndarray, dc: np.ndarray, radii, fill_value, policy: str) -> np.ndarray:
    """Filter an ``a`` holding NaN/inf (or a non-finite constant extension) by ``policy``."""
    finite = np.isfinite(a)
    clean = np.where(finite, a, 0)
    fill_ok = bool(np.isfinite(fill_value))
    fill = fill_value if fill_ok else 0
    if policy == "propagate":
        res = plan(clean, fill)
        constant = plan.boundary == "constant"
        if a.dtype.kind == "c":  # complex infinities have no sign to keep: every non-finite window is NaN
            out_nan = _window_test(~finite, plan, radii, constant and not fill_ok)
        else:
            out_nan = _window_test(np.isnan(a), plan, radii, constant and bool(np.isnan(fill_value)))
            plus = _window_test(a == np.inf, plan, radii, constant and fill_value == np.inf)
            minus = _window_test(a == -np.inf, plan, radii, constant and fill_value == -np.inf)
            sign = np.sign(dc.real)
            out_nan = out_nan | (plus & minus) | ((plus | minus) & (sign == 0))
            up = (plus & (sign > 0)) | (minus & (sign < 0))
            down = (plus & (sign < 0)) | (minus & (sign > 0))
            res[np.broadcast_to(up & ~out_nan, res.shape)] = np.inf
            res[np.broadcast_to(down & ~out_nan, res.shape)] = -np.inf
        res[np.broadcast_to(out_nan, res.shape)] = np.nan
        return res
    # interpolate: normalized convolution over the finite samples
    if np.any(dc == 0):
        raise ValueError(
            "nan_policy='interpolate' needs a response that is not zero at frequency 0 (the finite weights are "
            "renormalized by it); a high-pass has no local mean to fill gaps with"
        )
    num = plan(clean, fill)
    # the weight sums in float64 whatever x's precision (as the engine's other paths): a window whose
    # only finite samples sit under the kernel's far taps keeps its few significant digits
    wide = plan.widened()
    den = wide(finite.astype(np.float64), 1.0 if fill_ok else 0.0)
    empty = ~_window_test(finite, plan, radii, fill_ok)
    cancelled = np.abs(den) <= 64 * np.finfo(np.float64).eps * float(np.max(np.abs(wide.h)))
    with np.errstate(divide="ignore", invalid="ignore"):
        res = num / den * dc
    res = np.array(res, dtype=np.result_type(res.dtype, plan.work))
    res[np.broadcast_to(empty | cancelled, res.shape)] = np.nan
    return res
