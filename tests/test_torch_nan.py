"""convlens.torch with NaN and inf in the input: ``nan_policy`` of fft_conv, the FFT layers, convert and long_conv.

References: ``torch.nn.functional.conv*d`` (a direct sum, whose NaN and inf stay
local) for 'propagate'; ``convlens.convolve_channels`` / ``convlens.convolve``
with ``nan_policy='interpolate'`` (on NumPy copies, kernel flipped: torch layers
cross-correlate) for 'interpolate'; the engine's message for 'raise'.
"""

from __future__ import annotations

import copy
import io
import math
import pickle

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import convlens  # noqa: E402
import convlens.torch as ct  # noqa: E402
from conftest import assert_close  # noqa: E402
from convlens.torch import FFTConv1d, FFTConv2d, FFTConv3d, convert, fft_conv, long_conv  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths:UserWarning")

MODES = ["zeros", "reflect", "replicate", "circular"]
CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
FFT = {1: FFTConv1d, 2: FFTConv2d, 3: FFTConv3d}
DTYPES = {"float32": torch.float32, "float64": torch.float64}
INF = math.inf


@pytest.fixture(autouse=True)
def _few_threads():
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(old)


@pytest.fixture(params=["dft", "fft"])
def weight_path(request, monkeypatch):
    """The weight spectrum by DFT matrices (small kernels) and by FFTs (large ones)."""
    if request.param == "fft":
        monkeypatch.setattr(ct._fft_conv, "_DFT_MAX_TAPS", 0)
    return request.param


def _np(t):
    return t.detach().cpu().double().numpy()


def assert_same_nonfinite(got, ref, dtype, err_msg=""):
    """Same NaN, +inf and -inf positions; the finite values equal within the dtype's tolerance."""
    g, r = _np(got), _np(ref)
    assert g.shape == r.shape, err_msg
    for what, test in (("NaN", np.isnan), ("+inf", np.isposinf), ("-inf", np.isneginf)):
        assert np.array_equal(test(g), test(r)), f"{what} positions differ {err_msg}"
    fin = np.isfinite(r)
    assert_close(g[fin], r[fin], np.dtype(str(dtype).removeprefix("torch.")), err_msg=err_msg)


def _spoil(rng, x, kind, count):
    """Put ``count`` NaN / +-inf (``kind`` 'nan', 'inf' or 'both') at random places of x (a copy)."""
    x = x.clone()
    flat = x.view(-1)
    for j, i in enumerate(rng.choice(flat.numel(), size=min(count, flat.numel()), replace=False)):
        if kind == "nan" or (kind == "both" and j % 3 == 0):
            flat[int(i)] = math.nan
        else:
            flat[int(i)] = INF if rng.random() < 0.5 else -INF
    return x


def _case(rng, d, mode):
    """Random nn.Conv*d arguments (groups, dilation, stride, padding) and sizes that torch accepts."""
    g = int(rng.choice([1, 2]))
    cin, cout = g * int(rng.integers(1, 3)), g * int(rng.integers(1, 3))
    k = tuple(int(v) for v in rng.integers(1, 5, d))
    dil = tuple(int(v) for v in rng.integers(1, 3, d))
    keff = [dl * (kk - 1) + 1 for kk, dl in zip(k, dil)]
    if rng.random() < 0.25:
        pad, stride = "same", 1
    else:
        pad = tuple(int(v) for v in rng.integers(0, 3, d))
        stride = tuple(int(v) for v in rng.integers(1, 3, d))
    hi = 16 if d < 3 else 9
    n = tuple(int(rng.integers(max(keff[i], 4), max(keff[i], 4) + hi - 3)) for i in range(d))
    args = dict(stride=stride, padding=pad, dilation=dil, groups=g, padding_mode=mode)
    return cin, cout, k, n, args


def _reference_layer(d, cin, cout, k, args, dtype, bias=True):
    torch.manual_seed(0)
    return CONV[d](cin, cout, k, bias=bias, dtype=dtype, **args)


# --------------------------------------------------------------------------- 'propagate': torch's direct sum


