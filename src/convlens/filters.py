"""Frequency filtering: masks on the spectrum, their kernels, and Gaussian smoothing.

The essay: multiply the spectrum by a circle and the high frequencies are gone
(a low-pass filter); "imagine that the circle is a convolution kernel" and it
is ordinary convolution.  This module makes both directions executable:

* :func:`lowpass`, :func:`highpass`, :func:`bandpass` - ideal ("circle"),
  Gaussian and Butterworth masks for any shape and ndim, applied by the engine
  (:func:`convlens.fourier_filter`); the masks themselves come from
  :func:`lowpass_mask`, :func:`highpass_mask`, :func:`bandpass_mask`.
* :func:`mask_to_kernel` - the spatial kernel that a mask multiplies by;
  :func:`frequency_response` - the mask that a kernel multiplies by (both
  defined in ``convlens._lens_kernels``).
* :func:`gaussian` - Gaussian smoothing equal to ``scipy.ndimage.gaussian_filter``
  with the same boundary, by separable spatial passes for small sigma and
  spectrally for large sigma (defined in ``convlens._lens_smoothing``).
* Kernel builders: :func:`gaussian_kernel`, :func:`box_kernel`,
  :func:`laplacian_kernel`, :func:`sobel_kernel` (defined in ``convlens._lens_kernels``).

Every function here has ``nan_policy`` with the engine's meaning; for a mask,
whose kernel has no end, the window of an output is the mask's reach,
``ceil(1 / cutoff)`` samples (the lowest cut-off of a band), capped at the
axis length.

Frequencies are in cycles/sample (Nyquist = 0.5).  Masks use the unshifted
``numpy.fft.fftfreq`` layout unless ``centered=True``.  Boundary names are
``numpy.pad``'s: scipy.ndimage's 'reflect' is 'symmetric' here, its 'mirror'
is 'reflect', its 'nearest' is 'edge'; 'wrap' and 'constant' are the same.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from ._engine import fourier_filter
from ._lens_kernels import (
    box_kernel,
    frequency_response,
    gaussian_kernel,
    laplacian_kernel,
    mask_to_kernel,
    sobel_kernel,
)
from ._lens_smoothing import gaussian
from ._validation import (
    BOUNDARIES,
    NAN_POLICIES,
    as_work,
    check_alloc,
    check_axes,
    check_choice,
    check_finite,
    check_float,
    check_scalar,
    check_shape,
    check_workers,
    user_function,
)

__all__ = [
    "bandpass",
    "bandpass_mask",
    "box_kernel",
    "frequency_response",
    "gaussian",
    "gaussian_kernel",
    "highpass",
    "highpass_mask",
    "laplacian_kernel",
    "lowpass",
    "lowpass_mask",
    "mask_to_kernel",
    "sobel_kernel",
]

KINDS = ("ideal", "gaussian", "butterworth")


# --------------------------------------------------------------------------- checks


# The policy layer's check_float, with what the numbers mean (the bounds are the same everywhere here).
_NYQUIST = "in cycles/sample; 0.5 is the Nyquist frequency"


def _check_cutoff(name: str, value) -> float:
    return check_float(name, value, minimum=0, maximum=0.5, min_open=True, hint=_NYQUIST)


def _check_order(order) -> float:
    return check_float("order", order, minimum=0, min_open=True, hint="the Butterworth steepness")


# --------------------------------------------------------------------------- responses


def _low(r2: np.ndarray, cutoff: float, kind: str, order: float) -> np.ndarray:
    """Low-pass response as a function of squared radius r2 (cycles/sample)**2."""
    if kind == "ideal":
        return (r2 <= cutoff * cutoff).astype(np.float64)
    if kind == "gaussian":
        return np.exp(-r2 / (2.0 * cutoff * cutoff))
    # skimage.filters.butterworth's default ("squared") form: gain 1/2 at the cutoff
    return 1.0 / (1.0 + (r2 / (cutoff * cutoff)) ** order)


def _high(r2: np.ndarray, cutoff: float, kind: str, order: float) -> np.ndarray:
    if kind == "ideal":  # keep the boundary circle in the low band only
        return (r2 > cutoff * cutoff).astype(np.float64)
    return 1.0 - _low(r2, cutoff, kind, order)


def _response(band: str, kind: str, cutoffs: tuple[float, ...], order: float):
    """A callable response(*freqs) for fourier_filter."""

    def response(*freqs):
        r2 = sum(f * f for f in freqs)
        if band == "low":
            return _low(r2, cutoffs[0], kind, order)
        if band == "high":
            return _high(r2, cutoffs[0], kind, order)
        return _high(r2, cutoffs[0], kind, order) * _low(r2, cutoffs[1], kind, order)

    return response


def _mask(shape, band, kind, cutoffs, order, centered, what: str) -> np.ndarray:
    shape = check_shape("shape", shape)
    check_alloc(shape, np.float64, what=what, copies=3)  # squared radius, response, mask
    freqs = np.meshgrid(*[np.fft.fftfreq(n) for n in shape], indexing="ij", sparse=True)
    m = np.broadcast_to(_response(band, kind, cutoffs, order)(*freqs), shape).astype(np.float64)
    return np.fft.fftshift(m) if centered else m


_MASK_DOC = """
    Parameters
    ----------
    shape : int or sequence of int
        Shape of the spectrum (that of the signal to filter).
    {cut}
    kind : {{'ideal', 'gaussian', 'butterworth'}}, optional
        'ideal' (default): 1 inside the circle/ball ``|f| <= cutoff``, 0 outside.
        'gaussian': ``exp(-|f|**2 / (2 cutoff**2))``.  'butterworth':
        ``1 / (1 + (|f| / cutoff)**(2 order))``, the form of
        ``skimage.filters.butterworth`` (gain 1/2 at the cutoff).
    order : float, optional
        Butterworth order (> 0, default 2).
    centered : bool, optional
        Return the mask with zero frequency in the middle (``fftshift``), for
        display; the default is the unshifted ``numpy.fft.fftn`` layout.

    Returns
    -------
    ndarray
        float64 mask of ``shape``; high-pass is ``1 - low-pass`` and band-pass the
        product of a high-pass at ``low`` and a low-pass at ``high``.
