"""The package-wide contract, checked over every public function (docs/architecture.md).

* **dtypes**: each function's array output follows the one dtype rule of
  ``convlens._validation`` (``result_dtype``): float16 is returned as float16,
  float32 and float64 are kept, bool and integers give float64 (the engine's exact
  integer results give int64), complex is kept or refused with a TypeError (never made
  real silently), ``longdouble`` is refused with a TypeError naming it, and the output
  is always in native byte order.  No input is modified.
* **kinds**: a float where an integer is needed (or a bool, or a string where a
  number is needed) is a TypeError that names the argument.
* **memory**: every size a user controls (a kernel's size, a mask's shape, a number of
  steps, a broadcast view of a huge array) is estimated and refused before anything is
  computed, with an ``InsufficientMemoryError`` that names the function the user called.
* **workers**: ``workers=-1`` (all cores, as in SciPy) is accepted wherever ``workers`` is.

Cases that still fail in modules being reworked by their owners are marked
``xfail(strict=True)`` with the owner in the reason, so that each flips to a failure
(and must be unmarked) as soon as it is fixed.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import re
import resource
import signal
import tracemalloc

import numpy as np
import pytest

import convlens as cl
from convlens import compress, diffusion, filters, matching, reference, spectrum, stochastic, timeseries, whiten
from convlens._validation import InsufficientMemoryError, real_dtype, result_dtype

DTYPES = ["float16", "float32", ">f4", ">f8", "int16", "uint8", "bool", "longdouble", "complex64", "complex128"]
HAVE_WIDE = np.dtype(np.longdouble).itemsize > 8  # on some platforms longdouble is float64 itself


def _data(dtype: str, shape: tuple[int, ...]) -> np.ndarray:
    """Seeded data of ``dtype``: positive floats, small integers, mixed booleans, complex with both parts."""
    rng = np.random.default_rng(20261201)
    base = rng.random(shape) + 0.25
    dt = np.dtype(dtype)
    if dt.kind == "b":
        return base > 0.7
    if dt.kind in "iu":
        return np.floor(base * 8).astype(dt)
    if dt.kind == "c":
        return (base + 1j * rng.random(shape)).astype(dt)
    return base.astype(dt)


# --------------------------------------------------------------------------- the dtype table

LENS, REAL_OUT, EXACT, FLOAT64 = "lens", "real-out", "exact", "float64"


@dataclasses.dataclass(frozen=True)
class Case:
    """One public function, called on data ``x`` of one shape; ``rule`` says which row of the table applies."""

    name: str
    owner: str
    call: object  # x -> ndarray
    shape: tuple[int, ...]
    rule: str = LENS


def _ma_features(x):
    return timeseries.local_ar_features(x, np.array([[0.5, 0.25], [0.1, -0.2]]))


def _forecast(x):
    return timeseries.forecast_arima(x, (1, 0, 0), [0.5, 1.0], 3).mean


def _patch(x):
    return whiten.PatchWhitener(3, epsilon=1e-3, rng=0).fit(x).transform(x)


K3 = np.full((3, 3), 1 / 9)

CASES = [
    # engine: x and kernel of the same dtype, so the table's exact-integer row applies
    Case("convolve", "engine", lambda x: cl.convolve(x, x[:3], "same"), (16,), EXACT),
    Case("correlate", "engine", lambda x: cl.correlate(x, x[:3], "same"), (16,), EXACT),
    Case("Convolver", "engine", lambda x: cl.Convolver(x[:3], x.shape, "same", dtype=x.dtype)(x), (16,), EXACT),
    Case(
        "convolve_channels", "engine", lambda x: cl.convolve_channels(x, x[:, :, :3].reshape(1, 2, 3)), (1, 2, 8), EXACT
    ),
    Case("fourier_filter", "engine", lambda x: cl.fourier_filter(x, lambda f: np.exp(-(f**2))), (16,)),
    # spectrum
    Case("log_spectrum", "spectrum", spectrum.log_spectrum, (8, 8), REAL_OUT),
    Case("radial_profile", "spectrum", lambda x: spectrum.radial_profile(x).power, (8, 8), REAL_OUT),
    Case("angular_profile", "spectrum", lambda x: spectrum.angular_profile(x, bins=8).power, (16, 16), REAL_OUT),
    Case("band_levels", "spectrum", lambda x: spectrum.band_levels(x, 8000, frame=64).power, (512,), REAL_OUT),
    # filters
    Case("lowpass", "filters", lambda x: filters.lowpass(x, 0.2), (8, 8)),
    Case("highpass", "filters", lambda x: filters.highpass(x, 0.2), (8, 8)),
    Case("bandpass", "filters", lambda x: filters.bandpass(x, 0.1, 0.3), (8, 8)),
    Case("lowpass padded", "filters", lambda x: filters.lowpass(x, 0.2, boundary="symmetric", pad=4), (8, 8)),
    Case("gaussian", "filters", lambda x: filters.gaussian(x, 1.5), (16, 16)),
    Case("gaussian spectral", "filters", lambda x: filters.gaussian(x, 12.0, method="spectral"), (16, 16)),
    # compress
    Case("keep_frequencies", "compress", lambda x: compress.keep_frequencies(x, 0.5).image, (8, 8)),
    Case(
        "keep_frequencies dft", "compress", lambda x: compress.keep_frequencies(x, 0.5, transform="dft").image, (8, 8)
    ),
    # diffusion
    Case("diffuse", "diffusion", lambda x: diffusion.diffuse(x, 1.0), (16, 16)),
    Case("diffuse wrap", "diffusion", lambda x: diffusion.diffuse(x, 1.0, boundary="wrap"), (16, 16)),
    Case("diffuse_steps", "diffusion", lambda x: diffusion.diffuse_steps(x, K3, 3), (16, 16)),
    Case("propagator", "diffusion", diffusion.propagator, (3, 3)),
    # stochastic
    Case("monte_carlo_convolve", "stochastic", lambda x: stochastic.monte_carlo_convolve(x, K3, rng=0), (8, 8)),
    # matching
    Case("match_template", "matching", lambda x: matching.match_template(x, x[2:6, 3:7]), (16, 16)),
    Case("Template.match", "matching", lambda x: matching.Template(x[2:6, 3:7]).match(x), (16, 16)),
    # timeseries
    Case("moving_average", "timeseries", lambda x: timeseries.moving_average(x, 3), (32,)),
    Case("difference", "timeseries", lambda x: timeseries.difference(x, 1), (32,), EXACT),
    Case("integrate", "timeseries", lambda x: timeseries.integrate(x, x[:1], 1), (32,), EXACT),
    Case("local_ar_features", "timeseries", _ma_features, (32,)),
    Case("forecast_arima", "timeseries", _forecast, (64,)),
    # whiten
    Case("standardize", "whiten", whiten.standardize, (40, 3)),
    Case("pca_whiten", "whiten", lambda x: whiten.pca_whiten(x, epsilon=1e-3), (40, 3)),
    Case("zca_whiten", "whiten", lambda x: whiten.zca_whiten(x, epsilon=1e-3), (40, 3)),
    Case("PatchWhitener", "whiten", _patch, (16, 16)),
    # reference solvers: oracles, always float64 (longdouble still refused)
    Case("heat_explicit", "reference", lambda x: reference.heat_explicit(x, 0.5), (8,), FLOAT64),
    Case("heat_crank_nicolson", "reference", lambda x: reference.heat_crank_nicolson(x, 0.5, steps=4), (8,), FLOAT64),
]


def _dask(name: str, make_args, chunks=8, **kwargs):
    """x -> the Dask adapter's ``name`` on x in chunks, computed; the lazy array must announce the same dtype."""

    def call(x):
        da = pytest.importorskip("dask.array")
        import convlens.dask as cd

        lazy = getattr(cd, name)(da.from_array(x, chunks=chunks), *make_args(x), **kwargs)
        out = lazy.compute(scheduler="synchronous")
        assert lazy.dtype == out.dtype, f"dask {name}: announced {lazy.dtype}, computed {out.dtype}"
        return out

    return call


