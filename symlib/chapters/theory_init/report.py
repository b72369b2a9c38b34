"""Theory-Init (seed 000): tables, figures, sentences and the verdicts of the abstract's five claims.

Pre-registered decision rules (fixed in this file before the ``small`` result was computed):

* **distances** — per (task, row kind) the paired log-ratios ``log10(d_He / d_TI)`` over the pairs (pair ``k`` of both
  arms shares its seeds); "about an order of magnitude" holds when their mean is ≥ ``HALF_DECADE`` = 0.5 (a ratio of
  at least 10^0.5 ≈ 3.2), tested by the exact one-sided Wilcoxon signed-rank test of the log-ratios against 0.5;
* **matching** — what Git Re-Basin returns (the best of the identity start and ``n_restarts`` random starts):
  Theory-Init "returns the identity" when its mean identity fraction is ≥ ``IDENTITY_BAR`` = 0.9 and larger than
  He's (exact one-sided Wilcoxon, paired by ``k``); premise: He pairs are separated by matching (every He pair's
  best objective beats the identity, and He's mean identity fraction is < 0.5 on every task);
* **accuracy** — theory rows against He and against arbitrary rows, test MSE on the interpolation and the
  extrapolation split, paired by network (pair ``k``, member ``m``), exact one-sided Wilcoxon on log MSE;
* **theory** — exact numerical checks (the bound holds everywhere, equality where claimed, moments within
  ``Z_MAX`` standard errors of Monte Carlo);
* **CNN** — the distance rule and the matching rule on MNIST and CIFAR-10.

Several settings are combined with :func:`symlib.claims.across`.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from ... import ledger
from ...claims import Assessment, Claim, Premise, across, by_key
from ...formatting import integer, mean_sd, number, percent, sci, sig
from ...plotting import new_figure, strip
from ...stats import format_p, wilcoxon
from .tasks import TASKS

__all__ = ["CLAIMS", "PARAMETERS", "accuracy_frame", "accuracy_table", "accuracy_text", "claim_text", "cnn_table",
           "cnn_text", "distance_frame", "distance_table", "distance_text", "figure_accuracy", "figure_distances",
           "figure_jacobian", "figure_matching", "matching_table", "matching_text", "tasks_table", "theory_summary",
           "theory_table", "theory_text", "timing_text"]

HALF_DECADE = 0.5
IDENTITY_BAR = 0.9
Z_MAX = 4.5
#: the tasks as the page names them (the keys of :data:`.tasks.TASKS` seed the data, so they stay as they are)
TASK_LABELS = {"pendulum": "pendulum", "planck": "Planck", "lennard_jones": "Lennard-Jones",
               "resonance": "driven oscillator"}
ARM_LABELS = {"theory": "Theory-Init, theory rows", "arbitrary": "Theory-Init, arbitrary rows", "he": "He"}
ARM_COLORS = {"Theory-Init, theory rows": "#C44E52", "Theory-Init, arbitrary rows": "#DD8452", "He": "#4C72B0"}

#: The notebook's parameters in words, with their units (the chapter's parameter table).
PARAMETERS = {
    "scale": "preset", "seed": "random seed", "tasks": "regression tasks", "width": "MLP width n",
    "depth": "MLP linear layers", "delta_scale": "Δ scale c (std c/√n)", "out_scale": "output-layer scale (std ·/√n)",
    "n_pairs": "pairs per setting", "n_train": "training points per task", "n_test": "test points per split",
    "epochs": "MLP epochs", "batch_size": "MLP batch size", "lr": "MLP Adam learning rate",
    "n_restarts": "random starts of weight matching", "max_iter": "weight-matching sweeps (max)",
    "r2_bar": "training bar: mean interpolation R²", "cnn_datasets": "CNN datasets", "cnn_channels": "CNN channels",
    "cnn_depth": "CNN convolutions", "cnn_train_size": "CNN training images", "cnn_test_size": "CNN test images",
    "cnn_epochs": "CNN epochs", "cnn_batch_size": "CNN batch size", "cnn_lr": "CNN Adam learning rate",
    "cnn_delta_scale": "CNN Δ scale (std ·/√(9C))", "cnn_out_scale": "CNN head scale (std ·/√C)",
    "cnn_acc_bar": "training bar: CNN accuracy (MNIST, CIFAR-10)", "jac_width": "Jacobian check: width",
    "jac_depths": "Jacobian check: depths L", "jac_scales": "Jacobian check: scales c", "jac_draws": "draws of Δ per "
    "setting", "jac_inputs": "random inputs per draw", "mc_draws": "Monte Carlo draws (moments)",
    "tail_t": "t of the tail bound",
}


# ------------------------------------------------------------------------------------------------- frames

def distance_frame(record: Mapping[str, Any]) -> pd.DataFrame:
    """One row per trained MLP pair: task, arm, pair, distances (init, final, after alignment), identity fractions
    (best, random-start best, identity start; pooled and per permutation) and relative gains."""
    rows = []
    for s in record["result"]["mlp"]:
        for p in s["pairs"]:
            rows.append(_pair_row(p, task=TASK_LABELS[s["task"]], arm=s["arm"]))
    return pd.DataFrame(rows)


def _pair_row(p: Mapping[str, Any], **where) -> dict:
    row = {**where, "pair": p["pair"], "distance": p["distance"], "init_distance": p.get("init_distance", np.nan)}
    for key in ("best", "random", "identity_start"):
        row[f"{key}_identity"] = p[f"{key}_identity_fraction"]
        row[f"{key}_gain"] = p[f"{key}_relative_gain"]
        row[f"{key}_aligned_distance"] = p[f"{key}_aligned_distance"]
        for perm, v in p[f"{key}_layer_identity"].items():
            row[f"{key}_identity_{perm}"] = v
    return row


def controls_frame(record: Mapping[str, Any], cnn: bool = False) -> pd.DataFrame:
    src = record["result"]["cnn"]["controls"] if cnn else record["result"]["mlp_controls"]
    label = lambda t: TASK_LABELS.get(t, t)  # noqa: E731
    return pd.DataFrame([_pair_row(p, arm=p["arm"], task=f"{label(p['task_a'])} vs {label(p['task_b'])}") for p in src])


def accuracy_frame(record: Mapping[str, Any]) -> pd.DataFrame:
    """One row per trained MLP: task, arm, pair, member, test MSE and R² on both splits."""
    rows = []
    for s in record["result"]["mlp"]:
        for m in s["members"]:
            rows.append({"task": TASK_LABELS[s["task"]], "arm": s["arm"], "pair": m["pair"], "member": m["member"],
                         "interpolation_mse": m["interpolation_loss"], "interpolation_r2": m["interpolation_r2"],
                         "extrapolation_mse": m["extrapolation_loss"], "extrapolation_r2": m["extrapolation_r2"]})
    return pd.DataFrame(rows)


def cnn_frame(record: Mapping[str, Any]) -> pd.DataFrame:
    rows = []
    for s in record["result"]["cnn"]["settings"]:
        acc = [m["test_acc"] for m in s["members"]]
        for p in s["pairs"]:
            rows.append({**_pair_row(p, task=s["dataset"], arm=s["arm"]), "acc": float(np.mean(acc[2 * p["pair"]:2 * p["pair"] + 2]))})
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------------- statistics

def _ratio_outcome(d_base, d_arm) -> tuple[bool, float, float, float]:
    """``(holds, p, p_opposite, geometric-mean ratio)`` of the distance rule (module docstring)."""
    lb, la = np.log10(d_base), np.log10(d_arm)
    mean = float(np.mean(lb - la))
    return (mean >= HALF_DECADE, wilcoxon(lb, la, "greater", shift=HALF_DECADE),
            wilcoxon(lb, la, "less", shift=HALF_DECADE), 10 ** mean)


def _identity_outcome(f_arm, f_he) -> tuple[bool, float, float]:
    return (float(np.mean(f_arm)) >= IDENTITY_BAR and float(np.mean(f_arm)) > float(np.mean(f_he)),
            wilcoxon(f_arm, f_he, "greater"), wilcoxon(f_arm, f_he, "less"))


def _by(df: pd.DataFrame, task: str, arm: str) -> pd.DataFrame:
    return df[(df.task == task) & (df.arm == arm)].sort_values("pair")


def distance_outcomes(df: pd.DataFrame) -> dict[str, tuple[bool, float, float, float]]:
    out = {}
    for task in dict.fromkeys(df.task):
        he = _by(df, task, "he").distance.to_numpy()
        for arm in [a for a in ("theory", "arbitrary") if a in set(df.arm)]:
            out[f"{task}, {ARM_LABELS[arm].split(', ')[-1]}"] = _ratio_outcome(he, _by(df, task, arm).distance.to_numpy())
    return out


def matching_outcomes(df: pd.DataFrame) -> dict[str, tuple[bool, float, float]]:
    out = {}
    for task in dict.fromkeys(df.task):
        he = _by(df, task, "he").best_identity.to_numpy()
        for arm in [a for a in ("theory", "arbitrary") if a in set(df.arm)]:
            out[f"{task}, {ARM_LABELS[arm].split(', ')[-1]}"] = _identity_outcome(_by(df, task, arm).best_identity.to_numpy(), he)
    return out


def _separated(df: pd.DataFrame) -> tuple[bool, str]:
    """The premise of the matching claims: He pairs are separated by matching on every task."""
    parts, ok = [], True
    for task in dict.fromkeys(df.task):
        he = _by(df, task, "he")
        good = bool((he.best_gain > 0).all() and he.best_identity.mean() < 0.5)
        ok &= good
        parts.append(f"{task}: He identity {percent(he.best_identity.mean(), 0)}, gain > 0 in "
                     f"{int((he.best_gain > 0).sum())}/{len(he)}")
    return ok, "; ".join(parts)


def accuracy_outcomes(record: Mapping[str, Any]) -> dict[str, tuple[bool, float, float]]:
    df = accuracy_frame(record).sort_values(["pair", "member"])
    out = {}
    for task in dict.fromkeys(df.task):
        th = df[(df.task == task) & (df.arm == "theory")]
        for base in ("he", "arbitrary"):
            b = df[(df.task == task) & (df.arm == base)]
            for split in ("interpolation", "extrapolation"):
                la, lb = np.log(th[f"{split}_mse"].to_numpy()), np.log(b[f"{split}_mse"].to_numpy())
                out[f"{task} {split} vs {ARM_LABELS[base]}"] = (bool(np.mean(la - lb) < 0), wilcoxon(la, lb, "less"),
                                                               wilcoxon(la, lb, "greater"))
    return out


# ------------------------------------------------------------------------------------------------- tables

def tasks_table() -> pd.DataFrame:
    """The four tasks: the law, the variable, the training and extrapolation ranges, the training noise."""
    laws = {"pendulum": "T/T₀ = (2/π) K(sin²(θ₀/2))", "planck": "B ∝ x⁻⁵ / (e^{1/x} − 1), x = λk_BT/(hc)",
            "lennard_jones": "V/ε = 4((σ/r)¹² − (σ/r)⁶)", "resonance": "A = 1/√((1 − ω²)² + (0.2ω)²)"}
    return pd.DataFrame([{"law": laws[t.name], "input": t.variable, "output": t.target,
                          "training range": f"[{t.lo:g}, {t.hi:g}]", "extrapolation": f"({t.hi:g}, {t.ext:g}]",
                          "noise (× std of law)": f"{t.noise:g}"} for t in TASKS.values()],
                        index=[TASK_LABELS[t] for t in TASKS])


def distance_table(record: Mapping[str, Any]) -> pd.DataFrame:
    """Per task: mean ± sd distance per parameter of each arm, the geometric-mean ratios He / Theory-Init, and the
    test of the distance rule."""
    df = distance_frame(record)
    rows = {}
    for task in dict.fromkeys(df.task):
        row = {f"d, {ARM_LABELS[a]}": mean_sd(_by(df, task, a).distance, 4) for a in ("theory", "arbitrary", "he")}
        for arm in ("theory", "arbitrary"):
            holds, p, _, ratio = _ratio_outcome(_by(df, task, "he").distance.to_numpy(), _by(df, task, arm).distance.to_numpy())
            row[f"He / {arm} rows"] = f"{sig(ratio, 2)}× ({format_p(p)})"
        row["d at init, theory / He"] = f"{sig(_by(df, task, 'theory').init_distance.mean(), 2)} / " \
                                        f"{sig(_by(df, task, 'he').init_distance.mean(), 2)}"
        rows[task] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def matching_table(record: Mapping[str, Any]) -> pd.DataFrame:
    """Per (task, arm) and for the unrelated controls: the share of units left in place (the identity fraction) by
    what matching returns (``kept``, pooled over hidden layers; per layer in :func:`figure_matching`), by the best
    random start alone and by the identity start alone; the relative gain over the identity of the best random
    start; and the distance per parameter after alignment. Rows are indexed ``(task, arm)`` and columns kept short,
    so the table fits a laptop page."""
    df = distance_frame(record)
    ctrl = controls_frame(record)
    rows = {}

    def row(g: pd.DataFrame) -> dict:
        r = {"kept": percent(g.best_identity.mean(), 0)}
        r["random starts"] = percent(g.random_identity.mean(), 0)
        r["identity start"] = percent(g.identity_start_identity.mean(), 0)
        r["gain over identity"] = mean_sd(g.random_gain, 3)
        r["aligned distance"] = mean_sd(g.best_aligned_distance, 4)
        return r
    for task in dict.fromkeys(df.task):
        for arm in ("theory", "arbitrary", "he"):
            rows[(task, ARM_LABELS[arm])] = row(_by(df, task, arm))
    for arm in ("he", "arbitrary"):
        g = ctrl[ctrl.arm == arm]
        rows[("unrelated tasks (control)", ARM_LABELS[arm])] = row(g)
    return pd.DataFrame.from_dict(rows, orient="index")


def accuracy_table(record: Mapping[str, Any]) -> pd.DataFrame:
    """Per (task, arm): mean ± sd test R² and MSE (standardised units) on the interpolation and extrapolation
    splits."""
    df = accuracy_frame(record)
    rows = {}
    for task in dict.fromkeys(df.task):
        for arm in ("theory", "arbitrary", "he"):
            g = df[(df.task == task) & (df.arm == arm)]
            rows[f"{task}: {ARM_LABELS[arm]}"] = {
                "interpolation R²": mean_sd(g.interpolation_r2, 4), "interpolation MSE": f"{sig(g.interpolation_mse.mean(), 2)}",
                "extrapolation R²": mean_sd(g.extrapolation_r2, 2), "extrapolation MSE": f"{sig(g.extrapolation_mse.mean(), 2)}"}
    return pd.DataFrame.from_dict(rows, orient="index")


def cnn_table(record: Mapping[str, Any]) -> pd.DataFrame:
    """Per (dataset, arm): test accuracy, distance per parameter, what matching returns, and the unrelated control."""
    df = cnn_frame(record)
    rows = {}
    for task in dict.fromkeys(df.task):
        for arm in ("theory", "he"):
            g = _by(df, task, arm)
            rows[f"{task}: {ARM_LABELS[arm].split(',')[0]}"] = {
                "test accuracy": percent(g.acc.mean(), 1), "distance per parameter": mean_sd(g.distance, 4),
                "returned: identity": percent(g.best_identity.mean(), 0),
                "random starts only": percent(g.random_identity.mean(), 0),
                "gain of random starts over identity": mean_sd(g.random_gain, 3)}
    ctrl = controls_frame(record, cnn=True)
    if len(ctrl):
        rows["control: He MNIST vs He CIFAR-10 luminance"] = {
            "test accuracy": "—", "distance per parameter": mean_sd(ctrl.distance, 4),
            "returned: identity": percent(ctrl.best_identity.mean(), 0),
            "random starts only": percent(ctrl.random_identity.mean(), 0),
            "gain of random starts over identity": mean_sd(ctrl.random_gain, 3)}
    return pd.DataFrame.from_dict(rows, orient="index")


def theory_summary(record: Mapping[str, Any]) -> dict[str, Any]:
    """The numerical checks of the formal statements (see :mod:`symlib.theory.theory_init`)."""
    t = record["result"]["theory"]
    grid = t["grid"]
    ratios = [g[k]["max_error_over_bound"] for g in grid for k in ("positive", "relu")]
    one_dev = [g[k]["one_layer_unclipped_max_deviation"] for g in grid for k in ("positive", "relu")
               if g[k]["one_layer_unclipped_max_deviation"] is not None]
    one_max = [g[k]["one_layer_ratio_max"] for g in grid for k in ("positive", "relu")]
    sv_upper = all(g[k]["sv_max"] <= g["upper"] * (1 + 1e-9) for g in grid for k in ("positive", "relu"))
    sv_lower = all(g[k]["sv_min_unclipped"] is None or g[k]["sv_min_unclipped"] >= g["lower"] * (1 - 1e-9)
                   for g in grid for k in ("positive", "relu"))
    norms = [s <= g["tail_bound"] for g in grid for s in g["spectral_norms"]]
    tight = [abs(x["ratio"] - 1) for x in t["tight"]]
    m = t["moments"]
    z_mean = max(x["mean_z"] for x in m)
    z_sq = max(abs(x["sq_error_mc"] - x["sq_error_exact"]) / x["sq_error_mc_se"] for x in m)
    z_pre = max(abs(x["pre_sq_error_mc"] - x["bound"]) / x["pre_sq_error_mc_se"] for x in m)
    exp_ok = all(x["sq_error_exact"] <= x["bound"] * (1 + 1e-9) for x in m)
    ok = (max(ratios) <= 1 + 1e-9 and max(tight) < 1e-9 and (not one_dev or max(one_dev) < 1e-9)
          and max(one_max) <= 1 + 1e-9 and sv_upper and sv_lower and max(z_mean, z_sq, z_pre) < Z_MAX and exp_ok)
    c_mid = sorted({g["scale"] for g in grid})
    c_mid = min(c_mid, key=lambda c: abs(c - 0.1))
    sel = [g for g in grid if g["scale"] == c_mid]
    unclipped = [g["positive"]["sv_min_unclipped"] for g in sel if g["positive"]["sv_min_unclipped"] is not None]
    return {"ok": bool(ok), "max_ratio": max(ratios), "tight_dev": max(tight),
            "one_layer_dev": max(one_dev) if one_dev else None, "sv_upper": sv_upper, "sv_lower": sv_lower,
            "tail_frequency": float(np.mean(norms)), "z_mean": z_mean, "z_sq": z_sq, "z_pre": z_pre,
            "expected_ok": exp_ok, "n_draws": len(grid), "scale": c_mid,
            "sv_range": (min(unclipped) if unclipped else float("nan"), max(g["positive"]["sv_max"] for g in sel)),
            "unclipped_share": sum(g["positive"]["unclipped_inputs"] for g in sel) / sum(g["positive"]["inputs"] for g in sel),
            "depths": sorted({g["depth"] for g in sel}), "width": t["width"]}


def theory_table(record: Mapping[str, Any]) -> pd.DataFrame:
    """Each formal statement and its numerical check."""
    s = theory_summary(record)
    ok = lambda flag: "holds" if flag else "FAILS"  # noqa: E731
    rows = {
        "worst-case L² bound ‖h_L − h_0‖ ≤ (Π(1+s_l) − 1)‖h_0‖": (f"largest ratio error / bound {number(s['max_ratio'], 3)}",
                                                              ok(s["max_ratio"] <= 1 + 1e-9)),
        "… attained by Δ_l = s v vᵀ, h_0 = v": (f"|ratio − 1| ≤ {sci(s['tight_dev'])}", ok(s["tight_dev"] < 1e-9)),
        "one layer: ‖h_1 − h_0‖ = ‖Δh_0‖ when nothing is clipped": (
            f"|ratio − 1| ≤ {sci(s['one_layer_dev'])}" if s["one_layer_dev"] is not None else "no unclipped input",
            ok(s["one_layer_dev"] is None or s["one_layer_dev"] < 1e-9)),
        "moment identity E[ReLU(h_i + τg)] (exact formula)": (f"largest |MC − exact| / SE {number(s['z_mean'], 2)}",
                                                             ok(s["z_mean"] < Z_MAX)),
        "E‖h' − h‖² (exact formula) ≤ nσ²‖h‖²": (f"|MC − exact| / SE ≤ {number(s['z_sq'], 2)}",
                                                 ok(s["z_sq"] < Z_MAX and s["expected_ok"])),
        "E‖(I+Δ)h − h‖² = nσ²‖h‖²": (f"|MC − formula| / SE ≤ {number(s['z_pre'], 2)}", ok(s["z_pre"] < Z_MAX)),
        "σ_max(J) ≤ Π(1 + s_l); σ_min(J) ≥ Π(1 − s_l) if unclipped": ("every draw and input",
                                                                   ok(s["sv_upper"] and s["sv_lower"])),
        "P(‖Δ‖₂ ≤ σ(2√n + t)) ≥ 1 − e^{−t²/2}": (f"observed {percent(s['tail_frequency'], 1)} of draws", "reported"),
    }
    return pd.DataFrame([{"statement (ours)": k, "check": v[0], "": v[1]} for k, v in rows.items()]).set_index(
        "statement (ours)")


# ------------------------------------------------------------------------------------------------- figures

def figure_distances(record: Mapping[str, Any]):
    """Distance per parameter between the two networks of each pair, per task and arm (log scale), at
    initialisation and after training."""
    df = distance_frame(record)
    df["arm_label"] = df.arm.map(ARM_LABELS)
    order = list(dict.fromkeys(df.task))
    hue = list(ARM_LABELS.values())
    fig, axes = new_figure(1, 2, height=4.2, sharey=True)
    for ax, col, title in ((axes[0], "init_distance", "at initialisation"), (axes[1], "distance", "after training")):
        strip(ax, df, "task", col, order, hue="arm_label", hue_order=hue, palette=ARM_COLORS, seed=0, size=22)
        ax.set_yscale("log")
        ax.set_title(title)
        ax.set_xlabel("task")
        ax.tick_params(axis="x", labelrotation=15)
    axes[0].set_ylabel("‖θ_a − θ_b‖₂ / √P  (per parameter)")
    axes[1].legend(fontsize=8, loc="lower right")
    return fig


def figure_matching(record: Mapping[str, Any]):
    """Fraction of each hidden layer's units that weight matching leaves in place, per pair: what it returns (best of
    all starts) for each arm, and for the unrelated controls."""
    df = distance_frame(record)
    ctrl = controls_frame(record)
    perms = sorted(c.removeprefix("best_identity_") for c in df.columns if c.startswith("best_identity_P"))
    long = []
    for frame, label in ((df, None), (ctrl, "control")):
        for _, r in frame.iterrows():
            name = ARM_LABELS[r.arm] if label is None else f"unrelated ({ARM_LABELS[r.arm].split(',')[-1].strip()})"
            for p in perms:
                long.append({"layer": p, "group": name, "fraction": r[f"best_identity_{p}"]})
    long = pd.DataFrame(long)
    groups = list(ARM_LABELS.values()) + ["unrelated (He)", "unrelated (arbitrary rows)"]
    palette = {**ARM_COLORS, "unrelated (He)": "0.45", "unrelated (arbitrary rows)": "0.7"}
    fig, ax = new_figure(width=9, height=4.0)
    strip(ax, long, "layer", "fraction", perms, hue="group", hue_order=groups, palette=palette, seed=1, size=16)
    chance = 1 / record["manifest"]["config"]["width"]
    ax.axhline(chance, color="0.3", ls=":", lw=1)
    ax.text(len(perms) - 0.45, chance, " chance", va="bottom", ha="right", fontsize=8)
    ax.set_xlabel("hidden layer (permutation)")
    ax.set_ylabel("units left in place by matching")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=8, loc="center right", bbox_to_anchor=(1.0, 0.6))
    return fig


def figure_accuracy(record: Mapping[str, Any]):
    """Test MSE (standardised targets, log scale) of every network, per task and arm, on both splits."""
    df = accuracy_frame(record)
    df["arm_label"] = df.arm.map(ARM_LABELS)
    order = list(dict.fromkeys(df.task))
    hue = list(ARM_LABELS.values())
    fig, axes = new_figure(1, 2, height=4.2)
    for ax, split in zip(axes, ("interpolation", "extrapolation")):
        strip(ax, df, "task", f"{split}_mse", order, hue="arm_label", hue_order=hue, palette=ARM_COLORS, seed=2, size=14)
        ax.set_yscale("log")
        ax.set_title(f"{split} split")
        ax.set_xlabel("task")
        ax.set_ylabel("test MSE (standardised target units²)")
        ax.tick_params(axis="x", labelrotation=15)
    axes[0].legend(fontsize=8, loc="upper left")
    return fig


def figure_jacobian(record: Mapping[str, Any]):
    """Left: singular values of the middle block's Jacobian against depth, one colour per Δ scale ``c`` (std
    ``c/√n``), at positive random inputs — the largest over inputs, and the smallest over inputs where no unit is
    clipped (where the lower bound applies) — mean ± sd over draws of Δ (bands), with the bounds ``Π(1 ± s_l)``
    (dashed). Right: the relative change ``‖h_L − h_0‖/‖h_0‖`` on ReLU features against the worst-case bound."""
    nan = float("nan")
    grid = pd.DataFrame([{"depth": g["depth"], "scale": g["scale"], "sv_max": g["positive"]["sv_max"],
                          "sv_min": nan if g["positive"]["sv_min_unclipped"] is None else g["positive"]["sv_min_unclipped"],
                          "lower": g["lower"], "upper": g["upper"], "error": g["relu"]["mean_relative_error"],
                          "l2_bound": g["l2_bound"]} for g in record["result"]["theory"]["grid"]])
    fig, axes = new_figure(1, 2, height=4.4)
    for i, c in enumerate(sorted(grid.scale.unique())):
        g = grid[grid.scale == c].groupby("depth")
        m, s = g.mean(), g.std().fillna(0)
        col = f"C{i}"
        for key in ("sv_min", "sv_max"):
            axes[0].plot(m.index, m[key], color=col, marker="o", ms=3, label=f"c = {c:g}" if key == "sv_max" else None)
            axes[0].fill_between(m.index, m[key] - s[key], m[key] + s[key], color=col, alpha=0.2, lw=0)
        axes[0].plot(m.index, m.lower.where(m.lower > 0), color=col, ls="--", lw=0.8)
        axes[0].plot(m.index, m.upper, color=col, ls="--", lw=0.8)
        axes[1].plot(m.index, m.error, color=col, marker="o", ms=3, label=f"c = {c:g}")
        axes[1].fill_between(m.index, m.error - s.error, m.error + s.error, color=col, alpha=0.2, lw=0)
        axes[1].plot(m.index, m.l2_bound, color=col, ls="--", lw=0.8)
    depths = sorted(grid.depth.unique())
    for ax in axes:
        ax.set_yscale("log")
        ax.set_xscale("log", base=2)
        ax.set_xticks(depths, [str(d) for d in depths])
        ax.set_xlabel("depth L of the middle block (layers)")
    axes[0].set_ylabel("singular values of ∂h_L/∂h_0")
    axes[0].set_title(f"σ_max and σ_min (unclipped inputs), n = {record['result']['theory']['width']}\n"
                      "dashed: Π(1 ± ‖Δ_l‖₂)", fontsize=10)
    axes[0].legend(fontsize=8, loc="lower left")
    axes[1].set_ylabel("‖h_L − h_0‖ / ‖h_0‖")
    axes[1].set_title("Relative change on ReLU features\ndashed: worst-case bound Π(1 + ‖Δ_l‖₂) − 1", fontsize=10)
    axes[1].legend(fontsize=8, loc="lower right")
    return fig


# ------------------------------------------------------------------------------------------------- prose

def _verdict_line(outcomes: Mapping[str, tuple]) -> str:
    return "; ".join(f"{k}: {format_p(v[1])}" for k, v in outcomes.items())


def _where(outcomes: Mapping[str, tuple]) -> str:
    """Which parts of a combined claim hold (direction and rule), which are significant, which fail the rule."""
    holds = [k for k, v in outcomes.items() if v[0]]
    sig_ = [k for k, v in outcomes.items() if v[0] and v[1] < 0.05]
    fails = [k for k, v in outcomes.items() if not v[0]]
    return (f"the rule holds in {len(holds)} of {len(outcomes)} parts ({len(sig_)} significant)"
            + (f"; fails in: {' / '.join(fails)}" if fails else ""))


def distance_text(record: Mapping[str, Any]) -> str:
    """§2's reading: the range of the He / Theory-Init distance ratios per row kind, and the verdict."""
    out = distance_outcomes(distance_frame(record))
    th = [v[3] for k, v in out.items() if k.endswith("theory rows")]
    ar = [v[3] for k, v in out.items() if k.endswith("arbitrary rows")]
    return (f"He pairs end {sig(min(th), 2)}–{sig(max(th), 2)} times further apart than Theory-Init pairs with theory "
            f"rows, and {sig(min(ar), 2)}–{sig(max(ar), 2)} times further than those with arbitrary rows (geometric "
            f"means over the pairs of each task; the rule asks for at least 10^{HALF_DECADE} ≈ 3.2).\n\n"
            + claim_text(record, "theory_init.distances"))


