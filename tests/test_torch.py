"""convlens.torch against torch.nn.Conv*d / torch.nn.functional.conv*d (the reference), on CPU and CUDA."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import scipy.signal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

import convlens  # noqa: E402
import convlens.torch as ct  # noqa: E402
from conftest import assert_close  # noqa: E402
from convlens._torch_plan import conv_costs, plan_conv, plan_long, resolve_padding  # noqa: E402
from convlens.torch import FFTConv1d, FFTConv2d, FFTConv3d, convert, fft_conv, long_conv  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths:UserWarning")

DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")),
]
MODES = ["zeros", "reflect", "replicate", "circular"]
CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
FFT = {1: FFTConv1d, 2: FFTConv2d, 3: FFTConv3d}


@pytest.fixture(autouse=True)
def _few_threads():
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(old)


def _np(t):
    return t.detach().cpu().double().numpy()


def _random_case(rng, d, mode):
    """A random valid combination of nn.Conv*d arguments and an input for it."""
    g = int(rng.choice([1, 2, 3]))
    cin, cout = g * int(rng.integers(1, 3)), g * int(rng.integers(1, 3))
    k = tuple(int(v) for v in rng.integers(1, 6, d))
    dil = tuple(int(v) for v in rng.integers(1, 3, d))
    keff = [dl * (kk - 1) + 1 for kk, dl in zip(k, dil)]
    r = rng.random()
    if r < 0.2:
        pad, stride = "same", 1
    elif r < 0.3:
        pad, stride = "valid", tuple(int(v) for v in rng.integers(1, 4, d))
    else:
        pad, stride = tuple(int(v) for v in rng.integers(0, 4, d)), tuple(int(v) for v in rng.integers(1, 4, d))
    hi = 20 if d < 3 else 11
    n = tuple(int(rng.integers(max(keff[i], 4), max(keff[i], 4) + hi - 3)) for i in range(d))
    args = dict(stride=stride, padding=pad, dilation=dil, groups=g, padding_mode=mode)
    return cin, cout, k, n, args, bool(rng.random() < 0.5)


def _torch_ref(x, w, b, args, d):
    conv = CONV[d](
        x.shape[1], w.shape[0], tuple(w.shape[2:]), bias=b is not None, dtype=x.dtype, device=x.device, **args
    )
    with torch.no_grad():
        conv.weight.copy_(w)
        if b is not None:
            conv.bias.copy_(b)
    return conv


# --------------------------------------------------------------------------- forward / backward vs torch


@pytest.fixture(params=["dft", "fft"])
def weight_path(request, monkeypatch):
    """Run a test with the weight spectrum by DFT matrices (small kernels) and by FFTs (large ones)."""
    if request.param == "fft":
        monkeypatch.setattr(ct._fft_conv, "_DFT_MAX_TAPS", 0)
    return request.param


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("d", [1, 2, 3])
def test_fft_conv_matches_torch_random_combinations(d, mode, device, rng, weight_path):
    done = 0
    for _ in range(12):
        cin, cout, k, n, args, with_bias = _random_case(rng, d, mode)
        x = torch.tensor(rng.standard_normal((2, cin, *n)), device=device)
        conv = _torch_ref(
            x,
            torch.tensor(rng.standard_normal((cout, cin // args["groups"], *k)), device=device),
            torch.tensor(rng.standard_normal(cout), device=device) if with_bias else None,
            args,
            d,
        )
        try:
            ref = conv(x)
        except RuntimeError:  # e.g. reflect padding >= input size: checked in the bad-input tests
            continue
        got = fft_conv(x, conv.weight, conv.bias, **args)
        assert got.dtype == torch.float64 and got.device == x.device
        assert_close(_np(got), _np(ref), np.float64, err_msg=f"{args} k={k} n={n}")
        # the layer gives the same, and so do the gradients of input, weight and bias
        layer = FFT[d](cin, cout, k, bias=with_bias, dtype=x.dtype, device=device, **args)
        layer.load_state_dict(conv.state_dict())
        xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
        gout = torch.tensor(rng.standard_normal(tuple(ref.shape)), device=device)
        layer(xa).backward(gout)
        conv(xb).backward(gout)
        assert_close(_np(xa.grad), _np(xb.grad), np.float64)
        assert_close(_np(layer.weight.grad), _np(conv.weight.grad), np.float64)
        if with_bias:
            assert_close(_np(layer.bias.grad), _np(conv.bias.grad), np.float64)
        done += 1
    assert done >= 6


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    d=st.integers(1, 3),
    groups=st.integers(1, 3),
    cin_g=st.integers(1, 2),
    cout_g=st.integers(1, 2),
    k=st.integers(1, 6),
    dil=st.integers(1, 3),
    stride=st.integers(1, 3),
    pad=st.integers(0, 7),
    extra=st.integers(0, 9),
    mode=st.sampled_from(MODES),
    seed=st.integers(0, 2**16),
)
def test_property_matches_torch(d, groups, cin_g, cout_g, k, dil, stride, pad, extra, mode, seed):
    # any size the padded input allows, down to a kernel as large as the input
    keff = dil * (k - 1) + 1
    n = max(1, keff - 2 * pad + extra, pad + 1 if mode != "zeros" else 1)
    if d == 3:
        n = min(n, 9)
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(1, groups * cin_g, *([n] * d), dtype=torch.float64, generator=g)
    w = torch.randn(groups * cout_g, cin_g, *([k] * d), dtype=torch.float64, generator=g)
    args = dict(stride=stride, padding=pad, dilation=dil, groups=groups, padding_mode=mode)
    conv = _torch_ref(x, w, None, args, d)
    try:
        ref = conv(x)
    except RuntimeError:
        with pytest.raises(ValueError):
            fft_conv(x, w, **args)
        return
    assert_close(_np(fft_conv(x, w, **args)), _np(ref), np.float64, err_msg=str(args))


@pytest.mark.parametrize("mode", MODES)
def test_gradcheck_float64(mode, weight_path):
    gen = torch.Generator().manual_seed(5)
    x = torch.randn(1, 4, 5, 6, dtype=torch.float64, generator=gen, requires_grad=True)
    w = torch.randn(6, 2, 3, 2, dtype=torch.float64, generator=gen, requires_grad=True)
    b = torch.randn(6, dtype=torch.float64, generator=gen, requires_grad=True)

    def f(x, w, b):
        return fft_conv(x, w, b, stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2, padding_mode=mode)

    assert torch.autograd.gradcheck(f, (x, w, b), fast_mode=True)


def test_gradcheck_1d_and_3d_same_padding(weight_path):
    gen = torch.Generator().manual_seed(6)
    x1 = torch.randn(1, 2, 11, dtype=torch.float64, generator=gen, requires_grad=True)
    w1 = torch.randn(3, 2, 4, dtype=torch.float64, generator=gen, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w: fft_conv(x, w, padding="same", dilation=2), (x1, w1))
    x3 = torch.randn(1, 1, 4, 5, 4, dtype=torch.float64, generator=gen, requires_grad=True)
    w3 = torch.randn(2, 1, 2, 3, 2, dtype=torch.float64, generator=gen, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w: fft_conv(x, w, padding=1, stride=2), (x3, w3))


def test_unbatched_input_and_functional_signature(rng):
    x = torch.tensor(rng.standard_normal((3, 30)))
    w = torch.tensor(rng.standard_normal((4, 3, 6)))
    b = torch.tensor(rng.standard_normal(4))
    got = fft_conv(x, w, b, 2, 1, 3, 1, "circular")  # positional, in F.conv1d's order
    ref = nn.Conv1d(3, 4, 6, 2, 1, 3, padding_mode="circular", dtype=torch.float64)
    with torch.no_grad():
        ref.weight.copy_(w), ref.bias.copy_(b)
    assert got.shape == (4, 9)
    assert_close(_np(got), _np(ref(x)), np.float64)
    assert_close(_np(fft_conv(x, w, padding="valid")), _np(F.conv1d(x, w, padding="valid")), np.float64)


def test_large_kernel_and_padding_beyond_kernel(rng):
    # padding >= kernel size (output longer than the input) and a kernel longer than the input
    x = torch.tensor(rng.standard_normal((2, 2, 9)))
    w = torch.tensor(rng.standard_normal((3, 2, 2)))
    assert_close(_np(fft_conv(x, w, padding=7)), _np(F.conv1d(x, w, padding=7)), np.float64)
    w = torch.tensor(rng.standard_normal((3, 2, 15)))
    assert_close(_np(fft_conv(x, w, padding=4)), _np(F.conv1d(x, w, padding=4)), np.float64)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("mode", MODES)
def test_overlap_save_blocks_match_torch(mode, device, rng):
    # inputs much longer than the kernel are cut into overlap-save frames (1-D and along one 2-D axis)
    cases = [
        ((2, 4, 12000), (6, 2, 31), dict(stride=3, padding=7, dilation=2, groups=2)),
        ((1, 2, 9000), (2, 2, 6), dict(padding="same")),
        ((2, 3, 300, 20), (4, 3, 3, 5), dict(stride=(2, 1), padding=(1, 2))),
        ((1, 2, 9, 90, 7), (2, 1, 3, 4, 2), dict(padding=1, groups=2, dilation=(1, 2, 1))),
    ]
    for xs, ws, kw in cases:
        d = len(xs) - 2
        x = torch.tensor(rng.standard_normal(xs), device=device)
        w = torch.tensor(rng.standard_normal(ws), device=device)
        pads = resolve_padding(kw.get("padding", 0), ws[2:], (1,) * d, (1,) * d)
        if mode != "zeros":
            xs = (*xs[:2], *(n + b + a for n, (b, a) in zip(xs[2:], pads)))
            pads = ((0, 0),) * d
        keff = tuple(dl * (k - 1) + 1 for k, dl in zip(ws[2:], ntuple_(kw.get("dilation", 1), d)))
        assert plan_conv(tuple(xs[2:]), keff, pads, ntuple_(kw.get("stride", 1), d)).nblocks >= 2
        conv = _torch_ref(x, w, None, {**kw, "padding_mode": mode}, d)
        assert_close(_np(fft_conv(x, w, padding_mode=mode, **kw)), _np(conv(x)), np.float64, err_msg=str(kw))


def ntuple_(v, d):
    return tuple(v) if isinstance(v, tuple) else (v,) * d


def test_overlap_save_gradients():
    gen = torch.Generator().manual_seed(9)
    x = torch.randn(1, 2, 60, dtype=torch.float64, generator=gen, requires_grad=True)
    w = torch.randn(2, 2, 3, dtype=torch.float64, generator=gen, requires_grad=True)
    x2, w2 = x.detach().clone().requires_grad_(), w.detach().clone().requires_grad_()
    fft_conv(x, w, stride=2, padding=2).square().sum().backward()
    F.conv1d(x2, w2, stride=2, padding=2).square().sum().backward()
    assert_close(_np(x.grad), _np(x2.grad), np.float64)
    assert_close(_np(w.grad), _np(w2.grad), np.float64)


@pytest.mark.parametrize("device", DEVICES)
def test_float32_and_chunked_contraction(device, rng, monkeypatch):
    x = torch.tensor(rng.standard_normal((3, 6, 40, 33)), dtype=torch.float32, device=device)
    w = torch.tensor(rng.standard_normal((8, 3, 9, 7)), dtype=torch.float32, device=device)
    ref = F.conv2d(x.double(), w.double(), padding=(4, 2), groups=2)
    got = fft_conv(x, w, padding=(4, 2), groups=2)
    assert got.dtype == torch.float32
    assert_close(_np(got), _np(ref), np.float32)
    # a tiny chunk budget (one frequency per GEMM batch; one row of the weight spectrum made at a
    # time) gives the same result, and so does a layer whose spectrum is too big to cache
    monkeypatch.setitem(ct._checks._CHUNK_BYTES, device, 1)
    monkeypatch.setitem(ct._checks._STREAM_BYTES, device, 1)
    assert_close(_np(fft_conv(x, w, padding=(4, 2), groups=2)), _np(got), np.float32)
    monkeypatch.setattr(ct._layers, "_CACHE_MAX_BYTES", 0)
    layer = FFTConv2d(6, 8, (9, 7), padding=(4, 2), groups=2, bias=False, device=device).eval()
    with torch.no_grad():
        layer.weight.copy_(w)
        assert_close(_np(layer(x)), _np(got), np.float32)
    assert layer._spectrum_cache is None


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_peak_memory_bounded_where_conv2d_fits():
    # a wide layer: its full weight spectrum (256 * 256 * 70 * 36 complex64 = 1.3 GB) is never held
    x = torch.randn(1, 256, 64, 64, device="cuda")
    w = torch.randn(256, 256, 7, 7, device="cuda") / 50
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    with torch.no_grad():
        got = fft_conv(x, w, padding=3)
    peak = torch.cuda.max_memory_allocated() - base
    assert peak < 1.0e9, peak  # the non-streaming path needs > 1.3 GB
    assert_close(_np(got), _np(F.conv2d(x.double(), w.double(), padding=3)), np.float32)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_computed_in_float32(dtype, device, rng):
    x = torch.tensor(rng.standard_normal((2, 4, 24, 24)), device=device).to(dtype)
    w = (torch.tensor(rng.standard_normal((4, 4, 7, 7)), device=device) / 7).to(dtype)
    got = fft_conv(x, w, padding=3)
    assert got.dtype == dtype
    ref = F.conv2d(x.double(), w.double(), padding=3)  # exact result of the rounded inputs
    # only the final rounding to the half type remains (eps 2^-11 for float16, 2^-8 for bfloat16)
    eps = 2.0**-10 if dtype == torch.float16 else 2.0**-7
    assert_close(_np(got), _np(ref), rel=eps)


def test_inputs_not_modified(rng):
    x = torch.tensor(rng.standard_normal((2, 2, 12, 12)))
    w = torch.tensor(rng.standard_normal((2, 2, 3, 3)))
    b = torch.tensor(rng.standard_normal(2))
    u, k = torch.tensor(rng.standard_normal((2, 3, 20))), torch.tensor(rng.standard_normal((3, 7)))
    x0, w0, b0, u0, k0 = x.clone(), w.clone(), b.clone(), u.clone(), k.clone()
    fft_conv(x, w, b, padding=1, padding_mode="reflect")
    long_conv(u, k, pregate=u[0], postgate=u)
    assert torch.equal(x, x0) and torch.equal(w, w0) and torch.equal(b, b0)
    assert torch.equal(u, u0) and torch.equal(k, k0)


# --------------------------------------------------------------------------- layers and the spectrum cache


@pytest.mark.parametrize("d", [1, 2, 3])
def test_layers_are_drop_in(d):
    kw = dict(stride=2, padding=1, dilation=1, groups=2, padding_mode="replicate")
    torch.manual_seed(0)
    ref = CONV[d](4, 6, 3, **kw)
    torch.manual_seed(0)
    layer = FFT[d](4, 6, 3, **kw)
    assert isinstance(layer, CONV[d])
    assert list(layer.state_dict()) == list(ref.state_dict())
    assert all(torch.equal(a, b) for a, b in zip(layer.state_dict().values(), ref.state_dict().values()))
    assert repr(layer) == repr(ref).replace(f"Conv{d}d", f"FFTConv{d}d", 1)
    ref.load_state_dict(layer.state_dict())
    x = torch.randn(2, 4, *([9] * d))
    assert_close(_np(layer(x)), _np(ref(x)), np.float32)


def test_eval_cache_reused_and_invalidated():
    torch.manual_seed(1)
    layer = FFTConv2d(3, 5, 7, padding=3).eval()
    ref = nn.Conv2d(3, 5, 7, padding=3).eval()
    x = torch.randn(2, 3, 20, 20)
    with torch.no_grad():
        layer(x)
        cached = layer._spectrum_cache.spectrum
        layer(x)
        assert layer._spectrum_cache.spectrum is cached  # reused
        # load_state_dict copies in place: the version counter moves, the cache is rebuilt
        layer.load_state_dict(ref.state_dict())
        assert_close(_np(layer(x)), _np(ref(x)), np.float32)
        assert layer._spectrum_cache.spectrum is not cached
        # an in-place edit of the weight
        layer.weight.mul_(2)
        ref.weight.mul_(2)
        assert_close(_np(layer(x)), _np(ref(x)), np.float32)
        # a new Parameter object
        layer.weight = nn.Parameter(torch.randn_like(layer.weight))
        ref.weight = nn.Parameter(layer.weight.detach().clone())
        assert_close(_np(layer(x)), _np(ref(x)), np.float32)
        # a different input size needs another FFT length
        x2 = torch.randn(1, 3, 31, 17)
        assert_close(_np(layer(x2)), _np(ref(x2)), np.float32)
    # an optimizer step in training mode, then eval again
    layer.train()
    assert layer._spectrum_cache is None
    opt = torch.optim.SGD(layer.parameters(), lr=0.1)
    layer(x).square().mean().backward()
    opt.step()
    layer.eval()
    ref.load_state_dict(layer.state_dict())
    with torch.no_grad():
        assert_close(_np(layer(x)), _np(ref(x)), np.float32)


def test_stale_spectrum_after_data_edit_issue_case_8():
    # The weight's version counter does not see edits through .data (EMA, weight clipping):
    # the cached spectrum must still never be served for other weight values.
    torch.manual_seed(0)
    layer = FFTConv2d(2, 3, 5, padding=2).double().eval()
    x = torch.randn(1, 2, 12, 12, dtype=torch.float64)
    with torch.no_grad():
        layer(x)
        layer.weight.data.mul_(2.0)
        got = layer(x)
        want = F.conv2d(x, layer.weight, layer.bias, padding=2)
    assert float((got - want).abs().max()) < 1e-12


def _weight_edits():
    """Every way a weight can change behind the layer's back (each edits `layer` in place)."""

    def data_mul(m):
        m.weight.data.mul_(-1.5)

    def data_view(m):  # one output channel through a view of .data
        m.weight.data[0].zero_()

    def data_assign(m):  # .data = a new tensor of the same shape
        m.weight.data = torch.randn_like(m.weight)

    def data_copy_same_sum(m):  # a permutation keeps sum, norm and every summary statistic
        m.weight.data.copy_(m.weight.data.flip(-1))

    def inplace_nograd(m):
        with torch.no_grad():
            m.weight.add_(0.25)

    def state_dict(m):
        sd = {k: torch.randn_like(v) for k, v in m.state_dict().items()}
        m.load_state_dict(sd)

    def replace_parameter(m):
        m.weight = nn.Parameter(torch.randn_like(m.weight))

    def to_float(m):  # a dtype change (the input is cast alongside)
        m.float()

    def ema(m):  # exponential moving average written into .data (the common EMA recipe)
        other = torch.randn_like(m.weight)
        m.weight.data.mul_(0.9).add_(other, alpha=0.1)

    def clamp(m):  # weight clipping
        m.weight.data.clamp_(-0.05, 0.05)

    def bias(m):
        m.bias.data.add_(1.0)

    def optimizer_step(m):
        opt = torch.optim.SGD(m.parameters(), lr=0.5)
        with torch.enable_grad():
            m(torch.randn(1, m.in_channels, *([9] * (m.weight.ndim - 2)), dtype=m.weight.dtype)).sum().backward()
        opt.step()

    return [
        data_mul,
        data_view,
        data_assign,
        data_copy_same_sum,
        inplace_nograd,
        state_dict,
        replace_parameter,
        to_float,
        ema,
        clamp,
        bias,
        optimizer_step,
    ]


