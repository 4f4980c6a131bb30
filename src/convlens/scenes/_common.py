"""Shared helpers of the scenes: caching, read-only results, the photos and their sources."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

from .._validation import check_float, check_int
from ..data import load_image

# Where each photo comes from, for captions (scikit-image's bundled files, their licences).
PHOTO_SOURCES = {
    "camera": "scikit-image data.camera(), CC0 (Lav Varshney)",
    "brick": "scikit-image data.brick(), CC0 (CC0Textures)",
    "grass": "scikit-image data.grass(), CC0 (CC0Textures)",
    "text": "scikit-image data.text(), public domain",
    "astronaut": "scikit-image data.astronaut(), public domain (NASA, Eileen Collins)",
}
SERIES_SOURCES = {
    "sunspots": "statsmodels datasets.sunspots (yearly 1700-2008), public domain",
    "nile": "statsmodels datasets.nile (Nile flow 1871-1970), public domain",
}


def freeze(obj):
    """Make every ndarray field of a scene read-only, so cached scenes cannot be changed by a caller."""
    for field in dataclasses.fields(obj):
        value = getattr(obj, field.name)
        if isinstance(value, np.ndarray):
            value.setflags(write=False)
        elif isinstance(value, tuple):
            for item in value:
                if isinstance(item, np.ndarray):
                    item.setflags(write=False)
    return obj


def scene(func):
    """Cache a scene function (scenes are pure: same arguments, same arrays) and freeze its result."""

    def compute(*args, **kwargs):
        return freeze(func(*args, **kwargs))

    cached = functools.lru_cache(maxsize=4)(compute)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            hash((args, tuple(kwargs.items())))
        except TypeError:  # a list or array argument: computed uncached, and the scene's own checks judge it
            return compute(*args, **kwargs)
        return cached(*args, **kwargs)

    wrapper.cache_clear = cached.cache_clear
    return wrapper


def photo(name: str, size: int = 256) -> np.ndarray:
    """A grey bundled photo as float64 in [0, 1], block-averaged to ``size`` x ``size`` (from 512 x 512)."""
    image = np.asarray(load_image(name), dtype=np.float64)
    if image.max() > 1.0:
        image = image / 255.0
    step = image.shape[0] // size
    h, w = (image.shape[0] // step) * step, (image.shape[1] // step) * step
    image = image[:h, :w].reshape(h // step, step, w // step, step).mean(axis=(1, 3))
    return np.ascontiguousarray(image)


def frozen(cls):
    """A frozen dataclass compared by identity (fields are arrays, which have no plain equality)."""
    return dataclasses.dataclass(frozen=True, eq=False)(cls)


# --------------------------------------------------------------------------- argument checks
# Scenes are public: each checks its own arguments up front with the policy layer's helpers, so a
# bad value is refused naming the scene's parameter, never deep inside a lens under an internal name.


def check_seed(seed) -> int:
    """A scene's ``seed``: a non-negative int (scenes store it and are cached by it, so no Generator)."""
    return check_int("seed", seed, minimum=0)


def _items(name: str, values, what: str) -> tuple:
    """The entries of a non-empty 1-D sequence (tuple, list or 1-D array), else a TypeError / ValueError."""
    if isinstance(values, np.ndarray) and values.ndim == 1:
        values = tuple(values.tolist())
    if not isinstance(values, (tuple, list)):
        raise TypeError(f"{name} must be a non-empty sequence of {what}; got {values!r} ({type(values).__name__})")
    if not values:
        raise ValueError(f"{name} must be a non-empty sequence of {what}; got {values!r}")
    return tuple(values)


def check_reals(name: str, values, *, hint: str = "", **bounds) -> tuple[float, ...]:
    """A non-empty sequence of finite reals, each within ``bounds`` (as :func:`check_float`'s)."""
    items = _items(name, values, "real numbers")
    return tuple(check_float(f"{name}[{i}]", v, hint=hint, **bounds) for i, v in enumerate(items))


def check_ints(
    name: str, values, *, minimum: int | None = None, maximum: int | None = None, odd: bool = False, length=None
) -> tuple[int, ...]:
    """A non-empty sequence of ints within ``[minimum, maximum]`` (odd ones if ``odd``, ``length`` of them)."""
    items = _items(name, values, "odd integers" if odd else "integers")
    if length is not None and len(items) != length:
        raise ValueError(f"{name} must have {length} entries; got {values!r}")
    if odd:
        return tuple(check_odd(f"{name}[{i}]", v, minimum=minimum, maximum=maximum) for i, v in enumerate(items))
    return tuple(check_int(f"{name}[{i}]", v, minimum=minimum, maximum=maximum) for i, v in enumerate(items))


def check_odd(name: str, value, *, minimum: int, maximum: int) -> int:
    """An odd int within ``[minimum, maximum]`` (a kernel size with a centre pixel)."""
    value = check_int(name, value)  # the kind first: a float or a bool is a TypeError
    if not (minimum <= value <= maximum and value % 2):
        raise ValueError(
            f"{name} must be an odd integer >= {minimum} and <= {maximum} (a kernel with a centre pixel); got {value}"
        )
    return value
