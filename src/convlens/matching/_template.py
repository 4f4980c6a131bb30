"""The prepared template: checked once, zero-mean and weighted copies, norms, engine plans per input shape."""

from __future__ import annotations

import math
import threading
from typing import Any

import numpy as np

from .._engine import Convolver
from .._validation import (
    BOUNDARIES,
    MODES,
    check_alloc,
    check_array,
    check_choice,
    check_workers,
    result_dtype,
    user_function,
)
from ._checks import (
    channels_first,
    check_channel_axis,
    check_fill_value,
    check_lags,
    check_min_overlap,
    check_weights,
)
from ._masked import masked_scores
from ._plain import NonFinite, plain_scores
from ._refine import refine
from ._region import region as cut_region
from ._scores import METHODS
from ._strips import run_sliced, search_copies, strip_rows, strips
from ._window_stats import EPS64

_MAX_PLANS = 8  # Convolver plans kept per Template (one per input shape and dtype)


class Template:
    """A template prepared once and searched in many images or recordings.

    The template is checked, its weighted zero-mean copy, means and norms are
    computed once, and each input shape gets a :class:`convlens.Convolver` plan that
    keeps the reversed template's spectrum, so searching many frames or recordings
    of one size transforms the template only once.  ``Template(t).match(image, ...)``
    equals ``match_template(image, t, ...)``; ``Template(clip).locate(recording,
    rate)`` equals ``locate(recording, clip, rate)``.  A Template pickles (its plans
    are rebuilt on first use) and may be shared by threads.

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
        * 'sqdiff_normed': 'sqdiff' / ``sqrt(sum(I**2) sum(T**2))`` (``TM_SQDIFF_NORMED``;
          not capped: OpenCV clips it at 1 without a mask, not with one).
    mask : array_like, optional
        Template mask, the template's (spatial) shape: booleans (only pixels marked
        True count) or non-negative weights with OpenCV's semantics (products
        weighted by ``mask**2``, means by ``mask``).
    channel_axis : int, optional
        Axis of the template (and of the images) that holds channels (e.g. colour).
        Scores then sum over channels with one mean per channel, as OpenCV does for
        colour images.  The template must have as many channels as the images.
    workers : int, optional
        Threads for the FFTs and the normalization (default: every available core;
        negative values count back from the cores, ``-1`` = all).

    Raises
    ------
    ValueError
        Empty template, a mask of the wrong shape, with negative weights or no
        valid pixel, a constant template for 'zncc' or an all-zero one for 'ncc' /
        'sqdiff_normed' (the score would divide by zero), an unknown method.
    TypeError
        Non-numeric, complex or ``longdouble`` template, a non-integer channel_axis.

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

    def __init__(self, template, *, method: str = "zncc", mask=None, channel_axis=None, workers=None) -> None:
        self.method = check_choice("method", method, METHODS)
        self.workers = check_workers(workers)
        t = check_array("template", template, allow_complex=False)
        result_dtype(t.dtype, allow_complex=False, name="template")  # refuses longdouble
        self.channel_axis = check_channel_axis(channel_axis, t.ndim, "template")
        self._full_ndim = t.ndim
        tc_first = channels_first(t, self.channel_axis)
        self.channels = tc_first.shape[0]
        self.shape: tuple[int, ...] = tc_first.shape[1:]
        """Spatial shape of the template (without the channel axis)."""
        finite = np.isfinite(tc_first).all(axis=0) if t.dtype.kind == "f" else np.ones(self.shape, bool)
        w = finite.astype(np.float64)
        if mask is not None:
            w *= check_weights("mask", mask, self.shape, weighted=True)
        if not (w > 0).any():
            raise ValueError("template has no finite value where the mask is True: nothing to match")
        self._prepare(np.where(w > 0, tc_first, 0).astype(np.float64), w)
        self._plans: dict[tuple, Convolver] = {}
        self._plans_lock = threading.Lock()

    def _prepare(self, t64: np.ndarray, w: np.ndarray) -> None:
        """Weighted means, shifted copies, the sums of ``_scores`` at full overlap, and the kernels."""
        sp = tuple(range(1, t64.ndim))
        cshape = (-1,) + (1,) * len(self.shape)
        self._w, self._t64 = w, t64
        self._binary = bool(np.isin(w, (0.0, 1.0)).all())
        self._masked = not bool((w == 1).all())
        w2 = w * w
        self._W1, self._W2 = float(w.sum()), float(w2.sum())
        self._wmin = float(w[w > 0].min())
        self._tc = ((t64 * w).sum(axis=sp) / self._W1).reshape(cshape)
        ts = np.where(w > 0, t64 - self._tc, 0.0)
        self._E1 = (w * ts).sum(axis=sp).reshape(cshape)
        self._E2 = (w2 * ts).sum(axis=sp).reshape(cshape)
        self._F = (w2 * ts * ts).sum(axis=sp).reshape(cshape)
        tb = self._E1 / self._W1
        self._vt = float((self._F - 2 * tb * self._E2 + tb * tb * self._W2).sum())
        self._tt = float((w2 * t64 * t64).sum())
        self._k_D = w2 * ts  # correlated with the image: sum b Is Ts
        self._k_w, self._k_w2 = w[np.newaxis], w2[np.newaxis]
        parts = [w2[np.newaxis], w2 * ts, w2 * ts * ts] if self._binary else [w[np.newaxis], w2[np.newaxis]]
        if not self._binary:
            parts += [w * ts, w2 * ts, w2 * ts * ts]
        self._k_valid = np.concatenate(parts)
        # zero-mean template scaled to a unit variance-sum (the fast zncc path)
        self._t_scale = math.sqrt(max(self._vt, np.finfo(np.float64).tiny))
        self._k_unit = ts / self._t_scale
        self._l1 = {"D": float(np.abs(self._k_D).sum()), "unit": float(np.abs(self._k_unit).sum())}
        amp = float(np.abs(t64).max())
        if self.method == "zncc" and self._vt <= self._W2 * (64 * EPS64 * amp) ** 2:
            raise ValueError(
                "template is constant (over its valid pixels): its zero-normalized correlation with any "
                "window is undefined; use method='ccorr' or 'sqdiff', or a template with some variation"
            )
        if self.method in ("ncc", "sqdiff_normed") and amp == 0:
            raise ValueError(f"template is all zeros: method={self.method!r} divides by its norm")

    def __repr__(self) -> str:
        return (
            f"Template(shape={self.shape}, channels={self.channels}, method={self.method!r}, "
            f"masked={self._masked}, workers={self.workers})"
        )

    # -- pickling and threads: the plans and their lock stay behind, rebuilt on first use --
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_plans"] = {}
        del state["_plans_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._plans_lock = threading.Lock()

    # -- engine plans ---------------------------------------------------------------------
    def _correlate(self, key, kernel, x, *, sum_channels: bool, slot=0, workers=None, cache=True) -> np.ndarray:
        """Valid correlation of ``x`` (C, *sp) with ``kernel`` (C or K, *t) through a (cached) plan.

        ``sum_channels``: correlate along the channel axis too (valid there = the sum
        over channels of the per-channel correlations); else channels broadcast.
        ``slot``: one plan per thread that strips run on (a plan serializes its calls).
        """
        workers = self.workers if workers is None else workers
        work = x.dtype
        squeeze = sum_channels and x.shape[0] == 1 and kernel.shape[0] == 1
        if squeeze:  # one channel: plain N-d plan
            x, kernel, sum_channels = x[0], kernel[0], False
        plan_key = (key, x.shape, work.str, sum_channels, squeeze, slot, workers)
        with self._plans_lock:
            plan = self._plans.get(plan_key) if cache else None
        if plan is None:
            axes = None if (squeeze or sum_channels) else tuple(range(1, x.ndim))
            flip_axes = tuple(range(kernel.ndim)) if axes is None else axes
            # correlation = convolution with the reversed template (real data: no conjugate)
            rev = np.ascontiguousarray(np.flip(kernel, axis=flip_axes)).astype(work)
            plan = Convolver(rev, x.shape, "valid", axes=axes, dtype=work, workers=workers)
            if cache:
                with self._plans_lock:
                    if len(self._plans) >= _MAX_PLANS + self.workers:
                        self._plans.pop(next(iter(self._plans)))
                    self._plans[plan_key] = plan
        out = plan(x)
        return out[np.newaxis] if squeeze else out

    def _score(self, src, valid, work, out, unsure, skip, slot, fft_workers, cache, min_overlap, masked) -> bool:
        """Scores of one strip into ``out``; flags in ``unsure`` (all False on entry); whether any is flagged."""
        if masked:
            return masked_scores(self, src, valid, work, out, unsure, skip, slot, fft_workers, cache, min_overlap)
        return plain_scores(self, src, work, out, unsure, skip, slot, fft_workers, cache)

    # -- searching --------------------------------------------------------------------------
    def match(self, image, *, mode="valid", image_mask=None, lags=None, max_lag=None, boundary="constant",
              fill_value=0.0, min_overlap=0.5) -> np.ndarray:  # fmt: skip
        """Score every placement of the template in ``image``.

        The options and the result are those of :func:`match_template` (the
        template's method, mask, channel axis and workers were fixed at construction).
        """
        opts = (mode, image_mask, lags, max_lag, boundary, fill_value, min_overlap)
        return self._match(image, *opts, caller="Template.match")

    def _match(self, image, mode, image_mask, lags, max_lag, boundary, fill_value, min_overlap, *, caller):
        with user_function(caller):
            return self._match_in(image, mode, image_mask, lags, max_lag, boundary, fill_value, min_overlap, caller)

    def _match_in(self, image, mode, image_mask, lags, max_lag, boundary, fill_value, min_overlap, caller):
        x = check_array("image", image, allow_complex=False)
        out_dtype, work = result_dtype(x.dtype, allow_complex=False, name="image")
        xc = self._channels_of(x)
        mode = check_choice("mode", mode, MODES)
        boundary = check_choice("boundary", boundary, BOUNDARIES)
        fill_value, min_overlap = check_fill_value(fill_value), check_min_overlap(min_overlap)
        per_axis = check_lags(mode, lags, max_lag, xc.shape[1:], self.shape)
        lo = [int(v.min()) for v in per_axis]
        span = [int(v.max()) - a + 1 for a, v in zip(lo, per_axis)]
        ext = [s + m - 1 for s, m in zip(span, self.shape)]
        # refused up front, naming the caller: a broadcast input costs nothing to pass
        check_alloc(span, np.float64, what=caller, copies=search_copies(span, ext, self.shape[0], self.channels))
        src = cut_region(xc, lo, ext, boundary, fill_value)
        if src.dtype == np.float16:  # computed in float32 (exact): OpenCV's integrals and ndimage refuse float16
            src = src.astype(work)
        valid = None
        if image_mask is not None:
            imask = check_weights("image_mask", image_mask, xc.shape[1:], weighted=False)
            valid = cut_region(imask[np.newaxis], lo, ext, boundary, 1.0)[0] > 0
        scores = self._search_valid(src, valid, work, min_overlap)
        pick = [None if (len(v) == s and v[0] == a and np.all(np.diff(v) == 1)) else v - a
                for a, s, v in zip(lo, span, per_axis)]  # fmt: skip
        if any(p is not None for p in pick):
            scores = scores[np.ix_(*(np.arange(s) if p is None else p for p, s in zip(pick, span)))]
        return scores.astype(out_dtype, copy=False)

    def _channels_of(self, x: np.ndarray) -> np.ndarray:
        if x.ndim != self._full_ndim:
            raise ValueError(
                f"image must have as many dimensions as the template ({self._full_ndim}); got {x.ndim} "
                f"(image shape {x.shape}); for a colour image and a grey template convert one of them first"
            )
        xc = channels_first(x, self.channel_axis)
        if xc.shape[0] != self.channels:
            raise ValueError(
                f"image has {xc.shape[0]} channels along channel_axis={self.channel_axis} but the template has "
                f"{self.channels}; they must match"
            )
        return xc

    def _search_valid(self, src, valid, work, min_overlap: float) -> np.ndarray:
        """The search with NaN/inf pixels left out (masked scores), or plain scores where there is none.

        Without masks, the plain search itself notices a NaN/inf pixel from each
        strip's sums (free; a float32 strip whose sums could overflow counts too) and
        the search reruns masked; with masks, NaN/inf pixels are found up front.
        """
        if valid is None and not self._masked:
            try:
                return self._search(src, None, work, min_overlap, False)
            except NonFinite:
                valid = np.isfinite(src).all(axis=0) if src.dtype.kind == "f" else None
        elif src.dtype.kind == "f" and not _finite_mean(src, work):  # mean: a cheap NaN/inf detector
            finite = np.isfinite(src).all(axis=0)
            valid = finite if valid is None else valid & finite
        if valid is not None and not valid.any():
            raise ValueError("image has no valid pixel (all are NaN/inf or masked out) in the searched region")
        return self._search(src, valid, work, min_overlap, True)

    def _search(self, src, valid, work, min_overlap: float, masked: bool) -> np.ndarray:
        """Scores of every valid placement in ``src`` (C, *ext): overlap-save strips, then local refinement."""
        ext = src.shape[1:]
        out_shape = tuple(n - m + 1 for n, m in zip(ext, self.shape))
        work = np.dtype(np.float64) if masked else work
        out = np.empty(out_shape, dtype=work)
        unsure = np.zeros(out_shape, bool)
        # an unmasked one-channel search may run as one strip in the engine's tiles (see strip_rows)
        tiled = {} if masked or src.shape[0] != 1 else {"template": self.shape, "itemsize": work.itemsize}
        L = strip_rows(ext, self.shape[0], out_shape[0], **tiled)
        jobs = strips(ext[0], self.shape[0], L)
        fft_workers = self.workers if min(self.workers, len(jobs)) == 1 else 1

        flagged: list[bool] = []  # list.append is atomic: strips on threads report here

        def run(slot: int, mine: list) -> None:
            for st in mine:
                sl = slice(st.start, st.start + L)
                v = None if valid is None else valid[sl]
                o, u = out[st.out], unsure[st.out]
                args = (work, o, u, st.skip, slot, fft_workers, True, min_overlap, masked)
                flagged.append(self._score(src[:, sl], v, *args))

        run_sliced(jobs, run, self.workers)
        if any(flagged):  # else ``unsure`` was never written (nor its pages touched)
            refine(self, src, valid, out, unsure, min_overlap, masked)
        return out

    def locate(self, recording, sample_rate: float, *, within: tuple[float, float] | None = None):
        """Find this (1-D, zncc) template in a recording: see :func:`convlens.matching.locate`."""
        from .audio import locate_template

        return locate_template(self, recording, sample_rate, within)


def _finite_mean(src: np.ndarray, work) -> bool:
    """Whether the mean of ``src`` is finite (+inf and -inf together give NaN: no warning for that)."""
    with np.errstate(invalid="ignore", over="ignore"):
        return bool(np.isfinite(src.mean(dtype=work)))
