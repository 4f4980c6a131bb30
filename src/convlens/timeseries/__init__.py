"""Time series as convolutions: moving averages, differencing, ARMA kernels, ARIMA forecasts.

The essay's "Insights from statistics": a weighted moving average *is* a
convolution, and an ARMA model is one too, read two ways.  The MA(∞) kernel
(the ψ weights) turns white noise into the series, ``x = ψ * e``; the AR(∞)
kernel (the π weights) turns the series back into white noise, ``e = κ * x``.
Forecasting an ARIMA model from an infinite past is then: difference,
convolve the history with the AR(∞) kernel, convolve the result with the ψ
kernel, integrate; :func:`forecast_arima` adds what the finite history changes
(exactly, as a Kalman filter does) and equals statsmodels' forecasts and
intervals.  Convolutions go through the engine (:func:`convlens.convolve`).

Modules: ``_smoothing`` (moving averages, differencing), ``_kernels`` (ψ/π
kernels, simulation), ``_arima_spec`` (orders, trend, params, seasonal
polynomials), ``_exact`` (the exact finite-history filter), ``_forecast``
(forecasts), ``_features`` (conv kernels as local AR/MA models).

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

from ._features import local_ar_features
from ._forecast import ArimaForecast, fit_arima, forecast_arima
from ._kernels import arma_to_ar_kernel, arma_to_ma_kernel, simulate_arma
from ._smoothing import difference, integrate, moving_average

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

# A pickled forecast names the public package, not the private module the class lives in.
ArimaForecast.__module__ = __name__
