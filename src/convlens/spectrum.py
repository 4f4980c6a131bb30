"""The Fourier domain of signals and images: spectra, profiles, orientation, band levels.

The essay's first lens: "a Fourier transform contains a lot of information
about the orientation of an object in an image", and the equalizer bars of a
music player are Fourier magnitudes in frequency bands.

* :func:`log_spectrum` - the centred log-magnitude spectrum (any ndim).
* :func:`radial_profile` - mean power per frequency ring (any ndim).
* :func:`angular_profile` - share of power per stripe direction (2-D).
* :func:`orientation` - dominant stripe direction and a confidence (2-D).
* :func:`band_levels` - octave or third-octave band levels over time (audio).

Conventions: frequencies are in cycles/sample (Nyquist = 0.5).  Angles are in
degrees in [0, 180) and give the direction of *stripes* (not of the spectral
peak, which is perpendicular to them), counter-clockwise from the horizontal
as the image is displayed (row 0 at the top), so that
``skimage.transform.rotate(image, theta)`` adds ``theta`` to the angle.

None of these functions convolves anything: they are plain transforms for
looking at data, computed with the package's FFT backend.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike

from . import _backend as B
from ._lens_audio import BandLevels, band_levels
from ._lens_common import WINDOWS, analysis_window, check_finite_input, check_gray, windowed
from ._validation import (
    check_alloc,
    check_array,
    check_axes,
    check_choice,
    check_float,
    check_positive_int,
    check_workers,
    real_dtype,
    result_dtype,
)

__all__ = [
    "AngularProfile",
    "BandLevels",
    "Orientation",
    "RadialProfile",
    "angular_profile",
    "band_levels",
    "log_spectrum",
    "orientation",
    "radial_profile",
]

# pickles name the public module, not the private one that defines them
BandLevels.__module__ = __name__


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class RadialProfile:
    """Mean power per ring of frequency magnitude.

    Attributes
    ----------
    frequency : ndarray
        Ring centres in cycles/sample.
    power : ndarray
        Mean power spectral value in each ring, scaled so that white noise of
        variance s**2 gives about s**2 in every ring (NaN for an empty ring).
    counts : ndarray
        Number of DFT coefficients in each ring.
    """

    frequency: np.ndarray
    power: np.ndarray
    counts: np.ndarray


@dataclass(frozen=True)
class AngularProfile:
    """Share of spectral power per stripe direction.

    Attributes
    ----------
    angle : ndarray
        Bin centres in degrees, [0, 180): the direction of the stripes that the
        power in the bin draws (perpendicular to the frequency vector).
    power : ndarray
        Fraction of the power in the frequency band that falls in each bin
        (sums to 1).
    """

    angle: np.ndarray
    power: np.ndarray


@dataclass(frozen=True)
class Orientation:
    """Dominant stripe direction of an image.

    Attributes
    ----------
    angle : float
        Degrees in [0, 180), counter-clockwise from the horizontal as displayed.
    confidence : float
        Coherence in [0, 1]: 0 for an isotropic texture, 1 for perfect stripes.
    """

    angle: float
    confidence: float


# --------------------------------------------------------------------------- checks


def _check_band(fmin, fmax) -> tuple[float, float]:
    fmin = check_float("fmin", fmin, minimum=0, maximum=0.5)
    fmax = check_float("fmax", fmax, minimum=0, maximum=0.5)
    if not fmin < fmax:
        raise ValueError(
            f"fmin and fmax must satisfy 0 <= fmin < fmax <= 0.5 cycles/sample; got fmin={fmin!r}, fmax={fmax!r}"
        )
    return fmin, fmax


def _dtypes(x: np.ndarray, name: str) -> tuple[np.dtype, np.dtype]:
    """(real output dtype, working dtype) of a spectrum of x, by the package's dtype rule."""
    out, work = result_dtype(x.dtype, name=name)
    return real_dtype(out), work


# --------------------------------------------------------------------------- spectra


