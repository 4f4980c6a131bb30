"""Scenes of the essay's second half: cross-correlation, statistics, convolution layers."""

from __future__ import annotations

import time
import warnings

import numpy as np

from .. import correlate
from .._validation import check_alloc, check_float, check_int, check_shape
from ..data import audio_source, load_audio, load_series
from ..filters import gaussian_kernel
from ..matching import find_peaks, locate, match_template
from ..timeseries import arma_to_ma_kernel, fit_arima, forecast_arima, moving_average, simulate_arma
from ..whiten import PatchWhitener, PCAWhitener
from ._common import PHOTO_SOURCES, SERIES_SOURCES, check_ints, check_reals, check_seed, frozen, photo, scene

# The face of astronaut() (rows 70:163, columns 175:268), as scikit-image's LBP face cascade finds it.
FACE_BOX = (70, 175, 93, 93)


@frozen
class FaceMatch:
    """A face cut from a photo, found again after the photo is shifted and made noisy."""

    image: np.ndarray
    template: np.ndarray
    scores: np.ndarray
    peak: tuple[int, int]
    score: float
    shift: tuple[int, int]
    expected: tuple[int, int]
    box: tuple[int, int, int, int]
    seed: int
    source: str


@scene
def face_match(shift: tuple[int, int] = (40, -60), noise: float = 0.05, seed: int = 0) -> FaceMatch:
    """``astronaut()`` (grey, 512 x 512) rolled by ``shift`` plus Gaussian noise; her face is the template.

    ``shift`` is a pair of ints (rows, columns; the photo wraps around),
    ``noise`` the noise's standard deviation (a finite real >= 0, pixels are in
    [0, 1]), ``seed`` a non-negative int.

    Examples
    --------
    >>> from convlens.scenes import face_match
    >>> s = face_match()
    >>> s.peak == s.expected, s.score > 0.9
    (True, True)
    """
    shift = check_ints("shift", shift, length=2)
    noise = check_float("noise", noise, minimum=0, hint="a standard deviation; pixels are in [0, 1]")
    seed = check_seed(seed)
    face = photo("astronaut", 512)
    r, c, h, w = FACE_BOX
    template = face[r : r + h, c : c + w].copy()
    moved = np.roll(face, shift, axis=(0, 1)) + np.random.default_rng(seed).normal(0, noise, face.shape)
    scores = match_template(moved, template)
    peaks = find_peaks(scores, 1)
    peak = tuple(int(v) for v in peaks.indices[0])
    expected = ((r + shift[0]) % face.shape[0], (c + shift[1]) % face.shape[1])
    return FaceMatch(
        moved, template, scores, peak, float(peaks.scores[0]), shift, expected, (*peak, h, w), seed,
        PHOTO_SOURCES["astronaut"],
    )  # fmt: skip


@frozen
class ClipLocation:
    """One second of a recording, found in the noisy recording by normalized cross-correlation."""

    recording: np.ndarray
    rate: int
    clip: np.ndarray
    true_start: int
    found_start: int
    score: float
    confidence: float
    times: np.ndarray
    scores: np.ndarray
    seed: int
    source: str


@scene
def clip_location(start_seconds: float = 17.3, noise: float = 0.05, seed: int = 0) -> ClipLocation:
    """A 1 s clip of the shipped music excerpt, located in the whole excerpt plus noise.

    ``start_seconds`` is where the clip starts, in [0, 29] (the excerpt is 30 s
    and the clip needs a whole second); ``noise`` the noise's standard
    deviation as a share of the recording's (a finite real >= 0); ``seed`` a
    non-negative int.

    Examples
    --------
    >>> from convlens.scenes import clip_location
    >>> s = clip_location()
    >>> s.found_start == s.true_start, s.score > 0.9
    (True, True)
    """
    song, rate = load_audio("music")
    last = (song.size - rate) / rate
    start_seconds = check_float(
        "start_seconds", start_seconds, minimum=0, maximum=last,
        hint=f"in seconds: the 1 s clip must lie inside the {song.size / rate:g} s recording",
    )  # fmt: skip
    noise = check_float("noise", noise, minimum=0, hint="a share of the recording's standard deviation")
    seed = check_seed(seed)
    start = int(start_seconds * rate)
    clip = song[start : start + rate].copy()
    noisy = song + np.random.default_rng(seed).normal(0, noise * song.std(), song.shape)
    where = locate(noisy, clip, rate)
    scores = match_template(noisy, clip)  # the score of every start, for the plot
    source, licence = audio_source("music")
    return ClipLocation(
        noisy, rate, clip, start, int(where.sample), float(where.score), float(where.confidence),
        np.arange(scores.size) / rate, scores, seed, f"{source}; {licence}",
    )  # fmt: skip


