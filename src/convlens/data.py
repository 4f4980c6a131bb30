"""Real sample data that installs offline (data layer).

Images come from scikit-image's bundled files, series from statsmodels'
bundled datasets.  Audio: two short excerpts of real recordings ship with
convlens itself (``sample_data/``, FLAC), so demos work on a fresh machine;
the full recordings of Debian's sound packages are found where installed.
Nothing here downloads: a missing source raises ``FileNotFoundError`` (or
``ImportError`` naming the package to install).

Shipped audio (CC-BY-SA-3.0, copyright files beside them in ``sample_data/``):

* ``"music"`` - 30 s (from 0:20 to 0:50) of "Morning Coffee" by Manolo Camp,
  8 kHz mono, from Debian's ``asterisk-moh-opsound-wav`` (Asterisk music on hold);
* ``"speech"`` - the first 8 s of ``demo-congrats`` spoken by Allison Smith,
  8 kHz mono, from Debian's ``asterisk-core-sounds-en-wav``.
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


def load_image(name: str | os.PathLike, *, gray: bool = True) -> np.ndarray:
    """A photograph bundled with scikit-image, or an image file of your own, as a NumPy array.

    Parameters
    ----------
    name : str or path-like
        One of ``astronaut, camera, coffee, chelsea, brick, grass, gravel, text,
        checkerboard, coins, moon, page, clock, retina, rocket, hubble_deep_field, cell``,
        or the path of a PNG, JPEG or TIFF file (read by :func:`convlens.io.read_image`).
    gray : bool, optional
        Convert colour images to grey (luminance of the RGB channels, float64 in
        [0, 1]); grey images are returned unchanged (e.g. uint8).

    Examples
    --------
    >>> import os, tempfile
    >>> from convlens.data import load_image
    >>> load_image("camera").shape
    (512, 512)
    >>> from convlens.io import write_image
    >>> path = write_image(os.path.join(tempfile.mkdtemp(), "mine.png"), load_image("coffee", gray=False))
    >>> load_image(path).shape, load_image(path, gray=False).shape
    ((400, 600), (400, 600, 3))
    """
    if not isinstance(name, (str, os.PathLike)):
        raise TypeError(f"name must be a sample's name (str) or the path of an image file; got {name!r}")
    if isinstance(name, os.PathLike) or (isinstance(name, str) and name not in _IMAGES and _looks_like_path(name)):
        from .io import read_image

        image = read_image(name)
    elif name not in _IMAGES:
        raise ValueError(
            f"name must be one of {', '.join(map(repr, _IMAGES))} or the path of an image file; got {name!r}"
        )
    else:
        image = _bundled(name)
    if gray and image.ndim == 3:
        from skimage.color import rgb2gray

        image = rgb2gray(image[..., :3])
    return image


def _looks_like_path(name: str) -> bool:
    """A file name rather than a sample's name: it has a folder or a suffix, or names an existing file."""
    return os.sep in name or "/" in name or bool(Path(name).suffix) or Path(name).is_file()


def _bundled(name: str) -> np.ndarray:
    try:
        import skimage.data
    except ImportError as exc:  # pragma: no cover
        raise ImportError("sample images need scikit-image: pip install 'convlens[lenses]'") from exc
    return getattr(skimage.data, name)()


# Debian packages whose full recordings the tests and benchmarks use where installed:
# asterisk-moh-opsound-wav (music on hold) and asterisk-core-sounds-en-wav (voice prompts),
# both 8 kHz mono 16-bit WAV under CC-BY-SA-3.0.
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


# Excerpts shipped in sample_data/: name -> (file, source, licence).
AUDIO_SAMPLES = {
    "music": (
        "morning_coffee_excerpt.flac",
        'Manolo Camp, "Morning Coffee" (2009), 0:20-0:50, from Debian asterisk-moh-opsound-wav',
        "CC-BY-SA-3.0",
    ),
    "speech": (
        "demo_congrats_excerpt.flac",
        'Allison Smith, Asterisk prompt "demo-congrats", first 8 s, from Debian asterisk-core-sounds-en-wav',
        "CC-BY-SA-3.0",
    ),
}
SAMPLE_DIR = Path(__file__).resolve().parent / "sample_data"


def audio_path(name: str = "music") -> Path:
    """Path of a real recording shipped with convlens ('music' or 'speech').

    Parameters
    ----------
    name : {'music', 'speech'}
        Which excerpt (see the module docstring for source and licence).

    Returns
    -------
    pathlib.Path
        A FLAC file inside the installed package (8 kHz mono).

    Examples
    --------
    >>> from convlens.data import audio_path
    >>> audio_path("music").suffix
    '.flac'
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, one of {', '.join(map(repr, AUDIO_SAMPLES))}; got {name!r}")
    if name not in AUDIO_SAMPLES:
        raise ValueError(f"name must be one of {', '.join(map(repr, AUDIO_SAMPLES))}; got {name!r}")
    path = SAMPLE_DIR / AUDIO_SAMPLES[name][0]
    if not path.is_file():  # pragma: no cover - a broken install
        raise FileNotFoundError(f"the shipped recording {path} is missing; reinstall convlens")
    return path


def audio_source(name: str = "music") -> tuple[str, str]:
    """(source, licence) of a shipped recording, for captions and reports.

    Examples
    --------
    >>> from convlens.data import audio_source
    >>> audio_source("music")[1]
    'CC-BY-SA-3.0'
    """
    audio_path(name)  # validates the name
    return AUDIO_SAMPLES[name][1], AUDIO_SAMPLES[name][2]


def load_audio(name="music") -> tuple[np.ndarray, int]:
    """A real recording as (float64 samples in [-1, 1], sample rate in Hz); first channel if stereo.

    Parameters
    ----------
    name : {'music', 'speech'} or path-like
        A shipped excerpt (see :func:`audio_path`), or the path of a WAV file
        (for example one returned by :func:`find_audio`); other formats that
        soundfile reads (FLAC, OGG) work too.

    Examples
    --------
    >>> from convlens.data import load_audio
    >>> song, rate = load_audio("music")
    >>> rate, song.shape, song.dtype.name, bool(abs(song).max() <= 1)
    (8000, (240000,), 'float64', True)
    """
    if isinstance(name, str) and name in AUDIO_SAMPLES:
        return _read_soundfile(audio_path(name))
    if not isinstance(name, (str, os.PathLike)):
        raise TypeError(f"name must be 'music', 'speech' or a path to an audio file; got {name!r}")
    path = Path(name)
    if not path.is_file():
        raise FileNotFoundError(
            f"name must be 'music', 'speech' or an existing audio file; got {str(name)!r}, which is not a file"
        )
    if path.suffix.lower() != ".wav":
        return _read_soundfile(path)
    from scipy.io import wavfile

    rate, data = wavfile.read(path)
    if data.ndim > 1:
        data = data[:, 0]
    if data.dtype.kind == "i":
        data = data / float(np.iinfo(data.dtype).max)
    elif data.dtype.kind == "u":
        data = (data.astype(np.float64) - 128) / 128.0
    return data.astype(np.float64), int(rate)


def _read_soundfile(path: Path) -> tuple[np.ndarray, int]:
    try:
        import soundfile
    except ImportError as exc:  # pragma: no cover
        raise ImportError("FLAC/OGG audio needs soundfile: pip install soundfile") from exc
    data, rate = soundfile.read(path, dtype="float64", always_2d=True)
    return np.ascontiguousarray(data[:, 0]), int(rate)


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
