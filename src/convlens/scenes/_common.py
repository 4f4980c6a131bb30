"""Shared helpers of the scenes: caching, read-only results, the photos and their sources."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np

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
