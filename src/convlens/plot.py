"""matplotlib figures of the essay's scenes (presentation layer).

Every function takes a scene from :mod:`convlens.scenes` (and, for the
figures behind a slider, the index of the frame) and returns a matplotlib
``Figure``; :func:`save` writes it as PNG and closes it.  matplotlib is
imported lazily with the non-interactive Agg backend, so importing this
module costs nothing and no window ever opens.

Examples
--------
>>> from convlens import plot, scenes
>>> fig = plot.padding(scenes.padding_schemes(9))
>>> len(fig.axes) >= 4
True
>>> plot.close(fig)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

GREY = "gray"
DIVERGING = "RdBu_r"


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def figure(width: float, height: float, ncols: int = 1, nrows: int = 1, **kw):
    """A figure with a grid of axes (constrained layout, so labels are never clipped)."""
    plt = _plt()
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), layout="constrained", squeeze=False, **kw)
    return fig, axes.ravel()


def save(fig, path, dpi: int = 80) -> Path:
    """Write ``fig`` as a PNG at ``path`` and close it; returns the path."""
    path = Path(path)
    fig.savefig(path, dpi=dpi, format="png", metadata={"Software": None})
    close(fig)
    return path


def close(fig) -> None:
    """Free a figure's memory (pyplot keeps every figure until closed)."""
    _plt().close(fig)


def _show(ax, image, title, cmap=GREY, symmetric=False, colorbar=False, **kw):
    if symmetric:
        lim = float(np.abs(image).max()) or 1.0
        kw.setdefault("vmin", -lim)
        kw.setdefault("vmax", lim)
    im = ax.imshow(image, cmap=cmap, interpolation="nearest", **kw)
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    if colorbar:
        ax.figure.colorbar(im, ax=ax, shrink=0.8)
    return im


