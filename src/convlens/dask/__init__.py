"""convlens on Dask arrays: FFT convolution of chunked, out-of-core and distributed data.

Each function takes a ``dask.array.Array`` with any chunking and returns a lazy
``dask.array.Array`` equal (to round-off) to the in-memory convlens function of
the same name on the whole array: same modes, axes, boundaries, ``nan_policy``
and dtypes.  Output block ``[o0, o1)`` along a convolved axis is the *valid*
convolution of the input region ``[o0 - before, o1 + K - 1 - before)`` of x
extended by the boundary rule (overlap-save): the halo of ``K - 1`` samples comes
from the neighbouring chunks (however many the kernel spans), and the boundary
rule is applied only at the true edges of the array ('wrap' takes its halo from
the far end).  Each worker builds one engine plan per distinct block shape and
reuses it for every block of that shape.  Nothing gathers the whole array: a
block reads only its region, and only the halo slices travel between workers.

Runs on any Dask scheduler: the default threaded one, or a
``distributed.Client`` (local or multi-machine).  ``workers`` is the number of
threads *each block* uses (default 1: the Dask scheduler provides the
parallelism).

``fourier_filter`` applies a spectral response that, in general, reaches the
whole axis: it needs one chunk along each filtered axis (and says how to
rechunk otherwise); it parallelizes over the other axes.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._conv import dask_convolve
from ._lens import fourier_filter_graph, gaussian_graph
from ._match import match_template_graph

__all__ = ["convolve", "correlate", "fourier_filter", "gaussian", "match_template"]


def convolve(
    x,
    kernel,
    mode: str = "full",
    *,
    axes=None,
    boundary: str = "constant",
    fill_value: float | complex = 0,
    method: str = "auto",
    nan_policy: str = "propagate",
    workers: int | None = 1,
):
    """N-d convolution of a dask array, block by block with halos (lazy).

    Parameters
    ----------
    x : dask.array.Array
        Input, any chunking (chunks smaller than the kernel, ragged last chunks).
    kernel : array_like
        In-memory kernel, as in :func:`convlens.convolve`.
    mode, axes, boundary, fill_value, method
        As in :func:`convlens.convolve`.  ``method`` is chosen per block shape.
    nan_policy : {'propagate', 'raise', 'interpolate'}, optional
        As in :func:`convlens.convolve`.  'raise' checks x **at the call**, as the
        in-memory function does: one pass over x (a reduction computed on the
        current scheduler) giving the count and the position in x of the first
        NaN or inf, in the in-memory function's words.  Not needed for integer x.
    workers : int, optional
        Threads per block (default 1; ``None``: every core, for a single block).

    Returns
    -------
    dask.array.Array
        Lazy result.  'same' keeps x's chunks; 'full' and 'valid' use chunks as
        large as x's largest along each convolved axis.

    Raises
    ------
    TypeError
        x is not a dask array, or a wrongly typed option.
    ValueError
        Unknown (NaN) chunk sizes, a kernel with more dimensions than x, chunks
        so much smaller than the kernel that a block would gather thousands of
        chunks, a NaN or inf in x with ``nan_policy='raise'`` (at the call), and
        every error of :func:`convlens.convolve`.

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> import convlens.dask as cld
    >>> x = da.from_array(np.arange(10.0), chunks=3)
    >>> y = cld.convolve(x, [1.0, 1.0, 1.0], "same", boundary="wrap")
    >>> y.chunks
    ((3, 3, 3, 1),)
    >>> y.compute()
    array([10.,  3.,  6.,  9., 12., 15., 18., 21., 24., 17.])
    """
    return dask_convolve(
        x, kernel, mode, axes, boundary, fill_value, method, nan_policy, workers, correlate=False, fname="convolve"
    )


def correlate(
    x,
    template,
    mode: str = "full",
    *,
    axes=None,
    boundary: str = "constant",
    fill_value: float | complex = 0,
    method: str = "auto",
    nan_policy: str = "propagate",
    workers: int | None = 1,
):
    """N-d cross-correlation of a dask array (lags as :func:`convlens.correlate`), lazy.

    Parameters and results as :func:`convolve`; ``correlate(x, t)`` is
    ``convolve(x, conj(t reversed along the convolved axes))``.

    Examples
    --------
    >>> import dask.array as da
    >>> import convlens.dask as cld
    >>> cld.correlate(da.from_array([0, 0, 1, 2, 0], chunks=2), [1, 2], "valid").compute()
    array([0, 2, 5, 2])
    """
    return dask_convolve(
        x, template, mode, axes, boundary, fill_value, method, nan_policy, workers, correlate=True, fname="correlate"
    )


def gaussian(
    image,
    sigma,
    *,
    boundary: str = "symmetric",
    fill_value: float = 0,
    truncate: float = 4.0,
    axes=None,
    method: str = "auto",
    nan_policy: str | None = None,
    workers: int | None = 1,
):
    """Gaussian smoothing of a dask array, equal to :func:`convlens.filters.gaussian` (lazy).

    The halo along each smoothed axis is the kernel radius
    ``int(truncate * sigma + 0.5)``; x keeps its chunks.

    Parameters
    ----------
    image : dask.array.Array
        Input, any chunking.
    sigma, boundary, fill_value, truncate, axes, method
        As in :func:`convlens.filters.gaussian`.
    nan_policy : str, optional
        Passed on to :func:`convlens.filters.gaussian` when given (its default
        otherwise).  'raise' checks the image at the call (one pass over it).
    workers : int, optional
        Threads per block (default 1).

    Returns
    -------
    dask.array.Array

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> import convlens.dask as cld
    >>> x = np.zeros(9); x[4] = 1.0
    >>> np.round(cld.gaussian(da.from_array(x, chunks=4), 1.0).compute(), 4).tolist()
    [0.0001, 0.0044, 0.054, 0.242, 0.3989, 0.242, 0.054, 0.0044, 0.0001]
    """
    return gaussian_graph(image, sigma, boundary, fill_value, truncate, axes, method, nan_policy, workers)


def fourier_filter(
    x,
    response: Callable[..., np.ndarray] | np.ndarray,
    *,
    axes=None,
    boundary: str = "wrap",
    pad=0,
    fill_value: float = 0,
    nan_policy: str | None = None,
    workers: int | None = 1,
):
    """:func:`convlens.fourier_filter` on each block of a dask array (lazy).

    A frequency response is in general not compactly supported in space, so
    each block must hold the whole of every filtered axis: chunk x along the
    other axes (e.g. a stack of images chunked along the stack axis).  A
    ValueError says how to rechunk otherwise.  An array ``response`` must
    broadcast against each block's spectrum (size 1 along unfiltered axes).

    Parameters
    ----------
    x : dask.array.Array
        Input, one chunk along each filtered axis.
    response, axes, boundary, pad, fill_value
        As in :func:`convlens.fourier_filter`.
    nan_policy : str, optional
        Passed on when given.  'raise' checks x at the call (one pass over it).
    workers : int, optional
        FFT threads per block (default 1).

    Returns
    -------
    dask.array.Array

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> import convlens.dask as cld
    >>> x = da.zeros((4, 8), chunks=(1, 8)); x[:, 2] = 1.0
    >>> y = cld.fourier_filter(x, lambda f: (1 + 2 * np.cos(2 * np.pi * f)) / 3, axes=1)
    >>> y[0].compute().round(4)
    array([0.    , 0.3333, 0.3333, 0.3333, 0.    , 0.    , 0.    , 0.    ])
    """
    return fourier_filter_graph(x, response, axes, boundary, pad, fill_value, nan_policy, workers)


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
    workers: int | None = 1,
):
    """Template matching over a dask array, equal to :func:`convlens.matching.match_template` (lazy).

    Every placement's score depends only on the image window under the
    template, so each output block is the in-memory 'valid' matching of its
    region (halo: template size - 1 per axis).  Every option of the in-memory
    function is offered, with the same meaning.

    Parameters
    ----------
    image : dask.array.Array
        Image (any chunking, real values; NaN pixels are excluded from the scores).
    template : array_like
        In-memory template, same number of dimensions as image.
    method, mask, mode, boundary, fill_value, min_overlap
        As in :func:`convlens.matching.match_template`.
    image_mask : array_like or dask.array.Array of bool, optional
        As in the in-memory function (image's spatial shape); a dask array is
        rechunked like the image, and its values are checked when its blocks run.
    lags, max_lag : optional
        As in the in-memory function: only the lag range is blocked and
        computed; lags that are not one increasing run are taken from the scores
        of their range.  The output is chunked like x's largest chunks.
    channel_axis : int, optional
        As in the in-memory function; the image is rechunked to one chunk along
        it (scores sum over the channels) and the output has no channel axis.
    workers : int, optional
        Threads per block (default 1).

    Returns
    -------
    dask.array.Array

    Notes
    -----
    A block whose region has no valid pixel at all (NaN or masked out) scores
    every placement as the in-memory function scores a placement without
    overlap; an image without any valid pixel therefore gives such scores
    everywhere instead of the in-memory ``ValueError`` (finding that out would
    take a pass over the image).

    Examples
    --------
    >>> import dask.array as da
    >>> import numpy as np
    >>> import convlens.dask as cld
    >>> img = np.random.default_rng(0).random((40, 40))
    >>> scores = cld.match_template(da.from_array(img, chunks=16), img[10:18, 25:31])
    >>> np.unravel_index(int(scores.argmax().compute()), scores.shape)
    (np.int64(10), np.int64(25))
    >>> near = cld.match_template(da.from_array(img, chunks=16), img[10:18, 25:31], lags=(range(8, 13), range(20, 30)))
    >>> near.shape, np.unravel_index(int(near.argmax().compute()), near.shape)
    ((5, 10), (np.int64(2), np.int64(5)))
    """
    kwargs = dict(method=method, mask=mask, channel_axis=channel_axis, min_overlap=min_overlap, workers=workers)
    return match_template_graph(image, template, image_mask, mode, lags, max_lag, boundary, fill_value, kwargs)
