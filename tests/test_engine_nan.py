"""nan_policy: 'propagate' equals a direct sum (at FFT speed), 'raise' reports, 'interpolate' equals astropy.

Facts about astropy's ``convolve_fft(..., nan_treatment='interpolate')`` that these tests pin down
(measured with astropy 7):

* ``boundary='wrap'`` equals convlens ``boundary='wrap'`` everywhere (odd kernels).
* ``boundary='fill', fill_value=0`` (and ``boundary=None``) counts the zeros outside as data: it equals
  convlens ``boundary='constant'`` (fill 0).  ``boundary='fill', fill_value=np.nan`` renormalizes at the
  edges over the samples inside only: it equals convlens ``boundary='constant', fill_value=np.nan``.
* For a kernel whose sum is not 1, ``normalize_kernel=True`` returns the normalized average; convlens
  keeps the kernel's gain (result = normalized average x sum(kernel)), i.e. it equals astropy's
  ``normalize_kernel=False``.
* Even kernels: astropy centres them one sample later than scipy's 'same' (which convlens follows).
* Outputs whose whole window is non-finite: astropy returns 0, convlens returns NaN.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy import signal

from _engine_ref import BOUNDARIES, METHODS, MODES, direct_sum, ref_convolve
from conftest import assert_close, tol_for
from convlens import Convolver, convolve, convolve_channels, correlate

astropy_conv = pytest.importorskip("astropy.convolution")

KERNELS_1D = {
    "positive": np.array([0.5, 1.0, 2.0]),
    "negative": np.array([-1.0, -0.5, -2.0, -0.25]),
    "mixed": np.array([1.0, -2.0, 0.5, -0.5]),
    "zero-tap": np.array([1.0, 0.0, 2.0]),
    "zero-edge-taps": np.array([0.0, 1.5, -1.0, 0.0]),
}


def _assert_same_nonfinite(got, ref, dtype=None, err_msg=""):
    """Same NaN, +inf, -inf positions as the direct sum, and close finite values."""
    got, ref = np.asarray(got), np.asarray(ref)
    assert got.shape == ref.shape, err_msg
    assert np.array_equal(np.isnan(got), np.isnan(ref)), f"NaN positions differ {err_msg}"
    if got.dtype.kind == "f":
        assert np.array_equal(np.isposinf(got), np.isposinf(ref)), f"+inf positions differ {err_msg}"
        assert np.array_equal(np.isneginf(got), np.isneginf(ref)), f"-inf positions differ {err_msg}"
    fin = np.isfinite(ref)
    assert np.isfinite(got[fin]).all(), err_msg
    tol = tol_for(dtype if dtype is not None else got.dtype)
    scale = max(1.0, float(np.abs(ref[fin]).max())) if fin.any() else 1.0
    if fin.any():
        err = float(np.abs(got[fin].astype(np.complex128) - ref[fin]).max())
        assert err <= tol * scale * 10, f"max error {err:.3g} {err_msg}"


def _sprinkle(rng, x, values, count):
    x = x.copy()
    flat = x.reshape(-1)
    idx = rng.choice(flat.size, size=min(count, flat.size), replace=False)
    flat[idx] = rng.choice(values, size=idx.size)
    return x


# -- propagate ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("kname", list(KERNELS_1D))
@pytest.mark.parametrize("bad", ["nan", "+inf", "-inf", "mixed"])
def test_propagate_equals_direct_sum_1d(rng, bad, kname, method):
    values = {"nan": [np.nan], "+inf": [np.inf], "-inf": [-np.inf], "mixed": [np.nan, np.inf, -np.inf]}[bad]
    k = KERNELS_1D[kname]
    for trial in range(4):
        x = _sprinkle(rng, rng.standard_normal(40), values, 1 + trial)
        for mode in MODES:
            for boundary in BOUNDARIES:
                got = convolve(x, k, mode, boundary=boundary, fill_value=0.5, method=method)
                ref = direct_sum(x, k, mode, boundary=boundary, fill_value=0.5)
                _assert_same_nonfinite(got, ref, err_msg=f"{mode} {boundary} x={x}")


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_propagate_equals_direct_sum_nd(rng, method, dtype):
    for xs, ks in [((9, 11), (3, 4)), ((6, 5, 7), (2, 3, 3)), ((5, 4), (7, 2))]:
        k = rng.integers(-2, 3, ks).astype(dtype)  # positive, negative and zero taps
        x = _sprinkle(rng, rng.standard_normal(xs), [np.nan, np.inf, -np.inf], 4).astype(dtype)
        for mode in MODES:
            if mode == "valid" and any(b > a for a, b in zip(xs, ks)):
                continue
            for boundary in BOUNDARIES:
                got = convolve(x, k, mode, boundary=boundary, method=method)
                assert got.dtype == dtype
                ref = direct_sum(x, k, mode, boundary=boundary)
                _assert_same_nonfinite(got, ref, dtype=dtype, err_msg=f"{xs} {ks} {mode} {boundary}")


@pytest.mark.parametrize("method", METHODS)
def test_propagate_with_nonfinite_fill_value(rng, method):
    x = rng.standard_normal((8, 9))
    k = rng.standard_normal((3, 2))
    for fill in (np.nan, np.inf, -np.inf):
        for mode in MODES:
            got = convolve(x, k, mode, boundary="constant", fill_value=fill, method=method)
            _assert_same_nonfinite(got, direct_sum(x, k, mode, fill_value=fill), err_msg=f"{fill} {mode}")


@pytest.mark.parametrize("method", METHODS)
def test_propagate_with_axes_and_correlate(rng, method):
    x = _sprinkle(rng, rng.standard_normal((3, 20, 6)), [np.nan, np.inf], 5)
    k = np.array([1.0, 0.0, -2.0, 0.5])
    got = convolve(x, k, "same", axes=1, boundary="reflect", method=method)
    _assert_same_nonfinite(got, direct_sum(x, k, "same", axes=1, boundary="reflect"))
    got = correlate(x, k, "full", axes=-1, method=method)
    _assert_same_nonfinite(got, direct_sum(x, k[::-1], "full", axes=-1))


def test_propagate_is_local_on_the_fft_path(rng):
    """One NaN in a large array spoils exactly the kernel's footprint, not the whole FFT output."""
    x = rng.standard_normal((256, 256))
    x[100, 37] = np.nan
    k = rng.standard_normal((31, 31))
    for method in ("fft", "overlap-add", "auto"):
        y = convolve(x, k, "same", method=method)
        assert np.isnan(y).sum() == 31 * 31
        assert np.isnan(y[100 - 15 : 100 + 16, 37 - 15 : 37 + 16]).all()
    ref = convolve(np.nan_to_num(x), k, "same", method="fft")
    ok = ~np.isnan(y)
    assert_close(y[ok], ref[ok])


