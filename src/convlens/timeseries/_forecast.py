"""ARIMA forecasts: exact given the observed history, read as convolutions, equal to statsmodels."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from .._engine import convolve
from .._validation import check_alloc, check_array, check_float, check_int, result_dtype
from ._arima_spec import ArimaSpec, build_spec, check_order, check_seasonal_order, from_results, infer_trend
from ._checks import check_finite_series
from ._exact import filtered_state, forecast_moments
from ._kernels import decay_length, impulse_response, trim_zeros
from ._pandas import forecast_index, wrap


@dataclass(frozen=True)
class ArimaForecast:
    """Result of :func:`forecast_arima`.

    Attributes
    ----------
    mean : (steps,) ndarray or pandas.Series
        Point forecasts of the series (a Series with the forecast index when a
        Series came in, as statsmodels' ``predicted_mean``).  Computed in float64
        and returned in the series' dtype by the package's table: float16 and
        float32 are kept, integers and bool give float64.
    se : (steps,) ndarray or pandas.Series
        Standard errors of the forecasts (exact given the observed history),
        in the same dtype as ``mean``.
    alpha : float
        Level of :meth:`conf_int` (default 0.05: 95 % intervals).
    truncation_bound : (steps,) ndarray
        ``|mean - infinite-past forecast|``: how much the finite history moves
        the forecast away from the pure convolution reading (AR(∞) kernel
        on the history with the unobserved past at its mean, then ψ).  0 for a
        pure AR model (it needs ``p`` past values only); large when an MA root
        is near the unit circle.
    psi : (steps,) ndarray
        ψ weights of the ARIMA model (seasonal factors and integration included).
    ar_kernel : ndarray
        The AR(∞) kernel κ of the ARMA part (seasonal factors included).
    index : pandas.Index or None
        The forecast index when a pandas Series came in.
    name : str
        Name of the series (statsmodels' conf_int columns are 'lower NAME', 'upper NAME').
    """

    mean: Any
    se: Any
    alpha: float
    truncation_bound: np.ndarray
    psi: np.ndarray
    ar_kernel: np.ndarray
    index: Any = None
    name: str = "y"

    def conf_int(self, alpha: float | None = None):
        """(steps, 2) lower and upper bounds, as statsmodels' ``get_forecast().conf_int()`` (a DataFrame for a Series)."""
        alpha = self.alpha if alpha is None else check_alpha(alpha)
        z = special.ndtri(1 - alpha / 2)
        mean, se = np.asarray(self.mean), np.asarray(self.se)
        out = np.column_stack([mean - z * se, mean + z * se])
        if self.index is None:
            return out
        import pandas as pd

        return pd.DataFrame(out, index=self.index, columns=[f"lower {self.name}", f"upper {self.name}"])


def check_alpha(alpha) -> float:
    return check_float(
        "alpha", alpha, minimum=0, maximum=1, min_open=True, max_open=True, hint="1 - the interval's coverage"
    )


def check_series(series, spec_orders) -> tuple[np.ndarray, np.dtype]:
    """``(series as float64, the dtype to return forecasts in)`` by the package's dtype table."""
    y = check_array("series", series, allow_complex=False)
    if y.ndim != 1:
        raise ValueError(f"series must be 1-D; got shape {y.shape}")
    # longdouble is refused here; the Kalman recursion runs in float64 whatever the input (statsmodels' precision)
    out_dtype, _ = result_dtype(y.dtype, allow_complex=False, name="series")
    y = y.astype(np.float64)
    check_finite_series("series", y)
    (p, d, q), (P, D, Q, s) = spec_orders
    k, lags = d + D * s, p + q + (P + Q) * s
    if y.size - k <= lags:
        order = (p, d, q) if not s else ((p, d, q), (P, D, Q, s))
        raise ValueError(
            f"series is too short for order {order}: {y.size} samples leave {y.size - k} after differencing "
            f"(d + D*s = {k}), but the AR and MA lags need more than {lags}"
        )
    return y, out_dtype


def fit_arima(series, order: tuple[int, int, int], *, seasonal_order=None, trend: str | None = None) -> np.ndarray:
    """Fit ARIMA with statsmodels and return its params for :func:`forecast_arima`.

    A thin convenience: ``statsmodels.tsa.arima.model.ARIMA(series, order=order,
    seasonal_order=seasonal_order, trend=trend).fit().params`` (order: trend
    terms, ar, ma, seasonal ar, seasonal ma, sigma2).  ``trend=None`` is
    statsmodels' default: 'c' when ``d + D = 0``, else 'n'.
    """
    order = check_order(order)
    seasonal = check_seasonal_order(seasonal_order)
    y, _ = check_series(series, (order, seasonal))
    if trend is not None:  # a trend that differencing removes is refused here, not deep in statsmodels
        infer_trend(0, order, seasonal, trend)
    try:
        from statsmodels.tsa.arima.model import ARIMA
    except ImportError as exc:  # pragma: no cover
        raise ImportError("fitting needs statsmodels: pip install 'convlens[lenses]'") from exc
    res = ARIMA(y, order=order, seasonal_order=seasonal, trend=trend).fit()
    return np.asarray(res.params, dtype=np.float64)


def forecast_arima(
    series,
    order=None,
    params=None,
    steps: int = 1,
    *,
    seasonal_order=None,
    trend: str | None = None,
    alpha: float = 0.05,
) -> ArimaForecast:
    """Forecast a (seasonal) ARIMA model exactly given the observed history, as statsmodels does.

    Recipe: remove the trend, difference (a 'valid' convolution with
    ``(1 - B)^d (1 - B^s)^D``), filter the differenced series ``w`` to the
    exact state of its first unobserved step (see Notes), extend that state by
    convolution with the AR kernel's inverse, and integrate back.

    Parameters
    ----------
    series : (n,) array_like, pandas.Series, or a fitted ``ARIMAResults``
        The observed series, finite.  A statsmodels ``ARIMA(...).fit()`` result
        may be passed instead: its series, orders, trend and params are used,
        and the second argument is ``steps`` (``forecast_arima(res, 10)``).
    order : tuple of int
        ``(p, d, q)``.
    params : array_like
        statsmodels' ``ARIMA(series, order, seasonal_order, trend).fit().params``:
        trend terms (``const``, drift ``x1``), ``ar.L1..``, ``ma.L1..``,
        ``ar.S.Ls..``, ``ma.S.Ls..``, ``sigma2``, in the *coefficients*
        convention (``x_t = phi_1 x_{t-1} + ... + e_t + theta_1 e_{t-1} + ...``).
    steps : int, optional
        Forecast horizon.
    seasonal_order : tuple of int, optional
        ``(P, D, Q, s)``; the seasonal polynomials multiply the ordinary ones.
    trend : {'n', 'c', 't', 'ct'}, optional
        Deterministic trend ``const + drift * t`` (``t = 1..n`` over the sample,
        statsmodels' convention), the series minus it being ARIMA.  Default:
        read from the length of ``params`` (one extra entry is the constant when
        ``d + D = 0``, the drift when ``d + D = 1``; statsmodels' default is 'c'
        when ``d + D = 0`` and 'n' otherwise).
    alpha : float, optional
        Level of the intervals from :meth:`ArimaForecast.conf_int`.

    Returns
    -------
    ArimaForecast
        ``mean``, ``se``, ``conf_int()``, ``truncation_bound``, ``psi``,
        ``ar_kernel``; pandas Series/DataFrames indexed like statsmodels'
        forecasts when a Series came in.

    Raises
    ------
    TypeError
        A non-integer order or steps, a non-numeric series or params.
    ValueError
        NaN or inf in ``series``; a series too short for the lags; a
        non-stationary AR or non-invertible MA part (the offending roots are
        named); params of the wrong length or ``sigma2 <= 0``; a trend that
        differencing removes (e.g. 'c' with d >= 1).
    InsufficientMemoryError
        A horizon whose arrays would not fit in memory.

    Notes
    -----
    Forecasting from an infinite past would be two convolutions (the AR(∞)
    kernel κ on the history, then ψ).  A finite series misses the values
    before its first sample, and what they would contribute, ``E[R | w]``,
    matters when an MA root is near the unit circle (κ then decays slowly).
    The exact predictor given ``w`` alone is the Kalman filter's, started from
    the stationary distribution of the ARMA part; the ``d + D*s`` first values
    act as known starting values of the integration, which is what an
    *exactly* diffuse prior on the integrated states amounts to.  Once the
    filter has converged it is the ARMA recursion, run by one ``lfilter``
    call.  With ``d + D = 0`` agreement with statsmodels is at round-off on
    well-conditioned models.  With ``d + D >= 1`` statsmodels' default
    ``ARIMA`` puts an *approximate* diffuse prior (variance 1e6) on the
    integrated states, so its forecasts depend on the series' scale and
    differ from the exact ones (Nile, ``(0, 2, 2)``: 3e-4 relative); they
    agree once that prior is made exactly diffuse
    (``model.ssm.initialization.set((0, d), "diffuse")`` on a ``SARIMAX``).

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
    if hasattr(series, "model") and hasattr(series, "params"):
        if params is not None or seasonal_order is not None or trend is not None:
            raise TypeError("pass either a fitted ARIMAResults and steps, or series, order and params; not both")
        if order is not None:
            steps = order
        series, order, seasonal_order, trend, params = from_results(series)
    elif order is None or params is None:
        raise TypeError("forecast_arima needs series, order and params (or a fitted statsmodels ARIMAResults)")
    orders = (check_order(order), check_seasonal_order(seasonal_order))
    y, out_dtype = check_series(series, orders)
    steps = check_int("steps", steps, minimum=1)
    alpha = check_alpha(alpha)
    spec = build_spec(params, *orders, trend)
    # the (steps, r) convolution matrix of the variances and a few (steps,) vectors
    check_alloc((steps, spec.phi.size + spec.theta.size + 16), np.float64, what="forecast_arima")

    n, k = y.size, spec.delta.size - 1
    u = y - spec.trend_values(0, n) if spec.trend != "n" else y
    w = convolve(u, spec.delta, "valid", method="direct") if k else u
    a, P = filtered_state(w, spec.phi, spec.theta, spec.sigma2)
    u_hat, var, psi = forecast_moments(u[n - k :], a, P, spec, steps)
    mean = u_hat + spec.trend_values(n, n + steps) if spec.trend != "n" else u_hat
    kappa, gap = _infinite_past_gap(w, spec, steps, u_hat, u[n - k :])
    index, name = forecast_index(series, steps)
    return ArimaForecast(
        wrap(mean.astype(out_dtype), index, "predicted_mean"),
        wrap(np.sqrt(var).astype(out_dtype), index, "se"),
        alpha,
        gap,
        psi,
        kappa,
        index,
        name,
    )


def _infinite_past_gap(w, spec: ArimaSpec, steps: int, u_hat, u_tail):
    """κ and ``|exact - infinite-past forecast|``: the AR(∞) and ψ kernels on the history, unobserved past = 0."""
    m = w.size
    kappa = trim_zeros(impulse_response(spec.phi, spec.theta, m + steps + decay_length(spec.theta, spec.ma_root)))
    hist = min(m, kappa.size - 1)  # older samples meet kappa's exact zeros
    kap = np.zeros(hist + steps)
    kap[: min(kappa.size - 1, hist + steps)] = kappa[1 : hist + steps + 1]
    # c_h: the observed past's pull on step h; none when kappa is [1] (no AR or MA terms: white noise,
    # a random walk), where there is no history to convolve with (an empty kernel)
    c = -convolve(kap, w[m - hist :], "valid") if hist else np.zeros(steps + 1)
    w_inf = convolve(impulse_response(spec.theta, spec.phi, steps), c, "full")[:steps]
    k = spec.delta.size - 1
    if k:
        from scipy import signal

        w_inf = signal.lfilter([1.0], spec.delta, w_inf, zi=signal.lfiltic([1.0], spec.delta, u_tail[::-1]))[0]
    return kappa, np.abs(u_hat - w_inf)
