"""Appendix A: distance against barrier, overfitting, Figure 6, and the verdicts of their claims.

Designs and tests (fixed before the run): pair ``k`` is members ``(2k, 2k+1)`` in every variant and member ``i``
shares its hyper-parameters across variants, so variants are compared **paired** (Wilcoxon signed-rank). "Not
closer in weight space" is a non-inferiority statement: W-Asym pairs are at least :data:`DISTANCE_MARGIN` × as far
apart as standard pairs. Figure 6's trend is Spearman's correlation of epochs-to-threshold with ``n_fix`` and with
``κ`` over the W-Asym grid, a run that never reaches the threshold counting as ``grid_epochs + 1`` (censored).
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.patches import Rectangle

from ... import ledger, stats
from ...claims import Assessment, Claim, Premise, across, directional
from ...formatting import integer, listing, number, percent, points
from ...plotting import METHOD_COLORS, new_figure
from ...variants import LABELS, VARIANTS

__all__ = ["CLAIMS", "DISTANCE_MARGIN", "PAPER", "PARAMETERS", "distance_table", "figure6", "figure6_curves",
           "figure_distance_barrier", "overfitting_frame", "overfitting_table", "pairs_frame", "speed_frame",
           "speed_table", "threshold_text", "verdict_summary", "verdict_text"]

#: The notebook's parameters in words, with their units (the chapter's parameter table).
PARAMETERS = {
    "scale": "preset", "seed": "random seed", "zoo": "the named zoo read (built by make zoo)",
    "n_members": "members per variant, overfitting", "n_pairs": "pairs per variant, distances and barriers",
    "n_alpha": "points on each interpolation path", "grid_lr": "Figure 6: learning rate",
    "grid_weight_decay": "Figure 6: weight decay", "grid_label_smoothing": "Figure 6: label smoothing",
    "grid_threshold": "Figure 6: training accuracy counted as reached (— : the rule)",
    "grid_threshold_of_standard": "Figure 6's rule: threshold as a share of the standard run's final training "
                                  "accuracy",
    "grid_n_fix": "Figure 6: fixed input filters per output channel", "grid_kappas": "Figure 6: κ values",
    "grid_epochs": "Figure 6: training epochs",
}


#: "W-Asym pairs are not closer": their distance per parameter is at least 0.9 × the standard pairs' (fixed before
#: the run: a tenth closer would still be "about the same", the paper's reading of .000159 vs .000174).
DISTANCE_MARGIN = 0.9
#: Lim et al. (2024), Appendix A (the reference column).
PAPER = {"zoo_distance": {"standard": 0.0034, "w_asym": 0.0051},
         "gnn": {"distance": {"standard": 0.000174, "w_asym": 0.000159}, "barrier": {"standard": 1.448, "w_asym": 0.069}},
         "zoo_train_test_acc": {"standard": (74.8, 73.8), "w_asym": (64.0, 64.0)},
         "figure6_epochs_to_70": {"standard": 11, "most asymmetric": 72}}


def pairs_frame(record: Mapping[str, Any]) -> pd.DataFrame:
    return pd.DataFrame([{k: p[k] for k in ("variant", "a", "b", "distance_per_parameter", "barrier")}
                         for p in record["result"]["pairs"]])


def distance_table(record: Mapping[str, Any]) -> pd.DataFrame:
    """Per variant: distance per trainable parameter and midpoint barrier (mean ± std over pairs), beside the paper's
    zoo distance."""
    df = pairs_frame(record)
    rows = {}
    for v in [v for v in VARIANTS if v in set(df.variant)]:
        d = df[df.variant == v]
        rows[LABELS[v]] = {"pairs": len(d),
                           "distance per parameter": f"{number(d.distance_per_parameter.mean(), 5)} ± "
                                                     f"{number(d.distance_per_parameter.std(ddof=1), 5)}",
                           "paper (its zoo)": number(PAPER["zoo_distance"][v], 4) if v in PAPER["zoo_distance"] else "—",
                           "midpoint barrier (nats)": f"{number(d.barrier.mean())} ± {number(d.barrier.std(ddof=1))}"}
    return pd.DataFrame.from_dict(rows, orient="index")


def overfitting_frame(record: Mapping[str, Any]) -> pd.DataFrame:
    df = pd.DataFrame(record["result"]["members"])
    df = df[~df.diverged].copy()
    df["gap"] = df.train_acc - df.test_acc
    return df


def overfitting_table(record: Mapping[str, Any]) -> pd.DataFrame:
    """Per variant: mean train and test accuracy and their gap, and the maxima, beside the paper's (which reports
    its zoo's train / test accuracy)."""
    df = overfitting_frame(record)
    rows = {}
    for v in VARIANTS:
        d = df[df.variant == v]
        paper = PAPER["zoo_train_test_acc"].get(v)
        rows[LABELS[v]] = {"members": len(d), "train / test accuracy, mean": f"{percent(d.train_acc.mean())} / "
                                                                              f"{percent(d.test_acc.mean())}",
                           "gap": points(d.gap.mean(), 2),
                           "train / test, best member": f"{percent(d.train_acc.max())} / {percent(d.test_acc.max())}",
                           "paper: train / test": f"{percent(paper[0] / 100)} / {percent(paper[1] / 100)}" if paper else "—"}
    return pd.DataFrame.from_dict(rows, orient="index")


