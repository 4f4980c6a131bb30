"""Argument checks, work dtypes and chunk budgets of the torch adapter."""

from __future__ import annotations

import torch
from torch import Tensor

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


def _nonfinite_report(name: str, t: Tensor) -> str | None:
    """None when ``t`` is all finite, else a sentence saying how many values are not and where the first is."""
    bad = ~torch.isfinite(t.detach())
    count = int(bad.sum())
    if count == 0:
        return None
    flat = int(torch.argmax(bad.reshape(-1).to(torch.uint8)))  # argmax returns the first maximum
    first = []
    for size in reversed(t.shape):
        flat, r = divmod(flat, size)
        first.append(r)
    index = tuple(reversed(first))
    return f"{name} contains {count} non-finite value(s) (NaN or inf); the first is at index {index}"


def _refuse_nonfinite(name: str, t: Tensor) -> None:
    """``nan_policy='raise'``: a ValueError naming ``name`` if ``t`` holds NaN or inf."""
    report = _nonfinite_report(name, t)
    if report is not None:
        raise ValueError(f"{report}; nan_policy='raise' refuses non-finite input")


def _require_finite_kernel(name: str, t: Tensor) -> None:
    """``nan_policy='interpolate'`` renormalizes by kernel sums, which a NaN or inf tap makes meaningless."""
    report = _nonfinite_report(name, t)
    if report is not None:
        raise ValueError(
            f"{report}; nan_policy='interpolate' needs finite {name} values (a NaN or inf tap spoils every "
            "output it touches); replace them first, e.g. torch.nan_to_num"
        )
