"""The four regression tasks of the Theory-Init chapter: known physical laws of one variable (our choice).

Each :class:`Task` is a dimensionless law ``y = f(x)`` on a training range ``[lo, hi]`` and an extrapolation range
``(hi, ext]``. Inputs reach the network as ``u = 2(x − lo)/(hi − lo) − 1`` (the training range is ``[−1, 1]``,
extrapolation ``u > 1``), targets as ``(y − m)/s`` with ``m, s`` the mean and standard deviation of the noise-free
law on a fine grid of the training range. Training targets carry Gaussian noise of standard deviation
``noise · s`` (``noise`` is relative to the law's spread); test targets are the noise-free law (the score is the fit
to the law): ``n_test`` points uniform in the training range ("interpolation") and ``n_test`` uniform in the
extrapolation range ("extrapolation"). Every draw is seeded.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from scipy.special import ellipk

from ...seeding import numpy_rng


def pendulum_period(theta0: np.ndarray) -> np.ndarray:
    """Period of a simple pendulum released at amplitude ``θ₀`` (rad), in units of the small-angle period
    ``2π√(L/g)``: ``T/T₀ = (2/π) K(sin²(θ₀/2))`` (``K``: complete elliptic integral of the first kind, parameter m)."""
    return 2.0 / np.pi * ellipk(np.sin(np.asarray(theta0) / 2.0) ** 2)


def planck(x: np.ndarray) -> np.ndarray:
    """Black-body spectral radiance against wavelength, ``x = λ k_B T / (h c)``:
    ``B ∝ x⁻⁵ / (e^{1/x} − 1)``, divided by its maximum (at Wien's ``x ≈ 0.2014``)."""
    x = np.asarray(x, dtype=float)
    peak = 0.20140523
    return (x ** -5 / np.expm1(1.0 / x)) / (peak ** -5 / np.expm1(1.0 / peak))


def lennard_jones(r: np.ndarray) -> np.ndarray:
    """Lennard-Jones pair potential ``V/ε = 4((σ/r)¹² − (σ/r)⁶)`` against ``r/σ`` (minimum −1 at ``2^{1/6}``)."""
    r = np.asarray(r, dtype=float)
    return 4.0 * (r ** -12 - r ** -6)


RESONANCE_DAMPING = 0.2


def resonance(omega: np.ndarray) -> np.ndarray:
    """Steady-state amplitude of a driven damped oscillator against drive frequency ``ω/ω₀``, in units of the static
    response: ``A = 1 / √((1 − ω²)² + (γω)²)`` with ``γ = 0.2`` (peak ≈ 1/γ = 5 near ``ω₀``)."""
    w = np.asarray(omega, dtype=float)
    return 1.0 / np.sqrt((1 - w ** 2) ** 2 + (RESONANCE_DAMPING * w) ** 2)


@dataclass(frozen=True)
class Task:
    """A law ``law(x)``, its variable in words, the training range ``[lo, hi]``, the extrapolation end ``ext`` and
    the relative training noise."""

    name: str
    law: Callable[[np.ndarray], np.ndarray]
    variable: str
    target: str
    lo: float
    hi: float
    ext: float
    noise: float

    def to_u(self, x: np.ndarray) -> np.ndarray:
        return 2.0 * (np.asarray(x) - self.lo) / (self.hi - self.lo) - 1.0

    def from_u(self, u: np.ndarray) -> np.ndarray:
        return self.lo + (np.asarray(u) + 1.0) * (self.hi - self.lo) / 2.0

    def scale(self) -> tuple[float, float]:
        """``(m, s)``: mean and standard deviation of the noise-free law on the training range."""
        y = self.law(np.linspace(self.lo, self.hi, 10001))
        return float(y.mean()), float(y.std())

    def law_u(self, u: np.ndarray) -> np.ndarray:
        """The standardised law as the network sees it: ``(f(x(u)) − m)/s``."""
        m, s = self.scale()
        return (self.law(self.from_u(u)) - m) / s

    def data(self, n_train: int, n_test: int, seed: int) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
        """``{"train", "interpolation", "extrapolation"}``: ``(u (N, 1), y (N, 1))`` float32 tensors."""
        rng = numpy_rng(seed, "theory_init task", self.name)
        u_ext = float(self.to_u(self.ext))
        parts = {"train": rng.uniform(-1, 1, n_train), "interpolation": rng.uniform(-1, 1, n_test),
                 "extrapolation": rng.uniform(1, u_ext, n_test)}
        out = {}
        for key, u in parts.items():
            y = self.law_u(u)
            if key == "train":
                y = y + self.noise * rng.normal(size=len(u))
            out[key] = (torch.tensor(u, dtype=torch.float32)[:, None], torch.tensor(y, dtype=torch.float32)[:, None])
        return out


TASKS = {
    "pendulum": Task("pendulum", pendulum_period, "amplitude θ₀ (rad)", "period T/T₀", 0.1, 2.6, 3.0, 0.01),
    "planck": Task("planck", planck, "wavelength λk_BT/(hc)", "spectral radiance B/B_max", 0.08, 1.0, 1.5, 0.01),
    "lennard_jones": Task("lennard_jones", lennard_jones, "separation r/σ", "potential V/ε", 0.95, 2.5, 3.0, 0.01),
    "resonance": Task("resonance", resonance, "drive frequency ω/ω₀", "amplitude A/A_static", 0.0, 2.0, 2.5, 0.01),
}