@pytest.mark.parametrize("d", [1, 2, 3])
@pytest.mark.parametrize("edit", _weight_edits(), ids=lambda f: f.__name__)
def test_cached_spectrum_follows_every_weight_change(d, edit):
    torch.manual_seed(d)
    ksize = 5 if d < 3 else 3
    layer = FFT[d](2, 3, ksize, padding=ksize // 2).double().eval()
    conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[d]
    x = torch.randn(1, 2, *([10] * d), dtype=torch.float64)
    with torch.no_grad():
        layer(x)
        assert layer._spectrum_cache is not None
        edit(layer)
        xx = x.to(layer.weight.dtype)
        got = layer(xx)
        want = conv(xx, layer.weight, layer.bias, padding=ksize // 2)
        tol = 1e-12 if layer.weight.dtype == torch.float64 else 1e-5
        assert float((got - want).abs().max()) <= tol * float(want.abs().max())
        # and a second call (now served from the rebuilt cache) agrees too
        assert torch.equal(layer(xx), got)


def test_cached_spectrum_large_kernel_path_and_inference_mode():
    # kernels above the DFT-matrix size take the FFT route to their spectrum; inference mode too
    torch.manual_seed(3)
    layer = FFTConv2d(1, 2, 17, padding=8).double().eval()
    x = torch.randn(1, 1, 40, 40, dtype=torch.float64)
    with torch.inference_mode():
        layer(x)
        layer.weight.data[:, :, 3, 4] += 1.0
        got = layer(x)
    want = F.conv2d(x, layer.weight.detach(), layer.bias.detach(), padding=8)
    assert float((got - want).abs().max()) < 1e-11


def test_cached_spectrum_nan_weight_never_served_stale():
    layer = FFTConv1d(1, 1, 3, padding=1, bias=False).double().eval()
    x = torch.ones(1, 1, 6, dtype=torch.float64)
    with torch.no_grad():
        layer.weight.data.fill_(1.0)
        layer.weight.data[0, 0, 0] = float("nan")
        assert torch.isnan(layer(x)).any()
        layer.weight.data.fill_(1.0)
        assert float((layer(x) - F.conv1d(x, layer.weight, padding=1)).abs().max()) < 1e-12


def test_empty_batch_pickle_and_deepcopy():
    import copy
    import pickle

    layer = FFTConv2d(2, 3, 5, padding=2).eval()
    x = torch.randn(0, 2, 9, 9)
    assert layer(x).shape == nn.Conv2d(2, 3, 5, padding=2)(x).shape == (0, 3, 9, 9)
    with torch.no_grad():
        layer(torch.randn(1, 2, 9, 9))
    assert layer._spectrum_cache is not None
    for clone in (pickle.loads(pickle.dumps(layer)), copy.deepcopy(layer)):
        assert clone._spectrum_cache is None and type(clone) is FFTConv2d
        assert torch.equal(clone.weight, layer.weight)
    assert layer._spectrum_cache is not None  # the original keeps its cache


def test_eval_mode_with_grad_enabled_still_differentiates_weight():
    layer = FFTConv1d(2, 2, 5, padding=2, dtype=torch.float64).eval()
    ref = nn.Conv1d(2, 2, 5, padding=2, dtype=torch.float64).eval()
    ref.load_state_dict(layer.state_dict())
    x = torch.randn(1, 2, 16, dtype=torch.float64)
    layer(x).sum().backward()
    ref(x).sum().backward()
    assert_close(_np(layer.weight.grad), _np(ref.weight.grad), np.float64)


def test_convert_swaps_where_fft_pays():
    torch.manual_seed(2)
    net = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 25, padding=12), nn.ReLU())
    x = torch.randn(4, 1, 64, 64)
    fast = convert(net, x)
    assert [type(m).__name__ for m in fast] == ["Conv2d", "ReLU", "FFTConv2d", "ReLU"]
    assert type(net[2]) is nn.Conv2d  # not in place: the original is untouched
    assert fast[2].weight is not net[2].weight
    with torch.no_grad():
        assert_close(_np(fast(x)), _np(net(x)), np.float32)
    # without an example input the assumed sizes decide; 'all' converts every layer
    assert isinstance(convert(nn.Conv1d(4, 4, 1025)), FFTConv1d)
    assert type(convert(nn.Conv2d(4, 4, 3))) is nn.Conv2d
    weight = net[0].weight
    allc = convert(net, rule="all", inplace=True)
    assert allc is net and isinstance(net[0], FFTConv2d) and net[0].weight is weight


