"""Scores of every method from a window's sums, and a direct evaluation of single windows.

Notation (per placement, per channel where it applies): ``w`` the template weights
(a boolean mask is 0/1), ``v`` the image validity (0/1), ``a = w v``, ``b = w**2 v``;
``Is``, ``Ts`` the image and template shifted by ``ci`` and ``tc``.  The sums are

``D = sum_c sum b Is Ts``, ``B1 = sum a Is``, ``B2 = sum b Is``, ``Cc = sum b Is**2``,
``E1 = sum a Ts``, ``E2 = sum b Ts``, ``F = sum b Ts**2``, ``n1 = sum a``, ``n2 = sum b``.

These are OpenCV's weighted-mask semantics (``templmatch.cpp``): means weighted by
``w``, products weighted by ``w**2``; for 0/1 masks they are Padfield's masked
correlation (2012).  With ``Ib = B1 / n1`` and ``Tb = E1 / n1`` the window means:

* zncc  ``cov / sqrt(vi vt)``, ``cov = sum b (I - Ib)(T - Tb)`` (``TM_CCOEFF_NORMED``)
* ccoeff ``cov`` (``TM_CCOEFF``); ccorr ``sum b I T`` (``TM_CCORR``)
* ncc  ``ccorr / sqrt(ii tt)``, ``ii = sum b I**2`` (``TM_CCORR_NORMED``)
* sqdiff ``sum b (I - T)**2`` (``TM_SQDIFF``); sqdiff_normed ``sqdiff / sqrt(ii tt)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

METHODS = ("zncc", "ncc", "ccoeff", "ccorr", "sqdiff", "sqdiff_normed")
CENTRED = ("zncc", "ccoeff")  # invariant to an offset of the window: their degenerate case is a flat window
SQUARED = ("sqdiff", "sqdiff_normed")  # lower is better


def _csum(a: Any) -> Any:
    """Sum over the channel axis (axis 0); cheap for one channel."""
    if np.ndim(a) == 0:
        return a
    return a[0] if a.shape[0] == 1 else a.sum(axis=0)


def window_energy(method: str, q: dict[str, Any]) -> np.ndarray:
    """The window's own scale for ``method``: ``vi`` (centred methods) or ``ii``, summed over channels."""
    B1, B2, Cc, n1, n2, ci = (q[k] for k in ("B1", "B2", "Cc", "n1", "n2", "ci"))
    with np.errstate(divide="ignore", invalid="ignore"):
        if method in CENTRED:
            ib = B1 / n1
            return _csum(Cc - 2 * ib * B2 + ib * ib * n2)
        return _csum(Cc + 2 * ci * B2 + ci * ci * n2)


def template_energy(method: str, q: dict[str, Any]) -> np.ndarray:
    """The template's own scale over each placement's common pixels: ``vt`` (centred methods) or ``tt``."""
    E1, E2, F, n1, n2, tc = (q[k] for k in ("E1", "E2", "F", "n1", "n2", "tc"))
    with np.errstate(divide="ignore", invalid="ignore"):
        if method in CENTRED:
            tb = E1 / n1
            return _csum(F - 2 * tb * E2 + tb * tb * n2)
        return _csum(F + 2 * tc * E2 + tc * tc * n2)


def scores(method: str, q: dict[str, Any], flat: np.ndarray | None = None) -> np.ndarray:
    """Scores of a block from its sums (float64); ``flat`` marks degenerate windows.

    Degenerate windows are those with no energy: a constant window for 'zncc' and
    'ccoeff' (score 0), an all-zero window for 'ncc' (0) and 'sqdiff_normed'
    (``+inf``: the ratio's limit).  'ccorr' and 'sqdiff' have no degenerate case.
    """
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # degenerate windows are overwritten
        r = _scores(method, q)
    if flat is not None and method not in ("ccorr", "sqdiff"):
        r = np.array(r, dtype=np.float64, copy=True) if np.ndim(r) == 0 else r
        r[np.broadcast_to(flat, r.shape)] = np.inf if method == "sqdiff_normed" else 0.0
    return r


