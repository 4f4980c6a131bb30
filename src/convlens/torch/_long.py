"""``long_conv``: per-channel long convolution for sequence models, chunked, with autograd."""

from __future__ import annotations

import cmath
import math

import torch
import torch.nn.functional as F
from torch import Tensor

from .._torch_plan import plan_long
from .._validation import NAN_POLICIES, check_alloc, check_choice
from ._checks import (
    _LONG_CHUNK_BYTES,
    _check_pair,
    _check_tensor,
    _nonfinite_report,
    _refuse_nonfinite,
    _require_finite_kernel,
    _work_dtype,
)
from ._nan import Window, inf_signs, mark, normalize, window_any, zero_sum_error


def _channel_step(u: Tensor, n: int) -> int:
    """Channels per chunk: each holds the padded rows, their spectra and the inverse (~24 n bytes per row)."""
    rows_per_channel = max(1, math.prod(u.shape[:-2]))
    budget = _LONG_CHUNK_BYTES.get(u.device.type, _LONG_CHUNK_BYTES["cuda"])
    return max(1, budget // (rows_per_channel * n * 24))


def _long_forward(u: Tensor, k: Tensor, n: int, offset: int, sums: list | None = None) -> Tensor:
    """``y[..., h, t] = full(u[..., h, :], k[h, :])[offset + t]`` for t < L, chunked over channels.

    ``sums``, if given, receives the zero-frequency terms (the sums of u per row),
    which tell for free whether u is finite.
    """
    H, L = u.shape[-2:]
    out = torch.empty_like(u)
    step = _channel_step(u, n)
    for h0 in range(0, H, step):
        h1 = min(H, h0 + step)
        Uf = torch.fft.rfft(u[..., h0:h1, :], n=n)
        if sums is not None:
            sums.append(Uf[..., 0].sum())  # NaN and inf survive the sum
        Uf.mul_(torch.fft.rfft(k[h0:h1], n=n))
        out[..., h0:h1, :] = torch.fft.irfft(Uf, n=n)[..., offset : offset + L]
    return out


class _LongConv(torch.autograd.Function):
    """Chunked FFT long convolution; the backward pass recomputes the spectra (memory stays O(input))."""

    @staticmethod
    def forward(ctx, u: Tensor, k: Tensor, n: int, offset: int, sums: list | None = None) -> Tensor:
        ctx.save_for_backward(u, k)
        ctx.n, ctx.offset = n, offset
        return _long_forward(u, k, n, offset, sums)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, g: Tensor):
        u, k = ctx.saved_tensors
        n, offset = ctx.n, ctx.offset
        (H, L), K = u.shape[-2:], k.shape[-1]
        batch = tuple(range(u.ndim - 2))
        gu = torch.empty_like(u) if ctx.needs_input_grad[0] else None
        gk = torch.empty_like(k) if ctx.needs_input_grad[1] else None
        step = _channel_step(u, n)
        for h0 in range(0, H, step):
            h1 = min(H, h0 + step)
            # the output gradient placed where its samples sit in the full convolution
            G = torch.fft.rfft(F.pad(g[..., h0:h1, :].contiguous(), (offset, n - L - offset)), n=n)
            if gu is not None:
                Kf = torch.fft.rfft(k[h0:h1], n=n)
                gu[..., h0:h1, :] = torch.fft.irfft(G * Kf.conj(), n=n)[..., :L]
            if gk is not None:
                Uf = torch.fft.rfft(u[..., h0:h1, :], n=n)
                prod = G * Uf.conj()
                if batch:
                    prod = prod.sum(dim=batch)
                gk[h0:h1] = torch.fft.irfft(prod, n=n)[..., :K]
        return gu, gk, None, None, None


def _long_propagate(x: Tensor, k: Tensor, n: int, offset: int) -> Tensor:
    """What a direct sum gives for x holding NaN or inf: each channel's spoilt outputs are those reading them."""
    taps = k.shape[-1]
    finite, nan = torch.isfinite(x), torch.isnan(x)
    y = _LongConv.apply(torch.where(finite, x, 0).contiguous(), k, n, offset)
    hit = window_any(nan, [Window(taps, 1, 1, taps - 1 - offset, offset)])
    inf = ~(finite | nan)
    signs = None
    if bool(inf.any()):
        signs = _long_inf_signs(x, inf, k, n, offset)
    return mark(y, hit, signs)


