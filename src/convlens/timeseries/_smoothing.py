"""Moving averages, differencing and its exact inverse: convolutions along the time axis."""

from __future__ import annotations

import functools
from typing import Literal

import numpy as np

from .._engine import convolve
from .._validation import BOUNDARIES, NAN_POLICIES, check_alloc, check_array, check_choice, check_int, result_dtype
from ._checks import ALIGNS, check_axis


def moving_average(
    x,
    window,
    *,
    axis: int = -1,
    align: Literal["center", "trailing"] = "center",
    boundary: str = "reflect",
    fill_value: float = 0.0,
    nan_policy: str = "propagate",
    workers: int | None = None,
) -> np.ndarray:
    """Weighted moving average: a convolution of ``x`` with the weights along ``axis``.

    Parameters
    ----------
    x : array_like
        The series (any number of dimensions; averaged along ``axis``).
    window : int or 1-D array_like
        An int ``w`` gives the plain mean of ``w`` samples (weights ``1/w``).
        An array gives the weights themselves, used as given (not normalized):
        ``weights[j]`` multiplies the sample ``j`` steps back (trailing) or
        ``j - len // 2`` steps back (centred).
    axis : int, optional
        Axis along which to average (default: the last).
    align : {'center', 'trailing'}, optional
        'center': the window is centred on each sample, as in
        :func:`scipy.ndimage.uniform_filter1d` ('same' mode of
        :func:`scipy.signal.convolve`).  'trailing': each output averages the
        current and the ``len - 1`` previous samples, as ``pandas``'
        ``rolling(w).mean()``.
    boundary : {'constant', 'wrap', 'reflect', 'symmetric', 'edge'}, optional
        How ``x`` is extended past its ends (numpy.pad rules).  With
        ``'constant'`` and ``fill_value=np.nan`` the incomplete windows are NaN,
        like pandas.
    fill_value : float, optional
        Value beyond the ends for ``boundary='constant'``.
    nan_policy : {'propagate', 'raise', 'interpolate'}, optional
        NaN handling of the engine: 'interpolate' averages over the finite
        samples only (weights renormalized).
    workers : int, optional
        FFT threads.

    Returns
    -------
    ndarray
        Same shape as ``x``; float16 and float32 keep their dtype, bool and
        integers give float64.

    Examples
    --------
    >>> from convlens.timeseries import moving_average
    >>> moving_average([1.0, 2, 3, 4, 5], 3, align="trailing", boundary="edge")
    array([1.    , 1.3333, 2.    , 3.    , 4.    ])
    >>> moving_average([1.0, 2, 3, 4, 5], [0.25, 0.5, 0.25], boundary="reflect")
    array([1.5, 2. , 3. , 4. , 4.5])
    """
    x = check_array("x", x, allow_complex=False)
    axis = check_axis(axis, x.ndim)
    align = check_choice("align", align, ALIGNS)
    check_choice("boundary", boundary, BOUNDARIES)
    check_choice("nan_policy", nan_policy, NAN_POLICIES)
    # the package's table: float16 computed in float32 and returned as float16, float32 kept (native byte
    # order), bool and integers in float64; longdouble refused.  The output (and the cast) is refused up front
    # if it would not fit, before anything is computed (a broadcast view can be huge at no cost).
    out_dtype, dtype = result_dtype(x.dtype, allow_complex=False)
    check_alloc(x.shape, dtype, what="moving_average", copies=2)
    if isinstance(window, (int, np.integer)) and not isinstance(window, bool):
        w = check_int("window", window, minimum=1)
        weights = np.full(w, 1.0 / w, dtype)
    else:
        weights = np.asarray(window)
        if weights.ndim != 1 or weights.size == 0 or weights.dtype.kind not in "biuf":
            raise TypeError(f"window must be a positive int or a non-empty 1-D array of real weights; got {window!r}")
        weights = weights.astype(dtype)
    xf = x.astype(dtype, copy=False)
    mode = "same" if align == "center" else "full"
    out = convolve(
        xf,
        weights,
        mode,
        axes=(axis,),
        boundary=boundary,
        fill_value=fill_value,
        nan_policy=nan_policy,
        workers=workers,
    )
    if align == "trailing":
        # 'full' output index t sums x[t - j], j = 0..len-1: the trailing window ending at t.
        out = np.take(out, np.arange(x.shape[axis]), axis=axis)
    return out.astype(out_dtype, copy=False)


@functools.lru_cache(maxsize=64)
def difference_polynomial(d: int, seasonal: int | None, seasonal_d: int) -> tuple[np.ndarray, tuple[int, ...]]:
    """Coefficients of (1 - B)^d (1 - B^s)^D (read-only) and the list of lags of its factors."""
    lags = [1] * d + ([seasonal] * seasonal_d if seasonal else [])
    poly = np.ones(1, dtype=np.int64)
    for lag in lags:
        factor = np.zeros(lag + 1, dtype=np.int64)
        factor[0], factor[-1] = 1, -1
        poly = convolve(poly, factor, method="direct")  # exact int64 polynomial product
    poly.flags.writeable = False
    return poly, tuple(lags)


def _check_difference_args(d, seasonal, seasonal_d) -> tuple[int, int | None, int]:
    d = check_int("d", d, minimum=0)
    if seasonal is not None:
        seasonal = check_int("seasonal", seasonal, minimum=1)
    seasonal_d = check_int("seasonal_d", seasonal_d, minimum=0)
    return d, seasonal, seasonal_d


