"""Fourier lenses: Gaussian smoothing, orientation, Butterworth filtering, band levels.

Goals (issue 3): Gaussian sigma 20 on 2048**2 float32 with ndimage's 'reflect'
boundary (numpy 'symmetric'), 1 thread: >= 5x scipy.ndimage.gaussian_filter and
faster than cv2.GaussianBlur; orientation of a 4096**2 image in under 2x the
time of one rfft2 of it (ratio t_rfft2 / t_orientation >= 0.5).  Reference
rows without goals: a Gaussian much wider than the image (issue 11), the
Butterworth filter against scikit-image, band levels against scipy's welch.
"""

from __future__ import annotations

import numpy as np

from benchmarks._harness import Case, Compare


def _rel_interior(got, ref, margin):
    sl = tuple(slice(margin, n - margin) for n in ref.shape)
    g, r = np.asarray(got, np.float64)[sl], np.asarray(ref, np.float64)[sl]
    return float(np.max(np.abs(g - r)) / np.max(np.abs(r)))


def _gaussian_case(quick: bool) -> Case:
    import cv2
    import scipy.ndimage as ndi

    from convlens.filters import gaussian

    n, sigma = (512, 20.0) if quick else (2048, 20.0)
    x = np.random.default_rng(20261107).standard_normal((n, n)).astype(np.float32)

    def check(out):
        ref = ndi.gaussian_filter(x.astype(np.float64), sigma, mode="reflect")
        margin = int(4 * sigma + 1)
        return (
            f"rel err vs float64 ndimage, interior ({margin} px margin): spectral "
            f"{_rel_interior(out['convlens spectral'], ref, margin):.1e}, spatial "
            f"{_rel_interior(out['convlens spatial'], ref, margin):.1e}, cv2 {_rel_interior(out['cv2.GaussianBlur'], ref, margin):.1e}; "
            f"whole image: spectral {_rel_interior(out['convlens spectral'], ref, 0):.1e}"
        )

    ksize = 2 * int(4 * sigma + 0.5) + 1  # ndimage's truncation, for cv2 too
    return Case(
        workload=f"gaussian sigma {sigma:g}, {n}² float32, reflect (numpy 'symmetric')",
        ours={
            "convlens spectral": lambda: gaussian(x, sigma, boundary="symmetric", method="spectral", workers=1),
            "convlens spatial": lambda: gaussian(x, sigma, boundary="symmetric", method="spatial", workers=1),
        },
        anchors={
            "scipy.ndimage.gaussian_filter": lambda: ndi.gaussian_filter(x, sigma, mode="reflect"),
            "cv2.GaussianBlur": lambda: cv2.GaussianBlur(x, (ksize, ksize), sigma, borderType=cv2.BORDER_REFLECT),
        },
        compare=[
            Compare("scipy.ndimage.gaussian_filter", "convlens spectral", 5.0),
            Compare("cv2.GaussianBlur", "convlens spectral", 1.0),
            Compare("scipy.ndimage.gaussian_filter", "convlens spatial"),
            Compare("cv2.GaussianBlur", "convlens spatial"),
        ],
        threads={
            "convlens spectral": 1,
            "convlens spatial": 1,
            "scipy.ndimage.gaussian_filter": 1,
            "cv2.GaussianBlur": 1,
        },
        check=check,
    )


def _orientation_case(quick: bool) -> Case:
    import scipy.fft

    from convlens import _backend
    from convlens.spectrum import orientation

    n = 1024 if quick else 4096
    rng = np.random.default_rng(20261108)
    yy, xx = np.mgrid[0:n, 0:n].astype(np.float32)
    t = np.radians(33.0)
    x = np.sin(2 * np.pi * (xx * np.sin(t) + yy * np.cos(t)) / 9.0) + rng.standard_normal((n, n)).astype(np.float32)
    x = x.astype(np.float32)
    orientation(x, workers=1)  # build the cached window and weights outside the timing

    def check(out):
        res = out["convlens orientation"]
        return f"angle {res.angle:.2f} (true 33), confidence {res.confidence:.2f}"

    return Case(
        workload=f"orientation of a {n}² float32 image",
        ours={"convlens orientation": lambda: orientation(x, workers=1)},
        anchors={
            "scipy.fft.rfft2": lambda: scipy.fft.rfft2(x, workers=1),
            "ducc0 r2c (backend rfft2)": lambda: _backend.rfftn(x, (0, 1), 1),
        },
        compare=[
            Compare("scipy.fft.rfft2", "convlens orientation", 0.5, "goal: under 2x one rfft2"),
            Compare("ducc0 r2c (backend rfft2)", "convlens orientation", 0.5, "goal: under 2x one rfft2"),
        ],
        threads={"convlens orientation": 1, "scipy.fft.rfft2": 1, "ducc0 r2c (backend rfft2)": 1},
        check=check,
    )


