"""Work buffers and spectra of the FFT paths: the pool, the kernel in the input buffer, the pruned kernel FFT.

Checked against ``scipy.signal`` and a whole-array ``rfftn`` / ``fftn`` of the zero-padded
kernel: pooled buffers that held another call's data never leak into a result, the
kernel's spectrum built one axis at a time equals the whole-array transform, and the
overlap-add path's free finiteness check keeps NaN local.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal

import convlens as cl
from convlens import _backend as B
from convlens._engine import _scratch
from convlens._engine._convolver import _build_plan
from convlens._engine._direct import native_threads
from convlens._engine._fft import FFTPlan, OverlapAddPlan
from convlens._engine._geometry import make_geometry


def _rel(got, want):
    return float(np.abs(got - want).max() / np.abs(want).max())


def test_large_buffers_are_pooled_and_reused_without_stale_data():
    rng = np.random.default_rng(0)
    n, k = 1 << 20, 1 << 17  # work buffers of ~9 MB: above the old 4 MiB limit of the pool
    xs = [rng.standard_normal(n) for _ in range(3)]
    ks = [rng.standard_normal(k) for _ in range(3)]
    _scratch.clear()
    for x, h in zip(xs, ks):
        y = cl.convolve(x, h, "same", method="fft", workers=1)
        assert _rel(y, scipy.signal.fftconvolve(x, h, "same")) < 1e-12
    big = [b for bufs in _scratch._free.values() for b in bufs if b.nbytes > 4 << 20]
    assert big, "the large work buffers went back to the pool"
    assert _scratch._total <= _scratch.MAX_TOTAL
    # a plan built after one-shot calls takes their pooled input buffer (x's data in it): its kernel
    # spectrum must not see that data
    plan = cl.Convolver(ks[0], (n,), "same", method="fft", workers=1)
    assert _rel(plan(xs[1]), scipy.signal.fftconvolve(xs[1], ks[0], "same")) < 1e-12
    _scratch.clear()
    assert not _scratch._free and _scratch._total == 0


def test_pool_limits():
    assert _scratch.MAX_TOTAL <= 256 << 20
    assert 3 * _scratch.MAX_BYTES <= _scratch.MAX_TOTAL  # one call's three buffers fit together
    before = _scratch._total
    _scratch.give(("test", "too big"), np.empty(_scratch.MAX_BYTES // 8 + 1))
    assert _scratch._total == before  # dropped, not kept


@pytest.mark.parametrize(
    ("x_shape", "k_shape", "axes"),
    [
        ((300, 200), (17, 9), (0, 1)),
        ((64, 48, 40), (5, 7, 3), (0, 1, 2)),
        ((4, 100, 90), (1, 13, 11), (1, 2)),  # a batch axis, one kernel
        ((3, 100, 90), (3, 13, 11), (1, 2)),  # a kernel per batch entry
        ((100, 3, 90), (13, 1, 11), (0, 2)),  # convolved axes that are not adjacent
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128])
def test_pruned_kernel_spectrum_equals_the_whole_array_transform(x_shape, k_shape, axes, dtype):
    rng = np.random.default_rng(1)
    kernel = rng.standard_normal(k_shape).astype(dtype)
    if np.dtype(dtype).kind == "c":
        kernel = kernel + 1j * rng.standard_normal(k_shape)
    geom = make_geometry(x_shape, k_shape, axes, "same")
    plan = FFTPlan(kernel, geom, explicit_pad=False, dtype=np.dtype(dtype), workers=2, _defer=True)
    plan.tiled = None  # the whole-array path (tiles have their own, small, spectra)
    plan.prepare()
    padded = np.zeros([plan.lengths[axes.index(d)] if d in axes else s for d, s in enumerate(k_shape)], dtype)
    padded[tuple(slice(0, s) for s in k_shape)] = kernel
    whole = B.rfftn(padded, axes, 1) if np.dtype(dtype).kind == "f" else B.fftn(padded, axes, 1)
    tol = 1e-5 if dtype == np.float32 else 1e-13
    assert plan.kspec.shape == whole.shape
    assert _rel(plan.kspec, whole) < tol
    x = rng.standard_normal(x_shape).astype(dtype)
    want = scipy.signal.fftconvolve(
        x.astype(np.complex128 if np.dtype(dtype).kind == "c" else np.float64), kernel, "same", axes=axes
    )
    assert _rel(plan(x), want) < (1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("method", ["overlap-add", "fft"])
def test_overlap_add_reads_finiteness_off_its_blocks(method):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((6, 5000))
    h = rng.standard_normal((1, 64))
    x[2, 1234] = np.nan
    x[4, 4000] = np.inf
    got = cl.convolve(x, h, "same", method=method, axes=(0, 1), workers=1)
    want = cl.convolve(x, h, "same", method="direct", axes=(0, 1), workers=1)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_array_equal(np.isposinf(got), np.isposinf(want))
    finite = np.isfinite(want)
    assert finite.sum() > 0.9 * want.size
    np.testing.assert_allclose(got[finite], want[finite], rtol=1e-9, atol=1e-9)


def test_overlap_add_plan_reports_its_finite_sum():
    rng = np.random.default_rng(3)
    h = rng.standard_normal((1, 33))
    geom = make_geometry((8, 4096), (1, 33), (1,), "same")
    plan = OverlapAddPlan(h, geom, explicit_pad=False, dtype=np.float64, workers=1, block_axis=1, fft_len=256)
    assert plan.tiled is None and plan.nblocks > 1
    x = rng.standard_normal((8, 4096))
    y, finite = plan.run(x)
    assert finite
    assert _rel(y, scipy.signal.fftconvolve(x, h, "same", axes=1)) < 1e-12
    x[3, 100] = np.nan
    with np.errstate(all="raise"):  # no warnings on the way: the caller recomputes this result
        _, finite = plan.run(x)
    assert not finite


def test_compiled_sum_threads_count_memory_traffic():
    long_f64 = make_geometry((1 << 20,), (3,), (0,), "same")
    assert native_threads(long_f64, True, 2) == 2  # 0.65 ms on one thread, bound by memory: split
    short = make_geometry((1 << 16,), (3,), (0,), "same")
    assert native_threads(short, True, 2) == 1  # ~30 us: a hand-off would cost more
    x = np.random.default_rng(4).standard_normal(1 << 20)
    y = cl.convolve(x, [0.25, 0.5, 0.25], "same", workers=2)
    np.testing.assert_array_equal(y, cl.convolve(x, [0.25, 0.5, 0.25], "same", workers=1))  # bit for bit


def test_build_plan_is_used_for_each_method():
    # the plans above are the ones convolve builds (a guard against testing a path nobody takes)
    c = cl.Convolver(np.ones((9, 9)), (600, 600), "same", method="fft", workers=1)
    r = c.recipe(np.dtype(np.float64))
    assert isinstance(_build_plan(c.kernel, r), FFTPlan)


@pytest.mark.parametrize(
    ("data", "lengths", "axes"),
    [
        ((5, 12), (9, 12), (0, 1)),
        ((7, 3, 10), (16, 3, 10), (0, 2)),
        ((4, 6, 8, 10), (4, 9, 11, 10), (1, 2, 3)),
        ((3, 20), (3, 20), (1,)),
        ((6, 1, 16), (8, 5, 16), (0, 1, 2)),
    ],
)
@pytest.mark.parametrize("kind", ["real", "complex"])
def test_padded_forward_and_cropped_inverse_equal_whole_array_transforms(data, lengths, axes, kind):
    rng = np.random.default_rng(5)
    a = rng.standard_normal(data)
    if kind == "complex":
        a = a + 1j * rng.standard_normal(data)
    # a is already at its transform length along axes[-1]; zero padding along the others
    padded = np.zeros(lengths, a.dtype)
    padded[tuple(slice(0, s) for s in data)] = a
    whole = B.rfftn(padded, axes, 1) if kind == "real" else B.fftn(padded, axes, 1)
    out = np.full(whole.shape, np.nan + 0j, whole.dtype)  # stale contents must not survive
    got = B.padded_forward(a, axes, out, 2)
    assert got is out
    np.testing.assert_allclose(got, whole, rtol=1e-12, atol=1e-12 * np.abs(whole).max())
    keep = [slice(1, lengths[ax] - 1) if lengths[ax] > 2 else slice(None) for ax in axes]
    index = [slice(None)] * len(lengths)
    for ax, sl in zip(axes, keep):
        index[ax] = sl
    back = B.cropped_inverse(got.copy(), axes, lengths[axes[-1]], keep, 2, real=kind == "real")
    np.testing.assert_allclose(back, padded[tuple(index)], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
@pytest.mark.parametrize(
    ("x_shape", "k_shape", "axes", "block_axis", "fft_len"),
    [
        ((700, 60), (31, 7), (0, 1), 0, 128),  # partial last block, blocks along the first axis
        ((3, 50, 900), (1, 9, 33), (1, 2), 2, 160),  # a batch axis in front, blocks along the last
        ((40, 330, 3), (5, 17, 1), (0, 1), 1, 64),  # a batch axis behind
        ((2, 40, 500), (2, 5, 21), (1, 2), 2, 96),  # one kernel per batch row (kernel batch)
        ((300, 50), (40, 5), (0, 1), 0, 64),  # tails longer than a block: they reach two blocks on
    ],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128])
def test_nd_overlap_add_pooled_buffers_and_cropped_output(x_shape, k_shape, axes, block_axis, fft_len, mode, dtype):
    """N-d overlap-add writes the crop straight from its pooled blocks: every mode, layout and dtype
    against scipy, repeated calls with other data in the same (reused) buffers, a contiguous output."""
    rng = np.random.default_rng(5)

    def draw(shape):
        a = rng.standard_normal(shape)
        return (a + 1j * rng.standard_normal(shape) if np.dtype(dtype).kind == "c" else a).astype(dtype)

    h = draw(k_shape)
    geom = make_geometry(x_shape, k_shape, axes, mode)
    plan = OverlapAddPlan(h, geom, explicit_pad=False, dtype=dtype, workers=1, block_axis=block_axis, fft_len=fft_len)
    assert plan.tiled is None and plan.nblocks > 1
    tol = 2e-5 if dtype == np.float32 else 1e-11
    for _ in range(3):  # the same buffers, other data: no stale samples survive in the zero padding
        x = draw(x_shape)
        x0 = x.copy()
        y, finite = plan.run(x)
        want = scipy.signal.fftconvolve(x.astype(np.complex128), h.astype(np.complex128), mode, axes=axes)
        assert finite and y.flags.c_contiguous and y.shape == want.shape
        assert _rel(y, want if np.dtype(dtype).kind == "c" else want.real) < tol
        np.testing.assert_array_equal(x, x0)  # the input is never written


def test_nd_overlap_add_plan_is_safe_across_threads():
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(6)
    h = rng.standard_normal((25, 25))
    plan = cl.Convolver(h, (600, 300), "same", method="overlap-add", workers=1)
    xs = [rng.standard_normal((600, 300)) for _ in range(8)]
    with ThreadPoolExecutor(4) as pool:
        ys = list(pool.map(plan, xs))
    for x, y in zip(xs, ys):
        assert _rel(y, scipy.signal.fftconvolve(x, h, "same")) < 1e-12


def test_nd_overlap_add_pooled_blocks_never_carry_another_shapes_samples():
    # 700 and 690 rows cut into the same 8 blocks of 98: the shorter input leaves rows of the
    # blocked buffer unwritten, which must still be zero when the buffer comes from the longer one's plan
    rng = np.random.default_rng(7)
    h = rng.standard_normal((31, 7))
    for n in (700, 690, 700, 650):
        geom = make_geometry((n, 60), h.shape, (0, 1), "full")
        plan = OverlapAddPlan(h, geom, explicit_pad=False, dtype=np.float64, workers=1, block_axis=0, fft_len=128)
        x = rng.standard_normal((n, 60)) * 1e3
        y, _ = plan.run(x)
        assert _rel(y, scipy.signal.fftconvolve(x, h, "full")) < 1e-12
        del plan  # its buffers go back to the pool for the next plan


@pytest.mark.parametrize("dtype", [np.float64, np.complex64])
def test_a_reused_overlap_add_plan_holds_one_set_of_buffers(dtype):
    # each call used to lend itself new spectrum and inverse buffers, kept until the plan was collected:
    # a long-lived plan grew by ~5 MB a call (found by a breaker)
    import weakref

    rng = np.random.default_rng(8)
    x = rng.standard_normal((4000, 64)).astype(dtype)
    k = rng.standard_normal((31, 9)).astype(dtype)
    plan = cl.Convolver(k, x.shape, "same", method="overlap-add", workers=1)
    want = plan(x)
    lent = len(weakref.finalize._registry)
    for _ in range(20):
        y = plan(x)
    assert len(weakref.finalize._registry) == lent  # no buffer lent per call
    np.testing.assert_array_equal(y, want)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("n", "m", "batch"), [(65536, 1001, ()), (20000, 255, (3,)), (5000, 1001, (2, 2))])
def test_overlap_save_scratch_is_pooled_and_never_leaks_between_calls(n, m, batch, dtype):
    # the fused 1-D path takes its convolve_axis scratch from the pool; a scratch that held another
    # call's segments (other data, other kernel) must not reach a result
    rng = np.random.default_rng(9)
    tol = 2e-5 if dtype == np.float32 else 1e-12
    for _ in range(3):
        x = rng.standard_normal((*batch, n)).astype(dtype) * rng.uniform(1, 1e3)
        h = rng.standard_normal(m).astype(dtype)
        x0 = x.copy()
        plan = cl.Convolver(h, x.shape, "same", axes=-1, method="overlap-add", workers=1)
        assert plan.recipe(x.dtype).fused_1d
        hb = h.astype(np.float64).reshape((1,) * len(batch) + (m,))
        want = scipy.signal.fftconvolve(x.astype(np.float64), hb, "same", axes=-1)
        assert _rel(plan(x), want) < tol
        np.testing.assert_array_equal(x, x0)
    keys = [key for key in _scratch._free if key[0] == "os-scratch"]
    assert keys, "the overlap-save scratch went back to the pool"


@pytest.mark.parametrize(
    ("k", "n", "want"),
    [
        (1001, 1 << 23, 8100),  # a long signal: blocks of ~8k
        (1001, 1 << 20, 8100),
        (1001, 1 << 16, 3072),  # a short one: ~64 blocks, at least 3k
        (1001, 1 << 18, 4096),
        (4096, 1 << 16, 12288),
        (255, 1 << 23, 4096),  # never below 4096 on a long signal
    ],
)
def test_one_d_block_length_keeps_a_short_signal_in_many_blocks(k, n, want):
    from convlens._engine import block_length

    assert block_length(k, n) == want
