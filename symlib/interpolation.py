"""Linear interpolation between two trained networks, and loss barriers.

The curve is ``L((1 − α) θ_a + α θ_b)`` on evaluation data (``(X, y)`` tensors or a
:class:`~symlib.batches.FullGraph`). Floating-point parameters are interpolated. Buffers are handled explicitly:
architecture buffers (W-Asym masks and constants, FiGLU's ``F``) and other non-float buffers must be identical
in both models — they define the architecture, so two models that differ there cannot be interpolated — except
BatchNorm's counter ``num_batches_tracked``, which is not architecture: the interpolated point takes the counter of
the nearer endpoint (``a`` for ``α ≤ ½``). Other float buffers (running statistics) are interpolated like
parameters; since the statistics of an interpolated network are not the interpolated statistics, the curve can
instead **re-estimate** them at every point (``reset_data``: :func:`symlib.batchnorm.reset_statistics`, passes over
training data in train mode without gradients), as Lim et al. do for their GNN and every BatchNorm connectivity
study since REPAIR (Jordan et al. 2023).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from .batchnorm import has_batchnorm, reset_statistics
from .evaluation import Data, evaluate_states
from .layers import fixed_buffer_names


def interpolate_state(model: nn.Module, state_a: Mapping[str, torch.Tensor], state_b: Mapping[str, torch.Tensor],
                      alpha: float) -> dict[str, torch.Tensor]:
    """``(1 − α)·a + α·b`` for interpolable entries; identical-by-requirement entries copied from ``a``."""
    if set(state_a) != set(state_b):
        raise ValueError(f"state dicts differ in keys: {sorted(set(state_a) ^ set(state_b))}")
    fixed = set(fixed_buffer_names(model))
    out = {}
    for name, wa in state_a.items():
        wb = state_b[name]
        if name.endswith("num_batches_tracked") and name not in fixed:
            out[name] = wa if alpha <= 0.5 else wb
        elif name in fixed or not torch.is_floating_point(wa):
            if not torch.equal(wa, wb):
                raise ValueError(f"{name!r} must be identical in both models (it is a fixed architecture buffer "
                                 f"or an integer buffer); interpolating different architectures is undefined")
            out[name] = wa
        else:
            out[name] = torch.lerp(wa, wb.to(wa.dtype), float(alpha))
    return out


def interpolation_curves(model: nn.Module,
                         pairs: Sequence[tuple[Mapping[str, torch.Tensor], Mapping[str, torch.Tensor]]],
                         alphas: Sequence[float], data: Data, *, label_smoothing: Sequence[float] | None = None,
                         metrics: Sequence[str] = ("acc",), reset_data: Data | None = None, device: str = "auto",
                         states_at_once: int = 256) -> list[dict[str, list[float]]]:
    """``L((1 − α) θ_a + α θ_b)`` and metrics along it, for many pairs ``(θ_a, θ_b)`` of ``model``'s structure.

    Returns per pair ``{"alpha": [...], "loss": [...], <metric>: [...]}`` (mean cross-entropy in nats, with pair
    ``k``'s ``label_smoothing[k]``, default 0; ``metrics`` from :mod:`symlib.metrics`, accuracy in [0, 1]) on
    ``data``. With ``reset_data`` (training data) a model with BatchNorm gets its running statistics re-estimated at
    every α, endpoints included, before it is measured; without BatchNorm ``reset_data`` changes nothing. States go
    to :func:`symlib.evaluation.evaluate_states` (vectorised on a GPU) at most ``states_at_once`` at a time, so
    memory stays bounded for large zoos. ``model`` is only a template (its weights are unused).
    """
    smoothing = list(label_smoothing) if label_smoothing is not None else [0.0] * len(pairs)
    per_call = max(1, states_at_once // max(1, len(alphas)))
    reset = reset_data is not None and has_batchnorm(model)
    curves: list[dict[str, list[float]]] = []
    for c0 in range(0, len(pairs), per_call):
        group = pairs[c0:c0 + per_call]
        states = [interpolate_state(model, a, b, float(t)) for a, b in group for t in alphas]
        if reset:
            states = reset_statistics(model, states, reset_data, device=device)
        res = evaluate_states(model, states, data, device=device, metrics=metrics,
                              hyper={"label_smoothing": [v for v in smoothing[c0:c0 + per_call] for _ in alphas]})
        for j in range(len(group)):
            part = slice(j * len(alphas), (j + 1) * len(alphas))
            curves.append({"alpha": [float(a) for a in alphas], **{k: v[part] for k, v in res.items()}})
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


def mli_metrics(alpha: Sequence[float], loss: Sequence[float], tolerance: float = 0.01) -> dict[str, float]:
    """Monotonic-linear-interpolation metrics of a loss curve from initialisation (α=0) to the end (α=1).

    Lim et al. (2024), Table 4, on an evenly spaced grid ``α_0 < … < α_{K-1}``:

    * ``delta`` ``Δ = max_i L(α_{i+1}) − L(α_i)``; the curve is ``monotonic`` when ``Δ ≤ 0``;
    * ``local_convexity``: share of interior ``α_i`` whose centred second difference
      ``L(α_{i+1}) − 2L(α_i) + L(α_{i−1})`` is ``≥ 0``;
    * ``global_convexity``: share of all ``α_i`` with ``L(α_i) ≤ (1 − α_i) L(α_0) + α_i L(α_{K−1})``, the chord from
      the *first* to the *last* point (the paper's definition; the authors' code drew it to the second point).

    Robustness views: ``global_convexity_interior`` counts interior points only (the authors' code);
    ``monotonic_tolerant`` ignores rises smaller than ``tolerance`` × the total drop ``L(0) − L(1)`` (a curve that
    does not drop at all gets no tolerance); ``rise_alpha`` is the ``α`` at which the largest rise ends and
    ``rise_is_last_step`` says whether it is the final step, into ``α = 1``.
    """
    a, l = np.asarray(alpha, dtype=float), np.asarray(loss, dtype=float)
    if a.ndim != 1 or len(a) < 3 or not np.isclose(a[0], 0) or not np.isclose(a[-1], 1):
        raise ValueError("need >= 3 α values from 0 to 1")
    if not np.allclose(np.diff(a), a[1] - a[0]):
        raise ValueError("α must be evenly spaced for the second differences")
    steps = np.diff(l)
    delta = float(np.max(steps))
    below = l <= (1 - a) * l[0] + a * l[-1]
    allowed = tolerance * max(float(l[0] - l[-1]), 0.0)
    return {"delta": delta, "monotonic": float(delta <= 0),
            "local_convexity": float(np.mean(l[2:] - 2 * l[1:-1] + l[:-2] >= 0)),
            "global_convexity": float(np.mean(below)), "global_convexity_interior": float(np.mean(below[1:-1])),
            "monotonic_tolerant": float(delta <= allowed), "rise_alpha": float(a[int(np.argmax(steps)) + 1]),
            "rise_is_last_step": float(int(np.argmax(steps)) == len(steps) - 1)}