def test_propagate_complex_nan(rng):
    x = rng.standard_normal(30) + 1j * rng.standard_normal(30)
    x[[4, 17]] = complex(np.nan, 0), complex(0, np.nan)
    k = np.array([1.0 + 1j, 0, 2.0])
    for method in METHODS:
        got = convolve(x, k, "same", method=method)
        ref = direct_sum(x, k, "same")
        assert np.array_equal(np.isnan(got), np.isnan(ref)), method
        fin = ~np.isnan(ref)
        assert_close(got[fin], ref[fin])


def test_propagate_through_a_plan(rng):
    plan = Convolver(np.array([[1.0, -1.0], [0.0, 2.0]]), (10, 12), "same", boundary="edge", method="fft")
    for _ in range(3):
        x = _sprinkle(rng, rng.standard_normal((10, 12)), [np.nan, np.inf, -np.inf], 3)
        _assert_same_nonfinite(plan(x), direct_sum(x, plan.kernel, "same", boundary="edge"))
    # and a clean input after a dirty one is clean
    x = rng.standard_normal((10, 12))
    assert np.isfinite(plan(x)).all()


def test_default_policy_is_propagate():
    y = convolve([1.0, np.nan, 1.0, 1.0, 1.0, 1.0], [1, 1], mode="valid")
    assert np.array_equal(np.isnan(y), [True, True, False, False, False])


# -- raise --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", [*METHODS, "auto"])
def test_raise_reports_count_and_first_index(method):
    x = np.zeros((4, 5))
    x[1, 3] = np.nan
    x[2, 0] = np.inf
    x[3, 4] = -np.inf
    msg = re.escape("x contains 3 non-finite value(s)") + r".*first is at index \(1, 3\)"
    with pytest.raises(ValueError, match=msg) as info:
        convolve(x, np.ones((2, 2)), method=method, nan_policy="raise")
    assert "nan_policy" in str(info.value)
    with pytest.raises(ValueError, match=msg):
        correlate(x, np.ones((2, 2)), "same", method=method, nan_policy="raise")
    with pytest.raises(ValueError, match=msg):
        Convolver(np.ones((2, 2)), (4, 5), nan_policy="raise", method=method)(x)


