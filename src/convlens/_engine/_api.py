"""Public engine functions: each a short recipe over the plan in ``_convolver``."""

from __future__ import annotations

import time
from functools import lru_cache

import numpy as np

from .._validation import (
    check_array,
)
from ._convolver import Convolver

_COMMON_DOC = """
    mode : {'full', 'same', 'valid'}, optional
        Output size, exactly as :func:`scipy.signal.convolve`: 'full' (default)
        is ``n + K - 1`` per convolved axis, 'same' is ``n`` (centred like
        scipy, also for even kernels), 'valid' is ``n - K + 1`` (a kernel longer
        than x along a convolved axis is a ValueError, where scipy silently
        swaps the two inputs).
    axes : int or sequence of int, optional
        Axes to convolve over (default: all).  Along the other axes x and the
        kernel must have equal sizes or size 1; they broadcast.
    boundary : {'constant', 'wrap', 'reflect', 'symmetric', 'edge'}, optional
        How x is extended past its edges, by :func:`numpy.pad`'s rule of that
        name.  The result is the full linear convolution of the extended x,
        cropped for ``mode``.
    fill_value : scalar, optional
        Value outside x for ``boundary='constant'`` (default 0).
    method : {'auto', 'direct', 'fft', 'overlap-add'}, optional
        Algorithm.  All give the same result up to round-off; 'auto' picks the
        fastest by a cost model (see :func:`choose_method`).  'direct' is a
        literal sum of products for every kernel size (no FFT anywhere): use it
        for data near the dtype's range or with a huge dynamic range.
    nan_policy : {'propagate', 'raise', 'interpolate'}, optional
        'propagate' (default): a NaN or inf spoils only the outputs whose
        window covers it, exactly as a direct sum would.  'raise': ValueError
        saying how many non-finite values there are and where the first is.
        'interpolate': normalized convolution, non-finite samples are skipped
        and the kernel weights renormalized over the finite ones (astropy's
        ``nan_treatment='interpolate'``); outputs with no finite sample in
        their window are NaN, and so are outputs whose finite weights cancel,
        ``|sum of k over the finite samples| <= sqrt(eps) * sum of |k|`` over
        them (eps of the working precision), the same for every method.
    workers : int, optional
        Threads (default: every core available to the process).
"""


def convolve(
    x,
    kernel,
    mode: str = "full",
    *,
    axes=None,
    boundary: str = "constant",
    fill_value: float | complex = 0,
    method: str = "auto",
    nan_policy: str = "propagate",
    workers: int | None = None,
) -> np.ndarray:
    """N-dimensional convolution by the fastest of direct, FFT and overlap-add.

    Parameters
    ----------
    x : array_like
        Input (any number of dimensions).
    kernel : array_like
        Kernel, with as many dimensions as x (or as many as ``axes`` names).
    {common}
    Returns
    -------
    ndarray
        The convolution.  float32 stays float32 (complex64 for complex),
        float64 stays float64; integer and bool inputs give the exact result
        as int64; mixed inputs promote as NumPy does.

    Raises
    ------
    ValueError
        Unknown option, empty input, shapes that do not fit the mode, axes out
        of range or repeated, non-finite values with ``nan_policy='raise'``.
    TypeError
        Non-numeric inputs or wrongly typed options.
    InsufficientMemoryError
        When the computation would not fit in memory (a ``MemoryError`` and a
        ``ValueError``); the message gives the estimate.

    See Also
    --------
    correlate, Convolver, choose_method

    Examples
    --------
    >>> import numpy as np
    >>> from convlens import convolve
    >>> convolve([1, 2, 3], [0, 1, 0.5])
    array([0. , 1. , 2.5, 4. , 1.5])
    >>> convolve(np.arange(5.0), [1, 1, 1], mode="same", boundary="reflect")
    array([ 2.,  3.,  6.,  9., 10.])
    >>> convolve([1.0, np.nan, 1.0, 1.0, 1.0, 1.0], [1, 1], mode="valid")
    array([nan, nan,  2.,  2.,  2.])
    """
    options = (mode, axes, boundary, fill_value, method, nan_policy, workers)
    return _one_shot(x, kernel, "kernel", options, correlate=False)


