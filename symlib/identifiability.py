"""Neuron identifiability and effective function classes (Bürgin et al. 2026, seed 002): our formalisation.

**Identifiability across runs.** For two networks ``a``, ``b`` of one architecture (the same fixed asymmetric
tensors) and a hidden layer with ``C`` units, ``S (C, C)`` is the Pearson correlation over samples of the
post-activations, ``S[i, j] = corr(a_i, b_j)`` (:func:`symlib.matching.activation_matching`). The mean matched
correlation under a permutation ``π`` is ``ρ(π) = (1/C) Σ_i S[i, π(i)]``; we report (:func:`correlation_summary`)

* ``identity = ρ(id)``, the units as they are — what merging *without* alignment averages;
* ``optimal = max_π ρ(π)``, the activation-matching optimum (Hungarian algorithm);
* ``random``: the mean of ``ρ(π)`` over ``n_random`` uniformly random permutations drawn from an explicit seed
  (the authors' code draws 100; its expectation is the mean of all entries of ``S``).

A layer is *identifiable* when ``identity`` is within a margin of ``optimal``.

**Effective function classes** (papers.md §5, from the authors' ``measure_realization_cost.py``). A slot ``i``
of a W-Asym linear layer computes ``w_i = d_i ⊙ t_i + F_i`` with a trainable ``t_i``, the 0/1 mask row ``d_i``
and the fixed row ``F_i`` (zero where ``d_i = 1``). On the layer's input support, summarised by a PCA basis
``U (d, k)`` of the layer's inputs (the fewest leading principal directions explaining ``variance`` of their
variance, 90 %), a row acts through its coefficients ``U^T w``. The cheapest (minimum squared norm ``‖t‖²``) way
for slot ``i`` to realise neuron ``j``'s coefficients ``a_j = U^T w_j`` is

    c_ij = (a_j − v_i)^T S_i^+ (a_j − v_i),   v_i = U^T F_i,   M_i = U^T diag(d_i),   S_i = M_i M_i^T (k, k),

(:func:`realisation_costs`), and the cost of swapping neurons ``i`` and ``j`` between their slots is
``C_ij = c_ij + c_ji − c_ii − c_jj`` (:func:`swap_costs`; symmetric, zero on the diagonal). A dense layer
(``d_i = 1``, ``F_i = 0``) has ``C = 0``: every swap is free, which is the permutation symmetry. Biases, the
LayerNorm after the linear map and FiGLU's gate are not part of the cost (so σ-Asym layers have ``C = 0`` too).

**What it predicts.** A unit whose smallest off-diagonal swap cost ``min_{j≠i} C_ij`` is near zero can trade
places at no cost, so it is the kind of unit an alignment moves (``π(i) ≠ i`` under the optimal activation
matching). :class:`IdentifiabilityProbe` (an :class:`~symlib.connectivity.Aligner`) records, per hidden layer,
the three correlations, which units the matching moved, and Spearman's rank correlation between each unit's
smallest off-diagonal swap cost and whether it moved (expected negative).

**Aligning an asymmetric network.** Permuting the hidden units of a W-Asym or σ-Asym network must move its fixed
tensors with them (the mask and ``F`` rows, FiGLU's ``F`` rows *and* columns), which leaves the architecture: the
permuted network has other fixed tensors. So aligned paths are measured on the network's *permutable twin*
(:func:`permutable_twin`): the same function written with its fixed tensors as data — a W-Asym network as the
standard network whose weights are the applied ``M ⊙ W + (1 − M) ⊙ F``, a σ-Asym network with FiGLU's ``F`` an
ordinary (interpolated, permuted) tensor. The twin computes exactly the network's function; plain interpolation
of two twins equals plain interpolation of the networks (the fixed entries are equal at both ends), and a
permuted twin computes the same function as the unpermuted one.
"""
from __future__ import annotations

import copy
import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from .architectures import build_model
from .layers import FiGLU, WAsymConv2d, WAsymLinear
from .matching import Matching, activation_matching
from .permutation import apply_permutation
from .seeding import numpy_rng
from .stats import spearman

__all__ = ["IdentifiabilityProbe", "permutable_twin", "correlation_summary", "layer_inputs", "pca_basis", "realisation_costs",
           "relative_accuracy_drop", "slot_tensors", "swap_costs", "smallest_swap_cost"]