CASES += [
    Case("dask.convolve", "dask", _dask("convolve", lambda x: (x[:3],), mode="same"), (16,), EXACT),
    Case("dask.correlate", "dask", _dask("correlate", lambda x: (x[:3],), mode="same"), (16,), EXACT),
    Case(
        "dask.fourier_filter",
        "dask",
        _dask("fourier_filter", lambda x: (lambda f: np.exp(-(f**2)),), chunks=(4, -1), axes=1),
        (8, 16),
    ),
    Case("dask.gaussian", "dask", _dask("gaussian", lambda x: (1.5,)), (16, 16)),
    Case("dask.match_template", "dask", _dask("match_template", lambda x: (x[2:6, 3:7].copy(),)), (16, 16)),
]

# Public callables whose output is not an array of the data (kernels built from numbers, scores of a
# search, summaries), with the test that covers their dtype instead.
NOT_DATA = {
    "choose_method": "returns a method name",
    "is_propagator": "returns a bool",
    "orientation": "returns an angle and a confidence (floats); longdouble refusal tested below",
    "find_peaks": "returns positions; tested in test_matching",
    "locate": "returns a position and scores (floats)",
    "convergence": "returns error statistics (float64)",
    "heat_kernel": "built from numbers: float64",
    "mask_to_kernel": "the kernel of a mask: float64",
    "frequency_response": "a response: complex128",
    "arma_to_ma_kernel": "coefficients: float64",
    "arma_to_ar_kernel": "coefficients: float64",
    "simulate_arma": "draws: float64",
    "fit_arima": "calls statsmodels: float64",
    "compare_jpeg": "8-bit images by definition",
    "gaussian_kernel": "built from numbers: float64",
    "box_kernel": "built from numbers: float64",
    "laplacian_kernel": "built from numbers: float64",
    "sobel_kernel": "built from numbers: float64",
    "lowpass_mask": "built from numbers: float64",
    "highpass_mask": "built from numbers: float64",
    "bandpass_mask": "built from numbers: float64",
    "laplacian_operator": "a sparse operator: float64",
    "Peaks": "a result type",
    "Location": "a result type",
    "Standardizer": "the class behind standardize",
    "PCAWhitener": "the class behind pca_whiten",
    "ZCAWhitener": "the class behind zca_whiten",
}

