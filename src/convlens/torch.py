"""FFT convolution layers and long convolutions for PyTorch (CPU and CUDA).

* :func:`fft_conv` - ``torch.nn.functional.conv1d/2d/3d`` computed with FFTs: the
  same arguments and results (cross-correlation, stride, ``padding`` as ints or
  ``'same'``/``'valid'``, dilation, groups, bias, every ``padding_mode``).
* :class:`FFTConv1d`, :class:`FFTConv2d`, :class:`FFTConv3d` - subclasses of
  ``nn.Conv1d/2d/3d`` (same parameters, ``state_dict`` and ``repr``) that run
  :func:`fft_conv`; in eval mode (no autograd graph needed for the weight) the
  weight spectrum is cached and recomputed whenever the weight's values change.
* :func:`convert` - swaps the ``nn.Conv*d`` layers of a model for FFT layers where
  the cost rule says FFT is faster.
* :func:`long_conv` - per-channel causal (or centred) long convolution for
  sequence models (Hyena/S4 style), any length, optional gating, with autograd.

Every computation is ``torch.fft`` and ``torch`` matrix products on the input's
device (no NumPy round trip, so autograd works everywhere); float64 stays float64,
float32 stays float32, float16/bfloat16 are computed in float32 and returned in
their own dtype.  Shapes, alias-free FFT lengths, fast lengths and the
overlap-save frame length come from ``convlens._torch_plan`` (pure integer
planning with the engine's geometry rules and ``_backend.good_size``).

Examples
--------
>>> import torch
>>> from convlens.torch import fft_conv
>>> x = torch.randn(2, 3, 20, 20, dtype=torch.float64)
>>> w = torch.randn(4, 3, 5, 5, dtype=torch.float64)
>>> y = fft_conv(x, w, padding="same")
>>> y.shape
torch.Size([2, 4, 20, 20])
>>> bool(torch.allclose(y, torch.nn.functional.conv2d(x, w, padding="same")))
True
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._torch_plan import (
    DFT_MAX_TAPS,
    PADDING_MODES,
    ConvPlan,
    conv_costs,
    ntuple,
    plan_conv,
    plan_long,
    resolve_padding,
)
from ._validation import check_choice

__all__ = ["FFTConv1d", "FFTConv2d", "FFTConv3d", "convert", "fft_conv", "long_conv"]

_FLOATS = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
# Working-set sizes of one chunk of the channel contraction / long convolution.
# On the CPU chunks of a few MiB stay in cache and are reused by the allocator
# instead of page-faulting fresh memory (measured 2.8x on long_conv (4, 64, 16384)
# with 16-64 MiB chunks, slower below 8 MiB); on a GPU big chunks keep it busy.
_CHUNK_BYTES = {"cpu": 4 << 20, "cuda": 512 << 20}
_LONG_CHUNK_BYTES = {"cpu": 32 << 20, "cuda": 1 << 30}
_STREAM_BYTES = {"cpu": 32 << 20, "cuda": 256 << 20}  # weight-spectrum chunks, see _contract_streaming


def _chunk_bytes(device: torch.device) -> int:
    return _CHUNK_BYTES.get(device.type, _CHUNK_BYTES["cuda"])


def _work_dtype(dtype: torch.dtype) -> torch.dtype:
    """float16/bfloat16 are computed in float32 (torch.fft on CUDA takes half only at powers of two)."""
    return torch.float64 if dtype == torch.float64 else torch.float32


# --------------------------------------------------------------------------- validation


def _check_tensor(name: str, value, *, floating: bool = True) -> Tensor:
    if not isinstance(value, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor; got {type(value).__name__}")
    if floating and value.dtype not in _FLOATS:
        raise TypeError(
            f"{name} must have a real floating dtype (float16, bfloat16, float32, float64); got {value.dtype}"
        )
    return value


def _check_pair(a_name: str, a: Tensor, b_name: str, b: Tensor) -> None:
    if a.dtype != b.dtype:
        raise TypeError(f"{a_name} type ({a.dtype}) and {b_name} type ({b.dtype}) should be the same")
    if a.device != b.device:
        raise ValueError(f"{a_name} is on {a.device} and {b_name} on {b.device}; they must be on the same device")


def _check_conv_args(input, weight, bias, groups):
    """Validate tensors and channel counts; return (d, batched)."""
    weight = _check_tensor("weight", weight)
    input = _check_tensor("input", input)
    d = weight.ndim - 2
    if d not in (1, 2, 3):
        raise ValueError(
            f"weight must have 3, 4 or 5 dimensions (out_channels, in_channels/groups, *kernel); got shape {tuple(weight.shape)}"
        )
    if input.ndim not in (d + 1, d + 2):
        raise ValueError(
            f"Expected {d + 1}D (unbatched) or {d + 2}D (batched) input to conv{d}d with a {d + 2}D weight, "
            f"but got input of size: {list(input.shape)}"
        )
    _check_pair("input", input, "weight", weight)
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ValueError(f"groups must be a positive integer; got {groups!r}")
    cout, cin_g = weight.shape[0], weight.shape[1]
    if cout % groups:
        raise ValueError(
            f"out_channels must be divisible by groups; weight has {cout} output channels and groups={groups}"
        )
    cin = input.shape[0 if input.ndim == d + 1 else 1]
    if cin != cin_g * groups:
        raise ValueError(
            f"Given groups={groups}, weight of size {list(weight.shape)}, expected input{list(input.shape)} to have "
            f"{cin_g * groups} channels, but got {cin} channels instead (in_channels must be divisible by groups)"
        )
    # an empty batch is fine (as in torch); empty channels or spatial axes are not
    if any(s == 0 for s in weight.shape) or any(s == 0 for s in input.shape[-(d + 1) :]):
        raise ValueError(f"input and weight must not be empty; got shapes {list(input.shape)} and {list(weight.shape)}")
    if bias is not None:
        _check_tensor("bias", bias)
        _check_pair("input", input, "bias", bias)
        if tuple(bias.shape) != (cout,):
            raise ValueError(f"bias must have shape ({cout},) (one value per output channel); got {tuple(bias.shape)}")
    return d, input.ndim == d + 2


# --------------------------------------------------------------------------- FFT convolution


def _explicit_pad(x: Tensor, pads, mode: str) -> Tensor:
    """Extend x by reflect/replicate/circular padding, as ``nn.Conv*d`` does before a valid convolution."""
    n = x.shape[2:]
    for ax, ((b, a), size) in enumerate(zip(pads, n)):
        if mode == "reflect" and max(b, a) >= size:
            raise ValueError(
                f"padding {max(b, a)} is too large for padding_mode='reflect' on spatial axis {ax} of size {size}: "
                "it must be smaller than the input size"
            )
        if mode == "circular" and max(b, a) > size:
            raise ValueError(
                f"padding {max(b, a)} is too large for padding_mode='circular' on spatial axis {ax} of size {size}: "
                "it must not exceed the input size"
            )
    flat = [p for pair in reversed(pads) for p in pair]
    return F.pad(x, flat, mode=mode)


def _dilate(weight: Tensor, dilation: tuple[int, ...]) -> Tensor:
    """The kernel with ``dilation - 1`` zeros between taps (differentiable)."""
    if all(v == 1 for v in dilation):
        return weight
    k = weight.shape[2:]
    size = tuple(dl * (kk - 1) + 1 for kk, dl in zip(k, dilation))
    out = weight.new_zeros((*weight.shape[:2], *size))
    out[(slice(None), slice(None), *(slice(None, None, dl) for dl in dilation))] = weight
    return out


def _place(src: Tensor, dim: int, length: int, shift: int) -> Tensor:
    """``src`` (k samples along ``dim``) in a zero buffer of ``length``, sample m at ``(m - shift) mod length``.

    The positions form at most two runs, written by slice assignment
    (differentiable, no index tensors, no full-size temporaries).
    """
    k = src.shape[dim]
    if shift == 0 and k == length:
        return src
    shape = list(src.shape)
    shape[dim] = length
    buf = src.new_zeros(shape)
    start = (-shift) % length
    first = min(k, length - start)
    buf.narrow(dim, start, first).copy_(src.narrow(dim, 0, first))
    if first < k:
        buf.narrow(dim, 0, k - first).copy_(src.narrow(dim, first, k - first))
    return buf


# Kernels with at most this many taps per axis are transformed by small DFT matrix
# products instead of FFTs of the zero-padded kernel: k multiply-adds per output
# frequency beat an FFT's ~5 log2(L) flops there, the result comes out directly in
# the GEMM layout (no transposing copy), and the backward pass is a matmul too
# (W5 training step, 11x11 taps at 72x72: weight spectrum 110 ms -> ~30 ms).
_DFT_MAX_TAPS = DFT_MAX_TAPS


@lru_cache(maxsize=256)
def _dft_matrix(length: int, taps: int, dilation: int, shift: int, half: bool, dtype, device) -> Tensor:
    """``exp(+2 pi i f (dilation m - shift) / length)`` for f (all or rfft half) x m (taps)."""
    f = torch.arange(length // 2 + 1 if half else length, dtype=torch.int64)
    m = torch.arange(taps, dtype=torch.int64) * dilation - shift
    phase = torch.outer(f, m) % length  # exact integers keep the angles accurate for any size
    angle = phase.to(torch.float64) * (2 * math.pi / length)
    return torch.polar(torch.ones_like(angle), angle).to(dtype=dtype, device=device)


def _dft_partial(weight: Tensor, plan: ConvPlan, groups: int, dilation: tuple[int, ...], work) -> Tensor:
    """DFT-path weight spectrum with every axis but the first transformed: ``(*F[1:], k0, C)``.

    ``C = (groups, C_in/groups, C_out/groups)``; each product contracts the last
    kernel axis and puts its frequencies first, so that the first axis, done by
    :func:`_dft_rows` (whole or in row chunks), ends in ``(*F, C)``, the GEMM layout.
    """
    d = len(plan.fft_shape)
    cout, cin_g = weight.shape[:2]
    ktaps = tuple(weight.shape[2:])
    w = weight.to(work).reshape(groups, cout // groups, cin_g, *ktaps)
    spec = w.permute(*range(3, d + 3), 0, 2, 1).reshape(*ktaps, -1).to(_complex_of(work))
    for ax in reversed(range(1, d)):
        D = _dft_matrix(
            plan.fft_shape[ax], ktaps[ax], dilation[ax], plan.shifts[ax], ax == d - 1, spec.dtype, spec.device
        )
        spec = torch.tensordot(D, spec, dims=([1], [d - 1]))
    return spec


def _dft_rows(partial: Tensor, plan: ConvPlan, wshape, dilation, groups: int, rows: slice = slice(None)) -> Tensor:
    """Frequencies ``rows`` of the first axis of the DFT-path spectrum, in the GEMM layout."""
    d = len(plan.fft_shape)
    cout, cin_g = wshape[:2]
    D = _dft_matrix(plan.fft_shape[0], wshape[2], dilation[0], plan.shifts[0], d == 1, partial.dtype, partial.device)
    spec = torch.tensordot(D[rows], partial, dims=([1], [d - 1]))
    return spec.reshape(-1, groups, cin_g, cout // groups)


def _weight_spectrum(
    weight: Tensor, plan: ConvPlan, groups: int, dilation: tuple[int, ...], work: torch.dtype
) -> Tensor:
    """Transfer function of the correlation, in the GEMM layout ``(F, groups, C_in/groups, C_out/groups)``.

    ``c[i] = sum_m w[m] x[i - shift + m]`` is the circular convolution of x (placed
    at offset 0) with ``h[t] = w[shift - t]``, whose DFT is ``conj(W[f]) exp(-2 pi i f
    shift / L)`` = ``sum_m w[m] exp(2 pi i f (m - shift) / L)``.  Small kernels use
    that sum as DFT matrix products, axis by axis; larger ones place the kernel at
    ``(m - shift) mod L`` and use ``ihfft``/``ifft`` with ``norm='forward'`` (= ``conj``
    of ``rfft``/``fft``), axis by axis from the small kernel so that the all-zero
    rows are never transformed.
    """
    d = len(plan.fft_shape)
    cout, cin_g = weight.shape[:2]
    shifts, lengths = plan.shifts, plan.fft_shape
    ktaps = tuple(weight.shape[2:])
    if max(ktaps) <= _DFT_MAX_TAPS:
        return _dft_rows(_dft_partial(weight, plan, groups, dilation, work), plan, weight.shape, dilation, groups)
    w = _dilate(weight.to(work), dilation).reshape(groups, cout // groups, cin_g, *plan.kernel)
    # channels last: (*k, groups, C_in/groups, C_out/groups); the FFTs then run over leading axes
    w = w.permute(*range(3, d + 3), 0, 2, 1).contiguous()
    spec = torch.fft.ihfft(_place(w, d - 1, lengths[-1], shifts[-1]), dim=d - 1, norm="forward")
    for ax in range(d - 1):
        spec = torch.fft.ifft(_place(spec, ax, lengths[ax], shifts[ax]), dim=ax, norm="forward")
    # torch returns FFTs over leading axes with the transformed axes innermost in memory
    # (and ihfft as a lazy conj view): one copy into the true GEMM layout, done once per cache
    return spec.reshape(-1, groups, cin_g, cout // groups).contiguous()


def _complex_of(dtype: torch.dtype) -> torch.dtype:
    return torch.complex128 if dtype == torch.float64 else torch.complex64


def _contract(X: Tensor, Wl: Tensor) -> Tensor:
    """``Y[f, g, n, o] = sum_i X[f, g, n, i] * Wl[f, g, i, o]``: one small complex GEMM per frequency.

    No ``N x C_out x C_in`` intermediate is ever formed (the memory blow-up of a
    broadcast-and-sum contraction).  Without autograd the GEMMs run in chunks of
    frequencies written into the preallocated result, so the temporaries that a
    strided (grouped) X needs stay bounded too.
    """
    if torch.is_grad_enabled() and (X.requires_grad or Wl.requires_grad):
        return torch.matmul(X, Wl)
    nf, groups, n, cin_g = X.shape
    cout_g = Wl.shape[-1]
    Y = X.new_empty((nf, groups, n, cout_g))
    per_freq = groups * (n * cin_g + cin_g * cout_g + n * cout_g) * X.element_size()
    step = max(1, min(nf, _chunk_bytes(X.device) // per_freq))
    for a in range(0, nf, step):
        b = min(nf, a + step)
        # bmm on 3-d views: matmul(out=) on 4-d operands loops over the batch in Python-level copies
        xc = X[a:b].reshape(-1, n, cin_g)
        torch.bmm(xc, Wl[a:b].reshape(-1, cin_g, cout_g), out=Y[a:b].view(-1, n, cout_g))
    return Y


def _contract_streaming(X: Tensor, weight: Tensor, plan: ConvPlan, groups: int, dilation, work) -> Tensor:
    """:func:`_contract` with the weight spectrum made chunk by chunk and never held whole.

    The full spectrum has ``C_out * C_in/groups * F`` complex values (87 MiB for W5,
    gigabytes for wide layers on large inputs, where ``nn.Conv2d`` needs only the
    weight); here only the first-axis-untransformed part and one chunk exist.
    """
    nf, _, n, cin_g = X.shape
    cout_g = weight.shape[0] // groups
    partial = _dft_partial(weight, plan, groups, dilation, work)
    f0 = plan.spectrum_shape[0]
    per_row = nf // f0  # GEMM batches per frequency of the first axis
    row_bytes = per_row * groups * (cin_g * cout_g + n * cin_g + n * cout_g) * X.element_size()
    # bigger chunks than _contract's: each chunk also pays a DFT product (measured on W5:
    # 4 MiB chunks 122 ms, 16-64 MiB 84-88 ms, the whole spectrum at once 86 ms)
    budget = _STREAM_BYTES.get(X.device.type, _STREAM_BYTES["cuda"])
    step = max(1, min(f0, budget // row_bytes))
    Y = X.new_empty((nf, groups, n, cout_g))
    for a in range(0, f0, step):
        b = min(f0, a + step)
        Wc = _dft_rows(partial, plan, weight.shape, dilation, groups, slice(a, b))
        lo, hi = a * per_row, b * per_row
        xc = X[lo:hi].reshape(-1, n, cin_g)
        torch.bmm(xc, Wc.reshape(-1, cin_g, cout_g), out=Y[lo:hi].view(-1, n, cout_g))
    return Y


def _fill_buffer(x: Tensor, plan: ConvPlan, work: torch.dtype) -> Tensor:
    """x in channels-last ``(*fft_shape, rows, C_in)`` layout: zero-padded, or cut into overlap-save frames."""
    d = len(plan.fft_shape)
    n, cin = x.shape[:2]
    xl = x.permute(*range(2, d + 2), 0, 1)
    ax = plan.block_axis
    if ax is None:
        buf = x.new_zeros((*plan.fft_shape, n, cin), dtype=work)
        buf[tuple(slice(0, s) for s in plan.spatial)] = xl
        return buf
    frame, before = plan.fft_shape[ax], plan.pads[ax][0]
    shape = list(plan.fft_shape)
    shape[ax] = (plan.nblocks - 1) * plan.hop + frame
    full = x.new_zeros((*shape, n, cin), dtype=work)
    full[tuple(slice(before, before + s) if i == ax else slice(0, s) for i, s in enumerate(plan.spatial))] = xl
    # (.., nblocks, .., n, cin, frame) -> (.., frame, .., nblocks, n, cin): frames join the batch rows
    frames = full.unfold(ax, frame, plan.hop).movedim(-1, ax).movedim(ax + 1, d)
    return frames.reshape(*plan.fft_shape, plan.nblocks * n, cin)


def _fft_conv_nd(x: Tensor, weight: Tensor, bias, plan: ConvPlan, groups, dilation, work, spectrum=None) -> Tensor:
    """Zero-padded, strided cross-correlation of a batched, already-extended x (the execute step).

    Channels-last layout throughout: x is written once into a zeroed
    ``(*fft_shape, rows, C_in)`` buffer, the FFTs run over the leading axes, the
    spectrum is already in the ``(F, rows, C)`` layout of the per-frequency GEMM,
    and the only transposition back is the (real, cropped) output copy.
    """
    d = len(plan.fft_shape)
    n, cin = x.shape[:2]
    if n == 0:
        return x.new_zeros((0, weight.shape[0], *plan.out_shape), dtype=work)
    X = torch.fft.rfftn(_fill_buffer(x, plan, work), dim=tuple(range(d)))
    nf, rows, cin_g = math.prod(plan.spectrum_shape), X.shape[-2], cin // groups
    # contiguous (F, groups, rows, C_in/groups) batches for the GEMM (see _weight_spectrum)
    X = X.reshape(nf, rows, groups, cin_g).transpose(1, 2).contiguous()
    needs_graph = torch.is_grad_enabled() and (X.requires_grad or weight.requires_grad)
    if spectrum is None and not needs_graph and max(weight.shape[2:]) <= _DFT_MAX_TAPS:
        Y = _contract_streaming(X, weight, plan, groups, dilation, work)
    else:
        Wl = spectrum if spectrum is not None else _weight_spectrum(weight, plan, groups, dilation, work)
        Y = _contract(X, Wl)
    Y = Y.transpose(1, 2).reshape(*plan.spectrum_shape, rows, -1)
    # inverse transforms axis by axis, dropping the rows that are not outputs before the next axis
    crops = [slice(0, plan.hop) if ax == plan.block_axis else c for ax, c in enumerate(plan.crops)]
    for ax in range(d - 1):
        Y = torch.fft.ifft(Y, dim=ax)[(slice(None),) * ax + (crops[ax],)]
    y = torch.fft.irfft(Y, n=plan.fft_shape[-1], dim=d - 1)[(slice(None),) * (d - 1) + (crops[-1],)]
    if plan.block_axis is not None:
        ax = plan.block_axis
        y = y.reshape(*y.shape[:d], plan.nblocks, n, -1).movedim(d, ax)  # (.., nblocks, hop, .., n, cout)
        y = y.flatten(ax, ax + 1)[(slice(None),) * ax + (plan.crops[ax],)]
    y = y.permute(d, d + 1, *range(d))
    if bias is not None:
        y = y + bias.to(work).reshape(1, -1, *([1] * d))
    return y.contiguous()


def _prepare(input, weight, bias, stride, padding, dilation, groups, padding_mode):
    """Validate and normalize; return (batched extended x, plan, normalized options)."""
    d, batched = _check_conv_args(input, weight, bias, groups)
    check_choice("padding_mode", padding_mode, PADDING_MODES)
    stride = ntuple("stride", stride, d, minimum=1)
    dilation = ntuple("dilation", dilation, d, minimum=1)
    kernel = tuple(weight.shape[2:])
    pads = resolve_padding(padding, kernel, dilation, stride)
    x = input if batched else input.unsqueeze(0)
    if padding_mode != "zeros" and any(p for pair in pads for p in pair):
        x = _explicit_pad(x, pads, padding_mode)
        pads = ((0, 0),) * d
    keff = tuple(dl * (k - 1) + 1 for k, dl in zip(kernel, dilation))
    plan = plan_conv(tuple(x.shape[2:]), keff, pads, stride)
    return x, batched, plan, dilation


def fft_conv(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] | str = 0,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
    padding_mode: str = "zeros",
) -> Tensor:
    """N-d cross-correlation with the semantics of ``torch.nn.functional.conv1d/2d/3d``, computed by FFT.

    Parameters
    ----------
    input : Tensor
        ``(N, C_in, *spatial)`` or unbatched ``(C_in, *spatial)``, 1 to 3 spatial dims.
    weight : Tensor
        ``(C_out, C_in / groups, *kernel)``; same dtype and device as ``input``.
    bias : Tensor, optional
        ``(C_out,)``.
    stride, padding, dilation, groups
        As in ``torch.nn.functional.conv2d``: ints or one int per spatial dim;
        ``padding`` may also be ``'same'`` (stride 1 only; an odd total puts the
        extra sample after, as torch does) or ``'valid'``.
    padding_mode : {'zeros', 'reflect', 'replicate', 'circular'}
        As in ``nn.Conv2d``: how the ``padding`` samples are filled.

    Returns
    -------
    Tensor
        ``(N, C_out, *out)`` in the input's dtype and on its device; the output
        sizes are ``(n + 2 p - dilation (k - 1) - 1) // stride + 1``.

    Notes
    -----
    The input and the (dilated) kernel are transformed at the shortest fast
    length whose wrap-around misses the kept outputs (``n + max(pad)``, see
    ``convlens._torch_plan``); the zero padding before x is a phase shift of
    the kernel's spectrum, so x is copied once, into a channels-last buffer.  An
    input much longer than the kernel (ratio >= 8) is cut into overlap-save
    frames that join the batch.  The sum over input channels is one complex
    matrix product per frequency (never an ``N x C_out x C_in`` intermediate;
    chunked over frequencies without autograd), and the inverse transforms give
    every stride-1 output, of which the strided ones are kept (the inverse skips
    the rows that are not kept before transforming the next axis).  Gradients
    flow through ``torch.fft`` and ``torch.matmul``.

    Examples
    --------
    >>> import torch
    >>> x = torch.randn(1, 2, 50, dtype=torch.float64)
    >>> w = torch.randn(4, 1, 7, dtype=torch.float64)
    >>> y = fft_conv(x, w, stride=2, padding=3, dilation=2, groups=2)
    >>> y.shape
    torch.Size([1, 4, 22])
    >>> ref = torch.nn.functional.conv1d(x, w, stride=2, padding=3, dilation=2, groups=2)
    >>> float((y - ref).abs().max()) < 1e-12
    True
    """
    x, batched, plan, dilation = _prepare(input, weight, bias, stride, padding, dilation, groups, padding_mode)
    work = _work_dtype(input.dtype)
    y = _fft_conv_nd(x, weight, bias, plan, groups, dilation, work).to(input.dtype)
    return y if batched else y.squeeze(0)


# --------------------------------------------------------------------------- layers


# Eval-mode layers cache weight spectra up to this size; larger ones are streamed
# (recomputed in chunks on every call) so that the cache never costs gigabytes.
_CACHE_MAX_BYTES = 1 << 30


def _spectrum_bytes(weight: Tensor, plan: ConvPlan, work: torch.dtype) -> int:
    itemsize = 16 if work == torch.float64 else 8
    return weight.shape[0] * weight.shape[1] * math.prod(plan.spectrum_shape) * itemsize


class _SpectrumCache(NamedTuple):
    """A weight spectrum and exactly the weight values it was computed from."""

    key: tuple  # plan, groups, work dtype, inference mode, weight shape/dtype/device
    snapshot: Tensor  # a copy of the weight's values when the spectrum was computed
    spectrum: Tensor


def _cache_key(weight: Tensor, plan: ConvPlan, dilation, groups: int, work: torch.dtype) -> tuple:
    mode = torch.is_inference_mode_enabled()
    return (plan.fft_shape, plan.shifts, dilation, groups, work, mode, weight.shape, weight.dtype, weight.device)


class _FFTConvMixin:
    """``_conv_forward`` of ``nn.Conv*d`` by FFT, with an eval-mode weight-spectrum cache."""

    _spectrum_cache: _SpectrumCache | None = None

    def _conv_forward(self, input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        x, batched, plan, dilation = _prepare(
            input, weight, bias, self.stride, self.padding, self.dilation, self.groups, self.padding_mode
        )
        work = _work_dtype(input.dtype)
        spectrum = None
        # A cached spectrum carries no autograd graph: use it only when none is needed.
        if (
            not self.training
            and not (torch.is_grad_enabled() and weight.requires_grad)
            and _spectrum_bytes(weight, plan, work) <= _CACHE_MAX_BYTES
        ):
            spectrum = self._cached_spectrum(weight, plan, dilation, work)
        y = _fft_conv_nd(x, weight, bias, plan, self.groups, dilation, work, spectrum).to(input.dtype)
        return y if batched else y.squeeze(0)

    def _cached_spectrum(self, weight: Tensor, plan: ConvPlan, dilation, work: torch.dtype) -> Tensor:
        """The weight spectrum, served from the cache only if the weight's values are the cached ones.

        Identity, version counter and storage address miss edits through
        ``.data`` (EMA, weight clipping) and writes through other views, so the
        cache keeps a copy of the weight and compares values: one read of the
        weight per call, small beside the spectrum it saves (which is larger
        than the weight by the FFT volume / kernel volume).  A weight holding
        NaN never compares equal, so it is recomputed on every call.
        """
        key = _cache_key(weight, plan, dilation, self.groups, work)
        c = self._spectrum_cache
        if c is not None and c.key == key and torch.equal(c.snapshot, weight):
            return c.spectrum
        with torch.no_grad():
            snapshot = weight.detach().clone()
            spectrum = _weight_spectrum(snapshot, plan, self.groups, dilation, work)
        self._spectrum_cache = _SpectrumCache(key, snapshot, spectrum)
        return spectrum

    def __getstate__(self):
        # pickles and deep copies leave the cache behind (it is rebuilt on demand)
        state = super().__getstate__()
        state = dict(state if isinstance(state, dict) else self.__dict__)
        state["_spectrum_cache"] = None
        return state

    def clear_spectrum_cache(self) -> None:
        """Drop the cached weight spectrum (it is rebuilt on the next eval-mode call)."""
        self._spectrum_cache = None

    def train(self, mode: bool = True):
        if mode:  # the cache is only used in eval mode: free its memory while training
            self._spectrum_cache = None
        return super().train(mode)


class FFTConv1d(_FFTConvMixin, nn.Conv1d):
    """``nn.Conv1d`` computed by FFT (same constructor, parameters, ``state_dict`` and ``repr``).

    Examples
    --------
    >>> import torch
    >>> layer = FFTConv1d(4, 8, kernel_size=255, padding="same")
    >>> isinstance(layer, torch.nn.Conv1d), layer(torch.randn(2, 4, 1000)).shape
    (True, torch.Size([2, 8, 1000]))
    """


class FFTConv2d(_FFTConvMixin, nn.Conv2d):
    """``nn.Conv2d`` computed by FFT (same constructor, parameters, ``state_dict`` and ``repr``).

    Examples
    --------
    >>> import torch
    >>> ref = torch.nn.Conv2d(3, 4, 9, padding=4, padding_mode="circular")
    >>> layer = FFTConv2d(3, 4, 9, padding=4, padding_mode="circular")
    >>> _ = layer.load_state_dict(ref.state_dict())
    >>> x = torch.randn(1, 3, 32, 32)
    >>> bool(torch.allclose(layer(x), ref(x), atol=1e-4))
    True
    """


class FFTConv3d(_FFTConvMixin, nn.Conv3d):
    """``nn.Conv3d`` computed by FFT (same constructor, parameters, ``state_dict`` and ``repr``).

    Examples
    --------
    >>> FFTConv3d(2, 2, 5, padding=2)
    FFTConv3d(2, 2, kernel_size=(5, 5, 5), stride=(1, 1, 1), padding=(2, 2, 2))
    """


_FFT_CLASS = {nn.Conv1d: FFTConv1d, nn.Conv2d: FFTConv2d, nn.Conv3d: FFTConv3d}
# Input sizes assumed by ``convert`` for a layer it has not seen run (no example_input).
_ASSUMED_SPATIAL = {1: 4096, 2: 64, 3: 32}
_ASSUMED_BATCH = 8


def convert(model: nn.Module, example_input=None, *, rule: str = "cost", inplace: bool = False) -> nn.Module:
    """Swap the ``nn.Conv1d/2d/3d`` layers of ``model`` for FFT layers where FFT pays.

    Parameters
    ----------
    model : nn.Module
        A model (or a single convolution layer).
    example_input : Tensor or tuple of Tensors, optional
        Run once through ``model`` (without gradients) to record each layer's
        input shape.  Without it each layer is judged at an assumed input:
        batch 8 and 4096 samples (1-D), 64² (2-D) or 32³ (3-D).
    rule : {'cost', 'all'}
        ``'cost'`` converts a layer when the predicted FFT time is below the
        predicted direct time (``convlens._torch_plan.conv_costs``: direct =
        ``2e-11 s * N C_out (C_in/groups) prod(out) prod(k)``; FFT = FFT work of
        ``N (C_in + C_out)`` transforms of the FFT volume ``V`` at ``5.5e-10 s`` per
        point and ``log2 V``, plus ``2.5e-10 s`` per complex multiply-add of the
        contraction, ``N C_out (C_in/groups) V/2``, plus the weight spectrum).  A
        layer in eval mode is judged without the weight spectrum (it is cached); in
        training mode with it.
        ``'all'`` converts every layer.
    inplace : bool
        Modify ``model`` itself (its parameters stay the same objects, so an
        optimizer keeps working) instead of a deep copy.

    Returns
    -------
    nn.Module
        The converted model; converted layers keep their parameters, buffers,
        hooks and ``state_dict`` keys.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.Conv2d(8, 8, 25, padding=12))
    >>> fast = convert(net, torch.randn(4, 1, 64, 64))
    >>> [type(m).__name__ for m in fast]
    ['Conv2d', 'FFTConv2d']
    """
    check_choice("rule", rule, ("cost", "all"))
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module; got {type(model).__name__}")
    if not inplace:
        model = copy.deepcopy(model)
    layers = [m for m in model.modules() if type(m) in _FFT_CLASS]
    shapes: dict[int, tuple[int, ...]] = {}
    if example_input is not None and rule == "cost":
        hooks = [m.register_forward_pre_hook(_recorder(shapes, id(m))) for m in layers]
        try:
            with torch.no_grad():
                model(*example_input) if isinstance(example_input, tuple) else model(example_input)
        finally:
            for h in hooks:
                h.remove()
    for m in layers:
        if rule == "all" or _fft_pays(m, shapes.get(id(m))):
            m.__class__ = _FFT_CLASS[type(m)]
            m._spectrum_cache = None
    return model


def _recorder(shapes: dict, key: int):
    def hook(module, args):
        shapes[key] = tuple(args[0].shape)

    return hook


def _fft_pays(m: nn.Module, shape: tuple[int, ...] | None) -> bool:
    d = len(m.kernel_size)
    if shape is None:
        shape = (_ASSUMED_BATCH, m.in_channels, *([_ASSUMED_SPATIAL[d]] * d))
    batch = shape[0] if len(shape) == d + 2 else 1
    spatial = shape[-d:]
    pads = resolve_padding(m.padding, m.kernel_size, m.dilation, m.stride)
    if m.padding_mode != "zeros":
        spatial = tuple(n + b + a for n, (b, a) in zip(spatial, pads))
        pads = ((0, 0),) * d
    keff = tuple(dl * (k - 1) + 1 for k, dl in zip(m.kernel_size, m.dilation))
    try:
        costs = conv_costs(
            batch,
            m.in_channels,
            m.out_channels,
            m.groups,
            spatial,
            keff,
            pads,
            m.stride,
            cached_weight=not m.training,
            taps=m.kernel_size,
        )
    except ValueError:  # a shape this layer cannot take: leave it alone
        return False
    return costs["fft"] < costs["direct"]


# --------------------------------------------------------------------------- long convolution


def _channel_step(u: Tensor, n: int) -> int:
    """Channels per chunk: each holds the padded rows, their spectra and the inverse (~24 n bytes per row)."""
    rows_per_channel = max(1, math.prod(u.shape[:-2]))
    budget = _LONG_CHUNK_BYTES.get(u.device.type, _LONG_CHUNK_BYTES["cuda"])
    return max(1, budget // (rows_per_channel * n * 24))


def _long_forward(u: Tensor, k: Tensor, n: int, offset: int) -> Tensor:
    """``y[..., h, t] = full(u[..., h, :], k[h, :])[offset + t]`` for t < L, chunked over channels."""
    H, L = u.shape[-2:]
    out = torch.empty_like(u)
    step = _channel_step(u, n)
    for h0 in range(0, H, step):
        h1 = min(H, h0 + step)
        Uf = torch.fft.rfft(u[..., h0:h1, :], n=n)
        Uf.mul_(torch.fft.rfft(k[h0:h1], n=n))
        out[..., h0:h1, :] = torch.fft.irfft(Uf, n=n)[..., offset : offset + L]
    return out


class _LongConv(torch.autograd.Function):
    """Chunked FFT long convolution; the backward pass recomputes the spectra (memory stays O(input))."""

    @staticmethod
    def forward(ctx, u: Tensor, k: Tensor, n: int, offset: int) -> Tensor:
        ctx.save_for_backward(u, k)
        ctx.n, ctx.offset = n, offset
        return _long_forward(u, k, n, offset)

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
        return gu, gk, None, None


def long_conv(
    u: Tensor,
    k: Tensor,
    causal: bool = True,
    *,
    pregate: Tensor | None = None,
    postgate: Tensor | None = None,
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
    """
    u = _check_tensor("u", u)
    k = _check_tensor("k", k)
    _check_pair("u", u, "k", k)
    if not isinstance(causal, bool):
        raise TypeError(f"causal must be True or False; got {causal!r}")
    if u.ndim < 2:
        raise ValueError(f"u must have shape (..., H, L) with at least 2 dimensions; got shape {tuple(u.shape)}")
    if u.numel() == 0 or k.numel() == 0:
        raise ValueError(f"u and k must not be empty; got shapes {tuple(u.shape)} and {tuple(k.shape)}")
    H, L = u.shape[-2:]
    if k.ndim == 1:
        k = k.expand(H, -1)
    if k.ndim != 2 or k.shape[0] != H:
        raise ValueError(f"k must have shape (H, K) = ({H}, K) with H the channels of u, or (K,); got {tuple(k.shape)}")
    for name, gate in (("pregate", pregate), ("postgate", postgate)):
        if gate is not None:
            _check_pair("u", u, name, _check_tensor(name, gate))
    n, offset, taps = plan_long(L, k.shape[-1], causal)
    work = _work_dtype(u.dtype)
    x = u.to(work)
    if pregate is not None:
        x = x * pregate.to(work)
    y = _LongConv.apply(x.contiguous(), k[:, :taps].to(work).contiguous(), n, offset)
    if postgate is not None:
        y = y * postgate.to(work)
    return y.to(u.dtype)
