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
from ._lens_common import WINDOWS, analysis_window, check_finite_input, check_gray, windowed
from ._validation import (
    check_alloc,
    check_array,
    check_axes,
    check_choice,
    check_float,
    check_int,
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

BANDS = ("octave", "third")


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


@dataclass(frozen=True)
class BandLevels:
    """Band levels over time ("equalizer bars").

    Attributes
    ----------
    times : ndarray
        Centre of each frame, in seconds, shape (n_frames,).
    centers : ndarray
        Nominal band centre frequencies in Hz, shape (n_bands,).
    edges : ndarray
        Lower and upper band edges in Hz, shape (n_bands, 2).
    power : ndarray
        Band power (mean square of the signal within the band), shape
        (n_frames, n_bands): the integral of the one-sided power spectral density
        over the band, in signal units squared (in the signal's float dtype,
        float64 for integer input).
    levels : ndarray
        ``10 * log10(power)`` in dB (dB re full scale for a signal in [-1, 1];
        -inf for digital silence).
    """

    times: np.ndarray
    centers: np.ndarray
    edges: np.ndarray
    power: np.ndarray
    levels: np.ndarray


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


# --------------------------------------------------------------------------- audio


def _band_table(kind: str, fmin: float, fmax: float) -> tuple[np.ndarray, np.ndarray]:
    """Base-2 band centres 1000 * 2**(k/b) Hz (b = 1 or 3) with edges centre * 2**(+-1/(2b)), within [fmin, fmax]."""
    b = 1 if kind == "octave" else 3
    k = np.arange(-10 * b, 10 * b + 1)
    centers = 1000.0 * 2.0 ** (k / b)
    lo, hi = centers * 2.0 ** (-0.5 / b), centers * 2.0 ** (0.5 / b)
    keep = (lo >= fmin * (1 - 1e-9)) & (hi <= fmax * (1 + 1e-9))
    return centers[keep], np.stack([lo[keep], hi[keep]], axis=1)


def band_levels(
    signal: ArrayLike,
    rate: float,
    *,
    bands: str = "octave",
    frame: int | None = None,
    hop: int | None = None,
    fmin: float = 20.0,
    fmax: float | None = None,
    workers: int | None = None,
) -> BandLevels:
    """Octave or third-octave band levels over time: the equalizer bars of a music player.

    Each frame (Hann window, its mean removed) gives a one-sided power spectral
    density; a band's power is that density summed over the DFT bins whose
    frequency lies in ``[lower, upper)``, times the bin width.  Averaged over
    frames this is exactly the band power of :func:`scipy.signal.welch` with
    ``window='hann', nperseg=frame, noverlap=frame - hop``.

    Parameters
    ----------
    signal : (n,) array_like
        Mono recording (for stereo, pick or average the channels first).
    rate : float
        Sampling rate in Hz.
    bands : {'octave', 'third'}, optional
        Octave bands (centres 1000 * 2**k Hz) or third-octave bands
        (1000 * 2**(k/3) Hz); edges at centre * 2**(+-1/2) or 2**(+-1/6).
    frame : int, optional
        Frame length in samples (default: the power of two giving bins of at
        most 8 Hz, e.g. 1024 at 8 kHz, 8192 at 44.1 kHz).
    hop : int, optional
        Step between frames (default ``frame // 2``).
    fmin, fmax : float, optional
        Only bands lying wholly within [fmin, fmax] Hz are reported (default
        20 Hz to the Nyquist frequency).
    workers : int, optional
        FFT threads.

    Returns
    -------
    BandLevels
        ``times``, ``centers``, ``edges``, ``power`` (n_frames, n_bands) and
        ``levels`` (the same in dB).

    Raises
    ------
    ValueError
        Not 1-D, non-finite samples, shorter than one frame, bad rate, frame,
        hop or band limits, or no band with a DFT bin in it.

    Examples
    --------
    >>> import numpy as np
    >>> from convlens.spectrum import band_levels
    >>> rate = 8000
    >>> t = np.arange(2 * rate) / rate
    >>> tone = np.sin(2 * np.pi * 1000 * t)              # mean square 0.5 = -3 dB
    >>> bl = band_levels(tone, rate)
    >>> bl.centers
    array([  31.25,   62.5 ,  125.  ,  250.  ,  500.  , 1000.  , 2000.  ])
    >>> np.round(bl.levels.mean(axis=0)[5], 1)           # all in the 1 kHz band
    np.float64(-3.0)
    """
    x = check_array("signal", signal, allow_complex=False)
    if x.ndim != 1:
        raise ValueError(
            f"signal must be 1-D (mono); got shape {x.shape}: pick a channel (x[:, 0]) or average them (x.mean(axis=1))"
        )
    rate = check_float("rate", rate, minimum=0, min_open=True)
    bands = check_choice("bands", bands, BANDS)
    workers = check_workers(workers)
    if frame is None:
        frame = 1 << max(4, math.ceil(math.log2(rate / 8.0)))
    frame = check_int("frame", frame, minimum=2)
    hop = frame // 2 if hop is None else check_positive_int("hop", hop)
    if x.size < frame:
        raise ValueError(f"signal must be at least one frame long ({frame} samples); got {x.size} samples")
    nyq = rate / 2
    fmin = check_float("fmin", fmin)
    fmax = nyq if fmax is None else check_float("fmax", fmax)
    if not (0 <= fmin < fmax <= nyq):
        raise ValueError(
            f"fmin and fmax must satisfy 0 <= fmin < fmax <= rate / 2 = {nyq:g} Hz; got fmin={fmin!r}, fmax={fmax!r}"
        )
    centers, edges = _band_table(bands, fmin, fmax)
    freqs = np.fft.rfftfreq(frame, 1.0 / rate)
    member = (freqs[:, None] >= edges[None, :, 0]) & (freqs[:, None] < edges[None, :, 1])
    has_bin = member.any(axis=0)
    if not has_bin.any():
        raise ValueError(
            f"no {bands} band between fmin={fmin!r} and fmax={fmax!r} Hz holds a DFT bin; use a longer frame"
        )
    centers, edges, member = centers[has_bin], edges[has_bin], member[:, has_bin]
    # plan: frames as a strided view, a periodic Hann window, one-sided density scaling
    frames = np.lib.stride_tricks.sliding_window_view(x, frame)[::hop]
    dtype, work = _dtypes(x, "signal")
    # each frame is copied (detrended and windowed), transformed and squared: hop << frame multiplies the signal
    check_alloc(frames.shape, work, what="band_levels", copies=4)
    check_finite_input("signal", x)
    win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(frame) / frame)
    scale = np.full(freqs.size, 2.0 / (rate * np.sum(win**2)))
    scale[0] /= 2
    if frame % 2 == 0:
        scale[-1] /= 2
    # execute: detrend (welch's default 'constant'), window, FFT, density, band sums
    seg = (frames - frames.mean(axis=1, keepdims=True, dtype=np.float64).astype(work)) * win.astype(work)
    spec = B.rfftn(np.ascontiguousarray(seg, dtype=work), (1,), workers)
    psd = (spec.real**2 + spec.imag**2) * scale.astype(work)
    power = psd @ (member * (rate / frame)).astype(work)
    with np.errstate(divide="ignore"):
        levels = 10.0 * np.log10(power)
    power, levels = power.astype(dtype, copy=False), levels.astype(dtype, copy=False)
    times = (np.arange(frames.shape[0]) * hop + frame / 2) / rate
    return BandLevels(times=times, centers=centers, edges=edges, power=power, levels=levels)
