"""Initialisers: the fixed random tensors of asymmetric layers, and the trainable initialisations we use.

* :func:`fixed_gaussian` draws the constants that define an architecture (W-Asym's ``F``, FiGLU's ``F``)
  from an explicit seed, so the same seed gives the same tensor in every process (Lim et al.'s code seeded
  them with Python's salted string hashing, so their masks were not reproducible).
* :func:`kaiming_normal_` re-initialises the weights of dense convolutions and linear maps with
  ``N(0, 2 / fan_in)`` (He et al. 2015), as the authors' zoo code does for its standard and σ-Asym ResNets
  (their W-Asym ResNets keep PyTorch's default ``kaiming_uniform(a=√5)``). It draws from torch's global
  generator: call it inside :func:`symlib.seeding.seeded`.

* **Theory-Init** (seed 000 of the papers; only its abstract exists, so every detail below is the book's design):
  :func:`theory_init_` sets a ReLU network's first layer to deterministic rows (identical in every network of an
  architecture: they are part of its config), every square middle layer to ``I + Δ`` with
  ``Δ_ij ~ N(0, delta_std²)`` and zero bias, and the output layer to small ``N(0, out_std²)`` weights and a zero
  bias. ``Δ`` and the output layer come from torch's global generator (the member's ``init_seed``), so two
  Theory-Init networks of one architecture differ there only. On non-negative (post-ReLU) inputs ``I + Δ`` with
  ``Δ = 0`` is exactly the identity: ``ReLU(I h) = h`` for ``h ≥ 0``. Convolutions get the same construction with
  the identity kernel (a centred Dirac per channel) in place of ``I``.
* Rows: :func:`knot_rows` (a ReLU unit ``ReLU(s (x − t))`` per knot ``t`` of a piecewise-linear approximation of
  a known 1-D law, knots placed by :func:`curvature_knots`), :func:`arbitrary_rows` (the control: one He-distributed
  draw frozen by a seed), :func:`dct_filters` (the CNN's deterministic first-layer filters).
"""
from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
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


# ------------------------------------------------------------------------------------------------ Theory-Init

def identity_kernel(weight: torch.Tensor) -> torch.Tensor:
    """The identity of a square map's shape: ``I (n, n)`` for a linear weight, the centred Dirac kernel
    ``K[c, c, k//2, k//2] = 1`` for a conv weight ``(C, C, k, k)`` (odd ``k``, padding ``k//2``)."""
    if weight.dim() == 2:
        if weight.shape[0] != weight.shape[1]:
            raise ValueError(f"I + Δ needs a square layer, got {tuple(weight.shape)}")
        return torch.eye(weight.shape[0], dtype=weight.dtype)
    if weight.dim() == 4:
        c_out, c_in, kh, kw = weight.shape
        if c_out != c_in or kh != kw or kh % 2 == 0:
            raise ValueError(f"I + Δ needs a square conv with an odd kernel, got {tuple(weight.shape)}")
        k = torch.zeros_like(weight)
        k[torch.arange(c_out), torch.arange(c_out), kh // 2, kw // 2] = 1.0
        return k
    raise ValueError(f"identity_kernel: a linear or conv weight expected, got shape {tuple(weight.shape)}")


@torch.no_grad()
def theory_init_(first: nn.Module, middle: Sequence[nn.Module], last: nn.Module, rows: torch.Tensor,
                 delta_std: float, out_std: float) -> None:
    """Theory-Init of one network, in place (draws from torch's global generator: call inside
    :func:`symlib.seeding.seeded`).

    * ``first`` (``nn.Linear (n, d)`` or ``nn.Conv2d (n, c, k, k)``): weight = ``rows`` without its last column when
      the layer has a bias, and bias = that last column (``rows (n, d + 1)``, or ``(n, d)`` without bias; for a conv
      ``rows (n, c·k·k [+ 1])``, reshaped);
    * every ``middle`` layer (square): weight = ``I + Δ``, ``Δ_ij ~ N(0, delta_std²)``, bias = 0;
    * ``last``: weight ``~ N(0, out_std²)``, bias = 0.
    """
    rows = torch.as_tensor(rows, dtype=first.weight.dtype)
    n_w = first.weight[0].numel()
    if rows.shape != (first.weight.shape[0], n_w + (first.bias is not None)):
        raise ValueError(f"rows of shape {tuple(rows.shape)} do not fit the first layer: need "
                         f"({first.weight.shape[0]}, {n_w + (first.bias is not None)}) (weights then bias)")
    first.weight.copy_(rows[:, :n_w].reshape(first.weight.shape))
    if first.bias is not None:
        first.bias.copy_(rows[:, n_w])
    for layer in middle:
        layer.weight.copy_(identity_kernel(layer.weight) + delta_std * torch.randn_like(layer.weight))
        if layer.bias is not None:
            layer.bias.zero_()
    last.weight.copy_(out_std * torch.randn_like(last.weight))
    if last.bias is not None:
        last.bias.zero_()


def he_init_(model: nn.Module) -> nn.Module:
    """The He baseline beside Theory-Init: :func:`kaiming_normal_` weights, PyTorch's default biases
    (``U(−1/√fan_in, 1/√fan_in)``: with a 1-D input a zero bias would put every first-layer knot at ``x = 0``)."""
    return kaiming_normal_(model)


def curvature_knots(law: Callable[[np.ndarray], np.ndarray], lo: float, hi: float, n: int,
                    floor: float = 0.05, grid: int = 4001) -> np.ndarray:
    """``n`` knots on ``[lo, hi]`` for a piecewise-linear approximation of ``law``, placed with density
    ``ρ(x) ∝ |f''(x)|^{1/2} + floor · mean|f''|^{1/2}`` (the asymptotically optimal density for the L∞ error
    of linear interpolation, de Boor 1973; the floor keeps knots where ``f`` is straight), at the quantiles
    ``(k + ½)/n`` of ``ρ``. ``f''`` by central differences on ``grid`` points. Returns ``(n,)`` increasing."""
    if n < 1 or not hi > lo:
        raise ValueError(f"curvature_knots needs n >= 1 and hi > lo, got n={n}, [{lo}, {hi}]")
    x = np.linspace(lo, hi, grid)
    f = np.asarray(law(x), dtype=float)
    d2 = np.gradient(np.gradient(f, x), x)
    rho = np.sqrt(np.abs(d2))
    rho = rho + floor * max(rho.mean(), 1e-12)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (rho[1:] + rho[:-1]) * np.diff(x))])
    return np.interp((np.arange(n) + 0.5) / n * cdf[-1], cdf, x)


