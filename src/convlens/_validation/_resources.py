"""Resources: the memory guard (refuse up front what would not fit) and the thread count.

Import these from :mod:`convlens._validation`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np


class InsufficientMemoryError(MemoryError, ValueError):
    """A computation was refused because its estimated memory use is too large."""


# Its public home (tracebacks, pickles and ``except`` clauses written as convlens._validation.X name it there).
InsufficientMemoryError.__module__ = "convlens._validation"


# --------------------------------------------------------------------------- memory


def available_memory() -> int:
    """Bytes of memory this process can still use (MemAvailable, or the cgroup limit if lower)."""
    avail = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except OSError:  # pragma: no cover - non-Linux
        pass
    if avail is None:  # pragma: no cover - non-Linux
        avail = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path) as f:
                text = f.read().strip()
            if text.isdigit():
                avail = min(avail, int(text))
        except OSError:
            continue
    return avail


# Below this no machine convlens runs on is short of memory: skip reading /proc (~50 us a call).
_SMALL = 256 << 20


def _refuse_if_too_large(estimate: float, message: str, advice: str) -> None:
    if estimate < _SMALL:
        return
    limit = available_memory()
    if estimate > limit:
        raise InsufficientMemoryError(
            f"{message} would need about {estimate / 2**30:.2f} GiB of working memory, "
            f"but only {limit / 2**30:.2f} GiB is available; {advice}"
        )


def check_memory(estimate: int, what: str) -> None:
    """Refuse up front a convolution whose estimated working set would not fit in memory."""
    _refuse_if_too_large(
        estimate,
        what,
        "use smaller inputs (split x into blocks), or another method (overlap-add needs the least memory for long "
        "inputs)",
    )


def check_alloc(shape_or_nbytes: Any, dtype: Any = None, *, what: str, copies: float = 1.0) -> int:
    """Refuse up front an allocation whose size the user controls; return its size in bytes.

    ``shape_or_nbytes`` is a shape (with ``dtype``) or a byte count; ``copies``
    counts the arrays of that size alive at once.  ``what`` is the public
    function the user called, so the message names it.  Sizes are multiplied as
    Python integers, so no estimate overflows.

    >>> check_alloc((200_000, 200_000), np.float64, what="heat_kernel")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    convlens.InsufficientMemoryError: heat_kernel: an array of shape (200000, 200000) (float64) ...
    """
    if dtype is None:
        nbytes = int(shape_or_nbytes)
        desc = f"{nbytes} bytes"
    else:
        shape = (shape_or_nbytes,) if isinstance(shape_or_nbytes, (int, np.integer)) else tuple(shape_or_nbytes)
        dt = np.dtype(dtype)
        nbytes = math.prod(int(s) for s in shape) * dt.itemsize
        desc = f"an array of shape {tuple(int(s) for s in shape)} ({dt.name})"
    estimate = nbytes * copies
    _refuse_if_too_large(estimate, f"{what}: {desc}", f"ask {what} for a smaller size")
    return nbytes


@contextmanager
def user_function(name: str) -> Iterator[None]:
    """Name ``name`` (the public function the user called) in memory refusals raised inside the block.

    A lens that calls the engine wraps the call, so a refusal reads
    ``"gaussian: fourier_filter of shape ... would need ..."`` instead of
    naming only an internal step.
    """
    try:
        yield
    except InsufficientMemoryError as exc:
        text = str(exc)
        if text.startswith(f"{name}:"):
            raise
        raise InsufficientMemoryError(f"{name}: {text}") from None


# --------------------------------------------------------------------------- threads


def default_workers() -> int:
    """Number of CPU cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def check_workers(workers: Any) -> int:
    """Normalize ``workers`` to a positive thread count, as ``scipy.fft`` reads it.

    ``None`` is every core available to this process; a positive int is that
    many threads; a negative one counts back from the cores (``-1`` all of them,
    ``-2`` all but one), down to one thread at ``-cores``.

    >>> check_workers(-1) == default_workers()
    True
    """
    cores = default_workers()
    what = f"None or a positive integer, or -1..-{cores} to count back from the {cores} cores (-1 = all)"
    if workers is None:
        return cores
    if isinstance(workers, (bool, np.bool_)) or not isinstance(workers, (int, np.integer)):
        raise TypeError(f"workers must be {what}; got {workers!r}")
    n = int(workers) if workers > 0 else cores + 1 + int(workers)
    if workers == 0 or n < 1:
        raise ValueError(f"workers must be {what}; got {workers!r}")
    return n
