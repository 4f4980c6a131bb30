"""Scenes of the essay's first half: the convolution theorem, spectra, filtering, padding."""

from __future__ import annotations

import time

import numpy as np

from .. import Convolver, choose_method, convolve
from .._validation import check_choice, check_float, check_int
from ..compress import compare_jpeg
from ..data import audio_source, load_audio
from ..filters import gaussian_kernel, lowpass, lowpass_mask, mask_to_kernel
from ..spectrum import band_levels, log_spectrum, orientation
from ._common import PHOTO_SOURCES, check_ints, check_odd, check_reals, frozen, photo, scene

# The photos that image_spectra knows.
PHOTO_NAMES = tuple(PHOTO_SOURCES)


@frozen
class ConvolutionTheorem:
    """Direct sum and FFT product on the same photo: equal up to round-off, at different costs."""

    image: np.ndarray
    kernel: np.ndarray
    direct: np.ndarray
    fft: np.ndarray
    max_difference: float
    direct_seconds: float
    fft_seconds: float
    source: str


@scene
def convolution_theorem(kernel_size: int = 25) -> ConvolutionTheorem:
    """Blur ``camera()`` (256 x 256) with a disk ``kernel_size`` wide, directly and by FFT.

    A disk (not separable, unlike a Gaussian) makes the direct sum pay for every tap.
    ``kernel_size`` is an int in [1, 256] (at most the photo's width).

    Examples
    --------
    >>> from convlens.scenes import convolution_theorem
    >>> s = convolution_theorem(5)
    >>> s.direct.shape, s.max_difference < 1e-12
    ((256, 256), True)
    """
    kernel_size = check_int("kernel_size", kernel_size, minimum=1, maximum=256)
    image = photo("camera")
    r = (kernel_size - 1) / 2
    yy, xx = np.mgrid[:kernel_size, :kernel_size] - r
    kernel = (xx**2 + yy**2 <= r**2 + 0.5).astype(np.float64)
    kernel /= kernel.sum()
    timings = {}
    results = {}
    for method in ("direct", "fft"):
        best = np.inf
        for _ in range(2):  # the best of two: the first call may pay for imports and plans
            t0 = time.perf_counter()
            results[method] = convolve(image, kernel, "same", boundary="reflect", method=method)
            best = min(best, time.perf_counter() - t0)
        timings[method] = best
    diff = float(np.abs(results["direct"] - results["fft"]).max())
    return ConvolutionTheorem(
        image,
        kernel,
        results["direct"],
        results["fft"],
        diff,
        timings["direct"],
        timings["fft"],
        PHOTO_SOURCES["camera"],
    )


@frozen
class EngineTour:
    """What the engine decides and how NaN stays local: numbers for the text demo."""

    shape: tuple[int, int]
    sizes: tuple[int, ...]
    methods: tuple[str, ...]
    milliseconds: tuple[float, ...]
    mean_before: float
    means_after: tuple[float, ...]
    nan_inputs: int
    nan_outputs_propagate: int
    nan_outputs_interpolate: int
    plan_method: str
    plan_ms_per_frame: float
    source: str


