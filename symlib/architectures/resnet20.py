"""ResNet20 with LayerNorm, the network of Lim et al.'s linear-mode-connectivity experiments (Table 1 rows 2-3,
Appendix E.1.1, Tables 6-7), at any width multiplier.

Layout (``resnet20`` / ``w_resnet20`` in the authors' ``lmc/models/models_resnet.py``, github.com/cptq/asymmetric-networks):
a 3×3 stem conv ``3 → 16w``, norm, activation; then three stages of three basic blocks each, widths
``(16w, 32w, 64w)`` for width multiplier ``w`` (1× = 16/32/64, the paper's "width 64"; 8× = 128/256/512). A block
is ``act2(norm2(conv2(act1(norm1(conv1 x)))) + shortcut(x))`` with 3×3 convs (padding 1, no bias), stride 2 in the
first block of stages 2 and 3, and a 1×1 shortcut conv (no bias) followed by its own norm exactly where the shape
changes (first blocks of stages 2 and 3; identity elsewhere); every norm is LayerNorm as ``GroupNorm(1, C)``
(per-channel affine); global average pooling; a linear head ``64w → num_classes`` with bias.

Parameter counts (``num_classes = 10``; trainable = without W-Asym's fixed entries; FiGLU's ``F`` are buffers):

=========  =============  =============
variant    1×             8×
=========  =============  =============
standard   272,474        17,289,866
W-Asym     230,026        16,273,946
σ-Asym     272,474        17,289,866
=========  =============  =============

(W-Asym fixes 42,448 entries at 1× and 1,015,920 at 8×). The paper states no ResNet20 parameter count; the
standard count equals the authors' ``resnet20(w)`` (same layers, ``nn.Linear`` head with bias).

Variants:

* W-Asym (paper, Appendix E.1.1, Tables 6-7): every conv fixes ``n_fix`` **entries** (not whole filters) of its
  ``C_in·k·k`` weights per output channel, the head ``n_fix`` entries per row (the authors' ``random_subsets``
  masks); fixed entries ``~ N(0, κ²)``. ``n_fix`` is the 7-tuple ``(stem, stage-1 convs, stage-2 convs,
  stage-2 shortcut, stage-3 convs, stage-3 shortcut, head)``; Table 6 (1×) gives ``(12, 36, 54, 6, 72, 8, 8)``,
  Table 7 (8×) three times those, the stem capped at its 27 entries: ``(27, 108, 162, 18, 216, 24, 24)``
  (:data:`TABLE6_N_FIX`, :data:`TABLE7_N_FIX`; the default picks Table 7 at ``w = 8`` and Table 6 otherwise).
  The tables' "Block1-Skip" (4 / 12) is unused: stage 1 keeps its shape, so it has no shortcut conv, in the
  authors' code as here. ``κ = 2`` is the paper's (Tables 6-7); the authors' training script
  ``lmc/train-cifar-resnet.py`` uses ``mask_constant = 3``, i.e. κ = 3 — pass ``kappa=3.0`` for the code's.
* σ-Asym (paper, Section 4.2): every activation (stem, and both of every block) is FiGLU; ``F`` of stage ``s``
  (the stem counts as stage 1) has absolute std ``figlu_std[s − 1]``, default ``1/√C`` for that stage's ``C``
  channels (the authors' ``AsymSwiGLU`` scales ``N(0, 1)`` by ``1/√C``). Every norm is kept. The authors'
  ``sigma_resnet20`` is *not* this network: it builds W-Asym blocks (``SparseBasicBlock``) plus a single FiGLU
  after the stem (their σ-Asym block class, which also drops ``norm2``, is unused). We build the real σ-Asym.

``norm="batch"`` replaces every LayerNorm by ``BatchNorm2d`` (running statistics permuted with their channels).

ResNet110 (Lim et al. Table 2) is the same CIFAR ResNet with ``blocks_per_stage=18`` (:data:`RESNET110_BLOCKS`;
``6n + 2`` layers for ``n`` blocks per stage), every other field as above: **1,730,714** parameters at 1× (either
norm; 1,722,426 in convs and head), W-Asym (Table 6's ``n_fix``) 1,480,906 trainable. The standard ResNet110 of He et
al. has about 1.7 M; ours adds the 1×1 conv shortcuts and per-channel norms of Lim et al.'s ResNet20.

Bayesian ResNet (Lim et al. Table 2; :mod:`symlib.variational`): ``posterior=Posterior(...)`` (Table 2's:
:data:`~symlib.variational.RESNET_POSTERIOR`, log-variance −12, prior precision 1) makes every conv and the head
variational, W-Asym with the same masks and constants; norms (and FiGLU's ``F``) stay point estimates and the means
start from the initialisation above. ``forward(x, *noise)`` takes one noise tensor ``(S, noise_size)`` per variational
layer in module order (stem, then ``conv1, conv2[, shortcut]`` of each block, head; what
:func:`symlib.variational.elbo` feeds) and returns ``(S, B, num_classes)``. Inside, activations are ``(S, B, C, H,
W)``: conv ``s`` sees sample ``s`` only (one grouped convolution), while **norms and activations fold the samples into
the batch** (:func:`~symlib.architectures.residual.per_sample`), so ``norm="batch"`` (Table 2's "ResNet20 (BN)")
normalises over all ``S·B`` examples of a step and updates its running statistics once per step; in eval mode it
uses them, so samples are then independent. With ``S = 1`` (training, as ELRG-VI) this is the ordinary BatchNorm.
Posterior dimension ``D`` (:func:`~symlib.variational.posterior_dimension`) of ResNet20 270,906 (W-Asym 228,458),
of ResNet110 1,722,426 (W-Asym 1,472,618); rank 4 trains ``5·D`` + norm parameters. Permutation specs are not
defined for Bayesian networks.

Initialisation follows the authors' ``_weights_init``: ``kaiming_normal_`` on every dense conv and the head of the
standard and σ-Asym networks; the W-Asym layers (their ``SparseConv2d``/``SparseLinear`` are not ``nn.Conv2d``/
``nn.Linear``) keep PyTorch's default (:func:`symlib.init.kaiming_normal_` touches dense layers only).

Symmetries: each stage's residual stream carries one permutation ``S{s}`` shared by the stem output (stage 1), every
block output of the stage and the shortcut conv's output; block ``b`` of stage ``s`` has its hidden channels
``H{s}_{b}``. Activation matching reads ``S{s}`` at the last block of stage ``s`` and ``H{s}_{b}`` at that block's
``act1``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..init import kaiming_normal_
from ..layers import gate_is_data
from ..permutation import PermutationSpec, conv_axes, gate_axes, linear_axes
from ..permutation import norm_axes as norm_axes_of
from ..variants import LayerFactory, check_variant
from ..variational import Posterior, noise_by_layer
from .registry import register
from .residual import NORMS, ResidualBlock, channel_norm, per_sample

BLOCKS_PER_STAGE = 3  # ResNet20 (6·3 + 2 layers); the default of ResNet20Config.blocks_per_stage
RESNET110_BLOCKS = 18  # ResNet110 (6·18 + 2 layers), Lim et al. Table 2
N_FIX_FIELDS = ("stem", "stage1_conv", "stage2_conv", "stage2_skip", "stage3_conv", "stage3_skip", "head")
TABLE6_N_FIX = (12, 36, 54, 6, 72, 8, 8)  # Lim et al. Table 6 (width 1×), Block1-Skip unused
TABLE7_N_FIX = (27, 108, 162, 18, 216, 24, 24)  # Table 7 (width 8×): 3× Table 6, stem capped at 3·3·3 = 27


def paper_n_fix(width: int) -> tuple[int, ...]:
    """The paper's ``n_fix`` for width multiplier ``width``: Table 7 at 8×, Table 6 otherwise."""
    return TABLE7_N_FIX if width == 8 else TABLE6_N_FIX


