"""Time series as convolutions: moving averages, differencing, ARMA kernels, ARIMA forecasts.

The essay's "Insights from statistics": a weighted moving average *is* a
convolution, and an ARMA model is one too, read two ways.  The MA(∞) kernel
(the ψ weights) turns white noise into the series, ``x = ψ * e``; the AR(∞)
kernel (the π weights) turns the series back into white noise, ``e = κ * x``.
Forecasting an ARIMA model is then: difference, convolve the history with the
AR(∞) kernel, convolve the result with the ψ kernel, integrate.  Every
convolution here goes through the engine (:func:`convlens.convolve`).

Sign convention  (read this once; every function here follows it)
-----------------------------------------------------------------
ARMA coefficients are given in one of two conventions, chosen by the keyword
``convention`` of each function; nothing is ever guessed from the values.

``convention="polynomial"`` (the default, statsmodels' ``ArmaProcess`` /
``arma_generate_sample`` / ``arma2ma`` convention)
    ``ar`` and ``ma`` are the *lag polynomials* including the leading 1::

        ar = [1, -phi_1, ..., -phi_p],  ma = [1, theta_1, ..., theta_q]
        (1 - phi_1 B - ... - phi_p B^p) x_t = (1 + theta_1 B + ... + theta_q B^q) e_t

    so the AR(1) process ``x_t = 0.9 x_{t-1} + e_t`` is ``ar=[1, -0.9]``.
    The leading 1 is required: ``ar=[0.9]`` raises a ValueError that points
    to ``convention="coefficients"`` (statsmodels issues #3369 and #8999 show
    how easily the two are mixed up).
``convention="coefficients"`` (the textbook and the ``ARIMA(...).fit().params`` convention)
    ``ar = [phi_1, ..., phi_p]`` and ``ma = [theta_1, ..., theta_q]`` in::

        x_t = phi_1 x_{t-1} + ... + phi_p x_{t-p} + e_t + theta_1 e_{t-1} + ... + theta_q e_{t-q}

    so the same AR(1) is ``ar=[0.9]``.

The kernels returned are impulse responses and carry no convention: the MA
kernel ψ (``psi[0] = 1``) gives ``x = convolve(e, psi)``, the AR kernel κ
(``kappa[0] = 1``, ``kappa[j] = -pi_j``) gives ``e = convolve(x, kappa)``.
They equal statsmodels' ``arma2ma`` and ``arma2ar``.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import linalg, signal, special

from ._engine import convolve
from ._validation import BOUNDARIES, NAN_POLICIES, check_array, check_choice, check_finite

__all__ = [
    "ArimaForecast",
    "arma_to_ar_kernel",
    "arma_to_ma_kernel",
    "difference",
    "fit_arima",
    "forecast_arima",
    "integrate",
    "local_ar_features",
    "moving_average",
    "simulate_arma",
]

CONVENTIONS = ("polynomial", "coefficients")
ALIGNS = ("center", "trailing")
TRENDS = ("n", "c")
FEATURE_KINDS = ("ar", "ma")

# A root of a lag polynomial this close to the unit circle counts as on it: the
# process would be (numerically) non-stationary or non-invertible.
_ROOT_TOL = 1e-8


# --------------------------------------------------------------------------- validation


def _check_int(name: str, value, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer >= {minimum}; got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}; got {value!r}")
    return int(value)


def _check_axis(axis, ndim: int) -> int:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis must be an integer; got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(
            f"axis {axis} is out of range for an array of {ndim} dimensions (allowed: {-ndim}..{ndim - 1})"
        )
    return int(axis) % ndim


def _check_finite(name: str, x: np.ndarray) -> None:
    check_finite(
        name,
        x,
        hint="fill or drop them first (e.g. pandas interpolate) or use moving_average(..., nan_policy='interpolate')",
    )


def _coeffs(name: str, value) -> np.ndarray:
    if value is None:
        return np.zeros(0)
    arr = np.atleast_1d(np.asarray(value))
    if arr.dtype.kind not in "biuf" or arr.ndim != 1:
        raise TypeError(f"{name} must be a 1-D sequence of real numbers; got {value!r}")
    arr = arr.astype(np.float64)
    _check_finite(name, arr)
    return arr


def _lag_polynomials(ar, ma, convention: str) -> tuple[np.ndarray, np.ndarray]:
    """(phi(B), theta(B)) as coefficient arrays with leading 1, from either convention."""
    convention = check_choice("convention", convention, CONVENTIONS)
    ar, ma = _coeffs("ar", ar), _coeffs("ma", ma)
    if convention == "coefficients":
        return np.concatenate(([1.0], -ar)), np.concatenate(([1.0], ma))
    for name, poly in (("ar", ar), ("ma", ma)):
        if poly.size == 0 or poly[0] != 1:
            raise ValueError(
                f"{name} must be a lag polynomial starting with 1 under convention='polynomial' "
                f"(statsmodels: ar=[1, -phi_1, ...], ma=[1, theta_1, ...]); got {poly.tolist()!r}. "
                "For bare coefficients pass convention='coefficients'"
            )
    return ar, ma


def _lag_roots(poly: np.ndarray) -> np.ndarray:
    """Roots z of sum_k poly[k] z^k (degree 1 in closed form: np.roots costs ~40 us)."""
    poly = np.trim_zeros(poly, "b")
    if poly.size <= 1:
        return np.zeros(0, dtype=complex)
    if poly.size == 2:
        return np.array([complex(-poly[0] / poly[1])])
    return np.roots(poly[::-1])  # np.roots wants the highest power first


def _check_roots(poly: np.ndarray, name: str, what: str) -> float:
    """Raise if a root of the lag polynomial lies on or inside the unit circle; else return min |root|."""
    roots = _lag_roots(poly)
    if roots.size == 0:
        return math.inf
    bad = roots[np.abs(roots) <= 1 + _ROOT_TOL]
    if bad.size:
        shown = ", ".join(f"{complex(r):.4g} (|z|={abs(r):.4g})" for r in bad)
        raise ValueError(
            f"{name} is not {what}: its lag polynomial {np.round(poly, 6).tolist()} has root(s) {shown} "
            "on or inside the unit circle; every root must satisfy |z| > 1"
        )
    return float(np.min(np.abs(roots)))


# --------------------------------------------------------------------------- moving averages, differencing


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
        Same shape as ``x``; float32 stays float32, other inputs give float64.

    Examples
    --------
    >>> from convlens.timeseries import moving_average
    >>> moving_average([1.0, 2, 3, 4, 5], 3, align="trailing", boundary="edge")
    array([1.    , 1.3333, 2.    , 3.    , 4.    ])
    >>> moving_average([1.0, 2, 3, 4, 5], [0.25, 0.5, 0.25], boundary="reflect")
    array([1.5, 2. , 3. , 4. , 4.5])
    """
    x = check_array("x", x, allow_complex=False)
    axis = _check_axis(axis, x.ndim)
    align = check_choice("align", align, ALIGNS)
    check_choice("boundary", boundary, BOUNDARIES)
    check_choice("nan_policy", nan_policy, NAN_POLICIES)
    dtype = np.float32 if x.dtype == np.float32 else np.float64
    if isinstance(window, (int, np.integer)) and not isinstance(window, bool):
        w = _check_int("window", window, 1)
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
    return out


