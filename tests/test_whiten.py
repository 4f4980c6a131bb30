"""Whitening lens against scikit-learn, on real data (digits, image patches) and random data."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

from conftest import assert_close
from convlens.data import load_image
from convlens.whiten import (
    PatchWhitener,
    PCAWhitener,
    Standardizer,
    ZCAWhitener,
    pca_whiten,
    standardize,
    zca_whiten,
)


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    return load_digits().data


@pytest.fixture(scope="module")
def patches() -> np.ndarray:
    """All 8 x 8 patches of the camera photo on a stride-4 grid: 64 correlated features."""
    img = load_image("camera").astype(np.float64)
    win = np.lib.stride_tricks.sliding_window_view(img, (8, 8))[::4, ::4]
    return win.reshape(-1, 64)


def _correlated(rng, n=400, d=6) -> np.ndarray:
    return rng.standard_normal((n, d)) @ rng.standard_normal((d, d)) + rng.uniform(-5, 5, d)


# --------------------------------------------------------------------------- PCA whitening


@pytest.mark.parametrize("n_components", [None, 3, 0.9])
def test_pca_whiten_equals_sklearn_up_to_sign(rng, n_components):
    X = _correlated(rng)
    ref = PCA(n_components, whiten=True).fit(X)
    ours = PCAWhitener(n_components).fit(X)
    assert ours.n_components_ == ref.n_components_
    Zr, Zo = ref.transform(X), ours.transform(X)
    signs = np.sign(np.sum(Zr * Zo, axis=0))
    assert_close(Zo * signs, Zr, rel=1e-10)
    assert_close(ours.explained_variance_, ref.explained_variance_, rel=1e-10)
    assert_close(ours.inverse_transform(Zo), ref.inverse_transform(Zr), rel=1e-10)


@pytest.mark.parametrize("n_components", [0.5, 0.95, 0.999, 20, 61])
def test_pca_on_digits_equals_sklearn_and_is_white(digits, n_components):
    ref = PCA(n_components, whiten=True).fit(digits)
    ours = PCAWhitener(n_components).fit(digits)
    assert ours.n_components_ == ref.n_components_
    Zo = ours.transform(digits)
    signs = np.sign(np.sum(ref.transform(digits) * Zo, axis=0))
    assert_close(Zo * signs, ref.transform(digits), rel=1e-9)
    np.testing.assert_allclose(np.cov(Zo, rowvar=False), np.eye(Zo.shape[1]), atol=1e-6)


def test_zca_on_image_patches_is_white(patches):
    Z = zca_whiten(patches)
    np.testing.assert_allclose(np.cov(Z, rowvar=False), np.eye(64), atol=1e-6)
    np.testing.assert_allclose(np.cov(pca_whiten(patches), rowvar=False), np.eye(64), atol=1e-6)


def test_zca_on_digits_with_dropped_directions_gives_the_projector(digits):
    zca = ZCAWhitener(0.99).fit(digits)
    Z = zca.transform(digits)
    U = zca.components_.T
    np.testing.assert_allclose(np.cov(Z, rowvar=False), U @ U.T, atol=1e-6)


def test_zca_is_pca_rotated_back_and_symmetric(rng):
    X = _correlated(rng)
    zca, pca = ZCAWhitener().fit(X), PCAWhitener().fit(X)
    assert_close(zca.transform(X), pca.transform(X) @ pca.components_, rel=1e-10)
    assert_close(zca.whitening_matrix_, zca.whitening_matrix_.T)
    cov = np.cov(X, rowvar=False)
    assert_close(zca.whitening_matrix_ @ cov @ zca.whitening_matrix_, np.eye(6), rel=1e-10)
    assert_close(zca.inverse_transform(zca.transform(X)), X, rel=1e-12)


def test_zca_changes_the_data_least(rng):
    """Among whitenings W' = R W (R orthogonal), ZCA is closest to the centred data."""
    X = _correlated(rng)
    Xc = X - X.mean(0)
    zca = ZCAWhitener().fit_transform(X)
    q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    assert np.linalg.norm(zca - Xc) < np.linalg.norm(zca @ q - Xc)
    assert np.linalg.norm(zca - Xc) < np.linalg.norm(PCAWhitener().fit_transform(X) - Xc)