def stage_widths(width: int) -> tuple[int, int, int]:
    return (16 * width, 32 * width, 64 * width)


@dataclass(frozen=True)
class ResNet20Config:
    """Architecture of :class:`ResNet20`. ``width``: the multiplier ``w`` (stages ``16w, 32w, 64w``);
    ``n_fix``: fixed entries per output channel/row, ordered as :data:`N_FIX_FIELDS` (W-Asym only; ``None``: the
    paper's, :func:`paper_n_fix`); ``kappa``: std of the fixed entries (W-Asym only); ``figlu_std``: absolute std
    of FiGLU's ``F`` per stage (σ-Asym only; ``None``: ``1/√C``); ``norm``: ``"layer"`` or ``"batch"``;
    ``blocks_per_stage``: 3 (ResNet20) or :data:`RESNET110_BLOCKS` (ResNet110), any ``n >= 1`` gives the
    ``6n + 2``-layer CIFAR ResNet; ``posterior``: ``None`` (a deterministic network) or the
    :class:`~symlib.variational.Posterior` of every conv and the head (a Bayesian ResNet). Fields a variant does not
    use are normalised (W-Asym's to 0 / 1.0, σ-Asym's to ``()``), so equal networks have equal configs."""

    width: int = 1
    in_channels: int = 3
    num_classes: int = 10
    variant: str = "standard"
    n_fix: tuple[int, ...] | None = None
    kappa: float = 2.0
    figlu_std: tuple[float, ...] | None = None
    norm: str = "layer"
    arch_seed: int = 0
    blocks_per_stage: int = BLOCKS_PER_STAGE
    posterior: Posterior | None = None

    def __post_init__(self) -> None:
        check_variant(self.variant)
        if int(self.width) < 1:
            raise ValueError(f"width must be a positive multiplier, got {self.width}")
        object.__setattr__(self, "width", int(self.width))
        if int(self.blocks_per_stage) < 1:
            raise ValueError(f"blocks_per_stage must be >= 1, got {self.blocks_per_stage}")
        object.__setattr__(self, "blocks_per_stage", int(self.blocks_per_stage))
        if self.norm not in NORMS:
            raise ValueError(f"unknown norm {self.norm!r}; choose one of {', '.join(NORMS)}")
        if self.variant == "w_asym":
            n_fix = paper_n_fix(self.width) if self.n_fix is None else tuple(int(n) for n in self.n_fix)
            if len(n_fix) != len(N_FIX_FIELDS) or min(n_fix) < 0:
                raise ValueError(f"n_fix must be {len(N_FIX_FIELDS)} counts >= 0 ({', '.join(N_FIX_FIELDS)}), "
                                 f"got {n_fix}")
            object.__setattr__(self, "n_fix", n_fix)
            object.__setattr__(self, "kappa", float(self.kappa))
        else:
            object.__setattr__(self, "n_fix", (0,) * len(N_FIX_FIELDS))
            object.__setattr__(self, "kappa", 1.0)
        if self.variant == "sigma_asym":
            std = (tuple(c ** -0.5 for c in stage_widths(self.width)) if self.figlu_std is None
                   else tuple(float(s) for s in self.figlu_std))
            if len(std) != 3 or min(std) <= 0:
                raise ValueError(f"figlu_std must be three positive stds (one per stage), got {std}")
            object.__setattr__(self, "figlu_std", std)
        else:
            object.__setattr__(self, "figlu_std", ())


