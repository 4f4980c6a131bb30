"""convlens: convolution made fast, correct and visible.

Layers (imports only go downward; ``tools/check_layers.py`` enforces it):

* presentation - ``cli``, ``report``, ``plot``
* lenses - ``spectrum``, ``filters``, ``compress``, ``diffusion``, ``stochastic``,
  ``matching``, ``timeseries``, ``whiten``
* adapters - ``convlens.torch`` (PyTorch layers), ``convlens.dask``
* engine - :func:`convolve`, :func:`correlate`, :class:`Convolver`,
  :func:`choose_method`, :func:`convolve_channels`
* backend - FFT dispatch (ducc0, scipy.fft)
* data - bundled and installed sample data

The lens modules and their main functions are imported lazily on first use,
so ``import convlens`` needs only NumPy and SciPy.
"""

from __future__ import annotations

import importlib

from ._engine import Convolver, choose_method, convolve, convolve_channels, correlate, fourier_filter
from ._validation import InsufficientMemoryError

__version__ = "0.1.0"

# Lens modules, and the public names each one exports at the package level.
_LENSES = {
    "spectrum": ("log_spectrum", "radial_profile", "angular_profile", "orientation", "band_levels"),
    "filters": ("lowpass", "highpass", "bandpass", "mask_to_kernel", "frequency_response", "gaussian"),
    "compress": ("keep_frequencies",),
    "diffusion": ("heat_kernel", "diffuse", "diffuse_steps", "propagator", "is_propagator"),
    "stochastic": ("monte_carlo_convolve", "convergence"),
    "matching": ("match_template", "find_peaks", "locate", "Template"),
    "timeseries": (
        "moving_average",
        "difference",
        "integrate",
        "arma_to_ma_kernel",
        "arma_to_ar_kernel",
        "simulate_arma",
        "fit_arima",
        "forecast_arima",
        "local_ar_features",
    ),
    "whiten": (
        "standardize",
        "pca_whiten",
        "zca_whiten",
        "Standardizer",
        "PCAWhitener",
        "ZCAWhitener",
        "PatchWhitener",
    ),
    "reference": (),
    "data": (),
}
_NAME_TO_MODULE = {name: mod for mod, names in _LENSES.items() for name in names}

__all__ = [
    "Convolver",
    "InsufficientMemoryError",
    "choose_method",
    "convolve",
    "convolve_channels",
    "correlate",
    "fourier_filter",
    *sorted(_LENSES),
    *sorted(_NAME_TO_MODULE),
]


def __getattr__(name: str):
    if name in _LENSES:
        return importlib.import_module(f".{name}", __name__)
    if name in _NAME_TO_MODULE:
        module = importlib.import_module(f".{_NAME_TO_MODULE[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module 'convlens' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
