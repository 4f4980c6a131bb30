"""The policy layer: one rule for arguments, dtypes, memory and threads, shared by every module.

Each option is validated in exactly one helper here and normalized once; the
rest of the code only sees normalized values.  Messages name the argument, show
what was received (``!r``) and list what is allowed, in a stable order.

The rules (``docs/architecture.md`` explains them with examples):

* **Arguments** -- a value of the wrong *kind* (a float where an integer is
  needed, a bool where a number is needed, a string where an array is needed)
  raises ``TypeError``; a value of the right kind but outside what is allowed
  raises ``ValueError``.  Both messages name the argument, show the value and
  say what is allowed: :func:`check_int`, :func:`check_positive_int`,
  :func:`check_float`, :func:`check_shape`, :func:`check_spacing`,
  :func:`check_rng`, :func:`check_choice`, :func:`check_array`,
  :func:`check_axes`, :func:`check_scalar`, :func:`check_finite`.
* **dtypes** -- :data:`DTYPE_TABLE` and :func:`result_dtype`: which input dtypes
  are kept, which are computed wider and returned in their own dtype, which are
  refused.  Outputs are always in native byte order.
* **Memory** -- :func:`check_alloc` (an allocation whose size the user controls)
  and :func:`check_memory` (a working-set estimate) refuse up front, with an
  estimate in GiB and the name of the function the user called, anything that
  would not fit: :class:`InsufficientMemoryError`.
* **Threads** -- :func:`check_workers`: ``None`` (every core available), a
  positive count, or a negative one counting back from the cores as SciPy does
  (``-1`` all of them, ``-2`` all but one).

Exception hierarchy
-------------------
``ValueError``
    ``InsufficientMemoryError`` (also a ``MemoryError``): a request whose
    working set would not fit in the memory available to this process.
``TypeError``
    wrong kinds of arguments (non-numeric dtypes, non-integer axes, a float
    where an integer is needed, ``longdouble`` data...).

    ``OptionKindError`` (also a ``ValueError``): an option that is not a
    string at all (``mode=3``).
"""

from __future__ import annotations

import math
import operator
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

MODES = ("full", "same", "valid")
BOUNDARIES = ("constant", "wrap", "reflect", "symmetric", "edge")
METHODS = ("auto", "direct", "fft", "overlap-add")
NAN_POLICIES = ("propagate", "raise", "interpolate")


class InsufficientMemoryError(MemoryError, ValueError):
    """A computation was refused because its estimated memory use is too large."""


class OptionKindError(TypeError, ValueError):
    """An option given as something other than a string (``mode=3``): a TypeError by the error rule.

    Also a ValueError, as every refused option was before the rule, so that
    ``except ValueError`` written against older releases still catches it.
    """


# --------------------------------------------------------------------------- scalars and options


def _kind_name(value: Any) -> str:
    return type(value).__name__


def check_choice(name: str, value: Any, allowed: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise a ValueError naming ``name``."""
    if not isinstance(value, str) or value not in allowed:
        options = ", ".join(repr(a) for a in allowed)
        error = ValueError if isinstance(value, str) else OptionKindError
        raise error(f"{name} must be one of {options}; got {value!r}")
    return value


def _bounds_text(minimum: Any, maximum: Any, *, min_open: bool = False, max_open: bool = False) -> str:
    parts = []
    if minimum is not None:
        parts.append(f"{'>' if min_open else '>='} {minimum}")
    if maximum is not None:
        parts.append(f"{'<' if max_open else '<='} {maximum}")
    return " and ".join(parts)


def check_int(name: str, value: Any, *, minimum: int | None = None, maximum: int | None = None) -> int:
    """An integer (Python or NumPy; not a bool, not a float such as 2.0) within ``[minimum, maximum]``.

    >>> check_int("n", np.int64(3), minimum=1)
    3
    >>> check_int("n", 2.5)
    Traceback (most recent call last):
    ...
    TypeError: n must be an integer; got 2.5 (float)
    """
    bounds = _bounds_text(minimum, maximum)
    what = f"an integer {bounds}" if bounds else "an integer"
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be {what}; got {value!r} (bool)")
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be {what}; got {value!r} ({_kind_name(value)})") from None
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be {what}; got {value!r}")
    return int(value)


def check_positive_int(name: str, value: Any) -> int:
    """An integer >= 1 (a count, a length, a number of samples)."""
    return check_int(name, value, minimum=1)


def check_float(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    min_open: bool = False,
    max_open: bool = False,
    finite: bool = True,
) -> float:
    """A real number (int, float or NumPy real; not a bool, complex or string) within the bounds.

    ``min_open`` / ``max_open`` exclude the bound itself; ``finite=False`` lets
    ``inf`` through (NaN is never accepted).

    >>> check_float("sigma", 2, minimum=0)
    2.0
    >>> check_float("cutoff", 0.7, minimum=0, maximum=0.5, min_open=True)
    Traceback (most recent call last):
    ...
    ValueError: cutoff must be a real number > 0 and <= 0.5; got 0.7
    """
    bounds = _bounds_text(minimum, maximum, min_open=min_open, max_open=max_open)
    what = "a finite real number" if finite else "a real number"
    if bounds:
        what = f"a real number {bounds}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be {what}; got {value!r} ({_kind_name(value)})")
    out = float(value)
    bad = math.isnan(out) or (finite and math.isinf(out))
    if minimum is not None:
        bad = bad or (out <= minimum if min_open else out < minimum)
    if maximum is not None:
        bad = bad or (out >= maximum if max_open else out > maximum)
    if bad:
        raise ValueError(f"{name} must be {what}; got {value!r}")
    return out


def check_scalar(name: str, value: Any) -> complex | float:
    """A real or complex scalar (``fill_value`` and the like)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, complex, np.number)):
        raise TypeError(f"{name} must be a real or complex number; got {value!r}")
    return value


