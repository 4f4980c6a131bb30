"""Statistical lenses (issue 6): ARIMA forecast by convolution (W9), ZCA whitening, ARMA kernels and simulation."""

from __future__ import annotations

import warnings

import numpy as np

from convlens import timeseries, whiten

from ._harness import Case, Compare


def _rel(a, b) -> float:
    a, b = np.asarray(a), np.asarray(b)
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def _w9_forecast(quick: bool) -> Case:
    from statsmodels.tsa.arima.model import ARIMA

    n = 2000 if quick else 10_000
    rng = np.random.default_rng(20241124 + 9)
    y = np.cumsum(timeseries.simulate_arma([0.6, -0.2], [0.4], n, convention="coefficients", rng=rng))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ARIMA(y, order=(2, 1, 1)).fit()  # fitting is statsmodels' job; only the forecast is timed
    params = np.asarray(res.params)

    def check(out):
        ours, ref = out["forecast_arima"], out["statsmodels forecast"]
        return f"max rel diff of the 100 point forecasts {_rel(ours.mean, ref):.1e} (goal ≤ 1e-6); finite-history correction max {ours.truncation_bound.max():.1e}"

    return Case(
        workload=f"W9 ARIMA(2,1,1) n={n}, forecast 100 steps (after fit)",
        ours={"forecast_arima": lambda: timeseries.forecast_arima(y, (2, 1, 1), params, 100)},
        anchors={"statsmodels forecast": lambda: res.forecast(100)},
        compare=[Compare("statsmodels forecast", "forecast_arima", 1.0)],
        check=check,
        repeats=21,
    )


def _w9_kernel(quick: bool) -> Case:
    from statsmodels.tsa.arima_process import ArmaProcess

    proc = ArmaProcess([1, -0.6, 0.2], [1, 0.4])

    def check(out):
        return f"max rel diff {_rel(out['arma_to_ma_kernel'], out['ArmaProcess.arma2ma']):.1e}"

    return Case(
        workload="W9 ψ weights, 1000 lags",
        ours={"arma_to_ma_kernel": lambda: timeseries.arma_to_ma_kernel([1, -0.6, 0.2], [1, 0.4], 1000)},
        anchors={"ArmaProcess.arma2ma": lambda: proc.arma2ma(1000)},
        compare=[Compare("ArmaProcess.arma2ma", "arma_to_ma_kernel", None, "ours also checks stationarity (roots)")],
        check=check,
        repeats=21,
    )


def _simulate(quick: bool) -> Case:
    from statsmodels.tsa.arima_process import arma_generate_sample

    n = 100_000 if quick else 1_000_000
    ar, ma = [1, -0.6, 0.2], [1, 0.4]
    eta = np.random.default_rng(20241126).standard_normal(n)

    def check(out):
        return f"same innovations: max rel diff {_rel(out['simulate_arma'], out['arma_generate_sample']):.1e}"

    return Case(
        workload=f"ARMA(2,1) simulation, {n:,} samples",
        ours={"simulate_arma": lambda: timeseries.simulate_arma(ar, ma, n, innovations=eta)},
        anchors={"arma_generate_sample": lambda: arma_generate_sample(ar, ma, n, distrvs=lambda size: eta)},
        compare=[Compare("arma_generate_sample", "simulate_arma", None, "lfilter recursion vs ψ convolution")],
        check=check,
    )


def _zca(quick: bool) -> Case:
    from sklearn.decomposition import PCA

    n, d = (20_000, 64) if quick else (100_000, 64)
    rng = np.random.default_rng(20241127)
    X = rng.standard_normal((n, d)) @ rng.standard_normal((d, d)) + rng.uniform(-3, 3, d)

    def check(out):
        cov = np.cov(out["zca_whiten"], rowvar=False)
        pca = out["pca_whiten"]
        ref = out["sklearn PCA(whiten=True)"]
        signs = np.sign(np.sum(pca * ref, axis=0))
        return f"ZCA max|cov - I| {np.abs(cov - np.eye(d)).max():.1e}; PCA vs sklearn (up to sign) {_rel(pca * signs, ref):.1e}"

    return Case(
        workload=f"whitening {n:,} × {d} float64",
        ours={"zca_whiten": lambda: whiten.zca_whiten(X), "pca_whiten": lambda: whiten.pca_whiten(X)},
        anchors={"sklearn PCA(whiten=True)": lambda: PCA(whiten=True).fit_transform(X)},
        compare=[
            Compare("sklearn PCA(whiten=True)", "zca_whiten", 1.0),
            Compare("sklearn PCA(whiten=True)", "pca_whiten", 1.0),
        ],
        check=check,
    )


def cases(quick: bool) -> list[Case]:
    return [_w9_forecast(quick), _w9_kernel(quick), _simulate(quick), _zca(quick)]
