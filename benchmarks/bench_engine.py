"""Engine benchmarks: W1 (4096² ⊛ 31², with peak memory), W2 (4096² ⊛ 3²), W3 (1-D 2²² ⊛ 4096),
'auto' against its own methods, and the size grid against the best peer.

The size grid: 1-D n ∈ {2¹², 2¹⁶, 2²⁰, 2²³} × k ∈ {3, 31, 1001, n/4} and 2-D n² ∈ {256², 1024²,
4096²} × k² ∈ {3², 15², 63², 255²}, float32 and float64, mode 'same'; each cell's ratio is the best
peer (scipy.signal.convolve / fftconvolve / oaconvolve, np.convolve in 1-D, cv2.filter2D in 2-D) over
convlens 'auto', at 1 thread and at 2 threads.  ``python -m benchmarks --only engine --grid quick``
runs a few cells; ``--grid off`` skips it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import numpy as np
import scipy.ndimage as ndi
import scipy.signal as ss

import convlens as cl

from ._harness import Case, Compare, peak_memory


def _fftconvolve_1thread(x, k, mode):
    import scipy.fft

    with scipy.fft.set_workers(1):
        return ss.fftconvolve(x, k, mode)


def _w1(quick: bool) -> Case:
    import cv2

    n, m = (1024, 31) if quick else (4096, 31)
    rng = np.random.default_rng(20241125)
    x = rng.standard_normal((n, n)).astype(np.float32)
    k = rng.standard_normal((m, m)).astype(np.float32)
    kflip = np.ascontiguousarray(k[::-1, ::-1])
    plan1 = cl.Convolver(k, x.shape, "same", dtype=np.float32, workers=1)
    plan2 = cl.Convolver(k, x.shape, "same", dtype=np.float32, workers=2)

    def check(out):
        ref = ss.fftconvolve(x.astype(np.float64), k.astype(np.float64), "same")
        err = float(np.abs(out["convolve"] - ref).max() / np.abs(ref).max())
        perr = float(np.abs(out["Convolver plan"] - ref).max() / np.abs(ref).max())
        return (
            f"float32 max|err|/max|y| vs float64: convolve {err:.2e}, plan {perr:.2e} (goal ≤ 5e-7); "
            f"plan method {plan1.method!r}; {_w1_memory(x, k, kflip, plan1)}"
        )

    return Case(
        workload=f"W1 {n}² ⊛ {m}² same float32",
        ours={
            "convolve": lambda: cl.convolve(x, k, "same", workers=1),
            "Convolver plan": lambda: plan1(x),
            "Convolver plan (2 threads)": lambda: plan2(x),
        },
        anchors={
            "scipy fftconvolve": lambda: _fftconvolve_1thread(x, k, "same"),
            "cv2.filter2D": lambda: cv2.filter2D(x, -1, kflip, borderType=cv2.BORDER_CONSTANT),
            "cv2.filter2D (2 threads)": lambda: cv2.filter2D(x, -1, kflip, borderType=cv2.BORDER_CONSTANT),
        },
        compare=[
            Compare("scipy fftconvolve", "convolve", 1.5),
            Compare("scipy fftconvolve", "Convolver plan", 2.8),
            Compare("cv2.filter2D", "Convolver plan", 1.5),
            Compare("scipy fftconvolve", "Convolver plan (2 threads)", 5.0, "fftconvolve at 1 thread"),
            Compare("cv2.filter2D (2 threads)", "Convolver plan (2 threads)", 1.5, "equal threads"),
        ],
        threads={"Convolver plan (2 threads)": 2, "cv2.filter2D (2 threads)": 2},
        check=check,
        # a plan is made to be applied to many inputs: time its steady state (the first few
        # calls after it allocates its 70 MB buffers are up to 2x slower on this VM), and give
        # every row, anchors included, the same warm-up and repeats
        warmup=3,
        repeats=15,
        budget_s=8.0,
    )


def _w1_memory(x, k, kflip, plan) -> str:
    """Peak memory of each W1 call above its input and output (MiB), one call each."""
    import cv2

    calls = {
        "plan (warm; keeps its buffers between calls)": lambda: plan(x),
        "new plan + first call (incl. kernel spectrum and kept buffers)": lambda: cl.Convolver(
            k, x.shape, "same", dtype=np.float32, workers=1
        )(x),
        "convolve": lambda: cl.convolve(x, k, "same", workers=1),
        "fftconvolve": lambda: ss.fftconvolve(x, k, "same"),
        "oaconvolve": lambda: ss.oaconvolve(x, k, "same"),
        "cv2.filter2D": lambda: cv2.filter2D(x, -1, kflip, borderType=cv2.BORDER_CONSTANT),
    }
    out_bytes = x.nbytes  # 'same': the output is as large as the input
    # (memory the allocator already holds is reused without raising the peak: small sizes read ~0)
    parts = [f"{name} +{max(peak_memory(fn) - out_bytes, 0.0) / 2**20:.0f}" for name, fn in calls.items()]
    return "peak memory over input and output (MiB): " + ", ".join(parts)


def _w2(quick: bool) -> Case:
    import cv2

    n = 1024 if quick else 4096
    rng = np.random.default_rng(20241126)
    x = rng.standard_normal((n, n)).astype(np.float32)
    k = rng.standard_normal((3, 3)).astype(np.float32)
    kflip = np.ascontiguousarray(k[::-1, ::-1])

    def check(out):
        ref = ndi.convolve(x.astype(np.float64), k.astype(np.float64), mode="constant")
        err = float(np.abs(out["convolve auto"] - ref).max() / np.abs(ref).max())
        method = cl.choose_method(x.shape, k.shape, mode="same", dtype=np.float32, workers=1)
        return f"auto chose {method!r}; max rel err {err:.1e}"

    return Case(
        workload=f"W2 {n}² ⊛ 3² same float32",
        ours={"convolve auto": lambda: cl.convolve(x, k, "same", workers=1)},
        anchors={
            "ndimage.convolve": lambda: ndi.convolve(x, k, mode="constant"),
            "cv2.filter2D": lambda: cv2.filter2D(x, -1, kflip, borderType=cv2.BORDER_CONSTANT),
        },
        compare=[
            Compare("ndimage.convolve", "convolve auto", 5.0),
            Compare("cv2.filter2D", "convolve auto", 1 / 1.5, "within 1.5x of cv2"),
        ],
        check=check,
        repeats=15,
    )


def _w3(quick: bool) -> Case:
    n, m = (2**18, 1024) if quick else (2**22, 4096)
    rng = np.random.default_rng(20241127)
    x = rng.standard_normal(n)
    k = rng.standard_normal(m)

    def oaconvolve():
        import scipy.fft

        with scipy.fft.set_workers(1):
            return ss.oaconvolve(x, k)

    def check(out):
        ref = out["scipy oaconvolve"]
        err = float(np.abs(out["convolve"] - ref).max() / np.abs(ref).max())
        return f"auto chose {cl.choose_method(x.shape, k.shape)!r}; max rel diff vs oaconvolve {err:.1e}"

    return Case(
        workload=f"W3 1-D float64 {n} ⊛ {m} full",
        ours={
            "convolve": lambda: cl.convolve(x, k, workers=1),
            "convolve (2 threads)": lambda: cl.convolve(x, k, workers=2),
        },
        anchors={"scipy oaconvolve": oaconvolve},
        compare=[
            Compare("scipy oaconvolve", "convolve", 1.5),
            Compare("scipy oaconvolve", "convolve (2 threads)", 2.5, "oaconvolve at 1 thread"),
        ],
        threads={"convolve (2 threads)": 2},
        check=check,
    )


def _exact_int(quick: bool) -> Case:
    """Exact integers past one float64 FFT's exact range: limbs of FFTs against scipy's one rounded FFT."""
    n, m = (256, 32) if quick else (1024, 128)
    rng = np.random.default_rng(20261202)
    x = rng.integers(-4096, 4096, (n, n))
    k = rng.integers(-4096, 4096, (m, m))

    def check(out):
        same = np.array_equal(out["convolve"], out["scipy.signal.convolve"])
        return f"int64 results equal: {same} (convlens' are exact by construction; scipy rounds one FFT)"

    return Case(
        workload=f"exact int64 {n}² ⊛ {m}² same, values ±4096 (sums up to ~2**48)",
        ours={"convolve": lambda: cl.convolve(x, k, "same", workers=1)},
        anchors={"scipy.signal.convolve": lambda: _scipy(ss.convolve, 1)(x, k, "same")},
        compare=[Compare("scipy.signal.convolve", "convolve", None, "the price of a guaranteed exact result")],
        check=check,
        repeats=5,
    )


def _direct_wide(quick: bool) -> Case:
    """method='direct' where the compiled sum runs widened: float32 kernels of 130+ taps (summed in
    float64, as ndimage does) and complex data (four real sums)."""
    n = 256 if quick else 1024
    rng = np.random.default_rng(20261203)
    x32 = rng.standard_normal((n, n)).astype(np.float32)
    k32 = rng.standard_normal((15, 15)).astype(np.float32)
    xc = (rng.standard_normal((n, n)) + 1j * rng.standard_normal((n, n))).astype(np.complex128)
    kc = (rng.standard_normal((9, 9)) + 1j * rng.standard_normal((9, 9))).astype(np.complex128)

    def check(out):
        ref = ndi.convolve(x32.astype(np.float64), k32.astype(np.float64), mode="constant")
        e32 = np.max(np.abs(out["direct float32 15²"] - ref)) / np.max(np.abs(ref))
        refc = ss.convolve(xc, kc, "same", method="fft")
        ec = np.max(np.abs(out["direct complex128 9²"] - refc)) / np.max(np.abs(refc))
        return f"max rel. difference: float32 vs float64 ndimage {e32:.1e}; complex128 vs scipy {ec:.1e}"

    return Case(
        workload=f"direct sums {n}² ⊛ 15² float32 (225 taps) and {n}² ⊛ 9² complex128, same",
        ours={
            "direct float32 15²": lambda: cl.convolve(x32, k32, "same", method="direct", workers=1),
            "direct complex128 9²": lambda: cl.convolve(xc, kc, "same", method="direct", workers=1),
        },
        anchors={
            "ndimage.convolve float32": lambda: ndi.convolve(x32, k32, mode="constant"),
            "scipy.signal.convolve direct complex128": lambda: ss.convolve(xc, kc, "same", method="direct"),
        },
        compare=[
            Compare("ndimage.convolve float32", "direct float32 15²", None, "both sum in float64"),
            Compare("scipy.signal.convolve direct complex128", "direct complex128 9²", None, "both literal sums"),
        ],
        check=check,
        repeats=3,
    )


def _volume(quick: bool) -> Case:
    """A volume with a small kernel: the compiled sum plane by plane against ndimage and the FFT."""
    n = 64 if quick else 128
    rng = np.random.default_rng(20261204)
    x = rng.standard_normal((n, n, n)).astype(np.float32)
    k = rng.standard_normal((3, 3, 3)).astype(np.float32)

    def check(out):
        ref = ndi.convolve(x.astype(np.float64), k.astype(np.float64), mode="constant")
        err = np.max(np.abs(out["convolve auto"] - ref)) / np.max(np.abs(ref))
        chosen = cl.choose_method(x.shape, k.shape, dtype=x.dtype, workers=1)
        return f"auto chose '{chosen}'; max rel. difference vs float64 ndimage {err:.1e}"

    return Case(
        workload=f"volume {n}³ ⊛ 3³ float32 same",
        ours={"convolve auto": lambda: cl.convolve(x, k, "same", workers=1)},
        anchors={
            "ndimage.convolve": lambda: ndi.convolve(x, k, mode="constant"),
            "scipy fftconvolve": lambda: _fftconvolve_1thread(x, k, "same"),
        },
        compare=[
            Compare("ndimage.convolve", "convolve auto", None, "both direct sums"),
            Compare("scipy fftconvolve", "convolve auto", None),
        ],
        check=check,
        repeats=5,
    )


# (x shape, kernel shape, dtype, mode) for the check that 'auto' is close to the best method.
AUTO_GRID = [
    ((100_000,), (16,), "float64", "full"),
    ((100_000,), (300,), "float64", "full"),
    ((1_000_000,), (2_000,), "float32", "same"),
    ((512, 512), (3, 3), "float32", "same"),
    ((512, 512), (9, 9), "float32", "same"),
    ((512, 512), (31, 31), "float64", "same"),
    ((2048, 2048), (5, 5), "float32", "same"),
    ((2048, 2048), (15, 15), "float32", "same"),
    ((2048, 128), (65, 9), "float64", "valid"),
    ((64, 64, 64), (3, 3, 3), "float32", "same"),
    ((64, 64, 64), (9, 9, 9), "float64", "same"),
]


def _auto_cases(quick: bool) -> list[Case]:
    cases = []
    grid = AUTO_GRID[::3] if quick else AUTO_GRID
    rng = np.random.default_rng(7)
    for xs, ks, dt, mode in grid:
        x = rng.standard_normal(xs).astype(dt)
        k = rng.standard_normal(ks).astype(dt)
        chosen = cl.choose_method(xs, ks, mode=mode, dtype=dt, workers=1)
        ours = {f"auto ({chosen})": (lambda x=x, k=k, mode=mode: cl.convolve(x, k, mode, workers=1))}
        anchors = {
            m: (lambda x=x, k=k, m=m, mode=mode: cl.convolve(x, k, mode, method=m, workers=1))
            for m in ("direct", "fft", "overlap-add")
        }
        cases.append(
            Case(
                workload=f"auto grid {'x'.join(map(str, xs))} ⊛ {'x'.join(map(str, ks))} {dt} {mode}",
                ours=ours,
                anchors=anchors,
                # 'auto' must never be more than 1.3x slower than the best of its own methods
                compare=[Compare(tuple(anchors), next(iter(ours)), 1 / 1.3, "best of own methods")],
                repeats=5,
                budget_s=2.0,
            )
        )
    return cases


# -- the size grid: 'auto' against the best peer in every cell -----------------------------------

GRID_1D = [(n, k) for n in (2**12, 2**16, 2**20, 2**23) for k in (3, 31, 1001, n // 4)]
GRID_2D = [(n, k) for n in (256, 1024, 4096) for k in (3, 15, 63, 255)]
_NP_CONVOLVE_MAX = 2e9  # skip np.convolve where n * k would take seconds (it is a direct sum)


def _scipy(fn, workers):
    import scipy.fft

    def call(*args):
        with scipy.fft.set_workers(workers):
            return fn(*args)

    return call


def _batched(fn, calls: int):
    """``fn`` called ``calls`` times in a row (returns the last output)."""
    if calls == 1:
        return fn

    def run():
        for _ in range(calls - 1):
            fn()
        return fn()

    return run


def _grid_cell(x: np.ndarray, k: np.ndarray) -> Case:
    import cv2

    kflip = np.ascontiguousarray(np.flip(k))
    one_d = x.ndim == 1
    # The harness collects garbage before every sample, which leaves a call of microseconds
    # with cold caches (4096 ⊛ 3: ~80 us instead of ~6 us for np.convolve): small cells time
    # a run of calls per sample, the same number for convlens and every peer.
    calls = min(64, max(1, 2**20 // x.size))
    anchors, threads = {}, {}
    for w in (1, 2):
        tag = "" if w == 1 else " (2 threads)"
        anchors[f"scipy.signal.convolve{tag}"] = lambda w=w: _scipy(ss.convolve, w)(x, k, "same")
        anchors[f"fftconvolve{tag}"] = lambda w=w: _scipy(ss.fftconvolve, w)(x, k, "same")
        anchors[f"oaconvolve{tag}"] = lambda w=w: _scipy(ss.oaconvolve, w)(x, k, "same")
        threads.update({f"{name}{tag}": w for name in ("scipy.signal.convolve", "fftconvolve", "oaconvolve")})
        if not one_d:
            anchors[f"cv2.filter2D{tag}"] = lambda: cv2.filter2D(x, -1, kflip, borderType=cv2.BORDER_CONSTANT)
            threads[f"cv2.filter2D{tag}"] = w
    if one_d and x.size * k.size <= _NP_CONVOLVE_MAX:
        anchors["np.convolve"] = lambda: np.convolve(x, k, "same")
    peers1 = tuple(a for a in anchors if "2 threads" not in a)
    peers2 = tuple(a for a in anchors if "2 threads" in a or a == "np.convolve")
    chosen = cl.choose_method(x.shape, k.shape, mode="same", dtype=x.dtype, workers=1)
    shape = "x".join(map(str, x.shape))
    per_sample = f", {calls} calls a sample" if calls > 1 else ""
    ours = {
        "auto": lambda: cl.convolve(x, k, "same", workers=1),
        "auto (2 threads)": lambda: cl.convolve(x, k, "same", workers=2),
    }
    return Case(
        workload=f"grid {shape} ⊛ {'x'.join(map(str, k.shape))} {x.dtype} same (auto: {chosen}{per_sample})",
        ours={label: _batched(fn, calls) for label, fn in ours.items()},
        anchors={label: _batched(fn, calls) for label, fn in anchors.items()},
        compare=[
            Compare(peers1, "auto", 1.0, "best peer, 1 thread"),
            Compare(peers2, "auto (2 threads)", 1.5, "best peer, 2 threads (goal above 1 ms)", above_s=1e-3),
        ],
        threads={"auto (2 threads)": 2, **threads},
        repeats=7,
        budget_s=2.0,
        calls=calls,
    )


def _overhead_case() -> Case:
    """Per-call overhead: a repeated 4096 ⊛ 3 call (goal: at most 15 µs in all, recipe reused)."""
    rng = np.random.default_rng(15)
    x = rng.standard_normal(4096).astype(np.float32)
    k = rng.standard_normal(3).astype(np.float32)
    return Case(
        workload="per-call overhead 4096 ⊛ 3 float32 same (100 repeated calls a sample; goal <= 15 us a call)",
        ours={"auto": _batched(lambda: cl.convolve(x, k, "same", workers=1), 100)},
        anchors={"np.convolve": _batched(lambda: np.convolve(x, k, "same"), 100)},
        compare=[Compare("np.convolve", "auto", None, "the difference is convlens' per-call overhead")],
        repeats=31,
        budget_s=1.0,
        warmup=3,
    )


def _grid_cases(quick: bool) -> Iterator[Case]:
    """The grid's cells, made one at a time (the 4096² float64 inputs alone would hold 2 GiB)."""
    which = os.environ.get("CONVLENS_BENCH_GRID", "full")
    if which == "off":
        return
    yield _overhead_case()
    small = which == "quick" or quick
    dtypes = ("float32",) if small else ("float32", "float64")
    g1 = [(n, k) for n, k in GRID_1D if n <= 2**16] if small else GRID_1D
    g2 = [(n, k) for n, k in GRID_2D if n <= 1024 and k <= 63] if small else GRID_2D
    rng = np.random.default_rng(20261201)
    for dt in dtypes:
        for n, m in g1:
            yield _grid_cell(rng.standard_normal(n).astype(dt), rng.standard_normal(m).astype(dt))
        for n, m in g2:
            yield _grid_cell(rng.standard_normal((n, n)).astype(dt), rng.standard_normal((m, m)).astype(dt))


def cases(quick: bool) -> Iterator[Case]:
    """Every engine case, made lazily so that one workload's arrays are freed before the next."""
    yield from (_w1(quick), _w2(quick), _w3(quick), _exact_int(quick), _direct_wide(quick), _volume(quick))
    yield from _auto_cases(quick)
    yield from _grid_cases(quick)
