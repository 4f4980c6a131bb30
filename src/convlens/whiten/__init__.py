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

Layout (private modules; import every name from ``convlens.whiten``):
``_base`` (input checks and the fit / transform protocol), ``_standardize``,
``_eigen`` (PCA and ZCA) and ``_patch`` (patch whitening through the engine).
"""

from __future__ import annotations

from ._eigen import PCAWhitener, ZCAWhitener, pca_whiten, zca_whiten
from ._patch import PatchWhitener
from ._standardize import Standardizer, standardize

__all__ = [
    "PCAWhitener",
    "PatchWhitener",
    "Standardizer",
    "ZCAWhitener",
    "pca_whiten",
    "standardize",
    "zca_whiten",
]

# Pickles name the public package, not the private module a name lives in (so a
# fitted whitener saved today still loads after the modules are reorganized).
for _name in __all__:
    globals()[_name].__module__ = __name__
del _name