def test_raise_counts_a_single_inf_and_accepts_finite(rng):
    x = rng.standard_normal(10).astype(np.float32)
    assert np.isfinite(convolve(x, [1.0, 2.0], nan_policy="raise")).all()
    x[7] = -np.inf
    with pytest.raises(ValueError, match=r"1 non-finite value.*index \(7,\)"):
        convolve(x, [1.0, 2.0], nan_policy="raise")


def test_raise_on_complex_nan():
    x = np.ones(6, dtype=np.complex128)
    x[2] = complex(1, np.nan)
    with pytest.raises(ValueError, match=r"1 non-finite.*index \(2,\)"):
        convolve(x, [1, 1], nan_policy="raise")


def test_raise_when_finite_values_overflow_the_sum_is_not_a_false_alarm():
    """A finite input whose sum overflows (the fast check) must not be reported as non-finite."""
    x = np.full(8, np.finfo(np.float64).max / 2)
    y = convolve(x, [0.25, 0.25], "valid", nan_policy="raise")
    assert np.isfinite(y).all()


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("fill", [np.nan, np.inf])
def test_raise_with_nonfinite_fill_value(method, fill):
    """A non-finite fill with nan_policy='raise': refused naming fill_value, or at most propagated; never interpolated."""
    x = np.arange(1, 6.0)
    for k in ([1.0, 1.0], [1.0, -1.0]):
        try:
            y = convolve(x, k, "full", fill_value=fill, nan_policy="raise", method=method)
        except ValueError as exc:
            assert "fill_value" in str(exc), str(exc)
        else:
            _assert_same_nonfinite(y, direct_sum(x, k, "full", fill_value=fill))


def test_nonfinite_kernel_is_refused():
    with pytest.raises(ValueError, match="kernel must contain only finite values"):
        convolve(np.ones(5), [1.0, np.nan])
    with pytest.raises(ValueError, match="kernel must contain only finite values"):
        correlate(np.ones(5), [np.inf, 1.0], nan_policy="interpolate")


# -- interpolate --------------------------------------------------------------------------------------------------


def _nan_image(rng, shape=(24, 31), holes=12):
    x = rng.standard_normal(shape)
    x = _sprinkle(rng, x, [np.nan], holes)
    x[5:8, 10:12] = np.nan  # a small hole
    x[0, :3] = np.nan  # on the edge
    return x


def _astropy(x, k, **kw):
    return astropy_conv.convolve_fft(x, k, nan_treatment="interpolate", **kw)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("ks", [(3, 3), (5, 3), (1, 7), (9, 5)])
def test_interpolate_equals_astropy_wrap(rng, ks, method):
    x = _nan_image(rng)
    k = rng.random(ks)
    k /= k.sum()
    ref = _astropy(x, k, boundary="wrap", normalize_kernel=True)
    got = convolve(x, k, "same", boundary="wrap", nan_policy="interpolate", method=method)
    assert_close(got, ref)


@pytest.mark.parametrize("method", METHODS)
def test_interpolate_fill_edge_semantics_match_astropy(rng, method):
    x = _nan_image(rng)
    k = rng.random((5, 3))
    k /= k.sum()
    # NaN outside: astropy and convlens both renormalize over the samples inside at the edges
    got_nan = convolve(x, k, "same", boundary="constant", fill_value=np.nan, nan_policy="interpolate", method=method)
    assert_close(got_nan, _astropy(x, k, boundary="fill", fill_value=np.nan))
    # zeros outside are data for both
    got_zero = convolve(x, k, "same", boundary="constant", nan_policy="interpolate", method=method)
    assert_close(got_zero, _astropy(x, k, boundary="fill", fill_value=0.0))
    # the two differ at the edges but agree in the interior (windows inside x)
    assert np.abs(got_nan - got_zero)[np.isfinite(got_nan)].max() > 1e-3
    assert_close(got_nan[2:-2, 1:-1], got_zero[2:-2, 1:-1])
    for boundary in ("reflect", "symmetric", "edge", "wrap"):
        other = convolve(x, k, "same", boundary=boundary, nan_policy="interpolate", method=method)
        assert_close(other[2:-2, 1:-1], got_zero[2:-2, 1:-1], err_msg=boundary)


