"""One process-wide thread pool for every threaded path of the engine (and the lenses on it).

Threaded work is cut into shares -- runs of FFT tiles, rows of the compiled direct sum,
pieces of a ``numpy.convolve``, OpenCV strips, rows of a padded copy, template-search
strips -- and :func:`run_shares` runs the first share in the calling thread and the
others on this pool.  A pool made per call paid for its thread starts and joins on every
call: on the reference VM a 1024² tiled convolution's second thread began ~1 ms after the
call did, and the joins took another ~0.4 ms, of a ~10 ms call.

A share that itself asks for threads (a convolution called from inside a share) runs its
own shares inline: a pool thread waiting for the pool could deadlock it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import TypeVar

S = TypeVar("S")
R = TypeVar("R")

_pool: ThreadPoolExecutor | None = None
_lock = threading.Lock()
_local = threading.local()


def _mark_pool_thread() -> None:
    _local.in_pool = True


def _shared_pool() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max(os.cpu_count() or 1, 2), thread_name_prefix="convlens", initializer=_mark_pool_thread
            )
        return _pool


def _forget_pool() -> None:
    # a forked child has none of the parent's threads, and a lock another thread held at the fork
    # would stay held in the child for good
    global _pool, _lock
    _pool, _lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def even_parts(n: int, parts: int) -> list[slice]:
    """``range(n)`` cut into at most ``parts`` consecutive slices of equal length (the last shorter).

    >>> even_parts(10, 3)
    [slice(0, 4, None), slice(4, 8, None), slice(8, 10, None)]
    """
    step = -(-n // max(1, min(parts, n)))
    return [slice(i, min(i + step, n)) for i in range(0, n, step)]


def run_shares(fn: Callable[[S], R], shares: Iterable[S]) -> list[R]:
    """``[fn(s) for s in shares]``, the shares after the first on the shared pool.

    Parameters
    ----------
    fn : callable
        Computes one share (it should release the GIL for most of its time: NumPy,
        ducc0 and the compiled sum do).
    shares : iterable
        The shares; their results come back in this order.

    Returns
    -------
    list
        ``fn``'s result for each share.  When a share raises, every other share is
        waited for first (they may write into the same arrays), then the error propagates.

    Examples
    --------
    >>> run_shares(lambda r: sum(r), [range(0, 5), range(5, 10)])
    [10, 35]
    """
    shares = list(shares)
    if len(shares) <= 1 or getattr(_local, "in_pool", False):
        return [fn(s) for s in shares]
    futures = [_shared_pool().submit(fn, s) for s in shares[1:]]
    try:
        first = fn(shares[0])
    finally:
        wait(futures)
    return [first, *(f.result() for f in futures)]
