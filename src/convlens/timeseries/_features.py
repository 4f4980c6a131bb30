"""A bank of 1-D conv kernels read as local AR/MA models of a series."""

from __future__ import annotations

from typing import Literal

import numpy as np

from .._engine import convolve
from .._validation import check_array, check_choice, result_dtype
from ._checks import FEATURE_KINDS, check_finite_series


def local_ar_features(
    x,
    kernels,
    *,
    bias=None,
    kind: Literal["ar", "ma"] = "ar",
    standardize: bool = True,
    workers: int | None = None,
) -> np.ndarray:
    """Read a bank of 1-D conv kernels as local AR (or MA) models of a series.

    The essay: a convolution layer applied to data pre-processed to white-ish
    noise computes, per kernel, an autoregressive prediction ``C + sum_j
    k_j x_{t-j}`` (or a weighted moving average ``sum_j k_j x_{t-j}`` including
    the current sample): each output channel is one local AR/MA feature.

    Parameters
    ----------
    x : (n,) array_like
        The series, finite.
    kernels : (L,) or (K, L) array_like
        One or K kernels.  ``kernels[k, j]`` weighs the sample ``j + 1`` steps
        back (kind='ar') or ``j`` steps back (kind='ma').
    bias : float or (K,) array_like, optional
        The constant ``C`` of each feature (default 0).
    kind : {'ar', 'ma'}, optional
        'ar': predict ``x_t`` from the ``L`` previous samples (excludes ``x_t``);
        'ma': weighted moving average of ``x_t`` and the ``L - 1`` before it.
    standardize : bool, optional
        Centre ``x`` and scale it to unit variance first (the essay's
        pre-processing to white noise).  Set False to use ``x`` as it is, e.g.
        to reproduce a fitted AR model's predictions.
    workers : int, optional
        FFT threads.

    Returns
    -------
    (K, n) ndarray (or (n,) for one kernel)
        The features; entries without a full window of history (the first
        ``L`` for 'ar', ``L - 1`` for 'ma') are NaN.  float16 and float32 series
        give features of their dtype, integers and bool give float64.

    Examples
    --------
    >>> from convlens.timeseries import local_ar_features
    >>> local_ar_features([1.0, 2, 3, 4], [1.0, -0.5], standardize=False)
    array([nan, nan, 1.5, 2. ])
    >>> local_ar_features([1.0, 2, 3, 4], [[0.5, 0.5], [1, -1]], kind="ma", standardize=False)
    array([[nan, 1.5, 2.5, 3.5],
           [nan, 1. , 1. , 1. ]])
    """
    x = check_array("x", x, allow_complex=False)
    if x.ndim != 1:
        raise ValueError(f"x must be a 1-D series; got shape {x.shape}")
    # longdouble is refused; the features are computed in float64 and returned in x's dtype by the table
    out_dtype, _ = result_dtype(x.dtype, allow_complex=False)
    x = x.astype(np.float64)
    check_finite_series("x", x)
    kind = check_choice("kind", kind, FEATURE_KINDS)
    k = check_array("kernels", kernels, allow_complex=False).astype(np.float64)
    single = k.ndim == 1
    k = k[None, :] if single else k
    if k.ndim != 2:
        raise ValueError(f"kernels must be (L,) or (K, L); got shape {k.shape}")
    n_k, length = k.shape
    lag = 1 if kind == "ar" else 0
    if length + lag > x.size:
        raise ValueError(
            f"kernels of length {length} need a series longer than {length + lag - 1}; x has {x.size} samples"
        )
    b = np.zeros(n_k) if bias is None else np.broadcast_to(np.asarray(bias, dtype=np.float64), (n_k,))
    if standardize:
        sd = x.std()
        if sd == 0:
            raise ValueError("x is constant: it cannot be standardized; pass standardize=False")
        x = (x - x.mean()) / sd
    # Convolution with kernel [0]*lag + k puts sum_j k_j x_{t-lag-j} at 'full' index t.
    kernel = np.concatenate([np.zeros((n_k, lag)), k], axis=1)
    # a copy: the engine may hand back a read-only view, and the incomplete windows are overwritten below
    full = np.array(convolve(x[None, :], kernel, "full", axes=(1,), workers=workers)[:, : x.size])
    full[:, : length + lag - 1] = np.nan
    out = (full + b[:, None]).astype(out_dtype, copy=False)
    return out[0] if single else out
