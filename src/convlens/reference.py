"""Independent finite-difference solvers of the diffusion equation (the check on :mod:`convlens.diffusion`).

These solve ``du/dt = div(D grad u)`` by time stepping on the grid, with the
second-order central-difference Laplacian (and the central cross derivative for
a tilted tensor ``D``), and share no code with the convolution engine: they are
the independent judge of :func:`convlens.diffusion.diffuse`, which gets the
same answer as one convolution with the Gaussian propagator.

* :func:`heat_explicit` - forward Euler (FTCS): first order in ``dt``,
  stable only for ``dt <= 2 / rho(A)`` (about ``dx**2 / (2 d D)``).
* :func:`heat_crank_nicolson` - the implicit trapezoid rule: second order in
  ``dt``, unconditionally stable (a sparse LU factorization per step size).

Both are second order in ``dx``.  Boundaries, by ghost cells:

* ``'wrap'`` - periodic;
* ``'symmetric'`` - no flux through walls half a cell beyond the end samples
  (``u[-1] = u[0]``), the cell-centred Neumann condition;
* ``'reflect'`` - no flux through the end samples themselves (``u[-1] = u[1]``);
* ``'constant'`` - the value ``fill_value`` held beyond the ends (Dirichlet).

A tilted tensor (off-diagonal ``D``) is exact in flux form only with 'wrap':
near other walls the cross difference uses the same ghost cells, which do not
express the conormal no-flux condition, so mass is then not conserved exactly.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from ._validation import (
    check_alloc,
    check_array,
    check_choice,
    check_float,
    check_scalar,
    check_shape,
    check_spacing,
    result_dtype,
)

__all__ = ["heat_crank_nicolson", "heat_explicit", "laplacian_operator"]

_BOUNDARIES = ("wrap", "symmetric", "reflect", "constant")


def _second_difference(n: int, boundary: str) -> sp.csr_matrix:
    """1-D second difference (u[i-1] - 2u[i] + u[i+1]) with the boundary's ghost cells (unit spacing)."""
    main = -2.0 * np.ones(n)
    off = np.ones(n - 1)
    m = sp.diags([off, main, off], [-1, 0, 1], format="lil")
    if n == 1:
        return sp.csr_matrix((1, 1)) if boundary != "constant" else sp.csr_matrix(np.array([[-2.0]]))
    if boundary == "wrap":
        m[0, n - 1] += 1.0
        m[n - 1, 0] += 1.0
    elif boundary == "symmetric":  # ghost u[-1] = u[0]
        m[0, 0] += 1.0
        m[n - 1, n - 1] += 1.0
    elif boundary == "reflect":  # ghost u[-1] = u[1]
        m[0, 1] += 1.0
        m[n - 1, n - 2] += 1.0
    return m.tocsr()


def _first_difference(n: int, boundary: str) -> sp.csr_matrix:
    """1-D central difference (u[i+1] - u[i-1]) / 2 with the boundary's ghost cells (unit spacing)."""
    off = 0.5 * np.ones(max(n - 1, 0))
    m = sp.diags([-off, off], [-1, 1], shape=(n, n), format="lil")
    if n == 1:
        return sp.csr_matrix((1, 1))
    if boundary == "wrap":
        m[0, n - 1] -= 0.5
        m[n - 1, 0] += 0.5
    elif boundary == "symmetric":
        m[0, 0] -= 0.5
        m[n - 1, n - 1] += 0.5
    elif boundary == "reflect":  # ghost u[-1] = u[1]: the derivative vanishes at the end samples
        m[0, 1] = 0.0
        m[n - 1, n - 2] = 0.0
    return m.tocsr()


def _kron_axis(op: sp.spmatrix, axis: int, shape: tuple[int, ...]) -> sp.csr_matrix:
    """``op`` acting along ``axis`` of a C-ordered array of ``shape``."""
    out = sp.identity(1, format="csr")
    for a, n in enumerate(shape):
        out = sp.kron(out, op if a == axis else sp.identity(n, format="csr"), format="csr")
    return out


