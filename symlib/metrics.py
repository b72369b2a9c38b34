"""Metrics, separate from objectives: named functions of a whole evaluation set's outputs and targets.

Every metric is ``metric(outputs, targets, *, probabilities=False) -> float``, computed over the **whole** set
(never averaged over batches), for one network:

========================  ==============================================================================
``"acc"``                 classification accuracy: fraction of ``argmax(outputs) == targets``;
                          ``outputs (N, C)`` logits (or probabilities), ``targets (N,)`` int class labels.
``"ece"``                 expected calibration error of the top label, ``Σ_b (n_b / N)·|acc_b − conf_b|``
                          over 15 equal-width confidence bins (L1), from softmax probabilities.
``"nll"``                 negative log-likelihood of the targets, ``−mean log p(y_n)``, in nats per example:
                          from logits by ``log_softmax``, from probabilities (a Bayesian predictive) by ``log``.
``"r2"``                  coefficient of determination ``1 − SS_res / SS_tot`` of regression outputs.
``"kendall_tau"``         Kendall's rank correlation τ-b of regression outputs and targets.
========================  ==============================================================================

``probabilities=True`` says ``outputs`` are already probabilities (rows summing to 1), not logits: a Bayesian
network's predictive is the average of the *probabilities* of its Monte Carlo samples, which is no softmax of
anything. :mod:`symlib.evaluation` sets the flag from the objective, so a metric keeps one name (one column of a
table) whether the network is deterministic or Bayesian; the regression metrics ignore it.

ECE convention. Lim et al. (2024, Table 2) report ECE from the authors' code as ``torchmetrics``'
``MulticlassCalibrationError(num_classes, n_bins=15, norm="l1")`` on the sample-averaged predictive
(``shared/docs/papers.md``, Bayesian networks; Tomczak et al. 2020's code ``marctom/elrgvi``, whose predictive
is likewise ``log mean_s softmax``, reports no ECE). :func:`expected_calibration_error` calls that very function
(``torchmetrics.functional.classification.multiclass_calibration_error``), so the numbers are torchmetrics':
confidence = the largest predicted probability, bins ``[k/15, (k+1)/15)`` for ``k = 0..14`` (left-closed,
right-open; a confidence of exactly 1 falls in a bin of its own, ``[1, 1]``), empty bins weigh 0, float32.
We always pass it probabilities (softmax of logits applied here), because torchmetrics decides between logits
and probabilities by whether *every* entry lies in ``[0, 1]``, which logits may do by chance.
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import torch

Metric = Callable[..., float]


def _labels(outputs: torch.Tensor, targets: torch.Tensor, name: str) -> None:
    if outputs.ndim != 2 or targets.shape != outputs.shape[:1]:
        raise ValueError(f"{name} needs outputs (N, C) and targets (N,), got {tuple(outputs.shape)} "
                         f"and {tuple(targets.shape)}")


def accuracy(outputs: torch.Tensor, targets: torch.Tensor, *, probabilities: bool = False) -> float:
    """Fraction of examples whose largest output is the target: ``outputs (N, C)`` logits or probabilities (the
    argmax is the same), ``targets (N,)`` int labels. Counted exactly: ``correct / N`` of two integers."""
    _labels(outputs, targets, "acc")
    return int((outputs.argmax(-1) == targets.to(outputs.device)).sum()) / len(targets)


def expected_calibration_error(outputs: torch.Tensor, targets: torch.Tensor, *, probabilities: bool = False,
                               n_bins: int = 15) -> float:
    """Top-label expected calibration error (L1) over ``n_bins`` equal-width bins of confidence (see the module's
    note for the exact bins): ``outputs (N, C)`` logits (softmax is applied) or, with ``probabilities=True``,
    probabilities; ``targets (N,)`` int labels. ``nan`` if any probability is not finite (a diverged network)."""
    from torchmetrics.functional.classification import multiclass_calibration_error

    _labels(outputs, targets, "ece")
    probs = outputs.float() if probabilities else torch.softmax(outputs.float(), dim=-1)
    if not bool(torch.isfinite(probs).all()):
        return float("nan")
    return float(multiclass_calibration_error(probs, targets.to(probs.device), num_classes=probs.shape[-1],
                                              n_bins=n_bins, norm="l1"))


def negative_log_likelihood(outputs: torch.Tensor, targets: torch.Tensor, *,
                            probabilities: bool = False) -> float:
    """``−mean_n log p(y_n)`` in nats, in float64: ``outputs (N, C)`` logits (``log_softmax``) or, with
    ``probabilities=True``, probabilities (``log``; a probability of exactly 0 gives ``inf``, as it should).
    The test loss of Lim et al.'s Table 2 on the sample-averaged predictive (``predictive_nll`` of
    :mod:`symlib.variational` for one network's samples)."""
    _labels(outputs, targets, "nll")
    out = outputs.double()
    logp = torch.log(out) if probabilities else torch.log_softmax(out, dim=-1)
    return float(-logp.gather(-1, targets.to(out.device).view(-1, 1)).mean())