def speed_frame(record: Mapping[str, Any]) -> pd.DataFrame:
    """One row per Figure-6 run: variant, ``n_fix``, ``κ``, fixed entries, epochs to the threshold (NaN: never),
    final training accuracy."""
    return pd.DataFrame([{"variant": r["variant"], "n_fix": r["n_fix"], "kappa": r["kappa"],
                          "fixed_entries": r["fixed_entries"], "final_train_acc": r["train_acc"][-1],
                          "epochs_to_threshold": np.nan if r["epochs_to_threshold"] is None else r["epochs_to_threshold"],
                          "diverged": r["diverged"]} for r in record["result"]["training_speed"]["runs"]])


def speed_table(record: Mapping[str, Any]) -> pd.DataFrame:
    """Figure 6's runs for reading: epochs to the threshold ("never" when not reached) and final training accuracy."""
    sp = speed_frame(record)
    never = f"never (in {record['manifest']['config']['grid_epochs']})"
    return pd.DataFrame({"fixed entries": sp.fixed_entries.map(integer).to_numpy(),
                         "epochs to the threshold": [never if np.isnan(e) else number(e, 0)
                                                     for e in sp.epochs_to_threshold],
                         "final training accuracy": sp.final_train_acc.map(percent).to_numpy(),
                         "diverged": sp.diverged.map({True: "yes", False: "no"}).to_numpy()},
                        index=["standard" if v == "standard" else f"W-Asym, n_fix {n}, κ {listing(float(k))}"
                               for v, n, k in zip(sp.variant, sp.n_fix, sp.kappa)])


def figure_distance_barrier(record: Mapping[str, Any]):
    """Distance per parameter against midpoint barrier, one dot per pair."""
    df = pairs_frame(record)
    fig, ax = new_figure(width=7, height=4.2)
    for v in VARIANTS:
        d = df[df.variant == v]
        ax.scatter(d.distance_per_parameter, d.barrier, s=36, color=METHOD_COLORS[LABELS[v]], label=LABELS[v])
    ax.axhline(0, color="k", lw=0.8)
    ax.set(xlabel="distance per trainable parameter ‖θa − θb‖₂ / n", ylabel="midpoint test-loss barrier (nats)",
           title="Independently trained zoo members, pairs of one variant")
    ax.legend(fontsize=8)
    return fig


