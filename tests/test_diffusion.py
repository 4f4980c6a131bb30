"""The diffusion lens: heat propagator, exact diffusion, n-step kernels, softmax propagators.

References: scipy.ndimage.gaussian_filter (sampled Gaussian), the finite-difference
solvers of convlens.reference (written without the engine), scipy.special.softmax,
n passes of the engine's convolve, and the analytic moments of the propagator.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.signal
import scipy.special
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import assert_close, tol_for
from convlens import convolve
from convlens.data import load_image
from convlens.diffusion import diffuse, diffuse_steps, heat_kernel, is_propagator, propagator
from convlens.reference import heat_crank_nicolson, heat_explicit

# numpy.pad boundary names -> scipy.ndimage mode names
NDIMAGE_MODE = {"symmetric": "reflect", "reflect": "mirror", "wrap": "wrap", "constant": "constant", "edge": "nearest"}
EDGE = np.array([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]], float)  # the essay's edge detector
BLUR = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], float) / 16  # the quiz: a Gaussian blur


@pytest.fixture(scope="module")
def camera():
    return load_image("camera").astype(np.float64)[::2, ::2] / 255.0  # 256 x 256 real photograph


def moments(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean offset from the grid centre and covariance of a non-negative array (as a distribution)."""
    p = p / p.sum()
    grids = np.meshgrid(*[np.arange(n) - (n - 1) / 2 for n in p.shape], indexing="ij")
    mean = np.array([np.sum(p * g) for g in grids])
    cov = np.array([[np.sum(p * (ga - ma) * (gb - mb)) for gb, mb in zip(grids, mean)] for ga, ma in zip(grids, mean)])
    return mean, cov


# ---------------------------------------------------------------------------------------------
# heat_kernel


def test_heat_kernel_matches_the_gaussian_density():
    t, D = 1.5, 0.75  # sigma^2 = 2 D t = 2.25
    k = heat_kernel(21, t, D)
    d = np.arange(21) - 10
    pdf = np.exp(-(d**2) / (2 * 2.25)) / np.sqrt(2 * np.pi * 2.25)
    # the samples of a Gaussian with sigma >= 1 sum to 1 up to 2 exp(-2 pi^2 sigma^2) (Poisson summation)
    assert_close(k, pdf, rel=1e-9)
    assert k.sum() == pytest.approx(1.0, abs=1e-14)


@pytest.mark.parametrize(
    "D",
    [0.5, [0.3, 1.2], np.array([[1.0, 0.4], [0.4, 0.7]]), lambda s: np.array([[1.0 + s, 0.2], [0.2, 0.5]])],
    ids=["scalar", "per-axis", "tensor", "time-varying"],
)
def test_heat_kernel_covariance_is_2_t_D(D):
    t, dx = 2.0, np.array([0.5, 1.0])
    k = heat_kernel((141, 41), t, D, dx=dx)
    mean, cov = moments(k)
    if callable(D):  # integral of D(s) over [0, t]: D(0) t + t^2 / 2 on the first diagonal entry
        integral = D(0.0) * t + np.array([[t**2 / 2, 0], [0, 0]])
    else:
        arr = np.asarray(D, float)
        integral = t * (np.eye(2) * arr if arr.ndim == 0 else np.diag(arr) if arr.ndim == 1 else arr)
    assert_close(mean, np.zeros(2), rel=1e-12)
    assert_close(cov, 2 * integral / np.outer(dx, dx), rel=1e-8)


def test_heat_kernel_at_time_zero_is_the_identity():
    assert heat_kernel((3, 5), 0.0).tolist() == [[0, 0, 0, 0, 0], [0, 0, 1, 0, 0], [0, 0, 0, 0, 0]]
    assert heat_kernel(4, 0.0).tolist() == [0, 0.5, 0.5, 0]  # even size: centre between two samples
    assert heat_kernel(5, 3.0, 0.0)[2] == 1.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"t": -1.0}, r"t must be a real number >= 0 \(a finite diffusion time\); got -1.0$"),
        ({"t": np.inf}, r"t must be a real number >= 0 \(a finite diffusion time\); got inf$"),
        ({"D": -0.5}, "D must be >= 0"),
        ({"D": [[1.0, 0.5], [0.0, 1.0]]}, "D must be a symmetric"),
        ({"D": [[1.0, 2.0], [2.0, 1.0]]}, "positive semidefinite"),
        ({"D": np.eye(3)}, "D must be a scalar, a vector of 2"),
        ({"D": [[1.0, 1.0], [1.0, 1.0]]}, "positive definite when it has off-diagonal"),
        ({"D": lambda s: 1.0 - 2 * s}, r"D\(t\) at t=.* must be >= 0"),
        ({"D": np.nan}, "D must be finite"),
        ({"dx": 0.0}, r"dx must be a positive number or one positive spacing per axis \(2\); got 0.0"),
        ({"dx": [1.0, 2.0, 3.0]}, r"one positive spacing per axis \(2\); got \[1.0, 2.0, 3.0\]"),
    ],
)
def test_heat_kernel_rejects_bad_arguments(kwargs, match):
    args = {"t": 1.0, **kwargs}
    with pytest.raises(ValueError, match=match):
        heat_kernel((5, 5), **args)


