"""convlens.dask against the in-memory convlens functions (themselves tested against SciPy,
scikit-image and friends), on a real two-process distributed cluster and on the local scheduler."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import assert_close

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import convlens as cl  # noqa: E402
import convlens.dask as cld  # noqa: E402
from convlens.dask import _conv  # noqa: E402

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
    _conv._LOCAL.plans = None  # this thread's cache (the synchronous scheduler runs here)
    sync(cld.convolve(da.from_array(x, chunks=(30, 30)), k, "same", method="fft"))
    # blocks of 30 and a ragged 10 on each axis -> 4 region shapes for 16 blocks
    shapes = {key[2] for key in _conv._LOCAL.plans}
    assert shapes == {(38, 38), (38, 18), (18, 38), (18, 18)}
    assert len(_conv._LOCAL.plans) == 4
