"""The engine against its definition: ``np.pad`` + ``scipy.signal.convolve`` (+ scipy's crop).

Every mode x boundary x method on random shapes from 1-D to 4-D, kernels larger and
smaller than the input, odd and even kernels, axes subsets with broadcasting, complex
inputs, correlation with scipy's lag convention, and Hypothesis properties.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from _engine_ref import BOUNDARIES, METHODS, MODES, ref_convolve, ref_correlate
from conftest import assert_close
from convlens import convolve, correlate

FILL = 0.75  # a non-zero fill value, so that 'constant' is not silently treated as zero padding


def _random_case(rng, ndim: int, mode: str):
    """Random x and kernel shapes; kernels are sometimes larger than x (not in 'valid')."""
    max_n = {1: 17, 2: 9, 3: 6, 4: 5}[ndim]
    xs = tuple(int(v) for v in rng.integers(1, max_n + 1, ndim))
    if mode == "valid":
        ks = tuple(int(rng.integers(1, n + 1)) for n in xs)
    else:
        ks = tuple(int(rng.integers(1, n + 4)) for n in xs)  # up to 3 taps longer than x
    return rng.standard_normal(xs), rng.standard_normal(ks)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("mode", MODES)
def test_matches_padded_scipy_definition(rng, mode, boundary, method):
    larger = 0
    for ndim in (1, 1, 2, 2, 3, 4):
        x, k = _random_case(rng, ndim, mode)
        larger += any(a < b for a, b in zip(x.shape, k.shape))
        got = convolve(x, k, mode, boundary=boundary, fill_value=FILL, method=method)
        ref = ref_convolve(x, k, mode, boundary=boundary, fill_value=FILL)
        assert got.dtype == np.float64
        assert_close(got, ref, err_msg=f"x {x.shape} k {k.shape}")
    if mode != "valid":
        assert larger, "the random cases should include a kernel larger than x"


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("mode", ["full", "same"])  # 'valid' refuses it (tested in test_engine_errors)
def test_kernel_larger_than_input(rng, mode, method):
    for boundary in BOUNDARIES:
        x, k = rng.standard_normal((3, 4)), rng.standard_normal((8, 11))
        got = convolve(x, k, mode, boundary=boundary, fill_value=FILL, method=method)
        assert_close(got, ref_convolve(x, k, mode, boundary=boundary, fill_value=FILL), err_msg=boundary)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("mode", MODES)
def test_constant_boundary_equals_scipy_directly(rng, mode, method):
    for ndim in (1, 2, 3):
        x, k = _random_case(rng, ndim, mode)
        assert_close(convolve(x, k, mode, method=method), scipy.signal.convolve(x, k, mode, method="direct"))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("mode", MODES)
def test_odd_and_even_kernels_centring(rng, mode, method):
    """scipy's centring for 'same' is offset (K-1)//2 — also for even K; check K = 1..12 on n = 9."""
    x = rng.standard_normal(9)
    for K in range(1, 13):
        if mode == "valid" and K > 9:
            continue
        k = rng.standard_normal(K)
        got = convolve(x, k, mode, method=method)
        ref = scipy.signal.convolve(x, k, mode, method="direct")
        assert got.shape == ref.shape, f"K={K}"
        assert_close(got, ref, err_msg=f"K={K}")
    # 2-D with one odd and one even axis
    x2 = rng.standard_normal((7, 8))
    for ks in [(2, 3), (3, 2), (4, 4), (5, 6)]:
        k2 = rng.standard_normal(ks)
        assert_close(convolve(x2, k2, mode, method=method), scipy.signal.convolve(x2, k2, mode), err_msg=str(ks))


def test_same_mode_keeps_x_shape_for_every_boundary(rng):
    x = rng.standard_normal((5, 6, 3))
    for boundary in BOUNDARIES:
        for ks in [(1, 1, 1), (2, 3, 4), (9, 2, 7)]:
            assert convolve(x, rng.standard_normal(ks), "same", boundary=boundary).shape == x.shape


# -- axes ---------------------------------------------------------------------------------------------------------


AXES_CASES = [
    # x shape, kernel shape, axes
    ((4, 9), (1, 3), (1,)),  # batch of 1-D rows, kernel broadcast on axis 0
    ((4, 9), (4, 3), (1,)),  # one kernel per row
    ((1, 9), (4, 3), (1,)),  # x broadcast on axis 0
    ((3, 7, 6), (3, 2, 4), (-2, -1)),  # negative axes, per-batch kernels
    ((3, 7, 6), (1, 5, 1), (1,)),
    ((5, 2, 6, 3), (1, 2, 4, 3), (0, 2)),
    ((5, 2, 6, 3), (1, 1, 4, 1), (-2,)),
    ((2, 3, 4, 5), (3, 3, 3, 3), (0, 1, 2, 3)),
]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("boundary", BOUNDARIES)
@pytest.mark.parametrize("mode", MODES)
def test_axes_subsets_with_broadcasting(rng, mode, boundary, method):
    for xs, ks, axes in AXES_CASES:
        if mode == "valid" and any(ks[a] > xs[a] for a in axes):
            continue
        x, k = rng.standard_normal(xs), rng.standard_normal(ks)
        got = convolve(x, k, mode, axes=axes, boundary=boundary, fill_value=FILL, method=method)
        ref = ref_convolve(x, k, mode, axes=axes, boundary=boundary, fill_value=FILL)
        assert_close(got, ref, err_msg=f"x {xs} k {ks} axes {axes}")