def test_heat_kernel_rejects_bad_shape():
    with pytest.raises(ValueError, match=r"shape must be a positive int or a sequence of positive ints .*got \(0, 3\)"):
        heat_kernel((0, 3), 1.0)
    with pytest.raises(TypeError, match=r"shape must be a positive int or a sequence of positive ints; got \(3, 2.5\)"):
        heat_kernel((3, 2.5), 1.0)


# ---------------------------------------------------------------------------------------------
# diffuse: against scipy.ndimage.gaussian_filter


@pytest.mark.parametrize("boundary", sorted(NDIMAGE_MODE))
def test_diffuse_matches_gaussian_filter_on_a_photo(camera, boundary):
    t, D = 3.0, 1.5  # sigma = 3
    got = diffuse(camera, t, D, boundary=boundary, truncate=4.0, method="spatial", fill_value=0.25)
    ref = ndi.gaussian_filter(camera, 3.0, mode=NDIMAGE_MODE[boundary], truncate=4.0, cval=0.25)
    assert_close(got, ref)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_diffuse_matches_gaussian_filter_on_random_shapes(rng, dtype):
    for _ in range(4):
        shape = tuple(rng.integers(5, 40, size=rng.integers(1, 4)))
        x = rng.standard_normal(shape).astype(dtype)
        D = rng.uniform(0.1, 2.0, size=len(shape))  # one coefficient per axis
        t = float(rng.uniform(0.2, 3.0))
        got = diffuse(x, t, D, truncate=4.0)
        ref = ndi.gaussian_filter(x.astype(np.float64), np.sqrt(2 * D * t), mode="reflect", truncate=4.0)
        assert got.dtype == dtype
        assert_close(got, ref, dtype)


def test_diffuse_spectral_and_spatial_agree_for_wide_kernels(rng):
    x = rng.random((48, 64))
    for D in (2.5, np.array([[2.0, 0.6], [0.6, 1.0]])):  # sigma >= 3: aliasing below 1e-19
        spectral = diffuse(x, 4.0, D, boundary="wrap", method="spectral")
        spatial = diffuse(x, 4.0, D, boundary="wrap", method="spatial")
        assert_close(spectral, spatial, rel=1e-12)
    spectral = diffuse(x, 4.0, 2.5, boundary="symmetric", method="spectral")
    spatial = diffuse(x, 4.0, 2.5, boundary="symmetric", method="spatial")
    assert_close(spectral, spatial, rel=1e-12)


def test_diffuse_with_a_tensor_is_a_convolution_with_the_tilted_heat_kernel(rng):
    x = rng.random((30, 40))
    D = np.array([[1.0, -0.5], [-0.5, 0.8]])
    got = diffuse(x, 1.0, D, boundary="reflect", truncate=5.0)
    r0, r1 = int(5 * np.sqrt(2) + 0.5), int(5 * np.sqrt(1.6) + 0.5)
    k = heat_kernel((2 * r0 + 1, 2 * r1 + 1), 1.0, D)
    ref = scipy.signal.convolve(np.pad(x, ((r0, r0), (r1, r1)), mode="reflect"), k, "valid")
    assert_close(got, ref)


# ---------------------------------------------------------------------------------------------
# diffuse: against the independent finite-difference solver


def _smooth_field(n: int, boundary: str) -> tuple[np.ndarray, float]:
    """A smooth initial condition on [0, 1) sampled at cell centres, and its spacing."""
    dx = 1.0 / n
    s = (np.arange(n) + 0.5) * dx
    if boundary == "wrap":
        return np.exp(np.cos(2 * np.pi * s)) + np.sin(4 * np.pi * s), dx
    return np.cos(np.pi * s) + 0.5 * np.cos(3 * np.pi * s) ** 2, dx  # no flux at the walls


