"""Series and tables (CSV, through pandas) and arrays (.npy)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ._paths import (
    Data,
    Series,
    _existing,
    _unreadable,
    _write_atomic,
)

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