def correlate(
    x,
    template,
    mode: str = "full",
    *,
    axes=None,
    boundary: str = "constant",
    fill_value: float | complex = 0,
    method: str = "auto",
    nan_policy: str = "propagate",
    workers: int | None = None,
) -> np.ndarray:
    """N-dimensional cross-correlation, with the lag convention of :func:`scipy.signal.correlate`.

    ``correlate(x, t)`` equals ``convolve(x, conj(t[::-1, ...]))`` (the template
    reversed along the convolved axes and conjugated); use
    :func:`scipy.signal.correlation_lags` to label the lags.

    Parameters
    ----------
    x : array_like
        Input.
    template : array_like
        The template to correlate with.
    {common}
    Returns
    -------
    ndarray
        The cross-correlation; dtypes as in :func:`convolve`.

    Examples
    --------
    >>> from convlens import correlate
    >>> correlate([0, 0, 1, 2, 0], [1, 2], mode="valid")
    array([0, 2, 5, 2])
    """
    options = (mode, axes, boundary, fill_value, method, nan_policy, workers)
    return _one_shot(x, template, "template", options, correlate=True)


# The template plans' calls (``Convolver._runner``) of recent calls on arrays, keyed by all that
# decides them.  A key enters only after its call passed validation, and arrays of one shape and
# dtype pass or fail alike, so a hit skips ``check_array`` and the lru_cache's wrapper (~1 us of
# the ~6 a call of 4096 (x) 3 took) and, for the compiled sum, the general lean path (~2 us).
_RECENT: dict = {}
_RECENT_MAX = 64


def _one_shot(x, kernel, name: str, options: tuple, *, correlate: bool) -> np.ndarray:
    """Validate, plan and run one call.

    Repeated calls with the same shapes, dtypes and options reuse one validated
    template plan (its recipe, and for the direct method everything else a call
    needs, see ``_fastpath``) and only check the new kernel's values: the
    per-call overhead on small inputs stays a few microseconds.
    """
    key = None
    if type(x) is np.ndarray and type(kernel) is np.ndarray:
        key = (x.shape, x.dtype, kernel.shape, kernel.dtype, options, type(options[3]), correlate)
        try:
            run = _RECENT.get(key)
        except TypeError:  # unhashable options (a list of axes): the checked path below
            run = key = None
        if run is not None:
            return run(x, kernel)
    x = check_array("x", x)
    k = check_array(name, kernel)
    if options[1] is None or isinstance(options[1], (int, tuple)):
        try:
            tpl = _template(x.shape, x.dtype, k.shape, k.dtype, options, type(options[3]), correlate)
        except (TypeError, ValueError):  # unhashable or invalid options: the full path names the problem
            tpl = None
        if tpl is not None:
            if key is not None:
                if len(_RECENT) >= _RECENT_MAX:
                    _RECENT.clear()
                _RECENT[key] = tpl._runner(x.dtype)
            return tpl._call_with(x, k)
    return _plan(k, x.shape, options, correlate)._execute(x)


def _plan(kernel, x_shape, options: tuple, correlate: bool) -> Convolver:
    """A one-shot plan from ``convolve``'s options tuple (validates every option)."""
    mode, axes, boundary, fill_value, method, nan_policy, workers = options
    return Convolver(
        kernel,
        x_shape,
        mode,
        axes=axes,
        boundary=boundary,
        fill_value=fill_value,
        method=method,
        nan_policy=nan_policy,
        workers=workers,
        _correlate=correlate,
        _cached_kernel=False,
    )


@lru_cache(maxsize=256, typed=True)
def _template(x_shape, x_dtype, k_shape, k_dtype, options: tuple, fill_type: type, correlate: bool) -> Convolver:
    # ``fill_type`` keys the cache: a fill of 0.5 and of np.float64(0.5) promote differently
    # a stand-in kernel: a view, nothing of its size allocated
    plan = _plan(np.broadcast_to(np.ones(1, k_dtype), k_shape), x_shape, options, correlate)
    plan._direct_for(x_dtype)  # recipe and lean paths resolved now: later calls only read them
    plan._fft_for(x_dtype)
    return plan


