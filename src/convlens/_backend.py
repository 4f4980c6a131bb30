"""FFT backend for NumPy arrays.

``ducc0`` (by the author of pocketfft) is used when it is installed: measured on
the project's machine an r2c + c2r pair at 4320² runs about 2x faster than
``scipy.fft`` and needs no planning (see shared/BASELINE.md).  ``scipy.fft`` is
the fallback.  Every function takes ``workers`` (threads) explicitly and may
write into a caller-provided ``out`` buffer so that plans can reuse memory.
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


def rfftn(a: np.ndarray, axes: Sequence[int], workers: int, out: np.ndarray | None = None) -> np.ndarray:
    """Real-to-complex FFT over ``axes`` (the half axis is ``axes[-1]``)."""
    if HAVE_DUCC:
        return _dfft.r2c(a, axes=list(axes), forward=True, out=out, nthreads=workers)
    res = _sfft.rfftn(a, axes=axes, workers=workers)
    if out is not None:
        out[...] = res
        return out
    return res


def irfftn(
    a: np.ndarray, axes: Sequence[int], lastsize: int, workers: int, out: np.ndarray | None = None
) -> np.ndarray:
    """Complex-to-real inverse FFT over ``axes``, normalized by 1/N."""
    if HAVE_DUCC:
        # the spectrum is a temporary of ours: letting ducc0 overwrite it saves a copy of it
        return _dfft.c2r(
            a,
            axes=list(axes),
            lastsize=lastsize,
            forward=False,
            inorm=2,
            out=out,
            nthreads=workers,
            allow_overwriting_input=True,
        )
    shape = [a.shape[ax] for ax in axes]
    shape[-1] = lastsize
    res = _sfft.irfftn(a, s=shape, axes=axes, workers=workers)
    if out is not None:
        out[...] = res
        return out
    return res


def fftn(a: np.ndarray, axes: Sequence[int], workers: int, out: np.ndarray | None = None) -> np.ndarray:
    """Complex FFT over ``axes``."""
    if HAVE_DUCC:
        return _dfft.c2c(a, axes=list(axes), forward=True, out=out, nthreads=workers)
    res = _sfft.fftn(a, axes=axes, workers=workers)
    if out is not None:
        out[...] = res
        return out
    return res


def ifftn(a: np.ndarray, axes: Sequence[int], workers: int, out: np.ndarray | None = None) -> np.ndarray:
    """Complex inverse FFT over ``axes``, normalized by 1/N."""
    if HAVE_DUCC:
        return _dfft.c2c(a, axes=list(axes), forward=False, inorm=2, out=out, nthreads=workers)
    res = _sfft.ifftn(a, axes=axes, workers=workers)
    if out is not None:
        out[...] = res
        return out
    return res