def figure6(record: Mapping[str, Any]):
    """Figure 6: epochs to the threshold per (n_fix, κ) cell of the W-Asym grid, with the single standard ResNet drawn
    once beside it; a cell that never reaches the threshold is hatched and shows its final training accuracy."""
    cfg = record["manifest"]["config"]
    sp = speed_frame(record)
    thr = record["result"]["training_speed"]["threshold"]
    std = sp[sp.variant == "standard"].iloc[0]
    grid = sp[sp.variant == "w_asym"]
    ns, ks = sorted(grid.n_fix.unique()), sorted(grid.kappa.unique())
    never = cfg["grid_epochs"] + 1
    fig, (ax_std, ax) = new_figure(1, 2, width=1.4 * (len(ks) + 1) + 3.2, height=0.9 * len(ns) + 2.2,
                                   gridspec_kw={"width_ratios": [1.2, len(ks)]})

    def label(cell) -> tuple[float, str]:
        e = cell.epochs_to_threshold
        return (never, f"never\n({percent(cell.final_train_acc, 0)})") if np.isnan(e) else (e, f"{e:.0f}")

    def draw(axis, values, labels):
        im = axis.imshow(values, cmap="magma_r", vmin=1, vmax=never, aspect="auto")
        for (i, j), text in np.ndenumerate(labels):
            axis.text(j, i, text, ha="center", va="center", fontsize=9,
                      color="black" if values[i, j] < 0.6 * never else "white")
            if values[i, j] >= never:
                axis.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///", edgecolor="0.75", lw=0))
        axis.grid(False)
        return im

    values = np.full((len(ns), len(ks)), np.nan)
    labels = np.empty(values.shape, dtype=object)
    for i, n in enumerate(ns):
        for j, k in enumerate(ks):
            values[i, j], labels[i, j] = label(grid[(grid.n_fix == n) & (grid.kappa == k)].iloc[0])
    im = draw(ax, values, labels)
    ax.set_xticks(range(len(ks)), [f"κ = {k:g}" for k in ks])
    ax.set_yticks(range(len(ns)), [f"n_fix = {n}\n({int(grid[grid.n_fix == n].fixed_entries.iloc[0]):,} fixed)"
                                   for n in ns])
    ax.set_title("W-Asym, one run per cell")
    v, t = label(std)
    draw(ax_std, np.array([[v]]), np.array([[t]], dtype=object))
    ax_std.set_xticks([0], ["no fixed entries"])
    ax_std.set_yticks([])
    ax_std.set_ylabel("the standard ResNet")
    ax_std.set_title("standard, one run")
    fig.colorbar(im, ax=[ax_std, ax], label=f"epochs to {percent(thr)} training accuracy ({never} = never)")
    fig.suptitle(f"Figure 6 at scale '{cfg['scale']}': {cfg['grid_epochs']} epochs per run", fontsize="medium")
    return fig


def figure6_curves(record: Mapping[str, Any]):
    """Training accuracy per epoch of every Figure-6 run, with the threshold."""
    thr = record["result"]["training_speed"]["threshold"]
    fig, ax = new_figure(width=9, height=4.2)
    runs = record["result"]["training_speed"]["runs"]
    kappas = sorted({r["kappa"] for r in runs if r["variant"] == "w_asym"})
    n_fixes = sorted({r["n_fix"] for r in runs if r["variant"] == "w_asym"})
    for r in runs:
        epochs = range(1, len(r["train_acc"]) + 1)
        acc = 100 * np.asarray(r["train_acc"])
        if r["variant"] == "standard":
            ax.plot(epochs, acc, color=METHOD_COLORS["Standard"], lw=2.5, label="standard")
        else:
            shade = 0.4 + 0.6 * kappas.index(r["kappa"]) / max(1, len(kappas) - 1)  # larger κ: darker red
            ax.plot(epochs, acc, color=plt.cm.Reds(shade), lw=1.2,
                    ls=["-", "--", ":", "-."][n_fixes.index(r["n_fix"]) % 4],
                    label=f"W-Asym n_fix={r['n_fix']}, κ={r['kappa']:g}")
    ax.axhline(100 * thr, color="k", ls=":", lw=1)
    ax.text(1, 100 * thr, f" threshold {percent(thr)}", va="bottom", fontsize=8)
    ax.set(xlabel="epoch", ylabel="training accuracy (%, epoch mean)",
           title="Figure 6 runs (colour: κ, darker = larger; line style: n_fix)")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    return fig


# ------------------------------------------------------------------------------------------------- prose
# Sentences of the page, formatted here (tested in tests/test_reports.py) so the notebook only displays them.

def threshold_text(record: Mapping[str, Any]) -> str:
    """Figure 6's training-accuracy threshold of this run (fixed, or from the rule on the standard run), in words."""
    return (f"Here the threshold is **{percent(record['result']['training_speed']['threshold'])}** "
            "training accuracy.")


def verdict_summary(record: Mapping[str, Any]) -> dict[str, dict[str, float]]:
    """The numbers the verdict quotes: mean distance per parameter (``distance``) and mean midpoint barrier
    (``barrier``) over each variant's pairs, standard and W-Asym; mean train − test accuracy gap (``gap``, a
    difference of fractions) over each variant's members that did not diverge, standard, σ-Asym and W-Asym."""
    pairs = pairs_frame(record)
    of = overfitting_frame(record)
    pair_variants = ("standard", "w_asym")
    return {"distance": {v: float(pairs[pairs.variant == v].distance_per_parameter.mean()) for v in pair_variants},
            "barrier": {v: float(pairs[pairs.variant == v].barrier.mean()) for v in pair_variants},
            "gap": {v: float(of[of.variant == v].gap.mean()) for v in VARIANTS}}