def test_axes_against_scipy_fftconvolve_axes(rng):
    """Without boundary extension, convolve(axes=...) is scipy.signal.fftconvolve(axes=...).

    (scipy crops 'same' to x's own shape, also on a broadcast axis where x has size 1 and the
    kernel more; convlens keeps the broadcast size there, like 'full' and 'valid' — not compared.)
    """
    for xs, ks, axes in AXES_CASES:
        x, k = rng.standard_normal(xs), rng.standard_normal(ks)
        for mode in MODES:
            if mode == "valid" and any(ks[a] > xs[a] for a in axes):
                continue
            if mode == "same" and any(xs[a] < ks[a] for a in range(len(xs)) if a not in [b % len(xs) for b in axes]):
                continue
            assert_close(convolve(x, k, mode, axes=axes), scipy.signal.fftconvolve(x, k, mode, axes=axes))


@pytest.mark.parametrize("method", METHODS)
def test_kernel_with_fewer_dims_on_named_axes(rng, method):
    x = rng.standard_normal((3, 8, 9))
    k2 = rng.standard_normal((3, 4))
    for axes in [(1, 2), (-2, -1), (0, 2), (2, 0)]:
        ax = sorted(a % 3 for a in axes)
        shape = [1, 1, 1]
        shape[ax[0]], shape[ax[1]] = k2.shape
        for mode in MODES:
            got = convolve(x, k2, mode, axes=axes, boundary="reflect", method=method)
            ref = convolve(x, k2.reshape(shape), mode, axes=axes, boundary="reflect", method="direct")
            assert_close(got, ref, err_msg=f"axes {axes}")
            assert_close(got, ref_convolve(x, k2, mode, axes=axes, boundary="reflect"), err_msg=f"axes {axes}")
    k1 = rng.standard_normal(5)
    assert_close(convolve(x, k1, "same", axes=-1, method=method), ref_convolve(x, k1, "same", axes=-1))
    assert_close(convolve(x, k1, "full", axes=0, method=method), ref_convolve(x, k1, "full", axes=0))


# -- complex ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_complex_inputs(rng, boundary, method):
    def c(shape):
        return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)

    cases = [(c((11,)), c((4,))), (c((6, 7)), rng.standard_normal((3, 2))), (rng.standard_normal((6, 5)), c((2, 3)))]
    for x, k in cases:
        for mode in MODES:
            got = convolve(x, k, mode, boundary=boundary, fill_value=0.5 - 0.25j, method=method)
            assert got.dtype == np.complex128
            assert_close(got, ref_convolve(x, k, mode, boundary=boundary, fill_value=0.5 - 0.25j))


# -- correlate ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("mode", MODES)
def test_correlate_equals_scipy_correlate(rng, mode, method):
    for ndim in (1, 2, 3):
        x, t = _random_case(rng, ndim, mode)
        assert_close(correlate(x, t, mode, method=method), scipy.signal.correlate(x, t, mode, method="direct"))
        # complex: scipy conjugates the template
        xc = x + 1j * rng.standard_normal(x.shape)
        tc = t - 0.5j * rng.standard_normal(t.shape)
        got = correlate(xc, tc, mode, method=method)
        assert_close(got, scipy.signal.correlate(xc, tc, mode, method="direct"))
        assert_close(got, convolve(xc, np.conj(np.flip(tc)), mode, method=method))


def test_correlate_lags_locate_a_shift(rng):
    """The lag convention: with scipy.signal.correlation_lags, the peak is at the true shift."""
    x = rng.standard_normal(200)
    for shift in (-37, 0, 12, 45):
        y = np.roll(x, shift)
        for mode in MODES:
            c = correlate(y, x[50:150], mode, method="fft")
            lags = scipy.signal.correlation_lags(200, 100, mode)
            assert lags[np.argmax(c)] == 50 + shift


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_correlate_with_boundaries_and_axes(rng, boundary, method):
    x = rng.standard_normal((4, 10, 9)) + 1j * rng.standard_normal((4, 10, 9))
    t = rng.standard_normal((3, 4)) + 1j * rng.standard_normal((3, 4))
    for mode in MODES:
        got = correlate(x, t, mode, axes=(1, 2), boundary=boundary, fill_value=1.5, method=method)
        assert_close(got, ref_correlate(x, t, mode, axes=(1, 2), boundary=boundary, fill_value=1.5))


# -- Hypothesis properties ----------------------------------------------------------------------------------------

PROPS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def _shapes(draw, max_ndim=3, valid=False):
    ndim = draw(st.integers(1, max_ndim))
    xs = tuple(draw(st.integers(1, 10 if ndim < 3 else 5)) for _ in range(ndim))
    if valid:
        ks = tuple(draw(st.integers(1, n)) for n in xs)
    else:
        ks = tuple(draw(st.integers(1, 8 if ndim < 3 else 4)) for _ in range(ndim))
    return xs, ks


