"""The GNN of Lim et al. (2024), Table 1 row 4 (ogbn-arXiv), in the layout of the authors' code.

Layer ``i`` (``i = 0 … depth − 1``) is

    ``x ← act_i(norm_i(lin_i(mean_{j ∈ N(v)} x_j + x_v)))``

— parameter-free mean aggregation over the neighbours with the node's own features added (PyG's
``SimpleConv(aggr="mean", combine_root="sum")``), then one linear map, a norm and the activation — and a linear
head ``width → out_features`` reads the last layer. ``forward(x (N, in_features), edge_index (2, E)) -> logits
(N, out_features)``; messages flow ``edge_index[0] → edge_index[1]`` (pass an undirected graph, as the authors do:
they apply ``ToUndirected`` to ogbn-arXiv; Planetoid's Cora already is). A node without neighbours aggregates 0.
The dropout (0 by default) sits between layers, not after the last.

Settings and their sources (``gnn/main_arxiv.py`` and ``gnn/asym_nets.py`` in github.com/cptq/asymmetric-networks
[code]; Appendix E.1.2 of the paper [paper]):

* mean aggregation [paper: "similar to GIN with mean aggregation"; code: ``SimpleConv(aggr='mean',
  combine_root='sum')``, i.e. GIN's ``(1 + ε)·x_v + aggregate`` with ``ε = 0`` and the mean in place of the sum];
* ``depth = 3`` message-passing layers and ``width = 256`` [paper and code];
* one ``Linear`` per layer followed by ``BatchNorm1d`` and GELU [code only; the paper names neither the norm nor
  the activation; the code keeps a LayerNorm line commented out: ``norm="layer"`` builds it];
* a linear head after the last layer [code only; the paper says "three message passing layers" without it, but
  its count of **176,424** parameters on ogbn-arXiv (128 features, 40 classes) is exactly this layout with the head];
* dropout 0 between layers [code default; paper silent];
* PyTorch's default ``Linear`` init (also on the W-Asym layers) and ``BatchNorm1d`` defaults [code];
* σ-Asym: FiGLU ``sigmoid(F x) ⊙ x`` with ``F ~ N(0, (0.01/√width)²)`` [paper and code, which computes
  ``sigmoid(x C)``: ``F = Cᵀ``, the same distribution]; ``figlu_std`` is that *absolute* std (default
  ``0.01/√width``);
* W-Asym: every linear map, the first layer and the head included, fixes ``n_fix = 6`` entries per row to
  ``N(0, κ²)`` with ``κ = 0.5`` [paper and code];
* **paper vs code**: the code's "W-Asym GNN" (``asym_w_gnn``) *also* replaces GELU by the σ-Asym FiGLU (same
  ``F`` scale); the paper describes W-Asym as the fixed entries alone. ``w_asym_figlu=False`` (default) builds
  the paper's W-Asym network, ``True`` the code's;
* the code seeds masks and ``F`` with Python's salted built-in ``hash`` (and every layer of one shape shares its mask
  and ``F``); here they derive from ``(arch_seed, layer name)`` (:mod:`symlib.variants`) and differ per layer;
* the code returns ``log_softmax``; here the logits (the same cross-entropy).

vmap: the aggregation is PyG's ``SimpleConv`` on ``edge_index`` (a scatter-mean), which works under
``torch.func.vmap`` with stacked members' parameters and a shared graph (``tests/test_architectures.py`` checks one
vmapped forward and its gradients against plain ones). Dropout > 0 draws random numbers: under ``vmap`` that needs
``randomness="different"``, which :mod:`symlib.stacking` does not set; the paper's dropout is 0.

Symmetries: hidden layer ``i`` carries permutation ``"P{i}"``: the rows of ``lins.i.weight`` / ``lins.i.bias``,
the norm ``norms.i`` (BatchNorm's running statistics too) and the columns of ``lins.{i+1}.weight`` (of
``head.weight`` for the last layer); aggregation is linear and acts per feature, so it commutes with them.
Activation matching reads ``P{i}`` at ``lins.i``: the pre-norm linear outputs ``(N, width)``, where the authors'
Git Re-Basin baseline matches (``perm_gnn`` hooks ``convs[i].mlp[0]``).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import torch
from torch import nn

from ..permutation import PermutationSpec, linear_axes, norm_axes
from ..variants import LayerFactory, check_variant
from .registry import register

NORMS = ("batch", "layer", "none")


@dataclass(frozen=True)
class GNNConfig:
    """Architecture of a :class:`GNN`; defaults are the paper's ogbn-arXiv network (176,424 parameters).

    ``n_fix`` (fixed entries per row of every linear map, the head included) and ``kappa`` are used by the W-Asym
    variant only (other variants store ``n_fix = 0``, ``κ = 1``). ``figlu_std`` is the absolute std of FiGLU's
    ``F`` (``None``: ``0.01/√width``, the authors'); it is used by σ-Asym and by W-Asym with ``w_asym_figlu``
    (the authors' code's W-Asym GNN), and stored as ``0.0`` where no FiGLU is built. ``norm``: ``"batch"``
    (``BatchNorm1d``, the authors'), ``"layer"`` or ``"none"``.
    """

    in_features: int = 128
    width: int = 256
    depth: int = 3
    out_features: int = 40
    variant: str = "standard"
    n_fix: int = 6
    kappa: float = 0.5
    figlu_std: float | None = None
    w_asym_figlu: bool = False
    activation: str = "gelu"
    norm: str = "batch"
    dropout: float = 0.0
    arch_seed: int = 0

    def __post_init__(self) -> None:
        check_variant(self.variant)
        if self.depth < 1 or self.width < 1:
            raise ValueError(f"depth and width must be >= 1, got {self.depth}, {self.width}")
        if self.norm not in NORMS:
            raise ValueError(f"unknown norm {self.norm!r}; choose one of {', '.join(NORMS)}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout}")
        if self.variant != "w_asym":  # no fixed entries: one config per network (the member store keys by it)
            object.__setattr__(self, "n_fix", 0)
            object.__setattr__(self, "kappa", 1.0)
            object.__setattr__(self, "w_asym_figlu", False)
        object.__setattr__(self, "n_fix", int(self.n_fix))
        object.__setattr__(self, "kappa", float(self.kappa))
        object.__setattr__(self, "w_asym_figlu", bool(self.w_asym_figlu))
        if self.n_fix < 0 or self.n_fix >= min(self.in_features, self.width):
            raise ValueError(f"n_fix must lie in [0, min(in_features, width)), got {self.n_fix}")
        if not self.uses_figlu:
            std = 0.0
        else:
            std = 0.01 / self.width ** 0.5 if self.figlu_std is None else float(self.figlu_std)
            if std <= 0:
                raise ValueError(f"figlu_std must be positive, got {self.figlu_std}")
        object.__setattr__(self, "figlu_std", std)

    @property
    def uses_figlu(self) -> bool:
        return self.variant == "sigma_asym" or (self.variant == "w_asym" and self.w_asym_figlu)


def _simple_conv() -> nn.Module:
    """PyG's ``SimpleConv(aggr="mean", combine_root="sum")``, imported on first use (PyG takes ~3 s to import and
    warns about ``torch.jit.script`` on recent torch)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        from torch_geometric.nn import SimpleConv
    return SimpleConv(aggr="mean", combine_root="sum")


@register(GNNConfig)
class GNN(nn.Module):
    """``(x (N, in_features), edge_index (2, E) long) -> logits (N, out_features)``, full-graph."""

    def __init__(self, cfg: GNNConfig) -> None:
        super().__init__()
        self.cfg = cfg
        make = LayerFactory(cfg.variant, cfg.arch_seed)
        dims = (cfg.in_features,) + (cfg.width,) * cfg.depth
        self.aggregate = _simple_conv()  # parameter-free; shared by every layer
        self.lins = nn.ModuleList([make.linear(f"lins.{i}", dims[i], dims[i + 1], n_fix=cfg.n_fix, kappa=cfg.kappa)
                                   for i in range(cfg.depth)])
        self.norms = None if cfg.norm == "none" else nn.ModuleList(
            [nn.BatchNorm1d(cfg.width) if cfg.norm == "batch" else nn.LayerNorm(cfg.width) for _ in range(cfg.depth)])

        # the authors' code's W-Asym GNN gates with FiGLU too (w_asym_figlu); the factory decides what that builds
        self.acts = nn.ModuleList([make.activation(f"acts.{i}", cfg.width, base=cfg.activation,
                                                   figlu_std=cfg.figlu_std or 1.0, w_asym_figlu=cfg.w_asym_figlu)
                                   for i in range(cfg.depth)])
        self.head = make.linear("head", cfg.width, cfg.out_features, n_fix=cfg.n_fix, kappa=cfg.kappa)

    def forward(self, x: torch.Tensor, edge_index: torch.Tensor) -> torch.Tensor:
        for i in range(self.cfg.depth):
            x = self.lins[i](self.aggregate(x, edge_index))
            if self.norms is not None:
                x = self.norms[i](x)
            x = self.acts[i](x)
            if self.cfg.dropout > 0 and i < self.cfg.depth - 1:  # no random op at all when dropout is 0 (vmap)
                x = nn.functional.dropout(x, p=self.cfg.dropout, training=self.training)
        return self.head(x)

    def permutation_spec(self) -> PermutationSpec:
        """Layer ``i``'s hidden units permute by ``"P{i}"``; node features and logits are never permuted."""
        parts = []
        for i in range(self.cfg.depth):
            parts.append(linear_axes(f"lins.{i}", f"P{i}", f"P{i - 1}" if i > 0 else None))
            if self.norms is not None:
                parts.append(norm_axes(f"norms.{i}", f"P{i}", running_stats=self.cfg.norm == "batch"))
        parts.append(linear_axes("head", None, f"P{self.cfg.depth - 1}"))
        return PermutationSpec.merge(*parts)

    def activation_sites(self) -> dict[str, str]:
        """``P{i}`` at ``lins.i``: the pre-norm linear outputs ``(N, width)`` (the authors' matching site)."""
        return {f"P{i}": f"lins.{i}" for i in range(self.cfg.depth)}
