"""Subcommands on images (and any array): convolve, correlate, filter, gaussian, diffuse, spectrum,
orientation, compress, match."""

from __future__ import annotations

import argparse

import numpy as np

from .. import io
from ._common import (
    KERNEL_SPECS,
    UsageError,
    add_command,
    add_rescale,
    as_float,
    busy,
    check_fits,
    inputs_and_output,
    nonnegative_float,
    parse_kernel,
    positive_float,
    positive_int,
    report,
    shape_text,
    signal_axes,
    spatial_ndim,
    write_result,
)

BOUNDARIES = ("constant", "wrap", "reflect", "symmetric", "edge")


def _read(path: str, *, gray: bool = False) -> io.Data:
    data = io.read_any(path, gray=gray)
    if data.array.size == 0:  # say which file, rather than the lens's name for its argument
        raise UsageError(f"{path}: the file holds no data (shape {data.array.shape})")
    return data


def _written(args: argparse.Namespace, what: str, data: io.Data, result: np.ndarray, extra: dict) -> None:
    out = write_result(args.output, result, data, getattr(args, "rescale", False))
    line = f"{what}: {args.input} ({shape_text(data.array.shape)}) -> {out} ({shape_text(result.shape)} {result.dtype})"
    report(args, line, {"input": args.input, "output": str(out), "shape": list(result.shape), **extra})


# --------------------------------------------------------------------------- convolve / correlate


def _convolve_or_correlate(args: argparse.Namespace, correlate: bool) -> None:
    import convlens

    inputs_and_output(args, [args.input, args.kernel], args.output)
    data = _read(args.input)
    check_fits(args.output, data)
    kernel, described = parse_kernel(args.kernel, spatial_ndim(data))
    x = as_float(data.array)
    func = convlens.correlate if correlate else convlens.convolve
    with busy(args, f"{args.command} {x.shape} with {kernel.shape}", size=x.size):
        result = func(
            x,
            kernel.astype(x.real.dtype, copy=False),
            args.mode,
            axes=signal_axes(data),
            boundary=args.boundary,
            fill_value=args.fill_value,
            method=args.method,
            nan_policy=args.nan_policy,
        )
    extra = {"kernel": described, "kernel_shape": list(kernel.shape), "mode": args.mode, "boundary": args.boundary}
    _written(args, f"{args.command}d with {described} ({args.mode}, {args.boundary})", data, result, extra)


def _add_engine_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="image (PNG/JPEG/TIFF), audio (WAV/FLAC/OGG), CSV or .npy")
    parser.add_argument("kernel", help=f"a kernel file (.npy, .csv, image) or {KERNEL_SPECS}")
    parser.add_argument("output", help="result file; its suffix chooses the format")
    parser.add_argument("--mode", choices=("same", "full", "valid"), default="same", help="output size (default same)")
    parser.add_argument(
        "--boundary", choices=BOUNDARIES, default="constant", help="numpy.pad's rule (default constant)"
    )
    parser.add_argument("--fill-value", type=float, default=0.0, help="value outside the input for boundary constant")
    parser.add_argument("--method", choices=("auto", "direct", "fft", "overlap-add"), default="auto")
    parser.add_argument("--nan-policy", choices=("propagate", "raise", "interpolate"), default="propagate")
    add_rescale(parser)


# --------------------------------------------------------------------------- frequency filters


def _filter(args: argparse.Namespace) -> None:
    from .. import filters

    inputs_and_output(args, [args.input], args.output)
    want = 2 if args.band == "band" else 1
    if len(args.cutoff) != want:
        raise UsageError(f"--cutoff needs {want} value(s) for a {args.band}-pass filter; got {len(args.cutoff)}")
    data = _read(args.input)
    check_fits(args.output, data)
    x = as_float(data.array)
    options = {"kind": args.kind, "order": args.order, "axes": signal_axes(data), "boundary": args.boundary}
    func = {"low": filters.lowpass, "high": filters.highpass, "band": filters.bandpass}[args.band]
    with busy(args, f"{args.band}-pass filter on {x.shape}", size=x.size):
        result = func(x, *args.cutoff, **options)
    cut = "-".join(f"{c:g}" for c in args.cutoff)
    extra = {"band": args.band, "cutoff": args.cutoff, "kind": args.kind}
    _written(args, f"{args.band}-pass {args.kind} at {cut} cycles/sample", data, result, extra)