@functools.lru_cache(maxsize=64)
def _difference_polynomial(d: int, seasonal: int | None, seasonal_d: int) -> tuple[np.ndarray, tuple[int, ...]]:
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
    d = _check_int("d", d, 0)
    if seasonal is not None:
        seasonal = _check_int("seasonal", seasonal, 1)
    seasonal_d = _check_int("seasonal_d", seasonal_d, 0)
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
    axis = _check_axis(axis, x.ndim)
    poly, lags = _difference_polynomial(d, seasonal, seasonal_d)
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
    axis = _check_axis(axis, dx.ndim)
    _, lags = _difference_polynomial(d, seasonal, seasonal_d)
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
    dtype = np.result_type(dx.dtype, initial.dtype)
    dtype = np.dtype(np.int64) if dtype.kind in "biu" else dtype
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


# --------------------------------------------------------------------------- ARMA kernels


def _impulse_response(num: np.ndarray, den: np.ndarray, n: int) -> np.ndarray:
    # Expanding the rational function num(B)/den(B) into its power series is a
    # recursion (an IIR filter), not a convolution: lfilter is the exact tool, as
    # in statsmodels' arma2ma.
    impulse = np.zeros(n)
    impulse[0] = 1.0
    return signal.lfilter(num, den, impulse)


