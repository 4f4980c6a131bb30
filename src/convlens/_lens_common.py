"""Helpers shared by the lens modules (the lens layer's private toolbox).

A lens that needs one of these imports it from here, never from another lens
module's private names, so that lenses stay independent of each other.
``tools/check_layers.py`` counts every ``_lens*`` module as part of the lens
layer.

* :func:`check_finite_input` - NaN/inf refused with the lenses' one hint.
* :func:`check_gray` - a finite 2-D grey image (a colour image gets a hint).
* :func:`check_kernel` - a finite kernel, of the data's number of dimensions.
* :func:`analysis_window` / :func:`windowed` - cached analysis windows for spectra.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ._validation import check_array, check_finite

__all__ = ["FILL_HINT", "WINDOWS", "analysis_window", "check_finite_input", "check_gray", "check_kernel", "windowed"]

WINDOWS = ("none", "hann", "radial")
FILL_HINT = "fill them first, e.g. with convlens.convolve(..., nan_policy='interpolate')"


def check_finite_input(name: str, x: np.ndarray) -> None:
    """Refuse NaN/inf in ``x`` (count and first index) with the hint on filling them."""
    check_finite(name, x, hint=FILL_HINT)


def check_gray(name: str, image, *, allow_complex: bool = False, finite: bool = True) -> np.ndarray:
    """A 2-D grey image (finite unless ``finite=False``); a colour image gets a ValueError that says how to convert it.

    Callers that guard memory pass ``finite=False`` and check finiteness after
    the guard: the check itself reads the whole image (a broadcast view of a
    huge image would otherwise be scanned before it is refused).
    """
    image = check_array(name, image, allow_complex=allow_complex)
    if image.ndim == 3 and image.shape[-1] in (3, 4):
        raise ValueError(
            f"{name} must be a 2-D grey image; got shape {image.shape}, which looks like a colour image: "
            "convert it first, e.g. skimage.color.rgb2gray(image) (or image[..., :3].mean(axis=-1))"
        )
    if image.ndim != 2:
        raise ValueError(f"{name} must be a 2-D grey image; got {image.ndim} dimensions (shape {image.shape})")
    if finite:
        check_finite_input(name, image)
    return image


def check_kernel(name: str, kernel, *, ndim: int | None = None, allow_complex: bool = True) -> np.ndarray:
    """A finite kernel array; with ``ndim``, one with as many dimensions as the data it is applied to."""
    k = check_array(name, kernel, allow_complex=allow_complex)
    check_finite(name, k)
    if ndim is not None and k.ndim != ndim:
        raise ValueError(
            f"{name} must have as many dimensions as x ({ndim}); got shape {k.shape} "
            "(add size-1 axes, e.g. kernel[..., None] for a colour image)"
        )
    return k


@lru_cache(maxsize=4)
def _window_cached(shape: tuple[int, ...], kind: str, dtype: str) -> np.ndarray:
    if kind == "hann":
        # periodic (DFT-even) Hann, the usual choice for spectral analysis
        w = np.ones((1,) * len(shape))
        for i, n in enumerate(shape):
            wi = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n) if n > 1 else np.ones(1)
            w = w * wi.reshape([n if j == i else 1 for j in range(len(shape))])
    else:  # radial: isotropic Hann taper on the inscribed ball, zero outside
        radius = min(shape) / 2
        r2 = np.zeros((1,) * len(shape))
        for i, n in enumerate(shape):
            c = (np.arange(n) - (n - 1) / 2) ** 2
            r2 = r2 + c.reshape([n if j == i else 1 for j in range(len(shape))])
        r = np.sqrt(r2)
        w = np.where(r < radius, 0.5 + 0.5 * np.cos(np.pi * r / radius), 0.0)
    w = w.astype(dtype)
    w.flags.writeable = False
    return w


def analysis_window(shape: tuple[int, ...], kind: str, dtype: np.dtype) -> np.ndarray | None:
    """The analysis window of ``shape`` (None for 'none'); cached and read-only."""
    if kind == "none":
        return None
    return _window_cached(tuple(int(n) for n in shape), kind, np.dtype(dtype).str)


def windowed(
    x: np.ndarray, axes: tuple[int, ...], kind: str, work: np.dtype, *, demean: bool
) -> tuple[np.ndarray, float]:
    """A new array: x in ``work`` (optionally minus its mean) times the window; also sum(w**2) per transform."""
    shape = tuple(x.shape[a] for a in axes)
    real = np.dtype(np.float32) if np.dtype(work) in (np.float32, np.complex64) else np.dtype(np.float64)
    w = analysis_window(shape, kind, real)
    a = np.array(x, dtype=work, copy=True)  # native byte order, and ours to modify
    if demean:
        # the mean would otherwise leak through the window's spectrum into the low frequencies
        a -= a.mean(axis=axes, keepdims=True)
    if w is None:
        return a, float(math.prod(shape))
    wshape = [1] * x.ndim
    for ax, n in zip(axes, shape):
        wshape[ax] = n
    a *= w.reshape(wshape)
    return a, float(np.sum(w.astype(np.float64) ** 2))