def check_shape(name: str, shape: Any, *, ndim: int | None = None) -> tuple[int, ...]:
    """A shape: a positive int or a non-empty sequence of positive ints (with ``ndim`` entries if given).

    >>> check_shape("shape", 5)
    (5,)
    >>> check_shape("shape", (3, 2.5))
    Traceback (most recent call last):
    ...
    TypeError: shape must be a positive int or a sequence of positive ints; got (3, 2.5)
    """
    what = "a positive int or a sequence of positive ints"
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, (bool, np.bool_)):
        shape = (shape,)
    if not isinstance(shape, Iterable) or isinstance(shape, (str, bytes)):
        raise TypeError(f"{name} must be {what}; got {shape!r}")
    items = tuple(shape)
    out = []
    for s in items:
        if isinstance(s, (bool, np.bool_)):
            raise TypeError(f"{name} must be {what}; got {shape!r}")
        try:
            out.append(operator.index(s))
        except TypeError:
            raise TypeError(f"{name} must be {what}; got {shape!r}") from None
    if not out or any(s < 1 for s in out):
        raise ValueError(f"{name} must be {what} (non-empty, every entry >= 1); got {shape!r}")
    if ndim is not None and len(out) != ndim:
        raise ValueError(f"{name} must have {ndim} entries (one per axis); got {shape!r}")
    return tuple(out)


def check_spacing(name: str, value: Any, naxes: int) -> np.ndarray:
    """Grid spacings: one positive finite number for every axis, or one per axis, as a float64 array.

    >>> check_spacing("dx", 0.5, 2)
    array([0.5, 0.5])
    """
    items = value if isinstance(value, (list, tuple, np.ndarray)) else [value]
    if any(isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer, np.floating)) for v in items):
        raise TypeError(f"{name} must be a positive number or one positive spacing per axis ({naxes}); got {value!r}")
    arr = np.asarray(value, dtype=np.float64)
    arr = np.full(naxes, float(arr)) if arr.ndim == 0 else arr
    if arr.shape != (naxes,) or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"{name} must be a positive number or one positive spacing per axis ({naxes}); got {value!r}")
    return arr


