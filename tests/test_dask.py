"""convlens.dask against the in-memory convlens functions (themselves tested against SciPy,
scikit-image and friends), on a real two-process distributed cluster and on the local scheduler."""

from __future__ import annotations

import inspect
import os
import pickle
import signal
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import assert_close

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import convlens as cl  # noqa: E402
import convlens.dask as cld  # noqa: E402

MODES = ("full", "same", "valid")
BOUNDARIES = ("constant", "wrap", "reflect", "symmetric", "edge")
CLUSTER = dict(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None)


@pytest.fixture(scope="module")
def client():
    """A real LocalCluster with two worker processes, shared by the module."""
    with distributed.LocalCluster(**CLUSTER) as cluster, distributed.Client(cluster) as c:
        yield c


def sync(arr):
    """Compute on the in-process synchronous scheduler (even while a Client exists)."""
    return arr.compute(scheduler="synchronous")


def _rand(rng, shape, dtype=np.float64):
    dt = np.dtype(dtype)
    if dt.kind == "c":
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dt)
    if dt.kind in "iu":
        return rng.integers(-50 if dt.kind == "i" else 0, 50, shape).astype(dt)
    if dt.kind == "b":
        return rng.random(shape) > 0.5
    return rng.standard_normal(shape).astype(dt)


def _close_with_inf(got, ref):
    """assert_close, with infinities compared by position and sign."""
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(ref))
    np.testing.assert_array_equal(np.isneginf(got), np.isneginf(ref))
    assert_close(np.where(np.isinf(got), 0, got), np.where(np.isinf(ref), 0, ref))


# ---------------------------------------------------------------------------------------- convolve


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_every_mode_and_boundary_on_the_cluster(client, rng, mode, boundary):
    # chunks (8, 5): narrower than the even 7x6 kernel along axis 1; last chunks ragged
    x = rng.standard_normal((23, 17))
    k = rng.standard_normal((7, 6))
    got = cld.convolve(da.from_array(x, chunks=(8, 5)), k, mode, boundary=boundary, fill_value=1.5)
    assert isinstance(got, da.Array)
    ref = cl.convolve(x, k, mode, boundary=boundary, fill_value=1.5)
    res = got.compute()
    assert res.dtype == ref.dtype
    assert_close(res, ref)


chunk_sizes = st.integers(1, 7)


@st.composite
def problems(draw):
    ndim = draw(st.integers(1, 2))
    shape = tuple(draw(st.integers(1, 18)) for _ in range(ndim))
    chunks = []
    for n in shape:
        sizes, left = [], n
        while left:
            sizes.append(min(left, draw(chunk_sizes)))
            left -= sizes[-1]
        chunks.append(tuple(sizes))
    kshape = tuple(draw(st.integers(1, 25)) for _ in range(ndim))  # may exceed x
    mode = draw(st.sampled_from(MODES if all(k <= n for k, n in zip(kshape, shape)) else MODES[:2]))
    boundary = draw(st.sampled_from(BOUNDARIES))
    return shape, tuple(chunks), kshape, mode, boundary


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(problems())
def test_any_chunking_matches_in_memory(problem):
    shape, chunks, kshape, mode, boundary = problem
    rng = np.random.default_rng(sum(shape) + sum(kshape))
    x, k = rng.standard_normal(shape), rng.standard_normal(kshape)
    got = sync(cld.convolve(da.from_array(x, chunks=chunks), k, mode, boundary=boundary, fill_value=-2.0))
    assert_close(got, cl.convolve(x, k, mode, boundary=boundary, fill_value=-2.0), err_msg=str(problem))


@pytest.mark.parametrize("mode", ("full", "same"))
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_kernel_larger_than_the_array(rng, mode, boundary):
    x, k = rng.standard_normal(10), rng.standard_normal(31)
    got = sync(cld.convolve(da.from_array(x, chunks=3), k, mode, boundary=boundary))
    assert_close(got, cl.convolve(x, k, mode, boundary=boundary))


@pytest.mark.parametrize("method", ("direct", "fft", "overlap-add"))
def test_methods_and_large_kernels(rng, method):
    x, k = rng.standard_normal((70, 90)).astype(np.float32), rng.standard_normal((33, 17)).astype(np.float32)
    got = sync(cld.convolve(da.from_array(x, chunks=(32, 40)), k, "same", boundary="reflect", method=method))
    assert got.dtype == np.float32
    assert_close(got, cl.convolve(x, k, "same", boundary="reflect"))


@pytest.mark.parametrize(
    "dtype", (np.float32, np.float64, np.float16, np.complex64, np.complex128, np.int16, np.uint8, np.bool_)
)
@pytest.mark.parametrize("mode", MODES)
def test_dtypes(rng, dtype, mode):
    x = _rand(rng, (19, 14), dtype)
    k = _rand(rng, (4, 5), dtype if np.dtype(dtype).kind in "fc" else np.int16)
    got = sync(cld.convolve(da.from_array(x, chunks=(6, 5)), k, mode, boundary="symmetric"))
    ref = cl.convolve(x, k, mode, boundary="symmetric")
    assert got.dtype == ref.dtype
    if ref.dtype.kind in "iu":
        np.testing.assert_array_equal(got, ref)  # exact integers, block by block
    else:
        assert_close(got, ref, rel=5e-3 if dtype == np.float16 else None)


