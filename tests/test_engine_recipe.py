"""Plans as data: recipes, pickling, threads, and the one blocking mechanism (_engine._blocks)."""

from __future__ import annotations

import pickle
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from _engine_ref import BOUNDARIES, METHODS, MODES, ref_convolve
from conftest import assert_close
from convlens import Convolver, choose_method, convolve
from convlens._engine._blocks import (
    block_count,
    block_input,
    chunk_blocks,
    extended_indices,
    output_blocks,
)
from convlens._engine._geometry import axis_geometry
from convlens._engine._recipe import Recipe

CASES = [
    # x shape, kernel shape, axes
    ((300,), (7,), None),
    ((5000,), (64,), None),
    ((40, 33), (5, 4), None),
    ((3, 30, 24), (5, 4), (1, 2)),
    ((4, 200), (4, 9), (1,)),  # one kernel per row
]


def _plan(method, xs, ks, axes, rng, **kw):
    return Convolver(rng.standard_normal(ks), xs, "same", axes=axes, boundary="reflect", method=method, **kw)


def test_recipe_is_frozen_hashable_and_cached(rng):
    plan = Convolver(rng.standard_normal(64).astype(np.float32), (5000,), "same")
    r = plan.recipe(np.float32)
    assert isinstance(r, Recipe)
    assert plan.recipe(np.float32) is r  # cached: a repeated shape reuses its recipe
    assert hash(r) == hash(pickle.loads(pickle.dumps(r)))
    assert pickle.loads(pickle.dumps(r)) == r
    with pytest.raises(AttributeError):
        r.method = "fft"  # type: ignore[misc]
    assert r.out_dtype == np.float32 and r.work == np.float32 and not r.exact
    ints = Convolver(np.arange(64), (5000,), "same").recipe(np.int16)
    assert ints.exact and ints.out_dtype == np.int64 and ints.work == np.float64


@pytest.mark.parametrize("method", [*METHODS, "auto"])
@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("used", [False, True])
def test_pickle_round_trip_gives_identical_results(rng, method, case, used):
    xs, ks, axes = case
    plan = _plan(method, xs, ks, axes, rng, dtype=np.float64)
    x = rng.standard_normal(xs)
    before = plan(x) if used else None  # a used plan carries kernel spectra and buffers
    clone = pickle.loads(pickle.dumps(plan))
    assert clone.method == plan.method
    assert clone.recipe(np.float64) == plan.recipe(np.float64)
    np.testing.assert_array_equal(clone(x), plan(x))
    if used:
        np.testing.assert_array_equal(clone(x), before)
    xc = (x + 1j * rng.standard_normal(xs)).astype(np.complex64)
    np.testing.assert_array_equal(clone(xc), plan(xc))


@pytest.mark.parametrize("nan_policy", ["propagate", "interpolate"])
def test_pickled_plan_keeps_its_nan_policy(rng, nan_policy):
    plan = Convolver(np.ones(5), (50,), "same", method="fft", nan_policy=nan_policy)
    x = rng.standard_normal(50)
    x[20] = np.nan
    clone = pickle.loads(pickle.dumps(plan))
    np.testing.assert_array_equal(clone(x), plan(x))


@pytest.mark.parametrize("method", [*METHODS, "auto"])
def test_threads_hammer_one_plan(rng, method):
    xs, ks = (64, 80), (7, 5)
    k = rng.standard_normal(ks)
    plan = Convolver(k, xs, "same", boundary="wrap", method=method)
    inputs = [rng.standard_normal(xs).astype(dt) for dt in (np.float32, np.float64) * 12]
    inputs[3][10, 10] = np.nan  # one input takes the non-finite path
    want = [convolve(x, k, "same", boundary="wrap", method="direct") for x in inputs]
    start = threading.Barrier(8)

    def work(i):
        if i < 8:
            start.wait()  # all eight threads enter the plan together
        return plan(inputs[i])

    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(work, range(len(inputs))))
    for g, w in zip(got, want):
        assert g.dtype == w.dtype
        np.testing.assert_array_equal(np.isnan(g), np.isnan(w))
        assert_close(np.nan_to_num(g), np.nan_to_num(w), dtype=w.dtype)