def matching_text(record: Mapping[str, Any]) -> str:
    """§3's reading: what matching returns for each arm and for the unrelated controls, and the verdict."""
    df, ctrl = distance_frame(record), controls_frame(record)
    mean = lambda g: percent(g.best_identity.mean(), 0)  # noqa: E731
    he_ctrl, ar_ctrl = ctrl[ctrl.arm == "he"], ctrl[ctrl.arm == "arbitrary"]
    return (f"Over all tasks, weight matching (best of the identity start and "
            f"{record['manifest']['config']['n_restarts']} random starts) leaves {mean(df[df.arm == 'theory'])} of the "
            f"units of Theory-Init pairs with theory rows in place, {mean(df[df.arm == 'arbitrary'])} with arbitrary "
            f"rows, and {mean(df[df.arm == 'he'])} of He pairs' units. Unrelated networks — trained on different tasks "
            f"— keep {mean(he_ctrl)} (He) and {mean(ar_ctrl)} (Theory-Init with the same arbitrary rows). The best "
            f"random start alone changes the objective relative to the identity's by "
            f"{mean_sd(df[df.arm == 'theory'].random_gain, 3)} (theory rows) and "
            f"{mean_sd(df[df.arm == 'he'].random_gain, 3)} (He) (relative gain)."
            + (" Matching thus returns the identity even between Theory-Init networks trained on *different* tasks, "
               "which compute different functions: what it detects is that both networks stayed near their shared "
               "deterministic start, not that their units took the same functional roles."
               if len(ar_ctrl) and ar_ctrl.best_identity.mean() >= IDENTITY_BAR else "")
            + "\n\n" + claim_text(record, "theory_init.matching"))