def test_exact_integers_beyond_float32(rng):
    x = rng.integers(-(2**40), 2**40, (30, 20))
    k = rng.integers(-1000, 1000, (5, 3))
    got = sync(cld.convolve(da.from_array(x, chunks=7), k, "full", method="fft"))
    np.testing.assert_array_equal(got, cl.convolve(x, k, "full"))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("nan_policy", ("propagate", "interpolate"))
def test_nan_policy(rng, mode, boundary, nan_policy):
    x = rng.standard_normal((21, 16))
    x[[0, 5, 6, 20], [3, 15, 7, 0]] = np.nan
    x[10, 10] = np.inf
    k = rng.random((5, 4)) + 0.1
    opts = dict(boundary=boundary, nan_policy=nan_policy, method="fft")
    got = sync(cld.convolve(da.from_array(x, chunks=(4, 6)), k, mode, **opts))
    _close_with_inf(got, cl.convolve(x, k, mode, **opts))


def test_interpolate_with_nan_fill_renormalizes_at_the_edges(rng):
    x = rng.standard_normal((15, 15))
    x[7, 7] = np.nan
    k = np.ones((5, 5))
    opts = dict(boundary="constant", fill_value=np.nan, nan_policy="interpolate")
    got = sync(cld.convolve(da.from_array(x, chunks=4), k, "same", **opts))
    assert_close(got, cl.convolve(x, k, "same", **opts))


def test_nan_policy_raise(rng):
    x = rng.standard_normal((12, 12))
    k = np.ones((3, 3))
    xd = da.from_array(x, chunks=5)
    assert_close(sync(cld.convolve(xd, k, "same", nan_policy="raise")), cl.convolve(x, k, "same"))
    x[11, 0] = np.nan
    with pytest.raises(ValueError, match="nan_policy='raise'"):
        sync(cld.convolve(da.from_array(x, chunks=5), k, "same", nan_policy="raise"))
    with pytest.raises(ValueError, match="fill_value"):
        cld.convolve(xd, k, "same", fill_value=np.nan, nan_policy="raise")


def test_axes_and_kernel_stacks(rng):
    x = rng.standard_normal((3, 20, 18))
    xd = da.from_array(x, chunks=(1, 7, 5))
    k2 = rng.standard_normal((5, 4))
    k3 = rng.standard_normal((3, 5, 4))  # one kernel per image of the stack
    for k in (k2, k3):
        for mode in MODES:
            got = sync(cld.convolve(xd, k, mode, axes=(1, 2), boundary="wrap"))
            assert_close(got, cl.convolve(x, k, mode, axes=(1, 2), boundary="wrap"))
    # x of size 1 broadcasts against a stack of kernels
    x1 = rng.standard_normal((1, 30))
    kb = rng.standard_normal((4, 6))
    got = sync(cld.convolve(da.from_array(x1, chunks=(1, 7)), kb, "same", axes=1, boundary="edge"))
    assert_close(got, cl.convolve(x1, kb, "same", axes=1, boundary="edge"))
    # one axis only, the other chunked freely
    k1 = rng.standard_normal(9)
    got = sync(cld.convolve(xd, k1, "valid", axes=-1))
    assert_close(got, cl.convolve(x, k1, "valid", axes=-1))


def test_three_dimensional(rng):
    x, k = rng.standard_normal((9, 10, 11)), rng.standard_normal((3, 4, 5))
    got = sync(cld.convolve(da.from_array(x, chunks=(4, 3, 6)), k, "same", boundary="reflect", method="fft"))
    assert_close(got, cl.convolve(x, k, "same", boundary="reflect"))


@pytest.mark.parametrize("mode", MODES)
def test_correlate(client, rng, mode):
    x = _rand(rng, (17, 13), np.complex128)
    t = _rand(rng, (4, 3), np.complex128)
    got = cld.correlate(da.from_array(x, chunks=(5, 6)), t, mode, boundary="symmetric").compute()
    assert_close(got, cl.correlate(x, t, mode, boundary="symmetric"))


def test_one_plan_per_block_shape(rng):
    x, k = rng.standard_normal((100, 100)), rng.standard_normal((9, 9))
    y = cld.convolve(da.from_array(x, chunks=(30, 30)), k, "same", method="fft")
    graph = dict(y.__dask_graph__())
    plans = [v for key, v in graph.items() if isinstance(key, tuple) and key[0].endswith("-plan")]
    # blocks of 30 and a ragged 10 on each axis -> 4 region shapes (with the 8-sample halo) for 16 blocks
    assert sorted(p.shape for p in plans) == [(18, 18), (18, 38), (38, 18), (38, 38)]
    assert all(isinstance(p, cl.Convolver) for p in plans)
    assert_close(sync(y), cl.convolve(x, k, "same"))
    # the plans travel to worker processes by pickle (their spectra are rebuilt there, once per process)
    clone = pickle.loads(pickle.dumps(plans[0]))
    region = rng.standard_normal(plans[0].shape)
    assert_close(clone(region), plans[0](region))


