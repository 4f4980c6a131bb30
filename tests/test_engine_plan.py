"""Convolver plans, choose_method and convolve_channels."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.signal

from _engine_ref import BOUNDARIES, METHODS, MODES, ref_convolve
from conftest import assert_close
from convlens import Convolver, choose_method, convolve, convolve_channels

PLAN_CASES = [
    # x shape, kernel shape, axes
    ((64,), (7,), None),
    ((300,), (12,), None),
    ((20, 24), (5, 4), None),
    ((3, 20, 24), (5, 4), (1, 2)),
    ((6, 7, 8), (3, 3, 2), None),
    ((40, 5), (9, 1), (0, 1)),
]


@pytest.mark.parametrize("method", [*METHODS, "auto"])
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_plan_equals_convolve_for_many_inputs(rng, boundary, method):
    for xs, ks, axes in PLAN_CASES:
        k = rng.standard_normal(ks)
        for mode in MODES:
            plan = Convolver(k, xs, mode, axes=axes, boundary=boundary, fill_value=0.25, method=method)
            assert plan.method in METHODS
            outs = []
            for i in range(4):
                x = rng.standard_normal(xs)
                if i % 2:  # complex inputs too (a complex working dtype takes other buffers)
                    x = x + 1j * rng.standard_normal(xs)
                y = plan(x)
                assert y.shape == plan.out_shape
                ref = convolve(x, k, mode, axes=axes, boundary=boundary, fill_value=0.25, method="direct")
                assert_close(y, ref, err_msg=f"{xs} {ks} {mode}")
                assert_close(y, ref_convolve(x, k, mode, axes=axes, boundary=boundary, fill_value=0.25))
                outs.append((y.copy(), y))
            for saved, y in outs:  # results of earlier calls are not overwritten by later ones (buffer reuse)
                np.testing.assert_array_equal(saved, y)


def test_plan_reused_across_dtypes(rng):
    k = rng.standard_normal((5, 4))
    for method in METHODS:
        plan = Convolver(k.astype(np.float32), (30, 31), "same", boundary="reflect", method=method)
        for dtype in (np.float32, np.float64, np.complex64, np.float32, np.int16, np.float16):
            x = (rng.standard_normal((30, 31)) * 10).astype(dtype)
            y = plan(x)
            assert y.dtype == np.result_type(dtype, np.float32), f"{dtype} {method}"
            assert_close(y, ref_convolve(x, k.astype(np.float32), "same", boundary="reflect"), dtype=y.dtype)


def test_plan_with_dtype_given_up_front(rng):
    k = rng.standard_normal((9, 9)).astype(np.float32)
    plan = Convolver(k, (64, 64), "same", dtype=np.float32, method="fft")
    assert plan.method == "fft"
    x = rng.standard_normal((64, 64)).astype(np.float32)
    y = plan(x)
    assert y.dtype == np.float32
    assert_close(y, scipy.signal.convolve(x.astype(np.float64), k.astype(np.float64), "same"), dtype=np.float32)


def test_plan_keeps_a_private_kernel_copy(rng):
    k = rng.standard_normal(5)
    plan = Convolver(k, (20,), "same", method="fft")
    x = rng.standard_normal(20)
    before = plan(x).copy()
    k[:] = 0  # changing the caller's kernel afterwards must not change the plan
    assert_close(plan(x), before)
    assert_close(before, scipy.signal.convolve(x, plan.kernel, "same"))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("cplx", [False, True])
def test_plan_is_thread_safe(rng, method, cplx):
    k = rng.standard_normal((7, 7))
    plan = Convolver(k, (50, 60), "same", boundary="wrap", method=method, workers=1)
    xs = [rng.standard_normal((50, 60)) + (1j * rng.standard_normal((50, 60)) if cplx else 0) for _ in range(8)]
    with ThreadPoolExecutor(4) as pool:
        ys = list(pool.map(plan, xs))
    for x, y in zip(xs, ys):
        assert_close(y, ref_convolve(x, k, "same", boundary="wrap"))


def test_plan_repr_and_properties(rng):
    plan = Convolver(np.ones(3), (10,), "valid", boundary="edge")
    assert plan.out_shape == (8,)
    assert "Convolver" in repr(plan) and "'edge'" in repr(plan)
    assert Convolver(np.ones((2, 3)), (4, 5, 6), "full", axes=(1, 2)).out_shape == (4, 6, 8)


@pytest.mark.parametrize("workers", [1, 2, None])
def test_workers_do_not_change_results(rng, workers):
    x = rng.standard_normal((3, 200, 150))
    k = rng.standard_normal((15, 15))
    ref = ref_convolve(x, k, "same", axes=(1, 2))
    for method in METHODS:
        assert_close(convolve(x, k, "same", axes=(1, 2), method=method, workers=workers), ref)
    x1 = rng.standard_normal(20000)
    k1 = rng.standard_normal(257)
    assert_close(convolve(x1, k1, method="overlap-add", workers=workers), scipy.signal.fftconvolve(x1, k1))
    # a long signal: overlap-add blocks (shared among threads when workers > 1), float32 kept
    x2, k2 = rng.standard_normal(2**18), rng.standard_normal(1025)
    ref2 = scipy.signal.oaconvolve(x2, k2)
    for method in ("overlap-add", "auto"):
        assert_close(convolve(x2, k2, method=method, workers=workers), ref2)
    y32 = convolve(x2.astype(np.float32), k2.astype(np.float32), "same", method="overlap-add", workers=workers)
    assert y32.dtype == np.float32
    assert_close(y32, scipy.signal.oaconvolve(x2, k2, "same"), dtype=np.float32)


# -- choose_method ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("xs", "ks"),
    [((4096, 4096), (3, 3)), ((4096, 4096), (31, 31)), ((2**22,), (4096,)), ((100,), (5,)), ((64, 64, 64), (5, 5, 5))],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128, np.int64])
def test_choose_method_returns_a_method(xs, ks, dtype):
    for mode in MODES:
        m = choose_method(xs, ks, mode=mode, dtype=dtype)
        assert m in METHODS
        assert m == choose_method(xs, ks, mode=mode, dtype=dtype)  # deterministic


def test_choose_method_agrees_with_auto_plans(rng):
    for xs, ks, axes in PLAN_CASES:
        for mode in MODES:
            kern = rng.standard_normal(ks)
            plan = Convolver(kern, xs, mode, axes=axes, dtype=np.float64)
            assert plan.method == choose_method(xs, kern.shape, mode=mode, axes=axes, cached_kernel=True), (xs, mode)
            one_shot = choose_method(xs, kern.shape, mode=mode, axes=axes)
            assert one_shot in METHODS


def test_choose_method_picks_sensible_extremes():
    """Clear-cut cases only; the close calls are the benchmark's business (tests never check timings)."""
    assert choose_method((4096, 4096), (3, 3), mode="same", dtype=np.float32) == "direct"
    assert choose_method((4096, 4096), (31, 31), mode="same", dtype=np.float32) in ("fft", "overlap-add")


