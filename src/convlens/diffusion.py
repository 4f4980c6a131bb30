"""Convolution as diffusion: the heat propagator, exact diffusion, kernels as propagators.

The essay's "Insights from fluid mechanics": the solution of the diffusion
equation ``du/dt = div(D grad u)`` after a time ``t`` is the initial image
convolved with the *propagator*, a Gaussian of covariance ``2 t D``
(``sigma = sqrt(2 D t)`` for a scalar ``D``).  Here that is one convolution
through the engine, not a time-stepping loop:

* :func:`heat_kernel` samples the propagator on a grid;
* :func:`diffuse` diffuses an image for a time ``t`` (spectral and exact for
  periodic boundaries, the sampled propagator through :func:`convlens.convolve`
  for the others), at a cost that does not grow with ``t``: a propagator wider
  than the image is folded onto the boundary's period (see
  ``convlens._lens_kernels``), so any ``t`` reaches the equilibrium;
* :func:`diffuse_steps`, :func:`propagator`, :func:`is_propagator` (defined in
  ``convlens._lens_walks``): ``n`` steps of a random walk as one convolution,
  and kernels as propagators.

The finite-difference solvers that check these results independently live in
:mod:`convlens.reference`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ._engine import convolve, fourier_filter
from ._lens_kernels import check_truncate, fold_radius, folded_gaussian, gaussian_nd, radius_of
from ._lens_smoothing import periodic_filter, smooth_separable
from ._lens_walks import diffuse_steps, is_propagator, propagator
from ._validation import (
    BOUNDARIES,
    NAN_POLICIES,
    as_work,
    check_alloc,
    check_axes,
    check_choice,
    check_finite,
    check_float,
    check_scalar,
    check_shape,
    check_spacing,
    check_workers,
    real_dtype,
    user_function,
)

__all__ = ["diffuse", "diffuse_steps", "heat_kernel", "is_propagator", "propagator"]

_METHODS = ("auto", "spectral", "spatial")
DiffusionCoefficient = float | Sequence[float] | np.ndarray | Callable[[float], object]


# ---------------------------------------------------------------------------------------------
# validation helpers (each option checked once, normalized once)


def _check_time(t) -> float:
    return check_float("t", t, minimum=0, hint="a finite diffusion time")


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
    shape = check_shape("shape", shape)
    t = _check_time(t)
    cov = _covariance(t, D, check_spacing("dx", dx, len(shape)))
    check_alloc(shape, np.float64, what="heat_kernel", copies=3)  # grids, exponent, kernel
    return gaussian_nd(shape, cov)


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
    nan_policy: str = "propagate",
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
        (default): spectral for 'wrap' (and for a tilted ``D`` wider than the
        image with a mirror boundary), spatial otherwise.  The two differ by
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
    nan_policy : {'propagate', 'raise', 'interpolate'}, optional
        NaN and inf in the image, as :func:`convlens.convolve` with the
        sampled propagator, whatever the method and boundary: the window of an
        output is the propagator's radius ``truncate * sigma`` (folded to the
        image's size, see below) on the boundary-extended image.  'propagate'
        (default) spoils the outputs in that window, 'raise' refuses them,
        'interpolate' diffuses the finite samples only (normalized convolution).
    workers : int, optional
        Threads (default: all cores).

    Returns
    -------
    ndarray
        The diffused image, same shape; float32 stays float32, float16 is
        computed in float32 and returned as float16, integers give float64.

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
    (and with 'reflect' in the trapezoid sense).  Any ``t`` costs the same:
    a propagator wider than the image is folded onto it exactly (taps that
    read the same sample of the periodic or mirrored extension are summed;
    with 'constant' and 'edge' every tap past the image reads the outside
    value), so a long time reaches the equilibrium: the mean with 'wrap' and
    'symmetric' (the trapezoid mean with 'reflect'), ``fill_value`` with
    'constant', and with 'edge' the mean of the two edge values of each
    axis (the medium beyond each edge holds its edge value forever, so the
    image ends up between its two reservoirs; in N-d the axes act one after
    the other).  For a tilted tensor (off-
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
    x, out_dtype = as_work("image", image)
    t = _check_time(t)
    axes = check_axes(axes, x.ndim)
    boundary = check_choice("boundary", boundary, BOUNDARIES)
    method = check_choice("method", method, _METHODS)
    check_scalar("fill_value", fill_value)
    nan_policy = check_choice("nan_policy", nan_policy, NAN_POLICIES)
    workers = check_workers(workers)
    cov = _covariance(t, D, check_spacing("dx", dx, len(axes)))
    truncate = _default_truncate(x.dtype) if truncate is None else check_truncate(truncate)
    if nan_policy == "raise":  # refused here, naming the user's argument, whatever path follows
        check_finite("image", x, hint="use nan_policy='propagate' or 'interpolate' to accept them")
    if not np.any(cov):
        return x.astype(out_dtype, copy=True)
    # plan: the kernel's reach per axis (scipy's rounding, so that truncate=4 matches gaussian_filter)
    sigmas = np.sqrt(np.diag(cov))
    radii = tuple(radius_of(float(s), truncate) for s in sigmas)
    separable = np.count_nonzero(cov - np.diag(np.diag(cov))) == 0
    if method == "auto":
        # a tilted propagator wider than the image has no fold; its mirror period does
        wide = any(r > fold_radius(x.shape[a], boundary) for a, r in zip(axes, radii))
        tilted_wide = not separable and wide and boundary in ("symmetric", "reflect")
        method = "spectral" if boundary == "wrap" or tilted_wide else "spatial"
    options = {"boundary": boundary, "fill_value": fill_value, "nan_policy": nan_policy, "workers": workers}
    with user_function("diffuse"):
        if method == "spectral":
            out = _spectral(x, cov, axes, radii, **options)
        elif separable:
            plan = [(a, folded_gaussian(float(s), r, x.shape[a], boundary)) for a, s, r in zip(axes, sigmas, radii)]
            out = smooth_separable(x, [(a, k) for a, k in plan if k.size > 1], method="spatial", **options)
        else:
            shape = tuple(2 * r + 1 for r in radii)
            check_alloc(shape, np.float64, what="diffuse", copies=2)
            kernel = gaussian_nd(shape, cov).astype(real_dtype(x.dtype))
            out = convolve(x, kernel, "same", axes=axes, **options)
    return out.astype(out_dtype, copy=False)


def _spectral(x, cov, axes, radii, *, boundary, fill_value, nan_policy, workers) -> np.ndarray:
    """The heat propagator's response on the spectrum, exact for periodic and mirror boundaries."""
    folded = tuple(min(r, fold_radius(x.shape[a], boundary)) for a, r in zip(axes, radii))
    options = {"nan_policy": nan_policy, "workers": workers}
    if boundary in ("wrap", "symmetric", "reflect"):
        # Periodic filtering of one period of the extension is exactly that extension, for any t,
        # and conserves mass to round-off (padding by the reach instead would leak the band-limited
        # propagator's ringing past the pad: 2e-8 of the mass at sigma 1.4).
        return periodic_filter(x, _spectral_response(cov), axes, boundary, radius=folded, **options)
    fill = {"fill_value": fill_value} if boundary == "constant" else {}
    if folded != radii and np.count_nonzero(cov - np.diag(np.diag(cov))) == 0:
        # wider than the image: every tap past the image reads the outside value, so the sampled
        # propagator folded to the image's size is exact and costs the same for any t
        sigmas = np.sqrt(np.diag(cov))
        plan = [(a, folded_gaussian(float(s), r, x.shape[a], boundary)) for a, s, r in zip(axes, sigmas, radii)]
        return smooth_separable(x, plan, method="spectral", boundary=boundary, fill_value=fill_value, **options)
    return fourier_filter(
        x, _spectral_response(cov), axes=axes, boundary=boundary, pad=radii, radius=radii, **fill, **options
    )