def check_rng(rng: Any, name: str = "rng") -> np.random.Generator:
    """A NumPy ``Generator`` from None (fresh entropy), an int seed, a ``SeedSequence`` or a ``Generator``."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (
        isinstance(rng, (int, np.integer, np.random.SeedSequence)) and not isinstance(rng, (bool, np.bool_))
    ):
        return np.random.default_rng(rng)
    raise TypeError(f"{name} must be None, an int seed or a numpy.random.Generator; got {type(rng).__name__}")


# --------------------------------------------------------------------------- arrays


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


# --------------------------------------------------------------------------- the dtype rule

#: The one dtype rule: input dtype -> (output dtype, working dtype).  Every
#: public function applies it through :func:`result_dtype`.  float16 has too
#: few digits to accumulate sums in, so it is computed in float32 and returned
#: as float16.  Bool and integers are computed in float64; lenses return
#: float64, the engine (``exact_int=True``) returns the exact integer result.
#: ``longdouble`` is refused: no FFT or OpenCV path computes in it, and
#: narrowing it silently to float64 would hide a loss of precision.
DTYPE_TABLE: dict[str, tuple[str, str]] = {
    "bool": ("float64", "float64"),
    "int": ("float64", "float64"),
    "uint": ("float64", "float64"),
    "float16": ("float16", "float32"),
    "float32": ("float32", "float32"),
    "float64": ("float64", "float64"),
    "complex64": ("complex64", "complex64"),
    "complex128": ("complex128", "complex128"),
}
_EXACT_INT = {"bool": ("int64", "float64"), "int": ("int64", "float64"), "uint": ("uint64", "float64")}
_REFUSED_WIDE = (
    "{name} has dtype {dtype} ({kind}), which convlens refuses rather than narrowing it silently: every path "
    "computes in at most 64-bit floats; convert it explicitly first, e.g. {name}.astype(np.{fix})"
)


def _as_dtype(name: str, d: Any) -> np.dtype:
    dt = d.dtype if hasattr(d, "dtype") and not isinstance(d, (type, np.dtype)) else d
    try:
        dt = np.dtype(dt)
    except TypeError:
        raise TypeError(f"{name} must be a NumPy dtype or array; got {d!r}") from None
    if dt.kind not in "biufc":
        raise TypeError(f"{name} must have a numeric dtype (bool, integer, float or complex); got dtype {dt}")
    if (dt.kind == "f" and dt.itemsize > 8) or (dt.kind == "c" and dt.itemsize > 16):
        fix, kind = ("float64", "longdouble") if dt.kind == "f" else ("complex128", "clongdouble")
        raise TypeError(_REFUSED_WIDE.format(name=name, dtype=dt, kind=kind, fix=fix))
    return dt.newbyteorder("=")  # byte order never leaks: outputs are native


def _category(dt: np.dtype) -> str:
    if dt.kind == "b":
        return "bool"
    if dt.kind in "iu":
        return "int" if dt.kind == "i" else "uint"
    return dt.name


def result_dtype(
    *dtypes: Any, exact_int: bool = False, allow_complex: bool = True, name: str = "x"
) -> tuple[np.dtype, np.dtype]:
    """``(output dtype, working dtype)`` for inputs of these dtypes (or arrays), by :data:`DTYPE_TABLE`.

    The inputs are promoted as NumPy does (float32 with float64 is float64),
    then the table applies.  With ``exact_int=True`` (the engine's exact integer
    convolution) bool and integer inputs give ``int64`` (``uint64`` when every
    input is unsigned or bool and one is ``uint64``), computed in float64 and
    checked; mixed signedness never falls back to float64.  Refused with a
    ``TypeError`` naming ``name``: non-numeric dtypes, ``longdouble`` and
    ``clongdouble``, and complex data when ``allow_complex`` is False.

    >>> result_dtype(np.float16)
    (dtype('float16'), dtype('float32'))
    >>> result_dtype(np.dtype(">f4"))
    (dtype('float32'), dtype('float32'))
    >>> result_dtype(np.int16, np.float32)
    (dtype('float32'), dtype('float32'))
    >>> result_dtype(np.int64, np.uint64, exact_int=True)
    (dtype('int64'), dtype('float64'))
    """
    if not dtypes:
        raise TypeError("result_dtype needs at least one dtype")
    native = [_as_dtype(name, d) for d in dtypes]
    if not allow_complex and any(d.kind == "c" for d in native):
        raise TypeError(f"{name} must be real (bool, integer or float); got complex data")
    if all(d.kind in "biu" for d in native):
        if exact_int:
            unsigned = all(d.kind in "bu" for d in native) and any(d == np.uint64 for d in native)
            cat = "uint" if unsigned else "int"
            return tuple(np.dtype(t) for t in _EXACT_INT[cat])  # type: ignore[return-value]
        return np.dtype(np.float64), np.dtype(np.float64)
    promoted = np.result_type(*native)
    out, work = DTYPE_TABLE[_category(promoted)]
    return np.dtype(out), np.dtype(work)


def real_dtype(dtype: Any) -> np.dtype:
    """The real dtype of the same precision (complex64 -> float32; reals unchanged)."""
    dt = np.dtype(dtype)
    return np.dtype(np.float32) if dt == np.complex64 else np.dtype(np.float64) if dt.kind == "c" else dt


def as_work(name: str, x: Any, *, exact_int: bool = False, allow_complex: bool = True) -> tuple[np.ndarray, np.dtype]:
    """``(x in its working dtype, output dtype)``: a validated array ready to compute with, and the dtype to return.

    No copy is made when ``x`` already has its working dtype in native byte
    order, so callers must not write into the result.
    """
    arr = check_array(name, x, allow_complex=allow_complex)
    out, work = result_dtype(arr.dtype, exact_int=exact_int, allow_complex=allow_complex, name=name)
    return arr.astype(work, copy=False), out


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
    convlens._validation.InsufficientMemoryError: heat_kernel: an array of shape (200000, 200000) (float64) ...
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
