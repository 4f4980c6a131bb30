"""Attacks on the threads of the engine: numpy.convolve in pieces, FFT paths on 1 thread, the harness.

Each result with ``workers > 1`` must equal the 1-thread result (and NumPy/SciPy's) for every
mode and dtype, around the piece and split boundaries; plans pickle with their threads; and the
pieces of a long signal must not redo the work of a long kernel.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.signal as ss

import convlens as cl
from convlens import Convolver
from convlens._engine import _direct
from convlens._engine._direct import NPCONV_PIECE, NPCONV_SPLIT_TAPS, NPCONV_SPLIT_WORK, npconv_threads, npconvolve

SPLIT_N = NPCONV_SPLIT_WORK // NPCONV_SPLIT_TAPS  # outputs from which a kernel of NPCONV_SPLIT_TAPS splits

ROOT = Path(__file__).resolve().parents[1]


def _counting_convolve(monkeypatch) -> list[int]:
    """Make ``numpy.convolve`` record the products each call computes (len(a) * len(v))."""
    work: list[int] = []
    real = np.convolve

    def counted(a, v, mode="full"):
        work.append(np.size(a) * np.size(v))
        return real(a, v, mode)

    monkeypatch.setattr(_direct.np, "convolve", counted)
    return work


@pytest.mark.parametrize(
    ("n", "k", "crop", "workers"),
    [
        (4096, 4096, "full", 2),  # a kernel as long as the signal: halves would each redo all of it
        (4096, 4096, "full", 7),
        (2048, 8192, "same", 2),  # a short signal under a long kernel
        (16384, 1024, "full", 4),  # long enough for 2 threads, not for 4
        (1 << 20, 11, "same", 3),
        (SPLIT_N + 1, NPCONV_SPLIT_TAPS, "valid", 2),
    ],
)
def test_pieces_do_not_redo_the_work_of_a_long_kernel(monkeypatch, n, k, crop, workers):
    rng = np.random.default_rng(40)
    a, kern = rng.standard_normal(n), rng.standard_normal(k)
    want = np.convolve(a, kern)
    sl = {"full": slice(0, n + k - 1), "same": slice((k - 1) // 2, (k - 1) // 2 + n), "valid": slice(k - 1, n)}[crop]
    work = _counting_convolve(monkeypatch)
    got = npconvolve(a, kern, sl, workers)
    np.testing.assert_array_equal(got, want[sl])
    # the pieces together may redo at most 1/NPCONV_PIECE_TAPS (twice that after rounding) of the work
    assert sum(work) <= 1.25 * n * k, (len(work), sum(work) / (n * k))


def test_threads_of_a_signal_are_bounded_by_its_kernel():
    assert npconv_threads(8191, 4096, 2) == 1  # 4096 (x) 4096 'full': no piece 8x the kernel per thread
    assert npconv_threads(16384 + 1023, 1024, 4) == 2
    assert npconv_threads(SPLIT_N, NPCONV_SPLIT_TAPS, 7) == 7
    assert npconv_threads(SPLIT_N - 1, NPCONV_SPLIT_TAPS, 4) == 1  # below the work threshold
    assert npconv_threads(1 << 23, 3, 4) == 1  # a small kernel: numpy's loop is bound by memory
    assert npconv_threads(SPLIT_N, NPCONV_SPLIT_TAPS, 1) == 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128, np.int16])
@pytest.mark.parametrize("n", [SPLIT_N - 1, SPLIT_N + 1])
def test_every_worker_count_matches_numpy_around_the_split(dtype, n):
    rng = np.random.default_rng(41)
    if np.dtype(dtype).kind == "i":
        x, kern = rng.integers(-100, 100, n).astype(dtype), rng.integers(-5, 5, NPCONV_SPLIT_TAPS).astype(dtype)
        ref_dtype = np.int64
    else:
        x, kern = rng.standard_normal(n).astype(dtype), rng.standard_normal(NPCONV_SPLIT_TAPS).astype(dtype)
        ref_dtype = np.complex128 if np.dtype(dtype).kind == "c" else np.float64
    x0, k0 = x.copy(), kern.copy()
    for mode in ("full", "same", "valid"):
        want = np.convolve(x.astype(ref_dtype), kern.astype(ref_dtype), mode)
        for workers in (2, 3, 7):
            got = cl.convolve(x, kern, mode, method="direct", workers=workers)
            if ref_dtype is np.int64:
                assert got.dtype == np.int64
                np.testing.assert_array_equal(got, want)
            else:
                assert got.dtype == dtype
                tol = 1e-4 if np.dtype(dtype).itemsize <= 8 and dtype != np.float64 else 1e-12
                np.testing.assert_allclose(got, want, rtol=tol, atol=tol * 10)
    np.testing.assert_array_equal(x, x0)  # inputs never modified
    np.testing.assert_array_equal(kern, k0)


def test_nan_stays_local_at_piece_boundaries_and_raise_still_raises():
    rng = np.random.default_rng(42)
    n = SPLIT_N + 5
    x = rng.standard_normal(n) + 1j * rng.standard_normal(n)  # complex: numpy.convolve's route
    spots = [0, NPCONV_PIECE - 1, NPCONV_PIECE, n // 2, n - 1]
    x[spots] = np.nan
    box = np.ones(NPCONV_SPLIT_TAPS + 1)  # odd: 'same' centres it, each NaN spreads half its length each way
    half = NPCONV_SPLIT_TAPS // 2
    assert npconv_threads(n, box.size, 2) == 2  # this case does run in pieces
    one = cl.convolve(x, box, "same", method="direct", workers=1)
    two = cl.convolve(x, box, "same", method="direct", workers=2)
    want = sorted({j for s in spots for j in range(s - half, s + half + 1) if 0 <= j < n})
    assert np.flatnonzero(np.isnan(two)).tolist() == want
    np.testing.assert_allclose(two, one, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="nan_policy"):
        cl.convolve(x, box, "same", method="direct", workers=2, nan_policy="raise")
    filled = cl.convolve(x, box, "same", method="direct", workers=2, nan_policy="interpolate")
    assert np.isfinite(filled).all()


@pytest.mark.parametrize(("x_shape", "k_shape"), [((256, 256), (63, 63)), ((65536,), (1001,)), ((1 << 20,), (4096,))])
def test_a_pickled_plan_keeps_its_threads_and_its_result(x_shape, k_shape):
    rng = np.random.default_rng(43)
    x = rng.standard_normal(x_shape).astype(np.float32)
    kern = rng.standard_normal(k_shape).astype(np.float32)
    plan = Convolver(kern, x_shape, "same", dtype=np.float32, workers=2)
    y = plan(x)
    back = pickle.loads(pickle.dumps(plan))
    r, r2 = plan.recipe(np.dtype(np.float32)), back.recipe(np.dtype(np.float32))
    assert r == r2 and r2.threads == r.threads and r.threads in (1, 2)
    np.testing.assert_array_equal(back(x), y)
    want = ss.fftconvolve(x.astype(np.float64), kern.astype(np.float64), "same")
    np.testing.assert_allclose(y, want, rtol=1e-3, atol=1e-3 * np.abs(kern).sum())
    assert cl.choose_method(x_shape, k_shape, mode="same", dtype="float32", workers=2) in (
        "direct",
        "fft",
        "overlap-add",
    )


def test_harness_goal_above_a_per_call_time_with_batches_and_a_tuple_anchor(monkeypatch):
    from types import SimpleNamespace

    from benchmarks import _harness
    from benchmarks._harness import Case, Compare, run_case

    now = [0.0]  # a fake clock: each callable takes exactly its time (no dependence on the machine's speed)

    def takes(seconds):
        def fn():
            now[0] += seconds

        return fn

    monkeypatch.setattr(_harness, "time", SimpleNamespace(perf_counter=lambda: now[0]))
    case = Case(
        "toy",
        ours={"ours": takes(0.004)},  # a batch of 4 calls of 1 ms
        anchors={"a": takes(0.012), "b": takes(0.008)},
        compare=[
            Compare(("a", "b"), "ours", 1.5, above_s=1e-3),  # b: 2 ms a call: applies
            Compare(("a", "b"), "ours", 1.5, above_s=5e-3),  # under 5 ms a call: n/a
            Compare("a", "ours", None, above_s=1e-3),  # no goal: nothing applies
        ],
        threads={"b": 2},
        repeats=3,
        budget_s=1.0,
        calls=4,
    )
    res = run_case(case)
    applies, exempt, plain = res["ratios"]
    assert applies["anchor"] == "best of a/b (b)" and applies["anchor_threads"] == 2
    assert applies["applies"] is True and applies["met"] is True and applies["ratio"] == pytest.approx(2.0)
    assert exempt["applies"] is False and exempt["met"] is None
    assert plain["applies"] is False and plain["met"] is None and plain["anchor_threads"] == 1


def test_benchmarks_help_still_works():
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--help"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0 and "--grid" in out.stdout
