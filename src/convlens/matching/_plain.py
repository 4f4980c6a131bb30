"""Scores of one strip without masks: one FFT correlation through the engine plus running sums.

The strip is shifted by its own mean first, so the float32 correlation and the
variance ``sum x**2 - (sum x)**2 / n`` stay away from cancellation on offset data.
Windows whose own energy is not far above the round-off of these global sums are
flagged ``unsure``; the caller recomputes them locally (``_refine``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ._scores import CENTRED, scores, window_energy
from ._strips import blockwise
from ._window_stats import HAVE_CV2, fft_error, stats_error, sums_reader, unsure_threshold

if TYPE_CHECKING:
    from ._template import Template


def tolerance(work: np.dtype) -> float:
    """Score error a window may carry before it is recomputed locally (absolute, on a [-1, 1] scale)."""
    return 1e-4 if np.dtype(work).itemsize <= 4 else 1e-7


def plain_scores(tpl: Template, src, work, out, unsure, skip: int, slot: int, fft_workers: int, cache: bool) -> bool:
    """Scores of ``src`` (C, L, ...) into ``out`` and ``unsure`` (their rows from ``skip`` on).

    Returns whether any window was flagged ``unsure`` (``unsure`` is only written
    where a block holds one: it starts all False).
    """
    C = src.shape[0]
    sp_axes = tuple(range(1, src.ndim))
    ci = src.mean(axis=sp_axes, dtype=np.float64).astype(work)
    shift = ci.reshape((-1,) + (1,) * len(sp_axes))
    xs = np.subtract(src, shift, dtype=work)
    fast = tpl.method == "zncc" and C == 1
    kernel = tpl._k_unit if fast else tpl._k_D
    kw = {"slot": slot, "workers": fft_workers, "cache": cache}
    D = tpl._correlate("unit" if fast else "D", kernel, xs, sum_channels=True, **kw)[0]
    read, energy = sums_reader(xs, tpl.shape)
    size = xs[0].size
    eps = float(np.finfo(work).eps)
    t_energy = tpl._vt if tpl.method in CENTRED else tpl._tt
    if fast:  # the unit kernel: template energy 1
        t_energy = 1.0
    e_fft = fft_error(eps, energy, size, tpl._l1["unit" if fast else "D"])
    thr = unsure_threshold(e_fft, stats_error(energy, xs.shape[1:]), t_energy, tolerance(work))
    flagged: list[bool] = []
    if fast:
        block = _fast_zncc_block(tpl, read, D, work, out, unsure, skip, thr, flagged)
    else:
        ci64 = shift.astype(np.float64)
        n = float(tpl._W1)
        q0 = {"n1": n, "n2": n, "E1": tpl._E1, "E2": tpl._E2, "F": tpl._F, "ci": ci64, "tc": tpl._tc}

        def block(r0: int, r1: int) -> None:
            B, Cc = read(r0 + skip, r1 + skip)
            q = {**q0, "D": D[r0 + skip : r1 + skip], "B1": B, "B2": B, "Cc": Cc}
            low = window_energy(tpl.method, q) <= thr
            if low.any():
                unsure[r0:r1] = low
                flagged.append(True)
            out[r0:r1] = scores(tpl.method, q)

    blockwise(block, out.shape[0], int(np.prod(out.shape[1:])), fft_workers)
    return bool(flagged)


def _fast_zncc_block(tpl: Template, read, D, work, out, unsure, skip: int, thr: float, flagged: list):
    """The zncc formula fused in place on a cache-sized block (one channel, template of unit variance-sum).

    Per output: the window's variance sum ``Cc - B**2 / n`` in float64 (it cancels
    on offset data), then in the output dtype ``D / sqrt(variance)``, clipped to
    [-1, 1].  The float64 variance is rounded to float32 before the square root
    for float32 outputs: a relative error of 6e-8, far below the correlation's
    own, at a third of the cost of a float64 square root.
    """
    n = float(tpl._W1)
    E = float(tpl._E1.ravel()[0])
    # In float32 the template's mean residue E (~1e-17 n |t|) is far below the
    # correlation's round-off, so the term B * E / n is dropped there.
    e_n = E / n / tpl._t_scale if work == np.float64 else 0.0
    single = np.dtype(work).itemsize <= 4

    def block(r0: int, r1: int) -> None:
        B, Cc = (a[0] for a in read(r0 + skip, r1 + skip))
        num = D[r0 + skip : r1 + skip]
        if e_n:
            num = num - B * e_n
        _square_scaled(B, 1 / n)
        np.subtract(Cc, B, out=Cc)  # n * variance of each window, float64
        if Cc.min() <= thr:  # rare: a window the strip's sums cannot resolve
            np.less_equal(Cc, thr, out=unsure[r0:r1])
            flagged.append(True)
        o = out[r0:r1]
        with np.errstate(divide="ignore", invalid="ignore"):
            if single:
                np.copyto(o, Cc, casting="same_kind")
                np.sqrt(o, out=o)
            else:
                np.sqrt(Cc, out=o)
            np.divide(num, o, out=o, casting="same_kind")
        np.clip(o, -1, 1, out=o)

    return block


def _square_scaled(a: np.ndarray, scale: float) -> None:
    """``a = a * a * scale`` in place (one pass through OpenCV for 2-D arrays, two through NumPy)."""
    if HAVE_CV2 and a.ndim == 2:
        import cv2

        cv2.multiply(a, a, dst=a, scale=scale)
    else:
        np.multiply(a, a, out=a)
        a *= scale