def test_choose_method_measure_returns_name_and_times():
    name, times = choose_method((2000,), (31,), measure=True)
    assert name in METHODS
    assert set(times) <= set(METHODS) and name in times
    assert all(isinstance(t, float) and t > 0 for t in times.values())
    assert times[name] == min(times.values())
    name2, times2 = choose_method((40, 50), (5, 5), mode="same", boundary="reflect", dtype=np.float32, measure=True)
    assert name2 in METHODS and times2[name2] == min(times2.values())


# -- convolve_channels --------------------------------------------------------------------------------------------


def _channels_loop(x, w, mode, groups=1, boundary="constant", fill_value=0):
    n = x.shape[0]
    c_out, c_in_g = w.shape[:2]
    c_out_g = c_out // groups
    out = None
    for b in range(n):
        for o in range(c_out):
            g = o // c_out_g
            acc = sum(
                ref_convolve(x[b, g * c_in_g + i], w[o, i], mode, boundary=boundary, fill_value=fill_value)
                for i in range(c_in_g)
            )
            if out is None:
                out = np.zeros((n, c_out, *acc.shape), dtype=acc.dtype)
            out[b, o] = acc
    return out


@pytest.mark.parametrize("method", ["direct", "fft", "auto"])
@pytest.mark.parametrize("mode", MODES)
def test_channels_equal_loop_over_scipy(rng, mode, method):
    x = rng.standard_normal((2, 3, 12, 11))
    w = rng.standard_normal((4, 3, 3, 4))
    got = convolve_channels(x, w, mode, method=method)
    ref = np.zeros_like(got)
    for b in range(2):
        for o in range(4):
            ref[b, o] = sum(scipy.signal.convolve(x[b, i], w[o, i], mode, method="direct") for i in range(3))
    assert_close(got, ref)