def _gaussian(args: argparse.Namespace) -> None:
    from .. import filters

    inputs_and_output(args, [args.input], args.output)
    data = _read(args.input)
    check_fits(args.output, data)
    x = as_float(data.array)
    with busy(args, f"gaussian sigma {args.sigma} on {x.shape}", size=x.size):
        result = filters.gaussian(
            x, args.sigma, boundary=args.boundary, truncate=args.truncate, axes=signal_axes(data), method=args.method
        )
    _written(args, f"gaussian sigma {args.sigma:g}", data, result, {"sigma": args.sigma, "boundary": args.boundary})


def _diffuse(args: argparse.Namespace) -> None:
    from .. import diffusion

    inputs_and_output(args, [args.input], args.output)
    data = _read(args.input)
    check_fits(args.output, data)
    x = as_float(data.array)
    with busy(args, f"diffusing {x.shape} for t={args.time}", size=x.size):
        result = diffusion.diffuse(x, args.time, args.D, boundary=args.boundary, axes=signal_axes(data))
    sigma = float(np.sqrt(2 * args.D * args.time))
    extra = {"time": args.time, "D": args.D, "sigma": sigma, "mass_in": float(x.sum()), "mass_out": float(result.sum())}
    line = f"diffused for t={args.time:g} (sigma {sigma:.3g}), mass {x.sum():.6g} -> {result.sum():.6g}"
    _written(args, line, data, result, extra)


# --------------------------------------------------------------------------- spectra


def _spectrum(args: argparse.Namespace) -> None:
    from .. import spectrum

    inputs_and_output(args, [args.input], args.output)
    data = _read(args.input, gray=True)
    check_fits(args.output, data)
    x = as_float(data.array)
    axes = None if data.kind in ("image", "array") else (0,)
    with busy(args, f"spectrum of {x.shape}", size=x.size):
        result = spectrum.log_spectrum(x, axes=axes, window=args.window)
    out = io.write_any(args.output, result, like=data, data_range="minmax")
    line = f"log spectrum of {args.input} ({shape_text(x.shape)}, window {args.window}) -> {out}, zero frequency at the centre"
    report(
        args, line, {"input": args.input, "output": str(out), "shape": list(result.shape), "max": float(result.max())}
    )


def _orientation(args: argparse.Namespace) -> None:
    from .. import spectrum

    data = _read(args.input, gray=True)
    o = spectrum.orientation(as_float(data.array), fmin=args.fmin, fmax=args.fmax, window=args.window)
    line = f"{args.input}: stripes at {o.angle:.1f} degrees, confidence {o.confidence:.2f}"
    report(args, line, {"input": args.input, "angle": o.angle, "confidence": o.confidence})


def _compress(args: argparse.Namespace) -> None:
    from .. import compress

    inputs_and_output(args, [args.input], args.output, kinds=("image", "array"))
    data = _read(args.input, gray=True)
    image = data.array if data.array.dtype == np.uint8 else as_float(data.array)
    with busy(args, f"keeping {args.fraction:g} of {image.shape}", size=image.size):
        res = compress.keep_frequencies(image, args.fraction, transform=args.transform, select=args.select)
    out = io.write_any(args.output, res.image, like=data, data_range=(0, 255) if image.dtype == np.uint8 else None)
    line = (
        f"kept {res.kept} of {res.total} {args.transform.upper()} coefficients (ratio {res.ratio:.1f}): "
        f"PSNR {res.psnr:.2f} dB, SSIM {res.ssim:.3f} -> {out}"
    )
    result = {"input": args.input, "output": str(out), "kept": res.kept, "total": res.total, "ratio": res.ratio}
    report(args, line, {**result, "psnr": res.psnr, "ssim": res.ssim})