def _scores(method: str, q: dict[str, Any]) -> np.ndarray:
    D, B1, B2, Cc, n1, n2 = (q[k] for k in ("D", "B1", "B2", "Cc", "n1", "n2"))
    E1, E2, F, ci, tc = (q[k] for k in ("E1", "E2", "F", "ci", "tc"))
    if method in CENTRED:
        ib, tb = B1 / n1, E1 / n1
        cov = D - _csum(tb * B2 + ib * E2 - ib * tb * n2)
        if method == "ccoeff":
            return cov
        vi = _csum(Cc - 2 * ib * B2 + ib * ib * n2)
        vt = _csum(F - 2 * tb * E2 + tb * tb * n2)
        r = cov / np.sqrt(np.maximum(vi, 0) * np.maximum(vt, 0))
        return np.clip(r, -1, 1, out=r)
    cross = D + _csum(tc * B2 + ci * E2 + ci * tc * n2)
    if method == "ccorr":
        return cross
    ii = _csum(Cc + 2 * ci * B2 + ci * ci * n2)
    tt = _csum(F + 2 * tc * E2 + tc * tc * n2)
    if method == "ncc":
        r = cross / np.sqrt(np.maximum(ii, 0) * np.maximum(tt, 0))
        return np.clip(r, -1, 1, out=r)
    # squared differences from the shifted sums: (I - T) = (Is - Ts) + (ci - tc)
    dlt = ci - tc
    sq = _csum(Cc + F + 2 * dlt * (B2 - E2) + dlt * dlt * n2) - 2 * D
    sq = np.maximum(sq, 0)
    if method == "sqdiff":
        return sq
    return sq / np.sqrt(np.maximum(ii, 0) * np.maximum(tt, 0))


def direct_scores(method: str, windows: np.ndarray, valid: np.ndarray | None, t: np.ndarray, w: np.ndarray):
    """Scores of single windows summed directly in float64, each centred on its own means.

    ``windows`` (C, k, P) image values of k windows (P pixels each), ``valid`` (k, P)
    or None, ``t`` (C, P) the template, ``w`` (P,) its weights.  Returns the scores
    (k,) and the weight ``n1`` of each window's common valid pixels.  The accuracy
    of a window's score depends only on that window.
    """
    if valid is None and (w == 1).all():
        return _direct_unweighted(method, windows, t)
    x = windows.astype(np.float64)
    v = np.ones(x.shape[1:], bool) if valid is None else valid
    x = np.where(v, x, 0.0)
    a, b = w * v, (w * w) * v
    n1, n2 = a.sum(-1), b.sum(-1)
    safe = np.maximum(n1, np.finfo(np.float64).tiny)
    ci = (x * a).sum(-1) / safe  # (C, k): each window's own weighted mean
    tc = (t[:, None, :] * a).sum(-1) / safe
    xs = np.where(v, x - ci[..., None], 0.0)
    ts = np.where(v, t[:, None, :] - tc[..., None], 0.0)
    q = {
        "D": _csum((b * xs * ts).sum(-1)),
        "B1": (a * xs).sum(-1),
        "B2": (b * xs).sum(-1),
        "Cc": (b * xs * xs).sum(-1),
        "E1": (a * ts).sum(-1),
        "E2": (b * ts).sum(-1),
        "F": (b * ts * ts).sum(-1),
        "n1": n1,
        "n2": n2,
        "ci": ci,
        "tc": tc,
    }
    used = a > 0
    big, small = np.where(used, x, -np.inf).max(-1), np.where(used, x, np.inf).min(-1)  # (C, k)
    tv = np.broadcast_to(t[:, None, :], x.shape)
    t_big, t_small = np.where(used, tv, -np.inf).max(-1), np.where(used, tv, np.inf).min(-1)
    if method in CENTRED:  # a flat window, or a flat template part: no correlation to measure
        flat = (big == small).all(axis=0) | (t_big == t_small).all(axis=0)
    else:
        flat = ((big == 0) & (small == 0)).all(axis=0) | ((t_big == 0) & (t_small == 0)).all(axis=0)
    return scores(method, q, flat), n1


def _direct_unweighted(method: str, windows: np.ndarray, t: np.ndarray):
    """:func:`direct_scores` without masks: the window sums as matrix products (BLAS), same formulas."""
    x = windows.astype(np.float64)
    P = x.shape[-1]
    ci = x.mean(axis=-1)  # (C, k)
    xs = x - ci[..., None]
    tc = t.mean(axis=-1)  # (C,)
    ts = t - tc[:, None]
    C, k = ci.shape
    q = {
        "D": sum(xs[c] @ ts[c] for c in range(C)),
        "B1": xs.sum(-1),
        "Cc": np.einsum("ckp,ckp->ck", xs, xs),
        "E1": np.broadcast_to(ts.sum(-1)[:, None], (C, k)),
        "F": np.broadcast_to((ts * ts).sum(-1)[:, None], (C, k)),
        "n1": float(P),
        "n2": float(P),
        "ci": ci,
        "tc": np.broadcast_to(tc[:, None], (C, k)),
    }
    q["B2"], q["E2"] = q["B1"], q["E1"]
    big, small = x.max(-1), x.min(-1)
    if method in CENTRED:
        flat = (big == small).all(axis=0) | bool((t.max(-1) == t.min(-1)).all())
    else:
        flat = ((big == 0) & (small == 0)).all(axis=0) | bool((t == 0).all())
    return scores(method, q, flat), np.full(k, float(P))
