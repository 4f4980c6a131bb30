"""What an ARIMA model is made of: orders, trend, parameters, and the lag polynomials they give.

statsmodels' ``ARIMA(y, order, seasonal_order, trend).fit().params`` lists, in
order: the trend terms (``const`` for 'c', ``x1`` the drift for 't'), the AR
coefficients, the MA coefficients, the seasonal AR and MA coefficients, and
``sigma2``.  The seasonal and non-seasonal polynomials multiply: the model's AR
polynomial is ``phi(B) Phi(B^s)``, a polynomial product, i.e. a convolution of
two kernels, and so is its MA polynomial and its differencing operator
``(1 - B)^d (1 - B^s)^D``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .._engine import convolve
from .._validation import check_array, check_choice, check_int
from ._checks import TRENDS, check_finite_series, check_roots
from ._smoothing import difference_polynomial


@dataclass(frozen=True)
class ArimaSpec:
    """A fully specified ARIMA model, read from statsmodels' parameter layout."""

    order: tuple[int, int, int]
    seasonal_order: tuple[int, int, int, int]
    trend: str
    phi: np.ndarray  # AR lag polynomial (leading 1), seasonal factor multiplied in
    theta: np.ndarray  # MA lag polynomial (leading 1), seasonal factor multiplied in
    delta: np.ndarray  # differencing polynomial (1 - B)^d (1 - B^s)^D
    const: float
    drift: float
    sigma2: float
    ar_root: float  # smallest |root| of phi (> 1)
    ma_root: float  # smallest |root| of theta (> 1)

    def trend_values(self, start: int, stop: int) -> np.ndarray:
        """The deterministic trend at time indices ``start .. stop - 1`` (statsmodels' trend_offset = 1)."""
        t = np.arange(start + 1, stop + 1, dtype=np.float64)
        return self.const + self.drift * t


def check_order(order) -> tuple[int, int, int]:
    """``(p, d, q)`` of non-negative ints."""
    try:
        p, d, q = order
    except (TypeError, ValueError):
        raise TypeError(f"order must be a tuple (p, d, q) of non-negative integers; got {order!r}") from None
    return check_int("order p", p, minimum=0), check_int("order d", d, minimum=0), check_int("order q", q, minimum=0)


def check_seasonal_order(seasonal_order) -> tuple[int, int, int, int]:
    """``(P, D, Q, s)``; None means no seasonal part, ``(0, 0, 0, 0)``."""
    if seasonal_order is None:
        return (0, 0, 0, 0)
    try:
        P, D, Q, s = seasonal_order
    except (TypeError, ValueError):
        raise TypeError(
            f"seasonal_order must be None or a tuple (P, D, Q, s) of non-negative integers; got {seasonal_order!r}"
        ) from None
    out = tuple(check_int(f"seasonal_order {n}", v, minimum=0) for n, v in zip("PDQs", (P, D, Q, s)))
    if out[3] == 1 or (out[3] == 0 and any(out[:3])):
        raise ValueError(f"seasonal_order needs a period s >= 2 when P, D or Q is set; got {seasonal_order!r}")
    return out  # type: ignore[return-value]


def trend_terms(trend: str) -> tuple[bool, bool]:
    """(has constant, has drift) of a trend string."""
    return "c" in trend, "t" in trend


def infer_trend(n_params: int, order, seasonal_order, trend: str | None) -> str:
    """The trend: as given, or read from the number of params where only one trend fits.

    With ``k = d + D`` differences, statsmodels allows trend terms of degree >= k only:
    'n', 'c', 't', 'ct' when k = 0; 'n', 't' when k = 1; 'n' above.  One extra entry with
    k = 0 is the constant (statsmodels' default then); with k = 1 it is the drift.
    """
    k = order[1] + seasonal_order[1]
    if trend is not None:
        trend = check_choice("trend", trend, TRENDS)
        has_c, has_t = trend_terms(trend)
        if (has_c and k >= 1) or (has_t and k >= 2):
            raise ValueError(
                f"trend={trend!r} needs fewer differences: with d + D = {k} differencing removes trend terms of "
                "degree below d + D (statsmodels refuses them too); use "
                + ("trend='t' (a drift) or 'n'" if k == 1 else "trend='n'")
            )
        return trend
    base = order[0] + order[2] + seasonal_order[0] + seasonal_order[2] + 1
    extra = n_params - base
    choices = {0: {0: "n", 1: "c", 2: "ct"}, 1: {0: "n", 1: "t"}}.get(min(k, 2), {0: "n"})
    if extra not in choices:
        raise ValueError(
            f"params must have {', '.join(str(base + e) for e in choices)} entries for order {tuple(order)} "
            f"and seasonal_order {tuple(seasonal_order)} (trend terms, AR, MA, seasonal AR, seasonal MA, sigma2, "
            f"statsmodels' ARIMA order); got {n_params}"
        )
    return choices[extra]


