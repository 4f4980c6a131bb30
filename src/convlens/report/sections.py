"""What the report shows: its sections in the essay's order, each figure's scene, drawing, caption, code and numbers."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from .. import plot, scenes


@dataclasses.dataclass(frozen=True)
class Figure:
    """One figure: the scene behind it, how to draw it and what to say about it."""

    key: str
    scene: Callable
    draw: Callable
    caption: Callable  # scene -> str: what is seen, with the scene's own numbers
    code: str  # the one line of convlens code that made it
    numbers: Callable  # scene -> {file name: dict of columns (CSV) or ndarray (NPY)}
    frames: Callable | None = None  # scene -> [(label, index)]: a slider over pre-rendered frames
    slider_label: str = ""


@dataclasses.dataclass(frozen=True)
class Section:
    title: str
    intro: str
    figures: tuple[Figure, ...]


def _labels(values, fmt):
    return [(format(v, fmt), i) for i, v in enumerate(values)]


def _theorem_caption(s):
    return (
        f"Blurring a photo with a {s.kernel.shape[0]} x {s.kernel.shape[1]} disk by the direct sum "
        f"({s.direct_seconds * 1e3:.1f} ms) and by the FFT product ({s.fft_seconds * 1e3:.1f} ms) gives the same "
        f"image: the largest difference is {s.max_difference:.1e}, round-off."
    )


def _rotation_caption(s):
    err = np.abs((s.estimated - s.expected + 90) % 180 - 90).max()
    return (
        "Rotate the photo (slider) and the bright line through its spectrum turns with it: the stripe "
        f"direction read from the spectrum (yellow) follows the rotation to within {err:.1f} degrees."
    )


def _padding_caption(s):
    # wrap - mirrored is positive where a bright opposite edge leaks in, negative where a dark one does
    return (
        f"A {s.kernel.shape[0]} x {s.kernel.shape[1]} Gaussian blur three ways, each compared with a mirrored border. "
        f"Zero padding darkens a frame around the photo (blue, up to {np.abs(s.zero_artefact).max():.2f}). With "
        "wrap-around the kernel wraps around the image and each edge sees the opposite one: the bright sky and the "
        "bright right side lighten the grass at the bottom and the dark coat at the left (red, up to "
        f"{s.wrap_artefact.max():+.2f}), while the grass and the coat darken the sky at the top and the right edge "
        f"(blue, down to {s.wrap_artefact.min():+.2f}). Overlap-add blocks give the zero-padded result exactly."
    )


def _layers_numbers(s):
    return {"layer_speed.csv": {"kernel_size": s.kernel_sizes, "conv2d_ms": s.conv2d_ms, "fftconv2d_ms": s.fftconv2d_ms, "max_abs_difference": s.max_difference}}  # fmt: skip


SECTIONS = (
    Section(
        "1. The convolution theorem",
        "Convolution in space is a product in frequency: transform, multiply, transform back.",
        (
            Figure(
                "theorem", scenes.convolution_theorem, plot.theorem, _theorem_caption,
                'convolve(image, kernel, "same", boundary="reflect", method="fft")',
                lambda s: {
                    "theorem_timings.csv": {"method": ["direct", "fft"], "seconds": [s.direct_seconds, s.fft_seconds], "max_difference": [s.max_difference] * 2},
                    "theorem_difference.npy": s.direct - s.fft,
                },
            ),
        ),
    ),
    Section(
        "2. Time and frequency",
        "A song in time, and the same song as frequencies: the equalizer bars of a music player.",
        (
            Figure(
                "recording", scenes.recording_spectrum, plot.recording,
                lambda s: f"{s.samples.size / s.rate:.0f} s of real music (8 kHz, so nothing above 4 kHz) and the magnitude of its Fourier transform.",
                'log_spectrum(song, window="hann")',
                lambda s: {"spectrum.csv": {"frequency_hz": s.frequencies, "log_magnitude": s.log_magnitude}},
            ),
            Figure(
                "equalizer", scenes.recording_spectrum, plot.equalizer,
                lambda s: f"Octave-band levels of 1024-sample frames: the bars at one moment (slider) and all {s.band_times.size} frames as a heat map.",
                'band_levels(song, 8000, bands="octave", frame=1024, hop=512)',
                lambda s: {"band_levels.csv": {"time_s": s.band_times, **{f"{c:g}_hz_db": s.band_levels[:, k] for k, c in enumerate(s.band_centers)}}},
                frames=lambda s: [(f"{s.band_times[j]:.1f} s", j) for j in plot.equalizer_frames(s)],
                slider_label="time",
            ),
        ),
    ),
    Section(
        "3. The Fourier domain of images",
        "Stripes in a photo become a bright line across its spectrum, perpendicular to them.",
        (
            Figure(
                "spectra", scenes.image_spectra, plot.spectra,
                lambda s: "Log spectra of four photos; where one direction dominates (coherence above 0.3) it is drawn on the photo (yellow) and its spectral line (red). Grass and the camera scene have no dominant direction.",
                'log_spectrum(image - image.mean(), window="hann"); orientation(image)',
                lambda s: {"orientations.csv": {"image": list(s.names), "angle_deg": s.angles, "coherence": s.confidences}},
            ),
            Figure(
                "rotation", scenes.rotated_orientation, plot.rotation, _rotation_caption, "orientation(rotate(brick, angle))",
                lambda s: {"rotation.csv": {"rotation_deg": s.rotations, "expected_deg": s.expected, "estimated_deg": s.estimated}},
                frames=lambda s: _labels(s.rotations, "g"),
                slider_label="rotation (deg)",
            ),
        ),
    ),
    Section(
        "4. Frequency filtering",
        "Multiply the spectrum by a circle and the high frequencies are gone; the circle is also a kernel.",
        (
            Figure(
                "lowpass", scenes.circle_lowpass, plot.lowpass,
                lambda s: f"The ideal low-pass at the radius chosen by the slider, the filtered photo, and the spatial kernel whose convolution does the same (largest difference {s.kernel_errors.max():.0e}). A small circle is a wide kernel.",
                'lowpass(image, cutoff, kind="ideal"); mask_to_kernel(lowpass_mask(image.shape, cutoff))',
                lambda s: {"lowpass.csv": {"cutoff": s.cutoffs, "kept_fraction": [m.mean() for m in s.masks], "kernel_vs_mask_max_difference": s.kernel_errors}},
                frames=lambda s: _labels(s.cutoffs, "g"),
                slider_label="radius (cycles/px)",
            ),
            Figure(
                "jpeg", scenes.jpeg_comparison, plot.jpeg,
                lambda s: f"Keeping the lowest {s.fraction:.0%} of the DCT coefficients ({s.ours_bytes} numbers) against real JPEG (Pillow) at no more bytes ({s.jpeg_bytes}): JPEG's 8 x 8 blocks and entropy coding win, {s.jpeg_psnr:.1f} dB against {s.ours_psnr:.1f} dB.",
                "compare_jpeg(image, 0.05)",
                lambda s: {"jpeg.csv": {"method": ["keep_lowest_dct", "jpeg"], "bytes": [s.ours_bytes, s.jpeg_bytes], "psnr_db": [s.ours_psnr, s.jpeg_psnr], "ssim": [s.ours_ssim, s.jpeg_ssim]}},
            ),
        ),
    ),
    Section(
        "5. Padding schemes",
        "How the FFT treats the border: pad with zeros, let the kernel wrap around, or cut the work into blocks.",
        (
            Figure(
                "padding", scenes.padding_schemes, plot.padding,
                _padding_caption,
                'convolve(image, kernel, "same", boundary="wrap")',
                lambda s: {"padding.csv": {"scheme": ["zero", "wrap", "overlap-add"], "max_difference_from_mirrored": [float(np.abs(s.zero_artefact).max()), float(np.abs(s.wrap_artefact).max()), float(np.abs(s.overlap_add - s.mirror).max())]}, "wrap_artefact.npy": s.wrap_artefact},
            ),
        ),
    ),
    Section(
        "6. Diffusion",
        "Remove the barrier between salt and fresh water: the result after a time t is one convolution with the propagator.",
        (
            Figure(
                "aquarium1d", scenes.aquarium_1d, plot.aquarium_1d,
                lambda s: f"The 1-D tank over time (slider): one convolution with the Gaussian propagator per time (line) against Crank-Nicolson finite differences (dots); they agree to {s.max_difference.max():.0e}.",
                'diffuse(tank, t, boundary="symmetric")',
                lambda s: {"aquarium1d.csv": {"t": s.times, "max_difference": s.max_difference, "mass": s.mass}, "aquarium1d.npy": np.array(s.convolution)},
                frames=lambda s: _labels(s.times, "g"),
                slider_label="time t",
            ),
            Figure(
                "aquarium2d", scenes.aquarium_2d, plot.aquarium_2d,
                lambda s: f"The square tank: salt in one quarter and a stripe, diffusing. Convolution and finite differences agree to {s.max_difference.max():.0e}.",
                'diffuse(tank, t, boundary="symmetric")',
                lambda s: {"aquarium2d.csv": {"t": s.times, "max_difference": s.max_difference, "mass": s.mass}},
                frames=lambda s: _labels(s.times, "g"),
                slider_label="time t",
            ),
            Figure(
                "photodiffusion", scenes.photo_diffusion, plot.photo_diffusion,
                lambda s: f"Pixel intensities diffuse like salt: the image blurs, its total ({s.mass[0]:.1f}) is kept exactly, its brightest value falls from {s.maximum[0]:.2f} to {s.maximum[-1]:.2f}.",
                'diffuse(photo, t, boundary="symmetric")',
                lambda s: {"photodiffusion.csv": {"t": s.times, "mass": s.mass, "max": s.maximum}},
                frames=lambda s: _labels(s.times, "g"),
                slider_label="time t",
            ),
            Figure(
                "propagators", scenes.propagators, plot.propagators,
                lambda s: f"The softmax turns a kernel into a propagator. The edge detector keeps {s.edge_centre_share:.1%} of the mass at the centre. The quiz, answered: {s.answer}",
                "propagator(kernel)",
                lambda s: {"propagators.csv": {"entry": [f"{r},{c}" for r in range(3) for c in range(3)], "edge": s.edge.ravel(), "edge_softmax": s.edge_propagator.ravel(), "quiz": s.quiz.ravel(), "quiz_softmax": s.quiz_propagator.ravel()}},
            ),
        ),
    ),
    Section(
        "7. The stochastic view",
        "Each pixel picks neighbours at random with the kernel's probabilities; the average converges to the convolution.",
        (
            Figure(
                "montecarlo", scenes.monte_carlo, plot.monte_carlo,
                lambda s: f"Monte Carlo convolution with the number of samples per pixel chosen by the slider (seed {s.seed}), the exact blur and the error.",
                'monte_carlo_convolve(image, kernel, n, boundary="symmetric", rng=0)',
                lambda s: {"montecarlo.csv": {"samples": s.samples, "rms_error": s.rms_error}},
                frames=lambda s: _labels(s.samples, "d"),
                slider_label="samples per pixel",
            ),
            Figure(
                "montecarlo_error", scenes.monte_carlo, plot.monte_carlo_error,
                lambda s: f"The error falls as samples^{s.slope:.2f}: the 1/sqrt(n) law of averages.",
                "convergence(image, kernel, (1, 4, 16, 64, 256), rng=0)",
                lambda s: {"montecarlo_error.csv": {"samples": s.samples, "rms_error": s.rms_error, "one_over_sqrt_n": s.rms_error[0] / np.sqrt(s.samples)}},
            ),
        ),
    ),
    Section(
        "8. Cross-correlation",
        "Slide a small piece over the whole and score the likeness everywhere: the best score says where it is.",
        (
            Figure(
                "face", scenes.face_match, plot.face,
                lambda s: f"Her face, cut from the photo, is found in the photo shifted by {s.shift} with noise added: the score map peaks at {s.peak} (expected {s.expected}), score {s.score:.2f}; the box is drawn there.",
                "find_peaks(match_template(photo, face), 1)",
                lambda s: {"face.csv": {"row": [s.peak[0]], "col": [s.peak[1]], "score": [s.score], "expected_row": [s.expected[0]], "expected_col": [s.expected[1]]}, "face_scores.npy": s.scores.astype(np.float32)},
            ),
            Figure(
                "clip", scenes.clip_location, plot.clip,
                lambda s: f"A 1 s clip is located in the noisy recording at {s.found_start / s.rate:.3f} s (true start {s.true_start / s.rate:.3f} s), correlation {s.score:.3f}, confidence {s.confidence:.2f}.",
                "locate(recording, clip, 8000)",
                lambda s: {"clip.csv": {"true_start": [s.true_start], "found_start": [s.found_start], "score": [s.score], "confidence": [s.confidence]}, "clip_scores.npy": s.scores.astype(np.float32)},
            ),
        ),
    ),
    Section(
        "9. Statistics",
        "Moving averages and autoregressions are convolutions; whitening makes data look like white noise.",
        (
            Figure(
                "psi", scenes.arma_kernels, plot.psi_weights,
                lambda s: "The psi weights of four ARMA models: each process is white noise convolved with its kernel (bottom: the same noise through each).",
                "arma_to_ma_kernel(ar, ma, 24)",
                lambda s: {"psi.csv": {"lag": np.arange(s.psi[0].size), **{n: p for n, p in zip(s.names, s.psi)}}},
            ),
            Figure(
                "arima", scenes.arima_forecast, plot.arima,
                lambda s: f"ARIMA{s.order} forecast of the yearly sunspots for {s.mean.size} years by convolutions (line, 95 % band) over statsmodels' own forecast (dots); they differ by at most {np.abs(s.mean - s.statsmodels_mean).max():.1e}.",
                'forecast_arima(sunspots, (2, 0, 1), fit_arima(sunspots, (2, 0, 1), trend="c"), 20, trend="c")',
                lambda s: {"arima.csv": {"year": s.future_years, "mean": s.mean, "lower": s.lower, "upper": s.upper, "statsmodels_mean": s.statsmodels_mean, "statsmodels_lower": s.statsmodels_lower, "statsmodels_upper": s.statsmodels_upper}},
            ),
            Figure(
                "whitenoise", scenes.white_noise, plot.white_noise,
                lambda s: "White noise: zero mean, unit variance, and an autocorrelation inside the band of chance at every lag but 0.",
                'correlate(x, x, "full")',
                lambda s: {"white_noise_acf.csv": {"lag": s.lags, "autocorrelation": s.autocorrelation}},
            ),
            Figure(
                "decorrelation", scenes.decorrelation, plot.decorrelation,
                lambda s: f"Quarterly growth of US real GDP and of real consumption are correlated ({s.correlation_before:.2f}); rotating the axes onto the eigenvectors of their covariance (arrows, length two standard deviations) and scaling each to unit variance leaves uncorrelated data (white noise up to its distribution).",
                "PCAWhitener().fit_transform(pairs)",
                lambda s: {"decorrelation.csv": {"eigenvalue": s.eigenvalues, "vector_x": s.eigenvectors[:, 0], "vector_y": s.eigenvectors[:, 1]}},
            ),
            Figure(
                "zca", scenes.zca_filters, plot.zca,
                lambda s: f"ZCA whitening of {s.kernel.shape[0]} x {s.kernel.shape[1]} patches: every row of the matrix is a kernel (left); the centre one is a centre-surround edge enhancer, and the photo whitened by it (right).",
                "PatchWhitener(7, epsilon=1e-3, rng=0).fit(image).transform(image)",
                lambda s: {"zca_filters.npy": s.filters, "zca_kernel.csv": {f"col{c}": s.kernel[:, c] for c in range(s.kernel.shape[1])}},
            ),
            Figure(
                "gaussian", scenes.gaussian_smoothing, plot.gaussian_smoothing,
                lambda s: "A Gaussian kernel is a set of moving-average weights: each year becomes the weighted mean of its neighbours.",
                "moving_average(nile, gaussian_kernel(3.0, ndim=1))",
                lambda s: {"gaussian_smoothing.csv": {"year": s.years, "flow": s.series, **{f"sigma_{g:g}": o for g, o in zip(s.sigmas, s.smoothed)}}},
            ),
        ),
    ),
    Section(
        "10. Convolution layers",
        "A convolutional layer computed by FFT: the same outputs, and faster once kernels grow.",
        (
            Figure(
                "layers", scenes.conv_layer_speed, plot.layers,
                lambda s: f"Forward time on this machine of torch.nn.Conv2d and convlens' FFTConv2d with the same weights, input {s.input_shape} (best of 5, torch {s.torch_version}, {s.threads} thread(s)); outputs agree to {s.max_difference.max():.0e}. Timings taken while the report renders are indicative only.",
                'FFTConv2d(4, 4, k, padding="same")',
                _layers_numbers,
            ),
        ),
    ),
)  # fmt: skip
