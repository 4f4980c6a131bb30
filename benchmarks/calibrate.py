"""Refit every constant of the engine's cost model (``COST`` in ``convlens/_engine/_cost_table.py``).

Usage: ``python -m benchmarks.calibrate [--quick]``.  Times each method at one thread on a
few shapes (CPU time, so a busy machine disturbs it little; the thread gain is wall time)
and prints a complete ``COST = {...}`` table to paste over the one in ``_cost_table.py``.
Only the ranking of methods matters, so ~30% accuracy is enough.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

import convlens as cl
from convlens import _backend as B
from convlens._engine._cost import COST
from convlens._engine._direct import cv2, filter2d


def cpu_time(fn, repeats: int = 5) -> float:
    fn()
    samples = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        samples.append(time.process_time() - t0)
    return float(np.median(samples))


def wall_time(fn, repeats: int = 5) -> float:
    fn()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return float(np.median(samples))


def _plan(shape, k, dtype=np.float32, method="fft", workers=1):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(dtype)
    kern = rng.standard_normal((k,) * len(shape)).astype(dtype)
    plan = cl.Convolver(kern, shape, "same", method=method, dtype=dtype, workers=workers)
    return plan, x


def _pair_cost(shape) -> float:
    """CPU seconds per point * log2(points) of one r2c + c2r pair (per transform) at ``shape``."""
    a = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    vol = math.prod(shape)
    t = cpu_time(lambda: B.irfftn(B.rfftn(a, None, 1), None, shape[-1], 1))
    return t / (2 * vol * math.log2(vol))


def fit_fft(fit: dict, small: bool) -> None:
    """fft, mem, big_nd / big_1d / big_points (out-of-cache slowdowns), f64, thread_gain."""
    fit["fft"] = _pair_cost((256, 256))
    buf = np.ones(1 << 22, np.complex64)
    fit["mem"] = cpu_time(lambda: np.multiply(buf, buf, out=buf)) / buf.size / 2  # complex: 2 floats a point
    fit["big_nd"] = _pair_cost((1024, 1024) if small else (4320, 4320)) / fit["fft"]
    fit["big_1d"] = _pair_cost((1 << 20,) if small else (1 << 23,)) / fit["fft"]
    fit["big_points"] = COST["big_points"]  # a cache boundary (L2 = 1 MiB / 4 B), not a fit
    plan64, x64 = _plan((256, 256), 15, np.float64)
    plan32, x32 = _plan((256, 256), 15, np.float32)
    fit["f64"] = cpu_time(lambda: plan64(x64)) / cpu_time(lambda: plan32(x32))
    big2 = ((1024, 1024), 31) if small else ((2048, 2048), 31)
    plan2, x2 = _plan(*big2, workers=2)
    plan1, x1 = _plan(*big2, workers=1)
    fit["thread_gain"] = wall_time(lambda: plan2(x2)) / wall_time(lambda: plan1(x1))


def fit_threads(fit: dict, small: bool) -> None:
    """thread_min: 1-thread seconds of the smallest whole-array FFT plan that 2 threads speed up (by 10%).

    The plans are built directly (a ``Convolver`` would already apply the rule being fitted).
    """
    from convlens._engine._fft import FFTPlan
    from convlens._engine._geometry import make_geometry
    from convlens._engine._recipe import fft_lengths

    rng = np.random.default_rng(3)
    fit["thread_min"] = COST["thread_min"]
    for n in (96, 128, 192, 256, 384, 512) if small else (96, 128, 192, 256, 384, 512, 768, 1024):
        x = rng.standard_normal((n, n)).astype(np.float32)
        kern = rng.standard_normal((31, 31)).astype(np.float32)
        geom = make_geometry(x.shape, kern.shape, (0, 1), "same")
        times = []
        for workers in (1, 2):
            plan = FFTPlan(
                kern, geom, explicit_pad=False, dtype=np.float32, workers=workers, lengths=fft_lengths(geom, False)
            )
            plan.prepare()
            times.append(wall_time(lambda plan=plan, x=x: plan(x), repeats=9))
        if times[1] < 0.9 * times[0]:
            fit["thread_min"] = times[0]
            break


def fit_overlap_add(fit: dict) -> None:
    """oa_1d_fft, oa_1d_mem, oa_nd_mem, oa_nd, oa_nd_f64: measured over the whole-FFT model's prediction."""
    a, b = fit["fft"], fit["mem"]
    plan, x = _plan((1 << 20,), 301, method="overlap-add")
    r = plan.recipe(np.float32)
    vol = -(-(1 << 20) // (r.block_fft_len - 300)) * r.block_fft_len
    t = cpu_time(lambda: plan(x))
    fft_model = a * 2 * vol * math.log2(r.block_fft_len)
    mem_model = b * 1.5 * vol
    # split the measured time in the model's proportions: both factors scale by measured / model
    fit["oa_1d_fft"] = t / (fft_model + mem_model)
    fit["oa_1d_mem"] = 1.5 * t / (fft_model + mem_model)
    plan, x = _plan((2048, 256), 9, method="overlap-add")
    r = plan.recipe(np.float32)
    blocks = -(-2048 // (r.block_fft_len - 8))
    vol = blocks * r.block_fft_len * math.prod(r.lengths)
    t = cpu_time(lambda: plan(x)) - a * 2 * vol * math.log2(r.block_fft_len * math.prod(r.lengths))
    fit["oa_nd_mem"] = max(t, 0.0) / (b * vol)
    fit["oa_nd"], fit["oa_nd_f64"] = _oa_nd_factors(fit)


def _oa_nd_factors(fit: dict) -> tuple[float, float]:
    """oa_nd, oa_nd_f64: one-shot N-d overlap-add calls (below the tiles) against whole-array FFT calls,
    measured over the model's prediction of the two; in float32, and float64's over float32's."""
    from convlens._engine import _cost
    from convlens._engine._geometry import make_geometry

    rng = np.random.default_rng(1)
    saved = dict(COST)
    COST.update({key: value for key, value in fit.items() if key in COST}, oa_nd=1.0, oa_nd_f64=1.0)
    _cost.estimate_costs.cache_clear()
    relative = {np.float32: [], np.float64: []}
    try:
        # shapes below the tiles (``tile_lengths``: whole arrays under 8 MiB) in each dtype
        cases = {
            np.float32: (((512, 512), 31), ((1024, 1024), 15), ((1024, 1024), 63), ((768, 768), 31)),
            np.float64: (((512, 512), 31), ((512, 512), 15), ((768, 768), 31), ((768, 768), 63)),
        }
        for dtype in relative:
            for shape, k in cases[dtype]:
                x = rng.standard_normal(shape).astype(dtype)
                h = rng.standard_normal((k,) * len(shape)).astype(dtype)
                geom = make_geometry(shape, h.shape, tuple(range(len(shape))), "same")
                axis = _cost.best_block_axis(geom)
                size = np.dtype(dtype).itemsize
                oa = _cost.overlap_add_cost(geom, explicit_pad=False, real=True, block_axis=axis, itemsize=size)
                whole = _cost.fft_cost(geom, explicit_pad=False, real=True)  # itemsize 0: whole arrays, never tiles
                t_oa, t_fft = (
                    cpu_time(lambda m=m, x=x, h=h: cl.convolve(x, h, "same", method=m, workers=1))
                    for m in ("overlap-add", "fft")
                )
                relative[dtype].append((t_oa / oa) / (t_fft / whole))
    finally:
        COST.clear()
        COST.update(saved)
        _cost.estimate_costs.cache_clear()
    f32, f64 = (float(np.median(v)) for v in relative.values())
    return f32, f64 / f32


def fit_tiles(fit: dict, small: bool) -> None:
    """tile: seconds per tile point * log2(tile points) of one tile's r2c + product + c2r (2-D tiled plans)."""
    shape = (2048, 2048) if small else (4096, 4096)
    plan, x = _plan(shape, 31, method="fft")
    tiled = plan._kernel_plan(plan.recipe(np.float32)).tiled
    if tiled is None:  # no ducc0, or the tile rule changed: keep the value
        fit["tile"] = COST["tile"]
        return
    tvol = math.prod(tiled.tiles)
    t = cpu_time(lambda: plan(x)) - fit["mem"] * 2 * x.size
    fit["tile"] = max(t, 0.0) / (math.prod(tiled.counts) * tvol * math.log2(tvol))


def fit_direct(fit: dict, small: bool) -> None:
    """cv2, cv2_row, npconv_short, npconv, npconv_long, ndimage, taps: seconds per output * tap of each direct
    back end; cv2_out, cv2_line and cv2_call (OpenCV's per output, per row and per call); cv2_f64."""
    rng = np.random.default_rng(1)
    n = 1024 if small else 2048
    x = rng.standard_normal((n, n)).astype(np.float32)
    # OpenCV itself (the direct path would take the compiled sum for these)
    # seconds per output = cv2_out + cv2 * taps, a straight line through 3x3 ... 9x9
    taps, per_out = [], []
    for k in (3, 5, 7, 9):
        kern = rng.standard_normal((k, k)).astype(np.float32)
        taps.append(k * k)
        per_out.append(cpu_time(lambda kern=kern: filter2d(x, kern, cv2.BORDER_REFLECT_101, 1)) / x.size)
    slope, intercept = np.polyfit(taps, per_out, 1)
    fit["cv2"] = float(slope)
    fit["cv2_out"] = max(float(intercept), 0.0)
    # ... and per output row: a plane 2 samples wide is nearly all rows
    narrow = rng.standard_normal((1 << 17, 2)).astype(np.float32)
    k3 = rng.standard_normal((3, 3)).astype(np.float32)
    t = cpu_time(lambda: filter2d(narrow, k3, cv2.BORDER_REFLECT_101, 1))
    fit["cv2_line"] = max(t - narrow.size * (9 * fit["cv2"] + fit["cv2_out"]), 0.0) / narrow.shape[0]
    # ... and per call: an 8 x 8 plane (x) 3 x 3 is nearly all fixed cost
    tiny = rng.standard_normal((8, 8)).astype(np.float32)
    t = cpu_time(lambda: [filter2d(tiny, k3, cv2.BORDER_REFLECT_101, 1) for _ in range(100)]) / 100
    fit["cv2_call"] = max(t - tiny.size * (9 * fit["cv2"] + fit["cv2_out"]) - 8 * fit["cv2_line"], 0.0)
    # OpenCV's float64 slowdown over that of the FFT paths (fit["f64"], measured first)
    k5 = rng.standard_normal((5, 5))
    x64 = x.astype(np.float64)
    t64 = cpu_time(lambda: filter2d(x64, k5, cv2.BORDER_REFLECT_101, 1))
    t32 = cpu_time(lambda: filter2d(x, k5.astype(np.float32), cv2.BORDER_REFLECT_101, 1))
    fit["cv2_f64"] = t64 / t32 / fit["f64"]
    line = rng.standard_normal(1 << 18).astype(np.float32)
    short = [
        cpu_time(lambda k=k: np.convolve(line, rng.standard_normal(k).astype(np.float32), "same")) / (line.size * k)
        for k in (15, 31, 63)
    ]
    fit["npconv"] = float(np.median(short))
    tiny = [
        cpu_time(lambda k=k: np.convolve(line, rng.standard_normal(k).astype(np.float32), "same")) / (line.size * k)
        for k in (3, 5, 7, 9)
    ]
    fit["npconv_short"] = float(np.median(tiny))  # numpy's small-kernel loop (up to 11 taps)
    row = line[: 1 << 16]  # one row for OpenCV (rows up to 2**17 samples, kernels of 8 to 129 taps), padded first
    fit["cv2_row"] = float(
        np.median(
            [
                cpu_time(lambda k=k: filter2d(np.pad(row, k.size // 2)[None], k[None], cv2.BORDER_REFLECT_101, 1))
                / (row.size * k.size)
                for k in (rng.standard_normal(m).astype(np.float32) for m in (15, 31, 63))
            ]
        )
    )
    k_long = rng.standard_normal(1001).astype(np.float32)
    t_long = cpu_time(lambda: np.convolve(line, k_long, "same"))
    fit["npconv_long"] = max(t_long / line.size - 64 * fit["npconv"], 0.0) / (1001 - 64)
    x3 = rng.standard_normal((48, 48, 48)).astype(np.float32)
    k3 = rng.uniform(0.5, 1.5, (5, 5, 5)).astype(np.float32)  # no tiny taps: ndimage's path
    fit["ndimage"] = cpu_time(lambda: cl.convolve(x3, k3, "same", method="direct", workers=1)) / (x3.size * 125)
    xc = x3.astype(np.complex64)
    fit["taps"] = cpu_time(lambda: cl.convolve(xc, k3, "same", method="direct", workers=1)) / (x3.size * 125)


def fit_native(fit: dict, small: bool) -> None:
    """native, native_f64, native_narrow, native_edge, native_row, native_byte: the compiled direct sum's vector loop
    (seconds per output * tap), its float64 slowdown over that of the FFT paths, its slowdown on rows
    narrower than a block of vectors, its scalar loop (edges of 1 or 2 columns whose taps reach past x),
    its loop overhead on rows with less than a vector inside x and its memory traffic (seconds per
    byte read or written)."""
    from convlens._engine import _directsum

    rng = np.random.default_rng(2)
    n = 1024 if small else 2048
    x = rng.standard_normal((1, n, n)).astype(np.float32)

    def valid(x, h):  # 'valid' outputs: every one in the vector loop
        (kh, kw), m = h.shape, (n - h.shape[0] + 1, n - h.shape[1] + 1)
        out = np.empty(m, x.dtype)
        return lambda: _directsum.convolve_plane(x, h, out, 1, n, n, kh, kw, *m, kh - 1, kw - 1, 0, m[0], 0, m[1])

    per = []
    for k in (3, 5, 7, 9):
        h = rng.standard_normal((k, k)).astype(np.float32)
        per.append(cpu_time(valid(x, h)) / ((n - k + 1) ** 2 * k * k))
    fit["native"] = float(np.median(per))
    h5 = rng.standard_normal((5, 5))
    t64 = cpu_time(valid(x.astype(np.float64), h5))
    t32 = cpu_time(valid(x, h5.astype(np.float32)))
    fit["native_f64"] = t64 / t32 / fit["f64"]
    # rows narrower than one block of 8 vectors (float32: 64 outputs) run one vector at a time:
    # 'valid' rows 56 outputs wide against 64 wide, per output * tap
    planes = rng.standard_normal((256, 66, 66)).astype(np.float32)
    h3 = rng.standard_normal((3, 3)).astype(np.float32)
    narrow_out, wide_out = np.empty((256, 64, 56), np.float32), np.empty((256, 64, 64), np.float32)
    narrow = planes[:, :, :58].copy()
    t_narrow = cpu_time(
        lambda: _directsum.convolve_plane(narrow, h3, narrow_out, 256, 66, 58, 3, 3, 64, 56, 2, 2, 0, 64, 0, 56)
    )
    t_wide = cpu_time(
        lambda: _directsum.convolve_plane(planes, h3, wide_out, 256, 66, 66, 3, 3, 64, 64, 2, 2, 0, 64, 0, 64)
    )
    fit["native_narrow"] = (t_narrow / narrow_out.size) / (t_wide / wide_out.size)
    # the scalar loop: the two edge columns of 4096 'same' rows (x) 5 taps, 3 and 4 taps each
    # (wider edges run the vector loops on a zero-filled copy)
    rows = rng.standard_normal((1, 4096, 256)).astype(np.float32)
    h = rng.standard_normal((1, 5)).astype(np.float32)
    out = np.empty_like(rows)
    dims = (1, 4096, 256, 1, 5, 4096, 256, 0, 2)
    t = cpu_time(lambda: [_directsum.convolve_plane(rows, h, out, *dims, 0, 4096, 0, 2) for _ in range(20)]) / 20
    fit["native_edge"] = t / (4096 * 7)
    # rows with less than a vector inside x run whole in strips: what the arithmetic (4 float64 lanes
    # a row) does not explain, per output row * kernel row (20000 rows of 2 (x) 31 x 1)
    tall = rng.standard_normal((1, 20000, 2))
    h31 = rng.standard_normal((31, 1))
    tall_out = np.empty_like(tall)
    t = cpu_time(
        lambda: _directsum.convolve_plane(tall, h31, tall_out, 1, 20000, 2, 31, 1, 20000, 2, 15, 0, 0, 20000, 0, 2)
    )
    arithmetic = 20000 * 4 * 31 * fit["native"] * fit["native_f64"] * fit["native_narrow"]
    fit["native_row"] = max(t - arithmetic, 0.0) / (20000 * 31)
    # a short kernel on a long signal is bound by memory: what the arithmetic does not explain, per byte
    # of x and (fresh) output, decides whether the sum is split among threads
    sig = rng.standard_normal(1 << 20)
    h3 = rng.standard_normal(3)
    t = cpu_time(lambda: cl.convolve(sig, h3, "valid", method="direct", workers=1), repeats=15)  # each freed
    arithmetic = sig.size * 3 * fit["native"] * fit["native_f64"]
    fit["native_byte"] = max(t - arithmetic, 0.0) / (2 * sig.nbytes)


def fit_calls(fit: dict) -> None:
    """call, call_fft, call_plan (fixed overheads of a tiny convolve: direct, lean FFT, a plan built) and
    channels_gemm (per channel pair * frequency)."""
    x = np.ones(64, np.float32)
    k = np.ones(3, np.float32)
    fit["call"] = cpu_time(lambda: [cl.convolve(x, k, "same", method="direct") for _ in range(100)]) / 100
    t_fft = cpu_time(lambda: [cl.convolve(x, k, "same", method="fft") for _ in range(100)]) / 100
    fit["call_fft"] = max(t_fft - fit["call"], 0.0)
    t_plan = cpu_time(lambda: [cl.convolve(x, k, "same", method="overlap-add") for _ in range(100)]) / 100
    fit["call_plan"] = max(t_plan - t_fft, 0.0)  # a one-shot call that builds its plan (the lean path does not)
    rng = np.random.default_rng(2)
    xs = rng.standard_normal((4, 32, 64, 64)).astype(np.float32)
    w = rng.standard_normal((32, 32, 7, 7)).astype(np.float32)
    t = cpu_time(lambda: cl.convolve_channels(xs, w, method="fft", workers=1), repeats=3)
    lens = [B.fast_length(64 + 3) for _ in range(2)]
    vol = lens[0] * (lens[1] // 2 + 1)
    fft_part = fit["fft"] * (4 * 32 + 32 * 32 + 4 * 32) * vol * 2 * math.log2(vol)
    fit["channels_gemm"] = max(t - fft_part, 0.0) / (4 * 32 * 32 * vol)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.calibrate", description=__doc__)
    p.add_argument("--quick", action="store_true", help="smaller shapes (a smoke test)")
    args = p.parse_args(argv)
    fit: dict[str, float] = {}
    fit_fft(fit, args.quick)
    fit_overlap_add(fit)
    fit_tiles(fit, args.quick)
    fit_direct(fit, args.quick)
    fit_native(fit, args.quick)
    fit_calls(fit)
    fit_threads(fit, args.quick)
    missing = set(COST) - set(fit)
    assert not missing, f"calibrate must refit every constant; missing {sorted(missing)}"
    print("COST = {")
    for name in COST:
        value = fit[name]
        text = f"{int(value)}" if name == "big_points" else f"{value:.3g}"
        print(f'    "{name}": {text},  # was {COST[name]:.3g}')
    print("}")


if __name__ == "__main__":
    main()
