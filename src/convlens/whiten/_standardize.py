"""Standardizing: centre each feature and scale it to unit variance.

Private to :mod:`convlens.whiten` (import :class:`Standardizer` and :func:`standardize` from there).
"""

from __future__ import annotations

import numpy as np

from .._validation import check_int, user_function
from ._base import _check_epsilon, _column_mean, _Whitener


class Standardizer(_Whitener):
    """Centre each feature and divide by its standard deviation (sklearn's ``StandardScaler``).

    Parameters
    ----------
    ddof : int, optional
        Delta degrees of freedom of the standard deviation (0, like scikit-learn).
    epsilon : float, optional
        Divide by ``sqrt(var + epsilon)``.  With the default 0 a constant
        feature is an error.

    Attributes
    ----------
    mean_, scale_ : (n_features,) ndarray

    Examples
    --------
    >>> from convlens.whiten import Standardizer
    >>> s = Standardizer().fit([[1.0, 10], [3, 30]])
    >>> s.transform([[2.0, 40]])
    array([[0., 2.]])
    >>> s.inverse_transform([[0.0, 2]])
    array([[ 2., 40.]])
    """

    _FITTED = "scale_"

    def __init__(self, *, ddof: int = 0, epsilon: float = 0.0) -> None:
        self.ddof = ddof
        self.epsilon = epsilon

    def _fit(self, X: np.ndarray) -> np.ndarray:
        epsilon = _check_epsilon(self.epsilon)
        ddof = check_int("ddof", self.ddof, minimum=0)
        if ddof >= X.shape[0]:
            raise ValueError(f"ddof must be an integer in [0, n_samples); got {ddof!r} with {X.shape[0]} samples")
        self.mean_ = _column_mean("X", X)
        centred = X - self.mean_.astype(X.dtype)
        var = np.einsum("ij,ij->j", centred, centred, dtype=np.float64) / (X.shape[0] - ddof) + epsilon
        zero = np.flatnonzero(var <= 0)
        if zero.size:
            raise ValueError(
                f"X has {zero.size} constant feature(s) (first: column {zero[0]}): standardizing divides by their "
                "standard deviation 0; drop them or pass epsilon > 0 to divide by sqrt(var + epsilon)"
            )
        self.scale_ = np.sqrt(var)

    def _apply(self, X: np.ndarray) -> np.ndarray:
        out = X - self.mean_.astype(X.dtype)
        out /= self.scale_.astype(X.dtype)
        return out

    def inverse_transform(self, Z) -> np.ndarray:
        """Undo :meth:`transform`."""
        Z, out = self._fitted_input("Z", Z, "inverse_transform")
        return (Z * self.scale_.astype(Z.dtype) + self.mean_.astype(Z.dtype)).astype(out, copy=False)


def standardize(X, *, ddof: int = 0, epsilon: float = 0.0) -> np.ndarray:
    """Centre each column of ``X`` and scale it to unit variance; see :class:`Standardizer`.

    Examples
    --------
    >>> from convlens.whiten import standardize
    >>> standardize([[1.0, 5], [3, 5.5], [5, 6]])
    array([[-1.2247, -1.2247],
           [ 0.    ,  0.    ],
           [ 1.2247,  1.2247]])
    """
    with user_function("standardize"):
        return Standardizer(ddof=ddof, epsilon=epsilon).fit_transform(X)