def test_epsilon_damps_small_directions(rng):
    X = _correlated(rng)
    eps = 0.5
    pca = PCAWhitener(epsilon=eps).fit(X)
    lam = pca.explained_variance_
    assert_close(np.var(pca.transform(X), axis=0, ddof=1), lam / (lam + eps), rel=1e-10)


def test_recomputes_centred_covariance_for_large_offsets(rng):
    """A mean 1e6 times the spread would lose digits in X'X - n m m'; the fit centres first."""
    X = rng.standard_normal((500, 4)) @ rng.standard_normal((4, 4)) + 1e6
    Z = zca_whiten(X)
    np.testing.assert_allclose(np.cov(Z, rowvar=False), np.eye(4), atol=1e-6)


def test_float32_stays_float32_and_inputs_are_kept(rng):
    # Well-conditioned: float32 resolves eigenvalues only down to ~n * eps32 of the largest.
    X = (rng.standard_normal((400, 6)) @ (np.eye(6) + 0.3 * rng.standard_normal((6, 6))) + 3).astype(np.float32)
    before = X.copy()
    for fn in (standardize, pca_whiten, zca_whiten):
        out = fn(X)
        assert out.dtype == np.float32
    np.testing.assert_array_equal(X, before)
    np.testing.assert_allclose(np.cov(zca_whiten(X), rowvar=False), np.eye(6), atol=1e-3)


def test_transform_new_data_equals_fit_transform(rng):
    X = _correlated(rng)
    for cls in (Standardizer, PCAWhitener, ZCAWhitener):
        assert_close(cls().fit(X).transform(X), cls().fit_transform(X))


# --------------------------------------------------------------------------- standardize


def test_standardize_equals_standard_scaler(digits):
    X = digits[:, digits.std(0) > 0]
    assert_close(standardize(X), StandardScaler().fit_transform(X))
    s = Standardizer(ddof=1).fit(X)
    assert_close(s.scale_, X.std(0, ddof=1))
    assert_close(s.inverse_transform(s.transform(X)), X)


# --------------------------------------------------------------------------- patch whitening


def test_patch_kernel_is_the_zca_of_each_patch():
    img = load_image("camera")[200:280, 150:250] / 255.0
    pw = PatchWhitener(5, epsilon=1e-4, rng=0).fit(img)
    out = pw.transform(img, mode="valid")
    win = np.lib.stride_tricks.sliding_window_view(img, (5, 5)).reshape(-1, 25)
    ref = pw.zca_.transform(win)[:, 12].reshape(out.shape)
    assert_close(out, ref, rel=1e-10)
    assert pw.filters_.shape == (25, 5, 5)
    assert_close(pw.filters_[12], pw.kernel_)


def test_patch_whitening_decorrelates_neighbours():
    img = load_image("camera") / 255.0
    pw = PatchWhitener(7, epsilon=1e-4, rng=1).fit(img)
    out = pw.transform(img)
    assert out.shape == img.shape

    def lag1(a):
        a = a - a.mean()
        return float((a[:, 1:] * a[:, :-1]).mean() / a.var())

    assert lag1(img) > 0.9
    assert abs(lag1(out)) < 0.1
    assert pw.kernel_[3, 3] > 0 and pw.kernel_[3, 2] < 0 and pw.kernel_[2, 3] < 0  # centre-surround


def test_patch_whitener_on_a_stack_and_float32(rng):
    stack = rng.standard_normal((3, 20, 20)).astype(np.float32)
    pw = PatchWhitener(3, rng=rng).fit(stack)
    out = pw.transform(stack)
    assert out.shape == stack.shape and out.dtype == np.float32


# --------------------------------------------------------------------------- bad input


def test_singular_covariance_explains_epsilon(digits):
    with pytest.raises(ValueError, match=r"singular or nearly so: 3 of the 64 kept eigenvalues.*epsilon > 0"):
        PCAWhitener().fit(digits)
    with pytest.raises(ValueError, match="pass epsilon > 0 to divide by sqrt"):
        Standardizer().fit(digits)
    Z = ZCAWhitener(epsilon=1e-3).fit_transform(digits)  # regularized: no error
    assert np.isfinite(Z).all()


