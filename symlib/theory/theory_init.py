"""Why Theory-Init's middle block keeps unit indices: the statements the book formalises, and their numbers.

Only the abstract of the Theory-Init paper exists; it names "a moment identity, a worst-case L² bound, and a
high-probability near-isometry of the middle-block Jacobian" without stating them. The statements below are **our
formalisation** (proofs in the chapter), for the middle block of a ReLU network

    h_l = ReLU((I + Δ_l) h_{l−1}),   l = 1..L,   h_0 ≥ 0 (a post-ReLU activation),   Δ_l ∈ R^{n×n},

with zero biases, as Theory-Init starts it. ``s_l = ‖Δ_l‖₂`` (spectral norm).

* **Identity at Δ = 0.** ``h_L = h_0`` exactly, because ``ReLU(h) = h`` for ``h ≥ 0``.
* **Worst-case L² bound** (deterministic, any ``Δ_l``): ``‖h_L − h_0‖ ≤ (Π_l (1 + s_l) − 1) ‖h_0‖``; for one layer
  the sharper ``‖h_1 − h_0‖ ≤ ‖Δ_1 h_0‖``, with equality whenever ``(I + Δ_1) h_0 ≥ 0`` (no unit clipped). The
  multi-layer bound is attained by ``Δ_l = s v vᵀ`` with ``v ≥ 0`` a unit vector and ``h_0 = v``
  (:func:`tight_example`): then ``h_L = (1 + s)^L v``.
* **Moment identity** (``Δ`` with i.i.d. ``N(0, σ²)`` entries, independent of ``h``): unit ``i``'s pre-activation
  is ``h_i + τ g_i`` with ``g_i ~ N(0, 1)``, ``τ = σ‖h‖``, so ``E[(I + Δ)h] = h``, ``E‖(I + Δ)h − h‖² = nσ²‖h‖²``,
  and after the ReLU, exactly (:func:`relu_moments`),
  ``E[h'_i] = h_i Φ(h_i/τ) + τ φ(h_i/τ)``,
  ``E[(h'_i − h_i)²] = (h_i² + τ²)Φ(h_i/τ) + h_i τ φ(h_i/τ) − 2h_i E[h'_i] + h_i²``;
  hence ``E‖h' − h‖² ≤ nσ²‖h‖²`` (each unit's term is at most ``τ²``), with equality in the limit
  ``min_i h_i / τ → ∞``.
* **Near-isometry of the Jacobian** ``J = Π_l D_l (I + Δ_l)`` (``D_l`` = diag of active units): always
  ``σ_max(J) ≤ Π_l (1 + s_l)``; at an input where no unit is clipped (``D_l = I``),
  ``σ_min(J) ≥ Π_l (1 − s_l)``; and for Gaussian ``Δ_l`` (Davidson & Szarek 2001)
  ``P(s_l ≤ σ(2√n + t)) ≥ 1 − e^{−t²/2}``, so with ``σ = c/√n`` the singular values lie in
  ``[(1 − 2c − t/√n)^L, (1 + 2c + t/√n)^L]`` with probability at least ``1 − L e^{−t²/2}``.

All arrays are float64 NumPy; ``h (B, n)`` holds ``B`` inputs as rows.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import norm


def middle_block(h: np.ndarray, deltas: list[np.ndarray]) -> tuple[np.ndarray, list[np.ndarray]]:
    """``h_L (B, n)`` and the active masks ``D_l (B, n)`` (bool, pre-activation > 0) of the block on ``h (B, n)``."""
    masks = []
    for d in deltas:
        z = h + h @ d.T
        masks.append(z > 0)
        h = np.maximum(z, 0.0)
    return h, masks


def jacobian(h: np.ndarray, deltas: list[np.ndarray]) -> np.ndarray:
    """``J (B, n, n) = Π_l D_l (I + Δ_l)`` at each input row of ``h (B, n)`` (``∂h_L / ∂h_0``)."""
    n = h.shape[1]
    _, masks = middle_block(h, deltas)
    J = np.broadcast_to(np.eye(n), (len(h), n, n)).copy()
    for d, m in zip(deltas, masks):
        J = m[:, :, None] * ((np.eye(n) + d) @ J)
    return J


def spectral_norms(deltas: list[np.ndarray]) -> np.ndarray:
    """``s_l = ‖Δ_l‖₂`` for each layer."""
    return np.array([np.linalg.norm(d, 2) for d in deltas])


def l2_bound(deltas: list[np.ndarray]) -> float:
    """The worst-case factor ``Π_l (1 + s_l) − 1`` of ``‖h_L − h_0‖ ≤ factor · ‖h_0‖``."""
    return float(np.prod(1.0 + spectral_norms(deltas)) - 1.0)


def tight_example(n: int, depth: int, s: float, seed: int = 0) -> tuple[np.ndarray, list[np.ndarray]]:
    """``(h_0 (1, n), deltas)`` attaining the L² bound: ``Δ_l = s v vᵀ`` with ``v`` a positive unit vector
    (seeded) and ``h_0 = v``, so ``h_L = (1 + s)^L v`` and ``‖h_L − h_0‖ = ((1 + s)^L − 1)‖h_0‖``."""
    v = np.abs(np.random.default_rng(seed).normal(size=n)) + 0.1
    v /= np.linalg.norm(v)
    return v[None, :], [s * np.outer(v, v) for _ in range(depth)]


def relu_moments(h: np.ndarray, tau: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Exact ``(E[ReLU(h + τg)], E[(ReLU(h + τg) − h)²])`` for ``g ~ N(0, 1)``, elementwise (``τ > 0``)."""
    h = np.asarray(h, dtype=float)
    tau = np.broadcast_to(np.asarray(tau, dtype=float), h.shape)
    r = h / tau
    mean = h * norm.cdf(r) + tau * norm.pdf(r)
    second = (h ** 2 + tau ** 2) * norm.cdf(r) + h * tau * norm.pdf(r)
    return mean, second - 2 * h * mean + h ** 2


def gaussian_deltas(n: int, depth: int, sigma: float, rng: np.random.Generator) -> list[np.ndarray]:
    """``depth`` matrices ``(n, n)`` with i.i.d. ``N(0, sigma²)`` entries."""
    return [rng.normal(0.0, sigma, size=(n, n)) for _ in range(depth)]


def spectral_tail_bound(n: int, sigma: float, t: float) -> float:
    """Davidson–Szarek: ``σ(2√n + t)``, exceeded by ``‖Δ‖₂`` with probability at most ``e^{−t²/2}``."""
    return float(sigma * (2 * np.sqrt(n) + t))
