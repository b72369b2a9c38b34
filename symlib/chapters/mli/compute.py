"""Monotonic linear interpolation on the CIFAR-10 zoo (Lim et al. 2024, Table 4 and Figure 5): the computation.

For the first ``n_members`` members of every variant of the named zoo (:mod:`symlib.zoo`), the training loss —
label smoothing included, as in the paper — is measured at ``n_alpha`` evenly spaced points of
``θ(α) = (1−α)θ_0 + αθ_T`` between the member's initialisation and its trained weights, on the zoo's fixed
evaluation subset of the training images (no augmentation). Fixed buffers are the same at both ends. Metrics:
:func:`symlib.interpolation.mli_metrics`. Diverged members (NaN during training) are excluded and counted, as in
the paper. The zoo is never trained here: a missing zoo stops with the command that builds it.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ... import params
from ...interpolation import interpolation_curves, mli_metrics
from ...variants import VARIANTS
from ...zoo import RECIPES, Zoo, check_quality

__all__ = ["NAME", "PRESETS", "check", "configure"]


NAME = "mli"
_METRIC_KEYS = ("train_loss", "train_acc", "test_loss", "test_acc", "lr", "weight_decay", "label_smoothing", "epochs",
                "diverged")
PRESETS: dict[str, dict[str, Any]] = {
    scale: {"zoo": scale, "n_members": RECIPES[scale]["n_members"], "n_alpha": 25} for scale in ("paper", "small", "ci")}


def configure(given: Mapping[str, Any]) -> dict[str, Any]:
    """Validated config from notebook parameters (``None`` = preset); raises on unknown names or bad values."""
    cfg = params.resolve(PRESETS, params.notebook_parameters(given))
    if cfg["zoo"] not in RECIPES:
        raise params.ParameterError(f"unknown zoo {cfg['zoo']!r}; named zoos: {', '.join(RECIPES)}")
    if cfg["n_alpha"] < 3:
        raise params.ParameterError(f"n_alpha must be >= 3, got {cfg['n_alpha']}")
    if cfg["n_members"] < 2:
        raise params.ParameterError(f"n_members must be >= 2, got {cfg['n_members']}")
    return cfg


def run(cfg: Mapping[str, Any], device: str = "auto") -> dict[str, Any]:
    """Every member's loss curve from initialisation to trained weights, with its metrics; JSON-able."""
    zoo = Zoo(cfg["zoo"])
    records = {v: zoo.members(v, cfg["n_members"]) for v in VARIANTS}  # MissingZoo says how to build it
    _, eval_ds, _ = zoo.data()
    alphas = np.linspace(0, 1, cfg["n_alpha"])
    curves = []
    for variant in VARIANTS:
        ok = [r for r in records[variant] if not r["diverged"]]
        pairs = [zoo.weights(variant, r["member"]) for r in ok]  # (init, final) per member
        res = interpolation_curves(zoo.model(variant), pairs, alphas, (eval_ds.X, eval_ds.y),
                                   label_smoothing=[r["label_smoothing"] for r in ok], device=device)
        for r, c in zip(ok, res):
            curves.append({"variant": variant, "member": r["member"], "alpha": c["alpha"], "loss": c["loss"],
                           "final_train_loss": r["train_loss"], **mli_metrics(alphas, c["loss"])})
    members = [{"variant": v, "member": r["member"], **{k: r[k] for k in _METRIC_KEYS}}
               for v in VARIANTS for r in records[v]]
    return {"curves": curves, "members": members, "zoo_directory": str(zoo.directory), "zoo_recipe_hash": zoo.hash,
            "diverged": {v: sum(r["diverged"] for r in records[v]) for v in VARIANTS}}


def check(record: Mapping[str, Any]) -> None:
    """Raise on a malformed record (NaN curves, a wrong α grid, members missing without having diverged, a curve
    whose α = 1 end differs from the trained member's own loss) or on a zoo below its recipe's training-quality
    bar (:func:`symlib.zoo.check_quality`)."""
    cfg, res = record["manifest"]["config"], record["result"]
    for v in VARIANTS:
        n = sum(c["variant"] == v for c in res["curves"])
        if n + res["diverged"][v] != cfg["n_members"]:
            raise ValueError(f"{v}: {n} curves + {res['diverged'][v]} diverged != n_members={cfg['n_members']}")
    for c in res["curves"]:
        if len(c["loss"]) != cfg["n_alpha"] or not np.all(np.isfinite(c["loss"])):
            raise ValueError(f"{c['variant']} member {c['member']}: malformed curve")
        if abs(c["loss"][-1] - c["final_train_loss"]) > 1e-4 * max(1, c["loss"][-1]):
            raise ValueError(f"{c['variant']} member {c['member']}: α=1 loss {c['loss'][-1]:.5f} != the trained "
                             f"member's loss {c['final_train_loss']:.5f}")
    check_quality(res, RECIPES[cfg["zoo"]]["quality_bar"])
