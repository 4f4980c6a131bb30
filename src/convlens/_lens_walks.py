"""Kernels as propagators: random walks of ``n`` steps, the essay's softmax.

Re-exported by :mod:`convlens.diffusion` (import them from there):
:func:`diffuse_steps` applies a normalized kernel ``n`` times as one
convolution with its ``n``-th power in the Fourier domain (a random walk of
``n`` steps, which tends to the Gaussian propagator by the central limit
theorem); :func:`propagator` turns any kernel into a probability kernel by the
essay's softmax (computed stably), and :func:`is_propagator` tells whether a
kernel already is one.
"""

from __future__ import annotations

import math

import numpy as np

from ._engine import fourier_filter
from ._lens_common import check_kernel
from ._lens_kernels import kernel_response
from ._lens_smoothing import periodic_filter
from ._validation import (
    BOUNDARIES,
    NAN_POLICIES,
    as_work,
    check_alloc,
    check_array,
    check_axes,
    check_choice,
    check_finite,
    check_float,
    check_int,
    check_scalar,
    check_workers,
    result_dtype,
    user_function,
)

__all__ = ["diffuse_steps", "is_propagator", "propagator"]


def diffuse_steps(
    image,
    kernel,
    n: int,
    *,
    boundary: str = "symmetric",
    axes=None,
    fill_value: float = 0,
    nan_policy: str = "propagate",
    workers: int | None = None,
) -> np.ndarray:
    """Apply a propagator kernel ``n`` times, as one convolution with its ``n``-th power.

    Each step moves every unit of mass to a neighbour drawn with the kernel's
    probabilities (a random walk); ``n`` steps are computed at once by raising
    the kernel's frequency response to the power ``n`` (one forward and one
    inverse FFT, whatever ``n``).

    Parameters
    ----------
    image : array_like
        Initial concentrations.
    kernel : array_like
        A propagator: finite, non-negative, summing to 1 (see :func:`is_propagator`;
        normalize with ``kernel / kernel.sum()`` or :func:`propagator`), with one
        dimension per diffused axis, centred at ``(size - 1) // 2`` like
        ``convolve(..., mode='same')``.
    n : int
        Number of steps, >= 0.
    boundary : {'symmetric', 'reflect', 'wrap', 'constant', 'edge'}, optional
        How the image is extended (numpy.pad's rules; default 'symmetric').
        'wrap' is exactly ``n`` passes of ``convolve(x, kernel, 'same',
        boundary='wrap')``.  'symmetric' and 'reflect' are exactly ``n``
        passes with that boundary when the kernel is mirror-symmetric with odd
        sizes (a mirrored image stays mirrored after each step).  Otherwise,
        and for 'constant' and 'edge', the result is the ``n``-step walk on the
        infinite extension of the image (the image is extended once by ``n``
        kernel radii), which differs near the edges from ``n`` passes that
        re-extend the image after every step.
    axes : int or sequence of int, optional
        Axes to diffuse over (default all); ``kernel.ndim`` must equal their number.
    fill_value : float, optional
        Outside value for ``boundary='constant'``.
    nan_policy : {'propagate', 'raise', 'interpolate'}, optional
        NaN and inf in the image, with :func:`convlens.fourier_filter`'s
        meaning; the window of an output is the reach of the ``n``-step
        kernel, ``n`` kernel radii (capped at the axis length).
    workers : int, optional
        FFT threads (default: all cores).

    Returns
    -------
    ndarray
        Same shape as ``image``; float32 stays float32, float16 is computed in
        float32 and returned as float16, integers give float64.

    Raises
    ------
    ValueError
        A kernel that is not a propagator, non-finite or of the wrong
        dimension; negative ``n``; bad options.

    Notes
    -----
    The ``n``-step kernel has ``n`` times the kernel's mean and covariance,
    and tends to the Gaussian with that covariance (the central limit
    theorem): ``diffuse_steps(x, k, n)`` approaches ``diffuse(x, t, D)`` with
    ``2 D t = n * var(k)``.

    Examples
    --------
    >>> from convlens.diffusion import diffuse_steps
    >>> u = np.zeros(9); u[4] = 1.0
    >>> np.round(diffuse_steps(u, [0.25, 0.5, 0.25], 2), 4).tolist()   # two steps = binomial(4)
    [0.0, 0.0, 0.0625, 0.25, 0.375, 0.25, 0.0625, 0.0, 0.0]
    """
    x, out_dtype = as_work("image", image)
    k = check_kernel("kernel", kernel, allow_complex=False)
    n = check_int("n", n, minimum=0)
    axes = check_axes(axes, x.ndim)
    boundary = check_choice("boundary", boundary, BOUNDARIES)
    check_scalar("fill_value", fill_value)
    nan_policy = check_choice("nan_policy", nan_policy, NAN_POLICIES)
    workers = check_workers(workers)
    if k.ndim != len(axes):
        raise ValueError(
            f"kernel must have one dimension per diffused axis ({len(axes)} for axes {axes}); "
            f"got a {k.ndim}-d kernel of shape {k.shape}; pass axes=... to choose the axes"
        )
    _require_propagator(k)
    if nan_policy == "raise":  # refused here, naming the user's argument, whatever path follows
        check_finite("image", x, hint="use nan_policy='propagate' or 'interpolate' to accept them")
    if n == 0:
        return x.astype(out_dtype, copy=True)
    # plan: exact periodic filtering wherever the extension commutes with the steps
    response = kernel_response(k, power=n)
    reach = [n * max((s - 1) // 2, s - 1 - (s - 1) // 2) for s in k.shape]
    radius = tuple(min(r, x.shape[a]) for r, a in zip(reach, axes))
    options = {"nan_policy": nan_policy, "radius": radius, "workers": workers}
    exact_mirror = all(s % 2 == 1 for s in k.shape) and all(np.array_equal(k, np.flip(k, a)) for a in range(k.ndim))
    if boundary in ("symmetric", "reflect") and exact_mirror:
        # the mirror extension (twice the length per diffused axis) is built before the engine sees it, so its
        # memory is refused here, up front: a broadcast view of a huge image costs nothing until it is copied
        period = [2 * s if a in axes else s for a, s in enumerate(x.shape)]
        check_alloc(period, x.dtype, what="diffuse_steps", copies=2)
    with user_function("diffuse_steps"):
        if boundary == "wrap" or (boundary in ("symmetric", "reflect") and exact_mirror):
            out = periodic_filter(x, response, axes, boundary, **options)
        else:
            fill = {"fill_value": fill_value} if boundary == "constant" else {}
            out = fourier_filter(x, response, axes=axes, boundary=boundary, pad=reach, **fill, **options)
    return out.astype(out_dtype, copy=False)


# ---------------------------------------------------------------------------------------------
# kernels as propagators


def _sum_tolerance(k: np.ndarray) -> float:
    eps = np.finfo(k.dtype).eps if k.dtype.kind == "f" else np.finfo(np.float64).eps
    return 64 * eps * max(1.0, math.sqrt(k.size))


def _require_propagator(k: np.ndarray) -> None:
    if np.any(k < 0):
        raise ValueError(
            f"kernel must be a propagator (non-negative, summing to 1); it has {int(np.count_nonzero(k < 0))} "
            "negative entries: turn it into one with propagator(kernel) (the softmax)"
        )
    total = float(np.sum(k, dtype=np.float64))
    if abs(total - 1.0) > _sum_tolerance(k):
        raise ValueError(
            f"kernel must be a propagator (non-negative, summing to 1); its entries sum to {total!r}: "
            "normalize it with kernel / kernel.sum() or propagator(kernel)"
        )


def propagator(kernel, temperature: float = 1.0) -> np.ndarray:
    """The essay's softmax: turn any kernel into a probability kernel (a propagator).

    ``p = exp(k / T) / sum(exp(k / T))``, computed as ``exp(k/T - max(k/T))``
    normalized (the log-sum-exp shift), so that no entry overflows or
    underflows to a 0/0, whatever the kernel's values.

    Parameters
    ----------
    kernel : array_like
        Any finite real kernel.
    temperature : float, optional
        ``T > 0`` (default 1).  Low temperatures concentrate the probability on
        the largest entries, high ones spread it evenly.

    Returns
    -------
    ndarray
        Same shape, non-negative, summing to 1, in the dtype rule's output
        dtype: float32 stays float32, float16 is computed in float64 and
        returned as float16, integers give float64, byte order is native
        (``longdouble`` is refused with a TypeError).

    Raises
    ------
    ValueError
        Non-finite kernel entries or a temperature that is not finite and > 0.

    Examples
    --------
    The essay's edge detector: almost all mass stays at the centre.

    >>> from convlens.diffusion import propagator
    >>> edge = [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]
    >>> np.round(propagator(edge), 4).tolist()
    [[0.0001, 0.0001, 0.0001], [0.0001, 0.999, 0.0001], [0.0001, 0.0001, 0.0001]]
    >>> propagator([1e4, -1e4, 1e4]).tolist()   # no overflow
    [0.5, 0.0, 0.5]
    """
    k = check_kernel("kernel", kernel, allow_complex=False)
    temperature = check_float("temperature", temperature, minimum=0, min_open=True, hint="a finite softmax temperature")
    dtype = result_dtype(k.dtype, allow_complex=False, name="kernel")[0]  # the one dtype rule
    z = k.astype(np.float64) / temperature
    e = np.exp(z - z.max())  # the largest entry becomes exp(0) = 1: no overflow, sum >= 1
    return (e / e.sum()).astype(dtype)


def is_propagator(kernel, *, atol: float | None = None) -> bool:
    """Whether ``kernel`` is a probability kernel: finite, non-negative, summing to 1.

    Parameters
    ----------
    kernel : array_like
        Kernel to test.
    atol : float, optional
        Allowed ``|sum - 1|``; default a few round-offs of the kernel's dtype,
        growing with its size.

    Returns
    -------
    bool

    Examples
    --------
    >>> from convlens.diffusion import is_propagator
    >>> is_propagator(np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16)   # Gaussian blur
    True
    >>> is_propagator([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]])          # edge detector
    False
    """
    k = check_array("kernel", kernel, allow_complex=False)
    if not np.all(np.isfinite(k)) or np.any(k < 0):
        return False
    tol = _sum_tolerance(k) if atol is None else float(atol)
    return bool(abs(float(np.sum(k, dtype=np.float64)) - 1.0) <= tol)