# --------------------------------------------------------------------------- template matching


def _match(args: argparse.Namespace) -> None:
    from .. import matching

    inputs = [args.image, args.template]
    inputs_and_output(args, inputs, args.scores, kinds=("image", "array"))
    image, template = (as_float(_read(p, gray=True).array) for p in inputs)
    with busy(args, f"matching {template.shape} in {image.shape}", size=image.size):
        scores = matching.match_template(image, template, method=args.method)
    lower_is_better = args.method.startswith("sqdiff")
    distance = template.shape if args.min_distance is None else args.min_distance
    peaks = matching.find_peaks(-scores if lower_is_better else scores, args.n, min_distance=distance)
    found = [
        {"index": [int(v) for v in idx], "position": [float(v) for v in pos], "score": float(s)}
        for idx, pos, s in zip(peaks.indices, peaks.positions, -peaks.scores if lower_is_better else peaks.scores)
    ]
    if args.scores is not None:
        io.write_any(args.scores, scores, data_range="minmax")
    if not found:
        raise UsageError("no peak in the score map (is the template flat, or the image constant?)")
    best = found[0]
    line = (
        f"{args.template} found in {args.image} at {tuple(best['index'])} (top-left corner), "
        f"{args.method} score {best['score']:.3f}" + (f"; {len(found) - 1} more match(es)" if len(found) > 1 else "")
    )
    report(args, line, {"image": args.image, "template": args.template, "method": args.method, "matches": found})


# --------------------------------------------------------------------------- registration


def _add_convolve(sub) -> None:
    p = add_command(
        sub,
        "convolve",
        lambda a: _convolve_or_correlate(a, False),
        "convolve a file with a kernel (a file or a named kernel)",
        """
        convlens convolve camera.png gaussian:3 blurred.png --boundary symmetric
        convlens convolve song.flac box:441 smooth.wav         # 1-D kernels for audio and CSV
        convlens convolve volume.npy kernel.npy out.npy --mode full --method fft
        """,
    )
    _add_engine_options(p)

    p = add_command(
        sub,
        "correlate",
        lambda a: _convolve_or_correlate(a, True),
        "cross-correlate a file with a template (a file or a named kernel)",
        """
        convlens correlate camera.png sobel:1 edges.tif        # float TIFF keeps the signs
        """,
    )
    _add_engine_options(p)


def _add_filter(sub) -> None:
    p = add_command(
        sub,
        "filter",
        _filter,
        "low-, high- or band-pass filter in the frequency domain",
        """
        convlens filter low camera.png smooth.png --cutoff 0.05
        convlens filter band camera.png ring.png --cutoff 0.05 0.2 --kind butterworth --rescale
        """,
    )
    p.add_argument("band", choices=("low", "high", "band"), help="which frequencies pass")
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--cutoff", type=float, nargs="+", required=True, help="cycles/sample in (0, 0.5]; two for band")
    p.add_argument("--kind", choices=("ideal", "gaussian", "butterworth"), default="ideal", help="mask shape")
    p.add_argument("--order", type=float, default=2.0, help="Butterworth order (default 2)")
    p.add_argument("--boundary", choices=BOUNDARIES, default="wrap", help="default wrap (periodic)")
    add_rescale(p)


def _add_gaussian(sub) -> None:
    p = add_command(
        sub,
        "gaussian",
        _gaussian,
        "Gaussian smoothing (equal to scipy.ndimage.gaussian_filter)",
        """
        convlens gaussian camera.png soft.png --sigma 4
        """,
    )
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--sigma", type=float, required=True, help="standard deviation in samples")
    p.add_argument("--boundary", choices=BOUNDARIES, default="symmetric", help="default symmetric (ndimage 'reflect')")
    p.add_argument("--truncate", type=positive_float, default=4.0, help="kernel radius in sigmas (default 4)")
    p.add_argument("--method", choices=("auto", "spatial", "spectral"), default="auto")
    add_rescale(p)


