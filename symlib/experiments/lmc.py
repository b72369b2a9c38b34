"""Chapter *Linear mode connectivity of MLPs on MNIST* (Lim et al. 2024, Table 1 row 1, Figure 3 left).

For each variant (standard, σ-Asym, W-Asym) train ``n_pairs`` pairs of MLPs
that share their architecture (same mask/``F`` within a pair) but differ in
initialisation and data order. Along the segment ``(1−α)θ_a + αθ_b`` record the
test loss and accuracy; "Git Re-Basin" is the standard pair after weight
matching ``θ_b`` onto ``θ_a``. The Table-1 number is the midpoint barrier
``L(θ½) − (L(θ_a)+L(θ_b))/2``.
"""
from __future__ import annotations

import time
from typing import Any, Mapping

import numpy as np
import pandas as pd
import torch
from scipy import stats
from tqdm import tqdm

from .. import params, results
from ..data import load_mnist, train_val_split
from ..interpolation import interpolation_curve, max_barrier, midpoint_barrier
from ..models import MLP, MLPConfig
from ..permutation import apply_permutation, mlp_spec, weight_matching
from ..seeding import derive_seed, seeded
from ..train import TrainConfig, evaluate, resolve_device, train

NAME = "lmc"
METHODS = ("standard", "git_rebasin", "sigma_asym", "w_asym")
LABELS = {"standard": "Standard", "git_rebasin": "Git Re-Basin", "sigma_asym": "σ-Asym", "w_asym": "W-Asym"}
VARIANTS = ("standard", "sigma_asym", "w_asym")
#: Lim et al. (2024), Table 1, MLP on MNIST: midpoint test-loss barrier, mean ± std over >= 5 pairs.
PAPER_TABLE1 = {"standard": (0.188, 0.12), "git_rebasin": (-0.006, 0.00),
                "sigma_asym": (0.117, 0.01), "w_asym": (-0.012, 0.00)}

_PAPER = dict(width=512, depth=4, n_fix=[64, 64, 64, 256], kappa=[1.0, 1.0, 0.5, 0.25], figlu_scale=1.0,
              epochs=25, batch_size=64, lr=1e-3, weight_decay=0.03, val_fraction=0.1,
              train_size=54000, test_size=10000, n_pairs=5, n_alpha=25)
PRESETS: dict[str, dict[str, Any]] = {
    # the authors' settings (papers.md §1: AdamW lr 1e-3, wd 0.03, batch 64, 25 epochs, 90/10 split)
    "paper": _PAPER,
    # 2 CPU cores, <= 10 min: half width, 3 epochs on the full training split, 4 pairs
    "small": {**_PAPER, "width": 256, "n_fix": [64, 32, 32, 128], "epochs": 3, "n_pairs": 4},
    # nbval in CI, < 1 min: tiny but real MNIST
    "ci": {**_PAPER, "width": 64, "n_fix": [64, 8, 8, 32], "epochs": 1, "train_size": 3000,
           "test_size": 1000, "n_pairs": 2},
}


