"""``match_template``: score every placement of a template in an image (the one-shot entry point)."""

from __future__ import annotations

import numpy as np

from .._validation import user_function
from ._template import Template

__all__ = ["match_template"]


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
    mask : array_like, optional
        Template mask (template's spatial shape): booleans (pixels marked False are
        ignored) or non-negative weights, with OpenCV's semantics (``cv2.matchTemplate``
        with a float mask: products weighted by ``mask**2``, means by ``mask``).
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
        Threads (default: every available core; negative values count back from
        the cores, ``-1`` = all).

    Returns
    -------
    ndarray
        Scores, one per placement: shape ``M - m + 1, ...`` ('valid'), ``M, ...``
        ('same'), ``M + m - 1, ...`` ('full') or the number of lags per axis.
        The image's dtype for float16/float32/float64 images (native byte order;
        float16 is computed in float32), float64 for integer and bool images.
        'zncc' and 'ncc' lie in [-1, 1]; flat windows (no variation) score 0,
        never NaN ('sqdiff_normed' scores an all-zero window ``+inf``).  Each
        score's accuracy depends only on its own window: windows whose contrast
        is far below the rest of the image are recomputed locally.

    Raises
    ------
    ValueError
        A template larger than the image in mode 'valid', different numbers of
        dimensions or channels, an empty template, a constant template for 'zncc',
        masks of the wrong shape, with negative weights or no valid pixel, an
        image mask that is not boolean, unknown options.
    TypeError
        Non-numeric, complex or ``longdouble`` data, wrongly typed options.
    InsufficientMemoryError
        Scores and working strips that would not fit in memory (checked before
        any work, naming ``match_template``).

    See Also
    --------
    Template : prepare a template once for many searches.
    find_peaks : the best matches in a score map.

    Notes
    -----
    The correlation ``sum I*T`` of every placement is one FFT correlation through
    the engine, in strips that are the engine's overlap-save blocks (float32 data
    stay float32, after subtracting each strip's mean unless it is negligible),
    and the local sums ``sum I`` and ``sum I**2`` are running sums in float64 (Lewis
    1995), so 'zncc' is ``(sum I T - sum I * mean T) / sqrt(var-sum I * var-sum T)``
    without a loop over placements.  With masks the sums are masked correlations
    through the engine (Padfield 2012).  Windows whose own variance is close to
    the round-off of these global sums are recomputed in tiles with their own
    offset, then directly (see ``docs/matching.md``).

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
    with user_function("match_template"):
        tpl = Template(template, method=method, mask=mask, channel_axis=channel_axis, workers=workers)
    opts = (mode, image_mask, lags, max_lag, boundary, fill_value, min_overlap)
    return tpl._match(image, *opts, caller="match_template")
