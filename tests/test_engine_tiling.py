"""Tiled overlap-save over every convolved axis (``_engine._tiled``) against SciPy.

Large N-d FFT and overlap-add plans run in cache-sized tiles; these tests check
the tiling bookkeeping (windows leaving x, partial last tiles, kernels as long
as a tile, batch axes, every mode and boundary, real and complex dtypes, NaN
locality, threads) against ``scipy.signal.fftconvolve`` in float64/complex128.
Small tiles are forced on small arrays so that many tiles and edge cases are
exercised quickly; a few tests go through the public API at sizes where the
engine chooses tiles itself.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal as ss

import convlens as cl
from convlens._engine._blocks import TILE_BYTES, TILE_MAX_BYTES, tile_lengths
from convlens._engine._geometry import make_geometry
from convlens._engine._tiled import TiledPlan

TOL = {np.float32: 2e-5, np.float64: 1e-12, np.complex64: 2e-5, np.complex128: 1e-12}
MODES = ("full", "same", "valid")
BOUNDARIES = ("constant", "reflect", "symmetric", "edge", "wrap")


def _random(rng, shape, dtype):
    a = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        a = a + 1j * rng.standard_normal(shape)
    return a.astype(dtype)


def _ref(x, k, mode, axes=None):
    wide = np.complex128 if np.iscomplexobj(x) or np.iscomplexobj(k) else np.float64
    return ss.fftconvolve(x.astype(wide), k.astype(wide), mode, axes=axes)


def _rel(y, ref):
    return float(np.abs(y - ref).max() / max(np.abs(ref).max(), 1e-300))


def _tiled(k, x_shape, mode, dtype, tiles, *, axes=None, explicit_pad=False, workers=1):
    axes = tuple(range(len(x_shape))) if axes is None else axes
    geom = make_geometry(x_shape, k.shape, axes, mode)
    plan = TiledPlan(k.astype(dtype), geom, explicit_pad=explicit_pad, dtype=dtype, workers=workers, tiles=tiles)
    plan.prepare()
    return plan


# -- forced tiles on small arrays ---------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128])
@pytest.mark.parametrize("mode", MODES)
def test_forced_tiles_match_fftconvolve_on_random_shapes(dtype, mode):
    rng = np.random.default_rng(hash((np.dtype(dtype).str, mode)) % 2**32)
    for _ in range(6):
        k_shape = tuple(int(v) for v in rng.integers(1, 12, 2))
        x_shape = tuple(int(k + v) for k, v in zip(k_shape, rng.integers(0, 60, 2)))
        # from a tile as long as the kernel (one output per tile) to tiles longer than x
        tiles = tuple(int(k + v) for k, v in zip(k_shape, rng.integers(0, 40, 2)))
        x, k = _random(rng, x_shape, dtype), _random(rng, k_shape, dtype)
        y = _tiled(k, x_shape, mode, dtype, tiles)(x)
        ref = _ref(x, k, mode)
        assert y.dtype == dtype and y.shape == ref.shape, (x_shape, k_shape, tiles)
        assert _rel(y, ref) < TOL[dtype], (x_shape, k_shape, tiles)


@pytest.mark.parametrize("t_extra", [0, 1, 2, 7])
def test_kernel_as_long_as_the_tile(t_extra):
    rng = np.random.default_rng(t_extra)
    x, k = rng.standard_normal((53, 47)), rng.standard_normal((9, 8))
    for mode in MODES:
        y = _tiled(k, x.shape, mode, np.float64, (9 + t_extra, 8 + t_extra))(x)
        assert _rel(y, _ref(x, k, mode)) < 1e-12


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_forced_tiles_on_an_explicitly_extended_input(boundary):
    # the engine extends x by the boundary rule and convolves the extension ('valid' of it)
    rng = np.random.default_rng(len(boundary))
    x, k = rng.standard_normal((41, 58)), rng.standard_normal((7, 10))
    geom = make_geometry(x.shape, k.shape, (0, 1), "same")
    xe = np.pad(x, geom.pad_width, mode=boundary)
    y = _tiled(k, x.shape, "same", np.float64, (16, 21), explicit_pad=True)(xe)
    assert _rel(y, _ref(xe, k, "valid")) < 1e-12


def test_three_dimensional_tiles():
    rng = np.random.default_rng(3)
    x, k = rng.standard_normal((19, 23, 17)), rng.standard_normal((4, 5, 3))
    for mode in MODES:
        y = _tiled(k, x.shape, mode, np.float64, (9, 8, 10))(x)
        assert _rel(y, _ref(x, k, mode)) < 1e-12


@pytest.mark.parametrize("k_batch", [1, 3])
def test_batch_axes_ride_along_in_every_tile(k_batch):
    # axes 0 and 2 convolved, axis 1 a batch of 3 (kernel shared or one per batch entry)
    rng = np.random.default_rng(k_batch)
    x, k = rng.standard_normal((37, 3, 44)), rng.standard_normal((6, k_batch, 9))
    for mode in MODES:
        y = _tiled(k, x.shape, mode, np.float64, (15, 20), axes=(0, 2))(x)
        assert _rel(y, _ref(x, k, mode, axes=(0, 2))) < 1e-12


def test_a_kernel_batch_broadcasts_against_one_input():
    rng = np.random.default_rng(11)
    x, k = rng.standard_normal((1, 30, 33)), rng.standard_normal((4, 5, 6))
    y = _tiled(k, x.shape, "full", np.float64, (12, 14), axes=(1, 2))(x)
    assert y.shape == (4, 34, 38)
    assert _rel(y, _ref(x, k, "full", axes=(1, 2))) < 1e-12


@pytest.mark.parametrize("workers", [2, 3])
@pytest.mark.parametrize("shape", [(90, 70), (55, 85)])
def test_threads_share_the_tiles_and_report_finiteness(workers, shape):
    # (55, 85) with (16, 18) tiles: 5 x 7 tiles, so shares end in the middle of a band
    rng = np.random.default_rng(5)
    x, k = rng.standard_normal(shape), rng.standard_normal((5, 6))
    one = _tiled(k, x.shape, "same", np.float64, (16, 18), workers=1)
    many = _tiled(k, x.shape, "same", np.float64, (16, 18), workers=workers)
    (y1, fin1), (y2, fin2) = one.run(x), many.run(x)
    ref = _ref(x, k, "same")
    assert fin1 and fin2
    assert _rel(y1, ref) < 1e-12 and _rel(y2, ref) < 1e-12
    x[50, 3] = np.nan
    assert not one.run(x)[1] and not many.run(x)[1]


# -- the engine choosing tiles itself -------------------------------------------------------------
@pytest.fixture
def small_tiling(monkeypatch):
    """Let the engine tile arrays of about 1000² (it waits for ~16 MiB) so that these tests stay quick."""
    from convlens._engine import _blocks

    monkeypatch.setattr(_blocks, "_WHOLE_IN_CACHE", 1 << 20)


def _plan_is_tiled(plan, dtype):
    return _tiles_of(plan, dtype) is not None


def _tiles_of(plan, dtype=np.float64):
    tiled = getattr(plan._kernel_plan(plan.recipe(np.dtype(dtype))), "tiled", None)
    return None if tiled is None else tiled.tiles


@pytest.mark.parametrize("method", ["fft", "overlap-add"])
@pytest.mark.parametrize(
    ("dtype", "mode"), [(np.float32, "same"), (np.float64, "full"), (np.complex128, "valid"), (np.float64, "same")]
)
def test_large_plans_run_in_tiles_and_match_scipy(small_tiling, method, dtype, mode):
    rng = np.random.default_rng(17)
    x, k = _random(rng, (1061, 1030), dtype), _random(rng, (24, 17), dtype)
    plan = cl.Convolver(k, x.shape, mode, method=method, dtype=dtype, workers=2)
    assert _plan_is_tiled(plan, dtype)
    y = plan(x)
    assert y.dtype == dtype
    assert _rel(y, _ref(x, k, mode)) < TOL[dtype]


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_large_plans_in_tiles_follow_every_boundary(small_tiling, boundary):
    rng = np.random.default_rng(23)
    x, k = rng.standard_normal((1040, 1031)), rng.standard_normal((15, 12))
    y = cl.convolve(x, k, "same", boundary=boundary, method="fft", workers=1)
    geom = make_geometry(x.shape, k.shape, (0, 1), "same")
    assert _rel(y, _ref(np.pad(x, geom.pad_width, mode=boundary), k, "valid")) < 1e-12


def test_nan_stays_local_in_tiles(small_tiling):
    rng = np.random.default_rng(29)
    x, k = rng.standard_normal((1050, 1030)), rng.standard_normal((9, 9))
    x[500, 700] = np.nan
    x[3, 1025] = np.inf
    plan = cl.Convolver(k, x.shape, "same", method="fft", dtype=np.float64)
    assert _plan_is_tiled(plan, np.float64)
    y = plan(x)
    clean = np.where(np.isfinite(x), x, 0.0)
    ref = _ref(clean, k, "same")
    hit = np.zeros(x.shape, bool)
    hit[496:505, 696:705] = True  # the outputs whose 9x9 window covers the NaN
    hit[0:8, 1021:1030] = True  # ... and the inf
    assert np.isnan(y[496:505, 696:705]).all()
    assert not np.isfinite(y[0:8, 1021:1030]).any()
    assert np.isfinite(y[~hit]).all()
    assert _rel(y[~hit], ref[~hit]) < 1e-12


def test_interpolate_in_tiles_matches_the_direct_method(small_tiling):
    rng = np.random.default_rng(31)
    x, k = rng.standard_normal((1030, 1040)), rng.random((7, 7)) + 0.1
    x[rng.integers(0, 1030, 50), rng.integers(0, 1040, 50)] = np.nan
    y = cl.convolve(x, k, "same", nan_policy="interpolate", method="fft")
    want = cl.convolve(x, k, "same", nan_policy="interpolate", method="direct")
    assert np.array_equal(np.isnan(y), np.isnan(want))
    assert np.allclose(y, want, rtol=1e-9, atol=1e-9, equal_nan=True)


def test_integers_stay_exact_in_tiles(small_tiling):
    rng = np.random.default_rng(37)
    x = rng.integers(-1000, 1000, (1030, 1030)).astype(np.int32)
    k = rng.integers(-50, 50, (13, 13)).astype(np.int16)
    y = cl.convolve(x, k, "same", method="fft")
    assert y.dtype == np.int64
    assert np.array_equal(y, np.rint(_ref(x, k, "same")).astype(np.int64))


def test_a_w1_sized_plan_runs_in_tiles_on_two_threads():
    rng = np.random.default_rng(43)
    x, k = rng.standard_normal((2100, 2080)).astype(np.float32), rng.standard_normal((31, 31)).astype(np.float32)
    plan = cl.Convolver(k, x.shape, "same", method="fft", dtype=np.float32, workers=2)
    assert _plan_is_tiled(plan, np.float32)
    y = plan(x)
    assert y.dtype == np.float32
    assert _rel(y, _ref(x, k, "same")) < 2e-6


# -- the choice of tile lengths --------------------------------------------------------------------
def test_tile_lengths_fit_the_cache_and_cover_the_kernel():
    for k, n, itemsize in [(31, 4096, 4), (63, 4096, 4), (15, 4096, 8), (5, 2000, 16), (40, 3000, 8)]:
        whole = (n + k - 1,) * 2
        tiles = tile_lengths((k, k), (n, n), whole, itemsize)
        assert tiles is not None
        assert all(t >= 2 * k for t in tiles)
        assert np.prod(tiles) * itemsize <= TILE_BYTES


@pytest.mark.parametrize("itemsize", [4, 8])
@pytest.mark.parametrize("workers", [1, 2])
def test_a_long_kernel_gets_larger_tiles_that_still_cut_the_array(itemsize, workers):
    # 1 MiB tiles of a 255² kernel would be mostly halo: larger ones, but never one tile for the whole
    for k, n in [(255, 4096), (127, 2048), (255, 2048)]:
        whole = (n + k - 1,) * 2
        tiles = tile_lengths((k, k), (n, n), whole, itemsize, workers=workers)
        assert tiles is not None
        count = np.prod([-(-n // (t - k + 1)) for t in tiles])
        assert TILE_BYTES < np.prod(tiles) * itemsize <= TILE_MAX_BYTES
        assert count >= 2 * max(workers, 2)
        assert all(t >= 2 * k for t in tiles)


def test_a_large_tile_plan_matches_the_reference():
    rng = np.random.default_rng(44)
    x, k = rng.standard_normal((1600, 1500)), rng.standard_normal((127, 131))
    for workers in (1, 2):
        plan = cl.Convolver(k, x.shape, "same", method="fft", dtype=np.float64, workers=workers)
        assert _plan_is_tiled(plan, np.float64)
        assert np.prod(_tiles_of(plan)) * 8 > TILE_BYTES
        assert _rel(plan(x), _ref(x, k, "same")) < 1e-12


def test_tile_lengths_leave_small_arrays_1d_and_long_kernels_whole():
    assert tile_lengths((31,), (2**22,), (2**22 + 30,), 4) is None  # 1-D has its own fused path
    assert tile_lengths((9, 9, 9), (256,) * 3, (264,) * 3, 4) is None  # 3-D tiles were not faster
    assert tile_lengths((15, 15), (256, 256), (270, 270), 4) is None  # already in cache
    assert tile_lengths((15, 15), (1024, 1024), (1040, 1040), 4) is None  # in L3: whole transforms win
    assert tile_lengths((31, 31), (4096, 4096), (4116, 4116), 4, batch=10**6) is None  # no room for a tile
    assert tile_lengths((15, 15), (512, 512), (527, 527), 4, workers=2) is None  # 1 MiB: whole on two threads too


def test_two_threads_take_tiles_from_a_smaller_size_and_match_scipy():
    # whole-array transforms leave the padded copy and the product to one thread: tiles from 2 MiB on
    rng = np.random.default_rng(45)
    for shape, ks, dtype in [((1024, 1000), (15, 17), np.float32), ((600, 520), (31, 31), np.float64)]:
        x, k = rng.standard_normal(shape).astype(dtype), rng.standard_normal(ks).astype(dtype)
        one = cl.Convolver(k, x.shape, "same", method="fft", dtype=dtype, workers=1)
        two = cl.Convolver(k, x.shape, "same", method="fft", dtype=dtype, workers=2)
        assert not _plan_is_tiled(one, dtype) and _plan_is_tiled(two, dtype)
        tol = 2e-6 if dtype == np.float32 else 1e-12
        assert _rel(two(x), _ref(x, k, "same")) < tol
        assert _rel(cl.convolve(x, k, "same", workers=2), _ref(x, k, "same")) < tol


def test_forced_tiles_with_the_scipy_fallback(monkeypatch):
    from convlens import _backend as B

    monkeypatch.setattr(B, "HAVE_DUCC", False)
    rng = np.random.default_rng(41)
    for dtype in (np.float64, np.complex128):
        x, k = _random(rng, (45, 38), dtype), _random(rng, (6, 5), dtype)
        y = _tiled(k, x.shape, "full", dtype, (14, 11))(x)
        assert _rel(y, _ref(x, k, "full")) < 1e-12
    assert tile_lengths((31, 31), (4096, 4096), (4116, 4116), 4) is None  # tiles are chosen with ducc0 only


# -- 1-D: ducc0's fused overlap-save, in chunks of segments read in place -------------------------
@pytest.fixture(params=[1, 1 << 21], ids=["one-block-chunks", "default-chunks"])
def os_chunks(request, monkeypatch):
    from convlens._engine import _fft

    monkeypatch.setattr(_fft, "_OS_CHUNK_BYTES", request.param)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", MODES)
def test_fused_1d_chunks_match_fftconvolve(os_chunks, dtype, mode):
    rng = np.random.default_rng(hash((np.dtype(dtype).str, mode)) % 2**32)
    for _ in range(5):
        m = int(rng.integers(1, 700))
        n = m + int(rng.integers(0, 30_000))
        x, k = _random(rng, n, dtype), _random(rng, m, dtype)
        plan = cl.Convolver(k, x.shape, mode, method="overlap-add", dtype=dtype, workers=2)
        assert plan.recipe(np.dtype(dtype)).fused_1d
        y = plan(x)
        assert y.dtype == dtype
        assert _rel(y, _ref(x, k, mode)) < TOL[dtype], (n, m)


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_fused_1d_chunks_follow_every_boundary(os_chunks, boundary):
    rng = np.random.default_rng(len(boundary) + 100)
    x, k = rng.standard_normal((3, 20_001)), rng.standard_normal(301)
    y = cl.convolve(x, k[None], "same", axes=1, boundary=boundary, method="overlap-add")
    geom = make_geometry(x.shape, (1, 301), (1,), "same")
    want = _ref(np.pad(x, geom.pad_width, mode=boundary), k[None], "valid", axes=(1,))
    assert _rel(y, want) < 1e-12


def test_fused_1d_on_a_strided_batch_axis(os_chunks):
    # the convolved axis is not the last one and x is a non-contiguous view
    rng = np.random.default_rng(53)
    x = rng.standard_normal((30_000, 6))[::2, ::2]
    k = rng.standard_normal(129)
    y = cl.convolve(x, k[:, None], "full", axes=0, method="overlap-add")
    assert _rel(y, _ref(x, k[:, None], "full", axes=(0,))) < 1e-12


def test_fused_1d_nan_stays_local(os_chunks):
    rng = np.random.default_rng(59)
    x, k = rng.standard_normal(50_000), rng.standard_normal(64)
    x[20_000] = np.nan
    y = cl.convolve(x, k, "full", method="overlap-add")
    assert np.isnan(y[20_000:20_064]).all()
    hit = np.zeros(y.shape, bool)
    hit[20_000:20_064] = True
    assert _rel(y[~hit], _ref(np.nan_to_num(x), k, "full")[~hit]) < 1e-12


# -- the pool of work buffers (one-shot calls build a plan each time) -----------------------------
def test_pooled_buffers_never_leak_between_calls():
    from convlens._engine import _scratch

    rng = np.random.default_rng(61)
    kept = []
    # kernels of different sizes share FFT lengths (and pooled spectra) but not padded-input layouts
    for _ in range(3):
        for m in (63, 61, 57, 3):
            x = rng.standard_normal((256, 250)) * 10.0 ** rng.integers(-3, 4)
            k = rng.standard_normal((m, m))
            y = cl.convolve(x, k, "same", method="fft", workers=1)
            assert _rel(y, _ref(x, k, "same")) < 1e-12
            kept.append((y, y.copy()))
    for y, copy in kept:  # later calls did not write into earlier results
        assert np.array_equal(y, copy)
    assert _scratch._total <= _scratch.MAX_TOTAL


def test_pooled_buffers_under_concurrent_one_shot_calls():
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(67)
    jobs = [(rng.standard_normal((200, 180)), rng.standard_normal((m, m))) for m in (31, 29, 31, 17) * 4]

    def run(job):
        x, k = job
        return cl.convolve(x, k, "full", method="fft", workers=1)

    with ThreadPoolExecutor(4) as pool:
        ys = list(pool.map(run, jobs))
    for (x, k), y in zip(jobs, ys):
        assert _rel(y, _ref(x, k, "full")) < 1e-12


def test_the_pool_keeps_only_small_buffers_and_a_bounded_total():
    from convlens._engine import _scratch

    big = np.zeros(_scratch.MAX_BYTES // 8 + 1)
    _scratch.give(("test-big",), big)
    assert ("test-big",) not in _scratch._free
    for i in range(_scratch.MAX_TOTAL // _scratch.MAX_BYTES + 4):
        _scratch.give(("test", i), np.zeros(_scratch.MAX_BYTES // 8))
    assert _scratch._total <= _scratch.MAX_TOTAL
    got = _scratch.take(("test", 3), (4,), np.float64, zero=True)  # evicted: a new zeroed buffer
    assert got.shape == (4,) and not got.any()


def test_buffer_pool_eviction_after_a_key_is_emptied():
    # take() of a key's last buffer must not leave an empty list behind: give()'s eviction
    # pops from the oldest key's list (it raised IndexError inside a weakref finalizer)
    from convlens._engine import _scratch

    _scratch.give(("test-emptied",), np.zeros(1000))
    _scratch.take(("test-emptied",), (1000,), float, True)
    assert ("test-emptied",) not in _scratch._free
    n = _scratch.MAX_TOTAL // (1 << 22) + 4
    for i in range(n):  # more than the pool holds: eviction runs every time
        _scratch.give(("test-evict", i), np.zeros(1 << 19))
    assert _scratch._total <= _scratch.MAX_TOTAL
    assert all(bufs for bufs in _scratch._free.values())
