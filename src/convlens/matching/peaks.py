"""The best matches in a score map: greedy non-overlapping local maxima, refined to sub-sample precision."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from .._validation import check_array, check_float, check_int, result_dtype

__all__ = ["Peaks", "find_peaks"]


class Peaks(NamedTuple):
    """Matches found by :func:`find_peaks`, best first."""

    indices: np.ndarray
    """(k, ndim) int array: the sample index of each peak."""
    positions: np.ndarray
    """(k, ndim) float array: the peak refined by a parabola through its neighbours, per axis."""
    scores: np.ndarray
    """(k,) array: the score at each peak index."""


def _greedy_by_argmax(cand, neg_vals, shape, dist, n) -> list[np.ndarray]:
    """Greedy non-overlapping peaks for small n: n arg-minima, each suppressing its neighbourhood."""
    coords = np.array(np.unravel_index(cand, shape)).reshape(len(shape), -1)
    remaining = neg_vals.copy()
    chosen: list[np.ndarray] = []
    for _ in range(n):
        i = int(np.argmin(remaining)) if remaining.size else 0
        if not remaining.size or remaining[i] == np.inf:
            break
        c = coords[:, i]
        chosen.append(c)
        near = (np.abs(coords - c[:, None]) < dist[:, None]).all(axis=0)
        remaining[near] = np.inf
    return chosen


def _greedy_by_partition(cand, neg_vals, shape, dist, n) -> list[np.ndarray]:
    """Greedy non-overlapping peaks: only the best k candidates are sorted, k widened if suppression used them up.

    Real score maps have about N/3 local maxima; sorting them all costs more than
    the search itself for a minute of audio.
    """
    k = min(cand.size, max(64 * n, 256))
    while True:
        if k < cand.size:
            top = np.argpartition(neg_vals, k - 1)[:k]
            order = cand[top[np.argsort(neg_vals[top], kind="stable")]]
        else:
            order = cand[np.argsort(neg_vals, kind="stable")]
        chosen: list[np.ndarray] = []
        for idx in order:
            coord = np.asarray(np.unravel_index(idx, shape))
            if all((np.abs(coord - c) >= dist).any() for c in chosen):
                chosen.append(coord)
                if len(chosen) == n:
                    break
        if len(chosen) == n or k >= cand.size:
            return chosen
        k = min(cand.size, 4 * k)


def _check_min_distance(min_distance, ndim: int) -> np.ndarray:
    md = (min_distance,) * ndim if np.ndim(min_distance) == 0 else tuple(min_distance)
    what = f"a positive int or {ndim} of them (one per axis)"
    if len(md) != ndim:
        raise ValueError(f"min_distance must be {what}; got {min_distance!r}")
    for v in md:
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)):
            raise TypeError(f"min_distance must be {what}; got {min_distance!r}")
        if v < 1:
            raise ValueError(f"min_distance must be {what}; got {min_distance!r}")
    return np.asarray(md)


def _local_maxima(vals: np.ndarray) -> np.ndarray:
    """Where ``vals`` is at least each neighbour (3 per axis), never at -inf."""
    if vals.ndim == 1:  # neighbours compared directly: a 1-D maximum filter costs 10x more
        local = np.ones(vals.shape, bool)
        local[1:] &= vals[1:] >= vals[:-1]
        local[:-1] &= vals[:-1] >= vals[1:]
    else:
        from scipy import ndimage  # a maximum filter, not a convolution

        local = vals >= ndimage.maximum_filter(vals, size=3, mode="constant", cval=-np.inf)
    return local & (vals > -np.inf)


def _subpixel(vals: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Each peak moved to the vertex of a parabola through it and its two neighbours, per axis (at most 1/2)."""
    positions = indices.astype(np.float64)
    for row, coord in enumerate(indices):
        for ax in range(vals.ndim):
            if 0 < coord[ax] < vals.shape[ax] - 1:
                lo_c, hi_c = coord.copy(), coord.copy()
                lo_c[ax] -= 1
                hi_c[ax] += 1
                f0, fm, fp = vals[tuple(coord)], vals[tuple(lo_c)], vals[tuple(hi_c)]
                curv = fm - 2 * f0 + fp
                if np.isfinite(curv) and curv < 0:
                    positions[row, ax] += float(np.clip(0.5 * (fm - fp) / curv, -0.5, 0.5))
    return positions


def find_peaks(
    scores,
    n: int = 1,
    *,
    min_distance: int | Sequence[int] = 1,
    threshold: float | None = None,
    subpixel: bool = True,
) -> Peaks:
    """The ``n`` best local maxima of a score map, non-overlapping, refined to sub-sample precision.

    Parameters
    ----------
    scores : array_like
        Score map (any number of dimensions), e.g. from :func:`match_template`.
        NaN never counts as a peak.  For 'sqdiff' scores (lower is better) pass
        ``-scores``.
    n : int, optional
        At most this many peaks (default 1).
    min_distance : int or sequence of int, optional
        Two peaks are both kept only if they are at least this far apart along
        some axis; pass the template's shape to get non-overlapping matches.
        Peaks are taken greedily, best first.
    threshold : float, optional
        Ignore maxima below this score.
    subpixel : bool, optional
        Refine each peak by a parabola through it and its two neighbours, per axis
        (positions at an edge, or without a curved neighbourhood, stay put).

    Returns
    -------
    Peaks
        ``(indices, positions, scores)``: (k, ndim) int indices, (k, ndim) float
        positions, (k,) scores, best first, k <= n.

    Raises
    ------
    TypeError
        ``n`` or ``min_distance`` not integers, ``threshold`` not a number,
        ``longdouble`` scores (refused rather than narrowed).
    ValueError
        ``n`` or ``min_distance`` below 1, an empty or complex score map.

    Examples
    --------
    >>> import numpy as np
    >>> from convlens import find_peaks
    >>> s = np.array([0.0, 0.2, 0.9, 0.5, 0.1, 0.3, 0.8, 0.8, 0.2])
    >>> peaks = find_peaks(s, 2)
    >>> peaks.indices.ravel(), np.round(peaks.positions.ravel(), 3), peaks.scores
    (array([2, 6]), array([2.136, 6.5  ]), array([0.9, 0.8]))
    """
    s = check_array("scores", scores, allow_complex=False)
    result_dtype(s.dtype, allow_complex=False, name="scores")  # longdouble refused, not narrowed
    n = check_int("n", n, minimum=1)
    dist = _check_min_distance(min_distance, s.ndim)
    if threshold is not None:
        threshold = check_float("threshold", threshold, finite=False)
    vals = np.where(np.isnan(s), -np.inf, s.astype(np.float64))
    local = _local_maxima(vals)
    if threshold is not None:
        local &= vals >= threshold
    cand = np.flatnonzero(local)
    cand_vals = -vals.ravel()[cand]
    greedy = _greedy_by_argmax if n <= 8 else _greedy_by_partition
    indices = np.array(greedy(cand, cand_vals, s.shape, dist, n), dtype=np.int64).reshape(-1, s.ndim)
    positions = _subpixel(vals, indices) if subpixel else indices.astype(np.float64)
    peak_scores = s[tuple(indices.T)] if indices.size else np.empty(0, dtype=s.dtype)
    return Peaks(indices, positions, peak_scores)