def accuracy_text(record: Mapping[str, Any]) -> str:
    """§4's reading: per comparison whether theory rows have the lower test MSE, and the verdict."""
    out = accuracy_outcomes(record)
    wins = [k for k, v in out.items() if v[0] and v[1] < 0.05]
    losses = [k for k, v in out.items() if v[2] < 0.05]
    return (f"Theory rows have a significantly lower test MSE in {len(wins)} of {len(out)} comparisons"
            + (f" ({'; '.join(wins)})" if wins else "") + f", a significantly higher one in {len(losses)}"
            + (f" ({'; '.join(losses)})" if losses else "") + ".\n\n" + claim_text(record, "theory_init.accuracy"))


def theory_text(record: Mapping[str, Any]) -> str:
    """§5's reading: the near-isometry range at c ≈ 0.1 and the verdict of the formal statements."""
    s = theory_summary(record)
    lo, hi = s["sv_range"]
    return (f"At c = {s['scale']:g} (‖Δ‖₂ ≈ {number(2 * s['scale'], 2)}) the Jacobian's singular values stay in "
            f"[{number(lo, 3)}, {number(hi, 3)}] for depths {', '.join(map(str, s['depths']))} at width {s['width']} "
            f"(σ_min over the {percent(s['unclipped_share'], 0)} of positive inputs at which no unit is clipped, where "
            f"the lower bound applies; at a clipped unit σ_min is 0); "
            f"the worst-case bound held in all {integer(s['n_draws'])} draws (largest ratio {number(s['max_ratio'], 3)}).\n\n"
            + claim_text(record, "theory_init.theory"))


