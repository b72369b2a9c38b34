"""Metanetworks (Lim et al. 2024, Table 3): predicting a zoo member's CIFAR-10 test accuracy from its weights, standard
against W-Asym, with controls that say what the weights and the symmetry add. The computation.

**Data.** The first ``n_members`` members of the standard and the W-Asym variant of the named metanetwork zoo
(:mod:`symlib.zoo`: ``metanet_paper`` / ``metanet_small`` / ``metanet_ci``); member ``i`` of both variants shares its
Table-8 draw and seeds. A member's input is its trainable weights (:func:`symlib.metanets.flat_weights`; the fixed
entries of a W-Asym network are constants of the architecture and left out, which is how Table 9 counts the MLP's
parameters) or, for StatNN, 7 statistics of each of its 29 tensors; its target is its test accuracy (a fraction).
Diverged members (no final weights) are left out and counted.

**Runs.** Run ``r`` draws one seed, ``derive_seed(seed, "metanetworks", "run", r)``, that fixes the split of the
*member indices* 50/25/25 (:func:`symlib.metanets.split`) and every metanet's initialisation and batch order: run ``r``
of the standard and of the W-Asym zoo predicts the same members from the same start, so comparisons of the two
zoos are **paired by run**. Every fit is :func:`symlib.metanets.fit_metanet`, the paper's training: AdamW with weight
decay ``weight_decay``, batch ``batch_size``, ``epochs`` epochs, MSE, the learning rate from ``lrs`` and the epoch by
validation R², test R² and Kendall τ at that epoch.

**Controls** (``controls``), each over the same runs and splits:

* ``"hparams"`` — StatNN's network on the four sampled hyper-parameters alone (log₁₀ lr, log₁₀ weight decay, label
  smoothing, epochs): how much of the accuracy the recipe's draw explains without any weight;
* ``"shuffled"`` — the MLP metanet with its training targets shuffled among the training members: must score R² ≈ 0
  (a pipeline that leaks the target would not);
* ``"blind"`` — the same, with the validation targets shuffled too (among the validation members, another draw):
  the learning rate and epoch are chosen blind to the truth, on the shuffled control's training path, step for
  step; the test targets stay true. Added after the first ``small`` run, where the shuffled control scored R² 0.37
  on the W-Asym zoo: it tests our reading that the choice on true validation accuracies made that score;
* ``"augmented"`` (standard zoo only; beyond the paper) — the MLP metanet trained with random permutation
  augmentation drawn from the network's own ``permutation_spec()`` (:func:`symlib.metanets.permutation_augment`):
  every batch row replaced by the weights of a randomly permuted copy of its network, the same function. Does
  removing the symmetry *in the data* close the gap that removing it *in the architecture* closes?

Presets. ``paper``: the paper's (10,000 members per variant, the four metanets at the authors' sizes, 5 runs, the six
learning rates, 50 epochs, batch 128, weight decay 10⁻²). ``small`` (2 CPU cores): the same training on the
``metanet_small`` zoo (300 members per variant), whose recipe and training-quality bar are the zoo's (every variant's
members: mean test accuracy ≥ 35 %, sd ≥ 5 points), fixed before any metanet was trained and checked by
:func:`check`; the MLP and StatNN only, by cost alone, measured before any metanet saw the zoo (synthetic inputs of
the zoo's shape, 150 training rows of 78,042 weights, one thread, beside a zoo build): one epoch of the six learning
rates takes the MLP ~1.6 s, StatNN ~0.1 s, the DMC ~84 s (its first convolutions run over the whole 78,042-entry
vector: ~70 min a fit) and DeepSets over 400 s (every weight an element of the set), so the DMC and DeepSets run at
``paper`` (a GPU) only. ``ci``: all four, a smoke test on a dozen tiny members.

The learning rates of a fit train as parallel tasks (one thread each, :func:`symlib.training.train_members` with
every core as a worker, one Ray instance for the whole run): a member's result does not depend on the route.
"""
from __future__ import annotations

import functools
import math
import time
from typing import Any, Mapping

import numpy as np
from tqdm.auto import tqdm

from ... import params
from ...metanets import (KINDS, LEARNING_RATES, PAPER_TRAINING, MetanetConfig, WeightData, fit_metanet,
                         permutation_augment, predict, scores, split, weight_data, zoo_networks)
from ...distributed import cpu_workers, session
from ...seeding import derive_seed
from ...zoo import RECIPES, Zoo, check_quality, model_config

__all__ = ["CONTROLS", "NAME", "PRESETS", "VARIANTS", "check", "configure", "fits"]

NAME = "metanetworks"
#: the zoos' variants this chapter compares
VARIANTS = ("standard", "w_asym")
#: control -> (metanet kind it trains, the variants it runs on)
CONTROLS = {"hparams": ("statnn", VARIANTS), "shuffled": ("mlp", VARIANTS), "blind": ("mlp", VARIANTS),
            "augmented": ("mlp", ("standard",))}

