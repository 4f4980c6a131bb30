"""convolve / correlate for dask arrays: the engine per output block, on its input region plus halo."""

from __future__ import annotations

import numpy as np

from .._engine import Convolver
from .._engine import convolve as _convolve_np
from .._validation import check_array, check_workers
from ._blocks import AxisSpec, build_graph, halo_axis, pass_axis, regular_chunks


def check_dask(name: str, x):
    """x must be a dask array of known chunk sizes with at least one dimension."""
    import dask.array as da

    if not isinstance(x, da.Array):
        raise TypeError(
            f"{name} must be a dask.array.Array; got {type(x).__name__} (wrap a NumPy array with "
            f"dask.array.from_array({name}, chunks=...), or use the in-memory convlens function)"
        )
    if x.ndim == 0:
        raise ValueError(f"{name} must have at least one dimension; got a 0-d dask array")
    if 0 in x.shape:  # as in memory (not a message about the plan's 'shape')
        raise ValueError(f"{name} must not be empty; got shape {x.shape}")
    for ax, c in enumerate(x.chunks):
        if any(np.isnan(s) for s in c):
            raise ValueError(
                f"{name} has unknown (NaN) chunk sizes along axis {ax} (e.g. after boolean indexing); "
                f"call {name}.compute_chunk_sizes() or {name}.rechunk(...) with explicit sizes first"
            )
    return x


def _first_nonfinite(bad, shape, block_info=None):
    """C-order flat index in the whole array of a block's first True sample (``prod(shape)``: none)."""
    out = np.full((1,) * bad.ndim, int(np.prod(shape, dtype=np.int64)), dtype=np.int64)
    if bad.size and bad.any():
        local = np.unravel_index(int(np.argmax(bad)), bad.shape)
        start = [lo for lo, _ in block_info[0]["array-location"]]
        out[...] = np.ravel_multi_index(tuple(i + s for i, s in zip(local, start)), shape)
    return out


def raise_if_nonfinite(x, name: str = "x", *, style: str = "engine") -> None:
    """Raise the in-memory function's ValueError if the dask array x holds NaN or inf (nan_policy='raise').

    One pass over x, computed now (as the in-memory functions raise at the call):
    per chunk the number of non-finite values and the global C-order position of
    its first one, reduced to a count and the first position in the whole array.
    ``style``: the wording of the engine (convolve, correlate, fourier_filter) or
    of the lenses' ``check_finite`` (gaussian).
    """
    if x.dtype.kind not in "fc":
        return
    import dask
    import dask.array as da

    bad = ~da.isfinite(x)
    per_block = bad.map_blocks(_first_nonfinite, x.shape, chunks=tuple((1,) * len(c) for c in x.chunks), dtype=np.int64)
    count, first = dask.compute(bad.sum(), per_block.min())
    if int(count) == 0:
        return
    where = tuple(int(i) for i in np.unravel_index(int(first), x.shape))
    if style == "engine":
        msg = f"{name} contains {int(count)} non-finite value(s) (NaN or inf); the first is at index {where} and "
        raise ValueError(msg + "nan_policy='raise'; use nan_policy='propagate' or 'interpolate' to accept them")
    at = where[0] if len(where) == 1 else where
    raise ValueError(
        f"{name} must be finite; got {int(count)} NaN or inf value(s), the first at index {at}; "
        "use nan_policy='propagate' or 'interpolate' to accept them"
    )


def region_dtype(x_dtype, boundary: str, fill_value) -> np.dtype:
    """dtype of an input region: x's, promoted with a non-zero constant fill as NumPy does."""
    if boundary == "constant" and fill_value != 0:
        return np.result_type(np.dtype(x_dtype), fill_value)
    return np.dtype(x_dtype)


def halo_specs(x, geometry, boundary: str, mode: str, k_shape) -> list[AxisSpec]:
    """One AxisSpec per axis of x: halo axes from the geometry, the others passed through."""
    specs = []
    for ax in range(x.ndim):
        if ax in geometry.axes:
            g = geometry.per_axis[geometry.axes.index(ax)]
            out = tuple(x.chunks[ax]) if mode == "same" else regular_chunks(x.chunks[ax], g.out_len)
            specs.append(halo_axis(x.chunks[ax], g, out, boundary))
        elif x.shape[ax] == 1 and k_shape[ax] > 1:  # x broadcasts against a stack of kernels
            specs.append(pass_axis(x.chunks[ax], out_size=k_shape[ax]))
        else:
            specs.append(pass_axis(x.chunks[ax]))
    return specs