def log_spectrum(
    x: ArrayLike, *, axes: int | Sequence[int] | None = None, window: str = "none", workers: int | None = None
) -> np.ndarray:
    """Centred log-magnitude spectrum ``log(1 + |DFT(x * window)|)``.

    Parameters
    ----------
    x : array_like
        Signal, image or volume (real or complex, any number of dimensions).
    axes : int or sequence of int, optional
        Axes to transform (default: all).
    window : {'none', 'hann', 'radial'}, optional
        Taper applied before the transform: 'none' (default), a separable
        periodic Hann window, or an isotropic Hann taper on the inscribed
        circle/ball ('radial', which avoids the cross that image borders draw).
    workers : int, optional
        FFT threads (default: all cores).

    Returns
    -------
    ndarray
        Same shape as x, zero frequency at index ``n // 2`` of each transformed
        axis (``numpy.fft.fftshift``).  The real dtype of x's precision
        (float16/32/64 kept, complex64 gives float32, integers float64).

    Raises
    ------
    ValueError
        Non-finite values in x, unknown window, bad axes.

    Examples
    --------
    >>> import numpy as np
    >>> from convlens.spectrum import log_spectrum
    >>> x = np.cos(2 * np.pi * np.arange(8) / 4)   # 0.25 cycles/sample
    >>> np.round(log_spectrum(x), 3)                  # peaks at -0.25 and +0.25
    array([0.   , 0.   , 1.609, 0.   , 0.   , 0.   , 1.609, 0.   ])
    """
    x = check_array("x", x)
    axes = check_axes(axes, x.ndim)
    window = check_choice("window", window, WINDOWS)
    workers = check_workers(workers)
    out, work = _dtypes(x, "x")
    check_alloc(x.shape, B.complex_of(work), what="log_spectrum", copies=2)  # windowed copy and spectrum
    check_finite_input("x", x)
    a, _ = windowed(x, axes, window, work, demean=False)
    spec = B.fftn(a, axes, workers)
    return np.fft.fftshift(np.log1p(np.abs(spec)), axes=axes).astype(out, copy=False)


def _check_power_input(name: str, x: np.ndarray, what: str) -> None:
    """Memory first (x may be a broadcast view of a huge array), then finiteness."""
    _, work = _dtypes(x, name)
    check_alloc(x.shape, B.complex_of(work), what=what, copies=3)  # windowed copy, spectrum, power
    check_finite_input(name, x)


def _power_and_freqs(x, axes, window, workers):
    """Full power spectrum (scaled to a density per coefficient) and the frequency grids."""
    _, work = _dtypes(x, "x")
    a, wsum = windowed(x, axes, window, work, demean=True)
    spec = B.fftn(a, axes, workers)
    power = (spec.real**2 + spec.imag**2) / wsum
    grids = []
    for ax in axes:
        shape = [1] * x.ndim
        shape[ax] = x.shape[ax]
        grids.append(np.fft.fftfreq(x.shape[ax]).reshape(shape))
    return power, grids


