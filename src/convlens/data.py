"""Real sample data that installs offline (data layer).

Images come from scikit-image's bundled files, series from statsmodels'
bundled datasets, audio from Debian's sound packages where installed.  Nothing
here downloads: a missing source raises ``FileNotFoundError`` (or
``ImportError`` naming the package to install).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

_IMAGES = (
    "astronaut",
    "camera",
    "coffee",
    "chelsea",
    "brick",
    "grass",
    "gravel",
    "text",
    "checkerboard",
    "coins",
    "moon",
    "page",
    "clock",
    "retina",
    "rocket",
    "hubble_deep_field",
    "cell",
)


def load_image(name: str, *, gray: bool = True) -> np.ndarray:
    """A photograph bundled with scikit-image, as a NumPy array.

    Parameters
    ----------
    name : str
        One of ``astronaut, camera, coffee, chelsea, brick, grass, gravel, text,
        checkerboard, coins, moon, page, clock, retina, rocket, hubble_deep_field, cell``.
    gray : bool, optional
        Convert colour images to grey (luminance, float64 in [0, 1]); grey images
        are returned unchanged (uint8).

    Examples
    --------
    >>> from convlens.data import load_image
    >>> load_image("camera").shape
    (512, 512)
    """
    if name not in _IMAGES:
        raise ValueError(f"name must be one of {', '.join(map(repr, _IMAGES))}; got {name!r}")
    try:
        import skimage.data
    except ImportError as exc:  # pragma: no cover
        raise ImportError("sample images need scikit-image: pip install 'convlens[lenses]'") from exc
    image = getattr(skimage.data, name)()
    if gray and image.ndim == 3:
        from skimage.color import rgb2gray

        image = rgb2gray(image[..., :3])
    return image


# Debian packages whose recordings the tests and demos use (see shared/DATA.md).
AUDIO_DIRS = {
    "music": Path("/usr/share/asterisk/moh"),
    "speech": Path("/usr/share/asterisk/sounds/en_US_f_Allison"),
}


def find_audio(kind: str = "music") -> list[Path]:
    """Paths of installed real recordings of a kind ('music' or 'speech'); empty if none."""
    if kind not in AUDIO_DIRS:
        raise ValueError(f"kind must be one of {', '.join(map(repr, AUDIO_DIRS))}; got {kind!r}")
    folder = AUDIO_DIRS[kind]
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix == ".wav" and os.access(p, os.R_OK))


def load_audio(path) -> tuple[np.ndarray, int]:
    """Read a WAV file as (float64 samples in [-1, 1], sample rate); first channel if stereo."""
    from scipy.io import wavfile

    rate, data = wavfile.read(path)
    if data.ndim > 1:
        data = data[:, 0]
    if data.dtype.kind == "i":
        data = data / float(np.iinfo(data.dtype).max)
    elif data.dtype.kind == "u":
        data = (data.astype(np.float64) - 128) / 128.0
    return data.astype(np.float64), int(rate)


def load_series(name: str) -> np.ndarray:
    """A real time series bundled with statsmodels: 'sunspots', 'nile', 'co2' (weekly, gaps filled)."""
    try:
        import statsmodels.api as sm
    except ImportError as exc:  # pragma: no cover
        raise ImportError("sample series need statsmodels: pip install 'convlens[lenses]'") from exc
    if name == "sunspots":
        return sm.datasets.sunspots.load_pandas().data["SUNACTIVITY"].to_numpy(dtype=float)
    if name == "nile":
        return sm.datasets.nile.load_pandas().data["volume"].to_numpy(dtype=float)
    if name == "co2":
        return sm.datasets.co2.load_pandas().data["co2"].ffill().to_numpy(dtype=float)
    raise ValueError(f"name must be one of 'sunspots', 'nile', 'co2'; got {name!r}")
