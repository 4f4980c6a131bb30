"""The compiled window sums of template matching (``convlens.matching._boxsums``).

Checked against float64 sums taken straight from their definition (``window_sums``: separable
running sums, NumPy only), on random shapes around the module's switch between one run and
eight runs per row, on offset data, and through whole searches against scikit-image with the
compiled module and without it (OpenCV's integral images then serve).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from skimage.feature import match_template as sk_match

from convlens.matching import _boxsums as boxsums
from convlens.matching import _window_stats, match_template


def test_the_compiled_sums_are_built():
    # CI builds them: a missing compiler must not pass unnoticed as "integral images only"
    assert _window_stats.HAVE_BOXSUMS


def _reference(x, m, n):
    x64 = x.astype(np.float64)[None]
    return _window_stats.window_sums(x64, (m, n))[0], _window_stats.window_sums(x64 * x64, (m, n))[0]


@settings(max_examples=150, deadline=None)
@given(
    h=st.integers(1, 40),
    w=st.integers(1, 300),
    data=st.data(),
    dtype=st.sampled_from([np.float32, np.float64]),
    offset=st.sampled_from([0.0, 1e3]),
)
def test_window_sums_and_variance_match_their_definition(h, w, data, dtype, offset):
    m, n = data.draw(st.integers(1, h)), data.draw(st.integers(1, w))
    r0 = data.draw(st.integers(0, h - m + 1))
    r1 = data.draw(st.integers(r0, h - m + 1))
    rng = np.random.default_rng(h * 1000 + w)
    x = (rng.standard_normal((h, w)) * 3 + offset).astype(dtype)
    ref_s, ref_q = _reference(x, m, n)
    width = w - n + 1
    S, Q = np.empty((r1 - r0, width)), np.empty((r1 - r0, width))
    boxsums.window_sums(x, S, Q, h, w, m, n, r0, r1)
    scale = float(np.abs(x.astype(np.float64)).max()) ** 2 * m * n + 1.0
    assert np.abs(S - ref_s[r0:r1]).max(initial=0) <= 1e-13 * np.sqrt(scale)
    assert np.abs(Q - ref_q[r0:r1]).max(initial=0) <= 1e-13 * scale
    ref_v = ref_q[r0:r1] - ref_s[r0:r1] ** 2 / (m * n)
    for out_dtype, rel in ((np.float64, 1e-13), (np.float32, 1e-6)):
        V = np.empty((r1 - r0, width), out_dtype)
        boxsums.window_variance(x, V, h, w, m, n, r0, r1, 1.0 / (m * n))
        assert np.abs(V - ref_v).max(initial=0) <= rel * scale


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_energy_is_the_float64_sum_of_squares(dtype):
    x = (np.random.default_rng(3).standard_normal(100_003) * 1e3).astype(dtype)
    assert boxsums.energy(x) == pytest.approx(float(np.square(x, dtype=np.float64).sum()), rel=1e-12)
    assert boxsums.energy(x[:0]) == 0.0


def test_bad_arguments_are_refused_with_their_reason():
    x = np.zeros((8, 9), np.float32)
    with pytest.raises(ValueError, match="r1 <= H - m \\+ 1"):
        boxsums.window_sums(x, np.empty((8, 9)), np.empty((8, 9)), 8, 9, 2, 1, 0, 8)
    with pytest.raises(ValueError, match="must hold"):
        boxsums.window_sums(x, np.empty((2, 9)), np.empty((2, 9)), 8, 9, 1, 1, 0, 3)
    with pytest.raises(TypeError, match="float64"):
        boxsums.window_sums(x, np.empty((1, 9), np.float32), np.empty((1, 9)), 8, 9, 1, 1, 0, 1)
    with pytest.raises(TypeError, match="float32 or float64"):
        boxsums.window_variance(x.astype(np.int32), np.empty((1, 9)), 8, 9, 1, 1, 0, 1, 1.0)
    with pytest.raises(TypeError, match="exactly 9"):
        boxsums.window_variance(x)
    with pytest.raises(ValueError, match="not C-contiguous"):
        boxsums.window_sums(np.zeros((8, 18), np.float32)[:, ::2], np.empty((1, 9)), np.empty((1, 9)), 8, 9, 1, 1, 0, 1)


@pytest.mark.parametrize("compiled", [True, False])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(300, 700), (90, 140)])
def test_searches_with_and_without_the_compiled_sums_match_skimage(monkeypatch, compiled, dtype, shape):
    monkeypatch.setattr(_window_stats, "HAVE_BOXSUMS", compiled)
    rng = np.random.default_rng(sum(shape))
    image = (rng.standard_normal(shape) + 5.0).astype(dtype)
    template = image[20:52, 40:77] + dtype(0.3) * rng.standard_normal((32, 37)).astype(dtype)
    truth = sk_match(image.astype(np.float64), template.astype(np.float64))
    for workers in (1, 2):
        got = match_template(image, template, workers=workers)
        assert got.dtype == dtype
        assert np.abs(got - truth).max() <= (2e-6 if dtype == np.float32 else 1e-10)