def cnn_text(record: Mapping[str, Any]) -> str:
    """§6's reading: the CNN's distance ratio and matching per dataset, and the verdict."""
    df = cnn_frame(record)
    parts = []
    for task in dict.fromkeys(df.task):
        _, _, _, ratio = _ratio_outcome(_by(df, task, "he").distance.to_numpy(), _by(df, task, "theory").distance.to_numpy())
        parts.append(f"{task}: He pairs {sig(ratio, 2)}× further apart; matching keeps "
                     f"{percent(_by(df, task, 'theory').best_identity.mean(), 0)} (Theory-Init) and "
                     f"{percent(_by(df, task, 'he').best_identity.mean(), 0)} (He) of the channels in place")
    return "; ".join(parts) + ".\n\n" + claim_text(record, "theory_init.cnn")


def timing_text(record: Mapping[str, Any]) -> str:
    m = record["manifest"]
    return f"The whole chapter computed in {number(m['wall_time_s'] / 60, 1)} min on {m['device']}."


def claim_text(record: Mapping[str, Any], key: str) -> str:
    """The verdict of the chapter's claim ``key`` in words (:func:`symlib.ledger.sentence`, as the ledger says it)."""
    return ledger.sentence(by_key(CLAIMS)[key], record)


# ------------------------------------------------------------------------------------------------- claims

