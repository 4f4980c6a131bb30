"""Adversarial checks of the compiled direct sum (``_directsum``) through every public door.

Random geometries, boundaries, layouts, dtypes, thread counts and concurrent callers, all checked
against a literal float64 sum (``direct_sum``) or scipy; garbage handed straight to
``convolve_plane`` must raise, and crash-prone calls run in a subprocess whose return code is checked.
A spy on ``convolve_plane`` makes sure the compiled sum really ran where it should (and not for complex).
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import threading
import types

import numpy as np
import pytest
import scipy.signal

import convlens as cl
from _engine_ref import direct_sum, random_array, ref_correlate
from conftest import assert_close, tol_for
from convlens._engine import _direct, _directsum

BOUNDARIES = ["constant", "reflect", "symmetric", "edge", "wrap"]
MODES = ["full", "same", "valid"]
FLOATS = [np.float32, np.float64]


@pytest.fixture
def native_calls(monkeypatch):
    """A list that grows by one for every call of the compiled ``convolve_plane``."""
    calls = []
    real = _directsum.convolve_plane

    def spy(*args):
        calls.append(args[3:])
        return real(*args)

    monkeypatch.setattr(_direct, "_directsum", types.SimpleNamespace(convolve_plane=spy, SIMD=_directsum.SIMD))
    return calls


def _tol(dtype, taps: int) -> float:
    # a sequential float32 sum's error grows with the number of terms
    return tol_for(dtype) * max(1.0, taps / 20)


def _check(got, want, dtype, taps: int = 1, msg: str = "") -> None:
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=msg)
    np.testing.assert_array_equal(np.isinf(got), np.isinf(want), err_msg=msg)
    finite = np.isfinite(want)
    assert_close(got[finite], want[finite], dtype, rel=_tol(dtype, taps), err_msg=msg)


def _random_case(rng):
    nd = int(rng.integers(1, 5))
    xs = [int(v) for v in rng.integers(1, 5, nd)]
    xs[-1] = int(rng.integers(1, 150))
    if nd >= 2:
        xs[-2] = int(rng.integers(1, 30))
    axes = [(-1,), (-2, -1), (nd - 1,)][int(rng.integers(3))] if nd >= 2 else (-1,)
    ks = [int(rng.integers(1, 8)) for _ in axes]
    ks[-1] = int(rng.integers(1, 40))
    if rng.random() < 0.3:
        ks = [1] * (nd - len(ks)) + ks  # the kernel with x's dimensions, leading ones of size 1
    mode = MODES[int(rng.integers(3))]
    kx = dict(zip(sorted(a % nd for a in axes), ks[-len(axes) :]))
    if mode == "valid" and any(kx[a] > xs[a] for a in kx):
        mode = "full"
    boundary = BOUNDARIES[int(rng.integers(5))]
    fill = float(rng.choice([0.0, 0.0, -1.75])) if boundary == "constant" else 0.0
    return xs, ks, axes, mode, boundary, fill


@pytest.mark.parametrize("seed", range(4))
def test_random_geometries_every_door_matches_a_literal_sum(seed, native_calls):
    rng = np.random.default_rng(1000 + seed)
    for _ in range(40):
        xs, ks, axes, mode, boundary, fill = _random_case(rng)
        dtype = FLOATS[int(rng.integers(2))]
        x = random_array(rng, xs, dtype)
        k = random_array(rng, ks, dtype)
        if rng.random() < 0.3:
            k.flat[int(rng.integers(k.size))] = 0  # a zero tap must still multiply a NaN
        if rng.random() < 0.3:
            x.flat[int(rng.integers(x.size))] = np.nan
        layout = int(rng.integers(4))
        if layout == 1:
            x = np.asfortranarray(x)
        elif layout == 2:
            x = x.astype(x.dtype.newbyteorder(">"))
        elif layout == 3:
            x.flags.writeable = False
        before = x.copy()
        want = direct_sum(x, k, mode, axes=axes, boundary=boundary, fill_value=fill)
        workers = int(rng.integers(1, 6))
        msg = f"{xs} {ks} {axes} {mode} {boundary} {fill} {np.dtype(dtype).name} w={workers} layout={layout}"
        kw = dict(axes=axes, boundary=boundary, fill_value=fill, method="direct", workers=workers)
        got = cl.convolve(x, k, mode, **kw)
        assert got.dtype == np.dtype(dtype), msg
        _check(got, want, dtype, k.size, msg)
        plan = cl.Convolver(k, x.shape, mode, dtype=np.dtype(dtype), **kw)
        for _ in range(2):  # the second call takes the lean repeated-call path
            _check(plan(x), want, dtype, k.size, msg)
        np.testing.assert_array_equal(x, before)
    assert len(native_calls) > 40  # the compiled sum really ran on many of them


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_every_boundary_mode_and_fill_on_wide_planes(boundary, dtype, native_calls):
    # wide enough for the 8-vector loop, its one-vector loop, the overlapping tail and the edge loop
    rng = np.random.default_rng(11)
    x = random_array(rng, (2, 13, 8 * 8 + 8 * 2 + 3), dtype)
    for ks in [(3, 5), (1, 9), (6, 1), (13, 2), (14, 90)]:
        k = random_array(rng, ks, dtype)
        for mode in MODES:
            if mode == "valid" and (ks[0] > 13 or ks[1] > x.shape[-1]):
                continue
            for fill in [0.0, 2.5] if boundary == "constant" else [0.0]:
                got = cl.convolve(x, k, mode, axes=(-2, -1), boundary=boundary, fill_value=fill, method="direct")
                want = direct_sum(x, k, mode, axes=(-2, -1), boundary=boundary, fill_value=fill)
                _check(got, want, dtype, k.size, f"{ks} {mode} {fill}")
    assert native_calls


@pytest.mark.parametrize("dtype", FLOATS)
def test_nan_inf_and_zero_taps_at_every_edge(dtype):
    rng = np.random.default_rng(12)
    x = random_array(rng, (9, 75), dtype)
    x[0, 0], x[8, 74], x[4, 37], x[4, 38], x[2, 1] = np.nan, np.nan, np.inf, -np.inf, np.inf
    k = random_array(rng, (3, 4), dtype)
    k[0, :] = 0
    k[:, 3] = 0  # whole rows and columns of zero taps: 0 * nan and 0 * inf are nan
    for boundary in BOUNDARIES:
        for mode in MODES:
            got = cl.convolve(x, k, mode, boundary=boundary, method="direct", workers=3)
            _check(got, direct_sum(x, k, mode, boundary=boundary), dtype, k.size, f"{boundary} {mode}")


@pytest.mark.parametrize("dtype", FLOATS)
def test_kernels_larger_than_x_and_size_one_axes(dtype):
    rng = np.random.default_rng(13)
    cases = [
        ((1, 1), (1, 1), None),
        ((1, 1), (4, 7), None),
        ((3, 1), (5, 1), None),
        ((1, 40), (1, 100), None),
        ((5, 3), (2,), (-2,)),
        ((4, 6, 3), (9,), (-1,)),
        ((2, 3, 4, 50), (1, 1, 6, 11), None),
        ((2, 3, 4, 50), (6, 11), (2, 3)),
        ((7,), (30,), None),
    ]
    for xs, ks, axes in cases:
        x, k = random_array(rng, xs, dtype), random_array(rng, ks, dtype)
        for mode in ["full", "same"]:
            for boundary in ["constant", "reflect", "wrap"]:
                got = cl.convolve(x, k, mode, axes=axes, boundary=boundary, method="direct")
                want = direct_sum(x, k, mode, axes=axes, boundary=boundary)
                _check(got, want, dtype, k.size, f"{xs} {ks} {axes} {mode} {boundary}")


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize(
    "xs, ks, axes",
    [
        ((600, 700), (5, 5), None),
        ((1, 300_000), (1, 9), None),
        ((300_000,), (9,), None),
        ((3, 300, 500), (7, 3), (-2, -1)),
        ((2, 200, 400), (11,), (-1,)),
    ],
)
def test_one_to_eight_workers_give_identical_bits(xs, ks, axes, dtype, native_calls):
    rng = np.random.default_rng(14)
    x, k = random_array(rng, xs, dtype), random_array(rng, ks, dtype)
    one = cl.convolve(x, k, "same", axes=axes, method="direct", workers=1)
    assert_close(
        one,
        scipy.signal.convolve(x.astype(float), np.reshape(k, ks).astype(float), "same")
        if axes is None
        else direct_sum(x, k, "same", axes=axes),
        dtype,
        rel=_tol(dtype, k.size),
    )
    for workers in range(2, 9):
        np.testing.assert_array_equal(cl.convolve(x, k, "same", axes=axes, method="direct", workers=workers), one)
    assert native_calls


def test_concurrent_callers_get_their_single_threaded_answers():
    rng = np.random.default_rng(15)
    xs = [random_array(rng, (250, 300), np.float32) for _ in range(6)]
    k = random_array(rng, (7, 7), np.float32)
    alone = [cl.convolve(a, k, "same", method="direct", workers=2) for a in xs]
    plan = cl.Convolver(k, (250, 300), "same", method="direct", workers=3)
    got: dict = {}

    def work(i: int) -> None:
        got[("f", i)] = cl.convolve(xs[i % 6], k, "same", method="direct", workers=2)
        got[("p", i)] = plan(xs[i % 6])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(18)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 36
    for (_, i), res in got.items():
        np.testing.assert_array_equal(res, alone[i % 6])


@pytest.mark.parametrize("dtype", FLOATS)
def test_plans_reused_and_pickled(dtype):
    rng = np.random.default_rng(16)
    k = random_array(rng, (5, 3), dtype)
    plan = cl.Convolver(k, (40, 130), "same", boundary="symmetric", method="direct", workers=2)
    clone = pickle.loads(pickle.dumps(plan))
    for _ in range(6):
        x = random_array(rng, (40, 130), dtype)
        want = direct_sum(x, k, "same", boundary="symmetric")
        a, b = plan(x), clone(x)
        _check(a, want, dtype, k.size)
        np.testing.assert_array_equal(a, b)


def test_complex_takes_the_compiled_sum_in_real_parts_and_stays_right(native_calls):
    rng = np.random.default_rng(17)
    xr, kr = random_array(rng, (30, 80), np.float64), random_array(rng, (3, 4), np.float64)
    xc, kc = random_array(rng, (30, 80), np.complex128), random_array(rng, (3, 4), np.complex64)
    for x, k in [(xc, kr), (xr, kc), (xc, kc), (xc.astype(np.complex64), kc)]:
        for mode in MODES:
            native_calls.clear()
            got = cl.convolve(x, k, mode, method="direct", workers=2)
            assert got.dtype.kind == "c"
            assert_close(got, direct_sum(x, k, mode), got.dtype)
            # real and imaginary parts of x, each with the kernel's parts (two of them: a real kernel
            # and finite outputs need no imaginary-part sums)
            assert len(native_calls) == (2 if k.dtype.kind == "f" else 4)


def test_small_and_odd_dtypes_through_their_working_dtype(native_calls):
    rng = np.random.default_rng(18)
    cases = [
        (rng.integers(-128, 127, (20, 90)).astype(np.int8), rng.integers(-3, 4, (3, 3)).astype(np.int8)),
        (rng.integers(0, 65535, (20, 90)).astype(np.uint16), rng.integers(0, 3, (3, 3)).astype(np.uint16)),
        (rng.integers(-(2**40), 2**40, (20, 90)), rng.integers(-3, 4, (3, 3))),
        (rng.random((20, 90)) > 0.5, rng.random((3, 3)) > 0.5),
    ]
    for x, k in cases:
        got = cl.convolve(x, k, "same", method="direct")
        assert got.dtype.kind in "iu"
        np.testing.assert_array_equal(got, scipy.signal.convolve(x.astype(np.int64), k.astype(np.int64), "same"))
    big = np.full((1, 20), 2**53 + 1, dtype=np.int64)  # not representable in float64
    np.testing.assert_array_equal(
        cl.convolve(big, np.ones((1, 2), np.int64), "full", method="direct"), np.convolve(big[0], [1, 1])[None]
    )
    xh, kh = random_array(rng, (20, 90), np.float16), random_array(rng, (3, 3), np.float16)
    got = cl.convolve(xh, kh, "same", method="direct")
    assert got.dtype == np.float16
    assert_close(got, direct_sum(xh, kh, "same"), np.float16)
    assert native_calls


@pytest.mark.parametrize("dtype", FLOATS)
def test_correlate_is_convolve_with_the_flipped_kernel(dtype):
    rng = np.random.default_rng(19)
    x, t = random_array(rng, (3, 40, 90), dtype), random_array(rng, (4, 6), dtype)
    for mode in MODES:
        for boundary in ["constant", "edge"]:
            got = cl.correlate(x, t, mode, axes=(-2, -1), boundary=boundary, method="direct")
            want = ref_correlate(x, t, mode, axes=(-2, -1), boundary=boundary)
            assert_close(got, want, dtype, rel=_tol(dtype, t.size))
            flipped = cl.convolve(x, t[::-1, ::-1], mode, axes=(-2, -1), boundary=boundary, method="direct")
            if mode != "same":  # 'same' of an even kernel centres differently for the flipped one
                np.testing.assert_array_equal(got, flipped)


def test_near_overflow_stays_finite_and_nonfinite_kernels_are_refused():
    x = np.full((4, 40), 1e308)
    got = cl.convolve(x, np.full((2, 2), 0.25), "same", method="direct")
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got[1:, 1:], 1e308, rtol=1e-15)
    with pytest.raises(ValueError, match="kernel"):
        cl.convolve(np.ones((5, 50)), np.array([[1.0, np.inf]]), method="direct")


def test_huge_requests_are_refused_before_any_work():
    big = np.broadcast_to(np.float32(1), (2**20, 2**20))
    with pytest.raises((MemoryError, ValueError), match=r"(?i)memory"):
        cl.convolve(big, np.ones((3, 3), np.float32), "full", method="direct")


def test_convolve_plane_garbage_raises():
    plane = _directsum.convolve_plane
    x, h, out = np.zeros(64), np.ones(3), np.zeros(66)
    dims = (1, 1, 64, 1, 3, 1, 66, 0, 0)
    plane(x, h, out, *dims, 0, 1, 0, 66)  # the good call
    np.testing.assert_array_equal(out, np.zeros(66))
    bad_kinds = [
        ("not a buffer", h, out),
        (x, [1.0, 2.0, 3.0], out),
        (x, h, out.astype(">f8")),
        (x.astype(">f8"), h, out),
        (x.astype(np.float32), h, out),
        (x.view(np.int64), h.view(np.int64), out.view(np.int64)),
        (x.astype(np.complex128)[:32], h, out),
    ]
    for a, b, c in bad_kinds:
        with pytest.raises((TypeError, ValueError, BufferError)):
            plane(a, b, c, *dims, 0, 1, 0, 66)
    readonly = out.copy()
    readonly.flags.writeable = False
    with pytest.raises((TypeError, ValueError, BufferError)):
        plane(x, h, readonly, *dims, 0, 1, 0, 66)
    with pytest.raises((TypeError, ValueError, BufferError)):
        plane(x, h, out[::2].copy()[::2], *dims, 0, 1, 0, 66)  # non-contiguous out
    huge = 2**62
    bad_sizes = [
        (1, 1, 63, 1, 3, 1, 66),
        (1, 1, 64, 1, 3, 1, 65),
        (2, 1, 32, 1, 3, 1, 33),
        (0, 1, 64, 1, 3, 1, 66),
        (1, -1, -64, 1, 3, 1, 66),
        (1, 1, 64, 1, 3, -1, -66),
        (huge, huge, huge, 1, 3, 1, 66),
        (1, 1, 64, huge, huge, 1, 66),
        (1, 1, 64, 1, 3, huge, huge),
        (huge, 1, 64, 1, 3, 1, 66),
    ]
    for sizes in bad_sizes:
        with pytest.raises(ValueError):
            plane(x, h, out, *sizes, 0, 0, 0, 1, 0, 66)
    for window in [(0, 2, 0, 66), (-1, 1, 0, 66), (0, 1, -1, 66), (0, 1, 0, 67), (1, 0, 0, 66), (0, 1, 5, 4)]:
        with pytest.raises(ValueError):
            plane(x, h, out, *dims, *window)
    with pytest.raises(OverflowError):
        plane(x, h, out, 1, 1, 64, 1, 3, 1, 66, 2**63, 0, 0, 1, 0, 66)
    with pytest.raises(TypeError):
        plane(x, h, out, *dims, 0, 1, 0)


_OFFSETS_SCRIPT = """
import numpy as np
from convlens._engine._directsum import convolve_plane as plane
rng = np.random.default_rng(3)
for dtype in ("float32", "float64"):
    x = rng.standard_normal((2, 9, 70)).astype(dtype)
    h = rng.standard_normal((3, 5)).astype(dtype)
    for sh, sw in [(-50, 0), (0, -500), (10**9, 0), (0, 10**12), (-10**12, 10**12), (2**60, -(2**60)), (0, 74)]:
        out = np.full((2, 12, 80), 7.0, dtype)
        plane(x, h, out, 2, 9, 70, 3, 5, 12, 80, sh, sw, 0, 12, 0, 80)
        # every tap lands outside x: exact zeros, nothing read out of bounds
        assert not out.any(), (dtype, sh, sw)
    out = np.full((2, 12, 80), 7.0, dtype)
    plane(x, h, out, 2, 9, 70, 3, 5, 12, 80, -1, -2, 3, 7, 5, 60)
    assert (out[:, :3] == 7).all() and (out[:, 7:] == 7).all() and (out[:, :, 60:] == 7).all()
