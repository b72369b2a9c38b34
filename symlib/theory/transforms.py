"""Parameter transformations of a network, and how much they change its function (Lim et al. 2024, §4).

* :func:`permute_hidden` applies a random permutation drawn from the network's own permutation spec
  (:meth:`permutation_spec` of every :mod:`symlib.architectures` network) to its *parameters* only; the fixed
  buffers (W-Asym ``mask`` / ``fixed``, FiGLU's ``F``) stay where they are, as they define the architecture.
  It is an exact symmetry of a standard network and breaks for the asymmetric variants.
* :func:`rescale_hidden` scales the hidden units of a plain ReLU MLP (``MLP(norm=False, activation="relu")``)
  by positive factors, a symmetry of positively homogeneous activations only.
* :func:`compare` / :func:`function_change` measure ``max |f_θ(x) − f_{g(θ)}(x)|`` (and what it does to predictions).

Permutation convention (as in :mod:`symlib.permutation`): a permutation is an index array ``p`` and
``(P x)_i = x_{p[i]}``.
"""
from __future__ import annotations

import copy
import math
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from ..permutation import PermutationSpec, apply_permutation, random_permutation
from ..seeding import derive_seed, numpy_rng

__all__ = ["compare", "function_change", "permute_hidden", "rescale_hidden"]


@torch.no_grad()
def compare(model: nn.Module, other: nn.Module, x: torch.Tensor, y: torch.Tensor | None = None) -> dict[str, float]:
    """How differently ``other`` computes from ``model`` on ``x`` (both in eval mode, in ``model``'s dtype; their
    modes are restored): ``change`` = ``max |f(x) − g(x)|``, ``changed_predictions`` = share of inputs whose argmax
    differs, and with labels ``y`` the ``accuracy`` of ``other``."""
    modes = model.training, other.training
    model.eval()
    other.eval()
    x = x.to(next(model.parameters()).dtype)
    a, b = model(x), other(x)
    model.train(modes[0])
    other.train(modes[1])
    out = {"change": float((a - b).abs().max()),
           "changed_predictions": float((a.argmax(1) != b.argmax(1)).double().mean())}
    if y is not None:
        out["accuracy"] = float((b.argmax(1) == y).double().mean())
    return out


def function_change(model: nn.Module, transform: Callable[[nn.Module], nn.Module], x: torch.Tensor) -> float:
    """``max |f_θ(x) − f_{g(θ)}(x)|`` over a batch, with ``g = transform`` (returns a new model); the original is
    left unchanged. A parameter symmetry gives 0 up to floating-point rounding (~1e-15 in float64)."""
    return compare(model, transform(model), x)["change"]


def _linear_layers(model: nn.Module) -> Sequence[nn.Module]:
    if not hasattr(model, "layers"):
        raise TypeError(f"{type(model).__name__} has no `layers` ModuleList (expected a symlib MLP)")
    return model.layers


def _load_params(model: nn.Module, new: dict[str, torch.Tensor]) -> nn.Module:
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(new[name])
    return model


def permute_hidden(model: nn.Module, seed: int, nontrivial: bool = True) -> nn.Module:
    """A copy of ``model`` with every permutation of ``model.permutation_spec()`` drawn at random (seeded).

    Only *parameters* move; buffers such as a W-Asym ``mask``/``fixed`` or FiGLU's ``F`` stay, because they are
    part of the architecture. With ``nontrivial`` every permutation moves some unit.
    """
    spec = model.permutation_spec()
    state = {n: p.detach() for n, p in model.named_parameters()}
    spec = PermutationSpec({k: v for k, v in spec.axes.items() if k in state})
    for attempt in range(1000):
        perms = random_permutation(spec, state, derive_seed(seed, "permute_hidden", attempt))
        if not nontrivial or all(not torch.equal(p, torch.arange(len(p))) for p in perms.values()):
            break
    new = apply_permutation(spec, perms, state)
    return _load_params(copy.deepcopy(model), new)


def rescale_hidden(model: nn.Module, seed: int, low: float = 0.25, high: float = 4.0) -> nn.Module:
    """A copy with hidden unit ``j`` of layer ``i`` scaled by ``s_j > 0`` (log-uniform in ``[low, high]``).

    Incoming weights and bias are multiplied by ``s_j`` and outgoing weights
    divided by it: ``W_{i+1} diag(1/s) ρ(diag(s) (W_i x + b_i)) = W_{i+1} ρ(W_i x + b_i)``
    for positively homogeneous ``ρ`` (ReLU). Parameters only: a W-Asym layer's
    fixed entries are not (and cannot be) rescaled.
    """
    if not (0 < low <= high):
        raise ValueError(f"need 0 < low <= high, got {low}, {high}")
    new = copy.deepcopy(model)
    layers = _linear_layers(new)
    rng = numpy_rng(seed, "rescale_hidden")
    with torch.no_grad():
        for i in range(len(layers) - 1):
            n = layers[i].weight.shape[0]
            s = torch.from_numpy(np.exp(rng.uniform(math.log(low), math.log(high), n))).to(layers[i].weight.dtype)
            layers[i].weight.mul_(s[:, None])
            if layers[i].bias is not None:
                layers[i].bias.mul_(s)
            layers[i + 1].weight.div_(s[None, :])
    return new
