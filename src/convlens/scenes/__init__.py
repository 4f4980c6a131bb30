"""The essay's scenes as data (presentation layer).

Each scene is one function that fixes everything a figure needs (which photo,
which crop, which shift, which seed), computes through the public convlens API
and returns a small frozen dataclass of arrays and numbers.  Nothing here
prints or draws: the text demo (``convlens demo``) and the HTML report
(:func:`convlens.report.build`) render the same scenes.

Results are cached per argument tuple and their arrays are read-only, so a
scene computed once is shared by every caller in the process.  Each result has
a ``source`` field naming the real data it used and its licence.

:data:`SCENES` lists the scene functions in the essay's order:

1. the convolution theorem - :func:`convolution_theorem`, :func:`engine_tour`
2. time to frequency - :func:`recording_spectrum`
3. the Fourier domain of images - :func:`image_spectra`, :func:`rotated_orientation`
4. frequency filtering - :func:`circle_lowpass`, :func:`jpeg_comparison`
5. padding schemes - :func:`padding_schemes`
6. diffusion - :func:`aquarium_1d`, :func:`aquarium_2d`, :func:`photo_diffusion`, :func:`propagators`
7. the stochastic view - :func:`monte_carlo`
8. cross-correlation - :func:`face_match`, :func:`clip_location`
9. statistics - :func:`arma_kernels`, :func:`arima_forecast`, :func:`white_noise`,
   :func:`decorrelation`, :func:`zca_filters`, :func:`gaussian_smoothing`
10. convolution layers - :func:`conv_layer_speed` (needs torch)

Examples
--------
>>> from convlens.scenes import SCENES, face_match
>>> len(SCENES), SCENES[0].__name__
(22, 'convolution_theorem')
>>> face_match().peak
(110, 115)
"""

from __future__ import annotations

from .fourier import (
    circle_lowpass,
    convolution_theorem,
    engine_tour,
    image_spectra,
    jpeg_comparison,
    padding_schemes,
    recording_spectrum,
    rotated_orientation,
)
from .physics import EDGE_DETECTOR, QUIZ_KERNEL, aquarium_1d, aquarium_2d, monte_carlo, photo_diffusion, propagators
from .signals import (
    ARMA_MODELS,
    FACE_BOX,
    arima_forecast,
    arma_kernels,
    clip_location,
    conv_layer_speed,
    decorrelation,
    face_match,
    gaussian_smoothing,
    white_noise,
    zca_filters,
)

SCENES = (
    convolution_theorem,
    engine_tour,
    recording_spectrum,
    image_spectra,
    rotated_orientation,
    circle_lowpass,
    jpeg_comparison,
    padding_schemes,
    aquarium_1d,
    aquarium_2d,
    photo_diffusion,
    propagators,
    monte_carlo,
    face_match,
    clip_location,
    arma_kernels,
    arima_forecast,
    white_noise,
    decorrelation,
    zca_filters,
    gaussian_smoothing,
    conv_layer_speed,
)

__all__ = [
    "ARMA_MODELS",
    "EDGE_DETECTOR",
    "FACE_BOX",
    "QUIZ_KERNEL",
    "SCENES",
    *sorted(f.__name__ for f in SCENES),
]