def test_interpolate_keeps_the_kernel_gain(rng):
    """Unnormalized kernel: convlens = astropy(normalize_kernel=False) = sum(k) * astropy(normalize_kernel=True)."""
    x = _nan_image(rng)
    k = 3.0 * rng.random((3, 5))
    got = convolve(x, k, "same", boundary="wrap", nan_policy="interpolate")
    assert_close(got, _astropy(x, k, boundary="wrap", normalize_kernel=False))
    assert_close(got, k.sum() * _astropy(x, k, boundary="wrap", normalize_kernel=True))


def test_interpolate_even_kernel_is_scipy_centred(rng):
    """astropy centres an even kernel one sample later than scipy's 'same'; convlens follows scipy."""
    x = _nan_image(rng)
    k = rng.random((4, 6))
    k /= k.sum()
    got = convolve(x, k, "same", boundary="wrap", nan_policy="interpolate")
    ref = np.roll(_astropy(x, k, boundary="wrap"), (1, 1), axis=(0, 1))
    assert_close(got, ref)


def test_interpolate_all_nan_window_gives_nan(rng):
    x = np.ones((12, 12))
    x[3:9, 3:9] = np.nan
    k = np.full((3, 3), 1 / 9)
    got = convolve(x, k, "same", boundary="wrap", nan_policy="interpolate")
    assert np.array_equal(np.isnan(got), np.pad(np.ones((4, 4), bool), 4))  # the 4x4 core of the hole
    assert_close(got[~np.isnan(got)], np.ones(144 - 16))
    ref = _astropy(x, k, boundary="wrap")
    assert np.all(ref[4:8, 4:8] == 0)  # astropy fills empty windows with 0 instead
    assert_close(got[~np.isnan(got)], ref[~np.isnan(got)])


@pytest.mark.parametrize("method", METHODS)
def test_interpolate_1d_and_3d_and_float32(rng, method):
    x = _sprinkle(rng, rng.standard_normal(100), [np.nan, np.inf], 10)
    k = np.array([1.0, 2.0, 3.0, 2.0, 1.0]) / 9
    ref = _astropy(np.where(np.isfinite(x), x, np.nan), k, boundary="wrap")
    assert_close(convolve(x, k, "same", boundary="wrap", nan_policy="interpolate", method=method), ref)
    x32 = x.astype(np.float32)
    got32 = convolve(x32, k.astype(np.float32), "same", boundary="wrap", nan_policy="interpolate", method=method)
    assert got32.dtype == np.float32
    assert_close(got32, ref, dtype=np.float32)
    x3 = _sprinkle(rng, rng.standard_normal((7, 8, 9)), [np.nan], 20)
    k3 = rng.random((3, 3, 3))
    k3 /= k3.sum()
    got3 = convolve(x3, k3, "same", boundary="wrap", nan_policy="interpolate", method=method)
    assert_close(got3, _astropy(x3, k3, boundary="wrap"))


@pytest.mark.parametrize("method", METHODS)
def test_interpolate_complex(rng, method):
    """Complex data: the normalized convolution of the finite samples, numerator and denominator separately."""
    x = _nan_image(rng) + 1j * rng.standard_normal((24, 31))
    k = rng.random((3, 5))
    got = convolve(x, k, "same", boundary="wrap", nan_policy="interpolate", method=method)
    fin = np.isfinite(x)
    num = ref_convolve(np.where(fin, x, 0), k, "same", boundary="wrap")
    den = ref_convolve(fin.astype(float), k, "same", boundary="wrap")
    assert got.dtype == np.complex128
    assert_close(got, num / den * k.sum())


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("mode", ["full", "valid"])
def test_interpolate_full_and_valid_modes(rng, method, mode):
    x = _nan_image(rng)
    k = rng.random((3, 4))
    got = convolve(x, k, mode, boundary="constant", fill_value=np.nan, nan_policy="interpolate", method=method)
    fin = np.isfinite(x)
    num = direct_sum(np.where(fin, x, 0), k, mode)
    den = direct_sum(fin.astype(float), k, mode)
    with np.errstate(invalid="ignore", divide="ignore"):
        ref = num / den * k.sum()
    ref[den == 0] = np.nan
    assert_close(got, ref)