def _values(outputs: torch.Tensor, targets: torch.Tensor, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Regression outputs and targets as float64 vectors: ``(N,)`` and ``(N, 1)`` agree with each other (no
    broadcasting to ``(N, N)``); ``(N, K)`` pairs are flattened (pooled over the ``K`` outputs)."""
    if outputs.numel() != targets.numel() or outputs.shape[:1] != targets.shape[:1]:
        raise ValueError(f"{name} needs outputs and targets with one value per example, got "
                         f"{tuple(outputs.shape)} and {tuple(targets.shape)}")
    return outputs.detach().double().cpu().reshape(-1), targets.detach().double().cpu().reshape(-1)


def r2(outputs: torch.Tensor, targets: torch.Tensor, *, probabilities: bool = False) -> float:
    """Coefficient of determination ``1 − Σ(y − ŷ)² / Σ(y − ȳ)²`` of ``outputs`` ŷ against ``targets`` y, shapes
    ``(N,)`` or ``(N, 1)`` (``(N, K)``: pooled over all ``N·K`` values with one mean ȳ, as
    :class:`~symlib.objectives.MeanSquaredError` reports it). Float64; ``nan`` if the targets are constant."""
    yhat, y = _values(outputs, targets, "r2")
    total = float(((y - y.mean()) ** 2).sum())
    return 1.0 - float(((y - yhat) ** 2).sum()) / total if total > 0 else float("nan")


def kendall_tau(outputs: torch.Tensor, targets: torch.Tensor, *, probabilities: bool = False) -> float:
    """Kendall's τ-b (ties corrected; ``scipy.stats.kendalltau``'s default) between ``outputs`` and ``targets``,
    shapes ``(N,)`` or ``(N, 1)``: the rank agreement of predicted and true values (e.g. a metanetwork's predicted
    and the true test accuracies of a zoo). ``nan`` if either is constant or not finite."""
    from scipy.stats import kendalltau

    yhat, y = _values(outputs, targets, "kendall_tau")
    return float(kendalltau(yhat.numpy(), y.numpy()).statistic)


#: The registry: name -> metric. Add an entry to make a new metric available to evaluation by name.
METRICS: dict[str, Metric] = {
    "acc": accuracy,
    "ece": expected_calibration_error,
    "nll": negative_log_likelihood,
    "r2": r2,
    "kendall_tau": kendall_tau,
}


def get(name: str) -> Metric:
    """The metric called ``name``; ``ValueError`` naming the known ones otherwise."""
    try:
        return METRICS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown metric {name!r}; known metrics: {', '.join(sorted(METRICS))}") from None


def check(names: Sequence[str]) -> tuple[str, ...]:
    """``names`` as a tuple, each a known metric (``ValueError`` otherwise; a bare string is refused rather than
    read as a sequence of one-letter names)."""
    if isinstance(names, str):
        raise ValueError(f"metrics must be a sequence of names, e.g. ({names!r},), not the string {names!r}")
    for n in names:
        get(n)
    return tuple(names)


def compute(names: Sequence[str], outputs: torch.Tensor, targets: torch.Tensor, *,
            probabilities: bool = False) -> dict[str, float]:
    """``{name: metric(outputs, targets)}`` for one network's outputs over a whole set."""
    fns: Mapping[str, Metric] = {n: get(n) for n in check(names)}
    return {n: fn(outputs, targets, probabilities=probabilities) for n, fn in fns.items()}


__all__ = ["METRICS", "Metric", "accuracy", "check", "compute", "expected_calibration_error", "get", "kendall_tau",
           "negative_log_likelihood", "r2"]