@PROPS
@given(
    data=_shapes(),
    seed=st.integers(0, 2**32 - 1),
    mode=st.sampled_from(["full", "same"]),
    boundary=st.sampled_from(BOUNDARIES),
    method=st.sampled_from(METHODS),
    a=st.floats(-3, 3),
    b=st.floats(-3, 3),
)
def test_property_linearity(data, seed, mode, boundary, method, a, b):
    xs, ks = data
    rng = np.random.default_rng(seed)
    x, y, k = rng.standard_normal(xs), rng.standard_normal(xs), rng.standard_normal(ks)
    # fill_value 0 (constant boundary with a non-zero fill is affine, not linear)
    lhs = convolve(a * x + b * y, k, mode, boundary=boundary, method=method)
    rhs = a * convolve(x, k, mode, boundary=boundary, method=method) + b * convolve(
        y, k, mode, boundary=boundary, method=method
    )
    assert_close(lhs, rhs, rel=1e-10)


@PROPS
@given(data=_shapes(), seed=st.integers(0, 2**32 - 1), method=st.sampled_from(METHODS))
def test_property_commutativity_full_constant(data, seed, method):
    xs, ks = data
    rng = np.random.default_rng(seed)
    x, k = rng.standard_normal(xs), rng.standard_normal(ks)
    assert_close(convolve(x, k, "full", method=method), convolve(k, x, "full", method=method))


@PROPS
@given(
    data=_shapes(),
    seed=st.integers(0, 2**32 - 1),
    boundary=st.sampled_from(BOUNDARIES),
    method=st.sampled_from(METHODS),
)
def test_property_identity_kernel(data, seed, boundary, method):
    """A unit impulse at scipy's 'same' centre ((K-1)//2, also for even K) returns x, whatever the boundary."""
    xs, ks = data
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(xs)
    delta = np.zeros(ks)
    delta[tuple((k - 1) // 2 for k in ks)] = 1
    assert_close(convolve(x, delta, "same", boundary=boundary, fill_value=FILL, method=method), x)
    # in 'full' mode with a zero boundary an impulse at index m shifts x by m
    m = tuple(int(rng.integers(0, k)) for k in ks)
    impulse = np.zeros(ks)
    impulse[m] = 1
    full = convolve(x, impulse, "full", method=method)
    expected = np.zeros(full.shape)
    expected[tuple(slice(mi, mi + n) for mi, n in zip(m, xs))] = x
    assert_close(full, expected)


@PROPS
@given(
    data=_shapes(max_ndim=2),
    seed=st.integers(0, 2**32 - 1),
    method=st.sampled_from(METHODS),
    shift=st.integers(-20, 20),
)
def test_property_shift_equivariance_wrap(data, seed, method, shift):
    """With the periodic boundary, 'same' convolution commutes with circular shifts of x."""
    xs, ks = data
    rng = np.random.default_rng(seed)
    x, k = rng.standard_normal(xs), rng.standard_normal(ks)
    y = convolve(x, k, "same", boundary="wrap", method=method)
    ys = convolve(np.roll(x, shift, axis=-1), k, "same", boundary="wrap", method=method)
    assert_close(ys, np.roll(y, shift, axis=-1))


@PROPS
@given(
    data=st.sampled_from(MODES).flatmap(lambda m: st.tuples(st.just(m), _shapes(valid=m == "valid"))),
    seed=st.integers(0, 2**32 - 1),
    boundary=st.sampled_from(BOUNDARIES),
    cplx=st.booleans(),
)
def test_property_methods_agree(data, seed, boundary, cplx):
    mode, (xs, ks) = data
    rng = np.random.default_rng(seed)
    x, k = rng.standard_normal(xs), rng.standard_normal(ks)
    if cplx:
        x = x + 1j * rng.standard_normal(xs)
    results = {m: convolve(x, k, mode, boundary=boundary, fill_value=-1.25, method=m) for m in (*METHODS, "auto")}
    for m, r in results.items():
        assert_close(r, results["direct"], err_msg=m)
    assert_close(results["direct"], ref_convolve(x, k, mode, boundary=boundary, fill_value=-1.25))


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_long_signals_many_overlap_add_blocks(rng, boundary):
    """Inputs many kernel lengths long: overlap-add cuts them into many blocks (1-D, and 2-D along either axis)."""
    x1, k1 = rng.standard_normal(5000), rng.standard_normal(100)
    x2, k2 = rng.standard_normal((600, 40)), rng.standard_normal((31, 5))
    x3, k3 = rng.standard_normal((12, 700)), rng.standard_normal((3, 40))
    for mode in MODES:
        for x, k in ((x1, k1), (x2, k2), (x3, k3)):
            ref = ref_convolve(x, k, mode, boundary=boundary, fill_value=FILL)
            for method in METHODS:
                got = convolve(x, k, mode, boundary=boundary, fill_value=FILL, method=method)
                assert_close(got, ref, err_msg=f"{x.shape} {method}")
