"""FFT layers (drop-in ``nn.Conv*d`` subclasses) with a weight-spectrum cache, and ``convert``."""

from __future__ import annotations

import copy
import math
from typing import NamedTuple

import torch
from torch import Tensor, nn

from .._torch_plan import (
    ConvPlan,
    conv_costs,
    resolve_padding,
)
from .._validation import NAN_POLICIES, check_choice
from ._checks import _work_dtype
from ._fft_conv import _execute, _prepare, _weight_spectrum

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
    """``_conv_forward`` of ``nn.Conv*d`` by FFT, with an eval-mode weight-spectrum cache.

    ``nan_policy`` (keyword, after ``nn.Conv*d``'s arguments) is stored as a plain
    attribute: pickled with the layer, shown by ``repr`` when not the default,
    and not part of the ``state_dict`` (which stays ``nn.Conv*d``'s).
    """

    _spectrum_cache: _SpectrumCache | None = None
    # class default: layers made by ``convert`` (a class swap) and pickles of older layers have it too
    nan_policy: str = "propagate"

    def __init__(self, *args, nan_policy: str = "propagate", **kwargs):
        super().__init__(*args, **kwargs)
        self.nan_policy = check_choice("nan_policy", nan_policy, NAN_POLICIES)

    def extra_repr(self) -> str:
        text = super().extra_repr()
        return text if self.nan_policy == "propagate" else f"{text}, nan_policy={self.nan_policy!r}"

    def _conv_forward(self, input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        x, batched, plan, dilation = _prepare(
            input,
            weight,
            bias,
            self.stride,
            self.padding,
            self.dilation,
            self.groups,
            self.padding_mode,
            self.nan_policy,
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
        y = _execute(input, x, weight, bias, plan, self.groups, dilation, work, spectrum, self.nan_policy)
        y = y.to(input.dtype)
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

    One more keyword, ``nan_policy`` ('propagate', 'raise' or 'interpolate'),
    with :func:`convlens.torch.fft_conv`'s meaning; the default gives what
    ``nn.Conv1d`` gives for inputs holding NaN or inf.

    Examples
    --------
    >>> import torch
    >>> layer = FFTConv1d(4, 8, kernel_size=255, padding="same")
    >>> isinstance(layer, torch.nn.Conv1d), layer(torch.randn(2, 4, 1000)).shape
    (True, torch.Size([2, 8, 1000]))
    """


class FFTConv2d(_FFTConvMixin, nn.Conv2d):
    """``nn.Conv2d`` computed by FFT (same constructor, parameters, ``state_dict`` and ``repr``).

    One more keyword, ``nan_policy``, as in :class:`FFTConv1d`.

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

    One more keyword, ``nan_policy``, as in :class:`FFTConv1d`.

    Examples
    --------
    >>> FFTConv3d(2, 2, 5, padding=2)
    FFTConv3d(2, 2, kernel_size=(5, 5, 5), stride=(1, 1, 1), padding=(2, 2, 2))
    >>> FFTConv3d(2, 2, 5, padding=2, nan_policy="interpolate")
    FFTConv3d(2, 2, kernel_size=(5, 5, 5), stride=(1, 1, 1), padding=(2, 2, 2), nan_policy='interpolate')
    """


_FFT_CLASS = {nn.Conv1d: FFTConv1d, nn.Conv2d: FFTConv2d, nn.Conv3d: FFTConv3d}
# Input sizes assumed by ``convert`` for a layer it has not seen run (no example_input).
_ASSUMED_SPATIAL = {1: 4096, 2: 64, 3: 32}
_ASSUMED_BATCH = 8


def convert(
    model: nn.Module,
    example_input=None,
    *,
    rule: str = "cost",
    inplace: bool = False,
    nan_policy: str = "propagate",
) -> nn.Module:
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
    nan_policy : {'propagate', 'raise', 'interpolate'}
        Given to every converted layer (see :func:`fft_conv`).  'propagate'
        (default) is what ``nn.Conv*d`` does, so converted layers answer as the
        originals for inputs holding NaN or inf.  The other policies exist only
        in the FFT layers: with them every ``nn.Conv*d`` layer is converted, as
        with ``rule='all'`` (a layer left as ``nn.Conv*d`` would silently
        propagate instead).  Layers that already are FFT layers keep theirs.

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
    check_choice("nan_policy", nan_policy, NAN_POLICIES)
    if nan_policy != "propagate":
        rule = "all"
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
            m.nan_policy = nan_policy
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