def test_cost_rule_ranks_the_benchmark_layers():
    # the W5 benchmark layer (benchmarks/bench_torch.py): FFT wins; a 3x3 layer: direct wins;
    # the pytorch#21462 Conv1d: FFT wins by far
    w5 = conv_costs(8, 64, 64, 1, (64, 64), (11, 11), ((5, 5), (5, 5)), (1, 1), cached_weight=True)
    small = conv_costs(8, 64, 64, 1, (64, 64), (3, 3), ((1, 1), (1, 1)), (1, 1))
    c1 = conv_costs(1, 64, 64, 1, (64000,), (1024,), ((0, 0),), (1,))
    assert w5["fft"] < w5["direct"] and small["direct"] < small["fft"] and c1["direct"] > 10 * c1["fft"]


def test_plan_lengths_are_the_alias_free_minimum():
    # the W5 layer: 72 = smallest fast size >= 64 + 11 - 1 - 5
    assert plan_conv((64, 64), (11, 11), ((5, 5), (5, 5)), (1, 1)).fft_shape == (72, 72)
    assert resolve_padding("same", (4,), (3,), (1,)) == ((4, 5),)
    assert plan_long(16384, 16384, True)[0] == 32768
    assert plan_long(1000, 1000, True)[0] >= 1999


# --------------------------------------------------------------------------- a tiny CNN on real data