def radial_profile(
    x: ArrayLike,
    *,
    axes: int | Sequence[int] | None = None,
    bins: int | None = None,
    window: str = "hann",
    workers: int | None = None,
) -> RadialProfile:
    """Mean power spectral value in rings of frequency magnitude ``|f|``.

    Parameters
    ----------
    x : array_like
        Real signal, image or volume (any number of dimensions).
    axes : int or sequence of int, optional
        Axes to transform (default: all).  The profile is averaged over the
        other axes' power spectra.
    bins : int, optional
        Number of equal rings over [0, 0.5] cycles/sample (default: half the
        smallest transformed length, i.e. about one DFT bin per ring).
        Frequencies beyond 0.5 (the corners of the spectrum) are left out.
        The mean is removed before windowing, so the zero frequency holds no power.
    window : {'hann', 'radial', 'none'}, optional
        Taper applied before the transform (default a separable Hann window).
    workers : int, optional
        FFT threads.

    Returns
    -------
    RadialProfile
        ``frequency`` (ring centres), ``power`` (mean power per ring; white
        noise of variance s**2 gives about s**2), ``counts``.

    Raises
    ------
    ValueError
        Non-finite values, bins < 1, unknown window.

    Examples
    --------
    >>> import numpy as np
    >>> from convlens.spectrum import radial_profile
    >>> noise = np.random.default_rng(0).standard_normal((256, 256))
    >>> prof = radial_profile(noise, bins=4, window="none")
    >>> prof.frequency
    array([0.0625, 0.1875, 0.3125, 0.4375])
    >>> bool(np.allclose(prof.power, 1.0, atol=0.05))   # white noise: flat at its variance
    True
    """
    x = check_array("x", x, allow_complex=False)
    axes = check_axes(axes, x.ndim)
    window = check_choice("window", window, WINDOWS)
    workers = check_workers(workers)
    bins = max(1, min(x.shape[a] for a in axes) // 2) if bins is None else check_positive_int("bins", bins)
    check_alloc((bins,), np.float64, what="radial_profile", copies=6)  # edges, counts, sums, means, results
    _check_power_input("x", x, "radial_profile")
    power, grids = _power_and_freqs(x, axes, window, workers)
    radius = np.sqrt(sum(g * g for g in grids))
    radius = np.broadcast_to(radius, power.shape)
    edges = np.linspace(0.0, 0.5, bins + 1)
    idx = np.clip(np.searchsorted(edges, radius.ravel(), side="right") - 1, 0, bins - 1)
    inside = radius.ravel() <= 0.5
    counts = np.bincount(idx[inside], minlength=bins)
    sums = np.bincount(idx[inside], weights=power.ravel()[inside].astype(np.float64), minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = sums / counts
    dtype, _ = _dtypes(x, "x")
    n_other = power.size // math.prod(x.shape[a] for a in axes)
    return RadialProfile(
        frequency=((edges[:-1] + edges[1:]) / 2).astype(dtype),
        power=mean.astype(dtype),
        counts=(counts // n_other).astype(np.int64),
    )


def _stripe_angles(grids: list[np.ndarray]) -> np.ndarray:
    """Stripe direction (degrees in [0, 180)) of each frequency vector (fy, fx) of a 2-D spectrum.

    The frequency vector points across the stripes; as displayed (rows go down) it
    points at atan2(-fy, fx), and the stripes run 90 degrees further on.
    """
    fy, fx = grids
    return (np.degrees(np.arctan2(-fy, fx)) + 90.0) % 180.0


def angular_profile(
    image: ArrayLike,
    *,
    bins: int = 180,
    fmin: float = 0.01,
    fmax: float = 0.5,
    window: str = "radial",
    workers: int | None = None,
) -> AngularProfile:
    """Share of spectral power per stripe direction, for frequencies ``fmin <= |f| <= fmax``.

    Parameters
    ----------
    image : (M, N) array_like
        Grey image (a colour image raises; convert with ``skimage.color.rgb2gray``).
    bins : int, optional
        Number of equal angle bins over [0, 180) degrees (default 180).
    fmin, fmax : float, optional
        Frequency band in cycles/sample, ``0 <= fmin < fmax <= 0.5``.
    window : {'radial', 'hann', 'none'}, optional
        Taper; the default isotropic 'radial' window favours no direction and
        ignores the corners, so rotating the image rotates the profile.
    workers : int, optional
        FFT threads.

    Returns
    -------
    AngularProfile
        ``angle`` (bin centres, degrees) and ``power`` (fractions summing to 1).

    Raises
    ------
    ValueError
        Not a 2-D grey image, non-finite values, bad band or bins.

    Examples
    --------
    >>> import numpy as np
    >>> from convlens.spectrum import angular_profile
    >>> rows = np.arange(64)[:, None] + 0 * np.arange(64)[None, :]
    >>> stripes = np.sin(2 * np.pi * rows / 8)           # horizontal stripes
    >>> prof = angular_profile(stripes, bins=4)
    >>> prof.angle
    array([ 22.5,  67.5, 112.5, 157.5])
    >>> int(np.argmax(prof.power)), bool(prof.power[[0, 3]].sum() > 0.9)   # near 0 / 180 degrees
    (0, True)
    """
    image = check_gray("image", image, finite=False)
    fmin, fmax = _check_band(fmin, fmax)
    window = check_choice("window", window, WINDOWS)
    workers = check_workers(workers)
    bins = check_positive_int("bins", bins)
    check_alloc((bins,), np.float64, what="angular_profile", copies=4)  # sums, shares, angles
    _check_power_input("image", image, "angular_profile")
    power, grids = _power_and_freqs(image, (0, 1), window, workers)
    r2 = grids[0] ** 2 + grids[1] ** 2
    band = (r2 >= fmin**2) & (r2 <= fmax**2)
    angle = np.broadcast_to(_stripe_angles(grids), power.shape)
    idx = np.minimum((angle[band] / (180.0 / bins)).astype(np.int64), bins - 1)
    sums = np.bincount(idx, weights=power[band].astype(np.float64), minlength=bins)
    total = sums.sum()
    share = sums / total if total > 0 else np.full(bins, 1.0 / bins)
    dtype, _ = _dtypes(image, "image")
    return AngularProfile(angle=(np.arange(bins) + 0.5) * (180.0 / bins), power=share.astype(dtype))


@lru_cache(maxsize=2)
def _orientation_weights(shape: tuple[int, int], fmin: float, fmax: float) -> np.ndarray:
    """(3, 2*H*Wh) float32 weights on the interleaved (re, im) half spectrum of an (H, W) rfft2.

    Rows: band weight, band weight * cos 2phi, band weight * sin 2phi, with phi the
    display angle of the frequency vector.  The power of a half-spectrum entry is
    re**2 + im**2, so repeating each weight over the (re, im) pair lets one
    matrix-vector product give all three sums from the squared spectrum: the only
    passes over the data are the FFT, one square and one product.
    """
    h, w = shape
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    r2 = fy * fy + fx * fx
    band = (r2 >= fmin * fmin) & (r2 <= fmax * fmax) & (r2 > 0)
    # each interior column of the half spectrum stands for itself and its mirror image
    mult = np.full(fx.shape, 2.0)
    mult[:, 0] = 1.0
    if w % 2 == 0:
        mult[:, -1] = 1.0
    base = np.where(band, mult, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        # (fx - i*fy)**2 / |f|**2 = exp(2i*phi) with phi = atan2(-fy, fx), without any trig
        cos2 = np.where(band, (fx * fx - fy * fy) / r2, 0.0)
        sin2 = np.where(band, -2.0 * fx * fy / r2, 0.0)
    out = np.empty((3, h, fx.shape[1], 2), np.float32)
    for i, wt in enumerate((base, base * cos2, base * sin2)):
        out[i] = np.broadcast_to(wt[..., None], (h, fx.shape[1], 2))
    out = out.reshape(3, -1)
    out.flags.writeable = False
    return out


def orientation(
    image: ArrayLike,
    *,
    fmin: float = 0.01,
    fmax: float = 0.5,
    window: str = "radial",
    workers: int | None = None,
) -> Orientation:
    """Dominant stripe direction of an image and how strongly it dominates.

    The power spectrum's doubled-angle mean ``Z = sum P(f) exp(2i phi(f)) / sum P(f)``
    over the band ``fmin <= |f| <= fmax`` gives the direction of the spectral
    peak (``arg Z / 2``); the stripes run perpendicular to it.  ``|Z|`` is the
    coherence: 0 for an isotropic texture, 1 for perfect stripes.

    Parameters
    ----------
    image : (M, N) array_like
        Grey image (a colour image raises; convert with ``skimage.color.rgb2gray``).
    fmin, fmax : float, optional
        Frequency band in cycles/sample (default 0.01 to 0.5), leaving out the
        lowest frequencies where illumination and the window's own spectrum sit.
    window : {'radial', 'hann', 'none'}, optional
        Taper (default: isotropic Hann on the inscribed circle, so the image
        border and rotation corners do not add stripes of their own).
    workers : int, optional
        FFT threads.

    Returns
    -------
    Orientation
        ``angle`` in degrees, [0, 180), counter-clockwise from the horizontal
        as displayed (``skimage.transform.rotate(image, t)`` adds ``t``), and
        ``confidence`` in [0, 1].

    Raises
    ------
    ValueError
        Not a 2-D grey image, non-finite values, bad band.

    Notes
    -----
    One real FFT plus a few cheap reductions, computed in float32 whatever the
    input precision (an angle does not need more).  The window and the
    per-frequency weights depend only on the image shape and the band and are
    cached for the last two shapes (about 16 bytes per pixel, 270 MB for a
    4096 x 4096 image), so repeated calls cost one FFT and two passes.

    Examples
    --------
    >>> import numpy as np
    >>> from convlens.spectrum import orientation
    >>> yy, xx = np.mgrid[0:128, 0:128]
    >>> t = np.radians(30.0)                      # stripes running 30 degrees up from horizontal
    >>> stripes = np.sin(2 * np.pi * (xx * np.sin(t) + yy * np.cos(t)) / 6)
    >>> res = orientation(stripes)
    >>> round(res.angle, 1), res.confidence > 0.9
    (30.0, True)
    """
    image = check_gray("image", image, finite=False)
    fmin, fmax = _check_band(fmin, fmax)
    window = check_choice("window", window, WINDOWS)
    workers = check_workers(workers)
    result_dtype(image.dtype, name="image")  # the dtype rule's refusals (longdouble)
    # a centred copy, its half spectrum and the cached weights (3 x 2 floats per half-spectrum entry)
    check_alloc(image.shape, np.float32, what="orientation", copies=6)
    check_finite_input("image", image)
    xf = image.astype(np.float32, copy=False)
    # the mean would leak into the low band through the window; numpy's pairwise
    # float32 sum is accurate enough for it and avoids a float64 conversion pass
    a = np.subtract(xf, np.float32(np.mean(xf)))
    w = analysis_window(image.shape, window, np.dtype(np.float32))
    if w is not None:
        np.multiply(a, w, out=a)
    spec = B.rfftn(a, (0, 1), workers)
    v = spec.view(np.float32).reshape(-1)
    np.square(v, out=v)  # interleaved re**2, im**2: summed pairwise by the weights below
    total, zc, zs = _orientation_weights(image.shape, fmin, fmax) @ v
    total, zc, zs = float(total), float(zc), float(zs)
    if not total > 0:
        return Orientation(angle=0.0, confidence=0.0)
    # peak at arg(Z)/2; stripes 90 degrees on, i.e. arg(-Z)/2
    angle = (math.degrees(math.atan2(-zs, -zc)) / 2.0) % 180.0
    confidence = min(1.0, math.hypot(zc, zs) / total)
    return Orientation(angle=float(angle) % 180.0, confidence=float(confidence))