def configure(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """Validated config from a notebook's parameters (``None`` = preset); raises on unknown names.

    If ``width`` is overridden and ``n_fix`` is not, the ``n_fix`` of layers whose
    fan-in is the hidden width scale with it (``n_fix[i] · width / preset width``),
    keeping the paper's fixed fraction per row.
    """
    given = params.notebook_parameters(namespace)
    cfg = params.resolve(PRESETS, given)
    preset = PRESETS[cfg["scale"]]
    if given.get("width") is not None and given.get("n_fix") is None:
        cfg["n_fix"] = [preset["n_fix"][0]] + [max(1, round(n * cfg["width"] / preset["width"]))
                                               for n in preset["n_fix"][1:]]
    if cfg["n_alpha"] < 3 or cfg["n_alpha"] % 2 == 0:
        raise params.ParameterError(f"n_alpha must be odd and >= 3 so that α = 0.5 is on the grid, got {cfg['n_alpha']}")
    if cfg["n_pairs"] < 2:
        raise params.ParameterError(f"n_pairs must be >= 2 to report a standard deviation, got {cfg['n_pairs']}")
    return cfg


def mlp_config(cfg: Mapping[str, Any], variant: str, arch_seed: int) -> MLPConfig:
    return MLPConfig(width=cfg["width"], depth=cfg["depth"], variant=variant, n_fix=tuple(cfg["n_fix"]),
                     kappa=tuple(cfg["kappa"]), figlu_scale=cfg["figlu_scale"], arch_seed=arch_seed)


def train_config(cfg: Mapping[str, Any]) -> TrainConfig:
    return TrainConfig(epochs=cfg["epochs"], batch_size=cfg["batch_size"], lr=cfg["lr"],
                       weight_decay=cfg["weight_decay"], optimizer="adamw")


def run(cfg: Mapping[str, Any], device: str = "auto", progress: bool = True) -> dict[str, Any]:
    """Train all pairs and measure all interpolation curves. Returns the JSON-able result."""
    dev = resolve_device(device)
    seed = cfg["seed"]
    train_ds, val_ds = train_val_split(load_mnist("train"), cfg["val_fraction"], seed)
    train_ds = train_ds.subset(cfg["train_size"], seed)
    test_ds = load_mnist("test").subset(cfg["test_size"], seed)
    alphas = np.linspace(0.0, 1.0, cfg["n_alpha"])
    spec = mlp_spec(cfg["depth"])
    models, curves = [], []
    bar = tqdm(total=len(VARIANTS) * cfg["n_pairs"] * 2, desc="networks trained", disable=not progress)
    for variant, k in [(v, k) for v in VARIANTS for k in range(cfg["n_pairs"])]:
        arch_seed = derive_seed(seed, NAME, "arch", variant, k)
        states, losses = [], []
        for member in (0, 1):
            model = seeded(lambda: MLP(mlp_config(cfg, variant, arch_seed)),
                           derive_seed(seed, NAME, "init", variant, k, member))
            t0 = time.perf_counter()
            hist = train(model, train_ds.X, train_ds.y, train_config(cfg), device=str(dev),
                         seed=derive_seed(seed, NAME, "data_order", variant, k, member),
                         val=(val_ds.X, val_ds.y), progress=False)
            bar.update()
            bar.set_postfix(variant=variant, pair=k, val_acc=f"{hist['val_acc'][-1]:.3f}")
            test_loss, test_acc = evaluate(model, test_ds.X, test_ds.y, device=dev)
            losses.append(test_loss)
            models.append({"variant": variant, "pair": k, "member": member, "test_loss": test_loss,
                           "test_acc": test_acc, "train_time_s": time.perf_counter() - t0, "history": hist})
            states.append({n: t.detach().cpu().clone() for n, t in model.state_dict().items()})
        model = model.cpu()
        pairs = [(variant, states[1], {})]
        if variant == "standard":
            t0 = time.perf_counter()
            perms = weight_matching(spec, states[0], states[1], seed=derive_seed(seed, NAME, "match", k))
            info = {"matching_time_s": time.perf_counter() - t0,
                    "identity_fraction": float(np.mean([(p == torch.arange(len(p))).float().mean().item()
                                                        for p in perms.values()]))}
            pairs.append(("git_rebasin", apply_permutation(spec, perms, states[1]), info))
        for method, state_b, info in pairs:
            c = interpolation_curve(model, states[0], state_b, test_ds.X, test_ds.y, alphas)
            curves.append({"method": method, "pair": k, **c, "endpoint_losses": losses,
                           "barrier_mid": midpoint_barrier(c["alpha"], c["loss"]),
                           "barrier_max": max_barrier(c["alpha"], c["loss"]), **info})
    bar.close()
    return {"models": models, "curves": curves, "summary": summarise(curves),
            "data": {"train": len(train_ds), "val": len(val_ds), "test": len(test_ds)}}


def summarise(curves: list[dict]) -> dict[str, dict[str, float]]:
    df = pd.DataFrame([{k: c[k] for k in ("method", "pair", "barrier_mid", "barrier_max")} for c in curves])
    g = df.groupby("method")
    out = {}
    for m in METHODS:
        if m in g.groups:
            d = g.get_group(m)
            out[m] = {"barrier_mean": float(d.barrier_mid.mean()), "barrier_std": float(d.barrier_mid.std(ddof=1)),
                      "max_barrier_mean": float(d.barrier_max.mean()), "n_pairs": int(len(d))}
    return out


def load_or_run(cfg: Mapping[str, Any], recompute: bool = False, device: str = "auto") -> dict[str, Any]:
    """Stored record for ``cfg`` from ``results/<scale>/`` unless ``recompute``; else run and store it."""
    dev = resolve_device(device)
    return results.load_or_run(NAME, dict(cfg), lambda c: run(c, device=str(dev)), recompute=recompute,
                               device=str(dev))


def check(record: Mapping[str, Any], atol: float = 1e-4) -> None:
    """Fail loudly if a record is malformed: NaNs, wrong pair count or α grid, endpoints ≠ the models' losses."""
    cfg, res = record["manifest"]["config"], record["result"]
    models = {(m["variant"], m["pair"], m["member"]): m for m in res["models"]}
    for c in res["curves"]:
        where = f"{c['method']} pair {c['pair']}"
        if len(c["alpha"]) != cfg["n_alpha"] or not np.isclose(c["alpha"][0], 0) or not np.isclose(c["alpha"][-1], 1):
            raise ValueError(f"{where}: α grid is not {cfg['n_alpha']} points from 0 to 1")
        if not np.all(np.isfinite(c["loss"])):
            raise ValueError(f"{where}: non-finite loss on the interpolation curve")
        variant = "standard" if c["method"] == "git_rebasin" else c["method"]
        for end, member in ((0, 0), (-1, 1)):
            expected = models[(variant, c["pair"], member)]["test_loss"]
            if abs(c["loss"][end] - expected) > atol * max(1.0, abs(expected)):
                raise ValueError(f"{where}: curve endpoint {c['loss'][end]:.6f} ≠ model {member}'s test loss "
                                 f"{expected:.6f} (a permutation or interpolation bug)")
    for m in METHODS:
        n = sum(c["method"] == m for c in res["curves"])
        if n != cfg["n_pairs"]:
            raise ValueError(f"{m}: {n} curves, expected n_pairs={cfg['n_pairs']}")


def curves_frame(record: Mapping[str, Any]) -> pd.DataFrame:
    """Long table: one row per (method, pair, α) with test loss and accuracy."""
    rows = []
    for c in record["result"]["curves"]:
        for a, l, acc in zip(c["alpha"], c["loss"], c["acc"]):
            rows.append({"method": LABELS[c["method"]], "pair": c["pair"], "alpha": a, "test_loss": l,
                         "test_acc": acc})
    return pd.DataFrame(rows)


def table1(record: Mapping[str, Any]) -> pd.DataFrame:
    """Table 1 row 1: our midpoint barrier (mean ± std over pairs) beside the paper's."""
    s = record["result"]["summary"]
    rows = []
    for m in METHODS:
        p_mean, p_std = PAPER_TABLE1[m]
        rows.append({"method": LABELS[m], "ours: barrier": f"{s[m]['barrier_mean']:.3f} ± {s[m]['barrier_std']:.3f}",
                     "ours: max barrier": f"{s[m]['max_barrier_mean']:.3f}", "pairs": s[m]["n_pairs"],
                     "paper: barrier": f"{p_mean:.3f} ± {p_std:.2f}"})
    return pd.DataFrame(rows).set_index("method")


def barriers(record: Mapping[str, Any], method: str) -> np.ndarray:
    return np.array([c["barrier_mid"] for c in record["result"]["curves"] if c["method"] == method])


def ordering_tests(record: Mapping[str, Any]) -> pd.DataFrame:
    """The paper's ordering W-Asym ≤ Git Re-Basin < σ-Asym < Standard, claim by claim.

    ``A < B`` claims use a one-sided Welch t-test on the per-pair barriers:
    *reproduced* if the means are in the paper's order with p < 0.05, *direction
    only* if in order with p ≥ 0.05, *not reproduced* otherwise. ``A ≤ B`` (W-Asym
    vs Git Re-Basin, whose paper values differ by 0.006) is *not reproduced* only
    if A is significantly larger (p < 0.05).
    """
    rows = []
    for lo, hi, strict in (("w_asym", "git_rebasin", False), ("git_rebasin", "sigma_asym", True),
                           ("sigma_asym", "standard", True), ("w_asym", "standard", True)):
        a, b = barriers(record, lo), barriers(record, hi)
        if strict:
            p = float(stats.ttest_ind(a, b, equal_var=False, alternative="less").pvalue)
            verdict = "reproduced" if a.mean() < b.mean() and p < 0.05 else (
                "direction only" if a.mean() < b.mean() else "not reproduced")
        else:
            p = float(stats.ttest_ind(a, b, equal_var=False, alternative="greater").pvalue)
            verdict = "not reproduced" if p < 0.05 else "reproduced"
        rows.append({"claim": f"{LABELS[lo]} {'<' if strict else '≤'} {LABELS[hi]}",
                     "ours": f"{a.mean():.3f} vs {b.mean():.3f}", "p (one-sided Welch)": round(p, 4),
                     "verdict": verdict})
    return pd.DataFrame(rows).set_index("claim")


def endpoint_table(record: Mapping[str, Any]) -> pd.DataFrame:
    """Mean test loss / accuracy of the trained endpoint networks per variant (are they trained at all?)."""
    df = pd.DataFrame(record["result"]["models"])
    df["final_val_acc"] = [m["history"]["val_acc"][-1] if m["history"].get("val_acc") else np.nan
                           for m in record["result"]["models"]]
    g = df.groupby("variant").agg(networks=("test_loss", "size"), test_loss=("test_loss", "mean"),
                                  test_acc=("test_acc", "mean"), val_acc=("final_val_acc", "mean"),
                                  train_time_s=("train_time_s", "mean"))
    g.index = [LABELS[v] for v in g.index]
    return g.loc[[LABELS[v] for v in VARIANTS]].round(4)