def correlation_summary(S: np.ndarray, perm: Sequence[int], n_random: int, seed: int) -> dict[str, float]:
    """``{"identity", "optimal", "random", "random_sd"}`` mean matched correlations of ``S (C, C)``: under the
    identity, under ``perm`` (the optimum), and mean / std over ``n_random`` random permutations drawn from
    ``numpy_rng(seed, "random_permutations")``."""
    S = np.asarray(S, dtype=np.float64)
    C = S.shape[0]
    if S.shape != (C, C) or len(perm) != C:
        raise ValueError(f"need a square S and a permutation of its size, got {S.shape} and {len(perm)}")
    if n_random < 1:
        raise ValueError(f"n_random must be >= 1, got {n_random}")
    rng = numpy_rng(seed, "random_permutations")
    rows = np.arange(C)
    rand = np.array([S[rows, rng.permutation(C)].mean() for _ in range(n_random)])
    return {"identity": float(np.trace(S) / C), "optimal": float(S[rows, np.asarray(perm)].mean()),
            "random": float(rand.mean()), "random_sd": float(rand.std(ddof=1)) if n_random > 1 else 0.0}


def relative_accuracy_drop(acc: Sequence[float]) -> float:
    """The authors' barrier on accuracy, in percent: ``(min_α acc(α) − max(acc(0), acc(1))) / max(acc(0), acc(1))
    · 100`` (≤ 0; 0 when no point of the path is worse than the better endpoint)."""
    acc = np.asarray(acc, dtype=np.float64)
    best_end = max(acc[0], acc[-1])
    return float((acc.min() - best_end) / best_end * 100)


def pca_basis(X: torch.Tensor | np.ndarray, variance: float = 0.9) -> np.ndarray:
    """``U (d, k)``: the leading principal directions of the rows of ``X (n, d)`` (centred), the fewest whose
    eigenvalues sum to at least ``variance`` of the total; orthonormal columns."""
    if not 0 < variance <= 1:
        raise ValueError(f"variance must lie in (0, 1], got {variance}")
    X = np.asarray(X, dtype=np.float64)
    X = X - X.mean(axis=0)
    _, s, vt = np.linalg.svd(X, full_matrices=False)
    ev = s ** 2
    if ev.sum() == 0:
        raise ValueError("the inputs have no variance")
    k = int(np.searchsorted(np.cumsum(ev) / ev.sum(), variance - 1e-12) + 1)
    return vt[:k].T