@pytest.mark.parametrize("boundary", ["wrap", "symmetric"])
def test_diffuse_agrees_with_crank_nicolson_to_second_order_in_dx(boundary):
    errors = []
    for n in (32, 64, 128):
        u0, dx = _smooth_field(n, boundary)
        exact = diffuse(u0, 0.01, 1.0, dx=dx, boundary=boundary)
        fd = heat_crank_nicolson(u0, 0.01, 1.0, dx=dx, steps=400, boundary=boundary)
        errors.append(np.abs(exact - fd).max())
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all((orders > 1.9) & (orders < 2.1)), (errors, orders)
    assert errors[-1] < 5e-4


def test_diffuse_agrees_with_the_explicit_scheme_to_second_order_in_dx():
    errors = []
    for n in (16, 32, 64):
        u0, dx = _smooth_field(n, "wrap")
        exact = diffuse(u0, 0.01, 0.5, dx=dx, boundary="wrap")
        # dt = dx^2 / 8: the O(dt) error stays below the O(dx^2) one
        fd = heat_explicit(u0, 0.01, 0.5, dx=dx, steps=int(0.01 * 8 / dx**2), boundary="wrap")
        errors.append(np.abs(exact - fd).max())
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(orders > 1.8), (errors, orders)


def test_tensor_and_time_varying_diffusion_agree_with_crank_nicolson():
    n = 48
    dx = 1.0 / n
    s = (np.arange(n) + 0.5) * dx
    u0 = np.exp(np.cos(2 * np.pi * s)[:, None] + np.sin(2 * np.pi * s)[None, :])
    tensor = np.array([[1.0, 0.4], [0.4, 0.6]])
    exact = diffuse(u0, 0.005, tensor, dx=dx, boundary="wrap")
    fd = heat_crank_nicolson(u0, 0.005, tensor, dx=dx, steps=40, boundary="wrap")
    assert np.abs(exact - fd).max() < 2e-3 * np.abs(u0).max()

    def D(time):
        return 0.5 + 100.0 * time  # the integral over [0, 0.005] is 0.00375

    exact = diffuse(u0, 0.005, D, dx=dx, boundary="wrap")
    fd = heat_crank_nicolson(u0, 0.005, D, dx=dx, steps=40, boundary="wrap")
    assert np.abs(exact - fd).max() < 2e-3 * np.abs(u0).max()
    constant = diffuse(u0, 0.005, 0.75, dx=dx, boundary="wrap")  # the same integral of D
    assert_close(exact, constant, rel=1e-9)


# ---------------------------------------------------------------------------------------------
# diffuse: invariants


@pytest.mark.parametrize("boundary", ["wrap", "symmetric"])
def test_diffuse_conserves_mass(camera, boundary):
    for method in ("spatial", "spectral"):
        out = diffuse(camera, 20.0, 1.0, boundary=boundary, method=method)
        assert out.sum() == pytest.approx(camera.sum(), rel=1e-12)


def test_diffuse_with_reflect_conserves_the_trapezoid_mass(rng):
    x = rng.random(50)
    out = diffuse(x, 30.0, boundary="reflect")
    weights = np.ones(50)
    weights[[0, -1]] = 0.5  # samples on the walls are half inside
    assert np.sum(out * weights) == pytest.approx(np.sum(x * weights), rel=1e-12)


def test_diffuse_with_a_constant_boundary_leaks_mass_into_the_medium(camera):
    out = diffuse(camera, 50.0, boundary="constant", fill_value=0.0)
    assert out.sum() < 0.99 * camera.sum()
    inflow = diffuse(np.zeros((20, 20)), 5.0, boundary="constant", fill_value=1.0)
    assert np.all(inflow > 0) and inflow[0, 0] > inflow[10, 10]  # mass enters at the walls first


def test_diffuse_is_a_semigroup(rng):
    x = rng.random((40, 30))
    assert_close(diffuse(diffuse(x, 1.2, boundary="wrap"), 0.8, boundary="wrap"), diffuse(x, 2.0, boundary="wrap"))


