"""The compiled direct sum (``convlens._engine._directsum``) and its route in the direct path.

Checked against scipy.signal / a literal float64 sum on random geometries, against itself
(threads, the zero-extending edge loops and strips against an explicitly padded input, windows, the baseline copy
against the AVX2 copy), and for what a direct sum promises (NaN stays local, zero taps kept).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
import scipy.signal
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import convlens as cl
from _engine_ref import direct_sum, full_kernel, random_array, ref_convolve, ref_correlate
from conftest import assert_close
from convlens._engine import _api, _direct, _directsum
from convlens._engine._direct import (
    NATIVE_F32_MAX_TAPS,
    direct_route,
    native_ok,
    native_pads,
    native_sum_dtype,
    native_threads,
)
from convlens._engine._recipe import make_recipe

MODES = ["full", "same", "valid"]
FLOATS = [np.float32, np.float64]


def _route(kern_shape, x_shape, mode, dtype, *, axes=None, boundary="constant"):
    geom = cl.Convolver(np.ones(kern_shape), x_shape, mode, axes=axes).geometry
    return geom, direct_route(geom, boundary, True, np.dtype(dtype), False)


def _full_sum_two_ways(x: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The full convolution of planes ``x`` (b, n, m) with ``h`` by the compiled sum: zero-extended
    by the sum itself, and on x padded with zeros first (its valid part)."""
    b, n, m = x.shape
    kh, kw = h.shape
    mh, mw = n + kh - 1, m + kw - 1
    full = np.empty((b, mh, mw), x.dtype)
    _directsum.convolve_plane(x, h, full, b, n, m, kh, kw, mh, mw, 0, 0, 0, mh, 0, mw)
    xp = np.pad(x, ((0, 0), (kh - 1, kh - 1), (kw - 1, kw - 1)))
    padded = np.empty_like(full)
    _directsum.convolve_plane(xp, h, padded, b, *xp.shape[1:], kh, kw, mh, mw, kh - 1, kw - 1, 0, mh, 0, mw)
    return full, padded


def test_the_compiled_sum_is_built():
    # CI builds it: a missing compiler must not pass unnoticed as "NumPy and OpenCV only"
    assert _direct.HAVE_NATIVE
    assert _directsum.SIMD in ("avx2+fma", "baseline")


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    "x_shape,k_shape,axes",
    [
        ((4096,), (3,), None),
        ((1000,), (31,), None),
        ((257,), (128,), None),  # a long kernel: the edge outputs are many
        ((7, 300), (1, 11), None),  # rows, one kernel for all
        ((300, 7), (5, 1), None),  # along the first of two axes
        ((6, 500), (9,), (1,)),
        ((6, 500), (9,), (-1,)),
        ((120, 130), (3, 3), None),
        ((64, 70), (7, 5), None),
        ((3, 40, 50), (1, 5, 4), None),
        ((2, 3, 33, 35), (3, 3), (2, 3)),
        ((33, 35, 2), (3, 3), (0, 1)),  # channels last: transposed first
        ((500, 2), (9,), (0,)),  # a stereo signal along its first axis
        ((9, 10, 11), (3, 1, 4), None),  # the kernel's axes split by one of size 1
    ],
)
@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "numpy-opencv"])
def test_matches_scipy(x_shape, k_shape, axes, mode, dtype, compiled, request):
    if not compiled:
        request.getfixturevalue("without_native")
    rng = np.random.default_rng(abs(hash((x_shape, k_shape, mode))) % 2**32)
    x = random_array(rng, x_shape, dtype)
    k = random_array(rng, k_shape, dtype)
    _, route = _route(k_shape, x_shape, mode, dtype, axes=axes)
    if compiled and dtype == np.float64:  # float32 planes may go to OpenCV where the cost model ranks it first
        assert route.backend == "native"
    if not compiled:
        assert route.backend != "native"
    got = cl.convolve(x, k, mode, axes=axes, method="direct")
    assert got.dtype == dtype
    assert_close(got, ref_convolve(x, k, mode, axes=axes), dtype)
    if len(x_shape) == 1:
        assert_close(got, scipy.signal.convolve(x, k, mode, method="direct"), dtype)
    assert_close(cl.correlate(x, k, mode, axes=axes, method="direct"), ref_correlate(x, k, mode, axes=axes), dtype)


@pytest.mark.parametrize("boundary", ["constant", "reflect", "symmetric", "edge", "wrap"])
@pytest.mark.parametrize("dtype", FLOATS)
def test_every_boundary(boundary, dtype):
    rng = np.random.default_rng(3)
    for x_shape, k_shape in (((500,), (7,)), ((40, 45), (5, 3))):
        x = random_array(rng, x_shape, dtype)
        k = random_array(rng, k_shape, dtype)
        for fill in (0.0, 2.5) if boundary == "constant" else (0.0,):
            want = ref_convolve(x, k, "same", boundary=boundary, fill_value=fill)
            for _ in range(2):  # the template's first call, then the lean path
                got = cl.convolve(x, k, "same", boundary=boundary, fill_value=fill, method="direct")
                assert_close(got, want, dtype)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 90),
    m=st.integers(1, 40),
    k=st.integers(1, 20),
    w=st.integers(1, 12),
    mode=st.sampled_from(MODES),
    double=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_property_any_plane_and_kernel_size(n, m, k, w, mode, double, seed):
    # kernels larger than x ('full', 'same'), planes narrower than a vector
    assume(mode != "valid" or (k <= n and w <= m))
    dtype = np.float64 if double else np.float32
    rng = np.random.default_rng(seed)
    x = random_array(rng, (n, m), dtype)
    kern = random_array(rng, (k, w), dtype)
    got = cl.convolve(x, kern, mode, method="direct")
    assert_close(got, direct_sum(x, kern, mode), dtype)


