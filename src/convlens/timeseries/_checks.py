"""Argument checks and lag polynomials shared by the time-series functions."""

from __future__ import annotations

import math

import numpy as np

from .._validation import check_axes, check_choice, check_finite, check_int

CONVENTIONS = ("polynomial", "coefficients")
TRENDS = ("n", "c", "t", "ct")
ALIGNS = ("center", "trailing")
FEATURE_KINDS = ("ar", "ma")

# A root of a lag polynomial this close to the unit circle counts as on it: the
# process would be (numerically) non-stationary or non-invertible.
_ROOT_TOL = 1e-8


def check_axis(axis, ndim: int) -> int:
    """One axis (an integer, negative counting from the end), by the policy layer's rules."""
    return check_axes(check_int("axis", axis), ndim, name="axis")[0]


def check_finite_series(name: str, x: np.ndarray) -> None:
    check_finite(
        name,
        x,
        hint="fill or drop them first (e.g. pandas interpolate) or use moving_average(..., nan_policy='interpolate')",
    )


def coeffs(name: str, value) -> np.ndarray:
    if value is None:
        return np.zeros(0)
    arr = np.atleast_1d(np.asarray(value))
    if arr.dtype.kind not in "biuf" or arr.ndim != 1:
        raise TypeError(f"{name} must be a 1-D sequence of real numbers; got {value!r}")
    arr = arr.astype(np.float64)
    check_finite_series(name, arr)
    return arr


def lag_polynomials(ar, ma, convention: str) -> tuple[np.ndarray, np.ndarray]:
    """(phi(B), theta(B)) as coefficient arrays with leading 1, from either convention."""
    convention = check_choice("convention", convention, CONVENTIONS)
    ar, ma = coeffs("ar", ar), coeffs("ma", ma)
    if convention == "coefficients":
        return np.concatenate(([1.0], -ar)), np.concatenate(([1.0], ma))
    for name, poly in (("ar", ar), ("ma", ma)):
        if poly.size == 0 or poly[0] != 1:
            raise ValueError(
                f"{name} must be a lag polynomial starting with 1 under convention='polynomial' "
                f"(statsmodels: ar=[1, -phi_1, ...], ma=[1, theta_1, ...]); got {poly.tolist()!r}. "
                "For bare coefficients pass convention='coefficients'"
            )
    return ar, ma


def lag_roots(poly: np.ndarray) -> np.ndarray:
    """Roots z of sum_k poly[k] z^k (degree 1 in closed form: np.roots costs ~40 us)."""
    poly = np.trim_zeros(poly, "b")
    if poly.size <= 1:
        return np.zeros(0, dtype=complex)
    if poly.size == 2:
        return np.array([complex(-poly[0] / poly[1])])
    return np.roots(poly[::-1])  # np.roots wants the highest power first


def check_roots(poly: np.ndarray, name: str, what: str) -> float:
    """Raise if a root of the lag polynomial lies on or inside the unit circle; else return min |root|."""
    roots = lag_roots(poly)
    if roots.size == 0:
        return math.inf
    bad = roots[np.abs(roots) <= 1 + _ROOT_TOL]
    if bad.size:
        shown = ", ".join(f"{complex(r):.4g} (|z|={abs(r):.4g})" for r in bad)
        raise ValueError(
            f"{name} is not {what}: its lag polynomial {np.round(poly, 6).tolist()} has root(s) {shown} "
            "on or inside the unit circle; every root must satisfy |z| > 1"
        )
    return float(np.min(np.abs(roots)))