@pytest.mark.parametrize("method", ["direct", "fft"])
@pytest.mark.parametrize("groups", [1, 2, 4])
def test_channels_groups(rng, groups, method):
    x = rng.standard_normal((2, 4, 9, 10))
    w = rng.standard_normal((8, 4 // groups, 3, 3))
    got = convolve_channels(x, w, "same", groups=groups, method=method)
    assert got.shape == (2, 8, 9, 10)
    assert_close(got, _channels_loop(x, w, "same", groups=groups))


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_channels_boundaries_1d_and_3d(rng, boundary):
    x1 = rng.standard_normal((2, 3, 30))
    w1 = rng.standard_normal((2, 3, 5))
    x3 = rng.standard_normal((1, 2, 6, 7, 5))
    w3 = rng.standard_normal((3, 2, 3, 2, 3))
    for method in ("direct", "fft"):
        for x, w in ((x1, w1), (x3, w3)):
            got = convolve_channels(x, w, "same", boundary=boundary, fill_value=0.5, method=method)
            assert_close(got, _channels_loop(x, w, "same", boundary=boundary, fill_value=0.5), err_msg=method)


def test_channels_float32_stays_float32(rng):
    x = rng.standard_normal((1, 2, 20, 20)).astype(np.float32)
    w = rng.standard_normal((3, 2, 5, 5)).astype(np.float32)
    for method in ("direct", "fft"):
        y = convolve_channels(x, w, "valid", method=method)
        assert y.dtype == np.float32
        assert_close(y, _channels_loop(x, w, "valid"), dtype=np.float32)


def test_channels_equal_torch_conv2d_with_flipped_weights(rng):
    torch = pytest.importorskip("torch")
    x = rng.standard_normal((2, 4, 16, 15))
    w = rng.standard_normal((6, 2, 3, 5))
    ref = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(np.flip(w, (2, 3)).copy()), groups=2).numpy()
    for method in ("direct", "fft", "auto"):
        assert_close(convolve_channels(x, w, "valid", groups=2, method=method), ref, err_msg=method)
    # 'same' with odd kernels is torch's padding='same'
    w_odd = rng.standard_normal((3, 4, 3, 5))
    ref = torch.nn.functional.conv2d(
        torch.from_numpy(x), torch.from_numpy(np.flip(w_odd, (2, 3)).copy()), padding="same"
    ).numpy()
    assert_close(convolve_channels(x, w_odd, "same"), ref)


@pytest.mark.parametrize("method", ["direct", "fft", "auto"])
def test_channels_integers_are_exact(rng, method):
    """Integer inputs give the exact int64 result (or, beyond what can be exact, a ValueError), never a rounded one."""
    for xbits, wbits in ((4, 2), (44, 8)):
        x = rng.integers(-(2**xbits), 2**xbits, (1, 2, 9, 8))
        w = rng.integers(-(2**wbits), 2**wbits, (3, 2, 3, 3))
        ref = np.zeros((1, 3, 9, 8), dtype=np.int64)
        for o in range(3):
            ref[0, o] = sum(scipy.signal.convolve(x[0, i], w[o, i], "same", method="direct") for i in range(2))
        try:
            y = convolve_channels(x, w, "same", method=method)
        except ValueError as exc:
            assert xbits > 40 and "exact" in str(exc)
            continue
        assert y.dtype == np.int64
        np.testing.assert_array_equal(y, ref, err_msg=f"2**{xbits}")


def test_shared_fft_plan_keeps_nan_handling_per_call_across_threads(rng):
    """The FFT path learns finiteness from each call's own spectrum, never from another thread's call."""
    from concurrent.futures import ThreadPoolExecutor

    k = rng.random((5, 5))
    plan = Convolver(k, (64, 64), "same", method="fft", workers=1)
    clean = rng.standard_normal((64, 64))
    holed = clean.copy()
    holed[30, 30] = np.nan
    ref_clean, ref_holed = plan(clean), plan(holed)
    assert np.isnan(ref_holed).sum() == 25 and not np.isnan(ref_clean).any()

    def call(i):
        return i % 2, plan(holed if i % 2 else clean)

    with ThreadPoolExecutor(4) as pool:
        for odd, y in pool.map(call, range(200)):
            np.testing.assert_array_equal(y, ref_holed if odd else ref_clean)