def test_threads_share_one_fresh_plan_of_each_dtype(rng):
    # the first calls race to build the kernel spectrum: it must be built once and be right
    k = rng.standard_normal(31)
    plan = Convolver(k, (4000,), "full", method="fft")
    xs = [rng.standard_normal(4000) for _ in range(16)]
    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(plan, xs))
    assert len(plan._plans) == 1
    for g, x in zip(got, xs):
        assert_close(g, ref_convolve(x, k))


# -- blocks -------------------------------------------------------------------------------------


@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("mode", MODES)
def test_blocks_with_halos_reassemble_the_convolution(rng, boundary, mode):
    for n, k, block in [(50, 7, 8), (30, 12, 5), (9, 20, 4), (40, 1, 7), (17, 6, 100)]:
        if mode == "valid" and k > n:
            continue
        x = rng.standard_normal((3, n))
        kern = rng.standard_normal(k)
        g = axis_geometry(n, k, mode)
        parts = []
        for blk in output_blocks(g, block):
            xin = block_input(x, 1, blk, boundary, fill_value=0.5)
            assert xin.shape[1] == blk.hi - blk.lo
            parts.append(convolve(xin, kern[None], "valid", axes=1, method="direct"))
        whole = np.concatenate(parts, axis=1)
        want = convolve(x, kern[None], mode, axes=1, boundary=boundary, fill_value=0.5, method="direct")
        np.testing.assert_allclose(whole, want, atol=1e-12)


def test_chunk_blocks_follow_given_chunks():
    g = axis_geometry(10, 3, "same")
    blocks = chunk_blocks(g, (3, 3, 4))
    assert [(b.out.start, b.out.stop) for b in blocks] == [(0, 3), (3, 6), (6, 10)]
    assert [(b.lo, b.hi) for b in blocks] == [(-1, 4), (2, 7), (5, 11)]
    assert blocks[0].extension(10) == (1, 0) and blocks[-1].extension(10) == (0, 1)
    with pytest.raises(ValueError, match="sum to the output length 10"):
        chunk_blocks(g, (3, 3))
    with pytest.raises(ValueError, match="block must be a positive"):
        output_blocks(g, 0)


@pytest.mark.parametrize("boundary", ["reflect", "symmetric", "wrap", "edge"])
def test_extended_indices_follow_numpy_pad(boundary):
    for n in (1, 2, 3, 7):
        x = np.arange(n)
        for w in (0, 1, 5, 23):
            np.testing.assert_array_equal(x[extended_indices(-w, n + w, n, boundary)], np.pad(x, w, mode=boundary))
    idx = extended_indices(-2, 5, 3, "constant")
    assert idx.tolist() == [-1, -1, 0, 1, 2, -1, -1]


def test_block_count():
    assert [block_count(n, 4) for n in (1, 4, 5, 8, 9)] == [1, 1, 2, 2, 3]


# -- the one-shot fast path: repeated shapes reuse a validated template -------------------------


def test_repeated_calls_reuse_the_recipe_but_not_the_kernel(rng):
    from convlens._engine import _api

    x = rng.standard_normal(4096).astype(np.float32)
    before = _api._template.cache_info().misses
    for _ in range(3):
        k = rng.standard_normal(3).astype(np.float32)
        assert_close(convolve(x, k, "same"), ref_convolve(x, k, "same"), dtype=np.float32)
        t = rng.standard_normal(3).astype(np.float32)
        got = __import__("convlens").correlate(x, t, "same")
        assert_close(got, ref_convolve(x, t[::-1], "same"), dtype=np.float32)
    assert _api._template.cache_info().misses <= before + 2  # one template for convolve, one for correlate
    bad = np.array([1.0, np.nan, 1.0], np.float32)
    with pytest.raises(ValueError, match="kernel must contain only finite values"):
        convolve(x, bad, "same")
    # a fill of 0.5 and of np.float64(0.5) promote differently: distinct templates
    assert convolve(x, np.ones(3, np.float32), fill_value=0.5).dtype == np.float32
    assert convolve(x, np.ones(3, np.float32), fill_value=np.float64(0.5)).dtype == np.float64