def _long_inf_signs(x: Tensor, inf: Tensor, k: Tensor, n: int, offset: int) -> tuple:
    """:func:`inf_signs` computed on the rows and channels that hold an infinity only."""
    H, L = x.shape[-2:]
    flat, bad = x.reshape(-1, H, L), inf.reshape(-1, H, L).any(2)
    rows, chans = torch.nonzero(bad.any(1)).flatten(), torch.nonzero(bad.any(0)).flatten()
    sub = flat[rows][:, chans]
    parts = inf_signs(sub, k[chans], lambda a, w: _long_forward(a.contiguous(), w.contiguous(), n, offset))
    signs = []
    for part in parts:
        full = torch.zeros(flat.shape, dtype=torch.bool, device=x.device)
        full[rows[:, None], chans] = part
        signs.append(full.reshape(x.shape))
    return tuple(signs)


def _long_interpolate(x: Tensor, k: Tensor, k_full: Tensor, n: int, offset: int) -> Tensor:
    """Normalized convolution of the channels holding NaN or inf (the others are plain), as the engine's.

    The weight sums are ``sum(k) - conv(bad, k)`` over the whole kernel ``k_full``
    (taps that reach only the zero padding before u count as finite samples).
    """
    f64 = torch.float64
    H = x.shape[-2]
    finite = torch.isfinite(x)
    bad = ~finite
    y = _LongConv.apply(torch.where(finite, x, 0).contiguous(), k, n, offset)
    chan_bad = bad.reshape(-1, *x.shape[-2:]).any(2).any(0)
    kf = k_full.to(f64)
    ksum, asum, nnz = kf.sum(-1, keepdim=True), kf.detach().abs().sum(-1, keepdim=True), (kf.detach() != 0).sum(-1)
    zero = chan_bad & (ksum.detach()[:, 0] == 0)
    if bool(zero.any()):
        h = int(torch.nonzero(zero)[0, 0])
        raise zero_sum_error(f"k[{h}] sums to zero and channel {h} of u holds NaN or inf")
    k64, b64 = k.to(f64), bad.to(f64).contiguous()
    den = ksum - _LongConv.apply(b64, k64.contiguous(), n, offset)
    scale = asum - _long_forward(b64, k64.detach().abs().contiguous(), n, offset)
    count = nnz.to(f64).reshape(H, 1) - _long_forward(b64, (k64.detach() != 0).to(f64).contiguous(), n, offset)
    norm = normalize(y.to(f64), den, scale, count, ksum, torch.finfo(x.dtype).eps)
    return torch.where(chan_bad[:, None], norm.to(y.dtype), y)


