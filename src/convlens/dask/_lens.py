"""gaussian, match_template and fourier_filter for dask arrays: the in-memory function per block.

The in-memory lens runs on each output block's region (its input plus the
halo its outputs need, extended by the boundary rule only at the true edges
of the array) and the halo is cropped off; so every result is the in-memory
function's, whatever it does inside (spatial or spectral path, NaN policy).
"""

from __future__ import annotations

import numpy as np

from .._engine import axis_geometry
from .._engine import fourier_filter as _fourier_filter_np
from .._validation import BOUNDARIES, check_axes, check_choice, check_scalar
from ._blocks import build_graph, halo_axis, pass_axis
from ._conv import check_dask, raise_if_nonfinite, region_dtype


def _lens(name: str):
    """The in-memory lens module ``convlens.<name>``, imported when a block runs.

    The dask adapter wraps lens functions (gaussian, match_template) without
    reimplementing them, so ``convlens.dask`` sits above the lenses in the layer
    table (tools/check_layers.py); the import is lazy to keep ``import
    convlens.dask`` light.
    """
    from .. import filters, matching

    return {"filters": filters, "matching": matching}[name]


def _lens_block(region, extras, module, fname, args, kwargs, crop):
    """Run ``convlens.<module>.<fname>`` on one region and cut off the halo."""
    res = getattr(_lens(module), fname)(region, *args, **kwargs)
    return res[tuple(crop)] if crop is not None else res


def _options(**kwargs):
    """Keyword arguments for the in-memory call, without those left at None (its own default)."""
    return {k: v for k, v in kwargs.items() if v is not None}


def _gaussian_whole_axes(x, sigma, kwargs, smoothed_axes, out_dtype):
    """A Gaussian at least as wide as the array along an axis: every output reads the whole axis.

    A halo of the kernel radius would then be larger than the array (a 1000-sigma
    halo around a 60-sample axis took a minute; sigma = 1e5 ran out of memory),
    while the in-memory function has a closed form whose cost does not grow with
    sigma. So the smoothed axes are put in one chunk each and every block is the
    in-memory function; chunks along the other axes are kept.
    """
    filters = _lens("filters")
    whole = x.rechunk({ax: -1 for ax in smoothed_axes})
    return whole.map_blocks(filters.gaussian, sigma, **kwargs, dtype=out_dtype, meta=np.empty((0,) * x.ndim, out_dtype))


def gaussian_graph(image, sigma, boundary, fill_value, truncate, axes, method, nan_policy, workers):
    """Gaussian smoothing of each block's region, halo ``int(truncate * sigma + 0.5)`` per axis."""
    import dask.array as da
    from dask.base import tokenize

    x = check_dask("image", image)
    boundary = check_choice("boundary", boundary, BOUNDARIES)
    fill_value = check_scalar("fill_value", fill_value)
    norm_axes = check_axes(axes, x.ndim)
    kwargs = _options(
        boundary=boundary,
        fill_value=fill_value,
        truncate=truncate,
        axes=axes,
        method=method,
        nan_policy=nan_policy,
        workers=workers,
    )
    filters = _lens("filters")
    rdt = region_dtype(x.dtype, boundary, fill_value)
    # validates sigma, truncate, method, nan_policy... and gives the output dtype
    out_dtype = filters.gaussian(np.zeros((1,) * x.ndim, rdt), sigma, **kwargs).dtype
    if nan_policy == "raise":  # at the call, as filters.gaussian (one pass over the image)
        raise_if_nonfinite(x, "image", style="lens")
    sigmas = [float(sigma)] * len(norm_axes) if np.ndim(sigma) == 0 else [float(s) for s in sigma]
    radius = {ax: int(float(truncate) * s + 0.5) if s > 0 else 0 for ax, s in zip(norm_axes, sigmas)}
    if any(r >= x.shape[ax] for ax, r in radius.items()):
        return _gaussian_whole_axes(x, sigma, kwargs, [ax for ax, r in radius.items() if r > 0], out_dtype)
    specs, crop = [], []
    for ax in range(x.ndim):
        r = radius.get(ax, 0)
        if r == 0:
            specs.append(pass_axis(x.chunks[ax]))
            crop.append(slice(None))
        else:
            # the region of 'same' with a 2r + 1 window: r samples of halo on each side, cropped after
            g = axis_geometry(x.shape[ax], 2 * r + 1, "same")
            specs.append(halo_axis(x.chunks[ax], g, tuple(x.chunks[ax]), boundary))
            crop.append(slice(r, -r))
    name = "convlens-gaussian-" + tokenize(x.name, sigma, kwargs)
    graph = build_graph(
        x,
        specs,
        _lens_block,
        lambda idx, shape: ["filters", "gaussian", (sigma,), kwargs, crop],
        name=name,
        fill=fill_value if boundary == "constant" else 0,
        region_dtype=rdt,
        out_dtype=out_dtype,
    )
    return da.Array(graph, name, tuple(s.out_chunks for s in specs), dtype=out_dtype)


def _ff_block(block, response, kwargs):
    return _fourier_filter_np(block, response, **kwargs)


def fourier_filter_graph(x, response, axes, boundary, pad, fill_value, nan_policy, workers):
    """Spectral filtering block by block: each block must hold whole filtered axes."""
    x = check_dask("x", x)
    if not (callable(response) or isinstance(response, np.ndarray)):
        raise TypeError(f"response must be a callable or an ndarray; got {type(response).__name__}")
    norm_axes = check_axes(axes, x.ndim)
    split = [ax for ax in norm_axes if len(x.chunks[ax]) > 1]
    if split:
        hint = ", ".join(f"{ax}: -1" for ax in split)
        raise ValueError(
            f"fourier_filter needs x in one chunk along every filtered axis (a spectral response reaches the "
            f"whole axis); x has chunks {x.chunks} and is split along axes {split}. Rechunk first, e.g. "
            f"x.rechunk({{{hint}}}) (chunk along the other axes instead), or, for a kernel of small support, "
            "use convlens.dask.convolve with that kernel"
        )
    kwargs = _options(axes=axes, boundary=boundary, pad=pad, fill_value=fill_value, nan_policy=nan_policy)
    kwargs["workers"] = workers
    # options are validated (and the output dtype found) on a one-sample input with a flat response
    out_dtype = _fourier_filter_np(np.zeros((1,) * x.ndim, x.dtype), lambda *f: 1.0, **kwargs).dtype
    if nan_policy == "raise":  # at the call, as the in-memory function (one pass over x)
        raise_if_nonfinite(x)
    if isinstance(response, np.ndarray):  # the graph keeps its own copy: later changes do not leak in
        response = response.copy()
    return x.map_blocks(_ff_block, response, kwargs, dtype=out_dtype, meta=np.empty((0,) * x.ndim, out_dtype))
