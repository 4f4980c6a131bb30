"""Shapes and costs of the torch adapter's convolutions (pure Python, no torch import).

Everything here works on integers only, so it is cached with ``lru_cache`` and
tested without tensors.  The semantics are the engine's: a cross-correlation
with zero padding ``(before, after)`` is the full linear convolution with the
flipped kernel, kept from ``offset = K - 1 - before`` on, and the shortest
circular length whose wrap-around misses the kept outputs is
:meth:`AxisGeometry.min_circular_length`, raised to at least ``K`` so that the
kernel fits.  Only public names of lower layers are used (``_backend.good_size``);
the per-axis geometry and the frame length rule are this module's own, since
the adapter plans for torch's FFTs, not the engine's.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from functools import lru_cache

from ._backend import good_size
from ._validation import check_choice

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")
PADDING_STRINGS = ("same", "valid")


@dataclass(frozen=True)
class AxisGeometry:
    """One axis of a zero-padded cross-correlation, read as a cropped full convolution."""

    n: int  # input length
    k: int  # kernel length (dilation included)
    out_len: int  # outputs at stride 1
    offset: int  # index in the full convolution of output 0
    before: int  # implicit zero padding before x[0]
    after: int  # ... and after x[n - 1]

    @property
    def padded(self) -> int:
        """Length of x with its padding."""
        return self.n + self.before + self.after

    def min_circular_length(self) -> int:
        """Shortest circular length whose wrap-around misses outputs ``offset .. offset + out_len`` (and fits K)."""
        return max(self.n + self.k - 1 - self.offset, self.offset + self.out_len, self.k)


def frame_length(k: int, n: int, other: int = 1) -> int:
    """Overlap-save frame length for a kernel of ``k`` taps on ``n`` samples.

    ``other`` is the number of points of one frame across the other axes.  A
    frame of about 8k points in 1-D (4096 .. 16384) or 2**19 points in N-d stays
    in L2 cache; at least 2k (4k in 1-D), never longer than the signal needs.
    """
    if other == 1:
        want = max(min(max(8 * k, 4096), 16384), 4 * k)
    else:
        want = max(2 * k, min(8 * k, (1 << 19) // other))
    want = min(want, max(n + k - 1, 2 * k))
    return good_size(max(want, k + 1), True)


def ntuple(name: str, value, d: int, *, minimum: int) -> tuple[int, ...]:
    """Normalize an int or a length-``d`` sequence of ints (each ``>= minimum``) to a tuple."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int or a tuple of {d} ints; got {value!r}")
    try:
        items = (operator.index(value),) * d
    except TypeError:
        try:
            items = tuple(operator.index(v) for v in value)
        except TypeError:
            raise TypeError(f"{name} must be an int or a tuple of {d} ints; got {value!r}") from None
        if len(items) == 1:
            items = items * d
    if len(items) != d:
        raise ValueError(f"{name} must be an int or a tuple of {d} ints (one per spatial dimension); got {value!r}")
    if any(v < minimum for v in items):
        what = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{name} must be {what}; got {value!r}")
    return items


