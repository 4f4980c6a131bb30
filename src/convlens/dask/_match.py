"""match_template for dask arrays: the in-memory matching of each output block's region.

A score depends only on the image window under the template at its lag, so a
block of consecutive lags ``l0 .. l1 - 1`` along an axis is the in-memory
'valid' matching of the image samples ``l0 .. l1 + m - 2`` (extended by the
boundary rule at the true edges of the image): the engine's block of a window
of length ``m`` whose first output reads sample ``l0``.  Modes are lag ranges
(``scipy.signal.correlation_lags``); ``lags`` / ``max_lag`` give the range
directly, and lags that are not one increasing run are picked from the scores
of their range, as the in-memory function does.  An image mask travels as a
second array of regions cut by the same blocks (outside the image: valid).
"""

from __future__ import annotations

import numpy as np

from .._engine import AxisGeometry
from .._lens_lags import check_lags
from .._validation import BOUNDARIES, MODES, check_array, check_choice
from ._blocks import build_graph, halo_axis, pass_axis, regular_chunks
from ._conv import check_dask, region_dtype


def _matching():
    """``convlens.matching``, imported when used (the adapter wraps the lens, lazily)."""
    from .. import matching

    return matching


def _lag_geometry(n: int, m: int, first: int, count: int) -> AxisGeometry:
    """Geometry of ``count`` consecutive lags from ``first``: output j reads samples ``first + j .. + m - 1``.

    ``axis_geometry`` covers the three modes; a lag range is the same window with
    its own offset (index in the full correlation of the first output).
    """
    return AxisGeometry(n, m, count, first + m - 1, max(-first, 0), max(first + count + m - 1 - n, 0))


def lag_lists(mode, lags, max_lag, x_sp, t_sp) -> list[np.ndarray]:
    """The lags scored along each spatial axis: the in-memory search's own rule (``lags`` / ``max_lag`` override ``mode``)."""
    return check_lags(mode, lags, max_lag, tuple(x_sp), tuple(t_sp))


def _check_image_mask(image_mask, x, spatial: list[int]):
    """The image mask as a boolean dask array chunked as the image's spatial axes."""
    import dask.array as da

    shape = tuple(x.shape[ax] for ax in spatial)
    chunks = tuple(x.chunks[ax] for ax in spatial)
    m = image_mask if isinstance(image_mask, da.Array) else np.asarray(image_mask)
    if m.dtype.kind not in "biuf":
        raise TypeError(f"image_mask must be a boolean (or 0/1) array; got dtype {m.dtype}")
    if m.shape != shape:
        raise ValueError(f"image_mask must have the image's spatial shape {shape}; got shape {m.shape}")
    if isinstance(m, da.Array):  # its values are checked block by block when they are computed
        m = check_dask("image_mask", m)
        if m.dtype.kind != "b":  # before the regions cast it to bool (0.5 or NaN would read as True)
            m = m.map_blocks(_checked_mask_block, dtype=bool)
        return m.rechunk(chunks)
    if not np.isin(m, (0, 1)).all():
        raise ValueError("image_mask must be a boolean (or 0/1) array (valid / not valid per pixel)")
    if not m.any():
        raise ValueError("image_mask must mark at least one valid pixel (True); it is all False")
    return da.from_array(m.astype(bool), chunks=chunks)  # astype: a copy, later changes do not leak in


def _checked_mask_block(block: np.ndarray) -> np.ndarray:
    """A block of a numeric dask image_mask as bool, refused (as in memory) unless every value is 0 or 1."""
    bad = ~np.isin(block, (0, 1))
    if bad.any():
        raise ValueError(
            "image_mask must be a boolean (or 0/1) array (valid / not valid per pixel); got other values, "
            f"e.g. {block[bad].flat[0]!r}: weights belong in the template mask"
        )
    return block.astype(bool)