@pytest.mark.parametrize("method", METHODS)
def test_interpolate_through_a_plan_and_correlate(rng, method):
    k = rng.random((3, 5))
    k /= k.sum()
    plan = Convolver(k, (24, 31), "same", boundary="wrap", nan_policy="interpolate", method=method)
    for _ in range(2):
        x = _nan_image(rng)
        assert_close(plan(x), _astropy(x, k, boundary="wrap"))
        got = correlate(x, k, "same", boundary="wrap", nan_policy="interpolate", method=method)
        assert_close(got, _astropy(x, k[::-1, ::-1], boundary="wrap"))


def test_interpolate_without_nan_is_plain_convolution(rng):
    x = rng.standard_normal((10, 11))
    k = rng.standard_normal((3, 3))
    for boundary in BOUNDARIES:
        assert_close(
            convolve(x, k, "same", boundary=boundary, nan_policy="interpolate"),
            convolve(x, k, "same", boundary=boundary),
        )


def test_interpolate_zero_sum_kernel_is_refused():
    x = np.ones(10)
    x[3] = np.nan
    with pytest.raises(ValueError, match=r"nan_policy='interpolate'.*sum is not zero"):
        convolve(x, [1.0, -1.0], nan_policy="interpolate")


# -- Hypothesis: propagate equals the direct sum for any placement ------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    ndim=st.integers(1, 3),
    seed=st.integers(0, 2**32 - 1),
    mode=st.sampled_from(MODES),
    boundary=st.sampled_from(BOUNDARIES),
    method=st.sampled_from([*METHODS, "auto"]),
    nbad=st.integers(1, 6),
    single=st.booleans(),
)
def test_property_propagate_equals_direct_sum(ndim, seed, mode, boundary, method, nbad, single):
    rng = np.random.default_rng(seed)
    xs = tuple(int(v) for v in rng.integers(2, 12 if ndim < 3 else 6, ndim))
    ks = tuple(int(rng.integers(1, n + 1 if mode == "valid" else n + 3)) for n in xs)
    dtype = np.float32 if single else np.float64
    x = _sprinkle(rng, rng.standard_normal(xs), [np.nan, np.inf, -np.inf], nbad).astype(dtype)
    k = rng.integers(-2, 3, ks).astype(dtype)  # zero taps included
    got = convolve(x, k, mode, boundary=boundary, method=method)
    _assert_same_nonfinite(got, direct_sum(x, k, mode, boundary=boundary), dtype=dtype)


# -- real data ----------------------------------------------------------------------------------------------------


def test_interpolate_real_gaps_in_the_co2_record():
    """The Mauna Loa weekly CO2 record (statsmodels) has real gaps: fill them by normalized smoothing, as astropy does."""
    sm = pytest.importorskip("statsmodels.api")
    co2 = sm.datasets.co2.load_pandas().data["co2"].to_numpy(dtype=float)
    assert np.isnan(co2).sum() > 10
    k = np.hanning(9)[1:-1]
    k /= k.sum()
    ref = astropy_conv.convolve_fft(co2, k, nan_treatment="interpolate", boundary="fill", fill_value=np.nan)
    # gaps longer than the window leave outputs with no finite sample: NaN here, 0 in astropy
    empty = np.convolve(np.isfinite(co2).astype(float), np.ones(7), "same") == 0
    assert empty.any() and np.all(ref[empty] == 0)
    for method in METHODS:
        got = convolve(co2, k, "same", boundary="constant", fill_value=np.nan, nan_policy="interpolate", method=method)
        assert np.array_equal(np.isnan(got), empty), method
        assert_close(got[~empty], ref[~empty], err_msg=method)
    # propagate: a gap spoils exactly the outputs whose 7-sample window covers it
    prop = convolve(co2, k, "same", method="fft")
    _assert_same_nonfinite(prop, direct_sum(co2, k, "same"))