def test_diffuse_keeps_dtypes_and_inputs():
    x = np.arange(20, dtype=np.int16).reshape(4, 5)
    copy = x.copy()
    assert diffuse(x, 1.0).dtype == np.float64
    assert diffuse(x.astype(np.float32), 1.0).dtype == np.float32
    assert diffuse(x.astype(np.float32), 1.0, boundary="wrap").dtype == np.float32
    assert diffuse(x + 1j * x, 1.0).dtype == np.complex128
    np.testing.assert_array_equal(x, copy)
    out = diffuse(x, 0.0)
    assert out.dtype == np.float64 and np.array_equal(out, x)


def test_diffuse_over_chosen_axes_leaves_colour_channels_apart(rng):
    rgb = rng.random((20, 24, 3))
    out = diffuse(rgb, 2.0, axes=(0, 1))
    for c in range(3):
        assert_close(out[..., c], diffuse(rgb[..., c], 2.0))


@settings(max_examples=25, deadline=None)
@given(
    shape=st.lists(st.integers(1, 12), min_size=1, max_size=3),
    t=st.floats(0.0, 20.0),
    boundary=st.sampled_from(["wrap", "symmetric"]),
    seed=st.integers(0, 2**16),
)
def test_diffuse_is_a_positive_mass_conserving_average(shape, t, boundary, seed):
    x = np.random.default_rng(seed).random(shape)
    for method in ("spatial", "spectral"):
        out = diffuse(x, t, boundary=boundary, method=method)
        assert out.shape == x.shape
        assert out.sum() == pytest.approx(x.sum(), rel=1e-10)
    # the maximum principle holds for the sampled (positive) propagator; the spectral one is
    # exact for the band-limited interpolant, which may overshoot the samples for sigma < 1
    out = diffuse(x, t, boundary=boundary, method="spatial")
    eps = 1e-12 * max(1.0, x.max())
    assert out.min() >= x.min() - eps and out.max() <= x.max() + eps


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"t": -0.1}, r"t must be a real number >= 0 \(a finite diffusion time\); got -0.1$"),
        ({"D": -1.0}, "D must be >= 0"),
        ({"D": np.eye(3)}, "D must be a scalar, a vector of 2"),
        ({"boundary": "mirror"}, "boundary must be one of"),
        ({"method": "fast"}, "method must be one of 'auto', 'spectral', 'spatial'"),
        ({"truncate": 0.0}, "truncate must be a real number > 0"),
        ({"dx": -1.0}, r"dx must be a positive number or one positive spacing per axis \(2\); got -1.0"),
    ],
)
def test_diffuse_rejects_bad_arguments(kwargs, match):
    args = {"t": 1.0, **kwargs}
    with pytest.raises(ValueError, match=match):
        diffuse(np.ones((6, 6)), **args)


def test_diffuse_rejects_a_non_numeric_time():
    with pytest.raises(TypeError, match="t must be a real number"):
        diffuse(np.ones(5), "1")


def test_diffusion_refuses_spacings_of_the_wrong_kind_with_a_type_error():
    # the policy layer's check_spacing: a string or a bool is a wrong kind, not a wrong value
    for dx in ("fine", True, (1.0, "2")):
        with pytest.raises(TypeError, match=r"^dx must be a positive number or one positive spacing per axis \(2\)"):
            diffuse(np.ones((6, 6)), 1.0, dx=dx)
        with pytest.raises(TypeError, match=r"^dx must be a positive number"):
            heat_kernel((3, 3), 1.0, dx=dx)


# ---------------------------------------------------------------------------------------------
# diffuse_steps


def _passes(x, k, n, boundary):
    for _ in range(n):
        x = convolve(x, k, "same", boundary=boundary)
    return x


def test_diffuse_steps_with_wrap_equals_n_passes(rng):
    x = rng.random((17, 22))
    k = rng.random((3, 4))  # asymmetric, even size: checks the 'same' centring
    k /= k.sum()
    assert_close(diffuse_steps(x, k, 7, boundary="wrap"), _passes(x, k, 7, "wrap"))


@pytest.mark.parametrize("boundary", ["symmetric", "reflect"])
def test_diffuse_steps_with_mirror_walls_equals_n_passes_for_symmetric_kernels(rng, boundary):
    x = rng.random((13, 19))
    k = np.outer([1, 2, 4, 2, 1], [1, 3, 1]).astype(float)
    k /= k.sum()
    assert_close(diffuse_steps(x, k, 9, boundary=boundary), _passes(x, k, 9, boundary))
    if boundary == "symmetric":  # closed walls for cell-centred samples: mass is conserved
        assert diffuse_steps(x, k, 9, boundary=boundary).sum() == pytest.approx(x.sum(), rel=1e-12)


