"""Overlap-save strips along the first spatial axis, and cache-sized blocks, on worker threads.

Each strip's valid outputs are exactly the whole region's, so strips give the same
scores as one big transform, while each strip is transformed, normalized and
written while it is still in cache, the template spectrum is only strip-sized
(cheap to prepare for a one-off search), and strips run on ``workers`` threads.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from .._backend import good_size

BLOCK = 1 << 15  # elements per block of the normalization pass: fits in L2 cache


def strip_rows(ext: tuple[int, ...], m: int, rows: int) -> int:
    """Input rows per strip (first axis) that minimize the predicted FFT work of a search.

    Work ~ (2 transforms per strip + 1 for the template spectrum) * L * P * log2(L * P)
    for strips of L rows and P points per row (at fast FFT lengths).  Measured on
    2048² with a 64² template: 512-row strips cost the same as one whole-image FFT
    when the template spectrum is cached and about 20 ms less when it is not.
    """
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


def strip_jobs(ext0: int, m0: int, L: int) -> list[tuple[int, int]]:
    """``(strip start, first output row it writes)`` for strips of ``L`` input rows over ``ext0`` rows.

    The last strip ends at the last row, so it may overlap the previous one; it
    then writes only the rows the previous one did not.
    """
    rows = ext0 - m0 + 1
    S = L - m0 + 1
    starts = list(range(0, rows - S, S)) + [rows - S]
    return [(a, a if i == 0 else max(a, starts[i - 1] + S)) for i, a in enumerate(starts)]


def run_sliced(jobs: list, fn: Callable[[int, list], None], workers: int) -> None:
    """Run ``fn(slot, jobs[slot::slots])`` on ``slots = min(workers, len(jobs))`` threads (slot 0 inline)."""
    slots = max(1, min(workers, len(jobs)))
    if slots == 1:
        fn(0, jobs)
        return
    with ThreadPoolExecutor(slots) as pool:
        list(pool.map(lambda s: fn(s, jobs[s::slots]), range(slots)))


def blockwise(fn: Callable[[int, int], None], rows: int, row_size: int, workers: int) -> None:
    """Run ``fn(r0, r1)`` over row blocks of about :data:`BLOCK` elements, on ``workers`` threads.

    Blocks stay in cache through the dozen element-wise steps of a normalization,
    and NumPy releases the GIL, so threads run in parallel.
    """
    step = max(1, BLOCK // max(row_size, 1))
    blocks = [(r, min(r + step, rows)) for r in range(0, rows, step)]
    if workers > 1 and len(blocks) > 1 and rows * row_size >= 4 * BLOCK:
        with ThreadPoolExecutor(min(workers, len(blocks))) as pool:
            list(pool.map(lambda b: fn(*b), blocks))
    else:
        for b in blocks:
            fn(*b)