@pytest.mark.parametrize("kind", ["nan", "inf", "both"])
@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("d", [1, 2, 3])
def test_propagate_matches_torch_direct_conv(d, mode, dtype, kind, rng):
    dt = DTYPES[dtype]
    done = mixed = 0
    for _ in range(6):
        cin, cout, k, n, args = _case(rng, d, mode)
        ref_layer = _reference_layer(d, cin, cout, k, args, dt)
        with torch.no_grad():
            ref_layer.weight.view(-1)[0] = 0.0  # a zero tap: 0 * nan is nan, 0 * inf too
        x = _spoil(rng, torch.tensor(rng.standard_normal((2, cin, *n)), dtype=dt), kind, int(rng.integers(1, 4)))
        try:
            with torch.no_grad():
                ref = ref_layer(x)
        except RuntimeError:  # reflect padding >= input size: torch refuses, so do we (test_torch.py)
            continue
        msg = f"{args} k={k} n={n}"
        got = fft_conv(x, ref_layer.weight, ref_layer.bias, **args)
        assert got.dtype == dt
        assert_same_nonfinite(got, ref, dt, msg)
        # the layer, in training mode (weight spectrum per call) and in eval mode (cached spectrum)
        layer = FFT[d](cin, cout, k, dtype=dt, **args)
        layer.load_state_dict(ref_layer.state_dict())
        with torch.no_grad():
            assert_same_nonfinite(layer(x), ref, dt, msg)
            layer.eval()
            layer(x)
            assert_same_nonfinite(layer(x), ref, dt, msg)
        r = _np(ref)
        mixed += bool(np.isfinite(r).any() and not np.isfinite(r).all())
        done += 1
    # a plain FFT would have spoilt every output: the finite ones must exist and be right
    assert done >= 4 and mixed >= 2


@pytest.mark.parametrize("d", [1, 2])
def test_propagate_on_both_weight_spectrum_paths_and_unbatched(d, rng, weight_path):
    x = torch.tensor(rng.standard_normal((3, *([14] * d))))
    x[(1,) + (5,) * d] = math.nan
    x[(2,) + (9,) * d] = -INF
    w = torch.tensor(rng.standard_normal((4, 3, *([5] * d))))
    ref = CONV[d](3, 4, 5, padding=2, dilation=1, dtype=torch.float64)
    with torch.no_grad():
        ref.weight.copy_(w)
        expected = ref(x)
    got = fft_conv(x, w, ref.bias, padding=2)
    assert got.shape == expected.shape == (4, *([14] * d))  # unbatched in, unbatched out
    assert_same_nonfinite(got, expected, torch.float64)


@pytest.mark.parametrize("dtype", list(DTYPES))
def test_propagate_with_overlap_save_frames(dtype, rng):
    # inputs much longer than the kernel are cut into frames (the plan's block axis)
    dt = DTYPES[dtype]
    for shape, k, stride in (((2, 3, 9000), (9,), 2), ((1, 2, 180, 40), (5, 3), 1)):
        d = len(k)
        x = _spoil(rng, torch.tensor(rng.standard_normal(shape), dtype=dt), "both", 6)
        w = torch.tensor(rng.standard_normal((4, shape[1], *k)), dtype=dt)
        plan = ct._fft_conv._prepare(x, w, None, stride, 2, 1, 1, "zeros")[2]
        assert plan.block_axis is not None
        ref = {1: F.conv1d, 2: F.conv2d}[d](x, w, stride=stride, padding=2)
        assert_same_nonfinite(fft_conv(x, w, stride=stride, padding=2), ref, dt)


def test_propagate_infinities_follow_the_signs_of_the_taps():
    x = torch.zeros(1, 1, 9, dtype=torch.float64)
    x[0, 0, 4] = INF
    y = fft_conv(x, torch.tensor([[[1.0, 0.0, -1.0]]], dtype=torch.float64), padding=1)
    # -1 tap reads +inf at output 3, the zero tap at output 4 (0 * inf), the +1 tap at output 5
    assert y[0, 0, 3] == -INF and math.isnan(y[0, 0, 4]) and y[0, 0, 5] == INF
    assert torch.equal(y[0, 0, [0, 1, 2, 6, 7, 8]], torch.zeros(6, dtype=torch.float64))
    x[0, 0, 5] = -INF  # +inf and -inf through positive taps cancel into nan
    y = fft_conv(x, torch.tensor([[[1.0, 2.0, 1.0]]], dtype=torch.float64), padding=1)
    ref = F.conv1d(x, torch.tensor([[[1.0, 2.0, 1.0]]], dtype=torch.float64), padding=1)
    assert_same_nonfinite(y, ref, torch.float64)
    assert y[0, 0, 3] == INF and y[0, 0, 6] == -INF and bool(torch.isnan(y[0, 0, 4:6]).all())


