"""Kernels shared by the smoothing lenses (:mod:`convlens.filters`, :mod:`convlens.diffusion`).

One sampler of the Gaussian, one evaluator of a kernel's frequency response,
and the *folding* of a Gaussian wider than the image onto the boundary's
period, which makes the cost of smoothing independent of sigma (or of the
diffusion time):

For outputs inside an image of ``n`` samples, a kernel tap at offset ``d``
reads the extended image at ``i - d``.  With a periodic ('wrap') or mirrored
('symmetric', 'reflect') extension that sample repeats with the period ``P``
(``n``, ``2n``, ``2n - 2``), so all taps congruent modulo ``P`` can be summed
into one; with 'constant' and 'edge' every tap at ``|d| >= n`` reads the same
outside value, so their weights can be lumped at ``+-n``.  Either way a kernel
of any radius becomes one of radius at most ``n`` with *exactly* the same
outputs.  The sums of Gaussian samples over the residues are computed by the
Euler-Maclaurin formula once the Gaussian is wide (16 samples or more between
congruent taps), in O(n) whatever sigma, and agree with the direct sums to
round-off.

The public kernel builders (re-exported by :mod:`convlens.filters`) live here too.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike

from . import _backend as B
from ._validation import check_alloc, check_array, check_axes, check_finite, check_float, check_int, check_shape

__all__ = [
    "box_kernel",
    "frequency_response",
    "gaussian_kernel",
    "laplacian_kernel",
    "mask_to_kernel",
    "sobel_kernel",
]

_FILL_HINT = "fill them first, e.g. with convlens.convolve(..., nan_policy='interpolate')"

# Euler-Maclaurin sums of sampled Gaussians are exact to round-off from this width (in samples)
_EM_MIN_WIDTH = 16.0
# Bernoulli coefficients B_2k / (2k)! of the first four correction terms
_EM_COEF = (1 / 12, -1 / 720, 1 / 30240, -1 / 1209600)


# --------------------------------------------------------------------------- checks


def check_sigmas(sigma, n_axes: int) -> tuple[float, ...]:
    """One non-negative, finite standard deviation per axis (a scalar applies to all)."""
    if np.ndim(sigma) == 0:
        return (check_float("sigma", sigma, minimum=0),) * n_axes
    try:
        items = list(sigma)
    except TypeError:
        raise TypeError(f"sigma must be a number or one number per axis; got {sigma!r}") from None
    if len(items) != n_axes:
        raise ValueError(f"sigma must be a number or have one entry per filtered axis ({n_axes}); got {sigma!r}")
    return tuple(check_float("sigma", s, minimum=0) for s in items)


def check_truncate(truncate) -> float:
    """A kernel radius in standard deviations, > 0."""
    return check_float("truncate", truncate, minimum=0, min_open=True)


def radius_of(sigma: float, truncate: float) -> int:
    """scipy.ndimage.gaussian_filter's radius rule, ``int(truncate * sigma + 0.5)``."""
    return int(truncate * sigma + 0.5)


# --------------------------------------------------------------------------- samplers


def gaussian_samples(n: int, var: float) -> np.ndarray:
    """Normalized samples of a centred 1-D Gaussian at offsets ``i - (n - 1) / 2``.

    For ``n = 2 r + 1`` these are scipy.ndimage's truncated Gaussian weights;
    ``var <= 0`` is the limit sigma -> 0 (all weight on the centre sample(s)).
    """
    d = np.arange(n) - (n - 1) / 2
    w = (np.abs(d) == np.abs(d).min()).astype(float) if var <= 0 else np.exp(-0.5 * d * d / var)
    return w / w.sum()


def gaussian_nd(shape: tuple[int, ...], cov: np.ndarray) -> np.ndarray:
    """Normalized samples of the Gaussian of covariance ``cov`` centred in a grid of ``shape``."""
    if np.array_equal(cov, np.diag(np.diag(cov))):  # axis-aligned: a separable product
        return outer([gaussian_samples(n, float(v)) for n, v in zip(shape, np.diag(cov))])
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


def outer(vectors: Sequence[np.ndarray]) -> np.ndarray:
    """The outer product of 1-D arrays (a separable N-d kernel)."""
    out = np.ones(())
    for v in vectors:
        out = np.multiply.outer(out, v)
    return out


