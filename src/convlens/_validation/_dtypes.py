"""The dtype rule: one table from input dtype to (output dtype, working dtype).

Every public function applies it through :func:`result_dtype` (or
:func:`as_work`, which also validates the array).  Import these from
:mod:`convlens._validation`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ._arguments import check_array

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


def check_dtype(name: str, d: Any) -> np.dtype:
    """A numeric dtype (from a dtype, a type or an array), in native byte order; ``longdouble`` is refused.

    The refusals of :func:`result_dtype`, for code that takes a ``dtype``
    argument itself (a plan built for one input dtype).

    >>> check_dtype("dtype", ">f4")
    dtype('float32')
    >>> check_dtype("dtype", "U3")
    Traceback (most recent call last):
    ...
    TypeError: dtype must have a numeric dtype (bool, integer, float or complex); got dtype <U3
    """
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
    native = [check_dtype(name, d) for d in dtypes]
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
