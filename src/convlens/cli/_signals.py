"""Subcommands on recordings, series and tables: locate, bands, forecast, whiten."""

from __future__ import annotations

import argparse

import numpy as np

from .. import io
from ._common import UsageError, add_command, busy, inputs_and_output, positive_float, positive_int, report


def _samples(path: str) -> tuple[np.ndarray, int]:
    """A recording's samples (channels averaged) and rate; an empty file is named, not the lens's argument."""
    samples, rate = io.read_audio(path, mono=True)
    if samples.size == 0:
        raise UsageError(f"{path}: the recording holds no samples")
    return samples, rate


def _locate(args: argparse.Namespace) -> None:
    from .. import matching

    recording, rate = _samples(args.recording)
    clip, clip_rate = _samples(args.clip)
    if clip_rate != rate:
        raise UsageError(f"{args.clip} is sampled at {clip_rate} Hz but {args.recording} at {rate} Hz; resample one")
    if clip.size and np.ptp(clip) == 0:  # a silent clip correlates equally (not at all) with every start
        raise UsageError(f"{args.clip} is silent (constant): there is nothing to locate")
    with busy(args, f"locating {clip.size} samples in {recording.size}", size=recording.size):
        loc = matching.locate(recording, clip, rate, within=tuple(args.within) if args.within else None)
    line = (
        f"{args.clip} starts at {loc.offset:.3f} s (sample {loc.sample}) of {args.recording}: "
        f"score {loc.score:.3f}, confidence {loc.confidence:.2f}"
    )
    result = {"recording": args.recording, "clip": args.clip, "rate": rate, "offset": loc.offset, "sample": loc.sample}
    report(args, line, {**result, "score": loc.score, "confidence": loc.confidence})


def _bands(args: argparse.Namespace) -> None:
    from .. import spectrum

    inputs_and_output(args, [args.input], args.output, kinds=("table", "array"))
    samples, rate = _samples(args.input)
    with busy(args, f"band levels of {samples.size} samples", size=samples.size):
        bars = spectrum.band_levels(
            samples, rate, bands=args.bands, frame=args.frame, hop=args.hop, fmin=args.fmin, fmax=args.fmax
        )
    if io.kind_of(args.output) == "array":
        out = io.write_array(args.output, bars.levels)
    else:
        columns = {f"{c:g} Hz": bars.levels[:, i] for i, c in enumerate(bars.centers)}
        out = io.write_table(args.output, columns, index=np.round(bars.times, 6), index_name="time_s")
    with np.errstate(divide="ignore"):
        mean_db = 10 * np.log10(bars.power.mean(axis=0))
    loudest = int(np.argmax(mean_db))
    line = (
        f"{bars.levels.shape[1]} {args.bands}-octave band levels over {bars.levels.shape[0]} frames of {args.input} "
        f"-> {out}; loudest band {bars.centers[loudest]:g} Hz ({mean_db[loudest]:.1f} dB)"
    ).replace("octave-octave", "octave")
    result = {"input": args.input, "output": str(out), "rate": rate, "frames": bars.levels.shape[0]}
    report(args, line, {**result, "centers_hz": bars.centers, "mean_level_db": mean_db})


def _order(text: str) -> tuple[int, int, int]:
    """argparse type: 'p,d,q'."""
    try:
        p, d, q = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be p,d,q (three integers, e.g. 2,0,1); got {text!r}") from None
    return p, d, q


def _future_index(index: np.ndarray, steps: int) -> tuple[np.ndarray, str | None]:
    """Continue an evenly spaced numeric index (years, months ...), else number the steps 1..steps."""
    if index.dtype.kind in "iuf" and index.size >= 2:
        step = np.diff(index.astype(np.float64))
        if np.allclose(step, step[0]) and step[0] > 0:
            future = index[-1] + step[0] * np.arange(1, steps + 1)
            return (future.astype(index.dtype) if index.dtype.kind in "iu" else future), None
    return np.arange(1, steps + 1), "step"


def _forecast(args: argparse.Namespace) -> None:
    import warnings

    from .. import timeseries

    inputs_and_output(args, [args.input], args.output, kinds=("table",))
    if args.trend == "c" and args.order[1] > 0:
        raise UsageError(
            f"--trend c needs d = 0 (differencing removes a constant); got --order {args.order[0]},{args.order[1]},{args.order[2]}"
        )
    series = io.read_series(args.input, args.column)
    with busy(args, f"fitting ARIMA{args.order}", size=series.values.size), warnings.catch_warnings():
        # statsmodels warns about start values and convergence; the fit is still its fit
        warnings.simplefilter("ignore")
        params = timeseries.fit_arima(series.values, args.order, trend=args.trend)
        fc = timeseries.forecast_arima(
            series.values, args.order, params, args.steps, trend=args.trend, alpha=args.alpha
        )
    bounds = fc.conf_int()
    index, index_name = _future_index(series.index, args.steps)
    columns = {"mean": fc.mean, "lower": bounds[:, 0], "upper": bounds[:, 1], "se": fc.se}
    out = io.write_table(args.output, columns, index=index, index_name=index_name or series.index_name or "index")
    shown = ", ".join(f"{v:.4g}" for v in fc.mean[:3]) + (", ..." if args.steps > 3 else "")
    level = round(100 * (1 - args.alpha))
    line = (
        f"ARIMA{args.order} on {series.name} ({series.values.size} values): next {args.steps}: {shown} "
        f"({level}% intervals in {out})"
    )
    result = {"input": args.input, "output": str(out), "column": series.name, "order": list(args.order)}
    report(args, line, {**result, "params": params, "mean": fc.mean, "lower": bounds[:, 0], "upper": bounds[:, 1]})


