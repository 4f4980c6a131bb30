"""The convolution engine: plan (shapes, method, kernel spectrum) and execution."""

from ._api import choose_method, convolve, convolve_channels, correlate
from ._convolver import Convolver
from ._fourier import fourier_filter, frequency_grid

__all__ = [
    "Convolver",
    "choose_method",
    "convolve",
    "convolve_channels",
    "correlate",
    "fourier_filter",
    "frequency_grid",
]
