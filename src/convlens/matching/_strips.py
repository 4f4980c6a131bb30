"""Strips of a search: the engine's overlap-save blocks along the first spatial axis, on worker threads.

A strip is one block of the engine's blocking mechanism (``convlens._engine.output_blocks``)
over the *valid* geometry of the first axis: its outputs are a run of placements and it
reads the input rows ``lo .. hi`` those placements cover, so strips give the same scores
as one big transform.  Each strip is transformed, normalized and written while it is
still in cache, the template spectrum is only strip-sized (cheap to prepare for a
one-off search), and strips run on ``workers`` threads.

What is specific to a search is the choice of the strip length (:func:`strip_rows`: a
cost model that counts the template spectrum of a one-off search) and that every strip
has the same length, so that one engine plan serves them all: the last block, when
shorter, reads the ``L`` rows that end at the last row and writes only its own outputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from .._backend import good_size
from .._engine import axis_geometry, block_count, block_length, output_blocks, run_shares, tile_lengths

BLOCK = 1 << 15  # elements per block of the normalization pass: fits in L2 cache


@dataclass(frozen=True)
class Strip:
    """One strip: input rows ``start .. start + L`` and the placements (output rows) it writes."""

    start: int  # first input row read (the strip has the search's L rows)
    out: slice  # output rows written: the engine block's outputs

    @property
    def skip(self) -> int:
        """Leading output rows of the strip that another strip writes (non-zero only for the last one)."""
        return self.out.start - self.start


def _cost(strip: int, rows: int, m: int, per_row: int) -> float:
    """Predicted FFT work: 2 transforms per strip + 1 for the template spectrum, ``n log2 n`` each."""
    pts = strip * per_row
    return (2 * block_count(rows, strip - m + 1) + 1) * pts * math.log2(max(pts, 2))


@lru_cache(maxsize=256)  # a repeated search of one shape decides once (its tile model takes ~1 ms)
def strip_rows(ext: tuple[int, ...], m: int, rows: int, *, template: tuple[int, ...] = (), itemsize: int = 0) -> int:
    """Input rows per strip (first axis) that minimize the predicted FFT work of a search.

    Candidates: the engine's own block length for this axis (``block_length``)
    and fast lengths from ``max(2 m, 16)`` up in steps of 25 %; the whole axis in one strip
    wins unless a strip is predicted cheaper.  Measured on 2048² with a 64²
    template: 512-row strips cost the same as one whole-image FFT when the
    template spectrum is cached and about 20 ms less when it is not.

    ``template`` (its whole shape) and ``itemsize`` (of the work dtype) given, a 2-D search that
    the engine would run in cache-sized tiles (``tile_lengths``) is one strip: the tiles already
    keep the transforms in cache with a tile-sized template spectrum, and strips would only
    transform their overlaps again (2048² ⊛ 64² float32: 27 ms of correlation in tiles against
    39 ms in 400-row strips; whole-image transforms there took longer than the strips).
    """
    n = ext[0]
    if len(ext) == 2 and len(template) == 2 and itemsize:
        outs = tuple(e - t + 1 for e, t in zip(ext, template))
        if tile_lengths(tuple(template), outs, tuple(good_size(e) for e in ext), itemsize) is not None:
            return n
    per_row = math.prod(good_size(s) for s in ext[1:])
    length = max(2 * m, 16)  # shorter strips spend more on per-strip overheads than the model counts
    candidates = {good_size(max(block_length(m, n, other=per_row), length))}
    while length < n:
        candidates.add(good_size(length))
        length = int(length * 1.25) + 1
    costs = {L: _cost(L, rows, m, per_row) for L in sorted(candidates) if m < L < n}
    whole = good_size(n) * per_row
    if not costs or 3 * whole * math.log2(max(whole, 2)) <= min(costs.values()):
        return n
    return min(costs, key=lambda L: (costs[L], L))


def strips(ext0: int, m0: int, L: int) -> list[Strip]:
    """The strips of ``L`` input rows that cover the ``ext0 - m0 + 1`` placements along the first axis.

    Each is an overlap-save block of the valid geometry (``output_blocks``): block
    ``j0 .. j1`` reads rows ``j0 .. j1 + m0 - 1``.  A shorter last block is read as
    the ``L`` rows ending at the last row (one plan shape for every strip).
    """
    L = min(L, ext0)
    blocks = output_blocks(axis_geometry(ext0, m0, "valid"), L - m0 + 1)
    return [Strip(min(b.lo, ext0 - L), b.out) for b in blocks]


def search_copies(span: list[int], ext: list[int], m0: int, channels: int) -> float:
    """A search's working set in units of its float64 score array (``check_alloc``'s ``copies``).

    Counted: the scores (8 bytes each while computed, plus a flag byte), about a
    dozen float64 arrays of one strip or, where a search runs as one strip in the
    engine's tiles (``strip_rows``), its score-sized correlation, whichever is more,
    and a copy of the region when it reaches outside the image.
    """
    scores = math.prod(span)
    strip = strip_rows(tuple(ext), m0, span[0]) * math.prod(ext[1:]) * channels
    return (scores * 9 / 8 + max(12 * strip, scores) + math.prod(ext) * channels) / max(scores, 1)


def run_sliced(jobs: list, fn: Callable[[int, list], None], workers: int) -> None:
    """Run ``fn(slot, jobs[slot::slots])`` on ``slots = min(workers, len(jobs))`` threads (slot 0 inline)."""
    slots = max(1, min(workers, len(jobs)))
    run_shares(lambda s: fn(s, jobs[s::slots]), range(slots))


def blockwise(fn: Callable[[int, int], None], rows: int, row_size: int, workers: int, block: int = BLOCK) -> None:
    """Run ``fn(r0, r1)`` over row blocks of about ``block`` elements, on ``workers`` threads.

    Blocks stay in cache through the dozen element-wise steps of a normalization,
    and NumPy releases the GIL, so threads run in parallel.
    """
    step = max(1, block // max(row_size, 1))
    blocks = [(r, min(r + step, rows)) for r in range(0, rows, step)]
    # every slot-th block to a slot: neighbouring blocks cost alike
    threads = workers if rows * row_size >= 4 * block else 1
    run_sliced(blocks, lambda _, share: [fn(*b) for b in share], threads)