def test_propagate_keeps_groups_apart(rng):
    # a NaN in channel 0 (group 0) spoils the outputs of group 0 only
    x = torch.tensor(rng.standard_normal((1, 4, 20)))
    x[0, 0, 10] = math.nan
    w = torch.tensor(rng.standard_normal((6, 2, 3)))
    y = fft_conv(x, w, padding=1, groups=2)
    assert bool(torch.isnan(y[0, :3, 9:12]).all()) and int(torch.isnan(y).sum()) == 9
    assert_same_nonfinite(y, F.conv1d(x, w, padding=1, groups=2), torch.float64)


def test_nonfinite_weights_spoil_whole_output_channels(rng):
    x = torch.tensor(rng.standard_normal((2, 2, 12, 12)))
    x[1, 0, 3, 3] = math.nan
    w = torch.tensor(rng.standard_normal((3, 2, 3, 3)))
    w[1, 0, 0, 0] = math.nan  # every output of channel 1 reads it: NaN, as in torch
    assert_same_nonfinite(fft_conv(x, w, padding=1), F.conv2d(x, w, padding=1), torch.float64)
    # an infinite tap: the same outputs are non-finite (the direct sum's signs of inf are not kept)
    w[1, 0, 0, 0] = INF
    got, ref = fft_conv(x, w, padding=1), F.conv2d(x, w, padding=1)
    assert torch.equal(torch.isfinite(got), torch.isfinite(ref))
    fin = torch.isfinite(ref)
    assert_close(_np(got[fin]), _np(ref[fin]), np.float64)


def test_finite_input_with_overflowing_sums_takes_the_plain_path():
    # the sums of the zero-frequency terms overflow float32 although every sample is finite
    x = torch.zeros(1, 4, 64)
    x[0, :, 10] = 1e38
    w = torch.full((1, 4, 3), 1e-6)
    got = fft_conv(x, w, padding=1)
    assert bool(torch.isfinite(got).all())
    assert_close(_np(got), _np(F.conv1d(x, w, padding=1)), np.float32)


def test_convert_keeps_nn_conv_answers_for_nan_inputs(rng):
    net = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 3, 15, padding=7)).double()
    x = torch.tensor(rng.standard_normal((2, 2, 40, 40)))
    x[0, 1, 5, 30] = math.nan
    x[1, 0, 20, 20] = INF
    fast = convert(net, rule="all")
    assert isinstance(fast[2], FFTConv2d) and fast[2].nan_policy == "propagate"
    with torch.no_grad():
        ref = net(x)
        got = fast.eval()(x)
    assert not bool(torch.isnan(ref).all()) and bool(torch.isnan(ref).any())
    assert_same_nonfinite(got, ref, torch.float64)


# --------------------------------------------------------------------------- 'raise'


def test_raise_names_the_argument_the_count_and_the_first_place(rng):
    x = torch.tensor(rng.standard_normal((2, 3, 10, 10)))
    w = torch.tensor(rng.standard_normal((2, 3, 3, 3)))
    x[1, 2, 4, 5] = math.nan
    x[1, 2, 7, 0] = -INF
    x[0, 1, 9, 9] = INF
    with pytest.raises(
        ValueError,
        match=r"^input contains 3 non-finite value\(s\) \(NaN or inf\); the first is at "
        r"index \(0, 1, 9, 9\); nan_policy='raise'",
    ):
        fft_conv(x, w, nan_policy="raise")
    with pytest.raises(ValueError, match=r"input contains 2 .* index \(2, 4, 5\)"):  # unbatched
        fft_conv(x[1], w, nan_policy="raise")
    layer = FFTConv2d(3, 2, 3, nan_policy="raise").double().eval()
    with pytest.raises(ValueError, match=r"input contains 3 .*nan_policy='raise' refuses"):
        layer(x)
    wbad = w.clone()
    wbad[1, 0, 2, 2] = math.nan
    with pytest.raises(ValueError, match=r"weight contains 1 .* index \(1, 0, 2, 2\)"):
        fft_conv(x.nan_to_num(), wbad, nan_policy="raise")


