"""Shapes only: what a convolution of given shapes, mode and boundary needs.

Everything here is pure (shapes in, integers out) and array-library agnostic, so
the NumPy engine and the torch adapter share one definition of the semantics.

Definition used throughout (per convolved axis, x of length n, kernel of length K):

* ``full[i] = sum_m k[m] * xe[i - m]`` for ``i`` in ``0 .. n + K - 2``, where ``xe``
  is x extended past its edges by the boundary rule (``numpy.pad``'s rule);
* ``mode`` keeps ``full[o : o + out_len]`` with ``o = 0`` (full),
  ``o = (K - 1) // 2`` (same, scipy's centring, also for even K) or ``o = K - 1`` (valid).

So the x samples needed are ``o - (K - 1) .. o + out_len - 1``: we pad by
``before = K - 1 - o`` and ``after = o + out_len - n`` (never negative), and the
result is the *valid* convolution of the padded x.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache

from .._validation import MODES, check_choice


@dataclass(frozen=True)
class AxisGeometry:
    """How one convolved axis is extended, convolved and cropped."""

    n: int  # input length
    k: int  # kernel length
    out_len: int  # output length for the mode
    offset: int  # index in the full convolution of output sample 0
    before: int  # samples of boundary extension needed before x[0]
    after: int  # ... and after x[n - 1]

    @property
    def padded(self) -> int:
        """Length of x once extended by the boundary rule."""
        return self.n + self.before + self.after

    def min_circular_length(self, explicit_pad: bool) -> int:
        """Shortest circular-convolution length whose wrap-around misses the kept outputs.

        With explicit padding the input is the padded x (valid part kept); with
        implicit zero padding it is x itself and only ``offset .. offset+out_len``
        of the linear convolution must be alias-free.
        """
        if explicit_pad:
            return self.padded
        # ... and the kernel itself must fit in the circular buffer (K can exceed 2n - 1 in 'same')
        return max(self.n + self.k - 1 - self.offset, self.offset + self.out_len, self.k)


def axis_geometry(n: int, k: int, mode: str) -> AxisGeometry:
    """Geometry of one axis (see the module docstring)."""
    if mode == "full":
        out_len, offset = n + k - 1, 0
    elif mode == "same":
        out_len, offset = n, (k - 1) // 2
    else:  # valid
        out_len, offset = n - k + 1, k - 1
    before = k - 1 - offset
    after = offset + out_len - n
    return AxisGeometry(n, k, out_len, offset, max(before, 0), max(after, 0))


@dataclass(frozen=True)
class Geometry:
    """Shapes of a whole N-d convolution: x shape, kernel shape, convolved axes, mode."""

    x_shape: tuple[int, ...]
    k_shape: tuple[int, ...]
    axes: tuple[int, ...]
    mode: str
    per_axis: tuple[AxisGeometry, ...]
    batch_shape: tuple[int, ...]  # broadcast shape of the non-convolved axes (kept in place)

    @cached_property  # read on every call of the lean paths (a frozen dataclass keeps it in __dict__)
    def out_shape(self) -> tuple[int, ...]:
        """Shape of the result."""
        shape = list(self.batch_shape)
        for ax, g in zip(self.axes, self.per_axis):
            shape[ax] = g.out_len
        return tuple(shape)

    @property
    def pad_width(self) -> list[tuple[int, int]]:
        """``numpy.pad`` widths that extend x by exactly what the outputs need."""
        widths = [(0, 0)] * len(self.x_shape)
        for ax, g in zip(self.axes, self.per_axis):
            widths[ax] = (g.before, g.after)
        return widths

    @property
    def kernel_volume(self) -> int:
        vol = 1
        for g in self.per_axis:
            vol *= g.k
        return vol


def make_geometry(x_shape, k_shape, axes: tuple[int, ...], mode: str) -> Geometry:
    """Check that the shapes fit together for ``mode`` and return their geometry.

    ``axes`` must already be normalized (sorted, non-negative); ``k_shape`` must have
    as many dimensions as ``x_shape``.  Cached: repeated shapes reuse one object.
    """
    try:
        return _make_geometry_cached(tuple(x_shape), tuple(k_shape), tuple(axes), mode)
    except TypeError:  # unhashable mode: let the check below name it
        return _make_geometry(x_shape, k_shape, axes, mode)


@lru_cache(maxsize=1024)
def _make_geometry_cached(x_shape, k_shape, axes, mode) -> Geometry:
    return _make_geometry(x_shape, k_shape, axes, mode)


def _make_geometry(x_shape, k_shape, axes: tuple[int, ...], mode: str) -> Geometry:
    check_choice("mode", mode, MODES)
    x_shape, k_shape = tuple(int(s) for s in x_shape), tuple(int(s) for s in k_shape)
    batch = []
    for ax, (nx, nk) in enumerate(zip(x_shape, k_shape)):
        if ax in axes:
            batch.append(nx)
            continue
        if nx != nk and nk != 1 and nx != 1:
            raise ValueError(
                f"x and kernel must have equal sizes (or size 1) along the non-convolved axis {ax}; "
                f"got x shape {x_shape} and kernel shape {k_shape} with axes={axes}"
            )
        batch.append(max(nx, nk))
    per_axis = []
    for ax in axes:
        n, k = x_shape[ax], k_shape[ax]
        if mode == "valid" and k > n:
            raise ValueError(
                f"in mode 'valid' the kernel must not be larger than x along a convolved axis; "
                f"axis {ax} has x size {n} and kernel size {k} (use mode='full' or 'same')"
            )
        per_axis.append(axis_geometry(n, k, mode))
    return Geometry(x_shape, k_shape, axes, mode, tuple(per_axis), tuple(batch))


def align_kernel_ndim(
    x_ndim: int, k_shape: tuple[int, ...], axes_given: bool, axes: tuple[int, ...]
) -> tuple[int, ...]:
    """Kernel shape with x's number of dimensions.

    A kernel with fewer dimensions than x is accepted when ``axes`` names exactly
    that many axes: its dimensions are placed on those axes, size 1 elsewhere.
    """
    if len(k_shape) == x_ndim:
        return k_shape
    if len(k_shape) > x_ndim:
        raise ValueError(f"kernel has more dimensions ({len(k_shape)}) than x ({x_ndim})")
    if not axes_given or len(axes) != len(k_shape):
        raise ValueError(
            f"kernel has {len(k_shape)} dimensions and x has {x_ndim}: give them the same number of "
            f"dimensions, or pass axes= naming {len(k_shape)} axes of x for the kernel's dimensions"
        )
    shape = [1] * x_ndim
    for ax, s in zip(axes, k_shape):
        shape[ax] = s
    return tuple(shape)
