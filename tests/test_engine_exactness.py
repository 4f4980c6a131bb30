"""Silent wrong answers of the engine, each fixed as a class (issue 11, cases 6, 7 and 10).

* 'direct' is a direct sum for every size and dtype: near-overflow data stays
  finite, a huge dynamic range keeps its small values, tiny weights are not
  dropped, a NaN stays in its window (OpenCV's filter2D becomes a DFT from 50
  taps in float64 and 130 in float32; scipy.ndimage drops weights <= 2.2e-16).
* nan_policy='interpolate' is NaN, for every method, where the finite weights
  cancel (|sum w k| <= sqrt(eps) * sum w |k|), checked against a float64 direct
  evaluation.
* integer inputs of every width and signedness give the exact integer result or
  a clear refusal, never a rounded float.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.signal

from _engine_ref import METHODS, direct_sum
from convlens import Convolver, convolve, correlate

# -- case 6: 'direct' is a direct sum ------------------------------------------------------------


def test_issue_case_near_overflow_stays_finite():
    y = convolve(np.full(400, 1e306), np.full(50, 0.01), "same", method="direct")
    assert np.isfinite(y).all()
    assert y[200] == pytest.approx(5e305, rel=1e-12)


def test_issue_case_dynamic_range_kept():
    a = np.array([0.0] * 40 + [10.0 ** (9 * i) for i in range(10)])
    assert convolve(a, a, method="direct")[80] == 1.0
    assert correlate(a, a[::-1], method="direct")[80] == 1.0


@pytest.mark.parametrize(
    ("dtype", "big", "kshape"),
    [
        (np.float64, 1e306, (49,)),
        (np.float64, 1e306, (50,)),
        (np.float64, 1e306, (51,)),
        (np.float64, 1e306, (300,)),
        (np.float64, 1e306, (7, 7)),
        (np.float64, 1e306, (5, 10)),
        (np.float64, 1e306, (15, 15)),
        (np.float64, 1e306, (3, 4, 5)),
        (np.float32, 1e36, (129,)),
        (np.float32, 1e36, (130,)),
        (np.float32, 1e36, (11, 11)),
        (np.float32, 1e36, (12, 12)),
        (np.float32, 1e36, (31, 31)),
        (np.complex128, 1e306, (8, 8)),
    ],
)
@pytest.mark.parametrize("boundary", ["constant", "reflect"])
def test_near_overflow_data_stays_finite_for_every_kernel_size(dtype, big, kshape, boundary):
    shape = tuple(max(3 * k, 40) for k in kshape) if len(kshape) < 3 else (12, 12, 12)
    x = np.full(shape, big, dtype)
    k = np.full(kshape, 0.01, dtype)
    y = convolve(x, k, "same", method="direct", boundary=boundary)
    assert y.dtype == dtype
    assert np.isfinite(y).all()
    centre = tuple(s // 2 for s in shape)
    assert abs(y[centre]) == pytest.approx(0.01 * k.size * big, rel=1e-5)


@pytest.mark.parametrize("ndim", [1, 2, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128])
def test_tiny_and_zero_weights_are_not_dropped(ndim, dtype):
    rng = np.random.default_rng(ndim)
    shape = (30, 20, 10)[:ndim]
    x = (rng.standard_normal(shape) * 1e30).astype(dtype)
    k = rng.standard_normal((3,) * ndim).astype(dtype)
    k.flat[0] = 1e-20  # below ndimage's cut (|w| <= 2.2e-16 is dropped there)
    k.flat[1] = 0.0
    k.flat[-1] = k.flat[-2] + 1e-20  # nearly symmetric: ndimage.correlate1d would treat it as symmetric
    got = convolve(x, k, "same", method="direct")
    want = direct_sum(x, k, "same")
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=tol, atol=tol * np.abs(want).max())


@pytest.mark.parametrize(
    ("dtype", "kshape"),
    [
        (np.float64, (7, 7)),
        (np.float64, (8, 8)),
        (np.float64, (13, 13)),
        (np.float32, (12, 11)),
        (np.float32, (16, 16)),
    ],
)
@pytest.mark.parametrize("zero_tap", [False, True])
def test_direct_nan_stays_in_its_window_at_every_kernel_size(dtype, kshape, zero_tap):
    rng = np.random.default_rng(7)
    x = rng.standard_normal((60, 50)).astype(dtype)
    x[30, 20] = np.nan
    x[5, 45] = np.inf
    k = rng.uniform(0.5, 1.5, kshape).astype(dtype)
    if zero_tap:
        k[0, 0] = 0.0  # 0 * nan is nan in a direct sum
    got = convolve(x, k, "same", method="direct")
    want = direct_sum(x, k, "same")
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(want))
    fin = np.isfinite(want)
    np.testing.assert_allclose(got[fin], want[fin], rtol=1e-4, atol=1e-4)


def test_direct_plan_is_a_direct_sum_for_batches_and_axes():
    x = np.full((3, 200), 1e306)
    k = np.full((1, 60), 0.01)
    y = Convolver(k, x.shape, "same", axes=1, method="direct")(x)
    assert np.isfinite(y).all()
    assert y[1, 100] == pytest.approx(0.6e306)


def test_exact_integers_with_many_taps_on_the_direct_path():
    # a direct sum is exact while every partial sum is below 2**53, whatever the kernel size
    x = np.full(300, 2**40, np.int64)
    k = np.full(100, 3, np.int64)
    got = convolve(x, k, "valid", method="direct")
    assert got.dtype == np.int64
    assert (got == 300 * 2**40).all()


# -- case 7: interpolate where the finite weights cancel -------------------------------------------


def _interpolate_ref(x, k, mode, fill_value, work_eps):
    """Normalized convolution written as a float64 direct sum, with the documented threshold."""
    x = np.asarray(x, np.float64)
    k = np.asarray(k, np.float64)
    w = np.isfinite(pad_nan(x, k, fill_value)).astype(np.float64)
    xe = np.where(w > 0, pad_nan(x, k, fill_value), 0.0)
    num = direct_sum(xe, k, "valid")
    den = direct_sum(w, k, "valid")
    scale = direct_sum(w, np.abs(k), "valid")
    count = direct_sum(w, (k != 0).astype(float), "valid")
    with np.errstate(divide="ignore", invalid="ignore"):
        res = num / den * k.sum()
    res[(count == 0) | (np.abs(den) <= np.sqrt(work_eps) * scale)] = np.nan
    n, K = x.size, k.size
    if mode == "same":
        return res[(K - 1) // 2 : (K - 1) // 2 + n]
    return res if mode == "full" else res[K - 1 : n]


def pad_nan(x, k, fill_value):
    return np.pad(x, k.size - 1, constant_values=fill_value)


@pytest.mark.parametrize("method", [*METHODS, "auto"])
def test_issue_case_cancelled_weights_give_nan(method):
    x = np.array([1, 2, np.nan, 4, 5, 6, 7])
    k = np.array([2, -1, -1, 1])
    got = convolve(x, k, "full", nan_policy="interpolate", fill_value=np.nan, method=method)
    assert np.isnan(got[[5, 8]]).all()
    want = _interpolate_ref(x, k, "full", np.nan, np.finfo(np.float64).eps)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["full", "same"])
@pytest.mark.parametrize("fill_value", [0.0, np.nan])
def test_interpolate_with_signed_kernels_equals_a_direct_evaluation(method, dtype, mode, fill_value):
    rng = np.random.default_rng(11)
    for trial in range(6):
        x = rng.standard_normal(40)
        x[rng.random(40) < 0.3] = np.nan
        # small integer taps: the weight sums are exact, so a cancellation is exactly 0
        k = rng.choice([-2.0, -1.0, 1.0, 2.0], size=int(rng.integers(3, 7)))
        if k.sum() == 0:
            k[0] += 1
        got = convolve(
            x.astype(dtype), k.astype(dtype), mode, nan_policy="interpolate", fill_value=fill_value, method=method
        )
        want = _interpolate_ref(x.astype(dtype), k, mode, fill_value, np.finfo(dtype).eps)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=f"trial {trial}, k={k}")
        tol = 2e-4 if dtype == np.float32 else 1e-10
        np.testing.assert_allclose(got, want, rtol=tol, atol=tol, equal_nan=True, err_msg=f"trial {trial}")


@pytest.mark.parametrize("method", METHODS)
def test_interpolate_cancellation_in_2d_and_along_axes(method):
    x = np.ones((6, 9))
    x[:, 4] = np.nan
    k = np.array([[1.0, -1.0, 1.0]])  # sum 1; a window with only the two outer taps valid sums to 2
    got = convolve(x, k, "same", nan_policy="interpolate", fill_value=np.nan, method=method)
    # columns 0 and 8: only taps -1 and +1 valid -> cancel; column 3/5: taps 1, -1 -> cancel
    assert np.isnan(got[:, [0, 3, 5, 8]]).all()
    np.testing.assert_allclose(got[:, [1, 2, 6, 7]], 1.0)
    assert np.isnan(got[:, 4]).all() == False  # noqa: E712 - window 3..5 has taps 1 and 1 valid -> sum 2
    rows = convolve(x, k[0], "same", axes=1, nan_policy="interpolate", fill_value=np.nan, method=method)
    np.testing.assert_array_equal(np.isnan(rows), np.isnan(got))


# -- case 10: integers of every width and signedness ----------------------------------------------

INT_DTYPES = [np.bool_, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64, np.uint64]


def test_issue_case_int64_with_uint64_is_exact():
    got = convolve(np.array([2**53 + 1, 3], np.int64), np.array([1], np.uint64))
    assert got.dtype == np.int64
    assert got.tolist() == [9007199254740993, 3]


def _values(dtype, rng, n, extreme):
    if dtype == np.bool_:
        return rng.random(n) > 0.5
    info = np.iinfo(dtype)
    if extreme:
        pool = [int(info.min), int(info.max), int(info.max) - 1, int(info.min) + 1, 0, 1]
        return np.array([pool[i] for i in rng.integers(0, len(pool), n)], dtype=dtype)
    return rng.integers(max(info.min, -100), min(info.max, 100), size=n, endpoint=True).astype(dtype)


def _exact(x, k):
    xs, ks = [int(v) for v in x], [int(v) for v in k]
    out = [0] * (len(xs) + len(ks) - 1)
    for i, a in enumerate(xs):
        for j, b in enumerate(ks):
            out[i + j] += a * b
    return out


def _expected_dtype(xd, kd):
    unsigned = all(np.dtype(d).kind in "bu" for d in (xd, kd)) and np.uint64 in (xd, kd)
    return np.dtype(np.uint64 if unsigned else np.int64)


@pytest.mark.parametrize(("xd", "kd"), list(itertools.product(INT_DTYPES, INT_DTYPES)))
def test_every_integer_pair_is_exact_or_refused(xd, kd):
    rng = np.random.default_rng(INT_DTYPES.index(xd) * 10 + INT_DTYPES.index(kd))
    out_dtype = _expected_dtype(xd, kd)
    info = np.iinfo(out_dtype)
    for extreme, method in [(False, "auto"), (True, "direct"), (True, "fft"), (True, "auto")]:
        x, k = _values(xd, rng, 7, extreme), _values(kd, rng, 3, extreme)
        want = _exact(x, k)
        if info.min <= min(want) and max(want) <= info.max:
            got = convolve(x, k, method=method)
            assert got.dtype == out_dtype
            assert got.tolist() == want, (method, x, k)
        else:
            with pytest.raises(ValueError, match="too large for an exact result"):
                convolve(x, k, method=method)


@pytest.mark.parametrize(("big", "fill", "out"), [(2**63, 2, np.uint64), (2**62, -2, np.int64)])
def test_integer_fill_value_keeps_the_result_exact(big, fill, out):
    x = np.array([big, 3], np.uint64)
    k = np.array([1, 1], np.uint8)
    got = convolve(x, k, "same", fill_value=fill)
    assert got.dtype == out
    assert got.tolist() == [big + fill, big + 3]
    if fill < 0:  # a negative fill makes the output signed: 2**63 + 3 no longer fits
        with pytest.raises(ValueError, match="exceeds the int64 range"):
            convolve(np.array([2**63, 3], np.uint64), k, "same", fill_value=fill)


def test_mixed_signedness_in_a_plan_and_correlate():
    x = np.array([2**60, -5, 7], np.int64)
    t = np.array([1, 2], np.uint64)
    got = correlate(x, t)
    assert got.dtype == np.int64
    assert got.tolist() == [2 * 2**60, 2**60 - 10, -5 + 14, 7]
    plan = Convolver(t, x.shape, "same", dtype=np.int64)
    assert plan(x).tolist() == [2**60, 2 * 2**60 - 5, -10 + 7]


@pytest.mark.parametrize("method", ["auto", "direct"])
@pytest.mark.parametrize(("xs", "ks"), [((255, 255), (255, 255)), ((300, 280), (250, 251)), ((9, 70, 71), (1, 64, 65))])
def test_large_kernel_few_outputs_is_a_direct_sum(method, xs, ks):
    """A kernel as large as x in 'valid' (few outputs, 10^4+ taps) used to die in ndimage with a bare MemoryError."""
    rng = np.random.default_rng(7)
    x, k = rng.random(xs), rng.random(ks)
    y = convolve(x, k, "valid", method=method)
    ref = (
        scipy.signal.convolve(x, k, "valid", method="direct")
        if x.size < 10**5
        else scipy.signal.fftconvolve(x, k, "valid")
    )
    np.testing.assert_allclose(y, ref, rtol=1e-12, atol=1e-12 * np.abs(ref).max())
    assert convolve(np.zeros(xs), np.ones(ks), "valid", method=method).max() == 0.0