def test_calibrate_refits_every_cost_constant():
    # the cost model's constants live in one table, and benchmarks/calibrate.py fits each of them
    import ast
    from pathlib import Path

    from convlens._engine._cost import COST

    src = (Path(__file__).resolve().parents[1] / "benchmarks" / "calibrate.py").read_text()
    fitted = {
        node.slice.value
        for node in ast.walk(ast.parse(src))
        if isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Name)
        and node.value.id == "fit"
        and isinstance(node.slice, ast.Constant)
        and isinstance(node.ctx, ast.Store)
    }
    assert set(COST) == fitted


@pytest.mark.parametrize(
    ("x_shape", "k_shape", "threads"),
    [
        ((256, 256), (63, 63), 1),  # ~1 ms on one thread: hand-offs would cost more than they save
        ((65536,), (1001,), 1),
        ((4096, 4096), (63, 63), 2),
        ((1 << 22,), (4096,), 2),
    ],
)
def test_fft_paths_use_threads_only_where_they_pay(rng, x_shape, k_shape, threads):
    from convlens._engine import _cost

    kern = rng.standard_normal(k_shape).astype(np.float32)
    plan = Convolver(kern, x_shape, "same", dtype=np.float32, workers=2)
    r = plan.recipe(np.dtype(np.float32))
    assert r.method in ("fft", "overlap-add")
    assert r.threads == threads
    assert plan._kernel_plan(r).workers == threads  # the sub-plan runs on the recipe's threads
    one = plan.recipe(np.dtype(np.float32)).geometry
    costs1 = _cost.estimate_costs(
        one,
        explicit_pad=r.explicit_pad,
        real=True,
        cv2_path=r.cv2_direct,
        exact_int=False,
        workers=1,
        itemsize=4,
    )
    assert (costs1[r.method] >= _cost.COST["thread_min"]) == (threads == 2)
    # one thread asked for: one thread used, whatever the size
    assert Convolver(kern, x_shape, "same", dtype=np.float32, workers=1).recipe(np.dtype(np.float32)).threads == 1


def test_a_small_fft_costs_the_same_at_two_workers(rng):
    from convlens._engine import _cost
    from convlens._engine._geometry import make_geometry

    geom = make_geometry((256, 256), (63, 63), (0, 1), "same")
    opts = dict(explicit_pad=False, real=True, cv2_path=False, exact_int=False, itemsize=4)
    one, two = _cost.estimate_costs(geom, workers=1, **opts), _cost.estimate_costs(geom, workers=2, **opts)
    assert two["fft"] == one["fft"]  # it runs on one thread either way
    big = make_geometry((4096, 4096), (63, 63), (0, 1), "same")
    assert _cost.estimate_costs(big, workers=2, **opts)["fft"] < _cost.estimate_costs(big, workers=1, **opts)["fft"]


def test_fft_cost_counts_only_the_pruned_transforms():
    from convlens._engine._cost import _pruned

    assert _pruned([4320, 4320], [4320, 4320]) == 1.0  # data everywhere: the whole transform
    assert _pruned([4096], [10]) == 1.0  # 1-D: nothing to skip
    # a 255² kernel in 4320²: its last-axis pass runs on 255 rows of 4320, the first axis on all columns
    share = _pruned([4320, 4320], [255, 255])
    assert share == pytest.approx((255 / 4320 + 1) / 2)
    # 3-D: each pass runs over the rows the axes before it hold data in
    assert _pruned([8, 8, 8], [4, 8, 2]) == pytest.approx((1 + 0.5 + 0.5) / 3)


@pytest.mark.parametrize(
    ("shape", "k", "dtype", "method"),
    [
        # measured (one-shot, 1 thread): N-d overlap-add blocks 1.3x slower than whole transforms here
        ((1024, 1024), 63, np.float32, "fft"),
        ((512, 512), 31, np.float64, "fft"),
        # and 1.6x faster where the image is long against the kernel
        ((1400, 1400), 31, np.float32, "overlap-add"),
    ],
)
def test_auto_ranks_nd_overlap_add_against_whole_transforms(shape, k, dtype, method):
    assert choose_method(shape, (k, k), mode="same", dtype=dtype, workers=1) == method
