"""The ``convlens`` command (presentation layer)."""

from __future__ import annotations

import argparse
import sys
import time


def _demo(args: argparse.Namespace) -> int:
    """Run the engine on real bundled data and say what it did."""
    import numpy as np

    from . import Convolver, choose_method, convolve
    from .data import load_image

    image = load_image("camera").astype(np.float32) / 255.0
    print(f"image: skimage camera(), {image.shape[0]}x{image.shape[1]} float32")
    for size in (3, 31):
        yy, xx = np.mgrid[:size, :size] - (size - 1) / 2
        kernel = np.exp(-(xx**2 + yy**2) / (2 * (size / 6) ** 2)).astype(np.float32)
        kernel /= kernel.sum()
        method = choose_method(image.shape, kernel.shape, mode="same", dtype=np.float32)
        t0 = time.perf_counter()
        out = convolve(image, kernel, "same", boundary="reflect")
        dt = time.perf_counter() - t0
        print(
            f"  Gaussian {size}x{size}, mode='same', boundary='reflect': method {method!r}, {dt * 1e3:.1f} ms, "
            f"output {out.shape} {out.dtype}, mean kept {image.mean():.4f} -> {out.mean():.4f}"
        )
    holes = image.copy()
    holes[200:210, 300:310] = np.nan
    out = convolve(holes, np.ones((5, 5), np.float32) / 25, "same", method="fft")
    print(
        f"  100 NaN pixels, 5x5 box by FFT, nan_policy='propagate': {int(np.isnan(out).sum())} NaN outputs "
        "(only the windows that cover them, not the whole image)"
    )
    filled = convolve(holes, np.ones((5, 5), np.float32) / 25, "same", nan_policy="interpolate")
    print(f"  same with nan_policy='interpolate': {int(np.isnan(filled).sum())} NaN outputs")
    plan = Convolver(kernel, image.shape, "same", dtype=np.float32)
    t0 = time.perf_counter()
    for _ in range(10):
        plan(image)
    print(
        f"  a Convolver plan ({plan.method}) applied to 10 frames: {(time.perf_counter() - t0) * 1e2:.1f} ms per frame"
    )
    _demo_lenses()
    return 0


def _demo_lenses() -> None:
    """One line per lens of the essay, each on real bundled data."""
    import numpy as np

    from . import compress, diffusion, matching, spectrum, stochastic, timeseries
    from .data import load_image, load_series

    print("lenses, on real data:")
    brick = load_image("brick").astype(np.float64)
    o = spectrum.orientation(brick)
    grass = spectrum.orientation(load_image("grass").astype(np.float64))
    print(
        f"  spectrum: skimage brick() stripes at {o.angle:.1f} deg (confidence {o.confidence:.2f}); "
        f"grass() confidence {grass.confidence:.2f} (isotropic)"
    )
    camera = load_image("camera").astype(np.float64) / 255
    c = compress.keep_frequencies(camera, 0.1)
    print(f"  compress: keeping 10% of camera()'s DCT coefficients gives PSNR {c.psnr:.1f} dB, SSIM {c.ssim:.2f}")
    hot = diffusion.diffuse(camera, t=8.0, boundary="symmetric")
    print(
        f"  diffusion: camera() diffused for t=8 (sigma 4): mass {camera.sum():.1f} -> {hot.sum():.1f}, "
        f"max {camera.max():.2f} -> {hot.max():.2f}"
    )
    conv = stochastic.convergence(camera[:256, :256], np.ones((9, 9)) / 81, rng=0)
    print(f"  stochastic: Monte Carlo 9x9 box, error ~ samples^{conv.slope:.2f} (the 1/sqrt law)")
    face = load_image("astronaut")
    template = face[70:163, 175:268]
    moved = np.roll(face, (40, -60), axis=(0, 1)) + np.random.default_rng(0).normal(0, 0.05, face.shape)
    peak = matching.find_peaks(matching.match_template(moved, template), 1)
    print(
        f"  matching: the face cut at (70, 175) found at {tuple(int(v) for v in peak.indices[0])} after a shift "
        f"of (40, -60) and noise, score {peak.scores[0]:.2f}"
    )
    sun = load_series("sunspots")
    params = timeseries.fit_arima(sun, (2, 0, 1), trend="c")
    fc = timeseries.forecast_arima(sun, (2, 0, 1), params, 3, trend="c")
    print(
        "  timeseries: ARIMA(2,0,1) on sunspots, forecast by convolution with the AR(inf) kernel: "
        + ", ".join(f"{v:.1f}" for v in fc.mean)
    )


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``convlens`` command."""
    parser = argparse.ArgumentParser(prog="convlens", description="Convolution made fast, correct and visible.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="run the engine on bundled real data and print what it did").set_defaults(func=_demo)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