def _digits_accuracy(conv_cls) -> float:
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.tensor(digits.images / 16.0, dtype=torch.float32).unsqueeze(1)
    y = torch.tensor(digits.target)
    perm = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))
    train, test = perm[:1400], perm[1400:]
    torch.manual_seed(0)
    net = nn.Sequential(
        conv_cls(1, 8, 5, padding=2),
        nn.ReLU(),
        conv_cls(8, 16, 5, padding=2),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(16 * 64, 10),
    )
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(1)
    for _ in range(4):
        order = train[torch.randperm(len(train), generator=gen)]
        for i in range(0, len(order), 50):
            idx = order[i : i + 50]
            opt.zero_grad()
            F.cross_entropy(net(x[idx]), y[idx]).backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        return float((net(x[test]).argmax(1) == y[test]).float().mean()) * 100


def test_digits_cnn_same_accuracy_as_conv2d():
    acc_ref = _digits_accuracy(nn.Conv2d)
    acc_fft = _digits_accuracy(FFTConv2d)
    assert acc_ref > 90, acc_ref  # the net learns at all
    assert abs(acc_fft - acc_ref) <= 2, (acc_fft, acc_ref)


# --------------------------------------------------------------------------- long_conv


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("causal", [True, False])
@pytest.mark.parametrize(("L", "K"), [(1, 1), (37, 37), (100, 13), (13, 40), (1000, 1000)])
def test_long_conv_matches_scipy(L, K, causal, device, rng):
    u = rng.standard_normal((2, 3, L))
    k = rng.standard_normal((3, K))
    got = long_conv(torch.tensor(u, device=device), torch.tensor(k, device=device), causal)
    if causal:
        ref = scipy.signal.fftconvolve(u, k[None], axes=-1)[..., :L]
    else:
        ref = scipy.signal.fftconvolve(u, k[None], mode="same", axes=-1)
        assert_close(ref, convlens.convolve(u, k[None], mode="same", axes=-1), np.float64)
    assert_close(_np(got), ref, np.float64)


