"""A small ReLU CNN with an optional Theory-Init (the Theory-Init chapter's image networks).

``x (B, C, H, W) -> logits (B, out_features)``::

    conv0: Conv2d(C → channels, first_kernel, stride 2, padding first_kernel//2) → ReLU
    conv{i}, 1 ≤ i < depth: Conv2d(channels → channels, 3, padding 1) → ReLU      (square: I + Δ under Theory-Init)
    mean over the spatial positions → head: Linear(channels → out_features)

Initialisation (``init``): ``"default"`` (PyTorch's), ``"he"`` (:func:`symlib.init.he_init_`), or ``"theory"``
(:func:`symlib.init.theory_init_`): ``conv0``'s filters are the deterministic :func:`symlib.init.dct_filters`
(bias 0), every middle conv starts at the centred Dirac kernel plus ``Δ ~ N(0, delta_std²)``, the head at
``N(0, out_std²)``. On non-negative inputs the Dirac kernel with ``Δ = 0`` is the identity, so at
``delta_std = 0`` the middle block passes ``ReLU(conv0(x))`` through unchanged.

Symmetries: the channels of ``conv{i}`` carry permutation ``"P{i}"`` (rows of ``conv{i}.weight``, ``conv{i}.bias``
and the input channels of the next conv or the head's columns); spatial mean pooling commutes with it.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..init import dct_filters, he_init_, theory_init_
from ..permutation import PermutationSpec, conv_axes, linear_axes
from .registry import register

INITS = ("default", "he", "theory")


@dataclass(frozen=True)
class SmallCNNConfig:
    """Architecture of a :class:`SmallCNN`; ``depth`` counts convolutions (``depth − 1`` square middle convs)."""

    in_channels: int = 1
    channels: int = 16
    depth: int = 3
    out_features: int = 10
    first_kernel: int = 5
    init: str = "default"
    delta_std: float = 0.0
    out_std: float = 0.0

    def __post_init__(self) -> None:
        if self.init not in INITS:
            raise ValueError(f"unknown init {self.init!r}; choose one of {', '.join(INITS)}")
        if self.depth < 1 or self.channels < 1 or self.first_kernel % 2 == 0:
            raise ValueError(f"depth and channels must be >= 1 and first_kernel odd, got {self}")
        if self.init == "theory":
            m = 1 if self.in_channels == 1 else 3
            if self.channels > self.first_kernel ** 2 * m:
                raise ValueError(f"Theory-Init has {self.first_kernel ** 2 * m} distinct DCT filters of size "
                                 f"{self.first_kernel}; channels={self.channels} is too many")
            if self.delta_std < 0 or self.out_std <= 0:
                raise ValueError(f"Theory-Init needs delta_std >= 0 and out_std > 0, got {self.delta_std}, {self.out_std}")


@register(SmallCNNConfig)
class SmallCNN(nn.Module):
    """See the module docstring."""

    def __init__(self, cfg: SmallCNNConfig) -> None:
        super().__init__()
        self.cfg = cfg
        k = cfg.first_kernel
        self.convs = nn.ModuleList([nn.Conv2d(cfg.in_channels, cfg.channels, k, stride=2, padding=k // 2)] + [
            nn.Conv2d(cfg.channels, cfg.channels, 3, padding=1) for _ in range(cfg.depth - 1)])
        self.acts = nn.ModuleList([nn.ReLU() for _ in range(cfg.depth)])
        self.head = nn.Linear(cfg.channels, cfg.out_features)
        if cfg.init == "he":
            he_init_(self)
        elif cfg.init == "theory":
            f = torch.from_numpy(dct_filters(cfg.channels, cfg.in_channels, k)).float()
            rows = torch.cat([f.reshape(cfg.channels, -1), torch.zeros(cfg.channels, 1)], dim=1)
            theory_init_(self.convs[0], list(self.convs[1:]), self.head, rows, cfg.delta_std, cfg.out_std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for conv, act in zip(self.convs, self.acts):
            x = act(conv(x))
        return self.head(x.mean(dim=(2, 3)))

    def permutation_spec(self) -> PermutationSpec:
        """``conv{i}`` permutes its output channels by ``"P{i}"``; the input and the logits are never permuted."""
        parts = [conv_axes(f"convs.{i}", f"P{i}", f"P{i - 1}" if i > 0 else None, bias=True)
                 for i in range(self.cfg.depth)]
        parts.append(linear_axes("head", None, f"P{self.cfg.depth - 1}"))
        return PermutationSpec.merge(*parts)

    def activation_sites(self) -> dict[str, str]:
        """``P{i}`` is read at the output of ``acts.i`` (``(B, channels, H', W')``)."""
        return {f"P{i}": f"acts.{i}" for i in range(self.cfg.depth)}
