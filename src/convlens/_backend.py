"""The one FFT entry point of convlens (NumPy arrays).

Every Fourier transform in the package goes through this module: real-to-complex
(``rfftn``), complex-to-real (``irfftn``, with the length of the last axis given),
complex-to-complex (``fftn`` / ``ifftn``), transforms of zero-padded data with cropped
outputs that skip the padding's rows (``padded_forward`` / ``cropped_inverse``), the DCT-II and DCT-III (``dctn`` /
``idctn``) and ducc0's fused per-axis convolution (``convolve_axis``).

``ducc0`` (by the author of pocketfft) is used when it is installed: an r2c + c2r
pair at 4320² runs about 2x faster than ``scipy.fft`` on a 2-core Zen 4 machine
and needs no planning step.  ``scipy.fft`` is the fallback and gives the same
numbers (both are pocketfft's algorithms).  Every function takes ``workers``
(threads) and passes it through; most accept an ``out`` buffer so that plans can
reuse memory.

Normalizations follow ``scipy.fft``'s ``norm`` names: 'backward' (forward
unscaled, inverse divided by N), 'ortho' (both by sqrt(N)), 'forward' (forward
divided by N, inverse unscaled).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import scipy.fft as _sfft

try:  # pragma: no cover - exercised implicitly
    import ducc0.fft as _dfft

    HAVE_DUCC = True
except ImportError:  # pragma: no cover - fallback path
    _dfft = None
    HAVE_DUCC = False

NORMS = ("backward", "ortho", "forward")
# ducc0's ``inorm``: 0 = unscaled, 1 = divided by sqrt(N), 2 = divided by N
_INORM_FORWARD = {"backward": 0, "ortho": 1, "forward": 2}
_INORM_INVERSE = {"backward": 2, "ortho": 1, "forward": 0}

# Real and complex working dtypes: float16 is computed in float32, integers in float64.
_REAL_FOR = {
    np.dtype(np.float16): np.dtype(np.float32),
    np.dtype(np.float32): np.dtype(np.float32),
    np.dtype(np.float64): np.dtype(np.float64),
    np.dtype(np.longdouble): np.dtype(np.float64),
}


def work_dtype(dtype: np.dtype) -> np.dtype:
    """The floating dtype a convolution of ``dtype`` data is computed in."""
    dtype = np.dtype(dtype)
    if dtype.kind == "c":
        return np.dtype(np.complex64) if dtype == np.complex64 else np.dtype(np.complex128)
    if dtype.kind == "f":
        return _REAL_FOR.get(dtype, np.dtype(np.float64))
    return np.dtype(np.float64)  # bool and integers: exact in float64 up to 2**53


def complex_of(dtype: np.dtype) -> np.dtype:
    """Complex dtype with the precision of ``dtype``."""
    return np.dtype(np.complex64) if np.dtype(dtype) in (np.float32, np.complex64) else np.dtype(np.complex128)


@lru_cache(maxsize=4096)
def good_size(n: int, real: bool = True) -> int:
    """Smallest length >= n whose FFT is fast (2-, 3- and 5-smooth; 7 and 11 for complex)."""
    if n <= 16:
        return n
    if HAVE_DUCC:
        return int(_dfft.good_size(n, real))
    return int(_sfft.next_fast_len(n, real))


@lru_cache(maxsize=4096)
def fast_length(n: int) -> int:
    """FFT length used for a convolution needing at least ``n`` points.

    The smallest 5-smooth length, unless an 11-smooth one (radices 7 and 11 are
    slower per point) is at least 3% shorter.
    """
    a, b = good_size(n, True), good_size(n, False)
    return b if b < 0.97 * a else a


# -- helpers ----------------------------------------------------------------------------
def _axes(a: np.ndarray, axes: Sequence[int] | None) -> list[int]:
    return list(range(a.ndim)) if axes is None else [int(ax) % a.ndim for ax in axes]


def _check_norm(norm: str) -> str:
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {', '.join(map(repr, NORMS))}; got {norm!r}")
    return norm


def _real(a: np.ndarray) -> np.ndarray:
    """``a`` as float32/float64 (what both libraries transform natively)."""
    a = np.asarray(a)
    return a if a.dtype in (np.float32, np.float64) else a.astype(work_dtype(a.dtype))


def _cplx(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    return a if a.dtype in (np.complex64, np.complex128) else a.astype(complex_of(work_dtype(a.dtype)))


def _into(res: np.ndarray, out: np.ndarray | None) -> np.ndarray:
    if out is None:
        return res
    out[...] = res
    return out


# -- Fourier transforms -----------------------------------------------------------------
def rfftn(
    a: np.ndarray,
    axes: Sequence[int] | None,
    workers: int = 1,
    out: np.ndarray | None = None,
    *,
    norm: str = "backward",
) -> np.ndarray:
    """Real-to-complex FFT over ``axes`` (the half axis is ``axes[-1]``)."""
    a, ax = _real(a), _axes(a, axes)
    if HAVE_DUCC:
        return _dfft.r2c(a, axes=ax, forward=True, inorm=_INORM_FORWARD[_check_norm(norm)], out=out, nthreads=workers)
    return _into(_sfft.rfftn(a, axes=ax, workers=workers, norm=norm), out)


def irfftn(
    a: np.ndarray,
    axes: Sequence[int] | None,
    lastsize: int,
    workers: int = 1,
    out: np.ndarray | None = None,
    *,
    norm: str = "backward",
    overwrite: bool = True,
) -> np.ndarray:
    """Complex-to-real inverse FFT over ``axes``; ``lastsize`` is the real length of ``axes[-1]``.

    ``overwrite=True`` lets ducc0 use ``a`` as scratch space (saves a copy of the
    spectrum); pass False when ``a`` must survive.
    """
    a, ax = _cplx(a), _axes(a, axes)
    if HAVE_DUCC:
        return _dfft.c2r(
            a,
            axes=ax,
            lastsize=int(lastsize),
            forward=False,
            inorm=_INORM_INVERSE[_check_norm(norm)],
            out=out,
            nthreads=workers,
            allow_overwriting_input=overwrite,
        )
    shape = [a.shape[i] for i in ax]
    shape[-1] = int(lastsize)
    return _into(_sfft.irfftn(a, s=shape, axes=ax, workers=workers, norm=norm), out)


def fftn(
    a: np.ndarray,
    axes: Sequence[int] | None,
    workers: int = 1,
    out: np.ndarray | None = None,
    *,
    norm: str = "backward",
) -> np.ndarray:
    """Complex FFT over ``axes`` (a real input is promoted to complex)."""
    return _c2c(a, axes, workers, out, norm, forward=True)


def ifftn(
    a: np.ndarray,
    axes: Sequence[int] | None,
    workers: int = 1,
    out: np.ndarray | None = None,
    *,
    norm: str = "backward",
) -> np.ndarray:
    """Complex inverse FFT over ``axes``, divided by N for the default ``norm``."""
    return _c2c(a, axes, workers, out, norm, forward=False)


def _c2c(a, axes, workers: int, out, norm: str, *, forward: bool) -> np.ndarray:
    """The one complex transform behind :func:`fftn` and :func:`ifftn`."""
    a, ax = _cplx(a), _axes(a, axes)
    if HAVE_DUCC:
        inorm = (_INORM_FORWARD if forward else _INORM_INVERSE)[_check_norm(norm)]
        return _dfft.c2c(a, axes=ax, forward=forward, inorm=inorm, out=out, nthreads=workers)
    transform = _sfft.fftn if forward else _sfft.ifftn
    return _into(transform(a, axes=ax, workers=workers, norm=norm), out)


# -- transforms of zero-padded data, outputs cropped ------------------------------------
def padded_forward(a: np.ndarray, axes: Sequence[int], out: np.ndarray, workers: int = 1) -> np.ndarray:
    """The FFT over ``axes`` of ``a`` zero-padded to ``out``'s lengths, into ``out`` (r2c for real ``a``).

    ``a`` has its transform length along ``axes[-1]`` already (zero-padded there) and at most
    ``out``'s length along the other axes.  The last axis is transformed only over ``a``'s extent
    along the others (the padding's transforms are zero), then each other axis over everything,
    last to first: a whole-array transform makes the same passes (one axis at a time), only on
    every row.  A 255² kernel padded to 4320² is transformed in 255 rows instead of 4320.
    """
    axes = list(axes)
    region = [slice(None)] * out.ndim
    for ax in axes[:-1]:
        region[ax] = slice(0, a.shape[ax])
    first = rfftn if np.isrealobj(a) else fftn
    first(a, (axes[-1],), workers, out=out[tuple(region)])
    for ax in reversed(axes[:-1]):
        if a.shape[ax] < out.shape[ax]:
            beyond = list(region)
            beyond[ax] = slice(a.shape[ax], None)
            out[tuple(beyond)] = 0  # the transform of the zero padding
        region[ax] = slice(None)
        view = out[tuple(region)]
        fftn(view, (ax,), workers, out=view)
    return out


def cropped_inverse(
    spec: np.ndarray, axes: Sequence[int], lastsize: int, keep: Sequence[slice], workers: int = 1, *, real: bool = True
) -> np.ndarray:
    """The inverse FFT over ``axes`` of ``spec`` (c2r when ``real``), computed and returned only where
    ``keep`` (one slice per axis of ``axes``) keeps outputs.  ``spec`` is overwritten.

    Each axis but the last is transformed in place over what the earlier ones keep; the last
    (c2r, of real length ``lastsize``) only on the kept rows, into a new array.
    """
    axes = list(axes)
    region = [slice(None)] * spec.ndim
    for ax, sl in zip(axes[:-1], keep):
        view = spec[tuple(region)]
        ifftn(view, (ax,), workers, out=view)
        region[ax] = sl
    view = spec[tuple(region)]
    res = irfftn(view, (axes[-1],), lastsize, workers) if real else ifftn(view, (axes[-1],), workers)
    index = [slice(None)] * res.ndim
    index[axes[-1]] = keep[-1]
    return res[tuple(index)]


# -- cosine transforms ------------------------------------------------------------------
def _dct(a, kind: int, axes, workers: int, inorm: int, norm: str) -> np.ndarray:
    if np.iscomplexobj(a):  # the DCT is linear and real: transform both parts
        re = _dct(np.ascontiguousarray(a.real), kind, axes, workers, inorm, norm)
        im = _dct(np.ascontiguousarray(a.imag), kind, axes, workers, inorm, norm)
        return re + 1j * im
    a = _real(a)
    ax = _axes(a, axes)
    if HAVE_DUCC:
        return _dfft.dct(a, type=kind, axes=ax, inorm=inorm, nthreads=workers)
    return _sfft.dctn(a, type=kind, axes=ax, norm=norm, workers=workers)


def _check_dct_type(kind) -> None:
    if kind not in (2, 3):
        raise ValueError(f"type must be 2 or 3; got {kind!r}")


def dctn(
    a: np.ndarray, axes: Sequence[int] | None = None, workers: int = 1, *, type: int = 2, norm: str = "ortho"
) -> np.ndarray:
    """DCT of type 2 (default) or 3 over ``axes``, as ``scipy.fft.dctn`` with the same ``norm``."""
    _check_dct_type(type)
    return _dct(a, type, axes, workers, _INORM_FORWARD[_check_norm(norm)], norm)


def idctn(
    a: np.ndarray, axes: Sequence[int] | None = None, workers: int = 1, *, type: int = 2, norm: str = "ortho"
) -> np.ndarray:
    """Inverse of :func:`dctn` (of ``type`` 2 or 3), as ``scipy.fft.idctn``."""
    _check_dct_type(type)
    inverse_type = 5 - type  # DCT-III inverts DCT-II and vice versa
    if not HAVE_DUCC:
        return _sfft.idctn(a, type=type, axes=axes, norm=_check_norm(norm), workers=workers)
    return _dct(a, inverse_type, axes, workers, _INORM_INVERSE[_check_norm(norm)], norm)


# -- fused convolution along one axis ---------------------------------------------------
def convolve_axis(segments: np.ndarray, out: np.ndarray, axis: int, kernel: np.ndarray, workers: int) -> np.ndarray:
    """Circular convolution of every 1-D line of ``segments`` along ``axis`` with ``kernel``.

    ducc0 transforms, multiplies and transforms back each line while it is in
    cache; the fallback does the same with whole-array ``scipy.fft`` calls.
    ``kernel`` has the line length; the result is written into ``out``.
    """
    if HAVE_DUCC:
        return _dfft.convolve_axis(segments, out, axis, kernel, nthreads=workers)
    n = segments.shape[axis]
    kspec = _sfft.rfft(kernel, n)
    shape = [1] * segments.ndim
    shape[axis] = kspec.size
    spec = _sfft.rfft(segments, axis=axis, workers=workers) * kspec.reshape(shape)
    out[...] = _sfft.irfft(spec, n, axis=axis, workers=workers)
    return out
