"""Multi-channel convolution (a CNN layer's): per-frequency channel contraction or per-pair sums."""

from __future__ import annotations

import math

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
from ._api import convolve
from ._convolver import _result_dtypes
from ._direct import cv2_direct_ok, pad
from ._geometry import make_geometry
from ._nan import nonfinite_report


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


__all__ = ["convolve_channels"]
