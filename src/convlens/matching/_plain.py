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
from ._window_stats import fft_error, stats_error, sums_reader, unsure_threshold

if TYPE_CHECKING:
    from ._template import Template


def tolerance(work: np.dtype) -> float:
    """Score error a window may carry before it is recomputed locally (absolute, on a [-1, 1] scale)."""
    return 1e-4 if np.dtype(work).itemsize <= 4 else 1e-7


def plain_scores(tpl: Template, src, work, out, unsure, skip: int, slot: int, fft_workers: int, cache: bool) -> None:
    """Scores of ``src`` (C, L, ...) into ``out`` and ``unsure`` (their rows from ``skip`` on)."""
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
    if fast:
        block = _fast_zncc_block(tpl, read, D, work, out, unsure, skip, thr)
    else:
        ci64 = shift.astype(np.float64)
        n = float(tpl._W1)
        q0 = {"n1": n, "n2": n, "E1": tpl._E1, "E2": tpl._E2, "F": tpl._F, "ci": ci64, "tc": tpl._tc}

        def block(r0: int, r1: int) -> None:
            B, Cc = read(r0 + skip, r1 + skip)
            q = {**q0, "D": D[r0 + skip : r1 + skip], "B1": B, "B2": B, "Cc": Cc}
            unsure[r0:r1] = window_energy(tpl.method, q) <= thr
            out[r0:r1] = scores(tpl.method, q)

    blockwise(block, out.shape[0], int(np.prod(out.shape[1:])), fft_workers)


def _fast_zncc_block(tpl: Template, read, D, work, out, unsure, skip: int, thr: float):
    """The zncc formula fused in place on a cache-sized block (one channel, template of unit variance-sum)."""
    n = float(tpl._W1)
    E = float(tpl._E1.ravel()[0])
    # In float32 the template's mean residue E (~1e-17 n |t|) is far below the
    # correlation's round-off, so the term B * E / n is dropped there.
    e_n = E / n / tpl._t_scale if work == np.float64 else 0.0

    def block(r0: int, r1: int) -> None:
        # the cancellation-prone part in float64, the rest in the output dtype
        B, Cc = (a[0] for a in read(r0 + skip, r1 + skip))
        num = D[r0 + skip : r1 + skip]
        if e_n:
            num = num - B * e_n
        np.multiply(B, B, out=B)
        B *= 1 / n
        Cc -= B  # n * variance of each window, float64
        np.less_equal(Cc, thr, out=unsure[r0:r1])
        o = out[r0:r1]
        with np.errstate(divide="ignore", invalid="ignore"):
            np.sqrt(Cc, out=o, casting="same_kind")
            np.divide(num, o, out=o, casting="same_kind")
        np.clip(o, -1, 1, out=o)

    return block