print("ok")
"""


def test_convolve_plane_far_offsets_read_nothing_outside_x():
    # in a subprocess: an out-of-bounds read would kill the test runner instead of failing a test
    proc = subprocess.run([sys.executable, "-c", _OFFSETS_SCRIPT], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "ok"


_SIMD_SCRIPT = """
import json, sys
import numpy as np
import convlens as cl
from convlens._engine import _directsum
rng = np.random.default_rng(21)
res = []
for i in range(24):
    dtype = ("float32", "float64")[i % 2]
    xs = (int(rng.integers(1, 20)), int(rng.integers(1, 200)))
    ks = (int(rng.integers(1, 6)), int(rng.integers(1, 25)))
    x = rng.standard_normal(xs).astype(dtype)
    k = rng.standard_normal(ks).astype(dtype)
    mode = ("full", "same")[i % 3 == 0]
    b = ("constant", "reflect", "wrap", "edge", "symmetric")[i % 5]
    got = cl.convolve(x, k, mode, boundary=b, method="direct", workers=1 + i % 3)
    res.append([dtype, got.shape, got.astype(float).ravel().tolist()])
json.dump({"simd": _directsum.SIMD, "res": res}, sys.stdout)
"""


def test_baseline_copy_agrees_with_the_default_on_random_cases():
    runs = {}
    for simd in ("baseline", "default"):
        env = {**os.environ, "CONVLENS_SIMD": simd}
        proc = subprocess.run(
            [sys.executable, "-c", _SIMD_SCRIPT], env=env, capture_output=True, text=True, timeout=120
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        runs[simd] = json.loads(proc.stdout)
    assert runs["baseline"]["simd"] == "baseline"
    assert runs["default"]["simd"] == _directsum.SIMD
    for (dt, shape, a), (_, shape2, b) in zip(runs["baseline"]["res"], runs["default"]["res"]):
        assert shape == shape2
        assert_close(np.array(b), np.array(a), np.dtype(dt), rel=_tol(np.dtype(dt), 125))


def _exact_full(x, k) -> np.ndarray:
    """The full 2-D convolution in Python integers (no rounding anywhere)."""
    out = np.zeros((x.shape[0] + k.shape[0] - 1, x.shape[1] + k.shape[1] - 1), dtype=object)
    xo, ko = x.astype(object), k.astype(object)
    for a in range(k.shape[0]):
        for b in range(k.shape[1]):
            out[a : a + x.shape[0], b : b + x.shape[1]] += ko[a, b] * xo
    return out


@pytest.mark.parametrize(
    "dtype, xmax, kmax",
    [
        (np.int32, 2**30, 2**25),
        (np.uint32, 2**31, 2**24),
        (np.int64, 2**52, 3),
        (np.int16, 2**14, 2**14),
        (np.uint8, 255, 255),
    ],
)
def test_integer_sums_past_float64_precision_stay_exact(dtype, xmax, kmax):
    # sums up to 2**60: a float64 working dtype (the compiled sum's) would round them
    rng = np.random.default_rng(22)
    x = rng.integers(xmax // 2, xmax, (4, 70)).astype(dtype)
    k = rng.integers(kmax // 2, kmax, (2, 3)).astype(dtype)
    want = _exact_full(x, k)
    for method in ("direct", "auto"):
        got = cl.convolve(x, k, "full", method=method, workers=2)
        assert got.dtype.kind in "iu"
        assert (got.astype(object) == want).all(), method


def test_odd_kernel_layouts_and_self_convolution():
    rng = np.random.default_rng(23)
    x = random_array(rng, (30, 90), np.float64)
    k = random_array(rng, (8, 10), np.float64)
    want = direct_sum(x, k[::2, ::-2], "same")
    for kk in (k[::2, ::-2], np.asfortranarray(k[::2, ::-2]), k[::2, ::-2].astype(">f8")):
        assert_close(cl.convolve(x, kk, "same", method="direct"), want, np.float64)
        assert_close(cl.Convolver(kk, x.shape, "same", method="direct")(x), want, np.float64)
    before = x.copy()
    assert_close(cl.convolve(x, x, "full", method="direct"), direct_sum(before, before, "full"), np.float64)
    np.testing.assert_array_equal(x, before)


def test_concurrent_mixed_calls_of_every_dtype_and_boundary():
    # one-shot calls of many geometries at once: routes, templates and the compiled sum shared by threads
    rng = np.random.default_rng(24)
    cases = []
    for i in range(20):
        dtype = (np.float32, np.float64, np.int16, np.complex64)[i % 4]
        xs = (int(rng.integers(5, 60)), int(rng.integers(5, 200)))
        ks = (int(rng.integers(1, 5)), int(rng.integers(1, 9)))
        if dtype == np.int16:
            x, k = rng.integers(-9, 9, xs).astype(dtype), rng.integers(-3, 3, ks).astype(dtype)
        else:
            x, k = random_array(rng, xs, dtype), random_array(rng, ks, dtype)
        cases.append((x, k, ("full", "same")[i % 2], BOUNDARIES[i % 5], 1 + i % 3))
    alone = []
    for x, k, mode, boundary, workers in cases:
        res = cl.convolve(x, k, mode, boundary=boundary, workers=workers)
        assert_close(res, direct_sum(x, k, mode, boundary=boundary), x.dtype, rel=_tol(res.dtype, k.size))
        alone.append(res)
    bad = []

    def work(j: int) -> None:
        for r in range(5):
            i = (j * 7 + r) % len(cases)
            x, k, mode, boundary, workers = cases[i]
            got = cl.convolve(x, k, mode, boundary=boundary, workers=workers)
            if got.dtype != alone[i].dtype or not np.array_equal(got, alone[i]):
                bad.append(i)

    threads = [threading.Thread(target=work, args=(j,)) for j in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert bad == []
