"""What every whitener shares: its input checks and the fit / transform protocol.

Private to :mod:`convlens.whiten`.
"""

from __future__ import annotations

import numpy as np

from .._validation import check_alloc, check_array, check_float, result_dtype


def _check_matrix(name: str, X, what: str) -> tuple[np.ndarray, np.dtype]:
    """(X in its working dtype, the dtype to return) by the package's dtype rule.

    ``what`` names the call for the memory guard: the working copy, the centred
    copy and the result are each the size of X (which may be a broadcast view).
    """
    X = check_array(name, X, allow_complex=False)
    if X.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (n_samples, n_features); got shape {X.shape}")
    out, work = result_dtype(X.dtype, allow_complex=False, name=name)
    check_alloc(X.shape, work, what=what, copies=3)
    return np.asarray(X, dtype=work), out


def _column_mean(name: str, X: np.ndarray) -> np.ndarray:
    """Column means in float64; a NaN or inf anywhere makes its column mean non-finite, so this also checks X."""
    mean = X.mean(axis=0, dtype=np.float64)
    if not np.isfinite(mean).all():
        bad = ~np.isfinite(X)
        if bad.any():
            r, c = np.argwhere(bad)[0]
            raise ValueError(
                f"{name} must be finite: it has {int(bad.sum())} NaN or inf value(s), the first at row {r}, column {c}"
            )
        raise ValueError(f"{name} has values too large to average in float64 (the column sums overflow)")
    return mean


def _check_epsilon(epsilon) -> float:
    return check_float("epsilon", epsilon, minimum=0)


def _check_covariance_memory(obj, d: int) -> None:
    """A (d, d) covariance, its eigenvectors and the whitening matrices (a wide X is cheap to pass as a view)."""
    check_alloc((d, d), np.float64, what=f"{type(obj).__name__}.fit", copies=4)


def _check_fitted(obj, attr: str, fit: str = "fit(X)") -> None:
    if not hasattr(obj, attr):
        raise ValueError(f"this {type(obj).__name__} is not fitted yet: call {fit} first")


class _Whitener:
    """fit / transform / fit_transform / inverse_transform over a fitted affine map.

    A subclass sets ``_FITTED``, the attribute its ``_fit`` sets last (so a fit
    that failed half-way still counts as not fitted).
    """

    _FITTED = "mean_"

    def fit(self, X, y=None):
        """Learn the transform from ``X`` of shape (n_samples, n_features); returns self."""
        self._fit(_check_matrix("X", X, f"{type(self).__name__}.fit")[0])
        return self

    def fit_transform(self, X, y=None) -> np.ndarray:
        """``fit(X).transform(X)``, reusing the centred data."""
        X, out = _check_matrix("X", X, f"{type(self).__name__}.fit_transform")
        self._fit(X)
        return self._apply(X).astype(out, copy=False)

    def transform(self, X) -> np.ndarray:
        """Whiten ``X`` (n_samples, n_features) with the fitted transform."""
        X, out = self._fitted_input("X", X, "transform")
        return self._apply(X).astype(out, copy=False)

    def _fitted_input(self, name: str, X, method: str, *, whitened: bool = False) -> tuple[np.ndarray, np.dtype]:
        """``X`` for a fitted map (``whitened``: the whitened side): checked, in its working dtype, and the dtype to return."""
        _check_fitted(self, self._FITTED)
        X, out = _check_matrix(name, X, f"{type(self).__name__}.{method}")
        n = self.whitening_matrix_.shape[1] if whitened else self.mean_.size
        if X.shape[1] != n:
            fitted = "the whitened data have" if whitened else "the whitener was fitted on"
            raise ValueError(f"{name} has {X.shape[1]} features, but {fitted} {n}")
        _column_mean(name, X)  # refuses NaN and inf, naming the first
        return X, out