def _kernel_longer_than_x(x, k, axes, fname: str) -> ValueError | None:
    """The error to give when a block cannot be assembled because the kernel outgrows x itself.

    Rechunking cannot help there (x is shorter than the kernel along that axis, so
    its halo wraps or mirrors around the whole array many times); such an x is
    small along that axis, and the in-memory function is the right tool.
    """
    for ax in axes:
        if k.shape[ax] > x.shape[ax]:
            return ValueError(
                f"the {'template' if fname == 'correlate' else 'kernel'} is longer than x along axis {ax} "
                f"({k.shape[ax]} > {x.shape[ax]}), so each block's halo would cover x many times over; "
                f"compute it in memory instead: convlens.{fname}(x.compute(), ...), or use boundary='constant'"
            )
    return None


def _conv_block(region, extras, plan):
    """Valid convolution of one region by its shape's plan (runs on a worker)."""
    return plan(region)


def _validated(x, kernel, mode, axes, boundary, fill_value, method, nan_policy, workers, correlate):
    """(x, in-memory plan of the whole problem, kernel to convolve with): every option checked."""
    x = check_dask("x", x)
    kernel = check_array("template" if correlate else "kernel", kernel)
    if kernel.ndim > x.ndim:
        raise ValueError(
            f"{'template' if correlate else 'kernel'} has more dimensions ({kernel.ndim}) than x ({x.ndim}); "
            "give x the missing axes (e.g. x[None]) or drop the kernel's size-1 axes"
        )
    # The in-memory plan validates every option and gives the geometry; nothing is computed yet.
    check = Convolver(
        kernel,
        x.shape,
        mode,
        axes=axes,
        boundary=boundary,
        fill_value=fill_value,
        method=method,
        nan_policy=nan_policy,
        workers=check_workers(workers),
    )
    k = check.kernel
    if correlate:  # correlation = convolution with the reversed (and conjugated) template
        k = np.conj(np.flip(k, axis=check.axes)) if k.dtype.kind == "c" else np.flip(k, axis=check.axes)
        k = np.ascontiguousarray(k)
    if nan_policy == "raise" and boundary == "constant" and not np.isfinite(check.fill_value):
        raise ValueError(
            f"fill_value={fill_value!r} is non-finite and nan_policy='raise'; use a finite fill_value "
            "or nan_policy='propagate' / 'interpolate'"
        )
    return x, check, k


def dask_convolve(x, kernel, mode, axes, boundary, fill_value, method, nan_policy, workers, *, correlate, fname):
    """Validate -> geometry -> graph of per-block valid convolutions of the extended regions."""
    import dask.array as da
    from dask.base import tokenize

    x, check, k = _validated(x, kernel, mode, axes, boundary, fill_value, method, nan_policy, workers, correlate)
    if nan_policy == "raise":  # at the call, as the in-memory function (one pass over x)
        raise_if_nonfinite(x)
    geometry, axes, workers = check.geometry, check.axes, check.workers
    rdt = region_dtype(x.dtype, boundary, check.fill_value)
    # the output dtype, from the engine itself on a one-output problem of the same dtypes
    tiny = tuple(k.shape[ax] if ax in axes else 1 for ax in range(x.ndim))
    # (fft: a direct sum of one output with a large kernel goes through ndimage, which then needs
    # memory for its offset tables in proportion to kernel size squared)
    out_dtype = _convolve_np(np.zeros(tiny, rdt), k, "valid", axes=axes, method="fft", workers=1).dtype
    try:
        specs = halo_specs(x, geometry, boundary, mode, k.shape)
    except ValueError as exc:
        raise _kernel_longer_than_x(x, k, axes, fname) or exc from None
    name = f"convlens-{fname}-" + tokenize(x.name, k, mode, axes, boundary, fill_value, method, nan_policy, workers)
    plans: dict = {}  # (region shape, kernel slice) -> graph key of its plan
    plan_data: dict = {}  # graph key -> the plan, stored once in the graph (filled while blocks are laid out)

    def plan_for(out_idx, shape):
        """The key of this block's plan: one Convolver per distinct (region shape, kernel slice)."""
        # a stack of kernels along a non-convolved axis: each block uses its own slice of them
        ksl = tuple(
            specs[ax].extra[i] if ax not in axes and k.shape[ax] > 1 else slice(None) for ax, i in enumerate(out_idx)
        )
        key = (shape, tuple((s.start, s.stop) for s in ksl))
        if key not in plans:
            plans[key] = (f"{name}-plan", len(plans))
            plan_data[plans[key]] = Convolver(
                k[ksl], shape, "valid", axes=axes, method=method, nan_policy=nan_policy, workers=workers
            )
        return [plans[key]]

    try:
        graph = build_graph(
            x,
            specs,
            _conv_block,
            plan_for,
            name=name,
            fill=check.fill_value if boundary == "constant" else 0,
            region_dtype=rdt,
            out_dtype=out_dtype,
            data=plan_data,
        )
    except ValueError as exc:
        raise _kernel_longer_than_x(x, k, axes, fname) or exc from None
    return da.Array(graph, name, tuple(s.out_chunks for s in specs), dtype=out_dtype)