def verdict_text(record: Mapping[str, Any]) -> str:
    """The chapter's closing verdict: distances per parameter beside the barriers (standard vs W-Asym), the mean
    train − test gap of every variant (:func:`verdict_summary`), then every claim's verdict in words
    (:func:`symlib.ledger.sentences`, as the ledger says them)."""
    s = verdict_summary(record)
    dist = {v: number(x, 5) for v, x in s["distance"].items()}
    barrier = {v: number(x) for v, x in s["barrier"].items()}
    gap = {v: points(x, 2) for v, x in s["gap"].items()}
    return f"""
Distance per parameter: {dist['standard']} (standard) vs {dist['w_asym']} (W-Asym), with
midpoint barriers {barrier['standard']} vs {barrier['w_asym']} nats. Mean train − test accuracy gap:
{gap['standard']} (standard), {gap['sigma_asym']} (σ-Asym) and {gap['w_asym']}
(W-Asym).

{ledger.sentences(CLAIMS, record)}
"""


# ------------------------------------------------------------------------------------------------- claims

def _paired_pairs(record: Mapping[str, Any]) -> pd.DataFrame:
    df = pairs_frame(record)
    return df[df.variant == "standard"].merge(df[df.variant == "w_asym"], on=["a", "b"], suffixes=("_std", "_w"))


def standard_barrier(record) -> tuple[bool, str]:
    """Premise of the distance claim: standard pairs show a barrier (one-sample t-test of the midpoint barrier > 0)."""
    d = _paired_pairs(record)
    p = stats.one_sample(d.barrier_std, 0.0, "greater")
    return (d.barrier_std.mean() > 0 and p < stats.ALPHA,
            f"standard midpoint barrier {number(d.barrier_std.mean())} nats over {len(d)} pairs "
            f"(> 0: {stats.format_p(p)})")


def distance_claim(record) -> Assessment:
    d = _paired_pairs(record)
    p_barrier = stats.wilcoxon(d.barrier_w, d.barrier_std, "less")
    p_far = stats.wilcoxon(d.distance_per_parameter_w, DISTANCE_MARGIN * d.distance_per_parameter_std, "greater")
    lower = d.barrier_w.mean() < d.barrier_std.mean()
    ours = (f"distance {number(d.distance_per_parameter_w.mean(), 5)} vs "
            f"{number(d.distance_per_parameter_std.mean(), 5)}; barrier {number(d.barrier_w.mean())} vs "
            f"{number(d.barrier_std.mean())} (W-Asym vs Standard, {len(d)} pairs)")
    note = (f"paired Wilcoxon: barrier lower {stats.format_p(p_barrier)}; distance ≥ {DISTANCE_MARGIN} × standard "
            f"{stats.format_p(p_far)}")
    if not lower or p_barrier >= stats.ALPHA:
        return Assessment(ours, directional(lower, p_barrier), note)
    return Assessment(ours, "reproduced" if p_far < stats.ALPHA else "inconclusive", note)


#: the variants the overfitting claim covers ("asymmetric nets": both kinds)
ASYMMETRIC = ("sigma_asym", "w_asym")


def _gaps(record) -> pd.DataFrame:
    """Train − test accuracy gap per member index, one column per variant (members not diverged in any)."""
    df = overfitting_frame(record)
    return df.pivot(index="member", columns="variant", values="gap").dropna()


def standard_overfits(record) -> tuple[bool, str]:
    """Premise of the overfitting claim: the standard networks overfit (train − test gap > 0, Wilcoxon)."""
    g = _gaps(record)
    p = stats.wilcoxon(g.standard, np.zeros(len(g)), "greater")
    return (g.standard.mean() > 0 and p < stats.ALPHA,
            f"standard train − test gap {number(100 * g.standard.mean(), 2)} points over {len(g)} members "
            f"(> 0: {stats.format_p(p)})")


def overfitting_claim(record) -> Assessment:
    """Both asymmetric variants against standard, paired by member (Wilcoxon on the gap); one variant pointing
    significantly the other way makes the claim "mixed" (:func:`symlib.claims.across`)."""
    g = _gaps(record)
    outcomes, parts = {}, []
    for v in ASYMMETRIC:
        p, p_opp = stats.wilcoxon(g[v], g.standard, "less"), stats.wilcoxon(g[v], g.standard, "greater")
        outcomes[LABELS[v]] = (g[v].mean() < g.standard.mean(), p, p_opp)
        parts.append(f"{LABELS[v]} smaller {stats.format_p(p)}, larger {stats.format_p(p_opp)}")
    verdict, against = across(outcomes)
    ours = ("train − test accuracy gap: "
            + ", ".join(f"{LABELS[v]} {number(100 * g[v].mean(), 2)}" for v in ASYMMETRIC)
            + f" vs Standard {number(100 * g.standard.mean(), 2)} points")
    note = f"paired Wilcoxon over {len(g)} members: " + "; ".join(parts)
    if against:
        note += "; overfits more: " + ", ".join(against)
    return Assessment(ours, verdict, note)


