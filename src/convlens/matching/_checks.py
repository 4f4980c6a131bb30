"""Argument checks of the matching lens: channel axis, masks, lags, per-call options."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._validation import check_float, check_int

__all__ = ["channels_first", "check_channel_axis", "check_lags", "check_weights", "check_min_overlap"]


def check_channel_axis(channel_axis: Any, ndim: int, name: str) -> int | None:
    """``channel_axis`` normalized to a non-negative axis of an array of ``ndim`` dimensions (or None)."""
    if channel_axis is None:
        return None
    if isinstance(channel_axis, (bool, np.bool_)) or not isinstance(channel_axis, (int, np.integer)):
        raise TypeError(f"channel_axis must be None or an int; got {channel_axis!r}")
    if ndim < 2 or not -ndim <= channel_axis < ndim:
        raise ValueError(
            f"channel_axis={channel_axis} is out of range for {name} with {ndim} dimensions "
            f"(a channel axis needs at least 2 dimensions; allowed: {-ndim}..{ndim - 1})"
        )
    return int(channel_axis) % ndim


def channels_first(a: np.ndarray, channel_axis: int | None) -> np.ndarray:
    """View of ``a`` as (channels, *spatial); one channel when there is no channel axis."""
    return a[np.newaxis] if channel_axis is None else np.moveaxis(a, channel_axis, 0)


def check_weights(name: str, mask: Any, shape: tuple[int, ...], *, weighted: bool) -> np.ndarray:
    """A mask as float64 weights (bool: 0/1) of the given shape, with at least one positive weight.

    ``weighted=False`` (image masks) accepts only booleans or 0/1 numbers: an image
    mask marks pixels as valid or not.  Template masks may hold any non-negative
    finite weights (OpenCV's float masks).
    """
    m = np.asarray(mask)
    what = "a boolean array or non-negative finite weights" if weighted else "a boolean (or 0/1) array"
    if m.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be {what}; got dtype {m.dtype}")
    if m.shape != shape:
        raise ValueError(f"{name} must have the shape {shape} (one entry per pixel); got shape {m.shape}")
    w = m.astype(np.float64)
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError(f"{name} must be {what}; it holds negative, NaN or inf values")
    if not weighted and not np.isin(w, (0.0, 1.0)).all():
        raise ValueError(
            f"{name} must be {what} (valid / not valid per pixel); got other values, e.g. "
            f"{w[(w != 0) & (w != 1)].flat[0]!r}: weights belong in the template mask"
        )
    if not (w > 0).any():
        raise ValueError(f"{name} must mark at least one valid pixel (True / positive); it is all zero")
    return w


def check_min_overlap(value: Any) -> float:
    return check_float("min_overlap", value, minimum=0, maximum=1)


def check_fill_value(value: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"fill_value must be a real number (NaN marks outside pixels as missing); got {value!r}")
    return float(value)


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