def _add_diffuse(sub) -> None:
    p = add_command(
        sub,
        "diffuse",
        _diffuse,
        "diffuse a file for a time t (the heat equation, solved by one convolution)",
        """
        convlens diffuse camera.png warm.png --time 8          # sigma = sqrt(2 D t) = 4 pixels
        """,
    )
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--time", type=nonnegative_float, required=True, help="diffusion time t >= 0")
    p.add_argument("-D", type=nonnegative_float, default=1.0, help="diffusion coefficient >= 0 (default 1)")
    p.add_argument("--boundary", choices=BOUNDARIES, default="symmetric", help="default symmetric (closed walls)")
    add_rescale(p)


def _add_spectrum(sub) -> None:
    p = add_command(
        sub,
        "spectrum",
        _spectrum,
        "write the centred log-magnitude spectrum log(1 + |DFT|) of an image",
        """
        convlens spectrum brick.png brick-spectrum.png --window radial
        """,
    )
    p.add_argument("input", help="image (colour is converted to grey) or .npy/.csv")
    p.add_argument("output", help="image (stretched min..max), float TIFF, .npy or .csv")
    p.add_argument("--window", choices=("none", "hann", "radial"), default="none", help="taper first")


def _add_orientation(sub) -> None:
    p = add_command(
        sub,
        "orientation",
        _orientation,
        "print the dominant stripe direction of an image and its confidence",
        """
        convlens orientation brick.png
        convlens orientation brick.png --json
        """,
    )
    p.add_argument("input", help="grey or colour image, or a 2-D .npy")
    p.add_argument("--fmin", type=float, default=0.01, help="lowest frequency used (cycles/sample)")
    p.add_argument("--fmax", type=float, default=0.5, help="highest frequency used")
    p.add_argument("--window", choices=("radial", "hann", "none"), default="radial")


def _add_compress(sub) -> None:
    p = add_command(
        sub,
        "compress",
        _compress,
        "keep a fraction of an image's DCT/DFT coefficients; print PSNR and SSIM",
        """
        convlens compress camera.png camera-10pc.png --fraction 0.1
        """,
    )
    p.add_argument("input", help="image (colour is converted to grey)")
    p.add_argument("output", help="the reconstruction (image or .npy)")
    p.add_argument("--fraction", type=float, required=True, help="share of coefficients kept, in (0, 1]")
    p.add_argument("--transform", choices=("dct", "dft"), default="dct")
    p.add_argument("--select", choices=("lowest", "largest"), default="lowest")


def _add_match(sub) -> None:
    p = add_command(
        sub,
        "match",
        _match,
        "find a template in an image (normalized cross-correlation)",
        """
        convlens match astronaut.png face.png -n 2 --scores scores.tif
        """,
    )
    p.add_argument("image")
    p.add_argument("template")
    p.add_argument("-n", type=positive_int, default=1, help="number of matches to report (default 1)")
    p.add_argument("--method", choices=("zncc", "ncc", "ccoeff", "ccorr", "sqdiff", "sqdiff_normed"), default="zncc")
    p.add_argument(
        "--min-distance", type=positive_int, default=None, help="pixels between matches (default: template size)"
    )
    p.add_argument("--scores", default=None, help="also write the score map (image, TIFF or .npy)")


def register(sub) -> None:
    """Add the image subcommands to ``sub``."""
    for add in (
        _add_convolve,
        _add_filter,
        _add_gaussian,
        _add_diffuse,
        _add_spectrum,
        _add_orientation,
        _add_compress,
        _add_match,
    ):
        add(sub)
