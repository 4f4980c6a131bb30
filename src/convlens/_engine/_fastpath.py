"""The lean path of a repeated direct call: everything but the sum is decided once.

A one-shot ``convolve(x, k)`` with the shapes, dtypes and options of an earlier
call reuses that call's template plan (see ``_api``), and a :class:`Convolver`
is called many times with one shape.  For the direct method both keep one
:class:`DirectCall` per input dtype, holding what every call would otherwise
recompute: the back end and its fixed arguments (OpenCV border, crops), the
working and output dtypes, whether x must be scanned for NaN/inf, the memory
estimate.  A call is then the kernel's checks, the sum and a dtype cast: a few
microseconds above the back end itself.

Nothing of the contract is traded: whenever this path could not give exactly
the general path's result (a non-finite sample with ``nan_policy='raise'``, or
under a zero tap on OpenCV, which skips zero taps and so loses ``0 * nan``) it
returns None and the caller takes the general path.
"""

from __future__ import annotations

import cmath
import math

import numpy as np

from .._validation import check_memory
from ._direct import Route, direct_route, filter2d, native_shapes, native_sum, run_route
from ._direct import _directsum as _compiled
from ._recipe import Recipe

KERNEL_NOT_FINITE = (
    "kernel must contain only finite values: a NaN or inf tap would spoil every output; "
    "replace them (e.g. np.nan_to_num(kernel)) first"
)


class DirectCall:
    """The per-dtype constants of a direct convolution (see the module docstring)."""

    __slots__ = (
        "axes",
        "boundary",
        "conj",
        "fill",
        "flip",
        "geom",
        "k_shape",
        "native",
        "nbytes",
        "one_plane",
        "out_dtype",
        "route",
        "scan_always",
        "scan_zero_taps",
        "what",
        "whole_plane",
        "work",
        "workers",
    )

    def __init__(self, plan, r: Recipe, route: Route) -> None:
        self.route, self.geom, self.work, self.out_dtype = route, r.geometry, r.work, r.out_dtype
        self.k_shape, self.axes = plan.kernel.shape, plan.axes
        self.boundary, self.fill, self.workers = plan.boundary, plan.fill_value, plan.workers
        # OpenCV correlates: its kernel is the convolution kernel flipped (a correlation's template as is);
        # reversed by slicing (np.flip costs microseconds of argument handling)
        rev = tuple(slice(None, None, -1) if d in plan.axes else slice(None) for d in range(len(self.k_shape)))
        self.flip = rev if route.opencv != plan._correlate else None
        self.one_plane = route.backend == "cv2" and len(self.k_shape) <= 2
        # 'same' through OpenCV's border: filter2D's output is the result, no crop
        self.whole_plane = self.one_plane and all(
            sl.start == 0 and sl.stop == n for sl, n in zip(route.plane, r.geometry.out_shape[-2:])
        )
        self.conj = plan._correlate and r.work.kind == "c"
        # the compiled sum on x itself: its sizes, worked out now
        self.native = (
            native_shapes(r.geometry, False, r.work.itemsize == 8, plan.workers) if route.native_on(r.work) else None
        )
        # 'raise' must see every non-finite sample; OpenCV skips zero taps (0 * nan would be lost)
        self.scan_always = plan.nan_policy == "raise"
        self.scan_zero_taps = route.opencv
        self.nbytes, self.what = r.direct_bytes, plan._what + " (direct)"

    def kernel(self, kernel: np.ndarray, *, raw: bool = True) -> tuple[np.ndarray, bool]:
        """(the kernel as the back end takes it, whether it has a zero tap).

        ``raw`` kernels come from the caller: reshaped, checked for finiteness,
        oriented (reversed for OpenCV, which correlates, and for a correlation),
        cast to the working dtype.  Otherwise it is a plan's own kernel, already
        checked and reversed for a correlation.
        """
        if kernel.shape != self.k_shape:
            kernel = kernel.reshape(self.k_shape)
        zero = _checked_has_zero(kernel) if raw else not kernel.all()
        if raw and self.flip is not None:
            kernel = kernel[self.flip]
        elif not raw and self.route.opencv:
            kernel = np.flip(kernel, axis=self.axes)
        if raw and self.conj:
            kernel = np.conj(kernel)
        return (kernel if kernel.dtype == self.work else kernel.astype(self.work)), zero

    def __call__(self, x: np.ndarray, kern: np.ndarray, zero_taps: bool) -> np.ndarray | None:
        """The convolution of ``x`` with a kernel from :meth:`kernel`, or None: take the general path."""
        if x.dtype.kind in "fc" and (self.scan_always or (self.scan_zero_taps and zero_taps)):
            with np.errstate(all="ignore"):
                total = x.sum()
            if not math.isfinite(abs(total)):  # NaN or inf in x (or a sum that overflows): the general path
                return None
        check_memory(self.nbytes, self.what)
        a = x if x.dtype == self.work else x.astype(self.work)
        route = self.route
        if self.native is not None:
            res = native_sum(a, kern, self.geom, extended=False, workers=self.workers, shapes=self.native)
        elif self.one_plane and not route.pad:  # one plane through OpenCV's border: nothing but the call
            if a.ndim == 1:
                res = filter2d(a[None], kern[None], route.border, self.workers)[route.plane][0]
            else:
                res = filter2d(a, kern, route.border, self.workers)
                res = res if self.whole_plane else res[route.plane]
        else:
            res = run_route(route, a, kern, self.geom, self.boundary, self.fill, self.workers)
        return res if res.dtype == self.out_dtype else res.astype(self.out_dtype)