# (case, dtype) -> owner, for cases that fail in modules being reworked now (strict: they must fail).
XFAIL: dict[tuple[str, str], str] = {}


def _expected(case: Case, dtype: str):
    """The output dtype the table gives, or TypeError for a refusal (longdouble)."""
    dt = np.dtype(dtype)
    if dt.kind in "fc" and dt.itemsize > (8 if dt.kind == "f" else 16):
        return TypeError
    if case.rule == FLOAT64:
        return np.dtype(np.float64)
    if case.rule == EXACT:
        return result_dtype(dt, dt, exact_int=True)[0]
    out = result_dtype(dt)[0]
    return real_dtype(out) if case.rule == REAL_OUT else out


def _params():
    for case in CASES:
        for dtype in DTYPES:
            marks = []
            if (case.name, dtype) in XFAIL:
                marks.append(pytest.mark.xfail(strict=True, reason=f"owner: {XFAIL[case.name, dtype]}"))
            yield pytest.param(case, dtype, id=f"{case.name}-{dtype}", marks=marks)


@pytest.mark.parametrize(("case", "dtype"), list(_params()))
def test_output_dtype_follows_the_table(case, dtype):
    if dtype == "longdouble" and not HAVE_WIDE:
        pytest.skip("longdouble is float64 on this platform")
    x = _data(dtype, case.shape)
    before = x.copy()
    expected = _expected(case, dtype)
    if expected is TypeError:
        with pytest.raises(TypeError, match="longdouble"):
            case.call(x)
        return
    try:
        out = np.asarray(case.call(x))
    except TypeError as exc:
        # complex may be refused by a real-only function, with a TypeError (never made real silently)
        assert np.dtype(dtype).kind == "c", f"{case.name} refused {dtype}: {exc}"
        assert re.search(r"complex|real|bool, integer or float", str(exc)), str(exc)
        return
    assert out.dtype == expected, f"{case.name}({dtype}) gave {out.dtype}, the table says {expected}"
    assert out.dtype.isnative, f"{case.name}({dtype}) leaked the byte order: {out.dtype.str}"
    assert np.array_equal(x, before), f"{case.name} modified its input"


def test_every_public_function_is_in_the_dtype_table():
    covered = {c.name.split(" ")[0].split(".")[0] for c in CASES} | set(NOT_DATA)
    public = set()
    for mod in ("spectrum", "filters", "compress", "diffusion", "stochastic", "matching", "timeseries", "whiten"):
        module = importlib.import_module(f"convlens.{mod}")
        public |= {n for n in module.__all__ if callable(getattr(module, n)) and not _is_result_class(module, n)}
    public |= {"convolve", "correlate", "Convolver", "choose_method", "convolve_channels", "fourier_filter"}
    public |= set(reference.__all__)
    assert public - covered == set(), f"public functions missing from the contract: {sorted(public - covered)}"