def laplacian_operator(shape, D=1.0, *, dx=1.0, boundary: str = "wrap") -> sp.csr_matrix:
    """The sparse matrix ``A`` with ``A @ u.ravel() ~ div(D grad u)`` (second order in ``dx``).

    Parameters
    ----------
    shape : tuple of int
        Grid shape (any number of dimensions).
    D : float, sequence or (d, d) array, optional
        Diffusion coefficient: scalar, per axis, or a symmetric tensor (the
        off-diagonal terms use the central cross difference).
    dx : float or sequence of float, optional
        Grid spacing per axis.
    boundary : {'wrap', 'symmetric', 'reflect', 'constant'}, optional
        Ghost-cell rule (see the module docstring); 'constant' means the
        homogeneous Dirichlet value 0 beyond the ends.

    Returns
    -------
    scipy.sparse.csr_matrix
        Of shape ``(prod(shape), prod(shape))``.

    Examples
    --------
    >>> from convlens.reference import laplacian_operator
    >>> laplacian_operator((4,), boundary="symmetric").toarray().tolist()
    [[-1.0, 1.0, 0.0, 0.0], [1.0, -2.0, 1.0, 0.0], [0.0, 1.0, -2.0, 1.0], [0.0, 0.0, 1.0, -1.0]]
    """
    shape = check_shape("shape", shape)
    boundary = check_choice("boundary", boundary, _BOUNDARIES)
    d = len(shape)
    # stored entries: the diagonal, two neighbours per axis, four per pair of axes (8 bytes + a 4-byte index each),
    # with a few partial sums alive while they are added up
    entries = math.prod(shape) * (1 + 2 * d + 2 * d * (d - 1))
    check_alloc(entries * 12, what="laplacian_operator", copies=3)
    dx = check_spacing("dx", dx, d)
    tensor = _tensor(D, d)
    size = math.prod(shape)
    A = sp.csr_matrix((size, size))
    for a in range(d):
        if tensor[a, a] != 0:
            A = A + (tensor[a, a] / dx[a] ** 2) * _kron_axis(_second_difference(shape[a], boundary), a, shape)
        for b in range(a + 1, d):
            if tensor[a, b] != 0:
                ga = _kron_axis(_first_difference(shape[a], boundary), a, shape)
                gb = _kron_axis(_first_difference(shape[b], boundary), b, shape)
                A = A + (2.0 * tensor[a, b] / (dx[a] * dx[b])) * (ga @ gb)
    return A.tocsr()


def _tensor(D, d: int) -> np.ndarray:
    arr = np.asarray(D, dtype=float)
    if arr.ndim == 0:
        arr = np.eye(d) * float(arr)
    elif arr.shape == (d,):
        arr = np.diag(arr)
    if arr.shape != (d, d) or not np.all(np.isfinite(arr)):
        raise ValueError(f"D must be a finite scalar, {d} per-axis values or a {d}x{d} tensor; got {D!r}")
    if not np.allclose(arr, arr.T) or np.linalg.eigvalsh((arr + arr.T) / 2).min() < -1e-12 * np.abs(arr).max():
        raise ValueError(f"D must be symmetric positive semidefinite (no backward diffusion); got {arr.tolist()!r}")
    return arr


def _check_inputs(u0, t, steps, boundary, fill_value, what: str):
    u = check_array("u0", u0, allow_complex=False)
    # an oracle computes and answers in float64 whatever the input; longdouble is still refused, not narrowed
    result_dtype(u.dtype, allow_complex=False, name="u0")
    check_alloc(u.shape, np.float64, what=what, copies=4)  # u, the step's product and sum, the answer
    u = u.astype(np.float64)
    t = check_float("t", t, minimum=0, hint="a finite diffusion time")
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, (int, np.integer))):
        raise TypeError(f"steps must be None or a positive integer; got {steps!r} ({type(steps).__name__})")
    if steps is not None and steps < 1:
        raise ValueError(f"steps must be None or a positive integer; got {steps!r}")
    boundary = check_choice("boundary", boundary, _BOUNDARIES)
    check_scalar("fill_value", fill_value)
    return u, t, boundary


def _stepper(u0, t, D, dx, boundary, fill_value, steps, make_step):
    """Shared driver: subtract the Dirichlet value, march ``steps`` steps of size t/steps, add it back."""
    shift = float(fill_value) if boundary == "constant" else 0.0  # constants solve the equation
    u = (u0 - shift).ravel()
    dt = t / steps
    op = (lambda s: laplacian_operator(u0.shape, D(s), dx=dx, boundary=boundary)) if callable(D) else None
    A = None if op else laplacian_operator(u0.shape, D, dx=dx, boundary=boundary)
    for i in range(steps):
        u = make_step(u, dt, i * dt, A, op)
    return u.reshape(u0.shape) + shift