@scene
def engine_tour(sizes: tuple[int, ...] = (3, 31)) -> EngineTour:
    """Gaussian blurs of ``camera()`` (512 x 512 float32), a 10 x 10 hole of NaN, a reusable plan.

    ``sizes`` are the blurs' widths: a non-empty sequence of odd ints in [3, 511].

    Examples
    --------
    >>> from convlens.scenes import engine_tour
    >>> t = engine_tour()
    >>> t.nan_inputs, t.nan_outputs_propagate, t.nan_outputs_interpolate
    (100, 196, 36)
    """
    sizes = check_ints("sizes", sizes, minimum=3, maximum=511, odd=True)
    image = (np.asarray(photo("camera", 512)) * 1.0).astype(np.float32)
    methods, ms, means = [], [], []
    for size in sizes:
        kernel = gaussian_kernel(size / 6, truncate=3.0 * (size - 1) / size).astype(np.float32)
        methods.append(choose_method(image.shape, kernel.shape, mode="same", dtype=np.float32))
        t0 = time.perf_counter()
        out = convolve(image, kernel, "same", boundary="reflect")
        ms.append((time.perf_counter() - t0) * 1e3)
        means.append(float(out.mean()))
    holes = image.copy()
    holes[200:210, 300:310] = np.nan
    box = np.ones((5, 5), np.float32) / 25
    spoiled = convolve(holes, box, "same", method="fft")
    filled = convolve(holes, box, "same", nan_policy="interpolate")
    plan = Convolver(kernel, image.shape, "same", dtype=np.float32)
    plan(image)
    t0 = time.perf_counter()
    for _ in range(10):
        plan(image)
    per_frame = (time.perf_counter() - t0) * 1e2
    return EngineTour(
        image.shape, sizes, tuple(methods), tuple(ms), float(image.mean()), tuple(means), 100,
        int(np.isnan(spoiled).sum()), int(np.isnan(filled).sum()), plan.method, per_frame, PHOTO_SOURCES["camera"],
    )  # fmt: skip


@frozen
class RecordingSpectrum:
    """A real recording, its magnitude spectrum and its octave-band levels over time."""

    samples: np.ndarray
    rate: int
    frequencies: np.ndarray
    log_magnitude: np.ndarray
    band_times: np.ndarray
    band_centers: np.ndarray
    band_levels: np.ndarray
    source: str


_FRAME = 1024  # samples per equalizer frame