def _is_result_class(module, name: str) -> bool:
    obj = getattr(module, name)
    return dataclasses.is_dataclass(obj)


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda x: spectrum.orientation(x), id="orientation"),
        pytest.param(lambda x: matching.locate(x.ravel(), x.ravel()[5:40], 100.0), id="locate"),
        pytest.param(lambda x: matching.find_peaks(x), id="find_peaks"),
    ],
)
def test_summaries_refuse_longdouble_too(call):
    if not HAVE_WIDE:
        pytest.skip("longdouble is float64 on this platform")
    x = _data("longdouble", (16, 16))
    with pytest.raises(TypeError, match="longdouble"):
        call(x)


# --------------------------------------------------------------------------- wrong kinds are TypeErrors

X8 = _data("float64", (8, 8))
S64 = _data("float64", (64,))

KIND_CASES = [
    ("find_peaks", "matching", "n", lambda: matching.find_peaks(X8, n=1.5)),
    ("find_peaks", "matching", "min_distance", lambda: matching.find_peaks(X8, min_distance=1.5)),
    ("difference", "timeseries", "d", lambda: timeseries.difference(S64, d=1.5)),
    ("box_kernel", "filters", "size", lambda: filters.box_kernel(2.5)),
    ("box_kernel bool", "filters", "size", lambda: filters.box_kernel(True)),
    ("gaussian_kernel", "filters", "sigma", lambda: filters.gaussian_kernel("2")),
    ("lowpass_mask", "filters", "shape", lambda: filters.lowpass_mask((8, 8.5), 0.1)),
    ("lowpass", "filters", "cutoff", lambda: filters.lowpass(X8, "0.1")),
    ("heat_kernel", "diffusion", "shape", lambda: diffusion.heat_kernel((8, 8.5), 1.0)),
    ("diffuse", "diffusion", "t", lambda: diffusion.diffuse(X8, "1")),
    ("diffuse_steps", "diffusion", "n", lambda: diffusion.diffuse_steps(X8, K3, 2.5)),
    ("radial_profile", "spectrum", "bins", lambda: spectrum.radial_profile(X8, bins=2.5)),
    ("angular_profile", "spectrum", "bins", lambda: spectrum.angular_profile(X8, bins=True)),
    ("band_levels", "spectrum", "frame", lambda: spectrum.band_levels(S64, 8000, frame=32.0)),
    ("orientation", "spectrum", "fmin", lambda: spectrum.orientation(X8, fmin="0")),
    ("keep_frequencies", "compress", "fraction", lambda: compress.keep_frequencies(X8, "0.5")),
    ("monte_carlo_convolve", "stochastic", "samples", lambda: stochastic.monte_carlo_convolve(X8, K3, 2.5)),
    ("simulate_arma", "timeseries", "nsample", lambda: timeseries.simulate_arma([1], [1], 10.5)),
    ("arma_to_ma_kernel", "timeseries", "n", lambda: timeseries.arma_to_ma_kernel([1, -0.5], [1], 4.5)),
    ("forecast_arima", "timeseries", "steps", lambda: timeseries.forecast_arima(S64, (1, 0, 0), [0.5, 1.0], 2.5)),
    ("moving_average", "timeseries", "window", lambda: timeseries.moving_average(S64, 2.5)),
    ("match_template", "matching", "min_overlap", lambda: matching.match_template(X8, X8[:3, :3], min_overlap="a")),
    ("locate", "matching", "sample_rate", lambda: matching.locate(S64, S64[:8], "8000")),
    ("convolve", "engine", "workers", lambda: cl.convolve(S64, S64[:3], workers=1.5)),
    ("Convolver", "engine", "shape", lambda: cl.Convolver(S64[:3], (8.5,))),
    (
        "convolve_channels",
        "engine",
        "groups",
        lambda: cl.convolve_channels(np.ones((1, 2, 8)), np.ones((2, 1, 3)), groups=1.5),
    ),
    ("fourier_filter", "engine", "pad", lambda: cl.fourier_filter(S64, lambda f: f * 0 + 1, boundary="edge", pad=1.5)),
    ("heat_explicit", "reference", "steps", lambda: reference.heat_explicit(S64, 1.0, steps=2.5)),
    ("laplacian_operator", "reference", "shape", lambda: reference.laplacian_operator((4, 4.5))),
    ("PatchWhitener", "whiten", "size", lambda: whiten.PatchWhitener(2.5).fit(X8)),
    ("PatchWhitener n_patches", "whiten", "n_patches", lambda: whiten.PatchWhitener(3, n_patches=10.5).fit(X8)),
    ("pca_whiten", "whiten", "n_components", lambda: whiten.pca_whiten(X8, n_components="2")),
    ("log_spectrum", "spectrum", "window", lambda: spectrum.log_spectrum(X8, window=3)),
    ("convolve mode", "engine", "mode", lambda: cl.convolve(S64, S64[:3], mode=3)),
    ("keep_frequencies transform", "compress", "transform", lambda: compress.keep_frequencies(X8, 0.5, transform=None)),
]

