"""Symmetry-breaking layers of Lim et al. (2024), Section 4.

* :class:`WAsymLinear` / :class:`WAsymConv2d` — the W-Asymmetric linear map
  (Lim et al., Eq. 2):  ``W' = M ⊙ W + (1 − M) ⊙ F``.
  ``M`` is a 0/1 mask with exactly ``n_fix`` zeros in every row (every output
  unit / output channel), rows pairwise distinct (needed by Theorem 1), and
  ``F`` holds i.i.d. ``N(0, κ²)`` constants that are never trained.
* :class:`FiGLU` — the σ-Asymmetric nonlinearity (Lim et al., Eq. 4):
  ``σ(x) = sigmoid(F x) ⊙ x`` with a fixed Gaussian ``F``.

``M`` and ``F`` are buffers derived from an explicit integer seed (see
:mod:`symlib.seeding` and :func:`symlib.init.fixed_gaussian`), so the same seed gives the same architecture
in every process. The effective weight is computed in ``forward`` (no in-place writes
to ``.data``), so the layers work under ``torch.func`` and ``torch.compile``.

Each module lists the names of its architecture-defining buffers in
``fixed_buffers``: two models can only be interpolated or compared when those
buffers are identical (see :func:`fixed_buffer_names`).
"""
from __future__ import annotations

import math
from typing import Mapping

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F_

from .init import fixed_gaussian
from .seeding import numpy_rng

__all__ = ["distinct_row_mask", "fixed_entry_mask", "WAsymLinear", "WAsymConv2d", "FiGLU", "fixed_buffer_names", "trainable_entries",
           "trainable_parameters"]


def distinct_row_mask(rows: int, cols: int, n_fix: int, seed: int, max_tries: int = 1000) -> np.ndarray:
    """Boolean mask of shape ``(rows, cols)``: ``True`` = trainable, ``False`` = fixed.

    Every row has exactly ``n_fix`` ``False`` entries at uniformly random
    positions, and all rows are pairwise distinct (Lim et al., Theorem 1).
    Duplicated rows are redrawn; if ``C(cols, n_fix) < rows`` distinct rows
    cannot exist and a ``ValueError`` says so. The one exception is a fully
    fixed layer, ``n_fix == cols`` (the 3-channel stem of the zoo's W-Asym
    ResNet, whose every filter is fixed): all rows are ``False``, and its
    output units differ only through ``F``.
    """
    if not 0 <= n_fix <= cols:
        raise ValueError(f"n_fix={n_fix} must lie in [0, fan_in={cols}]")
    if n_fix == cols:
        return np.zeros((rows, cols), dtype=bool)
    if rows > 1 and math.comb(cols, n_fix) < rows:
        raise ValueError(
            f"cannot draw {rows} pairwise-distinct mask rows with {n_fix} fixed entries out of {cols} "
            f"(only C({cols},{n_fix})={math.comb(cols, n_fix)} patterns exist); change n_fix"
        )
    rng = numpy_rng(seed, "distinct_row_mask", rows, cols, n_fix)

    def draw(k: int) -> np.ndarray:
        fixed = np.argsort(rng.random((k, cols)), axis=1)[:, :n_fix]
        m = np.ones((k, cols), dtype=bool)
        np.put_along_axis(m, fixed, False, axis=1)
        return m

    mask = draw(rows)
    for _ in range(max_tries):
        _, first = np.unique(mask, axis=0, return_index=True)
        dup = np.setdiff1d(np.arange(rows), first)
        if dup.size == 0 or n_fix == 0:
            return mask
        mask[dup] = draw(dup.size)
    raise RuntimeError(f"could not draw distinct mask rows in {max_tries} tries")