def arma_to_ma_kernel(ar, ma, n: int, *, convention: str = "polynomial") -> np.ndarray:
    """The MA(∞) kernel ψ of a stationary ARMA process: ``x = convolve(e, psi)``.

    Parameters
    ----------
    ar, ma : array_like
        AR and MA parts in the chosen ``convention`` (see the module's *Sign
        convention*).  Under 'polynomial' they include the leading 1.
    n : int
        Number of weights ψ_0 … ψ_{n-1}.
    convention : {'polynomial', 'coefficients'}, optional
        How ``ar`` and ``ma`` are read (default: statsmodels' lag polynomials).

    Returns
    -------
    (n,) ndarray
        ψ, with ``psi[0] = 1``; equal to ``statsmodels.tsa.arima_process.arma2ma``.

    Raises
    ------
    ValueError
        A polynomial without its leading 1, or an AR part with a root on or
        inside the unit circle (not stationary; the roots are named).

    Examples
    --------
    >>> from convlens.timeseries import arma_to_ma_kernel
    >>> arma_to_ma_kernel([1, -0.5], [1, 0.4], 5)
    array([1.    , 0.9   , 0.45  , 0.225 , 0.1125])
    >>> arma_to_ma_kernel([0.5], [0.4], 5, convention="coefficients")
    array([1.    , 0.9   , 0.45  , 0.225 , 0.1125])
    """
    phi, theta = _lag_polynomials(ar, ma, convention)
    n = _check_int("n", n, 1)
    _check_roots(phi, "ar", "stationary")
    return _impulse_response(theta, phi, n)


def arma_to_ar_kernel(ar, ma, n: int, *, convention: str = "polynomial") -> np.ndarray:
    """The AR(∞) kernel κ of an invertible ARMA process: ``e = convolve(x, kappa)``.

    ``kappa[0] = 1`` and ``kappa[j] = -pi_j`` for the π weights of
    ``x_t = pi_1 x_{t-1} + pi_2 x_{t-2} + ... + e_t``: the whitening filter.

    Parameters
    ----------
    ar, ma : array_like
        AR and MA parts in the chosen ``convention``.
    n : int
        Number of weights.
    convention : {'polynomial', 'coefficients'}, optional
        How ``ar`` and ``ma`` are read.

    Returns
    -------
    (n,) ndarray
        κ; equal to ``statsmodels.tsa.arima_process.arma2ar``.

    Raises
    ------
    ValueError
        An MA part with a root on or inside the unit circle (not invertible).

    Examples
    --------
    >>> from convlens.timeseries import arma_to_ar_kernel
    >>> arma_to_ar_kernel([1, -0.5], [1, 0.4], 5)
    array([ 1.    , -0.9   ,  0.36  , -0.144 ,  0.0576])
    """
    phi, theta = _lag_polynomials(ar, ma, convention)
    n = _check_int("n", n, 1)
    _check_roots(theta, "ma", "invertible")
    return _impulse_response(phi, theta, n)


def _trim_zeros(kernel: np.ndarray) -> np.ndarray:
    # Weights that underflowed to exactly zero contribute exactly nothing: dropping
    # them changes no result and makes the convolutions short.
    nz = np.flatnonzero(kernel)
    return kernel[: nz[-1] + 1] if nz.size else kernel[:1]


def _trim_tail(kernel: np.ndarray) -> np.ndarray:
    """Drop the tail whose total weight is below 1e-17 of the whole kernel.

    Each output then changes by at most 1e-17 * sum|kernel| * max|input|, below
    the round-off of the convolution sum itself, and the kernel of a stationary
    model shrinks from thousands of weights to tens.
    """
    mag = np.abs(kernel)
    tail = np.cumsum(mag[::-1])[::-1]  # tail[j] = sum of |kernel[j:]|
    keep = np.flatnonzero(tail > 1e-17 * tail[0])
    return kernel[: keep[-1] + 1] if keep.size else kernel[:1]