def resolve_padding(padding, kernel: tuple[int, ...], dilation: tuple[int, ...], stride: tuple[int, ...]):
    """Per-axis ``(before, after)`` padding, with torch's rule for ``'same'`` (extra sample after)."""
    d = len(kernel)
    if isinstance(padding, str):
        check_choice("padding", padding, PADDING_STRINGS)
        if padding == "valid":
            return ((0, 0),) * d
        if any(s != 1 for s in stride):
            raise ValueError(
                f"padding='same' is not supported for strided convolutions (got stride={stride}); use an int padding"
            )
        pads = []
        for k, dil in zip(kernel, dilation):
            total = dil * (k - 1)
            pads.append((total // 2, total - total // 2))
        return tuple(pads)
    p = ntuple("padding", padding, d, minimum=0)
    return tuple((v, v) for v in p)


@dataclass(frozen=True)
class ConvPlan:
    """How one strided, zero-padded N-d cross-correlation is done with real FFTs.

    Without blocking, x sits at offset 0 of one circular buffer of ``fft_shape``
    and the padding ``before`` is a phase shift of the kernel's spectrum.  With
    overlap-save along ``block_axis`` (an input much longer than the kernel), x is
    zero-padded explicitly along that axis and cut into ``nblocks`` overlapping
    frames of ``fft_shape[block_axis]`` samples, ``hop`` apart; each frame gives
    ``hop`` outputs and the frames become extra rows of the batch.
    """

    spatial: tuple[int, ...]  # input sizes (after any explicit non-zero padding)
    kernel: tuple[int, ...]  # effective kernel sizes, dilation included
    pads: tuple[tuple[int, int], ...]  # implicit zero padding (before, after)
    stride: tuple[int, ...]
    geometry: tuple[AxisGeometry, ...]  # engine geometry of each axis (stride 1)
    fft_shape: tuple[int, ...]  # circular length per axis (the frame length on the block axis)
    out_shape: tuple[int, ...]  # output sizes after striding
    block_axis: int | None = None
    hop: int = 0
    nblocks: int = 1

    @property
    def spectrum_shape(self) -> tuple[int, ...]:
        """Shape of the rfft spectrum (the last axis is the half axis)."""
        return (*self.fft_shape[:-1], self.fft_shape[-1] // 2 + 1)

    @property
    def shifts(self) -> tuple[int, ...]:
        """Per-axis shift folded into the kernel spectrum (the padding not applied to x explicitly)."""
        return tuple(0 if ax == self.block_axis else b for ax, (b, _) in enumerate(self.pads))

    @property
    def crops(self) -> tuple[slice, ...]:
        """Slices of the (merged) circular result that are the strided outputs."""
        return tuple(slice(0, (o - 1) * s + 1, s) for o, s in zip(self.out_shape, self.stride))


def _axis(n: int, k: int, before: int, after: int) -> AxisGeometry:
    """Engine geometry of cross-correlation with zero padding: full convolution kept from ``k - 1 - before``."""
    out_len = n + before + after - k + 1
    return AxisGeometry(n, k, out_len, k - 1 - before, before, after)


@lru_cache(maxsize=1024)
def plan_conv(
    spatial: tuple[int, ...], kernel: tuple[int, ...], pads, stride: tuple[int, ...], block: bool = True
) -> ConvPlan:
    """Plan a cross-correlation; ``kernel`` is the dilated size. Raises ValueError if the output is empty."""
    geoms, out = [], []
    for n, k, (b, a), s in zip(spatial, kernel, pads, stride):
        g = _axis(n, k, b, a)
        if g.out_len < 1:
            raise ValueError(
                f"Calculated padded input size per channel: {tuple(n + b + a for n, (b, a) in zip(spatial, pads))}. "
                f"Kernel size (dilation included): {kernel}. Kernel size can't be greater than actual input size"
            )
        geoms.append(g)
        out.append((g.out_len - 1) // s + 1)
    # also >= k (the kernel must fit) and >= out_len (outputs are read from 0 on; matters when pad >= k)
    fft_shape = [good_size(max(g.min_circular_length(), g.k, g.out_len), True) for g in geoms]
    args = (tuple(spatial), tuple(kernel), tuple(pads), tuple(stride), tuple(geoms))
    # overlap-save where the engine would use it: the axis with the largest input/kernel ratio, if >= 8
    ratios = [(g.padded / g.k, ax) for ax, g in enumerate(geoms)]
    ratio, ax = max(ratios)
    if block and ratio >= 8:
        g = geoms[ax]
        other = math.prod(L for i, L in enumerate(fft_shape) if i != ax)
        frame = frame_length(g.k, g.padded, other)
        hop = frame - g.k + 1
        nblocks = -(-g.out_len // hop)
        if nblocks >= 2:
            fft_shape[ax] = frame
            return ConvPlan(*args, tuple(fft_shape), tuple(out), ax, hop, nblocks)
    return ConvPlan(*args, tuple(fft_shape), tuple(out))


@lru_cache(maxsize=1024)
def plan_long(length: int, klen: int, causal: bool) -> tuple[int, int, int]:
    """``(fft_length, offset, kernel_taps_used)`` of a per-channel long convolution of ``length`` samples.

    Causal keeps the first ``length`` samples of the full convolution (offset 0;
    taps past ``length - 1`` never reach them and are dropped); non-causal keeps
    the centred ones, exactly as ``convolve(..., mode='same')``.  The FFT length
    is the fast length ``>= length + taps - 1``: the forward outputs need less
    (``min_circular_length``) but the kernel gradient needs every lag.
    """
    k = min(klen, length) if causal else klen
    # causal: outputs 0 .. L-1 of the full convolution; centred: from (k - 1) // 2, as mode 'same'
    offset = 0 if causal else (k - 1) // 2
    return good_size(length + k - 1, True), offset, k


# Kernels with at most this many taps per axis get their spectrum from small DFT
# matrix products (see ``convlens.torch._fft_conv._weight_spectrum``), larger ones from FFTs.
DFT_MAX_TAPS = 16

# Cost rule of ``convert``: seconds per unit on one thread of the reference machine
# (2-core AMD EPYC Zen 4, float32, torch 2.13 CPU build), fitted to timings of
# 3x3 .. 31x31 layers with 8 .. 64 channels (torch's direct convolution runs
# 1.6e-11 .. 2.6e-11 s per multiply-add, except 11x11 at 1.3e-10; the FFT path
# within 0.7x .. 1.4x of this model).  Only the ranking matters; the direct
# constant is the optimistic one, so FFT is chosen only where it clearly pays.
TORCH_COST = {
    "mac": 2.0e-11,  # one multiply-add of torch's direct convolution (oneDNN)
    "fft": 5.5e-10,  # per point * log2(points) of one real FFT
    "cmac": 2.5e-10,  # one complex multiply-add of the channel contraction or of a kernel DFT
    "mem": 1.6e-9,  # per point of padding, cropping and layout copies
    "call": 1.0e-4,  # fixed overhead of one FFT convolution call (Python, plan, allocations)
}


def conv_costs(
    batch: int,
    in_channels: int,
    out_channels: int,
    groups: int,
    spatial: tuple[int, ...],
    kernel: tuple[int, ...],
    pads,
    stride: tuple[int, ...],
    *,
    cached_weight: bool = False,
    taps: tuple[int, ...] | None = None,
) -> dict[str, float]:
    """Predicted seconds of torch's direct convolution and of :func:`convlens.torch.fft_conv`.

    ``direct = mac * N * C_out * (C_in / groups) * prod(out) * prod(k)`` (strided
    outputs only); ``fft = fft * (B C_in + B C_out [+ C_out C_in/groups]) * V log2 V
    + cmac * B * C_out * (C_in / groups) * V_half + mem * B (C_in + C_out) V + call``
    with ``V`` the FFT volume of one frame, ``V_half`` its rfft spectrum size and
    ``B`` the batch times the number of overlap-save frames.  Kernels of at most
    ``DFT_MAX_TAPS`` taps per axis (``taps``: before dilation; default ``kernel``)
    get their spectrum from DFT matrix products instead: ``cmac`` per complex
    multiply-add, axis by axis.
    """
    plan = plan_conv(tuple(spatial), tuple(kernel), tuple(pads), tuple(stride))
    cin_g = in_channels // groups
    macs = batch * out_channels * cin_g * math.prod(plan.out_shape) * math.prod(kernel)
    vol = math.prod(plan.fft_shape)
    half = math.prod(plan.spectrum_shape)
    rows = batch * plan.nblocks
    taps = tuple(kernel) if taps is None else tuple(taps)
    c = TORCH_COST
    weight = 0.0
    if not cached_weight and max(taps) <= DFT_MAX_TAPS:
        # contract the last axis first: (F_last x k_last) times the remaining taps, and so on
        sizes = list(taps)
        for ax in reversed(range(len(taps))):
            freqs = plan.spectrum_shape[ax]
            weight += c["cmac"] * out_channels * cin_g * freqs * math.prod(sizes)
            sizes[ax] = freqs
    elif not cached_weight:
        weight = c["fft"] * out_channels * cin_g * vol * math.log2(max(vol, 2))
    transforms = rows * (in_channels + out_channels)
    fft = (
        weight
        + c["fft"] * transforms * vol * math.log2(max(vol, 2))
        + c["cmac"] * rows * out_channels * cin_g * half
        + c["mem"] * rows * (in_channels + out_channels) * vol
        + c["call"]
    )
    return {"direct": c["mac"] * macs, "fft": fft}