def fixed_entry_mask(weight_shape: tuple[int, ...], n_fix: int, seed: int, fix: str = "entries") -> np.ndarray:
    """The W-Asym mask of a weight of ``weight_shape`` (``(out, in)`` or ``(out, in, kh, kw)``), flattened to
    ``(out, in·kh·kw)``, ``True`` = trainable: ``n_fix`` fixed entries per output unit (``fix="entries"``), or for a
    convolution ``n_fix`` fixed whole ``kh×kw`` input filters (``fix="filters"``); rows pairwise distinct
    (:func:`distinct_row_mask`). The one mask mechanism of every W-Asym layer, deterministic and Bayesian."""
    if fix not in ("entries", "filters"):
        raise ValueError(f"fix must be 'entries' or 'filters', got {fix!r}")
    out, c_in = int(weight_shape[0]), int(weight_shape[1])
    kk = math.prod(int(k) for k in weight_shape[2:])
    if fix == "entries":
        return distinct_row_mask(out, c_in * kk, n_fix, seed)
    return np.repeat(distinct_row_mask(out, c_in, n_fix, seed), kk, axis=1)


class _FixedEntries:
    """Mixin holding the mask ``M`` and the constants ``F`` of a W-Asymmetric weight."""

    fixed_buffers = ("mask", "fixed")
    #: parameters whose trailing dimensions are the mask's: their entries at fixed positions are not trained
    masked_parameters = ("weight",)
    weight: nn.Parameter

    def _install_fixed_entries(self, mask: np.ndarray, kappa: float, seed: int) -> None:
        shape = self.weight.shape
        m = torch.from_numpy(mask).reshape(shape)
        f = fixed_gaussian(shape, kappa, seed, "F").to(self.weight.dtype)
        f = torch.where(m, torch.zeros_like(f), f)
        self.register_buffer("mask", m)  # bool: True = trainable
        self.register_buffer("fixed", f)  # F at the fixed positions, 0 elsewhere
        with torch.no_grad():  # the trainable tensor holds only trainable values
            self.weight.mul_(m)

    @property
    def effective_weight(self) -> torch.Tensor:
        """``M ⊙ W + (1 − M) ⊙ F`` — the weight the layer actually applies."""
        return torch.where(self.mask, self.weight, self.fixed)


