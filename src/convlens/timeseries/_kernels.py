"""ARMA kernels (the ψ and π weights) and simulation by convolution."""

from __future__ import annotations

import math

import numpy as np
from scipy import signal

from .._engine import convolve
from .._validation import check_alloc, check_array, check_float, check_int, check_rng, check_shape
from ._checks import check_axis, check_finite_series, check_roots, lag_polynomials


def impulse_response(num: np.ndarray, den: np.ndarray, n: int) -> np.ndarray:
    # Expanding the rational function num(B)/den(B) into its power series is a
    # recursion (an IIR filter), not a convolution: lfilter is the exact tool, as
    # in statsmodels' arma2ma.
    impulse = np.zeros(n)
    impulse[0] = 1.0
    return signal.lfilter(num, den, impulse)


def arma_to_ma_kernel(ar, ma, n: int, *, convention: str = "polynomial") -> np.ndarray:
    """The MA(∞) kernel ψ of a stationary ARMA process: ``x = convolve(e, psi)``.

    Parameters
    ----------
    ar, ma : array_like
        AR and MA parts in the chosen ``convention`` (see the module's *Sign
        convention*).  Under 'polynomial' they include the leading 1.
    n : int
        Number of weights ψ_0 … ψ_{n-1}.
    convention : {'polynomial', 'coefficients'}, optional
        How ``ar`` and ``ma`` are read (default: statsmodels' lag polynomials).

    Returns
    -------
    (n,) ndarray
        ψ, with ``psi[0] = 1``; equal to ``statsmodels.tsa.arima_process.arma2ma``.

    Raises
    ------
    ValueError
        A polynomial without its leading 1, or an AR part with a root on or
        inside the unit circle (not stationary; the roots are named).

    Examples
    --------
    >>> from convlens.timeseries import arma_to_ma_kernel
    >>> arma_to_ma_kernel([1, -0.5], [1, 0.4], 5)
    array([1.    , 0.9   , 0.45  , 0.225 , 0.1125])
    >>> arma_to_ma_kernel([0.5], [0.4], 5, convention="coefficients")
    array([1.    , 0.9   , 0.45  , 0.225 , 0.1125])
    """
    phi, theta = lag_polynomials(ar, ma, convention)
    n = check_int("n", n, minimum=1)
    check_alloc(n, np.float64, what="arma_to_ma_kernel", copies=2)  # the impulse and lfilter's output
    check_roots(phi, "ar", "stationary")
    return impulse_response(theta, phi, n)


def arma_to_ar_kernel(ar, ma, n: int, *, convention: str = "polynomial") -> np.ndarray:
    """The AR(∞) kernel κ of an invertible ARMA process: ``e = convolve(x, kappa)``.

    ``kappa[0] = 1`` and ``kappa[j] = -pi_j`` for the π weights of
    ``x_t = pi_1 x_{t-1} + pi_2 x_{t-2} + ... + e_t``: the whitening filter.

    Parameters
    ----------
    ar, ma : array_like
        AR and MA parts in the chosen ``convention``.
    n : int
        Number of weights.
    convention : {'polynomial', 'coefficients'}, optional
        How ``ar`` and ``ma`` are read.

    Returns
    -------
    (n,) ndarray
        κ; equal to ``statsmodels.tsa.arima_process.arma2ar``.

    Raises
    ------
    ValueError
        An MA part with a root on or inside the unit circle (not invertible).

    Examples
    --------
    >>> from convlens.timeseries import arma_to_ar_kernel
    >>> arma_to_ar_kernel([1, -0.5], [1, 0.4], 5)
    array([ 1.    , -0.9   ,  0.36  , -0.144 ,  0.0576])
    """
    phi, theta = lag_polynomials(ar, ma, convention)
    n = check_int("n", n, minimum=1)
    check_alloc(n, np.float64, what="arma_to_ar_kernel", copies=2)  # the impulse and lfilter's output
    check_roots(theta, "ma", "invertible")
    return impulse_response(phi, theta, n)


def trim_zeros(kernel: np.ndarray) -> np.ndarray:
    # Weights that underflowed to exactly zero contribute exactly nothing: dropping
    # them changes no result and makes the convolutions short.
    nz = np.flatnonzero(kernel)
    return kernel[: nz[-1] + 1] if nz.size else kernel[:1]


