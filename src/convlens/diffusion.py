"""Convolution as diffusion: the heat propagator, exact diffusion, kernels as propagators.

The essay's "Insights from fluid mechanics": the solution of the diffusion
equation ``du/dt = div(D grad u)`` after a time ``t`` is the initial image
convolved with the *propagator*, a Gaussian of covariance ``2 t D``
(``sigma = sqrt(2 D t)`` for a scalar ``D``).  Here that is one convolution
through the engine, not a time-stepping loop:

* :func:`heat_kernel` samples the propagator on a grid;
* :func:`diffuse` diffuses an image for a time ``t`` (spectral and exact for
  periodic boundaries, the sampled propagator through :func:`convlens.convolve`
  for the others);
* :func:`diffuse_steps` applies a normalized kernel ``n`` times as one
  convolution with its ``n``-th power in the Fourier domain (a random walk of
  ``n`` steps, which tends to the Gaussian propagator by the central limit
  theorem);
* :func:`propagator` turns any kernel into a probability kernel by the essay's
  softmax (computed stably), and :func:`is_propagator` tells whether a kernel
  already is one.

The finite-difference solvers that check these results independently live in
:mod:`convlens.reference`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence

import numpy as np

from . import _backend as B
from ._engine import convolve, fourier_filter
from ._validation import BOUNDARIES, check_array, check_axes, check_choice, check_scalar, check_workers

__all__ = ["diffuse", "diffuse_steps", "heat_kernel", "is_propagator", "propagator"]

_METHODS = ("auto", "spectral", "spatial")
DiffusionCoefficient = float | Sequence[float] | np.ndarray | Callable[[float], object]


# ---------------------------------------------------------------------------------------------
# validation helpers (each option checked once, normalized once)


def _check_time(t) -> float:
    if isinstance(t, bool) or not isinstance(t, numbers.Real):
        raise TypeError(f"t must be a real number (a diffusion time >= 0); got {t!r}")
    t = float(t)
    if not math.isfinite(t) or t < 0:
        raise ValueError(f"t must be a finite diffusion time >= 0; got {t!r}")
    return t


def _check_dx(dx, naxes: int) -> np.ndarray:
    try:
        arr = np.asarray(dx, dtype=float) if not isinstance(dx, bool) else np.asarray(np.nan)
    except (TypeError, ValueError):
        raise ValueError(f"dx (grid spacing) must be a positive number or one per diffused axis; got {dx!r}") from None
    if arr.ndim == 0:
        arr = np.full(naxes, float(arr))
    if arr.shape != (naxes,):
        raise ValueError(f"dx must be a positive number or one spacing per diffused axis ({naxes}); got {dx!r}")
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(f"dx (grid spacing) must be finite and > 0; got {dx!r}")
    return arr


def _coefficient_matrix(value, naxes: int, what: str) -> np.ndarray:
    """A scalar, per-axis vector or (naxes, naxes) matrix -> a symmetric PSD (naxes, naxes) matrix."""
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise TypeError(f"{what} must be a number, a vector or a square matrix of numbers; got {value!r}") from None
    if arr.ndim == 0:
        arr = np.eye(naxes) * float(arr)
    elif arr.ndim == 1 and arr.shape == (naxes,):
        arr = np.diag(arr)
    elif arr.shape != (naxes, naxes):
        raise ValueError(
            f"{what} must be a scalar, a vector of {naxes} per-axis coefficients or a {naxes}x{naxes} "
            f"diffusion tensor (one row per diffused axis); got shape {arr.shape}"
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} must be finite; got {value!r}")
    scale = max(float(np.max(np.abs(arr))), np.finfo(float).tiny)
    if not np.allclose(arr, arr.T, rtol=0, atol=1e-12 * scale):
        raise ValueError(f"{what} must be a symmetric diffusion tensor; got {arr.tolist()!r}")
    arr = (arr + arr.T) / 2
    if np.linalg.eigvalsh(arr).min() < -1e-12 * scale:
        raise ValueError(
            f"{what} must be >= 0 (a positive semidefinite tensor: diffusion never runs backwards in time); "
            f"got {arr.tolist()!r}"
        )
    return arr


def _integrated_coefficient(D, t: float, naxes: int) -> np.ndarray:
    """The integral of D(s) over [0, t] as a matrix (D constant: t * D)."""
    if not callable(D):
        return t * _coefficient_matrix(D, naxes, "D")
    if t == 0:
        return np.zeros((naxes, naxes))
    from scipy.integrate import quad_vec

    def integrand(s: float) -> np.ndarray:
        return _coefficient_matrix(D(s), naxes, f"D(t) at t={s:g}")

    # quad_vec is adaptive (Gauss-Kronrod), so piecewise-smooth D(t) integrates to ~1e-10.
    value, _ = quad_vec(integrand, 0.0, t, epsrel=1e-12, epsabs=1e-14)
    return (value + value.T) / 2


def _covariance(t: float, D, dx: np.ndarray) -> np.ndarray:
    """Covariance of the propagator in samples**2: 2 * integral(D dt) / (dx_a dx_b)."""
    return 2.0 * _integrated_coefficient(D, t, dx.size) / np.outer(dx, dx)


def _check_shape(shape) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (int(shape),)
    try:
        out = tuple(int(s) for s in shape)
    except TypeError:
        raise TypeError(f"shape must be a positive int or a tuple of positive ints; got {shape!r}") from None
    if not out or any(s < 1 for s in out):
        raise ValueError(f"shape must be a non-empty tuple of positive ints; got {shape!r}")
    return out


def _check_kernel(kernel, name: str = "kernel") -> np.ndarray:
    k = check_array(name, kernel, allow_complex=False)
    if not np.all(np.isfinite(k)):
        bad = int(np.count_nonzero(~np.isfinite(k)))
        raise ValueError(f"{name} must be finite; got {bad} NaN or infinite entries")
    return k


def _float_dtype(dtype: np.dtype) -> np.dtype:
    """Output dtype of a diffusion: float32 stays float32, complex stays complex, the rest float64."""
    return B.work_dtype(dtype)


# ---------------------------------------------------------------------------------------------
# the propagator


def _gaussian_1d(n: int, var: float) -> np.ndarray:
    """Normalized samples of a centred 1-D Gaussian at offsets i - (n - 1) / 2."""
    d = np.arange(n) - (n - 1) / 2
    if var <= 0:
        # the limit sigma -> 0: all weight on the sample(s) nearest the centre
        w = (np.abs(d) == np.abs(d).min()).astype(float)
    else:
        w = np.exp(-0.5 * d * d / var)
    return w / w.sum()


def _gaussian_nd(shape: tuple[int, ...], cov: np.ndarray) -> np.ndarray:
    """Normalized samples of the Gaussian of covariance ``cov`` centred in a grid of ``shape``."""
    off = np.diag(np.diag(cov))
    if np.array_equal(cov, off):  # axis-aligned: a separable product of 1-D Gaussians
        k = np.ones(())
        for n, var in zip(shape, np.diag(cov)):
            k = np.multiply.outer(k, _gaussian_1d(n, float(var)))
        return k
    evals = np.linalg.eigvalsh(cov)
    if evals.min() <= 1e-12 * evals.max():
        raise ValueError(
            "D must be positive definite when it has off-diagonal terms (a degenerate tilted Gaussian "
            f"cannot be sampled on the grid); the covariance 2*t*D has eigenvalues {evals.tolist()!r}"
        )
    grids = np.meshgrid(*[np.arange(n) - (n - 1) / 2 for n in shape], indexing="ij", sparse=True)
    prec = np.linalg.inv(cov)
    q = sum(prec[a, b] * grids[a] * grids[b] for a in range(len(shape)) for b in range(len(shape)))
    k = np.exp(-0.5 * (q - np.min(q)))
    return k / k.sum()


def heat_kernel(shape, t: float, D: DiffusionCoefficient = 1.0, *, dx=1.0) -> np.ndarray:
    """The diffusion propagator (Gaussian heat kernel) for time ``t``, sampled on a grid.

    Parameters
    ----------
    shape : int or tuple of int
        Grid shape; the kernel is centred at ``(n - 1) / 2`` along each axis
        (a sample for odd ``n``, between two samples for even ``n``).
    t : float
        Diffusion time, >= 0 (``t = 0`` gives the identity: a delta).
    D : float, sequence, (d, d) array or callable, optional
        Diffusion coefficient (default 1): a scalar (isotropic), one
        coefficient per axis, or a symmetric positive semidefinite diffusion
        tensor.  A callable ``D(s)`` returning any of these is a time-varying
        coefficient; the propagator then has covariance ``2 * integral_0^t D(s) ds``.
    dx : float or sequence of float, optional
        Grid spacing per axis, in the units of ``sqrt(D t)`` (default 1).

    Returns
    -------
    ndarray of float64
        The propagator, non-negative and summing to 1: samples of the Gaussian
        of covariance ``2 t D`` (in units of ``dx``), normalized on the grid.

    Raises
    ------
    ValueError
        Negative or non-finite ``t``; ``D`` negative, non-symmetric or of the
        wrong shape; non-positive ``dx``; a singular tilted tensor.

    See Also
    --------
    diffuse : apply the propagator to an image.

    Notes
    -----
    The diffusion equation ``du/dt = div(D grad u)`` has the solution
    ``u(t) = G_t * u(0)`` with ``G_t(x) = exp(-x^T (2tD)^{-1} x / 2) / sqrt(det(2 pi 2tD))``,
    so one convolution replaces any number of time steps.

    Examples
    --------
    >>> from convlens.diffusion import heat_kernel
    >>> k = heat_kernel(5, t=0.5)  # sigma = sqrt(2 D t) = 1
    >>> np.round(k, 4).tolist()
    [0.0545, 0.2442, 0.4026, 0.2442, 0.0545]
    >>> heat_kernel((3, 3), t=0).astype(int).tolist()
    [[0, 0, 0], [0, 1, 0], [0, 0, 0]]
    """
    shape = _check_shape(shape)
    t = _check_time(t)
    cov = _covariance(t, D, _check_dx(dx, len(shape)))
    return _gaussian_nd(shape, cov)


# ---------------------------------------------------------------------------------------------
# diffusion for a time t


def _spectral_response(cov: np.ndarray) -> Callable[..., np.ndarray]:
    """The heat propagator's frequency response exp(-2 pi^2 f^T cov f), f in cycles/sample."""

    def response(*freqs: np.ndarray) -> np.ndarray:
        q = 0.0
        for a, fa in enumerate(freqs):
            q = q + cov[a, a] * fa * fa
            for b in range(a + 1, len(freqs)):
                if cov[a, b] != 0:
                    q = q + 2.0 * cov[a, b] * fa * freqs[b]
        return np.exp(-2.0 * np.pi**2 * q)

    return response