@pytest.mark.parametrize("policy", ["raise", "interpolate"])
def test_finite_inputs_give_the_default_answer_under_every_policy(policy, rng):
    x = torch.tensor(rng.standard_normal((2, 4, 17, 13)), dtype=torch.float32)
    layer = FFTConv2d(4, 6, (5, 3), padding=(2, 1), groups=2).eval()
    other = copy.deepcopy(layer)
    other.nan_policy = policy
    with torch.no_grad():
        assert torch.equal(layer(x), other(x))
        assert torch.equal(
            fft_conv(x, layer.weight, layer.bias, padding=(2, 1), groups=2),
            fft_conv(x, layer.weight, layer.bias, padding=(2, 1), groups=2, nan_policy=policy),
        )


# --------------------------------------------------------------------------- 'interpolate': convolve_channels


def _interpolate_reference(x, w, b, args):
    """convolve_channels(..., nan_policy='interpolate') on the extended input, dilated and flipped kernel."""
    d = w.ndim - 2
    k, dil, stride = w.shape[2:], args["dilation"], args["stride"]
    pads = ct._fft_conv.resolve_padding(args["padding"], tuple(k), dil, stride)
    flat = [p for pair in reversed(pads) for p in pair]
    mode = args["padding_mode"]
    xe = F.pad(x, flat, mode="constant" if mode == "zeros" else mode)
    wd = ct._fft_conv._dilate(w, dil)
    flip = _np(wd)[(slice(None), slice(None), *([slice(None, None, -1)] * d))]
    out = convlens.convolve_channels(
        _np(xe), flip, mode="valid", groups=args["groups"], nan_policy="interpolate", method="direct"
    )
    out = out[(slice(None), slice(None), *(slice(None, None, s) for s in stride))]
    return out + _np(b).reshape(1, -1, *([1] * d))


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("d", [1, 2, 3])
def test_interpolate_matches_convolve_channels(d, mode, dtype, rng):
    dt = DTYPES[dtype]
    done = 0
    for _ in range(5):
        cin, cout, k, n, args = _case(rng, d, mode)
        args["dilation"] = tuple(int(v) for v in rng.integers(1, 3, d))
        args["stride"] = tuple(int(v) for v in rng.integers(1, 3, d)) if args["padding"] != "same" else 1
        args["stride"] = ct._fft_conv.ntuple("stride", args["stride"], d, minimum=1)
        keff = [dl * (kk - 1) + 1 for kk, dl in zip(k, args["dilation"])]
        n = tuple(max(a, b + 2) for a, b in zip(n, keff))
        # smoothing-like kernels (positive taps): normalized convolution is well conditioned
        w = torch.tensor(rng.random((cout, cin // args["groups"], *k)) + 0.1, dtype=dt)
        b = torch.tensor(rng.standard_normal(cout), dtype=dt)
        x = _spoil(rng, torch.tensor(rng.standard_normal((2, cin, *n)), dtype=dt), "both", int(rng.integers(1, 5)))
        try:
            ref = _interpolate_reference(x, w, b, args)
        except (RuntimeError, NotImplementedError):  # reflect padding >= input size
            continue
        got = fft_conv(x, w, b, nan_policy="interpolate", **args)
        assert_close(_np(got), ref, np.dtype(dtype), err_msg=f"{args} k={k} n={n}")
        layer = FFT[d](cin, cout, k, dtype=dt, nan_policy="interpolate", **args).eval()
        with torch.no_grad():
            layer.weight.copy_(w)
            layer.bias.copy_(b)
            assert_close(_np(layer(x)), ref, np.dtype(dtype))
        done += 1
    assert done >= 3


def test_interpolate_mixed_sign_kernels_and_empty_windows(rng):
    x = torch.tensor(rng.standard_normal((2, 4, 30)))
    x[0, 1, 10:16] = math.nan  # a hole wider than the kernel: no finite sample under some windows
    x[1, 3, 3] = INF
    w = torch.tensor(rng.standard_normal((4, 2, 4)))
    w[:, :, 0] += 3.0  # mixed signs, sums away from zero
    args = dict(stride=(1,), padding=(2,), dilation=(1,), groups=2, padding_mode="zeros")
    ref = _interpolate_reference(x, w, torch.zeros(4, dtype=torch.float64), args)
    got = fft_conv(x, w, padding=2, groups=2, nan_policy="interpolate")
    assert np.isnan(ref).any() and not np.isnan(ref).all()
    assert_close(_np(got), ref, rel=1e-9)


def test_interpolate_refuses_zero_sum_kernels_and_nonfinite_weights(rng):
    x = torch.tensor(rng.standard_normal((1, 2, 20)))
    w = torch.tensor(rng.random((3, 2, 3)))
    w[2, 1] = torch.tensor([1.0, 0.0, -1.0], dtype=torch.float64)  # sums to zero
    # finite input: no renormalization, so no error (as the engine)
    assert torch.equal(fft_conv(x, w, nan_policy="interpolate"), fft_conv(x, w))
    x[0, 0, 5] = math.nan  # channel 0 does not meet the zero-sum pair (2, 1)
    fft_conv(x, w, nan_policy="interpolate")
    x[0, 1, 7] = math.nan
    with pytest.raises(
        ValueError, match=r"nan_policy='interpolate' needs kernels whose sum is not zero.*weight\[2, 1\]"
    ):
        fft_conv(x, w, nan_policy="interpolate")
    w = torch.tensor(rng.random((3, 2, 3)))
    w[0, 0, 1] = math.nan
    with pytest.raises(ValueError, match=r"weight contains 1 non-finite .*nan_policy='interpolate' needs finite"):
        fft_conv(x.nan_to_num(), w, nan_policy="interpolate")


# --------------------------------------------------------------------------- gradients


def test_gradcheck_propagate_through_the_finite_outputs(rng):
    x = torch.tensor(rng.standard_normal((1, 2, 7, 6)))
    x[0, 0, 2, 3] = math.nan
    x[0, 1, 5, 4] = -INF
    w = torch.tensor(rng.standard_normal((2, 2, 3, 2)), requires_grad=True)
    b = torch.tensor(rng.standard_normal(2), requires_grad=True)
    keep = torch.isfinite(F.conv2d(x, w, b, padding=1))
    assert 0 < int(keep.sum()) < keep.numel()

    def finite_part(xx, ww, bb):
        return fft_conv(xx, ww, bb, padding=1)[keep]

    # the non-finite samples are perturbed too: the kept outputs do not depend on them
    xg = x.clone().requires_grad_()
    assert torch.autograd.gradcheck(finite_part, (xg, w, b))
    finite_part(xg, w, b).sum().backward()
    assert bool(torch.isfinite(w.grad).all()) and bool((xg.grad[~torch.isfinite(x)] == 0).all())


def test_layer_gradients_equal_the_direct_conv_of_the_cleaned_input(rng):
    # training through NaN inputs: the weight gradient of the finite outputs is that of the direct sum
    x = torch.tensor(rng.standard_normal((2, 3, 16, 16)), dtype=torch.float32)
    x[0, 2, 4, 4] = math.nan
    x[1, 0, 10, 12] = INF
    ref = nn.Conv2d(3, 4, 5, padding=2)
    layer = FFTConv2d(3, 4, 5, padding=2)
    layer.load_state_dict(ref.state_dict())
    y = layer(x)
    keep = torch.isfinite(y).detach()
    g = torch.tensor(rng.standard_normal(tuple(y.shape)), dtype=torch.float32)
    (y * torch.where(keep, g, 0)).sum().backward()
    yr = ref(torch.where(torch.isfinite(x), x, 0))
    (yr * torch.where(keep, g, 0)).sum().backward()
    assert_close(_np(layer.weight.grad), _np(ref.weight.grad), np.float32)
    assert_close(_np(layer.bias.grad), _np(ref.bias.grad), np.float32)


def test_gradcheck_interpolate(rng):
    x = torch.tensor(rng.standard_normal((1, 2, 11)))
    x[0, 0, 4] = math.nan
    x[0, 1, 8] = INF
    w = torch.tensor(rng.random((3, 2, 3)) + 0.2, requires_grad=True)
    b = torch.tensor(rng.standard_normal(3), requires_grad=True)
    xg = x.clone().requires_grad_()
    assert torch.autograd.gradcheck(
        lambda a, ww, bb: fft_conv(a, ww, bb, padding=1, nan_policy="interpolate"), (xg, w, b)
    )


def test_gradcheck_long_conv_policies(rng):
    u = torch.tensor(rng.standard_normal((2, 3, 12)))
    u[0, 1, 5] = math.nan
    u[1, 2, 2] = INF
    k = torch.tensor(rng.random((3, 4)) + 0.2, requires_grad=True)
    keep = torch.isfinite(long_conv(u, k.detach()))
    assert 0 < int(keep.sum()) < keep.numel()
    ug = u.clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda a, kk: long_conv(a, kk)[keep], (ug, k))
    assert torch.autograd.gradcheck(lambda a, kk: long_conv(a, kk, False, nan_policy="interpolate"), (ug, k))


# --------------------------------------------------------------------------- long_conv


def _engine_long(u, k, causal, policy):
    """convlens.convolve per channel: causal = the first L samples of 'full', centred = 'same'."""
    un, kn = _np(u), _np(k)
    L = un.shape[-1]
    kn = np.broadcast_to(kn, (un.shape[-2], kn.shape[-1]))
    out = np.empty_like(un)
    for h in range(un.shape[-2]):
        row = un[..., h, :]
        if causal:
            full = convlens.convolve(
                row, kn[h][None] if row.ndim > 1 else kn[h], mode="full", axes=-1, nan_policy=policy
            )
            out[..., h, :] = full[..., :L]
        else:
            out[..., h, :] = convlens.convolve(
                row, kn[h][None] if row.ndim > 1 else kn[h], mode="same", axes=-1, nan_policy=policy
            )
    return out


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("kind", ["nan", "inf", "both"])
@pytest.mark.parametrize("causal", [True, False])
def test_long_conv_propagate_matches_the_engine(causal, kind, dtype, rng):
    dt = DTYPES[dtype]
    for shape, K in (((2, 3, 40), 7), ((4, 50), 50), ((3, 30), 64)):  # short, full-length, longer than L
        u = _spoil(rng, torch.tensor(rng.standard_normal(shape), dtype=dt), kind, 3)
        k = torch.tensor(rng.standard_normal((shape[-2], K)), dtype=dt)
        k[0, 1] = 0.0
        ref = torch.from_numpy(_engine_long(u, k, causal, "propagate"))
        assert_same_nonfinite(long_conv(u, k, causal), ref.to(dt), dt, f"{shape} K={K}")


@pytest.mark.parametrize("dtype", list(DTYPES))
@pytest.mark.parametrize("causal", [True, False])
def test_long_conv_interpolate_matches_the_engine(causal, dtype, rng):
    dt = DTYPES[dtype]
    for shape, K in (((2, 3, 40), 7), ((4, 50), 50), ((3, 30), 64)):
        u = _spoil(rng, torch.tensor(rng.standard_normal(shape), dtype=dt), "both", 4)
        k = torch.tensor(rng.random((shape[-2], K)) + 0.1, dtype=dt)
        ref = _engine_long(u, k, causal, "interpolate")
        assert_close(_np(long_conv(u, k, causal, nan_policy="interpolate")), ref, np.dtype(dtype))
    # a shared (K,) kernel and gates: the convolution reads pregate * u
    u = torch.tensor(rng.standard_normal((2, 3, 30)), dtype=dt)
    pre = torch.tensor(rng.random((3, 30)) + 0.5, dtype=dt)
    pre[1, 12] = math.nan
    post = torch.tensor(rng.standard_normal((3, 30)), dtype=dt)
    k = torch.tensor(rng.random(5) + 0.1, dtype=dt)
    got = long_conv(u, k, causal, pregate=pre, postgate=post, nan_policy="interpolate")
    ref = _engine_long(u * pre, k, causal, "interpolate") * _np(post)
    assert_close(_np(got), ref, np.dtype(dtype))
    got = long_conv(u, k, causal, pregate=pre, postgate=post)
    ref = torch.from_numpy(_engine_long(u * pre, k, causal, "propagate") * _np(post))
    assert_same_nonfinite(got, ref.to(dt), dt)


def test_long_conv_raise_and_interpolate_errors(rng):
    u = torch.tensor(rng.standard_normal((2, 3, 20)))
    k = torch.tensor(rng.random((3, 5)))
    assert torch.equal(long_conv(u, k, nan_policy="raise"), long_conv(u, k))
    u[1, 2, 7] = math.nan
    with pytest.raises(
        ValueError, match=r"^u contains 1 non-finite value\(s\) .*index \(1, 2, 7\); nan_policy='raise'"
    ):
        long_conv(u, k, nan_policy="raise")
    gate = torch.ones(3, 20, dtype=torch.float64)
    gate[0, 3] = INF
    with pytest.raises(ValueError, match=r"^postgate contains 1 .*index \(0, 3\)"):
        long_conv(u.nan_to_num(), k, postgate=gate, nan_policy="raise")
    kz = k.clone()
    kz[2] = torch.tensor([1.0, -1.0, 0.0, 0.0, 0.0], dtype=torch.float64)
    with pytest.raises(ValueError, match=r"sum is not zero.*k\[2\] sums to zero and channel 2"):
        long_conv(u, kz, nan_policy="interpolate")
    long_conv(u.nan_to_num(), kz, nan_policy="interpolate")  # finite: nothing is renormalized
    kn = k[0].clone()
    kn[4] = math.nan
    with pytest.raises(ValueError, match=r"^k contains 1 non-finite value\(s\) .*index \(4,\)"):
        long_conv(u, kn, nan_policy="interpolate")


# --------------------------------------------------------------------------- the layers' policy attribute


def test_layers_store_show_and_pickle_the_policy(rng):
    layer = FFTConv2d(2, 3, 5, padding=2, nan_policy="interpolate").double()
    assert layer.nan_policy == "interpolate"
    assert repr(layer).endswith("padding=(2, 2), nan_policy='interpolate')")
    assert "nan_policy" not in repr(FFTConv1d(2, 3, 5))  # the default is not shown, like nn.Conv*d's
    # the state_dict is nn.Conv2d's (the policy is configuration, not state) and loads both ways
    ref = nn.Conv2d(2, 3, 5, padding=2).double()
    assert set(layer.state_dict()) == set(ref.state_dict())
    layer.load_state_dict(ref.state_dict())
    assert layer.nan_policy == "interpolate"
    x = torch.tensor(rng.standard_normal((1, 2, 12, 12)))
    x[0, 0, 6, 6] = math.nan
    with torch.no_grad():
        y = layer.eval()(x)
        buf = io.BytesIO()
        torch.save(layer, buf)
        buf.seek(0)
        for other in (pickle.loads(pickle.dumps(layer)), copy.deepcopy(layer), torch.load(buf, weights_only=False)):
            assert type(other) is FFTConv2d and other.nan_policy == "interpolate"
            assert torch.equal(other(x), y)
    assert not bool(torch.isnan(y).any())


def test_wrong_policy_values_are_refused_everywhere():
    msg = r"nan_policy must be one of 'propagate', 'raise', 'interpolate'; got 'omit'"
    x, w = torch.randn(1, 1, 8), torch.randn(1, 1, 3)
    with pytest.raises(ValueError, match=msg):
        fft_conv(x, w, nan_policy="omit")
    with pytest.raises(ValueError, match=msg):
        FFTConv1d(1, 1, 3, nan_policy="omit")
    with pytest.raises(ValueError, match=msg):
        long_conv(x[0], w[0], nan_policy="omit")
    with pytest.raises(ValueError, match=msg):
        convert(nn.Conv1d(1, 1, 3), nan_policy="omit")
    layer = FFTConv1d(1, 1, 3)
    layer.nan_policy = "omit"  # set after construction: refused on the next call
    with pytest.raises(ValueError, match=msg):
        layer(x)
    with pytest.raises(ValueError, match=r"nan_policy must be one of .*got None"):
        fft_conv(x, w, nan_policy=None)


def test_convert_passes_the_policy_on():
    net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.Conv2d(8, 8, 25, padding=12), FFTConv2d(8, 2, 3))
    fast = convert(net, torch.randn(4, 1, 64, 64))
    assert [type(m).__name__ for m in fast] == ["Conv2d", "FFTConv2d", "FFTConv2d"]
    assert fast[1].nan_policy == "propagate"
    # another policy exists only in the FFT layers: every nn.Conv*d is converted
    strict = convert(net, torch.randn(4, 1, 64, 64), nan_policy="raise")
    assert [type(m).__name__ for m in strict] == ["FFTConv2d", "FFTConv2d", "FFTConv2d"]
    assert [m.nan_policy for m in strict] == ["raise", "raise", "propagate"]  # an FFT layer keeps its own
    x = torch.randn(1, 1, 16, 16)
    x[0, 0, 3, 3] = math.nan
    with pytest.raises(
        ValueError,
        match=r"^input contains 1 non-finite value\(s\) \(NaN or inf\); the first is at "
        r"index \(0, 0, 3, 3\)",
    ):
        strict(x)
