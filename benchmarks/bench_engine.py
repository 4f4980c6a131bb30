"""Engine benchmarks (issue 2): W1 (4096² ⊛ 31²), W2 (4096² ⊛ 3²), W3 (1-D 2²² ⊛ 4096), auto grid."""

from __future__ import annotations

import numpy as np
import scipy.ndimage as ndi
import scipy.signal as ss

import convlens as cl

from ._harness import Case, Compare


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
        return f"float32 max|err|/max|y| vs float64: convolve {err:.2e}, plan {perr:.2e} (goal ≤ 5e-7); plan method {plan1.method!r}"

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
        },
        compare=[
            Compare("scipy fftconvolve", "convolve", 1.5),
            Compare("scipy fftconvolve", "Convolver plan", 2.8),
            Compare("cv2.filter2D", "Convolver plan", 1.0),
            Compare("scipy fftconvolve", "Convolver plan (2 threads)", 5.0, "fftconvolve at 1 thread"),
        ],
        threads={"Convolver plan (2 threads)": 2},
        check=check,
        # a plan is made to be applied to many inputs: time its steady state (the first few
        # calls after it allocates its 70 MB buffers are up to 2x slower on this VM), and give
        # every row, anchors included, the same warm-up and repeats
        warmup=3,
        repeats=15,
        budget_s=8.0,
    )


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


def cases(quick: bool) -> list[Case]:
    return [_w1(quick), _w2(quick), _w3(quick), *_auto_cases(quick)]
