"""The lags a template search scores, shared by the in-memory search and the Dask adapter.

A lag is the offset of the template's first sample in the image, with the convention of
:func:`scipy.signal.correlation_lags` (mode 'full': ``-(m - 1) .. n - 1``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._validation import check_int

__all__ = ["check_lags"]


def _lag_axis(name: str, value: Any) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of integers (one per axis); got {value!r}")
    if arr.dtype.kind not in "iu":  # floats (even 2.0), bools, strings: a wrong kind, not a wrong value
        raise TypeError(f"{name} must hold integers (one sequence per axis); got {value!r} (dtype {arr.dtype})")
    return arr.astype(np.int64)


def _default_lags(mode: str, x_sp: tuple[int, ...], t_sp: tuple[int, ...]) -> list[np.ndarray]:
    out = []
    for ax, (n, m) in enumerate(zip(x_sp, t_sp)):
        if mode == "valid":
            if m > n:
                raise ValueError(
                    f"template is larger than image along axis {ax} ({m} > {n}): template spatial shape "
                    f"{t_sp}, image spatial shape {x_sp}; in mode='valid' it must fit inside the image "
                    "(use mode='same' or 'full' to score partial overlaps)"
                )
            out.append(np.arange(0, n - m + 1))
        elif mode == "same":
            out.append(np.arange(-(m // 2), n - m // 2))
        else:  # full
            out.append(np.arange(-(m - 1), n))
    return out


def check_lags(mode: str, lags: Any, max_lag: Any, x_sp: tuple[int, ...], t_sp: tuple[int, ...]) -> list[np.ndarray]:
    """The lags (template start offsets, ``scipy.signal.correlation_lags`` convention) scored along each axis."""
    d = len(x_sp)
    if lags is not None and max_lag is not None:
        raise ValueError("give lags or max_lag, not both (max_lag=L is shorthand for lags=range(-L, L + 1))")
    if max_lag is not None:
        ml = (max_lag,) * d if np.ndim(max_lag) == 0 else tuple(max_lag)
        if len(ml) != d:
            raise ValueError(f"max_lag must be a non-negative int or {d} of them (one per axis); got {max_lag!r}")
        return [np.arange(-v, v + 1) for v in (check_int("max_lag", v, minimum=0) for v in ml)]
    if lags is not None:
        if isinstance(lags, range) or (d == 1 and np.ndim(lags) == 1 and not isinstance(lags, tuple)):
            lags = (lags,)
        if not isinstance(lags, (tuple, list)) or len(lags) != d or any(np.ndim(v) != 1 for v in lags):
            raise ValueError(f"lags must give one sequence of integer lags per axis ({d}); got {lags!r}")
        return [_lag_axis("lags", v) for v in lags]
    return _default_lags(mode, x_sp, t_sp)