# ---------------------------------------------------------------------------------------- lenses


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("sigma", (1.5, (2.0, 0.7), 0.0, 12.0))
def test_gaussian_matches_filters_gaussian(rng, boundary, sigma):
    from convlens import filters

    x = rng.standard_normal((40, 33)).astype(np.float32)
    got = sync(cld.gaussian(da.from_array(x, chunks=(7, 9)), sigma, boundary=boundary, fill_value=0.3))
    ref = filters.gaussian(x, sigma, boundary=boundary, fill_value=0.3)
    assert got.dtype == ref.dtype == np.float32
    assert_close(got, ref)


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_gaussian_wider_than_the_array(rng, boundary):
    """sigma far beyond the array: the in-memory closed form per block, not a halo of the kernel radius.

    Before, sigma=1e5 raised NumPy's 'Unable to allocate 1.16 TiB' (constant, edge) or asked to rechunk to
    chunks as large as a kernel 10**5 times the array (the others); sigma=1000 took a minute.
    """
    from convlens import filters

    x = rng.standard_normal((2, 60, 70))
    xd = da.from_array(x, chunks=(1, 30, 35))
    for sigma, axes in ((1e5, None), ((0.7, 1e4), (1, 2)), (1000.0, (2,))):
        opts = dict(axes=axes, boundary=boundary, fill_value=0.3)
        got = cld.gaussian(xd, sigma, **opts)
        assert axes is None or got.chunks[0] == (1, 1)  # axes that are not smoothed keep their chunks
        ref = filters.gaussian(x, sigma, **opts)
        assert_close(got.compute(), ref)


def test_gaussian_axes_integers_and_spectral_path(client, rng):
    from convlens import filters

    x = rng.integers(0, 255, (3, 90, 70)).astype(np.uint8)
    opts = dict(axes=(1, 2), boundary="reflect", method="spectral")
    got = cld.gaussian(da.from_array(x, chunks=(1, 40, 32)), 6.0, **opts).compute()
    ref = filters.gaussian(x, 6.0, **opts)
    assert got.dtype == ref.dtype
    assert_close(got, ref)


def test_gaussian_nan_policy(rng):
    from convlens import filters

    if "nan_policy" not in inspect.signature(filters.gaussian).parameters:
        pytest.skip("filters.gaussian has no nan_policy yet")
    x = rng.standard_normal((30, 30))
    x[4, 4] = x[20, 11] = np.nan
    for policy in ("propagate", "interpolate"):
        got = sync(cld.gaussian(da.from_array(x, chunks=8), 1.3, nan_policy=policy))
        assert_close(got, filters.gaussian(x, 1.3, nan_policy=policy))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("boundary", ("constant", "wrap", "reflect"))
@pytest.mark.parametrize("method", ("zncc", "sqdiff", "ccorr"))
def test_match_template(rng, mode, boundary, method):
    from convlens import matching

    x = rng.standard_normal((40, 33)).astype(np.float32)
    t = x[10:17, 20:25].copy()
    got = sync(cld.match_template(da.from_array(x, chunks=(7, 9)), t, mode=mode, boundary=boundary, method=method))
    ref = matching.match_template(x, t, mode=mode, boundary=boundary, method=method)
    assert got.dtype == ref.dtype
    assert_close(got, ref, rel=1e-5)


def test_match_template_nan_fill_mask_and_the_cluster(client, rng):
    from convlens import matching

    x = rng.standard_normal((50, 45))
    x[30, 3] = np.nan
    t = x[20:29, 10:16].copy()
    mask = np.ones(t.shape, bool)
    mask[0, 0] = False
    opts = dict(mode="same", fill_value=np.nan, mask=mask)
    got = cld.match_template(da.from_array(x, chunks=(12, 20)), t, **opts).compute()
    ref = matching.match_template(x, t, **opts)
    assert_close(got, ref)
    assert np.unravel_index(np.nanargmax(got), got.shape) == (20 + 4, 10 + 3)


def test_fourier_filter_per_block(client, rng):
    x = rng.standard_normal((6, 32, 24)).astype(np.float32)

    def resp(fy, fx):
        return np.exp(-((fy**2 + fx**2) / 0.01))

    for opts in (dict(axes=(1, 2)), dict(axes=(1, 2), boundary="symmetric", pad=8)):
        got = cld.fourier_filter(da.from_array(x, chunks=(2, 32, 24)), resp, **opts).compute()
        ref = cl.fourier_filter(x, resp, **opts)
        assert got.dtype == ref.dtype == np.float32
        assert_close(got, ref)


def test_fourier_filter_nan_policy(rng):
    if "nan_policy" not in inspect.signature(cl.fourier_filter).parameters:
        pytest.skip("fourier_filter has no nan_policy yet")
    x = rng.standard_normal((4, 24, 20))
    x[1, 5, 5] = x[3, 0, 19] = np.nan

    def resp(fy, fx):
        return np.exp(-((fy**2 + fx**2) / 0.02))

    for policy in ("propagate", "interpolate"):
        opts = dict(axes=(1, 2), nan_policy=policy)
        got = sync(cld.fourier_filter(da.from_array(x, chunks=(1, 24, 20)), resp, **opts))
        assert_close(got, cl.fourier_filter(x, resp, **opts))


def test_fourier_filter_split_along_a_filtered_axis_says_how_to_rechunk(rng):
    xd = da.zeros((6, 32, 24), chunks=(2, 16, 24))
    with pytest.raises(ValueError, match=r"x.rechunk\(\{1: -1\}\)"):
        cld.fourier_filter(xd, lambda fy, fx: 1.0, axes=(1, 2))


