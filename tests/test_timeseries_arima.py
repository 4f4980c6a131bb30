"""ARIMA forecasts against statsmodels (real series) and against the exact predictor computed independently."""

from __future__ import annotations

import warnings

import mpmath
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import linalg, special
from statsmodels.tsa.arima.model import ARIMA
from statsmodels.tsa.arima_process import arma_acovf

from conftest import assert_close
from convlens._validation import InsufficientMemoryError
from convlens.data import load_series
from convlens.timeseries import fit_arima, forecast_arima, simulate_arma


def _fit(y, order, seasonal_order=(0, 0, 0, 0), trend=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' start-parameter, frequency and convergence chatter
        return ARIMA(y, order=order, seasonal_order=seasonal_order, trend=trend).fit()


def _rel(got, ref) -> float:
    """Largest element-wise relative difference."""
    got, ref = np.asarray(got, dtype=float), np.asarray(ref, dtype=float)
    assert got.shape == ref.shape
    return float(np.max(np.abs(got - ref) / np.abs(ref)))


def _macro(column):
    return sm.datasets.macrodata.load_pandas().data[column].to_numpy(dtype=float)


def _elnino():
    return sm.datasets.elnino.load_pandas().data.iloc[:, 1:].to_numpy(dtype=float).ravel()  # stacked months


# --------------------------------------------------------------------------- issue case 1: MA root near 1


def _exact_ma1_forecast(y, theta, sigma2):
    """y_n + E[w_{n+1} | w] for ARIMA(0,1,1), by a 50-digit tridiagonal solve of Gamma v = w."""
    mpmath.mp.dps = 50
    w = [mpmath.mpf(float(a)) - mpmath.mpf(float(b)) for a, b in zip(y[1:], y[:-1])]
    th, s2 = mpmath.mpf(float(theta)), mpmath.mpf(float(sigma2))
    g0, g1 = s2 * (1 + th**2), s2 * th
    m = len(w)
    # Thomas algorithm on the symmetric tridiagonal Toeplitz matrix (g0 on, g1 off the diagonal)
    c, d = [mpmath.mpf(0)] * m, [mpmath.mpf(0)] * m
    c[0], d[0] = g1 / g0, w[0] / g0
    for i in range(1, m):
        den = g0 - g1 * c[i - 1]
        c[i], d[i] = g1 / den, (w[i] - g1 * d[i - 1]) / den
    v_last = d[-1]  # back substitution's first step: v_m = d_m
    return float(mpmath.mpf(float(y[-1])) + g1 * v_last)


def test_case_1_near_unit_ma_root_forecast_is_exact():
    w = np.random.default_rng(3).standard_normal(300)
    res = _fit(w, (0, 1, 1))
    theta = res.params[0]
    assert -0.9995 < theta < -0.999
    fc = forecast_arima(w, (0, 1, 1), res.params, 3)
    exact = _exact_ma1_forecast(w, theta, res.params[1])
    assert _rel(fc.mean, np.full(3, exact)) < 1e-11
    assert abs(exact - 0.0499) < 5e-4  # the independent value (the series mean is 0.0495)
    ref = res.get_forecast(3)
    assert _rel(fc.mean, ref.predicted_mean) < 1e-8
    assert _rel(fc.conf_int(), ref.conf_int()) < 1e-8
    # the finite history moves this forecast a lot away from the infinite-past convolution
    assert np.all(fc.truncation_bound > 1.0)


# --------------------------------------------------------------------------- real series against statsmodels


REAL = [
    ("sunspots", lambda: load_series("sunspots"), (2, 0, 1), (0, 0, 0, 0), None, 1e-8),
    ("sunspots", lambda: load_series("sunspots"), (3, 0, 2), (0, 0, 0, 0), "c", 1e-8),
    ("realgdp dlog", lambda: np.diff(np.log(_macro("realgdp"))), (1, 0, 1), (0, 0, 0, 0), None, 1e-8),
    ("infl", lambda: _macro("infl"), (2, 0, 1), (0, 0, 0, 0), None, 1e-8),
    ("infl ct", lambda: _macro("infl"), (1, 0, 1), (0, 0, 0, 0), "ct", 1e-8),
    ("realgdp log drift", lambda: np.log(_macro("realgdp")), (1, 1, 1), (0, 0, 0, 0), "t", 1e-8),
    ("co2", lambda: load_series("co2"), (2, 1, 1), (0, 0, 0, 0), None, 1e-8),
    ("elnino seasonal AR/MA", _elnino, (1, 0, 0), (1, 0, 1, 12), None, 1e-8),
    # statsmodels' own filter is 1.1e-8 from the exact predictor here (see the test below)
    ("nile", lambda: load_series("nile"), (1, 1, 1), (0, 0, 0, 0), None, 3e-8),
    # seasonal MA root at |z| = 1.00013: both sides lose digits; measured 1.5e-7 apart
    ("elnino seasonal diff", _elnino, (1, 0, 1), (0, 1, 1, 12), None, 1e-6),
]


@pytest.mark.parametrize(("name", "load", "order", "seasonal", "trend", "rel"), REAL, ids=[r[0] for r in REAL])
def test_forecast_equals_statsmodels_on_real_series(name, load, order, seasonal, trend, rel):
    y = load()
    res = _fit(y, order, seasonal, trend)
    ref = res.get_forecast(24)
    fc = forecast_arima(y, order, res.params, 24, seasonal_order=seasonal)  # trend read from len(params)
    assert _rel(fc.mean, ref.predicted_mean) < rel
    assert _rel(fc.conf_int(), ref.conf_int(alpha=0.05)) < rel
    assert _rel(fc.conf_int(0.2), ref.conf_int(alpha=0.2)) < rel
    direct = forecast_arima(res, 24)  # the fitted results object itself
    np.testing.assert_array_equal(direct.mean, fc.mean)
    np.testing.assert_array_equal(direct.se, fc.se)


def _toeplitz_forecast(y, d, phi, theta, sigma2, steps, mean=0.0):
    """E[w_{m+h} | w] = gamma_h' Gamma^-1 w by a Levinson solve, integrated once when d = 1."""
    w = (np.diff(y) if d else y) - mean
    m = w.size
    g = arma_acovf(np.r_[1, -np.asarray(phi)], np.r_[1, np.asarray(theta)], nobs=m + steps, sigma2=sigma2)
    v = linalg.solve_toeplitz(g[:m], w)
    w_hat = np.array([g[m - 1 + h - np.arange(m)] @ v for h in range(1, steps + 1)]) + mean
    return y[-1] + np.cumsum(w_hat) if d else w_hat


def test_nile_forecast_is_the_exact_predictor_where_statsmodels_is_1e8_off():
    y = load_series("nile")
    res = _fit(y, (1, 1, 1))
    phi, theta, sigma2 = res.params
    exact = _toeplitz_forecast(y, 1, [phi], [theta], sigma2, 10)
    assert _rel(forecast_arima(res, 10).mean, exact) < 1e-13
    assert _rel(res.forecast(10), exact) > 1e-9  # statsmodels' own distance, for the record


def test_nile_d2_forecast_is_exact_diffuse_not_statsmodels_approximate_prior():
    """d = 2 on the Nile: statsmodels' default puts an *approximate* diffuse prior (variance 1e6) on the
    integrated states, which is not diffuse at the series' scale (~1e3); its forecast is 3e-4 off the exact
    predictor, and equals it once the prior is made exactly diffuse."""
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    y = load_series("nile")
    res = _fit(y, (0, 2, 2))
    steps, p = 6, res.params
    w = np.diff(y, 2)
    m = w.size
    g = arma_acovf([1.0], np.r_[1.0, p[:2]], nobs=m + steps, sigma2=p[2])
    v = linalg.solve_toeplitz(g[:m], w)
    w_hat = np.array([g[m - 1 + h - np.arange(m)] @ v for h in range(1, steps + 1)])
    exact = list(y)
    for h in range(steps):  # integrate twice: y_t = w_t + 2 y_{t-1} - y_{t-2}
        exact.append(w_hat[h] + 2 * exact[-1] - exact[-2])
    exact = np.array(exact[-steps:])
    assert _rel(forecast_arima(res, steps).mean, exact) < 1e-12
    model = SARIMAX(y, order=(0, 2, 2))
    model.ssm.initialization.set((0, 2), "diffuse")  # the two integrated states, exactly diffuse
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert _rel(model.filter(p).forecast(steps), exact) < 1e-10
    assert _rel(res.forecast(steps), exact) > 1e-4  # statsmodels' default prior, for the record


@pytest.mark.parametrize(
    ("phi", "theta", "n", "mean"),
    [
        ([0.5], [], 40, 0.0),  # pure AR: the finite history changes nothing
        ([], [-0.98, 0.0], 60, 0.0),  # MA(2) with a root near 1
        ([0.3, -0.2], [0.5, -0.3], 80, 1.5),  # ARMA(2,2), a constant
        ([0.95], [-0.995], 3000, 0.0),  # long: the filter converges and runs as one lfilter
        ([], [0.7], 5, 0.0),  # shortest series
    ],
)
def test_forecast_equals_toeplitz_exact_predictor(phi, theta, n, mean):
    rng = np.random.default_rng(n)
    y = simulate_arma(phi, theta, n, convention="coefficients", rng=rng, burnin=300) + mean
    params = [mean, *phi, *theta, 1.7] if mean else [*phi, *theta, 1.7]
    order = (len(phi), 0, len(theta))
    fc = forecast_arima(y, order, params, 6)
    assert_close(fc.mean, _toeplitz_forecast(y, 0, phi, theta, 1.7, 6, mean), rel=1e-10)
    if not theta:
        assert np.all(fc.truncation_bound <= 1e-12 * np.abs(fc.mean).max())


def test_forecast_hand_case_ar1():
    y = np.array([2.0, -1.0, 0.5, 4.0])
    fc = forecast_arima(y, (1, 0, 0), [0.5, 2.0], 3, trend="n")
    assert_close(fc.mean, 4.0 * 0.5 ** np.arange(1, 4))
    assert_close(fc.se, np.sqrt(2.0 * np.cumsum(0.25 ** np.arange(3))))
    z = special.ndtri(0.975)
    assert_close(fc.conf_int(), np.column_stack([fc.mean - z * fc.se, fc.mean + z * fc.se]))


def test_fit_helper_equals_statsmodels_and_input_is_kept(rng):
    y = np.cumsum(simulate_arma([1, -0.4], [1, 0.3], 400, rng=rng))
    params = fit_arima(y, (1, 1, 1))
    res = _fit(y, (1, 1, 1))
    assert_close(params, res.params, rel=1e-8)
    before = y.copy()
    fc = forecast_arima(y, (1, 1, 1), params, 15)
    np.testing.assert_array_equal(y, before)
    assert _rel(fc.mean, res.forecast(15)) < 1e-8


# --------------------------------------------------------------------------- what a statsmodels user has


def test_case_2_statsmodels_default_constant_is_accepted():
    y = load_series("sunspots")
    res = _fit(y, (2, 0, 1))  # trend 'c' by default when d = 0: 5 params
    assert res.params.size == 5
    fc = forecast_arima(y, (2, 0, 1), res.params, 5)
    assert _rel(fc.mean, res.forecast(5)) < 1e-8
    with pytest.raises(ValueError, match=r"params must have 4 entries .* trend='n'"):
        forecast_arima(y, (2, 0, 1), res.params, 5, trend="n")


def test_pandas_series_keeps_statsmodels_index():
    data = sm.datasets.macrodata.load_pandas().data
    idx = pd.period_range("1959Q1", periods=len(data), freq="Q")
    cases = [
        pd.Series(data["infl"].to_numpy(), index=idx, name="infl"),
        pd.Series(data["infl"].to_numpy(), index=idx.to_timestamp(how="end").normalize(), name="infl"),
        pd.Series(data["infl"].to_numpy(), name=None),  # a RangeIndex
        pd.Series(data["infl"].to_numpy(), index=pd.RangeIndex(10, 10 + 2 * len(data), 2)),
    ]
    for s in cases:
        res = _fit(s, (1, 0, 1))
        ref = res.get_forecast(4)
        fc = forecast_arima(res, 4)
        assert isinstance(fc.mean, pd.Series)
        pd.testing.assert_index_equal(fc.mean.index, ref.predicted_mean.index)
        ci = fc.conf_int()
        assert list(ci.columns) == list(ref.conf_int().columns)
        assert _rel(ci.to_numpy(), ref.conf_int().to_numpy()) < 1e-8
        same = forecast_arima(s, (1, 0, 1), res.params, 4)
        pd.testing.assert_series_equal(same.mean, fc.mean)


@pytest.mark.parametrize(
    ("order", "seasonal", "n_params", "trend"),
    [
        ((1, 0, 0), None, 3, "c"),
        ((1, 0, 0), None, 4, "ct"),
        ((1, 1, 0), None, 3, "t"),
        ((1, 0, 0), (0, 1, 0, 4), 3, "t"),
    ],
)
def test_trend_is_read_from_params_length(rng, order, seasonal, n_params, trend):
    y = np.cumsum(rng.standard_normal(120)) + 0.1 * np.arange(120)
    res = _fit(y, order, seasonal or (0, 0, 0, 0), trend)
    assert res.params.size == n_params
    fc = forecast_arima(y, order, res.params, 8, seasonal_order=seasonal)
    assert _rel(fc.mean, res.forecast(8)) < 1e-8


# --------------------------------------------------------------------------- bad input, memory


@pytest.mark.parametrize(
    ("series", "order", "params", "kwargs", "match"),
    [
        ([1.0, np.nan, 2.0, 3, 4, 5], (1, 0, 0), [0.5, 1], {}, r"series must be finite; got 1 NaN .* index 1"),
        (np.arange(5.0), (2, 1, 2), [0.1, 0.1, 0.1, 0.1, 1], {}, r"series is too short for order \(2, 1, 2\)"),
        (np.arange(20.0), (1, 0, 0), [1.5, 1], {}, r"params \(AR part\) is not stationary.*0.6667"),
        (np.arange(20.0), (0, 0, 1), [-1.0, 1], {}, r"params \(MA part\) is not invertible"),
        (np.arange(20.0), (1, 0, 1), [0.5, 1], {}, r"params must have 3, 4, 5 entries"),
        (np.arange(20.0), (1, 0, 0), [0.5, 0.0], {}, "sigma2 .* must be > 0"),
        (np.arange(20.0), (1, 1, 0), [5.0, 0.5, 1], {"trend": "c"}, r"trend='c' needs fewer differences"),
        (np.arange(20.0), (1, 2, 0), [5.0, 0.5, 1], {}, r"params must have 2 entries"),
        (np.arange(20.0), (1, 0, 0), [0.5, 1], {"steps": 0}, "steps must be an integer >= 1"),
        (
            np.arange(20.0),
            (1, 0, 0),
            [0.5, 1],
            {"alpha": 1.5},
            r"alpha must be a real number > 0 and < 1 \(1 - the interval's coverage\); got 1.5",
        ),
        (np.arange(20.0), (1, 0, 0), [0.5, 1], {"seasonal_order": (1, 0, 0, 1)}, "period s >= 2"),
    ],
)
def test_forecast_bad_values(series, order, params, kwargs, match):
    with pytest.raises(ValueError, match=match):
        forecast_arima(series, order, params, **kwargs)


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((np.arange(10.0), (1, 0), [0.5, 1]), {}, r"order must be a tuple \(p, d, q\)"),
        ((np.arange(10.0), (1, 0, 0), [0.5, 1], 1.5), {}, "steps must be an integer"),
        (
            (np.arange(10.0), (1, 0, 0), [0.5, 1]),
            {"alpha": "5%"},
            r"alpha must be a real number > 0 and < 1 .*; got '5%' \(str\)",
        ),
        ((np.arange(10.0), (1, 0, 0), ["a", "b"]), {}, "params must have a numeric dtype"),
        ((np.arange(10.0), (1, 0, 0)), {}, "needs series, order and params"),
        ((np.arange(10.0), (1, 0, 0), [0.5, 1]), {"seasonal_order": 12}, "seasonal_order must be None or a tuple"),
    ],
)
def test_forecast_wrong_kinds(args, kwargs, match):
    with pytest.raises(TypeError, match=match):
        forecast_arima(*args, **kwargs)


