"""PCA and ZCA whitening: rotate onto the eigenvectors of the covariance and scale to unit variance.

Private to :mod:`convlens.whiten` (import the whiteners and their function forms from there).
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from .._validation import user_function
from ._base import _check_covariance_memory, _check_epsilon, _column_mean, _Whitener


class _EigenWhitener(_Whitener):
    _FITTED = "whitening_matrix_"

    def __init__(
        self, n_components: int | float | None = None, *, epsilon: float = 0.0, rtol: float | None = None
    ) -> None:
        self.n_components = n_components
        self.epsilon = epsilon
        self.rtol = rtol

    def _n_keep(self, ratio: np.ndarray) -> int:
        n_comp, d = self.n_components, ratio.size
        if n_comp is None:
            return d
        if isinstance(n_comp, (int, np.integer)) and not isinstance(n_comp, bool):
            if not 1 <= n_comp <= d:
                raise ValueError(f"n_components must be an int in [1, {d}] or a float in (0, 1); got {n_comp!r}")
            return int(n_comp)
        if isinstance(n_comp, (bool, np.bool_)) or not isinstance(n_comp, (int, float, np.integer, np.floating)):
            raise TypeError(
                f"n_components must be None, an int in [1, {d}] or a float in (0, 1) (explained-variance fraction); "
                f"got {n_comp!r} ({type(n_comp).__name__})"
            )
        if isinstance(n_comp, (float, np.floating)) and 0 < n_comp < 1:
            # As scikit-learn: the fewest components whose explained variance exceeds the fraction.
            return int(np.searchsorted(np.cumsum(ratio), n_comp, side="right") + 1)
        raise ValueError(
            f"n_components must be None, an int in [1, {d}] or a float in (0, 1) (explained-variance fraction); got {n_comp!r}"
        )

    def _fit(self, X: np.ndarray) -> np.ndarray:
        epsilon = _check_epsilon(self.epsilon)
        n, d = X.shape
        _check_covariance_memory(self, d)
        if n < 2:
            raise ValueError(f"X needs at least 2 samples to estimate a covariance; got {n}")
        self.mean_ = mean = _column_mean("X", X)
        cov = None
        if X.dtype == np.float64:
            # Skip the centred copy (as scikit-learn does): cov = (X'X - n m m') / (n - 1).
            # The subtraction cancels about log10(m^2 / var) digits; accept it only while
            # that costs fewer than 4 of float64's 16 digits, else centre first.
            gram = X.T @ X  # one BLAS syrk on a C-contiguous X
            var = np.diag(gram) / n - mean**2
            if np.all(var >= 1e-4 * mean**2):
                cov = (gram - n * np.outer(mean, mean)) / (n - 1)
        self._centre_first = cov is None
        if cov is None:
            centred = X - mean.astype(X.dtype)
            cov = (centred.T @ centred).astype(np.float64) / (n - 1)
        # LAPACK's divide-and-conquer driver: numpy's eigh was measured 40x slower on 64 x 64 here.
        lam, vec = linalg.eigh(cov, driver="evd")
        lam, vec = lam[::-1].clip(min=0), vec[:, ::-1]
        # Sign as scikit-learn's svd_flip: the largest-magnitude entry of each component is positive.
        signs = np.sign(vec[np.argmax(np.abs(vec), axis=0), np.arange(d)])
        vec *= np.where(signs == 0, 1, signs)
        total = lam.sum()
        ratio = lam / total if total > 0 else np.full(d, 1.0 / d)
        k = self._n_keep(ratio)
        rtol = max(n, d) * np.finfo(X.dtype).eps if self.rtol is None else float(self.rtol)
        small = np.flatnonzero(lam[:k] <= rtol * max(lam[0], np.finfo(np.float64).tiny))
        if small.size and epsilon == 0:
            raise ValueError(
                f"the covariance of X is singular or nearly so: {small.size} of the {k} kept eigenvalues are <= "
                f"{rtol:.3g} * largest ({lam[0]:.4g}); whitening would divide by sqrt(0). Pass n_components "
                f"(e.g. {int(small[0])} or an explained-variance fraction such as 0.99) to drop those directions, "
                "or epsilon > 0 to divide by sqrt(lambda + epsilon) instead (whitened variance lambda/(lambda+epsilon))"
            )
        self.components_ = vec[:, :k].T.copy()
        self.explained_variance_ = lam[:k]
        self.explained_variance_ratio_ = ratio[:k]
        self.n_components_ = k
        self._scale = np.sqrt(lam[:k] + epsilon)
        self._set_matrices()

    def _apply(self, X: np.ndarray) -> np.ndarray:
        wm = self.whitening_matrix_.astype(X.dtype)
        if self._centre_first:
            return (X - self.mean_.astype(X.dtype)) @ wm
        out = X @ wm
        out -= (self.mean_ @ self.whitening_matrix_).astype(X.dtype)
        return out

    def inverse_transform(self, Z) -> np.ndarray:
        """Map whitened data back (exact when no component was dropped)."""
        Z, out = self._fitted_input("Z", Z, "inverse_transform", whitened=True)
        return (Z @ self.coloring_matrix_.astype(Z.dtype) + self.mean_.astype(Z.dtype)).astype(out, copy=False)


class PCAWhitener(_EigenWhitener):
    """PCA whitening: project on the eigenvectors of the covariance, scale to unit variance.

    Equal to ``sklearn.decomposition.PCA(n_components, whiten=True)`` (same
    covariance with ``n - 1``, same component signs); whitened covariance is
    the identity.

    Parameters
    ----------
    n_components : int or float, optional
        None: keep all; an int: keep that many leading components; a float in
        (0, 1): keep the fewest components explaining more than that fraction
        of the variance.
    epsilon : float, optional
        Regularization: divide by ``sqrt(lambda + epsilon)`` (see the module notes).
    rtol : float, optional
        Eigenvalues ``<= rtol * largest`` count as zero (default
        ``max(n_samples, n_features) * eps``); kept zero eigenvalues with
        ``epsilon = 0`` are an error.

    Attributes
    ----------
    mean_ : (n_features,) ndarray
    components_ : (n_components, n_features) ndarray
        Eigenvectors, by decreasing variance.
    explained_variance_, explained_variance_ratio_ : (n_components,) ndarray
    whitening_matrix_ : (n_features, n_components) ndarray
        ``transform(X) = (X - mean_) @ whitening_matrix_``.
    coloring_matrix_ : (n_components, n_features) ndarray
        ``inverse_transform(Z) = Z @ coloring_matrix_ + mean_``.

    Examples
    --------
    >>> import numpy as np
    >>> from convlens.whiten import PCAWhitener
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((500, 3)) @ [[2.0, 0, 0], [1, 1, 0], [0, 0, 0.1]]
    >>> Z = PCAWhitener().fit_transform(X)
    >>> bool(np.allclose(np.cov(Z, rowvar=False), np.eye(3)))
    True
    """

    def _set_matrices(self) -> None:
        self.whitening_matrix_ = self.components_.T / self._scale
        self.coloring_matrix_ = self._scale[:, None] * self.components_


class ZCAWhitener(_EigenWhitener):
    """ZCA (zero-phase, Mahalanobis) whitening: ``W = U diag(1/sqrt(lambda + epsilon)) U^T``.

    Of all whitening matrices ZCA changes the data least (it minimizes the
    mean squared distance to the centred data), so whitened images still look
    like images.  Its rows are the decorrelation filters.  With fewer
    ``n_components`` than features the dropped directions are set to zero and
    the whitened covariance is the projector ``U_k U_k^T`` instead of the identity.

    Parameters
    ----------
    n_components, epsilon, rtol
        As in :class:`PCAWhitener`.

    Attributes
    ----------
    mean_, components_, explained_variance_, explained_variance_ratio_
        As in :class:`PCAWhitener`.
    whitening_matrix_ : (n_features, n_features) ndarray
        Symmetric; ``transform(X) = (X - mean_) @ whitening_matrix_``.
    coloring_matrix_ : (n_features, n_features) ndarray
        ``U diag(sqrt(lambda + epsilon)) U^T``.

    Examples
    --------
    >>> import numpy as np
    >>> from convlens.whiten import ZCAWhitener
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((500, 2)) @ [[1.0, 0.9], [0, 0.4]]
    >>> zca = ZCAWhitener().fit(X)
    >>> bool(np.allclose(np.cov(zca.transform(X), rowvar=False), np.eye(2)))
    True
    >>> bool(np.allclose(zca.inverse_transform(zca.transform(X)), X))
    True
    """

    def _set_matrices(self) -> None:
        self.whitening_matrix_ = (self.components_.T / self._scale) @ self.components_
        self.coloring_matrix_ = (self.components_.T * self._scale) @ self.components_


def pca_whiten(X, n_components: int | float | None = None, *, epsilon: float = 0.0) -> np.ndarray:
    """PCA-whiten ``X`` (n_samples, n_features); see :class:`PCAWhitener`.

    Examples
    --------
    >>> import numpy as np
    >>> from convlens.whiten import pca_whiten
    >>> rng = np.random.default_rng(1)
    >>> pca_whiten(rng.standard_normal((100, 5)), 2).shape
    (100, 2)
    """
    with user_function("pca_whiten"):
        return PCAWhitener(n_components, epsilon=epsilon).fit_transform(X)


def zca_whiten(X, n_components: int | float | None = None, *, epsilon: float = 0.0) -> np.ndarray:
    """ZCA-whiten ``X`` (n_samples, n_features); see :class:`ZCAWhitener`.

    Examples
    --------
    >>> import numpy as np
    >>> from convlens.whiten import zca_whiten
    >>> rng = np.random.default_rng(2)
    >>> Z = zca_whiten(rng.standard_normal((1000, 2)) @ [[3.0, 1], [0, 1]])
    >>> bool(np.allclose(np.cov(Z, rowvar=False), np.eye(2)))
    True
    """
    with user_function("zca_whiten"):
        return ZCAWhitener(n_components, epsilon=epsilon).fit_transform(X)