# ---------------------------------------------------------------------------------------- lazy, zarr


def test_lazy_and_local(rng):
    """Nothing runs at call time, and no task reads more than its region's chunks."""
    calls = []

    def spy(block):
        calls.append(block.shape)
        return block

    x = da.from_array(rng.standard_normal((64, 64)), chunks=8).map_blocks(spy, meta=np.empty((0, 0)))
    y = cld.convolve(x, np.ones((5, 5)), "same", boundary="wrap")
    assert calls == [] and isinstance(y, da.Array) and y.chunks == x.chunks
    graph = dict(y.__dask_graph__())
    own = [k for k in graph if isinstance(k, tuple) and k[0] == y.name]
    deps = {k: set() for k in own}
    from dask.core import get_dependencies

    for k in own:
        stack = list(get_dependencies(graph, k))
        while stack:  # the input chunks a block reads (through its piece tasks)
            d = stack.pop()
            if isinstance(d, tuple) and d[0] == x.name:
                deps[k].add(d)
            elif isinstance(d, tuple) and str(d[0]).endswith("-piece"):
                stack.extend(get_dependencies(graph, d))
    # a block reads its own chunk and its 8 neighbours (wrap: across the edges), never more
    assert max(len(v) for v in deps.values()) == 9
    assert_close(sync(y), cl.convolve(sync(x), np.ones((5, 5)), "same", boundary="wrap"))


def test_to_zarr_round_trip(client, rng, tmp_path):
    zarr = pytest.importorskip("zarr")
    x = rng.standard_normal((60, 50)).astype(np.float32)
    da.from_array(x, chunks=(16, 16)).to_zarr(str(tmp_path / "in.zarr"))
    xin = da.from_zarr(str(tmp_path / "in.zarr"))
    k = rng.standard_normal((9, 9)).astype(np.float32)
    cld.convolve(xin, k, "same", boundary="reflect").to_zarr(str(tmp_path / "out.zarr"))
    out = zarr.open_array(str(tmp_path / "out.zarr"), mode="r")
    assert out.dtype == np.float32 and out.shape == x.shape
    assert_close(out[:], cl.convolve(x, k, "same", boundary="reflect"))


# ---------------------------------------------------------------------------------------- bad input


def test_bad_input(rng):
    xd = da.from_array(rng.standard_normal((10, 10)), chunks=5)
    with pytest.raises(TypeError, match=r"dask\.array\.from_array"):
        cld.convolve(np.ones((10, 10)), np.ones((3, 3)))
    with pytest.raises(TypeError, match=r"dask\.array\.from_array"):
        cld.gaussian(np.ones((10, 10)), 1.0)
    unknown = xd[xd[:, 0] > 0]
    with pytest.raises(ValueError, match="compute_chunk_sizes"):
        cld.convolve(unknown, np.ones((3, 3)))
    with pytest.raises(ValueError, match=r"more dimensions \(3\) than x \(2\)"):
        cld.convolve(xd, np.ones((2, 3, 3)))
    with pytest.raises(ValueError, match="rechunk"):
        cld.convolve(da.ones(5000, chunks=1), np.ones(4999), "same")
    with pytest.raises(ValueError, match="mode"):
        cld.convolve(xd, np.ones((3, 3)), "middle")
    with pytest.raises(ValueError, match="boundary"):
        cld.convolve(xd, np.ones((3, 3)), boundary="mirror")
    with pytest.raises(ValueError, match="valid"):
        cld.convolve(xd, np.ones((11, 3)), "valid")
    with pytest.raises(ValueError, match="sigma"):
        cld.gaussian(xd, -1.0)
    with pytest.raises(ValueError, match="template"):
        cld.match_template(xd, np.ones(3))
    with pytest.raises(TypeError, match="response"):
        cld.fourier_filter(xd, "lowpass")
    # a template larger than the image is named as such (not as the plan's 'kernel' and 'x')
    with pytest.raises(ValueError, match=r"template is larger than image along axis 0 \(12 > 10\)"):
        cld.match_template(xd, rng.standard_normal((12, 3)))


# ---------------------------------------------------------------------------------------- scale


def _pattern(block, block_info=None):
    """Deterministic, position-dependent float32 data (no RNG state to ship)."""
    (r0, _), (c0, _) = block_info[None]["array-location"]
    i = np.arange(r0, r0 + block.shape[0], dtype=np.float32)[:, None]
    j = np.arange(c0, c0 + block.shape[1], dtype=np.float32)[None, :]
    return np.sin(0.013 * i) * np.cos(0.007 * j) + ((i * 7 + j * 3) % 11) / 11