@scene
def recording_spectrum(seconds: float = 10.0) -> RecordingSpectrum:
    """The first ``seconds`` of the shipped music excerpt, its spectrum and equalizer bars.

    ``seconds`` is at least one 1024-sample frame (0.128 s) and at most the
    excerpt's 30 s.

    Examples
    --------
    >>> from convlens.scenes import recording_spectrum
    >>> s = recording_spectrum(2.0)
    >>> s.rate, s.samples.size, s.band_levels.shape[1] == s.band_centers.size
    (8000, 16000, True)
    """
    song, rate = load_audio("music")
    seconds = check_float(
        "seconds", seconds, minimum=_FRAME / rate, maximum=song.size / rate,
        hint="in seconds: one 1024-sample frame up to the whole shipped recording",
    )  # fmt: skip
    x = np.ascontiguousarray(song[: int(seconds * rate)])
    spec = log_spectrum(x, window="hann")  # centred: zero frequency in the middle
    freqs = np.fft.fftshift(np.fft.fftfreq(x.size, 1.0 / rate))
    keep = freqs >= 0
    bands = band_levels(x, rate, bands="octave", frame=_FRAME, hop=_FRAME // 2, fmin=60.0)
    source, licence = audio_source("music")
    return RecordingSpectrum(
        x, rate, freqs[keep], spec[keep], bands.times, bands.centers, bands.levels, f"{source}; {licence}"
    )


@frozen
class ImageSpectra:
    """Log spectra of photos and the stripe orientation read from each."""

    names: tuple[str, ...]
    images: tuple[np.ndarray, ...]
    spectra: tuple[np.ndarray, ...]
    angles: tuple[float, ...]
    confidences: tuple[float, ...]
    source: str


def _photo_names(names) -> tuple[str, ...]:
    if isinstance(names, str):  # a bare name would be read letter by letter
        raise TypeError(f"names must be a non-empty sequence of photo names (e.g. ('brick',)); got {names!r} (str)")
    items = (names,) if not isinstance(names, (tuple, list)) else tuple(names)
    if not items:
        raise ValueError(f"names must be a non-empty sequence of photo names; got {names!r}")
    return tuple(check_choice(f"names[{i}]", n, PHOTO_NAMES) for i, n in enumerate(items))


@scene
def image_spectra(names: tuple[str, ...] = ("brick", "text", "grass", "camera")) -> ImageSpectra:
    """Centred log spectra of bundled photos (256 x 256 or smaller) with their orientation.

    ``names`` is a non-empty sequence of 'camera', 'brick', 'grass', 'text', 'astronaut'.

    Examples
    --------
    >>> from convlens.scenes import image_spectra
    >>> s = image_spectra(("brick",))
    >>> 80 < s.angles[0] < 100, s.confidences[0] > 0.4      # brick stripes are near-vertical
    (True, True)
    """
    names = _photo_names(names)
    images = tuple(photo(n) if n != "text" else photo(n, 172) for n in names)
    spectra = tuple(log_spectrum(im - im.mean(), window="hann") for im in images)
    found = [orientation(im) for im in images]
    return ImageSpectra(
        tuple(names), images, spectra, tuple(o.angle for o in found), tuple(o.confidence for o in found),
        "; ".join(PHOTO_SOURCES[n] for n in names),
    )  # fmt: skip


@frozen
class RotatedOrientation:
    """A photo rotated by several angles, each with its spectrum and estimated stripe direction."""

    rotations: np.ndarray
    images: tuple[np.ndarray, ...]
    spectra: tuple[np.ndarray, ...]
    estimated: np.ndarray
    expected: np.ndarray
    source: str


@scene
def rotated_orientation(rotations: tuple[float, ...] = (0.0, 15.0, 30.0, 37.0, 60.0, 90.0, 135.0)):
    """``brick()`` (256 x 256) rotated counter-clockwise; its orientation should turn with it.

    ``expected`` is the unrotated estimate plus the rotation (mod 180).
    ``rotations`` is a non-empty sequence of finite angles in degrees.

    Examples
    --------
    >>> from convlens.scenes import rotated_orientation
    >>> s = rotated_orientation((0.0, 37.0))
    >>> bool(abs(s.estimated[1] - s.expected[1]) < 3)
    True
    """
    from skimage.transform import rotate

    rotations = check_reals("rotations", rotations, hint="an angle in degrees")
    base = photo("brick")
    images, spectra, angles = [], [], []
    for angle in rotations:
        # mode='reflect' keeps the corners textured; orientation()'s radial window ignores them anyway
        im = rotate(base, angle, mode="reflect") if angle else base
        images.append(im)
        spectra.append(log_spectrum(im - im.mean(), window="radial"))
        angles.append(orientation(im).angle)
    expected = (angles[0] + np.asarray(rotations, dtype=float)) % 180.0
    return RotatedOrientation(
        np.asarray(rotations, dtype=float), tuple(images), tuple(spectra), np.asarray(angles), expected,
        PHOTO_SOURCES["brick"],
    )  # fmt: skip


@frozen
class CircleLowpass:
    """The essay's circle in the spectrum for several radii: mask, filtered photo, spatial kernel."""

    image: np.ndarray
    cutoffs: np.ndarray
    masks: tuple[np.ndarray, ...]
    filtered: tuple[np.ndarray, ...]
    kernels: tuple[np.ndarray, ...]
    kernel_errors: np.ndarray
    source: str


@scene
def circle_lowpass(cutoffs: tuple[float, ...] = (0.02, 0.04, 0.08, 0.16, 0.3)) -> CircleLowpass:
    """Ideal low-pass of ``camera()`` (256 x 256) and the kernel that does the same by convolution.

    ``kernel_errors`` is the largest difference between the masked spectrum and
    the wrap-around convolution with the full kernel (round-off: the circle *is* a kernel).
    ``cutoffs`` is a non-empty sequence of radii in (0, 0.5] cycles/pixel.

    Examples
    --------
    >>> from convlens.scenes import circle_lowpass
    >>> s = circle_lowpass((0.1,))
    >>> bool(s.kernel_errors[0] < 1e-10)
    True
    """
    cutoffs = check_reals(
        "cutoffs", cutoffs, minimum=0, maximum=0.5, min_open=True, hint="in cycles/pixel; 0.5 is the Nyquist frequency"
    )
    image = photo("camera")
    masks, filtered, kernels, errors = [], [], [], []
    for cutoff in cutoffs:
        out = lowpass(image, cutoff, kind="ideal", boundary="wrap")
        kernel = mask_to_kernel(lowpass_mask(image.shape, cutoff))
        by_kernel = convolve(image, kernel, "same", boundary="wrap", method="fft")
        masks.append(lowpass_mask(image.shape, cutoff, centered=True))
        filtered.append(out)
        r = 24  # the centre of the kernel is what the eye needs; the full one is kept in the error
        c = [(n - 1) // 2 for n in kernel.shape]
        kernels.append(kernel[c[0] - r : c[0] + r + 1, c[1] - r : c[1] + r + 1])
        errors.append(float(np.abs(by_kernel - out).max()))
    return CircleLowpass(
        image, np.asarray(cutoffs), tuple(masks), tuple(filtered), tuple(kernels), np.asarray(errors),
        PHOTO_SOURCES["camera"],
    )  # fmt: skip


@frozen
class JpegVersusKeepK:
    """Keeping the lowest DCT coefficients versus real JPEG (Pillow) at (at most) the same size."""

    image: np.ndarray
    fraction: float
    ours: np.ndarray
    ours_bytes: int
    ours_psnr: float
    ours_ssim: float
    jpeg: np.ndarray
    jpeg_bytes: int
    jpeg_quality: int
    jpeg_psnr: float
    jpeg_ssim: float
    source: str


@scene
def jpeg_comparison(fraction: float = 0.05) -> JpegVersusKeepK:
    """``camera()`` (512 x 512, 8 bits) compressed both ways at the same budget.

    ``fraction`` is the share of the coefficients kept, in (0, 1].

    Examples
    --------
    >>> from convlens.scenes import jpeg_comparison
    >>> s = jpeg_comparison(0.1)
    >>> s.jpeg_bytes <= s.ours_bytes
    True
    """
    from ..data import load_image

    fraction = check_float("fraction", fraction, minimum=0, maximum=1, min_open=True, hint="the share kept")
    image = load_image("camera")
    cmp = compare_jpeg(image, fraction)
    return JpegVersusKeepK(
        image, float(fraction), cmp.ours.image, int(cmp.ours.kept), float(cmp.ours.psnr), float(cmp.ours.ssim),
        cmp.jpeg_image, int(cmp.jpeg_bytes), int(cmp.jpeg_quality), float(cmp.jpeg_psnr), float(cmp.jpeg_ssim),
        PHOTO_SOURCES["camera"],
    )  # fmt: skip


@frozen
class PaddingSchemes:
    """One blur three ways (zero padding, wrap-around, overlap-add), each against the mirrored extension."""

    image: np.ndarray
    kernel: np.ndarray
    zero: np.ndarray
    wrap: np.ndarray
    overlap_add: np.ndarray
    mirror: np.ndarray
    zero_artefact: np.ndarray
    wrap_artefact: np.ndarray
    overlap_add_error: float
    source: str


@scene
def padding_schemes(kernel_size: int = 41) -> PaddingSchemes:
    """``camera()`` (256 x 256) blurred by a wide Gaussian: wrap drags the bottom rows into the top.

    The artefacts are differences from the blur with a mirrored border
    (``boundary='symmetric'``), which continues the photo most naturally:
    zero padding darkens every border, wrap-around brings in the opposite side.
    ``kernel_size`` is an odd int in [3, 255] (the Gaussian is that wide).

    Examples
    --------
    >>> from convlens.scenes import padding_schemes
    >>> s = padding_schemes(9)
    >>> s.overlap_add_error < 1e-12, bool(abs(s.wrap_artefact).max() > 0.01)
    (True, True)
    """
    kernel_size = check_odd("kernel_size", kernel_size, minimum=3, maximum=255)
    image = photo("camera")
    kernel = gaussian_kernel(kernel_size / 6, truncate=3.0 * (kernel_size - 1) / kernel_size)
    zero = convolve(image, kernel, "same", boundary="constant", method="fft")
    wrap = convolve(image, kernel, "same", boundary="wrap", method="fft")
    oa = convolve(image, kernel, "same", boundary="constant", method="overlap-add")
    mirror = convolve(image, kernel, "same", boundary="symmetric", method="fft")
    return PaddingSchemes(
        image, kernel, zero, wrap, oa, mirror, zero - mirror, wrap - mirror, float(np.abs(oa - zero).max()),
        PHOTO_SOURCES["camera"],
    )  # fmt: skip
