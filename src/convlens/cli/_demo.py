"""``convlens demo`` (the text demo) and ``convlens report`` (the HTML report)."""

from __future__ import annotations

import argparse
import contextlib
import io

import numpy as np

from ._common import add_command, report


def _demo(args: argparse.Namespace) -> None:
    """Print the demo's lines, or with --json one object holding them."""
    if not args.json:
        _demo_text()
        return
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        _demo_text()
    report(args, "", {"lines": buffer.getvalue().splitlines()})


def _demo_text() -> None:
    """One line per scene of the essay, from the same scenes the HTML report draws."""
    from .. import scenes

    sources: dict[str, None] = {}
    for title, lines in _scene_lines(scenes):
        print(f"{title}:")
        for line, source in lines:
            print(f"  {line}")
            sources.update(dict.fromkeys(source.split("; ")))
    print("data: " + "; ".join(sources))
    print("the same scenes as figures: convlens report --open")


def _scene_lines(scenes):
    """(section title, [(line, source), ...]) in the essay's order."""
    tour = scenes.engine_tour()
    theorem = scenes.convolution_theorem()
    yield (
        "the engine and the convolution theorem",
        [
            *(
                (
                    f"Gaussian {size}x{size} on camera() {tour.shape[0]}x{tour.shape[1]} float32, mode='same', "
                    f"boundary='reflect': method {method!r}, {ms:.1f} ms, mean kept {tour.mean_before:.4f} -> {mean:.4f}",
                    tour.source,
                )
                for size, method, ms, mean in zip(tour.sizes, tour.methods, tour.milliseconds, tour.means_after)
            ),
            (
                f"{tour.nan_inputs} NaN pixels, 5x5 box by FFT, nan_policy='propagate': {tour.nan_outputs_propagate} NaN "
                f"outputs (only the windows that cover them); nan_policy='interpolate': {tour.nan_outputs_interpolate}",
                tour.source,
            ),
            (f"a Convolver plan ({tour.plan_method}): {tour.plan_ms_per_frame:.1f} ms per frame", tour.source),
            (
                f"direct sum vs FFT product, {theorem.kernel.shape[0]}-wide disk on camera(): max difference "
                f"{theorem.max_difference:.1e}, {theorem.direct_seconds * 1e3:.1f} ms vs {theorem.fft_seconds * 1e3:.1f} ms",
                theorem.source,
            ),
        ],
    )
    yield from _fourier_lines(scenes)
    yield from _physics_lines(scenes)
    yield from _signal_lines(scenes)
    yield from _statistics_lines(scenes)


def _fourier_lines(scenes):
    rec = scenes.recording_spectrum()
    loud = int(np.argmax(rec.band_levels.mean(axis=0)))
    yield (
        "time -> frequency",
        [
            (
                f"{rec.samples.size / rec.rate:.0f} s of music at {rec.rate} Hz: {rec.band_levels.shape[1]} octave bands "
                f"over {rec.band_levels.shape[0]} frames, loudest around {rec.band_centers[loud]:g} Hz",
                rec.source,
            )
        ],
    )
    spectra, rotated = scenes.image_spectra(), scenes.rotated_orientation()
    error = float(np.abs((rotated.estimated - rotated.expected + 90) % 180 - 90).max())
    yield (
        "the Fourier domain of images",
        [
            (
                ", ".join(
                    f"{n}() {a:.1f} deg (confidence {c:.2f})"
                    for n, a, c in zip(spectra.names, spectra.angles, spectra.confidences)
                ),
                spectra.source,
            ),
            (
                f"brick() rotated by {', '.join(f'{r:g}' for r in rotated.rotations)} deg: orientation follows within {error:.1f} deg",
                rotated.source,
            ),
        ],
    )
    circle, jpeg, pads = scenes.circle_lowpass(), scenes.jpeg_comparison(), scenes.padding_schemes()
    yield (
        "frequency filtering and padding",
        [
            (
                f"the circle low-pass at radii {', '.join(f'{c:g}' for c in circle.cutoffs)} equals a convolution "
                f"with its kernel (max difference {circle.kernel_errors.max():.1e})",
                circle.source,
            ),
            (
                f"keeping {jpeg.fraction:.0%} of camera()'s DCT ({jpeg.ours_bytes} bytes): PSNR {jpeg.ours_psnr:.1f} dB, "
                f"SSIM {jpeg.ours_ssim:.2f}; real JPEG at {jpeg.jpeg_bytes} bytes (quality {jpeg.jpeg_quality}): "
                f"PSNR {jpeg.jpeg_psnr:.1f} dB, SSIM {jpeg.jpeg_ssim:.2f}",
                jpeg.source,
            ),
            (
                f"wrap-around padding drags the far edge in (largest artefact {np.abs(pads.wrap_artefact).max():.2f}); "
                f"overlap-add equals zero padding to {pads.overlap_add_error:.1e}",
                pads.source,
            ),
        ],
    )


