"""Evaluation of one network or many: mean loss and metrics on a data set, in eval mode, without gradients.

The loss comes from the objective; the metrics are named ones from :mod:`symlib.metrics` (accuracy, ECE, R²,
Kendall τ), each computed from a member's outputs on the whole set.

One core, :func:`evaluate_stacked`, evaluates a stacked population (:mod:`symlib.stacking`) on shared data;
:func:`evaluate_states` stacks state dicts a chunk at a time (vectorised on a GPU, one at a time on a CPU where
vmap'd convolutions are slower than a loop), and :func:`evaluate` wraps a single ``nn.Module``. Data are
``(X, y)`` tensors (evaluated in slices of ``batch_size``) or a :class:`~symlib.batches.FullGraph`.
"""
from __future__ import annotations

import copy
from typing import Mapping, Sequence

import torch
from torch import nn
from torch.func import vmap

from .batches import FullGraph
from .devices import resolve_device
from .metrics import check as check_metrics, get as get_metric
from .objectives import ELBO, CrossEntropy, MeanSquaredError, Objective
from .seeding import torch_generator
from .stacking import stack_states, vmapped_call

Data = tuple[torch.Tensor, torch.Tensor] | FullGraph


def _batches(data: Data, batch_size: int):
    if isinstance(data, FullGraph):
        yield (data.x, data.edge_index), data.y[data.mask], data.mask
        return
    X, y = data
    for i in range(0, len(X), batch_size):
        yield (X[i:i + batch_size],), y[i:i + batch_size], None


def default_metrics(objective: Objective) -> tuple[str, ...]:
    """The metrics reported when a caller names none: ``("r2",)`` for :class:`~symlib.objectives.MeanSquaredError`,
    ``("acc",)`` for every classification objective (what each objective reported before metrics were separate)."""
    return ("r2",) if isinstance(objective, MeanSquaredError) else ("acc",)


def predictions(objective: Objective, outputs: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """What the metrics read from a population's outputs ``(P, ...)``, and whether it holds probabilities: the
    outputs themselves (logits or regression values), except for :class:`~symlib.objectives.ELBO`, whose outputs
    ``(P, S, N, C)`` are logits of ``S`` Monte Carlo samples: its predictive is ``mean_s softmax`` ``(P, N, C)``,
    probabilities."""
    if isinstance(objective, ELBO):
        return torch.softmax(outputs, dim=-1).mean(1), True
    return outputs, False


@torch.no_grad()
def evaluate_stacked(base: nn.Module, params: Mapping[str, torch.Tensor], buffers: Mapping[str, torch.Tensor],
                     data: Data, *, objective: Objective | None = None,
                     hyper: Mapping[str, torch.Tensor] | None = None, batch_size: int = 1000,
                     metrics: Sequence[str] | None = None) -> dict[str, list[float]]:
    """``{"loss": [P values], metric: [P values] for metric in metrics}`` of the ``P`` stacked members on ``data``
    (all members see the same data). ``hyper[name]`` ``(P,)`` holds the objective's per-member hyper-parameters
    (e.g. label smoothing, default 0). The loss is the objective's mean over examples. ``metrics`` are names from
    :data:`symlib.metrics.METRICS` (default :func:`default_metrics` of the objective; ``()`` for none), each
    computed from a member's outputs on the whole set (:func:`predictions`; for a graph, its masked nodes), not
    averaged over batches. An objective's extra inputs (the ELBO's Monte Carlo noise) are drawn from one fixed
    generator and shared by all members, so evaluation is deterministic."""
    objective = objective or CrossEntropy()
    metrics = check_metrics(default_metrics(objective) if metrics is None else metrics)
    device = next(iter(params.values())).device
    n_members = next(iter(params.values())).shape[0]
    hyper = {f: (hyper[f] if hyper is not None and f in hyper else torch.zeros(n_members)).to(device)
             for f in objective.hyper_fields}
    was_training = base.training
    base.eval()
    total = torch.zeros(n_members, dtype=torch.float64)
    preds: list[torch.Tensor] = []
    labels: list[torch.Tensor] = []
    probabilities = False
    n = 0
    noise = torch_generator(0, "evaluation noise")
    try:
        for inputs, targets, select in _batches(data, batch_size):
            inputs = tuple(x.to(device) for x in (*inputs, *objective.extra_inputs(len(targets), noise)))
            targets = targets.to(device)
            out = vmapped_call(base, params, buffers, inputs, (None,) * len(inputs))
            if select is not None:
                out = out[:, select.to(device)]
            losses = vmap(objective.loss, in_dims=(0, None, 0, 0))(out, targets, hyper, {**params, **buffers})
            total += losses.double().cpu() * len(targets)
            if metrics:
                p, probabilities = predictions(objective, out)
                preds.append(p)
                labels.append(targets)
            n += len(targets)
    finally:
        base.train(was_training)
    result = {"loss": (total / n).tolist()}
    if metrics:
        outputs, targets = torch.cat(preds, dim=1), torch.cat(labels)
        for name in metrics:
            fn = get_metric(name)
            result[name] = [fn(outputs[j], targets, probabilities=probabilities) for j in range(n_members)]
    return result


@torch.no_grad()
def evaluate_states(model: nn.Module, states: Sequence[Mapping[str, torch.Tensor]], data: Data, *,
                    objective: Objective | None = None, hyper: Mapping[str, Sequence[float]] | None = None,
                    chunk: int | None = None, batch_size: int = 1000, device: str = "auto",
                    metrics: Sequence[str] | None = None) -> dict[str, list[float]]:
    """Loss and ``metrics`` (as in :func:`evaluate_stacked`) of many states of ``model``'s structure (its own
    weights are unused; every state carries its own parameters and buffers). ``hyper[name][k]`` is state ``k``'s
    hyper-parameter (e.g. label smoothing). ``chunk`` states are vectorised at once (default 32 on CUDA, 1 on a
    CPU)."""
    dev = resolve_device(device)
    chunk = chunk or (32 if dev.type == "cuda" else 1)
    base = copy.deepcopy(model).to("meta")
    out: dict[str, list[float]] = {}
    for c0 in range(0, len(states), chunk):
        params, buffers = stack_states(model, states[c0:c0 + chunk], dev)
        h = {k: torch.tensor(list(v[c0:c0 + chunk]), dtype=torch.float32) for k, v in (hyper or {}).items()}
        for k, v in evaluate_stacked(base, params, buffers, data, objective=objective, hyper=h,
                                     batch_size=batch_size, metrics=metrics).items():
            out.setdefault(k, []).extend(v)
    return out


def evaluate(model: nn.Module, X: torch.Tensor, y: torch.Tensor, *, objective: Objective | None = None,
             batch_size: int = 1000, device: str = "auto", metrics: Sequence[str] | None = None,
             **hyper: float) -> dict[str, float]:
    """``{"loss", metric...}`` of one network on ``(X, y)`` (e.g. ``evaluate(model, X, y)["acc"]``,
    ``evaluate(model, X, y, metrics=("acc", "ece"))["ece"]``); ``metrics`` as in :func:`evaluate_stacked`."""
    state = {k: v.detach() for k, v in model.state_dict().items()}
    res = evaluate_states(model, [state], (X, y), objective=objective, hyper={k: [v] for k, v in hyper.items()},
                          batch_size=batch_size, device=device, metrics=metrics)
    return {k: v[0] for k, v in res.items()}