def heat_explicit(
    u0,
    t: float,
    D: float | np.ndarray | Callable[[float], object] = 1.0,
    *,
    dx=1.0,
    steps: int | None = None,
    boundary: str = "wrap",
    fill_value: float = 0,
) -> np.ndarray:
    """Diffuse ``u0`` for time ``t`` by forward-Euler time steps (FTCS).

    Parameters
    ----------
    u0 : array_like
        Initial values (real, any number of dimensions).
    t : float
        Diffusion time, >= 0.
    D : float, sequence, (d, d) array or callable, optional
        Diffusion coefficient (scalar, per axis or tensor); a callable ``D(s)``
        is evaluated at the start of each step (the default ``steps`` is then
        chosen from ``D(0)``).
    dx : float or sequence of float, optional
        Grid spacing.
    steps : int, optional
        Number of time steps; default the fewest that are stable (with 10 % margin).
    boundary : {'wrap', 'symmetric', 'reflect', 'constant'}, optional
        Ghost-cell rule (module docstring).
    fill_value : float, optional
        Dirichlet value for 'constant'.

    Returns
    -------
    ndarray of float64

    Raises
    ------
    ValueError
        Bad arguments, or ``steps`` too few for stability (the message gives the minimum).

    Examples
    --------
    >>> from convlens.reference import heat_explicit
    >>> u = np.zeros(7); u[3] = 1.0
    >>> np.round(heat_explicit(u, 0.5, steps=2), 4).tolist()
    [0.0, 0.0625, 0.25, 0.375, 0.25, 0.0625, 0.0]
    """
    u, t, boundary = _check_inputs(u0, t, steps, boundary, fill_value, "heat_explicit")
    D_max = _tensor(D(0.0), u.ndim) if callable(D) else _tensor(D, u.ndim)
    rho = _gershgorin(laplacian_operator(u.shape, D_max, dx=dx, boundary=boundary))
    # forward Euler is stable while dt * rho(A) <= 2 (A is symmetric negative semidefinite)
    min_steps = max(1, math.ceil(t * rho / 2 * (1 + 1e-12)))
    if steps is None:
        steps = max(1, math.ceil(1.1 * t * rho / 2))
    elif steps < min_steps and t > 0:
        raise ValueError(f"steps must be at least {min_steps} for a stable explicit scheme here; got {steps}")
    if t == 0:
        return u.copy()

    def step(v, dt, s, A, op):
        return v + dt * ((op(s) if op else A) @ v)

    return _stepper(u, t, D, dx, boundary, fill_value, int(steps), step)


def heat_crank_nicolson(
    u0,
    t: float,
    D: float | np.ndarray | Callable[[float], object] = 1.0,
    *,
    dx=1.0,
    steps: int = 64,
    boundary: str = "wrap",
    fill_value: float = 0,
) -> np.ndarray:
    """Diffuse ``u0`` for time ``t`` by Crank-Nicolson steps (implicit, second order in time).

    Parameters
    ----------
    u0 : array_like
        Initial values (real, any number of dimensions).
    t : float
        Diffusion time, >= 0.
    D : float, sequence, (d, d) array or callable, optional
        Diffusion coefficient; a callable ``D(s)`` is evaluated at mid-step
        (keeping second order in time).
    dx : float or sequence of float, optional
        Grid spacing.
    steps : int, optional
        Number of time steps (default 64); any number is stable.
    boundary : {'wrap', 'symmetric', 'reflect', 'constant'}, optional
        Ghost-cell rule (module docstring).
    fill_value : float, optional
        Dirichlet value for 'constant'.

    Returns
    -------
    ndarray of float64

    Examples
    --------
    >>> from convlens.reference import heat_crank_nicolson
    >>> u = np.zeros(64); u[32] = 1.0
    >>> v = heat_crank_nicolson(u, 4.0, steps=200, boundary="symmetric")
    >>> round(float(v.sum()), 10), round(float(v[32]), 4)   # sigma = sqrt(8); continuum peak 0.1410
    (1.0, 0.1434)
    """
    u, t, boundary = _check_inputs(u0, t, steps, boundary, fill_value, "heat_crank_nicolson")
    if t == 0:
        return u.copy()
    n = u.size
    eye = sp.identity(n, format="csc")
    cache: dict = {}

    def step(v, dt, s, A, op):
        if op is not None:  # time-varying D: the operator at mid-step
            A = op(s + dt / 2)
            lu = spla.splu((eye - (dt / 2) * A).tocsc())
        else:
            if "lu" not in cache:
                cache["lu"] = spla.splu((eye - (dt / 2) * A).tocsc())
            lu = cache["lu"]
        return lu.solve(v + (dt / 2) * (A @ v))

    return _stepper(u, t, D, dx, boundary, fill_value, int(steps), step)


def _gershgorin(A: sp.csr_matrix) -> float:
    """An upper bound of the spectral radius: the largest absolute row sum."""
    return float(np.max(np.abs(A).sum(axis=1))) if A.nnz else 0.0
