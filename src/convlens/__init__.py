"""convlens: convolution made fast, correct and visible.

Layers (imports only go downward; ``tools/check_layers.py`` enforces it, and
``docs/architecture.md`` describes each one):

* presentation - ``scenes`` (the essay's scenes as data), ``cli``, ``report``, ``plot``
* lenses - ``spectrum``, ``filters``, ``compress``, ``diffusion``, ``stochastic``,
  ``matching``, ``timeseries``, ``whiten``, ``reference`` (independent solvers)
* adapters - ``convlens.torch`` (PyTorch layers), ``convlens.dask`` (Dask arrays)
* engine - :func:`convolve`, :func:`correlate`, :class:`Convolver`,
  :func:`choose_method`, :func:`convolve_channels`, :func:`fourier_filter`
* policy and backend - argument checks, the dtype rule, the memory guard
  (``_validation``); the FFT entry point (``_backend``: ducc0, scipy.fft)
* data - bundled and installed sample data (``data``, ``io``)

The lens modules and their main functions are imported lazily on first use,
so ``import convlens`` needs only NumPy, SciPy, ducc0 and OpenCV; the adapters
import torch or dask only when they are imported themselves.
"""

from __future__ import annotations

import importlib

from ._engine import Convolver, choose_method, convolve, convolve_channels, correlate, fourier_filter
from ._validation import InsufficientMemoryError

# pickles and tracebacks name the public path, not the private module that defines them
Convolver.__module__ = InsufficientMemoryError.__module__ = __name__

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

# The other public modules, by layer: reachable as attributes (imported on first use, so
# ``convlens.dask`` imports dask only then) but not in ``__all__``, so that
# ``from convlens import *`` never imports an optional dependency.
_OTHER_MODULES = {
    "adapters": ("torch", "dask"),
    "data": ("io",),
    "presentation": ("scenes", "cli", "report", "plot"),
}
_LAZY_MODULES = {name for names in _OTHER_MODULES.values() for name in names}

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
    if name in _LENSES or name in _LAZY_MODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _NAME_TO_MODULE:
        module = importlib.import_module(f".{_NAME_TO_MODULE[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module 'convlens' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