@pytest.mark.slow
def test_out_of_core_zarr_to_zarr(tmp_path):
    """An array larger than the workers' total memory limit, Zarr on disk to Zarr, no worker lost."""
    zarr = pytest.importorskip("zarr")
    n, chunk = 12288, 1024  # 576 MiB of float32 > 2 x 280 MiB
    limit = 280 * 2**20
    k = np.outer(np.hanning(7), np.hanning(5)).astype(np.float32)
    opts = dict(mode="same", boundary="reflect")
    with (
        distributed.LocalCluster(**{**CLUSTER, "memory_limit": limit}) as cluster,
        distributed.Client(cluster) as c,
    ):
        src = da.zeros((n, n), dtype=np.float32, chunks=chunk).map_blocks(_pattern, dtype=np.float32)
        assert src.nbytes > 2 * limit
        src.to_zarr(str(tmp_path / "x.zarr"), compressors=None)  # uncompressed: the test times I/O, not zstd
        before = dict(c.run(os.getpid))
        x = da.from_zarr(str(tmp_path / "x.zarr"))
        cld.convolve(x, k, **opts).to_zarr(str(tmp_path / "y.zarr"), compressors=None)
        assert dict(c.run(os.getpid)) == before  # same two worker processes: none killed or restarted
    xz = zarr.open_array(str(tmp_path / "x.zarr"), mode="r")
    y = zarr.open_array(str(tmp_path / "y.zarr"), mode="r")
    assert y.shape == (n, n) and y.dtype == np.float32
    # samples: a corner (the boundary), an interior chunk corner (halo across 4 chunks), the far edge
    for r, q in ((0, 0), (chunk * 5 - 20, chunk * 7 - 20), (n - 40, n // 2)):
        lo_r, lo_q = max(r - 8, 0), max(q - 8, 0)
        region = np.asarray(xz[lo_r : r + 48, lo_q : q + 48])
        ref = cl.convolve(region, k, **opts)  # in-memory on the region around the sample...
        keep = ref[r - lo_r + (3 if r else 0) : r - lo_r + 40, q - lo_q + (2 if q else 0) : q - lo_q + 40]
        got = np.asarray(y[r + (3 if r else 0) : r + 40, q + (2 if q else 0) : q + 40])
        # ...away from the region's own cut edges, where its boundary rule is not the array's
        assert_close(got, keep)


def test_a_worker_killed_mid_computation_loses_nothing(client, rng):
    def slow(block):
        time.sleep(0.05)
        return block

    x = rng.standard_normal((480, 480))
    k = rng.standard_normal((15, 15))
    xd = da.from_array(x, chunks=60).map_blocks(slow, meta=np.empty((0, 0)))
    y = cld.convolve(xd, k, "same", boundary="wrap", method="fft")
    fut = client.compute(y)

    def done(dask_scheduler):
        return sum(ts.state == "memory" and "convlens-convolve" in str(ts.key) for ts in dask_scheduler.tasks.values())

    deadline = time.monotonic() + 60
    while client.run_on_scheduler(done) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not fut.done(), "the computation ended before a worker could be killed"
    victim = sorted(client.run(os.getpid).items())[0][1]
    os.kill(victim, signal.SIGKILL)  # the worker process dies without a word; its nanny starts a new one
    res = fut.result(timeout=120)
    assert_close(res, cl.convolve(x, k, "same", boundary="wrap"))


@pytest.mark.parametrize("boundary", ["reflect", "wrap", "symmetric"])
def test_kernel_much_longer_than_x_says_to_compute_in_memory(boundary):
    """Rechunking cannot help when the kernel outgrows x itself: the error says what can."""
    x = da.from_array(np.random.default_rng(0).random(50), chunks=10)
    k = np.random.default_rng(1).random(20000)
    with pytest.raises(
        ValueError, match=r"longer than x along axis 0 \(20000 > 50\).*convlens\.convolve\(x\.compute\(\)"
    ):
        cld.convolve(x, k, "same", boundary=boundary)
    with pytest.raises(ValueError, match=r"template is longer than x.*convlens\.correlate\(x\.compute\(\)"):
        cld.correlate(x, k, "same", boundary=boundary)


# ---------------------------------------------------------------------------------------- one blocking mechanism


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 30),
    st.integers(1, 40),
    st.sampled_from(MODES),
    st.sampled_from(BOUNDARIES),
    st.lists(st.integers(0, 9), min_size=1, max_size=8),
)
def test_regions_are_the_engine_blocks(n, k, mode, boundary, sizes):
    """Each output chunk's pieces, put end to end, are the engine's block of that chunk (extended_indices)."""
    from convlens._engine import axis_geometry, chunk_blocks, extended_indices
    from convlens.dask._blocks import halo_axis, regular_chunks

    if mode == "valid" and k > n:
        k = n
    g = axis_geometry(n, k, mode)
    in_chunks = _chunks_of(n, sizes)
    out = in_chunks if mode == "same" else regular_chunks(in_chunks, g.out_len)
    spec = halo_axis(in_chunks, g, out, boundary)
    starts = np.concatenate([[0], np.cumsum(in_chunks)[:-1]])
    blocks = iter(chunk_blocks(g, tuple(c for c in out if c)))
    for c, pieces, region in zip(out, spec.pieces, spec.region):
        if c == 0:  # an empty output chunk reads nothing
            assert pieces is None and region == 0
            continue
        blk = next(blocks)
        src = []
        for chunk, sel in pieces:
            if chunk is None:
                src.extend([-1] * sel)
            else:
                local = np.arange(in_chunks[chunk])[sel]
                src.extend(local + starts[chunk])
        np.testing.assert_array_equal(src, extended_indices(blk.lo, blk.hi, n, boundary))
        assert region == blk.hi - blk.lo


