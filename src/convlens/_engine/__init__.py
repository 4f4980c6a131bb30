"""The convolution engine: plan (shapes, method, kernel spectrum) and execution.

Besides the public functions, the one blocking mechanism (``Block``,
``output_blocks``, ``chunk_blocks``, ``extended_indices``, ``block_input``,
``block_length``, ``block_count``, ``tile_lengths``) and the per-axis geometry (``axis_geometry``,
``make_geometry``) are exported here for the adapters and lenses that cut a
convolution into pieces (Dask chunks, template-search strips): they must not
import the engine's private modules.  So is ``run_shares``, which runs shares of
work on the engine's one thread pool.
"""

from ._api import choose_method, convolve, correlate
from ._blocks import (
    Block,
    block_count,
    block_input,
    block_length,
    chunk_blocks,
    extended_indices,
    output_blocks,
    tile_lengths,
)
from ._channels import convolve_channels
from ._convolver import Convolver
from ._fourier import fourier_filter, frequency_grid
from ._geometry import AxisGeometry, Geometry, axis_geometry, make_geometry
from ._threads import run_shares

__all__ = [
    "AxisGeometry",
    "Block",
    "Convolver",
    "Geometry",
    "axis_geometry",
    "block_count",
    "block_input",
    "block_length",
    "chunk_blocks",
    "choose_method",
    "convolve",
    "convolve_channels",
    "correlate",
    "extended_indices",
    "fourier_filter",
    "frequency_grid",
    "make_geometry",
    "output_blocks",
    "run_shares",
    "tile_lengths",
]