def _distances(record) -> Assessment:
    out = distance_outcomes(distance_frame(record))
    verdict, against = across({k: v[:3] for k, v in out.items()})
    ratios = [v[3] for v in out.values()]
    return Assessment(f"He / Theory-Init distance {sig(min(ratios), 2)}–{sig(max(ratios), 2)}× over "
                      f"{len(out)} settings", verdict,
                      _where({k: v[:3] for k, v in out.items()})
                      + "; exact one-sided Wilcoxon of log10 ratio > 0.5 per setting: " + _verdict_line(out)
                      + (f"; significantly below: {', '.join(against)}" if against else ""))


def _matching(record) -> Assessment:
    df = distance_frame(record)
    out = matching_outcomes(df)
    verdict, against = across(out)
    ti = df[df.arm != "he"]
    ctrl = controls_frame(record)
    unrelated = ctrl[ctrl.arm == "he"].best_identity.mean()
    return Assessment(f"identity returned for {percent(ti.best_identity.mean(), 0)} of Theory-Init units "
                      f"(He {percent(df[df.arm == 'he'].best_identity.mean(), 0)}; unrelated He "
                      f"{percent(unrelated, 0)})", verdict,
                      f"rule: mean ≥ {percent(IDENTITY_BAR, 0)} and above He; " + _where(out)
                      + "; exact one-sided Wilcoxon: " + _verdict_line(out))