def knot_rows(knots: np.ndarray, slope: float = 1.0, directions: np.ndarray | None = None) -> np.ndarray:
    """First-layer rows ``(n, 2)`` (weight, bias) for a 1-D input: unit ``k`` computes
    ``ReLU(s_k · slope · (x − t_k))``, a hinge at knot ``t_k`` (``s_k = ±1``, default alternating ``+, −``, so that
    hinges open to both sides of the domain). ``Σ_k a_k ReLU(...)`` then spans the piecewise-linear functions
    with these knots."""
    t = np.asarray(knots, dtype=float)
    s = np.where(np.arange(len(t)) % 2 == 0, 1.0, -1.0) if directions is None else np.asarray(directions, float)
    w = s * slope
    return np.stack([w, -w * t], axis=1)


def arbitrary_rows(n: int, d: int, seed: int, key: str = "arbitrary rows", bias: bool = True) -> np.ndarray:
    """The control rows: one He-distributed first layer frozen by ``(seed, key)`` (weights ``N(0, 2/d)``, bias
    ``U(−1/√d, 1/√d)`` as PyTorch's default), ``(n, d + 1)`` (``(n, d)`` without bias). Deterministic, identical in
    every network that uses them, and carrying no knowledge of any task."""
    rng = numpy_rng(seed, key, n, d)
    w = rng.normal(0.0, np.sqrt(2.0 / d), size=(n, d))
    if not bias:
        return w
    return np.concatenate([w, rng.uniform(-1 / np.sqrt(d), 1 / np.sqrt(d), size=(n, 1))], axis=1)


def dct_filters(n: int, channels: int, size: int) -> np.ndarray:
    """The CNN's deterministic first-layer filters ``(n, channels, size, size)``: 2-D DCT-II basis patterns of
    increasing frequency ``(u, v)`` (ordered by ``u + v``, then ``u``) times a colour pattern (luminance
    ``(1,1,1)/√3``, then the opponent pairs ``(1,−1,0)/√2``, ``(1,1,−2)/√6``; one channel: 1), each scaled to norm
    ``√2`` (the expected norm of a He row, ``E‖w‖² = fan_in · 2/fan_in``). Filter ``k`` uses frequency ``k // m``
    and colour ``k % m`` (``m`` = number of colour patterns); ``n`` may not exceed ``size² · m``."""
    colours = np.array([[1.0]]) if channels == 1 else np.array(
        [[1, 1, 1], [1, -1, 0], [1, 1, -2]], dtype=float)[:, :channels]
    colours = colours / np.linalg.norm(colours, axis=1, keepdims=True)
    m = len(colours)
    if n > size * size * m:
        raise ValueError(f"dct_filters: at most {size * size * m} distinct filters of size {size}, asked for {n}")
    freqs = sorted(((u, v) for u in range(size) for v in range(size)), key=lambda uv: (uv[0] + uv[1], uv[0]))
    i = np.arange(size)
    out = np.empty((n, channels, size, size))
    for k in range(n):
        u, v = freqs[k // m]
        pattern = np.outer(np.cos(np.pi * (i + 0.5) * u / size), np.cos(np.pi * (i + 0.5) * v / size))
        f = colours[k % m][:, None, None] * pattern[None]
        out[k] = np.sqrt(2.0) * f / np.linalg.norm(f)
    return out
