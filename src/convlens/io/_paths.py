"""File kinds, checked paths and atomic writes: what every reader and writer of convlens.io shares."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg")
TABLE_SUFFIXES = (".csv",)
ARRAY_SUFFIXES = (".npy",)
KINDS = {"image": IMAGE_SUFFIXES, "audio": AUDIO_SUFFIXES, "table": TABLE_SUFFIXES, "array": ARRAY_SUFFIXES}

# ITU-R BT.709 luminance weights, as skimage.color.rgb2gray (so gray=True matches convlens.data.load_image)
_LUMA = np.array([0.2125, 0.7154, 0.0721])


class Series(NamedTuple):
    """One column of a CSV file with its index.

    Attributes
    ----------
    values : ndarray
        The column as float64, shape (n,).
    index : ndarray
        The row labels: the file's first column when it has more than one
        column, else ``0 .. n-1``.
    name : str
        The column's header.
    index_name : str or None
        The index column's header.
    """

    values: np.ndarray
    index: np.ndarray
    name: str
    index_name: str | None


class Data(NamedTuple):
    """What :func:`read_any` found in a file.

    Attributes
    ----------
    kind : str
        'image', 'audio', 'table' or 'array'.
    array : ndarray
        The data: an image (H, W) or (H, W, C); audio samples (n,) or (n, channels)
        as float64 in [-1, 1]; the numeric columns of a CSV file, (n,) for one
        column or (n, columns); an ``.npy`` array as stored.
    rate : int or None
        Sample rate of audio, in Hz.
    index : ndarray or None
        Row labels of a CSV file.
    columns : tuple of str
        Column headers of a CSV file.
    index_name : str or None
        Header of the index column of a CSV file.
    """

    kind: str
    array: np.ndarray
    rate: int | None = None
    index: np.ndarray | None = None
    columns: tuple[str, ...] = ()
    index_name: str | None = None


# --------------------------------------------------------------------------- paths and atomic writes


def kind_of(path: str | os.PathLike) -> str:
    """The kind of file a suffix names: 'image', 'audio', 'table' or 'array'.

    Examples
    --------
    >>> from convlens.io import kind_of
    >>> kind_of("photo.JPG"), kind_of("song.flac"), kind_of("sunspots.csv")
    ('image', 'audio', 'table')
    """
    suffix = Path(path).suffix.lower()
    for kind, suffixes in KINDS.items():
        if suffix in suffixes:
            return kind
    raise ValueError(f"{os.fspath(path)}: unknown file type {suffix or '(no suffix)'!r}; allowed: {_allowed()}")


def _allowed(kinds: Sequence[str] = tuple(KINDS)) -> str:
    return ", ".join(s for k in kinds for s in KINDS[k])


def _existing(path: str | os.PathLike, kinds: Sequence[str]) -> Path:
    """The path of an input file, checked: exists, is a file, has a suffix of one of ``kinds``."""
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{p}: no such file")
    _regular(p)
    if p.suffix.lower() not in (s for k in kinds for s in KINDS[k]):
        raise ValueError(f"{p}: unsupported format {p.suffix or '(no suffix)'!r}; allowed: {_allowed(kinds)}")
    return p


def _regular(p: Path) -> None:
    """Refuse folders and special files (a FIFO or a device would block the reader, or never end)."""
    if p.is_dir():
        raise IsADirectoryError(f"{p}: is a folder, not a file")
    if not p.is_file():
        raise ValueError(f"{p}: is not a regular file (a pipe, socket or device); give a file")


def _unreadable(path: Path, kinds: Sequence[str], exc: BaseException) -> ValueError:
    reason = " ".join(str(exc).split()) or type(exc).__name__
    return ValueError(f"{path}: cannot read it as {'/'.join(kinds)} ({_allowed(kinds)}): {reason}")


def check_output(out: str | os.PathLike, inputs: Sequence[str | os.PathLike] = (), *, kinds=tuple(KINDS)) -> Path:
    """Check an output path before any work: a known suffix, an existing folder, not one of ``inputs``.

    Raises
    ------
    ValueError
        The suffix is not one of ``kinds``' formats, or ``out`` is (or links to)
        one of the input files.
    FileNotFoundError
        The folder of ``out`` does not exist.
    IsADirectoryError
        ``out`` is an existing folder.

    Examples
    --------
    >>> from convlens.io import check_output
    >>> check_output("photo.png", ["photo.png"])
    Traceback (most recent call last):
    ...
    ValueError: photo.png: the output would overwrite an input file; choose another name
    """
    p = Path(out)
    if p.is_dir():
        example = p / ("result" + KINDS[kinds[0]][0])
        raise IsADirectoryError(f"{p}: is a folder; give the output a file name, e.g. {example}")
    if p.suffix.lower() not in (s for k in kinds for s in KINDS[k]):
        raise ValueError(f"{p}: unsupported output format {p.suffix or '(no suffix)'!r}; allowed: {_allowed(kinds)}")
    for src in inputs:
        if _same_file(p, Path(src)):
            raise ValueError(f"{p}: the output would overwrite an input file; choose another name")
    parent = p.parent if str(p.parent) else Path(".")
    if not parent.is_dir():
        raise FileNotFoundError(f"{p}: the folder {parent} does not exist")
    return p


def _same_file(a: Path, b: Path) -> bool:
    if a.exists() and b.exists():
        return os.path.samefile(a, b)
    return a.resolve() == b.resolve()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; renamed over ``path`` only if the block succeeds.

    The temporary name keeps the suffix (libraries choose the format from it)
    and is removed if the block raises, leaving any existing ``path`` intact.

    Examples
    --------
    >>> import os, tempfile
    >>> from convlens.io import atomic_path
    >>> folder = tempfile.mkdtemp()
    >>> with atomic_path(os.path.join(folder, "a.txt")) as tmp:
    ...     _ = tmp.write_text("done")
    >>> os.listdir(folder)
    ['a.txt']
    """
    path = Path(path)
    fd, name = tempfile.mkstemp(
        prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent if str(path.parent) else "."
    )
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file the usual permissions
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_atomic(path: str | os.PathLike, kinds: Sequence[str], write: Callable[[Path], None]) -> Path:
    p = check_output(path, kinds=kinds)
    with atomic_path(p) as tmp:
        write(tmp)
    return p