KIND_XFAIL: dict[str, str] = {}


def _kind_params():
    for name, _owner, arg, call in KIND_CASES:
        marks = [pytest.mark.xfail(strict=True, reason=f"owner: {KIND_XFAIL[name]}")] if name in KIND_XFAIL else []
        yield pytest.param(arg, call, id=name, marks=marks)


@pytest.mark.parametrize(("arg", "call"), list(_kind_params()))
def test_wrong_kind_is_a_type_error_naming_the_argument(arg, call):
    with pytest.raises(TypeError, match=rf"\b{re.escape(arg)}\b"):
        call()


# --------------------------------------------------------------------------- the memory guard

HUGE_2D = np.broadcast_to(np.float32(1), (200_000, 200_000))
HUGE_1D = np.broadcast_to(np.float64(1), (10**11,))

MEMORY_CASES = [
    ("gaussian_kernel", "filters", lambda: filters.gaussian_kernel(1e6)),
    ("box_kernel", "filters", lambda: filters.box_kernel(100_000)),
    ("lowpass_mask", "filters", lambda: filters.lowpass_mask((200_000, 200_000), 0.1)),
    ("highpass_mask", "filters", lambda: filters.highpass_mask((200_000, 200_000), 0.1)),
    ("bandpass_mask", "filters", lambda: filters.bandpass_mask((200_000, 200_000), 0.1, 0.2)),
    ("frequency_response", "filters", lambda: filters.frequency_response(np.ones((3, 3)), (200_000, 200_000))),
    ("lowpass", "filters", lambda: filters.lowpass(HUGE_2D, 0.1)),
    ("gaussian", "filters", lambda: filters.gaussian(HUGE_2D, 2.0)),
    ("heat_kernel", "diffusion", lambda: diffusion.heat_kernel((200_000, 200_000), 1.0)),
    ("diffuse", "diffusion", lambda: diffusion.diffuse(HUGE_2D, 1.0)),
    ("diffuse_steps", "diffusion", lambda: diffusion.diffuse_steps(HUGE_2D, K3, 3)),
    ("forecast_arima", "timeseries", lambda: timeseries.forecast_arima(S64, (1, 0, 0), [0.5, 1.0], 10**9)),
    ("simulate_arma", "timeseries", lambda: timeseries.simulate_arma([1, -0.5], [1], 10**11)),
    ("arma_to_ma_kernel", "timeseries", lambda: timeseries.arma_to_ma_kernel([1, -0.5], [1], 10**11)),
    ("arma_to_ar_kernel", "timeseries", lambda: timeseries.arma_to_ar_kernel([1, -0.5], [1], 10**11)),
    ("moving_average", "timeseries", lambda: timeseries.moving_average(HUGE_1D, 5)),
    ("match_template", "matching", lambda: matching.match_template(HUGE_2D, np.ones((8, 8), np.float32) + np.eye(8))),
    ("convolve", "engine", lambda: cl.convolve(HUGE_2D, np.ones((3000, 3000), np.float32), "same", method="fft")),
    ("fourier_filter", "engine", lambda: cl.fourier_filter(HUGE_2D, lambda fy, fx: fy * 0 + 1)),
    ("log_spectrum", "spectrum", lambda: spectrum.log_spectrum(HUGE_2D)),
    ("radial_profile", "spectrum", lambda: spectrum.radial_profile(HUGE_2D)),
    ("angular_profile", "spectrum", lambda: spectrum.angular_profile(HUGE_2D)),
    ("orientation", "spectrum", lambda: spectrum.orientation(HUGE_2D)),
    ("band_levels", "spectrum", lambda: spectrum.band_levels(np.zeros(10**7, np.float32), 8000, frame=8192, hop=1)),
    ("keep_frequencies", "compress", lambda: compress.keep_frequencies(HUGE_2D, 0.1)),
    ("monte_carlo_convolve", "stochastic", lambda: stochastic.monte_carlo_convolve(HUGE_2D, K3)),
    ("heat_explicit", "reference", lambda: reference.heat_explicit(HUGE_2D, 1.0)),
    ("laplacian_operator", "reference", lambda: reference.laplacian_operator((200_000, 200_000))),
    ("zca_whiten", "whiten", lambda: whiten.zca_whiten(np.broadcast_to(np.arange(3.0)[:, None], (3, 10**6)))),
    ("PatchWhitener.fit", "whiten", lambda: whiten.PatchWhitener(3).fit(HUGE_2D)),
    ("PatchWhitener.fit size", "whiten", lambda: whiten.PatchWhitener(500, epsilon=1.0).fit(np.ones((600, 600)))),
    ("radial_profile bins", "spectrum", lambda: spectrum.radial_profile(X8, bins=10**11)),
    ("angular_profile bins", "spectrum", lambda: spectrum.angular_profile(X8, bins=10**11)),
    ("standardize", "whiten", lambda: whiten.standardize(np.broadcast_to(1.0, (10**7, 10**4)))),
    ("pca_whiten", "whiten", lambda: whiten.pca_whiten(np.broadcast_to(1.0, (10**7, 10**4)))),
    ("convergence", "stochastic", lambda: stochastic.convergence(HUGE_2D, K3, [1, 2])),
]

