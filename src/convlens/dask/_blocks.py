"""Overlap-save over dask chunks: each output block reads the input region its outputs need.

The blocking itself is the engine's one mechanism (``convlens._engine``):
per convolved axis, :func:`chunk_blocks` gives each output chunk its
:class:`Block` -- the x indices ``lo .. hi - 1`` it reads, negative or ``>= n``
in the boundary extension -- and :func:`extended_indices` maps those to source
indices of x by ``numpy.pad``'s rule (``-1``: the constant fill).  What is
Dask's own is the bookkeeping around it: the source indices are cut into
*pieces*, one per input chunk they fall in (a wrap halo comes from the far end
of the array, a reflect halo from the chunk at the edge), so a block depends
only on the chunks it needs, however small the chunks or large the window.
Each piece that is not a whole chunk is sliced by its own task, which runs
where the chunk lives: only the halo travels between workers, never a
neighbour's whole chunk.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from .._engine import AxisGeometry, Block, chunk_blocks, extended_indices

# A block that would need more input pieces than this is refused (the chunks are far
# smaller than the window: one task would gather thousands of chunks).
MAX_PIECES = 1000


@dataclass
class AxisSpec:
    """How one axis of x maps to the output: output chunks and, per output chunk, its input pieces.

    A piece is ``(chunk, sel)``: ``sel`` (a slice or an index array) taken from input
    chunk ``chunk``, or ``(None, length)``: ``length`` samples of the constant fill.
    ``extra`` holds one item per output chunk for the block function (its range of
    outputs, e.g. to slice a batch kernel); ``region`` the length of its input region.
    An empty output chunk has no pieces (``None``): its block is an empty array.
    """

    out_chunks: tuple[int, ...]
    pieces: list[list[tuple] | None]
    extra: list = field(default_factory=list)
    region: list = field(default_factory=list)  # region length per output chunk


def _piece_selection(local: np.ndarray):
    """A slice when the local indices run with step +1 or -1 (no copy), else the index array."""
    if local.size == 1:
        return slice(int(local[0]), int(local[0]) + 1)
    step = int(local[1] - local[0])
    if step in (1, -1) and np.all(np.diff(local) == step):
        stop = int(local[-1]) + step
        return slice(int(local[0]), None if stop < 0 else stop, step)
    return local


def too_many_pieces(n_pieces: int, chunks) -> ValueError:
    return ValueError(
        f"an output block would gather {n_pieces} input pieces (more than {MAX_PIECES}): the chunks of x "
        f"{chunks} are far smaller than the kernel; rechunk x to chunks at least as large as the kernel, "
        "e.g. x.rechunk('auto') or x.rechunk(kernel.shape)"
    )


def split_pieces(src: np.ndarray, starts: np.ndarray) -> list[tuple]:
    """Cut source indices into runs that lie in one input chunk (or in the fill)."""
    if src.size == 0:
        return []
    chunk = np.where(src < 0, -1, np.searchsorted(starts, src, side="right") - 1)
    cuts = np.flatnonzero(np.diff(chunk)) + 1
    if cuts.size >= MAX_PIECES:
        raise too_many_pieces(cuts.size + 1, f"({starts.size} along this axis)")
    pieces = []
    for run_src, run_chunk in zip(np.split(src, cuts), np.split(chunk, cuts)):
        c = int(run_chunk[0])
        if c < 0:
            pieces.append((None, int(run_src.size)))
        else:
            pieces.append((c, _piece_selection(run_src - starts[c])))
    return pieces


def axis_blocks(g: AxisGeometry, out_chunks) -> list[Block | None]:
    """The engine's blocks for these output chunks; ``None`` for an empty chunk.

    Dask arrays may have empty chunks (after slicing, or given explicitly); the
    engine's :func:`chunk_blocks` takes positive sizes only, so it gets the
    non-empty ones and the empty ones are put back in place.
    """
    blocks = iter(chunk_blocks(g, tuple(c for c in out_chunks if c > 0)))
    return [next(blocks) if c > 0 else None for c in out_chunks]


def halo_axis(in_chunks, g: AxisGeometry, out_chunks, boundary: str) -> AxisSpec:
    """AxisSpec of a convolved axis: each output chunk reads its block's x indices ``lo .. hi - 1``."""
    starts = np.concatenate([[0], np.cumsum(in_chunks)[:-1]]).astype(np.int64)
    # searchsorted needs strictly increasing starts: drop empty chunks from the lookup
    keep = np.flatnonzero(np.asarray(in_chunks) > 0)
    spec = AxisSpec(tuple(out_chunks), [])
    o0 = 0
    for c, blk in zip(out_chunks, axis_blocks(g, out_chunks)):
        spec.extra.append(slice(o0, o0 + c))
        o0 += c
        if blk is None:
            spec.pieces.append(None)
            spec.region.append(0)
            continue
        found = split_pieces(extended_indices(blk.lo, blk.hi, g.n, boundary), starts[keep])
        spec.pieces.append([_whole(int(keep[p]), s, in_chunks) if p is not None else (None, s) for p, s in found])
        spec.region.append(blk.hi - blk.lo)
    return spec


def _whole(c: int, sel, in_chunks) -> tuple:
    """``slice(None)`` for a piece that is a whole chunk in order (its block uses the chunk as is)."""
    if isinstance(sel, slice) and sel.step in (None, 1) and sel.indices(in_chunks[c]) == (0, in_chunks[c], 1):
        return (c, slice(None))
    return (c, sel)


