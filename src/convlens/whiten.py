"""Whitening: make data look like white noise (centred, unit variance, uncorrelated).

The essay: pre-processing makes data close to white noise, and decorrelation
"reorients the axes along the eigenvectors of the data".  Three steps, each a
scikit-learn style object with ``fit`` / ``transform`` / ``inverse_transform``
and a function form:

* :class:`Standardizer` / :func:`standardize` - centre and scale each feature;
* :class:`PCAWhitener` / :func:`pca_whiten` - rotate onto the eigenvectors of
  the covariance and scale each to unit variance (equal to
  ``sklearn.decomposition.PCA(whiten=True)`` up to the sign of each component);
  dimensions with the least variance can be dropped (``n_components``);
* :class:`ZCAWhitener` / :func:`zca_whiten` - PCA whitening rotated back to the
  original axes (``W = U diag(1/sqrt(lambda)) U^T``), the whitening closest to
  the data (scikit-learn has none);
* :class:`PatchWhitener` - ZCA on image patches: the row of ``W`` for the
  central pixel is a *decorrelation kernel* (a centre-surround filter) and
  whitening an image is one correlation with it, done by the engine.

About ``epsilon``: whitening divides each eigen-direction by ``sqrt(lambda)``.
A covariance with (near-)zero eigenvalues - constant features, more features
than samples, duplicated columns - cannot be whitened: its null directions
would be blown up without bound.  Either drop them (``n_components``) or
regularize with ``epsilon > 0``, which divides by ``sqrt(lambda + epsilon)``
instead; the whitened covariance is then ``lambda / (lambda + epsilon)`` per
direction (close to 1 where ``lambda >> epsilon``, damped where it is not).
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from ._engine import correlate
from ._validation import (
    BOUNDARIES,
    check_alloc,
    check_array,
    check_choice,
    check_float,
    check_positive_int,
    check_rng,
    check_shape,
    result_dtype,
    user_function,
)

__all__ = [
    "PCAWhitener",
    "PatchWhitener",
    "Standardizer",
    "ZCAWhitener",
    "pca_whiten",
    "standardize",
    "zca_whiten",
]


# --------------------------------------------------------------------------- validation


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


def _check_fitted(obj, attr: str) -> None:
    if not hasattr(obj, attr):
        raise ValueError(f"this {type(obj).__name__} is not fitted yet: call fit(X) first")


def _check_features(name: str, X: np.ndarray, n_features: int) -> None:
    if X.shape[1] != n_features:
        raise ValueError(f"{name} has {X.shape[1]} features, but the whitener was fitted on {n_features}")


class _Whitener:
    """fit / transform / fit_transform / inverse_transform over a fitted affine map."""

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
        _check_fitted(self, "mean_")
        X, out = _check_matrix("X", X, f"{type(self).__name__}.transform")
        _check_features("X", X, self.mean_.size)
        _column_mean("X", X)
        return self._apply(X).astype(out, copy=False)


# --------------------------------------------------------------------------- standardize


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

    def __init__(self, *, ddof: int = 0, epsilon: float = 0.0) -> None:
        self.ddof = ddof
        self.epsilon = epsilon

    def _fit(self, X: np.ndarray) -> np.ndarray:
        epsilon = _check_epsilon(self.epsilon)
        if not isinstance(self.ddof, (int, np.integer)) or not 0 <= self.ddof < X.shape[0]:
            raise ValueError(f"ddof must be an integer in [0, n_samples); got {self.ddof!r} with {X.shape[0]} samples")
        self.mean_ = _column_mean("X", X)
        centred = X - self.mean_.astype(X.dtype)
        var = np.einsum("ij,ij->j", centred, centred, dtype=np.float64) / (X.shape[0] - self.ddof) + epsilon
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
        _check_fitted(self, "scale_")
        Z, out = _check_matrix("Z", Z, f"{type(self).__name__}.inverse_transform")
        _check_features("Z", Z, self.mean_.size)
        _column_mean("Z", Z)
        return (Z * self.scale_.astype(Z.dtype) + self.mean_.astype(Z.dtype)).astype(out, copy=False)


# --------------------------------------------------------------------------- PCA and ZCA


class _EigenWhitener(_Whitener):
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
        _check_fitted(self, "whitening_matrix_")
        Z, out = _check_matrix("Z", Z, f"{type(self).__name__}.inverse_transform")
        _column_mean("Z", Z)
        if Z.shape[1] != self.whitening_matrix_.shape[1]:
            raise ValueError(
                f"Z has {Z.shape[1]} features, but the whitened data have {self.whitening_matrix_.shape[1]}"
            )
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


def pca_whiten(X, n_components: int | float | None = None, *, epsilon: float = 0.0) -> np.ndarray:
    """PCA-whiten ``X`` (n_samples, n_features); see :class:`PCAWhitener`.

    Examples
    --------
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
    >>> from convlens.whiten import zca_whiten
    >>> rng = np.random.default_rng(2)
    >>> Z = zca_whiten(rng.standard_normal((1000, 2)) @ [[3.0, 1], [0, 1]])
    >>> bool(np.allclose(np.cov(Z, rowvar=False), np.eye(2)))
    True
    """
    with user_function("zca_whiten"):
        return ZCAWhitener(n_components, epsilon=epsilon).fit_transform(X)


# --------------------------------------------------------------------------- patch whitening


class PatchWhitener:
    """ZCA whitening of image patches, applied to whole images as a convolution.

    Fits :class:`ZCAWhitener` on ``size`` patches of the training images; the
    row of the ZCA matrix for the patch's centre pixel, reshaped to ``size``,
    is :attr:`kernel_`: the decorrelation kernel.  ``transform(image)``
    correlates the image with it (through the engine), which gives at each
    pixel exactly the ZCA-whitened value of the patch around it.

    Parameters
    ----------
    size : int or (int, int), optional
        Patch size (height, width); odd sizes have a true centre pixel.
    epsilon : float, optional
        ZCA regularization (in the image's squared units).  Natural images have
        tiny high-frequency eigenvalues: a small epsilon keeps the kernel from
        amplifying noise.
    n_patches : int, optional
        Random patches sampled for the fit (all patches when the image has fewer).
    rng : numpy.random.Generator or int, optional
        Seed or generator for the patch sample.

    Attributes
    ----------
    zca_ : ZCAWhitener
        The fitted patch whitener.
    kernel_ : (h, w) ndarray
        The decorrelation kernel (centre-surround for natural images).
    filters_ : (h * w, h, w) ndarray
        Every row of the ZCA matrix as a kernel.

    Examples
    --------
    >>> from convlens.whiten import PatchWhitener
    >>> from convlens.data import load_image
    >>> img = load_image("camera") / 255.0
    >>> pw = PatchWhitener(5, epsilon=1e-4, rng=0).fit(img)
    >>> pw.kernel_.shape, pw.transform(img).shape
    ((5, 5), (512, 512))
    >>> bool(pw.kernel_[2, 2] > 0 > pw.kernel_[2, 1])
    True
    """

    def __init__(
        self,
        size: int | tuple[int, int] = 7,
        *,
        epsilon: float = 0.0,
        n_patches: int = 20000,
        rng: np.random.Generator | int | None = None,
    ) -> None:
        self.size = size
        self.epsilon = epsilon
        self.n_patches = n_patches
        self.rng = rng

    def _size(self) -> tuple[int, int]:
        size = check_shape("size", self.size)
        size = size * 2 if len(size) == 1 else size
        if len(size) != 2 or size == (1, 1):
            raise ValueError(f"size must be an int or a pair of ints >= 1 (not 1 x 1); got {self.size!r}")
        return int(size[0]), int(size[1])

    def fit(self, image, y=None):
        """Fit on one grey image (H, W) or a stack (N, H, W); returns self."""
        img = check_array("image", image, allow_complex=False)
        result_dtype(img.dtype, allow_complex=False, name="image")  # the dtype rule's refusals (longdouble)
        n_patches = check_positive_int("n_patches", self.n_patches)
        check_alloc(img.shape, np.float64, what="PatchWhitener.fit")  # the float64 copy (x may be a broadcast view)
        img = img.astype(np.float64)
        if img.ndim == 2:
            img = img[None]
        if img.ndim != 3:
            raise ValueError(f"image must be (H, W) or (N, H, W); got shape {img.shape}")
        h, w = self._size()
        if img.shape[1] < h or img.shape[2] < w:
            raise ValueError(f"image of shape {img.shape[1:]} is smaller than the patch size {(h, w)}")
        if not np.isfinite(img).all():
            raise ValueError("image must be finite: it has NaN or inf values")
        windows = np.lib.stride_tricks.sliding_window_view(img, (h, w), axis=(1, 2))
        total = windows.shape[0] * windows.shape[1] * windows.shape[2]
        # the sampled patches, and the (h*w)-square covariance and matrices of the ZCA fit
        check_alloc((min(n_patches, total), h * w), np.float64, what="PatchWhitener.fit", copies=2)
        check_alloc((h * w, h * w), np.float64, what="PatchWhitener.fit", copies=4)
        gen = check_rng(self.rng)
        pick = gen.choice(total, size=min(n_patches, total), replace=False)
        idx = np.unravel_index(pick, windows.shape[:3])
        patches = windows[idx].reshape(pick.size, h * w)
        self.zca_ = ZCAWhitener(epsilon=self.epsilon).fit(patches)
        wm = self.zca_.whitening_matrix_
        self.filters_ = wm.reshape(h * w, h, w)
        self.kernel_ = self.filters_[(h // 2) * w + w // 2].copy()
        # The patch mean enters every output as one constant: sum(mean * kernel).
        self.offset_ = float(self.zca_.mean_ @ wm[:, (h // 2) * w + w // 2])
        return self

    def transform(
        self, image, *, mode: str = "same", boundary: str = "reflect", workers: int | None = None
    ) -> np.ndarray:
        """Whiten an image (H, W) or stack (N, H, W) by correlating with :attr:`kernel_`.

        ``mode='valid'`` gives, at (i, j), the whitened centre pixel of the patch
        whose top-left corner is (i, j); ``'same'`` keeps the image size, with
        ``boundary`` extending the image past its edges.
        """
        if not hasattr(self, "kernel_"):
            raise ValueError("this PatchWhitener is not fitted yet: call fit(image) first")
        img = check_array("image", image, allow_complex=False)
        if img.ndim not in (2, 3):
            raise ValueError(f"image must be (H, W) or (N, H, W); got shape {img.shape}")
        check_choice("boundary", boundary, BOUNDARIES)
        out_dtype, work = result_dtype(img.dtype, allow_complex=False, name="image")
        img = img.astype(work, copy=False)
        axes = (img.ndim - 2, img.ndim - 1)
        with user_function("PatchWhitener.transform"):
            out = correlate(img, self.kernel_.astype(work), mode, axes=axes, boundary=boundary, workers=workers)
        out -= np.asarray(self.offset_, dtype=out.dtype)
        return out.astype(out_dtype, copy=False)
