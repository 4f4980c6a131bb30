"""Time-series lens against statsmodels, pandas, scipy.ndimage and NumPy."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import linalg, ndimage, stats
from statsmodels.tsa.arima_process import arma2ar, arma2ma, arma_acf, arma_acovf, arma_generate_sample
from statsmodels.tsa.statespace.tools import diff as sm_diff

from conftest import assert_close
from convlens.data import load_series
from convlens.timeseries import (
    arma_to_ar_kernel,
    arma_to_ma_kernel,
    difference,
    fit_arima,
    forecast_arima,
    integrate,
    local_ar_features,
    moving_average,
    simulate_arma,
)


def _stable_poly(rng, order: int) -> np.ndarray:
    """A lag polynomial [1, ...] with real roots well outside the unit circle."""
    roots = rng.uniform(1.3, 3.0, order) * rng.choice([-1, 1], order)
    poly = np.poly(1 / roots)  # monic in z with zeros 1/roots -> lag polynomial with roots at `roots`
    return poly.real


# --------------------------------------------------------------------------- moving averages


@pytest.mark.parametrize("window", [1, 3, 7])
def test_centred_moving_average_equals_uniform_filter(rng, window):
    x = rng.standard_normal((4, 50))
    got = moving_average(x, window, axis=1, boundary="symmetric")
    # ndimage's 'reflect' is numpy.pad's 'symmetric'.
    assert_close(got, ndimage.uniform_filter1d(x, window, axis=1, mode="reflect"))


def test_trailing_moving_average_equals_pandas_rolling(rng):
    x = rng.standard_normal(60)
    got = moving_average(x, 5, align="trailing", boundary="constant", fill_value=np.nan)
    assert_close(got, pd.Series(x).rolling(5).mean().to_numpy())


def test_weighted_moving_average_equals_convolve1d(rng):
    x, w = rng.standard_normal(40), np.array([0.1, 0.2, 0.4, 0.2, 0.1])
    assert_close(moving_average(x, w, boundary="reflect"), ndimage.convolve1d(x, w, mode="mirror"))


def test_moving_average_keeps_float32_and_input(rng):
    x = rng.standard_normal(30).astype(np.float32)
    before = x.copy()
    out = moving_average(x, 4)
    assert out.dtype == np.float32 and out.shape == x.shape
    np.testing.assert_array_equal(x, before)


def test_moving_average_nan_stays_local():
    x = np.arange(20.0)
    x[10] = np.nan
    out = moving_average(x, 3, align="trailing", boundary="edge")
    assert np.isnan(out[10:13]).all() and np.isfinite(np.delete(out, [10, 11, 12])).all()


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"window": 0}, ValueError, "window must be an integer >= 1"),
        ({"window": [[1, 2]]}, TypeError, "window must be a positive int or a non-empty 1-D array"),
        ({"window": 3, "align": "left"}, ValueError, "align must be one of 'center', 'trailing'"),
        ({"window": 3, "axis": 2}, ValueError, "axis 2 is out of range"),
    ],
)
def test_moving_average_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        moving_average(np.ones(10), **kwargs)


# --------------------------------------------------------------------------- differencing


@pytest.mark.parametrize("d", [0, 1, 2, 3])
def test_difference_equals_numpy_diff(rng, d):
    x = rng.integers(-1000, 1000, (3, 40))
    got = difference(x, d)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, np.diff(x, n=d))


@pytest.mark.parametrize(("d", "s", "D"), [(1, 4, 1), (0, 12, 1), (2, 3, 2)])
def test_seasonal_difference_equals_statsmodels(rng, d, s, D):
    x = rng.standard_normal(80)
    got = difference(x, d, seasonal=s, seasonal_d=D)
    assert_close(got, sm_diff(x, k_diff=d, k_seasonal_diff=D, seasonal_periods=s))


@settings(max_examples=60, deadline=None)
@given(
    data=st.lists(st.integers(-(2**40), 2**40), min_size=30, max_size=60),
    d=st.integers(0, 3),
    seasonal=st.sampled_from([None, 2, 3, 7]),
    seasonal_d=st.integers(0, 2),
)
def test_integrate_inverts_difference_exactly(data, d, seasonal, seasonal_d):
    x = np.array(data, dtype=np.int64)
    k = d + (seasonal or 0) * seasonal_d
    dx = difference(x, d, seasonal=seasonal, seasonal_d=seasonal_d)
    back = integrate(dx, x[:k], d, seasonal=seasonal, seasonal_d=seasonal_d)
    assert back.dtype == np.int64
    np.testing.assert_array_equal(back, x)


def test_integrate_along_axis_and_floats(rng):
    x = rng.standard_normal((30, 3))
    dx = difference(x, 2, seasonal=4, axis=0)
    assert_close(integrate(dx, x[:6], 2, seasonal=4, axis=0), x, rel=1e-12)


def test_difference_bad_input():
    with pytest.raises(ValueError, match="x has 3 samples along axis 0, but differencing of total lag 4"):
        difference([1, 2, 3], 0, seasonal=4)
    with pytest.raises(ValueError, match="d must be an integer >= 0"):
        difference([1, 2, 3], -1)
    with pytest.raises(ValueError, match=r"initial must hold the first k = 2 values"):
        integrate([1, 2, 3], [0], 2)


# --------------------------------------------------------------------------- ARMA kernels


@pytest.mark.parametrize(("p", "q"), [(0, 0), (1, 0), (0, 2), (2, 1), (3, 3)])
def test_kernels_equal_statsmodels(rng, p, q):
    ar, ma = _stable_poly(rng, p), _stable_poly(rng, q)
    assert_close(arma_to_ma_kernel(ar, ma, 60), arma2ma(ar, ma, lags=60))
    assert_close(arma_to_ar_kernel(ar, ma, 60), arma2ar(ar, ma, lags=60))


def test_coefficient_convention_is_the_sign_flipped_ar(rng):
    ar, ma = _stable_poly(rng, 2), _stable_poly(rng, 2)
    phi, theta = -ar[1:], ma[1:]
    assert_close(arma_to_ma_kernel(phi, theta, 30, convention="coefficients"), arma_to_ma_kernel(ar, ma, 30))


def test_kernels_invert_each_other(rng):
    """psi * kappa = delta: the MA(∞) and AR(∞) kernels are inverse convolutions."""
    ar, ma = _stable_poly(rng, 2), _stable_poly(rng, 1)
    prod = np.convolve(arma_to_ma_kernel(ar, ma, 40), arma_to_ar_kernel(ar, ma, 40))[:40]
    assert_close(prod, np.eye(1, 40)[0])


@pytest.mark.parametrize(
    ("ar", "ma", "kwargs", "match"),
    [
        ([0.5], [1], {}, "convention='coefficients'"),
        ([1, -1.2], [1], {}, r"ar is not stationary.*\|z\|=0.8333"),
        ([1, -1.0], [1], {}, r"ar is not stationary"),
        ([1.2], [], {"convention": "coefficients"}, r"ar is not stationary"),
        ([1], [1], {"convention": "lag"}, "convention must be one of 'polynomial', 'coefficients'"),
    ],
)
def test_ma_kernel_bad_input(ar, ma, kwargs, match):
    with pytest.raises(ValueError, match=match):
        arma_to_ma_kernel(ar, ma, 10, **kwargs)


def test_ar_kernel_rejects_non_invertible_ma():
    with pytest.raises(ValueError, match=r"ma is not invertible.*root\(s\) -0.5"):
        arma_to_ar_kernel([1], [1, 2.0], 10)


# --------------------------------------------------------------------------- simulation


@pytest.mark.parametrize("burnin", [0, 25])
def test_simulate_equals_arma_generate_sample_given_innovations(rng, burnin):
    ar, ma = _stable_poly(rng, 2), _stable_poly(rng, 2)
    eta = rng.standard_normal(300 + burnin)
    ref = arma_generate_sample(ar, ma, 300, scale=1.7, distrvs=lambda size: eta, burnin=burnin)
    got = simulate_arma(ar, ma, 300, scale=1.7, burnin=burnin, innovations=eta)
    assert_close(got, ref, rel=1e-12)


def test_simulate_many_series_along_axis(rng):
    ar, ma = [1, -0.6], [1, 0.3]
    eta = rng.standard_normal((4, 110))
    ref = arma_generate_sample(ar, ma, (4, 100), distrvs=lambda size: eta, burnin=10, axis=1)
    assert_close(simulate_arma(ar, ma, (4, 100), burnin=10, axis=1, innovations=eta), ref, rel=1e-12)


def test_simulate_is_seeded():
    a = simulate_arma([1, -0.5], [1], 50, rng=3)
    np.testing.assert_array_equal(a, simulate_arma([1, -0.5], [1], 50, rng=np.random.default_rng(3)))
    assert not np.array_equal(a, simulate_arma([1, -0.5], [1], 50, rng=4))


def test_simulate_equal_in_distribution():
    """Two-sample KS on independent end values, and the sample ACF against the theoretical one."""
    ar, ma = [1, -0.7, 0.2], [1, 0.5]
    ours = simulate_arma(ar, ma, (2000, 40), burnin=60, axis=1, rng=11)[:, -1]
    gen = np.random.default_rng(12)
    ref = arma_generate_sample(ar, ma, (2000, 40), distrvs=gen.standard_normal, burnin=60, axis=1)[:, -1]
    assert stats.ks_2samp(ours, ref).pvalue > 0.01
    long = simulate_arma(ar, ma, 200_000, burnin=100, rng=13)
    c = long - long.mean()
    acf = np.array([c[: c.size - k] @ c[k:] for k in range(6)]) / (c @ c)
    np.testing.assert_allclose(acf, arma_acf(ar, ma, 6), atol=0.02)


def test_simulate_bad_input(rng):
    with pytest.raises(ValueError, match="innovations must have shape"):
        simulate_arma([1, -0.5], [1], 10, innovations=np.zeros(9))
    with pytest.raises(ValueError, match="innovations must be finite"):
        simulate_arma([1, -0.5], [1], 3, innovations=[0.0, np.nan, 1.0])
    with pytest.raises(ValueError, match="ar is not stationary"):
        simulate_arma([1, -1.01], [1], 10, rng=rng)


# --------------------------------------------------------------------------- ARIMA forecasts


def _statsmodels_fit(y, order, trend):
    from statsmodels.tsa.arima.model import ARIMA

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # statsmodels' start-parameter and convergence chatter
        return ARIMA(y, order=order, trend=trend).fit()


@pytest.mark.parametrize(
    ("name", "order", "trend"), [("sunspots", (2, 0, 1), "c"), ("sunspots", (3, 0, 2), "c"), ("co2", (2, 1, 1), "n")]
)
def test_forecast_equals_statsmodels_on_long_series(name, order, trend):
    y = load_series(name)
    res = _statsmodels_fit(y, order, trend)
    ref = res.get_forecast(24)
    fc = forecast_arima(y, order, res.params, 24, trend=trend)
    assert_close(fc.mean, ref.predicted_mean, rel=1e-6)
    assert_close(fc.conf_int(), ref.conf_int(alpha=0.05), rel=1e-6)
    assert_close(fc.conf_int(0.2), ref.conf_int(alpha=0.2), rel=1e-6)
    assert np.all(fc.truncation_bound <= 1e-6 * np.abs(fc.mean))


def test_forecast_on_short_series_is_within_its_truncation_bound():
    y = load_series("nile")
    res = _statsmodels_fit(y, (1, 1, 1), "n")
    fc = forecast_arima(y, (1, 1, 1), res.params, 10)
    gap = np.abs(fc.mean - res.forecast(10))
    assert np.all(fc.truncation_bound > 0), "the MA root near 1 leaves a tail beyond 99 samples"
    assert np.all(gap <= fc.truncation_bound)
    assert np.all(fc.truncation_bound < 0.01 * fc.mean), "the bound should be informative, not huge"


def _exact_forecast(y, order, params, steps):
    """Best linear predictor given the finite history, by a Toeplitz solve (d = 0 or 1, no constant)."""
    p, d, q = order
    w = np.diff(y) if d else y
    n = w.size
    g = arma_acovf(np.r_[1, -params[:p]], np.r_[1, params[p : p + q]], nobs=n + steps, sigma2=params[-1])
    weights = linalg.solve_toeplitz(g[:n], w)
    w_hat = np.array([g[n - 1 + h - np.arange(n)] @ weights for h in range(1, steps + 1)])
    return y[-1] + np.cumsum(w_hat) if d else w_hat


@pytest.mark.parametrize(
    ("order", "theta", "n", "steps"),
    [
        ((0, 1, 1), -0.95, 200, 5),  # exact Var R from the tail coefficients
        ((0, 1, 1), -0.999, 300, 200),  # long tail: the cheap sum|A| bound
        ((1, 0, 1), -0.999, 4500, 10),  # long history: w' Gamma^-1 w bounded by the spectral density
    ],
)
def test_truncation_bound_holds_against_the_exact_predictor(order, theta, n, steps):
    phi = [0.5] if order[0] else []
    x = simulate_arma(phi, [theta], n, convention="coefficients", rng=5, burnin=500)
    y = np.cumsum(x) if order[1] else x
    params = np.array([*phi, theta, 2.0])
    fc = forecast_arima(y, order, params, steps)
    gap = np.abs(fc.mean - _exact_forecast(y, order, params, steps))
    assert np.all(fc.truncation_bound > 0)
    assert np.all(gap <= fc.truncation_bound)


def test_forecast_hand_case_ar1():
    y = np.array([2.0, -1.0, 0.5, 4.0])
    fc = forecast_arima(y, (1, 0, 0), [0.5, 2.0], 3)
    assert_close(fc.mean, 4.0 * 0.5 ** np.arange(1, 4))
    assert_close(fc.se, np.sqrt(2.0 * np.cumsum(0.25 ** np.arange(3))))
    np.testing.assert_array_equal(fc.truncation_bound, 0.0)  # a pure AR(1) needs one past value only


def test_forecast_random_walk_with_ma_and_fit_helper(rng):
    y = np.cumsum(simulate_arma([1, -0.4], [1, 0.3], 600, rng=rng))
    params = fit_arima(y, (1, 1, 1))
    res = _statsmodels_fit(y, (1, 1, 1), "n")
    assert_close(params, res.params, rel=1e-8)
    before = y.copy()
    fc = forecast_arima(y, (1, 1, 1), params, 15)
    np.testing.assert_array_equal(y, before)
    assert_close(fc.mean, res.forecast(15), rel=1e-6)


@pytest.mark.parametrize(
    ("series", "order", "params", "kwargs", "match"),
    [
        ([1.0, np.nan, 2.0, 3, 4, 5], (1, 0, 0), [0.5, 1], {}, r"series must be finite; got 1 NaN .* index 1"),
        (np.arange(5.0), (2, 1, 2), [0.1, 0.1, 0.1, 0.1, 1], {}, r"series is too short for order \(2, 1, 2\)"),
        (np.arange(20.0), (1, 0, 0), [1.5, 1], {}, r"params \(AR part\) is not stationary.*0.6667"),
        (np.arange(20.0), (0, 0, 1), [-1.0, 1], {}, r"params \(MA part\) is not invertible"),
        (np.arange(20.0), (1, 0, 1), [0.5, 1], {}, r"params must have 3 entries \(ar.L1, ma.L1, sigma2"),
        (np.arange(20.0), (1, 0, 0), [0.5, 0.0], {}, "sigma2 .* must be > 0"),
        (np.arange(20.0), (1, 1, 0), [5.0, 0.5, 1], {"trend": "c"}, "trend='c' needs d = 0"),
        (np.arange(20.0), (1, 0, 0), [0.5, 1], {"steps": 0}, "steps must be an integer >= 1"),
        (np.arange(20.0), (1, 0, 0), [0.5, 1], {"alpha": 1.5}, r"alpha must be a number in \(0, 1\)"),
    ],
)
def test_forecast_bad_input(series, order, params, kwargs, match):
    with pytest.raises(ValueError, match=match):
        forecast_arima(series, order, params, **kwargs)


def test_forecast_bad_order_type():
    with pytest.raises(TypeError, match=r"order must be a tuple \(p, d, q\)"):
        forecast_arima(np.arange(10.0), (1, 0), [0.5, 1])


# --------------------------------------------------------------------------- local AR features


def test_local_ar_features_reproduce_autoreg_predictions():
    from statsmodels.tsa.ar_model import AutoReg

    y = load_series("sunspots")
    res = AutoReg(y, lags=3, trend="c").fit()
    got = local_ar_features(y, res.params[1:], bias=res.params[0], standardize=False)
    assert np.isnan(got[:3]).all()
    assert_close(got[3:], res.fittedvalues, rel=1e-10)


def test_local_features_bank_matches_moving_average(rng):
    x = rng.standard_normal(80)
    bank = np.array([np.full(4, 0.25), [1.0, -1.0, 0, 0]])
    feats = local_ar_features(x, bank, kind="ma", standardize=False)
    assert feats.shape == (2, 80)
    assert_close(feats[0, 3:], moving_average(x, 4, align="trailing")[3:])
    assert_close(feats[1, 3:], np.diff(x)[2:])
    z = local_ar_features(x, [1.0], standardize=True)
    assert_close(z[1:], ((x - x.mean()) / x.std())[:-1])


def test_local_features_bad_input():
    with pytest.raises(ValueError, match="kernels of length 5 need a series longer than 5"):
        local_ar_features(np.arange(5.0), np.ones(5))
    with pytest.raises(ValueError, match="x must be finite"):
        local_ar_features([1.0, np.inf, 2, 3], [1.0])
    with pytest.raises(ValueError, match="x is constant"):
        local_ar_features(np.ones(10), [1.0])


def test_inputs_are_never_modified(rng):
    x = rng.integers(0, 100, 30)
    eta = rng.standard_normal(40)
    kept = x.copy(), eta.copy()
    integrate(difference(x, 1, seasonal=3), x[:4], 1, seasonal=3)
    simulate_arma([1, -0.5], [1, 0.2], 30, burnin=10, innovations=eta, scale=2.0)
    local_ar_features(eta, [0.5, 0.5])
    np.testing.assert_array_equal(x, kept[0])
    np.testing.assert_array_equal(eta, kept[1])
