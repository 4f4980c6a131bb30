"""Bad input (issue 2, "Bad input"): each a ValueError/TypeError naming the argument and what is allowed.

Also: calls whose FFT would not fit in memory are refused up front with the estimate
(InsufficientMemoryError, a MemoryError and a ValueError), and inputs are never modified.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from _engine_ref import BOUNDARIES, METHODS, MODES
from convlens import Convolver, choose_method, convolve, convolve_channels, correlate
from convlens._validation import InsufficientMemoryError, default_workers

FUNCS = [convolve, correlate]


def _plan_call(x, k, mode="full", **kw):
    """Convolver built for x's shape and called on x (the plan's path to the same checks)."""
    x = np.asarray(x)
    return Convolver(k, x.shape, mode, **kw)(x)


ALL = [convolve, correlate, _plan_call]


# -- wrong ndim ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("f", FUNCS)
def test_scalar_inputs_are_refused(f):
    with pytest.raises(ValueError, match=r"^x must have at least one dimension.*0-d"):
        f(3.0, [1.0, 2.0])
    with pytest.raises(ValueError, match=r"^(kernel|template) must have at least one dimension|^kernel must"):
        f([1.0, 2.0], 2.0)


@pytest.mark.parametrize("f", ALL)
def test_kernel_with_more_dims_than_x(f):
    with pytest.raises(ValueError, match=re.escape("kernel has more dimensions (3) than x (2)")):
        f(np.ones((4, 5)), np.ones((2, 2, 2)))


@pytest.mark.parametrize("f", ALL)
def test_kernel_with_fewer_dims_needs_matching_axes(f):
    with pytest.raises(ValueError, match=r"kernel has 1 dimensions and x has 2.*axes="):
        f(np.ones((4, 5)), np.ones(2))
    with pytest.raises(ValueError, match=r"kernel has 2 dimensions and x has 3.*axes= naming 2 axes"):
        f(np.ones((3, 4, 5)), np.ones((2, 2)), axes=(0,))


def test_plan_called_with_the_wrong_shape():
    plan = Convolver(np.ones(2), (4,))
    with pytest.raises(ValueError, match=r"x must have the shape this plan was made for, \(4,\); got \(5,\)"):
        plan(np.ones(5))
    with pytest.raises(ValueError, match=r"x must have the shape this plan was made for"):
        plan(np.ones((4, 1)))


@pytest.mark.parametrize("shape", [(4, -1), (), (0,), (3, 0)])
def test_plan_shape_must_be_positive(shape):
    with pytest.raises(ValueError, match=r"^shape must be a positive int or a sequence of positive ints \(non-empty"):
        Convolver(np.ones(2), shape)


@pytest.mark.parametrize("shape", [None, 3.5j, (8.5,), (4, 2.0), (True, 3)])
def test_plan_shape_must_be_a_sequence_of_ints(shape):
    """A float entry is a TypeError naming shape, never truncated silently ((8.5,) is not (8,))."""
    with pytest.raises(TypeError, match=r"^shape must be a positive int or a sequence of positive ints; got"):
        Convolver(np.ones(2), shape)


def test_plan_shape_accepts_numpy_integers_and_a_bare_int():
    x = np.arange(8.0)
    for shape in ((np.int64(8),), 8):
        np.testing.assert_array_equal(Convolver(np.ones(2), shape, "same")(x), convolve(x, np.ones(2), "same"))


def test_plan_shape_of_strings_names_the_argument():
    with pytest.raises((TypeError, ValueError), match=r"shape"):
        Convolver(np.ones(2), "ab")


# -- empty --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("f", ALL)
@pytest.mark.parametrize("shape", [(0,), (3, 0), (0, 0, 2)])
def test_empty_arrays_are_refused(f, shape):
    # (a plan names its ``shape`` argument instead of x)
    with pytest.raises(
        ValueError,
        match=r"^x must not be empty; got shape|^shape must be a positive int or a sequence of positive ints \(non-empty",
    ):
        f(np.ones(shape), np.ones((1,) * len(shape)))
    with pytest.raises(ValueError, match=r"^(kernel|template) must not be empty; got shape"):
        f(np.ones((3,) * len(shape)), np.ones(shape))


# -- unknown options ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("f", ALL)
@pytest.mark.parametrize(
    ("option", "bad", "allowed"),
    [
        ("mode", "sam", "'full', 'same', 'valid'"),
        ("mode", None, "'full', 'same', 'valid'"),
        ("mode", "SAME", "'full', 'same', 'valid'"),
        ("boundary", "mirror", "'constant', 'wrap', 'reflect', 'symmetric', 'edge'"),
        ("boundary", "periodic", "'constant', 'wrap', 'reflect', 'symmetric', 'edge'"),
        ("boundary", 0, "'constant', 'wrap', 'reflect', 'symmetric', 'edge'"),
        ("method", "fftw", "'auto', 'direct', 'fft', 'overlap-add'"),
        ("method", "oa", "'auto', 'direct', 'fft', 'overlap-add'"),
        ("nan_policy", "omit", "'propagate', 'raise', 'interpolate'"),
        ("nan_policy", True, "'propagate', 'raise', 'interpolate'"),
    ],
)
def test_unknown_options(f, option, bad, allowed):
    kw = {option: bad}
    msg = f"^{option} must be one of {re.escape(allowed)}; got {re.escape(repr(bad))}$"
    with pytest.raises(ValueError, match=msg):
        if option == "mode":
            f(np.ones(5), np.ones(2), bad)
        else:
            f(np.ones(5), np.ones(2), **kw)


def test_unknown_options_in_choose_method_and_channels():
    with pytest.raises(ValueError, match=r"^mode must be one of"):
        choose_method((10,), (3,), mode="x")
    with pytest.raises(ValueError, match=r"^boundary must be one of"):
        choose_method((10,), (3,), boundary="x")
    x, w = np.ones((1, 2, 8)), np.ones((3, 2, 3))
    with pytest.raises(ValueError, match=r"^mode must be one of"):
        convolve_channels(x, w, "x")
    with pytest.raises(ValueError, match=r"^boundary must be one of"):
        convolve_channels(x, w, boundary="x")
    with pytest.raises(ValueError, match=r"^method must be one of"):
        convolve_channels(x, w, method="x")


# -- 'valid' with a kernel larger than x --------------------------------------------------------------------------


@pytest.mark.parametrize("f", ALL)
@pytest.mark.parametrize("method", METHODS)
def test_valid_with_kernel_larger_than_input(f, method):
    msg = r"in mode 'valid' the kernel must not be larger than x along a convolved axis; axis 0 has x size 3 and kernel size 5"
    with pytest.raises(ValueError, match=msg):
        f(np.ones(3), np.ones(5), "valid", method=method)
    with pytest.raises(ValueError, match=r"axis 1 has x size 4 and kernel size 6"):
        f(np.ones((9, 4)), np.ones((2, 6)), "valid", method=method)
    # along a non-convolved axis a larger kernel is a broadcasting error, not a 'valid' error
    with pytest.raises(ValueError, match=r"non-convolved axis 0"):
        f(np.ones((2, 9)), np.ones((3, 2)), "valid", axes=1, method=method)


def test_valid_with_kernel_larger_than_input_in_channels():
    with pytest.raises(ValueError, match=r"in mode 'valid' the kernel must not be larger than x"):
        convolve_channels(np.ones((1, 2, 5)), np.ones((1, 2, 7)), "valid")


# -- non-numeric dtypes -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("f", ALL)
@pytest.mark.parametrize(
    "bad",
    [
        np.array(["a", "b", "c"]),
        np.array([b"a", b"b"]),
        np.array([1, "a"], dtype=object),
        np.array([1.0, 2.0], dtype=object),  # even numbers, when boxed as objects
        np.array(["2020-01-01", "2020-01-02"], dtype="datetime64[D]"),
        np.array([1, 2], dtype="timedelta64[s]"),
    ],
    ids=["str", "bytes", "object-mixed", "object-floats", "datetime", "timedelta"],
)
def test_non_numeric_dtypes(f, bad):
    with pytest.raises(TypeError, match=r"^x must have a numeric dtype \(bool, integer, float or complex\); got dtype"):
        f(bad, np.ones(1))
    with pytest.raises(
        TypeError, match=r"^(kernel|template) must have a numeric dtype \(bool, integer, float or complex\)"
    ):
        f(np.ones(4), bad)


@pytest.mark.parametrize("f", FUNCS)
def test_ragged_lists_are_refused(f):
    with pytest.raises(TypeError, match=r"^x must be array-like with a numeric dtype; got list"):
        f([[1, 2], [3]], np.ones(1))


@pytest.mark.parametrize(
    ("xdtype", "fill"),
    [(np.int64, np.nan), (np.int64, 2.5), (np.int64, 1j), (np.float64, 1j), (np.float32, 0.5 + 0.5j)],
)
def test_non_integer_or_complex_fill_value(xdtype, fill):
    """A fill the result dtype cannot hold (NaN or 2.5 for exact ints, complex for real data): promote or refuse.

    Either the result equals the definition (np.pad with the fill, then convolve) or a ValueError names fill_value;
    never a silently truncated fill or a stray exception from inside the engine.
    """
    x, k = np.arange(5).astype(xdtype), np.array([1, 1]).astype(xdtype)
    expected = np.convolve(np.pad(x.astype(np.result_type(float, fill)), 1, constant_values=fill), k, "valid")
    for method in METHODS:
        try:
            with np.errstate(all="raise"):
                y = convolve(x, k, "full", fill_value=fill, method=method)
        except ValueError as exc:
            assert "fill_value" in str(exc)
        else:
            np.testing.assert_allclose(y, expected, rtol=1e-6, err_msg=method)


def test_plan_dtype_must_be_numeric():
    with pytest.raises(TypeError, match=r"^dtype must have a numeric dtype"):
        Convolver(np.ones(2), (4,), dtype="U3")
    with pytest.raises(TypeError, match=r"^dtype must be a NumPy dtype or array; got 'nonsense'"):
        Convolver(np.ones(2), (4,), dtype="nonsense")
    with pytest.raises(TypeError, match=r"longdouble"):  # the policy layer's table: never silently narrowed
        Convolver(np.ones(2), (4,), dtype=np.longdouble)
    # byte order never leaks: a big-endian plan dtype is the native one
    assert Convolver(np.ones(2, np.float32), (4,), dtype=">f4")(np.ones(4, ">f4")).dtype == np.dtype("float32")


@pytest.mark.parametrize("f", ALL)
@pytest.mark.parametrize("fill", ["a", None, [1, 2], True])
def test_fill_value_must_be_a_number(f, fill):
    with pytest.raises(TypeError, match=r"^fill_value must be a real or complex number"):
        f(np.ones(4), np.ones(2), fill_value=fill)


# -- axes ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("f", ALL)
@pytest.mark.parametrize(
    ("axes", "err", "msg"),
    [
        ((0, 2), ValueError, r"^axes entry 2 is out of range for an array of 2 dimensions \(allowed: -2..1\)"),
        ((-3,), ValueError, r"^axes entry -3 is out of range for an array of 2 dimensions"),
        (5, ValueError, r"^axes entry 5 is out of range"),
        ((1, 1), ValueError, r"^axes must not repeat an axis; got \(1, 1\)"),
        ((1, -1), ValueError, r"^axes must not repeat an axis; got \(1, -1\)"),
        ((), ValueError, r"^axes must name at least one axis"),
        ((1.5,), TypeError, r"^axes must contain integers; got 1.5"),
        ((0, "1"), TypeError, r"^axes must contain integers; got '1'"),
        ((True,), TypeError, r"^axes must contain integers; got True"),
        ("0", TypeError, r"^axes must be None, an int or a sequence of ints; got '0'"),
        (1.0, TypeError, r"^axes must be None, an int or a sequence of ints; got 1.0"),
    ],
)
def test_bad_axes(f, axes, err, msg):
    with pytest.raises(err, match=msg):
        f(np.ones((3, 4)), np.ones((1, 2)), axes=axes)


def test_numpy_integer_axes_are_accepted(rng):
    x, k = rng.standard_normal((3, 8)), rng.standard_normal((1, 3))
    np.testing.assert_allclose(convolve(x, k, axes=np.int64(1)), convolve(x, k, axes=(1,)))
    np.testing.assert_allclose(convolve(x, k, axes=np.array([1])), convolve(x, k, axes=1))


# -- mismatched shapes on non-convolved axes ----------------------------------------------------------------------


@pytest.mark.parametrize("f", ALL)
@pytest.mark.parametrize(
    ("xs", "ks", "axes"),
    [((3, 8), (2, 3), (1,)), ((3, 8), (4, 3), -1), ((2, 5, 6, 7), (2, 3, 2, 2), (2, 3)), ((4, 9, 2), (4, 3, 3), 1)],
)
def test_mismatched_non_convolved_axes(f, xs, ks, axes):
    with pytest.raises(
        ValueError, match=r"x and kernel must have equal sizes \(or size 1\) along the non-convolved axis"
    ):
        f(np.ones(xs), np.ones(ks), axes=axes)


# -- workers ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("f", ALL)
@pytest.mark.parametrize("back", [None, 1, 8])
def test_non_positive_workers(f, back):
    # 0 is refused; negatives count back from the cores as in scipy.fft, down to -cores
    workers = 0 if back is None else -(default_workers() + back)
    with pytest.raises(ValueError, match=rf"^workers must be None or a positive integer.*got {workers}$"):
        f(np.ones(4), np.ones(2), workers=workers)


@pytest.mark.parametrize("f", ALL)
def test_negative_workers_count_back_from_the_cores(f):
    want = f(np.arange(6.0), np.ones(2), workers=1)
    for workers in (-1, -default_workers()):
        np.testing.assert_array_equal(f(np.arange(6.0), np.ones(2), workers=workers), want)


@pytest.mark.parametrize("f", ALL)
@pytest.mark.parametrize("workers", [1.5, "2", True, 2.0])
def test_non_integer_workers(f, workers):
    with pytest.raises(TypeError, match=r"^workers must be None or a positive integer"):
        f(np.ones(4), np.ones(2), workers=workers)


def test_workers_in_choose_method_and_channels():
    with pytest.raises(ValueError, match=r"^workers must be None or a positive integer"):
        choose_method((10,), (3,), workers=0)
    with pytest.raises(ValueError, match=r"^workers must be None or a positive integer"):
        convolve_channels(np.ones((1, 2, 8)), np.ones((3, 2, 3)), workers=0)


# -- convolve_channels shapes -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("xs", "ws", "groups", "err", "msg"),
    [
        ((2, 3), (1, 3), 1, ValueError, r"^x must be \(N, C_in, \*spatial\) with at least one spatial axis"),
        ((2, 3, 5), (1, 3, 2, 2), 1, ValueError, r"^weight must be \(C_out, C_in // groups, \*k\) with 3 dimensions"),
        ((2, 3, 5), (1, 3, 2), 0, ValueError, r"^groups must be an integer >= 1; got 0"),
        ((2, 3, 5), (1, 3, 2), -2, ValueError, r"^groups must be an integer >= 1"),
        ((2, 4, 5), (2, 2, 2), 1.5, TypeError, r"^groups must be an integer >= 1; got 1.5 \(float\)"),
        ((2, 3, 5), (2, 3, 2), 2, ValueError, r"^groups=2 must divide both C_in=3 and C_out=2"),
        ((2, 4, 5), (2, 3, 2), 2, ValueError, r"^weight.shape\[1\] must be C_in // groups = 2; got 3"),
    ],
)
def test_channels_bad_shapes(xs, ws, groups, err, msg):
    with pytest.raises(err, match=msg):
        convolve_channels(np.ones(xs), np.ones(ws), groups=groups)


def test_choose_method_bad_shapes():
    with pytest.raises(TypeError, match=r"^kernel_shape must be a sequence of positive integers"):
        choose_method((4,), "ab")
    with pytest.raises(ValueError, match=r"must not be empty|positive"):
        choose_method((4,), (0,))
    with pytest.raises(ValueError, match=r"^x_shape must be a positive int or a sequence of positive ints"):
        choose_method((0,), (2,))
    # arrays where their shapes were meant: named by their shape, not printed
    with pytest.raises(TypeError, match=r"got an array of shape \(300, 300\) \(pass its \.shape\)$"):
        choose_method((64, 64), np.ones((300, 300)))
    with pytest.raises(TypeError, match=r"^x_shape .* got an array of shape \(300, 300\) \(pass its \.shape\)$"):
        choose_method(np.ones((300, 300)), (3, 3))


def test_choose_method_never_makes_the_kernel():
    # only the kernel's shape matters: a 2**40-element kernel must not be allocated (it was: np.ones)
    with pytest.raises(ValueError, match="kernel must not be larger than x"):
        choose_method((4096, 4096), (2**20, 2**20), mode="valid")
    assert choose_method((4096, 4096), (8192, 8192)) in ("fft", "overlap-add")


# -- memory -------------------------------------------------------------------------------------------------------

# Broadcast views: 200000² float32 "exists" without a byte of memory; its FFT would need hundreds of GiB.
HUGE_2D = np.broadcast_to(np.float32(1), (200_000, 200_000))
HUGE_1D = np.broadcast_to(np.float64(1), (2**36,))
GIB = r"would need about \d+\.\d\d GiB of working memory, but only \d+\.\d\d GiB is available"


@pytest.mark.parametrize("method", ["fft", "overlap-add", "auto"])
def test_fft_too_large_for_memory_is_refused_up_front(method):
    k = np.ones((3000, 3000), np.float32)
    with pytest.raises(InsufficientMemoryError, match=GIB) as info:
        convolve(HUGE_2D, k, "same", method=method)
    assert isinstance(info.value, MemoryError) and isinstance(info.value, ValueError)
    assert "(200000, 200000)" in str(info.value) and "(3000, 3000)" in str(info.value)
    with pytest.raises(InsufficientMemoryError, match=GIB):
        correlate(HUGE_2D, k, "full", method=method)
    with pytest.raises(MemoryError, match=GIB):
        convolve(HUGE_1D, np.ones(1024), method=method)


@pytest.mark.parametrize("boundary", ["constant", "reflect"])
def test_direct_too_large_for_memory_is_refused_up_front(boundary):
    """Even a 3x3 direct convolution of a 200000² view needs its output (149 GiB float32): refused, not attempted."""
    with pytest.raises(InsufficientMemoryError, match=GIB):
        convolve(HUGE_2D, np.ones((3, 3), np.float32), "same", boundary=boundary, method="direct")


def test_plan_too_large_for_memory_is_refused_when_built():
    with pytest.raises(ValueError, match=GIB):  # catchable as a ValueError too
        Convolver(np.ones((3000, 3000), np.float32), (200_000, 200_000), "same", dtype=np.float32, method="fft")


def test_channels_too_large_for_memory_is_refused():
    x = np.broadcast_to(np.float32(1), (1, 1, 200_000, 200_000))
    with pytest.raises(InsufficientMemoryError, match=GIB):
        convolve_channels(x, np.ones((1, 1, 3000, 3000), np.float32), method="fft")


def test_memory_estimate_is_plausible():
    """The estimate is at least the size of one padded float32 buffer (200000 + 3000 - 1)² * 4 bytes."""
    with pytest.raises(InsufficientMemoryError) as info:
        convolve(HUGE_2D, np.ones((3000, 3000), np.float32), "full", method="fft")
    gib = float(re.search(r"about (\d+\.\d+) GiB", str(info.value)).group(1))
    assert gib >= (203_000**2 * 4) / 2**30


# -- inputs are never modified ------------------------------------------------------------------------------------


def _inputs(rng, dtype, nonfinite):
    x = rng.standard_normal((12, 13))
    k = rng.standard_normal((4, 3))
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.standard_normal(x.shape)
        k = k + 1j * rng.standard_normal(k.shape)
    if np.dtype(dtype).kind in "iub":
        x, k = rng.integers(0, 5, x.shape), rng.integers(-2, 3, k.shape)
    x, k = x.astype(dtype), k.astype(dtype)
    if nonfinite and x.dtype.kind in "fc":
        x[3, 4], x[0, 0], x[7, 12] = np.nan, np.inf, -np.inf
    return x, k


@pytest.mark.parametrize("nan_policy", ["propagate", "interpolate", "raise"])
@pytest.mark.parametrize("method", [*METHODS, "auto"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex128, np.int32])
def test_inputs_are_never_modified(rng, dtype, method, nan_policy):
    for nonfinite in (False, True):
        x, k = _inputs(rng, dtype, nonfinite)
        if nan_policy == "interpolate" and k.sum() == 0:
            k[0, 0] += 1
        x0, k0 = x.copy(), k.copy()
        for f in (convolve, correlate, _plan_call):
            for mode in MODES:
                for boundary in BOUNDARIES:
                    fill = np.nan if (boundary == "constant" and nonfinite and x.dtype.kind in "fc") else 0.5
                    try:
                        y = f(x, k, mode, boundary=boundary, fill_value=fill, method=method, nan_policy=nan_policy)
                    except ValueError as exc:
                        assert nan_policy == "raise" and "non-finite" in str(exc)
                    else:
                        assert not np.shares_memory(y, x) and not np.shares_memory(y, k)
                    np.testing.assert_array_equal(x, x0)
                    np.testing.assert_array_equal(k, k0)


def test_read_only_inputs_are_accepted(rng):
    x, k = rng.standard_normal((20, 21)), rng.standard_normal((5, 5))
    x[4, 4] = np.nan
    x.flags.writeable = False
    k.flags.writeable = False
    for method in METHODS:
        for nan_policy in ("propagate", "interpolate"):
            convolve(x, k, "same", boundary="reflect", method=method, nan_policy=nan_policy)
    w = np.ones((2, 1, 3, 3))
    w.flags.writeable = False
    xc = np.ones((1, 1, 8, 8))
    xc.flags.writeable = False
    for method in ("direct", "fft"):
        convolve_channels(xc, w, method=method)


def test_channels_and_plan_do_not_modify_inputs(rng):
    x = rng.standard_normal((2, 4, 10, 11))
    w = rng.standard_normal((6, 2, 3, 3))
    x0, w0 = x.copy(), w.copy()
    for method in ("direct", "fft", "auto"):
        for boundary in BOUNDARIES:
            convolve_channels(x, w, "same", groups=2, boundary=boundary, fill_value=1.0, method=method)
            np.testing.assert_array_equal(x, x0)
            np.testing.assert_array_equal(w, w0)
    k = rng.standard_normal((3, 3))
    k0 = k.copy()
    plan = Convolver(k, (10, 11), "same", method="fft")
    for _ in range(2):
        xi = rng.standard_normal((10, 11))
        xi0 = xi.copy()
        plan(xi)
        np.testing.assert_array_equal(xi, xi0)
    np.testing.assert_array_equal(k, k0)


def test_torch_tensors_are_pointed_to_the_torch_adapter():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match=r"^x is a torch tensor.*convlens\.torch"):
        convolve(torch.ones(5), np.ones(2))


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("convolve", lambda x, k: convolve(x, k, "same", method="fft")),
        ("correlate", lambda x, k: correlate(x, k, "same", method="fft")),
        ("Convolver", lambda x, k: Convolver(k, x.shape, "same", method="fft", dtype=np.float32)),
    ],
)
def test_memory_refusal_names_the_function_called(name, call):
    huge = np.broadcast_to(np.float32(1), (200_000, 200_000))
    with pytest.raises(InsufficientMemoryError, match=rf"^{name}: convolving shape \(200000, 200000\)"):
        call(huge, np.ones((3000, 3000), np.float32))
