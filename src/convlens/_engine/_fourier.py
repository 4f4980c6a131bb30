"""Filtering in the Fourier domain: multiply the spectrum by a response.

This is circular convolution with the kernel whose DFT is the response (the
convolution theorem), the form in which frequency masks, the spectral Gaussian
and the periodic heat propagator are defined.  For non-periodic boundaries x is
first extended by the boundary rule, so that the wrap-around of the circular
convolution falls on the extension and is cropped away.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .. import _backend as B
from .._validation import BOUNDARIES, check_array, check_axes, check_choice, check_memory, check_scalar, check_workers


def _check_pad(pad, axes: tuple[int, ...]) -> tuple[int, ...]:
    if isinstance(pad, (int, np.integer)) and not isinstance(pad, bool):
        pads = (int(pad),) * len(axes)
    else:
        try:
            pads = tuple(int(p) for p in pad)
        except TypeError:
            raise TypeError(f"pad must be a non-negative int or one int per filtered axis; got {pad!r}") from None
        if len(pads) != len(axes):
            raise ValueError(f"pad must have one entry per filtered axis ({len(axes)}); got {pad!r}")
    if any(p < 0 for p in pads):
        raise ValueError(f"pad must be non-negative; got {pad!r}")
    return pads


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


def fourier_filter(
    x,
    response: Callable[..., np.ndarray] | np.ndarray,
    *,
    axes=None,
    boundary: str = "wrap",
    pad=0,
    fill_value: float = 0,
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
    workers : int, optional
        FFT threads (default: all cores).

    Returns
    -------
    ndarray
        Same shape as x; float32 stays float32, complex64 stays complex64.

    Examples
    --------
    >>> import numpy as np
    >>> from convlens import fourier_filter
    >>> x = np.array([0.0, 0, 1, 0, 0, 0, 0, 0])
    >>> # a 3-tap moving average, written as its frequency response (1 + 2 cos 2 pi f) / 3
    >>> fourier_filter(x, lambda f: (1 + 2 * np.cos(2 * np.pi * f)) / 3).round(4)
    array([0.    , 0.3333, 0.3333, 0.3333, 0.    , 0.    , 0.    , 0.    ])
    """
    x = check_array("x", x)
    axes = check_axes(axes, x.ndim)
    boundary = check_choice("boundary", boundary, BOUNDARIES)
    check_scalar("fill_value", fill_value)
    workers = check_workers(workers)
    pads = _check_pad(pad, axes)
    if not (callable(response) or isinstance(response, np.ndarray)):
        raise TypeError(f"response must be a callable or an ndarray; got {type(response).__name__}")
    if x.dtype.kind in "fc" and not np.isfinite(x).all():
        raise ValueError(
            "x must be finite for fourier_filter (a spectral filter spreads one NaN everywhere); "
            "fill the gaps first, e.g. with convolve(..., nan_policy='interpolate')"
        )
    real = x.dtype.kind != "c"
    work = B.work_dtype(x.dtype)
    out_dtype = x.dtype if x.dtype.kind in "fc" and x.dtype.itemsize <= 16 else work
    if boundary == "wrap":
        pads = (0,) * len(axes)
    if isinstance(response, np.ndarray) and any(pads):
        raise ValueError(
            "an array response needs pad=0 (its shape fixes the FFT size); pass a callable to filter with padding"
        )
    # plan: FFT lengths and the extension that fills them
    lengths, widths = [], [(0, 0)] * x.ndim
    for ax, p in zip(axes, pads):
        n = x.shape[ax]
        if p == 0 and boundary == "wrap":
            lengths.append(n)
            continue
        L = B.good_size(n + 2 * p, real)
        lengths.append(L)
        widths[ax] = (p, L - n - p)
    spec_elems = math.prod(x.shape) // math.prod(x.shape[a] for a in axes) * math.prod(lengths)
    check_memory(spec_elems * np.dtype(work).itemsize * (4 if real else 3), f"fourier_filter of shape {x.shape}")
    # execute
    a = x.astype(work, copy=False)
    if any(w != (0, 0) for w in widths):
        a = np.pad(a, widths, mode=boundary, **({"constant_values": fill_value} if boundary == "constant" else {}))
    spec = B.rfftn(a, axes, workers) if real else B.fftn(a, axes, workers)
    if callable(response):
        h = np.asarray(response(*frequency_grid(lengths, axes, x.ndim, real)))
    else:
        h = response
        try:
            np.broadcast_shapes(h.shape, spec.shape)
        except ValueError:
            raise ValueError(
                f"response array must broadcast to the spectrum shape {spec.shape}; got {h.shape}"
            ) from None
    if h.dtype.kind not in "biufc":
        raise TypeError(f"response must be numeric; got dtype {h.dtype}")
    h = h.astype(spec.dtype if h.dtype.kind == "c" else spec.real.dtype, copy=False)
    if np.broadcast_shapes(h.shape, spec.shape) == spec.shape:
        np.multiply(spec, h, out=spec)
    else:
        spec = spec * h
    full = B.irfftn(spec, axes, lengths[-1], workers) if real else B.ifftn(spec, axes, workers, out=spec)
    crop = [slice(None)] * x.ndim
    for ax in axes:
        crop[ax] = slice(widths[ax][0], widths[ax][0] + x.shape[ax])
    return np.ascontiguousarray(full[tuple(crop)]).astype(out_dtype, copy=False)