def test_interpolate_masked_photograph():
    """A photograph with 5% of its pixels masked (NaN), Gaussian smoothing, against astropy (periodic boundary)."""
    from convlens.data import load_image

    rng = np.random.default_rng(7)
    img = load_image("moon").astype(np.float64)[:256, :256]
    img[rng.random(img.shape) < 0.05] = np.nan
    yy, xx = np.mgrid[-4:5, -4:5]
    g = np.exp(-(xx**2 + yy**2) / 8.0)
    g /= g.sum()
    ref = astropy_conv.convolve_fft(img, g, nan_treatment="interpolate", boundary="wrap")
    for method in METHODS:
        got = convolve(img, g, "same", boundary="wrap", nan_policy="interpolate", method=method)
        assert_close(got, ref, err_msg=method)
        got32 = convolve(
            img.astype(np.float32), g.astype(np.float32), "same", boundary="wrap", nan_policy="interpolate"
        )
        assert_close(got32, ref, dtype=np.float32)


@pytest.mark.parametrize("method", METHODS)
def test_interpolate_per_batch_kernels(rng, method):
    """A different kernel per column: each output is renormalized by its own kernel's sum."""
    x = rng.standard_normal((3, 17, 3))
    k = rng.random((1, 5, 3)) + 0.1
    x[1, 3, 2] = np.nan
    x[0, 10:13, 0] = np.inf
    fin = np.isfinite(x)
    num = direct_sum(np.where(fin, x, 0), k, "same", axes=1, boundary="edge")
    den = direct_sum(fin.astype(float), k, "same", axes=1, boundary="edge")
    expected = num / den * k.sum(axis=1, keepdims=True)
    got = convolve(x, k, "same", axes=1, boundary="edge", nan_policy="interpolate", method=method)
    assert_close(got, expected)
    # consistent with the NaN-free path: where no window sees a NaN, it is the plain convolution
    plain = convolve(np.where(fin, x, 0), k, "same", axes=1, boundary="edge", method=method)
    untouched = direct_sum((~fin).astype(float), np.ones_like(k), "same", axes=1, boundary="edge") == 0
    assert_close(got[untouched], plain[untouched])


