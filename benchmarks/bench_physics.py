"""Physics lenses: Monte Carlo convolution, exact diffusion, n-step kernels.

Goals (issue 4): one Monte Carlo sample per pixel on a 2048**2 image with a 9x9
kernel is faster than scipy.ndimage.convolve with the same kernel (ratio >= 1,
1 thread each), and its cost does not grow with the kernel: 33x33 within 1.5x
of 9x9 (ratio t_9x9 / t_33x33 >= 1 / 1.5).  The diffusion cases have no goal;
they show what one convolution buys over filtering and over time stepping.
"""

from __future__ import annotations

import numpy as np

from benchmarks._harness import Case, Compare


def _gauss(size: int) -> np.ndarray:
    d = np.arange(size) - (size - 1) / 2
    g = np.exp(-0.5 * (d / (size / 6)) ** 2)
    k = np.outer(g, g)
    return k / k.sum()


def _monte_carlo_case(quick: bool) -> Case:
    import scipy.ndimage as ndi

    from convlens import convolve
    from convlens.stochastic import monte_carlo_convolve

    n = 512 if quick else 2048
    x = np.random.default_rng(20261126).random((n, n))
    k9, k33 = _gauss(9), _gauss(33)
    edge9 = -np.ones((9, 9))
    edge9[4, 4] = 80.0  # a signed 9x9 detector: importance sampling with sign weights

    def check(out):
        exact = convolve(x, k9, "same")
        err = np.sqrt(np.mean((out["mc 9x9, 1 sample"] - exact) ** 2)) / np.sqrt(np.mean(exact**2))
        ref = np.abs(out["scipy.ndimage.convolve 9x9"] - exact).max()
        return (
            f"1-sample relative RMS error {err:.3f} (unbiased; falls as 1/sqrt(samples)); ndimage vs engine {ref:.1e}"
        )

    return Case(
        workload=f"Monte Carlo convolution, {n}² float64, 1 sample/pixel",
        ours={
            "mc 9x9, 1 sample": lambda: monte_carlo_convolve(x, k9, 1, rng=1),
            "mc 33x33, 1 sample": lambda: monte_carlo_convolve(x, k33, 1, rng=1),
            "mc signed 9x9, 1 sample": lambda: monte_carlo_convolve(x, edge9, 1, rng=1),
        },
        anchors={"scipy.ndimage.convolve 9x9": lambda: ndi.convolve(x, k9, mode="constant")},
        compare=[
            Compare("scipy.ndimage.convolve 9x9", "mc 9x9, 1 sample", 1.0),
            Compare("scipy.ndimage.convolve 9x9", "mc signed 9x9, 1 sample", 1.0),
            Compare("mc 9x9, 1 sample", "mc 33x33, 1 sample", 1 / 1.5, "constant time per pixel: t9/t33"),
        ],
        threads={
            "mc 9x9, 1 sample": 1,
            "mc 33x33, 1 sample": 1,
            "mc signed 9x9, 1 sample": 1,
            "scipy.ndimage.convolve 9x9": 1,
        },
        check=check,
    )


def _diffuse_case(quick: bool) -> Case:
    import scipy.fft
    import scipy.ndimage as ndi

    from convlens.diffusion import diffuse

    n = 512 if quick else 2048
    x = np.random.default_rng(20261127).random((n, n))
    t = 32.0  # sigma = sqrt(2 t) = 8 samples

    def fourier_gaussian():
        return scipy.fft.irfft2(ndi.fourier_gaussian(scipy.fft.rfft2(x), 8.0, n=n), s=x.shape)

    def check(out):
        ref = ndi.gaussian_filter(x, 8.0, mode="reflect", truncate=8.2)
        err = np.abs(out["diffuse symmetric (spatial)"] - ref).max()
        wrap = np.abs(out["diffuse wrap (spectral)"] - out["ndimage.fourier_gaussian + rfft2"]).max()
        return f"max |diffuse - gaussian_filter(truncate=8.2)| = {err:.1e}; wrap vs fourier_gaussian {wrap:.1e}"

    return Case(
        workload=f"diffuse t={t:g} (sigma 8), {n}² float64",
        ours={
            "diffuse symmetric (spatial)": lambda: diffuse(x, t, workers=1),
            "diffuse wrap (spectral)": lambda: diffuse(x, t, boundary="wrap", workers=1),
        },
        anchors={
            "scipy.ndimage.gaussian_filter": lambda: ndi.gaussian_filter(x, 8.0, mode="reflect", truncate=8.2),
            "ndimage.fourier_gaussian + rfft2": fourier_gaussian,
        },
        compare=[
            Compare("scipy.ndimage.gaussian_filter", "diffuse symmetric (spatial)"),
            Compare("ndimage.fourier_gaussian + rfft2", "diffuse wrap (spectral)"),
        ],
        threads={
            "diffuse symmetric (spatial)": 1,
            "diffuse wrap (spectral)": 1,
            "scipy.ndimage.gaussian_filter": 1,
            "ndimage.fourier_gaussian + rfft2": 1,
        },
        check=check,
    )


def _steps_case(quick: bool) -> Case:
    import scipy.ndimage as ndi

    from convlens.diffusion import diffuse_steps

    n, steps = (256, 20) if quick else (1024, 50)
    x = np.random.default_rng(20261128).random((n, n))
    blur = np.outer([1, 2, 1], [1, 2, 1]) / 16.0

    def passes():
        y = x
        for _ in range(steps):
            y = ndi.convolve(y, blur, mode="wrap")
        return y

    def check(out):
        err = np.abs(out["diffuse_steps"] - out[f"{steps} x scipy.ndimage.convolve"]).max()
        return f"max difference to {steps} passes: {err:.1e}"

    return Case(
        workload=f"diffuse_steps: {steps} steps of a 3x3 blur, {n}² float64, wrap",
        ours={"diffuse_steps": lambda: diffuse_steps(x, blur, steps, boundary="wrap", workers=1)},
        anchors={f"{steps} x scipy.ndimage.convolve": passes},
        compare=[Compare(f"{steps} x scipy.ndimage.convolve", "diffuse_steps")],
        threads={"diffuse_steps": 1, f"{steps} x scipy.ndimage.convolve": 1},
        check=check,
    )


def _time_stepping_case(quick: bool) -> Case:
    from convlens.diffusion import diffuse
    from convlens.reference import heat_crank_nicolson

    n = 64 if quick else 256
    x = np.random.default_rng(20261129).random((n, n))

    def check(out):
        err = np.abs(out["diffuse"] - out["Crank-Nicolson, 64 steps"]).max()
        return f"max difference (discretization error of the finite differences): {err:.1e}"

    return Case(
        workload=f"diffusion t=8 on {n}², one convolution vs finite-difference time stepping",
        ours={"diffuse": lambda: diffuse(x, 8.0, workers=1)},
        anchors={"Crank-Nicolson, 64 steps": lambda: heat_crank_nicolson(x, 8.0, steps=64, boundary="symmetric")},
        compare=[Compare("Crank-Nicolson, 64 steps", "diffuse")],
        threads={"diffuse": 1, "Crank-Nicolson, 64 steps": 1},
        check=check,
        repeats=3,
    )


def cases(quick: bool) -> list[Case]:
    return [_monte_carlo_case(quick), _diffuse_case(quick), _steps_case(quick), _time_stepping_case(quick)]
