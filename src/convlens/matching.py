"""Template matching by cross-correlation: find a face in a photo, a clip in a song.

The essay's probabilistic reading of cross-correlation: sliding a small signal over a
large one and scoring every placement filters the large signal *for* the small one.
This lens scores every placement of a template with the measures users know from
scikit-image and OpenCV, on 1-D, 2-D, 3-D (any N-d) data:

* :func:`match_template` - score maps: zero-normalized cross-correlation (Pearson's r,
  as ``skimage.feature.match_template`` and ``cv2.TM_CCOEFF_NORMED``), plain correlation,
  sum of squared differences and their normalized forms, with a template mask, an
  image mask (NaN pixels are excluded automatically) and a restricted lag range;
* :func:`find_peaks` - the n best non-overlapping matches, refined to sub-sample
  precision;
* :func:`locate` - the offset in seconds of an audio clip in a recording, with a
  confidence;
* :class:`Template` - a template prepared once (zero-mean copy, norms, and through
  :class:`convlens.Convolver` plans its cached spectrum) and searched in many inputs.

Every correlation goes through the engine (a :class:`~convlens.Convolver` with the
reversed template: convolution with the reversed template is correlation).  The local
sums of the image and its square that normalize the scores are running sums in
float64 (integral images, Lewis 1995), so they cost O(N) whatever the template size.
"""

from __future__ import annotations

import importlib.util
import math
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

import numpy as np

from ._engine import Convolver
from ._validation import BOUNDARIES, MODES, check_array, check_choice, check_workers

__all__ = ["Location", "Peaks", "Template", "find_peaks", "locate", "match_template"]

METHODS = ("zncc", "ncc", "ccoeff", "ccorr", "sqdiff", "sqdiff_normed")
_NORMALIZED = ("zncc", "ncc")  # scores in [-1, 1]
_SQUARED = ("sqdiff", "sqdiff_normed")  # lower is better
_EPS64 = float(np.finfo(np.float64).eps)
_BLOCK = 1 << 15  # elements per block of the normalization pass: fits in L2 cache
_MAX_PLANS = 8  # Convolver plans kept per Template (one per input shape and dtype)

# OpenCV's integral images (sum and squared sum in float64, one pass) serve 2-D data;
# imported on first use, so that importing this lens stays light.
_HAVE_CV2 = importlib.util.find_spec("cv2") is not None


class Peaks(NamedTuple):
    """Matches found by :func:`find_peaks`, best first."""

    indices: np.ndarray
    """(k, ndim) int array: the sample index of each peak."""
    positions: np.ndarray
    """(k, ndim) float array: the peak refined by a parabola through its neighbours, per axis."""
    scores: np.ndarray
    """(k,) array: the score at each peak index."""


class Location(NamedTuple):
    """Where :func:`locate` found a clip in a recording."""

    offset: float
    """Start of the clip in the recording, in seconds (``sample / sample_rate``)."""
    sample: int
    """Start of the clip in the recording, in samples."""
    score: float
    """Zero-normalized cross-correlation (Pearson's r) of the clip and the recording there."""
    confidence: float
    """How clearly the best match beats the best one elsewhere: ``(r1 - r2) / (1 - r2)``, in [0, 1]."""


# -- validation -----------------------------------------------------------------------------
def _check_channel_axis(channel_axis: Any, ndim: int, name: str) -> int | None:
    if channel_axis is None:
        return None
    if isinstance(channel_axis, bool) or not isinstance(channel_axis, (int, np.integer)):
        raise TypeError(f"channel_axis must be None or an int; got {channel_axis!r}")
    if ndim < 2 or not -ndim <= channel_axis < ndim:
        raise ValueError(
            f"channel_axis={channel_axis} is out of range for {name} with {ndim} dimensions "
            f"(a channel axis needs at least 2 dimensions; allowed: {-ndim}..{ndim - 1})"
        )
    return int(channel_axis) % ndim


def _channels_first(a: np.ndarray, channel_axis: int | None) -> np.ndarray:
    """View of ``a`` as (channels, *spatial); one channel when there is no channel axis."""
    return a[np.newaxis] if channel_axis is None else np.moveaxis(a, channel_axis, 0)


def _check_mask(name: str, mask: Any, shape: tuple[int, ...]) -> np.ndarray:
    m = np.asarray(mask)
    if m.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be a boolean (or 0/1 numeric) array; got dtype {m.dtype}")
    if m.shape != shape:
        raise ValueError(f"{name} must have the shape {shape} (one flag per pixel); got shape {m.shape}")
    m = m != 0
    if not m.any():
        raise ValueError(f"{name} must mark at least one valid pixel (True / nonzero); it is all False")
    return m


def _check_lag_axis(name: str, value: Any) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim != 1 or arr.size == 0 or arr.dtype.kind not in "iu":
        raise ValueError(f"{name} must be a non-empty 1-D sequence of integers (one per axis); got {value!r}")
    return arr.astype(np.int64)


