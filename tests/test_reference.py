"""The finite-difference reference solvers (convlens.reference), checked on their own.

References: hand-written stencils, scipy.sparse.linalg.expm_multiply (the exact solution
of the semi-discrete system), and the orders of accuracy of the schemes.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse.linalg as spla

from conftest import assert_close
from convlens.reference import heat_crank_nicolson, heat_explicit, laplacian_operator


@pytest.mark.parametrize(
    ("boundary", "first_row", "last_row"),
    [
        ("wrap", [-2, 1, 0, 0, 1], [1, 0, 0, 1, -2]),
        ("symmetric", [-1, 1, 0, 0, 0], [0, 0, 0, 1, -1]),
        ("reflect", [-2, 2, 0, 0, 0], [0, 0, 0, 2, -2]),
        ("constant", [-2, 1, 0, 0, 0], [0, 0, 0, 1, -2]),
    ],
)
def test_laplacian_stencils_at_the_walls(boundary, first_row, last_row):
    A = laplacian_operator((5,), 2.0, dx=0.5, boundary=boundary).toarray()
    scale = 2.0 / 0.25
    assert A[0].tolist() == [scale * v for v in first_row]
    assert A[-1].tolist() == [scale * v for v in last_row]
    assert A[2].tolist() == [0, scale, -2 * scale, scale, 0]


def test_the_tensor_operator_differentiates_quadratics_exactly():
    dx = np.array([0.1, 0.2])
    D = np.array([[1.5, 0.3], [0.3, 0.7]])
    a, b = np.meshgrid(np.arange(12) * dx[0], np.arange(10) * dx[1], indexing="ij")
    u = 2 * a**2 + a * b - 3 * b**2
    got = (laplacian_operator(u.shape, D, dx=dx, boundary="constant") @ u.ravel()).reshape(u.shape)
    # div(D grad u) = D00 u_aa + 2 D01 u_ab + D11 u_bb = 1.5*4 + 2*0.3*1 + 0.7*(-6)
    assert_close(got[1:-1, 1:-1], np.full((10, 8), 6.0 + 0.6 - 4.2), rel=1e-10)


@pytest.mark.parametrize("boundary", ["wrap", "symmetric"])
@pytest.mark.parametrize("solver", [heat_explicit, heat_crank_nicolson])
def test_closed_domains_conserve_mass(rng, boundary, solver):
    u = rng.random((9, 11))
    # a tilted tensor only on the torus: ghost cells cannot express its (conormal) no-flux walls
    D = np.array([[1.0, 0.2], [0.2, 0.5]]) if boundary == "wrap" else [1.0, 0.5]
    out = solver(u, 3.0, D, boundary=boundary)
    assert out.sum() == pytest.approx(u.sum(), rel=1e-12)


def test_dirichlet_walls_pull_towards_the_fill_value(rng):
    u = rng.random(20)
    out = heat_crank_nicolson(u, 1000.0, boundary="constant", fill_value=2.0, steps=1000)
    assert_close(out, np.full(20, 2.0), rel=1e-6)


@pytest.mark.parametrize("boundary", ["wrap", "symmetric", "reflect", "constant"])
def test_crank_nicolson_converges_to_the_semi_discrete_solution(rng, boundary):
    u = rng.random((8, 9))
    A = laplacian_operator(u.shape, [0.7, 1.3], boundary=boundary)
    exact = spla.expm_multiply(A * 2.0, u.ravel()).reshape(u.shape)
    assert_close(heat_crank_nicolson(u, 2.0, [0.7, 1.3], steps=400, boundary=boundary), exact, rel=1e-5)
    assert_close(heat_explicit(u, 2.0, [0.7, 1.3], steps=4000, boundary=boundary), exact, rel=1e-3)


def test_orders_in_time_are_two_for_crank_nicolson_and_one_for_forward_euler():
    s = (np.arange(32) + 0.5) / 32
    u = np.exp(np.sin(2 * np.pi * s))
    cn = [heat_crank_nicolson(u, 0.02, 1.0, dx=1 / 32, steps=m) for m in (20, 40, 80)]
    fe = [heat_explicit(u, 0.02, 1.0, dx=1 / 32, steps=m) for m in (200, 400, 800)]
    for runs, order in ((cn, 2), (fe, 1)):
        ratio = np.abs(runs[0] - runs[1]).max() / np.abs(runs[1] - runs[2]).max()
        assert np.log2(ratio) == pytest.approx(order, abs=0.15)


def test_time_varying_coefficient_is_second_order_with_crank_nicolson():
    s = (np.arange(24) + 0.5) / 24
    u = np.cos(2 * np.pi * s)

    def D(time):
        return 1.0 + 40 * time

    runs = [heat_crank_nicolson(u, 0.02, D, dx=1 / 24, steps=m) for m in (10, 20, 40)]
    ratio = np.abs(runs[0] - runs[1]).max() / np.abs(runs[1] - runs[2]).max()
    assert np.log2(ratio) == pytest.approx(2, abs=0.2)


def test_explicit_scheme_refuses_unstable_steps_and_picks_stable_ones(rng):
    u = rng.random(30)
    with pytest.raises(ValueError, match="steps must be at least 11 for a stable explicit scheme"):
        heat_explicit(u, 5.0, steps=4)
    out = heat_explicit(u, 5.0)  # default: stable
    assert np.all(np.isfinite(out)) and out.max() <= u.max() and out.min() >= u.min()


def test_inputs_are_not_modified_and_time_zero_is_the_identity(rng):
    u = rng.random((5, 6))
    copy = u.copy()
    for solver in (heat_explicit, heat_crank_nicolson):
        assert np.array_equal(solver(u, 0.0), u)
        solver(u, 1.0)
    np.testing.assert_array_equal(u, copy)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"t": -1.0}, r"t must be a real number >= 0 \(a finite diffusion time\); got -1.0$"),
        ({"steps": 0}, "steps must be None or a positive integer"),
        ({"boundary": "edge"}, "boundary must be one of 'wrap', 'symmetric', 'reflect', 'constant'"),
        ({"D": -1.0}, "D must be symmetric positive semidefinite"),
        ({"dx": 0.0}, "dx must be a positive number"),
    ],
)
def test_solvers_reject_bad_arguments(kwargs, match):
    args = {"t": 1.0, "steps": 10, **kwargs}
    for solver in (heat_explicit, heat_crank_nicolson):
        with pytest.raises(ValueError, match=match):
            solver(np.ones(6), **args)
