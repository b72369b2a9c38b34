"""Model builders: the paper's MLP in three variants.

``variant`` is one of

* ``"standard"``   — Linear → LayerNorm → GELU blocks, full permutation symmetry;
* ``"w_asym"``     — every Linear is a :class:`~symlib.layers.WAsymLinear`;
* ``"sigma_asym"`` — GELU replaced by :class:`~symlib.layers.FiGLU`.

The MLP of Lim et al. (Table 1 row 1, Appendix E.1.1 and Table 5) has 4 linear
layers of width 512 with LayerNorm; per-layer W-Asym ``(n_fix, κ)`` =
(64, 1), (64, 1), (64, 1/2), (256, 1/4). The block order Linear → LayerNorm →
activation and FiGLU's ``std = figlu_scale/√width`` are our choices (the paper
gives neither for the MLP).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

import torch
from torch import nn

from .layers import FiGLU, WAsymLinear
from .seeding import derive_seed

VARIANTS = ("standard", "w_asym", "sigma_asym")


@dataclass(frozen=True)
class MLPConfig:
    """Architecture of an MLP. ``depth`` counts linear layers (``depth-1`` hidden layers)."""

    in_features: int = 784
    width: int = 512
    depth: int = 4
    out_features: int = 10
    variant: str = "standard"
    n_fix: tuple[int, ...] = (64, 64, 64, 256)
    kappa: tuple[float, ...] = (1.0, 1.0, 0.5, 0.25)
    figlu_scale: float = 1.0
    arch_seed: int = 0
    dims: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown variant {self.variant!r}; choose one of {VARIANTS}")
        if self.depth < 2:
            raise ValueError(f"depth must be >= 2 linear layers, got {self.depth}")
        if self.variant == "w_asym" and not (len(self.n_fix) == len(self.kappa) == self.depth):
            raise ValueError(f"n_fix {self.n_fix} and kappa {self.kappa} need one entry per linear layer "
                             f"(depth={self.depth})")
        dims = (self.in_features,) + (self.width,) * (self.depth - 1) + (self.out_features,)
        object.__setattr__(self, "dims", dims)


class MLP(nn.Module):
    """``x (B, *) -> logits (B, out_features)``; the input is flattened first.

    Parameters are named ``layers.{i}.weight/bias`` (linear layers) and
    ``norms.{i}.weight/bias`` (LayerNorm after hidden layer ``i``), which is
    what :func:`symlib.permutation.mlp_spec` relies on.
    """

    def __init__(self, cfg: MLPConfig) -> None:
        super().__init__()
        self.cfg = cfg
        layers, norms, acts = [], [], []
        for i, (d_in, d_out) in enumerate(zip(cfg.dims[:-1], cfg.dims[1:])):
            if cfg.variant == "w_asym":
                layers.append(WAsymLinear(d_in, d_out, cfg.n_fix[i], cfg.kappa[i],
                                          seed=derive_seed(cfg.arch_seed, "mlp", "linear", i)))
            else:
                layers.append(nn.Linear(d_in, d_out))
            if i < cfg.depth - 1:
                norms.append(nn.LayerNorm(d_out))
                if cfg.variant == "sigma_asym":
                    acts.append(FiGLU(d_out, std=cfg.figlu_scale / math.sqrt(d_out),
                                      seed=derive_seed(cfg.arch_seed, "mlp", "figlu", i)))
                else:
                    acts.append(nn.GELU())
        self.layers, self.norms, self.acts = nn.ModuleList(layers), nn.ModuleList(norms), nn.ModuleList(acts)

    def forward(self, x):
        x = x.flatten(1)
        for layer, norm, act in zip(self.layers[:-1], self.norms, self.acts):
            x = act(norm(layer(x)))
        return self.layers[-1](x)


def build_mlp(**kwargs) -> MLP:
    """``build_mlp(variant="w_asym", width=512, arch_seed=3)`` — keyword form of :class:`MLPConfig`."""
    return MLP(MLPConfig(**kwargs))


# ----------------------------------------------------------------------------------------------------
# The small ResNet-like CNN of Lim et al.'s CIFAR-10 zoo (Section 5.3, Appendix E.3; Tables 3-4)
# ----------------------------------------------------------------------------------------------------

#: Conv layers of the zoo CNN, in construction order (names seed their W-Asym masks).
ZOO_CONVS = ("stem", "block1.conv1", "block1.conv2", "block2.conv1", "block2.conv2", "block2.skip",
             "block3.conv1", "block3.conv2", "block3.skip", "head")


@dataclass(frozen=True)
class ZooCNNConfig:
    """Architecture of :class:`ZooCNN`.

    ``n_fix_fraction``: W-Asym fixes ``max(1, round(fraction · C_in))`` whole ``k×k`` filters per output
    channel of every conv after the stem, ``k·k`` single entries per output channel of the stem (3 input
    channels allow only 3 distinct whole-filter masks), and ``round(fraction · w3)`` entries per row of the
    head; ``kappa`` is their std. The paper gives no κ for the zoo; κ = 2 (its ResNet20 LMC value) starts
    this CNN at a cross-entropy of ~40 nats, so we use κ = 0.5, the value of its Bayesian W-Asym ResNets.
    The layout is also our choice (the paper does not publish its own): fraction 1/4 gives 58,810
    trainable of 78,186 parameters at widths (16, 32, 64); the paper reports 60,634 of 78,042.
    ``figlu_scale``: σ-Asym FiGLU's ``F`` has std ``figlu_scale/√C`` (the paper's zoo uses 1/√d).
    """

    widths: tuple[int, int, int] = (16, 32, 64)
    num_classes: int = 10
    variant: str = "standard"
    n_fix_fraction: float = 0.25
    kappa: float = 0.5
    figlu_scale: float = 1.0
    arch_seed: int = 0

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown variant {self.variant!r}; choose one of {VARIANTS}")


class _ZooBlock(nn.Module):
    """``act(LN(conv2(act(LN(conv1 x)))) + skip(x))``; ``skip`` is a 1×1 strided conv when the shape changes."""

    def __init__(self, c_in: int, c_out: int, stride: int, make_conv, make_act) -> None:
        super().__init__()
        self.conv1 = make_conv(c_in, c_out, 3, stride, 1)
        self.norm1 = nn.GroupNorm(1, c_out)
        self.act1 = make_act(c_out)
        self.conv2 = make_conv(c_out, c_out, 3, 1, 1)
        self.norm2 = nn.GroupNorm(1, c_out)
        self.skip = make_conv(c_in, c_out, 1, stride, 0) if (stride != 1 or c_in != c_out) else None
        self.act2 = make_act(c_out)

    def forward(self, x):
        y = self.norm2(self.conv2(self.act1(self.norm1(self.conv1(x)))))
        return self.act2(y + (x if self.skip is None else self.skip(x)))


class ZooCNN(nn.Module):
    """``x (B, 3, 32, 32) -> logits (B, num_classes)``.

    stem conv 3×3 → LN → act; three residual blocks (widths ``w1, w2, w3``; the last two stride 2 with
    1×1 shortcut convs); global average pooling; linear head. LayerNorm is ``GroupNorm(1, C)`` (normalise
    over C, H, W; per-channel affine, so it commutes with channel permutations). act is ReLU, or FiGLU
    (``F`` a fixed 1×1 channel-mixing convolution) for σ-Asym. 7 3×3 convs + 2 1×1 shortcuts; the paper
    says "8 conv layers" without the layout, so this layout is ours.
    """

    def __init__(self, cfg: ZooCNNConfig) -> None:
        super().__init__()
        self.cfg = cfg
        counter = iter(ZOO_CONVS)

        def make_conv(c_in, c_out, k, stride, padding):
            name = next(counter)
            if cfg.variant == "w_asym":
                from .layers import WAsymConv2d
                # the stem sees 3 channels: whole filters give only 3 distinct rows, so fix k·k of its entries
                fix, n_fix = ("entries", k * k) if name == "stem" else (
                    "filters", max(1, round(cfg.n_fix_fraction * c_in)))
                return WAsymConv2d(c_in, c_out, k, n_fix=n_fix, kappa=cfg.kappa, fix=fix, stride=stride,
                                   padding=padding, seed=derive_seed(cfg.arch_seed, "zoo", name))
            return nn.Conv2d(c_in, c_out, k, stride=stride, padding=padding)

        acts = iter(range(100))

        def make_act(c):
            if cfg.variant == "sigma_asym":
                return FiGLU(c, std=cfg.figlu_scale / math.sqrt(c), seed=derive_seed(cfg.arch_seed, "zoo", "figlu",
                                                                                     next(acts)))
            return nn.ReLU()

        w1, w2, w3 = cfg.widths
        self.stem = make_conv(3, w1, 3, 1, 1)
        self.stem_norm = nn.GroupNorm(1, w1)
        self.stem_act = make_act(w1)
        self.block1 = _ZooBlock(w1, w1, 1, make_conv, make_act)
        self.block2 = _ZooBlock(w1, w2, 2, make_conv, make_act)
        self.block3 = _ZooBlock(w2, w3, 2, make_conv, make_act)
        next(counter)  # "head"
        if cfg.variant == "w_asym":
            self.head = WAsymLinear(w3, cfg.num_classes, max(1, round(cfg.n_fix_fraction * w3)), cfg.kappa,
                                    seed=derive_seed(cfg.arch_seed, "zoo", "head"))
        else:
            self.head = nn.Linear(w3, cfg.num_classes)

    def forward(self, x):
        x = self.stem_act(self.stem_norm(self.stem(x)))
        x = self.block3(self.block2(self.block1(x)))
        return self.head(x.mean(dim=(2, 3)))


def trainable_entries(state: Mapping[str, torch.Tensor], model: nn.Module) -> torch.Tensor:
    """The *trainable* scalars of ``state`` (a state dict of ``model``'s architecture) as one flat vector, in
    ``model.named_parameters()`` order; entries a W-Asym ``mask`` fixes are left out."""
    parts = []
    for prefix, module in model.named_modules():
        for name, _ in module.named_parameters(recurse=False):
            w = state[f"{prefix}.{name}" if prefix else name].flatten()
            mask = getattr(module, "mask", None)
            parts.append(w[mask.flatten()] if (name == "weight" and mask is not None) else w)
    return torch.cat(parts)


def trainable_parameters(model: nn.Module) -> int:
    """Number of *trainable* scalars: for W-Asym layers the fixed entries do not count."""
    return trainable_entries(model.state_dict(), model).numel()
