"""Initialisers: the fixed random tensors of asymmetric layers, and the trainable initialisations we use.

* :func:`fixed_gaussian` draws the constants that define an architecture (W-Asym's ``F``, FiGLU's ``F``)
  from an explicit seed, so the same seed gives the same tensor in every process (Lim et al.'s code seeded
  them with Python's salted string hashing, so their masks were not reproducible).
* :func:`kaiming_normal_` re-initialises the weights of dense convolutions and linear maps with
  ``N(0, 2 / fan_in)`` (He et al. 2015), as the authors' zoo code does for its standard and σ-Asym ResNets
  (their W-Asym ResNets keep PyTorch's default ``kaiming_uniform(a=√5)``). It draws from torch's global
  generator: call it inside :func:`symlib.seeding.seeded`.

The theory-informed initialisation (seed 000 of the papers) will live here too.
"""
from __future__ import annotations

import torch
from torch import nn

from .seeding import numpy_rng


def fixed_gaussian(shape: tuple[int, ...] | torch.Size, std: float, seed: int, key: str) -> torch.Tensor:
    """``std · N(0, 1)`` of ``shape`` (float32), drawn from ``(seed, key)`` only; the global RNG is untouched."""
    generator = torch.Generator().manual_seed(int(numpy_rng(seed, key).integers(2**62)))
    return torch.randn(tuple(shape), generator=generator) * float(std)


def kaiming_normal_(model: nn.Module) -> nn.Module:
    """``kaiming_normal_`` (fan-in, ReLU gain) on every dense ``nn.Conv2d`` / ``nn.Linear`` weight of ``model``.

    Layers with fixed entries (anything with a ``mask`` buffer) keep their own initialisation. Returns ``model``.
    """
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)) and not hasattr(module, "mask"):
            nn.init.kaiming_normal_(module.weight)
    return model