@frozen
class ArmaKernels:
    """The psi weights: each ARMA model is white noise convolved with its kernel."""

    names: tuple[str, ...]
    ar: tuple[np.ndarray, ...]
    ma: tuple[np.ndarray, ...]
    psi: tuple[np.ndarray, ...]
    noise: np.ndarray
    series: tuple[np.ndarray, ...]
    seed: int
    source: str


# name -> (AR polynomial, MA polynomial), statsmodels' convention: x_t - 0.8 x_{t-1} = e_t is [1, -0.8]
ARMA_MODELS = {
    "MA(2)": ([1.0], [1.0, 0.6, 0.3]),
    "AR(1)": ([1.0, -0.8], [1.0]),
    "AR(2)": ([1.0, -1.3, 0.7], [1.0]),
    "ARMA(1,1)": ([1.0, -0.7], [1.0, 0.5]),
}


@scene
def arma_kernels(n: int = 24, length: int = 300, seed: int = 0) -> ArmaKernels:
    """ψ kernels of four ARMA models, and one white-noise draw pushed through each.

    ``n`` is the number of ψ weights and ``length`` the number of noise
    samples (ints >= 1); ``seed`` a non-negative int.

    Examples
    --------
    >>> from convlens.scenes import arma_kernels
    >>> s = arma_kernels()
    >>> s.psi[0][:4].tolist()                                     # MA(2): its own coefficients
    [1.0, 0.6, 0.3, 0.0]
    """
    n = check_int("n", n, minimum=1)
    length = check_int("length", length, minimum=1)
    seed = check_seed(seed)
    check_alloc((2 + len(ARMA_MODELS), max(n, length)), np.float64, what="arma_kernels")
    noise = np.random.default_rng(seed).standard_normal(length)
    psi, series = [], []
    for ar, ma in ARMA_MODELS.values():
        psi.append(arma_to_ma_kernel(ar, ma, n))
        series.append(simulate_arma(ar, ma, length, innovations=noise))
    return ArmaKernels(
        tuple(ARMA_MODELS), tuple(np.asarray(a) for a, _ in ARMA_MODELS.values()),
        tuple(np.asarray(m) for _, m in ARMA_MODELS.values()), tuple(psi), noise, tuple(series), seed,
        "synthetic white noise (numpy default_rng)",
    )  # fmt: skip


@frozen
class ArimaForecast:
    """An ARIMA forecast computed by convolutions, drawn over statsmodels' own."""

    years: np.ndarray
    series: np.ndarray
    order: tuple[int, int, int]
    params: np.ndarray
    future_years: np.ndarray
    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    statsmodels_mean: np.ndarray
    statsmodels_lower: np.ndarray
    statsmodels_upper: np.ndarray
    truncation_bound: np.ndarray
    source: str


MAX_STEPS = 1000  # years ahead: the intervals are flat long before


def _arma_order(order) -> tuple[int, int, int]:
    """``(p, 0, q)``: the scene's model has a constant, which differencing would remove."""
    p, d, q = check_ints("order", order, length=3, minimum=0, maximum=10)
    if d != 0 or p + q == 0:
        raise ValueError(
            f"order must be (p, 0, q) with p, q in [0, 10] and p + q >= 1 (the model has a constant, "
            f"which d >= 1 would difference away); got {order!r}"
        )
    return p, d, q


@scene
def arima_forecast(steps: int = 20, order: tuple[int, int, int] = (2, 0, 1)) -> ArimaForecast:
    """Yearly sunspots 1700-2008, ARIMA ``order`` with a constant, forecast ``steps`` years with 95 % intervals.

    ``steps`` is an int in [1, 1000]; ``order`` is ``(p, 0, q)`` with p and q
    ints in [0, 10], not both 0 (the constant needs d = 0: differencing would
    remove it).

    Examples
    --------
    >>> from convlens.scenes import arima_forecast
    >>> s = arima_forecast(5)
    >>> bool(np.all(np.abs(s.mean - s.statsmodels_mean) <= s.truncation_bound + 1e-6))
    True
    """
    from statsmodels.tsa.arima.model import ARIMA

    steps = check_int("steps", steps, minimum=1, maximum=MAX_STEPS)
    order = _arma_order(order)
    series = load_series("sunspots")
    years = np.arange(1700, 1700 + series.size)
    params = fit_arima(series, order, trend="c")
    ours = forecast_arima(series, order, params, steps, trend="c")
    interval = ours.conf_int()
    theirs = ARIMA(series, order=order, trend="c").filter(params).get_forecast(steps)
    ref = np.asarray(theirs.conf_int(alpha=0.05))
    return ArimaForecast(
        years, series, order, np.asarray(params), np.arange(years[-1] + 1, years[-1] + 1 + steps),
        ours.mean, interval[:, 0], interval[:, 1], np.asarray(theirs.predicted_mean), ref[:, 0], ref[:, 1],
        ours.truncation_bound, SERIES_SOURCES["sunspots"],
    )  # fmt: skip


