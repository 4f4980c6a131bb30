"""The plan: validate once, then recipe (cached data) + kernel spectrum + execution.

``Convolver`` holds only immutable inputs (the kernel copy, the geometry, the
options) and a lock-guarded cache of executable sub-plans (kernel spectra) keyed
by their :class:`~._recipe.Recipe`.  It pickles (the cache and the lock are
dropped and rebuilt lazily) and may be called from several threads at once.
"""

from __future__ import annotations

import math
import threading
from functools import lru_cache

import numpy as np

from .._validation import (
    BOUNDARIES,
    METHODS,
    NAN_POLICIES,
    check_array,
    check_axes,
    check_choice,
    check_dtype,
    check_memory,
    check_scalar,
    check_shape,
    check_workers,
    result_dtype,
)
from . import _cost
from ._direct import convolve_direct, convolve_exact_int, pad
from ._fastpath import KERNEL_NOT_FINITE as _KERNEL_NOT_FINITE
from ._fastpath import DirectCall, direct_call, native_call
from ._fft import FFTPlan, OverlapAddPlan, OverlapSave1DPlan
from ._fftcall import FFTCall, fft_call
from ._geometry import Geometry, align_kernel_ndim, make_geometry
from ._nan import apply_nonfinite, nonfinite_report
from ._recipe import Recipe, make_recipe

# float64 represents every integer below 2**53 exactly; an FFT's round-off grows at
# most like N * eps * max|y| (a loose bound; typical errors are far smaller).
_EXACT_LIMIT = 2.0**53
_EPS64 = np.finfo(np.float64).eps
_RAISE_HINT = " and nan_policy='raise'; use nan_policy='propagate' or 'interpolate' to accept them"


def _too_large(out_dtype: np.dtype, bound: int) -> ValueError:
    """The refusal of an exact integer result beyond ``out_dtype``'s range."""
    return ValueError(
        f"integer inputs are too large for an exact result: it exceeds the {out_dtype} range "
        f"(|x| * sum|kernel| reaches {float(bound):.3g}); convert x to float to accept a rounded result"
    )


def _result_dtypes(x_dtype: np.dtype, k_dtype: np.dtype, fill_value=0) -> tuple[np.dtype, np.dtype, bool]:
    """Cached :func:`_result_dtypes_of` (``typed``: a fill of 2 and of 2.0 differ)."""
    try:
        return _result_dtypes_cached(x_dtype, k_dtype, fill_value)
    except TypeError:  # an unhashable fill value
        return _result_dtypes_of(x_dtype, k_dtype, fill_value)


def _result_dtypes_of(x_dtype: np.dtype, k_dtype: np.dtype, fill_value=0) -> tuple[np.dtype, np.dtype, bool]:
    """(output dtype, working dtype, integer-exact?) for inputs of these dtypes, by the package's dtype rule.

    Integer and bool inputs of any widths and signedness give an exact integer
    result: uint64 when both are unsigned (or bool) and one is uint64, else int64
    (NumPy would promote int64 with uint64 to float64 and round).  A constant
    ``fill_value`` takes part like a NumPy scalar: an integer keeps the result
    integer, 2.5 or nan gives float64, 1j complex.  ``longdouble`` is refused
    (``TypeError``) rather than narrowed; byte order never leaks into the output.
    """
    result_dtype(x_dtype, name="x")
    result_dtype(k_dtype, name="kernel")
    fill_int = fill_value == 0 or isinstance(fill_value, (int, np.integer))
    if x_dtype.kind in "biu" and k_dtype.kind in "biu" and fill_int:
        out, work = result_dtype(x_dtype, k_dtype, exact_int=True)
        if out == np.uint64 and fill_value < 0:  # a negative fill can make the result negative
            out = np.dtype(np.int64)
        return out, work, True
    promoted = np.result_type(x_dtype, k_dtype, fill_value) if fill_value != 0 else np.result_type(x_dtype, k_dtype)
    out, work = result_dtype(promoted)
    return out, work, False


_result_dtypes_cached = lru_cache(maxsize=512, typed=True)(_result_dtypes_of)