@pytest.mark.parametrize("boundary", ["constant", "edge", "symmetric"])
def test_diffuse_steps_otherwise_walks_on_the_extended_image(rng, boundary):
    x = rng.random((15, 12))
    k = rng.random((3, 3))  # not mirror-symmetric, so 'symmetric' takes this path too
    k /= k.sum()
    n = 4
    kn = k
    for _ in range(n - 1):
        kn = scipy.signal.convolve(kn, k)  # the n-fold kernel, 2n + 1 wide
    ref = scipy.signal.convolve(np.pad(x, n, mode=boundary), kn, "valid")
    assert_close(diffuse_steps(x, k, n, boundary=boundary), ref)


def test_n_steps_have_n_times_the_mean_and_covariance(rng):
    k = rng.random((3, 5))
    k /= k.sum()
    delta = np.zeros((121, 121))
    delta[60, 60] = 1.0
    mean_k, cov_k = moments(k)
    for n in (1, 6, 25):
        p = diffuse_steps(delta, k, n, boundary="wrap")
        mean, cov = moments(p)
        assert_close(mean, n * mean_k, rel=1e-10)
        assert_close(cov, n * cov_k, rel=1e-10)


def test_n_steps_converge_to_the_gaussian_propagator():
    """The central limit theorem: the walk's distribution tends to the heat kernel."""
    k = np.outer([1, 1, 1], [1, 2, 1]) / 12.0  # variances 2/3 and 1/2
    delta = np.zeros((101, 101))
    delta[50, 50] = 1.0
    errors = []
    for n in (4, 16, 64):
        p = diffuse_steps(delta, k, n, boundary="wrap")
        # 2 D t = n var(k) per axis: t = n / 2 with D the per-axis variances
        g = heat_kernel((101, 101), n / 2, [2 / 3, 1 / 2])
        errors.append(np.abs(p - g).max() / g.max())
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 5e-3
    assert errors[0] / errors[2] > 10  # ~1/n for a symmetric kernel (no skewness term)


def test_mass_flows_toward_the_heavy_side_of_the_kernel():
    delta = np.zeros(41)
    delta[20] = 1.0
    drift = np.array([0.1, 0.3, 0.6])  # more weight at offset +1 (index 2 of a centred 3-tap)
    p = diffuse_steps(delta, drift, 10, boundary="wrap")
    mean, _ = moments(p)
    assert mean[0] == pytest.approx(10 * 0.5, rel=1e-12)  # each step moves +0.5 on average
    assert p[21:].sum() > p[:20].sum()


def test_diffuse_steps_keeps_dtypes_and_inputs(rng):
    x = rng.random((8, 9)).astype(np.float32)
    k = BLUR.copy()
    copies = x.copy(), k.copy()
    out = diffuse_steps(x, k, 3)
    assert out.dtype == np.float32
    assert_close(out, _passes(x.astype(np.float64), k, 3, "symmetric"), np.float32)
    np.testing.assert_array_equal(x, copies[0])
    np.testing.assert_array_equal(k, copies[1])
    assert np.array_equal(diffuse_steps(x, k, 0), x)
    assert diffuse_steps(np.arange(9), [0.5, 0.5], 2).dtype == np.float64


@pytest.mark.parametrize(
    ("kernel", "n", "match"),
    [
        (BLUR * 2, 1, r"sum to 2\.0.*kernel / kernel\.sum\(\) or propagator\(kernel\)"),
        (EDGE, 1, r"negative entries.*propagator\(kernel\)"),
        (np.array([[0.5, np.nan]]), 1, "kernel must be finite"),
        (BLUR, -1, "n must be an integer >= 0"),
        (np.ones(3) / 3, 1, "kernel must have one dimension per diffused axis"),
    ],
)
def test_diffuse_steps_rejects_bad_arguments(kernel, n, match):
    with pytest.raises(ValueError, match=match):
        diffuse_steps(np.ones((5, 5)), kernel, n)


def test_diffuse_steps_rejects_a_fractional_step_count():
    with pytest.raises(TypeError, match=r"n must be an integer >= 0; got 2.5 \(float\)"):
        diffuse_steps(np.ones((5, 5)), BLUR, 2.5)


