"""The policy layer itself (convlens._validation): each helper's accepted values, refusals and messages."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from convlens._validation import (
    DTYPE_TABLE,
    InsufficientMemoryError,
    OptionKindError,
    as_work,
    check_alloc,
    check_choice,
    check_dtype,
    check_float,
    check_int,
    check_positive_int,
    check_rng,
    check_shape,
    check_spacing,
    check_workers,
    default_workers,
    real_dtype,
    result_dtype,
    user_function,
)

# --------------------------------------------------------------------------- integers and floats


@pytest.mark.parametrize("value", [3, np.int64(3), np.uint8(3), np.int16(3)])
def test_check_int_accepts_python_and_numpy_integers(value):
    got = check_int("n", value, minimum=1)
    assert got == 3 and type(got) is int


@pytest.mark.parametrize(
    ("value", "kind"), [(2.5, "float"), (2.0, "float"), (True, "bool"), ("3", "str"), (None, "NoneType")]
)
def test_check_int_refuses_other_kinds_with_a_type_error(value, kind):
    with pytest.raises(TypeError, match=rf"^n must be an integer >= 1; got {re.escape(repr(value))} \({kind}\)$"):
        check_int("n", value, minimum=1)


@pytest.mark.parametrize(("value", "minimum", "maximum"), [(0, 1, None), (11, 1, 10), (-5, 0, 3)])
def test_check_int_refuses_out_of_range_with_a_value_error(value, minimum, maximum):
    with pytest.raises(ValueError, match=rf"^n must be an integer .*; got {value}$"):
        check_int("n", value, minimum=minimum, maximum=maximum)


def test_check_positive_int():
    assert check_positive_int("samples", 1) == 1
    with pytest.raises(ValueError, match=r"^samples must be an integer >= 1; got 0$"):
        check_positive_int("samples", 0)
    with pytest.raises(TypeError, match=r"^samples must be an integer >= 1; got 2\.5 \(float\)$"):
        check_positive_int("samples", 2.5)


@pytest.mark.parametrize("value", [2, 2.5, np.float32(2.5), np.int8(2)])
def test_check_float_accepts_real_numbers(value):
    assert check_float("sigma", value, minimum=0) == float(value)


@pytest.mark.parametrize("value", [True, 1j, "2", None, [1.0]])
def test_check_float_refuses_other_kinds_with_a_type_error(value):
    with pytest.raises(TypeError, match=r"^sigma must be a real number >= 0; got "):
        check_float("sigma", value, minimum=0)


@pytest.mark.parametrize(
    ("value", "kwargs"),
    [
        (math.nan, {}),
        (math.inf, {}),
        (-1.0, {"minimum": 0}),
        (0.0, {"minimum": 0, "min_open": True}),
        (0.5, {"maximum": 0.5, "max_open": True}),
        (0.7, {"maximum": 0.5}),
    ],
)
def test_check_float_refuses_values_outside_the_bounds(value, kwargs):
    with pytest.raises(ValueError, match=r"^x must be a "):
        check_float("x", value, **kwargs)


def test_check_float_lets_infinity_through_only_when_asked():
    assert check_float("t", math.inf, finite=False) == math.inf
    with pytest.raises(ValueError):
        check_float("t", math.nan, finite=False)


def test_check_float_hint_says_what_the_number_means_in_both_errors():
    hint = "in cycles/sample; 0.5 is the Nyquist frequency"
    bounds = dict(minimum=0, maximum=0.5, min_open=True, hint=hint)
    with pytest.raises(
        ValueError, match=r"^cutoff must be a real number > 0 and <= 0.5 \(in cycles/sample; 0.5 is the "
    ):
        check_float("cutoff", 0.7, **bounds)
    with pytest.raises(
        TypeError, match=r"^cutoff must be a real number > 0 and <= 0.5 \(in cycles.*; got '0.1' \(str\)$"
    ):
        check_float("cutoff", "0.1", **bounds)
    assert check_float("cutoff", 0.5, **bounds) == 0.5


def test_exceptions_keep_their_public_module():
    # the classes live in private submodules; tracebacks and pickles name the module users import them
    # from: convlens for the exported InsufficientMemoryError, convlens._validation for OptionKindError
    assert InsufficientMemoryError.__module__ == "convlens"
    assert OptionKindError.__module__ == "convlens._validation"
    import pickle

    err = pickle.loads(pickle.dumps(InsufficientMemoryError("f: too big")))
    assert type(err) is InsufficientMemoryError and str(err) == "f: too big"


def test_check_choice():
    assert check_choice("mode", "same", ("full", "same")) == "same"
    with pytest.raises(ValueError, match=r"^mode must be one of 'full', 'same'; got 'Same'$") as info:
        check_choice("mode", "Same", ("full", "same"))
    assert not isinstance(info.value, TypeError)
    for wrong_kind in (3, None, ["same"]):
        with pytest.raises(TypeError, match=r"^mode must be one of 'full', 'same'; got ") as info:
            check_choice("mode", wrong_kind, ("full", "same"))
        assert isinstance(info.value, OptionKindError) and isinstance(info.value, ValueError)


# --------------------------------------------------------------------------- shapes, spacings, seeds


@pytest.mark.parametrize(("shape", "want"), [(5, (5,)), ((3, 4), (3, 4)), ([np.int64(2), 7], (2, 7))])
def test_check_shape_normalizes(shape, want):
    assert check_shape("shape", shape) == want


@pytest.mark.parametrize("shape", [(8, 8.5), 2.5, (True, 3), "88", None])
def test_check_shape_refuses_other_kinds_with_a_type_error(shape):
    with pytest.raises(TypeError, match=r"^shape must be a positive int or a sequence of positive ints; got "):
        check_shape("shape", shape)


@pytest.mark.parametrize("shape", [(), (0, 3), (-1,)])
def test_check_shape_refuses_empty_or_non_positive(shape):
    with pytest.raises(ValueError, match=r"^shape must be a positive int"):
        check_shape("shape", shape)


def test_check_shape_checks_the_number_of_axes():
    with pytest.raises(ValueError, match=r"^shape must have 2 entries \(one per axis\); got \(3,\)$"):
        check_shape("shape", (3,), ndim=2)


def test_check_spacing():
    np.testing.assert_array_equal(check_spacing("dx", 0.5, 3), [0.5, 0.5, 0.5])
    np.testing.assert_array_equal(check_spacing("dx", (1, 2), 2), [1.0, 2.0])
    for bad in (0.0, -1.0, math.inf, (1.0, 2.0, 3.0)):
        with pytest.raises(ValueError, match=r"^dx must be a positive number or one positive spacing per axis \(2\)"):
            check_spacing("dx", bad, 2)
    for bad in ("1", True, (1.0, "2")):
        with pytest.raises(TypeError, match=r"^dx must be a positive number"):
            check_spacing("dx", bad, 2)


def test_check_rng():
    gen = np.random.default_rng(1)
    assert check_rng(gen) is gen
    assert check_rng(7).random() == np.random.default_rng(7).random()
    assert isinstance(check_rng(None), np.random.Generator)
    for bad in ("seed", True, 1.5):
        with pytest.raises(TypeError, match=r"^rng must be None, an int seed or a numpy\.random\.Generator"):
            check_rng(bad)


# --------------------------------------------------------------------------- the dtype rule

ROWS = [
    # input, lens (out, work), engine exact (out, work)
    ("float16", ("float16", "float32"), ("float16", "float32")),
    ("float32", ("float32", "float32"), ("float32", "float32")),
    (">f4", ("float32", "float32"), ("float32", "float32")),
    ("float64", ("float64", "float64"), ("float64", "float64")),
    (">f8", ("float64", "float64"), ("float64", "float64")),
    ("complex64", ("complex64", "complex64"), ("complex64", "complex64")),
    (">c16", ("complex128", "complex128"), ("complex128", "complex128")),
    ("bool", ("float64", "float64"), ("int64", "float64")),
    ("int8", ("float64", "float64"), ("int64", "float64")),
    ("int64", ("float64", "float64"), ("int64", "float64")),
    ("uint8", ("float64", "float64"), ("int64", "float64")),
    ("uint64", ("float64", "float64"), ("uint64", "float64")),
    (">i2", ("float64", "float64"), ("int64", "float64")),
]


@pytest.mark.parametrize(("dtype", "lens", "engine"), ROWS)
def test_result_dtype_follows_the_table(dtype, lens, engine):
    assert result_dtype(np.dtype(dtype)) == tuple(np.dtype(d) for d in lens)
    assert result_dtype(np.dtype(dtype), exact_int=True) == tuple(np.dtype(d) for d in engine)
    assert all(d.isnative for d in result_dtype(np.dtype(dtype)))


def test_the_table_names_every_category():
    assert set(DTYPE_TABLE) == {"bool", "int", "uint", "float16", "float32", "float64", "complex64", "complex128"}


@pytest.mark.parametrize(
    ("dtypes", "want"),
    [
        ((np.float32, np.float64), ("float64", "float64")),
        ((np.float16, np.float32), ("float32", "float32")),
        ((np.int16, np.float32), ("float32", "float32")),
        ((np.float32, np.complex64), ("complex64", "complex64")),
    ],
)
def test_result_dtype_promotes_as_numpy(dtypes, want):
    assert result_dtype(*dtypes) == tuple(np.dtype(d) for d in want)


@pytest.mark.parametrize(
    ("dtypes", "want"),
    [
        ((np.int64, np.uint64), "int64"),  # mixed signedness stays exact (NumPy would give float64)
        ((np.uint8, np.uint64), "uint64"),
        ((np.bool_, np.uint64), "uint64"),
        ((np.int8, np.bool_), "int64"),
    ],
)
def test_exact_integers_never_fall_back_to_float(dtypes, want):
    assert result_dtype(*dtypes, exact_int=True)[0] == np.dtype(want)


@pytest.mark.skipif(np.dtype(np.longdouble).itemsize <= 8, reason="longdouble is float64 on this platform")
@pytest.mark.parametrize(
    ("dtype", "kind", "fix"), [(np.longdouble, "longdouble", "float64"), (np.clongdouble, "clongdouble", "complex128")]
)
def test_longdouble_is_refused_never_narrowed(dtype, kind, fix):
    with pytest.raises(
        TypeError, match=rf"^image has dtype \w+ \({kind}\), which convlens refuses .*image\.astype\(np\.{fix}\)$"
    ):
        result_dtype(dtype, name="image")


@pytest.mark.parametrize("dtype", [object, "U3", "datetime64[s]"])
def test_non_numeric_dtypes_are_refused(dtype):
    with pytest.raises(TypeError, match=r"^x must have a numeric dtype"):
        result_dtype(np.dtype(dtype))


def test_complex_refused_where_only_real_data_make_sense():
    with pytest.raises(TypeError, match=r"^X must be real"):
        result_dtype(np.complex64, allow_complex=False, name="X")


def test_real_dtype():
    assert real_dtype(np.complex64) == np.float32
    assert real_dtype(np.complex128) == np.float64
    assert real_dtype(np.float16) == np.float16


def test_as_work_converts_without_modifying_and_without_copying_when_it_can():
    x = np.arange(6, dtype=">f4")
    work, out = as_work("x", x)
    assert work.dtype == np.float32 and work.dtype.isnative and out == np.float32
    np.testing.assert_array_equal(work, x)
    y = np.arange(6, dtype=np.float64)
    assert as_work("y", y)[0] is y


# --------------------------------------------------------------------------- memory


def test_check_alloc_returns_the_size_of_small_requests():
    assert check_alloc((10, 10), np.float32, what="f") == 400
    assert check_alloc(1234, what="f") == 1234


def test_check_alloc_refuses_with_the_users_function_and_an_estimate():
    with pytest.raises(
        InsufficientMemoryError,
        match=r"^heat_kernel: an array of shape \(200000, 200000\) \(float64\) would need about 298\.02 GiB",
    ):
        check_alloc((200_000, 200_000), np.float64, what="heat_kernel")
    with pytest.raises(MemoryError):  # also catchable as MemoryError and as ValueError
        check_alloc(10**18, what="f")
    with pytest.raises(ValueError):
        check_alloc((10**6, 10**6), np.float64, what="f", copies=2)


def test_check_alloc_does_not_overflow_on_huge_shapes():
    with pytest.raises(InsufficientMemoryError, match=r"about \d+\.\d\d GiB"):
        check_alloc((2**40, 2**40), np.complex128, what="f")


def test_user_function_names_the_users_call_once():
    with (
        pytest.raises(InsufficientMemoryError, match=r"^gaussian: fourier_filter: an array"),
        user_function("gaussian"),
    ):
        check_alloc((10**6, 10**6), np.float64, what="fourier_filter")
    with pytest.raises(InsufficientMemoryError, match=r"^gaussian: an array"), user_function("gaussian"):
        check_alloc((10**6, 10**6), np.float64, what="gaussian")  # named once, not twice


# --------------------------------------------------------------------------- workers


def test_check_workers_counts_back_from_the_cores_as_scipy():
    cores = default_workers()
    assert check_workers(None) == cores
    assert check_workers(1) == 1
    assert check_workers(np.int32(3)) == 3
    assert check_workers(-1) == cores
    assert check_workers(-cores) == 1
    if cores > 1:
        assert check_workers(-2) == cores - 1


@pytest.mark.parametrize("workers", [0, "all"])
def test_check_workers_refusals(workers):
    cores = default_workers()
    error = ValueError if workers == 0 else TypeError
    with pytest.raises(error, match=r"^workers must be None or a positive integer, or -1\.\.-\d+"):
        check_workers(workers)
    with pytest.raises(ValueError, match=rf"got {-cores - 1}$"):
        check_workers(-cores - 1)
    with pytest.raises(TypeError):
        check_workers(True)
    with pytest.raises(TypeError):
        check_workers(2.0)


def test_check_dtype_applies_the_refusals_of_the_dtype_rule():
    assert check_dtype("dtype", np.dtype(">i2")) == np.int16 and check_dtype("dtype", ">i2").isnative
    assert check_dtype("dtype", np.zeros(2, np.complex64)) == np.complex64
    if np.dtype(np.longdouble).itemsize > 8:  # wider than float64 on this platform
        with pytest.raises(TypeError, match=r"^dtype has dtype \w+ \(longdouble\), which convlens refuses"):
            check_dtype("dtype", np.longdouble)
    with pytest.raises(TypeError, match=r"^dtype must be a NumPy dtype or array; got 'nope'$"):
        check_dtype("dtype", "nope")
    with pytest.raises(TypeError, match=r"^dtype must have a numeric dtype"):
        check_dtype("dtype", object)


@pytest.mark.parametrize("seed", [-1, np.int64(-5)])
def test_check_rng_refuses_a_negative_seed_naming_the_argument(seed):
    # NumPy alone says "expected non-negative integer", naming nothing
    with pytest.raises(ValueError, match=r"seed must be None, an int seed >= 0 .*; got .*-[15]"):
        check_rng(seed, "seed")


def test_check_rng_negative_seed_through_the_lenses():
    from convlens.timeseries import simulate_arma
    from convlens.whiten import PatchWhitener

    with pytest.raises(ValueError, match="rng must be None, an int seed >= 0"):
        simulate_arma([1, -0.5], [1], 10, rng=-1)
    with pytest.raises(ValueError, match="rng must be None, an int seed >= 0"):
        PatchWhitener(3, rng=-1).fit(np.random.default_rng(0).random((20, 20)))


@pytest.mark.parametrize(("value", "shown"), [(0, "got 0$"), (-3, "got -3$"), (np.int64(0), r"got np.int64\(0\)$")])
def test_check_shape_message_shows_the_value_passed(value, shown):
    """An int is read as a 1-tuple; the message used to show (0,) for a 0 the caller passed."""
    with pytest.raises(ValueError, match=shown):
        check_shape("size", value)
    from convlens.timeseries import simulate_arma

    with pytest.raises(ValueError, match=r"nsample must be .* got -1$"):
        simulate_arma([1], [1], -1)
