"""Time-series lens against statsmodels, pandas, scipy.ndimage and NumPy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage, stats
from statsmodels.tsa.arima_process import arma2ar, arma2ma, arma_acf, arma_generate_sample
from statsmodels.tsa.statespace.tools import diff as sm_diff

from conftest import assert_close
from convlens._validation import InsufficientMemoryError
from convlens.data import load_series
from convlens.timeseries import (
    arma_to_ar_kernel,
    arma_to_ma_kernel,
    difference,
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
        (
            {"window": 3, "axis": 2},
            ValueError,
            r"axis entry 2 is out of range for an array of 1 dimensions \(allowed: -1..0\)",
        ),
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


# --------------------------------------------------------------------------- dtype rule and argument kinds


@pytest.mark.parametrize("dt", [">f4", "<f4", ">f8", "f2", "i2", "u1", "?"])
def test_dtype_rule_and_native_byte_order(dt):
    x = (np.arange(12) % 5).astype(dt)
    ma = moving_average(x, 3)
    # the package's table: float16 and float32 kept (native), bool and integers in float64
    assert ma.dtype == (np.float16 if dt == "f2" else np.float32 if dt.endswith("f4") else np.float64)
    assert_close(ma, moving_average(x.astype(np.float64), 3), np.float16 if dt == "f2" else np.float32)
    dx = difference(x, 1)
    assert dx.dtype.isnative and dx.dtype.byteorder in "=|"
    want = np.diff(x.astype(np.int64)) if x.dtype.kind in "biu" else np.diff(x.astype(x.dtype.newbyteorder("=")))
    np.testing.assert_array_equal(dx, want)
    back = integrate(dx, x[:1], 1)
    assert back.dtype.isnative
    np.testing.assert_array_equal(back, x.astype(back.dtype))


@pytest.mark.parametrize(
    ("call", "exc"),
    [
        (lambda: difference([1.0, 2, 3], 1.5), TypeError),
        (lambda: difference([1.0, 2, 3], -1), ValueError),
        (lambda: moving_average([1.0, 2, 3], 2.5), TypeError),
        (lambda: moving_average([1.0, 2, 3], 0), ValueError),
        (lambda: simulate_arma([1, -0.5], [1], 2.5), TypeError),
        (lambda: simulate_arma([1, -0.5], [1], 0), ValueError),
        (lambda: arma_to_ma_kernel([1, -0.5], [1], "8"), TypeError),
        (lambda: arma_to_ma_kernel([1, -0.5], [1], 0), ValueError),
    ],
)
def test_wrong_kind_is_type_error_wrong_value_is_value_error(call, exc):
    with pytest.raises(exc):
        call()


@pytest.mark.parametrize("dt", [">f4", "<f4", ">f8", "f2", "i2", "u1", "?"])
def test_forecasts_and_features_follow_the_dtype_table(dt):
    y = load_series("sunspots")[:120].astype(dt) if dt not in ("?",) else load_series("sunspots")[:120] > 50
    want = np.float16 if dt == "f2" else np.float32 if dt.endswith("f4") else np.float64
    fc = forecast_arima(y, (1, 0, 0), [0.5, 1.0], 4)
    ref = forecast_arima(y.astype(np.float64), (1, 0, 0), [0.5, 1.0], 4)
    assert fc.mean.dtype == want and fc.se.dtype == want
    assert_close(fc.mean, ref.mean, want)
    feats = local_ar_features(y, [[0.5, 0.25], [0.1, -0.2]])
    assert feats.dtype == want and feats.dtype.isnative
    assert_close(feats, local_ar_features(y.astype(np.float64), [[0.5, 0.25], [0.1, -0.2]]), want)


@pytest.mark.skipif(np.dtype(np.longdouble).itemsize <= 8, reason="longdouble is float64 on this platform")
@pytest.mark.parametrize(
    "call",
    [
        lambda x: moving_average(x, 3),
        lambda x: integrate(x, x[:1], 1),
        lambda x: local_ar_features(x, [0.5, 0.25]),
        lambda x: forecast_arima(x, (1, 0, 0), [0.5, 1.0], 3),
    ],
    ids=["moving_average", "integrate", "local_ar_features", "forecast_arima"],
)
def test_longdouble_is_refused_naming_it(call):
    with pytest.raises(TypeError, match="longdouble"):
        call(np.linspace(1, 2, 40, dtype=np.longdouble))


def test_simulate_arma_float_nsample_is_a_type_error_naming_it():
    with pytest.raises(TypeError, match=r"\bnsample\b"):
        simulate_arma([1, -0.5], [1], 10.5)


def test_simulate_arma_checks_nsample_and_rng_by_the_policy_layer():
    with pytest.raises(
        ValueError, match=r"^nsample must be a positive int or a sequence of positive ints .*got \(3, 0\)$"
    ):
        simulate_arma([1, -0.5], [1], (3, 0))
    with pytest.raises(ValueError, match=r"^nsample must be .*got \(\)$"):
        simulate_arma([1, -0.5], [1], ())
    with pytest.raises(TypeError, match=r"^rng must be None, an int seed or a numpy\.random\.Generator; got str$"):
        simulate_arma([1, -0.5], [1], 10, rng="seed")
    # a seed and the Generator it makes draw the same innovations
    a = simulate_arma([1, -0.5], [1], (4, 6), rng=3, burnin=0)
    b = simulate_arma([1, -0.5], [1], [4, 6], rng=np.random.default_rng(3), burnin=0)
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("arma_to_ma_kernel", lambda: arma_to_ma_kernel([1, -0.5], [1], 10**11)),
        ("arma_to_ar_kernel", lambda: arma_to_ar_kernel([1, -0.5], [1], 10**11)),
        ("moving_average", lambda: moving_average(np.broadcast_to(np.float64(1), (10**11,)), 5)),
    ],
)
def test_huge_requests_are_refused_up_front_naming_the_function(name, call):
    with pytest.raises(InsufficientMemoryError, match=rf"^{name}\b"):
        call()