# ---------------------------------------------------------------------------------------------
# propagator and the essay's quiz


def test_the_essays_edge_detector_as_a_propagator():
    p = propagator(EDGE)
    assert p[1, 1] == pytest.approx(np.exp(8) / (np.exp(8) + 8 * np.exp(-1)), rel=1e-14)
    neighbours = np.delete(p.ravel(), 4)
    assert np.allclose(neighbours, 1.23e-4, rtol=0.01)  # the essay's "0.0001 values"
    assert is_propagator(p) and not is_propagator(EDGE)


def test_the_essays_quiz_mass_spreads_under_the_blur_and_stays_under_the_edge_detector():
    delta = np.zeros((41, 41))
    delta[20, 20] = 1.0
    blur, edge = propagator(BLUR), propagator(EDGE)
    # the softmax of the blur is nearly uniform: "the information diffuses nearly equally"
    assert blur.min() > 0.105 and blur.max() < 0.13
    stays_edge = diffuse_steps(delta, edge, 1)[20, 20]
    stays_blur = diffuse_steps(delta, BLUR, 1)[20, 20]
    assert stays_edge > 0.998  # the edge detector's propagator keeps the mass in place
    assert stays_blur == pytest.approx(0.25)  # the blur sends 3/4 of it to the neighbours
    # after 10 steps the blur has spread the salt over a wide area, the edge detector has not
    _, cov_blur = moments(diffuse_steps(delta, BLUR, 10))
    _, cov_edge = moments(diffuse_steps(delta, edge, 10))
    assert cov_blur[0, 0] == pytest.approx(10 * 0.5, rel=1e-10)
    assert cov_edge[0, 0] < 0.01 * cov_blur[0, 0]


def test_propagator_matches_scipy_softmax(rng):
    for _ in range(5):
        k = rng.normal(scale=5, size=tuple(rng.integers(1, 6, size=2)))
        temperature = float(rng.uniform(0.1, 10))
        assert_close(propagator(k, temperature), scipy.special.softmax(k / temperature), rel=1e-13)


def test_propagator_is_stable_for_huge_values():
    p = propagator(np.array([[1e4, -1e4], [1e4 - 1, 3.0]]))
    assert np.all(np.isfinite(p)) and p.sum() == pytest.approx(1.0)
    assert p[0, 0] == pytest.approx(1 / (1 + np.exp(-1)), rel=1e-12)
    p32 = propagator(np.array([-1e4, 1e4], np.float32))
    assert p32.dtype == np.float32 and p32.tolist() == [0.0, 1.0]


def test_temperature_moves_between_argmax_and_uniform():
    k = np.array([0.0, 1.0, 3.0, 2.0])
    assert propagator(k, 1e-3)[2] == pytest.approx(1.0)
    assert_close(propagator(k, 1e6), np.full(4, 0.25), rel=1e-5)


@pytest.mark.parametrize(
    ("kernel", "temperature", "match"),
    [
        ([1.0, np.inf], 1.0, "kernel must be finite"),
        ([1.0, 2.0], 0.0, r"temperature must be a real number > 0 \(a finite softmax temperature\); got 0.0$"),
        ([1.0, 2.0], np.inf, r"temperature must be a real number > 0 \(a finite softmax temperature\); got inf$"),
    ],
)
def test_propagator_rejects_bad_arguments(kernel, temperature, match):
    with pytest.raises(ValueError, match=match):
        propagator(kernel, temperature)


def test_is_propagator():
    assert is_propagator(BLUR)
    assert is_propagator(BLUR.astype(np.float32))
    assert not is_propagator(BLUR * 1.01)
    assert is_propagator(BLUR * 1.01, atol=0.02)
    assert not is_propagator([0.5, np.nan, 0.5])
    assert not is_propagator([1.5, -0.5])
    assert is_propagator(np.full(1000, 1e-3))
    assert tol_for(np.float64) < 1e-10  # the table the tolerances above lean on


# ---------------------------------------------------------------------------------------------
# non-finite data (issue 10): the same answer for every method and boundary


def _spoiled(rng, shape):
    x = rng.standard_normal(shape)
    flat = x.reshape(-1)
    idx = rng.choice(flat.size, 4, replace=False)
    flat[idx[:2]] = np.nan
    flat[idx[2]] = np.inf
    flat[idx[3]] = -np.inf
    return x