@frozen
class WhiteNoise:
    """White noise: zero mean, unit variance, no correlation between samples."""

    samples: np.ndarray
    lags: np.ndarray
    autocorrelation: np.ndarray
    band: float
    seed: int
    source: str


@scene
def white_noise(n: int = 1000, max_lag: int = 30, seed: int = 0) -> WhiteNoise:
    """``n`` standard normal draws and their autocorrelation (a correlation of the noise with itself).

    ``n`` is an int >= 2, ``max_lag`` an int in [0, n - 1], ``seed`` a
    non-negative int.

    Examples
    --------
    >>> from convlens.scenes import white_noise
    >>> s = white_noise()
    >>> float(s.autocorrelation[0]), bool(np.mean(np.abs(s.autocorrelation[1:]) < s.band) > 0.9)
    (1.0, True)
    """
    n = check_int("n", n, minimum=2)
    max_lag = check_int("max_lag", max_lag, minimum=0, maximum=n - 1)
    seed = check_seed(seed)
    check_alloc(4 * n, np.float64, what="white_noise")
    x = np.random.default_rng(seed).standard_normal(n)
    z = x - x.mean()
    full = correlate(z, z, "full")
    acf = full[n - 1 : n + max_lag] / full[n - 1]
    return WhiteNoise(x, np.arange(max_lag + 1), acf, 1.96 / np.sqrt(n), seed, "numpy default_rng")


@frozen
class Decorrelation:
    """Two correlated real variables, rotated onto their covariance's eigenvectors and scaled (PCA whitening)."""

    labels: tuple[str, str]
    points: np.ndarray
    mean: np.ndarray
    eigenvectors: np.ndarray
    eigenvalues: np.ndarray
    whitened: np.ndarray
    correlation_before: float
    correlation_after: float
    source: str


@scene
def decorrelation() -> Decorrelation:
    """US quarterly growth of real GDP and of real consumption 1959-2009 (annualized %), PCA-whitened.

    Examples
    --------
    >>> from convlens.scenes import decorrelation
    >>> s = decorrelation()
    >>> s.points.shape, s.correlation_before > 0.6, abs(s.correlation_after) < 1e-10
    ((202, 2), True, True)
    """
    import statsmodels.api as sm

    table = sm.datasets.macrodata.load_pandas().data
    points = 400 * np.diff(np.log(table[["realgdp", "realcons"]].to_numpy(dtype=float)), axis=0)
    pca = PCAWhitener().fit(points)
    z = pca.transform(points)
    return Decorrelation(
        ("real GDP growth (%/yr)", "real consumption growth (%/yr)"), points, pca.mean_, pca.components_,
        pca.explained_variance_, z, float(np.corrcoef(points.T)[0, 1]), float(np.corrcoef(z.T)[0, 1]),
        "statsmodels datasets.macrodata (US quarterly 1959-2009), public domain",
    )  # fmt: skip


@frozen
class ZcaFilters:
    """ZCA whitening of 7 x 7 photo patches: each row of the ZCA matrix is a kernel."""

    image: np.ndarray
    filters: np.ndarray
    kernel: np.ndarray
    whitened: np.ndarray
    seed: int
    source: str


@scene
def zca_filters(size: int = 7, epsilon: float = 1e-3, seed: int = 0) -> ZcaFilters:
    """ZCA fitted on ``camera()`` (256 x 256) patches; the centre filter is a centre-surround kernel.

    ``size`` is the patch width, an int in [2, 32]; ``epsilon`` the
    regularizer added to the eigenvalues (a finite real >= 0); ``seed`` a
    non-negative int (which patches are drawn).

    Examples
    --------
    >>> from convlens.scenes import zca_filters
    >>> s = zca_filters()
    >>> s.filters.shape, bool(s.kernel[3, 3] > 0 > s.kernel[3, 2])
    ((49, 7, 7), True)
    """
    size = check_int("size", size, minimum=2, maximum=32)
    epsilon = check_float("epsilon", epsilon, minimum=0, hint="added to the covariance's eigenvalues")
    seed = check_seed(seed)
    image = photo("camera")
    pw = PatchWhitener(size, epsilon=epsilon, rng=seed).fit(image)
    return ZcaFilters(image, pw.filters_, pw.kernel_, pw.transform(image), seed, PHOTO_SOURCES["camera"])


@frozen
class GaussianSmoothing:
    """A Gaussian kernel used as the weights of a moving average over a real series."""

    years: np.ndarray
    series: np.ndarray
    sigmas: np.ndarray
    weights: tuple[np.ndarray, ...]
    smoothed: tuple[np.ndarray, ...]
    source: str


