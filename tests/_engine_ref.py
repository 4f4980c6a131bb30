"""Reference convolutions for the engine tests (the engine contract of README.md, written plainly).

* :func:`ref_convolve` — ``np.pad`` by K-1 per side with the boundary rule, then
  ``scipy.signal.convolve`` (or ``fftconvolve`` with ``axes=`` when only some axes are
  convolved) in 'valid' mode (= the 'full' output), then scipy's crop for 'same'/'valid'.
* :func:`direct_sum` — the same definition computed as a literal sum of shifted copies
  in float64 / complex128, so that NaN and inf land exactly where a direct sum puts them
  (``0 * nan = nan``, ``inf + -inf = nan``).
"""

from __future__ import annotations

import numpy as np
import scipy.signal

BOUNDARIES = ("constant", "wrap", "reflect", "symmetric", "edge")
MODES = ("full", "same", "valid")
METHODS = ("direct", "fft", "overlap-add")


def random_array(rng, shape, dtype) -> np.ndarray:
    """Standard normal samples of ``dtype`` (real and imaginary parts for complex dtypes)."""
    a = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        a = a + 1j * rng.standard_normal(shape)
    return a.astype(dtype)


def norm_axes(axes, ndim: int) -> tuple[int, ...]:
    if axes is None:
        return tuple(range(ndim))
    if isinstance(axes, int):
        axes = (axes,)
    return tuple(sorted(a % ndim for a in axes))


def full_kernel(kernel: np.ndarray, ndim: int, axes) -> np.ndarray:
    """The kernel with x's number of dimensions (fewer kernel dims are placed on ``axes``)."""
    kernel = np.asarray(kernel)
    if kernel.ndim == ndim:
        return kernel
    ax = norm_axes(axes, ndim)
    shape = [1] * ndim
    for a, s in zip(ax, kernel.shape):
        shape[a] = s
    return kernel.reshape(shape)


def pad_full(x: np.ndarray, kshape, axes: tuple[int, ...], boundary: str, fill_value=0) -> np.ndarray:
    """x extended by K-1 per side along ``axes`` with numpy.pad's rule."""
    widths = [(0, 0)] * x.ndim
    for a in axes:
        widths[a] = (kshape[a] - 1, kshape[a] - 1)
    if boundary == "constant":
        x = x.astype(np.result_type(x, np.asarray(fill_value)), copy=False)
        return np.pad(x, widths, mode="constant", constant_values=fill_value)
    return np.pad(x, widths, mode=boundary)


def crop(full: np.ndarray, x_shape, kshape, axes: tuple[int, ...], mode: str) -> np.ndarray:
    """scipy.signal.convolve's crop of the full output for ``mode``."""
    index = [slice(None)] * full.ndim
    for a in axes:
        n, k = x_shape[a], kshape[a]
        if mode == "full":
            continue
        if mode == "same":
            start = (k - 1) // 2
            index[a] = slice(start, start + n)
        else:
            index[a] = slice(k - 1, k - 1 + n - k + 1)
    return full[tuple(index)]


def _wide(a: np.ndarray) -> np.ndarray:
    return a.astype(np.complex128 if a.dtype.kind == "c" else np.float64)


def ref_convolve(x, kernel, mode="full", *, axes=None, boundary="constant", fill_value=0) -> np.ndarray:
    """The engine's definition, through scipy (float64 / complex128 result)."""
    x = _wide(np.asarray(x))
    kernel = _wide(full_kernel(kernel, x.ndim, axes))
    ax = norm_axes(axes, x.ndim)
    xp = pad_full(x, kernel.shape, ax, boundary, fill_value)
    if ax == tuple(range(x.ndim)):
        full = scipy.signal.convolve(xp, kernel, mode="valid", method="direct" if kernel.size <= 64 else "fft")
    else:
        full = scipy.signal.fftconvolve(xp, kernel, mode="valid", axes=ax)
    return crop(full, x.shape, kernel.shape, ax, mode)


def ref_correlate(x, template, mode="full", *, axes=None, boundary="constant", fill_value=0) -> np.ndarray:
    """Correlation = convolution with the reversed, conjugated template (scipy's convention)."""
    x = np.asarray(x)
    t = full_kernel(template, x.ndim, axes)
    ax = norm_axes(axes, x.ndim)
    t = np.conj(np.flip(t, axis=ax))
    return ref_convolve(x, t, mode, axes=ax, boundary=boundary, fill_value=fill_value)


def direct_sum(x, kernel, mode="full", *, axes=None, boundary="constant", fill_value=0) -> np.ndarray:
    """Literal sum over kernel taps of shifted copies of the extended x (NaN/inf exact)."""
    x = _wide(np.asarray(x))
    kernel = _wide(full_kernel(kernel, x.ndim, axes))
    ax = norm_axes(axes, x.ndim)
    xp = pad_full(x, kernel.shape, ax, boundary, fill_value)
    out_shape = list(
        np.broadcast_shapes(*[tuple(1 if a in ax else s for a, s in enumerate(v.shape)) for v in (x, kernel)])
    )
    for a in ax:
        out_shape[a] = x.shape[a] + kernel.shape[a] - 1
    out = np.zeros(out_shape, dtype=np.result_type(xp, kernel))
    with np.errstate(invalid="ignore", over="ignore"):
        for m in np.ndindex(*[kernel.shape[a] for a in ax]):
            kidx = [slice(None)] * x.ndim
            xidx = [slice(None)] * x.ndim
            for a, mi in zip(ax, m):
                kidx[a] = slice(mi, mi + 1)
                # full[i] = sum_m k[m] xe[i - m]; xe index j <-> xp index j + K - 1
                start = kernel.shape[a] - 1 - mi
                xidx[a] = slice(start, start + out_shape[a])
            out = out + kernel[tuple(kidx)] * xp[tuple(xidx)]
    return crop(out, x.shape, kernel.shape, ax, mode)