MEMORY_XFAIL: dict[str, str] = {}


class _TookTooLong(Exception):
    pass


def _address_space() -> int:
    """This process's virtual memory size in bytes (Linux)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize in /proc/self/status")


def _memory_params():
    for name, _owner, call in MEMORY_CASES:
        marks = [pytest.mark.xfail(strict=True, reason=f"owner: {MEMORY_XFAIL[name]}")] if name in MEMORY_XFAIL else []
        yield pytest.param(name, call, id=name, marks=marks)


@pytest.mark.parametrize(("name", "call"), list(_memory_params()))
def test_memory_guard_refuses_up_front_naming_the_users_function(name, call):
    """Refused before computing: an InsufficientMemoryError naming the function, little memory touched."""

    def alarm(signum, frame):
        raise _TookTooLong(f"{name} computed instead of refusing up front")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(10)  # a watchdog against a computation that runs for minutes, not a timing test
    limits = resource.getrlimit(resource.RLIMIT_AS)
    # a function without a guard must fail here rather than take the machine's memory: the process may
    # not grow by more than 4 GiB of address space during the call
    cap = _address_space() + (4 << 30)
    if limits[1] == resource.RLIM_INFINITY or cap < limits[1]:
        resource.setrlimit(resource.RLIMIT_AS, (cap, limits[1]))
    tracemalloc.start()
    try:
        with pytest.raises(InsufficientMemoryError) as info:
            call()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        resource.setrlimit(resource.RLIMIT_AS, limits)
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    function = name.split(" ")[0]
    function = function.split(".")[0] if function.startswith("PatchWhitener") else function
    assert re.search(rf"\b{re.escape(function)}\b", str(info.value)), str(info.value)
    assert re.search(r"about \d+\.\d\d GiB", str(info.value)), str(info.value)
    assert peak < 256 << 20, f"{name} allocated {peak / 2**20:.0f} MiB before refusing"


# --------------------------------------------------------------------------- workers=-1

WORKER_CASES = [
    ("convolve", lambda w: cl.convolve(S64, S64[:3], workers=w)),
    ("correlate", lambda w: cl.correlate(S64, S64[:3], workers=w)),
    ("Convolver", lambda w: cl.Convolver(S64[:3], S64.shape, workers=w)(S64)),
    ("choose_method", lambda w: cl.choose_method((64,), (3,), workers=w)),
    ("convolve_channels", lambda w: cl.convolve_channels(np.ones((1, 2, 8)), np.ones((1, 2, 3)), workers=w)),
    ("fourier_filter", lambda w: cl.fourier_filter(S64, lambda f: f * 0 + 1, workers=w)),
    ("log_spectrum", lambda w: spectrum.log_spectrum(X8, workers=w)),
    ("radial_profile", lambda w: spectrum.radial_profile(X8, workers=w)),
    ("angular_profile", lambda w: spectrum.angular_profile(X8, workers=w)),
    ("orientation", lambda w: spectrum.orientation(X8, workers=w)),
    ("band_levels", lambda w: spectrum.band_levels(S64, 8000, frame=32, workers=w)),
    ("lowpass", lambda w: filters.lowpass(X8, 0.2, workers=w)),
    ("highpass", lambda w: filters.highpass(X8, 0.2, workers=w)),
    ("bandpass", lambda w: filters.bandpass(X8, 0.1, 0.3, workers=w)),
    ("gaussian", lambda w: filters.gaussian(X8, 1.0, workers=w)),
    ("keep_frequencies", lambda w: compress.keep_frequencies(X8, 0.5, workers=w)),
    ("diffuse", lambda w: diffusion.diffuse(X8, 1.0, workers=w)),
    ("diffuse_steps", lambda w: diffusion.diffuse_steps(X8, K3, 2, workers=w)),
    ("match_template", lambda w: matching.match_template(X8, X8[:3, :3], workers=w)),
    ("Template", lambda w: matching.Template(X8[:3, :3], workers=w).match(X8)),
    ("locate", lambda w: matching.locate(S64, S64[10:20], 100.0, workers=w)),
    ("moving_average", lambda w: timeseries.moving_average(S64, 3, workers=w)),
    ("local_ar_features", lambda w: timeseries.local_ar_features(S64, np.array([[0.5, 0.25]]), workers=w)),
    ("PatchWhitener.transform", lambda w: whiten.PatchWhitener(3, rng=0).fit(X8).transform(X8, workers=w)),
]


def _dask_workers(name, *args, **kwargs):
    def call(w):
        da = pytest.importorskip("dask.array")
        import convlens.dask as cd

        return getattr(cd, name)(da.from_array(X8, chunks=(4, -1)), *args, workers=w, **kwargs).compute(
            scheduler="synchronous"
        )

    return call


WORKER_CASES += [
    ("dask.convolve", _dask_workers("convolve", K3)),
    ("dask.correlate", _dask_workers("correlate", K3)),
    ("dask.fourier_filter", _dask_workers("fourier_filter", lambda f: f * 0 + 1, axes=1)),
    ("dask.gaussian", _dask_workers("gaussian", 1.0)),
    ("dask.match_template", _dask_workers("match_template", X8[:3, :3].copy())),
]

WORKERS_XFAIL: dict[str, str] = {}


def _worker_params():
    for name, call in WORKER_CASES:
        marks = (
            [pytest.mark.xfail(strict=True, reason=f"owner: {WORKERS_XFAIL[name]}")] if name in WORKERS_XFAIL else []
        )
        yield pytest.param(call, id=name, marks=marks)


@pytest.mark.parametrize("call", list(_worker_params()))
def test_workers_minus_one_means_all_cores(call):
    assert call(-1) is not None


def test_every_function_with_workers_is_covered():
    covered = {name.split(".")[0] for name, _ in WORKER_CASES}
    found = set()
    for mod in ("spectrum", "filters", "compress", "diffusion", "stochastic", "matching", "timeseries", "whiten"):
        module = importlib.import_module(f"convlens.{mod}")
        for n in module.__all__:
            obj = getattr(module, n)
            if callable(obj) and "workers" in _parameters(obj):
                found.add(n)
            if inspect.isclass(obj):
                found |= {n for m in vars(obj).values() if callable(m) and "workers" in _parameters(m)}
    for n in ("convolve", "correlate", "Convolver", "choose_method", "convolve_channels", "fourier_filter"):
        found.add(n)
    assert found - covered == set(), f"functions taking workers without a workers=-1 test: {sorted(found - covered)}"


def _parameters(obj) -> set[str]:
    try:
        return set(inspect.signature(obj).parameters)
    except (TypeError, ValueError):
        return set()
