"""Equivariances of a nonlinearity: pairs ``P2 σ(x) = σ(P1 x)`` (Lim et al. 2024, Proposition 2).

:func:`permutation_equivariances` searches all permutation pairs exhaustively, :func:`diagonal_equivariances`
samples invertible diagonal pairs, and :func:`figlu_equivariances` does both for FiGLU
``σ(x) = sigmoid(F x) ⊙ x``. The proof predicts: a generic ``F`` (distinct, non-zero entries) leaves only the
identity; an ``F`` with ``P F Pᵀ = F`` gives ``(P, P)``; an ``F`` with a zero column lets that coordinate be
rescaled. :func:`symmetrised_F`, :func:`circulant_F` and :func:`zero_column_F` build such degenerate ``F``.

Permutation convention: a permutation is an index array ``p`` and ``(P x)_i = x_{p[i]}``.
"""
from __future__ import annotations

import itertools
import math
from typing import Callable, Iterable, Sequence

import numpy as np
import torch

from ..seeding import numpy_rng

__all__ = ["figlu_numpy", "elementwise_numpy", "permutation_equivariances", "diagonal_equivariances",
           "figlu_equivariances", "symmetrised_F", "circulant_F", "zero_column_F"]


def figlu_numpy(F: np.ndarray | torch.Tensor) -> Callable[[np.ndarray], np.ndarray]:
    """FiGLU ``σ(x) = sigmoid(F x) ⊙ x`` on rows of ``X (n, d)`` in float64."""
    F = np.asarray(F.detach().cpu().numpy() if isinstance(F, torch.Tensor) else F, dtype=np.float64)

    def sigma(X: np.ndarray) -> np.ndarray:
        return X / (1.0 + np.exp(-(X @ F.T)))
    return sigma


def elementwise_numpy(name: str) -> Callable[[np.ndarray], np.ndarray]:
    """An elementwise nonlinearity by name: ``relu``, ``tanh``, ``gelu`` (tanh form) or ``sigmoid``."""
    funcs = {"relu": lambda X: np.maximum(X, 0.0), "tanh": np.tanh,
             "sigmoid": lambda X: 1.0 / (1.0 + np.exp(-X)),
             "gelu": lambda X: 0.5 * X * (1 + np.tanh(math.sqrt(2 / math.pi) * (X + 0.044715 * X ** 3)))}
    if name not in funcs:
        raise ValueError(f"unknown nonlinearity {name!r}; choose from {sorted(funcs)}")
    return funcs[name]


def _inputs(d: int, n_inputs: int, seed: int, scale: float = 2.0) -> np.ndarray:
    return numpy_rng(seed, "equivariance_inputs", d, n_inputs).normal(0.0, scale, (n_inputs, d))


def permutation_equivariances(sigma: Callable[[np.ndarray], np.ndarray], d: int, n_inputs: int = 64,
                              seed: int = 0, tol: float = 1e-9) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """All pairs ``(p1, p2)`` of permutations of ``range(d)`` with ``P2 σ(x) = σ(P1 x)`` on ``n_inputs`` random ``x``.

    Exhaustive over the ``(d!)²`` pairs (use ``d <= 5``); a pair passes if the
    largest deviation is below ``tol · (1 + max |σ(x)|)``.
    """
    if d > 6:
        raise ValueError(f"d={d}: (d!)^2 pairs is too many for an exhaustive search; use d <= 6")
    X = _inputs(d, n_inputs, seed)
    perms = [tuple(p) for p in itertools.permutations(range(d))]
    idx = np.array(perms)
    s_x = sigma(X)  # (n, d)
    lhs = np.stack([sigma(X[:, p]) for p in idx])  # σ(P1 x): (k, n, d)
    rhs = s_x[:, idx].transpose(1, 0, 2)  # P2 σ(x): (k, n, d)
    thr = tol * (1.0 + np.abs(s_x).max())
    found = []
    for a in range(len(perms)):
        dev = np.abs(lhs[a][None] - rhs).max(axis=(1, 2))  # over all p2 at once
        for b in np.flatnonzero(dev < thr):
            found.append((perms[a], perms[int(b)]))
    return found