def _lags_per_axis(
    mode: str, lags: Any, max_lag: Any, x_sp: tuple[int, ...], t_sp: tuple[int, ...]
) -> list[np.ndarray]:
    """The lags (template start offsets, ``scipy.signal.correlation_lags`` convention) scored along each axis."""
    d = len(x_sp)
    if lags is not None and max_lag is not None:
        raise ValueError("give lags or max_lag, not both (max_lag=L is shorthand for lags=range(-L, L + 1))")
    if max_lag is not None:
        ml = (max_lag,) * d if np.ndim(max_lag) == 0 else tuple(max_lag)
        if len(ml) != d or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0 for v in ml):
            raise ValueError(f"max_lag must be a non-negative int or {d} of them (one per axis); got {max_lag!r}")
        return [np.arange(-int(v), int(v) + 1) for v in ml]
    if lags is not None:
        if isinstance(lags, range) or (d == 1 and np.ndim(lags) == 1 and not isinstance(lags, tuple)):
            lags = (lags,)
        if not isinstance(lags, (tuple, list)) or len(lags) != d or any(np.ndim(v) != 1 for v in lags):
            raise ValueError(f"lags must give one sequence of integer lags per axis ({d}); got {lags!r}")
        return [_check_lag_axis("lags", v) for v in lags]
    out = []
    for ax, (n, m) in enumerate(zip(x_sp, t_sp)):
        if mode == "valid":
            if m > n:
                raise ValueError(
                    f"template is larger than image along axis {ax} ({m} > {n}): template spatial shape "
                    f"{t_sp}, image spatial shape {x_sp}; in mode='valid' it must fit inside the image "
                    "(use mode='same' or 'full' to score partial overlaps)"
                )
            out.append(np.arange(0, n - m + 1))
        elif mode == "same":
            out.append(np.arange(-(m // 2), n - m // 2))
        else:  # full
            out.append(np.arange(-(m - 1), n))
    return out


# -- regions and local sums -----------------------------------------------------------------
def _boundary_index(idx: np.ndarray, n: int, boundary: str) -> np.ndarray:
    """Source index of each extended index, by ``numpy.pad``'s rule (any extension width)."""
    if boundary == "wrap":
        return idx % n
    if boundary == "reflect":
        if n == 1:
            return np.zeros_like(idx)
        p = 2 * (n - 1)
        j = idx % p
        return np.where(j < n, j, p - j)
    if boundary == "symmetric":
        p = 2 * n
        j = idx % p
        return np.where(j < n, j, p - 1 - j)
    return np.clip(idx, 0, n - 1)  # 'edge' (and 'constant' before the fill)


def _region(x: np.ndarray, lo: Sequence[int], length: Sequence[int], boundary: str, fill: Any) -> np.ndarray:
    """``x`` (C, *sp) extended by the boundary rule and cut to ``lo[k] .. lo[k] + length[k]`` per spatial axis.

    Only the region is read (fancy indexing): a lag range costs that range, not the
    whole extended image.  Inside the image it is a view.
    """
    sp = x.shape[1:]
    if all(a >= 0 and a + L <= n for a, L, n in zip(lo, length, sp)):
        return x[(slice(None), *(slice(a, a + L) for a, L in zip(lo, length)))]
    idx = [np.arange(a, a + L) for a, L in zip(lo, length)]
    out = x[np.ix_(np.arange(x.shape[0]), *(_boundary_index(i, n, boundary) for i, n in zip(idx, sp)))]
    if boundary == "constant":
        if out.dtype.kind in "biu" and out.dtype != bool:
            out = out.astype(np.float64)
        for k, (i, n) in enumerate(zip(idx, sp)):
            outside = (i < 0) | (i >= n)
            if outside.any():
                sl = [slice(None)] * out.ndim
                sl[k + 1] = outside
                out[tuple(sl)] = fill
    return out


def _window_sums(a: np.ndarray, wshape: Sequence[int]) -> np.ndarray:
    """Sums of ``a`` (C, *sp) over every window of ``wshape`` fully inside, in float64.

    Separable running sums (Lewis 1995): per axis a cumulative sum and one
    difference, O(N) whatever the window.  Along leading axes a loop of whole-slice
    adds is used: NumPy's ``cumsum`` over a non-contiguous axis is about 5x slower.
    """
    s = np.asarray(a, dtype=np.float64)
    for k, m in enumerate(wshape):
        ax = k + 1
        n = s.shape[ax]
        moved = np.moveaxis(s, ax, 0)
        c = np.empty((n + 1, *moved.shape[1:]), dtype=np.float64)
        c[0] = 0
        if ax == s.ndim - 1 or moved[0].size < 64:
            np.cumsum(moved, axis=0, out=c[1:])
        else:
            for i in range(n):
                np.add(c[i], moved[i], out=c[i + 1])
        s = np.moveaxis(c[m:] - c[: n + 1 - m], 0, ax)
    return np.ascontiguousarray(s)


def _integral_sums_2d(xs: np.ndarray, wshape: Sequence[int]) -> Callable[[int, int], tuple[np.ndarray, np.ndarray]]:
    """Block reader of window sums of a 2-D ``xs`` and ``xs**2`` from OpenCV's float64 integral images."""
    import cv2

    S, Q = cv2.integral2(xs, sdepth=cv2.CV_64F, sqdepth=cv2.CV_64F)
    m, n = wshape

    def sums(r0: int, r1: int) -> tuple[np.ndarray, np.ndarray]:
        res = []
        for integral in (S, Q):
            rows = integral[r0 + m : r1 + m] - integral[r0:r1]  # 2 differences instead of 3 corners
            res.append((rows[:, n:] - rows[:, :-n])[np.newaxis])
        return res[0], res[1]

    sums.total_energy = float(Q[-1, -1])  # type: ignore[attr-defined]
    return sums


def _strip_rows(ext: tuple[int, ...], m: int, rows: int) -> int:
    """Input rows per strip (first axis) that minimize the predicted FFT work of a search.

    Work ~ (2 transforms per strip + 1 for the template spectrum) * L * P * log2(L * P)
    for strips of L rows and P points per row (at fast FFT lengths).  Measured on
    2048² with a 64² template: 512-row strips cost the same as one whole-image FFT
    when the template spectrum is cached and about 20 ms less when it is not.
    """
    from ._backend import good_size

    per_row = math.prod(good_size(n) for n in ext[1:])
    best, best_cost = ext[0], None
    length = max(2 * m, 16)
    while length < ext[0]:
        strip = good_size(length)
        if strip >= ext[0]:
            break
        strips = -(-rows // (strip - m + 1))
        pts = strip * per_row
        cost = (2 * strips + 1) * pts * math.log2(max(pts, 2))
        if best_cost is None or cost < best_cost:
            best, best_cost = strip, cost
        length = int(length * 1.25) + 1
    whole = good_size(ext[0]) * per_row
    if best_cost is None or 3 * whole * math.log2(max(whole, 2)) <= best_cost:
        return ext[0]
    return best


def _csum(a: Any) -> Any:
    """Sum over the channel axis (axis 0); cheap for one channel."""
    if np.ndim(a) == 0:
        return a
    return a[0] if a.shape[0] == 1 else a.sum(axis=0)


def _blockwise(fn: Callable[[int, int], None], rows: int, row_size: int, workers: int) -> None:
    """Run ``fn(r0, r1)`` over row blocks of about ``_BLOCK`` elements, on ``workers`` threads.

    Blocks stay in cache through the dozen element-wise steps of a normalization,
    and NumPy releases the GIL, so threads run in parallel.
    """
    step = max(1, _BLOCK // max(row_size, 1))
    blocks = [(r, min(r + step, rows)) for r in range(0, rows, step)]
    if workers > 1 and len(blocks) > 1 and rows * row_size >= 4 * _BLOCK:
        with ThreadPoolExecutor(min(workers, len(blocks))) as pool:
            list(pool.map(lambda b: fn(*b), blocks))
    else:
        for b in blocks:
            fn(*b)


# -- scores from correlations and local sums ------------------------------------------------
def _scores(method: str, q: dict[str, Any], thr_i: float, thr_t: float) -> np.ndarray:
    """Scores of a block from its sums (all float64; channel axis 0 where per channel).

    With I and T the image window and the template restricted to their common valid
    pixels, shifted by ``ci`` and ``tc``: ``D = sum I*T`` (summed over channels),
    ``B = sum I``, ``Cc = sum I**2``, ``E = sum T``, ``F = sum T**2`` (per channel),
    ``n`` = number of common pixels.  Pearson's r per placement is then
    ``(D - sum(B*E)/n) / sqrt((Cc - B**2/n) (F - E**2/n))`` (Padfield 2012).
    """
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # flat windows are overwritten
        return _scores_unguarded(method, q, thr_i, thr_t)


def _scores_unguarded(method: str, q: dict[str, Any], thr_i: float, thr_t: float) -> np.ndarray:
    D, B, Cc, n, E, F, ci, tc = (q[k] for k in ("D", "B", "Cc", "n", "E", "F", "ci", "tc"))
    if method in ("zncc", "ccoeff"):
        cov = D - _csum(B * E) / n
        if method == "ccoeff":
            return cov
        vi = _csum(Cc) - _csum(B * B) / n
        vt = _csum(F) - _csum(E * E) / n
        flat = (vi <= thr_i) | (vt <= thr_t)
        den = np.sqrt(np.maximum(vi, 0) * np.maximum(vt, 0))
        np.maximum(den, np.finfo(np.float64).tiny, out=den)
        r = cov / den
        r[flat] = 0
        return np.clip(r, -1, 1, out=r)
    cross = D + _csum(tc * B) + _csum(ci * E) + n * _csum(ci * tc)
    if method == "ccorr":
        return cross
    ii = _csum(Cc) + _csum(2 * ci * B) + n * _csum(ci * ci)
    tt = _csum(F) + _csum(2 * tc * E) + n * _csum(tc * tc)
    if method == "ncc":
        den = np.sqrt(np.maximum(ii, 0) * np.maximum(tt, 0))
        flat = (ii <= thr_i) | (tt <= thr_t)
        r = cross / np.maximum(den, np.finfo(np.float64).tiny)
        r[flat] = 0
        return np.clip(r, -1, 1, out=r)
    # squared differences, computed from the shifted sums: (I - T) = (Is - Ts) + (ci - tc)
    dlt = ci - tc
    sq = _csum(Cc) - 2 * D + _csum(F) + 2 * _csum(dlt * (B - E)) + n * _csum(dlt * dlt)
    sq = np.maximum(sq, 0)
    if method == "sqdiff":
        return sq
    den = np.sqrt(np.maximum(ii, 0) * np.maximum(tt, 0))
    r = sq / np.maximum(den, np.finfo(np.float64).tiny)
    r[(ii <= thr_i) | (tt <= thr_t)] = 1  # an all-zero window: nothing to compare, the worst score (OpenCV)
    return np.clip(r, 0, 1, out=r)  # capped at 1 as OpenCV does: above 1 nothing resembles


# -- the template ---------------------------------------------------------------------------
class Template:
    """A template prepared once and searched in many images or recordings.

    The template is checked, its masked zero-mean copy, means and norms are computed
    once, and each input shape gets a :class:`convlens.Convolver` plan that keeps the
    reversed template's spectrum, so searching many frames or recordings of one size
    transforms the template only once.  ``Template(t).match(image, ...)`` equals
    ``match_template(image, t, ...)``; ``Template(clip).locate(recording, rate)``
    equals ``locate(recording, clip, rate)``.

    Parameters
    ----------
    template : array_like
        The pattern to look for: (m,), (m, n), (m, n, p), ... real values.
        Non-finite values (NaN, inf) are treated as masked out.
    method : {'zncc', 'ncc', 'ccoeff', 'ccorr', 'sqdiff', 'sqdiff_normed'}, optional
        Score of each placement (OpenCV's ``cv2.TM_*`` in brackets):

        * 'zncc' (default): zero-normalized cross-correlation, Pearson's r in [-1, 1]
          (``TM_CCOEFF_NORMED``, ``skimage.feature.match_template``);
        * 'ncc': ``sum(I T) / sqrt(sum(I**2) sum(T**2))`` in [-1, 1] (``TM_CCORR_NORMED``);
        * 'ccoeff': ``sum((I - mean I)(T - mean T))`` (``TM_CCOEFF``);
        * 'ccorr': ``sum(I T)``, plain cross-correlation (``TM_CCORR``);
        * 'sqdiff': ``sum((I - T)**2)``, lower is better (``TM_SQDIFF``);
        * 'sqdiff_normed': 'sqdiff' / ``sqrt(sum(I**2) sum(T**2))``, capped at 1 as OpenCV
          does (``TM_SQDIFF_NORMED``).
    mask : array_like of bool, optional
        Template mask, the template's (spatial) shape: only pixels marked True
        count (OpenCV's ``mask`` for a 0/1 mask).
    channel_axis : int, optional
        Axis of the template (and of the images) that holds channels (e.g. colour).
        Scores then sum over channels with one mean per channel, as OpenCV does for
        colour images.  The template must have as many channels as the images.
    workers : int, optional
        Threads for the FFTs and the normalization (default: every available core).

    Raises
    ------
    ValueError
        Empty template, a mask of the wrong shape or with no valid pixel, a constant
        template for 'zncc' or an all-zero one for 'ncc' / 'sqdiff_normed' (the score
        would divide by zero), an unknown method.
    TypeError
        Non-numeric or complex template, a non-integer channel_axis.

    Examples
    --------
    >>> import numpy as np
    >>> from convlens import Template, find_peaks
    >>> rng = np.random.default_rng(0)
    >>> face = rng.standard_normal((5, 4))
    >>> finder = Template(face)
    >>> for shift in [(3, 7), (10, 2)]:
    ...     image = rng.standard_normal((20, 20))
    ...     image[shift[0] : shift[0] + 5, shift[1] : shift[1] + 4] = 2 * face + 1
    ...     best = find_peaks(finder.match(image))
    ...     print(best.indices[0], best.scores[0].round(6))
    [3 7] 1.0
    [10  2] 1.0
    """

    def __init__(
        self,
        template,
        *,
        method: str = "zncc",
        mask=None,
        channel_axis: int | None = None,
        workers: int | None = None,
    ) -> None:
        self.method = check_choice("method", method, METHODS)
        self.workers = check_workers(workers)
        t = check_array("template", template, allow_complex=False)
        self.channel_axis = _check_channel_axis(channel_axis, t.ndim, "template")
        self._full_ndim = t.ndim
        tc_first = _channels_first(t, self.channel_axis)
        self.channels = tc_first.shape[0]
        self.shape: tuple[int, ...] = tc_first.shape[1:]
        """Spatial shape of the template (without the channel axis)."""
        valid = np.isfinite(tc_first).all(axis=0) if t.dtype.kind == "f" else np.ones(self.shape, bool)
        if mask is not None:
            valid &= _check_mask("mask", mask, self.shape)
        if not valid.any():
            raise ValueError("template has no finite value where the mask is True: nothing to match")
        self._mask = valid
        self._masked = not valid.all()
        sp_axes = tuple(range(1, tc_first.ndim))
        t64 = np.where(valid, tc_first, 0).astype(np.float64)
        self._n = int(valid.sum())
        tc = t64.sum(axis=sp_axes) / self._n  # per-channel mean over the valid pixels
        self._tc = tc.reshape((-1,) + (1,) * len(self.shape))
        self._tm = np.where(valid, t64 - self._tc, 0)  # zero-mean, masked template
        self._E = self._tm.sum(axis=sp_axes).reshape(self._tc.shape)
        self._F = (self._tm**2).sum(axis=sp_axes).reshape(self._tc.shape)
        self._energy = float(self._F.sum())
        # zero-mean template scaled to a unit variance-sum (sum tm**2 - (sum tm)**2 / n = 1)
        self._t_scale = math.sqrt(max(float((self._F - self._E**2 / self._n).sum()), np.finfo(np.float64).tiny))
        self._tm_unit = self._tm / self._t_scale
        amp = float(np.abs(t64).max())
        if (
            self.method == "zncc"
            and float((self._F - self._E**2 / self._n).sum()) <= self._n * (64 * _EPS64 * amp) ** 2
        ):
            raise ValueError(
                "template is constant (over its valid pixels): its zero-normalized correlation with any "
                "window is undefined; use method='ccorr' or 'sqdiff', or a template with some variation"
            )
        if self.method in ("ncc", "sqdiff_normed") and amp == 0:
            raise ValueError(f"template is all zeros: method={self.method!r} divides by its norm")
        self._plans: dict[tuple, Convolver] = {}
        self._plans_lock = threading.Lock()  # strips on several threads create plans concurrently

    def __repr__(self) -> str:
        return (
            f"Template(shape={self.shape}, channels={self.channels}, method={self.method!r}, "
            f"masked={self._masked}, workers={self.workers})"
        )

    # -- engine plans ---------------------------------------------------------------------
    def _correlate(
        self,
        key: str,
        kernel: np.ndarray,
        x: np.ndarray,
        *,
        sum_channels: bool,
        slot: int = 0,
        workers: int | None = None,
    ) -> np.ndarray:
        """Valid correlation of ``x`` (C, *sp) with ``kernel`` (C or 1, *t) through a cached plan.

        ``sum_channels``: correlate along the channel axis too (valid there = the sum
        over channels of the per-channel correlations); else channels broadcast.
        ``slot``: one plan per thread that strips run on (a plan serializes its calls).
        """
        workers = self.workers if workers is None else workers
        work = x.dtype
        if sum_channels and x.shape[0] == 1 and kernel.shape[0] == 1:  # one channel: plain N-d plan
            x, kernel, sum_channels, squeeze = x[0], kernel[0], False, True
        else:
            squeeze = False
        plan_key = (key, x.shape, work.str, sum_channels, squeeze, slot, workers)
        with self._plans_lock:
            plan = self._plans.get(plan_key)
        if plan is None:
            if squeeze:
                axes = None
            else:
                axes = None if sum_channels else tuple(range(1, x.ndim))
            flip_axes = tuple(range(kernel.ndim)) if axes is None else axes
            # correlation = convolution with the reversed template (real data: no conjugate)
            rev = np.ascontiguousarray(np.flip(kernel, axis=flip_axes)).astype(work)
            plan = Convolver(rev, x.shape, "valid", axes=axes, dtype=work, workers=workers)
            with self._plans_lock:
                if len(self._plans) >= _MAX_PLANS + self.workers:
                    self._plans.pop(next(iter(self._plans)))
                self._plans[plan_key] = plan
        out = plan(x)
        return out if not squeeze else out[np.newaxis]

    # -- searching --------------------------------------------------------------------------
    def match(
        self,
        image,
        *,
        mode: str = "valid",
        image_mask=None,
        lags=None,
        max_lag=None,
        boundary: str = "constant",
        fill_value: float = 0.0,
        min_overlap: float = 0.5,
    ) -> np.ndarray:
        """Score every placement of the template in ``image``.

        The options and the result are those of :func:`match_template` (the
        template's method, mask, channel axis and workers were fixed at construction).
        """
        x = check_array("image", image, allow_complex=False)
        if x.ndim != self._full_ndim:
            raise ValueError(
                f"image must have as many dimensions as the template ({self._full_ndim}); got {x.ndim} "
                f"(image shape {x.shape}); for a colour image and a grey template convert one of them first"
            )
        xc = _channels_first(x, self.channel_axis)
        if xc.shape[0] != self.channels:
            raise ValueError(
                f"image has {xc.shape[0]} channels along channel_axis={self.channel_axis} but the template has "
                f"{self.channels}; they must match"
            )
        mode = check_choice("mode", mode, MODES)
        boundary = check_choice("boundary", boundary, BOUNDARIES)
        if isinstance(fill_value, bool) or not isinstance(fill_value, (int, float, np.integer, np.floating)):
            raise TypeError(
                f"fill_value must be a real number (NaN marks outside pixels as missing); got {fill_value!r}"
            )
        if isinstance(min_overlap, bool) or not isinstance(min_overlap, (int, float)) or not 0 <= min_overlap <= 1:
            raise ValueError(f"min_overlap must be a number in [0, 1]; got {min_overlap!r}")
        sp = xc.shape[1:]
        per_axis = _lags_per_axis(mode, lags, max_lag, sp, self.shape)
        lo = [int(v.min()) for v in per_axis]
        span = [int(v.max()) - a + 1 for a, v in zip(lo, per_axis)]
        region = _region(xc, lo, [s + m - 1 for s, m in zip(span, self.shape)], boundary, fill_value)
        imask = None
        if image_mask is not None:
            imask = _check_mask("image_mask", image_mask, sp)
            imask = _region(imask[np.newaxis], lo, region.shape[1:], boundary, True)[0]
        work = np.dtype(np.float32) if region.dtype in (np.float16, np.float32) else np.dtype(np.float64)
        # the mean is only a shift (any value works) and doubles as a NaN/inf detector
        ci = region.mean(axis=tuple(range(1, region.ndim)), dtype=work).astype(np.float64)
        if self._masked or imask is not None or not np.isfinite(ci).all():
            scores = self._masked_scores(region, imask, min_overlap, work)
        else:
            scores = self._plain_scores(region, ci, work)
        pick = [
            None if (len(v) == s and np.array_equal(v, np.arange(a, a + s))) else v - a
            for a, s, v in zip(lo, span, per_axis)
        ]
        if any(p is not None for p in pick):
            scores = scores[np.ix_(*(np.arange(s) if p is None else p for p, s in zip(pick, span)))]
        return scores.astype(work, copy=False)

    def _plain_scores(self, region: np.ndarray, ci: np.ndarray, work: np.dtype) -> np.ndarray:
        """No mask, all finite: FFT correlations (cached template spectrum) plus running sums, in strips."""
        shift = (ci.astype(work) if work == np.float32 else ci).reshape((-1,) + (1,) * (region.ndim - 1))
        ci64 = shift.astype(np.float64).reshape(self._tc.shape)

        def strip(a: int, L: int, out: np.ndarray, skip: int, slot: int, fft_workers: int) -> None:
            self._strip(region[:, a : a + L], shift, ci64, work, out, skip, slot, fft_workers)

        return self._in_strips(region.shape[1:], work, strip)

    def _in_strips(self, ext: tuple[int, ...], work: np.dtype, strip: Callable[..., None]) -> np.ndarray:
        """Run ``strip`` over overlapping strips of the region along its first spatial axis.

        Overlap-save: each strip's valid outputs are exactly the whole region's, so
        strips of :func:`_strip_rows` rows give the same scores as one big transform,
        while each strip is transformed, normalized and written while it is still in
        cache, the template spectrum is only strip-sized (cheap to prepare for a
        one-off search), and strips run on ``workers`` threads.
        """
        out_shape = tuple(n - m + 1 for n, m in zip(ext, self.shape))
        out = np.empty(out_shape, dtype=work)
        rows, m0 = out_shape[0], self.shape[0]
        L = _strip_rows(ext, m0, rows)
        S = L - m0 + 1
        starts = list(range(0, rows - S, S)) + [rows - S]  # the last strip ends at the last row
        # (strip start, first row it writes): the last strip may overlap the previous one
        jobs = [(a, a if i == 0 else max(a, starts[i - 1] + S)) for i, a in enumerate(starts)]
        slots = min(self.workers, len(jobs))
        fft_workers = self.workers if slots == 1 else 1

        def run(slot: int) -> None:
            for a, first in jobs[slot::slots]:
                strip(a, L, out[first : a + S], first - a, slot, fft_workers)

        if slots == 1:
            run(0)
        else:
            with ThreadPoolExecutor(slots) as pool:
                list(pool.map(run, range(slots)))
        return out

    def _strip(self, src, shift, ci64, work, out, skip: int, slot: int, fft_workers: int) -> None:
        """Scores of one strip of the image (``src``: C, L, ...) into ``out`` (its rows from ``skip`` on)."""
        C = src.shape[0]
        # Subtracting the image mean first keeps the float32 correlation and the
        # variance (sum x^2 - (sum x)^2/n) away from cancellation on offset data.
        xs = np.subtract(src, shift, dtype=work)
        fast_zncc = self.method == "zncc" and C == 1
        if fast_zncc:  # template scaled to unit variance-sum: saves a multiply per score
            D = self._correlate("tm-unit", self._tm_unit, xs, sum_channels=True, slot=slot, workers=fft_workers)[0]
        else:
            D = self._correlate("tm", self._tm, xs, sum_channels=True, slot=slot, workers=fft_workers)[0]
        if _HAVE_CV2 and C == 1 and len(self.shape) == 2:
            sums = _integral_sums_2d(xs[0], self.shape)
            energy = sums.total_energy
        else:
            sq = np.square(xs, dtype=np.float64)
            B_all, C_all = _window_sums(xs, self.shape), _window_sums(sq, self.shape)
            energy = float(sq.sum())

            def sums(r0: int, r1: int) -> tuple[np.ndarray, np.ndarray]:
                return B_all[:, r0:r1], C_all[:, r0:r1]

        thr_i, thr_t = self._thresholds(energy, xs[0].size, np.finfo(work).eps)
        q0 = {"n": self._n, "E": self._E, "F": self._F, "ci": ci64, "tc": self._tc}

        if fast_zncc:
            n = float(self._n)
            E = float(self._E.ravel()[0])
            # In float32 the template's mean residue E (~1e-17 n |t|) is far below the
            # correlation's round-off, so the term B * E / n is dropped there.
            e_n = E / n / self._t_scale if work == np.float64 else 0.0

            def block(r0: int, r1: int) -> None:
                # _scores' zncc formula, fused in place on a cache-sized block; the
                # cancellation-prone part in float64, the rest in the output dtype
                B, Cc = (a[0] for a in sums(r0 + skip, r1 + skip))
                num = D[r0 + skip : r1 + skip]
                if e_n:
                    num = num - B * e_n
                np.multiply(B, B, out=B)
                B *= 1 / n
                Cc -= B  # n * variance of each window, float64
                flat = Cc <= thr_i
                o = out[r0:r1]
                with np.errstate(divide="ignore", invalid="ignore"):
                    np.sqrt(Cc, out=o, casting="same_kind")
                    np.divide(num, o, out=o, casting="same_kind")
                np.clip(o, -1, 1, out=o)
                np.copyto(o, 0, where=flat)

        else:

            def block(r0: int, r1: int) -> None:
                B, Cc = sums(r0 + skip, r1 + skip)
                q = {**q0, "D": D[r0 + skip : r1 + skip], "B": B, "Cc": Cc}
                out[r0:r1] = _scores(self.method, q, thr_i, thr_t)

        _blockwise(block, out.shape[0], math.prod(out.shape[1:]), fft_workers)

    def _thresholds(self, energy: float, size: int, eps_work: float) -> tuple[float, float]:
        """Variances at or below these are round-off: the window (or template part) is flat.

        Running sums lose about eps64 * (total energy), and a float32 correlation
        about eps32 * rms * |template| per placement, i.e. eps32 * rms / std of the
        window in the score: windows whose std is below ~1e-4 (float32) of the
        image's rms have no measurable structure and score 0.
        """
        ms = energy / max(size, 1)
        thr_i = 16 * _EPS64 * energy + self._n * ms * (1024 * eps_work) ** 2
        thr_t = 64 * _EPS64 * self._energy
        return thr_i, thr_t

    def _masked_scores(
        self, region: np.ndarray, imask: np.ndarray | None, min_overlap: float, work: np.dtype
    ) -> np.ndarray:
        """Masked scores (Padfield 2012): every sum restricted to valid image x template pixels, in float64."""
        sp_axes = tuple(range(1, region.ndim))
        valid = np.isfinite(region).all(axis=0) if region.dtype.kind == "f" else np.ones(region.shape[1:], bool)
        if imask is not None:
            valid &= imask
        if not valid.any():
            raise ValueError("image has no valid pixel (all are NaN/inf or masked out) in the searched region")
        ci = np.where(valid, region, 0).sum(axis=sp_axes, dtype=np.float64) / valid.sum()
        ci = ci.reshape(self._tc.shape)

        def strip(a: int, L: int, out: np.ndarray, skip: int, slot: int, fft_workers: int) -> None:
            sl = slice(a, a + L)
            out[...] = self._masked_strip(region[:, sl], valid[sl], ci, min_overlap, slot, fft_workers)[skip:]

        return self._in_strips(region.shape[1:], work, strip)

    def _masked_strip(self, src, valid, ci, min_overlap: float, slot: int, fft_workers: int) -> np.ndarray:
        """Masked scores of one strip: five masked correlations through the engine, in float64."""
        kw = {"slot": slot, "workers": fft_workers}
        xs = np.where(valid, src - ci, 0.0)  # float64: the mean removed, invalid pixels zero
        x2 = xs * xs
        mt = self._mask[np.newaxis].astype(np.float64)
        if self._masked:
            B = self._correlate("mt", mt, xs, sum_channels=False, **kw)
            Cc = self._correlate("mt", mt, x2, sum_channels=False, **kw)
        else:
            B, Cc = _window_sums(xs, self.shape), _window_sums(x2, self.shape)
        D = self._correlate("tm", self._tm, xs, sum_channels=True, **kw)[0]
        if valid.all():
            n, E, F = self._n, self._E, self._F
        else:
            mi = valid[np.newaxis].astype(np.float64)
            # one transform of the valid-pixel map for all three: the kernels stack
            # along the broadcast channel axis (count, then sum T and sum T**2 per channel)
            stack = np.concatenate([mt, self._tm, self._tm**2])
            nEF = self._correlate("mt|tm|tm2", stack, mi, sum_channels=False, **kw)
            C = self.channels
            n, E, F = np.rint(nEF[0]), nEF[1 : 1 + C], nEF[1 + C :]
        thr_i, thr_t = self._thresholds(float(x2.sum()), max(int(valid.sum()), 1), _EPS64)
        q = {"D": D, "B": B, "Cc": Cc, "n": np.maximum(n, 1), "E": E, "F": F, "ci": ci, "tc": self._tc}
        scores = _scores(self.method, q, thr_i, thr_t)
        short = np.asarray(n) < max(min_overlap * self._n, 1) - 0.5
        if short.any():
            scores = np.array(scores, dtype=np.float64)
            scores[np.broadcast_to(short, scores.shape)] = np.nan if self.method in _SQUARED else 0.0
        return scores

    def locate(self, recording, sample_rate: float, *, within: tuple[float, float] | None = None) -> Location:
        """Find this (1-D, zncc) template in a recording: see :func:`locate`."""
        if len(self.shape) != 1 or self.channels != 1:
            raise ValueError(f"locate needs a 1-D clip (a mono signal); this template has shape {self.shape}")
        if self.method != "zncc":
            raise ValueError(f"locate scores with method='zncc'; this template uses {self.method!r}")
        if isinstance(sample_rate, bool) or not isinstance(sample_rate, (int, float, np.number)) or not sample_rate > 0:
            raise ValueError(f"sample_rate must be a positive number (samples per second); got {sample_rate!r}")
        x = check_array("recording", recording, allow_complex=False)
        if x.ndim != 1:
            raise ValueError(
                f"recording must be 1-D (mono); got shape {x.shape}: mix the channels down first, e.g. recording.mean(axis=1)"
            )
        m = self.shape[0]
        if m > x.size:
            raise ValueError(f"clip is longer than the recording ({m} > {x.size} samples)")
        last = x.size - m
        if within is None:
            first, stop = 0, last
        else:
            try:
                t0, t1 = (float(v) for v in within)
            except (TypeError, ValueError):
                raise ValueError(f"within must be a pair (start, stop) of times in seconds; got {within!r}") from None
            first, stop = max(0, math.ceil(t0 * sample_rate)), min(last, math.floor(t1 * sample_rate))
            if first > stop:
                raise ValueError(
                    f"within={within!r} leaves no start time for the clip in a recording of "
                    f"{x.size / sample_rate:.6g} s (clip {m / sample_rate:.6g} s)"
                )
        scores = self.match(x, lags=(np.arange(first, stop + 1),))
        peaks = find_peaks(scores, 2, min_distance=m, subpixel=False)
        if peaks.scores.size == 0:  # every window flat (silence)
            return Location(first / sample_rate, first, 0.0, 0.0)
        best = float(peaks.scores[0])
        second = max(float(peaks.scores[1]), 0.0) if peaks.scores.size > 1 else 0.0
        conf = 0.0 if best <= second else (best - second) / (1 - second) if second < 1 else 0.0
        sample = first + int(peaks.indices[0, 0])
        return Location(sample / sample_rate, sample, best, float(min(max(conf, 0.0), 1.0)))


# -- public functions -----------------------------------------------------------------------
def match_template(
    image,
    template,
    *,
    method: str = "zncc",
    mask=None,
    image_mask=None,
    mode: str = "valid",
    lags=None,
    max_lag=None,
    boundary: str = "constant",
    fill_value: float = 0.0,
    channel_axis: int | None = None,
    min_overlap: float = 0.5,
    workers: int | None = None,
) -> np.ndarray:
    """Score every placement of ``template`` in ``image`` (N-d template matching).

    Parameters
    ----------
    image : (M[, N[, P, ...]]) array_like
        Data to search: a signal, an image, a volume (real values).  NaN and inf
        pixels are excluded from every sum (masked matching).
    template : (m[, n[, p, ...]]) array_like
        The pattern, with as many dimensions as ``image``.
    method : {'zncc', 'ncc', 'ccoeff', 'ccorr', 'sqdiff', 'sqdiff_normed'}, optional
        Score (see :class:`Template`); 'zncc' (default) is Pearson's r in [-1, 1].
    mask : array_like of bool, optional
        Template mask (template's spatial shape): pixels marked False are ignored.
    image_mask : array_like of bool, optional
        Image mask (image's spatial shape): pixels marked False are ignored, as are
        NaN/inf pixels.  Each score then uses only the pixels valid in both the
        image window and the template, with the window's own means (Padfield 2012).
    mode : {'valid', 'same', 'full'}, optional
        Which placements, with the lags of :func:`scipy.signal.correlation_lags`
        for ``correlate(image, template, mode)``: 'valid' (default) the template
        inside the image, output index = top-left corner
        (``skimage ... pad_input=False``, OpenCV); 'same' one score per image pixel,
        the template's centre ``m // 2`` on it (``pad_input=True``); 'full' every
        placement with some overlap.  Outside pixels come from ``boundary``.
    lags : sequence of int, or tuple of them (one per axis), optional
        Score only these lags (template start offsets: lag k compares
        ``image[k + i]`` with ``template[i]``, the ``scipy.signal.correlation_lags``
        convention).  Only the image region these lags reach is read and
        transformed, so a narrow range costs that range.  Overrides ``mode``.
    max_lag : int or tuple of int, optional
        Shorthand for ``lags=range(-max_lag, max_lag + 1)`` on each axis.
    boundary : {'constant', 'wrap', 'reflect', 'symmetric', 'edge'}, optional
        How the image is extended for placements that reach outside it
        (``numpy.pad``'s rules).
    fill_value : float, optional
        Value outside the image for 'constant' (default 0, as scikit-image).
        ``np.nan`` instead excludes outside pixels from the scores.
    channel_axis : int, optional
        Channel axis of image and template (e.g. -1 for RGB): scores sum over
        channels with one mean per channel (OpenCV's colour matching).
    min_overlap : float, optional
        With masks or NaN: placements where fewer than this fraction of the
        template's valid pixels meet valid image pixels score 0 (NaN for the
        'sqdiff' methods).  Default 0.5.
    workers : int, optional
        Threads (default: every available core).

    Returns
    -------
    ndarray
        Scores, one per placement: shape ``M - m + 1, ...`` ('valid'), ``M, ...``
        ('same'), ``M + m - 1, ...`` ('full') or the number of lags per axis.
        float32 for float16/float32 images, float64 otherwise.  'zncc' and 'ncc'
        lie in [-1, 1]; flat windows (no variation) score 0, never NaN or inf
        ('sqdiff_normed' scores an all-zero window 1, its worst, as OpenCV does).

    Raises
    ------
    ValueError
        A template larger than the image in mode 'valid', different numbers of
        dimensions or channels, an empty template, a constant template for 'zncc',
        masks of the wrong shape or with no valid pixel, unknown options.
    TypeError
        Non-numeric or complex data, wrongly typed options.

    See Also
    --------
    Template : prepare a template once for many searches.
    find_peaks : the best matches in a score map.

    Notes
    -----
    The correlation ``sum I*T`` of every placement is one FFT correlation through
    the engine (float32 data stay float32, after subtracting the image mean), and
    the local sums ``sum I`` and ``sum I**2`` are running sums in float64 (Lewis
    1995), so 'zncc' is ``(sum I T - sum I * mean T) / sqrt(var-sum I * var-sum T)``
    without a loop over placements.  With masks all five sums are masked
    correlations through the engine (Padfield 2012).

    References
    ----------
    .. [1] J. P. Lewis, "Fast Normalized Cross-Correlation", Vision Interface (1995).
    .. [2] D. Padfield, "Masked Object Registration in the Fourier Domain",
           IEEE Trans. Image Processing 21(5), 2012.

    Examples
    --------
    >>> import numpy as np
    >>> from convlens import match_template
    >>> image = np.zeros((6, 6))
    >>> image[1, 1], image[4, 4] = 1, -1
    >>> template = np.zeros((3, 3))
    >>> template[1, 1] = 1
    >>> np.round(match_template(image, template), 3)
    array([[ 1.   , -0.125,  0.   ,  0.   ],
           [-0.125, -0.125,  0.   ,  0.   ],
           [ 0.   ,  0.   ,  0.125,  0.125],
           [ 0.   ,  0.   ,  0.125, -1.   ]])

    A missing sample (NaN) is left out instead of spoiling its neighbourhood: the
    window ``[nan, 3, 1]`` still matches ``[1, 3, 1]`` perfectly on its valid part.

    >>> signal = np.array([0, 1, 3, 1, 0, 0, np.nan, 3, 1, 0])
    >>> np.round(match_template(signal, [1, 3, 1], min_overlap=0.6), 3)
    array([-0.189,  1.   , -0.189, -0.5  ,  0.   ,  0.   ,  1.   , -0.189])
    """
    tpl = Template(template, method=method, mask=mask, channel_axis=channel_axis, workers=workers)
    return tpl.match(
        image,
        mode=mode,
        image_mask=image_mask,
        lags=lags,
        max_lag=max_lag,
        boundary=boundary,
        fill_value=fill_value,
        min_overlap=min_overlap,
    )


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
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer (number of peaks); got {n!r}")
    md = (min_distance,) * s.ndim if np.ndim(min_distance) == 0 else tuple(min_distance)
    if len(md) != s.ndim or any(isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1 for v in md):
        raise ValueError(
            f"min_distance must be a positive int or {s.ndim} of them (one per axis); got {min_distance!r}"
        )
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, (int, float, np.number))):
        raise TypeError(f"threshold must be None or a number; got {threshold!r}")
    from scipy import ndimage  # a maximum filter, not a convolution

    vals = np.where(np.isnan(s), -np.inf, s.astype(np.float64))
    if s.ndim == 1:  # neighbours compared directly: a 1-D maximum filter costs 10x more
        local = np.ones(vals.shape, bool)
        local[1:] &= vals[1:] >= vals[:-1]
        local[:-1] &= vals[:-1] >= vals[1:]
    else:
        local = vals >= ndimage.maximum_filter(vals, size=3, mode="constant", cval=-np.inf)
    local &= vals > -np.inf
    if threshold is not None:
        local &= vals >= threshold
    cand = np.flatnonzero(local)
    cand_vals = -vals.ravel()[cand]
    dist = np.asarray(md)
    if n <= 8:
        chosen = _greedy_by_argmax(cand, cand_vals, s.shape, dist, n)
    else:
        chosen = _greedy_by_partition(cand, cand_vals, s.shape, dist, n)
    indices = np.array(chosen, dtype=np.int64).reshape(-1, s.ndim)
    positions = indices.astype(np.float64)
    if subpixel:
        for row, coord in enumerate(indices):
            for ax in range(s.ndim):
                if 0 < coord[ax] < s.shape[ax] - 1:
                    lo_c, hi_c = coord.copy(), coord.copy()
                    lo_c[ax] -= 1
                    hi_c[ax] += 1
                    f0, fm, fp = vals[tuple(coord)], vals[tuple(lo_c)], vals[tuple(hi_c)]
                    curv = fm - 2 * f0 + fp
                    if np.isfinite(curv) and curv < 0:
                        positions[row, ax] += float(np.clip(0.5 * (fm - fp) / curv, -0.5, 0.5))
    peak_scores = s[tuple(indices.T)] if indices.size else np.empty(0, dtype=s.dtype)
    return Peaks(indices, positions, peak_scores)


def locate(
    recording, clip, sample_rate: float, *, within: tuple[float, float] | None = None, workers: int | None = None
) -> Location:
    """Find where an audio clip starts in a recording.

    Every start is scored by zero-normalized cross-correlation (Pearson's r), so a
    gain change does not matter and noise only lowers the score.

    Parameters
    ----------
    recording : (N,) array_like
        The recording (mono).  NaN samples (dropouts) are ignored.
    clip : (m,) array_like
        The clip, at the same sample rate, m <= N.
    sample_rate : float
        Samples per second of both.
    within : (float, float), optional
        Search only starts between these times (seconds); only that part of the
        recording is read and transformed.
    workers : int, optional
        Threads (default: every available core).

    Returns
    -------
    Location
        ``(offset, sample, score, confidence)``: start in seconds and in samples,
        the correlation there, and ``(r1 - r2) / (1 - r2)`` with ``r2`` the best
        score at least one clip length away (0 when none is positive): near 1 for
        an unambiguous match, near 0 when another place fits as well.

    See Also
    --------
    Template.locate : the same with a clip prepared once for many recordings.

    Examples
    --------
    >>> import numpy as np
    >>> from convlens import locate
    >>> rng = np.random.default_rng(1)
    >>> song = rng.standard_normal(8000)
    >>> clip = song[2500:3300]
    >>> noisy = 0.3 * song + 0.05 * rng.standard_normal(8000)
    >>> loc = locate(noisy, clip, sample_rate=8000)
    >>> loc.sample, loc.offset, round(loc.score, 2), loc.confidence > 0.9
    (2500, 0.3125, 0.99, True)
    """
    return Template(clip, workers=workers).locate(recording, sample_rate, within=within)
