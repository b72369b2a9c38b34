"""The residual block shared by :class:`~symlib.architectures.ResNet8` and :class:`~symlib.architectures.ResNet20`
(He et al. 2016's basic block as in Lim et al.'s code), and the per-channel norm both use.

A block maps ``(B, c_in, H, W) -> (B, c_out, H/stride, W/stride)``:
``act2(norm2(conv2(act1(norm1(conv1 x)))) + shortcut(x))`` with 3×3 convs (padding 1, no bias) and, exactly where
the shape changes, a 1×1 shortcut conv (no bias) followed by its own norm (identity elsewhere). Layers are named
``{prefix}.conv1`` … ``{prefix}.act2``, so their fixed tensors are seeded by those names
(:class:`symlib.variants.LayerFactory`).

Bayesian blocks (a factory with a ``posterior``: variational convs): ``forward(x (S, B, c_in, H, W), eps)`` carries
``S`` weight samples, ``eps`` mapping each variational layer to its noise ``(S, noise_size)``
(:func:`symlib.variational.noise_by_layer`); convolution ``s`` sees only sample ``s``, while norms and activations
see the ``S·B`` examples folded into one batch (:func:`per_sample`), so a BatchNorm normalises, and updates its running
statistics, over all samples and examples of the step at once (GroupNorm and FiGLU act per example anyway).
"""
from __future__ import annotations

from typing import Mapping

import torch
from torch import nn

from ..variants import LayerFactory

NORMS = ("layer", "batch")


def channel_norm(kind: str, channels: int) -> nn.Module:
    """``"layer"``: LayerNorm over ``(C, H, W)`` with a per-channel affine (``GroupNorm(1, C)``, which commutes with
    channel permutations); ``"batch"``: ``BatchNorm2d``."""
    if kind not in NORMS:
        raise ValueError(f"unknown norm {kind!r}; choose one of {', '.join(NORMS)}")
    return nn.GroupNorm(1, channels) if kind == "layer" else nn.BatchNorm2d(channels)


def per_sample(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``module`` on ``x (S, B, ...)`` with the samples folded into the batch: ``module(x (S·B, ...))`` back as
    ``(S, B, ...)``. A BatchNorm thus pools its statistics over every sample and example."""
    return module(x.flatten(0, 1)).unflatten(0, x.shape[:2])


class ResidualBlock(nn.Module):
    """One basic block, layers named ``{prefix}.*``. W-Asym convs fix ``n_conv`` (3×3 convs) or ``n_skip`` (the
    shortcut) of their weights per output channel, capped at what the conv has: ``fix="entries"`` counts entries
    (cap ``c_in·k·k``), ``fix="filters"`` whole ``k×k`` input filters (cap ``c_in``); ``kappa`` is their std.
    σ-Asym activations are FiGLU with ``F``'s std ``figlu_std``; the other variants use ReLU."""

    def __init__(self, prefix: str, c_in: int, c_out: int, stride: int, *, make: LayerFactory, norm: str,
                 n_conv: int, n_skip: int, fix: str, kappa: float, figlu_std: float) -> None:
        super().__init__()

        def conv(name: str, a: int, k: int, s: int, n_fix: int) -> nn.Module:
            cap = a if fix == "filters" else a * k * k
            return make.conv(f"{prefix}.{name}", a, c_out, k, stride=s, padding=k // 2, n_fix=min(n_fix, cap),
                             fix=fix, kappa=kappa, bias=False)

        def act(name: str) -> nn.Module:
            return make.activation(f"{prefix}.{name}", c_out, base="relu", figlu_std=figlu_std)

        self.conv1, self.norm1, self.act1 = conv("conv1", c_in, 3, stride, n_conv), channel_norm(norm, c_out), act("act1")
        self.conv2, self.norm2 = conv("conv2", c_out, 3, 1, n_conv), channel_norm(norm, c_out)
        self.has_shortcut = stride != 1 or c_in != c_out
        if self.has_shortcut:
            self.shortcut, self.shortcut_norm = conv("shortcut", c_in, 1, stride, n_skip), channel_norm(norm, c_out)
        self.act2 = act("act2")

    def forward(self, x: torch.Tensor, eps: Mapping[nn.Module, torch.Tensor] | None = None) -> torch.Tensor:
        """``x (B, c_in, H, W)``; a Bayesian block: ``x (S, B, c_in, H, W)`` and ``eps`` (module docstring)."""
        if eps is None:
            y = self.norm2(self.conv2(self.act1(self.norm1(self.conv1(x)))))
            skip = self.shortcut_norm(self.shortcut(x)) if self.has_shortcut else x
            return self.act2(y + skip)
        f = per_sample
        y = f(self.norm2, self.conv2(f(self.act1, f(self.norm1, self.conv1(x, eps[self.conv1]))), eps[self.conv2]))
        skip = f(self.shortcut_norm, self.shortcut(x, eps[self.shortcut])) if self.has_shortcut else x
        return f(self.act2, y + skip)