def _matching_premise(record) -> tuple[bool, str]:
    return _separated(distance_frame(record))


def _accuracy(record) -> Assessment:
    out = accuracy_outcomes(record)
    verdict, against = across(out)
    wins = sum(v[0] and v[1] < 0.05 for v in out.values())
    return Assessment(f"theory rows significantly better in {wins} of {len(out)} comparisons, worse in "
                      f"{len(against)}", verdict, "exact one-sided Wilcoxon on log test MSE, paired by network; "
                      + _where(out)
                      + (f"; significantly worse: {', '.join(against)}" if against else ""))


def _theory(record) -> Assessment:
    s = theory_summary(record)
    lo, hi = s["sv_range"]
    return Assessment(f"bound held in {integer(s['n_draws'])} draws (max ratio {number(s['max_ratio'], 3)}), tight "
                      f"to {sci(s['tight_dev'])}; moments within {number(max(s['z_mean'], s['z_sq'], s['z_pre']), 1)} SE; "
                      f"σ(J) ∈ [{number(lo, 2)}, {number(hi, 2)}] at c = {s['scale']:g}",
                      "reproduced" if s["ok"] else "not reproduced",
                      "exact numerical checks of our formalisation (the paper's statements are not available)")


def _cnn(record) -> Assessment:
    df = cnn_frame(record)
    out = {}
    for task in dict.fromkeys(df.task):
        he, th = _by(df, task, "he"), _by(df, task, "theory")
        out[f"{task} distance"] = _ratio_outcome(he.distance.to_numpy(), th.distance.to_numpy())[:3]
        out[f"{task} matching"] = _identity_outcome(th.best_identity.to_numpy(), he.best_identity.to_numpy())
    verdict, against = across(out)
    ratios = {task: _ratio_outcome(_by(df, task, "he").distance.to_numpy(), _by(df, task, "theory").distance.to_numpy())[3]
              for task in dict.fromkeys(df.task)}
    return Assessment("; ".join(f"{task}: He/Theory-Init distance {sig(r, 2)}×, identity returned for "
                                f"{percent(_by(df, task, 'theory').best_identity.mean(), 0)} of Theory-Init channels"
                                for task, r in ratios.items()), verdict,
                      "the MLP rules; " + _where(out) + "; " + _verdict_line(out))