"""


def lowpass_mask(
    shape, cutoff: float, *, kind: str = "ideal", order: float = 2.0, centered: bool = False
) -> np.ndarray:
    """Low-pass frequency mask: the essay's circle in the spectrum.
    {doc}
    Examples
    --------
    >>> from convlens.filters import lowpass_mask
    >>> lowpass_mask((5, 5), 0.25, centered=True).astype(int)
    array([[0, 0, 0, 0, 0],
           [0, 0, 1, 0, 0],
           [0, 1, 1, 1, 0],
           [0, 0, 1, 0, 0],
           [0, 0, 0, 0, 0]])
    """
    kind = check_choice("kind", kind, KINDS)
    return _mask(shape, "low", kind, (_check_cutoff("cutoff", cutoff),), _check_order(order), centered, "lowpass_mask")


def highpass_mask(
    shape, cutoff: float, *, kind: str = "ideal", order: float = 2.0, centered: bool = False
) -> np.ndarray:
    """High-pass frequency mask (``1 - lowpass_mask``).
    {doc}
    Examples
    --------
    >>> from convlens.filters import highpass_mask
    >>> highpass_mask(8, 0.2)          # frequencies 0, 1/8, 2/8, 3/8, -4/8, -3/8, -2/8, -1/8
    array([0., 0., 1., 1., 1., 1., 1., 0.])
    """
    kind = check_choice("kind", kind, KINDS)
    return _mask(
        shape, "high", kind, (_check_cutoff("cutoff", cutoff),), _check_order(order), centered, "highpass_mask"
    )


def bandpass_mask(
    shape, low: float, high: float, *, kind: str = "ideal", order: float = 2.0, centered: bool = False
) -> np.ndarray:
    """Band-pass frequency mask: ``low < |f| <= high`` for the ideal kind.
    {doc}
    Examples
    --------
    >>> from convlens.filters import bandpass_mask
    >>> bandpass_mask(8, 0.1, 0.3)
    array([0., 1., 1., 0., 0., 0., 1., 1.])
    """
    kind = check_choice("kind", kind, KINDS)
    return _mask(shape, "band", kind, _check_band(low, high), _check_order(order), centered, "bandpass_mask")


lowpass_mask.__doc__ = lowpass_mask.__doc__.replace(
    "{doc}", _MASK_DOC.format(cut="cutoff : float\n        Cut-off in cycles/sample, in (0, 0.5].")
)
highpass_mask.__doc__ = highpass_mask.__doc__.replace(
    "{doc}", _MASK_DOC.format(cut="cutoff : float\n        Cut-off in cycles/sample, in (0, 0.5].")
)
bandpass_mask.__doc__ = bandpass_mask.__doc__.replace(
    "{doc}", _MASK_DOC.format(cut="low, high : float\n        Band edges in cycles/sample, ``0 < low < high <= 0.5``.")
)


def _check_band(low, high) -> tuple[float, float]:
    low, high = _check_cutoff("low", low), _check_cutoff("high", high)
    if not low < high:
        raise ValueError(f"low must be smaller than high; got low={low!r}, high={high!r}")
    return low, high


# --------------------------------------------------------------------------- filtering


def _reach(x: np.ndarray, axes: tuple[int, ...], cutoff: float) -> tuple[int, ...]:
    """How far a mask's kernel reaches, per axis: about 1 / cutoff samples (4 sigma of the Gaussian
    kind's kernel is 0.64 / cutoff; an ideal mask's sinc never ends, so this is a convention), capped
    at the axis length."""
    return tuple(min(x.shape[a], math.ceil(1.0 / cutoff)) for a in axes)


def _filter(x, band, cutoffs, kind, order, axes, boundary, pad, fill_value, nan_policy, workers, what):
    x, out_dtype = as_work("x", x)
    axes = check_axes(axes, x.ndim)
    kind = check_choice("kind", kind, KINDS)
    order = _check_order(order)
    boundary = check_choice("boundary", boundary, BOUNDARIES)
    check_scalar("fill_value", fill_value)
    nan_policy = check_choice("nan_policy", nan_policy, NAN_POLICIES)
    workers = check_workers(workers)
    reach = _reach(x, axes, min(cutoffs))
    if nan_policy == "raise":
        check_finite("x", x, hint="use nan_policy='propagate' or 'interpolate' to accept them")
    with user_function(what):
        out = fourier_filter(
            x,
            _response(band, kind, cutoffs, order),
            axes=axes,
            boundary=boundary,
            pad=(reach if pad is None else pad) if boundary != "wrap" else 0,
            fill_value=fill_value,
            nan_policy=nan_policy,
            radius=reach,
            workers=workers,
        )
    return out.astype(out_dtype, copy=False)


_FILTER_DOC = """
    kind : {{'ideal', 'gaussian', 'butterworth'}}, optional
        Mask shape (see :func:`lowpass_mask`); default 'ideal'.
    order : float, optional
        Butterworth order (> 0, default 2).
    axes : int or sequence of int, optional
        Axes to filter (default: all); e.g. ``axes=(0, 1)`` filters each
        channel of an (H, W, 3) colour image.
    boundary : {{'wrap', 'constant', 'reflect', 'symmetric', 'edge'}}, optional
        'wrap' (default): exact periodic filtering, what multiplying the DFT
        does.  Others extend x by ``pad`` samples per side by ``numpy.pad``'s
        rule first (less ringing from the borders), then crop.
    pad : int or tuple of int, optional
        Extension per side for non-periodic boundaries (default
        ``ceil(1 / cutoff)``, capped at the axis length).
    fill_value : float, optional
        Value outside x for ``boundary='constant'``.
    nan_policy : {{'propagate', 'raise', 'interpolate'}}, optional
        NaN and inf in x, with the engine's meaning (see
        :func:`convlens.fourier_filter`), the window of an output being the
        mask's reach ``ceil(1 / cutoff)`` samples (the lower cut-off for
        band-pass), capped at the axis length: 'propagate' (default) spoils
        the outputs within that reach, 'raise' refuses them, 'interpolate'
        renormalizes over the finite samples (low-pass only: a high- or
        band-pass has no mean to renormalize by, and raises).
    workers : int, optional
        FFT threads (default: all cores).

    Returns
    -------
    ndarray
        Same shape as x; float32 stays float32, float16 is computed in float32
        and returned as float16, integers give float64.

    Raises
    ------
    ValueError
        Cut-offs outside (0, 0.5], order <= 0, NaN/inf with
        ``nan_policy='raise'``, bad axes, boundary or nan_policy.