# Below this estimate ``check_memory`` refuses nothing (it does not even read /proc)
_NO_MEMORY_CHECK = 256 << 20


class NativeCall:
    """The leanest call: a repeated one-shot direct convolution run by the compiled sum on one share.

    It does only what such a call needs: the kernel's values checked (NaN or inf is
    refused; a zero tap changes nothing, the sum keeps it), the kernel oriented and
    cast, and the sum into a new array.  ``convolve`` on a 4096-sample signal takes
    about as long as ``numpy.convolve`` this way (the general lean path adds ~2 us).
    """

    __slots__ = (
        "cast_kernel",
        "cast_x",
        "check_array",
        "check_list",
        "flip",
        "k_shape",
        "out_dtype",
        "out_shape",
        "whole",
        "work",
    )

    def __init__(self, fast: DirectCall, x_dtype: np.dtype, k_dtype: np.dtype) -> None:
        # a template's key holds both dtypes: what each call must do with them is known now
        self.k_shape, self.flip, self.work, self.out_dtype = fast.k_shape, fast.flip, fast.work, fast.out_dtype
        self.whole, self.out_shape = fast.native.whole, fast.native.out_shape
        small = math.prod(self.k_shape) <= 64
        self.check_list = k_dtype.kind == "f" and small  # one list and a sum
        self.check_array = k_dtype.kind == "f" and not small
        self.cast_kernel, self.cast_x = k_dtype != self.work, x_dtype != self.work

    def __call__(self, x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
        """The convolution of ``x`` (of the template's shape and dtype) with ``kernel`` (unchecked)."""
        if kernel.shape != self.k_shape:
            kernel = kernel.reshape(self.k_shape)
        if self.check_list:  # a NaN or inf tap makes the sum nan or inf (and so may an overflow)
            taps = kernel.ravel().tolist()
            total = sum(taps)
            if total - total != 0 and not all(map(math.isfinite, taps)):
                raise ValueError(KERNEL_NOT_FINITE)
        elif self.check_array and not np.isfinite(kernel).all():
            raise ValueError(KERNEL_NOT_FINITE)
        if self.flip is not None:
            kernel = kernel[self.flip]
        if self.cast_kernel:
            kernel = kernel.astype(self.work)
        if self.cast_x:
            x = x.astype(self.work)
        out = np.empty(self.out_shape, dtype=self.work)
        try:
            _compiled.convolve_plane(x, kernel, out, *self.whole)
        except ValueError:  # a view that is not C-contiguous (the sum reads contiguous buffers)
            _compiled.convolve_plane(np.ascontiguousarray(x), np.ascontiguousarray(kernel), out, *self.whole)
        return out if self.out_dtype == self.work else out.astype(self.out_dtype)


def native_call(fast: DirectCall | None, x_dtype: np.dtype, k_dtype: np.dtype) -> NativeCall | None:
    """A :class:`NativeCall` where ``fast`` (a template's lean direct path) allows one, else None."""
    if (
        fast is None
        or fast.native is None
        or len(fast.native.bounds) != 2  # shared among threads: the general lean path
        or any(k != 1 for d, k in enumerate(fast.k_shape) if d not in fast.axes)  # a kernel per plane
        or fast.scan_always
        or fast.conj
        or fast.work.kind != "f"
        or fast.nbytes >= _NO_MEMORY_CHECK
    ):
        return None
    return NativeCall(fast, np.dtype(x_dtype), np.dtype(k_dtype))


def _checked_has_zero(kernel: np.ndarray) -> bool:
    """Whether ``kernel`` has a zero tap; ValueError if it holds NaN or inf.

    Small kernels are checked as a Python list: one conversion instead of three
    NumPy calls (``isfinite``, ``all``, ``all``), microseconds that small inputs notice.
    """
    kind = kernel.dtype.kind
    if kernel.size <= 64:
        taps = kernel.ravel().tolist()
        if kind in "fc" and not all(map(cmath.isfinite if kind == "c" else math.isfinite, taps)):
            raise ValueError(KERNEL_NOT_FINITE)
        return 0 in taps
    if kind in "fc" and not np.isfinite(kernel).all():
        raise ValueError(KERNEL_NOT_FINITE)
    return not kernel.all()


def direct_call(plan, r: Recipe) -> DirectCall | None:
    """A :class:`DirectCall` for this plan and recipe, or None where only the general path applies."""
    if r.method != "direct" or r.exact or plan.nan_policy == "interpolate" or plan._nonfinite_fill:
        return None
    fill_zero = plan.boundary != "constant" or plan.fill_value == 0
    return DirectCall(plan, r, direct_route(r.geometry, plan.boundary, bool(fill_zero), r.work, False))
