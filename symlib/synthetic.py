"""Synthetic tasks whose inputs live on a random low-dimensional subspace (Bürgin et al. 2026, seed 002).

Both tasks draw intrinsic coordinates ``Z (n, k)`` and embed them in the ambient space with a fixed orthonormal
basis ``P (d, k)``: ``X = Z Pᵀ``, so the input support is the ``k``-dimensional column space of ``P``. The
authors' code builds its two synthetic datasets the same way (``P`` from the QR decomposition of a Gaussian
matrix; ``lmc/datasets.py`` in ``Vuenc/neuron-identifiability``); sizes, class separation and seeds here are ours.

* :func:`gaussian_subspace`: a Gaussian mixture. Class ``c`` has mean ``μ_c ~ N(0, separation² I_k)`` (fixed by
  the task's ``structure_seed``); ``z = μ_y + ε``, ``ε ~ N(0, I_k)``, ``y`` uniform over ``n_classes``.
* :func:`parity_subspace`: ``z ~ N(0, I_k)``; the label is the parity of the sign bits,
  ``y = #{m : z_m < 0} mod 2``.

Everything is drawn from explicit seeds (:func:`symlib.seeding.torch_generator`): the subspace and class means
from ``structure_seed`` (shared by the training and test splits), the samples from ``sample_seed``.
"""
from __future__ import annotations

from typing import NamedTuple

import torch

from .seeding import torch_generator

__all__ = ["SyntheticTask", "TASKS", "gaussian_subspace", "parity_subspace", "make_task", "subspace_basis"]

TASKS = ("gaussian_subspace", "parity_subspace")


class SyntheticTask(NamedTuple):
    """``X (n, d) float32`` (rows in the column space of ``P``), ``y (n,) int64``, ``Z (n, k)`` the intrinsic
    coordinates (``X = Z Pᵀ``), ``P (d, k)`` with orthonormal columns, and the number of classes."""

    X: torch.Tensor
    y: torch.Tensor
    Z: torch.Tensor
    P: torch.Tensor
    n_classes: int


def _check(n: int, d: int, k: int) -> None:
    if n < 1 or k < 1 or d < k:
        raise ValueError(f"need n >= 1 samples and 1 <= k <= d (intrinsic <= ambient), got n={n}, d={d}, k={k}")


def subspace_basis(d: int, k: int, structure_seed: int) -> torch.Tensor:
    """``P (d, k)``: orthonormal columns, the Q factor of a Gaussian ``(d, k)`` matrix drawn from ``structure_seed``."""
    g = torch_generator(structure_seed, "synthetic", "basis", d, k)
    q, r = torch.linalg.qr(torch.randn(d, k, generator=g, dtype=torch.float64))
    return (q * torch.sign(torch.diagonal(r))).to(torch.float32)  # sign-fixed: a unique Q for the draw


def gaussian_subspace(n: int, d: int, k: int, n_classes: int, separation: float, structure_seed: int,
                      sample_seed: int) -> SyntheticTask:
    """``n`` samples of the Gaussian-subspace classification task (see the module docstring)."""
    _check(n, d, k)
    if n_classes < 2 or separation <= 0:
        raise ValueError(f"need n_classes >= 2 and separation > 0, got {n_classes}, {separation}")
    P = subspace_basis(d, k, structure_seed)
    means = separation * torch.randn(n_classes, k, generator=torch_generator(structure_seed, "synthetic", "means",
                                                                              n_classes, k))
    g = torch_generator(sample_seed, "synthetic", "gaussian_subspace", n)
    y = torch.randint(n_classes, (n,), generator=g)
    Z = means[y] + torch.randn(n, k, generator=g)
    return SyntheticTask(Z @ P.T, y, Z, P, n_classes)


def parity_subspace(n: int, d: int, k: int, structure_seed: int, sample_seed: int) -> SyntheticTask:
    """``n`` samples of the parity-on-a-subspace task: ``y = #{m: z_m < 0} mod 2`` (see the module docstring)."""
    _check(n, d, k)
    P = subspace_basis(d, k, structure_seed)
    Z = torch.randn(n, k, generator=torch_generator(sample_seed, "synthetic", "parity_subspace", n))
    y = ((Z < 0).sum(dim=1) % 2).long()
    return SyntheticTask(Z @ P.T, y, Z, P, 2)


def make_task(name: str, n: int, d: int, k: int, *, n_classes: int, separation: float, structure_seed: int,
              sample_seed: int) -> SyntheticTask:
    """The task ``name`` (one of :data:`TASKS`); ``n_classes`` and ``separation`` are read by the Gaussian task."""
    if name == "gaussian_subspace":
        return gaussian_subspace(n, d, k, n_classes, separation, structure_seed, sample_seed)
    if name == "parity_subspace":
        return parity_subspace(n, d, k, structure_seed, sample_seed)
    raise ValueError(f"unknown synthetic task {name!r}; choose one of {', '.join(TASKS)}")
