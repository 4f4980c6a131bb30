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

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
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


# --------------------------------------------------------------------------- images


def read_image(path: str | os.PathLike, *, gray: bool = False) -> np.ndarray:
    """Read a PNG, JPEG or TIFF image.

    Parameters
    ----------
    path : path-like
        The file.  PNG and JPEG are read with Pillow, TIFF with tifffile
        (float TIFFs stay float).
    gray : bool, optional
        Convert a colour image to luminance (ITU-R 709 weights, as
        ``skimage.color.rgb2gray``): float64 in [0, 1] for 8- and 16-bit files.
        Alpha is dropped.  Grey images are returned unchanged.

    Returns
    -------
    ndarray
        (H, W) for grey, (H, W, 3) or (H, W, 4) for colour; the file's dtype
        (uint8, uint16, float32 ...).  Palette images become RGB(A).  Pillow
        reads a 16-bit colour PNG as 8 bits per channel; keep 16-bit colour in
        TIFF.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        Not an image of a supported format, or unreadable.
    """
    p = _existing(path, ["image"])
    try:
        image = _read_tiff(p) if p.suffix.lower() in (".tif", ".tiff") else _read_pillow(p)
    except (OSError, ValueError, SyntaxError, KeyError, IndexError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise _unreadable(p, ["image"], exc) from None
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[-1] not in (1, 2, 3, 4)):
        raise ValueError(f"{p}: expected a grey or colour image, got an array of shape {image.shape}")
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    return to_gray(image) if gray else image


def _read_pillow(p: Path) -> np.ndarray:
    from PIL import Image

    try:
        im = Image.open(p)
    except Image.DecompressionBombError as exc:  # Pillow's guard against huge images: a bad input, not a crash
        raise ValueError(" ".join(str(exc).split()).split(", could be")[0] + " (Pillow's limit)") from None
    with im:
        im.load()
        if im.mode == "P":
            im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        elif im.mode == "1":
            im = im.convert("L")
        elif im.mode in ("CMYK", "YCbCr", "LAB", "HSV"):
            im = im.convert("RGB")
        return np.asarray(im)


def _read_tiff(p: Path) -> np.ndarray:
    import tifffile

    return np.asarray(tifffile.imread(p))


def to_gray(image: np.ndarray) -> np.ndarray:
    """Luminance of a colour image (float64 in [0, 1] for integer images); grey images unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> from convlens.io import to_gray
    >>> to_gray(np.full((1, 1, 3), 255, np.uint8)).round(6).tolist()
    [[1.0]]
    """
    image = np.asarray(image)
    if image.ndim != 3:
        return image
    rgb = image[..., :3] if image.shape[-1] >= 3 else image[..., :1]
    scale = float(np.iinfo(image.dtype).max) if image.dtype.kind in "ui" else 1.0
    if rgb.shape[-1] == 1:
        return rgb[..., 0].astype(np.float64) / scale
    return (rgb.astype(np.float64) @ _LUMA) / scale


def write_image(path: str | os.PathLike, image, *, data_range: tuple[float, float] | str | None = None) -> Path:
    """Write an image atomically as PNG, JPEG or TIFF.

    How values are stored:

    * uint8 and bool images are written as they are (bool as 0/255).
    * TIFF stores every other dtype as it is, unscaled (uint16, float32,
      float64 ...).
    * PNG stores grey uint16 images in 16 bits; colour uint16 in PNG (Pillow
      writes 8-bit colour) and any uint16 in JPEG become 8 bits (divided by 257).
    * Other arrays going to PNG or JPEG are mapped linearly from ``data_range``
      ``(lo, hi)`` to 0..255, clipped to it, and rounded; NaN becomes 0.  The
      default range is (0, 1) when every finite value lies in [0, 1], (0, 255)
      when they lie in [0, 255], and otherwise their minimum and maximum
      (``data_range='minmax'`` asks for that stretch whatever the values).

    Parameters
    ----------
    path : path-like
        Destination; the suffix chooses the format.
    image : array_like
        (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA.
    data_range : (float, float) or 'minmax', optional
        Values shown as black and white in PNG/JPEG (see above).

    Returns
    -------
    Path
        The path written.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from convlens.io import read_image, write_image
    >>> path = os.path.join(tempfile.mkdtemp(), "ramp.png")
    >>> _ = write_image(path, np.linspace(0, 1, 6).reshape(2, 3))
    >>> read_image(path).tolist()
    [[0, 51, 102], [153, 204, 255]]
    """
    image = np.asarray(image)
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[-1] not in (3, 4)) or image.size == 0:
        raise ValueError(f"{os.fspath(path)}: an image must be (H, W), (H, W, 3) or (H, W, 4); got shape {image.shape}")
    suffix = Path(path).suffix.lower()
    if suffix in (".tif", ".tiff"):
        import tifffile

        data = image.astype(np.uint8) * 255 if image.dtype == bool else image
        return _write_atomic(path, ["image"], lambda tmp: tifffile.imwrite(tmp, data))
    data = _to_8bit(image, data_range, suffix)

    def write(tmp: Path) -> None:
        from PIL import Image

        kwargs = {"quality": 95} if suffix in (".jpg", ".jpeg") else {}
        Image.fromarray(data).save(tmp, **kwargs)

    if suffix in (".jpg", ".jpeg") and data.ndim == 3 and data.shape[-1] == 4:
        data = data[..., :3]  # JPEG has no alpha channel
    return _write_atomic(path, ["image"], write)