def _cnn_premise(record) -> tuple[bool, str]:
    return _separated(cnn_frame(record))


SOURCE = "Theory-Init (seed 000), abstract"
SEPARATED = Premise("He pairs are separated by weight matching (every He pair's best objective beats the identity's "
                    "and fewer than half of He units stay in place)", _matching_premise)
CLAIMS = [
    Claim("theory_init.distances", SOURCE, "Two Theory-Init networks trained from different seeds end close in weight "
          "space; He pairs land an order of magnitude further apart (four regression tasks, theory and arbitrary rows)",
          "≈ 10× (no number given)", _distances),
    Claim("theory_init.matching", SOURCE, "Git Re-Basin returns the identity permutation between two Theory-Init "
          "networks but a non-trivial one between two He networks, whatever the deterministic rows",
          "identity vs non-trivial (no number given)", _matching, SEPARATED),
    Claim("theory_init.accuracy", SOURCE, "Rows that encode domain theory give an accuracy advantage on physics-rich "
          "tasks (against He and against arbitrary rows)", "an advantage (no number given)", _accuracy),
    Claim("theory_init.theory", SOURCE, "Indices are approximately preserved through ReLU layers: a moment identity, a "
          "worst-case L² bound, a high-probability near-isometry of the middle-block Jacobian",
          "statements only (not given)", _theory),
    Claim("theory_init.cnn", SOURCE, "The same holds for a small CNN on MNIST and CIFAR-10: Theory-Init pairs close, He "
          "pairs far; matching returns the identity for Theory-Init only", "no number given", _cnn,
          Premise("He CNN pairs are separated by weight matching", _cnn_premise)),
]
