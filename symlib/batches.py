"""Where the training loop's batches come from: a pluggable source per kind of data.

A source yields, for one epoch, :class:`Batch` es for every member still training; each member draws its data
order (and augmentation) from its **own** ``torch.Generator``, so a member's batches do not depend on the
population it trains in.

* :class:`TensorBatches` — shuffled mini-batches of in-memory tensors, with optional per-image augmentation;
* :class:`FullGraph` — full-batch training on one graph: every step sees the whole graph and the loss reads
  the nodes of a mask (Lim et al.'s GNN setting, Section 5.1).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import torch


@dataclass
class Batch:
    """One step's data. ``per_member``: ``inputs`` and ``targets`` carry a leading member axis ``(P, ...)``;
    otherwise every member sees the same tensors. ``select`` (graphs) picks the rows of the model's output that
    the loss reads. ``size``: examples per member in this step (weights the running training loss)."""

    inputs: tuple[torch.Tensor, ...]
    targets: torch.Tensor
    per_member: bool
    size: int
    select: torch.Tensor | None = None


class TensorBatches:
    """Mini-batches of ``X (N, ...)``, ``y (N,)`` (CPU tensors): per epoch each member draws a permutation of
    ``range(N)`` from its generator, then ``augment(x, generator)`` (if given) transforms each of its batches
    with draws from the same generator. The last batch of an epoch may be smaller (no example is dropped)."""

    def __init__(self, X: torch.Tensor, y: torch.Tensor, batch_size: int,
                 augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None) -> None:
        if len(X) != len(y):
            raise ValueError(f"X and y disagree in length: {len(X)} vs {len(y)}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.X, self.y, self.batch_size, self.augment = X, y, int(batch_size), augment
        self.n = len(X)
        self.steps_per_epoch = math.ceil(self.n / self.batch_size)

    def epoch(self, generators: Sequence[torch.Generator], keep: Callable[[], list[int]] | None = None
              ) -> Iterator[Batch]:
        """Batches ``(P, B, ...)`` for the members whose generators are given. ``keep()``, if given, returns
        the positions (into ``generators``) of the members still training: members removed mid-epoch (diverged)
        get no further batches."""
        orders = [torch.randperm(self.n, generator=g) for g in generators]
        for start in range(0, self.n, self.batch_size):
            alive = keep() if keep is not None else range(len(generators))
            xs, ys = [], []
            for j in alive:
                idx = orders[j][start:start + self.batch_size]
                xs.append(self.X[idx] if self.augment is None else self.augment(self.X[idx], generators[j]))
                ys.append(self.y[idx])
            yield Batch((torch.stack(xs),), torch.stack(ys), per_member=True, size=len(ys[0]))


class FullGraph:
    """Full-batch training on a graph: node features ``x (N, F)``, ``edge_index (2, E)``, labels ``y (N,)``, and
    the boolean node ``mask (N,)`` whose nodes the loss reads. One step per epoch; no randomness."""

    steps_per_epoch = 1

    def __init__(self, x: torch.Tensor, edge_index: torch.Tensor, y: torch.Tensor, mask: torch.Tensor) -> None:
        if mask.dtype != torch.bool or mask.shape != y.shape[:1]:
            raise ValueError("mask must be a boolean vector with one entry per node")
        self.x, self.edge_index, self.y, self.mask = x, edge_index, y, mask
        self.n = int(mask.sum())

    def epoch(self, generators: Sequence[torch.Generator], keep: Callable[[], list[int]] | None = None
              ) -> Iterator[Batch]:
        yield Batch((self.x, self.edge_index), self.y[self.mask], per_member=False, size=self.n, select=self.mask)