@pytest.mark.parametrize("boundary", sorted(NDIMAGE_MODE))
@pytest.mark.parametrize("policy", ["propagate", "interpolate"])
def test_diffuse_nonfinite_equals_engine_for_every_method(rng, boundary, policy):
    x = _spoiled(rng, (90, 84))
    t = 2.0  # sigma 2: spectral and sampled propagators differ by exp(-pi^2 sigma^2 / 2) ~ 3e-9
    r = int(8.2 * 2 + 0.5)
    kernel = np.outer(*(2 * [heat_kernel(2 * r + 1, t)]))
    ref = convolve(x, kernel, "same", boundary=boundary, fill_value=0.5, nan_policy=policy, method="direct")
    for method in ("auto", "spatial", "spectral"):
        got = diffuse(x, t, boundary=boundary, fill_value=0.5, nan_policy=policy, method=method)
        fin = np.isfinite(ref)
        np.testing.assert_array_equal(np.isnan(got), np.isnan(ref), err_msg=method)
        np.testing.assert_array_equal(got[np.isinf(ref)], ref[np.isinf(ref)], err_msg=method)
        assert_close(np.where(fin, got, 0), np.where(fin, ref, 0), rel=1e-7, err_msg=method)
    if policy == "propagate":
        assert np.isfinite(got).any() and not np.isfinite(got).all()  # local, not everywhere
    else:
        assert np.isfinite(got).all()  # every window holds finite samples


def test_diffuse_one_nan_stays_local_with_wrap_and_spectral(rng):
    # the example: method='spectral' and boundary='wrap' used to raise
    x = rng.random((64, 64))
    x[30, 30] = np.nan
    for kwargs in ({"method": "spatial"}, {"method": "spectral"}, {"boundary": "wrap"}):
        got = diffuse(x, 0.5, **kwargs)  # sigma 1, radius 8
        expect = ndi.maximum_filter(np.isnan(x), size=17, mode="wrap" if kwargs.get("boundary") else "reflect")
        np.testing.assert_array_equal(np.isnan(got), expect, err_msg=str(kwargs))
    for kwargs in ({"method": "spatial"}, {"method": "spectral"}, {"boundary": "wrap"}, {"t": 0.0}):
        with pytest.raises(ValueError, match=r"image must be finite; got 1 NaN .* index \(30, 30\)"):
            diffuse(x, **{"t": 0.5, **kwargs}, nan_policy="raise")


def test_diffuse_steps_nan_policy(rng):
    x = rng.random((32, 32))
    x[3, 4] = np.nan
    blur = np.outer([1, 2, 1], [1, 2, 1]) / 16
    got = diffuse_steps(x, blur, 3, boundary="wrap")  # reach 3 steps x radius 1
    np.testing.assert_array_equal(np.isnan(got), ndi.maximum_filter(np.isnan(x), size=7, mode="wrap"))
    for boundary in ("wrap", "symmetric", "edge"):
        with pytest.raises(ValueError, match=r"image must be finite; got 1 NaN .* index \(3, 4\)"):
            diffuse_steps(x, blur, 3, boundary=boundary, nan_policy="raise")


# ---------------------------------------------------------------------------------------------
# any t (issue 11, case 9): cost independent of t, equilibrium reached


@pytest.mark.parametrize("boundary", sorted(NDIMAGE_MODE))
def test_diffuse_long_times_match_gaussian_filter(rng, boundary):
    x = rng.random((50, 40))
    for sigma in (30.0, 300.0, 1e4):
        t = sigma**2 / 2
        ref = ndi.gaussian_filter(x, sigma, mode=NDIMAGE_MODE[boundary], cval=0.25)
        got = diffuse(x, t, boundary=boundary, truncate=4.0, fill_value=0.25, method="spatial")
        assert_close(got, ref, rel=1e-12, err_msg=f"sigma {sigma}")
        spectral = diffuse(x, t, boundary=boundary, truncate=4.0, fill_value=0.25, method="spectral")
        assert_close(spectral, got, rel=1e-4, err_msg=f"spectral, sigma {sigma}")  # truncation at 4 sigma