def _physics_lines(scenes):
    one, two, photo = scenes.aquarium_1d(), scenes.aquarium_2d(), scenes.photo_diffusion()
    props, mc = scenes.propagators(), scenes.monte_carlo()
    yield (
        "diffusion",
        [
            (
                f"the aquarium (1-D, 2-D) up to t={one.times[-1]:g}: one convolution vs finite differences, max difference "
                f"{one.max_difference.max():.1e} / {two.max_difference.max():.1e}, mass kept to "
                f"{max(np.ptp(one.mass), np.ptp(two.mass)):.1e}",
                one.source,
            ),
            (
                f"camera() diffused to t={photo.times[-1]:g}: mass {photo.mass[0]:.1f} -> {photo.mass[-1]:.1f}, "
                f"brightest pixel {photo.maximum[0]:.2f} -> {photo.maximum[-1]:.2f}",
                photo.source,
            ),
            (
                f"softmax propagators: the edge detector keeps {props.edge_centre_share:.1%} in place; the quiz: {props.answer}",
                props.source,
            ),
        ],
    )
    yield (
        "the stochastic view",
        [
            (
                f"Monte Carlo {mc.kernel.shape[0]}x{mc.kernel.shape[1]} blur with {', '.join(str(int(n)) for n in mc.samples)} "
                f"samples: error ~ samples^{mc.slope:.2f} (the 1/sqrt law)",
                mc.source,
            )
        ],
    )


def _signal_lines(scenes):
    face, clip = scenes.face_match(), scenes.clip_location()
    yield (
        "cross-correlation",
        [
            (
                f"the face found at {face.peak} after a shift of {face.shift} and noise (expected {face.expected}), "
                f"score {face.score:.2f}",
                face.source,
            ),
            (
                f"a 1 s clip located at {clip.found_start / clip.rate:.3f} s (true {clip.true_start / clip.rate:.3f} s), "
                f"score {clip.score:.3f}, confidence {clip.confidence:.2f}",
                clip.source,
            ),
        ],
    )


def _statistics_lines(scenes):
    arma, fc = scenes.arma_kernels(), scenes.arima_forecast()
    noise, dec, zca, smooth = (
        scenes.white_noise(),
        scenes.decorrelation(),
        scenes.zca_filters(),
        scenes.gaussian_smoothing(),
    )
    centre = tuple(n // 2 for n in zca.kernel.shape)
    order = "(" + ",".join(str(v) for v in fc.order) + ")"
    yield (
        "statistics",
        [
            (
                "psi kernels (each series is white noise convolved with its kernel): "
                + "; ".join(f"{n} {', '.join(f'{v:.2f}' for v in p[:4])}, ..." for n, p in zip(arma.names, arma.psi)),
                arma.source,
            ),
            (
                f"ARIMA{order} on sunspots, forecast by convolution: "
                + ", ".join(f"{v:.1f}" for v in fc.mean[:3])
                + f" (statsmodels: {', '.join(f'{v:.1f}' for v in fc.statsmodels_mean[:3])})",
                fc.source,
            ),
            (
                f"white noise: autocorrelation within +-{noise.band:.3f} at "
                f"{int(np.sum(np.abs(noise.autocorrelation[1:]) <= noise.band))} of {noise.autocorrelation.size - 1} lags",
                noise.source,
            ),
            (
                f"{dec.labels[0]} and {dec.labels[1]}: correlation {dec.correlation_before:.3f}; "
                f"along the eigenvectors, scaled: {abs(dec.correlation_after):.1e}",
                dec.source,
            ),
            (
                f"ZCA on {zca.kernel.shape[0]}x{zca.kernel.shape[1]} patches of camera(): a centre-surround kernel, "
                f"centre {zca.kernel[centre]:.1f}, its four neighbours {_neighbours(zca.kernel):.1f} on average",
                zca.source,
            ),
            (
                f"Gaussian smoothing of the Nile as a weighted moving average, sigma {', '.join(f'{s:g}' for s in smooth.sigmas)}",
                smooth.source,
            ),
        ],
    )


def _neighbours(kernel: np.ndarray) -> float:
    """Mean of the four nearest neighbours of a 2-D kernel's centre."""
    i, j = (n // 2 for n in kernel.shape)
    return float((kernel[i - 1, j] + kernel[i + 1, j] + kernel[i, j - 1] + kernel[i, j + 1]) / 4)


def _report(args: argparse.Namespace) -> None:
    """Render the essay's figures from real data into one offline HTML page."""
    import inspect
    import sys

    try:
        from .. import report as report_module
    except ImportError as exc:
        raise RuntimeError(f"the HTML report is not available: {exc}") from None
    options = {"open_browser": args.open}
    if "progress" in inspect.signature(report_module.build).parameters:
        # a progress bar on a terminal; nothing on stderr for --json, pipes and logs
        options["progress"] = not args.json and sys.stderr.isatty()
    index = report_module.build(args.out, **options)
    line = f"report written to {index}"
    report(args, line, {"out": str(args.out), "index": str(index)})


def register(sub) -> None:
    """Add ``demo`` and ``report`` to ``sub``."""
    p = add_command(
        sub,
        "demo",
        _demo,
        "run the engine and every lens on bundled real data and print what it did",
        """
        convlens demo
        """,
    )
    p = add_command(
        sub,
        "report",
        _report,
        "render the essay's figures from real data into one offline HTML page",
        """
        convlens report --out report --open
        """,
    )
    p.add_argument("--out", default="report", help="folder for index.html and its images (default ./report)")
    p.add_argument("--open", action="store_true", help="open the page in a web browser when done")