def difference(x, d: int = 1, *, seasonal: int | None = None, seasonal_d: int = 1, axis: int = -1) -> np.ndarray:
    """Apply ``(1 - B)^d (1 - B^s)^D`` along ``axis``: a 'valid' convolution with a binomial kernel.

    Parameters
    ----------
    x : array_like
        The series.
    d : int, optional
        Order of ordinary differencing (default 1).
    seasonal : int, optional
        Seasonal period ``s``; None (default) for no seasonal differencing.
    seasonal_d : int, optional
        Order ``D`` of seasonal differencing when ``seasonal`` is given.
    axis : int, optional
        Axis of time (default: the last).

    Returns
    -------
    ndarray
        Shorter by ``k = d + D * s`` along ``axis`` (like :func:`numpy.diff`).
        Integer input gives the exact int64 result; float32 stays float32.

    See Also
    --------
    integrate : the exact inverse, given the first ``k`` values.

    Examples
    --------
    >>> from convlens.timeseries import difference
    >>> difference([1, 4, 9, 16, 25])
    array([3, 5, 7, 9])
    >>> difference([1, 4, 9, 16, 25], 2)
    array([2, 2, 2])
    >>> difference([1, 2, 3, 11, 12, 13], 0, seasonal=3)
    array([10, 10, 10])
    """
    x = check_array("x", x, allow_complex=False)
    d, seasonal, seasonal_d = _check_difference_args(d, seasonal, seasonal_d)
    axis = check_axis(axis, x.ndim)
    poly, lags = difference_polynomial(d, seasonal, seasonal_d)
    k = sum(lags)
    if x.shape[axis] <= k:
        raise ValueError(
            f"x has {x.shape[axis]} samples along axis {axis}, but differencing of total lag {k} needs more than {k}"
        )
    if k == 0:
        return x.copy()
    if x.dtype.kind == "b":
        x = x.astype(np.int64)
    kernel = poly if x.dtype.kind in "iu" else poly.astype(x.dtype)
    return convolve(x, kernel, "valid", axes=(axis,), method="direct")


def integrate(
    dx, initial, d: int = 1, *, seasonal: int | None = None, seasonal_d: int = 1, axis: int = -1
) -> np.ndarray:
    """Undo :func:`difference`: rebuild the series from its differences and its first values.

    ``integrate(difference(x, d, seasonal=s), x[:k], d, seasonal=s)`` returns
    ``x`` exactly for integer data (and to round-off for floats), where
    ``k = d + seasonal_d * s`` is the number of samples differencing removed.
    Integration is convolution with the step kernel ``1 + B + B^2 + ...``
    (``1 + B^s + B^2s + ...`` for a seasonal factor), computed as a running
    sum, which is that convolution in O(n) and exact for integers.

    Parameters
    ----------
    dx : array_like
        The differenced series.
    initial : array_like
        The first ``k`` values of the original series along ``axis`` (other
        axes as in ``dx``).  For forecasting, pass the last ``k`` observed
        values and the forecast differences: the result continues the series.
    d, seasonal, seasonal_d, axis
        As in :func:`difference`.

    Returns
    -------
    ndarray
        ``initial`` followed by the rebuilt samples: ``k + len(dx)`` along
        ``axis``.  Integer inputs give int64.

    Examples
    --------
    >>> from convlens.timeseries import difference, integrate
    >>> x = [3, 1, 4, 1, 5, 9, 2, 6]
    >>> integrate(difference(x, 2), x[:2], 2)
    array([3, 1, 4, 1, 5, 9, 2, 6])
    >>> integrate([10, 10, 10], [1, 2, 3], 0, seasonal=3)
    array([ 1,  2,  3, 11, 12, 13])
    """
    dx = check_array("dx", dx, allow_complex=False)
    d, seasonal, seasonal_d = _check_difference_args(d, seasonal, seasonal_d)
    axis = check_axis(axis, dx.ndim)
    _, lags = difference_polynomial(d, seasonal, seasonal_d)
    k = sum(lags)
    initial = np.asarray(initial)
    if initial.dtype.kind not in "biuf":
        raise TypeError(f"initial must be real numbers; got dtype {initial.dtype}")
    if initial.ndim == 0:
        initial = initial.reshape(1)
    expected = dx.shape[:axis] + (k,) + dx.shape[axis + 1 :]
    if initial.ndim != dx.ndim or initial.shape != expected:
        raise ValueError(
            f"initial must hold the first k = {k} values of the series along axis {axis} (shape {expected}); "
            f"got shape {initial.shape}"
        )
    # exact int64 for integers; floats keep their dtype in native byte order; longdouble is refused
    dtype, _ = result_dtype(dx.dtype, initial.dtype, exact_int=True, allow_complex=False, name="dx")
    dx, initial = np.moveaxis(dx.astype(dtype), axis, -1), np.moveaxis(initial.astype(dtype), axis, -1)
    # Initial values of every intermediate stage z_i (z_0 = x, z_i = (1 - B^lag_i) z_{i-1}).
    stages = [initial]
    for lag in lags:
        prev = stages[-1]
        stages.append(prev[..., lag:] - prev[..., :-lag])
    z = dx
    for lag, start in zip(reversed(lags), reversed(stages[:-1])):
        z = _undo_lag(z, start[..., :lag], lag)
    return np.moveaxis(z, -1, axis)


def _undo_lag(z: np.ndarray, start: np.ndarray, lag: int) -> np.ndarray:
    """Invert y_t = x_t - x_{t-lag}: x = start followed by running sums per residue mod lag."""
    full = np.concatenate([start, z], axis=-1)
    n = full.shape[-1]
    rows = -(-n // lag)
    padded = np.zeros(full.shape[:-1] + (rows * lag,), dtype=full.dtype)
    padded[..., :n] = full
    folded = padded.reshape(full.shape[:-1] + (rows, lag))
    return np.cumsum(folded, axis=-2).reshape(padded.shape)[..., :n]