def _default_truncate(dtype: np.dtype) -> float:
    # sqrt(2) * erfcinv(eps): the Gaussian tail beyond this many sigmas is below the
    # dtype's round-off (8.2 for float64, 5.3 for float32), so truncation is invisible.
    return 5.3 if dtype in (np.float32, np.complex64) else 8.2


def diffuse(
    image,
    t: float,
    D: DiffusionCoefficient = 1.0,
    *,
    boundary: str = "symmetric",
    axes=None,
    dx=1.0,
    method: str = "auto",
    truncate: float | None = None,
    fill_value: float = 0,
    workers: int | None = None,
) -> np.ndarray:
    """Diffuse an image for a time ``t``: the exact solution of the diffusion equation.

    Parameters
    ----------
    image : array_like
        Initial concentrations (any number of dimensions; real or complex).
    t : float
        Diffusion time, >= 0.
    D : float, sequence, (d, d) array or callable, optional
        Diffusion coefficient: scalar, one per axis, a diffusion tensor over
        ``axes`` (symmetric positive semidefinite), or a callable ``D(s)``
        returning one of these (time-varying; the covariance is then
        ``2 * integral_0^t D(s) ds``, integrated adaptively).
    boundary : {'symmetric', 'reflect', 'wrap', 'constant', 'edge'}, optional
        The walls of the "aquarium".  'symmetric' (default): closed, no-flux
        walls for samples at cell centres (mass is conserved).  'reflect': the
        same for samples on cell vertices (the trapezoid-weighted mass, end
        samples counted half, is conserved).  'wrap': periodic (a torus; the
        exact spectral solution).  'constant': the image sits in an infinite
        medium at concentration ``fill_value``, so mass leaks out (or in).
        'edge': the medium continues the edge values.  Each is numpy.pad's
        rule: extend the image, diffuse in free space, crop.
    axes : int or sequence of int, optional
        Axes to diffuse over (default all), e.g. ``(0, 1)`` for an RGB image.
    dx : float or sequence of float, optional
        Grid spacing per axis (default 1): sigma in samples is ``sqrt(2 D t) / dx``.
    method : {'auto', 'spectral', 'spatial'}, optional
        'spectral' multiplies the spectrum by ``exp(-4 pi^2 D t f^2)`` (exact
        for the band-limited image; with 'symmetric' it filters the mirrored
        copy of the image, exactly and conserving mass, at 2**ndim the work;
        with the other non-periodic boundaries the image is first extended by
        the truncation radius); 'spatial' convolves with the
        sampled, normalized Gaussian through :func:`convlens.convolve`
        (what :func:`scipy.ndimage.gaussian_filter` computes).  'auto'
        (default): spectral for 'wrap', spatial otherwise.  The two differ by
        the aliasing of the sampled Gaussian, ``~exp(-pi^2 sigma^2 / 2)``:
        below 1e-8 once sigma >= 2 samples.  For sigma below about one sample
        the spectral propagator rings (it diffuses the band-limited
        interpolant, whose extremes can exceed the samples'); 'spatial' keeps
        the maximum principle (no new extremes) for any ``t``.
    truncate : float, optional
        Radius of the spatial kernel (and padding) in sigmas.  Default: where
        the Gaussian tail falls below the dtype's round-off (8.2 for float64,
        5.3 for float32).  ``truncate=4.0`` reproduces ``gaussian_filter``.
    fill_value : float, optional
        Outside concentration for ``boundary='constant'``.
    workers : int, optional
        Threads (default: all cores).

    Returns
    -------
    ndarray
        The diffused image, same shape; float32 stays float32, integers give float64.

    Raises
    ------
    ValueError
        Negative or non-finite ``t``, negative or malformed ``D``, ``D`` of
        the wrong size for ``axes``, bad ``dx``, ``truncate`` or options.

    See Also
    --------
    heat_kernel, diffuse_steps, convlens.reference.heat_crank_nicolson

    Notes
    -----
    Mass ``sum(image)`` is conserved to round-off with 'wrap' and 'symmetric'
    (and with 'reflect' in the trapezoid sense).  For a tilted tensor (off-
    diagonal ``D``) only 'wrap' solves a boundary-value problem; the other
    boundaries then give the free-space diffusion of the extended image.

    Examples
    --------
    >>> from convlens.diffusion import diffuse
    >>> u = np.zeros(9); u[4] = 1.0               # one unit of salt in the middle
    >>> np.round(diffuse(u, t=0.5), 4).tolist()   # sigma = 1 sample
    [0.0001, 0.0044, 0.054, 0.242, 0.3989, 0.242, 0.054, 0.0044, 0.0001]
    >>> float(np.round(diffuse(u, t=100.0).sum(), 12))   # closed walls: mass is conserved
    1.0
    """
    x = check_array("image", image)
    t = _check_time(t)
    axes = check_axes(axes, x.ndim)
    boundary = check_choice("boundary", boundary, BOUNDARIES)
    method = check_choice("method", method, _METHODS)
    check_scalar("fill_value", fill_value)
    workers = check_workers(workers)
    cov = _covariance(t, D, _check_dx(dx, len(axes)))
    work = _float_dtype(x.dtype)
    if truncate is None:
        truncate = _default_truncate(work)
    elif isinstance(truncate, bool) or not isinstance(truncate, numbers.Real) or not 0 < truncate < math.inf:
        raise ValueError(f"truncate must be a positive number of sigmas; got {truncate!r}")
    x = x.astype(work, copy=False)
    if not np.any(cov):
        return x.copy()
    # plan: the kernel's reach per axis, scipy's rounding so that truncate=4 matches gaussian_filter
    radii = tuple(int(truncate * math.sqrt(cov[a, a]) + 0.5) for a in range(len(axes)))
    if method == "auto":
        method = "spectral" if boundary == "wrap" else "spatial"
    pad_options = {"fill_value": fill_value} if boundary == "constant" else {}
    if method == "spectral":
        if boundary == "symmetric":
            # Periodic filtering of the mirrored copy [x, x[::-1]] is exactly the symmetric extension,
            # so mass is conserved to round-off; padding by the kernel's reach instead would leak the
            # band-limited propagator's ringing past the pad (2e-8 of the mass at sigma 1.4).
            mirrored = x
            for a in axes:
                mirrored = np.concatenate([mirrored, np.flip(mirrored, axis=a)], axis=a)
            out = fourier_filter(mirrored, _spectral_response(cov), axes=axes, boundary="wrap", workers=workers)
            return np.ascontiguousarray(out[tuple(slice(0, n) for n in x.shape)])
        return fourier_filter(
            x, _spectral_response(cov), axes=axes, boundary=boundary, pad=radii, workers=workers, **pad_options
        )
    real_dtype = np.empty(0, work).real.dtype
    if np.count_nonzero(cov - np.diag(np.diag(cov))) == 0:
        # axis-aligned: one 1-D convolution per axis (the Gaussian is separable)
        out = x
        for a, r, var in zip(axes, radii, np.diag(cov)):
            if var > 0:
                k = _gaussian_1d(2 * r + 1, float(var)).astype(real_dtype)
                out = convolve(out, k, "same", axes=(a,), boundary=boundary, workers=workers, **pad_options)
        return out if out is not x else x.copy()
    kernel = _gaussian_nd(tuple(2 * r + 1 for r in radii), cov).astype(real_dtype)
    return convolve(x, kernel, "same", axes=axes, boundary=boundary, workers=workers, **pad_options)