class WAsymLinear(_FixedEntries, nn.Linear):
    """W-Asymmetric linear layer, ``y = (M ⊙ W + (1 − M) ⊙ F) x + b``.

    Shapes: ``x (..., in_features) -> y (..., out_features)``; ``W, M, F``
    are ``(out_features, in_features)``. ``n_fix`` entries of every row are
    fixed to ``F ~ N(0, kappa²)``. Biases are untouched (trainable).
    """

    def __init__(self, in_features: int, out_features: int, n_fix: int, kappa: float, seed: int,
                 bias: bool = True) -> None:
        super().__init__(in_features, out_features, bias=bias)
        self.n_fix, self.kappa, self.seed = int(n_fix), float(kappa), int(seed)
        self._install_fixed_entries(fixed_entry_mask(self.weight.shape, self.n_fix, self.seed), self.kappa, self.seed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F_.linear(x, self.effective_weight, self.bias)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, n_fix={self.n_fix}, kappa={self.kappa}"


class WAsymConv2d(_FixedEntries, nn.Conv2d):
    """W-Asymmetric 2-D convolution.

    Weight shape ``(C_out, C_in, k, k)``. ``fix="entries"`` fixes ``n_fix``
    of the ``C_in·k·k`` entries of each output channel (Lim et al., Tables 6-7);
    ``fix="filters"`` fixes ``n_fix`` whole ``k×k`` filters (input channels)
    of each output channel (Section 4.3). Mask rows are pairwise distinct over
    output channels.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, n_fix: int, kappa: float,
                 seed: int, fix: str = "entries", stride: int = 1, padding: int = 0, bias: bool = True) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=bias)
        if fix not in ("entries", "filters"):
            raise ValueError(f"fix must be 'entries' or 'filters', got {fix!r}")
        self.n_fix, self.kappa, self.seed, self.fix = int(n_fix), float(kappa), int(seed), fix
        self._install_fixed_entries(fixed_entry_mask(self.weight.shape, self.n_fix, self.seed, fix), self.kappa,
                                    self.seed)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, self.effective_weight, self.bias)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, n_fix={self.n_fix}, kappa={self.kappa}, fix={self.fix}"


class FiGLU(nn.Module):
    """Fixed Gated Linear Unit, ``σ(x) = sigmoid(F x) ⊙ x`` (Lim et al., Eq. 4).

    ``F`` is a fixed ``(features, features)`` matrix with i.i.d. ``N(0, std²)``
    entries. Input ``(B, features)`` or ``(B, features, *spatial)``; for images
    ``F`` acts as a 1×1 convolution mixing channels.
    """

    fixed_buffers = ("F",)

    def __init__(self, features: int, std: float, seed: int) -> None:
        super().__init__()
        self.features, self.std, self.seed = int(features), float(std), int(seed)
        self.register_buffer("F", fixed_gaussian((features, features), self.std, seed, "FiGLU"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = torch.einsum("oc,bc...->bo...", self.F, x)
        return torch.sigmoid(gate) * x

    def as_data(self) -> "FiGLU":
        """This gate with ``F`` an ordinary buffer, no longer architecture-defining: interpolated and permuted like a
        weight (the *permutable twin* of a σ-Asym network, :func:`symlib.identifiability.permutable_twin`).
        Returns ``self``."""
        self.fixed_buffers = ()
        return self

    def extra_repr(self) -> str:
        return f"features={self.features}, std={self.std:.4g}"


def gate_is_data(module: nn.Module) -> bool:
    """Whether ``module`` is a FiGLU whose ``F`` is data (:meth:`FiGLU.as_data`), so a permutation spec lists it."""
    return isinstance(module, FiGLU) and "F" not in module.fixed_buffers


def fixed_buffer_names(model: nn.Module) -> list[str]:
    """Qualified names of all architecture-defining buffers (masks, ``F``) in ``model``."""
    names = []
    for prefix, module in model.named_modules():
        for b in getattr(module, "fixed_buffers", ()):
            names.append(f"{prefix}.{b}" if prefix else b)
    return names


def trainable_entries(state: Mapping[str, torch.Tensor], model: nn.Module) -> torch.Tensor:
    """The *trainable* scalars of ``state`` (a state dict of ``model``'s architecture) as one flat vector, in
    ``model.named_parameters()`` order; the entries a W-Asym ``mask`` fixes are left out of every parameter the
    module lists in ``masked_parameters`` (default ``("weight",)``; a Bayesian layer of :mod:`symlib.variational`
    also lists its factor ``weight_factor (k, *W)`` and learned ``weight_log_var``, whose fixed positions never
    move either)."""
    parts = []
    for prefix, module in model.named_modules():
        mask = getattr(module, "mask", None)
        masked = getattr(module, "masked_parameters", ("weight",))
        for name, _ in module.named_parameters(recurse=False):
            w = state[f"{prefix}.{name}" if prefix else name]
            if mask is not None and name in masked:
                parts.append(w.reshape(-1, mask.numel())[:, mask.flatten()].flatten())
            else:
                parts.append(w.flatten())
    return torch.cat(parts)


def trainable_parameters(model: nn.Module) -> int:
    """Number of *trainable* scalars, those an optimiser moves: the fixed entries of W-Asym layers do not count.
    A Bayesian layer (:mod:`symlib.variational`) counts its variational parameters at trainable positions: means,
    rank-``k`` factor and, when learned, log-variances, so ``(k + 1)·D`` (``(k + 2)·D`` with ``learn_diag``) for
    a posterior over ``D`` weights and biases; :func:`symlib.variational.posterior_dimension` counts ``D``."""
    return trainable_entries(model.state_dict(), model).numel()