def long_conv(
    u: Tensor,
    k: Tensor,
    causal: bool = True,
    *,
    pregate: Tensor | None = None,
    postgate: Tensor | None = None,
    nan_policy: str = "propagate",
) -> Tensor:
    """Per-channel long convolution ``y = postgate * (k * (pregate * u))`` for sequence models.

    Parameters
    ----------
    u : Tensor
        ``(..., H, L)``: channels ``H``, sequence length ``L`` (any length, not only
        powers of two); any leading batch dims.
    k : Tensor
        ``(H, K)`` (one kernel per channel) or ``(K,)`` (one kernel for all); any
        ``K``.  Same dtype and device as ``u``.
    causal : bool
        True: ``y[t] = sum_{s <= t} k[s] u[t - s]`` (the first ``L`` samples of the
        full convolution; no sample sees the future).  False: the centred
        convolution, exactly ``convlens.convolve(u, k, mode='same')`` per channel.
    pregate, postgate : Tensor, optional
        Multiplied into ``u`` before and into the result after the convolution
        (gated convolutions as in Hyena/H3); broadcast against ``u``.
    nan_policy : {'propagate', 'raise', 'interpolate'}
        What NaN and inf in ``u`` (or in ``pregate * u``) do.  'propagate'
        (default): a direct sum's answer, only the outputs whose window reads a
        non-finite sample of their channel are NaN or inf (a plain FFT would
        spoil the whole channel).  'raise': ValueError saying how many
        non-finite values ``u``, ``k`` or a gate holds and where the first is.
        'interpolate': normalized convolution of each channel holding NaN or
        inf, exactly ``convlens.convolve(..., nan_policy='interpolate')`` per
        channel (``k`` must then be finite, and its sum non-zero for those
        channels).  Finite inputs cost the same under every policy.

    Returns
    -------
    Tensor
        Same shape, dtype and device as ``u``.

    Notes
    -----
    The FFT length is the shortest fast length ``>= L + K - 1`` (``2L - 1`` for a
    full-length kernel), so nothing wraps around.  The work is chunked over
    channels so that each chunk's buffers stay in cache on a CPU, and the
    backward pass recomputes the spectra instead of storing them.

    Examples
    --------
    >>> import torch
    >>> u = torch.tensor([[1.0, 2.0, 3.0, 4.0]], dtype=torch.float64)
    >>> long_conv(u, torch.tensor([[1.0, -1.0]], dtype=torch.float64))  # first difference, causal
    tensor([[1., 1., 1., 1.]], dtype=torch.float64)
    >>> long_conv(u, torch.tensor([1.0, 1.0, 1.0], dtype=torch.float64), causal=False)  # centred 3-sum
    tensor([[3., 6., 9., 7.]], dtype=torch.float64)
    >>> v = torch.tensor([[1.0, 2.0, float("nan"), 4.0, 5.0]], dtype=torch.float64)
    >>> long_conv(v, torch.tensor([1.0, 1.0], dtype=torch.float64))  # the NaN reaches the outputs that read it
    tensor([[1., 3., nan, nan, 9.]], dtype=torch.float64)
    """
    u = _check_tensor("u", u)
    k = _check_tensor("k", k)
    _check_pair("u", u, "k", k)
    check_choice("nan_policy", nan_policy, NAN_POLICIES)
    if not isinstance(causal, bool):
        raise TypeError(f"causal must be True or False; got {causal!r}")
    if u.ndim < 2:
        raise ValueError(f"u must have shape (..., H, L) with at least 2 dimensions; got shape {tuple(u.shape)}")
    if u.numel() == 0 or k.numel() == 0:
        raise ValueError(f"u and k must not be empty; got shapes {tuple(u.shape)} and {tuple(k.shape)}")
    H, L = u.shape[-2:]
    k_given = k
    if k.ndim == 1:
        k = k.expand(H, -1)
    if k.ndim != 2 or k.shape[0] != H:
        raise ValueError(f"k must have shape (H, K) = ({H}, K) with H the channels of u, or (K,); got {tuple(k.shape)}")
    for name, gate in (("pregate", pregate), ("postgate", postgate)):
        if gate is not None:
            _check_pair("u", u, name, _check_tensor(name, gate))
    if nan_policy == "raise":
        for name, t in (("k", k_given), ("pregate", pregate), ("postgate", postgate)):
            if t is not None:
                _refuse_nonfinite(name, t)
    elif nan_policy == "interpolate":
        _require_finite_kernel("k", k_given)
    n, offset, taps = plan_long(L, k.shape[-1], causal)
    work = _work_dtype(u.dtype)
    if u.device.type == "cpu":  # the input in the work dtype and the output (the FFTs run in bounded chunks)
        item = torch.empty((), dtype=work).element_size()
        check_alloc(math.prod(u.shape) * item, what="long_conv", copies=2)
    x = u.to(work)
    if pregate is not None:
        x = x * pregate.to(work)
    kt = k[:, :taps].to(work).contiguous()
    sums: list[Tensor] = []
    y = _LongConv.apply(x.contiguous(), kt, n, offset, sums)
    if not cmath.isfinite(torch.stack(sums).sum().item()) and not bool(torch.isfinite(x).all()):
        if nan_policy == "raise":
            _refuse_nonfinite("u", u)
            raise ValueError(f"{_nonfinite_report('pregate * u', x)}; nan_policy='raise' refuses non-finite input")
        y = _long_propagate(x, kt, n, offset) if nan_policy == "propagate" else _long_interpolate(x, kt, k, n, offset)
    if postgate is not None:
        y = y * postgate.to(work)
    return y.to(u.dtype)
