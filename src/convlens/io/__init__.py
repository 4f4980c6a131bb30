"""Read and write the files the ``convlens`` command works on (data layer).

Images (PNG, JPEG, TIFF), audio (WAV, FLAC, OGG), series and tables (CSV) and
arrays (``.npy``), each through the library that knows the format well:
Pillow, tifffile, soundfile, pandas and NumPy.  Those libraries are imported
inside the functions, so ``import convlens.io`` needs only NumPy.

Every writer is atomic: the data go to a temporary file in the destination's
folder, which is renamed over the destination only once it is complete
(``os.replace``), so a failed or interrupted write never leaves a half-written
file and never damages an existing one.

Errors are plain: a missing file raises ``FileNotFoundError`` naming the path;
a file that cannot be read, or a suffix that is not supported, raises
``ValueError`` naming the path and the formats allowed.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ._audio import read_audio, write_audio
from ._images import read_image, to_gray, write_image
from ._paths import (
    ARRAY_SUFFIXES,
    AUDIO_SUFFIXES,
    IMAGE_SUFFIXES,
    KINDS,
    TABLE_SUFFIXES,
    Data,
    Series,
    _regular,
    atomic_path,
    check_output,
    kind_of,
)
from ._tables import INDEX_NAMES, read_array, read_series, read_table, write_array, write_series, write_table

__all__ = [
    "ARRAY_SUFFIXES",
    "AUDIO_SUFFIXES",
    "IMAGE_SUFFIXES",
    "INDEX_NAMES",
    "KINDS",
    "TABLE_SUFFIXES",
    "Data",
    "Series",
    "atomic_path",
    "check_output",
    "kind_of",
    "read_any",
    "read_array",
    "read_audio",
    "read_image",
    "read_series",
    "read_table",
    "to_gray",
    "write_any",
    "write_array",
    "write_audio",
    "write_image",
    "write_series",
    "write_table",
]

# pickles name the public module, not the private one that defines them
Data.__module__ = Series.__module__ = __name__


# --------------------------------------------------------------------------- dispatch by suffix


def read_any(path: str | os.PathLike, *, gray: bool = False) -> Data:
    """Read any supported file, chosen by its suffix.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from convlens.io import read_any, write_any
    >>> path = os.path.join(tempfile.mkdtemp(), "a.npy")
    >>> _ = write_any(path, np.eye(2))
    >>> read_any(path).kind, read_any(path).array.shape
    ('array', (2, 2))
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file")
    _regular(p)
    kind = kind_of(p)
    if kind == "image":
        return Data("image", read_image(p, gray=gray))
    if kind == "audio":
        samples, rate = read_audio(p)
        return Data("audio", samples, rate)
    if kind == "table":
        table = read_table(p)
        array = table.array[:, 0] if table.array.shape[1] == 1 else table.array
        return table._replace(array=array)
    return Data("array", read_array(p))


def write_any(path: str | os.PathLike, array, *, like: Data | None = None, data_range=None) -> Path:
    """Write ``array`` in the format of ``path``'s suffix; ``like`` supplies a sample rate, index or headers.

    Raises ``ValueError`` if the format cannot hold the array (e.g. audio
    without a sample rate, a 3-D array as CSV).
    """
    kind = kind_of(path)
    array = np.asarray(array)
    if kind == "image":
        return write_image(path, array, data_range=data_range)
    if kind == "audio":
        if like is None or like.rate is None:
            raise ValueError(f"{os.fspath(path)}: writing audio needs a sample rate, and the input has none")
        return write_audio(path, array, like.rate)
    if kind == "table" and like is not None and like.kind == "table" and array.ndim in (1, 2):
        cols = array.reshape(array.shape[0], -1).T
        names = like.columns if len(like.columns) == cols.shape[0] else tuple(f"x{i}" for i in range(cols.shape[0]))
        index = like.index if like.index is not None and len(like.index) == cols.shape[1] else None
        return write_table(path, dict(zip(names, cols)), index=index, index_name=like.index_name)
    return write_array(path, array)
