"""Non-finite inputs in the torch adapter: a direct sum's answer at FFT speed.

An FFT spreads one NaN or inf over its whole output; ``torch.nn.functional.conv*d``
(a direct sum) spoils only the outputs whose window covers it.  The adapter
reproduces the direct sum: it convolves the input with its non-finite samples
set to zero, then marks as NaN every output whose window covers a NaN (every
tap, zero taps included: ``0 * nan`` is nan, and torch's direct convolution
propagates it too), as ``+inf``/``-inf`` those that see infinities of one sign
only (through taps of one sign), and as NaN those that see both signs, or an
infinity under a zero tap.  Windows are counted with cumulative sums (exact
integers, O(1) per output and axis, dilation and stride included); the signs of
infinities, which are rare, with float64 convolutions of indicator arrays.

The helpers here know nothing of channels: the caller passes a convolution
``conv(a, w)`` with its own channel rule (groups for ``fft_conv``, one kernel per
channel for ``long_conv``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import NamedTuple

import torch
from torch import Tensor


class Window(NamedTuple):
    """One axis of a cross-correlation: output ``p`` reads padded samples ``p * stride + t * dilation``."""

    taps: int
    dilation: int
    stride: int
    before: int  # zero padding before sample 0
    after: int  # ... and after the last sample


def _window_counts(c: Tensor, dim: int, w: Window) -> Tensor:
    """Per output along ``dim``, the sum of ``c`` (int32) over the samples its taps read."""
    n, dl = c.shape[dim], w.dilation
    padded = n + w.before + w.after
    out = (padded - dl * (w.taps - 1) - 1) // w.stride + 1
    # cumulative sums along each residue class mod dilation, after dl leading zeros:
    # the taps of output p read u[p*s + dl*(t+1)], t < taps, so their sum is C[p*s + taps*dl] - C[p*s]
    total = -(-(padded + dl) // dl) * dl
    shape = list(c.shape)
    shape[dim] = total
    u = c.new_zeros(shape)
    u.narrow(dim, dl + w.before, n).copy_(c)
    split = [*shape[:dim], total // dl, dl, *shape[dim + 1 :]]
    C = u.reshape(split).cumsum(dim, dtype=torch.int32).reshape(shape)
    span = (out - 1) * w.stride + 1
    diff = C.narrow(dim, w.taps * dl, span) - C.narrow(dim, 0, span)
    return diff[(slice(None),) * dim + (slice(None, None, w.stride),)]


def window_any(mask: Tensor, windows: Sequence[Window]) -> Tensor:
    """For each output, whether a True sample of ``mask`` lies under one of its taps (last ``len(windows)`` axes)."""
    c = mask.to(torch.int32)
    d = len(windows)
    for i, w in enumerate(windows):
        c = (_window_counts(c, c.ndim - d + i, w) > 0).to(torch.int32)
    return c > 0


def inf_signs(x: Tensor, weight: Tensor, conv: Callable[[Tensor, Tensor], Tensor]):
    """``(plus, minus, zero)``: outputs that see +inf, -inf, or an infinity under a zero tap.

    ``conv(a, w)`` convolves float64 indicator arrays with float64 indicator
    kernels of ``weight``'s shape; its results are counts, so 0.5 separates them.
    """
    f64 = torch.float64
    pos, neg = (x == math.inf).to(f64), (x == -math.inf).to(f64)
    w = weight.detach()
    kp, kn, kz = (w > 0).to(f64), (w < 0).to(f64), (w == 0).to(f64)
    plus = conv(pos, kp) + conv(neg, kn)
    minus = conv(pos, kn) + conv(neg, kp)
    zero = conv(pos + neg, kz)
    return plus > 0.5, minus > 0.5, zero > 0.5


def mark(y: Tensor, nan: Tensor, signs=None) -> Tensor:
    """``y`` with NaN where ``nan`` is set and the infinities of ``signs`` (from :func:`inf_signs`) elsewhere."""
    if signs is not None:
        plus, minus, zero = signs
        nan = nan | zero | (plus & minus)
        y = torch.where(plus & ~nan, math.inf, y)
        y = torch.where(minus & ~nan, -math.inf, y)
    return torch.where(nan, math.nan, y)


def normalize(num: Tensor, den: Tensor, scale: Tensor, count: Tensor, ksum: Tensor, eps: float) -> Tensor:
    """Normalized convolution ``num / den * ksum``, NaN where it is undefined (the engine's rule).

    Undefined: no finite sample under a non-zero tap (``count`` rounds to 0), or
    finite weights that cancel, ``|den| <= sqrt(eps) * scale``.  The division
    uses 1 there so that no inf or NaN reaches the gradient of the kept outputs.
    """
    undefined = (torch.round(count) == 0) | (den.abs() <= math.sqrt(eps) * scale)
    safe = torch.where(undefined, torch.ones_like(den), den)
    return torch.where(undefined, math.nan, num / safe * ksum)


def zero_sum_error(what: str) -> ValueError:
    return ValueError(
        f"nan_policy='interpolate' needs kernels whose sum is not zero (the weights are renormalized by it); {what}"
    )


# --------------------------------------------------------------------------- channel convolutions
# ``conv(a, w, groups, work, spectrum=None)``: the grouped, strided cross-correlation of an
# already-extended batch ``a`` (N, C_in, *spatial) with ``w``, without bias, in ``work``.
ConvFn = Callable[..., Tensor]


def propagate_channels(
    x: Tensor, weight: Tensor, groups: int, windows: Sequence[Window], conv: ConvFn, work, spectrum=None
) -> Tensor:
    """What a direct sum gives for x holding NaN or inf: only the outputs whose windows read them are spoilt.

    An output of channel ``o`` reads the input channels of ``o``'s group, so a
    non-finite sample spoils the outputs of that group only.
    """
    finite = torch.isfinite(x)
    y = conv(torch.where(finite, x, 0), weight, groups, work, spectrum)
    n, cin = x.shape[:2]
    cout = weight.shape[0]
    nan = torch.isnan(x)
    hit = window_any(nan.reshape(n, groups, cin // groups, *x.shape[2:]).any(2), windows)  # (N, groups, *out)
    out = hit.shape[2:]
    out_nan = hit.unsqueeze(2).expand(n, groups, cout // groups, *out).reshape(n, cout, *out)
    inf = ~(finite | nan)
    signs = None
    if bool(inf.any()):  # infinities: their signs decide between inf and nan
        signs = _channel_inf_signs(x, inf, weight, groups, conv, out)
    return mark(y, out_nan, signs)


def _channel_inf_signs(x: Tensor, inf: Tensor, weight: Tensor, groups: int, conv: ConvFn, out) -> tuple:
    """:func:`inf_signs` of a grouped channel convolution, computed only where the infinities are.

    Only the batch elements and the input channels holding an infinity take
    part, group by group, and the three counts of a group come from one float64
    convolution of the stacked indicators ``[x == +inf, x == -inf]`` with the
    kernels ``[w > 0, w < 0]`` (plus), ``[w < 0, w > 0]`` (minus) and
    ``[w == 0, w == 0]`` (zero).
    """
    f64 = torch.float64
    n = x.shape[0]
    cout, cin_g = weight.shape[:2]
    cout_g = cout // groups
    rows = inf.flatten(2).any(2)  # (N, C_in)
    batch = torch.nonzero(rows.any(1)).flatten()
    rows, xs, w = rows[batch], x[batch], weight.detach()
    signs = [torch.zeros((n, cout, *out), dtype=torch.bool, device=x.device) for _ in range(3)]
    for g in range(groups):
        local = torch.nonzero(rows[:, g * cin_g : (g + 1) * cin_g].any(0)).flatten()
        if local.numel() == 0:
            continue
        xg = xs[:, g * cin_g + local]
        wg = w[g * cout_g : (g + 1) * cout_g][:, local]
        a = torch.cat([xg == math.inf, xg == -math.inf], 1).to(f64)
        kp, kn, kz = wg > 0, wg < 0, wg == 0
        kern = torch.cat([torch.cat(pair, 1) for pair in ((kp, kn), (kn, kp), (kz, kz))], 0).to(f64)
        counts = conv(a, kern, 1, f64).reshape(len(batch), 3, cout_g, *out)
        for sign, c in zip(signs, counts.unbind(1)):
            sign[batch, g * cout_g : (g + 1) * cout_g] = c > 0.5
    return tuple(signs)


def interpolate_channels(x: Tensor, weight: Tensor, groups: int, conv: ConvFn, work, spectrum=None) -> Tensor:
    """Sum over input channels of the normalized convolutions of each (output, input) channel pair.

    This is ``convlens.convolve_channels(..., nan_policy='interpolate')``: pairs
    whose input channel is finite throughout the batch are plain convolutions
    (all of them come from one FFT contraction); each input channel holding NaN
    or inf adds, for its pairs, the difference between the normalized and the
    plain convolution.  The weight sums ``sum(k) - conv(bad, k)`` (also of
    ``|k|`` and of the non-zero taps) are computed in float64; the padding
    counts as finite, as the engine's constant extension does.
    """
    f64 = torch.float64
    finite = torch.isfinite(x)
    bad, clean = ~finite, torch.where(finite, x, 0)
    y = conv(clean, weight, groups, work, spectrum)
    n = x.shape[0]
    cout, cin_g = weight.shape[:2]
    cout_g, out, sp = cout // groups, y.shape[2:], tuple(range(2, weight.ndim))
    w64 = weight.to(f64)
    ksum, asum, nnz = w64.sum(sp), w64.detach().abs().sum(sp), (weight.detach() != 0).to(f64).sum(sp)
    chan_bad = bad.flatten(2).any(2).any(0).reshape(groups, cin_g)
    zero = chan_bad[:, None, :] & (ksum.detach().reshape(groups, cout_g, cin_g) == 0)
    if bool(zero.any()):
        g, o, i = (int(v) for v in torch.nonzero(zero)[0])
        raise zero_sum_error(
            f"weight[{g * cout_g + o}, {i}] sums to zero and input channel {g * cin_g + i} holds NaN or inf"
        )
    y = y.reshape(n, groups, cout_g, *out)
    per_pair = (1, groups, cout_g, *([1] * len(out)))
    eps = torch.finfo(work).eps
    for i in range(cin_g):
        cb = chan_bad[:, i]
        if not bool(cb.any()):
            continue
        num = conv(clean[:, i::cin_g], weight[:, i : i + 1], groups, work).reshape(n, groups, cout_g, *out).to(f64)
        wi = w64[:, i : i + 1].reshape(groups, cout_g, 1, *weight.shape[2:])
        stack = torch.stack([wi, wi.detach().abs(), (wi.detach() != 0).to(f64)], 1).reshape(3 * cout, 1, *wi.shape[3:])
        sums = conv(bad[:, i::cin_g].to(f64), stack, groups, f64).reshape(n, groups, 3, cout_g, *out)
        kw = ksum[:, i].reshape(per_pair)
        den = kw - sums[:, :, 0]
        scale = asum[:, i].reshape(per_pair) - sums[:, :, 1]
        count = nnz[:, i].reshape(per_pair) - sums[:, :, 2]
        norm = normalize(num, den, scale, count, kw, eps)
        corr = torch.where(cb.reshape(1, groups, *([1] * (len(out) + 1))), norm - num, 0.0)
        y = y + corr.to(y.dtype)
    return y.reshape(n, cout, *out)
