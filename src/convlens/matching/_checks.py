"""Argument checks of the matching lens: channel axis, masks, lags, per-call options."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._lens_lags import check_lags
from .._validation import check_float

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