@settings(max_examples=300, deadline=None)
@given(
    b=st.integers(1, 2),
    n=st.integers(1, 40),
    m=st.integers(1, 90),
    kh=st.integers(1, 9),
    kw=st.integers(1, 40),
    double=st.booleans(),
    special=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_property_strips_and_row_groups_keep_every_bit(b, n, m, kh, kw, double, special, seed):
    # Edges of 3 columns or more run the vector loops on zero-filled strips, rows narrower than a
    # block of vectors go 4 at a time, and every output must still add its taps in one order:
    # x zero-extended by the sum equals x padded first, and any window of the output equals the
    # same part of the whole (windows move which outputs fall in strips), bit for bit, with NaN,
    # inf and signed zeros in x and zero taps in h.  Checked against a literal float64 sum too.
    dtype = np.float64 if double else np.float32
    rng = np.random.default_rng(seed)
    x = random_array(rng, (b, n, m), dtype)
    h = random_array(rng, (kh, kw), dtype)
    if special:
        x.flat[rng.integers(0, x.size, 3)] = rng.choice([np.nan, np.inf, -np.inf, 0.0, -0.0], 3)
        h.flat[rng.integers(0, h.size)] = -0.0
    full, padded = _full_sum_two_ways(x, h)
    mh, mw = full.shape[1:]
    assert full.tobytes() == padded.tobytes()
    i0, j0 = (int(v) for v in rng.integers(0, (mh, mw)))
    i1, j1 = int(rng.integers(i0, mh + 1)), int(rng.integers(j0, mw + 1))
    part = np.full_like(full, 7)
    _directsum.convolve_plane(x, h, part, b, n, m, kh, kw, mh, mw, 0, 0, i0, i1, j0, j1)
    assert part[:, i0:i1, j0:j1].tobytes() == full[:, i0:i1, j0:j1].tobytes()
    assert (part[:, :i0] == 7).all() and (part[:, i1:] == 7).all()
    assert (part[:, :, :j0] == 7).all() and (part[:, :, j1:] == 7).all()
    if not special:
        assert_close(full[0], direct_sum(x[0], h, "full"), dtype)


@settings(max_examples=200, deadline=None)
@given(
    b=st.integers(1, 2),
    n=st.integers(1, 20),
    m=st.integers(1, 90),
    kh=st.integers(1, 5),
    kw=st.integers(1, 24),
    double=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_property_a_zero_sum_is_plus_zero_on_every_path(b, n, m, kh, kw, double, seed):
    # A fused multiply-add whose product underflows gives -0 (fma(-1e-200, 1e-200, +0)), and a
    # zero tap added after it +0: the sign of a zero sum must not depend on whether its edge taps
    # were left out (the scalar loop) or added as zeros (a strip), i.e. on the window or the
    # threads.  Every path stores +0, as a literal sum of rounded products (scipy's) does.
    dtype = np.float64 if double else np.float32
    tiny = 1e-200 if double else 1e-30
    rng = np.random.default_rng(seed)
    x = np.zeros((b, n, m), dtype)
    x.flat[rng.integers(0, x.size, 4)] = tiny * rng.choice([-1.0, 1.0, 1e30], 4)
    h = (rng.choice([-1.0, 1.0, 0.0], (kh, kw)) * rng.choice([tiny, 1.0], (kh, kw))).astype(dtype)
    full, padded = _full_sum_two_ways(x, h)
    mh, mw = full.shape[1:]
    assert not np.signbit(full[full == 0]).any()
    assert full.tobytes() == padded.tobytes()
    j0 = int(rng.integers(0, mw))
    part = np.empty_like(full)
    _directsum.convolve_plane(x, h, part, b, n, m, kh, kw, mh, mw, 0, 0, 0, mh, j0, mw)
    assert part[:, :, j0:].tobytes() == full[:, :, j0:].tobytes()


def test_a_zero_sum_has_one_sign_whatever_the_mode_and_threads():
    # the case that showed it: output 0 of 'same' had its edge tap left out (-0), the same
    # output of 'full' (index 1) had it added as zero (+0); a long signal split between threads
    # moved which outputs were edges
    x = np.zeros((1, 8))
    x[:, 1] = 1e-200
    k = np.array([[-1e-200, -1.0, 1.0, 1.0]])
    same, full = cl.convolve(x, k, "same", method="direct"), cl.convolve(x, k, "full", method="direct")
    assert same[0, 0] == 0 and not np.signbit(same[0, 0]) and not np.signbit(full[0, 1])
    want = scipy.signal.convolve(x, k, "full", method="direct")
    assert not np.signbit(want[0, 1])  # scipy's literal sum: +0 too
    n = 1_000_022
    x = np.zeros(n)
    x[1] = 1e-200
    one = cl.convolve(x, k[0], "same", method="direct", workers=1)
    assert one.tobytes() == cl.convolve(x, k[0], "same", method="direct", workers=2).tobytes()
    assert not np.signbit(one[0])


@pytest.mark.parametrize("dtype", FLOATS)
def test_windows_left_or_right_of_x_write_only_their_outputs(dtype):
    # negative and large column offsets: a strip that lies wholly outside x (its zero fill once
    # ran past the strip's buffer; no public path passes such offsets, convolve_plane accepts them)
    rng = np.random.default_rng(12)
    x = random_array(rng, (1, 64, 20), dtype)
    h = random_array(rng, (2, 3), dtype)
    full = np.empty((1, 65, 22), dtype)
    _directsum.convolve_plane(x, h, full, 1, 64, 20, 2, 3, 65, 22, 0, 0, 0, 65, 0, 22)
    for sw in (-100000, -70, -5, 7, 30, 100000):
        out = np.full((1, 65, 64), 7.0, dtype)
        _directsum.convolve_plane(x, h, out, 1, 64, 20, 2, 3, 65, 64, 0, sw, 0, 65, 0, 64)
        want = np.zeros_like(out)
        for j in range(64):
            if 0 <= j + sw < 22:
                want[:, :, j] = full[:, :, j + sw]
        assert out.tobytes() == want.tobytes(), sw


@pytest.mark.parametrize("dtype", FLOATS)
def test_the_edge_loop_equals_the_vector_loop_on_padded_input(dtype):
    # zero extension done by the edge loops (scalar, or on zero-filled strips), or by padding first and keeping the valid part:
    # the same terms in the same order, so the same bits
    rng = np.random.default_rng(4)
    for x_shape, kshape in (((1, 1, 1000), (1, 37)), ((2, 50, 70), (5, 9)), ((1, 9, 300), (3, 1))):
        x = random_array(rng, x_shape, dtype)
        h = random_array(rng, kshape, dtype)
        full, padded = _full_sum_two_ways(x, h)
        np.testing.assert_array_equal(full, padded)
        assert_close(full, direct_sum(x, h.reshape(1, *kshape), "full"), dtype)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize(
    "x_shape,k_shape,axes,perm",
    [
        ((300, 320, 3), (5, 5), (0, 1), (2, 0, 1)),  # an RGB image, channels last
        ((20000, 2), (31, 1), None, (1, 0)),  # a stereo signal: its last axis too short for a vector
        ((2000, 3), (15,), (0,), (1, 0)),
    ],
)
def test_convolved_axes_are_moved_last_where_that_pays(x_shape, k_shape, axes, perm, dtype):
    rng = np.random.default_rng(10)
    x = random_array(rng, x_shape, dtype)
    k = random_array(rng, k_shape, dtype)
    _, route = _route(k_shape, x_shape, "same", dtype, axes=axes)
    assert route.backend == "native" and route.perm == perm
    for boundary in ("constant", "reflect"):
        got = cl.convolve(x, k, "same", axes=axes, boundary=boundary, method="direct")
        assert got.flags.c_contiguous and got.dtype == dtype
        assert_close(got, ref_convolve(x, k, "same", axes=axes, boundary=boundary), dtype)
        one = cl.convolve(x, k, "same", axes=axes, boundary=boundary, method="direct", workers=1)
        np.testing.assert_array_equal(
            cl.convolve(x, k, "same", axes=axes, boundary=boundary, workers=2, method="direct"), one
        )


def test_edges_extend_by_zeros_in_the_sum_itself():
    # wide edges run the vector loops on zero-filled strips (a long kernel no longer pads x first:
    # 300 (x) 101 'full' took 14 us so, 22 us padded); narrow rows with a few taps are transposed
    for k_shape, x_shape, mode in (
        ((101,), (300,), "full"),
        ((3, 3), (512, 512), "same"),
        ((7, 7), (100, 100), "same"),
    ):
        geom, route = _route(k_shape, x_shape, mode, np.float64)
        assert route.backend == "native" and not native_pads(geom, True) and not route.pad


@pytest.mark.parametrize(
    "x_shape,k_shape,dtype",
    [((1024, 1024), (7, 7), np.float64), ((1 << 20,), (31,), np.float64), ((4, 300, 400), (1, 9, 9), np.float32)],
)
def test_threads_do_not_change_a_bit(x_shape, k_shape, dtype):
    rng = np.random.default_rng(5)
    x = random_array(rng, x_shape, dtype)
    k = random_array(rng, k_shape, dtype)
    geom, route = _route(k_shape, x_shape, "same", dtype)
    assert route.backend == "native" and native_threads(geom, np.dtype(dtype).itemsize == 8, 2) == min(
        2, os.cpu_count()
    )
    one = cl.convolve(x, k, "same", method="direct", workers=1)
    for workers in (2, 3):
        np.testing.assert_array_equal(cl.convolve(x, k, "same", method="direct", workers=workers), one)


def test_small_sums_stay_on_one_thread():
    geom, _ = _route((3,), (4096,), "same", np.float32)
    assert native_threads(geom, False, 8) == 1


_BASELINE_SCRIPT = """
import json, sys
import numpy as np
import convlens as cl
from convlens._engine import _directsum
rng = np.random.default_rng(6)
out = {"simd": _directsum.SIMD, "results": []}
for dtype in ("float32", "float64"):
    for xs, ks in (((5000,), (5,)), ((70, 90), (3, 7))):
        x = rng.standard_normal(xs).astype(dtype)
        k = rng.standard_normal(ks).astype(dtype)
        out["results"].append(cl.convolve(x, k, "same", method="direct").astype(float).ravel().tolist())
json.dump(out, sys.stdout)
"""


def test_the_baseline_copy_gives_the_same_sums():
    # the copy for CPUs without AVX2/FMA; forced by CONVLENS_SIMD=baseline (rounding may differ: no fused
    # multiply-add)
    runs = {}
    for simd in ("baseline", "native"):
        env = {**os.environ, "CONVLENS_SIMD": simd}
        proc = subprocess.run(
            [sys.executable, "-c", _BASELINE_SCRIPT], env=env, capture_output=True, text=True, timeout=120, check=True
        )
        runs[simd] = json.loads(proc.stdout)
    assert runs["baseline"]["simd"] == "baseline"
    for dtype, a, b in zip(["float32"] * 2 + ["float64"] * 2, runs["baseline"]["results"], runs["native"]["results"]):
        assert_close(np.array(a), np.array(b), np.dtype(dtype))


@pytest.mark.parametrize("dtype", FLOATS)
def test_nan_and_inf_stay_local_and_zero_taps_are_kept(dtype):
    rng = np.random.default_rng(7)
    x = random_array(rng, (60, 70), dtype)
    x[10, 20], x[40, 3], x[0, 69] = np.nan, np.inf, -np.inf
    k = random_array(rng, (3, 5), dtype)
    k[1, 2] = 0  # 0 * nan is nan in a direct sum: the zero tap must not be skipped
    for mode in MODES:
        got = cl.convolve(x, k, mode, method="direct")
        want = direct_sum(x, k, mode)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
        finite = np.isfinite(want)
        assert_close(got[finite], want[finite], dtype)


def test_any_memory_layout_and_inputs_untouched():
    rng = np.random.default_rng(8)
    base = rng.standard_normal((80, 90))
    k = rng.standard_normal((5, 5))
    for x in (np.asfortranarray(base), base[::2, ::3], base.T):
        before = x.copy()
        x.flags.writeable = False
        got = cl.convolve(x, k, "same", method="direct")
        np.testing.assert_array_equal(x, before)
        assert_close(got, ref_convolve(np.ascontiguousarray(x), k, "same"), np.float64)


def test_integers_and_float16_take_it_in_their_working_dtype():
    rng = np.random.default_rng(9)
    xi = rng.integers(-100, 100, 1000).astype(np.int16)
    ki = rng.integers(-5, 5, 7).astype(np.int16)
    np.testing.assert_array_equal(cl.convolve(xi, ki, "same", method="direct"), np.convolve(xi, ki, "same"))
    xh = rng.standard_normal(1000).astype(np.float16)
    kh = rng.standard_normal(7).astype(np.float16)
    got = cl.convolve(xh, kh, "same", method="direct")
    assert got.dtype == np.float16
    assert_close(got, np.convolve(xh.astype(float), kh.astype(float), "same"), np.float16)


def test_long_float32_kernels_are_summed_in_float64():
    # sequential float32 sums lose digits past OpenCV's limit of direct taps: from there the compiled
    # sum runs in float64 and rounds once (as ndimage did, ~14x slower)
    _, route = _route((NATIVE_F32_MAX_TAPS - 1,), (4096,), "same", np.float32)
    assert route.backend == "native" and route.sum_dtype == np.float32
    geom, route = _route((31, 31), (256, 256), "same", np.float32)
    assert route.backend == "native" and route.sum_dtype == np.float64 and native_ok(geom, np.dtype(np.float32))
    assert native_sum_dtype(geom, np.dtype(np.float32)) == np.float64
    _, route = _route((31, 31), (256, 256), "same", np.float64)
    assert route.backend == "native" and route.sum_dtype == np.float64
    rng = np.random.default_rng(10)
    for x_shape, k_shape, axes in [
        ((200, 210), (15, 15), None),
        ((3, 90, 80), (13, 11), (1, 2)),
        ((70, 60, 2), (12, 12), (0, 1)),
    ]:
        x = random_array(rng, x_shape, np.float32)
        k = random_array(rng, k_shape, np.float32)
        for mode in MODES:
            got = cl.convolve(x, k, mode, axes=axes, method="direct")
            assert got.dtype == np.float32
            want = ref_convolve(x, k, mode, axes=axes)  # float64
            # the float64 sum rounded once: within one float32 rounding of the exact value
            err = np.abs(got.astype(np.float64) - want)
            assert np.all(err <= np.spacing(np.abs(want).astype(np.float32)).astype(np.float64) + 1e-12)


COMPLEX = [np.complex64, np.complex128]


@pytest.mark.parametrize("dtype", COMPLEX)
@pytest.mark.parametrize(
    "x_shape,k_shape,axes,kernel_kind",
    [
        ((300, 310), (5, 7), None, "complex"),
        ((300, 310), (5, 7), None, "real"),
        ((200, 190), (15, 15), None, "complex"),  # float32 parts summed in float64
        ((4000,), (31,), None, "complex"),
        ((3, 60, 70), (3, 3), (1, 2), "real"),
        ((60, 70, 2), (3, 3), (0, 1), "complex"),  # channels last: transposed first
    ],
)
def test_complex_direct_sums_run_in_real_parts(x_shape, k_shape, axes, kernel_kind, dtype):
    rng = np.random.default_rng(11)
    x = random_array(rng, x_shape, dtype)
    k = random_array(rng, k_shape, dtype if kernel_kind == "complex" else np.dtype(dtype).char.lower())
    geom = cl.Convolver(k, x_shape, "same", axes=axes).geometry
    route = direct_route(geom, "constant", True, np.dtype(dtype), False)
    assert route.backend == "native"
    for mode in MODES:
        for boundary in ("constant", "reflect"):
            got = cl.convolve(x, k, mode, axes=axes, boundary=boundary, method="direct")
            assert got.dtype == dtype
            assert_close(got, ref_convolve(x, k, mode, axes=axes, boundary=boundary), dtype)
    before = x.copy()
    got = cl.correlate(x, k, "same", axes=axes, method="direct", workers=2)
    np.testing.assert_array_equal(x, before)
    assert_close(got, ref_correlate(x, k, "same", axes=axes), dtype)


@pytest.mark.parametrize("kernel_kind", ["real", "complex", "real taps in a complex dtype"])
def test_complex_parts_keep_a_complex_sums_nan_and_inf(kernel_kind):
    # nan + 0j times a real tap is nan + nan j in a complex multiply-add: the split sums must agree
    rng = np.random.default_rng(12)
    x = random_array(rng, (40, 50), np.complex128)
    x[10, 20] = complex(np.nan, 0.0)
    x[30, 5] = complex(0.0, np.inf)
    x[0, 49] = complex(np.inf, -np.inf)
    k = random_array(rng, (3, 5), np.complex128)
    if kernel_kind != "complex":
        k = k.real.copy()
        if kernel_kind != "real":
            k = k.astype(np.complex128)
    k[1, 2] = 0
    for mode in MODES:
        got = cl.convolve(x, k, mode, method="direct")
        want = direct_sum(x, k, mode)
        for part in (np.real, np.imag):
            np.testing.assert_array_equal(np.isnan(part(got)), np.isnan(part(want)))
            np.testing.assert_array_equal(np.isinf(part(got)), np.isinf(part(want)))
        finite = np.isfinite(want)
        assert_close(got[finite], want[finite], np.complex128)


def test_convolve_plane_refuses_bad_arguments():
    x = np.zeros((1, 4, 4))
    h = np.ones((2, 2))
    out = np.empty((1, 5, 5))
    dims = (1, 4, 4, 2, 2, 5, 5, 0, 0)
    plane = _directsum.convolve_plane
    with pytest.raises(TypeError, match="all float32 or all float64"):
        plane(x.astype(np.float32), h, out, *dims, 0, 5, 0, 5)
    with pytest.raises(TypeError, match="all float32 or all float64"):
        plane(x.astype(np.int64), h.astype(np.int64), out.astype(np.int64), *dims, 0, 5, 0, 5)
    with pytest.raises(ValueError, match="outside out"):
        plane(x, h, out, *dims, 0, 6, 0, 5)
    with pytest.raises(ValueError, match="outside out"):
        plane(x, h, out, *dims, 3, 2, 0, 5)
    with pytest.raises(ValueError, match="must hold"):  # sizes that do not describe the buffers
        plane(x, h, out, 1, 4, 5, 2, 2, 5, 5, 0, 0, 0, 5, 0, 5)
    with pytest.raises(ValueError, match="must hold"):  # a product that overflows
        plane(x, h, out, 1, 2**40, 2**40, 2, 2, 5, 5, 0, 0, 0, 5, 0, 5)
    with pytest.raises(ValueError, match="at least 1"):
        plane(x, h, out, 0, 4, 4, 2, 2, 5, 5, 0, 0, 0, 5, 0, 5)
    for far in (-(2**63) + 2, 2**62):  # an offset whose index arithmetic would overflow (a breaker's segfault)
        with pytest.raises(ValueError, match="offsets"):
            plane(x, h, out, 1, 4, 4, 2, 2, 5, 5, 0, far, 0, 5, 0, 5)
        with pytest.raises(ValueError, match="offsets"):
            plane(x, h, out, 1, 4, 4, 2, 2, 5, 5, far, 0, 0, 5, 0, 5)
    ro = out.copy()
    ro.flags.writeable = False
    with pytest.raises((ValueError, BufferError)):  # read-only output
        plane(x, h, ro, *dims, 0, 5, 0, 5)
    with pytest.raises((ValueError, BufferError)):  # not contiguous
        plane(np.zeros((1, 4, 8))[:, :, ::2], h, out, *dims, 0, 5, 0, 5)
    plane(x + 1, h, out, *dims, 0, 5, 0, 5)  # and the right call works
    np.testing.assert_array_equal(out[0], scipy.signal.convolve(np.ones((4, 4)), h))


def test_auto_takes_the_direct_sum_for_short_kernels():
    assert cl.choose_method((1 << 20,), (31,), mode="same", dtype="float64") == "direct"
    assert cl.choose_method((4096, 4096), (5, 5), mode="same", dtype="float64") == "direct"
    assert cl.choose_method((4096, 4096), (63, 63), mode="same", dtype="float64") != "direct"


# -- the leanest call: a repeated one-shot convolve run by the compiled sum (_fastpath.NativeCall) --------
def _twice(x, k, **kw):
    """The first call (validated, template built) and a repeated one (the lean call), as a pair."""
    _api._RECENT.clear()
    first = cl.convolve(x, k, **kw)
    return first, cl.convolve(x, k, **kw)


def test_repeated_call_takes_the_leanest_path():
    from convlens._engine._fastpath import NativeCall

    x, k = np.random.default_rng(0).standard_normal(4096), np.array([0.25, 0.5, 0.25])
    first, again = _twice(x, k, mode="same", workers=1)
    runners = [r for r in _api._RECENT.values() if isinstance(r, NativeCall)]
    assert len(runners) == 1
    np.testing.assert_array_equal(first, again)
    np.testing.assert_allclose(again, np.convolve(x, k, "same"), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("x_dtype", [np.float32, np.float64, np.int16])
@pytest.mark.parametrize("k_dtype", [np.float32, np.float64, np.int64, bool])
def test_leanest_path_dtypes_match_the_general_path(x_dtype, k_dtype):
    rng = np.random.default_rng(1)
    x = (rng.standard_normal(1000) * 50).astype(x_dtype)
    k = (rng.standard_normal(5) * 3).astype(k_dtype)
    if np.dtype(x_dtype).kind == "i" and np.dtype(k_dtype).kind in "ib":
        pytest.skip("integer pairs are exact sums (another path)")
    first, again = _twice(x, k, mode="same", workers=1)
    assert again.dtype == first.dtype
    np.testing.assert_array_equal(again, first)
    ref = scipy.signal.convolve(x.astype(np.float64), k.astype(np.float64), "same", method="direct")
    tol = 1e-5 if again.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(again, ref, rtol=tol, atol=tol * np.abs(ref).max())


@pytest.mark.parametrize("taps", [3, 200])
def test_leanest_path_refuses_a_non_finite_kernel(taps):
    x, k = np.random.default_rng(2).standard_normal(4096), np.ones(taps)
    _twice(x, k, mode="same", workers=1)
    for bad in (np.nan, np.inf, -np.inf):
        k2 = k.copy()
        k2[taps // 2] = bad
        with pytest.raises(ValueError, match="kernel must contain only finite values"):
            cl.convolve(x, k2, mode="same", workers=1)
    assert np.isfinite(k).all()  # the caller's kernel was not touched


def test_leanest_path_accepts_a_finite_kernel_whose_sum_overflows():
    x = np.zeros(4096)
    x[100] = 1.0
    k = np.array([1e308, 1e308, 1.0])
    _twice(x, np.ones(3), mode="same", workers=1)
    y = cl.convolve(x, k, mode="same", workers=1)  # the quick sum overflows; the taps are finite
    np.testing.assert_array_equal(y[99:102], [1e308, 1e308, 1.0])


def test_leanest_path_views_and_correlation():
    rng = np.random.default_rng(3)
    base = rng.standard_normal(8192)
    x = base[::2]  # not contiguous: same shape and dtype as the template's x
    k = rng.standard_normal(8)
    _twice(np.ascontiguousarray(x), k, mode="same", workers=1)
    np.testing.assert_allclose(cl.convolve(x, k[::-1][::-1], mode="same", workers=1), np.convolve(x, k, "same"))
    np.testing.assert_allclose(cl.convolve(x, k[::-1], mode="same", workers=1), np.convolve(x, k[::-1], "same"))
    _api._RECENT.clear()
    cl.correlate(x, k, mode="valid", workers=1)
    got = cl.correlate(x, k, mode="valid", workers=1)
    np.testing.assert_allclose(got, scipy.signal.correlate(x, k, "valid"), rtol=1e-12, atol=1e-12)


def test_compiled_sum_takes_fastcall_arguments():
    from convlens._engine import _directsum

    x, h, out = np.ones(16), np.ones(3), np.empty(14)
    _directsum.convolve_plane(x, h, out, np.int64(1), 1, 16, 1, 3, 1, 14, 0, 2, 0, 1, 0, 14)  # __index__ ints
    np.testing.assert_array_equal(out, 3.0)
    with pytest.raises(TypeError, match="exactly 16 arguments"):
        _directsum.convolve_plane(x, h, out)
    with pytest.raises(TypeError):
        _directsum.convolve_plane(x, h, out, 1.0, 1, 16, 1, 3, 1, 14, 0, 2, 0, 1, 0, 14)


@pytest.mark.parametrize("dtype", FLOATS)
def test_rows_wider_than_a_block_end_in_an_overlapping_block(dtype):
    # rows of 8 vectors and more end with a block that overlaps the one before it (no run of single
    # vectors): every width around the block size, any window of columns, the same bits as one whole
    # call and the float64 reference's values
    rng = np.random.default_rng(12)
    block = 8 * (32 // np.dtype(dtype).itemsize)
    h = random_array(rng, (3, 5), dtype)
    for width in (block - 1, block, block + 1, block + 7, 2 * block - 1, 3 * block + 5):
        x = random_array(rng, (1, 6, width), dtype)
        out = np.empty_like(x)
        dims = (1, 6, width, 3, 5, 6, width, 1, 2)
        _directsum.convolve_plane(x, h, out, *dims, 0, 6, 0, width)
        assert_close(out[0], direct_sum(x[0], h, "same"), dtype)
        for j0, j1 in ((0, width), (3, width - 2), (width // 3, width), (1, block + 2)):
            j1 = min(j1, width)
            part = np.full_like(x, np.nan)
            _directsum.convolve_plane(x, h, part, *dims, 0, 6, j0, j1)
            np.testing.assert_array_equal(part[..., j0:j1], out[..., j0:j1])
            assert np.isnan(part[..., :j0]).all() and np.isnan(part[..., j1:]).all()  # nothing outside its window


VOLUMES = [
    ((9, 10, 11), (3, 3, 3), None),
    ((2, 9, 10, 11), (3, 2, 4), (1, 2, 3)),  # a batch axis in front
    ((5, 6, 7), (5, 6, 7), None),  # the kernel as large as x
    ((3, 8, 9, 40), (1, 3, 3, 3), None),  # the kernel's batch axis of size 1
    ((1, 20, 20), (3, 3, 3), None),  # one plane deep: the kernel's outer planes meet no x plane
    ((12, 12, 70), (2, 2, 2), None),  # even lengths; rows wide enough for whole vector blocks
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128])
@pytest.mark.parametrize("x_shape,k_shape,axes", VOLUMES)
def test_volumes_run_plane_by_plane(x_shape, k_shape, axes, dtype):
    rng = np.random.default_rng(13)
    x = random_array(rng, x_shape, dtype)
    k = random_array(rng, k_shape, dtype)
    geom = cl.Convolver(k, x_shape, "same", axes=axes).geometry
    route = direct_route(geom, "constant", True, np.dtype(dtype), False).backend
    # four real sums of a few hundred complex samples may cost more than the tap loop (the cost model decides)
    if np.dtype(dtype).kind != "c" or x.size >= 990:
        assert route == "volume"
    _check_modes_and_threads(x, k, axes, dtype, ("constant", "reflect", "wrap"))


def _check_modes_and_threads(x, k, axes, dtype, boundaries) -> None:
    """Every mode and boundary against the reference; two threads give the same bits as one."""
    for mode in MODES:
        kf = full_kernel(k, x.ndim, axes)
        conv = range(x.ndim) if axes is None else [a % x.ndim for a in axes]
        if mode == "valid" and any(x.shape[a] < kf.shape[a] for a in conv):
            continue
        for boundary in boundaries:
            one = cl.convolve(x, k, mode, axes=axes, boundary=boundary, method="direct", workers=1)
            assert one.dtype == dtype
            assert_close(one, ref_convolve(x, k, mode, axes=axes, boundary=boundary), dtype)
            two = cl.convolve(x, k, mode, axes=axes, boundary=boundary, method="direct", workers=2)
            np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("dtype", FLOATS)
def test_volume_edges_padded_or_not_and_chunked_give_the_same_sums(dtype, monkeypatch):
    rng = np.random.default_rng(14)
    x = random_array(rng, (30, 33, 37), dtype)
    k = random_array(rng, (3, 4, 5), dtype)
    geom = cl.Convolver(k, x.shape, "same").geometry
    zero_ext = _direct.native_volume(x, k, geom, extended=False, workers=1)
    padded = _direct.native_volume(_direct.pad(x, geom, "constant"), k, geom, extended=True, workers=1)
    assert_close(zero_ext, padded, dtype)
    # one output plane a chunk: every chunk meets the depth's edges differently
    monkeypatch.setattr(_direct, "VOLUME_CHUNK_BYTES", 1)
    np.testing.assert_array_equal(_direct.native_volume(x, k, geom, extended=False, workers=2), zero_ext)
    assert_close(zero_ext, ref_convolve(x, k, "same"), dtype)


def test_volume_keeps_nan_and_inf_local():
    rng = np.random.default_rng(15)
    x = random_array(rng, (20, 21, 22), np.float64)
    x[5, 6, 7], x[10, 0, 21], x[19, 20, 0] = np.nan, np.inf, -np.inf
    k = random_array(rng, (3, 3, 3), np.float64)
    k[1, 1, 1] = 0  # 0 * nan is nan in a direct sum
    for mode in MODES:
        got = cl.convolve(x, k, mode, method="direct")
        want = direct_sum(x, k, mode)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
        finite = np.isfinite(want)
        assert_close(got[finite], want[finite], np.float64)


def test_auto_takes_the_volume_sum_for_small_3d_kernels():
    assert cl.choose_method((64, 64, 64), (3, 3, 3), dtype=np.float32) == "direct"
    assert cl.choose_method((128, 128, 128), (5, 5, 5), dtype=np.float64) == "direct"
    assert cl.choose_method((64, 64, 64), (31, 31, 31), dtype=np.float32) != "direct"


PER_PLANE = [
    ((3, 60, 70), (3, 5, 5), (1, 2)),  # a kernel per channel (depthwise)
    ((60, 70, 3), (5, 5, 3), (0, 1)),  # ... channels last: transposed first
    ((16, 400), (16, 31), (1,)),  # a kernel per row
    ((4, 5, 300), (4, 5, 9), (2,)),  # ... per row of every plane
    ((4, 5, 300), (1, 5, 9), (2,)),  # ... the same rows' kernels for every plane
    ((1, 50, 60), (6, 3, 3), (1, 2)),  # one x, six kernels: six outputs
    ((2, 3, 40, 50), (2, 1, 3, 4), (2, 3)),  # kernels along one batch axis, x along both
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64])
@pytest.mark.parametrize("x_shape,k_shape,axes", PER_PLANE)
def test_a_kernel_per_plane_or_row_runs_plane_by_plane(x_shape, k_shape, axes, dtype):
    rng = np.random.default_rng(16)
    x = random_array(rng, x_shape, dtype)
    k = random_array(rng, k_shape, dtype)
    geom = cl.Convolver(k, x_shape, "same", axes=axes).geometry
    # no longer the tap loop: the compiled sum (or OpenCV's filter2D, plane by plane, where it is cheaper)
    assert direct_route(geom, "constant", True, np.dtype(dtype), False).backend in ("native", "cv2")
    _check_modes_and_threads(x, k, axes, dtype, ("constant", "symmetric"))
    # the lean path of a repeated call, and a plan
    for _ in range(2):
        assert_close(
            cl.convolve(x, k, "same", axes=axes, method="direct"), ref_convolve(x, k, "same", axes=axes), dtype
        )
    plan = cl.Convolver(k, x_shape, "same", axes=axes, method="direct", dtype=dtype)
    assert_close(plan(x), ref_convolve(x, k, "same", axes=axes), dtype)


def test_widened_sums_beyond_float32_are_inf_without_warnings():
    x = np.full(300, 3e38, np.float32)
    with np.errstate(all="raise"):  # a float32 sum overflows to inf silently: so must the float64 one, cast
        for taps in (NATIVE_F32_MAX_TAPS - 1, NATIVE_F32_MAX_TAPS):
            got = cl.convolve(x, np.ones(taps, np.float32), "same", method="direct")
            assert np.isinf(got[100:200]).all() and got.dtype == np.float32
        got = cl.convolve(x.astype(np.complex64), np.ones(NATIVE_F32_MAX_TAPS, np.float32), "same", method="direct")
        assert np.isinf(got.real[100:200]).all() and not got.imag.any()


@pytest.mark.parametrize("taps", [3, 11, 12, 40])
def test_short_complex_signals_keep_a_literal_sums_inf(taps):
    # numpy.convolve's complex dot products give nan + inf j here; the literal multiply-add gives inf + inf j
    x = np.zeros(1000, complex)
    x[500] = complex(np.inf, 0)
    k = np.ones(taps, complex)
    k[0] = 1 + 1j
    got = cl.convolve(x, k, "full", method="direct")
    want = direct_sum(x, k, "full")
    for part in (np.real, np.imag):
        np.testing.assert_array_equal(np.isnan(part(got)), np.isnan(part(want)))
        np.testing.assert_array_equal(np.isinf(part(got)), np.isinf(part(want)))


@pytest.mark.parametrize(
    "x_dtype,k_shape,factor",
    [(np.complex128, (9, 9), 2.0), (np.complex64, (15, 15), 2.0), (np.float32, (15, 15), 2.0)],
)
def test_memory_estimate_counts_the_widened_and_split_sums(x_dtype, k_shape, factor):
    # x cast to the sum's dtype, the parts' results: all counted before the call (the memory check reads this)
    geom = cl.Convolver(np.ones(k_shape), (300, 300), "same").geometry
    r = make_recipe(
        geom,
        np.dtype(x_dtype),
        np.dtype(x_dtype),
        False,
        explicit_pad=False,
        method="direct",
        workers=1,
        cached_kernel=False,
    )
    plain = (
        math.prod(geom.out_shape) + math.prod(s + a + b for s, (a, b) in zip(geom.x_shape, geom.pad_width))
    ) * np.dtype(x_dtype).itemsize
    assert r.direct_bytes >= factor * plain


@pytest.mark.parametrize(
    "x_shape,k_shape,axes",
    [
        ((300, 16), (31, 16), (0,)),  # one filter per channel of an (n, channels) signal
        ((4096, 16), (1, 16), (0,)),  # a gain per column
        ((2, 300, 16), (1, 31, 16), (1,)),
        ((64, 64, 8), (1, 1, 8), (0, 1)),
        ((300, 70, 4), (1, 4, 4), (0, 1)),
    ],
)
@pytest.mark.parametrize("method", ["direct", "auto"])
def test_a_kernel_per_column_of_the_last_axis(x_shape, k_shape, axes, method):
    rng = np.random.default_rng(17)
    x = random_array(rng, x_shape, np.float64)
    k = random_array(rng, k_shape, np.float64)
    for mode in MODES:
        got = cl.convolve(x, k, mode, axes=axes, method=method)
        assert_close(got, ref_convolve(x, k, mode, axes=axes), np.float64)
        assert_close(
            cl.correlate(x, k, mode, axes=axes, method=method), ref_correlate(x, k, mode, axes=axes), np.float64
        )


def test_threaded_volumes_warn_no_more_than_one_thread():
    # numpy's errstate holds for the thread that sets it: every share sets its own
    x = np.zeros((64, 64, 64))
    x[50, 10, 10], x[51, 10, 10] = np.inf, -np.inf
    k = np.ones((3, 3, 3))
    one = cl.convolve(x, k, "same", method="direct", workers=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        two = cl.convolve(x, k, "same", method="direct", workers=2)
    np.testing.assert_array_equal(one, two)
    assert np.isnan(one).sum() == 18