def test_memory_guard_names_the_function():
    with pytest.raises(InsufficientMemoryError, match=r"forecast_arima: an array of shape \(1000000000, "):
        forecast_arima(np.arange(10.0), (1, 0, 0), [0.5, 1], 10**9)
    with pytest.raises(InsufficientMemoryError, match=r"simulate_arma: an array of shape \(100000000000,\)"):
        simulate_arma([1, -0.5], [1], 10**11)
    with pytest.raises(InsufficientMemoryError, match="simulate_arma"):
        simulate_arma([1, -0.5], [1], (10**6, 10**6))


def test_converged_filter_as_lfilter_equals_the_full_filter(monkeypatch):
    # ARMA(1,1), MA root 2.5: the filter converges in a few dozen steps, the rest runs as one lfilter
    from convlens.timeseries import _exact

    y = np.cumsum(simulate_arma([0.6], [0.4], 3000, convention="coefficients", rng=11))
    params = [0.6, 0.4, 1.3]
    fast = forecast_arima(y, (1, 1, 1), params, 20)
    monkeypatch.setattr(_exact, "_STEADY_TOL", -1.0)  # never switch: the Kalman loop to the end
    slow = forecast_arima(y, (1, 1, 1), params, 20)
    assert _rel(fast.mean, slow.mean) < 1e-12
    assert _rel(fast.se, slow.se) < 1e-12


