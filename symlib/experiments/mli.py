"""Chapter *Monotonic linear interpolation* (Lim et al. 2024, Table 4 and Figure 5), on the CIFAR-10 zoo.

For every member of the zoo (:mod:`symlib.experiments.zoo`) the training loss, label smoothing included as in
the paper, is measured at ``n_alpha`` evenly spaced points of ``θ(α) = (1−α)θ_0 + αθ_T`` between its
initialisation and its trained weights, on the zoo's fixed evaluation subset of the training images (no
augmentation). Fixed buffers are the same at both ends. Metrics: :func:`symlib.interpolation.mli_metrics`.
Diverged members (NaN during training) are excluded from the statistics and counted, as in the paper.
"""
from __future__ import annotations

import functools
import warnings

from typing import Any, Mapping

import numpy as np
import pandas as pd
from scipy import stats

from .. import params, results
from ..interpolation import interpolation_losses, mli_metrics
from ..train import resolve_device
from . import zoo

NAME = "mli"
VARIANTS = zoo.VARIANTS
LABELS = zoo.LABELS
#: Lim et al. (2024), Table 4: mean ± std over 300 networks (σ-Asym: 276, 24 diverged).
PAPER_TABLE4 = {
    "standard": {"delta": (0.079, 0.109), "monotonic": 26.3, "local_convexity": (0.548, 0.139),
                 "global_convexity": (0.823, 0.229)},
    "sigma_asym": {"delta": (0.004, 0.047), "monotonic": 87.3, "local_convexity": (0.675, 0.143),
                   "global_convexity": (0.976, 0.098)},
    "w_asym": {"delta": (-0.027, 0.026), "monotonic": 100.0, "local_convexity": (0.769, 0.165),
               "global_convexity": (1.00, 0.000)},
}
PRESETS = {scale: {**p, "n_alpha": 25} for scale, p in zoo.PRESETS.items()}


def configure(namespace: Mapping[str, Any]) -> dict[str, Any]:
    cfg = params.resolve(PRESETS, params.notebook_parameters(namespace))
    if cfg["n_alpha"] < 3:
        raise params.ParameterError(f"n_alpha must be >= 3, got {cfg['n_alpha']}")
    return cfg


def run(cfg: Mapping[str, Any], device: str = "auto") -> dict[str, Any]:
    dev = resolve_device(device)
    zrec = zoo.load_or_run(cfg, device=str(dev))
    _, eval_ds, _ = zoo.data(cfg)
    alphas = np.linspace(0, 1, cfg["n_alpha"])
    curves = []
    for variant in VARIANTS:
        mcfg = zoo.model_config(cfg, variant)
        members = [m for m in zrec["result"]["members"] if m["variant"] == variant and not m["diverged"]]
        pairs = [zoo.weights(cfg, variant, m["member"]) for m in members]  # (init, final) per member
        losses = interpolation_losses(functools.partial(zoo.build_model, mcfg), pairs, alphas, eval_ds.X, eval_ds.y,
                                      [m["label_smoothing"] for m in members], device=str(dev))
        for m, curve in zip(members, losses):
            curves.append({"variant": variant, "member": m["member"], "alpha": alphas.tolist(), "loss": curve,
                           "final_train_loss": m["train_loss"], **mli_metrics(alphas, curve)})
    diverged = {v: sum(m["diverged"] for m in zrec["result"]["members"] if m["variant"] == v) for v in VARIANTS}
    return {"curves": curves, "diverged": diverged, "zoo_config_hash": zrec["manifest"]["config_hash"],
            "n_members": cfg["n_members"]}


def load_or_run(cfg: Mapping[str, Any], recompute: bool = False, device: str = "auto") -> dict[str, Any]:
    dev = resolve_device(device)
    return results.load_or_run(NAME, dict(cfg), lambda c: run(c, device=str(dev)), recompute=recompute,
                               device=str(dev))