def _valid_anywhere(region, mask, channel_axis) -> bool:
    """Whether any pixel of the region is valid (finite in every channel and not masked out)."""
    finite = None
    if region.dtype.kind == "f" and not np.isfinite(region.mean(dtype=np.float64)):  # a cheap NaN/inf detector
        finite = np.isfinite(region)
        if channel_axis is not None:
            finite = finite.all(axis=channel_axis)
    if finite is None:
        return mask is None or bool(mask.any())
    return bool((finite if mask is None else finite & mask).any())


def _match_block(region, extras, template, kwargs, empty, mask=None):
    """In-memory 'valid' matching of one region (runs on a worker).

    A region without one valid pixel (all NaN or masked out) has only placements
    without overlap: they get the in-memory score of such a placement (``empty``),
    where the in-memory function would refuse the region as a whole image.
    """
    matching = _matching()
    if _valid_anywhere(region, mask, kwargs.get("channel_axis")):
        return matching.match_template(region, template, mode="valid", image_mask=mask, **kwargs)
    ch = kwargs.get("channel_axis")
    shape = [n - m + 1 for n, m in zip(region.shape, template.shape)]
    if ch is not None:
        del shape[ch]
    return np.full(shape, empty, dtype=np.asarray(empty).dtype)


def _region_block(region, extras):
    return region


def _empty_score(template, rdt, kwargs, spatial_t, ch):
    """The in-memory score (and dtype) of a placement that overlaps no valid pixel.

    Probe: an image one sample longer than the template per axis whose only valid
    pixel is the last corner: the placement at lag 0 does not reach it.
    """
    shape = [m + 1 for m in template.shape]
    if ch is not None:
        shape[ch] = template.shape[ch]
    corner = np.zeros([m + 1 for m in spatial_t], bool)
    corner[(-1,) * corner.ndim] = True
    probe = _matching().match_template(np.zeros(shape, rdt), template, mode="valid", image_mask=corner, **kwargs)
    return probe[(0,) * probe.ndim]


def _normal_axis(channel_axis, ndim: int) -> int | None:
    """channel_axis as a non-negative axis, None if absent or invalid (the in-memory check then names it)."""
    ok = isinstance(channel_axis, (int, np.integer)) and not isinstance(channel_axis, bool)
    return int(channel_axis) % ndim if ok and -ndim <= channel_axis < ndim else None


def _plan(x, template, kwargs, mode, boundary, fill_value):
    """Every option checked (by the in-memory function, on a probe of the template's size): output dtype, rdt, ch."""
    if template.ndim != x.ndim:
        raise ValueError(
            f"template must have as many dimensions as image ({x.ndim}); got shape {template.shape} "
            "(with channels, both have the channel axis: give channel_axis)"
        )
    check_choice("mode", mode, MODES)
    check_choice("boundary", boundary, BOUNDARIES)
    real = isinstance(fill_value, (int, float, np.integer, np.floating)) and not isinstance(fill_value, bool)
    rdt = region_dtype(x.dtype, boundary, fill_value if real else 0)
    ch = _normal_axis(kwargs["channel_axis"], x.ndim)
    probe = list(template.shape)
    if ch is not None:
        probe[ch] = x.shape[ch]
    opts = dict(kwargs, mode="valid", boundary=boundary, fill_value=fill_value)
    out_dtype = _matching().match_template(np.zeros(probe, rdt), template, **opts).dtype
    return out_dtype, rdt, ch


