"""The exact finite-history predictor of a stationary ARMA series, and its forecast moments.

The forecast from an infinite past is a pair of convolutions (the AR(∞)
kernel, then the ψ kernel).  A real series starts somewhere: the exact
predictor given the observed samples only is what a Kalman filter computes,
here in the state form of Harvey (state dimension ``r = max(p, q + 1)``),
started from the stationary distribution.  Once the filter's covariance has
converged (the state is known up to the newest shock, which happens
geometrically fast for an invertible MA part), the filter *is* the ARMA
recursion ``theta(B) v = phi(B) w``: the rest of the series is one
``lfilter`` call instead of a loop.

From the filtered state ``a`` (mean) and ``P`` (covariance) of the first
unobserved step, forecasts are again convolutions: ``w_hat = chi * a`` with
``chi`` the impulse response of ``1 / phi(B)``, and the ARIMA forecast errors
have variance ``c_h' P c_h + sigma2 * sum_{j < h - 1} psi_j^2`` with ``c_h``
the impulse response of ``1 / (phi(B) delta(B))`` read backwards.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg, signal

# The filter has converged when the state covariance is within this (relative)
# distance of sigma2 R R': every later gain then equals the steady one to round-off.
_STEADY_TOL = 1e-15


def _state_space(phi: np.ndarray, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Transition ``T`` (AR coefficients in the first column, shift above the diagonal) and ``R``."""
    p, q = phi.size - 1, theta.size - 1
    r = max(p, q + 1)
    T = np.zeros((r, r))
    T[:p, 0] = -phi[1:]
    T[:-1, 1:] = np.eye(r - 1)
    R = np.zeros(r)
    R[: q + 1] = theta
    return T, R


def filtered_state(w: np.ndarray, phi: np.ndarray, theta: np.ndarray, sigma2: float):
    """Mean and covariance of the state at step ``m + 1`` given ``w[0..m-1]`` (exact, stationary start)."""
    T, R = _state_space(phi, theta)
    r = R.size
    Q = sigma2 * np.outer(R, R)
    P = linalg.solve_discrete_lyapunov(T, Q)  # the stationary covariance of the state
    a = np.zeros(r)
    v = np.zeros(w.size)  # innovations
    scale = float(np.max(np.diagonal(Q)))
    for t in range(w.size):
        if t >= r and np.max(np.abs(np.diagonal(P) - np.diagonal(Q))) <= _STEADY_TOL * scale:
            return _steady_state(w, v, t, phi, theta, r), Q
        f = P[0, 0]
        k = P[:, 0] / f
        v[t] = w[t] - a[0]
        a = T @ (a + k * v[t])
        P = T @ (P - np.outer(k, P[0])) @ T.T + Q
    return a, P


def _steady_state(w: np.ndarray, v: np.ndarray, t0: int, phi: np.ndarray, theta: np.ndarray, r: int) -> np.ndarray:
    """Finish the converged filter as the ARMA recursion and read the state from the last r samples."""
    m = w.size
    phi_r = np.zeros(r + 1)
    phi_r[: phi.size] = phi
    th_r = np.zeros(r + 1)
    th_r[: theta.size] = theta
    # theta(B) v = phi(B) w, continuing from the innovations the filter has produced so far
    past_w, past_v = w[max(0, t0 - r) : t0][::-1], v[max(0, t0 - r) : t0][::-1]
    zi = signal.lfiltic(phi_r, th_r, past_v, past_w)
    v[t0:] = signal.lfilter(phi_r, th_r, w[t0:], zi=zi)[0]
    # a_i = sum_k AR_{i+1+k} w_{m-1-k} + sum_{k>=1} theta_{i+k} v_{m-k}  (AR_j = -phi_j)
    a = np.empty(r)
    for i in range(r):
        k = np.arange(r - i)
        a[i] = -phi_r[i + 1 + k] @ w[m - 1 - k]
        k1 = np.arange(1, r - i)
        a[i] += th_r[i + k1] @ v[m - k1]
    return a


def forecast_moments(u_tail: np.ndarray, a: np.ndarray, P: np.ndarray, spec, steps: int):
    """Forecast means of the (de-trended) series and their variances, from the filtered state."""
    r = a.size
    impulse = np.zeros(steps)
    impulse[0] = 1.0
    chi = signal.lfilter([1.0], spec.phi, impulse)  # 1 / phi(B)
    w_hat = np.convolve(chi, a)[:steps]  # row h of T^h's first row is chi[h - j], j < r
    k = spec.delta.size - 1
    if k:
        # integrate: u_t = w_t - sum_i delta_i u_{t-i}, continuing from the last k observed values
        zi = signal.lfiltic([1.0], spec.delta, u_tail[::-1])
        u_hat = signal.lfilter([1.0], spec.delta, w_hat, zi=zi)[0]
    else:
        u_hat = w_hat
    ar_full = np.convolve(spec.phi, spec.delta)
    chi_full = signal.lfilter([1.0], ar_full, impulse)  # 1 / (phi(B) delta(B))
    lag = np.arange(steps)[:, None] - np.arange(r)[None, :]
    C = np.where(lag >= 0, chi_full[np.maximum(lag, 0)], 0.0)  # (steps, r)
    state_var = np.einsum("hi,ij,hj->h", C, P, C)
    psi = signal.lfilter(spec.theta, ar_full, impulse)  # the ARIMA model's psi weights
    shock_var = spec.sigma2 * np.concatenate(([0.0], np.cumsum(psi[:-1] ** 2)))
    return u_hat, np.maximum(state_var + shock_var, 0.0), psi
