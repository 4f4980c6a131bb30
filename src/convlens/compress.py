"""Compression by keeping frequencies: the essay's JPEG analogy, measured.

"We transform the image, keep only certain frequencies and transform back ...
the compression ratio would be the size of the black area to the size of the
circle."  :func:`keep_frequencies` does exactly that with the DFT or the DCT
(the transform JPEG uses), keeping the lowest frequencies (the circle) or the
largest coefficients, and reports the compression ratio, PSNR and SSIM
(computed by ``skimage.metrics``).  :func:`compare_jpeg` encodes the same
image with real JPEG (Pillow) at the same size, so one sees how close "keep
the circle" comes to JPEG.

Counting: a kept DCT coefficient is one real number; the DFT of a real image
is Hermitian, so a kept conjugate pair of DFT coefficients is two real numbers
and a self-conjugate one (zero frequency, Nyquist) one.  Either way an image
of N pixels is N real numbers, ``ratio = N / kept``.  "Matched size" for JPEG
means a file of at most ``kept`` bytes: one byte per kept number, as an 8-bit
image stores one byte per pixel (the positions of the largest coefficients
are not counted; the lowest ones need none).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from . import _backend as B
from ._lens_common import check_finite_input, check_gray
from ._validation import check_alloc, check_choice, check_float, check_workers, result_dtype

__all__ = ["Compressed", "JpegComparison", "compare_jpeg", "keep_frequencies"]

TRANSFORMS = ("dct", "dft")
SELECTIONS = ("lowest", "largest")


@dataclass(frozen=True)
class Compressed:
    """An image rebuilt from a fraction of its frequency coefficients.

    Attributes
    ----------
    image : ndarray
        The reconstruction, in the image's dtype by the package's dtype rule
        (float16/32/64 kept; integers and bool give float64).
    mask : ndarray of bool
        Which coefficients were kept (DCT layout, or the unshifted DFT layout).
    kept : int
        Real numbers kept.
    total : int
        Real numbers in the image (its number of pixels).
    ratio : float
        Compression ratio ``total / kept``.
    psnr : float
        ``skimage.metrics.peak_signal_noise_ratio`` of the reconstruction (dB).
    ssim : float
        ``skimage.metrics.structural_similarity`` of the reconstruction, with
        its default 7 x 7 window, or on images smaller than 7 pixels on a side
        the largest odd window that fits (3 or 5; see :func:`_ssim_window`).
    data_range : float
        The data range used by both metrics.
    """

    image: np.ndarray
    mask: np.ndarray
    kept: int
    total: int
    ratio: float
    psnr: float
    ssim: float
    data_range: float


@dataclass(frozen=True)
class JpegComparison:
    """Keeping frequencies versus real JPEG at (at most) the same size.

    Attributes
    ----------
    ours : Compressed
        The frequency-keeping result.
    jpeg_image : ndarray of uint8
        The decoded JPEG.
    jpeg_quality : int
        The highest Pillow quality (1..95) whose file fits in ``ours.kept`` bytes
        (1 if none does).
    jpeg_bytes : int
        Size of that JPEG file.
    jpeg_ratio : float
        ``pixels / jpeg_bytes``.
    jpeg_psnr, jpeg_ssim : float
        Metrics of the decoded JPEG against the same 8-bit image.
    """

    ours: Compressed
    jpeg_image: np.ndarray
    jpeg_quality: int
    jpeg_bytes: int
    jpeg_ratio: float
    jpeg_psnr: float
    jpeg_ssim: float


# scikit-image's SSIM window (its default) and the smallest one whose sample variance is defined
SSIM_WINDOW, SSIM_MIN_WINDOW = 7, 3


def _ssim_window(shape: tuple[int, ...]) -> int:
    """The SSIM window for an image of ``shape``: 7 (scikit-image's default), or the largest odd size that fits.

    scikit-image refuses images smaller than its window; rather than leave
    small images without an SSIM (or report NaN), a 5 x 5 or 3 x 3 window is
    used, which is what ``structural_similarity(..., win_size=w)`` computes.
    Images with a side below 3 pixels have no SSIM: the caller refuses them.

    >>> _ssim_window((512, 512)), _ssim_window((6, 40)), _ssim_window((3, 3))
    (7, 5, 3)
    """
    side = min(shape)
    return min(SSIM_WINDOW, side if side % 2 else side - 1)


def _metrics(reference: np.ndarray, test: np.ndarray, data_range: float) -> tuple[float, float]:
    try:
        from skimage.metrics import peak_signal_noise_ratio, structural_similarity
    except ImportError as exc:  # pragma: no cover
        raise ImportError("PSNR and SSIM need scikit-image: pip install 'convlens[lenses]'") from exc
    ref = reference.astype(np.float64)
    tst = test.astype(np.float64)
    if np.array_equal(ref, tst):
        psnr = math.inf  # skimage divides by a zero MSE (and warns)
    else:
        psnr = float(peak_signal_noise_ratio(ref, tst, data_range=data_range))
    ssim = float(structural_similarity(ref, tst, data_range=data_range, win_size=_ssim_window(ref.shape)))
    return psnr, ssim


def _dft_order_key(image_shape, select: str, spec: np.ndarray) -> np.ndarray:
    if select == "lowest":
        fy = np.fft.fftfreq(image_shape[0])[:, None]
        fx = np.fft.fftfreq(image_shape[1])[None, :]
        return fy * fy + fx * fx  # ascending: the circle first
    return -np.abs(spec)  # ascending: the largest first


def _dct_order_key(image_shape, select: str, coef: np.ndarray) -> np.ndarray:
    if select == "lowest":
        # DCT-II coefficient k of n samples is the frequency k / (2 n) cycles/sample
        fy = (np.arange(image_shape[0]) / (2 * image_shape[0]))[:, None]
        fx = (np.arange(image_shape[1]) / (2 * image_shape[1]))[None, :]
        return fy * fy + fx * fx
    return -np.abs(coef)


def _first_k(key: np.ndarray, k: int) -> np.ndarray:
    """Boolean mask of the k entries with the smallest key (ties broken by position, stably)."""
    order = np.argsort(key, axis=None, kind="stable")[:k]
    mask = np.zeros(key.size, bool)
    mask[order] = True
    return mask.reshape(key.shape)


def _mirror(mask: np.ndarray) -> np.ndarray:
    """The mask at the negated frequencies (index -k mod n on every axis)."""
    return np.roll(mask[::-1, ::-1], (1, 1), axis=(0, 1))


def keep_frequencies(
    image: ArrayLike,
    fraction: float,
    *,
    transform: str = "dct",
    select: str = "lowest",
    data_range: float | None = None,
    workers: int | None = None,
) -> Compressed:
    """Keep a fraction of an image's DCT or DFT coefficients, rebuild it, and measure the loss.

    Parameters
    ----------
    image : (M, N) array_like
        Grey image (a colour image raises; convert with ``skimage.color.rgb2gray``).
    fraction : float
        Share of the real numbers to keep, in (0, 1]; the compression ratio is
        about ``1 / fraction``.
    transform : {'dct', 'dft'}, optional
        Orthonormal 2-D DCT-II (default; JPEG's transform, applied to the whole
        image rather than 8x8 blocks) or the DFT.
    select : {'lowest', 'largest'}, optional
        Keep the coefficients of lowest frequency ``|f|`` (default: the essay's
        circle, or a quarter disc for the DCT) or of largest magnitude.
    data_range : float, optional
        Range of the pixel values for PSNR and SSIM (default 255 for uint8
        images, otherwise ``image.max() - image.min()``).
    workers : int, optional
        FFT threads.

    Returns
    -------
    Compressed
        ``image`` (reconstruction), ``mask``, ``kept``, ``total``, ``ratio``,
        ``psnr``, ``ssim``, ``data_range``.  For the DFT, pairs of conjugate
        coefficients are kept together so the reconstruction is real; ``kept``
        may then exceed ``fraction * total`` by a few (ties on the circle).

    Raises
    ------
    ValueError
        fraction outside (0, 1], not a 2-D grey image, an image smaller than
        3 x 3 (SSIM needs a 3 x 3 window at least), non-finite pixels, unknown
        transform or select.

    Examples
    --------
    >>> from convlens.data import load_image
    >>> from convlens.compress import keep_frequencies
    >>> res = keep_frequencies(load_image("camera"), 0.1)        # keep 10 % of the DCT
    >>> res.kept, res.total, round(res.ratio, 1), round(res.psnr, 1), round(res.ssim, 2)
    (26214, 262144, 10.0, 28.5, 0.82)
    """
    image = _check_image(check_gray("image", image, finite=False))
    fraction = check_float("fraction", fraction, minimum=0, maximum=1, min_open=True)
    transform = check_choice("transform", transform, TRANSFORMS)
    select = check_choice("select", select, SELECTIONS)
    workers = check_workers(workers)
    dtype, work = result_dtype(image.dtype, name="image")
    # coefficients, their ordering key, the masked copy and the reconstruction (complex for the DFT)
    check_alloc(image.shape, B.complex_of(work) if transform == "dft" else work, what="keep_frequencies", copies=4)
    check_finite_input("image", image)
    if data_range is None:
        data_range = 255.0 if image.dtype == np.uint8 else (float(np.max(image)) - float(np.min(image))) or 1.0
    else:
        data_range = check_float("data_range", data_range, minimum=0, min_open=True)
    total = image.size
    k = max(1, round(fraction * total))
    x = image.astype(work)
    # these transforms are the compression itself, not a convolution: plain FFT/DCT calls
    if transform == "dct":
        coef = B.dctn(x, None, workers, norm="ortho")
        mask = _first_k(_dct_order_key(x.shape, select, coef), k)
        recon = B.idctn(np.where(mask, coef, 0), None, workers, norm="ortho")
        kept = int(mask.sum())
    else:
        spec = B.fftn(x, None, workers)
        mask = _first_k(_dft_order_key(x.shape, select, spec), k)
        mask |= _mirror(mask)  # a real image needs conjugate pairs together
        recon = B.ifftn(np.where(mask, spec, 0), None, workers).real
        kept = int(mask.sum())  # a pair is 2 real numbers, a self-conjugate coefficient 1
    recon = recon.astype(dtype, copy=False)
    psnr, ssim = _metrics(image, recon, float(data_range))
    return Compressed(
        image=recon,
        mask=mask,
        kept=kept,
        total=total,
        ratio=total / kept,
        psnr=psnr,
        ssim=ssim,
        data_range=float(data_range),
    )


def _check_image(image: np.ndarray) -> np.ndarray:
    """Refuse images too small for the SSIM both functions report (its window needs 3 x 3 pixels)."""
    if min(image.shape) < SSIM_MIN_WINDOW:
        raise ValueError(
            f"image must be at least {SSIM_MIN_WINDOW} x {SSIM_MIN_WINDOW} pixels (the smallest SSIM window); "
            f"got shape {image.shape}"
        )
    return image


def _to_uint8(image: np.ndarray) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    if image.dtype.kind == "f" and image.min() >= 0 and image.max() <= 1:
        return np.round(image * 255).astype(np.uint8)
    raise ValueError(
        f"image must be uint8 or float in [0, 1] for a JPEG comparison; got dtype {image.dtype} "
        f"with values in [{image.min():g}, {image.max():g}] (rescale it, e.g. skimage.util.img_as_ubyte)"
    )


def _jpeg(image8: np.ndarray, quality: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(image8).save(buf, format="JPEG", quality=int(quality))
    return buf.getvalue()


def compare_jpeg(
    image: ArrayLike, fraction: float, *, transform: str = "dct", select: str = "lowest"
) -> JpegComparison:
    """Keep a fraction of the coefficients, and encode the image with real JPEG at the same size.

    Both work on the same 8-bit grey image; the JPEG quality is the highest
    (searched by bisection over Pillow's 1..95) whose file is at most
    ``kept`` bytes (see the module notes on counting).

    Parameters
    ----------
    image : (M, N) array_like
        Grey image, uint8 or float in [0, 1] (converted to 8 bits).
    fraction : float
        Share of coefficients to keep, in (0, 1].
    transform, select : str, optional
        As in :func:`keep_frequencies`.

    Returns
    -------
    JpegComparison

    Raises
    ------
    ValueError
        As :func:`keep_frequencies`, and for images that are neither uint8 nor
        float in [0, 1].

    Examples
    --------
    >>> from convlens.data import load_image
    >>> from convlens.compress import compare_jpeg
    >>> cmp = compare_jpeg(load_image("camera"), 0.1)
    >>> cmp.jpeg_bytes <= cmp.ours.kept, cmp.jpeg_psnr > cmp.ours.psnr   # JPEG wins at equal size
    (True, True)
    """
    image = _check_image(check_gray("image", image))
    fraction = check_float("fraction", fraction, minimum=0, maximum=1, min_open=True)
    image8 = _to_uint8(image)
    ours = keep_frequencies(image8, fraction, transform=transform, select=select, data_range=255.0)
    lo, hi, best = 1, 95, None
    while lo <= hi:  # file size grows with quality: bisect for the largest that fits
        q = (lo + hi) // 2
        data = _jpeg(image8, q)
        if len(data) <= ours.kept:
            best, lo = (q, data), q + 1
        else:
            hi = q - 1
    if best is None:
        best = (1, _jpeg(image8, 1))
    from PIL import Image

    decoded = np.asarray(Image.open(io.BytesIO(best[1])).convert("L"))
    psnr, ssim = _metrics(image8, decoded, 255.0)
    return JpegComparison(
        ours=ours,
        jpeg_image=decoded,
        jpeg_quality=best[0],
        jpeg_bytes=len(best[1]),
        jpeg_ratio=image8.size / len(best[1]),
        jpeg_psnr=psnr,
        jpeg_ssim=ssim,
    )