@pytest.mark.parametrize(
    ("X", "kwargs", "exc", "match"),
    [
        (np.ones(5), {}, ValueError, r"X must be a 2-D array \(n_samples, n_features\)"),
        (
            [[1.0, np.nan], [2, 3], [4, 1]],
            {},
            ValueError,
            "X must be finite: it has 1 NaN or inf value.*row 0, column 1",
        ),
        (np.eye(3), {"n_components": 5}, ValueError, r"n_components must be an int in \[1, 3\]"),
        (np.eye(3), {"n_components": 1.5}, ValueError, r"n_components must be None, an int in \[1, 3\] or a float"),
        (np.eye(3), {"epsilon": -1.0}, ValueError, "epsilon must be a real number >= 0"),
        ([[1.0, 2.0]], {}, ValueError, "X needs at least 2 samples"),
        ([["a", "b"]], {}, TypeError, "X must have a numeric dtype"),
    ],
)
def test_whitener_bad_input(X, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        PCAWhitener(**kwargs).fit(X)


def test_not_fitted_and_feature_mismatch(rng):
    with pytest.raises(ValueError, match="not fitted yet"):
        ZCAWhitener().transform(np.eye(3))
    with pytest.raises(ValueError, match="not fitted yet"):
        PatchWhitener().transform(np.eye(9))
    zca = ZCAWhitener().fit(_correlated(rng))
    with pytest.raises(ValueError, match="X has 3 features, but the whitener was fitted on 6"):
        zca.transform(np.eye(3))
    with pytest.raises(ValueError, match="size must be an int or a pair"):
        PatchWhitener(1).fit(np.eye(9))
    with pytest.raises(ValueError, match="smaller than the patch size"):
        PatchWhitener(5).fit(np.eye(3))


def test_ddof_follows_the_error_rule():
    X = np.arange(6.0).reshape(3, 2)
    with pytest.raises(TypeError, match=r"^ddof must be an integer >= 0; got 1.5 \(float\)$"):
        Standardizer(ddof=1.5).fit(X)
    with pytest.raises(ValueError, match=r"^ddof must be an integer >= 0; got -1$"):
        Standardizer(ddof=-1).fit(X)
    with pytest.raises(ValueError, match=r"ddof must be an integer in \[0, n_samples\); got 3 with 3 samples"):
        Standardizer(ddof=3).fit(X)


def test_patch_whitener_names_the_first_non_finite_pixel():
    img = np.zeros((8, 9))
    img[2, 5] = np.nan
    with pytest.raises(
        ValueError, match=r"^image must be finite; got 1 NaN or inf value\(s\), the first at index \(2, 5\)$"
    ):
        PatchWhitener(3).fit(img)
    with pytest.raises(ValueError, match=r"not fitted yet: call fit\(image\) first"):
        PatchWhitener(3).transform(img)
    with pytest.raises(ValueError, match=r"image must be \(H, W\) or \(N, H, W\); got shape \(2, 8, 9, 1\)"):
        PatchWhitener(3).fit(np.zeros((2, 8, 9, 1)))


def test_a_fit_that_failed_half_way_leaves_the_whitener_unfitted():
    s = Standardizer()
    with pytest.raises(ValueError, match="constant feature"):
        s.fit([[1.0, 2.0], [1.0, 3.0]])
    with pytest.raises(ValueError, match=r"^this Standardizer is not fitted yet: call fit\(X\) first$"):
        s.transform([[1.0, 2.0]])


def test_inverse_transform_checks_the_whitened_width(rng):
    pca = PCAWhitener(2).fit(rng.standard_normal((50, 4)))
    assert pca.inverse_transform(np.zeros((3, 2))).shape == (3, 4)
    with pytest.raises(ValueError, match=r"^Z has 4 features, but the whitened data have 2$"):
        pca.inverse_transform(np.zeros((3, 4)))
    with pytest.raises(
        ValueError, match=r"^Z must be finite: it has 1 NaN or inf value\(s\), the first at row 1, column 0$"
    ):
        pca.inverse_transform([[0.0, 0.0], [np.inf, 0.0]])


def test_fitted_whiteners_pickle_under_the_public_package():
    import pickle
    import pickletools

    import convlens.whiten as w

    X = np.random.default_rng(0).standard_normal((40, 3))
    for est in (w.PCAWhitener(), w.ZCAWhitener(), w.Standardizer()):
        blob = pickle.dumps(est.fit(X))
        names = " ".join(str(arg) for op, arg, _ in pickletools.genops(blob) if isinstance(arg, str))
        assert "convlens.whiten" in names and "convlens.whiten._" not in names
        assert np.array_equal(pickle.loads(blob).transform(X), est.transform(X))
    for name in w.__all__:
        assert getattr(w, name).__module__ == "convlens.whiten"