"""


def lowpass(
    x: ArrayLike,
    cutoff: float,
    *,
    kind: str = "ideal",
    order: float = 2.0,
    axes: int | Sequence[int] | None = None,
    boundary: str = "wrap",
    pad: int | Sequence[int] | None = None,
    fill_value: float = 0,
    nan_policy: str = "propagate",
    workers: int | None = None,
) -> np.ndarray:
    """Keep the frequencies below ``cutoff``: multiply the spectrum by a low-pass mask.

    Parameters
    ----------
    x : array_like
        Signal, image or volume (any ndim, real or complex).
    cutoff : float
        Cut-off in cycles/sample, in (0, 0.5].
    {doc}
    Examples
    --------
    >>> import numpy as np
    >>> from convlens.filters import lowpass
    >>> n = np.arange(16)
    >>> x = np.cos(2 * np.pi * n / 16) + np.cos(2 * np.pi * 6 * n / 16)   # 1/16 and 6/16 cycles/sample
    >>> bool(np.allclose(lowpass(x, 0.2), np.cos(2 * np.pi * n / 16)))
    True
    """
    cutoff = _check_cutoff("cutoff", cutoff)
    return _filter(x, "low", (cutoff,), kind, order, axes, boundary, pad, fill_value, nan_policy, workers, "lowpass")


def highpass(
    x: ArrayLike,
    cutoff: float,
    *,
    kind: str = "ideal",
    order: float = 2.0,
    axes: int | Sequence[int] | None = None,
    boundary: str = "wrap",
    pad: int | Sequence[int] | None = None,
    fill_value: float = 0,
    nan_policy: str = "propagate",
    workers: int | None = None,
) -> np.ndarray:
    """Keep the frequencies above ``cutoff``: edges and fine texture.

    Parameters
    ----------
    x : array_like
        Signal, image or volume (any ndim, real or complex).
    cutoff : float
        Cut-off in cycles/sample, in (0, 0.5].
    {doc}
    Examples
    --------
    >>> import numpy as np
    >>> from convlens.filters import highpass
    >>> n = np.arange(16)
    >>> x = np.cos(2 * np.pi * n / 16) + np.cos(2 * np.pi * 6 * n / 16)
    >>> bool(np.allclose(highpass(x, 0.2), np.cos(2 * np.pi * 6 * n / 16)))
    True
    """
    cutoff = _check_cutoff("cutoff", cutoff)
    return _filter(x, "high", (cutoff,), kind, order, axes, boundary, pad, fill_value, nan_policy, workers, "highpass")


def bandpass(
    x: ArrayLike,
    low: float,
    high: float,
    *,
    kind: str = "ideal",
    order: float = 2.0,
    axes: int | Sequence[int] | None = None,
    boundary: str = "wrap",
    pad: int | Sequence[int] | None = None,
    fill_value: float = 0,
    nan_policy: str = "propagate",
    workers: int | None = None,
) -> np.ndarray:
    """Keep the frequencies between ``low`` and ``high`` (a ring in the spectrum).

    Parameters
    ----------
    x : array_like
        Signal, image or volume (any ndim, real or complex).
    low, high : float
        Band edges in cycles/sample, ``0 < low < high <= 0.5``.
    {doc}
    Examples
    --------
    >>> import numpy as np
    >>> from convlens.filters import bandpass
    >>> n = np.arange(32)
    >>> parts = [np.cos(2 * np.pi * k * n / 32) for k in (1, 5, 12)]
    >>> bool(np.allclose(bandpass(sum(parts), 0.1, 0.2), parts[1]))   # keeps 5/32 only
    True
    """
    cutoffs = _check_band(low, high)
    return _filter(x, "band", cutoffs, kind, order, axes, boundary, pad, fill_value, nan_policy, workers, "bandpass")


for _f in (lowpass, highpass, bandpass):
    _f.__doc__ = _f.__doc__.replace("{doc}", _FILTER_DOC.format().lstrip("\n").lstrip(" "))