def simulate_arma(
    ar,
    ma,
    nsample: int | tuple[int, ...],
    *,
    convention: str = "polynomial",
    scale: float = 1.0,
    burnin: int = 0,
    axis: int = 0,
    rng: np.random.Generator | int | None = None,
    innovations=None,
) -> np.ndarray:
    """Simulate a stationary ARMA process by convolving white noise with its ψ kernel.

    Same model and arguments as ``statsmodels.tsa.arima_process.arma_generate_sample``:
    ``x = (psi * (scale * eta))[burnin:]`` along ``axis``, where ``eta`` has
    ``nsample + burnin`` samples along ``axis``.  Given the same ``eta``
    (``innovations``) the result equals ``arma_generate_sample(ar, ma, nsample,
    scale, distrvs=lambda size: eta, burnin=burnin)`` to round-off.

    Parameters
    ----------
    ar, ma : array_like
        AR and MA parts in the chosen ``convention``.
    nsample : int or tuple of int
        Output shape (an int: one series).
    convention : {'polynomial', 'coefficients'}, optional
        How ``ar`` and ``ma`` are read.
    scale : float, optional
        Standard deviation of the innovations.
    burnin : int, optional
        Samples simulated and discarded at the start (so the output forgets
        the zero start).
    axis : int, optional
        Axis of time in the output.
    rng : numpy.random.Generator or int, optional
        Source of the standard-normal innovations (a seed or a Generator).
    innovations : array_like, optional
        Unscaled innovations ``eta`` to use instead of drawing them; shape
        ``nsample`` with ``nsample + burnin`` along ``axis``.

    Returns
    -------
    ndarray
        The simulated series, float64, shape ``nsample``.

    Examples
    --------
    >>> from convlens.timeseries import simulate_arma
    >>> simulate_arma([1, -0.9], [1], 4, innovations=[1.0, 0, 0, 0])
    array([1.   , 0.9  , 0.81 , 0.729])
    >>> simulate_arma([1, -0.5], [1, 0.3], 1000, rng=0, burnin=100).shape
    (1000,)
    """
    phi, theta = _lag_polynomials(ar, ma, convention)
    ar_root = _check_roots(phi, "ar", "stationary")
    shape = (nsample,) if isinstance(nsample, (int, np.integer)) else tuple(nsample)
    for s in shape:
        _check_int("nsample", s, 1)
    burnin = _check_int("burnin", burnin, 0)
    axis = _check_axis(axis, len(shape))
    full = shape[:axis] + (shape[axis] + burnin,) + shape[axis + 1 :]
    if innovations is None:
        eta = np.random.default_rng(rng).standard_normal(full)
    else:
        eta = np.asarray(innovations, dtype=np.float64)
        if eta.shape != full:
            raise ValueError(
                f"innovations must have shape {full} (nsample with burnin={burnin} added along axis {axis}); got {eta.shape}"
            )
        _check_finite("innovations", eta)
    n = full[axis]
    # psi decays like |root|^-j: twice the 1e-17 decay length (a margin for repeated
    # roots) is enough to compute; _trim_tail then keeps what carries weight.
    psi = _trim_tail(_impulse_response(theta, phi, min(n, 2 * _decay_length(phi, ar_root) + 50)))
    x = convolve(scale * eta, psi, "full", axes=(axis,))
    keep = [slice(None)] * x.ndim
    keep[axis] = slice(burnin, n)
    return x[tuple(keep)]


# --------------------------------------------------------------------------- ARIMA forecasting


@dataclass(frozen=True)
class ArimaForecast:
    """Result of :func:`forecast_arima`.

    Attributes
    ----------
    mean : (steps,) ndarray
        Point forecasts of the series.
    se : (steps,) ndarray
        Standard errors, ``sqrt(sigma2 * cumsum(psi_arima**2))``.
    alpha : float
        Level of :meth:`conf_int` (default 0.05: 95 % intervals).
    truncation_bound : (steps,) ndarray
        Bound on ``|mean - exact|``, where ``exact`` is the forecast given the
        observed (finite) history under the model (what a Kalman filter such as
        statsmodels' computes): the AR(∞) kernel needs values from before the
        first observation, which this method takes as the mean.
    psi : (steps,) ndarray
        ψ weights of the ARIMA model (integration included) behind ``se``.
    ar_kernel : ndarray
        The AR(∞) kernel κ of the ARMA part applied to the differenced history.
    """

    mean: np.ndarray
    se: np.ndarray
    alpha: float
    truncation_bound: np.ndarray
    psi: np.ndarray
    ar_kernel: np.ndarray

    def conf_int(self, alpha: float | None = None) -> np.ndarray:
        """(steps, 2) array of lower and upper bounds, as statsmodels' ``get_forecast().conf_int()``."""
        alpha = self.alpha if alpha is None else _check_alpha(alpha)
        z = special.ndtri(1 - alpha / 2)
        return np.column_stack([self.mean - z * self.se, self.mean + z * self.se])


