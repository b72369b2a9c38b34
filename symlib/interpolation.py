"""Linear interpolation between two trained networks, and loss barriers.

The curve is ``L((1 − α) θ_a + α θ_b)`` on evaluation data. Floating-point
parameters are interpolated. Buffers are handled explicitly: architecture
buffers (W-Asym masks and constants, FiGLU's ``F``) and non-float buffers
(e.g. ``num_batches_tracked``) must be identical in both models — they define
the architecture, so two models that differ there cannot be interpolated — and
other float buffers (running statistics) are interpolated like parameters.
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from .layers import fixed_buffer_names
from .train import evaluate


def interpolate_state(model: nn.Module, state_a: Mapping[str, torch.Tensor], state_b: Mapping[str, torch.Tensor],
                      alpha: float) -> dict[str, torch.Tensor]:
    """``(1 − α)·a + α·b`` for interpolable entries; identical-by-requirement entries copied from ``a``."""
    if set(state_a) != set(state_b):
        raise ValueError(f"state dicts differ in keys: {sorted(set(state_a) ^ set(state_b))}")
    fixed = set(fixed_buffer_names(model))
    out = {}
    for name, wa in state_a.items():
        wb = state_b[name]
        if name in fixed or not torch.is_floating_point(wa):
            if not torch.equal(wa, wb):
                raise ValueError(f"{name!r} must be identical in both models (it is a fixed architecture buffer "
                                 f"or an integer buffer); interpolating different architectures is undefined")
            out[name] = wa
        else:
            out[name] = torch.lerp(wa, wb.to(wa.dtype), float(alpha))
    return out


def interpolation_curve(model: nn.Module, state_a, state_b, X: torch.Tensor, y: torch.Tensor,
                        alphas: Sequence[float], batch_size: int = 2000, device: str = "cpu") -> dict[str, list[float]]:
    """Loss and accuracy of ``model`` loaded with the interpolated weights at each ``α``.

    ``X (N, ...)``, ``y (N,)``; returns ``{"alpha": [...], "loss": [...], "acc": [...]}``
    with mean cross-entropy (nats) and accuracy in [0, 1]. ``model`` is used as
    a template (its weights are overwritten).
    """
    losses, accs = [], []
    for alpha in alphas:
        model.load_state_dict(interpolate_state(model, state_a, state_b, alpha))
        loss, acc = evaluate(model, X, y, batch_size=batch_size, device=device)
        losses.append(loss)
        accs.append(acc)
    return {"alpha": [float(a) for a in alphas], "loss": losses, "acc": accs}


def interpolation_losses(make_model: Callable[[], nn.Module],
                         pairs: Sequence[tuple[Mapping[str, torch.Tensor], Mapping[str, torch.Tensor]]],
                         alphas: Sequence[float], X: torch.Tensor, y: torch.Tensor,
                         label_smoothing: Sequence[float] | None = None, device: str = "auto",
                         states_at_once: int = 256) -> list[list[float]]:
    """Loss curves ``L((1 − α) θ_a + α θ_b)`` for many pairs ``(θ_a, θ_b)`` of one architecture.

    Returns one list of ``len(alphas)`` mean losses (nats) per pair, pair ``k`` with label smoothing
    ``label_smoothing[k]`` (default 0). States go to :func:`symlib.population.evaluate_states` (vectorised on
    a GPU) at most ``states_at_once`` at a time, so memory stays bounded for large zoos.
    """
    from .population import evaluate_states  # population imports train; keep this module light to import

    template = make_model()  # names the fixed buffers, which must agree at both ends
    ls = list(label_smoothing) if label_smoothing is not None else [0.0] * len(pairs)
    per_call = max(1, states_at_once // max(1, len(alphas)))
    curves: list[list[float]] = []
    for c0 in range(0, len(pairs), per_call):
        group = pairs[c0:c0 + per_call]
        states = [interpolate_state(template, a, b, float(t)) for a, b in group for t in alphas]
        losses, _ = evaluate_states(make_model, states, X, y, [v for v in ls[c0:c0 + per_call] for _ in alphas],
                                    device=device)
        curves += [losses[j * len(alphas):(j + 1) * len(alphas)] for j in range(len(group))]
    return curves


def midpoint_barrier(alpha: Sequence[float], loss: Sequence[float]) -> float:
    """Lim et al.'s Table-1 barrier ``L(θ½) − (L(θ_a) + L(θ_b))/2``; needs ``α = 0.5`` on the grid."""
    alpha, loss = np.asarray(alpha), np.asarray(loss)
    mid = np.flatnonzero(np.isclose(alpha, 0.5))
    if mid.size != 1 or not np.isclose(alpha[0], 0) or not np.isclose(alpha[-1], 1):
        raise ValueError("the α grid must start at 0, end at 1 and contain 0.5 (use an odd number of points)")
    return float(loss[mid[0]] - 0.5 * (loss[0] + loss[-1]))


def max_barrier(alpha: Sequence[float], loss: Sequence[float]) -> float:
    """``max_α L(α) − ((1 − α) L(0) + α L(1))`` (Frankle et al. 2020; Ainsworth et al. 2023)."""
    alpha, loss = np.asarray(alpha), np.asarray(loss)
    return float(np.max(loss - ((1 - alpha) * loss[0] + alpha * loss[-1])))


def mli_metrics(alpha: Sequence[float], loss: Sequence[float]) -> dict[str, float]:
    """Monotonic-linear-interpolation metrics of a loss curve from initialisation (α=0) to the end (α=1).

    Lim et al. (2024), Table 4, on an evenly spaced grid ``α_0 < … < α_{K-1}``:

    * ``delta`` ``Δ = max_i L(α_{i+1}) − L(α_i)``; the curve is *monotonic* when ``Δ ≤ 0``;
    * ``local_convexity``: share of interior ``α_i`` whose centred second difference
      ``L(α_{i+1}) − 2L(α_i) + L(α_{i−1})`` is ``≥ 0``;
    * ``global_convexity``: share of all ``α_i`` with ``L(α_i) ≤ (1 − α_i) L(α_0) + α_i L(α_{K−1})`` — the
      chord from the *first* to the *last* point (the authors' code drew it to the second point, a bug).
    """
    a, l = np.asarray(alpha, dtype=float), np.asarray(loss, dtype=float)
    if a.ndim != 1 or len(a) < 3 or not np.isclose(a[0], 0) or not np.isclose(a[-1], 1):
        raise ValueError("need >= 3 α values from 0 to 1")
    if not np.allclose(np.diff(a), a[1] - a[0]):
        raise ValueError("α must be evenly spaced for the second differences")
    delta = float(np.max(np.diff(l)))
    chord = (1 - a) * l[0] + a * l[-1]
    return {"delta": delta, "monotonic": float(delta <= 0),
            "local_convexity": float(np.mean(l[2:] - 2 * l[1:-1] + l[:-2] >= 0)),
            "global_convexity": float(np.mean(l <= chord))}