convolve.__doc__ = convolve.__doc__.replace("{common}", _COMMON_DOC.strip("\n").lstrip())
correlate.__doc__ = correlate.__doc__.replace("{common}", _COMMON_DOC.strip("\n").lstrip())


def choose_method(
    x_shape,
    kernel_shape,
    *,
    mode: str = "full",
    axes=None,
    boundary: str = "constant",
    dtype=np.float64,
    workers: int | None = None,
    cached_kernel: bool = False,
    measure: bool = False,
):
    """The method ``method='auto'`` would use for these shapes.

    Parameters
    ----------
    x_shape, kernel_shape : tuple of int
        Shapes of the input and the kernel.
    mode, axes, boundary, workers
        As in :func:`convolve`.
    dtype : dtype, optional
        dtype of the input (float32 and float64 differ in speed).
    cached_kernel : bool, optional
        Cost for a :class:`Convolver` plan, whose kernel transform is paid once.
    measure : bool, optional
        If True, time every method on random data of these shapes and return
        ``(fastest, {method: seconds})`` (as :func:`scipy.signal.choose_conv_method`).

    Returns
    -------
    str or (str, dict)
        'direct', 'fft' or 'overlap-add' (and the timings when ``measure``).

    Examples
    --------
    >>> from convlens import choose_method
    >>> choose_method((4096, 4096), (3, 3), mode="same", dtype="float32")
    'direct'
    >>> choose_method((4096, 4096), (31, 31), mode="same", dtype="float32", cached_kernel=True)
    'fft'
    >>> choose_method((2**22,), (4096,), dtype="float64")
    'overlap-add'
    """
    if measure:
        times = time_methods(
            x_shape, kernel_shape, dtype=dtype, mode=mode, axes=axes, boundary=boundary, workers=workers
        )
        return min(times, key=times.get), times
    dtype = np.dtype(dtype)
    try:
        k_shape = tuple(int(s) for s in kernel_shape)
    except (TypeError, ValueError):
        got = repr(kernel_shape)
        if isinstance(kernel_shape, np.ndarray) and kernel_shape.ndim > 1:  # an array where its shape was meant
            got = f"an array of shape {kernel_shape.shape} (pass its .shape)"
        raise TypeError(f"kernel_shape must be a sequence of positive integers; got {got}") from None
    if not k_shape or min(k_shape) < 1:
        raise ValueError(f"kernel_shape must be a non-empty sequence of positive integers; got {kernel_shape!r}")
    try:
        plan = Convolver(
            # a broadcast kernel: only its shape and dtype matter (a real one of 8192² took 0.7 s to make)
            np.broadcast_to(np.ones((), dtype), k_shape),
            x_shape,
            mode,
            axes=axes,
            boundary=boundary,
            workers=workers,
            _cached_kernel=cached_kernel,
            _shape_only=True,
        )
    except (TypeError, ValueError) as exc:
        raise type(exc)(str(exc).replace("shape must", "x_shape must", 1)) from None
    return plan.recipe(dtype).method


def time_methods(x_shape, kernel_shape, *, dtype=np.float64, repeats: int = 3, **options) -> dict[str, float]:
    """Median seconds of each applicable method on random data of these shapes."""
    rng = np.random.default_rng(0)
    dt = np.dtype(dtype)
    x = rng.standard_normal(x_shape).astype(dt) if dt.kind != "b" else rng.random(x_shape) > 0.5
    k = rng.standard_normal(kernel_shape).astype(dt) if dt.kind != "b" else rng.random(kernel_shape) > 0.5
    times = {}
    for method in ("direct", "fft", "overlap-add"):
        plan = Convolver(k, x.shape, method=method, dtype=dt, _cached_kernel=False, **options)
        samples = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            plan(x)
            samples.append(time.perf_counter() - t0)
        times[method] = float(np.median(samples))
    return times


__all__ = ["Convolver", "choose_method", "convolve", "correlate"]