def _check_alpha(alpha) -> float:
    if not isinstance(alpha, (int, float, np.floating)) or not 0 < alpha < 1:
        raise ValueError(f"alpha must be a number in (0, 1); got {alpha!r}")
    return float(alpha)


def _check_order(order) -> tuple[int, int, int]:
    try:
        p, d, q = order
    except (TypeError, ValueError):
        raise TypeError(f"order must be a tuple (p, d, q) of non-negative integers; got {order!r}") from None
    return _check_int("order p", p, 0), _check_int("order d", d, 0), _check_int("order q", q, 0)


def _check_series(series, order: tuple[int, int, int]) -> np.ndarray:
    y = check_array("series", series, allow_complex=False)
    if y.ndim != 1:
        raise ValueError(f"series must be 1-D; got shape {y.shape}")
    y = y.astype(np.float64)
    _check_finite("series", y)
    p, d, q = order
    if y.size - d <= p + q:
        raise ValueError(
            f"series is too short for order {order}: {y.size} samples leave {y.size - d} after differencing "
            f"(d={d}), but p + q = {p + q} needs more than that"
        )
    return y


def _split_params(params, order, trend: str) -> tuple[float, np.ndarray, np.ndarray, float]:
    p, _, q = order
    k_trend = 1 if trend == "c" else 0
    params = np.atleast_1d(np.asarray(params, dtype=np.float64))
    expected = k_trend + p + q + 1
    if params.ndim != 1 or params.size != expected:
        names = (["const"] if k_trend else []) + [f"ar.L{i + 1}" for i in range(p)] + [f"ma.L{i + 1}" for i in range(q)]
        raise ValueError(
            f"params must have {expected} entries ({', '.join([*names, 'sigma2'])}, statsmodels' ARIMA order); "
            f"got {params.size}"
        )
    _check_finite("params", params)
    sigma2 = float(params[-1])
    if sigma2 <= 0:
        raise ValueError(f"params: sigma2 (the last entry) must be > 0; got {sigma2!r}")
    mean = float(params[0]) if k_trend else 0.0
    return mean, params[k_trend : k_trend + p], params[k_trend + p : k_trend + p + q], sigma2


def fit_arima(series, order: tuple[int, int, int], *, trend: str = "n") -> np.ndarray:
    """Fit ARIMA(p, d, q) with statsmodels and return its params for :func:`forecast_arima`.

    A thin convenience: ``statsmodels.tsa.arima.model.ARIMA(series, order=order,
    trend=trend).fit().params`` (order: [const], ar, ma, sigma2).
    """
    order = _check_order(order)
    y = _check_series(series, order)
    trend = check_choice("trend", trend, TRENDS)
    try:
        from statsmodels.tsa.arima.model import ARIMA
    except ImportError as exc:  # pragma: no cover
        raise ImportError("fitting needs statsmodels: pip install 'convlens[lenses]'") from exc
    return np.asarray(ARIMA(y, order=order, trend=trend).fit().params, dtype=np.float64)


