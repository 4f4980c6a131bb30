"""Argument checks shared by every public function.

Each option is validated in exactly one helper here and normalized once; the
rest of the code only sees normalized values.  Messages name the argument, show
what was received (``!r``) and list what is allowed, in a stable order.

Exception hierarchy
-------------------
``ValueError``
    ``InsufficientMemoryError`` (also a ``MemoryError``): a request whose
    working set would not fit in the memory available to this process.
``TypeError``
    wrong kinds of arguments (non-numeric dtypes, non-integer axes...).
"""

from __future__ import annotations

import operator
import os
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

MODES = ("full", "same", "valid")
BOUNDARIES = ("constant", "wrap", "reflect", "symmetric", "edge")
METHODS = ("auto", "direct", "fft", "overlap-add")
NAN_POLICIES = ("propagate", "raise", "interpolate")


class InsufficientMemoryError(MemoryError, ValueError):
    """A computation was refused because its estimated memory use is too large."""


def check_choice(name: str, value: Any, allowed: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise a ValueError naming ``name``."""
    if not isinstance(value, str) or value not in allowed:
        options = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{name} must be one of {options}; got {value!r}")
    return value


def check_array(name: str, value: Any, *, allow_complex: bool = True) -> np.ndarray:
    """Convert ``value`` to a NumPy array of a numeric dtype, non-empty and at least 1-D."""
    if type(value).__module__.split(".")[0] == "torch":  # detected without importing torch
        raise TypeError(
            f"{name} is a torch tensor; the NumPy engine takes arrays. For tensors (CPU or CUDA, with autograd) "
            "use convlens.torch.fft_conv / FFTConv1d-3d / long_conv, or pass tensor.numpy()"
        )
    try:
        arr = np.asarray(value)
    except Exception as exc:  # ragged lists and the like
        raise TypeError(f"{name} must be array-like with a numeric dtype; got {type(value).__name__}") from exc
    kinds = "biufc" if allow_complex else "biuf"
    if arr.dtype.kind not in kinds:
        what = "bool, integer, float or complex" if allow_complex else "bool, integer or float"
        raise TypeError(f"{name} must have a numeric dtype ({what}); got dtype {arr.dtype}")
    if arr.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension; got a 0-d array (scalar)")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty; got shape {arr.shape}")
    return arr


def check_finite(name: str, x: np.ndarray, hint: str = "") -> None:
    """Raise a ValueError naming ``name`` if ``x`` holds NaN or inf: how many, and where the first is."""
    if x.dtype.kind not in "fc":
        return
    bad = ~np.isfinite(x)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        where = first[0] if len(first) == 1 else first
        raise ValueError(
            f"{name} must be finite; got {int(bad.sum())} NaN or inf value(s), the first at index {where}"
            + (f"; {hint}" if hint else "")
        )


def check_workers(workers: Any) -> int:
    """Normalize ``workers`` (None = every core available to this process) to a positive int."""
    if workers is None:
        return default_workers()
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)):
        raise TypeError(f"workers must be None or a positive integer; got {workers!r}")
    if workers < 1:
        raise ValueError(f"workers must be None or a positive integer (number of threads); got {workers!r}")
    return int(workers)


def default_workers() -> int:
    """Number of CPU cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


def check_axes(axes: Any, ndim: int, name: str = "axes") -> tuple[int, ...]:
    """Normalize ``axes`` (None, int or sequence of ints) to sorted, non-negative, unique axes."""
    if axes is None:
        return tuple(range(ndim))
    if isinstance(axes, (int, np.integer)) and not isinstance(axes, bool):
        axes = (axes,)
    if not isinstance(axes, Iterable) or isinstance(axes, (str, bytes)):
        raise TypeError(f"{name} must be None, an int or a sequence of ints; got {axes!r}")
    out = []
    for a in axes:
        if isinstance(a, bool):
            raise TypeError(f"{name} must contain integers; got {a!r} in {axes!r}")
        try:
            a = operator.index(a)
        except TypeError:
            raise TypeError(f"{name} must contain integers; got {a!r} in {axes!r}") from None
        if not -ndim <= a < ndim:
            raise ValueError(
                f"{name} entry {a} is out of range for an array of {ndim} dimensions (allowed: {-ndim}..{ndim - 1})"
            )
        out.append(a % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{name} must not repeat an axis; got {tuple(axes)!r}")
    if not out:
        raise ValueError(f"{name} must name at least one axis; got an empty sequence")
    return tuple(sorted(out))


def check_scalar(name: str, value: Any) -> complex | float:
    """A real or complex scalar (``fill_value`` and the like)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, complex, np.number)):
        raise TypeError(f"{name} must be a real or complex number; got {value!r}")
    return value


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


def check_memory(estimate: int, what: str) -> None:
    """Refuse up front a computation whose working set would not fit in memory."""
    if estimate < (256 << 20):  # far below any machine's memory: skip reading /proc (~50 us a call)
        return
    limit = available_memory()
    if estimate > limit:
        raise InsufficientMemoryError(
            f"{what} would need about {estimate / 2**30:.2f} GiB of working memory, "
            f"but only {limit / 2**30:.2f} GiB is available; use smaller inputs (split x into blocks), "
            "or another method (overlap-add needs the least memory for long inputs)"
        )
