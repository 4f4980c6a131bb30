"""PyTorch adapter benchmarks (issue 7): W5 conv2d 11×11, pytorch#21462 Conv1d, W4 long_conv.

Every torch callable runs under ``torch.no_grad()``; layers are in eval mode,
so ``FFTConv*d`` uses its cached weight spectrum ("cached" rows).  The
``fft_conv`` rows recompute the weight spectrum on every call (what a training
step pays).  On a CUDA machine (``python -m benchmarks --only torch``) the same
cases also run on the GPU, and ``long_conv`` is compared with the plain
``torch.fft`` implementation from L = 16K to 1M; GPU timings synchronize.
"""

from __future__ import annotations

import os
import warnings

from ._harness import Case, Compare

THREADS = 2


def _sync(fn, device):
    import torch

    if device == "cpu":
        return fn

    def run():
        out = fn()
        torch.cuda.synchronize()
        return out

    return run


def _nograd(fn):
    import torch

    def run():
        with torch.no_grad():
            return fn()

    return run


def _rel_err(a, b) -> float:
    a, b = a.double(), b.double()
    return float((a - b).abs().max() / b.abs().max())


def _w5(quick: bool, device: str) -> Case:
    import torch
    import torch.nn.functional as F

    from convlens.torch import FFTConv2d, fft_conv

    n, c, h, k = (2, 16, 32, 11) if quick else (8, 64, 64, 11)
    gen = torch.Generator().manual_seed(20241129)
    x = torch.randn(n, c, h, h, generator=gen).to(device)
    layer = FFTConv2d(c, c, k, padding=k // 2, bias=False).to(device).eval()
    w = layer.weight.detach()
    ours = {
        "FFTConv2d eval (cached)": _sync(_nograd(lambda: layer(x)), device),
        "fft_conv (weight FFT included)": _sync(_nograd(lambda: fft_conv(x, w, padding=k // 2)), device),
    }
    anchors = {"torch conv2d": _sync(_nograd(lambda: F.conv2d(x, w, padding=k // 2)), device)}
    # a training step: forward + backward through input and weight (no cache possible)
    ref_layer = torch.nn.Conv2d(c, c, k, padding=k // 2, bias=False).to(device)
    ref_layer.load_state_dict(layer.state_dict())
    train_layer = FFTConv2d(c, c, k, padding=k // 2, bias=False).to(device)
    train_layer.load_state_dict(layer.state_dict())
    xg = x.clone().requires_grad_()

    def step(m):
        def run():
            m.zero_grad()
            xg.grad = None
            m(xg).square().mean().backward()
            return m.weight.grad

        return run

    ours["FFTConv2d train step (fwd+bwd)"] = _sync(step(train_layer), device)
    anchors["nn.Conv2d train step (fwd+bwd)"] = _sync(step(ref_layer), device)
    compare = [
        Compare("torch conv2d", "FFTConv2d eval (cached)", 1.5),
        Compare("torch conv2d", "fft_conv (weight FFT included)", None),
        Compare("nn.Conv2d train step (fwd+bwd)", "FFTConv2d train step (fwd+bwd)", None),
    ]
    if device == "cpu":
        try:
            from fft_conv_pytorch import fft_conv as fkodom

            def fk():
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    return fkodom(x, w, padding=k // 2)

            anchors["fft_conv_pytorch.fft_conv"] = _nograd(fk)
            compare.append(Compare("fft_conv_pytorch.fft_conv", "FFTConv2d eval (cached)", 10.0))
            compare.append(Compare("fft_conv_pytorch.fft_conv", "fft_conv (weight FFT included)", None))
        except ImportError:  # pragma: no cover - optional anchor
            pass

    def check(out):
        ref = F.conv2d(x.double(), w.double(), padding=k // 2)
        return (
            f"rel err vs float64 conv2d: cached {_rel_err(out['FFTConv2d eval (cached)'], ref):.1e}, "
            f"torch {_rel_err(out['torch conv2d'], ref):.1e}"
        )

    return Case(
        workload=f"W5 ({n},{c},{h},{h}) ⊛ ({c},{c},{k},{k}) pad {k // 2} [{device}]",
        ours=ours,
        anchors=anchors,
        compare=compare,
        threads=dict.fromkeys([*ours, *anchors], THREADS),
        check=check,
        repeats=7,
    )


def _conv1d(quick: bool, device: str) -> Case:
    import torch
    import torch.nn.functional as F

    from convlens.torch import FFTConv1d, fft_conv

    c, k, n = (16, 256, 8000) if quick else (64, 1024, 64000)
    gen = torch.Generator().manual_seed(21462)
    x = torch.randn(1, c, n, generator=gen).to(device)
    layer = FFTConv1d(c, c, k).to(device).eval()
    w, b = layer.weight.detach(), layer.bias.detach()
    ours = {
        "FFTConv1d eval (cached)": _sync(_nograd(lambda: layer(x)), device),
        "fft_conv (weight FFT included)": _sync(_nograd(lambda: fft_conv(x, w, b)), device),
    }
    anchors = {"nn.Conv1d": _sync(_nograd(lambda: F.conv1d(x, w, b)), device)}

    def check(out):
        return f"rel err vs nn.Conv1d (float32): {_rel_err(out['FFTConv1d eval (cached)'], out['nn.Conv1d']):.1e}"

    return Case(
        workload=f"Conv1d {c} ch, kernel {k}, length {n} (pytorch#21462) [{device}]",
        ours=ours,
        anchors=anchors,
        compare=[
            Compare("nn.Conv1d", "FFTConv1d eval (cached)", 10.0),
            Compare("nn.Conv1d", "fft_conv (weight FFT included)", None),
        ],
        threads=dict.fromkeys([*ours, *anchors], THREADS),
        check=check,
        repeats=5,
        budget_s=8.0,
    )


def _plain_long_conv(u, k):
    """The usual few lines: zero-pad both to 2L, multiply the spectra, keep the first L."""
    import torch

    L = u.shape[-1]
    return torch.fft.irfft(torch.fft.rfft(u, n=2 * L) * torch.fft.rfft(k, n=2 * L), n=2 * L)[..., :L]


def _long(quick: bool, device: str, L: int | None = None) -> Case:
    import torch

    from convlens.torch import long_conv

    b, h = 4, 64
    L = L or (2048 if quick else 16384)
    gen = torch.Generator().manual_seed(20241128)
    u = torch.randn(b, h, L, generator=gen).to(device)
    k = (torch.randn(h, L, generator=gen) / L**0.5).to(device)

    def check(out):
        return f"rel err long_conv vs plain: {_rel_err(out['long_conv'], out['plain torch.fft (kernel FFT included)']):.1e}"

    return Case(
        workload=f"W4 long_conv ({b},{h},{L}) causal, full-length kernel [{device}]",
        ours={"long_conv": _sync(_nograd(lambda: long_conv(u, k)), device)},
        anchors={"plain torch.fft (kernel FFT included)": _sync(_nograd(lambda: _plain_long_conv(u, k)), device)},
        compare=[Compare("plain torch.fft (kernel FFT included)", "long_conv", 1.0)],
        threads={"long_conv": THREADS, "plain torch.fft (kernel FFT included)": THREADS},
        check=check,
        repeats=11,
    )


def cases(quick: bool) -> list[Case]:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is an optional extra
        return []
    # CONVLENS_BENCH_CUDA_ONLY=1 skips the CPU cases (to save time on a lent GPU machine)
    cpu = not os.environ.get("CONVLENS_BENCH_CUDA_ONLY")
    out = [_w5(quick, "cpu"), _conv1d(quick, "cpu"), _long(quick, "cpu")] if cpu else []
    if torch.cuda.is_available():
        out += [_w5(quick, "cuda"), _conv1d(quick, "cuda")]
        for L in (2048,) if quick else (16384, 65536, 262144, 1048576):
            out.append(_long(quick, "cuda", L))
    return out
