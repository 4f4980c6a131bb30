"""Scores of one strip without masks: one FFT correlation through the engine plus running sums.

The strip is shifted by its own mean first (unless that mean is negligible), so the
float32 correlation and the variance ``sum x**2 - (sum x)**2 / n`` stay away from
cancellation on offset data.  Windows whose own energy is not far above the
round-off of these global sums are flagged ``unsure``; the caller recomputes them
locally (``_refine``).  A strip whose sums are not finite (a NaN/inf pixel) raises
:class:`NonFinite` before its transform: the caller searches masked instead.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ._scores import CENTRED, scores, window_energy
from ._strips import BLOCK, blockwise
from ._window_stats import HAVE_CV2, fft_error, stats_error, sums_reader, unsure_threshold

if TYPE_CHECKING:
    from ._template import Template


# Strip energies for which the float32 variance is exact enough: every window that is not
# flagged has a variance above 1e-11 of the energy (``unsure_threshold``) and below it,
# so within float32's normal range (1.2e-38 .. 3.4e38) with a wide margin.
_F32_SAFE = (1e-18, 1e36)
_SAMPLE = 1 << 14  # values sampled to decide whether a strip is centred
_FAST_BLOCK = 1 << 17  # elements per block of the fused zncc pass (measured: 64k-256k alike, 16k 15 % slower)


# Bound on |sum x| * sum|k| (the largest value of a strip's spectrum product) per work itemsize,
# far below float32's 3.4e38 and float64's 1.8e308: beyond it a strip reruns masked in float64.
_RANGE = {4: 1e36, 8: 1e300}


class NonFinite(Exception):
    """A strip holds a NaN/inf pixel (its sums are not finite), or values whose sums could overflow."""


def tolerance(work: np.dtype) -> float:
    """Score error a window may carry before it is recomputed locally (absolute, on a [-1, 1] scale)."""
    return 1e-4 if np.dtype(work).itemsize <= 4 else 1e-7


def plain_scores(tpl: Template, src, work, out, unsure, skip: int, slot: int, fft_workers: int, cache: bool) -> bool:
    """Scores of ``src`` (C, L, ...) into ``out`` and ``unsure`` (their rows from ``skip`` on).

    Returns whether any window was flagged ``unsure`` (``unsure`` is only written
    where a block holds one: it starts all False).
    """
    C = src.shape[0]
    xs, shift = _shifted(src, work)
    fast = tpl.method == "zncc" and C == 1
    kernel = tpl._k_unit if fast else tpl._k_D
    read, energy = sums_reader(xs, tpl.shape)
    size = xs[0].size
    l1 = tpl._l1["unit" if fast else "D"]
    if not math.isfinite(energy) or math.sqrt(size * energy) * max(l1, 1.0) > _RANGE[np.dtype(work).itemsize]:
        raise NonFinite  # a NaN/inf pixel, or sums that could overflow ``work``: the caller reruns masked
    kw = {"slot": slot, "workers": fft_workers, "cache": cache}
    D = tpl._correlate("unit" if fast else "D", kernel, xs, sum_channels=True, **kw)[0]
    eps = float(np.finfo(work).eps)
    t_energy = tpl._vt if tpl.method in CENTRED else tpl._tt
    if fast:  # the unit kernel: template energy 1
        t_energy = 1.0
    e_fft = fft_error(eps, energy, size, l1)
    thr = unsure_threshold(e_fft, stats_error(energy, xs.shape[1:]), t_energy, tolerance(work))
    flagged: list[bool] = []
    if fast:
        single = np.dtype(work).itemsize <= 4 and _F32_SAFE[0] < energy < _F32_SAFE[1]
        block = _fast_zncc_block(tpl, read, D, work, single, out, unsure, skip, thr, flagged)
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

    blockwise(block, out.shape[0], int(np.prod(out.shape[1:])), fft_workers, _FAST_BLOCK if fast else BLOCK)
    return bool(flagged)


def _shifted(src: np.ndarray, work: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """``src`` minus its mean per channel, and that shift (shape (C, 1, ...), dtype ``work``).

    A float32 correlation of data on an offset loses the digits of the offset, so
    the strip is centred first.  Data whose mean is negligible next to its spread
    (``mean**2 <= var / 1024`` on a sample of about 16k values: the energy grows by
    at most 0.1 %) are used as they are: no copy, the same accuracy (the round-off
    bounds use the energy of what is transformed, whatever the sample said).
    """
    sp_axes = tuple(range(1, src.ndim))
    cshape = (-1,) + (1,) * len(sp_axes)
    unshifted = np.zeros((src.shape[0],) + cshape[1:], dtype=work)
    # inf - inf in the sample's variance or the shift is NaN (and a RuntimeWarning): a strip holding
    # NaN or inf is left as it is, its sums tell the caller, which reruns it with those samples masked
    with np.errstate(invalid="ignore", over="ignore"):
        if src.dtype == work:
            per = math.prod(src.shape[2:])
            sample = src[:, :: max(1, src.shape[1] * per // _SAMPLE)].astype(np.float64)
            mean, var = sample.mean(axis=sp_axes), sample.var(axis=sp_axes)
            if np.all(mean * mean <= var / 1024) or not np.all(np.isfinite(var)):
                return src, unshifted
        ci = src.mean(axis=sp_axes, dtype=np.float64)
    if not np.all(np.isfinite(ci)):
        return src, unshifted
    ci = ci.astype(work).reshape(cshape)
    return np.subtract(src, ci, dtype=work), ci


def _fast_zncc_block(tpl: Template, read, D, work, single: bool, out, unsure, skip: int, thr: float, flagged: list):
    """The zncc formula fused in place on a cache-sized block (one channel, template of unit variance-sum).

    Per output: the window's variance sum ``Cc - B**2 / n`` in float64 (it cancels
    on offset data), then ``D / sqrt(variance)`` in the output dtype, clipped to
    [-1, 1].  ``single``: float32 scores, the variance rounded to float32 (a
    relative error of 6e-8, far below the correlation's own) as it is computed,
    so the square root, the division and the flags run in float32.  The caller
    asks for it only where every window the flags let through fits float32's
    normal range (:data:`_F32_SAFE`).
    """
    n = float(tpl._W1)
    E = float(tpl._E1.ravel()[0])
    # In float32 the template's mean residue E (~1e-17 n |t|) is far below the
    # correlation's round-off, so the term B * E / n is dropped there.
    e_n = E / n / tpl._t_scale if work == np.float64 else 0.0

    # the compiled window sums write the float32 variance straight into the scores (no float64 sums)
    fused = getattr(read, "variance", None) if single else None

    def block(r0: int, r1: int) -> None:
        num = D[r0 + skip : r1 + skip]
        o = out[r0:r1]
        if fused is not None and o.flags.c_contiguous:
            fused(r0 + skip, r1 + skip, o, 1 / n)  # n * variance of each window
            var = o
        else:
            B, Cc = (a[0] for a in read(r0 + skip, r1 + skip))
            if e_n:
                num = num - B * e_n
            var = o if single else Cc
            _variance(B, Cc, 1 / n, var)  # n * variance of each window
        if var.min() <= thr:  # rare: a window the strip's sums cannot resolve
            np.less_equal(var, thr, out=unsure[r0:r1])
            flagged.append(True)
        with np.errstate(divide="ignore", invalid="ignore"):  # flagged windows are recomputed
            np.sqrt(var, out=o)
            np.divide(num, o, out=o)
        np.clip(o, -1, 1, out=o)

    return block


def _variance(B: np.ndarray, Cc: np.ndarray, scale: float, dst: np.ndarray) -> None:
    """``dst = Cc - B * B * scale``, computed in float64 (``B`` is overwritten); one OpenCV pass per step in 2-D."""
    if HAVE_CV2 and B.ndim == 2:
        import cv2

        cv2.multiply(B, B, dst=B, scale=scale)
        cv2.subtract(Cc, B, dst=dst, dtype=cv2.CV_32F if dst.dtype == np.float32 else cv2.CV_64F)
    else:
        np.multiply(B, B, out=B)
        B *= scale
        np.subtract(Cc, B, out=dst, casting="same_kind")