@scene
def gaussian_smoothing(sigmas: tuple[float, ...] = (1.0, 3.0, 8.0)) -> GaussianSmoothing:
    """The Nile's yearly flow 1871-1970, smoothed by Gaussian-weighted moving averages.

    ``sigmas`` is a non-empty sequence of widths in years, reals in (0, 100].

    Examples
    --------
    >>> from convlens.scenes import gaussian_smoothing
    >>> s = gaussian_smoothing((2.0,))
    >>> bool(abs(s.weights[0].sum() - 1) < 1e-12), s.smoothed[0].shape
    (True, (100,))
    """
    sigmas = check_reals("sigmas", sigmas, minimum=0, maximum=100, min_open=True, hint="in years; the series has 100")
    series = load_series("nile")
    weights = tuple(gaussian_kernel(s, ndim=1) for s in sigmas)
    smoothed = tuple(moving_average(series, w, boundary="reflect") for w in weights)
    return GaussianSmoothing(
        np.arange(1871, 1871 + series.size),
        series,
        np.asarray(sigmas, float),
        weights,
        smoothed,
        SERIES_SOURCES["nile"],
    )


@frozen
class LayerSpeed:
    """FFTConv2d against nn.Conv2d on this machine, same weights, across kernel sizes."""

    kernel_sizes: np.ndarray
    conv2d_ms: np.ndarray
    fftconv2d_ms: np.ndarray
    max_difference: np.ndarray
    input_shape: tuple[int, ...]
    torch_version: str
    threads: int
    source: str


@scene
def conv_layer_speed(
    kernel_sizes: tuple[int, ...] = (3, 7, 15, 31),
    shape: tuple[int, ...] = (1, 4, 96, 96),
    repeats: int = 5,
    threads: int = 1,
) -> LayerSpeed:
    """Forward time of the two layers ('same' padding, as many channels out as in); needs torch (ImportError otherwise).

    Each time is the best of ``repeats`` calls after two warm-up calls, on
    ``threads`` torch threads (restored afterwards).  ``kernel_sizes`` is a
    non-empty sequence of ints in [1, min(H, W)]; ``shape`` is
    ``(N, C, H, W)``, positive ints; ``repeats`` and ``threads`` ints >= 1.

    Examples
    --------
    >>> from convlens.scenes import conv_layer_speed
    >>> s = conv_layer_speed((3,), (1, 2, 32, 32), repeats=1)
    >>> bool(s.max_difference[0] < 1e-3)
    True
    """
    shape = check_shape("shape", shape, ndim=4)
    kernel_sizes = check_ints("kernel_sizes", kernel_sizes, minimum=1, maximum=min(shape[2:]))
    repeats = check_int("repeats", repeats, minimum=1)
    threads = check_int("threads", threads, minimum=1)
    check_alloc(shape, np.float32, what="conv_layer_speed", copies=4)

    import torch

    from ..torch import FFTConv2d

    torch.manual_seed(0)
    x = torch.randn(*shape)
    saved = torch.get_num_threads()
    torch.set_num_threads(threads)  # one thread by default: timings that other busy processes disturb least
    try:
        return _time_layers(torch, FFTConv2d, x, kernel_sizes, repeats, threads)
    finally:
        torch.set_num_threads(saved)


def _time_layers(torch, FFTConv2d, x, kernel_sizes, repeats, threads) -> LayerSpeed:
    shape = tuple(x.shape)
    ref_ms, fft_ms, diffs = [], [], []
    with torch.no_grad(), warnings.catch_warnings():
        # torch's note that its own 'same' padding of an even kernel copies the input: the reference's cost
        warnings.filterwarnings("ignore", message="Using padding='same' with even kernel", category=UserWarning)
        for k in kernel_sizes:
            ref = torch.nn.Conv2d(shape[1], shape[1], k, padding="same").eval()
            layer = FFTConv2d(shape[1], shape[1], k, padding="same").eval()  # eval: weight spectra are cached
            layer.load_state_dict(ref.state_dict())
            times = []
            for module in (ref, layer):
                module(x)  # warm-up: plans, caches, allocator
                module(x)
                best = np.inf
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    module(x)
                    best = min(best, time.perf_counter() - t0)
                times.append(best * 1e3)
            ref_ms.append(times[0])
            fft_ms.append(times[1])
            diffs.append(float((layer(x) - ref(x)).abs().max()))
    return LayerSpeed(
        np.asarray(kernel_sizes), np.asarray(ref_ms), np.asarray(fft_ms), np.asarray(diffs), tuple(shape),
        torch.__version__, int(threads), "random input (torch.manual_seed(0))",
    )  # fmt: skip
