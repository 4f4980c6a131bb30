"""Octave and third-octave band levels over time: the equalizer bars (re-exported by :mod:`convlens.spectrum`).

Import :func:`band_levels` and :class:`BandLevels` from :mod:`convlens.spectrum`;
this private module keeps the audio side of the Fourier lens apart from the
image side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from . import _backend as B
from ._lens_common import check_finite_input
from ._validation import (
    check_alloc,
    check_array,
    check_choice,
    check_float,
    check_int,
    check_positive_int,
    check_workers,
    real_dtype,
    result_dtype,
)

__all__ = ["BANDS", "BandLevels", "band_levels"]

BANDS = ("octave", "third")


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
    out, work = result_dtype(x.dtype, name="signal")
    dtype = real_dtype(out)
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