def _chunks_of(n, sizes):
    """Chunk sizes summing to n from a list of wanted sizes (zeros are empty chunks)."""
    out, left = [], n
    for s in sizes:
        out.append(min(s, left))
        left -= out[-1]
    if left:
        out.append(left)
    return tuple(out)


def test_the_dask_adapter_has_no_blocking_of_its_own():
    import convlens.dask._blocks as blocks

    assert not hasattr(blocks, "extended_index")  # the twin of the engine's extended_indices is gone
    assert blocks.extended_indices is cl._engine.extended_indices
    assert blocks.chunk_blocks is cl._engine.chunk_blocks


@pytest.mark.parametrize("mode", MODES)
def test_empty_chunks(rng, mode):
    """Dask arrays may hold empty chunks; 'same' once asked the engine for an impossible block."""
    from convlens import filters, matching

    x = rng.standard_normal((14, 11))
    xd = da.from_array(x, chunks=((5, 0, 9), (0, 4, 7, 0)))
    k = rng.standard_normal((3, 4))
    got = sync(cld.convolve(xd, k, mode, boundary="reflect"))
    assert_close(got, cl.convolve(x, k, mode, boundary="reflect"))
    assert_close(sync(cld.gaussian(xd, 1.2)), filters.gaussian(x, 1.2))
    t = x[4:8, 3:6].copy()
    assert_close(sync(cld.match_template(xd, t, mode=mode)), matching.match_template(x, t, mode=mode))
    if mode == "same":
        assert cld.convolve(xd, k, mode).chunks == xd.chunks


# ---------------------------------------------------------------------------------------- nan_policy='raise'


def _message(func, *args, **kwargs):
    with pytest.raises(ValueError) as info:
        func(*args, **kwargs)
    return str(info.value)


