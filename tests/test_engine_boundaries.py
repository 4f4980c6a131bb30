"""Boundary rules against scipy.ndimage (mode 'same') and numpy.pad.

Name mapping (numpy.pad / convlens -> scipy.ndimage): 'symmetric' -> 'reflect', 'reflect' -> 'mirror',
'edge' -> 'nearest', 'wrap' -> 'wrap', 'constant' -> 'constant' (with ``cval``).

Centring: ndimage centres a kernel of length K at index K // 2.  For ``ndimage.correlate`` that is
scipy's 'same' centring for every K; ``ndimage.convolve`` flips the kernel around that centre, so for
an even K it needs ``origin=-1`` on that axis to match scipy's 'same' (offset (K - 1) // 2).
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi

from _engine_ref import BOUNDARIES, METHODS, ref_convolve
from conftest import assert_close
from convlens import Convolver, convolve, correlate

NDIMAGE_MODE = {"symmetric": "reflect", "reflect": "mirror", "edge": "nearest", "wrap": "wrap", "constant": "constant"}
CVAL = -0.5


def _origin(kshape):
    return tuple(-1 if k % 2 == 0 else 0 for k in kshape)


KSHAPES_2D = [(3, 3), (5, 3), (1, 7), (4, 4), (2, 3), (6, 5), (8, 2)]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_same_mode_equals_ndimage_convolve(rng, boundary, method):
    x = rng.standard_normal((23, 19))
    for ks in KSHAPES_2D:
        k = rng.standard_normal(ks)
        got = convolve(x, k, "same", boundary=boundary, fill_value=CVAL, method=method)
        ref = ndi.convolve(x, k, mode=NDIMAGE_MODE[boundary], cval=CVAL, origin=_origin(ks))
        assert_close(got, ref, err_msg=str(ks))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_same_mode_correlate_equals_ndimage_correlate(rng, boundary, method):
    x = rng.standard_normal((17, 21))
    for ks in KSHAPES_2D:
        t = rng.standard_normal(ks)
        got = correlate(x, t, "same", boundary=boundary, fill_value=CVAL, method=method)
        ref = ndi.correlate(x, t, mode=NDIMAGE_MODE[boundary], cval=CVAL)
        assert_close(got, ref, err_msg=str(ks))


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_same_mode_ndimage_1d_and_3d(rng, boundary):
    x1 = rng.standard_normal(40)
    for K in range(1, 10):
        k = rng.standard_normal(K)
        ref = ndi.convolve1d(x1, k, mode=NDIMAGE_MODE[boundary], cval=CVAL, origin=_origin((K,))[0])
        for method in METHODS:
            got = convolve(x1, k, "same", boundary=boundary, fill_value=CVAL, method=method)
            assert_close(got, ref, err_msg=f"K={K} {method}")
    x3 = rng.standard_normal((7, 8, 9))
    k3 = rng.standard_normal((3, 2, 4))
    ref = ndi.convolve(x3, k3, mode=NDIMAGE_MODE[boundary], cval=CVAL, origin=_origin(k3.shape))
    for method in METHODS:
        assert_close(convolve(x3, k3, "same", boundary=boundary, fill_value=CVAL, method=method), ref, err_msg=method)


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_same_mode_ndimage_along_axes(rng, boundary):
    x = rng.standard_normal((4, 15, 13))
    k = rng.standard_normal((5, 4))
    ref = ndi.convolve(x, k[None], mode=NDIMAGE_MODE[boundary], cval=CVAL, origin=(0, *_origin(k.shape)))
    for method in METHODS:
        got = convolve(x, k, "same", axes=(1, 2), boundary=boundary, fill_value=CVAL, method=method)
        assert_close(got, ref, err_msg=method)


@pytest.mark.parametrize("boundary", ["wrap", "reflect", "symmetric", "edge"])
def test_kernel_longer_than_input_repeats_the_rule(rng, boundary):
    """The extension is numpy.pad's, repeated as often as needed (also when K - 1 > n)."""
    x = rng.standard_normal((3, 5))
    k = rng.standard_normal((9, 13))
    for method in METHODS:
        for mode in ("full", "same"):
            got = convolve(x, k, mode, boundary=boundary, method=method)
            assert_close(got, ref_convolve(x, k, mode, boundary=boundary), err_msg=f"{mode} {method}")
        # ndimage agrees with numpy.pad's repeated extension on 'same'
        ref = ndi.convolve(x, k, mode=NDIMAGE_MODE[boundary], origin=_origin(k.shape))
        assert_close(convolve(x, k, "same", boundary=boundary, method=method), ref, err_msg=method)


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_length_one_axis(rng, boundary):
    """numpy.pad extends a length-1 axis by repeating the sample for every rule but 'constant'."""
    x = rng.standard_normal((1, 9))
    k = rng.standard_normal((3, 3))
    for method in METHODS:
        for mode in ("full", "same"):
            got = convolve(x, k, mode, boundary=boundary, fill_value=CVAL, method=method)
            assert_close(got, ref_convolve(x, k, mode, boundary=boundary, fill_value=CVAL), err_msg=f"{mode} {method}")


def test_wrap_is_circular_convolution(rng):
    """'same' with wrap and a kernel of length n is the circular convolution (the DFT product)."""
    x = rng.standard_normal(16)
    k = rng.standard_normal(16)
    circ = np.real(np.fft.ifft(np.fft.fft(x) * np.fft.fft(k)))
    for method in METHODS:
        got = convolve(x, k, "same", boundary="wrap", method=method)
        # scipy's 'same' keeps full[(K-1)//2 : ...]: the circular result rolled by -(K-1)//2
        assert_close(got, np.roll(circ, -((16 - 1) // 2)), err_msg=method)


@pytest.mark.parametrize("boundary", BOUNDARIES)
def test_boundaries_through_a_plan(rng, boundary):
    k = rng.standard_normal((4, 3))
    for method in METHODS:
        plan = Convolver(k, (12, 10), "same", boundary=boundary, fill_value=CVAL, method=method)
        for _ in range(2):
            x = rng.standard_normal((12, 10))
            ref = ndi.convolve(x, k, mode=NDIMAGE_MODE[boundary], cval=CVAL, origin=_origin(k.shape))
            assert_close(plan(x), ref, err_msg=method)


def test_constant_fill_value_is_used(rng):
    x = np.zeros(5)
    for method in METHODS:
        y = convolve(x, np.ones(3), "full", boundary="constant", fill_value=2.0, method=method)
        assert_close(y, [4.0, 2.0, 0.0, 0.0, 0.0, 2.0, 4.0], err_msg=method)
        y = convolve(x, np.ones(3), "same", boundary="constant", fill_value=2.0, method=method)
        assert_close(y, [2.0, 0.0, 0.0, 0.0, 2.0], err_msg=method)


def test_edge_boundary_preserves_constants(rng):
    x = np.full((6, 7), 3.0)
    k = rng.random((5, 4))
    for boundary in ("wrap", "reflect", "symmetric", "edge"):
        for method in METHODS:
            for mode in ("full", "same", "valid"):
                y = convolve(x, k, mode, boundary=boundary, method=method)
                assert_close(y, np.full(y.shape, 3.0 * k.sum()), err_msg=f"{boundary} {mode} {method}")
