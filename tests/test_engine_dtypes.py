"""dtypes: float32/complex64 stay single precision (and accurate), ints give the exact int64 result.

Rules checked here (the engine contract in README.md, "dtypes"):

* float32 -> float32, complex64 -> complex64, float64 -> float64, float16 -> float16 (computed in float32);
  accuracy against a float64 reference within the tolerance table of ``conftest.TOL``.
* integer and bool inputs -> exact integer result as int64 (uint64 when both are unsigned and one is uint64),
  also when the values are so large that a float64 FFT would round (|x| * sum|k| >= 2**53 / N).
* mixed float/complex inputs promote as NumPy does (``np.result_type``).
* the issue's accuracy goal: float32 'same' max|err| / max|y| <= 5e-7 against float64 (4096² ⊛ 31² is
  measured by the benchmark; here 1024² ⊛ 31² and the 512² camera photograph).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

from _engine_ref import BOUNDARIES, METHODS, MODES, full_kernel, pad_full, random_array, ref_convolve
from conftest import assert_close
from convlens import Convolver, convolve, correlate

FLOAT_DTYPES = [np.float32, np.float64, np.complex64, np.complex128]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_floating_dtype_is_kept_and_accurate(rng, dtype, method):
    for xs, ks in [((50,), (7,)), ((20, 17), (5, 4)), ((6, 7, 8), (3, 2, 3))]:
        x, k = random_array(rng, xs, dtype), random_array(rng, ks, dtype)
        for mode in MODES:
            for boundary in BOUNDARIES:
                y = convolve(x, k, mode, boundary=boundary, fill_value=0.5, method=method)
                assert y.dtype == dtype, f"{mode} {boundary}"
                assert_close(y, ref_convolve(x, k, mode, boundary=boundary, fill_value=0.5), dtype=dtype)
        yc = correlate(x, k, "same", method=method)
        assert yc.dtype == dtype


@pytest.mark.parametrize("method", METHODS)
def test_float16_stays_float16(rng, method):
    x = rng.standard_normal((30, 20)).astype(np.float16)
    k = rng.random((3, 5)).astype(np.float16)
    y = convolve(x, k, "same", boundary="reflect", method=method)
    assert y.dtype == np.float16
    assert_close(y, ref_convolve(x, k, "same", boundary="reflect"), dtype=np.float16)


@pytest.mark.parametrize(
    ("xd", "kd"),
    [
        (np.float32, np.float64),
        (np.float64, np.float32),
        (np.float32, np.complex64),
        (np.float64, np.complex64),
        (np.complex64, np.float64),
        (np.float16, np.float32),
        (np.float32, np.int16),  # NumPy: float32
        (np.float32, np.int64),  # NumPy: float64
        (np.int32, np.float32),  # NumPy: float64
        (np.uint8, np.float32),  # NumPy: float32
        (np.bool_, np.float32),
        (np.int8, np.complex64),
        (np.float16, np.int64),
    ],
)
def test_mixed_inputs_promote_like_numpy(rng, xd, kd):
    x = (rng.random(40) * 4).astype(xd)
    k = (rng.random(5) * 3).astype(kd)
    for method in METHODS:
        y = convolve(x, k, "same", method=method)
        assert y.dtype == np.result_type(xd, kd), method
        assert_close(y, ref_convolve(x, k, "same"), dtype=y.dtype)


def test_lists_and_scalars_promote_like_numpy_arrays():
    x32 = np.arange(6, dtype=np.float32)
    assert convolve(x32, np.array([0.5, 0.5], np.float32)).dtype == np.float32
    # a Python list becomes a float64 (or int64) array first, as np.asarray would make it
    assert convolve(x32, [0.5, 0.5]).dtype == np.float64
    assert convolve([1, 2, 3], [1, 1]).dtype == np.int64
    assert convolve([1.0, 2.0], [1, 1]).dtype == np.float64


# -- exact integers -----------------------------------------------------------------------------------------------


def _exact_reference(x, k, mode, boundary="constant", fill_value=0):
    """scipy.signal.convolve in int64 on the padded input (exact integer arithmetic)."""
    x, k = np.asarray(x).astype(np.int64), full_kernel(k, np.ndim(x), None).astype(np.int64)
    axes = tuple(range(x.ndim))
    xp = pad_full(x, k.shape, axes, boundary, fill_value)
    full = scipy.signal.convolve(xp, k, "valid", method="direct")
    from _engine_ref import crop

    return crop(full, x.shape, k.shape, axes, mode)


INT_DTYPES = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.bool_]


@pytest.mark.parametrize("method", [*METHODS, "auto"])
@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_integers_give_exact_int64(rng, dtype, method):
    info = np.iinfo(dtype) if dtype != np.bool_ else None
    lo, hi = (0, 2) if info is None else (max(info.min, -1000), min(info.max, 1000))
    for xs, ks in [((60,), (9,)), ((15, 13), (4, 3))]:
        x = rng.integers(lo, hi, xs, endpoint=False).astype(dtype)
        k = rng.integers(lo, hi, ks, endpoint=False).astype(dtype)
        for mode in MODES:
            for boundary in BOUNDARIES:
                fill = 3 if boundary == "constant" else 0
                y = convolve(x, k, mode, boundary=boundary, fill_value=fill, method=method)
                assert y.dtype == np.int64, f"{dtype} {mode} {boundary}"
                np.testing.assert_array_equal(y, _exact_reference(x, k, mode, boundary, fill))


def test_unsigned_64_bit_gives_uint64(rng):
    x = rng.integers(0, 2**20, 30, dtype=np.uint64)
    k = rng.integers(0, 2**10, 4, dtype=np.uint64)
    y = convolve(x, k)
    assert y.dtype == np.uint64
    np.testing.assert_array_equal(y, np.convolve(x, k))


@pytest.mark.parametrize("method", [*METHODS, "auto"])
def test_large_integers_take_the_exact_path(rng, method):
    """|x| * sum|k| beyond 2**53 (and beyond 2**53 / N): a float64 FFT would round; the result must stay exact."""
    n = 3000
    cases = [
        (2**45, 2**6, 9),  # bound ~ 2**54: past float64's exact range
        (2**36, 2**5, 31),  # bound ~ 2**46 < 2**53 but bound * N * eps > 0.25: the FFT would round
        (2**20, 2**4, 17),  # small: the float64 FFT path is exact (rounded)
    ]
    for xmax, kmax, K in cases:
        x = rng.integers(-xmax, xmax, n, dtype=np.int64)
        k = rng.integers(-kmax, kmax, K, dtype=np.int64)
        for mode in MODES:
            y = convolve(x, k, mode, method=method)
            assert y.dtype == np.int64
            np.testing.assert_array_equal(y, _exact_reference(x, k, mode), err_msg=f"{xmax} {mode}")
        y = correlate(x, k, "same", boundary="reflect", method=method)
        ref = _exact_reference(x, k[::-1], "same", "reflect")
        np.testing.assert_array_equal(y, ref)
    # 2-D, large values on a real image-like array
    x2 = rng.integers(-(2**40), 2**40, (40, 50), dtype=np.int64)
    k2 = rng.integers(-(2**10), 2**10, (5, 6), dtype=np.int64)
    np.testing.assert_array_equal(
        convolve(x2, k2, "same", boundary="edge", method=method), _exact_reference(x2, k2, "same", "edge")
    )


@pytest.mark.parametrize("method", [*METHODS, "auto"])
def test_large_integers_with_long_kernels(rng, method):
    """Just below 2**53 with 50-130 taps (where some direct back ends switch to a DFT of their own)."""
    for K in (49, 50, 60, 130):
        x = rng.integers(-(2**44), 2**44, 200)
        k = rng.integers(-16, 16, K)
        np.testing.assert_array_equal(convolve(x, k, method=method), np.convolve(x, k), err_msg=f"K={K}")
    x2 = rng.integers(-(2**44), 2**44, (30, 30))
    k2 = rng.integers(-16, 16, (8, 8))
    np.testing.assert_array_equal(convolve(x2, k2, "same", method=method), _exact_reference(x2, k2, "same"))


@pytest.mark.parametrize("method", ["auto", "fft", "overlap-add"])
def test_large_integers_with_long_kernels_go_through_fft_limbs(rng, monkeypatch, method):
    """Values too large for one exact float64 FFT and a kernel too long for tap sums: the input is
    cut into limbs whose FFT convolutions round exactly, then added in int64 (the tap sum must not run)."""
    import convlens._engine._convolver as conv_mod

    def no_tap_sums(*args, **kwargs):
        raise AssertionError("the integer tap sum ran")

    monkeypatch.setattr(conv_mod, "convolve_exact_int", no_tap_sums)
    limbs = []
    by_limbs = conv_mod.Convolver._exact_by_limbs

    def counted(self, *args):
        res = by_limbs(self, *args)
        limbs.append(res is not None)
        return res

    monkeypatch.setattr(conv_mod.Convolver, "_exact_by_limbs", counted)
    cases = [
        # (x shape, kernel shape, max|x|, max|k|, mode, boundary, fill, x dtype, k dtype)
        ((96, 80), (24, 20), 2**20, 2**12, "same", "constant", 0, np.int64, np.int64),
        ((70, 90), (31, 17), 2**30, 2**12, "full", "reflect", 0, np.int32, np.int16),
        ((64, 64), (33, 33), 2**30, 3, "valid", "wrap", 0, np.int64, np.int8),
        ((80, 72), (25, 25), 2**28, 2**10, "same", "constant", -(2**27), np.int32, np.int16),
        ((5000,), (700,), 2**31, 2**12, "same", "symmetric", 0, np.uint32, np.uint16),
    ]
    for xs, ks, xmax, kmax, mode, boundary, fill, xdt, kdt in cases:
        lo = 0 if np.dtype(xdt).kind == "u" else -xmax
        x = rng.integers(lo, xmax, xs).astype(xdt)
        k = rng.integers(0 if np.dtype(kdt).kind == "u" else -kmax, kmax, ks).astype(kdt)
        y = convolve(x, k, mode, boundary=boundary, fill_value=fill, method=method)
        assert y.dtype == np.int64
        np.testing.assert_array_equal(y, _exact_reference(x, k, mode, boundary, fill), err_msg=f"{xs} {ks}")
        # one float64 FFT would have rounded: an FFT method needs limbs ('auto' may sum directly)
        assert limbs == ([] if method == "auto" and not limbs else [True]), (xs, ks)
        limbs.clear()
    # a plan, and a correlation, on the largest values whose sums still fit int64
    x = rng.integers(-(2**40), 2**40, (60, 60))
    k = rng.integers(-(2**8), 2**8, (20, 20))
    plan = Convolver(k, x.shape, "same", method=method)
    np.testing.assert_array_equal(plan(x), _exact_reference(x, k, "same"))
    np.testing.assert_array_equal(correlate(x, k, "same", method=method), _exact_reference(x, k[::-1, ::-1], "same"))
    assert limbs == ([] if method == "auto" and not limbs else [True, True])


@pytest.mark.parametrize("method", [*METHODS, "auto"])
def test_partial_sums_past_int64_with_a_result_that_fits(rng, method):
    """max|x| * sum|k| past int64 while every output fits: sums modulo 2**64 are exact (no Python-int sums)."""
    x = rng.integers(-(2**44), 2**44, (128, 128))
    k = rng.integers(-(2**10), 2**10, (40, 40))
    assert int(np.abs(x).max()) * int(np.abs(k).sum()) > np.iinfo(np.int64).max
    y = convolve(x, k, "same", method=method)
    # scipy's int64 direct sum wraps modulo 2**64 too: the true result wherever it fits (it does here)
    np.testing.assert_array_equal(y, _exact_reference(x, k, "same"))
    assert np.abs(y).max() > 2**56  # large results, well inside int64
    # unsigned data past 2**63 with a signed kernel: int64 result, exact
    u = rng.integers(2**62, 2**63, 300, dtype=np.uint64) * np.uint64(2)
    kk = np.array([1, -1])
    want = np.convolve(u.astype(object), kk.astype(object), "valid")  # differences ('full' would reach 2**64)
    got = convolve(u, kk, "valid", method=method)
    assert got.dtype == np.int64 and (got.astype(object) == want).all()


@pytest.mark.parametrize("method", [*METHODS, "auto"])
def test_results_at_the_int64_limit_are_decided_without_python_integers(monkeypatch, method):
    """Sums modulo 2**64 lifted by a float64 result: right at the limit, and with huge cancelling partial sums."""
    import convlens._engine._convolver as conv_mod

    real = conv_mod.convolve_exact_int

    def no_python_ints(a, kernel, geom):
        assert a.dtype != object, "the Python-integer sum ran"
        return real(a, kernel, geom)

    monkeypatch.setattr(conv_mod, "convolve_exact_int", no_python_ints)
    k = np.ones((12, 12), np.int64)
    k[0, 0] = -1  # sum 142, sum|k| 144
    c = (2**63 - 1) // 142
    x = np.full((40, 40), c, np.int64)
    y = convolve(x, k, "valid", method=method)
    assert (y == c * 142).all() and c * 142 > 2**63 - 143
    with pytest.raises(ValueError, match="exceeds the int64 range"):
        convolve(x + 1, k, "valid", method=method)  # one past the limit
    # partial sums of ~2**100 that cancel to ~2**40
    rng = np.random.default_rng(5)
    k2 = rng.choice([-1, 1], (8, 8)).astype(np.int64) * 2**28
    k2[0, 0] -= k2.sum()
    x2 = np.full((50, 50), 2**62, np.int64) + rng.integers(0, 4, (50, 50))
    want = np.zeros((43, 43), dtype=object)
    xo, ko = x2.astype(object), k2[::-1, ::-1].astype(object)
    for a in range(8):
        for b in range(8):
            want += ko[a, b] * xo[a : a + 43, b : b + 43]
    got = convolve(x2, k2, "valid", method=method)
    assert got.dtype == np.int64 and (got.astype(object) == want).all()


@pytest.mark.parametrize("method", [*METHODS, "auto"])
def test_results_past_int64_are_refused_before_any_long_sum(method):
    x = np.full((600, 600), 2**61)
    with pytest.raises(ValueError, match="exceeds the int64 range"):
        convolve(x, np.full((5, 5), 3), "same", method=method)


def test_limb_width_at_the_bound_itself():
    """sum|k| * points == 2**49: a limb would have 0 bits (no division by zero: the other exact path runs)."""
    for method in ("fft", "overlap-add", "auto"):
        y = convolve(np.full(15, 2), np.array([2**45]), method=method)
        np.testing.assert_array_equal(y, np.full(15, 2**46))


def test_fill_values_outside_64_bits_are_refused():
    for fill in (2**70, -(2**63) - 1, 2**64):
        with pytest.raises(ValueError, match="fill_value must be an integer in the 64-bit range"):
            convolve(np.arange(5), np.ones(2, int), "same", fill_value=fill)
    # the ends of the range are integers NumPy holds: exact results
    np.testing.assert_array_equal(
        convolve(np.arange(5), np.ones(2, int), "same", fill_value=2**63 - 1),
        [2**63 - 1, 1, 3, 5, 7],
    )


def test_exact_integer_on_a_real_photograph():
    from convlens.data import load_image

    img = load_image("camera")  # uint8
    sobel = np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], dtype=np.int16)
    for method in METHODS:
        y = convolve(img, sobel, "same", boundary="symmetric", method=method)
        assert y.dtype == np.int64
        np.testing.assert_array_equal(y, _exact_reference(img, sobel, "same", "symmetric"))


def test_integers_beyond_int64_are_refused():
    x = np.array([2**62, 1, 2], dtype=np.int64)
    with pytest.raises(ValueError, match="too large for an exact result"):
        convolve(x, np.array([3, 1], dtype=np.int64))


@pytest.mark.parametrize("method", [*METHODS, "auto"])
def test_int64_partial_sums_may_overflow_when_the_result_fits(method):
    """Partial sums beyond int64 (2**62 + 2**62) whose final value fits: still the exact result."""
    x = np.array([-(2**62), 2**62, 2**62, -(2**62)])
    k = np.array([1, 1, 1])
    expected = np.convolve(x.astype(object), k.astype(object)).astype(np.int64)
    y = convolve(x, k, method=method)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, expected)
    with pytest.raises(ValueError, match="too large for an exact result"):
        convolve(np.array([2**62, 2**62]), np.array([1, 1]), method=method)


def test_uint64_results_use_the_whole_uint64_range():
    """uint64 x uint64 gives uint64: results between 2**63 and 2**64 - 1 fit and must be exact."""
    u = np.array([2**63, 2**62, 7], dtype=np.uint64)
    for method in METHODS:
        y = convolve(u, np.array([1], dtype=np.uint64), method=method)
        assert y.dtype == np.uint64
        np.testing.assert_array_equal(y, u)
        y = convolve(u, np.array([1, 1], dtype=np.uint64), method=method)
        np.testing.assert_array_equal(y, np.array([2**63, 2**63 + 2**62, 2**62 + 7, 7], dtype=np.uint64))


def test_integer_plan_across_dtypes(rng):
    plan = Convolver(np.array([1, -2, 1]), (25,), "same", boundary="wrap")
    for dtype in (np.int8, np.int64, np.float32, np.bool_):
        x = (rng.integers(0, 50, 25)).astype(dtype)
        y = plan(x)
        if dtype == np.float32:
            assert y.dtype == np.float64  # int64 kernel with float32 data: NumPy gives float64
            assert_close(y, ref_convolve(x, [1, -2, 1], "same", boundary="wrap"))
        else:
            assert y.dtype == np.int64
            np.testing.assert_array_equal(y, _exact_reference(x, np.array([1, -2, 1]), "same", "wrap"))


# -- the accuracy goal of the issue ------------------------------------------------------------------------------


def _rel_err(y, ref):
    return float(np.abs(y.astype(np.float64) - ref).max() / np.abs(ref).max())


@pytest.mark.parametrize("method", ["auto", "fft", "overlap-add"])
def test_float32_accuracy_goal_1024(rng, method):
    x = rng.standard_normal((1024, 1024)).astype(np.float32)
    k = rng.random((31, 31)).astype(np.float32)
    ref = scipy.signal.fftconvolve(x.astype(np.float64), k.astype(np.float64), "same")
    y = convolve(x, k, "same", method=method)
    assert y.dtype == np.float32
    assert _rel_err(y, ref) <= 5e-7
    plan = Convolver(k, x.shape, "same", dtype=np.float32, method=method)
    assert _rel_err(plan(x), ref) <= 5e-7


def test_float32_accuracy_goal_on_a_photograph():
    from convlens.data import load_image

    img = load_image("camera").astype(np.float32) / 255
    yy, xx = np.mgrid[-15:16, -15:16]
    gauss = np.exp(-(xx**2 + yy**2) / (2 * 6.0**2)).astype(np.float32)
    ref = scipy.signal.fftconvolve(img.astype(np.float64), gauss.astype(np.float64), "same")
    for method in ("fft", "direct", "auto"):
        y = convolve(img, gauss, "same", method=method)
        assert y.dtype == np.float32
        assert _rel_err(y, ref) <= 5e-7, method


@pytest.mark.parametrize("method", [*METHODS, "auto"])
def test_large_integers_with_axes_and_per_row_kernels(rng, method):
    """The exact path with a different kernel per row (kernel size > 1 on a non-convolved axis) and broadcasting."""
    x = rng.integers(-(2**40), 2**40, (3, 100))
    k = rng.integers(-(2**12), 2**12, (3, 7))
    for mode in MODES:
        y = convolve(x, k, mode, axes=1, method=method)
        np.testing.assert_array_equal(y, np.stack([np.convolve(x[i], k[i], mode) for i in range(3)]), err_msg=mode)
    x1 = x[:1]
    y = convolve(x1, k, "full", axes=-1, method=method)
    np.testing.assert_array_equal(y, np.stack([np.convolve(x1[0], k[i]) for i in range(3)]))
    y = convolve(x, k[1], "full", axes=1, method=method)  # one 1-D kernel for every row
    np.testing.assert_array_equal(y, np.stack([np.convolve(x[i], k[1]) for i in range(3)]))


@pytest.mark.parametrize("method", METHODS)
def test_memory_layouts_and_byte_orders(rng, method):
    """Views with strides, negative strides, Fortran order and non-native byte order give the same results."""
    base = rng.standard_normal((40, 50))
    k = rng.standard_normal((5, 4))
    cases = {
        "strided": base[::2, ::3],
        "transposed": base.T,
        "fortran": np.asfortranarray(base),
        "reversed": base[::-1, ::-1],
        "big-endian f8": base.astype(">f8"),
    }
    for name, x in cases.items():
        for boundary in ("constant", "reflect"):
            got = convolve(x, k[::-1], "same", boundary=boundary, method=method)
            assert_close(got, ref_convolve(np.ascontiguousarray(x), k[::-1], "same", boundary=boundary), err_msg=name)
    x32 = base.astype(">f4")
    got = convolve(x32, k.astype(">f4"), "same", boundary="wrap", method=method)
    assert got.dtype == np.float32
    assert_close(got, ref_convolve(base, k.astype(np.float32), "same", boundary="wrap"), dtype=np.float32)
    xi = (base * 100).astype(">i4")
    got = convolve(xi, np.array([[1, -2, 1]], dtype=">i2"), "same", method=method)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, _exact_reference(xi.astype(np.int64), np.array([[1, -2, 1]]), "same"))


# -- Hypothesis: exact integers at every magnitude ---------------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    xbits=st.integers(0, 46),
    kbits=st.integers(0, 12),
    ndim=st.integers(1, 2),
    mode=st.sampled_from(MODES),
    boundary=st.sampled_from(BOUNDARIES),
    method=st.sampled_from([*METHODS, "auto"]),
)
def test_property_integers_exact_at_every_magnitude(seed, xbits, kbits, ndim, mode, boundary, method):
    """Magnitudes from 1 to 2**46 (|x| * sum|k| up to ~2**60): the result is always the exact int64 one."""
    rng = np.random.default_rng(seed)
    xs = (int(rng.integers(20, 400)),) if ndim == 1 else tuple(int(v) for v in rng.integers(3, 25, 2))
    ks = tuple(int(rng.integers(1, n + 1)) for n in xs)
    x = rng.integers(-(2**xbits), 2**xbits, xs, endpoint=True)
    k = rng.integers(-(2**kbits), 2**kbits, ks, endpoint=True)
    y = convolve(x, k, mode, boundary=boundary, method=method)
    assert y.dtype == np.int64
    np.testing.assert_array_equal(y, _exact_reference(x, k, mode, boundary))


@pytest.mark.parametrize(
    ("xd", "fill"),
    [
        (np.int64, 1.0),
        (np.int64, 2),
        (np.uint8, -1),
        (np.float32, 0.5),
        (np.float32, np.float64(0.5)),
        (np.float32, 1j),
        (np.float32, np.complex128(1j)),
        (np.int8, np.float32(1.5)),
        (np.float16, 0.5),
    ],
)
def test_fill_value_takes_part_in_promotion(xd, fill):
    """With boundary='constant' the fill is part of the data: NumPy's promotion of (x, kernel, fill), ints exact."""
    x, k = np.arange(6).astype(xd), np.ones(3, xd)
    expected = np.result_type(x, k, fill)
    if expected.kind in "biu":
        expected = np.dtype(np.int64)
    for method in METHODS:
        y = convolve(x, k, "full", fill_value=fill, method=method)
        assert y.dtype == expected, method
        assert_close(y, ref_convolve(x, k, "full", fill_value=fill), dtype=y.dtype if y.dtype.kind in "fc" else None)
        # other boundaries ignore the fill
        assert (
            convolve(x, k, "full", boundary="wrap", fill_value=fill, method=method).dtype
            == convolve(x, k, "full", boundary="wrap", method=method).dtype
        )
