"""Subcommands on recordings, series and tables: locate, bands, forecast, whiten."""

from __future__ import annotations

import argparse
import re

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


def _integers(text: str, names: str, example: str) -> tuple[int, ...]:
    """Comma-separated integers >= 0, one per letter of ``names``; else argparse's one-line error."""
    allowed = f"{','.join(names)} ({len(names)} integers >= 0, e.g. {example})"
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != len(names) or min(values) < 0:
        raise argparse.ArgumentTypeError(f"must be {allowed}; got {text!r}")
    return values


def _order(text: str) -> tuple[int, int, int]:
    """argparse type: 'p,d,q', non-negative integers."""
    return _integers(text, "pdq", "2,0,1")  # type: ignore[return-value]


def _seasonal_order(text: str) -> tuple[int, int, int, int]:
    """argparse type: 'P,D,Q,s', non-negative integers, with a period s >= 2 when P, D or Q is set."""
    P, D, Q, s = _integers(text, "PDQs", "1,0,0,12")
    if (P or D or Q) and s < 2:
        raise argparse.ArgumentTypeError(f"needs a period s >= 2 when P, D or Q is set (e.g. 1,0,0,12); got {text!r}")
    return P, D, Q, s


# With k = d + D differences, statsmodels allows trend terms of degree >= k only (a constant, degree 0,
# is differenced away once k >= 1; a drift, degree 1, once k >= 2).
TRENDS = ("n", "c", "t", "ct")


def _check_trend(trend: str, order: tuple[int, int, int], seasonal: tuple[int, int, int, int] | None) -> None:
    k = order[1] + (seasonal[1] if seasonal else 0)
    lowest = {"n": None, "c": 0, "t": 1, "ct": 0}[trend]
    if lowest is None or lowest >= k:
        return
    needs = ("d" if seasonal is None else "d + D") + (" = 0" if lowest == 0 else " <= 1")
    removes = "a constant" if lowest == 0 else "a linear drift"
    shown = f"--order {','.join(map(str, order))}" + (
        f" --seasonal-order {','.join(map(str, seasonal))}" if seasonal else ""
    )
    raise UsageError(f"--trend {trend} needs {needs} (differencing removes {removes}); got {shown}")


def _model_name(args: argparse.Namespace) -> str:
    seasonal = f"x{args.seasonal_order}" if args.seasonal_order else ""
    return f"ARIMA{args.order}{seasonal}" + (f" trend {args.trend}" if args.trend != "n" else "")


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
    _check_trend(args.trend, args.order, args.seasonal_order)
    series = io.read_series(args.input, args.column)
    model = {"seasonal_order": args.seasonal_order, "trend": args.trend}
    with busy(args, f"fitting {_model_name(args)}", size=series.values.size), warnings.catch_warnings(record=True):
        # statsmodels warns about start values and convergence; the fit is still its fit.  Recorded here and
        # dropped: statsmodels resets the filters inside its fit, so "ignore" alone would not hold.
        warnings.simplefilter("ignore")
        params = timeseries.fit_arima(series.values, args.order, **model)
        fc = timeseries.forecast_arima(series.values, args.order, params, args.steps, alpha=args.alpha, **model)
    bounds = fc.conf_int()
    index, index_name = _future_index(series.index, args.steps)
    columns = {"mean": fc.mean, "lower": bounds[:, 0], "upper": bounds[:, 1], "se": fc.se}
    out = io.write_table(args.output, columns, index=index, index_name=index_name or series.index_name or "index")
    shown = ", ".join(f"{v:.4g}" for v in fc.mean[:3]) + (", ..." if args.steps > 3 else "")
    level = round(100 * (1 - args.alpha))
    line = (
        f"{_model_name(args)} on {series.name} ({series.values.size} values): next {args.steps}: {shown} "
        f"({level}% intervals in {out})"
    )
    result = {"input": args.input, "output": str(out), "column": series.name, "order": list(args.order)}
    result.update(seasonal_order=list(args.seasonal_order or (0, 0, 0, 0)), trend=args.trend)
    report(args, line, {**result, "params": params, "mean": fc.mean, "lower": bounds[:, 0], "upper": bounds[:, 1]})


def _components(text: str) -> int | float:
    """argparse type: an integer count or a fraction of the variance in (0, 1)."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (0 < value < 1 or (value >= 1 and value == int(value))):  # NaN fails both
        raise argparse.ArgumentTypeError(f"must be a count or a fraction in (0, 1), got {text!r}")
    return value if value < 1 else int(value)


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
        convlens forecast sunspots.csv next.csv --order 2,0,0 --seasonal-order 1,0,0,11 --trend c --steps 22
        """,
    )
    # "--order -1,0,0" must reach the order's own check (one clear line), not be taken for an unknown
    # option: argparse reads a value starting with '-' as a value only when it looks like a negative number.
    p._negative_number_matcher = re.compile(r"^-\d+(,-?\d+)*$|^-\d*\.\d+$")
    p.add_argument("input", help="CSV: first column the index (e.g. years), then the values")
    p.add_argument("output", help="CSV with mean, lower, upper, se per future step")
    p.add_argument("--order", type=_order, required=True, help="p,d,q: integers >= 0 (AR lags, differences, MA lags)")
    p.add_argument(
        "--seasonal-order",
        type=_seasonal_order,
        default=None,
        metavar="P,D,Q,s",
        help="seasonal AR lags, differences, MA lags and period s >= 2 (default: none)",
    )
    p.add_argument("--steps", type=positive_int, default=10, help="steps ahead (default 10)")
    p.add_argument("--column", default=None, help="column to forecast (default: the only numeric one)")
    p.add_argument(
        "--trend",
        choices=TRENDS,
        default="n",
        help="'n' none (default), 'c' a constant (d + D = 0), 't' a linear drift (d + D <= 1), 'ct' both (d + D = 0)",
    )
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