# ---------------------------------------------------------------------------------------------
# repeated steps of a kernel


def _kernel_response(kernel: np.ndarray, n: int, axes: tuple[int, ...], ndim: int) -> Callable[..., np.ndarray]:
    """The DTFT of ``kernel`` (centred as in mode 'same') raised to the power ``n``."""
    centre = [(s - 1) // 2 for s in kernel.shape]
    symmetric = all(s % 2 == 1 for s in kernel.shape) and all(
        np.array_equal(kernel, np.flip(kernel, a)) for a in range(kernel.ndim)
    )

    def response(*freqs: np.ndarray) -> np.ndarray:
        h = kernel.astype(np.complex128)
        # one small matrix product per axis: H(f) = sum_j k[j] exp(-2 pi i f . (j - c));
        # this evaluates the kernel's frequency response, it does not convolve anything.
        for f, c, size in zip(freqs, centre, kernel.shape):
            e = np.exp(-2j * np.pi * np.outer(f.ravel(), np.arange(size) - c))
            h = np.tensordot(h, e, axes=([0], [1]))
        if symmetric:
            h = h.real  # a mirror-symmetric kernel has a real response
        shape = [1] * ndim
        for a, f in zip(axes, freqs):
            shape[a] = f.size
        return h.reshape(shape) ** n

    return response


def _even_extension(x: np.ndarray, axes: tuple[int, ...], boundary: str) -> np.ndarray:
    """One period of the mirror extension: 2n ('symmetric') or 2n - 2 ('reflect') samples per axis."""
    for a in axes:
        n = x.shape[a]
        back = np.flip(x, a)
        if boundary == "reflect":
            if n < 3:
                continue  # period 2n - 2 <= n: the extension adds nothing new
            back = np.take(back, range(1, n - 1), axis=a)
        x = np.concatenate([x, back], axis=a)
    return x


def diffuse_steps(
    image,
    kernel,
    n: int,
    *,
    boundary: str = "symmetric",
    axes=None,
    fill_value: float = 0,
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
    workers : int, optional
        FFT threads (default: all cores).

    Returns
    -------
    ndarray
        Same shape as ``image``; float32 stays float32, integers give float64.

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
    x = check_array("image", image)
    k = _check_kernel(kernel)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be a non-negative integer number of steps; got {n!r}")
    if n < 0:
        raise ValueError(f"n must be a non-negative integer number of steps; got {n!r}")
    axes = check_axes(axes, x.ndim)
    boundary = check_choice("boundary", boundary, BOUNDARIES)
    check_scalar("fill_value", fill_value)
    workers = check_workers(workers)
    if k.ndim != len(axes):
        raise ValueError(
            f"kernel must have one dimension per diffused axis ({len(axes)} for axes {axes}); "
            f"got a {k.ndim}-d kernel of shape {k.shape}; pass axes=... to choose the axes"
        )
    _require_propagator(k)
    work = _float_dtype(x.dtype)
    x = x.astype(work, copy=False)
    if n == 0:
        return x.copy()
    # plan: exact periodic filtering wherever the extension commutes with the steps
    response = _kernel_response(k.astype(np.float64), int(n), axes, x.ndim)
    exact_mirror = all(s % 2 == 1 for s in k.shape) and all(np.array_equal(k, np.flip(k, a)) for a in range(k.ndim))
    if boundary == "wrap":
        return fourier_filter(x, response, axes=axes, boundary="wrap", workers=workers)
    if boundary in ("symmetric", "reflect") and exact_mirror:
        period = _even_extension(x, axes, boundary)
        out = fourier_filter(period, response, axes=axes, boundary="wrap", workers=workers)
        crop = tuple(slice(0, x.shape[a]) if a in axes else slice(None) for a in range(x.ndim))
        return np.ascontiguousarray(out[crop])
    reach = [int(n) * max((s - 1) // 2, s - 1 - (s - 1) // 2) for s in k.shape]
    options = {"fill_value": fill_value} if boundary == "constant" else {}
    return fourier_filter(x, response, axes=axes, boundary=boundary, pad=reach, workers=workers, **options)


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
        Same shape, non-negative, summing to 1; float32 stays float32, other
        inputs give float64.

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
    k = _check_kernel(kernel)
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real):
        raise TypeError(f"temperature must be a positive real number; got {temperature!r}")
    if not (0 < temperature < math.inf):
        raise ValueError(f"temperature must be finite and > 0; got {temperature!r}")
    dtype = np.float32 if k.dtype == np.float32 else np.float64
    z = k.astype(np.float64) / float(temperature)
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
