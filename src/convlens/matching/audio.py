"""Find where an audio clip starts in a recording, and how sure that is."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from .._validation import check_alloc, check_array, check_float

if TYPE_CHECKING:
    from ._template import Template

__all__ = ["Location", "locate"]


class Location(NamedTuple):
    """Where :func:`locate` found a clip in a recording."""

    offset: float
    """Start of the clip in the recording, in seconds (``sample / sample_rate``)."""
    sample: int
    """Start of the clip in the recording, in samples."""
    score: float
    """Zero-normalized cross-correlation (Pearson's r) of the clip and the recording there."""
    confidence: float
    """``1 - max(r2, 0) / r1``, in [0, 1]: ``r2`` is the best score of any start at least a clip length away."""


def confidence(scores: np.ndarray, best: int, width: int) -> float:
    """``1 - max(r2, 0) / r1`` with ``r1 = scores[best]`` and ``r2`` the best score outside ``best +- (width - 1)``.

    Every placement outside the peak's own neighbourhood (starts whose windows
    overlap the best one) counts, not only local maxima: near 0 when another place
    fits as well, 1 when nothing else correlates positively.
    """
    r1 = float(scores[best])
    if not r1 > 0:
        return 0.0
    outside = np.concatenate((scores[: max(best - width + 1, 0)], scores[best + width :]))
    outside = outside[np.isfinite(outside)]
    r2 = max(float(outside.max()), 0.0) if outside.size else 0.0
    return float(min(max(1.0 - r2 / r1, 0.0), 1.0))


def _search_range(within, sample_rate: float, m: int, size: int) -> tuple[int, int]:
    last = size - m
    if within is None:
        return 0, last
    try:
        t0, t1 = (float(v) for v in within)
    except (TypeError, ValueError):
        raise ValueError(f"within must be a pair (start, stop) of times in seconds; got {within!r}") from None
    first, stop = max(0, math.ceil(t0 * sample_rate)), min(last, math.floor(t1 * sample_rate))
    if first > stop:
        raise ValueError(
            f"within={within!r} leaves no start time for the clip in a recording of "
            f"{size / sample_rate:.6g} s (clip {m / sample_rate:.6g} s)"
        )
    return first, stop


def locate_template(tpl: Template, recording, sample_rate, within, caller: str = "Template.locate") -> Location:
    """:func:`locate` with a prepared template (1-D, zncc)."""
    if len(tpl.shape) != 1 or tpl.channels != 1:
        raise ValueError(f"locate needs a 1-D clip (a mono signal); this template has shape {tpl.shape}")
    if tpl.method != "zncc":
        raise ValueError(f"locate scores with method='zncc'; this template uses {tpl.method!r}")
    sample_rate = check_float("sample_rate", sample_rate, minimum=0, min_open=True)
    x = check_array("recording", recording, allow_complex=False)
    if x.ndim != 1:
        raise ValueError(
            f"recording must be 1-D (mono); got shape {x.shape}: mix the channels down first, e.g. "
            "recording.mean(axis=1)"
        )
    m = tpl.shape[0]
    if m > x.size:
        raise ValueError(f"clip is longer than the recording ({m} > {x.size} samples)")
    first, stop = _search_range(within, sample_rate, m, x.size)
    # the scores and their float64 copy, refused up front for a recording too long for memory
    check_alloc((stop - first + 1,), np.float64, what=caller, copies=4)
    lags = None if (first, stop) == (0, x.size - m) else (np.arange(first, stop + 1),)
    scores = tpl._match(x, "valid", None, lags, None, "constant", 0.0, 0.5, caller=caller).astype(np.float64)
    finite = np.where(np.isfinite(scores), scores, -np.inf)
    best = int(np.argmax(finite))
    if not np.isfinite(finite[best]):  # no valid window
        return Location(first / sample_rate, first, 0.0, 0.0)
    sample = first + best
    return Location(sample / sample_rate, sample, float(scores[best]), confidence(scores, best, m))


def locate(recording, clip, sample_rate: float, *, within=None, workers=None) -> Location:
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
        Threads (default: every available core; ``-1`` = all).

    Returns
    -------
    Location
        ``(offset, sample, score, confidence)``: start in seconds and in samples,
        the correlation ``r1`` there, and ``1 - max(r2, 0) / r1`` with ``r2`` the
        best score of any start at least one clip length away: near 1 for an
        unambiguous match, near 0 when another place fits as well.

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
    >>> loc.sample, loc.offset, round(loc.score, 2), loc.confidence > 0.8
    (2500, 0.3125, 0.99, True)

    A recording that repeats the clip's music is ambiguous, whatever the score:

    >>> twice = np.concatenate([song, 0.5 * song])
    >>> round(locate(twice, clip, 8000).confidence, 6)
    0.0
    """
    from ._template import Template

    return locate_template(Template(clip, workers=workers), recording, sample_rate, within, caller="locate")