def forecast_arima(
    series,
    order: tuple[int, int, int],
    params,
    steps: int = 1,
    *,
    trend: str = "n",
    alpha: float = 0.05,
) -> ArimaForecast:
    """Forecast an ARIMA(p, d, q) model by convolutions: difference, AR(∞) kernel, ψ kernel, integrate.

    With ``w`` the differenced, de-meaned history and κ the AR(∞) kernel,
    ``c = -convolve(kappa[1:], w, 'valid')`` collects what the past says about
    each future step, and the forecasts of ``w`` are ``convolve(psi, c)[:steps]``
    (running the π recursion forward is convolving with κ's inverse, ψ).
    :func:`integrate` turns them back into forecasts of the series.

    Parameters
    ----------
    series : (n,) array_like
        The observed series, finite.
    order : tuple of int
        ``(p, d, q)``.
    params : array_like
        statsmodels' ``ARIMA(series, order=order, trend=trend).fit().params``:
        ``[const,] ar.L1..ar.Lp, ma.L1..ma.Lq, sigma2`` in the *coefficients*
        convention (``x_t = phi_1 x_{t-1} + ... + e_t + theta_1 e_{t-1} + ...``).
        ``const`` (trend='c') is the mean of the series, as in statsmodels' ARIMA.
    steps : int, optional
        Forecast horizon.
    trend : {'n', 'c'}, optional
        'n': no constant (statsmodels' default, and the only choice when
        d >= 1, since differencing removes a constant); 'c': a mean, d = 0 only.
    alpha : float, optional
        Level of the intervals from :meth:`ArimaForecast.conf_int`.

    Returns
    -------
    ArimaForecast
        ``mean``, ``se``, ``conf_int()``, ``truncation_bound``, ``psi``, ``ar_kernel``.

    Raises
    ------
    ValueError
        NaN or inf in ``series``; a series not longer than ``d + p + q``; a
        non-stationary AR or non-invertible MA part (the offending roots are
        named); params of the wrong length or ``sigma2 <= 0``; trend 'c' with d >= 1.

    Notes
    -----
    The forecast uses the infinite-past predictor with the unobserved values
    before the first sample set to their mean.  The exact finite-history
    predictor adds ``E[R | w]``, where ``R`` collects those unobserved values;
    by Cauchy-Schwarz ``|E[R | w]| <= sqrt(Var R) * sqrt(w' Gamma^-1 w)``,
    which is ``truncation_bound`` (``Var R`` from the ARMA autocovariances,
    or, for a very long slowly decaying tail, from ``(sum |coefficients|)^2
    gamma(0)``; ``w' Gamma^-1 w`` by a Levinson solve up to 4000 samples, above
    that through the minimum of the spectral density).  With an invertible MA
    part the AR(∞) kernel decays geometrically, so on long series the bound is
    0 or negligible.  A Kalman filter's forecast (statsmodels') carries its own
    round-off and convergence error, measured up to ~1e-8 relative for an MA
    root near the unit circle; the bound does not cover that.

    Examples
    --------
    >>> from convlens.timeseries import forecast_arima
    >>> y = np.array([0.0, 1.0, 0.5, 0.8, 0.2, 0.6])
    >>> fc = forecast_arima(y, (1, 0, 0), [0.5, 1.0], steps=3)
    >>> fc.mean
    array([0.3  , 0.15 , 0.075])
    >>> np.round(fc.conf_int(), 3)
    array([[-1.66 ,  2.26 ],
           [-2.041,  2.341],
           [-2.17 ,  2.32 ]])
    """
    order = _check_order(order)
    trend = check_choice("trend", trend, TRENDS)
    y = _check_series(series, order)
    steps = _check_int("steps", steps, 1)
    alpha = _check_alpha(alpha)
    d = order[1]
    if trend == "c" and d > 0:
        raise ValueError(
            f"trend='c' needs d = 0: with d = {d} differencing removes a constant (statsmodels refuses it too); use trend='n'"
        )
    mean, phi_c, theta_c, sigma2 = _split_params(params, order, trend)
    phi, theta = _lag_polynomials(phi_c, theta_c, "coefficients")
    ar_root = _check_roots(phi, "params (AR part)", "stationary")
    ma_root = _check_roots(theta, "params (MA part)", "invertible")

    w = (difference(y, d) if d else y) - mean
    m = w.size
    kappa = _trim_zeros(_impulse_response(phi, theta, m + steps + _decay_length(theta, ma_root)))
    psi = _impulse_response(theta, phi, steps)
    # c_h = -sum_{k=1..m} kappa[h-1+k] w[m-k]: the observed past's pull on step h.
    hist = min(m, kappa.size - 1)  # older samples meet kappa's exact zeros
    kap = np.zeros(hist + steps)
    kap[: min(kappa.size - 1, hist + steps)] = kappa[1 : hist + steps + 1]
    c = -convolve(kap, w[m - hist :], "valid")
    w_hat = convolve(psi, c, "full")[:steps]
    mean_fc = integrate(w_hat + mean, y[y.size - d :], d)[d:] if d else w_hat + mean

    # psi weights of the full ARIMA model: dividing by (1 - B)^d is d running sums.
    psi_arima = psi
    for _ in range(d):
        psi_arima = np.cumsum(psi_arima)
    se = np.sqrt(sigma2 * np.cumsum(psi_arima**2))
    bound = _truncation_bound(phi, theta, sigma2, w, kappa, psi_arima, steps, ar_root)
    return ArimaForecast(mean_fc, se, alpha, bound, psi_arima, kappa)


