"""The three variants of a network (Lim et al. 2024, Section 4) and the one factory that builds their layers.

* ``"standard"``   — dense layers and an elementwise activation: full permutation symmetry;
* ``"w_asym"``     — every linear map / convolution fixes ``n_fix`` entries per output unit to constants
  ``F ~ N(0, κ²)`` (:class:`~symlib.layers.WAsymLinear`, :class:`~symlib.layers.WAsymConv2d`; Eq. 2);
* ``"sigma_asym"`` — the activation is FiGLU, ``σ(x) = sigmoid(F x) ⊙ x`` (:class:`~symlib.layers.FiGLU`; Eq. 4).

An architecture asks a :class:`LayerFactory` for each layer by its qualified module name (``"layers.0"``,
``"stage2.conv1"``); the name seeds that layer's fixed tensors through :func:`symlib.seeding.derive_seed`, so
masks and ``F`` depend only on ``(arch_seed, name)``, never on construction order.

Convention for ``n_fix`` everywhere in symlib: a **count** per output unit of the layer — fixed entries per
row of a linear map, and per output channel of a convolution either fixed entries (``fix="entries"``) or
fixed whole ``k×k`` input filters (``fix="filters"``). A count of 0 builds the dense layer.

Bayesian networks: a factory with a ``posterior`` (:class:`symlib.variational.Posterior`) builds every linear map and
convolution as a variational layer (:class:`~symlib.variational.VariationalLinear`,
:class:`~symlib.variational.VariationalConv2d`) with the same W-Asym masks and constants, so a Bayesian W-Asym
network is a config. Its layers take a noise vector after their input. ``posterior=None`` (the default) builds
exactly the layers above.
"""
from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from .layers import FiGLU, WAsymConv2d, WAsymLinear
from .seeding import derive_seed
from .variational import Posterior, VariationalConv2d, VariationalLinear

VARIANTS = ("standard", "sigma_asym", "w_asym")
LABELS = {"standard": "Standard", "sigma_asym": "σ-Asym", "w_asym": "W-Asym"}
ACTIVATIONS = {"gelu": nn.GELU, "relu": nn.ReLU}


def check_variant(variant: str) -> str:
    """``variant`` if it is one of :data:`VARIANTS`, else a ``ValueError`` listing them."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    return variant


@dataclass(frozen=True)
class LayerFactory:
    """Layers of one network of ``variant``; fixed tensors are seeded by ``(arch_seed, layer name)``.

    W-Asym changes only :meth:`linear` and :meth:`conv` (and only where ``n_fix > 0``); σ-Asym changes only
    :meth:`activation`; the standard variant builds plain PyTorch layers. ``posterior`` makes linear maps and
    convolutions variational (module docstring).
    """

    variant: str
    arch_seed: int = 0
    posterior: Posterior | None = None

    def __post_init__(self) -> None:
        check_variant(self.variant)

    def seed(self, name: str) -> int:
        """The seed of the fixed tensors of layer ``name``."""
        return derive_seed(self.arch_seed, name)

    def linear(self, name: str, d_in: int, d_out: int, *, n_fix: int = 0, kappa: float = 1.0,
               bias: bool = True) -> nn.Module:
        """``(..., d_in) -> (..., d_out)``; W-Asym fixes ``n_fix`` entries per row to ``N(0, kappa²)``."""
        if self.posterior is not None:
            return VariationalLinear(d_in, d_out, self.posterior, n_fix=n_fix if self.variant == "w_asym" else 0,
                                     kappa=kappa, seed=self.seed(name), bias=bias)
        if self.variant == "w_asym" and n_fix > 0:
            return WAsymLinear(d_in, d_out, n_fix, kappa, seed=self.seed(name), bias=bias)
        return nn.Linear(d_in, d_out, bias=bias)

    def conv(self, name: str, c_in: int, c_out: int, kernel_size: int, *, stride: int = 1, padding: int = 0,
             n_fix: int = 0, fix: str = "entries", kappa: float = 1.0, bias: bool = True) -> nn.Module:
        """``(B, c_in, H, W) -> (B, c_out, H', W')``; W-Asym fixes ``n_fix`` entries or filters per output channel."""
        if self.posterior is not None:
            return VariationalConv2d(c_in, c_out, kernel_size, self.posterior, stride=stride, padding=padding,
                                     n_fix=n_fix if self.variant == "w_asym" else 0, fix=fix, kappa=kappa,
                                     seed=self.seed(name), bias=bias)
        if self.variant == "w_asym" and n_fix > 0:
            return WAsymConv2d(c_in, c_out, kernel_size, n_fix=n_fix, kappa=kappa, seed=self.seed(name), fix=fix,
                               stride=stride, padding=padding, bias=bias)
        return nn.Conv2d(c_in, c_out, kernel_size, stride=stride, padding=padding, bias=bias)

    def activation(self, name: str, features: int, *, base: str = "gelu", figlu_std: float = 1.0,
                   w_asym_figlu: bool = False) -> nn.Module:
        """``base`` (``"gelu"`` or ``"relu"``), or for σ-Asym FiGLU whose ``F (features, features)`` has std
        ``figlu_std``; ``w_asym_figlu=True`` gives W-Asym networks FiGLU too (the W-Asym GNN of Lim et al.'s code)."""
        if base not in ACTIVATIONS:
            raise ValueError(f"unknown activation {base!r}; choose one of {', '.join(ACTIVATIONS)}")
        if self.variant == "sigma_asym" or (self.variant == "w_asym" and w_asym_figlu):
            return FiGLU(features, std=figlu_std, seed=self.seed(name))
        return ACTIVATIONS[base]()
