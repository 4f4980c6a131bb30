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
* **dtypes** -- :data:`DTYPE_TABLE` and :func:`result_dtype` (:func:`check_dtype`
  for a ``dtype`` argument): which input dtypes are kept, which are computed
  wider and returned in their own dtype, which are refused.  Outputs are always
  in native byte order.
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

Layout
------
One concept a module, all imported from here (``from convlens._validation
import check_array``; the submodules are private to this package):
``_arguments`` (the error rule's helpers and the option names), ``_dtypes``
(the dtype table) and ``_resources`` (memory and threads).
"""

from __future__ import annotations

from ._arguments import (
    BOUNDARIES,
    METHODS,
    MODES,
    NAN_POLICIES,
    OptionKindError,
    check_array,
    check_axes,
    check_choice,
    check_finite,
    check_float,
    check_int,
    check_positive_int,
    check_rng,
    check_scalar,
    check_shape,
    check_spacing,
)
from ._dtypes import DTYPE_TABLE, as_work, check_dtype, real_dtype, result_dtype
from ._resources import (
    InsufficientMemoryError,
    available_memory,
    check_alloc,
    check_memory,
    check_workers,
    default_workers,
    user_function,
)

__all__ = [
    "BOUNDARIES",
    "DTYPE_TABLE",
    "METHODS",
    "MODES",
    "NAN_POLICIES",
    "InsufficientMemoryError",
    "OptionKindError",
    "as_work",
    "available_memory",
    "check_alloc",
    "check_array",
    "check_axes",
    "check_choice",
    "check_dtype",
    "check_finite",
    "check_float",
    "check_int",
    "check_memory",
    "check_positive_int",
    "check_rng",
    "check_scalar",
    "check_shape",
    "check_spacing",
    "check_workers",
    "default_workers",
    "real_dtype",
    "result_dtype",
    "user_function",
]
