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

from ._fft_conv import fft_conv
from ._layers import FFTConv1d, FFTConv2d, FFTConv3d, convert
from ._long import long_conv

__all__ = ["FFTConv1d", "FFTConv2d", "FFTConv3d", "convert", "fft_conv", "long_conv"]

# pickles and reprs name the public path, which stays valid if the private modules move
for _obj in (FFTConv1d, FFTConv2d, FFTConv3d, convert, fft_conv, long_conv):
    _obj.__module__ = __name__
del _obj