def _decay_length(poly: np.ndarray, min_root: float) -> int:
    """Terms after which the power series of 1/poly(B) has decayed by 1e-17 (its roots have |z| >= min_root > 1)."""
    if not math.isfinite(min_root):
        return poly.size
    return poly.size + math.ceil(39.2 / math.log(min_root))


def _truncation_bound(phi, theta, sigma2, w, kappa, psi_arima, steps, ar_root) -> np.ndarray:
    """sqrt(Var R_h) * sqrt(w' Gamma^-1 w) for the unobserved-past part R_h of each forecast."""
    m = w.size
    tail_len = kappa.size - (m + 1)  # kappa entries that multiply values before the first sample
    if tail_len <= 0:
        return np.zeros(steps)
    width = tail_len
    if steps * width <= 4_000_000:
        # A[h, j] = coefficient of w_{-j} (j = 0.. before the start) in forecast h:
        # -(psi_arima * T)[h] with T[i, j] = kappa[i + m + 1 + j].
        idx = np.arange(steps)[:, None] + (m + 1) + np.arange(width)[None, :]
        T = np.where(idx < kappa.size, kappa[np.minimum(idx, kappa.size - 1)], 0.0)
        A = -convolve(T, psi_arima[:, None], "full", axes=(0,))[:steps]
        # Var R_h = A_h' Gamma A_h, with Gamma the autocovariance Toeplitz matrix of w.
        gamma = _autocovariance(phi, theta, sigma2, max(width, m), ar_root)
        g_sym = np.concatenate([gamma[width - 1 : 0 : -1], gamma[:width]])
        gamma_a = convolve(g_sym[None, :], A, "valid", axes=(1,))
        var_r = np.maximum(np.sum(A * gamma_a, axis=1), 0.0)
    else:
        # A long, slowly decaying tail (an MA root near the unit circle): rather than
        # the (steps x tail) matrix, use sum_j |A_hj| <= sum_{i<h} |psi_i| * sum_{j>m} |kappa_j|
        # and Var R_h <= (sum_j |A_hj|)^2 gamma(0).
        gamma = _autocovariance(phi, theta, sigma2, m, ar_root)
        var_r = (np.cumsum(np.abs(psi_arima)) * np.abs(kappa[m + 1 :]).sum()) ** 2 * gamma[0]
    if m <= 4000:
        quad = float(w @ linalg.solve_toeplitz(gamma[:m], w))
    else:
        omega = np.linspace(0, np.pi, 8193)
        z = np.exp(-1j * omega)
        density = sigma2 * np.abs(np.polyval(theta[::-1], z)) ** 2 / np.abs(np.polyval(phi[::-1], z)) ** 2
        quad = float(w @ w) / float(density.min())
    return np.sqrt(var_r * max(quad, 0.0))


def _autocovariance(phi, theta, sigma2, nlags: int, ar_root: float) -> np.ndarray:
    """gamma(0..nlags-1) of the ARMA process, sum_j psi_j psi_{j+k} (psi summed until it underflows)."""
    n_psi = nlags + theta.size + _decay_length(phi, ar_root)
    psi = _impulse_response(theta, phi, n_psi)
    acov = convolve(psi, psi[::-1], "full")[n_psi - 1 : n_psi - 1 + nlags]
    return sigma2 * acov


# --------------------------------------------------------------------------- conv layer as local AR/MA features


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
        ``L`` for 'ar', ``L - 1`` for 'ma') are NaN.

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
    x = x.astype(np.float64)
    _check_finite("x", x)
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
    full = convolve(x[None, :], kernel, "full", axes=(1,), workers=workers)[:, : x.size]
    full[:, : length + lag - 1] = np.nan
    out = full + b[:, None]
    return out[0] if single else out