def _trim_tail(kernel: np.ndarray) -> np.ndarray:
    """Drop the tail whose total weight is below 1e-17 of the whole kernel.

    Each output then changes by at most 1e-17 * sum|kernel| * max|input|, below
    the round-off of the convolution sum itself, and the kernel of a stationary
    model shrinks from thousands of weights to tens.
    """
    mag = np.abs(kernel)
    tail = np.cumsum(mag[::-1])[::-1]  # tail[j] = sum of |kernel[j:]|
    keep = np.flatnonzero(tail > 1e-17 * tail[0])
    return kernel[: keep[-1] + 1] if keep.size else kernel[:1]


def simulate_arma(
    ar,
    ma,
    nsample: int | tuple[int, ...],
    *,
    convention: str = "polynomial",
    scale: float = 1.0,
    burnin: int = 0,
    axis: int = 0,
    rng: np.random.Generator | int | None = None,
    innovations=None,
) -> np.ndarray:
    """Simulate a stationary ARMA process by convolving white noise with its ψ kernel.

    Same model and arguments as ``statsmodels.tsa.arima_process.arma_generate_sample``:
    ``x = (psi * (scale * eta))[burnin:]`` along ``axis``, where ``eta`` has
    ``nsample + burnin`` samples along ``axis``.  Given the same ``eta``
    (``innovations``) the result equals ``arma_generate_sample(ar, ma, nsample,
    scale, distrvs=lambda size: eta, burnin=burnin)`` to round-off.

    Parameters
    ----------
    ar, ma : array_like
        AR and MA parts in the chosen ``convention``.
    nsample : int or tuple of int
        Output shape (an int: one series).
    convention : {'polynomial', 'coefficients'}, optional
        How ``ar`` and ``ma`` are read.
    scale : float, optional
        Standard deviation of the innovations.
    burnin : int, optional
        Samples simulated and discarded at the start (so the output forgets
        the zero start).
    axis : int, optional
        Axis of time in the output.
    rng : numpy.random.Generator or int, optional
        Source of the standard-normal innovations (a seed or a Generator).
    innovations : array_like, optional
        Unscaled innovations ``eta`` to use instead of drawing them; shape
        ``nsample`` with ``nsample + burnin`` along ``axis``.

    Returns
    -------
    ndarray
        The simulated series, float64, shape ``nsample``.

    Examples
    --------
    >>> from convlens.timeseries import simulate_arma
    >>> simulate_arma([1, -0.9], [1], 4, innovations=[1.0, 0, 0, 0])
    array([1.   , 0.9  , 0.81 , 0.729])
    >>> simulate_arma([1, -0.5], [1, 0.3], 1000, rng=0, burnin=100).shape
    (1000,)
    """
    phi, theta = lag_polynomials(ar, ma, convention)
    ar_root = check_roots(phi, "ar", "stationary")
    shape = check_shape("nsample", nsample)
    burnin = check_int("burnin", burnin, minimum=0)
    # the innovations' standard deviation (statsmodels' arma_generate_sample): a negative or NaN one is no scale
    scale = check_float("scale", scale, minimum=0, hint="the innovations' standard deviation")
    axis = check_axis(axis, len(shape))
    full = shape[:axis] + (shape[axis] + burnin,) + shape[axis + 1 :]
    # innovations, their scaled copy and the convolution's output: three float64 arrays of `full`
    check_alloc(full, np.float64, what="simulate_arma", copies=3)
    if innovations is None:
        eta = check_rng(rng).standard_normal(full)
    else:
        eta = check_array("innovations", innovations, allow_complex=False).astype(np.float64)
        if eta.shape != full:
            raise ValueError(
                f"innovations must have shape {full} (nsample with burnin={burnin} added along axis {axis}); got {eta.shape}"
            )
        check_finite_series("innovations", eta)
    n = full[axis]
    # psi decays like |root|^-j: twice the 1e-17 decay length (a margin for repeated
    # roots) is enough to compute; _trim_tail then keeps what carries weight.
    psi = _trim_tail(impulse_response(theta, phi, min(n, 2 * decay_length(phi, ar_root) + 50)))
    x = convolve(scale * eta, psi, "full", axes=(axis,))
    keep = [slice(None)] * x.ndim
    keep[axis] = slice(burnin, n)
    return x[tuple(keep)]


def decay_length(poly: np.ndarray, min_root: float) -> int:
    """Terms after which the power series of 1/poly(B) has decayed by 1e-17 (its roots have |z| >= min_root > 1)."""
    if not math.isfinite(min_root):
        return poly.size
    return poly.size + math.ceil(39.2 / math.log(min_root))
