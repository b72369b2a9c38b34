"""BatchNorm running statistics recomputed for given weights (e.g. at points interpolated between two networks).

Interpolating two networks' parameters does not interpolate the statistics of their activations, so a BatchNorm
network at ``θ(α) = (1 − α) θ_a + α θ_b`` must have its running statistics recomputed from data before it is
evaluated (Ainsworth et al. 2023 reset them after interpolating; Lim et al. 2024 at every α of their GNN barrier).
:func:`reset_statistics` does this for a list of state dicts: for every BatchNorm module (with running
statistics) it resets them and re-estimates them as the *cumulative* average over forward passes in train mode:
torch's ``momentum=None``, which after the ``k``-th batch sets

    running_mean_k = running_mean_{k−1} + (mean_k − running_mean_{k−1}) / k,

so after ``K`` batches ``running_mean = (1/K) Σ_k mean_k`` and ``running_var = (1/K) Σ_k var_k``, with
``mean_k (C,)`` the batch mean and ``var_k (C,)`` the **unbiased** batch variance (divisor ``m − 1``) over the
``m`` values per channel of batch ``k`` (``m = B`` for ``(B, C)``, ``B·H·W`` for ``(B, C, H, W)``), and
``num_batches_tracked = K``.
"""
from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from .batches import FullGraph
from .devices import resolve_device

__all__ = ["has_batchnorm", "reset_statistics"]

State = Mapping[str, torch.Tensor]


def _tracking(model: nn.Module) -> dict[str, _BatchNorm]:
    """``{qualified name: module}`` of the BatchNorm modules that keep running statistics."""
    return {name: m for name, m in model.named_modules()
            if isinstance(m, _BatchNorm) and m.track_running_stats and m.running_mean is not None}


def has_batchnorm(model: nn.Module) -> bool:
    """Whether ``model`` has a BatchNorm module (``BatchNorm1d/2d/3d``, ``SyncBatchNorm``) that keeps running
    statistics (``track_running_stats=True``): the modules :func:`reset_statistics` recomputes."""
    return bool(_tracking(model))


def _inputs(data, batch_size: int):
    """Positional inputs of each forward pass: ``X`` in slices of ``batch_size`` without the last smaller slice
    (unless it is the only one)."""
    X = data[0] if isinstance(data, (tuple, list)) else data
    n = len(X)
    stop = n - n % batch_size if n >= batch_size else n  # drop the smaller last batch, unless it is all there is
    step = batch_size if n >= batch_size else max(n, 1)
    for i in range(0, stop, step):
        yield (X[i:i + step],)


@torch.no_grad()
def reset_statistics(model: nn.Module, states: Sequence[State], data, *, device: str | torch.device = "auto",
                     batch_size: int = 1000, passes: int = 1) -> list[dict[str, torch.Tensor]]:
    """Each state with its BatchNorm running statistics recomputed on ``data`` (module docstring: the equations).

    For each state dict: load it into a copy of ``model`` on ``device`` (``"auto"``: CUDA when available), reset
    every tracking BatchNorm (``reset_running_stats()``: mean 0, variance 1, ``num_batches_tracked`` 0), set its
    ``momentum=None`` (cumulative average), put the whole copy in train mode (so dropout, if any, is active, as
    during training) and run ``passes`` sweeps of forward passes over ``data`` under ``torch.no_grad``; no
    parameter changes. ``model`` itself is not modified (its weights, buffers, ``momentum`` and training flag
    stay as they are).

    ``data``: ``(X, y)`` tensors (or ``X`` alone): ``model(X[i:i + batch_size])`` for consecutive slices; the last
    slice, when smaller than ``batch_size``, is **not used** (the cumulative average weights every batch
    equally, so every batch has ``batch_size`` examples), unless ``X`` has fewer than ``batch_size`` examples
    (then one batch of all of them). Or a :class:`~symlib.batches.FullGraph`: one pass ``model(x, edge_index)``
    over the whole graph (all nodes, as in full-batch training) per sweep. ``num_batches_tracked`` ends at
    ``passes × (batches per sweep)``.

    Returns new dicts: the BatchNorm buffers (``running_mean``, ``running_var``, ``num_batches_tracked``) are
    new tensors on the device and dtype of the state's own; every other entry is the state's own tensor (not
    copied). When ``model`` has no tracking BatchNorm, ``states`` come back unchanged: the same dict objects.
    """
    modules = _tracking(model)
    if not modules:
        return list(states)
    if batch_size < 1 or passes < 1:
        raise ValueError(f"batch_size and passes must be >= 1, got {batch_size} and {passes}")
    dev = resolve_device(device)
    work = copy.deepcopy(model)
    if any(t.is_meta for t in (*work.parameters(), *work.buffers())):
        work = work.to_empty(device=dev)
    else:
        work = work.to(dev)
    bns = _tracking(work)
    buffers = [f"{name}.{b}" for name in bns for b in ("running_mean", "running_var", "num_batches_tracked")]
    graph = (data.x.to(dev), data.edge_index.to(dev)) if isinstance(data, FullGraph) else None
    out: list[dict[str, torch.Tensor]] = []
    for state in states:
        work.load_state_dict(state)
        for bn in bns.values():
            bn.reset_running_stats()
            bn.momentum = None
        work.train()
        ran = 0
        for _ in range(passes):
            for inputs in ((graph,) if graph is not None else _inputs(data, batch_size)):
                work(*(t.to(dev) for t in inputs))
                ran += 1
        if ran == 0:
            raise ValueError("data holds no examples")
        new = work.state_dict()
        fresh = dict(state)
        for key in buffers:
            if key in new:
                ref = state.get(key, new[key])
                fresh[key] = new[key].detach().clone().to(ref.device, ref.dtype)
        out.append(fresh)
    return out