def test_long_conv_causality_gating_and_shared_kernel(rng):
    u = torch.tensor(rng.standard_normal((2, 4, 50)))
    k = torch.tensor(rng.standard_normal(50))
    y = long_conv(u, k)
    u2 = u.clone()
    u2[..., 30:] = 7.0  # the future must not change the past (up to FFT round-off)
    assert_close(_np(long_conv(u2, k)[..., :30]), _np(y[..., :30]), np.float64)
    assert not np.allclose(_np(long_conv(u2, k)[..., 30:]), _np(y[..., 30:]))
    assert_close(_np(y), _np(long_conv(u, k.expand(4, 50))), np.float64)
    pre, post = torch.tensor(rng.standard_normal((4, 50))), torch.tensor(rng.standard_normal((2, 4, 50)))
    assert_close(_np(long_conv(u, k, pregate=pre, postgate=post)), _np(post * long_conv(u * pre, k)), np.float64)


def test_long_conv_batch_shapes(rng):
    # no batch dims, and two of them: the same per-channel convolution
    u = torch.tensor(rng.standard_normal((2, 3, 4, 40)))
    k = torch.tensor(rng.standard_normal((4, 25)))
    y = long_conv(u, k)
    assert y.shape == u.shape
    assert_close(_np(long_conv(u[1, 2], k)), _np(y[1, 2]), np.float64)
    ref = scipy.signal.fftconvolve(_np(u), _np(k)[None, None], axes=-1)[..., :40]
    assert_close(_np(y), ref, np.float64)


