"""The MLP of Lim et al. (2024), Table 1 row 1, and the plain ReLU MLP of the symmetries chapter.

Block ``i`` (``i < depth − 1``) is ``Linear → LayerNorm → activation`` (the order of the authors' code; the
paper does not say), the last layer is a bare ``Linear``. With ``norm=False, activation="relu"`` it is the
plain ReLU MLP whose hidden units also have a positive-rescaling symmetry.

Paper settings (Table 5 and the authors' code): 4 linear layers, width 512, GELU, W-Asym
``(n_fix, κ)`` per layer = (64, 1), (64, 1), (64, 1/2), (256, 1/4); σ-Asym FiGLU ``F`` with std 1.

Theory-Init (``init="theory"``, :func:`symlib.init.theory_init_`): the first layer's rows are ``first_rows`` (part
of the config, so identical in every network of the architecture), the ``depth − 2`` square middle layers start at
``I + Δ`` (``Δ_ij ~ N(0, delta_std²)``), the output layer at ``N(0, out_std²)``; it needs ``activation="relu"``,
``norm=False`` and the standard variant. ``init="he"``: :func:`symlib.init.he_init_` on every layer.
``init="default"`` (PyTorch's initialisation) and ``bias=True`` are the networks of the other chapters, unchanged.

Bayesian MLP (Lim et al. Table 2; :mod:`symlib.variational`): ``posterior=Posterior(...)`` makes every linear layer
variational (W-Asym: with the same masks and constants), e.g. ``MLPConfig(in_features=3072, width=256, depth=8,
activation="relu", variant="w_asym", n_fix=(8,) * 8, kappa=(0.5,) * 8, posterior=MLP_POSTERIOR)``; LayerNorm stays
a point estimate. Its forward takes one noise tensor ``(S, noise_size)`` per linear layer after ``x`` and returns
logits ``(S, B, out_features)``, one weight sample per ``s`` (what :func:`symlib.variational.elbo` feeds it).

Symmetries: hidden layer ``i`` carries permutation ``"P{i}"``; it acts on the rows of ``layers.i.weight``,
``layers.i.bias``, the LayerNorm ``norms.i`` and the columns of ``layers.{i+1}.weight``. Activation
matching reads ``P{i}`` at the output of ``acts.i``.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from ..init import he_init_, theory_init_
from ..layers import gate_is_data
from ..permutation import PermutationSpec, gate_axes, linear_axes, norm_axes
from ..variants import LayerFactory, check_variant
from ..variational import Posterior
from .registry import register


@dataclass(frozen=True)
class MLPConfig:
    """Architecture of an :class:`MLP`. ``depth`` counts linear layers (``depth − 1`` hidden layers).

    ``n_fix`` and ``kappa`` have one entry per linear layer and are used by the W-Asym variant only
    (``n_fix`` = fixed entries per row; other variants store ``n_fix = 0``, ``κ = 1``); ``figlu_std`` is the
    absolute std of FiGLU's ``F`` (σ-Asym only). ``posterior``: ``None`` (a deterministic network) or the
    :class:`~symlib.variational.Posterior` of every linear layer (a Bayesian MLP; needs ``init="default"``).
    """

    in_features: int = 784
    width: int = 512
    depth: int = 4
    out_features: int = 10
    variant: str = "standard"
    n_fix: tuple[int, ...] = (64, 64, 64, 256)
    kappa: tuple[float, ...] = (1.0, 1.0, 0.5, 0.25)
    figlu_std: float = 1.0
    activation: str = "gelu"
    norm: bool = True
    arch_seed: int = 0
    bias: bool = True
    init: str = "default"
    first_rows: tuple[tuple[float, ...], ...] = ()
    delta_std: float = 0.0
    out_std: float = 0.0
    posterior: Posterior | None = None
    dims: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        check_variant(self.variant)
        if self.depth < 2:
            raise ValueError(f"depth must be >= 2 linear layers, got {self.depth}")
        if self.variant != "w_asym":  # no fixed entries: one config per network (the member store keys by it)
            object.__setattr__(self, "n_fix", (0,) * self.depth)
            object.__setattr__(self, "kappa", (1.0,) * self.depth)
        object.__setattr__(self, "n_fix", tuple(int(n) for n in self.n_fix))
        object.__setattr__(self, "kappa", tuple(float(k) for k in self.kappa))
        if not (len(self.n_fix) == len(self.kappa) == self.depth):
            raise ValueError(f"n_fix {self.n_fix} and kappa {self.kappa} need one entry per linear layer "
                             f"(depth={self.depth})")
        dims = (self.in_features,) + (self.width,) * (self.depth - 1) + (self.out_features,)
        object.__setattr__(self, "dims", dims)
        if self.init not in INITS:
            raise ValueError(f"unknown init {self.init!r}; choose one of {', '.join(INITS)}")
        object.__setattr__(self, "first_rows", tuple(tuple(float(v) for v in r) for r in self.first_rows))
        if self.init == "theory":
            if self.activation != "relu" or self.norm or self.variant != "standard":
                raise ValueError("init='theory' needs activation='relu', norm=False and variant='standard' "
                                 f"(got {self.activation!r}, norm={self.norm}, {self.variant!r})")
            need = (self.width, self.in_features + int(self.bias))
            got = (len(self.first_rows), len({len(r) for r in self.first_rows}) == 1 and len(self.first_rows[0]))
            if got != need:
                raise ValueError(f"first_rows must hold width={self.width} rows of in_features"
                                 f"{' + 1 (bias)' if self.bias else ''} = {need[1]} numbers each")
            if self.delta_std < 0 or self.out_std <= 0:
                raise ValueError(f"Theory-Init needs delta_std >= 0 and out_std > 0, got {self.delta_std}, {self.out_std}")
        elif self.first_rows:
            raise ValueError("first_rows are used by init='theory' only")
        if self.posterior is not None and self.init != "default":
            raise ValueError(f"a Bayesian MLP (posterior) starts from init='default', got init={self.init!r}")


INITS = ("default", "he", "theory")


@register(MLPConfig)
class MLP(nn.Module):
    """``x (B, *) -> logits (B, out_features)``; the input is flattened first. A Bayesian MLP:
    ``(x, *noise) -> (S, B, out_features)`` (module docstring)."""

    def __init__(self, cfg: MLPConfig) -> None:
        super().__init__()
        self.cfg = cfg
        make = LayerFactory(cfg.variant, cfg.arch_seed, cfg.posterior)
        hidden = range(cfg.depth - 1)
        self.layers = nn.ModuleList([
            make.linear(f"layers.{i}", d_in, d_out, n_fix=cfg.n_fix[i], kappa=cfg.kappa[i], bias=cfg.bias)
            for i, (d_in, d_out) in enumerate(zip(cfg.dims[:-1], cfg.dims[1:]))])
        self.norms = nn.ModuleList([nn.LayerNorm(cfg.width) for _ in hidden]) if cfg.norm else None
        self.acts = nn.ModuleList([make.activation(f"acts.{i}", cfg.width, base=cfg.activation,
                                                   figlu_std=cfg.figlu_std) for i in hidden])
        if cfg.init == "he":
            he_init_(self)
        elif cfg.init == "theory":
            theory_init_(self.layers[0], list(self.layers[1:-1]), self.layers[-1], torch.tensor(cfg.first_rows),
                         cfg.delta_std, cfg.out_std)

    def forward(self, x: torch.Tensor, *noise: torch.Tensor) -> torch.Tensor:
        if self.cfg.posterior is None:
            if noise:
                raise ValueError("a deterministic MLP takes no noise (its config has no posterior)")
            return self._body(x, None)
        if len(noise) != len(self.layers):
            raise ValueError(f"a Bayesian MLP takes one noise tensor (S, noise_size) per linear layer after x: "
                             f"{len(self.layers)}, got {len(noise)}")
        return torch.stack([self._body(x, [n[s] for n in noise]) for s in range(noise[0].shape[0])])

    def _body(self, x: torch.Tensor, eps: list[torch.Tensor] | None) -> torch.Tensor:
        """The network with one weight sample (``eps[i]`` for ``layers.i``; ``None``: deterministic)."""
        def layer(i: int, h: torch.Tensor) -> torch.Tensor:
            return self.layers[i](h) if eps is None else self.layers[i](h, eps[i])

        x = x.flatten(1)
        for i, act in enumerate(self.acts):
            x = layer(i, x)
            if self.norms is not None:
                x = self.norms[i](x)
            x = act(x)
        return layer(len(self.acts), x)

    def permutation_spec(self) -> PermutationSpec:
        """Hidden layer ``i`` permutes by ``"P{i}"``; the input and the logits are never permuted. FiGLU's
        ``acts.{i}.F`` is fixed (architecture-defining), so it is not listed and permuting a σ-Asym network changes
        its function; once ``F`` is data (:meth:`symlib.layers.FiGLU.as_data`, a permutable twin) it is listed on
        ``(P{i}, P{i})`` as a *statistic*: permuted with its units, never matched on. Not defined for a Bayesian
        MLP (its factors and variances would need axes too)."""
        if self.cfg.posterior is not None:
            raise NotImplementedError("permutation_spec of a Bayesian MLP (posterior) is not defined")
        parts = []
        for i in range(self.cfg.depth):
            out = f"P{i}" if i < self.cfg.depth - 1 else None
            parts.append(linear_axes(f"layers.{i}", out, f"P{i - 1}" if i > 0 else None, bias=self.cfg.bias))
            if out is not None and self.cfg.norm:
                parts.append(norm_axes(f"norms.{i}", out))
            if out is not None and gate_is_data(self.acts[i]):
                parts.append(gate_axes(f"acts.{i}", out))
        return PermutationSpec.merge(*parts)

    def activation_sites(self) -> dict[str, str]:
        """``P{i}`` is read at the output of ``acts.i`` (post-activation hidden units, shape ``(B, width)``)."""
        return {f"P{i}": f"acts.{i}" for i in range(self.cfg.depth - 1)}
