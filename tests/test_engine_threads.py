"""The engine's one thread pool (``run_shares``): order, errors, nesting, and many callers at once.

Results are checked against ``scipy.signal.fftconvolve``; a nested call from inside a share
must finish (a pool thread waiting on the pool could deadlock it).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import scipy.signal

import convlens as cl
from convlens._engine import _threads, run_shares


def test_results_come_back_in_the_order_of_the_shares():
    def slow_first(i):
        time.sleep(0.02 if i == 0 else 0)
        return i * i

    assert run_shares(slow_first, range(5)) == [0, 1, 4, 9, 16]
    assert run_shares(slow_first, []) == []


def test_shares_after_the_first_run_on_the_pool():
    names = run_shares(lambda _: threading.current_thread().name, range(3))
    assert names[0] == threading.current_thread().name
    assert all(n.startswith("convlens") for n in names[1:])


def test_an_error_waits_for_every_share_then_propagates():
    done = []

    def fn(i):
        if i == 0:
            raise ValueError("share 0 failed")
        time.sleep(0.05)
        done.append(i)

    with pytest.raises(ValueError, match="share 0 failed"):
        run_shares(fn, range(3))
    assert sorted(done) == [1, 2]  # nothing of them still running when the error surfaced
    with pytest.raises(ZeroDivisionError):
        run_shares(lambda i: 1 // (i - 1), range(3))


def test_a_share_that_asks_for_threads_runs_its_own_shares_inline():
    # more nested requests than the pool has threads: each would wait for the pool if it submitted
    width = _threads._shared_pool()._max_workers + 2

    def outer(i):
        return sum(run_shares(lambda j: i * j, range(3)))

    got = ThreadPoolExecutor(1).submit(run_shares, outer, range(width)).result(timeout=30)
    assert got == [3 * i for i in range(width)]


def test_a_tiled_convolution_inside_a_share_finishes_and_is_right():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 600, 600))
    h = rng.standard_normal((15, 15))
    want = [scipy.signal.fftconvolve(xi, h, "same") for xi in x]
    got = run_shares(lambda xi: cl.convolve(xi, h, "same", method="overlap-add", workers=2), list(x))
    for g, w in zip(got, want):
        assert np.abs(g - w).max() < 1e-12 * np.abs(w).max()


@pytest.mark.parametrize(("method", "shape", "k"), [("overlap-add", (700, 650), 15), ("direct", (1200, 1000), 7)])
def test_many_callers_share_the_pool(method, shape, k):
    rng = np.random.default_rng(2)
    h = rng.standard_normal((k, k))
    xs = [rng.standard_normal(shape) for _ in range(8)]
    with ThreadPoolExecutor(8) as callers:
        ys = list(callers.map(lambda x: cl.convolve(x, h, "same", method=method, workers=2), xs))
    for x, y in zip(xs, ys):
        want = scipy.signal.fftconvolve(x, h, "same")
        assert np.abs(y - want).max() < 1e-12 * np.abs(want).max()


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_a_child_forked_while_the_locks_are_held_can_still_convolve():
    import multiprocessing as mp

    from convlens._engine import _scratch

    x = np.random.default_rng(3).standard_normal((700, 650))
    h = np.ones((15, 15))
    want = scipy.signal.fftconvolve(x, h, "same")
    ctx = mp.get_context("fork")
    # another thread holds both locks at the moment of the fork
    with _threads._lock, _scratch._lock, ctx.Pool(1) as pool:
        got = pool.apply_async(cl.convolve, (x, h, "same"), {"method": "overlap-add", "workers": 2}).get(timeout=60)
    assert np.abs(got - want).max() < 1e-12 * np.abs(want).max()
