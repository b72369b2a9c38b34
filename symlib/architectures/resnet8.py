"""The small ResNet of Lim et al.'s CIFAR-10 zoo (Tables 3-4, Appendix E.3), in the authors' exact layout.

Layout (``resnet8`` / ``sparse_resnet8`` in the authors' code, github.com/cptq/asymmetric-networks): a 3×3 stem conv ``3 → w1``, then three
stages of one residual block each, widths ``(w1, w2, w3) = (16, 32, 64)``; a block is
``act(norm2(conv2(act(norm1(conv1 x)))) + shortcut(x))`` with 3×3 convs, stride 2 entering stages 2 and 3,
and a 1×1 shortcut conv followed by its own norm where the shape changes; every norm is LayerNorm as
``GroupNorm(1, C)`` (per-channel affine, so it commutes with channel permutations); no conv biases; global
average pooling; a linear head ``w3 → 10``. At widths (16, 32, 64) this has **78,042** parameters.

Variants (the paper's, with the authors' settings):

* W-Asym: every conv fixes ``min(n_fix, C_in)`` whole input filters per output channel (``n_fix = 8``: the
  3-channel stem is entirely fixed), the head fixes ``n_fix_head = 8`` of 64 entries per row, ``F ~ N(0, κ²)``
  with ``κ = 2``: **60,634** trainable parameters, the paper's count;
* σ-Asym: every ReLU becomes FiGLU; ``F`` of stage ``s`` (the stem counts as stage 1) has the absolute std
  ``figlu_std[s − 1]``; the paper's choice (Appendix E.4) is ``1/√C`` for ``C`` channels (:func:`figlu_std_for`).

``norm="batch"`` replaces every LayerNorm by ``BatchNorm2d`` (running statistics permuted with their channels, never
matched on): the BatchNorm ResNets of Git Re-Basin and REPAIR, for the connectivity pipeline's statistics reset.

Initialisation follows the authors' code: ``kaiming_normal_`` on the dense convs and the head of the standard
and σ-Asym networks, PyTorch's default on the W-Asym layers (:mod:`symlib.init`).

Symmetries: each stage's residual stream carries one permutation ``S{s}`` (stem output = stage-1 stream), the
hidden channels inside block ``s`` carry ``H{s}``. Activation matching reads ``S{s}`` at the block's output and
``H{s}`` at ``stage{s}.act1``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..init import kaiming_normal_
from ..permutation import PermutationSpec, conv_axes, linear_axes
from ..permutation import norm_axes as norm_axes_of
from ..variants import LayerFactory, check_variant
from .registry import register
from .residual import NORMS, ResidualBlock, channel_norm


@dataclass(frozen=True)
class ResNet8Config:
    """Architecture of :class:`ResNet8`. ``n_fix``: fixed input filters per output channel of every conv
    (capped at the conv's input channels); ``n_fix_head``: fixed entries per row of the head (both W-Asym
    only); ``kappa``: std of the fixed entries; ``figlu_std``: absolute std of FiGLU's ``F`` per stage (σ-Asym
    only; default ``1/√C``, the paper's); ``norm``: ``"layer"`` (``GroupNorm(1, C)``, the paper's) or ``"batch"``."""

    widths: tuple[int, int, int] = (16, 32, 64)
    in_channels: int = 3
    num_classes: int = 10
    variant: str = "standard"
    n_fix: int = 8
    n_fix_head: int = 8
    kappa: float = 2.0
    figlu_std: tuple[float, float, float] = (16 ** -0.5, 32 ** -0.5, 64 ** -0.5)
    norm: str = "layer"
    arch_seed: int = 0

    def __post_init__(self) -> None:
        check_variant(self.variant)
        if len(self.widths) != 3 or min(self.widths) < 1:
            raise ValueError(f"widths must be three positive channel counts, got {self.widths}")
        object.__setattr__(self, "widths", tuple(int(w) for w in self.widths))
        object.__setattr__(self, "figlu_std", tuple(float(s) for s in self.figlu_std))
        if len(self.figlu_std) != 3 or min(self.figlu_std) <= 0:
            raise ValueError(f"figlu_std must be three positive stds (one per stage), got {self.figlu_std}")
        if self.norm not in NORMS:
            raise ValueError(f"unknown norm {self.norm!r}; choose one of {', '.join(NORMS)}")
        if self.n_fix < 0 or self.n_fix_head < 0:
            raise ValueError(f"n_fix and n_fix_head must be >= 0, got {self.n_fix}, {self.n_fix_head}")


def figlu_std_for(widths, gain: float = 1.0) -> tuple[float, float, float]:
    """FiGLU stds ``gain/√C`` per stage for stage widths ``C`` (the paper's zoo convention, Appendix E.4)."""
    return tuple(gain / w ** 0.5 for w in widths)


@register(ResNet8Config)
class ResNet8(nn.Module):
    """``x (B, in_channels, H, W) -> logits (B, num_classes)`` for any ``H, W >= 4`` (CIFAR-10: 32×32; our
    ``small`` zoo: 16×16)."""

    def __init__(self, cfg: ResNet8Config) -> None:
        super().__init__()
        self.cfg = cfg
        make = LayerFactory(cfg.variant, cfg.arch_seed)
        w1, w2, w3 = cfg.widths
        self.stem = make.conv("stem", cfg.in_channels, w1, 3, padding=1, n_fix=min(cfg.n_fix, cfg.in_channels),
                              fix="filters", kappa=cfg.kappa, bias=False)
        self.stem_norm = channel_norm(cfg.norm, w1)
        self.stem_act = make.activation("stem_act", w1, base="relu", figlu_std=cfg.figlu_std[0])
        for s, (c_in, c_out, stride) in enumerate(((w1, w1, 1), (w1, w2, 2), (w2, w3, 2)), start=1):
            setattr(self, f"stage{s}", ResidualBlock(f"stage{s}", c_in, c_out, stride, make=make, norm=cfg.norm,
                                                     n_conv=cfg.n_fix, n_skip=cfg.n_fix, fix="filters",
                                                     kappa=cfg.kappa, figlu_std=cfg.figlu_std[s - 1]))
        self.head = make.linear("head", w3, cfg.num_classes, n_fix=cfg.n_fix_head, kappa=cfg.kappa)
        kaiming_normal_(self)  # dense layers only: the authors' `_weights_init`

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem_act(self.stem_norm(self.stem(x)))
        x = self.stage3(self.stage2(self.stage1(x)))
        return self.head(x.mean(dim=(2, 3)))

    def permutation_spec(self) -> PermutationSpec:
        """One permutation per residual stream (``S1, S2, S3``) and per block interior (``H1, H2, H3``)."""
        stats = self.cfg.norm == "batch"  # BatchNorm's running statistics are permuted with their channels

        def norm_axes(name: str, p: str) -> dict:
            return norm_axes_of(name, p, running_stats=stats)

        parts = [conv_axes("stem", "S1", None), norm_axes("stem_norm", "S1")]
        for s, block in enumerate((self.stage1, self.stage2, self.stage3), start=1):
            stream_in, stream, hidden = f"S{max(s - 1, 1)}", f"S{s}", f"H{s}"
            parts += [conv_axes(f"stage{s}.conv1", hidden, stream_in), norm_axes(f"stage{s}.norm1", hidden),
                      conv_axes(f"stage{s}.conv2", stream, hidden), norm_axes(f"stage{s}.norm2", stream)]
            if block.has_shortcut:
                parts += [conv_axes(f"stage{s}.shortcut", stream, stream_in), norm_axes(f"stage{s}.shortcut_norm", stream)]
        parts.append(linear_axes("head", None, "S3"))
        return PermutationSpec.merge(*parts)

    def activation_sites(self) -> dict[str, str]:
        """``S{s}`` at the output of block ``stage{s}``, ``H{s}`` at ``stage{s}.act1`` (shape ``(B, C, H, W)``)."""
        return {**{f"S{s}": f"stage{s}" for s in (1, 2, 3)}, **{f"H{s}": f"stage{s}.act1" for s in (1, 2, 3)}}