def _to_8bit(image: np.ndarray, data_range, suffix: str) -> np.ndarray:
    """uint8 (or uint16 for PNG) pixels for Pillow, by the rules of :func:`write_image`."""
    if image.dtype == np.uint8 and data_range is None:
        return image
    if image.dtype == bool:
        return image.astype(np.uint8) * 255
    if image.dtype == np.uint16 and data_range is None:
        if suffix == ".png" and image.ndim == 2:
            return image
        return (image // 257).astype(np.uint8)
    if np.iscomplexobj(image):
        raise ValueError("an image must be real; take np.abs() or .real first")
    x = image.astype(np.float64)
    lo, hi = _range(x, data_range)
    scaled = (x - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(x)
    return np.clip(np.nan_to_num(scaled, nan=0.0), 0, 255).round().astype(np.uint8)


def _range(x: np.ndarray, data_range) -> tuple[float, float]:
    if data_range is not None and not isinstance(data_range, str):
        lo, hi = (float(v) for v in data_range)
        if not hi > lo:
            raise ValueError(f"data_range must be (lo, hi) with lo < hi; got {data_range!r}")
        return lo, hi
    if data_range not in (None, "minmax"):
        raise ValueError(f"data_range must be (lo, hi), 'minmax' or None; got {data_range!r}")
    finite = x[np.isfinite(x)]
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    if data_range is None and lo >= 0 and hi <= 1:
        return 0.0, 1.0
    if data_range is None and lo >= 0 and hi <= 255:
        return 0.0, 255.0
    return lo, hi


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


# --------------------------------------------------------------------------- CSV and .npy


def _read_csv(p: Path):
    try:
        import pandas as pd
    except ImportError as exc:  # pragma: no cover
        raise ImportError("reading CSV needs pandas: pip install 'convlens[report]'") from exc
    try:
        frame = pd.read_csv(p)
        names = [str(c) for c in frame.columns]
        pandas_default = names == [str(i) for i in range(len(names))]  # DataFrame(array).to_csv(): 0,1,2,...
        if names and all(_is_number(c) for c in names) and not pandas_default:
            # no header row: every "name" is a number (np.savetxt writes such files); that row is data
            frame = pd.read_csv(p, header=None)
            frame.columns = [f"x{i}" for i in range(len(frame.columns))]
        return frame
    except (ValueError, OSError, UnicodeDecodeError) as exc:  # pandas' ParserError/EmptyDataError are ValueErrors
        raise _unreadable(p, ["table"], exc) from None


def _is_number(name) -> bool:
    try:
        float(name)
    except (TypeError, ValueError):
        return False
    return True


def read_series(path: str | os.PathLike, column: str | None = None) -> Series:
    """Read one numeric column of a CSV file, with its index.

    With more than one column, the first column is the index (as
    ``DataFrame.to_csv`` writes it, or a date/year column) and the values are
    ``column`` or, without it, the only other numeric column.

    Raises
    ------
    ValueError
        Unreadable file, no numeric column, several candidates and no
        ``column``, an unknown ``column`` (the message lists the columns), or
        missing values in the column.

    Examples
    --------
    >>> import os, tempfile
    >>> from convlens.io import read_series
    >>> path = os.path.join(tempfile.mkdtemp(), "s.csv")
    >>> _ = open(path, "w").write("year,count\\n2001,3\\n2002,5\\n")
    >>> read_series(path)
    Series(values=array([3., 5.]), index=array([2001, 2002]), name='count', index_name='year')
    """
    p = _existing(path, ["table"])
    df = _read_csv(p)
    if df.shape[1] == 0 or df.shape[0] == 0:
        raise ValueError(f"{p}: the CSV file has no data")
    columns = [str(c) for c in df.columns]
    index_col = columns[0] if len(columns) > 1 and column != columns[0] else None
    if column is None:
        numeric = [c for c, dt in zip(columns, df.dtypes) if c != index_col and dt.kind in "iuf"]
        if len(numeric) != 1:
            what = "no numeric column" if not numeric else f"several numeric columns ({', '.join(numeric)})"
            raise ValueError(f"{p}: {what}; name the one to use (column=..., --column in the command)")
        column = numeric[0]
    elif column not in columns:
        raise ValueError(f"{p}: no column {column!r}; the columns are {', '.join(columns)}")
    values = df[column] if column in df.columns else df[df.columns[columns.index(column)]]
    if values.dtype.kind not in "iuf":
        raise ValueError(f"{p}: column {column!r} is not numeric (dtype {values.dtype})")
    values = values.to_numpy(dtype=np.float64)
    if np.isnan(values).any():
        first = int(np.flatnonzero(np.isnan(values))[0])
        raise ValueError(
            f"{p}: column {column!r} has {int(np.isnan(values).sum())} missing values (first at row {first})"
        )
    index = df.iloc[:, 0].to_numpy() if index_col is not None else np.arange(values.size)
    return Series(values, index, column, index_col)


# headers that name a row label rather than a measurement (compared in lower case)
INDEX_NAMES = ("index", "t", "time", "time_s", "date", "datetime", "year", "month", "day", "step")


def read_table(path: str | os.PathLike, *, index: bool | None = None) -> Data:
    """The numeric columns of a CSV file as a (rows, columns) float64 array, and its index.

    Parameters
    ----------
    path : path-like
        The CSV file, with a header row.
    index : bool, optional
        Whether the first column holds row labels rather than data.  By default
        (None) it does when the file has more than one column and that column
        is not numeric (dates, names), has no header (how ``DataFrame.to_csv``
        writes its index) or is headed like a time axis: one of
        :data:`INDEX_NAMES` (``year``, ``time``, ``date`` ...).

    Raises
    ------
    ValueError
        Unreadable file, no data, or a non-numeric data column.

    Examples
    --------
    >>> import os, tempfile
    >>> from convlens.io import read_table
    >>> path = os.path.join(tempfile.mkdtemp(), "t.csv")
    >>> _ = open(path, "w").write("year,a,b\\n2001,1,2\\n2002,3,4\\n")
    >>> t = read_table(path)
    >>> t.array.tolist(), t.index.tolist(), t.columns, t.index_name
    ([[1.0, 2.0], [3.0, 4.0]], [2001, 2002], ('a', 'b'), 'year')
    """
    p = _existing(path, ["table"])
    df = _read_csv(p)
    if df.shape[0] == 0 or df.shape[1] == 0:
        raise ValueError(f"{p}: the CSV file has no data")
    first = str(df.columns[0])
    if index is None:
        labelled = first.startswith("Unnamed:") or first.strip().lower() in INDEX_NAMES
        index = df.shape[1] > 1 and (labelled or df.dtypes.iloc[0].kind not in "iufb")
    labels, name = None, None
    if index:
        labels, name, df = df.iloc[:, 0].to_numpy(), (None if first.startswith("Unnamed:") else first), df.iloc[:, 1:]
    bad = [str(c) for c, dt in zip(df.columns, df.dtypes) if dt.kind not in "iufb"]
    if bad or df.shape[1] == 0:
        raise ValueError(f"{p}: non-numeric column(s) {', '.join(bad) or '(none left)'}; a table must hold numbers")
    return Data("table", df.to_numpy(dtype=np.float64), None, labels, tuple(str(c) for c in df.columns), name)


def write_table(
    path: str | os.PathLike,
    columns: Mapping[str, Sequence[float] | np.ndarray],
    *,
    index=None,
    index_name: str | None = None,
) -> Path:
    """Write columns (name -> 1-D values, equal lengths) atomically as CSV, with an optional index column."""
    import pandas as pd

    df = pd.DataFrame({str(k): np.asarray(v) for k, v in columns.items()})
    if index is not None:
        df.index = pd.Index(np.asarray(index), name=index_name)
    return _write_atomic(path, ["table"], lambda tmp: df.to_csv(tmp, index=index is not None))


def write_series(path: str | os.PathLike, values, *, index=None, name: str = "value", index_name=None) -> Path:
    """Write one column (and an optional index) atomically as CSV; see :func:`write_table`."""
    values = np.asarray(values)
    if values.ndim != 1:
        raise ValueError(f"{os.fspath(path)}: a series must be 1-D; got shape {values.shape}")
    return write_table(path, {name: values}, index=index, index_name=index_name)


def read_array(path: str | os.PathLike) -> np.ndarray:
    """Read an ``.npy`` array (no pickled objects), or the numeric columns of a CSV file."""
    p = _existing(path, ["array", "table"])
    if p.suffix.lower() == ".csv":
        return read_table(p).array
    try:
        return np.load(p, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise _unreadable(p, ["array"], exc) from None


def write_array(path: str | os.PathLike, array) -> Path:
    """Write an array atomically as ``.npy`` (any shape), or a 1-D/2-D real array as CSV columns."""
    array = np.asarray(array)
    if Path(path).suffix.lower() == ".csv":
        if array.ndim not in (1, 2) or np.iscomplexobj(array):
            raise ValueError(f"{os.fspath(path)}: CSV holds 1-D or 2-D real arrays; got shape {array.shape}")
        cols = array.reshape(array.shape[0], -1).T
        return write_table(path, {f"x{i}": c for i, c in enumerate(cols)})
    return _write_atomic(path, ["array"], lambda tmp: np.save(tmp, array, allow_pickle=False))


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
