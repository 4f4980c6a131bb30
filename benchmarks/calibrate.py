"""Fit the constants of the engine's cost model (``convlens/_engine/_cost.py``) on this machine.

Usage: ``python -m benchmarks.calibrate``.  Times each method at one thread on a
few shapes (CPU time, so a busy machine disturbs it little) and prints the
least-squares per-operation costs to paste into ``COST``.
"""

from __future__ import annotations

import math
import time

import numpy as np

import convlens as cl
from convlens import _backend as B


def cpu_time(fn, repeats: int = 5) -> float:
    fn()
    samples = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        samples.append(time.process_time() - t0)
    return float(np.median(samples))


def main() -> None:
    rng = np.random.default_rng(0)
    # FFT plan: t = a * V log2 V * transforms + b * V
    rows, ts = [], []
    for shape, k in [((256, 256), 15), ((1024, 1024), 31), ((2048, 2048), 31), ((1 << 20,), 301), ((64, 64, 64), 9)]:
        x = rng.standard_normal(shape).astype(np.float32)
        kern = rng.standard_normal((k,) * len(shape)).astype(np.float32)
        plan = cl.Convolver(kern, shape, "same", method="fft", dtype=np.float32, workers=1)
        vol = math.prod(B.fast_length(n + k - 1 - (k - 1) // 2) for n in shape)
        rows.append([2 * vol * math.log2(vol), 3 * vol])
        ts.append(cpu_time(lambda plan=plan, x=x: plan(x)))
    from scipy.optimize import nnls

    (a, b), _ = nnls(np.array(rows), np.array(ts))
    for r, t in zip(rows, ts):
        print(f"# measured {t * 1e3:.2f} ms, model {(a * r[0] + b * r[1]) * 1e3:.2f} ms")
    print(f'"fft": {a:.2g},  # per point * log2(points) of one real transform')
    print(f'"mem": {b:.2g},  # per point copied / multiplied')
    # cv2 and ndimage direct: t = c * outputs * taps
    x = rng.standard_normal((2048, 2048)).astype(np.float32)
    cv = []
    for k in (3, 5, 7, 9):
        kern = rng.standard_normal((k, k)).astype(np.float32)
        cv.append(
            cpu_time(lambda kern=kern: cl.convolve(x, kern, "same", method="direct", workers=1)) / (x.size * k * k)
        )
    print(f'"cv2": {np.median(cv):.2g},  # per output * kernel tap (float32)')
    x3 = rng.standard_normal((48, 48, 48)).astype(np.float32)
    nd = []
    for k in (3, 5):
        kern = rng.standard_normal((k, k, k)).astype(np.float32)
        nd.append(
            cpu_time(lambda kern=kern: cl.convolve(x3, kern, "same", method="direct", workers=1)) / (x3.size * k**3)
        )
    print(f'"ndimage": {np.median(nd):.2g},  # per output * kernel tap')


if __name__ == "__main__":
    main()