def _components(text: str) -> int | float:
    """argparse type: an integer count or a fraction of the variance in (0, 1)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a count or a fraction in (0, 1), got {text!r}") from None
    return int(value) if value >= 1 and value == int(value) else value


def _whiten(args: argparse.Namespace) -> None:
    from .. import whiten

    inputs_and_output(args, [args.input], args.output, kinds=("table", "array"))
    data = (
        io.read_table(args.input) if io.kind_of(args.input) == "table" else io.Data("array", io.read_array(args.input))
    )
    X = data.array
    if X.size == 0:
        raise UsageError(f"{args.input}: the file holds no data (shape {X.shape})")
    if X.ndim != 2:
        raise UsageError(f"{args.input}: whitening needs a 2-D matrix (samples, features); got shape {X.shape}")
    with busy(args, f"{args.method} whitening of {X.shape}", size=X.size):
        if args.method == "standardize":
            Z = whiten.standardize(X, epsilon=args.epsilon)
        else:
            func = whiten.zca_whiten if args.method == "zca" else whiten.pca_whiten
            Z = func(X, args.components, epsilon=args.epsilon)
    cov = np.cov(Z, rowvar=False, ddof=0).reshape(Z.shape[1], Z.shape[1])
    off = float(np.abs(cov - np.diag(np.diag(cov))).max()) if Z.shape[1] > 1 else 0.0
    if io.kind_of(args.output) == "table":
        keep = args.method != "pca" and len(data.columns) == Z.shape[1]
        names = data.columns if keep else tuple(f"pc{i}" for i in range(Z.shape[1]))
        out = io.write_table(args.output, dict(zip(names, Z.T)), index=data.index, index_name=data.index_name)
    else:
        out = io.write_array(args.output, Z)
    line = (
        f"{args.method}: {args.input} {X.shape[0]}x{X.shape[1]} -> {out} {Z.shape[0]}x{Z.shape[1]}, "
        f"largest off-diagonal covariance {off:.2e}"
    )
    report(args, line, {"input": args.input, "output": str(out), "shape": list(Z.shape), "max_offdiag_cov": off})


def _add_locate(sub) -> None:
    p = add_command(
        sub,
        "locate",
        _locate,
        "find where an audio clip starts in a recording",
        """
        convlens locate song.flac chorus.wav
        convlens locate song.flac chorus.wav --within 10 20 --json
        """,
    )
    p.add_argument("recording", help="WAV/FLAC/OGG (channels are averaged)")
    p.add_argument("clip", help="the clip, at the recording's sample rate")
    p.add_argument("--within", type=float, nargs=2, metavar=("T0", "T1"), help="search only starts in [T0, T1] s")


def _add_bands(sub) -> None:
    p = add_command(
        sub,
        "bands",
        _bands,
        "octave or third-octave band levels over time (the equalizer bars) to CSV",
        """
        convlens bands song.flac bars.csv --bands third
        """,
    )
    p.add_argument("input", help="WAV/FLAC/OGG (channels are averaged)")
    p.add_argument("output", help="CSV (rows: frame times in s, columns: band centres, dB) or .npy")
    p.add_argument("--bands", choices=("octave", "third"), default="octave")
    p.add_argument("--frame", type=positive_int, default=None, help="frame length in samples (default: bins <= 8 Hz)")
    p.add_argument("--hop", type=positive_int, default=None, help="samples between frames (default frame/2)")
    p.add_argument("--fmin", type=float, default=20.0, help="lowest band edge in Hz (default 20)")
    p.add_argument("--fmax", type=float, default=None, help="highest band edge in Hz (default: Nyquist)")


def _add_forecast(sub) -> None:
    p = add_command(
        sub,
        "forecast",
        _forecast,
        "fit ARIMA(p,d,q) to a CSV column (statsmodels) and forecast it by convolution",
        """
        convlens forecast sunspots.csv next.csv --order 2,0,1 --trend c --steps 10 --column SUNACTIVITY
        """,
    )
    p.add_argument("input", help="CSV: first column the index (e.g. years), then the values")
    p.add_argument("output", help="CSV with mean, lower, upper, se per future step")
    p.add_argument("--order", type=_order, required=True, help="p,d,q")
    p.add_argument("--steps", type=positive_int, default=10, help="steps ahead (default 10)")
    p.add_argument("--column", default=None, help="column to forecast (default: the only numeric one)")
    p.add_argument("--trend", choices=("n", "c"), default="n", help="'c': a constant mean (only with d=0)")
    p.add_argument("--alpha", type=positive_float, default=0.05, help="interval level 1-alpha (default 0.05)")


def _add_whiten(sub) -> None:
    p = add_command(
        sub,
        "whiten",
        _whiten,
        "whiten a matrix (rows = samples, columns = features): ZCA, PCA or standardize",
        """
        convlens whiten digits.csv white.csv --method zca --epsilon 1e-3
        convlens whiten X.npy Z.npy --method pca --components 0.95
        """,
    )
    p.add_argument("input", help="CSV (numeric columns) or 2-D .npy")
    p.add_argument("output", help="CSV or .npy")
    p.add_argument("--method", choices=("zca", "pca", "standardize"), default="zca")
    p.add_argument("--components", type=_components, default=None, help="count, or variance fraction in (0, 1)")
    p.add_argument("--epsilon", type=float, default=0.0, help="regularizer added to the eigenvalues")


def register(sub) -> None:
    """Add the signal and table subcommands to ``sub``."""
    for add in (_add_locate, _add_bands, _add_forecast, _add_whiten):
        add(sub)
