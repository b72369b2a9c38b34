"""What a network is trained to minimise: one objective per kind of task, pluggable into the training loop.

An objective computes the loss of **one member** (the loop vectorises it over a population with ``vmap``):
``loss(outputs, targets, hyper, params) -> scalar``, where ``hyper`` holds that member's scalar
hyper-parameters named in ``hyper_fields`` (read from its :class:`~symlib.training.TrainConfig`) and
``params`` its state, parameters and buffers (for penalties such as a KL term, which may read a W-Asym mask or a
prior stored as a buffer). ``sums`` / ``finish`` give the metrics that the
loop and :mod:`symlib.evaluation` report beside the loss. ``extra_inputs`` lets an objective feed the model
per-member random inputs drawn from the member's own generator (the ELBO's Monte Carlo noise), so a member's
result never depends on which population it trained in.
"""
from __future__ import annotations

from typing import Callable, Mapping

import torch

Tensors = Mapping[str, torch.Tensor]


def smoothed_cross_entropy(logits: torch.Tensor, y: torch.Tensor, label_smoothing: torch.Tensor) -> torch.Tensor:
    """``(1−ε)·NLL + ε·mean_c(−log p_c)``: PyTorch's label-smoothed cross-entropy with ``ε`` a tensor (so it can
    differ per member under ``vmap``). ``logits (B, C)``, ``y (B,)`` -> scalar mean over the batch."""
    logp = torch.log_softmax(logits, dim=-1)
    nll = -logp.gather(-1, y.unsqueeze(-1)).squeeze(-1)
    return ((1 - label_smoothing) * nll - label_smoothing * logp.mean(-1)).mean()


class Objective:
    """Base class: subclasses set ``hyper_fields`` and implement :meth:`loss`, :meth:`sums`, :meth:`finish`."""

    hyper_fields: tuple[str, ...] = ()

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor, hyper: Tensors, params: Tensors) -> torch.Tensor:
        raise NotImplementedError

    def sums(self, outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-batch sums (scalars) from which :meth:`finish` computes the metrics."""
        return {}

    def finish(self, sums: Mapping[str, float], n: int) -> dict[str, float]:
        """Metrics from sums accumulated over ``n`` examples."""
        return {}

    def extra_inputs(self, batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
        """Additional per-member model inputs for one step (none by default)."""
        return ()


class CrossEntropy(Objective):
    """Classification: mean label-smoothed cross-entropy (nats) of ``outputs (B, C)``; metric ``acc`` in [0, 1].
    Each member's label smoothing is its ``TrainConfig.label_smoothing`` (0 = plain cross-entropy)."""

    hyper_fields = ("label_smoothing",)

    def loss(self, outputs, targets, hyper, params):
        return smoothed_cross_entropy(outputs, targets, hyper["label_smoothing"])

    def sums(self, outputs, targets):
        return {"correct": (outputs.argmax(-1) == targets).sum()}

    def finish(self, sums, n):
        return {"acc": float(sums["correct"]) / n}


class MeanSquaredError(Objective):
    """Regression: mean over the batch of ``Σ_k (outputs − targets)²`` (outputs and targets ``(B,)`` or
    ``(B, K)``); metric ``r2`` = ``1 − SSE / Σ (y − ȳ)²`` pooled over all outputs."""

    def loss(self, outputs, targets, hyper, params):
        return ((outputs - targets) ** 2).reshape(outputs.shape[0], -1).sum(-1).mean()

    def sums(self, outputs, targets):
        return {"sse": ((outputs - targets) ** 2).sum(), "sum_y": targets.sum(), "sum_y2": (targets ** 2).sum(),
                "count": torch.tensor(float(targets.numel()), device=targets.device)}

    def finish(self, sums, n):
        total = sums["sum_y2"] - sums["sum_y"] ** 2 / sums["count"]
        return {"r2": float(1.0 - sums["sse"] / total) if total > 0 else float("nan")}


class ELBO(Objective):
    """Negative evidence lower bound of a Bayesian classifier (variational inference; Lim et al. Table 2 use
    Tomczak et al. 2020's low-rank Gaussian posterior):

        ``−ELBO / N = mean_s CE(outputs_s, y) + kl_weight · KL(q ‖ p) / n_train``

    ``outputs (S, B, C)`` are logits for ``S`` Monte Carlo samples, which the model draws from the noise
    ``extra_inputs`` supplies: ``noise(batch_size)`` returns the shapes of the standard-normal tensors the
    model takes after its data input, drawn per member from the member's generator. ``kl(params)`` is the
    KL divergence of the posterior from the prior, a function of the member's state (parameters and buffers;
    :func:`symlib.variational.kl`, built with the noise by :func:`symlib.variational.elbo`). Metric ``acc`` is
    the accuracy of the sample-averaged predictive probabilities; ``nll`` the data term alone,
    ``mean_s CE(outputs_s, y)`` per example (the "training loss" of Lim et al.'s Figure 4, without the KL, which
    is a large near-constant at a fixed posterior variance).
    """

    def __init__(self, kl: Callable[[Tensors], torch.Tensor], n_train: int,
                 noise: Callable[[int], list[tuple[int, ...]]], kl_weight: float = 1.0) -> None:
        if n_train < 1:
            raise ValueError(f"n_train must be >= 1, got {n_train}")
        self.kl, self.n_train, self.noise, self.kl_weight = kl, int(n_train), noise, float(kl_weight)

    def loss(self, outputs, targets, hyper, params):
        nll = torch.stack([torch.nn.functional.cross_entropy(o, targets) for o in outputs.unbind(0)]).mean()
        return nll + self.kl_weight * self.kl(params) / self.n_train

    def sums(self, outputs, targets):
        probs = torch.softmax(outputs, dim=-1).mean(0)
        ce = torch.stack([torch.nn.functional.cross_entropy(o, targets, reduction="sum") for o in outputs.unbind(0)])
        return {"correct": (probs.argmax(-1) == targets).sum(), "nll": ce.mean()}

    def finish(self, sums, n):
        return {"acc": float(sums["correct"]) / n, "nll": float(sums["nll"]) / n}

    def extra_inputs(self, batch_size, generator):
        return tuple(torch.randn(shape, generator=generator) for shape in self.noise(batch_size))
