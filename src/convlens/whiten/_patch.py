"""Patch whitening: ZCA on image patches, applied to whole images as one correlation.

Private to :mod:`convlens.whiten` (import :class:`PatchWhitener` from there).
"""

from __future__ import annotations

import numpy as np

from .._engine import correlate
from .._validation import (
    BOUNDARIES,
    check_alloc,
    check_array,
    check_choice,
    check_finite,
    check_positive_int,
    check_rng,
    check_shape,
    result_dtype,
    user_function,
)
from ._base import _check_fitted
from ._eigen import ZCAWhitener


def _check_image(image) -> np.ndarray:
    """A real grey image (H, W) or a stack of them (N, H, W)."""
    img = check_array("image", image, allow_complex=False)
    if img.ndim not in (2, 3):
        raise ValueError(f"image must be (H, W) or (N, H, W); got shape {img.shape}")
    return img


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
        img = _check_image(image)
        result_dtype(img.dtype, allow_complex=False, name="image")  # the dtype rule's refusals (longdouble)
        n_patches = check_positive_int("n_patches", self.n_patches)
        check_alloc(img.shape, np.float64, what="PatchWhitener.fit")  # the float64 copy (x may be a broadcast view)
        h, w = self._size()
        if img.shape[-2] < h or img.shape[-1] < w:
            raise ValueError(f"image of shape {img.shape[-2:]} is smaller than the patch size {(h, w)}")
        check_finite("image", img)  # after the memory guard: it reads the whole image
        img = img.astype(np.float64).reshape((-1, *img.shape[-2:]))
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
        _check_fitted(self, "kernel_", "fit(image)")
        img = _check_image(image)
        check_choice("boundary", boundary, BOUNDARIES)
        out_dtype, work = result_dtype(img.dtype, allow_complex=False, name="image")
        img = img.astype(work, copy=False)
        axes = (img.ndim - 2, img.ndim - 1)
        with user_function("PatchWhitener.transform"):
            out = correlate(img, self.kernel_.astype(work), mode, axes=axes, boundary=boundary, workers=workers)
        out -= np.asarray(self.offset_, dtype=out.dtype)
        return out.astype(out_dtype, copy=False)