@st.composite
def _batched_case(draw):
    """x, kernel shapes and axes with some axes not convolved (kernel size 1, equal or broadcasting there)."""
    ndim = draw(st.integers(2, 3))
    xs = [draw(st.integers(1, 9)) for _ in range(ndim)]
    axes = sorted(draw(st.sets(st.integers(0, ndim - 1), min_size=1, max_size=ndim - 1)))
    ks = []
    for a in range(ndim):
        if a in axes:
            ks.append(draw(st.integers(1, xs[a] + 2)))
        else:
            choice = draw(st.sampled_from(["one", "same", "bcast"]))
            if choice == "bcast":  # x has size 1 there, the kernel more
                xs[a] = 1
                ks.append(draw(st.integers(1, 3)))
            else:
                ks.append(1 if choice == "one" else xs[a])
    return tuple(xs), tuple(ks), tuple(axes)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    case=_batched_case(),
    seed=st.integers(0, 2**32 - 1),
    mode=st.sampled_from(["full", "same"]),
    boundary=st.sampled_from(BOUNDARIES),
    method=st.sampled_from(METHODS),
    policy=st.sampled_from(["propagate", "interpolate"]),
)
def test_property_nan_policies_with_axes_and_batches(case, seed, mode, boundary, method, policy):
    xs, ks, axes = case
    rng = np.random.default_rng(seed)
    x = _sprinkle(rng, rng.standard_normal(xs), [np.nan, np.inf, -np.inf], max(1, int(np.prod(xs)) // 5))
    if policy == "propagate":
        k = rng.integers(-2, 3, ks).astype(float)
        got = convolve(x, k, mode, axes=axes, boundary=boundary, method=method)
        _assert_same_nonfinite(got, direct_sum(x, k, mode, axes=axes, boundary=boundary))
        return
    k = rng.random(ks) + 0.1
    fin = np.isfinite(x)
    num = direct_sum(np.where(fin, x, 0), k, mode, axes=axes, boundary=boundary)
    den = direct_sum(fin.astype(float), k, mode, axes=axes, boundary=boundary, fill_value=1.0)
    empty = direct_sum(fin.astype(float), np.ones_like(k), mode, axes=axes, boundary=boundary, fill_value=1.0) == 0
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = np.where(empty, np.nan, num / den * k.sum(axis=axes, keepdims=True))
    got = convolve(x, k, mode, axes=axes, boundary=boundary, method=method, nan_policy="interpolate")
    assert_close(got, expected)


@pytest.mark.parametrize("method", METHODS)
def test_interpolate_finite_samples_only_under_zero_taps(rng, method):
    """A window whose finite samples all sit under zero taps has no weight (0/0): NaN, as for an empty window."""
    x = rng.standard_normal(400)
    x[rng.random(400) < 0.6] = np.nan
    k = np.array([1.0, 0, 0, 2.0, 0, 1.0])
    fin = np.isfinite(x)
    den = direct_sum(fin.astype(float), k, "same", boundary="wrap")
    assert (den == 0).sum() > 20
    got = convolve(x, k, "same", boundary="wrap", nan_policy="interpolate", method=method)
    assert np.array_equal(np.isnan(got), den == 0)
    num = direct_sum(np.where(fin, x, 0), k, "same", boundary="wrap")
    assert_close(got[den > 0], num[den > 0] / den[den > 0] * k.sum())
    x2 = rng.standard_normal((60, 60))
    x2[rng.random((60, 60)) < 0.7] = np.nan
    k2 = np.zeros((3, 3))
    k2[0, 0] = k2[2, 2] = 1
    den2 = direct_sum(np.isfinite(x2).astype(float), k2, "same", boundary="reflect")
    got2 = convolve(x2, k2, "same", boundary="reflect", nan_policy="interpolate", method=method)
    assert np.array_equal(np.isnan(got2), den2 == 0)


def test_complex_infinities_spoil_the_same_outputs(rng):
    """Complex data with +-inf in either part: every method marks exactly the covering windows as non-finite."""
    for trial in range(6):
        x = rng.standard_normal((9, 40)) + 1j * rng.standard_normal((9, 40))
        i, j = int(rng.integers(0, 9)), int(rng.integers(0, 40))
        x[i, j] = complex(np.inf, 1.0) if trial % 2 else complex(0.5, -np.inf)
        k = rng.standard_normal((3, 5))
        ref = direct_sum(x, k, "same")
        for method in (*METHODS, "auto"):
            got = convolve(x, k, "same", method=method)
            assert np.array_equal(~np.isfinite(got), ~np.isfinite(ref)), method
            assert_close(got[np.isfinite(ref)], ref[np.isfinite(ref)])


def _channels_reference(x, w, mode):
    """sum over input channels of scipy's direct convolutions: NaN/inf exactly where a direct sum puts them."""
    with np.errstate(invalid="ignore"):
        return np.stack(
            [
                np.stack(
                    [
                        sum(signal.convolve(xn[i], w[o, i], mode, method="direct") for i in range(w.shape[1]))
                        for o in range(w.shape[0])
                    ]
                )
                for xn in x
            ]
        )


@pytest.mark.parametrize("method", ["auto", "fft", "direct"])
@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_convolve_channels_keeps_non_finite_local(method, mode):
    rng = np.random.default_rng(11)
    x, w = rng.random((2, 3, 20, 21)), rng.standard_normal((4, 3, 5, 4))
    x[0, 1, 10, 10], x[1, 2, 3, 3], x[1, 0, 15, 2] = np.nan, np.inf, -np.inf
    y = convolve_channels(x, w, mode, method=method)
    ref = _channels_reference(x, w, mode)
    np.testing.assert_array_equal(np.isnan(y), np.isnan(ref))
    np.testing.assert_array_equal(np.isposinf(y), np.isposinf(ref))
    finite = np.isfinite(ref)
    assert 0 < finite.sum() < finite.size
    np.testing.assert_allclose(y[finite], ref[finite], rtol=1e-10, atol=1e-10)


def test_convolve_channels_nan_policy_raise_and_interpolate():
    rng = np.random.default_rng(12)
    x, w = rng.random((1, 2, 16, 16)), rng.random((3, 2, 3, 3))
    x[0, 1, 4, 5] = np.nan
    with pytest.raises(ValueError, match=r"1 non-finite value.*\(0, 1, 4, 5\)"):
        convolve_channels(x, w, nan_policy="raise")
    y = convolve_channels(x, w, "same", nan_policy="interpolate")
    ref = np.stack(
        [sum(convolve(x[0, i], w[o, i], "same", nan_policy="interpolate") for i in range(2)) for o in range(3)]
    )
    assert np.isfinite(y).all()
    np.testing.assert_allclose(y[0], ref, rtol=1e-12)
    with pytest.raises(ValueError, match="nan_policy"):
        convolve_channels(x, w, nan_policy="omit")
