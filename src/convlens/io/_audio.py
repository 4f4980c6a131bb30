"""Audio: WAV, FLAC and OGG through soundfile."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ._paths import (
    _existing,
    _unreadable,
    _write_atomic,
)

# --------------------------------------------------------------------------- audio


def read_audio(path: str | os.PathLike, *, mono: bool = False) -> tuple[np.ndarray, int]:
    """Read a WAV, FLAC or OGG recording with soundfile.

    Parameters
    ----------
    path : path-like
        The file.
    mono : bool, optional
        Average the channels of a multi-channel recording.

    Returns
    -------
    samples : ndarray
        float64 in [-1, 1]: (n,) for mono, (n, channels) otherwise.
    rate : int
        Sample rate in Hz.
    """
    p = _existing(path, ["audio"])
    try:
        import soundfile
    except ImportError as exc:  # pragma: no cover
        raise ImportError("reading audio needs soundfile: pip install 'convlens[report]'") from exc
    try:
        samples, rate = soundfile.read(p, dtype="float64", always_2d=False)
    except (RuntimeError, OSError, ValueError, TypeError) as exc:  # soundfile.LibsndfileError is a RuntimeError
        raise _unreadable(p, ["audio"], exc) from None
    if mono and samples.ndim == 2:
        samples = samples.mean(axis=1)
    return samples, int(rate)


def write_audio(path: str | os.PathLike, samples, rate: int) -> Path:
    """Write a recording atomically as WAV, FLAC or OGG (soundfile).

    WAV keeps float data as 32-bit float samples and int16 data as 16-bit PCM;
    FLAC stores 24-bit PCM and OGG Vorbis, both from samples clipped to
    [-1, 1].  ``samples`` is (n,) or (n, channels).

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from convlens.io import read_audio, write_audio
    >>> path = os.path.join(tempfile.mkdtemp(), "tone.wav")
    >>> _ = write_audio(path, np.sin(np.arange(800) / 10) / 2, 8000)
    >>> samples, rate = read_audio(path)
    >>> samples.shape, rate
    ((800,), 8000)
    """
    samples = np.asarray(samples)
    if samples.ndim not in (1, 2) or samples.size == 0:
        raise ValueError(f"{os.fspath(path)}: audio must be (n,) or (n, channels); got shape {samples.shape}")
    if isinstance(rate, bool) or not isinstance(rate, (int, np.integer)) or rate <= 0:
        raise ValueError(f"rate must be a positive integer (Hz); got {rate!r}")
    suffix = Path(path).suffix.lower()
    if suffix == ".wav":
        data, subtype = (samples, "PCM_16") if samples.dtype == np.int16 else (samples.astype(np.float32), "FLOAT")
    else:
        data = np.clip(samples.astype(np.float64), -1.0, 1.0)
        subtype = "PCM_24" if suffix == ".flac" else "VORBIS"

    def write(tmp: Path) -> None:
        import soundfile

        soundfile.write(tmp, data, int(rate), subtype=subtype)

    return _write_atomic(path, ["audio"], write)