def pass_axis(in_chunks, out_size: int | None = None) -> AxisSpec:
    """AxisSpec of an axis that is not convolved: the output keeps the input chunks.

    ``out_size`` set: x has size 1 there and broadcasts against a larger kernel.
    """
    if out_size is not None:
        return AxisSpec((out_size,), [[(0, slice(None))]], [slice(None)], [1])
    bounds = np.concatenate([[0], np.cumsum(in_chunks)]).astype(int)
    return AxisSpec(
        tuple(in_chunks),
        [[(j, slice(None))] for j in range(len(in_chunks))],
        [slice(int(bounds[j]), int(bounds[j + 1])) for j in range(len(in_chunks))],
        [int(c) for c in in_chunks],
    )


def regular_chunks(in_chunks, out_len: int) -> tuple[int, ...]:
    """Output chunks for 'full'/'valid' (length changes): as large as the largest input chunk."""
    size = max(1, max(in_chunks, default=1))
    full, rest = divmod(out_len, size)
    return (size,) * full + ((rest,) if rest else ())


def _take(chunk: np.ndarray, sels: tuple) -> np.ndarray:
    """Cut one piece out of an input chunk (runs on the worker that holds the chunk)."""
    basic = tuple(s if isinstance(s, slice) else slice(None) for s in sels)
    out = chunk[basic]
    for ax, s in enumerate(sels):
        if not isinstance(s, slice):
            out = np.take(out, s, axis=ax)
    return out


def _fill(shape: tuple[int, ...], value, dtype) -> np.ndarray:
    return np.full(shape, value, dtype=dtype)


def _empty(shape: tuple[int, ...], dtype) -> np.ndarray:
    return np.empty(shape, dtype=dtype)


def _run_block(nested, dtype, extras, func, args):
    """Assemble the region from its pieces (in the region dtype) and run the block function on it."""
    # a region of whole chunks only would otherwise keep x's dtype where the others take the fill's
    region = np.block(nested).astype(dtype, copy=False)
    return func(region, extras, *args)


def _sel_length(sel, size: int) -> int:
    return len(range(*sel.indices(size))) if isinstance(sel, slice) else len(sel)


def build_graph(
    x, specs: list[AxisSpec], func, args_of, *, name, fill, region_dtype, out_dtype, data=None, drop=(), extra_deps=()
):
    """Dask graph of the output: one slicing task per partial piece, one task per output block.

    Block ``idx`` runs ``func(region, extras, *args_of(idx, region_shape))`` on its
    assembled region (x's dtype promoted with the fill), ``extras`` holding one
    ``AxisSpec.extra`` item per axis.  ``args_of`` may name keys of ``data``
    (objects stored once in the graph: a kernel, the plans), filled in after the
    blocks are laid out, or of ``extra_deps`` (other dask collections).  Axes in
    ``drop`` (one chunk each) are reduced away by ``func`` (a channel axis) and are
    not in the output's keys.
    """
    from dask.highlevelgraph import HighLevelGraph

    dsk = {}
    slab_name = f"{name}-piece"
    for out_idx in itertools.product(*(range(len(s.out_chunks)) for s in specs)):
        key = (name, *(i for ax, i in enumerate(out_idx) if ax not in drop))
        axis_pieces = [s.pieces[i] for s, i in zip(specs, out_idx)]
        if any(p is None for p in axis_pieces):  # an empty output chunk
            shape = tuple(s.out_chunks[i] for ax, (s, i) in enumerate(zip(specs, out_idx)) if ax not in drop)
            dsk[key] = (_empty, shape, out_dtype)
            continue
        n_pieces = math.prod(len(p) for p in axis_pieces)
        if n_pieces > MAX_PIECES:
            raise too_many_pieces(n_pieces, x.chunks)
        nested = _nest(x, axis_pieces, out_idx, dsk, slab_name, fill, region_dtype)
        extras = tuple(s.extra[i] for s, i in zip(specs, out_idx))
        shape = tuple(s.region[i] for s, i in zip(specs, out_idx))
        dsk[key] = (_run_block, nested, region_dtype, extras, func, list(args_of(out_idx, shape)))
    dsk.update(data or {})
    return HighLevelGraph.from_collections(name, dsk, dependencies=[x, *extra_deps])


def _nest(x, axis_pieces, out_idx, dsk, slab_name, fill, region_dtype):
    """Nested lists (one level per axis) of piece keys or fill tasks, for ``np.block``."""
    ndim = len(axis_pieces)

    def entry(combo, ids):
        if any(c is None for c, _ in combo):
            shape = tuple(s if c is None else _sel_length(s, x.chunks[ax][c]) for ax, (c, s) in enumerate(combo))
            return (_fill, shape, fill, region_dtype)
        chunk_key = (x.name, *(c for c, _ in combo))
        sels = tuple(s for _, s in combo)
        if all(isinstance(s, slice) and s == slice(None) for s in sels):
            return chunk_key  # a whole chunk: no slicing task (np.block promotes it to the region's dtype)
        key = (slab_name, *out_idx, *ids)
        dsk[key] = (_take, chunk_key, sels)
        return key

    def level(ax, combo, ids):
        if ax == ndim:
            return entry(combo, ids)
        return [level(ax + 1, combo + (p,), ids + (j,)) for j, p in enumerate(axis_pieces[ax])]

    return level(0, (), ())