def kernel_response(kernel: np.ndarray, power: int = 1) -> Callable[..., np.ndarray]:
    """``H(*freqs)``: the DTFT of ``kernel`` (origin at ``(size - 1) // 2``, as mode 'same'), to a power.

    ``freqs`` holds one array per kernel axis, shaped to broadcast (as
    :func:`convlens.fourier_filter` passes them).  A mirror-symmetric kernel
    with odd sizes has a real response and gets it as a real array.
    """
    kernel = np.asarray(kernel, dtype=np.float64)
    centre = [(s - 1) // 2 for s in kernel.shape]
    symmetric = all(s % 2 == 1 for s in kernel.shape) and all(
        np.array_equal(kernel, np.flip(kernel, a)) for a in range(kernel.ndim)
    )

    def response(*freqs: np.ndarray) -> np.ndarray:
        shape = np.broadcast_shapes(*[f.shape for f in freqs])
        if symmetric and kernel.ndim == 1:  # w0 + 2 sum_k w_k cos(2 pi f k): real, half the work
            f = freqs[0].reshape(-1)
            half = kernel[centre[0] :]
            h = half[0] + 2.0 * (np.cos(2.0 * np.pi * np.outer(f, np.arange(1, half.size))) @ half[1:])
            return h.reshape(shape) ** power
        h = kernel.astype(np.complex128)
        # one small matrix product per axis: H(f) = sum_j k[j] exp(-2 pi i f (j - c))
        for f, c, size in zip(freqs, centre, kernel.shape):
            e = np.exp(-2j * np.pi * np.outer(f.reshape(-1), np.arange(size) - c))
            h = np.tensordot(h, e, axes=([0], [1]))
        h = h.real if symmetric else h
        return h.reshape(shape) ** power

    return response


# --------------------------------------------------------------------------- folding wide Gaussians


def gaussian_range_sum(a, b, c, w: float) -> np.ndarray:
    """``sum_{m=a}^{b} exp(-(m - c)**2 / (2 w**2))`` for integer ``a <= b`` (arrays broadcast).

    Direct for narrow Gaussians; Euler-Maclaurin (the integral, by erf/erfc
    without cancellation, plus four endpoint corrections) from a width of 16,
    where it is exact to round-off: cost independent of the range.
    """
    a, b, c = (np.asarray(v, dtype=np.float64) for v in (a, b, c))
    if w < _EM_MIN_WIDTH:
        lo = np.maximum(a, np.floor(c - 40 * w - 1))  # beyond 40 widths every term is exactly 0.0
        hi = np.minimum(b, np.ceil(c + 40 * w + 1))
        span = int(np.max(hi - lo, initial=0)) + 1
        m = lo[..., None] + np.arange(span)
        terms = np.exp(-((m - c[..., None]) ** 2) / (2 * w * w))
        return np.where(m <= hi[..., None], terms, 0.0).sum(axis=-1)
    from scipy.special import erf, erfc

    ua, ub = (a - c) / w, (b - c) / w
    r2 = math.sqrt(2.0)
    integral = np.where(
        ua > 0,
        erfc(ua / r2) - erfc(ub / r2),
        np.where(ub < 0, erfc(-ub / r2) - erfc(-ua / r2), erf(ub / r2) - erf(ua / r2)),
    ) * (w * math.sqrt(math.pi / 2))
    ha, hb = np.exp(-ua * ua / 2), np.exp(-ub * ub / 2)
    total = integral + (ha + hb) / 2
    hermite = (  # probabilists' Hermite polynomials: d^q/dm^q h = (-1)^q He_q(u) h / w^q
        lambda u: u,
        lambda u: u**3 - 3 * u,
        lambda u: u**5 - 10 * u**3 + 15 * u,
        lambda u: u**7 - 21 * u**5 + 105 * u**3 - 105 * u,
    )
    for q, (he, coef) in enumerate(zip(hermite, _EM_COEF)):
        order = 2 * q + 1
        total = total + coef * (he(ua) * ha - he(ub) * hb) / w**order
    return total


def fold_radius(n: int, boundary: str) -> int:
    """The largest kernel radius that still reads distinct samples of an extended axis of length ``n``."""
    return {"wrap": n // 2, "symmetric": n, "reflect": max(n - 1, 0)}.get(boundary, n)


def folded_gaussian(sigma: float, radius: int, n: int, boundary: str) -> np.ndarray:
    """ndimage's Gaussian (``sigma``, truncated at ``radius``), of radius at most :func:`fold_radius`.

    Convolving an axis of length ``n`` (mode 'same', this ``boundary``) with
    the result gives exactly the outputs of the full kernel; when the full
    kernel is no wider than the fold radius it is returned as it is.
    """
    R = fold_radius(n, boundary)
    if radius <= R or sigma == 0:
        return gaussian_samples(2 * radius + 1, sigma * sigma)
    if R == 0:  # a single sample that every tap reads
        return np.ones(1)
    if boundary in ("constant", "edge"):
        # taps at |d| >= n all read the outside value: lump their weight at +-n
        d = np.arange(-n + 1, n, dtype=np.float64)
        tail = float(gaussian_range_sum(n, radius, 0.0, sigma))
        w = np.concatenate([[tail], np.exp(-0.5 * (d / sigma) ** 2), [tail]])
        return w / w.sum()
    period = {"wrap": n, "symmetric": 2 * n, "reflect": 2 * n - 2}[boundary]
    if sigma < _EM_MIN_WIDTH * period:  # narrow enough to sum directly (taps past 40 sigma are exactly 0.0)
        reach = min(radius, math.ceil(40 * sigma) + 1)
        t = np.arange(-reach, reach + 1)
        sums = np.bincount(t % period, weights=np.exp(-0.5 * (t / sigma) ** 2), minlength=period)
    else:  # residue j collects the taps t = j + period * m with |t| <= radius
        j = np.arange(period, dtype=np.float64)
        lo, hi = np.ceil((-radius - j) / period), np.floor((radius - j) / period)
        sums = gaussian_range_sum(lo, hi, -j / period, sigma / period)
    w = sums[np.arange(-R, R + 1) % period]
    if period % 2 == 0 and period // 2 == R:  # +-R are the same residue: half its weight on each
        w[0] /= 2
        w[-1] /= 2
    w = (w + w[::-1]) / 2  # exactly mirror-symmetric (the sums ran in different orders): a real response
    return w / w.sum()


# --------------------------------------------------------------------------- public kernel builders


def gaussian_kernel(sigma: float | Sequence[float], *, ndim: int = 2, truncate: float = 4.0) -> np.ndarray:
    """The truncated, normalized Gaussian kernel of ``scipy.ndimage.gaussian_filter``.

    Parameters
    ----------
    sigma : float or sequence of float
        Standard deviation(s) in samples (> 0); a sequence sets ``ndim``.
    ndim : int, optional
        Number of dimensions for a scalar sigma (default 2).
    truncate : float, optional
        Radius in standard deviations (default 4): ``int(truncate * sigma + 0.5)``.

    Returns
    -------
    ndarray
        float64 kernel of odd size ``2 * radius + 1`` per axis, summing to 1.

    Raises
    ------
    InsufficientMemoryError
        A kernel that would not fit in memory (refused before allocating).

    Examples
    --------
    >>> import numpy as np
    >>> from convlens.filters import gaussian_kernel
    >>> np.round(gaussian_kernel(0.5, ndim=1), 4).tolist()
    [0.0003, 0.1065, 0.7866, 0.1065, 0.0003]
    """
    ndim = check_int("ndim", ndim, minimum=1) if np.ndim(sigma) == 0 else len(sigma)
    sigmas = check_sigmas(sigma, ndim)
    if any(s <= 0 for s in sigmas):
        raise ValueError(f"sigma must be positive for a kernel; got {sigma!r}")
    truncate = check_truncate(truncate)
    radii = [radius_of(s, truncate) for s in sigmas]
    check_alloc(tuple(2 * r + 1 for r in radii), np.float64, what="gaussian_kernel", copies=2)
    return outer([gaussian_samples(2 * r + 1, s * s) for s, r in zip(sigmas, radii)])


def box_kernel(size: int | Sequence[int], *, ndim: int = 2) -> np.ndarray:
    """Normalized box (moving-average) kernel, ``scipy.ndimage.uniform_filter``'s weights.

    Parameters
    ----------
    size : int or sequence of int
        Side length(s) (>= 1); a sequence sets ``ndim``.
    ndim : int, optional
        Number of dimensions for a scalar size (default 2).

    Examples
    --------
    >>> from convlens.filters import box_kernel
    >>> box_kernel(2)
    array([[0.25, 0.25],
           [0.25, 0.25]])
    """
    if np.ndim(size) == 0:
        size = (check_int("size", size, minimum=1),) * check_int("ndim", ndim, minimum=1)
    shape = check_shape("size", size)
    check_alloc(shape, np.float64, what="box_kernel")
    return np.full(shape, 1.0 / math.prod(shape))


def laplacian_kernel(*, ndim: int = 2) -> np.ndarray:
    """The discrete Laplacian (sum of second differences), ``scipy.ndimage.laplace``'s stencil.

    Examples
    --------
    >>> from convlens.filters import laplacian_kernel
    >>> laplacian_kernel()
    array([[ 0.,  1.,  0.],
           [ 1., -4.,  1.],
           [ 0.,  1.,  0.]])
    """
    ndim = check_int("ndim", ndim, minimum=1)
    check_alloc((3,) * ndim, np.float64, what="laplacian_kernel")
    k = np.zeros((3,) * ndim)
    centre = (1,) * ndim
    for ax in range(ndim):
        for off in (0, 2):
            idx = list(centre)
            idx[ax] = off
            k[tuple(idx)] = 1.0
    k[centre] = -2.0 * ndim
    return k


def sobel_kernel(axis: int = 0, *, ndim: int = 2) -> np.ndarray:
    """Sobel derivative kernel along ``axis`` (for convolution), as ``scipy.ndimage.sobel``.

    ``convolve(x, sobel_kernel(axis), 'same')`` equals ``scipy.ndimage.sobel(x, axis)``
    (with matching boundaries): central difference ``x[i+1] - x[i-1]`` along
    ``axis``, smoothed by ``[1, 2, 1]`` along the others.

    Examples
    --------
    >>> from convlens.filters import sobel_kernel
    >>> sobel_kernel(1)
    array([[ 1.,  0., -1.],
           [ 2.,  0., -2.],
           [ 1.,  0., -1.]])
    """
    ndim = check_int("ndim", ndim, minimum=1)
    (axis,) = check_axes(axis, ndim, "axis")
    check_alloc((3,) * ndim, np.float64, what="sobel_kernel")
    # convolution flips the kernel: [1, 0, -1] convolved gives x[i+1] - x[i-1]
    return outer([np.array([1.0, 0.0, -1.0]) if ax == axis else np.array([1.0, 2.0, 1.0]) for ax in range(ndim)])


# --------------------------------------------------------------------------- mask <-> kernel


def _origin(n: int) -> int:
    """Index of a kernel's origin as ``convolve(..., mode='same')`` centres it (also for even n)."""
    return (n - 1) // 2


def mask_to_kernel(mask: ArrayLike, *, centered: bool = False, size: int | Sequence[int] | None = None) -> np.ndarray:
    """The spatial kernel whose convolution equals multiplying the spectrum by ``mask``.

    "Imagine that the circle is a convolution kernel": the inverse DFT of the
    mask, with its origin moved to index ``(n - 1) // 2`` of each axis, so that
    ``convolve(x, kernel, 'same', boundary='wrap')`` equals filtering x with the
    mask (for x of the mask's shape).

    Parameters
    ----------
    mask : array_like
        Frequency response in the ``numpy.fft.fftn`` layout (or centred, with
        ``centered=True``).
    centered : bool, optional
        The mask has zero frequency in the middle (``fftshift`` layout).
    size : int or sequence of int, optional
        Crop the kernel to this size around its origin (default: the mask's
        full shape).  A cropped ideal-mask kernel is a truncated sinc, an
        approximation of the mask.

    Returns
    -------
    ndarray
        Real (float64) when the mask is Hermitian-symmetric (every real, even
        mask such as the ones in this module), complex otherwise.

    Raises
    ------
    ValueError
        Non-finite mask, ``size`` larger than the mask or not positive.

    Examples
    --------
    >>> import numpy as np
    >>> from convlens.filters import lowpass_mask, mask_to_kernel
    >>> k = mask_to_kernel(lowpass_mask(8, 0.2))        # keeps 0 and +-1/8
    >>> np.round(k, 3)
    array([-0.052,  0.125,  0.302,  0.375,  0.302,  0.125, -0.052, -0.125])
    >>> int(np.argmax(k)), float(np.round(k.sum(), 6))     # origin at (8 - 1) // 2 = 3; gain 1 at f = 0
    (3, 1.0)
    """
    mask = check_array("mask", mask)
    check_finite("mask", mask, hint=_FILL_HINT)
    if centered:
        mask = np.fft.ifftshift(mask)
    kernel = B.ifftn(mask.astype(np.complex128), None)
    scale = float(np.max(np.abs(kernel))) or 1.0
    if float(np.max(np.abs(kernel.imag))) <= 1e-12 * scale:
        kernel = kernel.real
    kernel = np.roll(kernel, [_origin(n) for n in mask.shape], axis=tuple(range(mask.ndim)))
    if size is None:
        return kernel
    size = check_shape("size", size if not isinstance(size, (int, np.integer)) else (size,) * mask.ndim)
    if len(size) != mask.ndim or any(s > n for s, n in zip(size, mask.shape)):
        raise ValueError(
            f"size must have {mask.ndim} entries, each at most the mask's shape {mask.shape}; got {size!r}"
        )
    crop = tuple(slice(_origin(n) - _origin(s), _origin(n) - _origin(s) + s) for n, s in zip(mask.shape, size))
    return kernel[crop]


def frequency_response(
    kernel: ArrayLike, shape: int | Sequence[int] | None = None, *, centered: bool = False
) -> np.ndarray:
    """The mask that convolving with ``kernel`` multiplies the spectrum by.

    The DFT of the kernel, zero-padded to ``shape`` with its origin (index
    ``(k - 1) // 2`` of each axis, the centre that ``convolve(..., 'same')``
    uses) moved to index 0.  Then ``convolve(x, kernel, 'same',
    boundary='wrap')`` equals ``ifftn(fftn(x) * frequency_response(kernel, x.shape))``.

    Parameters
    ----------
    kernel : array_like
        Convolution kernel (any ndim).
    shape : int or sequence of int, optional
        DFT shape, at least the kernel's (default: the kernel's shape).
    centered : bool, optional
        Return the response with zero frequency in the middle, for display.

    Returns
    -------
    ndarray
        Complex response of ``shape`` (complex128; complex64 for float32 kernels).
        For a symmetric kernel it is real up to round-off.

    Raises
    ------
    ValueError
        Non-finite kernel, ``shape`` smaller than the kernel or of another ndim.

    Examples
    --------
    >>> import numpy as np
    >>> from convlens.filters import frequency_response
    >>> np.round(frequency_response([1/3, 1/3, 1/3], 6).real, 4)   # (1 + 2 cos 2 pi f) / 3
    array([ 1.    ,  0.6667,  0.    , -0.3333,  0.    ,  0.6667])
    """
    kernel = check_array("kernel", kernel)
    check_finite("kernel", kernel, hint=_FILL_HINT)
    shape = kernel.shape if shape is None else check_shape("shape", shape)
    if len(shape) != kernel.ndim or any(s < k for s, k in zip(shape, kernel.shape)):
        raise ValueError(
            f"shape must have {kernel.ndim} entries, each at least the kernel's shape {kernel.shape}; got {shape!r}"
        )
    check_alloc(shape, np.complex128, what="frequency_response", copies=2)
    padded = np.zeros(shape, dtype=np.result_type(kernel.dtype, np.float32))
    padded[tuple(slice(0, k) for k in kernel.shape)] = kernel
    padded = np.roll(padded, [-_origin(k) for k in kernel.shape], axis=tuple(range(kernel.ndim)))
    resp = B.fftn(padded, None)
    return np.fft.fftshift(resp) if centered else resp