def standard_reaches_threshold(record) -> tuple[bool, str]:
    """Premise of Figure 6's claim: the standard ResNet reaches the threshold the slow-down is measured from."""
    cfg = record["manifest"]["config"]
    sp = speed_frame(record)
    e = sp[sp.variant == "standard"].epochs_to_threshold.iloc[0]
    thr = record["result"]["training_speed"]["threshold"]
    return (not np.isnan(e), f"the standard ResNet reaches {number(100 * thr, 1)} % training accuracy "
            + (f"in {number(e, 0)} epochs" if not np.isnan(e) else f"never in {cfg['grid_epochs']} epochs"))


def figure6_claim(record) -> Assessment:
    cfg = record["manifest"]["config"]
    sp = speed_frame(record)
    never = cfg["grid_epochs"] + 1
    grid = sp[sp.variant == "w_asym"]
    epochs = grid.epochs_to_threshold.fillna(never)
    std_epochs = sp[sp.variant == "standard"].epochs_to_threshold.fillna(never).iloc[0]
    rho_n, p_n = stats.spearman(grid.n_fix, epochs, "greater")
    rho_k, p_k = stats.spearman(grid.kappa, epochs, "greater")
    failed = int(grid.epochs_to_threshold.isna().sum())
    reached = grid.epochs_to_threshold.dropna()
    std_text = f"{number(std_epochs, 0)} epochs" if std_epochs < never else f"never in {cfg['grid_epochs']} epochs"
    cells = f"{number(reached.min(), 0)}–{number(reached.max(), 0)} epochs" if len(reached) else "none reach it"
    ours = (f"standard {std_text}; W-Asym cells {cells}, {failed} of {len(grid)} never reach it in "
            f"{cfg['grid_epochs']}")
    note = (f"Spearman ρ with n_fix {number(rho_n, 2)} ({stats.format_p(p_n)}), with κ {number(rho_k, 2)} "
            f"({stats.format_p(p_k)})")
    rhos = [r for r in (rho_n, rho_k) if np.isfinite(r)]
    if len(rhos) < 2:
        return Assessment(ours, "inconclusive", note + "; epochs do not vary along an axis of the grid")
    holds = min(rhos) > 0
    if holds and max(p_n, p_k) < stats.ALPHA:
        verdict = "reproduced"
    elif min(rhos) < 0 and (stats.spearman(grid.n_fix, epochs, "less")[1] < stats.ALPHA
                            or stats.spearman(grid.kappa, epochs, "less")[1] < stats.ALPHA):
        verdict = "not reproduced"
    else:
        verdict = "direction only" if holds else "not reproduced"
    return Assessment(ours, verdict, note)


LIM = "Lim et al. 2024"
CLAIMS = [
    Claim("appendix_a.distance", f"{LIM}, Appendix A", "Asymmetric nets are not closer in weight space yet "
          "interpolate better", "zoo distance 0.0051 vs 0.0034; GNN barrier 0.069 vs 1.448", distance_claim,
          Premise("standard pairs show a barrier to remove (midpoint barrier > 0, one-sample t, p < 0.05)",
                  standard_barrier)),
    Claim("appendix_a.overfitting", f"{LIM}, Appendix A", "Asymmetric nets (σ-Asym and W-Asym) overfit less "
          "(smaller train − test accuracy gap)", "GNN 84.6/71.6 (standard) vs 70.8/70.1 (σ) and 70.7/70.06 (W); "
          "zoo 74.8/73.8 vs 64.0/64.0 %", overfitting_claim,
          Premise("standard networks overfit (train − test gap > 0, Wilcoxon, p < 0.05)", standard_overfits)),
    Claim("appendix_a.figure6", f"{LIM}, Figure 6", "More fixed entries and a larger κ slow training",
          "11 → 72 epochs to 70 % training accuracy", figure6_claim,
          Premise("the standard ResNet reaches the threshold within the grid's epochs", standard_reaches_threshold)),
]