@register(ResNet20Config)
class ResNet20(nn.Module):
    """``x (B, in_channels, H, W) -> logits (B, num_classes)`` for any ``H, W >= 4`` (CIFAR-10: 32×32).
    Blocks are ``stage{s}.{b}`` for ``s = 1..3``, ``b = 0..blocks_per_stage − 1``. A Bayesian ResNet (``posterior``):
    ``(x, *noise) -> (S, B, num_classes)``, one noise tensor ``(S, noise_size)`` per variational layer in module
    order (module docstring)."""

    def __init__(self, cfg: ResNet20Config) -> None:
        super().__init__()
        self.cfg = cfg
        make = LayerFactory(cfg.variant, cfg.arch_seed, cfg.posterior)
        widths = stage_widths(cfg.width)
        n_stem, n1, n2, s2, n3, s3, n_head = cfg.n_fix
        stds = cfg.figlu_std or (1.0, 1.0, 1.0)  # unused unless σ-Asym
        self.stem = make.conv("stem", cfg.in_channels, widths[0], 3, padding=1,
                              n_fix=min(n_stem, cfg.in_channels * 9), fix="entries", kappa=cfg.kappa, bias=False)
        self.stem_norm = channel_norm(cfg.norm, widths[0])
        self.stem_act = make.activation("stem_act", widths[0], base="relu", figlu_std=stds[0])
        c_in = widths[0]
        for s, (c, n_conv, n_skip) in enumerate(zip(widths, (n1, n2, n3), (0, s2, s3)), start=1):
            blocks = []
            for b in range(cfg.blocks_per_stage):
                stride = 2 if (s > 1 and b == 0) else 1
                blocks.append(ResidualBlock(f"stage{s}.{b}", c_in, c, stride, make=make, norm=cfg.norm, n_conv=n_conv,
                                            n_skip=n_skip, fix="entries", kappa=cfg.kappa, figlu_std=stds[s - 1]))
                c_in = c
            setattr(self, f"stage{s}", nn.Sequential(*blocks))
        self.head = make.linear("head", widths[2], cfg.num_classes, n_fix=n_head, kappa=cfg.kappa)
        kaiming_normal_(self)  # dense layers only: the authors' `_weights_init`

    def forward(self, x: torch.Tensor, *noise: torch.Tensor) -> torch.Tensor:
        if self.cfg.posterior is None:
            if noise:
                raise ValueError("a deterministic ResNet takes no noise (its config has no posterior)")
            x = self.stem_act(self.stem_norm(self.stem(x)))
            x = self.stage3(self.stage2(self.stage1(x)))
            return self.head(x.mean(dim=(2, 3)))
        eps = noise_by_layer(self, noise)
        h = self.stem(x.expand(noise[0].shape[0], *x.shape), eps[self.stem])  # (S, B, C, H, W): sample s on x
        h = per_sample(self.stem_act, per_sample(self.stem_norm, h))
        for _, _, block in self.blocks():
            h = block(h, eps)
        return self.head(h.mean(dim=(-2, -1)), eps[self.head])

    def blocks(self):
        """``(s, b, block)`` for every block, in forward order."""
        for s in (1, 2, 3):
            for b, block in enumerate(getattr(self, f"stage{s}")):
                yield s, b, block

    def permutation_spec(self) -> PermutationSpec:
        """One permutation per residual stream (``S1, S2, S3``) and per block interior (``H{s}_{b}``). FiGLU's
        fixed ``F`` is not listed (permuting a σ-Asym network changes its function); an ``F`` made data (a permutable
        twin, :meth:`symlib.layers.FiGLU.as_data`) is, as a statistic on its channels' permutation. Not defined for
        a Bayesian ResNet (its factors and variances would need axes too)."""
        if self.cfg.posterior is not None:
            raise NotImplementedError("permutation_spec of a Bayesian ResNet (posterior) is not defined")
        stats = self.cfg.norm == "batch"

        def norm_axes(name: str, p: str) -> dict:
            return norm_axes_of(name, p, running_stats=stats)

        parts = [conv_axes("stem", "S1", None), norm_axes("stem_norm", "S1")]
        parts += [gate_axes("stem_act", "S1")] if gate_is_data(self.stem_act) else []
        for s, b, block in self.blocks():
            name, stream, hidden = f"stage{s}.{b}", f"S{s}", f"H{s}_{b}"
            stream_in = f"S{s - 1}" if (block.has_shortcut and s > 1) else stream
            parts += [conv_axes(f"{name}.conv1", hidden, stream_in), norm_axes(f"{name}.norm1", hidden),
                      conv_axes(f"{name}.conv2", stream, hidden), norm_axes(f"{name}.norm2", stream)]
            if block.has_shortcut:
                parts += [conv_axes(f"{name}.shortcut", stream, stream_in), norm_axes(f"{name}.shortcut_norm", stream)]
            parts += [gate_axes(f"{name}.act1", hidden)] if gate_is_data(block.act1) else []
            parts += [gate_axes(f"{name}.act2", stream)] if gate_is_data(block.act2) else []
        parts.append(linear_axes("head", None, "S3"))
        return PermutationSpec.merge(*parts)

    def activation_sites(self) -> dict[str, str]:
        """``S{s}`` at the output of stage ``s``'s last block, ``H{s}_{b}`` at ``stage{s}.{b}.act1``."""
        last = self.cfg.blocks_per_stage - 1
        return {**{f"S{s}": f"stage{s}.{last}" for s in (1, 2, 3)},
                **{f"H{s}_{b}": f"stage{s}.{b}.act1" for s, b, _ in self.blocks()}}