def match_template_graph(image, template, image_mask, mode, lags, max_lag, boundary, fill_value, kwargs):
    """Template matching of each block's region in 'valid' mode (the region holds its placements).

    ``kwargs``: the options passed on to every block (method, mask, channel_axis,
    min_overlap, workers).
    """
    import dask.array as da
    from dask.base import tokenize

    x = check_dask("image", image)
    template = np.array(check_array("template", template, allow_complex=False), copy=True)
    kwargs = dict(kwargs, mask=None if kwargs["mask"] is None else np.array(kwargs["mask"], copy=True))
    out_dtype, rdt, ch = _plan(x, template, kwargs, mode, boundary, fill_value)
    kwargs["channel_axis"] = ch
    spatial = [ax for ax in range(x.ndim) if ax != ch]
    x_sp, t_sp = [x.shape[ax] for ax in spatial], [template.shape[ax] for ax in spatial]
    _check_fits(mode, lags, max_lag, x_sp, t_sp, template, x)
    per_axis = lag_lists(mode, lags, max_lag, x_sp, t_sp)
    if ch is not None:
        x = x.rechunk({ch: -1})  # channels are summed: each block holds all of them
    specs = _specs(x, ch, spatial, per_axis, t_sp, mode, lags is None and max_lag is None, boundary)
    name = "convlens-match_template-" + tokenize(x.name, template, per_axis, boundary, fill_value, kwargs, image_mask)
    empty = _empty_score(template, rdt, kwargs, t_sp, ch)
    deps = []
    if image_mask is not None:
        deps = [_mask_regions(_check_image_mask(image_mask, x, spatial), [specs[ax] for ax in spatial], name)]

    def args_of(idx, shape):  # template and options (with its mask) are stored once in the graph
        extra = [(deps[0].name, *(idx[ax] for ax in spatial))] if deps else []
        return [f"{name}-template", f"{name}-options", empty, *extra]

    graph = build_graph(
        x, specs, _match_block, args_of, name=name, fill=fill_value if boundary == "constant" else 0,
        region_dtype=rdt, out_dtype=out_dtype, data={f"{name}-template": template, f"{name}-options": kwargs},
        drop=() if ch is None else (ch,), extra_deps=deps,
    )  # fmt: skip
    return _pick(da.Array(graph, name, tuple(specs[ax].out_chunks for ax in spatial), dtype=out_dtype), per_axis)


def _check_fits(mode, lags, max_lag, x_sp, t_sp, template, x) -> None:
    """mode='valid' (without lags) needs the template inside the image; the message names both."""
    too_big = [ax for ax, (n, m) in enumerate(zip(x_sp, t_sp)) if m > n]
    if mode == "valid" and lags is None and max_lag is None and too_big:
        ax = too_big[0]
        raise ValueError(
            f"template is larger than image along axis {ax} ({t_sp[ax]} > {x_sp[ax]}): template shape "
            f"{template.shape}, image shape {x.shape}; in mode='valid' it must fit inside the image (use "
            "mode='same' or 'full' to score partial overlaps)"
        )


def _specs(x, ch, spatial, per_axis, t_sp, mode, by_mode, boundary):
    """One AxisSpec per image axis: the lag range's blocks on spatial axes, the channel axis whole."""
    specs = [None] * x.ndim
    if ch is not None:
        specs[ch] = pass_axis(x.chunks[ch])
    keep_chunks = mode == "same" and by_mode  # one score per pixel: the image's chunks
    for ax, v, m in zip(spatial, per_axis, t_sp):
        first, span = int(v.min()), int(v.max() - v.min()) + 1
        out = tuple(x.chunks[ax]) if keep_chunks else regular_chunks(x.chunks[ax], span)
        specs[ax] = halo_axis(x.chunks[ax], _lag_geometry(x.shape[ax], m, first, span), out, boundary)
    return specs


def _mask_regions(mask, specs, name):
    """A dask array whose blocks are the image mask's regions (valid outside the image)."""
    import dask.array as da

    rname = f"{name}-image_mask"
    graph = build_graph(
        mask, specs, _region_block, lambda idx, shape: [], name=rname, fill=True, region_dtype=bool, out_dtype=bool
    )
    return da.Array(graph, rname, tuple(tuple(s.region) for s in specs), dtype=bool)


def _pick(out, per_axis):
    """The requested lags out of the scores of their range (lags that are not one increasing run)."""
    for ax, v in enumerate(per_axis):
        if len(v) > 1 and not np.all(np.diff(v) == 1):
            sel = [slice(None)] * out.ndim
            sel[ax] = v - v.min()
            out = out[tuple(sel)]
    return out