def test_seasonal_near_unit_root_is_the_exact_predictor_where_statsmodels_is_1e7_off():
    # elnino (1,0,1)(0,1,1,12): seasonal MA root at |z| = 1.00013; the reference is a Levinson solve
    # with autocovariances summed from 400,000 psi weights (they decay to 1e-23)
    from scipy import signal

    el = _elnino()
    res = _fit(el, (1, 0, 1), (0, 1, 1, 12))
    phi1, th1, seas, s2 = res.params
    w = el[12:] - el[:-12]
    m, steps = w.size, 12
    theta = np.convolve([1, th1], np.r_[1, np.zeros(11), seas])
    psi = signal.lfilter(theta, [1, -phi1], np.r_[1.0, np.zeros(399_999)])
    g = s2 * np.array([psi[: psi.size - k] @ psi[k:] for k in range(m + steps)])
    v = linalg.solve_toeplitz(g[:m], w)
    w_hat = np.array([g[m - 1 + h - np.arange(m)] @ v for h in range(1, steps + 1)])
    exact = el[-12:] + w_hat  # one seasonal step ahead: y_{n+h} = w_{n+h} + y_{n+h-12}
    assert _rel(forecast_arima(res, steps).mean, exact) < 1e-12
    assert _rel(res.forecast(steps), exact) > 1e-8  # statsmodels' own distance, for the record