_PAPER = dict(zoo="metanet_paper", n_members=RECIPES["metanet_paper"]["n_members"], kinds=list(KINDS), n_runs=5,
              lrs=list(LEARNING_RATES), epochs=PAPER_TRAINING["epochs"], batch_size=PAPER_TRAINING["batch_size"],
              weight_decay=PAPER_TRAINING["weight_decay"], controls=list(CONTROLS))
PRESETS: dict[str, dict[str, Any]] = {
    "paper": _PAPER,
    "small": {**_PAPER, "zoo": "metanet_small", "n_members": RECIPES["metanet_small"]["n_members"],
              "kinds": ["mlp", "statnn"]},
    "ci": {**_PAPER, "zoo": "metanet_ci", "n_members": RECIPES["metanet_ci"]["n_members"], "n_runs": 2,
           "lrs": [1e-3, 1e-2], "epochs": 3},
}


def configure(given: Mapping[str, Any]) -> dict[str, Any]:
    """Validated config from notebook parameters (``None`` = preset); raises on unknown names or bad values."""
    cfg = params.resolve(PRESETS, params.notebook_parameters(given))
    if cfg["zoo"] not in RECIPES:
        raise params.ParameterError(f"unknown zoo {cfg['zoo']!r}; named zoos: {', '.join(RECIPES)}")
    held = RECIPES[cfg["zoo"]]["variants"]
    if not set(VARIANTS) <= set(held):
        raise params.ParameterError(f"zoo {cfg['zoo']!r} holds {', '.join(held)}; this chapter needs "
                                    f"{' and '.join(VARIANTS)} (a metanet_* zoo)")
    bad = [k for k in cfg["kinds"] if k not in KINDS]
    if bad or not cfg["kinds"]:
        raise params.ParameterError(f"kinds must be a non-empty list among {', '.join(KINDS)}; got {cfg['kinds']!r}")
    bad = [c for c in cfg["controls"] if c not in CONTROLS]
    if bad:
        raise params.ParameterError(f"unknown control(s) {bad}; choose among {', '.join(CONTROLS)}")
    if cfg["n_members"] < 8:
        raise params.ParameterError(f"n_members must be >= 8 (a 50/25/25 split needs two test members), "
                                    f"got {cfg['n_members']}")
    if cfg["n_runs"] < 1 or cfg["epochs"] < 1 or cfg["batch_size"] < 1:
        raise params.ParameterError("n_runs, epochs and batch_size must be positive")
    if not cfg["lrs"] or any(not (lr > 0) for lr in cfg["lrs"]):
        raise params.ParameterError(f"lrs must be a non-empty list of positive learning rates, got {cfg['lrs']!r}")
    if cfg["weight_decay"] < 0:
        raise params.ParameterError(f"weight_decay must be >= 0, got {cfg['weight_decay']}")
    return cfg


