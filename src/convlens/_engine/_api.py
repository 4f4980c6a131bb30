"""Public engine functions: each a short recipe over the plan in ``_convolver``."""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from .._validation import (
    BOUNDARIES,
    MODES,
    NAN_POLICIES,
    check_array,
    check_choice,
    check_memory,
    check_positive_int,
    check_workers,
)
from . import _cost
from ._convolver import Convolver, _result_dtypes, time_methods
from ._direct import cv2_direct_ok, pad
from ._geometry import make_geometry
from ._nan import nonfinite_report

_COMMON_DOC = """
    mode : {'full', 'same', 'valid'}, optional
        Output size, exactly as :func:`scipy.signal.convolve`: 'full' (default)
        is ``n + K - 1`` per convolved axis, 'same' is ``n`` (centred like
        scipy, also for even kernels), 'valid' is ``n - K + 1``.
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


def _one_shot(x, kernel, name: str, options: tuple, *, correlate: bool) -> np.ndarray:
    """Validate, plan and run one call.

    Repeated calls with the same shapes, dtypes and options reuse one validated
    template plan (its recipe, and for the direct method everything else a call
    needs, see ``_fastpath``) and only check the new kernel's values: the
    per-call overhead on small inputs stays a few microseconds.
    """
    x = check_array("x", x)
    k = check_array(name, kernel)
    if options[1] is None or isinstance(options[1], (int, tuple)):
        try:
            tpl = _template(x.shape, x.dtype, k.shape, k.dtype, options, type(options[3]), correlate)
        except (TypeError, ValueError):  # unhashable or invalid options: the full path names the problem
            tpl = None
        if tpl is not None:
            return tpl._call_with(x, k)
    mode, axes, boundary, fill_value, method, nan_policy, workers = options
    plan = Convolver(
        k,
        x.shape,
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
    return plan._execute(x)


@lru_cache(maxsize=256, typed=True)
def _template(x_shape, x_dtype, k_shape, k_dtype, options: tuple, fill_type: type, correlate: bool) -> Convolver:
    # ``fill_type`` keys the cache: a fill of 0.5 and of np.float64(0.5) promote differently
    mode, axes, boundary, fill_value, method, nan_policy, workers = options
    plan = Convolver(
        np.broadcast_to(np.ones(1, k_dtype), k_shape),  # a stand-in kernel: a view, nothing of its size allocated
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
    plan._direct_for(x_dtype)  # recipe (and the direct lean path) resolved now: later calls only read them
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
        raise TypeError(f"kernel_shape must be a sequence of positive integers; got {kernel_shape!r}") from None
    if not k_shape or min(k_shape) < 1:
        raise ValueError(f"kernel_shape must be a non-empty sequence of positive integers; got {kernel_shape!r}")
    try:
        plan = Convolver(
            np.ones(k_shape, dtype),
            x_shape,
            mode,
            axes=axes,
            boundary=boundary,
            workers=workers,
            _cached_kernel=cached_kernel,
        )
    except (TypeError, ValueError) as exc:
        raise type(exc)(str(exc).replace("shape must", "x_shape must", 1)) from None
    return plan.recipe(dtype).method


def convolve_channels(
    x,
    weight,
    mode: str = "same",
    *,
    groups: int = 1,
    boundary: str = "constant",
    fill_value: float = 0,
    method: str = "auto",
    nan_policy: str = "propagate",
    workers: int | None = None,
) -> np.ndarray:
    """Multi-channel convolution, as in a CNN layer (true convolution: the kernel is flipped).

    ``out[n, o] = sum_i convolve(x[n, g*Cg + i], weight[o, i])`` where ``g`` is
    the group of output channel ``o``.  The FFT method transforms every input
    and weight plane once and contracts channels per frequency with a complex
    matrix product (Mathieu et al. 2013), in chunks of frequencies so that the
    working memory stays bounded.

    Parameters
    ----------
    x : (N, C_in, *spatial) array_like
        Batch of multi-channel inputs.
    weight : (C_out, C_in // groups, *k) array_like
        One kernel per (output channel, input channel of its group).
    mode, boundary, fill_value, workers
        As in :func:`convolve`, over the spatial axes.
    groups : int, optional
        Channel groups (C_in and C_out must both be divisible by it).
    method : {'auto', 'direct', 'fft'}, optional
        Algorithm.
    nan_policy : {'propagate', 'raise', 'interpolate'}, optional
        As in :func:`convolve`, per (output, input) channel pair: 'propagate'
        spoils only the outputs whose window covers a non-finite input sample of
        a channel that output reads; 'interpolate' sums the pairs' normalized
        convolutions.  Inputs holding NaN or inf are computed pair by pair (the
        channel contraction in one GEMM cannot keep them local).

    Returns
    -------
    (N, C_out, *out_spatial) ndarray

    Examples
    --------
    >>> import numpy as np
    >>> from convlens import convolve_channels
    >>> x = np.ones((1, 2, 4))
    >>> w = np.array([[[1.0, 1.0], [0.0, 1.0]]])  # one output channel, two input channels
    >>> convolve_channels(x, w, mode="valid")
    array([[[3., 3., 3.]]])
    """
    x = check_array("x", x)
    weight = check_array("weight", weight)
    check_choice("mode", mode, MODES)
    check_choice("boundary", boundary, BOUNDARIES)
    check_choice("method", method, ("auto", "direct", "fft"))
    check_choice("nan_policy", nan_policy, NAN_POLICIES)
    workers = check_workers(workers)
    if x.ndim < 3:
        raise ValueError(f"x must be (N, C_in, *spatial) with at least one spatial axis; got shape {x.shape}")
    if weight.ndim != x.ndim:
        raise ValueError(
            f"weight must be (C_out, C_in // groups, *k) with {x.ndim} dimensions like x; got shape {weight.shape}"
        )
    groups = check_positive_int("groups", groups)
    c_in = x.shape[1]
    c_out, c_in_g = weight.shape[:2]
    if c_in % groups or c_out % groups:
        raise ValueError(f"groups={groups} must divide both C_in={c_in} and C_out={c_out}")
    if c_in_g != c_in // groups:
        raise ValueError(f"weight.shape[1] must be C_in // groups = {c_in // groups}; got {c_in_g}")
    sp_axes = tuple(range(2, x.ndim))
    geom = make_geometry((1, 1) + x.shape[2:], (1, 1) + weight.shape[2:], sp_axes, mode)
    out_dtype, work, exact = _result_dtypes(x.dtype, weight.dtype, fill_value if boundary == "constant" else 0)
    if method == "auto":
        method = _channels_method(x.shape, weight.shape, geom, groups, work, workers)
    # refused before the scan for non-finite values: a pass over a broadcast view of a huge x takes seconds
    _channels_check_memory(x.shape, weight.shape, geom, method, boundary, fill_value, work)
    bad = nonfinite_report(x, "x") or nonfinite_report(weight, "weight")
    if bad and nan_policy == "raise":
        raise ValueError(f"{bad}; nan_policy='raise' refuses non-finite input")
    if bad or nan_policy == "interpolate":
        # per pair through the engine, whose FFT paths keep non-finite samples local
        out = _channels_direct(x, weight, geom, groups, mode, boundary, fill_value, workers, "auto", nan_policy)
        return out.astype(out_dtype, copy=False)
    if exact and not _channels_float_is_exact(x, weight, geom, method, fill_value):
        # sums too large for float64 to hold exactly: exact integer convolutions per channel pair
        return _channels_direct(x, weight, geom, groups, mode, boundary, fill_value, workers, method="auto")
    if method == "direct":
        out = _channels_direct(x, weight, geom, groups, mode, boundary, fill_value, workers)
    else:
        out = _channels_fft(x, weight, geom, groups, boundary, fill_value, work, workers)
    if exact:
        out = np.rint(out)
    return out.astype(out_dtype, copy=False)


def _channels_float_is_exact(x, weight, geom, method, fill_value) -> bool:
    """Whether float64 sums give the exact integer result (the rule of Convolver._exact_integer)."""
    wsum = float(np.abs(weight).reshape(weight.shape[0], -1).sum(axis=1).max())
    bound = max(float(np.abs(x).max()), abs(float(fill_value))) * wsum
    if method == "direct":
        return bound < 2.0**53
    points = math.prod(geom.out_shape) * x.shape[1] + weight[0, 0].size
    return bound * points * np.finfo(np.float64).eps < 0.25


def _channels_method(x_shape, w_shape, geom, groups, work, workers) -> str:
    n, c_in = x_shape[:2]
    c_out, c_in_g = w_shape[:2]
    pairs = n * c_out * c_in_g
    cv2 = work.kind == "f" and cv2_direct_ok(geom, work)
    direct = _cost.direct_cost(geom, cv2_path=cv2, workers=workers) * pairs
    fft_one = _cost.fft_cost(geom, explicit_pad=False, real=work.kind == "f", workers=workers)
    vol = math.prod(geom.out_shape)
    fft = fft_one * (n * c_in + c_out * c_in_g + n * c_out) / 3 + _cost.COST["channels_gemm"] * pairs * vol
    return "direct" if direct < fft else "fft"


def _channels_direct(
    x, weight, geom, groups, mode, boundary, fill_value, workers, method="direct", nan_policy="propagate"
):
    n = x.shape[0]
    c_out, c_in_g = weight.shape[:2]
    c_out_g = c_out // groups
    sp = tuple(range(1, x.ndim - 1))
    out = None
    for o in range(c_out):
        g = o // c_out_g
        acc = None
        for i in range(c_in_g):
            y = convolve(
                x[:, g * c_in_g + i],
                weight[o, i][None],
                mode,
                axes=sp,
                boundary=boundary,
                fill_value=fill_value,
                method=method,
                nan_policy=nan_policy,
                workers=workers,
            )
            acc = y if acc is None else acc + y
        if out is None:
            out = np.empty((n, c_out) + acc.shape[1:], dtype=acc.dtype)
        out[:, o] = acc
    return out


def _channels_fft_lengths(geom, boundary, fill_value) -> tuple[bool, list[int]]:
    """(whether x is padded explicitly, the FFT length per spatial axis)."""
    from .. import _backend as B

    explicit = boundary != "constant" or fill_value != 0
    return explicit, [B.fast_length(g.min_circular_length(explicit)) for g in geom.per_axis]


def _channels_check_memory(x_shape, w_shape, geom, method, boundary, fill_value, work) -> None:
    """Refuse up front a channel convolution whose working set cannot fit."""
    what = f"convolve_channels on x {x_shape} and weight {w_shape}"
    n, c_in = x_shape[:2]
    c_out, c_in_g = w_shape[:2]
    if method == "direct":  # at least the output, in the working dtype
        check_memory(n * c_out * math.prod(geom.out_shape[2:]) * np.dtype(work).itemsize, what + " (direct)")
        return
    real = work.kind == "f"
    _, lens = _channels_fft_lengths(geom, boundary, fill_value)
    nfreq = math.prod(lens[:-1]) * (lens[-1] // 2 + 1 if real else lens[-1])
    itemsize = np.dtype(work).itemsize * (2 if real else 1)
    # the spectra of x, of the weights and of the output, each with a padded buffer of the same size
    check_memory((n * c_in + c_out * c_in_g + n * c_out) * nfreq * itemsize * 2, what)


def _channels_fft(x, weight, geom, groups, boundary, fill_value, work, workers):
    from .. import _backend as B

    real = work.kind == "f"
    sp_axes = tuple(range(2, x.ndim))
    a = x.astype(work, copy=False)
    explicit, lens = _channels_fft_lengths(geom, boundary, fill_value)
    if explicit:
        a = pad(a, geom, boundary, fill_value)
    crops = [
        slice(g.k - 1 if explicit else g.offset, (g.k - 1 if explicit else g.offset) + g.out_len) for g in geom.per_axis
    ]
    n, c_in = x.shape[:2]
    c_out, c_in_g = weight.shape[:2]
    c_out_g = c_out // groups
    nfreq = math.prod(lens[:-1]) * (lens[-1] // 2 + 1 if real else lens[-1])
    # (its memory was checked up front by convolve_channels)

    def spectrum(arr):
        buf = np.zeros(arr.shape[:2] + tuple(lens), dtype=work)
        buf[(slice(None), slice(None)) + tuple(slice(0, s) for s in arr.shape[2:])] = arr
        return B.rfftn(buf, sp_axes, workers) if real else B.fftn(buf, sp_axes, workers)

    xs = spectrum(a).reshape(n, c_in, nfreq)
    ws = spectrum(weight.astype(work, copy=False)).reshape(c_out, c_in_g, nfreq)
    ys = np.empty((n, c_out, nfreq), dtype=xs.dtype)
    # Per-frequency GEMM: (F, N, Cg_in) @ (F, Cg_in, Cg_out), in chunks of frequencies to bound memory.
    chunk = max(1, (64 << 20) // max(1, (n * c_in_g + c_in_g * c_out_g + n * c_out_g) * xs.itemsize))
    for g in range(groups):
        xg = xs[:, g * c_in_g : (g + 1) * c_in_g]
        wg = ws[g * c_out_g : (g + 1) * c_out_g]
        for f0 in range(0, nfreq, chunk):
            f1 = min(nfreq, f0 + chunk)
            xf = np.ascontiguousarray(np.moveaxis(xg[:, :, f0:f1], 2, 0))  # (F, N, Cg_in)
            wf = np.ascontiguousarray(np.moveaxis(wg[:, :, f0:f1], 2, 0).transpose(0, 2, 1))  # (F, Cg_in, Cg_out)
            ys[:, g * c_out_g : (g + 1) * c_out_g, f0:f1] = np.moveaxis(np.matmul(xf, wf), 0, 2)
    spec_shape = list(lens)
    if real:
        spec_shape[-1] = lens[-1] // 2 + 1
    ys = ys.reshape((n, c_out) + tuple(spec_shape))
    full = B.irfftn(ys, sp_axes, lens[-1], workers) if real else B.ifftn(ys, sp_axes, workers)
    return full[(slice(None), slice(None)) + tuple(crops)]


__all__ = ["Convolver", "choose_method", "convolve", "convolve_channels", "correlate"]