def diagonal_equivariances(sigma: Callable[[np.ndarray], np.ndarray], d: int, n_inputs: int = 64, seed: int = 0,
                           n_random: int = 200, tol: float = 1e-9) -> dict:
    """Search diagonal pairs ``B σ(x) = σ(A x)``, ``A = diag(α)``, ``B = diag(β)`` invertible.

    Candidates ``α``: the identity, every sign pattern ``{±1}^d``, every single
    coordinate scaled by ``c`` in ``{-2, -1, -1/2, 1/2, 2, 3}``, and ``n_random``
    random ``α`` (random signs, log-uniform magnitudes in ``[1/4, 4]``; half of
    them all-positive). For each ``α`` the only possible ``β`` is the
    least-squares fit ``β_i = <σ(Ax)_i, σ(x)_i> / |σ(x)_i|²``; the pair passes if
    it reproduces ``σ(Ax)`` within ``tol · (1 + max |σ|)`` and ``β`` is invertible.
    Returns ``{"tested": n, "found": [(α, β), ...]}`` with lists of floats.
    """
    rng = numpy_rng(seed, "diagonal_candidates", d)
    cands = [np.ones(d)]
    cands += [np.array(s, dtype=float) for s in itertools.product((1.0, -1.0), repeat=d) if min(s) < 0]
    for i in range(d):
        for c in (-2.0, -1.0, -0.5, 0.5, 2.0, 3.0):
            a = np.ones(d)
            a[i] = c
            cands.append(a)
    for k in range(n_random):
        mag = np.exp(rng.uniform(math.log(0.25), math.log(4.0), d))
        sign = np.ones(d) if k % 2 == 0 else rng.choice((-1.0, 1.0), d)
        cands.append(sign * mag)
    uniq = {}
    for a in cands:
        uniq.setdefault(tuple(float(v) for v in a), a)
    cands = list(uniq.values())
    X = _inputs(d, n_inputs, seed)
    s_x = sigma(X)
    thr = tol * (1.0 + np.abs(s_x).max())
    denom = (s_x ** 2).sum(axis=0)
    found = []
    for alpha in cands:
        s_ax = sigma(X * alpha)
        beta = np.where(denom > 0, (s_ax * s_x).sum(axis=0) / np.where(denom > 0, denom, 1.0), 1.0)
        if np.all(np.abs(beta) > 1e-12) and np.abs(s_ax - s_x * beta).max() < thr:
            found.append(([float(v) for v in alpha], [float(v) for v in beta]))
    return {"tested": len(cands), "found": found}


def figlu_equivariances(F: np.ndarray | torch.Tensor, n_inputs: int = 64, seed: int = 0, n_random: int = 200,
                        tol: float = 1e-9) -> dict:
    """Permutation and diagonal equivariances of FiGLU with matrix ``F (d, d)`` (Lim et al., Proposition 2).

    Returns ``{"d", "permutation": [(p1, p2), ...], "n_perm_pairs_tested", "diagonal": {...}}``.
    The proof predicts: a generic ``F`` (distinct, non-zero entries) gives only
    the identity; ``F`` with ``P F Pᵀ = F`` gives ``(P, P)``; ``F`` with a zero
    column ``i`` lets coordinate ``i`` be rescaled (``A = B``).
    """
    F = np.asarray(F.detach().cpu().numpy() if isinstance(F, torch.Tensor) else F, dtype=np.float64)
    d = F.shape[0]
    if F.shape != (d, d):
        raise ValueError(f"F must be square, got {F.shape}")
    sigma = figlu_numpy(F)
    perm = permutation_equivariances(sigma, d, n_inputs, seed, tol)
    diag = diagonal_equivariances(sigma, d, n_inputs, seed, n_random, tol)
    return {"d": d, "permutation": perm, "n_perm_pairs_tested": math.factorial(d) ** 2, "diagonal": diag}


def symmetrised_F(F: np.ndarray, p: Iterable[int]) -> np.ndarray:
    """Average ``F`` over the cyclic group generated by permutation ``p``, so that ``P F Pᵀ = F`` (repeated entries)."""
    F = np.asarray(F, dtype=np.float64)
    p = np.asarray(list(p))
    out, q = np.zeros_like(F), np.arange(len(p))
    orbit = []
    while True:
        orbit.append(q)
        q = q[p]
        if np.array_equal(q, np.arange(len(p))):
            break
    for q in orbit:
        out += F[np.ix_(q, q)]
    return out / len(orbit)


def circulant_F(first_row: Sequence[float]) -> np.ndarray:
    """Circulant matrix ``F_ij = c_{(j - i) mod d}``: commutes with every cyclic shift."""
    c = np.asarray(first_row, dtype=np.float64)
    d = len(c)
    return np.array([[c[(j - i) % d] for j in range(d)] for i in range(d)])


def zero_column_F(F: np.ndarray, column: int) -> np.ndarray:
    """``F`` with column ``column`` set to 0: coordinate ``column`` no longer enters any gate."""
    F = np.array(F, dtype=np.float64)
    F[:, column] = 0.0
    return F