def fits(cfg: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """Every ``(variant, kind, control)`` the config trains (``control`` ``""``: the metanet itself), each once per
    run, in the order :func:`run` trains them."""
    out = [(v, k, "") for v in VARIANTS for k in cfg["kinds"]]
    out += [(v, CONTROLS[c][0], c) for c in cfg["controls"] for v in CONTROLS[c][1]]
    return out


def _rows(data: WeightData, members: Any) -> np.ndarray:
    """The rows of ``data`` holding the member indices ``members`` (members without a row — diverged — skipped)."""
    where = {m: r for r, m in enumerate(data.members)}
    return np.array([where[int(m)] for m in members if int(m) in where], dtype=np.int64)


def run(cfg: Mapping[str, Any], device: str = "auto") -> dict[str, Any]:
    """Every fit of :func:`fits` for every run: its chosen learning rate and epoch, validation R², test R², Kendall τ,
    RMSE and the test members' predictions; the members' accuracies and draws; wall times. JSON-able."""
    zoo = Zoo(cfg["zoo"])
    n = cfg["n_members"]
    records = {v: zoo.members(v, n) for v in VARIANTS}  # MissingZoo names the command that builds them
    networks = {v: list(zoo_networks(zoo, v, n)) for v in VARIANTS}
    inputs: dict[tuple[str, str], WeightData] = {}

    def data_for(variant: str, kind: str, control: str) -> tuple[WeightData, Any]:
        source = "statnn" if kind == "statnn" else "flat"
        if (variant, source) not in inputs:
            inputs[(variant, source)] = weight_data(kind, networks[variant], zoo.model(variant))
        data = inputs[(variant, source)]
        X = data.hparams if control == "hparams" else data.X
        return data, X

    out, timings = [], {}
    todo = [(r, *f) for r in range(cfg["n_runs"]) for f in fits(cfg)]
    with session():
        for r, variant, kind, control in tqdm(todo, desc="metanetworks: fits", mininterval=5):
            out.append(_fit(cfg, zoo, n, r, variant, kind, control, data_for, timings, device))
    members = [{"variant": v, "member": rec["member"], **{k: rec.get(k) for k in
                                                          ("test_acc", "lr", "weight_decay", "label_smoothing",
                                                           "epochs", "diverged")}}
               for v in VARIANTS for rec in records[v]]
    return {"fits": out, "members": members, "timings_s": timings,
            "input_sizes": {f"{v}/{s}": int(d.X.shape[1]) for (v, s), d in inputs.items()},
            "zoo_directory": str(zoo.directory), "zoo_recipe_hash": zoo.hash,
            "diverged": {v: sum(bool(r["diverged"]) for r in records[v]) for v in VARIANTS}}


def _fit(cfg, zoo, n, r, variant, kind, control, data_for, timings, device) -> dict[str, Any]:
    """One fit of run ``r`` (:func:`run`): the metanet trained, its test predictions and scores; adds its wall time
    to ``timings``."""
    import torch

    seed = derive_seed(cfg["seed"], "metanetworks", "run", r)
    data, X = data_for(variant, kind, control)
    tr, va, te = (_rows(data, idx.tolist()) for idx in split(n, seed))
    splits = tuple(torch.from_numpy(s) for s in (tr, va, te))
    augment = (functools.partial(permutation_augment, network=model_config(zoo.recipe, variant))
               if control == "augmented" else None)
    net = MetanetConfig(kind, X.shape[1])
    t0 = time.perf_counter()
    fit = fit_metanet(net, X, data.y, splits, lrs=cfg["lrs"], epochs=cfg["epochs"], batch_size=cfg["batch_size"],
                      weight_decay=cfg["weight_decay"], seed=seed, augment=augment,
                      shuffle_targets=control in ("shuffled", "blind"), shuffle_validation=control == "blind",
                      device=device, workers=cpu_workers())
    seconds = time.perf_counter() - t0
    timings[f"{variant}/{kind}/{control}"] = timings.get(f"{variant}/{kind}/{control}", 0.0) + seconds
    pred = predict(net, fit["state"], X[splits[2]])
    truth = data.y[splits[2]]
    return {"run": r, "variant": variant, "kind": kind, "control": control, "lr": fit["lr"],
            "epoch": fit["epoch"], "val_r2": fit["val_r2"], "test_r2": fit["test_r2"],
            "test_kendall_tau": fit["test_kendall_tau"],
            "test_rmse": float(torch.sqrt(torch.mean((pred - truth) ** 2))),
            "diverged_lrs": fit["diverged"], "n_train": len(tr), "n_val": len(va), "n_test": len(te),
            "test_members": [data.members[i] for i in te], "predictions": pred.tolist(),
            "targets": truth.tolist(), "seconds": seconds}


def check(record: Mapping[str, Any]) -> None:
    """Raise on a malformed record — a fit missing or duplicated, a non-finite score, predictions whose R² and τ are
    not the fit's, a split that is not 50/25/25 of the members — or on a zoo below its recipe's training-quality bar
    (:func:`symlib.zoo.check_quality`: mean and sd of the members' test accuracies per variant)."""
    import torch

    cfg, res = record["manifest"]["config"], record["result"]
    got = [(f["run"], f["variant"], f["kind"], f["control"]) for f in res["fits"]]
    want = [(r, *f) for r in range(cfg["n_runs"]) for f in fits(cfg)]
    if sorted(got) != sorted(want):
        raise ValueError(f"fits {sorted(set(want) ^ set(got))[:4]}... missing or unexpected")
    for f in res["fits"]:
        name = f"run {f['run']} {f['variant']} {f['kind']} {f['control'] or 'metanet'}"
        if not all(math.isfinite(f[k]) for k in ("test_r2", "test_kendall_tau", "test_rmse", "val_r2")):
            raise ValueError(f"{name}: non-finite score")
        again = scores(torch.tensor(f["predictions"]), torch.tensor(f["targets"]))
        if abs(again["r2"] - f["test_r2"]) > 1e-4 or abs(again["kendall_tau"] - f["test_kendall_tau"]) > 1e-4:
            raise ValueError(f"{name}: stored predictions give R² {again['r2']:.4f}, τ {again['kendall_tau']:.4f}, "
                             f"not the fit's {f['test_r2']:.4f}, {f['test_kendall_tau']:.4f}")
        n_ok = cfg["n_members"] - res["diverged"][f["variant"]]
        if f["n_train"] + f["n_val"] + f["n_test"] != n_ok:
            raise ValueError(f"{name}: split {f['n_train']}/{f['n_val']}/{f['n_test']} does not cover the {n_ok} "
                             f"trained members")
    check_quality(res, RECIPES[cfg["zoo"]]["quality_bar"], VARIANTS)