@pytest.mark.parametrize("causal", [True, False])
def test_long_conv_gradcheck(causal):
    gen = torch.Generator().manual_seed(3)
    u = torch.randn(2, 3, 11, dtype=torch.float64, generator=gen, requires_grad=True)
    k = torch.randn(3, 7, dtype=torch.float64, generator=gen, requires_grad=True)
    g = torch.randn(3, 11, dtype=torch.float64, generator=gen, requires_grad=True)
    assert torch.autograd.gradcheck(lambda u, k, g: long_conv(u, k, causal, pregate=g), (u, k, g))
    # a kernel longer than the sequence (causal drops the taps that never act) and an odd length
    k2 = torch.randn(3, 15, dtype=torch.float64, generator=gen, requires_grad=True)
    assert torch.autograd.gradcheck(lambda u, k: long_conv(u, k, causal), (u, k2))
    # no batch dimension, and a shared 1-d kernel (its gradient sums over channels)
    k1 = torch.randn(5, dtype=torch.float64, generator=gen, requires_grad=True)
    assert torch.autograd.gradcheck(lambda u, k: long_conv(u, k, causal), (u[0].detach().requires_grad_(), k1))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_long_conv_dtypes(dtype, device, rng):
    u = torch.tensor(rng.standard_normal((2, 3, 300)), device=device).to(dtype)
    k = (torch.tensor(rng.standard_normal((3, 300)), device=device) / 10).to(dtype)
    got = long_conv(u, k)
    assert got.dtype == dtype and got.device == u.device
    ref = scipy.signal.fftconvolve(_np(u), _np(k)[None], axes=-1)[..., :300]
    eps = {torch.float32: 2e-5, torch.float16: 2.0**-10, torch.bfloat16: 2.0**-7}[dtype]
    assert_close(_np(got), ref, rel=eps)