def _butterworth_case(quick: bool) -> Case:
    from skimage.filters import butterworth

    from convlens.filters import lowpass

    n = 512 if quick else 2048
    x = np.random.default_rng(20261109).standard_normal((n, n)).astype(np.float32)

    def check(out):
        ref = np.asarray(out["skimage.filters.butterworth"], np.float64)
        err = np.max(np.abs(out["convlens lowpass butterworth"] - ref)) / np.max(np.abs(ref))
        return f"rel err vs skimage {err:.1e}"

    return Case(
        workload=f"Butterworth low-pass 0.1, order 2, {n}² float32 (periodic)",
        ours={"convlens lowpass butterworth": lambda: lowpass(x, 0.1, kind="butterworth", order=2.0, workers=1)},
        anchors={"skimage.filters.butterworth": lambda: butterworth(x, 0.1, high_pass=False, order=2.0)},
        compare=[Compare("skimage.filters.butterworth", "convlens lowpass butterworth")],
        threads={"convlens lowpass butterworth": 1, "skimage.filters.butterworth": 1},
        check=check,
    )


def _band_levels_case(quick: bool) -> Case:
    import scipy.signal

    from convlens.spectrum import band_levels

    rate = 8000
    n = rate * (10 if quick else 120)
    x = scipy.signal.lfilter([1.0], [1.0, -0.9], np.random.default_rng(20261110).standard_normal(n))

    def welch_bands():
        _f, p = scipy.signal.welch(x, fs=rate, window="hann", nperseg=1024, noverlap=512)
        return p

    return Case(
        workload=f"third-octave band levels, {n / rate:g} s at 8 kHz (frame 1024, hop 512)",
        ours={"convlens band_levels": lambda: band_levels(x, rate, bands="third", workers=1)},
        anchors={"scipy.signal.welch (time-averaged only)": welch_bands},
        compare=[
            Compare("scipy.signal.welch (time-averaged only)", "convlens band_levels", None, "ours keeps every frame")
        ],
        threads={"convlens band_levels": 1, "scipy.signal.welch (time-averaged only)": 1},
    )


def _wide_gaussian_case(quick: bool) -> Case:
    """Issue 11, case 9: a Gaussian much wider than the image (no goal; it used to take seconds)."""
    import scipy.ndimage as ndi

    from convlens.filters import gaussian

    x = np.random.default_rng(20261109).random((50, 50))
    sigma = 1000.0

    def check(out):
        ref = ndi.gaussian_filter(x, 1e4, mode="reflect")
        err = float(np.max(np.abs(gaussian(x, 1e4) - ref)))
        return (
            f"max |convlens - ndimage| at sigma 1000: {float(np.max(np.abs(out['convlens gaussian'] - out['scipy.ndimage.gaussian_filter']))):.1e}, "
            f"at sigma 1e4: {err:.1e} (the kernel is folded onto the image: cost independent of sigma)"
        )

    return Case(
        workload="gaussian sigma 1000 on a 50² float64 image, reflect",
        ours={"convlens gaussian": lambda: gaussian(x, sigma, workers=1)},
        anchors={"scipy.ndimage.gaussian_filter": lambda: ndi.gaussian_filter(x, sigma, mode="reflect")},
        compare=[Compare("scipy.ndimage.gaussian_filter", "convlens gaussian")],
        threads={"convlens gaussian": 1, "scipy.ndimage.gaussian_filter": 1},
        check=check,
    )


def cases(quick: bool) -> list[Case]:
    return [
        _gaussian_case(quick),
        _wide_gaussian_case(quick),
        _orientation_case(quick),
        _butterworth_case(quick),
        _band_levels_case(quick),
    ]