@pytest.mark.parametrize("method", ["spatial", "spectral"])
@pytest.mark.parametrize("t", [1e4, 1e9, 1e15])
def test_diffuse_reaches_equilibrium_for_any_t(rng, method, t):
    x = rng.random((30, 24))
    close = {"rel": 1e-9}
    mean = np.full_like(x, x.mean())
    assert_close(diffuse(x, t, boundary="wrap", method=method), mean, **close)
    assert_close(diffuse(x, t, boundary="symmetric", method=method), mean, **close)
    trapezoid = x.copy()  # 'reflect' conserves the trapezoid-weighted mass (end samples count half)
    trapezoid[[0, -1], :] /= 2
    trapezoid[:, [0, -1]] /= 2
    tmean = trapezoid.sum() / (29 * 23)
    assert_close(diffuse(x, t, boundary="reflect", method=method), np.full_like(x, tmean), **close)
    # an infinite medium at 0.3 and one that holds the edge values: the image's share falls as n / sigma
    share = 60 / np.sqrt(2 * t)
    assert_close(diffuse(x, t, boundary="constant", fill_value=0.3, method=method), np.full_like(x, 0.3), rel=share)
    corners = x[[0, 0, -1, -1], [0, -1, 0, -1]].mean()
    assert_close(diffuse(x, t, boundary="edge", method=method), np.full_like(x, corners), rel=share)


def test_diffuse_float32_any_t_keeps_dtype(rng):
    x = rng.random((20, 30)).astype(np.float32)
    for t in (0.5, 50.0, 5e3, 5e8):
        for boundary in sorted(NDIMAGE_MODE):
            got = diffuse(x, t, boundary=boundary)
            assert got.dtype == np.float32
            ref = diffuse(x.astype(np.float64), t, boundary=boundary, truncate=5.3)
            assert_close(got, ref, np.float32)


# ---------------------------------------------------------------------------------------------
# dtypes and sizes (issue 10)


def test_diffusion_dtype_rule(rng):
    x = rng.random((12, 10))
    for fn in (lambda a: diffuse(a, 2.0), lambda a: diffuse_steps(a, np.ones((3, 3)) / 9, 4)):
        assert fn(x.astype(np.float16)).dtype == np.float16
        got = fn(x.astype(">f4"))
        assert got.dtype == np.float32 and got.dtype.isnative
        assert_close(got, fn(x), np.float32)
        with pytest.raises(TypeError, match=r"longdouble|float128"):
            fn(x.astype(np.longdouble))


def test_diffusion_sizes_are_refused_up_front(rng):
    from convlens import InsufficientMemoryError

    with pytest.raises(InsufficientMemoryError, match=r"^heat_kernel: "):
        heat_kernel((200000, 200000), 1)
    with pytest.raises(InsufficientMemoryError, match=r"^diffuse: "):  # a tilted propagator has no fold
        diffuse(rng.random((8, 8)), 1e12, D=[[1.0, 0.5], [0.5, 1.0]], method="spatial")


def test_propagator_dtype_rule():
    k = np.array([[1.0, 2.0], [3.0, 4.0]])
    ref = propagator(k)
    for dtype, out in [(">f4", np.float32), (np.float16, np.float16), (np.float32, np.float32), (np.int16, np.float64)]:
        got = propagator(k.astype(dtype))
        assert got.dtype == out and got.dtype.isnative
        assert_close(got, ref, np.float16 if out == np.float16 else np.float32)
    with pytest.raises(TypeError, match=r"kernel has dtype (float128|longdouble)"):
        propagator(k.astype(np.longdouble))


def test_tilted_diffusion_wider_than_the_image_reaches_the_mean(rng):
    x = rng.random((12, 10))
    tensor = [[1.0, 0.5], [0.5, 1.0]]
    for boundary in ("symmetric", "wrap"):
        got = diffuse(x, 1e9, D=tensor, boundary=boundary)  # 'auto': the mirror period, any t
        assert_close(got, np.full_like(x, x.mean()), rel=1e-9)


@pytest.mark.parametrize("boundary", ["reflect", "symmetric", "wrap", "constant"])
def test_diffuse_steps_refuses_a_huge_image_up_front_naming_itself(boundary):
    """A broadcast 200000² view costs nothing until copied: its mirror extension must be refused, not attempted."""
    from convlens._validation import InsufficientMemoryError

    huge = np.broadcast_to(np.float32(1), (200_000, 200_000))
    with pytest.raises(InsufficientMemoryError, match=r"^diffuse_steps: .*about \d+\.\d\d GiB"):
        diffuse_steps(huge, BLUR, 3, boundary=boundary)