def _seasonal_poly(coefs: np.ndarray, s: int, sign: float) -> np.ndarray:
    """``1 + sign * (c_1 B^s + c_2 B^2s + ...)`` as a coefficient array."""
    poly = np.zeros(coefs.size * s + 1)
    poly[0] = 1.0
    if coefs.size:
        poly[s::s] = sign * coefs
    return poly


def build_spec(params, order, seasonal_order, trend: str | None) -> ArimaSpec:
    """Split statsmodels' params and multiply out the seasonal polynomials (validated, roots checked)."""
    arr = check_array("params", params, allow_complex=False).astype(np.float64)
    if arr.ndim != 1:
        raise ValueError(f"params must be 1-D; got shape {arr.shape}")
    check_finite_series("params", arr)
    trend = infer_trend(arr.size, order, seasonal_order, trend)
    has_c, has_t = trend_terms(trend)
    (p, d, q), (P, D, Q, s) = order, seasonal_order
    sizes = [int(has_c), int(has_t), p, q, P, Q, 1]
    expected = sum(sizes)
    if arr.size != expected:
        raise ValueError(
            f"params must have {expected} entries for order {tuple(order)}, seasonal_order {tuple(seasonal_order)} "
            f"and trend={trend!r} (trend terms, AR, MA, seasonal AR, seasonal MA, sigma2); got {arr.size}"
        )
    parts = np.split(arr, np.cumsum(sizes)[:-1])
    const = float(parts[0][0]) if has_c else 0.0
    drift = float(parts[1][0]) if has_t else 0.0
    sigma2 = float(parts[6][0])
    if sigma2 <= 0:
        raise ValueError(f"params: sigma2 (the last entry) must be > 0; got {sigma2!r}")
    # (1 - phi_1 B - ...)(1 - Phi_1 B^s - ...) and (1 + theta_1 B + ...)(1 + Theta_1 B^s + ...)
    phi = convolve(np.concatenate(([1.0], -parts[2])), _seasonal_poly(parts[4], s, -1.0), method="direct")
    theta = convolve(np.concatenate(([1.0], parts[3])), _seasonal_poly(parts[5], s, 1.0), method="direct")
    ar_root = check_roots(phi, "params (AR part)", "stationary")
    ma_root = check_roots(theta, "params (MA part)", "invertible")
    delta, _ = difference_polynomial(d, s or None, D)
    return ArimaSpec(
        tuple(order), tuple(seasonal_order), trend, phi, theta, delta.astype(np.float64),
        const, drift, sigma2, ar_root, ma_root,
    )  # fmt: skip


def from_results(results):
    """(series, order, seasonal_order, trend, params) of a fitted statsmodels ``ARIMAResults``."""
    model = getattr(results, "model", None)
    spec = getattr(model, "_spec_arima", None)
    if spec is None or not hasattr(model, "seasonal_order"):
        raise TypeError(
            "series must be array-like or a fitted statsmodels ARIMAResults "
            f"(statsmodels.tsa.arima.model.ARIMA(...).fit()); got {type(results).__name__}"
        )
    if getattr(spec, "k_exog", 0):  # regressors besides the trend
        raise ValueError("results come from a model with exogenous regressors (exog); forecast_arima has none")
    if getattr(spec, "concentrate_scale", False):
        raise ValueError("results come from a model with concentrate_scale=True (no sigma2 in params)")
    if getattr(spec, "trend_offset", 1) != 1:
        raise ValueError(f"results come from a model with trend_offset={spec.trend_offset}; only 1 is supported")
    trend = spec.trend if spec.trend in TRENDS else None
    if trend is None:
        raise ValueError(f"results come from a model with trend={spec.trend!r}; supported: {', '.join(TRENDS)}")
    series = model.data.orig_endog
    return series, tuple(model.order), tuple(model.seasonal_order), trend, np.asarray(results.params, np.float64)
