"""The stochastic lens: Monte Carlo convolution, importance sampling, the 1/sqrt(samples) law.

The reference is the exact engine result (convlens.convolve, itself checked against
scipy.signal.convolve) and, for the draws themselves, scipy.stats.chisquare.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import assert_close
from convlens import convolve
from convlens.data import load_image
from convlens.stochastic import Convergence, convergence, monte_carlo_convolve

BOUNDARIES = ["constant", "wrap", "reflect", "symmetric", "edge"]
EDGE = np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], float)


@pytest.fixture(scope="module")
def camera():
    return load_image("camera").astype(np.float64) / 255.0


def reference(x, kernel, boundary="constant", fill_value=0.0):
    """The engine contract's 'same' convolution with a boundary (docs/architecture.md), computed by scipy."""
    kernel = np.asarray(kernel)
    widths = [(s - 1 - (s - 1) // 2, (s - 1) // 2) for s in kernel.shape]
    options = {"constant_values": fill_value} if boundary == "constant" else {}
    return scipy.signal.convolve(np.pad(x, widths, mode=boundary, **options), kernel, "valid")


def z_scores(x, kernel, samples, est, boundary="constant", fill_value=0.0):
    """(estimate - exact) / predicted standard error, from the estimator's exact variance.

    One draw is ``S * phase_j * x[i + c - j]`` with probability ``|k_j| / S``, so its second
    moment is ``S * sum_j |k_j| |x[i + c - j]|^2``: the convolution of |x|^2 with |k|.
    """
    exact = reference(x, kernel, boundary, fill_value)
    second = np.abs(kernel).sum() * reference(np.abs(x) ** 2, np.abs(kernel), boundary, abs(fill_value) ** 2)
    var = np.maximum(second - np.abs(exact) ** 2, 1e-300) / samples
    return np.abs(est - exact) / np.sqrt(var)


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_estimate_is_unbiased_for_a_propagator(rng, boundary):
    x = rng.random((24, 20))
    k = rng.random((3, 5))
    k /= k.sum()
    est = monte_carlo_convolve(x, k, 4000, boundary=boundary, fill_value=0.5, rng=rng)
    z = z_scores(x, k, 4000, est, boundary, 0.5)
    assert z.max() < 5.0  # 480 pixels: a 5-sigma outlier has probability ~3e-4
    assert np.mean(z**2) == pytest.approx(1.0, abs=0.2)  # the predicted variance is the real one


@pytest.mark.parametrize(
    "kernel",
    [EDGE, np.array([[0.5, -2.0, 1.0], [0.0, 3.0, -0.25]]), np.array([[1 + 1j, -2j], [0.5, 1.0]])],
    ids=["edge-detector", "signed", "complex"],
)
def test_signed_and_complex_kernels_are_unbiased_by_importance_sampling(rng, kernel):
    x = rng.random((20, 22))
    est = monte_carlo_convolve(x, kernel, 4000, rng=rng)
    z = z_scores(x, kernel, 4000, est)
    assert z.max() < 5.0
    assert np.mean(z**2) == pytest.approx(1.0, abs=0.2)


@pytest.mark.parametrize("shape", [(5,), (5, 7)])
def test_each_draw_picks_a_neighbour_with_the_kernels_probability(rng, shape):
    """The essay's measurement: each pixel collapses to one of the kernel's positions."""
    k = rng.random(shape) ** 3  # uneven probabilities exercise the alias table
    k /= k.sum()
    grid = (1_000_000,) if len(shape) == 1 else (200, 5000)
    x = np.arange(np.prod(grid), dtype=np.float64).reshape(grid)  # a value tells where it was read
    est = monte_carlo_convolve(x, k, 1, boundary="wrap", rng=rng)
    inner = tuple(slice(5, -5) for _ in grid)
    shift = (x - est)[inner].round().astype(np.int64).ravel()  # = sum_a (j_a - c_a) * stride_a
    centre = [(s - 1) // 2 for s in shape]
    if len(shape) == 1:
        offsets = (shift + centre[0],)
    else:
        offsets = (np.floor_divide(shift + 3, grid[1]) + centre[0], (shift + 3) % grid[1] - 3 + centre[1])
    counts = np.zeros(shape)
    np.add.at(counts, offsets, 1)
    assert counts.sum() == shift.size
    # a million draws: a bias of 1e-3 in any probability would give p ~ 1e-10
    assert scipy.stats.chisquare(counts.ravel(), k.ravel() * counts.sum()).pvalue > 1e-4


def test_seeds_make_it_reproducible_and_unseeded_calls_differ(rng):
    x = rng.random((16, 16))
    k = np.ones((3, 3)) / 9
    a = monte_carlo_convolve(x, k, 3, rng=7)
    assert np.array_equal(a, monte_carlo_convolve(x, k, 3, rng=np.random.default_rng(7)))
    assert not np.array_equal(a, monte_carlo_convolve(x, k, 3, rng=8))
    assert not np.array_equal(monte_carlo_convolve(x, k), monte_carlo_convolve(x, k))
    gen = np.random.default_rng(3)
    assert not np.array_equal(monte_carlo_convolve(x, k, rng=gen), monte_carlo_convolve(x, k, rng=gen))


@settings(max_examples=30, deadline=None)
@given(
    shape=st.lists(st.integers(1, 9), min_size=1, max_size=3),
    data=st.data(),
    boundary=st.sampled_from(BOUNDARIES),
    weight=st.floats(-3, 3).filter(lambda w: abs(w) > 1e-3),
)
def test_a_one_entry_kernel_is_estimated_exactly(shape, data, boundary, weight):
    """A shifted, scaled delta has no randomness: every draw is the same neighbour."""
    kshape = tuple(data.draw(st.integers(1, 4)) for _ in shape)
    pos = tuple(data.draw(st.integers(0, s - 1)) for s in kshape)
    k = np.zeros(kshape)
    k[pos] = weight
    x = np.random.default_rng(len(shape)).random(shape)
    got = monte_carlo_convolve(x, k, 2, boundary=boundary, fill_value=0.3, rng=0)
    assert_close(got, convolve(x, k, "same", boundary=boundary, fill_value=0.3))


def test_n_dimensional_inputs(rng):
    x = rng.random((6, 7, 8))
    k = rng.random((3, 1, 2))
    est = monte_carlo_convolve(x, k, 3000, rng=rng)
    assert est.shape == x.shape
    assert z_scores(x, k, 3000, est).max() < 5.0
    one_d = monte_carlo_convolve(np.arange(10.0), [0.0, 0.0, 1.0], rng=0)  # a pure shift by +1
    assert one_d.tolist() == [0.0, *range(9)]


def test_dtypes_and_inputs_are_kept(rng):
    x32 = rng.random((10, 10)).astype(np.float32)
    k = np.ones((3, 3)) / 9
    copies = x32.copy(), k.copy()
    assert monte_carlo_convolve(x32, k, rng=0).dtype == np.float32
    assert monte_carlo_convolve(x32.astype(np.complex64), k, rng=0).dtype == np.complex64
    assert monte_carlo_convolve(np.arange(12).reshape(3, 4), k, rng=0).dtype == np.float64
    assert monte_carlo_convolve(x32, k + 0j, rng=0).dtype == np.complex64
    np.testing.assert_array_equal(x32, copies[0])
    np.testing.assert_array_equal(k, copies[1])
    assert monte_carlo_convolve(x32, np.zeros((3, 3)), rng=0).tolist() == np.zeros((10, 10)).tolist()


def test_a_nan_spoils_only_the_draws_that_read_it():
    x = np.ones((9, 9))
    x[4, 4] = np.nan
    est = monte_carlo_convolve(x, np.ones((3, 3)) / 9, 50, rng=0)
    assert np.isnan(est[4, 4]) and np.all(np.isfinite(est[:2])) and np.all(np.isfinite(est[:, 6:]))


def test_convergence_follows_the_inverse_square_root_law_on_a_photo(camera):
    x = camera[::2, ::2]  # 256 x 256
    for kernel in (np.ones((9, 9)) / 81, EDGE):
        c = convergence(x, kernel, [1, 4, 16, 64], rng=1)
        assert isinstance(c, Convergence)
        assert c.slope == pytest.approx(-0.5, abs=0.05)
        assert np.all(np.diff(c.error) < 0)
        assert_close(c.relative_error, c.error / np.sqrt(np.mean(convolve(x, kernel, "same") ** 2)), rel=1e-12)


def test_convergence_is_nan_when_the_estimator_is_exact(rng):
    c = convergence(rng.random((8, 8)), np.array([[0.0, 2.0]]), [1, 2], rng=0)
    assert np.all(c.error == 0) and np.isnan(c.slope)


def test_the_reference_is_scipys_same_mode(rng):
    """The z-scores above are taken against scipy; check the boundary-free case equals mode='same'."""
    x = rng.random((12, 15))
    k = rng.random((4, 3))
    assert_close(reference(x, k), scipy.signal.convolve(x, k, "same"))


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"samples": 0}, ValueError, "samples must be an integer >= 1; got 0"),
        ({"samples": 2.5}, TypeError, r"samples must be an integer >= 1; got 2.5 \(float\)"),
        ({"kernel": np.array([[1.0, np.nan]])}, ValueError, "kernel must be finite"),
        ({"kernel": np.ones(3)}, ValueError, "kernel must have as many dimensions as x"),
        ({"boundary": "mirror"}, ValueError, "boundary must be one of"),
        ({"rng": "seed"}, TypeError, "rng must be None, an int seed or a numpy.random.Generator"),
        ({"x": np.array([["a"]])}, TypeError, "x must have a numeric dtype"),
    ],
)
def test_monte_carlo_convolve_rejects_bad_arguments(kwargs, error, match):
    args = {"x": np.ones((5, 5)), "kernel": np.ones((3, 3)), **kwargs}
    with pytest.raises(error, match=match):
        monte_carlo_convolve(**args)


@pytest.mark.parametrize(
    ("samples_list", "error", "match"),
    [
        ([4, 4], ValueError, "at least two distinct sample counts"),
        ([1, 0], ValueError, "samples_list entries must be an integer >= 1"),
        ([1, 2.5], TypeError, "samples_list must be a sequence of positive integers"),
    ],
)
def test_convergence_rejects_bad_sample_lists(samples_list, error, match):
    with pytest.raises(error, match=match):
        convergence(np.ones((5, 5)), np.ones((3, 3)), samples_list)
