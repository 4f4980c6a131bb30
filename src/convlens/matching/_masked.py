"""Scores of one strip with masks (template weights, image mask, NaN pixels), in float64.

Every sum is restricted to the pixels valid in both the image window and the
template: masked correlations through the engine (Padfield 2012), with OpenCV's
weighted-mask semantics (see ``_scores``).  The strip is shifted by the mean of its
valid pixels; windows whose energy is not far above the round-off are flagged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ._plain import tolerance
from ._scores import CENTRED, SQUARED, _csum, scores, template_energy, window_energy
from ._window_stats import EPS64, fft_error, stats_error, unsure_threshold

if TYPE_CHECKING:
    from ._template import Template


def short_overlap(tpl: Template, n1, min_overlap: float):
    """Placements whose common valid weight is below ``min_overlap`` of the template's (0/1 masks: pixel counts)."""
    return np.asarray(n1) < max(min_overlap * tpl._W1, tpl._wmin) - 0.5 * tpl._wmin


def masked_sums(tpl: Template, src, valid, kw) -> tuple[dict, float, float]:
    """The sums of ``_scores`` for a strip, plus the strip's energy and ``sum x**4`` (for the round-off)."""
    sp_axes = tuple(range(1, src.ndim))
    count = max(int(valid.sum()), 1)
    ci = np.where(valid, src, 0).sum(axis=sp_axes, dtype=np.float64) / count
    ci = ci.reshape(tpl._tc.shape)
    xs = np.where(valid, src - ci, 0.0)  # float64: the mean removed, invalid pixels zero
    x2 = xs * xs
    if tpl._masked:
        B2 = tpl._correlate("w2", tpl._k_w2, xs, sum_channels=False, **kw)
        Cc = tpl._correlate("w2", tpl._k_w2, x2, sum_channels=False, **kw)
        B1 = B2 if tpl._binary else tpl._correlate("w", tpl._k_w, xs, sum_channels=False, **kw)
    else:
        from ._window_stats import window_sums

        B1 = B2 = window_sums(xs, tpl.shape)
        Cc = window_sums(x2, tpl.shape)
    D = tpl._correlate("D", tpl._k_D, xs, sum_channels=True, **kw)[0]
    q = {"D": D, "B1": B1, "B2": B2, "Cc": Cc, "ci": ci, "tc": tpl._tc}
    if valid.all():
        q.update(n1=tpl._W1, n2=tpl._W2, E1=tpl._E1, E2=tpl._E2, F=tpl._F)
    else:
        # one transform of the valid-pixel map for every template sum: the kernels
        # stack along the broadcast channel axis
        mi = valid[np.newaxis].astype(np.float64)
        s = tpl._correlate("valid", tpl._k_valid, mi, sum_channels=False, **kw)
        C = tpl.channels
        if tpl._binary:
            n = np.rint(s[0])
            q.update(n1=n, n2=n, E1=s[1 : 1 + C], E2=s[1 : 1 + C], F=s[1 + C :])
        else:
            q.update(n1=s[0], n2=s[1], E1=s[2 : 2 + C], E2=s[2 + C : 2 + 2 * C], F=s[2 + 2 * C :])
    return q, float(x2.sum()), float((x2 * x2).sum())


def masked_scores(
    tpl: Template, src, valid, work, out, unsure, skip: int, slot, fft_workers, cache, min_overlap
) -> bool:
    """Masked scores of ``src`` (C, L, ...) into ``out`` and ``unsure`` (their rows from ``skip`` on); any unsure?"""
    if valid is None:
        valid = np.isfinite(src).all(axis=0) if src.dtype.kind == "f" else np.ones(src.shape[1:], bool)
    kw = {"slot": slot, "workers": fft_workers, "cache": cache}
    q, energy, quartic = masked_sums(tpl, src, valid, kw)
    size = valid.size
    # per window: e(Cc) + 2 |mean| e(B) for the variance sum, e(D) for the correlation
    e_b = fft_error(EPS64, energy, size, float(tpl._k_w2.sum()))
    e_cc = fft_error(EPS64, quartic, size, float(tpl._k_w2.sum()))
    e_cc = max(e_cc, stats_error(energy, valid.shape))
    e_d = fft_error(EPS64, energy, size, tpl._l1["D"])
    t_energy = tpl._vt if tpl.method in CENTRED else tpl._tt
    tol = tolerance(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.abs(q["B1"] / q["n1"] if tpl.method in CENTRED else q["ci"])
    e_stats = e_cc + 2.0 * _csum(np.nan_to_num(mean, posinf=0.0)) * e_b
    thr = np.maximum(unsure_threshold(e_d, 0.0, t_energy, tol), e_stats / tol)
    # the template's part under a placement may be flat (a partial overlap): its score is degenerate
    full = tpl._vt if tpl.method in CENTRED else tpl._tt
    s = scores(tpl.method, q, template_energy(tpl.method, q) <= 1e3 * EPS64 * full)
    short = short_overlap(tpl, q["n1"], min_overlap)
    flagged = (window_energy(tpl.method, q) <= thr) & ~short
    if np.any(short):
        s = np.array(s, dtype=np.float64)
        s[np.broadcast_to(short, s.shape)] = np.nan if tpl.method in SQUARED else 0.0
    out[...] = s[skip:]
    unsure[...] = np.broadcast_to(flagged, s.shape)[skip:]
    return bool(unsure.any())