class Convolver:
    """A convolution plan: kernel spectrum, padded size and method prepared once.

    Build it for one kernel and one input shape, then call it on many inputs of
    that shape (frames of a video, a stack of images, blocks of a stream).  The
    results are those of :func:`convolve` with the same arguments.

    Parameters
    ----------
    kernel : array_like
        The kernel.  It has as many dimensions as the input, or as many as
        ``axes`` names.
    shape : tuple of int
        Shape of the inputs the plan will be called on.
    mode : {'full', 'same', 'valid'}, optional
        Output size, as in :func:`scipy.signal.convolve`.
    axes : int or sequence of int, optional
        Axes to convolve over (default: all).
    boundary : {'constant', 'wrap', 'reflect', 'symmetric', 'edge'}, optional
        How the input is extended past its edges (``numpy.pad``'s rules).
    fill_value : scalar, optional
        Value outside the input for ``boundary='constant'``.
    dtype : dtype, optional
        dtype of the inputs.  Given, the kernel spectrum is computed now;
        otherwise on the first call (and again if a later input needs another
        working precision).
    method : {'auto', 'direct', 'fft', 'overlap-add'}, optional
        Algorithm; 'auto' picks the fastest by a cost model.
    nan_policy : {'propagate', 'raise', 'interpolate'}, optional
        Treatment of NaN and inf in the input (see :func:`convolve`).
    workers : int, optional
        Threads (default: all cores available to the process).

    Examples
    --------
    >>> import numpy as np
    >>> from convlens import Convolver
    >>> plan = Convolver(np.ones(3) / 3, shape=(6,), mode="same", boundary="wrap")
    >>> plan(np.arange(6.0)).round(3)
    array([2., 1., 2., 3., 4., 3.])
    >>> plan.method
    'direct'
    """

    def __init__(
        self,
        kernel,
        shape,
        mode: str = "full",
        *,
        axes=None,
        boundary: str = "constant",
        fill_value: float | complex = 0,
        dtype=None,
        method: str = "auto",
        nan_policy: str = "propagate",
        workers: int | None = None,
        _correlate: bool = False,
        _cached_kernel: bool = True,
        _shape_only: bool = False,
    ) -> None:
        kernel = check_array("kernel", kernel)
        shape = check_shape("shape", shape)  # (8.5,) is a TypeError, not silently (8,)
        self.boundary = check_choice("boundary", boundary, BOUNDARIES)
        self.fill_value = check_scalar("fill_value", fill_value)
        self.method_requested = check_choice("method", method, METHODS)
        self.nan_policy = check_choice("nan_policy", nan_policy, NAN_POLICIES)
        self.workers = check_workers(workers)
        norm_axes = check_axes(axes, len(shape))
        k_shape = align_kernel_ndim(len(shape), kernel.shape, axes is not None, norm_axes)
        kernel = kernel.reshape(k_shape)
        # ``_shape_only``: a plan made only for its recipes (``choose_method``: a broadcast kernel of
        # the shape, never scanned, copied or run)
        if kernel.dtype.kind in "fc" and not _shape_only and not np.isfinite(kernel).all():
            raise ValueError(_KERNEL_NOT_FINITE)
        if _correlate:  # correlation = convolution with the reversed, conjugated template
            kernel = (
                np.conj(np.flip(kernel, axis=norm_axes))
                if kernel.dtype.kind == "c"
                else np.flip(kernel, axis=norm_axes)
            )
        # a plan keeps a private copy (later changes to the caller's array must not leak in);
        # a one-shot convolve() uses the kernel at once and never writes to it
        self.kernel = np.array(kernel, copy=True) if _cached_kernel and not _shape_only else kernel
        self.geometry: Geometry = make_geometry(shape, k_shape, norm_axes, mode)
        self.shape, self.mode, self.axes = shape, mode, norm_axes
        self._correlate = _correlate
        # decided once, not per call (they cost microseconds that small inputs notice)
        self._nonfinite_fill = self.boundary == "constant" and not np.isfinite(self.fill_value)
        # memory refusals name the public function the user called
        who = "Convolver" if _cached_kernel else ("correlate" if _correlate else "convolve")
        self._what = f"{who}: convolving shape {shape} with kernel {self.kernel.shape}"
        self._cached_kernel = _cached_kernel
        self._lock = threading.Lock()
        self._plans: dict[Recipe, object] = {}
        self._recipes: dict[np.dtype, Recipe] = {}
        # lean paths per input dtype: (DirectCall, prepared kernel) under the dtype, FFTCall under ("fft", dtype)
        self._direct: dict = {}
        self._dtype = None
        if dtype is not None:
            dt = check_dtype("dtype", dtype)  # the policy layer's refusals (non-numeric, longdouble)
            self._dtype = dt
            r = self.recipe(dt)
            if r.method != "direct":
                self._kernel_plan(r)  # the kernel spectrum now, not on the first call

    def _with_kernel(self, kernel: np.ndarray) -> Convolver:
        """A one-shot plan sharing this one's validated options and recipes, for another kernel
        of the same shape and dtype (``convolve``'s fast path for repeated shapes)."""
        kernel = kernel.reshape(self.kernel.shape)
        if kernel.dtype.kind in "fc" and not np.isfinite(kernel).all():
            raise ValueError(_KERNEL_NOT_FINITE)
        if self._correlate:
            kernel = np.flip(kernel, axis=self.axes)
            kernel = np.conj(kernel) if kernel.dtype.kind == "c" else kernel
        new = object.__new__(Convolver)
        new.__dict__.update(self.__dict__)
        new.kernel, new._lock, new._plans, new._recipes = kernel, threading.Lock(), {}, dict(self._recipes)
        new._direct = {}
        return new

    # -- pickling: the cache of spectra and the lock are rebuilt lazily ----------------------
    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        del state["_lock"]
        state["_plans"], state["_direct"] = {}, {}
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
        self.__dict__.setdefault("_direct", {})  # a plan pickled before the lean path existed

    # -- planning --------------------------------------------------------------------------
    @property
    def method(self) -> str:
        """The method this plan uses ('direct', 'fft' or 'overlap-add') for its dtype (float64 if none given)."""
        return self.recipe(self._dtype if self._dtype is not None else np.dtype(np.float64)).method

    @property
    def out_shape(self) -> tuple[int, ...]:
        """Shape of the result."""
        return self.geometry.out_shape

    @property
    def _needs_pad_fft(self) -> bool:
        return self.boundary != "constant" or self.fill_value != 0

    def recipe(self, x_dtype: np.dtype, *, explicit_pad: bool | None = None, method: str | None = None) -> Recipe:
        """The (cached) recipe for inputs of ``x_dtype``; ``explicit_pad``/``method`` override for sub-steps."""
        if explicit_pad is None and method is None:
            r = self._recipes.get(x_dtype)
            if r is None:
                r = self.recipe(x_dtype, explicit_pad=self._needs_pad_fft)
                with self._lock:  # the only per-dtype state: written under the lock
                    self._recipes.setdefault(x_dtype, r)
            return r
        fill = self.fill_value if self.boundary == "constant" else 0
        out_dtype, work, exact = _result_dtypes(np.dtype(x_dtype), self.kernel.dtype, fill)
        return make_recipe(
            self.geometry,
            out_dtype,
            work,
            exact,
            explicit_pad=self._needs_pad_fft if explicit_pad is None else explicit_pad,
            method=self.method_requested if method is None else method,
            workers=self.workers,
            cached_kernel=self._cached_kernel,
        )

    def _kernel_plan(self, r: Recipe):
        """The executable sub-plan (kernel spectrum) of an FFT recipe, built once per recipe."""
        plan = self._plans.get(r)
        if plan is not None:
            return plan
        with self._lock:
            plan = self._plans.get(r)
            if plan is None:
                plan = _build_plan(self.kernel.astype(r.work, copy=False), r)
                check_memory(
                    plan.memory_estimate(),
                    f"{self._what} ({r.method})",
                )
                plan.prepare()
                self._plans[r] = plan
        return plan

    # -- execution -------------------------------------------------------------------------
    def __call__(self, x) -> np.ndarray:
        """Convolve ``x`` (of the plan's shape) with the plan's kernel."""
        x = check_array("x", x)
        if x.shape != self.shape:
            raise ValueError(f"x must have the shape this plan was made for, {self.shape}; got {x.shape}")
        fast, kern = self._direct_for(x.dtype)
        if kern is not None:
            res = fast(x, *kern)
            if res is not None:
                return res
        return self._execute(x)

    def _direct_for(self, x_dtype: np.dtype) -> tuple[DirectCall | None, tuple | None]:
        """(the lean direct path for inputs of ``x_dtype`` or None, this plan's kernel prepared for it)."""
        entry = self._direct.get(x_dtype)
        if entry is None:
            fast = direct_call(self, self.recipe(x_dtype))
            # a plan's own kernel is prepared once (a template's stand-in never is: it may be huge)
            kern = fast.kernel(self.kernel, raw=False) if fast is not None and self._cached_kernel else None
            entry = self._direct.setdefault(x_dtype, (fast, kern))  # atomic: concurrent callers agree
        return entry

    def _runner(self, x_dtype: np.dtype):
        """``convolve``'s callable for later calls on this template plan with inputs of ``x_dtype``:
        ``(x, kernel) -> result``, the compiled sum's own lean call where it applies."""
        return native_call(self._direct_for(x_dtype)[0], x_dtype, self.kernel.dtype) or self._call_with

    def _call_with(self, x: np.ndarray, kernel: np.ndarray) -> np.ndarray:
        """``convolve``'s call on a template plan: this plan's options and recipes, another kernel."""
        fast = self._direct_for(x.dtype)[0]
        if fast is not None:
            res = fast(x, *fast.kernel(kernel))
            if res is not None:
                return res
        else:
            lean = self._fft_for(x.dtype)
            if lean is not None:
                res = lean(x, kernel)
                if res is not None:
                    return res
        return self._with_kernel(kernel)._execute(x)

    def _fft_for(self, x_dtype: np.dtype) -> FFTCall | None:
        """The lean path of a small one-shot FFT call for inputs of ``x_dtype`` (a template's), or None."""
        key = ("fft", x_dtype)
        entry = self._direct.get(key, False)
        if entry is False:
            entry = self._direct.setdefault(key, fft_call(self, self.recipe(x_dtype)))
        return entry

    def _check_fits(self, r: Recipe) -> None:
        """Refuse a recipe whose working set cannot fit, before any pass over x.

        A scan of x (finiteness, integer bounds) of a broadcast view of a huge
        array takes seconds to minutes though it allocates nothing: the refusal
        must come first.  The FFT plan built here is the one the run uses (cached).
        """
        if r.method == "direct":
            check_memory(r.direct_bytes, self._what + " (direct)")
        else:
            self._kernel_plan(r)  # checks the plan's memory estimate before preparing the kernel spectrum

    def _execute(self, x: np.ndarray) -> np.ndarray:
        r = self.recipe(x.dtype)
        self._check_fits(r)
        # A direct sum already confines NaN/inf to the windows that cover them, so the scan
        # for non-finite values (a full pass over x) is only needed for the other cases.
        # (OpenCV skips zero taps, so 0 * nan is lost on its path)
        native = (
            r.method == "direct"
            and self.nan_policy == "propagate"
            and not (r.cv2_direct and bool(np.any(self.kernel == 0)))
        )
        # The FFT and overlap-add paths learn whether x is finite from their spectra's
        # zero-frequency terms (free); ducc0's fused 1-D overlap-save shows no spectrum.
        deferred = r.method != "direct" and not r.fused_1d and not r.exact and self.nan_policy != "raise"
        report = nonfinite_report(x) if x.dtype.kind in "fc" and not native and not deferred else None
        if report is not None and self.nan_policy == "raise":
            raise ValueError(report + _RAISE_HINT)
        if self.nan_policy == "raise" and self._nonfinite_fill:
            raise ValueError(
                f"fill_value={self.fill_value!r} is non-finite and nan_policy='raise'; use a finite fill_value "
                "or nan_policy='propagate' / 'interpolate'"
            )
        if r.exact:
            res = self._exact_integer(x, r)
        elif report is not None or self._nonfinite_fill:
            res = self._nonfinite(x, r)  # non-finite samples in x, or in its constant extension
        else:
            if deferred:
                res, sum_finite = self._kernel_plan(r).run(self._extended(x.astype(r.work, copy=False)))
            else:
                res, sum_finite = self._run(x.astype(r.work, copy=False), r, padded=False), True
            if not sum_finite and x.dtype.kind in "fc":
                report = nonfinite_report(x, exhaustive=True)  # or just an overflowing sum
                if report is not None and self.nan_policy == "raise":
                    raise ValueError(report + _RAISE_HINT)
                if report is not None:
                    res = self._nonfinite(x, r)
        return res.astype(r.out_dtype, copy=False)

    def _run(self, a: np.ndarray, r: Recipe, *, padded: bool) -> np.ndarray:
        """Convolve x (``padded=False``) or x already extended by the boundary rule."""
        if r.method == "direct":
            check_memory(r.direct_bytes, self._what + " (direct)")
            return convolve_direct(
                a,
                self.kernel.astype(r.work, copy=False),
                self.geometry,
                padded=padded,
                boundary=self.boundary,
                workers=self.workers,
                fill_value=self.fill_value,
            )
        if padded:
            if not r.explicit_pad:  # the same method on the extended input: lengths for explicit padding
                r = make_recipe(
                    r.geometry,
                    r.out_dtype,
                    r.work,
                    r.exact,
                    explicit_pad=True,
                    method=r.method,
                    workers=self.workers,
                    cached_kernel=self._cached_kernel,
                )
            return self._kernel_plan(r)(a)
        return self._kernel_plan(r)(self._extended(a))

    def _extended(self, a: np.ndarray) -> np.ndarray:
        """x extended by the boundary rule where the FFT paths need it explicitly (else x itself)."""
        return pad(a, self.geometry, self.boundary, self.fill_value) if self._needs_pad_fft else a

    def _valid_of_padded(self, a: np.ndarray, kernel: np.ndarray, shift: int = 0) -> np.ndarray:
        """Valid convolution of an already extended array with another kernel (bookkeeping).

        ``shift`` leading axes were added in front of x's (a stack of kernels).
        """
        axes = tuple(ax + shift for ax in self.axes)
        sub = Convolver(kernel, a.shape, "valid", axes=axes, method="fft", workers=self.workers)
        return sub(a)

    def _nonfinite(self, x: np.ndarray, r: Recipe) -> np.ndarray:
        fill, work = self.fill_value, r.work
        xe = pad(x.astype(np.result_type(x.dtype, work), copy=False), self.geometry, self.boundary, fill)
        finite = np.isfinite(xe)
        clean = np.where(finite, xe, 0).astype(work, copy=False)
        if self.nan_policy == "propagate":
            res = self._run(clean, r, padded=True)
            if not res.flags.writeable or res.base is not None:
                res = np.array(res)
            return apply_nonfinite(res, xe, self.kernel, self.geometry, self._valid_of_padded)
        return self._interpolate(clean, finite, r)

    def _interpolate(self, clean: np.ndarray, finite: np.ndarray, r: Recipe) -> np.ndarray:
        """Normalized convolution over the finite samples of the extended input.

        ``conv(x·w) / conv(w) · sum(k)``.  The weight sums ``conv(w)`` (and ``conv(w, |k|)``, and the
        count of finite samples under non-zero taps) are computed once in float64 by the same
        route whatever the method, so every method declares the same outputs undefined: NaN
        where no finite sample sits under a non-zero tap, or where the finite weights cancel,
        ``|sum of w·k| <= sqrt(eps) · sum of w·|k|`` (eps of the working precision; at least
        half the digits of such a ratio would be round-off).
        """
        ksum = self.kernel.sum(axis=self.axes, keepdims=True)  # one sum per batch kernel
        if np.any(ksum == 0):
            raise ValueError(
                "nan_policy='interpolate' needs a kernel whose sum is not zero (the weights are renormalized by it)"
            )
        num, work = self._run(clean, r, padded=True), r.work
        # three weight sums in one batched float64 FFT: [count of non-zero taps, k, |k|]
        stack = np.stack([(self.kernel != 0), self.kernel, np.abs(self.kernel)]).astype(
            np.result_type(self.kernel.dtype, np.float64)
        )
        counts, den, scale = self._valid_of_padded(finite[None].astype(np.float64), stack, shift=1)
        undefined = (np.rint(counts.real) == 0) | (np.abs(den) <= np.sqrt(np.finfo(work).eps) * scale.real)
        with np.errstate(divide="ignore", invalid="ignore"):
            res = num / den * ksum
        res = np.array(res, dtype=np.result_type(num.dtype, work))
        res[np.broadcast_to(undefined, res.shape)] = np.nan
        return res

    def _exact_integer(self, x: np.ndarray, r: Recipe) -> np.ndarray:
        kern = self.kernel
        # |every partial sum| <= max|x| * sum|k|, computed with Python integers (no rounding)
        ksum = int(np.abs(kern.astype(object)).sum())
        bound = max(abs(int(x.max())), abs(int(x.min()))) * ksum
        if self.boundary == "constant":
            bound = max(bound, abs(int(self.fill_value)) * ksum)
        if r.method == "direct":
            ok = bound < _EXACT_LIMIT  # true direct sums: exact while every partial sum is
        else:  # FFT round-off
            ok = bound * self._fft_points() * _EPS64 < 0.25
        if ok:
            return np.rint(self._run(x.astype(np.float64), r, padded=False))
        out_dtype = r.out_dtype
        if bound <= np.iinfo(np.int64).max:  # every value and partial sum fits int64 (or uint64 if unsigned)
            return self._modular_sum(x, r, ksum)
        res = self._wrapped_sum(x, r, ksum, bound)
        if res is not None:
            return res
        # int64 partial sums could overflow: sum Python integers (slow, rare), keep the dtype if the result fits
        to_int = np.frompyfunc(int, 1, 1)  # Python integers everywhere (np.pad fills with NumPy ints)
        xe = to_int(pad(x.astype(object), self.geometry, self.boundary, int(self.fill_value)))
        res = convolve_exact_int(xe, to_int(kern.astype(object)), self.geometry)
        info = np.iinfo(out_dtype)
        if res.size and (res.max() > info.max or res.min() < info.min):
            raise _too_large(out_dtype, bound)
        return res.astype(out_dtype)

    def _fft_points(self) -> int:
        """The point count of the FFT round-off bound ``max|x| * sum|k| * points * eps`` (outputs + taps)."""
        return math.prod(self.geometry.out_shape) + self.kernel.size

    def _modular_sum(self, x: np.ndarray, r: Recipe, ksum: int) -> np.ndarray:
        """The exact convolution modulo 2**64 in the output dtype (int64 or uint64): FFT limbs or int64 tap sums.

        Values past the output dtype's range (uint64 data or fill into int64) wrap, which is exact
        modulo 2**64; it is the true result wherever that fits the output dtype.
        """
        out_dtype = r.out_dtype
        fill = int(self.fill_value)
        if fill > np.iinfo(out_dtype).max:
            fill -= 2**64
        xe = pad(x.astype(out_dtype), self.geometry, self.boundary, fill)
        if r.method != "direct":
            res = self._exact_by_limbs(xe, r, ksum)
            if res is not None:
                return res.astype(out_dtype)
        return convolve_exact_int(xe, self.kernel.astype(out_dtype), self.geometry)

    def _wrapped_sum(self, x: np.ndarray, r: Recipe, ksum: int, bound: int) -> np.ndarray | None:
        """The exact result where partial sums may pass 64 bits: the sum modulo 2**64, lifted by a float64 result.

        The true result is ``y = y_mod + j * 2**64`` for an integer ``j``; a float64 convolution whose
        error stays below 2**61 pins ``j`` down, and the result fits the output dtype exactly where
        ``j == 0`` (else it is refused, with no long sum first).  None where no float64 result is
        that accurate (the caller then sums Python integers).
        """
        taps, points = self.kernel.size, self._fft_points()
        xf = x.astype(np.float64)
        approx = None
        # error bounds: a sum of `taps` products, or an FFT (as in `_exact_integer`), doubled for the
        # rounding of x itself
        if r.method != "direct" and 2.0 * float(bound) * points * _EPS64 < 2.0**61:
            approx = self._run(xf, r, padded=False)
        elif 2.0 * float(bound) * (taps + 1) * _EPS64 < 2.0**61:
            approx = self._run(xf, self.recipe(x.dtype, method="direct"), padded=False)
        if approx is None:
            return None
        y = self._modular_sum(x, r, ksum)
        with np.errstate(over="ignore", invalid="ignore"):
            wraps = np.rint((approx - y.astype(np.float64)) / 2.0**64)
        if wraps.size and bool(np.any(wraps != 0)):
            raise _too_large(r.out_dtype, bound)
        return y

    def _exact_by_limbs(self, xe: np.ndarray, r: Recipe, ksum: int) -> np.ndarray | None:
        """The exact convolution of the extended integer input ``xe`` as a sum of FFT convolutions of
        its limbs (``xe = sum_i limb_i * 2**(b*i)``), or None where the direct integer sum is cheaper.

        Each limb's values are small enough for its FFT convolution to round to the exact integers
        (the bound ``_exact_integer`` uses for a whole FFT), and the limbs' results are added in
        int64, whose wrap-around is exact modulo 2**64: the total is the true sum because that
        fits (the caller made sure of it).  ``1024² (x) 128²`` with values of +-4096: four limbs
        of 4 bits, ~0.12 s, against ~16 s of integer tap sums.
        """
        limit = 0.25 / (ksum * self._fft_points() * _EPS64)  # a limb's max|value| must stay below this
        bits = min(math.ceil(math.log2(limit)) - 1, 52) if limit > 1 else 0  # 2**bits < limit
        if bits < 1:
            return None
        a = xe.astype(np.int64, copy=False)  # uint64 values fit too (the bound did)
        top = max(abs(int(a.max())), abs(int(a.min()))).bit_length() if a.size else 0
        limbs = max(1, -(-top // bits))
        costs = _cost.estimate_costs(
            r.geometry,
            explicit_pad=True,
            real=True,
            cv2_path=False,
            exact_int=True,
            workers=self.workers,
            cached_kernel=self._cached_kernel,
            double=True,
            itemsize=8,
        )
        fft_cost = costs.get(r.method, costs["fft"])
        taps_cost = _cost.COST["taps"] * math.prod(self.geometry.out_shape) * self.kernel.size
        if limbs * fft_cost >= taps_cost:
            return None
        total = None
        for i in range(limbs):
            shift = bits * i
            # the low limbs are unsigned (0 .. 2**bits - 1); the top one keeps the sign
            limb = a >> shift if i == limbs - 1 else (a >> shift) & ((1 << bits) - 1)
            part = np.rint(self._run(limb.astype(np.float64), r, padded=True)).astype(np.int64)
            if shift:
                part <<= shift
            if total is None:
                total = part
            else:
                total += part
        return total

    def __repr__(self) -> str:
        return (
            f"Convolver(kernel shape={self.kernel.shape}, shape={self.shape}, mode={self.mode!r}, axes={self.axes}, "
            f"boundary={self.boundary!r}, method={self.method!r}, workers={self.workers})"
        )


def _build_plan(kern: np.ndarray, r: Recipe):
    """The executable FFT or overlap-add sub-plan of a recipe (kernel transformed on ``prepare``)."""
    workers = r.threads
    if r.method == "fft":
        return FFTPlan(
            kern, r.geometry, explicit_pad=r.explicit_pad, dtype=r.work, workers=workers, lengths=r.lengths, _defer=True
        )
    if r.fused_1d:
        return OverlapSave1DPlan(
            kern, r.geometry, explicit_pad=r.explicit_pad, dtype=r.work, workers=workers, fft_len=r.block_fft_len
        )
    return OverlapAddPlan(
        kern,
        r.geometry,
        explicit_pad=r.explicit_pad,
        dtype=r.work,
        workers=workers,
        block_axis=r.block_axis,
        fft_len=r.block_fft_len,
        _defer=True,
    )