def slot_tensors(layer: nn.Module) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(W, mask, F)`` of a linear layer, each ``(n, d)`` float64 / bool: the weight it applies (for W-Asym
    ``M ⊙ W + (1 − M) ⊙ F``), its trainable mask (all true for a dense layer) and its fixed values (0 elsewhere)."""
    w = getattr(layer, "effective_weight", layer.weight).detach().to("cpu", torch.float64).numpy()
    mask = getattr(layer, "mask", None)
    fixed = getattr(layer, "fixed", None)
    mask = np.ones(w.shape, bool) if mask is None else mask.detach().cpu().numpy().astype(bool)
    fixed = np.zeros(w.shape) if fixed is None else fixed.detach().to("cpu", torch.float64).numpy()
    return w, mask, fixed


def realisation_costs(W: np.ndarray, mask: np.ndarray, F: np.ndarray, U: np.ndarray) -> np.ndarray:
    """``c (n, n)``, ``c[i, j]`` = the cost of slot ``i`` realising neuron ``j`` (module docstring):
    ``(a_j − v_i)^T S_i^+ (a_j − v_i)`` with ``a_j = U^T W[j]``, ``v_i = U^T F[i]``, ``S_i = U^T diag(mask[i]) U``.

    ``W, mask, F``: ``(n, d)``; ``U``: ``(d, k)``. ``S_i^+`` is the Moore-Penrose pseudo-inverse (a cost outside
    ``S_i``'s range is not charged; with ``k ≤ d − n_fix`` and a generic basis ``S_i`` is invertible)."""
    W, F, U = (np.asarray(t, dtype=np.float64) for t in (W, F, U))
    mask = np.asarray(mask, dtype=np.float64)
    if not (W.shape == mask.shape == F.shape) or U.shape[0] != W.shape[1]:
        raise ValueError(f"shapes disagree: W {W.shape}, mask {mask.shape}, F {F.shape}, U {U.shape}")
    A = torch.from_numpy(W @ U)  # (n, k): a_j
    V = torch.from_numpy(F @ U)  # (n, k): v_i
    G = U.T @ U
    # S_i = U^T diag(d_i) U = U^T U − Σ_{fixed m} u_m u_m^T (the fixed entries of a row are few)
    S = torch.from_numpy(np.stack([G - U[~m].T @ U[~m] for m in mask.astype(bool)]))  # (n, k, k)
    S_pinv = torch.linalg.pinv(S, hermitian=True)
    D = A[None, :, :] - V[:, None, :]  # (i, j, k): a_j − v_i
    return (torch.bmm(D, S_pinv) * D).sum(-1).numpy()


def swap_costs(c: np.ndarray) -> np.ndarray:
    """``C (n, n)``: ``C_ij = c_ij + c_ji − c_ii − c_jj`` (symmetric, zero diagonal)."""
    c = np.asarray(c, dtype=np.float64)
    d = np.diag(c)
    C = c + c.T - d[:, None] - d[None, :]
    np.fill_diagonal(C, 0.0)
    return C


def smallest_swap_cost(C: np.ndarray) -> np.ndarray:
    """``(n,)``: ``min_{j ≠ i} C_ij`` for each unit ``i``."""
    C = np.array(C, dtype=np.float64)
    np.fill_diagonal(C, np.inf)
    return C.min(axis=1)


def layer_inputs(model: nn.Module, names: Sequence[str], X: torch.Tensor, batch_size: int = 1000
                 ) -> dict[str, np.ndarray]:
    """The inputs ``(N, d)`` that the submodules ``names`` receive when ``model`` runs on ``X`` (eval mode,
    no gradients), flattened to 2-D, float64."""
    got: dict[str, list[torch.Tensor]] = {n: [] for n in names}
    handles = [model.get_submodule(n).register_forward_hook(
        lambda mod, inp, out, n=n: got[n].append(inp[0].detach().reshape(len(inp[0]), -1).to(torch.float64)))
        for n in names]
    mode = model.training
    try:
        model.eval()
        with torch.no_grad():
            for i in range(0, len(X), batch_size):
                model(X[i:i + batch_size])
    finally:
        for h in handles:
            h.remove()
        model.train(mode)
    return {n: torch.cat(v).numpy() for n, v in got.items()}


@dataclass(frozen=True)
class IdentifiabilityProbe:
    """Activation matching (Pearson correlation of post-activations, :func:`~symlib.matching.activation_matching`)
    as an :class:`~symlib.connectivity.Aligner` that also measures identifiability; ``b`` is returned aligned.

    ``info["layers"]``: per permutation ``p`` (sorted), ``{"perm", "units", "identity", "optimal", "random",
    "random_sd", "moved_fraction"}`` and, where ``slots`` names ``p``'s linear layer and that layer has fixed
    entries (a W-Asym mask), the swap-cost analysis on network ``a``: ``"pca_dims"`` (``k``), ``"min_swap_cost"``
    (per unit, ``min_{j≠i} C_ij``), ``"moved"`` (per unit, ``π(i) ≠ i``), ``"spearman"`` (rank correlation of the
    two; ``None`` when either is constant), ``"median_swap_cost"`` (of all off-diagonal ``C_ij``) and
    ``"swap_block"`` (``C``'s leading ``block × block`` corner, for a figure). ``slots``: ``((p, module name), ...)``.
    """

    slots: tuple[tuple[str, str], ...] = ()
    n_random: int = 100
    variance: float = 0.9
    batch_size: int = 1000
    block: int = 32

    def measure(self, model, state_a, state_b, *, seed, data) -> tuple[Matching, dict]:
        """The optimal activation matching of ``b`` onto ``a`` and ``{"layers": ...}`` (see the class docstring);
        ``model`` is a template of the pair's architecture (weights unused), ``data`` the inputs ``X`` or ``(X, y)``."""
        if data is None:
            raise ValueError("IdentifiabilityProbe needs align_data (the inputs whose activations are correlated)")
        X = data[0] if isinstance(data, tuple) else data
        model_a, model_b = copy.deepcopy(model), copy.deepcopy(model)
        model_a.load_state_dict(state_a)
        model_b.load_state_dict(state_b)
        match = activation_matching(model_a, model_b, model.activation_sites(), X, similarity="correlation",
                                    batch_size=self.batch_size)
        slots = dict(self.slots)
        inputs = layer_inputs(model_a, [slots[p] for p in sorted(match.perms) if p in slots], X, self.batch_size)
        layers = {}
        for p in sorted(match.perms):
            perm = match.perms[p].numpy()
            moved = perm != np.arange(len(perm))
            out: dict[str, Any] = {"perm": p, "units": int(len(perm)), "moved_fraction": float(moved.mean()),
                                   **correlation_summary(match.similarity[p].numpy(), perm, self.n_random, seed)}
            if p in slots:
                layer = model_a.get_submodule(slots[p])
                W, mask, F = slot_tensors(layer)
                if not mask.all():
                    U = pca_basis(inputs[slots[p]], self.variance)
                    C = swap_costs(realisation_costs(W, mask, F, U))
                    low = smallest_swap_cost(C)
                    rho, _ = spearman(low, moved.astype(float))
                    off = C[~np.eye(len(C), dtype=bool)]
                    out.update({"pca_dims": int(U.shape[1]), "min_swap_cost": low.tolist(),
                                "moved": moved.astype(int).tolist(),
                                "spearman": None if not math.isfinite(rho) else rho,
                                "median_swap_cost": float(np.median(off)),
                                "swap_block": C[:self.block, :self.block].tolist()})
            layers[p] = out
        return match, {"layers": layers}

    def align(self, model, state_a, state_b, *, seed, data):
        """The :class:`~symlib.connectivity.Aligner` interface: ``b`` permuted by :meth:`measure`'s matching (on an
        asymmetric network this changes its function, since its fixed tensors stay: use :func:`permutable_twin`)."""
        match, info = self.measure(model, state_a, state_b, seed=seed, data=data)
        return apply_permutation(model.permutation_spec(), match.perms, state_b), info


# ------------------------------------------------------------------------------------------------ permutable twin

def permutable_twin(model: nn.Module, state: Mapping[str, torch.Tensor]) -> tuple[nn.Module, dict[str, torch.Tensor]]:
    """``(twin, twin_state)``: a network computing exactly ``model``'s function with weights ``state`` whose fixed
    tensors are data, so that permuting it by ``twin.permutation_spec()`` preserves its function and two twins
    interpolate as the networks do.

    * W-Asym: the *standard* network of the same configuration (dense layers), every masked weight replaced by the
      weight it applies, ``M ⊙ W + (1 − M) ⊙ F`` (the mask and ``F`` buffers dropped);
    * σ-Asym: the network itself with every FiGLU's ``F`` made data (:meth:`symlib.layers.FiGLU.as_data`), which
      its permutation spec permutes on both axes (:func:`symlib.permutation.gate_axes`);
    * standard: the network itself.

    Works for every architecture whose standard variant differs from W-Asym only in its masked layers (the MLP and
    the ResNet20); ``model`` is a template (its own weights are unused)."""
    variant = model.cfg.variant
    if variant == "w_asym":
        twin = build_model(dataclasses.replace(model.cfg, variant="standard"))
        masked = {name for name, m in model.named_modules() if isinstance(m, (WAsymLinear, WAsymConv2d))}
        out = {}
        for key, value in state.items():
            module, _, leaf = key.rpartition(".")
            if module in masked and leaf in ("mask", "fixed"):
                continue
            if module in masked and leaf == "weight":
                value = torch.where(state[f"{module}.mask"], value, state[f"{module}.fixed"])
            out[key] = value.clone()
        missing = set(twin.state_dict()) ^ set(out)
        if missing:
            raise ValueError(f"{type(model).__name__}: the standard variant's tensors differ from the W-Asym network's "
                             f"beyond its masks ({sorted(missing)[:4]}); no permutable twin for this architecture")
        return twin, out
    twin = copy.deepcopy(model)
    for m in twin.modules():
        if isinstance(m, FiGLU):
            m.as_data()
    return twin, {k: v.clone() for k, v in state.items()}
