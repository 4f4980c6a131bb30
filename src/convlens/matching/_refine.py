"""Local recomputation of the windows whose score the global sums cannot resolve.

A search's correlation (one FFT per strip) and running sums carry a round-off set
by the energy of the whole strip.  Windows whose own energy is close to it (a
low-contrast patch beside a bright one, a small signal on a large offset) are
flagged ``unsure`` and recomputed here: first in tiles, each shifted by its own
mean and transformed in float64, so the round-off follows the tile; windows still
unresolved go to smaller tiles, and finally to a direct sum over the window,
centred on its own mean.  A window whose values are all equal is recognized
exactly (minimum == maximum over the window) and scores its degenerate value.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ._scores import CENTRED, SQUARED, direct_scores
from ._window_stats import box_range

if TYPE_CHECKING:
    from ._template import Template

_DIRECT_ELEMENTS = 1 << 22  # elements gathered at once by the direct evaluation
_MAX_DEPTH = 5


def refine(tpl: Template, region, valid, out, unsure, min_overlap: float, masked: bool) -> None:
    """Recompute the windows marked in ``unsure`` (outputs of ``region``) and write them into ``out``."""
    if not unsure.any():  # the common case: a flag scan costs far less than argwhere
        return
    idx = np.argwhere(unsure)
    if idx.size:
        tile = tuple(max(4 * m, 64) for m in tpl.shape)
        _level(tpl, region, valid, out, idx, tile, 0, min_overlap, masked)


def _level(tpl: Template, region, valid, out, idx, tile, depth: int, min_overlap: float, masked: bool) -> None:
    P = math.prod(tpl.shape) * tpl.channels
    if depth >= _MAX_DEPTH or min(tile) <= 2 or idx.shape[0] * P <= 1 << 16:
        _direct(tpl, region, valid, out, idx, min_overlap, masked)
        return
    tiles = np.asarray(tile)
    keys = idx // tiles
    grid = tuple(-(-n // t) for n, t in zip(out.shape, tile))
    flat = np.ravel_multi_index(tuple(keys.T), grid)
    order = np.argsort(flat, kind="stable")  # one sort of integer keys groups the windows by tile
    groups = np.split(order, np.flatnonzero(np.diff(flat[order])) + 1)
    left = []
    for members_at in groups:
        members = idx[members_at]
        key = keys[members_at[0]]
        t0 = key * tiles
        t1 = np.minimum(t0 + tiles, out.shape)
        footprint = math.prod(int(b - a + m - 1) for a, b, m in zip(t0, t1, tpl.shape))
        if members.shape[0] * P <= 8 * footprint:
            _direct(tpl, region, valid, out, members, min_overlap, masked)
            continue
        still = _tile(tpl, region, valid, out, members, t0, t1, min_overlap, masked)
        if still.size:
            left.append(still)
    if left:
        half = tuple(max(t // 2, 1) for t in tile)
        _level(tpl, region, valid, out, np.concatenate(left), half, depth + 1, min_overlap, masked)


def _tile(tpl: Template, region, valid, out, members, t0, t1, min_overlap: float, masked: bool) -> np.ndarray:
    """Recompute one tile in float64 with its own shift; return the members still unresolved."""
    fp = (slice(None), *(slice(int(a), int(b) + m - 1) for a, b, m in zip(t0, t1, tpl.shape)))
    src = region[fp]
    vsrc = None if valid is None else valid[fp[1:]]
    tout = np.empty(tuple(int(b - a) for a, b in zip(t0, t1)), np.float64)
    tuns = np.zeros(tout.shape, bool)
    tpl._score(src, vsrc, np.dtype(np.float64), tout, tuns, 0, 0, 1, True, min_overlap, masked)
    local = tuple((members - t0).T)
    new, uns = tout[local], tuns[local]
    if uns.any() and tpl.method not in ("ccorr", "sqdiff"):
        lo, hi = box_range(src, vsrc, tpl.shape)
        lo, hi = lo[(slice(None), *local)], hi[(slice(None), *local)]
        flat = (lo == hi).all(axis=0) if tpl.method in CENTRED else ((lo == 0) & (hi == 0)).all(axis=0)
        flat &= uns
        new[flat] = np.inf if tpl.method == "sqdiff_normed" else 0.0
        uns &= ~flat
    out[tuple(members.T)] = new
    return members[uns]


def _direct(tpl: Template, region, valid, out, idx, min_overlap: float, masked: bool) -> None:
    """Direct float64 sums over single windows (each on its own means), in chunks."""
    from numpy.lib.stride_tricks import sliding_window_view

    axes = tuple(range(1, region.ndim))
    win = sliding_window_view(region, tpl.shape, axis=axes)
    vwin = None if valid is None else sliding_window_view(valid, tpl.shape)
    C, P = tpl.channels, math.prod(tpl.shape)
    t = tpl._t64.reshape(C, P)
    w = tpl._w.ravel()
    step = max(1, _DIRECT_ELEMENTS // (C * P))
    for s in range(0, idx.shape[0], step):
        part = tuple(idx[s : s + step].T)
        x = win[(slice(None), *part)].reshape(C, -1, P)
        v = None if vwin is None else vwin[part].reshape(-1, P)
        if v is None and x.dtype.kind == "f" and masked:
            v = np.isfinite(x).all(axis=0)
        sc, n1 = direct_scores(tpl.method, x, v, t, w)
        if masked:
            from ._masked import short_overlap

            sc[short_overlap(tpl, n1, min_overlap)] = np.nan if tpl.method in SQUARED else 0.0
        out[part] = sc