# --------------------------------------------------------------------------- bad input


def test_bad_input_messages():
    x = torch.randn(1, 4, 10, 10)
    w = torch.randn(6, 2, 3, 3)
    with pytest.raises(ValueError, match="out_channels must be divisible by groups"):
        fft_conv(x, torch.randn(5, 1, 3, 3), groups=4)
    with pytest.raises(ValueError, match=r"expected input\[1, 4, 10, 10\] to have 2 channels, but got 4"):
        fft_conv(x, w)
    with pytest.raises(ValueError, match="groups must be a positive integer"):
        fft_conv(x, w, groups=0)
    with pytest.raises(ValueError, match=r"Expected 3D \(unbatched\) or 4D \(batched\) input to conv2d"):
        fft_conv(torch.randn(4, 10), w, groups=2)
    with pytest.raises(ValueError, match="weight must have 3, 4 or 5 dimensions"):
        fft_conv(x, torch.randn(4, 4))
    with pytest.raises(TypeError, match=r"input type \(torch.float64\) and weight type \(torch.float32\)"):
        fft_conv(x.double(), w, groups=2)
    with pytest.raises(TypeError, match="real floating dtype"):
        fft_conv(x.long(), w.long(), groups=2)
    with pytest.raises(TypeError, match=r"input must be a torch\.Tensor"):
        fft_conv(x.numpy(), w, groups=2)
    with pytest.raises(TypeError, match=r"input type \(torch.float32\) and bias type \(torch.float64\)"):
        fft_conv(x, w, torch.zeros(6, dtype=torch.float64), groups=2)
    with pytest.raises(ValueError, match=r"bias must have shape \(6,\)"):
        fft_conv(x, w, torch.zeros(5), groups=2)
    with pytest.raises(ValueError, match="Kernel size can't be greater than actual input size"):
        fft_conv(x, torch.randn(6, 2, 13, 3), groups=2)
    with pytest.raises(ValueError, match="padding must be non-negative"):
        fft_conv(x, w, padding=-1, groups=2)
    with pytest.raises(ValueError, match="padding must be one of 'same', 'valid'; got 'full'"):
        fft_conv(x, w, padding="full", groups=2)
    with pytest.raises(ValueError, match="padding='same' is not supported for strided convolutions"):
        fft_conv(x, w, padding="same", stride=2, groups=2)
    with pytest.raises(ValueError, match="stride must be positive"):
        fft_conv(x, w, stride=0, groups=2)
    with pytest.raises(ValueError, match="dilation must be an int or a tuple of 2 ints"):
        fft_conv(x, w, dilation=(1, 2, 3), groups=2)
    with pytest.raises(ValueError, match="padding_mode must be one of 'zeros', 'reflect', 'replicate', 'circular'"):
        fft_conv(x, w, padding=1, groups=2, padding_mode="wrap")
    with pytest.raises(ValueError, match=r"too large for padding_mode='reflect'.*smaller than the input size"):
        fft_conv(x, w, padding=10, groups=2, padding_mode="reflect")
    with pytest.raises(ValueError, match="too large for padding_mode='circular'"):
        fft_conv(x, w, padding=11, groups=2, padding_mode="circular")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_device_mismatch():
    with pytest.raises(ValueError, match="same device"):
        fft_conv(torch.randn(1, 2, 8, device="cuda"), torch.randn(2, 2, 3))