def test_results_with_exogenous_regressors_are_refused(rng):
    y, x = rng.standard_normal(80), rng.standard_normal(80)
    res = _fit_exog(y, x)
    with pytest.raises(ValueError, match="exogenous regressors"):
        forecast_arima(res, 3)
    with pytest.raises(TypeError, match="not both"):
        forecast_arima(res, 3, trend="c")


def _fit_exog(y, x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ARIMA(y, exog=x, order=(1, 0, 0)).fit()


@pytest.mark.parametrize(
    ("order", "seasonal", "trend"), [((1, 1, 0), None, "c"), ((1, 1, 0), None, "ct"), ((0, 1, 0), (0, 1, 0, 4), "t")]
)
def test_fit_arima_refuses_a_trend_that_differencing_removes_naming_trend(order, seasonal, trend):
    y = np.cumsum(np.random.default_rng(0).standard_normal(80))
    with pytest.raises(ValueError, match=rf"trend='{trend}' needs fewer differences"):
        fit_arima(y, order, seasonal_order=seasonal, trend=trend)
    with pytest.raises(ValueError):  # statsmodels refuses it too (with its own words)
        ARIMA(y, order=order, seasonal_order=seasonal or (0, 0, 0, 0), trend=trend)


@pytest.mark.parametrize(
    ("kw", "exc", "match"),
    [
        (dict(scale=-1.0), ValueError, "scale must be a real number >= 0"),
        (dict(scale=float("nan")), ValueError, "scale must be a real number >= 0"),
        (dict(scale="a"), TypeError, "scale must be a real number"),
        (dict(innovations="abcdefghij"), TypeError, "innovations must have a numeric dtype"),
    ],
)
def test_simulate_arma_checks_scale_and_innovations(kw, exc, match):
    with pytest.raises(exc, match=match):
        simulate_arma([1, -0.5], [1], 10, **kw)


def test_simulate_arma_zero_scale_is_all_zero():
    assert np.array_equal(simulate_arma([1, -0.5], [1], 6, rng=0, scale=0), np.zeros(6))


@pytest.mark.parametrize(
    ("order", "seasonal", "trend"),
    [
        ((0, 0, 0), None, "n"),
        ((0, 0, 0), None, "c"),
        ((0, 1, 0), None, "n"),
        ((0, 1, 0), None, "t"),
        ((0, 2, 0), None, None),
        ((0, 0, 0), (0, 1, 0, 4), "n"),
    ],
)
def test_forecast_without_ar_or_ma_terms_matches_statsmodels(order, seasonal, trend):
    """White noise and random walks (no AR/MA lags: kappa = [1]) used to die on an empty kernel."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = np.cumsum(np.random.default_rng(3).standard_normal(90)) + 20
        res = ARIMA(y, order=order, seasonal_order=seasonal or (0, 0, 0, 0), trend=trend).fit()
        ref = res.get_forecast(6)
    got = forecast_arima(y, order, res.params, 6, seasonal_order=seasonal, trend=trend)
    assert_close(got.mean, ref.predicted_mean, rel=1e-8)
    assert_close(got.se, ref.se_mean, rel=1e-7)
    assert np.all(np.isfinite(got.truncation_bound))


def test_arima_forecast_pickles_under_the_public_package():
    import pickle
    import pickletools

    y = np.cumsum(np.random.default_rng(0).standard_normal(60))
    fc = forecast_arima(y, (1, 1, 0), [0.3, 1.0], 4)
    blob = pickle.dumps(fc)
    names = [a for _, a, _ in pickletools.genops(blob) if isinstance(a, str) and a.startswith("convlens")]
    assert names and all(n == "convlens.timeseries" for n in names)
    assert_close(pickle.loads(blob).mean, fc.mean, rel=0)