@pytest.mark.parametrize("shape, chunks", [((40,), 7), ((12, 13), 5), ((6, 7, 8), (4, 3, 5))])
def test_nan_policy_raise_names_the_global_position_at_the_call(client, rng, shape, chunks):
    """The in-memory message, word for word: the count and the first position in x (C order), not in a block."""
    from convlens import filters

    x = rng.standard_normal(shape)
    flat = x.reshape(-1)
    flat[[x.size - 1, x.size // 2 + 3, x.size // 3 + 1]] = [np.nan, np.inf, -np.inf]
    xd = da.from_array(x, chunks=chunks)
    k = np.ones((3,) * len(shape))
    for fn, ref in ((cld.convolve, cl.convolve), (cld.correlate, cl.correlate)):
        assert _message(fn, xd, k, "same", nan_policy="raise") == _message(ref, x, k, "same", nan_policy="raise")
    msg = _message(cld.gaussian, xd, 1.0, nan_policy="raise")
    assert msg == _message(filters.gaussian, x, 1.0, nan_policy="raise")
    assert "3 NaN or inf" in msg
    xc = (x + 1j).astype(np.complex64)
    xcd = da.from_array(xc, chunks=chunks)
    assert _message(cld.convolve, xcd, k, nan_policy="raise") == _message(cl.convolve, xc, k, nan_policy="raise")
    if len(shape) > 1:  # fourier_filter: one chunk along the filtered axes
        xf = da.from_array(x, chunks=(2,) + shape[1:])
        axes = tuple(range(1, len(shape)))
        got = _message(cld.fourier_filter, xf, lambda *f: 1.0, axes=axes, nan_policy="raise")
        assert got == _message(cl.fourier_filter, x, lambda *f: 1.0, axes=axes, nan_policy="raise")


def test_nan_policy_raise_finite_and_integer_inputs(rng):
    x = rng.standard_normal((20, 9))
    k = rng.standard_normal((3, 3))
    got = sync(cld.convolve(da.from_array(x, chunks=4), k, "full", nan_policy="raise"))
    assert_close(got, cl.convolve(x, k, "full"))
    xi = rng.integers(0, 9, (20, 9)).astype(np.int16)
    got = sync(cld.convolve(da.from_array(xi, chunks=4), k.round(), "same", nan_policy="raise"))
    assert_close(got, cl.convolve(xi, k.round(), "same", nan_policy="raise"))


# ---------------------------------------------------------------------------------------- match_template options


@pytest.mark.parametrize(
    "opts",
    [
        dict(lags=(range(-4, 9), range(3, 12))),
        dict(lags=([7, -2, 7, 30], range(-1, 2))),  # not one increasing run: picked from the range
        dict(lags=(np.arange(-30, -20), [0])),  # far outside the image: all boundary
        dict(max_lag=5),
        dict(max_lag=(2, 6), boundary="wrap"),
        dict(lags=(range(-3, 40), range(33)), boundary="symmetric", method="sqdiff"),
    ],
)
def test_match_template_lags(rng, opts):
    from convlens import matching

    x = rng.standard_normal((40, 33))
    t = x[10:17, 20:25].copy()
    got = sync(cld.match_template(da.from_array(x, chunks=(7, 9)), t, **opts))
    assert_close(got, matching.match_template(x, t, **opts))


def test_match_template_lags_1d_on_the_cluster(client, rng):
    from convlens import matching

    x = rng.standard_normal(300).astype(np.float32)
    t = x[100:130].copy()
    for opts in (dict(lags=range(90, 111)), dict(lags=[100, 5, 250]), dict(max_lag=7, boundary="reflect")):
        got = cld.match_template(da.from_array(x, chunks=40), t, **opts).compute()
        ref = matching.match_template(x, t, **opts)
        assert got.dtype == ref.dtype == np.float32
        assert_close(got, ref, rel=1e-5)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("method", ("zncc", "sqdiff_normed", "ccorr"))
def test_match_template_image_mask(rng, mode, method):
    from convlens import matching

    x = rng.standard_normal((30, 26))
    x[3, 4] = np.nan
    t = x[12:18, 5:10].copy()
    imask = rng.random(x.shape) > 0.2
    opts = dict(mode=mode, method=method, image_mask=imask, boundary="reflect")
    ref = matching.match_template(x, t, **opts)
    for m in (imask, da.from_array(imask, chunks=(4, 13))):  # in memory or chunked differently from the image
        got = sync(cld.match_template(da.from_array(x, chunks=(8, 6)), t, **{**opts, "image_mask": m}))
        _close_with_inf(got, ref)


@pytest.mark.parametrize("method", ("zncc", "sqdiff", "ccoeff"))
def test_match_template_region_without_a_valid_pixel(rng, method):
    """A block whose region is all NaN or masked scores as the in-memory function scores no overlap."""
    from convlens import matching

    x = rng.standard_normal((40, 40))
    x[:20, :20] = np.nan  # more than one block's region (chunks 8, template 4)
    imask = np.ones(x.shape, bool)
    imask[25:, 25:] = False
    t = rng.standard_normal((4, 4))
    opts = dict(method=method, mode="same", image_mask=imask)
    got = sync(cld.match_template(da.from_array(x, chunks=8), t, **opts))
    ref = matching.match_template(x, t, **opts)
    assert_close(got, ref)


@pytest.mark.parametrize("channel_axis", (0, -1))
def test_match_template_channel_axis(client, rng, channel_axis):
    from convlens import matching

    x = rng.standard_normal((3, 30, 28)) if channel_axis == 0 else rng.standard_normal((30, 28, 3))
    x = x.astype(np.float32)
    sl = (slice(None), slice(5, 12), slice(9, 15)) if channel_axis == 0 else (slice(5, 12), slice(9, 15))
    t = x[sl].copy()
    chunks = (1, 8, 9) if channel_axis == 0 else (8, 9, 2)  # channels split: rechunked to one chunk
    for opts in (
        dict(),
        dict(mode="full", boundary="edge"),
        dict(max_lag=3),
        dict(image_mask=rng.random((30, 28)) > 0.1),
    ):
        got = cld.match_template(da.from_array(x, chunks=chunks), t, channel_axis=channel_axis, **opts)
        ref = matching.match_template(x, t, channel_axis=channel_axis, **opts)
        assert got.ndim == 2 and got.dtype == ref.dtype
        assert_close(got.compute(), ref, rel=1e-5)
    assert np.unravel_index(int(got.argmax().compute()), got.shape) == (5, 9)


def test_match_template_options_bad_input(rng):
    xd = da.from_array(rng.standard_normal((20, 20)), chunks=8)
    t = rng.standard_normal((4, 4))
    with pytest.raises(ValueError, match="lags or max_lag, not both"):
        cld.match_template(xd, t, lags=([0], [0]), max_lag=3)
    with pytest.raises(ValueError, match="one sequence of integer lags per axis"):
        cld.match_template(xd, t, lags=[1, 2, 3])
    with pytest.raises(ValueError, match="max_lag"):
        cld.match_template(xd, t, max_lag=-1)
    with pytest.raises(ValueError, match=r"image_mask must have the image's spatial shape \(20, 20\)"):
        cld.match_template(xd, t, image_mask=np.ones((20, 21), bool))
    with pytest.raises(ValueError, match="image_mask must be a boolean"):
        cld.match_template(xd, t, image_mask=np.full((20, 20), 0.5))
    with pytest.raises(TypeError, match="image_mask"):
        cld.match_template(xd, t, image_mask=np.full((20, 20), "a"))
    x3 = da.from_array(rng.standard_normal((20, 20, 3)), chunks=8)
    with pytest.raises(ValueError, match="channels"):
        cld.match_template(x3, rng.standard_normal((4, 4, 2)), channel_axis=-1)
    with pytest.raises(TypeError, match="channel_axis"):
        cld.match_template(x3, rng.standard_normal((4, 4, 3)), channel_axis=1.5)
    with pytest.raises(ValueError, match="channel_axis=5"):
        cld.match_template(x3, rng.standard_normal((4, 4, 3)), channel_axis=5)


# ---------------------------------------------------------------------------------------- contract


def test_every_block_has_the_declared_dtype(rng):
    """Each block, computed alone, has the array's dtype (a region of whole chunks once kept x's int16)."""
    from convlens import filters

    xi = rng.integers(-9, 9, (13, 11)).astype(np.int16)
    xd = da.from_array(xi, chunks=5)
    k = np.ones((3, 3), np.int16)
    arrays = [
        cld.convolve(xd, k, "same", fill_value=1.5),
        cld.convolve(xd, k, "full"),
        cld.gaussian(xd, 1.0, boundary="constant", fill_value=0.5),
        cld.match_template(xd, rng.standard_normal((3, 3)), mode="same", fill_value=0.5),
    ]
    refs = [
        cl.convolve(xi, k, "same", fill_value=1.5),
        cl.convolve(xi, k, "full"),
        filters.gaussian(xi, 1.0, boundary="constant", fill_value=0.5),
    ]
    for y, ref in zip(arrays, refs + [None]):
        assert ref is None or y.dtype == ref.dtype
        for idx in np.ndindex(*y.numblocks):
            assert sync(y.blocks[idx]).dtype == y.dtype, (y.name, idx)


def test_byte_order_and_inputs_left_alone(rng):
    """Big-endian inputs give the in-memory dtype (native order); later changes to the inputs do not leak in."""
    from convlens import filters, matching

    x = rng.standard_normal((16, 15)).astype(">f4")
    xd = da.from_array(x, chunks=6)
    k = rng.standard_normal((3, 4)).astype(">f8")
    t = x[2:6, 3:8].astype(">f4")
    mask = np.ones(t.shape, bool)
    imask = np.ones(x.shape, bool)
    resp = np.ones((16, 8))
    x0 = x.copy()
    ys = [
        (cld.convolve(xd, k, "same"), cl.convolve(x, k, "same")),
        (cld.correlate(xd, k, "valid"), cl.correlate(x, k, "valid")),
        (cld.gaussian(xd, 1.0), filters.gaussian(x, 1.0)),
        (
            cld.match_template(xd, t, mask=mask, image_mask=imask),
            matching.match_template(x, t, mask=mask, image_mask=imask),
        ),
        (cld.fourier_filter(da.from_array(x, chunks=-1), resp), cl.fourier_filter(x, resp)),
    ]
    for a in (k, t, mask, imask, resp):  # the caller reuses its buffers after building the graph
        a[...] = 0
    for y, ref in ys:
        got = sync(y)
        assert got.dtype == ref.dtype and got.dtype.isnative, (y.name, got.dtype, ref.dtype)
        assert_close(got, ref, rel=1e-5)
    np.testing.assert_array_equal(x, x0)  # never written to


@pytest.mark.parametrize(
    ("opts", "exc", "match"),
    [
        (dict(max_lag=2.5), TypeError, r"max_lag must be an integer >= 0; got 2\.5"),
        (dict(max_lag=True), TypeError, "max_lag must be an integer >= 0; got True"),
        (dict(max_lag=(1, -1)), ValueError, "max_lag must be an integer >= 0; got -1"),
        (dict(lags=([1.5], [0])), TypeError, "lags must hold integers"),
        (dict(lags=([], [0])), ValueError, "non-empty 1-D sequence"),
    ],
)
def test_match_template_lag_errors_have_the_in_memory_kinds(rng, opts, exc, match):
    """A float or bool lag is a wrong kind (TypeError) in Dask as in memory, a negative one a wrong value."""
    x = rng.standard_normal((12, 12))
    t = rng.standard_normal((3, 3))
    with pytest.raises(exc, match=match):
        cl.matching.match_template(x, t, mode="full", **opts)
    with pytest.raises(exc, match=match):
        cld.match_template(da.from_array(x, chunks=5), t, mode="full", **opts)


@pytest.mark.parametrize("shape", [(0, 5), (4, 0), (0,)])
def test_empty_dask_array_is_refused_naming_it(shape):
    """The in-memory message ('x must not be empty'), not one about a plan's 'shape'."""
    x = da.zeros(shape, chunks=2)
    k = np.ones((1,) * len(shape))
    with pytest.raises(ValueError, match=r"x must not be empty; got shape \(") as mem:
        cl.convolve(np.zeros(shape), k)
    for call, name in (
        (lambda: cld.convolve(x, k), "x"),
        (lambda: cld.correlate(x, k), "x"),
        (lambda: cld.gaussian(x, 1.0), "image"),
        (lambda: cld.match_template(x, k), "image"),
    ):
        with pytest.raises(ValueError, match=rf"^{name} must not be empty; got shape \("):
            call()
    assert "shape" not in str(mem.value).split(";")[0]


@pytest.mark.parametrize("value", [0.5, np.nan, 2.0, -1.0])
def test_dask_image_mask_values_other_than_0_1_are_refused_when_computed(rng, value):
    """The regions cast the mask to bool; before the fix 0.5 or NaN silently read as 'valid'."""
    x = rng.standard_normal((20, 17))
    t = x[3:8, 4:9].copy()
    with pytest.raises(ValueError, match="image_mask must be a boolean"):
        cl.matching.match_template(x, t, image_mask=np.full(x.shape, value))
    got = cld.match_template(da.from_array(x, chunks=(6, 5)), t, image_mask=da.full(x.shape, value, chunks=4))
    with pytest.raises(ValueError, match="image_mask must be a boolean"):
        got.compute(scheduler="synchronous")


@pytest.mark.parametrize("dtype", [np.float32, np.uint8, bool])
def test_dask_numeric_0_1_image_mask_equals_in_memory(rng, dtype):
    x = rng.standard_normal((20, 17))
    t = x[3:8, 4:9].copy()
    m = rng.random(x.shape) > 0.3
    got = cld.match_template(da.from_array(x, chunks=(6, 5)), t, image_mask=da.from_array(m.astype(dtype), chunks=7))
    assert_close(got.compute(scheduler="synchronous"), cl.matching.match_template(x, t, image_mask=m), rel=1e-9)