def check(record: Mapping[str, Any]) -> None:
    """Fail loudly on a malformed record: NaN curves, wrong α grid, members missing without being diverged."""
    cfg, res = record["manifest"]["config"], record["result"]
    for v in VARIANTS:
        n = sum(c["variant"] == v for c in res["curves"])
        if n + res["diverged"][v] != cfg["n_members"]:
            raise ValueError(f"{v}: {n} curves + {res['diverged'][v]} diverged != n_members={cfg['n_members']}")
    for c in res["curves"]:
        if len(c["loss"]) != cfg["n_alpha"] or not np.all(np.isfinite(c["loss"])):
            raise ValueError(f"{c['variant']} member {c['member']}: malformed curve")
        if c["final_train_loss"] is not None and abs(c["loss"][-1] - c["final_train_loss"]) > 1e-4 * max(1, c["loss"][-1]):
            raise ValueError(f"{c['variant']} member {c['member']}: α=1 loss {c['loss'][-1]:.5f} != the trained "
                             f"member's loss {c['final_train_loss']:.5f}")


def metrics_frame(record: Mapping[str, Any]) -> pd.DataFrame:
    return pd.DataFrame([{k: c[k] for k in ("variant", "member", "delta", "monotonic", "local_convexity",
                                            "global_convexity", "final_train_loss")} for c in record["result"]["curves"]])


def table4(record: Mapping[str, Any]) -> pd.DataFrame:
    """Table 4: ours (mean ± std over members) beside the paper's."""
    df = metrics_frame(record)
    rows = []
    for v in VARIANTS:
        d, p = df[df.variant == v], PAPER_TABLE4[v]
        rows.append({"variant": LABELS[v], "networks": len(d), "diverged": record["result"]["diverged"][v],
                     "Δ": f"{d.delta.mean():.3f} ± {d.delta.std(ddof=1):.3f}",
                     "% monotonic": f"{100 * d.monotonic.mean():.1f}%",
                     "local convexity": f"{d.local_convexity.mean():.3f} ± {d.local_convexity.std(ddof=1):.3f}",
                     "global convexity": f"{d.global_convexity.mean():.3f} ± {d.global_convexity.std(ddof=1):.3f}",
                     "paper Δ": f"{p['delta'][0]:.3f} ± {p['delta'][1]:.3f}", "paper % monotonic": f"{p['monotonic']}%",
                     "paper local": f"{p['local_convexity'][0]:.3f}", "paper global": f"{p['global_convexity'][0]:.3f}"})
    return pd.DataFrame(rows).set_index("variant")


def ttests(record: Mapping[str, Any]) -> pd.DataFrame:
    """Two-sided Welch t-tests, standard vs each asymmetric variant, for every metric."""
    df = metrics_frame(record)
    rows = []
    for v in ("sigma_asym", "w_asym"):
        for metric in ("delta", "monotonic", "local_convexity", "global_convexity"):
            a, b = df[df.variant == "standard"][metric], df[df.variant == v][metric]
            with warnings.catch_warnings():  # a variant whose metric is constant (e.g. every curve globally
                # convex) makes scipy warn about precision loss; Welch's test is still defined by the other's variance
                warnings.filterwarnings("ignore", "Precision loss occurred", RuntimeWarning)
                t = stats.ttest_ind(a, b, equal_var=False)
            rows.append({"comparison": f"Standard vs {LABELS[v]}", "metric": metric, "standard": a.mean(),
                         "asymmetric": b.mean(), "t": float(t.statistic),
                         "p (two-sided Welch)": float(t.pvalue)})
    return pd.DataFrame(rows).set_index(["comparison", "metric"])


def curves_frame(record: Mapping[str, Any], lowest: int | None = 20) -> pd.DataFrame:
    """Long table of curves; ``lowest`` keeps the members with the lowest final training loss per variant
    (Figure 5 shows the 20 lowest)."""
    rows = []
    for v in VARIANTS:
        cs = sorted((c for c in record["result"]["curves"] if c["variant"] == v), key=lambda c: c["loss"][-1])
        for c in cs[:lowest] if lowest else cs:
            rows += [{"variant": LABELS[v], "member": c["member"], "alpha": a, "train_loss": l,
                      "monotonic": bool(c["monotonic"])} for a, l in zip(c["alpha"], c["loss"])]
    return pd.DataFrame(rows)
