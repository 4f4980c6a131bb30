"""Arguments: one error rule for options, scalars, shapes, spacings, seeds, arrays and axes.

A value of the wrong *kind* raises ``TypeError``; a value of the right kind
but outside what is allowed raises ``ValueError``.  Both messages name the
argument, show the value received (``!r``) and say what is allowed.  Import
these from :mod:`convlens._validation`.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

MODES = ("full", "same", "valid")
BOUNDARIES = ("constant", "wrap", "reflect", "symmetric", "edge")
METHODS = ("auto", "direct", "fft", "overlap-add")
NAN_POLICIES = ("propagate", "raise", "interpolate")


class OptionKindError(TypeError, ValueError):
    """An option given as something other than a string (``mode=3``): a TypeError by the error rule.

    Also a ValueError, as every refused option was before the rule, so that
    ``except ValueError`` written against older releases still catches it.
    """


# Its public home (tracebacks and pickles name it there).
OptionKindError.__module__ = "convlens._validation"


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
    hint: str = "",
) -> float:
    """A real number (int, float or NumPy real; not a bool, complex or string) within the bounds.

    ``min_open`` / ``max_open`` exclude the bound itself; ``finite=False`` lets
    ``inf`` through (NaN is never accepted).  ``hint`` says in the message what
    the number means (its unit, what the bounds are), in parentheses after them.

    >>> check_float("sigma", 2, minimum=0)
    2.0
    >>> check_float("cutoff", 0.7, minimum=0, maximum=0.5, min_open=True)
    Traceback (most recent call last):
    ...
    ValueError: cutoff must be a real number > 0 and <= 0.5; got 0.7
    >>> check_float("t", -1, minimum=0, hint="a finite diffusion time")
    Traceback (most recent call last):
    ...
    ValueError: t must be a real number >= 0 (a finite diffusion time); got -1
    """
    bounds = _bounds_text(minimum, maximum, min_open=min_open, max_open=max_open)
    what = "a finite real number" if finite else "a real number"
    if bounds:
        what = f"a real number {bounds}"
    if hint:
        what = f"{what} ({hint})"
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
    if isinstance(value, int) and not -(2**63) <= value < 2**64:
        # NumPy holds no such integer: it would fail deep inside, or round it silently as a float
        raise ValueError(
            f"{name} must be an integer in the 64-bit range [-2**63, 2**64) or a float; got an integer of "
            f"{value.bit_length()} bits (pass float({name}) to accept a rounded value)"
        )
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
    given = shape  # messages show what the caller passed (0, not the (0,) it is read as)
    if isinstance(shape, np.ndarray) and shape.ndim > 1:  # an array where its shape was meant
        raise TypeError(f"{name} must be {what}; got an array of shape {shape.shape} (pass its .shape)")
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
        raise ValueError(f"{name} must be {what} (non-empty, every entry >= 1); got {given!r}")
    if ndim is not None and len(out) != ndim:
        raise ValueError(f"{name} must have {ndim} entries (one per axis); got {given!r}")
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
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, (bool, np.bool_)) and rng < 0:
        # NumPy's own message ("expected non-negative integer") names no argument
        raise ValueError(f"{name} must be None, an int seed >= 0 or a numpy.random.Generator; got {rng!r}")
    if rng is None or (
        isinstance(rng, (int, np.integer, np.random.SeedSequence)) and not isinstance(rng, (bool, np.bool_))
    ):
        return np.random.default_rng(rng)
    raise TypeError(f"{name} must be None, an int seed or a numpy.random.Generator; got {type(rng).__name__}")


# --------------------------------------------------------------------------- arrays


def check_array(name: str, value: Any, *, allow_complex: bool = True) -> np.ndarray:
    """Convert ``value`` to a NumPy array of a numeric dtype, non-empty and at least 1-D."""
    if type(value) is np.ndarray:  # the common case, without the checks of a conversion
        if value.dtype.kind in ("biufc" if allow_complex else "biuf") and value.ndim and value.size:
            return value
    elif type(value).__module__.split(".")[0] == "torch":  # detected without importing torch
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