def test_device_mismatch_meta():
    # the meta device exists everywhere: a mismatch is caught before any computation
    with pytest.raises(ValueError, match=r"input is on cpu and weight on meta"):
        fft_conv(torch.randn(1, 2, 8), torch.randn(2, 2, 3, device="meta"))


def test_long_conv_bad_input():
    u = torch.randn(2, 3, 20)
    with pytest.raises(ValueError, match=r"k must have shape \(H, K\) = \(3, K\)"):
        long_conv(u, torch.randn(4, 5))
    with pytest.raises(ValueError, match="u must have shape"):
        long_conv(torch.randn(20), torch.randn(5))
    with pytest.raises(TypeError, match=r"u type \(torch.float32\) and k type \(torch.float64\)"):
        long_conv(u, torch.randn(3, 5, dtype=torch.float64))
    with pytest.raises(TypeError, match="causal must be True or False"):
        long_conv(u, torch.randn(3, 5), causal="yes")
    with pytest.raises(TypeError, match=r"u type .* and pregate type"):
        long_conv(u, torch.randn(3, 5), pregate=torch.ones(3, 20, dtype=torch.float64))
    with pytest.raises(ValueError, match="rule must be one of 'cost', 'all'"):
        convert(nn.Conv1d(1, 1, 3), rule="fast")
    with pytest.raises(TypeError, match=r"model must be a torch\.nn\.Module"):
        convert(lambda x: x)


def test_import_convlens_does_not_import_torch():
    code = "import sys, convlens; convlens.convolve([1.0], [1.0]); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_working_sets_beyond_memory_are_refused_before_allocating():
    """An FFT buffer of ~900 GiB: InsufficientMemoryError naming the call, not torch's allocator failing."""
    from convlens._validation import InsufficientMemoryError
    from convlens.torch import long_conv

    huge = torch.empty(1, 1, 1, 1).expand(1, 1, 200_000, 200_000)  # no memory behind the view
    with pytest.raises(InsufficientMemoryError, match=r"fft_conv: .* working memory"):
        fft_conv(huge, torch.randn(1, 1, 31, 31))
    with pytest.raises(InsufficientMemoryError, match=r"fft_conv: .* working memory"):
        FFTConv2d(1, 1, 3)(huge)
    with pytest.raises(InsufficientMemoryError, match=r"long_conv: .* working memory"):
        long_conv(torch.empty(1, 1, 1).expand(4, 64, 2**30), torch.randn(64, 1024))
    # ordinary sizes pass the check and still equal torch's direct convolution
    x, w = torch.randn(2, 3, 40, 40, dtype=torch.float64), torch.randn(4, 3, 5, 5, dtype=torch.float64)
    assert torch.allclose(fft_conv(x, w, padding=2), F.conv2d(x, w, padding=2))
