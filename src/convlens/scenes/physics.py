"""Scenes of the essay's physics: diffusion, propagators, the stochastic view."""

from __future__ import annotations

import numpy as np

from .. import convolve
from .._validation import check_alloc, check_int
from ..diffusion import diffuse, is_propagator, propagator
from ..filters import gaussian_kernel
from ..reference import heat_crank_nicolson
from ..stochastic import convergence, monte_carlo_convolve
from ._common import PHOTO_SOURCES, check_ints, check_reals, check_seed, frozen, photo, scene

# Diffusion times beyond this are refused: the finite-difference judge takes ~4 sqrt(t) steps (4000 at 1e6),
# and by then every tank the scenes allow is mixed to round-off anyway.
MAX_TIME = 1e6
# Monte Carlo draws: each one is a full pass over the 128 x 128 crop.
MAX_SAMPLES = 100_000

# The essay's two 3 x 3 kernels: the edge detector of its first part, and the quiz (whose answer
# is given at the end of the essay: Gaussian blur).
EDGE_DETECTOR = np.array([[-1.0, -1, -1], [-1, 8, -1], [-1, -1, -1]])
QUIZ_KERNEL = np.array([[1.0, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16


@frozen
class Aquarium:
    """Salt water | fresh water, barrier removed at t = 0: exact diffusion vs finite differences."""

    times: np.ndarray
    initial: np.ndarray
    convolution: tuple[np.ndarray, ...]
    finite_difference: tuple[np.ndarray, ...]
    max_difference: np.ndarray
    mass: np.ndarray
    source: str


def _check_tank(times, n: int, minimum: int, ndim: int, what: str):
    """The aquarium's times and grid size, checked; the frames it stores refused up front if too large."""
    times = check_reals(
        "times",
        times,
        minimum=0,
        maximum=MAX_TIME,
        hint="a diffusion time: the salt spreads over about sqrt(2 t) cells",
    )
    n = check_int("n", n, minimum=minimum)
    check_alloc((2 * len(times) + 4,) + (n,) * ndim, np.float64, what=what)
    return times, n


def _aquarium(initial: np.ndarray, times) -> Aquarium:
    conv, fd = [], []
    for t in times:
        conv.append(diffuse(initial, float(t), boundary="symmetric"))
        # the independent judge: Crank-Nicolson time stepping with no-flux walls
        fd.append(heat_crank_nicolson(initial, float(t), boundary="symmetric", steps=max(8, int(4 * t**0.5))))
    diff = np.array([np.abs(a - b).max() for a, b in zip(conv, fd)])
    mass = np.array([c.sum() for c in conv])
    return Aquarium(
        np.asarray(times, float), initial, tuple(conv), tuple(fd), diff, mass, "synthetic (the essay's aquarium)"
    )


@scene
def aquarium_1d(times: tuple[float, ...] = (0.0, 4.0, 16.0, 64.0, 256.0, 1024.0), n: int = 200) -> Aquarium:
    """A 1-D tank of ``n`` cells, salt (1) in the left half, fresh (0) in the right.

    ``times`` is a non-empty sequence of reals in [0, 1e6]; ``n`` an int >= 2
    (one salt and one fresh cell at least).

    Examples
    --------
    >>> from convlens.scenes import aquarium_1d
    >>> s = aquarium_1d((0.0, 50.0))
    >>> bool(s.max_difference.max() < 1e-3), bool(abs(s.mass[1] - 100) < 1e-9)
    (True, True)
    """
    times, n = _check_tank(times, n, 2, 1, "aquarium_1d")
    initial = np.zeros(n)
    initial[: n // 2] = 1.0
    return _aquarium(initial, times)


@scene
def aquarium_2d(times: tuple[float, ...] = (0.0, 4.0, 16.0, 64.0, 256.0, 1024.0), n: int = 64) -> Aquarium:
    """A square tank of ``n`` x ``n`` cubes, salt in the top-left quadrant and a salty stripe.

    ``times`` as in :func:`aquarium_1d`; ``n`` an int >= 8 (the 4-cube stripe
    sits below the quadrant).

    Examples
    --------
    >>> from convlens.scenes import aquarium_2d
    >>> s = aquarium_2d((0.0, 16.0), n=32)
    >>> bool(s.max_difference.max() < 1e-2)
    True
    """
    times, n = _check_tank(times, n, 8, 2, "aquarium_2d")
    initial = np.zeros((n, n))
    initial[: n // 2, : n // 2] = 1.0
    initial[3 * n // 4 : 3 * n // 4 + 4, :] = 1.0
    return _aquarium(initial, times)


@frozen
class PhotoDiffusion:
    """A photo whose pixel intensities diffuse like salt: one convolution per time."""

    times: np.ndarray
    frames: tuple[np.ndarray, ...]
    mass: np.ndarray
    maximum: np.ndarray
    source: str


@scene
def photo_diffusion(times: tuple[float, ...] = (0.0, 1.0, 4.0, 16.0, 64.0, 256.0)) -> PhotoDiffusion:
    """``camera()`` (256 x 256) diffused with no-flux walls: mass is kept, contrast fades.

    ``times`` is a non-empty sequence of finite reals >= 0.

    Examples
    --------
    >>> from convlens.scenes import photo_diffusion
    >>> s = photo_diffusion((0.0, 8.0))
    >>> bool(abs(s.mass[1] - s.mass[0]) < 1e-8 * s.mass[0]), bool(s.maximum[1] < s.maximum[0])
    (True, True)
    """
    times = check_reals("times", times, minimum=0, hint="a diffusion time: the blur's sigma is sqrt(2 t) pixels")
    image = photo("camera")
    frames = tuple(diffuse(image, float(t), boundary="symmetric") for t in times)
    return PhotoDiffusion(
        np.asarray(times, float), frames, np.array([f.sum() for f in frames]), np.array([f.max() for f in frames]),
        PHOTO_SOURCES["camera"],
    )  # fmt: skip


@frozen
class Propagators:
    """The essay's edge detector and quiz kernel, turned into propagators by the softmax."""

    edge: np.ndarray
    quiz: np.ndarray
    edge_propagator: np.ndarray
    quiz_propagator: np.ndarray
    edge_centre_share: float
    quiz_spread: float
    quiz_is_propagator: bool
    image: np.ndarray
    edge_on_image: np.ndarray
    quiz_on_image: np.ndarray
    answer: str
    source: str


@scene
def propagators() -> Propagators:
    """Softmax propagators of the two kernels, and what each kernel does to ``camera()`` (256 x 256).

    ``quiz_spread`` is the ratio of the smallest to the largest probability of the
    quiz propagator (1 would be perfectly even).

    Examples
    --------
    >>> from convlens.scenes import propagators
    >>> s = propagators()
    >>> round(s.edge_centre_share, 3), s.quiz_spread > 0.8, s.quiz_is_propagator
    (0.999, True, True)
    """
    image = photo("camera")
    edge_p = propagator(EDGE_DETECTOR)
    quiz_p = propagator(QUIZ_KERNEL)
    answer = (
        "Gaussian blur: its softmax is nearly even over the 3 x 3 neighbourhood, so information diffuses "
        "almost equally to all neighbours and sharp edges are smoothed out."
    )
    return Propagators(
        EDGE_DETECTOR.copy(), QUIZ_KERNEL.copy(), edge_p, quiz_p, float(edge_p[1, 1]), float(quiz_p.min() / quiz_p.max()),
        is_propagator(QUIZ_KERNEL), image,
        convolve(image, EDGE_DETECTOR, "same", boundary="reflect"),
        convolve(image, QUIZ_KERNEL, "same", boundary="reflect"), answer, PHOTO_SOURCES["camera"],
    )  # fmt: skip


@frozen
class MonteCarlo:
    """Convolution estimated by random draws from the kernel, converging as 1/sqrt(samples)."""

    image: np.ndarray
    kernel: np.ndarray
    exact: np.ndarray
    samples: np.ndarray
    estimates: tuple[np.ndarray, ...]
    rms_error: np.ndarray
    slope: float
    seed: int
    source: str


@scene
def monte_carlo(samples: tuple[int, ...] = (1, 4, 16, 64, 256), seed: int = 0) -> MonteCarlo:
    """The 128 x 128 face crop of ``camera()`` blurred by a 9 x 9 Gaussian propagator, by sampling.

    ``samples`` is a sequence of at least two distinct ints in [1, 100000]
    (the slope of the error needs two); ``seed`` a non-negative int.

    Examples
    --------
    >>> from convlens.scenes import monte_carlo
    >>> s = monte_carlo((1, 16))
    >>> bool(-0.6 < s.slope < -0.4), bool(s.rms_error[1] < s.rms_error[0])
    (True, True)
    """
    samples = check_ints("samples", samples, minimum=1, maximum=MAX_SAMPLES)
    if len(set(samples)) < 2:
        raise ValueError(f"samples must hold at least two distinct counts (to fit the error's slope); got {samples!r}")
    seed = check_seed(seed)
    image = photo("camera", 512)[60:188, 180:308].copy()
    kernel = gaussian_kernel(2.0, truncate=2.0)
    exact = convolve(image, kernel, "same", boundary="symmetric")
    rng = np.random.default_rng(seed)
    estimates = tuple(monte_carlo_convolve(image, kernel, n, boundary="symmetric", rng=rng) for n in samples)
    rms = np.array([np.sqrt(np.mean((e - exact) ** 2)) for e in estimates])
    law = convergence(image, kernel, samples, boundary="symmetric", rng=seed)
    return MonteCarlo(
        image, kernel, exact, np.asarray(samples), estimates, rms, float(law.slope), seed, PHOTO_SOURCES["camera"]
    )