def _images(panels, width=9.0, height=2.8, ncols=None):
    """One row (or grid) of image panels: each (image, title, options)."""
    ncols = ncols or len(panels)
    nrows = -(-len(panels) // ncols)
    fig, axes = figure(width, height, ncols, nrows)
    for ax, (image, title, opts) in zip(axes, panels):
        _show(ax, image, title, **opts)
    for ax in axes[len(panels) :]:
        ax.axis("off")
    return fig


def theorem(s):
    """Photo, direct result, FFT result and their difference (section 1)."""
    diff = s.direct - s.fft
    return _images(
        [
            (s.image, "camera() 256 x 256", {}),
            (s.direct, f"direct sum: {s.direct_seconds * 1e3:.1f} ms", {}),
            (s.fft, f"FFT product: {s.fft_seconds * 1e3:.1f} ms", {}),
            (
                diff,
                f"direct - FFT (max {s.max_difference:.1e})",
                {"cmap": DIVERGING, "symmetric": True, "colorbar": True},
            ),
        ]
    )


def recording(s):
    """Waveform and magnitude spectrum of the recording (section 2)."""
    fig, (a, b) = figure(9, 4.2, 1, 2)
    t = np.arange(s.samples.size) / s.rate
    a.plot(t, s.samples, lw=0.3, color="tab:red")
    a.set(xlabel="time (s)", ylabel="amplitude", title="the recording (time domain)")
    b.plot(s.frequencies, s.log_magnitude, lw=0.4, color="tab:blue")
    b.set(xlabel="frequency (Hz)", ylabel="log(1 + |DFT|)", title="its spectrum (frequency domain)")
    return fig


def equalizer_frames(s, n: int = 6) -> list[int]:
    """Indices of ``n`` analysis frames evenly spread over the recording (the equalizer slider's frames)."""
    return np.linspace(0, s.band_times.size - 1, n).round().astype(int).tolist()


def equalizer(s, j: int):
    """Octave-band levels of analysis frame ``j``: the equalizer bars (section 2, slider over time)."""
    fig, (a, b) = figure(9, 3.0, 2, 1, width_ratios=[1, 2])
    labels = [f"{c:g}" for c in s.band_centers]
    a.bar(range(len(labels)), s.band_levels[j] - s.band_levels.min(), bottom=s.band_levels.min(), color="tab:green")
    a.set_xticks(range(len(labels)), labels, rotation=45, fontsize=7)
    a.set(ylim=(s.band_levels.min(), s.band_levels.max() + 3), xlabel="band centre (Hz)", ylabel="level (dB FS)")
    a.set_title(f"bars at t = {s.band_times[j]:.1f} s", fontsize=9)
    im = b.imshow(
        s.band_levels.T, aspect="auto", origin="lower", cmap="magma",
        extent=(s.band_times[0], s.band_times[-1], -0.5, len(labels) - 0.5),
    )  # fmt: skip
    b.axvline(s.band_times[j], color="cyan", lw=1.5)
    b.set_yticks(range(len(labels)), labels, fontsize=7)
    b.set(xlabel="time (s)", ylabel="band (Hz)", title="all bars over time (dB)")
    fig.colorbar(im, ax=b)
    return fig


def _direction(ax, shape, angle, color, label=None):
    """Draw a line through the centre at ``angle`` degrees counter-clockwise from horizontal (as displayed)."""
    cy, cx = (shape[0] - 1) / 2, (shape[1] - 1) / 2
    r = min(shape) * 0.45
    dx, dy = r * np.cos(np.radians(angle)), -r * np.sin(np.radians(angle))  # image rows grow downwards
    ax.plot([cx - dx, cx + dx], [cy - dy, cy + dy], color=color, lw=2, label=label)


def spectra(s):
    """Photos and their log spectra, stripe direction drawn (section 3)."""
    fig, axes = figure(9, 4.6, len(s.names), 2)
    n = len(s.names)
    for k, (name, im, spec, ang, conf) in enumerate(zip(s.names, s.images, s.spectra, s.angles, s.confidences)):
        _show(axes[k], im, f"{name}()")
        _show(axes[n + k], spec, f"spectrum: {ang:.0f} deg\ncoherence {conf:.2f}", cmap="viridis")
        if conf > 0.3:
            _direction(axes[k], im.shape, ang, "yellow")
            _direction(axes[n + k], spec.shape, ang + 90, "red")
    return fig


def rotation(s, i: int):
    """Rotated photo and its spectrum with the estimated orientation (section 3, slider over angles)."""
    fig, (a, b) = figure(7, 3.4, 2, 1)
    im, spec, est = s.images[i], s.spectra[i], s.estimated[i]
    _show(a, im, f"brick() rotated by {s.rotations[i]:g} deg")
    _direction(a, im.shape, est, "yellow", f"stripes: {est:.1f} deg")
    _show(b, spec, f"spectrum: peak at {(est + 90) % 180:.1f} deg", cmap="viridis")
    _direction(b, spec.shape, est + 90, "red", "spectral peak")
    a.legend(loc="lower left", fontsize=7)
    b.legend(loc="lower left", fontsize=7)
    return fig


def _centre(a, r):
    c = [(n - 1) // 2 + 1 for n in a.shape]  # zero frequency of a centred (fftshift) spectrum: n // 2
    return a[c[0] - r : c[0] + r + 1, c[1] - r : c[1] + r + 1]


def lowpass(s, i: int):
    """The circle, the filtered photo and the circle as a kernel (section 4, slider over radius)."""
    return _images(
        [
            (_centre(s.masks[i], 64), f"mask |f| <= {s.cutoffs[i]:g} (centre 129 x 129)", {}),
            (s.filtered[i], "photo, filtered", {}),
            (
                s.kernels[i],
                "the same as a kernel (centre 49 x 49)",
                {"cmap": DIVERGING, "symmetric": True, "colorbar": True},
            ),
        ],
        width=9,
        height=3.0,
    )


def jpeg(s):
    """Keep-k DCT compression against real JPEG at the same size (section 4)."""
    return _images(
        [
            (s.image, f"original {s.image.size} bytes (8 bit)", {"vmin": 0, "vmax": 255}),
            (
                s.ours,
                f"keep {s.fraction:.0%} of DCT: {s.ours_bytes} B\nPSNR {s.ours_psnr:.1f} dB, SSIM {s.ours_ssim:.2f}",
                {"vmin": 0, "vmax": 255},
            ),
            (
                s.jpeg,
                f"JPEG q={s.jpeg_quality}: {s.jpeg_bytes} B\nPSNR {s.jpeg_psnr:.1f} dB, SSIM {s.jpeg_ssim:.2f}",
                {"vmin": 0, "vmax": 255},
            ),
        ],
        width=9,
        height=3.4,
    )


def padding(s):
    """Zero, wrap and overlap-add on one image, and the artefacts of each border rule (section 5)."""
    lim = float(max(np.abs(s.zero_artefact).max(), np.abs(s.wrap_artefact).max()))
    diff = {"cmap": DIVERGING, "vmin": -lim, "vmax": lim, "colorbar": True}
    return _images(
        [
            (s.zero, "zero padding", {"vmin": 0, "vmax": 1}),
            (s.wrap, "wrap (circular)", {"vmin": 0, "vmax": 1}),
            (
                s.overlap_add,
                f"overlap-add blocks\n(= zero padding to {s.overlap_add_error:.0e})",
                {"vmin": 0, "vmax": 1},
            ),
            (s.mirror, "mirrored border (reference)", {"vmin": 0, "vmax": 1}),
            (s.zero_artefact, "zero - mirrored: dark frame", diff),
            (s.wrap_artefact, "wrap - mirrored: other side leaks in", diff),
        ],
        width=9,
        height=6.0,
        ncols=3,
    )


def aquarium_1d(s, i: int):
    """Salt concentration along the tank at one time: convolution vs finite differences (section 6)."""
    fig, (a,) = figure(7, 3.0)
    x = np.arange(s.initial.size)
    a.plot(x, s.initial, color="0.7", lw=1, label="t = 0 (barrier)")
    a.plot(x, s.convolution[i], color="tab:blue", lw=2, label="convolution with the propagator")
    a.plot(x[::6], s.finite_difference[i][::6], "o", color="tab:orange", ms=4, label="finite differences")
    a.set(xlabel="cell", ylabel="salt", ylim=(-0.05, 1.1))
    a.set_title(f"t = {s.times[i]:g}: max difference {s.max_difference[i]:.1e}", fontsize=9)
    a.legend(fontsize=7, loc="upper right")
    return fig


def aquarium_2d(s, i: int):
    """The square tank at one time (section 6)."""
    return _images(
        [
            (s.convolution[i], f"convolution, t = {s.times[i]:g}", {"vmin": 0, "vmax": 1, "cmap": "Blues"}),
            (s.finite_difference[i], "finite differences", {"vmin": 0, "vmax": 1, "cmap": "Blues"}),
            (
                s.convolution[i] - s.finite_difference[i],
                f"difference (max {s.max_difference[i]:.1e})",
                {"cmap": DIVERGING, "symmetric": True, "colorbar": True},
            ),
        ],
        width=8,
        height=2.8,
    )


def photo_diffusion(s, i: int):
    """A photo diffusing (section 6)."""
    fig = _images(
        [(s.frames[i], f"t = {s.times[i]:g} (sigma {np.sqrt(2 * s.times[i]):.1f} px)", {"vmin": 0, "vmax": 1})],
        3.4,
        3.4,
    )
    return fig


def _annotated(ax, k, title, fmt):
    _show(ax, k, title, cmap="viridis")
    # the colour map spans min..max, so a cell's shade is its place in that range (not its share of the max):
    # white on the dark lower part, black on the bright upper part
    low, span = float(k.min()), float(np.ptp(k)) or 1.0
    for (r, c), v in np.ndenumerate(k):
        dark = (v - low) / span < 0.6
        ax.text(c, r, format(v, fmt), ha="center", va="center", fontsize=7, color="white" if dark else "black")


def propagators(s):
    """The two kernels, their softmax propagators and what they do to a photo (section 6)."""
    fig, axes = figure(9, 5.4, 3, 2)
    _annotated(axes[0], s.edge, "edge detector", "g")
    _annotated(axes[1], s.edge_propagator, f"softmax: {s.edge_centre_share:.1%} stays", ".4f")
    _show(axes[2], s.edge_on_image, "edge detector on camera()", symmetric=True)
    _annotated(axes[3], s.quiz, "quiz kernel", ".3f")
    _annotated(axes[4], s.quiz_propagator, "softmax: nearly even", ".3f")
    _show(axes[5], s.quiz_on_image, "quiz kernel on camera(): blur")
    return fig


def monte_carlo(s, i: int):
    """Estimate with n samples per pixel, exact, error (section 7, slider over n)."""
    err = s.estimates[i] - s.exact
    return _images(
        [
            (s.estimates[i], f"{s.samples[i]} sample(s) per pixel", {"vmin": 0, "vmax": 1}),
            (s.exact, "exact convolution", {"vmin": 0, "vmax": 1}),
            (
                err,
                f"error (RMS {s.rms_error[i]:.3f})",
                {"cmap": DIVERGING, "vmin": -0.3, "vmax": 0.3, "colorbar": True},
            ),
        ],
        width=8,
        height=2.8,
    )


def monte_carlo_error(s):
    """RMS error against samples on log-log axes, with the 1/sqrt(n) law (section 7)."""
    fig, (a,) = figure(5, 3.2)
    a.loglog(s.samples, s.rms_error, "o-", label=f"measured (slope {s.slope:.2f})")
    a.loglog(s.samples, s.rms_error[0] / np.sqrt(s.samples), "--", color="0.4", label="1/sqrt(n)")
    a.set(xlabel="samples per pixel n", ylabel="RMS error")
    a.legend(fontsize=8)
    return fig


def face(s):
    """The shifted noisy photo with the box found, the template, the score map (section 8)."""
    from matplotlib.patches import Rectangle

    fig, axes = figure(9, 3.3, 3, 1, width_ratios=[2, 1, 2])
    _show(axes[0], s.image, f"astronaut() shifted by {s.shift} + noise")
    r, c, h, w = s.box
    axes[0].add_patch(Rectangle((c - 0.5, r - 0.5), w, h, fill=False, color="yellow", lw=2))
    _show(axes[1], s.template, "template (her face)")
    _show(axes[2], s.scores, f"score map: peak {s.score:.2f} at {s.peak}", cmap="magma", colorbar=True)
    axes[2].plot(s.peak[1], s.peak[0], "c+", ms=14, mew=2)
    return fig


def clip(s):
    """The recording with the clip's true place, and the score of every start (section 8)."""
    fig, (a, b) = figure(9, 4.0, 1, 2, sharex=True)
    t = np.arange(s.recording.size) / s.rate
    a.plot(t, s.recording, lw=0.3, color="0.4")
    a.axvspan(
        s.true_start / s.rate, (s.true_start + s.clip.size) / s.rate, color="tab:orange", alpha=0.4, label="the clip"
    )
    a.set(ylabel="amplitude", title="recording + noise, the 1 s clip in orange")
    a.legend(fontsize=7, loc="upper right")
    step = 20  # the score curve decimated by its block maximum, so the peak survives
    m = s.scores.size // step * step
    b.plot(s.times[:m:step], s.scores[:m].reshape(-1, step).max(axis=1), lw=0.5, color="tab:purple")
    b.plot(
        s.found_start / s.rate, s.score, "rv", ms=8, label=f"found at {s.found_start / s.rate:.3f} s, r = {s.score:.3f}"
    )
    b.set(xlabel="start time (s)", ylabel="correlation r", title="score over time")
    b.legend(fontsize=7, loc="lower right")
    return fig


def psi_weights(s):
    """ψ kernels of the ARMA models and the series each makes from the same white noise (section 9)."""
    n = len(s.names)
    fig, axes = figure(9, 4.4, n, 2)
    for k, (name, psi, x) in enumerate(zip(s.names, s.psi, s.series)):
        axes[k].stem(np.arange(psi.size), psi, basefmt=" ")
        axes[k].set_title(f"{name}: psi weights", fontsize=9)
        axes[k].set_xlabel("lag", fontsize=8)
        axes[n + k].plot(x[:150], lw=0.8)
        axes[n + k].set_title("noise convolved with psi", fontsize=8)
    return fig


def arima(s):
    """Sunspots, the forecast by convolution and statsmodels' forecast, with 95 % intervals (section 9)."""
    fig, (a,) = figure(9, 3.4)
    keep = s.years >= 1900
    a.plot(s.years[keep], s.series[keep], color="0.3", lw=1, label="sunspots (yearly)")
    a.fill_between(s.future_years, s.lower, s.upper, color="tab:blue", alpha=0.25, label="95 % interval (convlens)")
    a.plot(s.future_years, s.mean, color="tab:blue", lw=2, label="forecast by convolution (convlens)")
    a.plot(s.future_years, s.statsmodels_mean, "o", color="tab:orange", ms=4, label="statsmodels forecast")
    a.plot(s.future_years, s.statsmodels_lower, "_", color="tab:orange", ms=8)
    a.plot(s.future_years, s.statsmodels_upper, "_", color="tab:orange", ms=8, label="statsmodels interval")
    a.set(xlabel="year", ylabel="sunspot number", title=f"ARIMA{s.order} with a constant")
    a.legend(fontsize=7, loc="upper left", ncols=2)
    return fig


def white_noise(s):
    """White noise and its autocorrelation (section 9)."""
    fig, (a, b) = figure(9, 2.8, 2, 1, width_ratios=[2, 1])
    a.plot(s.samples[:300], lw=0.7)
    a.set(title=f"white noise: mean {s.samples.mean():.2f}, std {s.samples.std():.2f}", xlabel="sample")
    b.stem(s.lags, s.autocorrelation, basefmt=" ")
    b.axhspan(-s.band, s.band, color="tab:blue", alpha=0.15, label="95 % band for no correlation")
    b.set(title="autocorrelation", xlabel="lag")
    b.legend(fontsize=7)
    return fig


def decorrelation(s):
    """Two correlated variables with the eigenvector arrows, before and after whitening (section 9)."""
    fig, (a, b) = figure(9, 3.8, 2, 1)
    a.scatter(s.points[:, 0], s.points[:, 1], s=6, alpha=0.5)
    arrows = s.eigenvectors * 2 * np.sqrt(s.eigenvalues)[:, None]
    a.quiver(
        [s.mean[0]] * 2,
        [s.mean[1]] * 2,
        arrows[:, 0],
        arrows[:, 1],
        color="red",
        angles="xy",
        scale_units="xy",
        scale=1,
        width=0.012,
    )
    a.set(xlabel=s.labels[0], ylabel=s.labels[1], title=f"before: correlation {s.correlation_before:.2f}")
    a.set_aspect("equal", adjustable="datalim")
    b.scatter(s.whitened[:, 0], s.whitened[:, 1], s=6, alpha=0.5, color="tab:green")
    b.quiver([0, 0], [0, 0], [2, 0], [0, 2], color="red", angles="xy", scale_units="xy", scale=1, width=0.012)
    b.set(
        xlabel="component 1 (unit variance)",
        ylabel="component 2 (unit variance)",
        title=f"after: correlation {s.correlation_after:.0e}",
    )
    b.set_aspect("equal", adjustable="datalim")
    return fig


def zca(s):
    """All ZCA filters as kernels, the centre one large, the whitened photo (section 9)."""
    fig, axes = figure(9, 3.4, 3, 1, width_ratios=[1.2, 1, 1])
    h, w = s.kernel.shape
    grid = np.full((h * (h + 1), w * (w + 1)), np.nan)
    for k, f in enumerate(s.filters):
        r, c = divmod(k, w)
        grid[r * (h + 1) : r * (h + 1) + h, c * (w + 1) : c * (w + 1) + w] = f / np.abs(f).max()
    # the centre tap dwarfs the surround: saturate it so the surround shows
    _show(axes[0], grid, f"all {len(s.filters)} ZCA filters (scaled)", cmap=DIVERGING, vmin=-0.3, vmax=0.3)
    surround = np.abs(
        np.where(np.arange(s.kernel.size).reshape(s.kernel.shape) == s.kernel.size // 2, 0, s.kernel)
    ).max()
    _show(
        axes[1],
        s.kernel,
        f"centre filter (centre {s.kernel[h // 2, w // 2]:.1f})",
        cmap=DIVERGING,
        vmin=-1.5 * surround,
        vmax=1.5 * surround,
        colorbar=True,
    )
    lim = np.percentile(np.abs(s.whitened - np.median(s.whitened)), 99)
    med = float(np.median(s.whitened))
    _show(axes[2], s.whitened, "camera() whitened", vmin=med - lim, vmax=med + lim)
    return fig


def gaussian_smoothing(s):
    """Gaussian weights and the Nile smoothed by them (section 9)."""
    fig, (a, b) = figure(9, 3.0, 2, 1, width_ratios=[1, 2])
    for sigma, wts in zip(s.sigmas, s.weights):
        r = (wts.size - 1) // 2
        a.plot(np.arange(-r, r + 1), wts, "o-", ms=3, label=f"sigma {sigma:g}")
    a.set(title="weights (a Gaussian kernel)", xlabel="offset (years)")
    a.legend(fontsize=7)
    b.plot(s.years, s.series, color="0.6", lw=1, label="Nile flow")
    for sigma, out in zip(s.sigmas, s.smoothed):
        b.plot(s.years, out, lw=1.5, label=f"weighted moving average, sigma {sigma:g}")
    b.set(title="Gaussian smoothing = weighted moving average", xlabel="year", ylabel="flow (10^8 m^3)")
    b.legend(fontsize=7)
    return fig


def layers(s):
    """Forward time of nn.Conv2d and FFTConv2d across kernel sizes (section 10)."""
    fig, (a,) = figure(6, 3.2)
    a.plot(s.kernel_sizes, s.conv2d_ms, "o-", label="torch.nn.Conv2d")
    a.plot(s.kernel_sizes, s.fftconv2d_ms, "s-", label="convlens.torch.FFTConv2d")
    a.set_yscale("log")
    threads = f"{s.threads} thread" + ("s" if s.threads != 1 else "")
    a.set(xlabel="kernel size k (k x k)", ylabel="forward time (ms)", title=f"input {s.input_shape}, {threads}")
    a.set_xticks(s.kernel_sizes)
    a.legend(fontsize=8)
    return fig
