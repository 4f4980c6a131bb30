"""``fft_conv``: ``torch.nn.functional.conv1d/2d/3d`` by FFT, and the weight spectrum it uses."""

from __future__ import annotations

import cmath
import math
from collections.abc import Sequence
from functools import lru_cache

import torch
import torch.nn.functional as F
from torch import Tensor

from .._torch_plan import (
    DFT_MAX_TAPS,
    PADDING_MODES,
    ConvPlan,
    ntuple,
    plan_conv,
    resolve_padding,
)
from .._validation import NAN_POLICIES, check_alloc, check_choice
from ._checks import (
    _STREAM_BYTES,
    _check_conv_args,
    _chunk_bytes,
    _refuse_nonfinite,
    _require_finite_kernel,
    _work_dtype,
)
from ._nan import Window, interpolate_channels, propagate_channels


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


def _fft_conv_nd(
    x: Tensor, weight: Tensor, bias, plan: ConvPlan, groups, dilation, work, spectrum=None, check: bool = False
) -> Tensor | None:
    """Zero-padded, strided cross-correlation of a batched, already-extended x (the execute step).

    ``check=True`` returns None, before the channel contraction, when x holds NaN
    or inf: the zero-frequency terms of its spectrum (the sums of x) tell it for
    free, and only a non-finite sum (or an overflowing one) costs a look at x.

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
    # one complex sum of the zero-frequency terms: NaN and inf survive any sum (torch.isfinite on
    # the complex terms themselves costs ~100 us, a summed scalar ~10 us)
    if check and not cmath.isfinite(X[(0,) * d].sum().item()) and not bool(torch.isfinite(x).all()):
        return None
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


def _execute(
    input: Tensor, x: Tensor, weight: Tensor, bias, plan: ConvPlan, groups, dilation, work, spectrum, nan_policy
) -> Tensor:
    """The execute step under ``nan_policy``: the plain FFT path unless x holds NaN or inf.

    ``input`` is the caller's tensor (named in errors), ``x`` its batched,
    extended form.  Finite inputs cost only the free check of ``_fft_conv_nd``.
    """
    if nan_policy == "raise":
        _refuse_nonfinite("weight", weight)
    elif nan_policy == "interpolate":
        _require_finite_kernel("weight", weight)
    y = _fft_conv_nd(x, weight, bias, plan, groups, dilation, work, spectrum, check=True)
    if y is not None:
        return y
    if nan_policy == "raise":
        _refuse_nonfinite("input", input)

    def conv(a, w, g, wk, spec=None):
        return _fft_conv_nd(a, w, None, plan, g, dilation, wk, spec)

    if nan_policy == "propagate":
        windows = [
            Window(k, dl, s, b, a) for k, dl, s, (b, a) in zip(weight.shape[2:], dilation, plan.stride, plan.pads)
        ]
        y = propagate_channels(x, weight, groups, windows, conv, work, spectrum)
    else:
        y = interpolate_channels(x, weight, groups, conv, work, spectrum)
    if bias is not None:
        y = y + bias.to(work).reshape(1, -1, *([1] * (y.ndim - 2)))
    return y


def _prepare(input, weight, bias, stride, padding, dilation, groups, padding_mode, nan_policy="propagate"):
    """Validate and normalize; return (batched extended x, plan, normalized options)."""
    d, batched = _check_conv_args(input, weight, bias, groups)
    check_choice("padding_mode", padding_mode, PADDING_MODES)
    check_choice("nan_policy", nan_policy, NAN_POLICIES)
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
    _check_working_set(x, weight, plan, groups)
    return x, batched, plan, dilation


def _check_working_set(x: Tensor, weight: Tensor, plan: ConvPlan, groups: int) -> None:
    """Refuse, before anything is allocated, a CPU call whose buffers would not fit in memory.

    The buffers alive at once: the real input buffer, its spectrum, the output
    spectrum (channels-last, frames as extra rows) and the weight spectrum.  On
    another device the host's memory says nothing, and torch's allocator answers.
    """
    if x.device.type != "cpu":
        return
    item = torch.empty((), dtype=_work_dtype(x.dtype)).element_size()
    rows = x.shape[0] * plan.nblocks
    cin, cout = x.shape[1], weight.shape[0]
    nf = math.prod(plan.spectrum_shape)
    real = math.prod(plan.fft_shape) * rows * cin
    spectra = 2 * nf * (rows * (cin + cout) + (cin // max(groups, 1)) * cout)
    check_alloc((real + spectra) * item, what="fft_conv")


def fft_conv(
    input: Tensor,
    weight: Tensor,
    bias: Tensor | None = None,
    stride: int | Sequence[int] = 1,
    padding: int | Sequence[int] | str = 0,
    dilation: int | Sequence[int] = 1,
    groups: int = 1,
    padding_mode: str = "zeros",
    *,
    nan_policy: str = "propagate",
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
    nan_policy : {'propagate', 'raise', 'interpolate'}
        What NaN and inf in ``input`` do.  'propagate' (default): what
        ``torch.nn.functional.conv*d`` (a direct sum) gives, only the outputs
        whose window reads a non-finite sample of a channel they use are NaN or
        inf, the others are the finite-input result (a plain FFT would spread
        one NaN over the whole output).  'raise': ValueError saying how many
        non-finite values ``input`` (or ``weight``) holds and where the first is.
        'interpolate': normalized convolution per (output, input) channel pair,
        summed over the input channels, as
        ``convlens.convolve_channels(..., nan_policy='interpolate')``;
        ``weight`` must then be finite.  Finite inputs take the same path under
        every policy, at the same cost.

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

    A NaN spoils only the outputs that read it, as in the direct convolution:

    >>> x = torch.ones(1, 1, 8, dtype=torch.float64)
    >>> x[0, 0, 3] = float("nan")
    >>> fft_conv(x, torch.ones(1, 1, 3, dtype=torch.float64), padding=1)
    tensor([[[2., 3., nan, nan, nan, 3., 3., 2.]]], dtype=torch.float64)
    >>> fft_conv(x, torch.ones(1, 1, 3, dtype=torch.float64), padding=1, nan_policy="interpolate")
    tensor([[[2., 3., 3., 3., 3., 3., 3., 2.]]], dtype=torch.float64)
    """
    x, batched, plan, dilation = _prepare(
        input, weight, bias, stride, padding, dilation, groups, padding_mode, nan_policy
    )
    work = _work_dtype(input.dtype)
    y = _execute(input, x, weight, bias, plan, groups, dilation, work, None, nan_policy).to(input.dtype)
    return y if batched else y.squeeze(0)
