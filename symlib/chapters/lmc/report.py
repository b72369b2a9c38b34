"""Linear mode connectivity of MLPs on MNIST: tables, Figure 3 (left), and the verdicts of Table 1's claims.

Designs and tests (fixed before the run): pairs of different arms are independent networks (Welch's t-test);
Git Re-Basin is computed on the *same* pairs as Standard (paired: Wilcoxon signed-rank). "W-Asym interpolates at
least as well as Git Re-Basin" is a non-inferiority test with margin :data:`MARGIN` nats.
"""
from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import pandas as pd

from ... import ledger, stats
from ...claims import Assessment, Claim, Premise, directional
from ...formatting import listing, mean_sd, minutes, number, percent
from ...plotting import METHOD_COLORS, line_with_band, new_figure
from .compute import arms

__all__ = ["CLAIMS", "MARGIN", "PAPER_TABLE1", "PARAMETERS", "barriers", "curves_frame", "endpoint_table",
           "figlu_text", "figure_curves", "labels", "matching_table", "methods", "table1", "verdict_text"]

#: The notebook's parameters in words, with their units (the chapter's parameter table).
PARAMETERS = {
    "scale": "preset", "seed": "random seed", "width": "hidden width (units per layer)",
    "depth": "linear layers", "n_fix": "W-Asym: fixed entries per row, per layer",
    "kappa": "W-Asym: std of the fixed entries F, per layer", "figlu_std": "σ-Asym: std of FiGLU's F, one arm each",
    "epochs": "training epochs", "batch_size": "batch size", "lr": "learning rate (AdamW)",
    "weight_decay": "weight decay (AdamW)", "val_fraction": "share of the training set held out",
    "train_size": "training images", "test_size": "test images", "n_pairs": "independent pairs per method",
    "n_alpha": "points on the interpolation path", "endpoint_bar": "training bar: every arm's mean test accuracy",
}


#: Non-inferiority margin (nats) for "W-Asym ≤ Git Re-Basin", fixed before the run: a tenth of the paper's
#: standard barrier (0.188), i.e. a difference a reader would call negligible next to the barrier removed.
MARGIN = 0.02
#: Lim et al. (2024), Table 1, MLP on MNIST: midpoint test-loss barrier, mean ± std over >= 5 pairs.
PAPER_TABLE1 = {"standard": (0.188, 0.12), "git_rebasin": (-0.006, 0.00), "sigma_asym": (0.117, 0.01),
                "w_asym": (-0.012, 0.00)}


def labels(record: Mapping[str, Any]) -> dict[str, str]:
    """Display name of every method of a record (σ-Asym arms carry their FiGLU scale when there are several)."""
    cfg = record["manifest"]["config"]
    out = {"standard": "Standard", "git_rebasin": "Git Re-Basin", "w_asym": "W-Asym"}
    several = len(cfg["figlu_std"]) > 1
    for arm, _, std in arms(cfg):
        if arm.startswith("sigma_asym"):
            out[arm] = f"σ-Asym (F std {std:g})" if several else "σ-Asym"
    return out


def methods(record: Mapping[str, Any]) -> list[str]:
    cfg = record["manifest"]["config"]
    return ["standard", "git_rebasin"] + [a for a, _, _ in arms(cfg) if a.startswith("sigma_asym")] + ["w_asym"]


def barriers(record: Mapping[str, Any], method: str) -> np.ndarray:
    """Midpoint barriers of ``method``, ordered by pair."""
    cs = sorted((c for c in record["result"]["curves"] if c["method"] == method), key=lambda c: c["pair"])
    return np.array([c["barrier_mid"] for c in cs])


def curves_frame(record: Mapping[str, Any]) -> pd.DataFrame:
    """Long table: one row per (method, pair, α) with test loss and error."""
    name = labels(record)
    return pd.DataFrame([{"method": name[c["method"]], "pair": c["pair"], "alpha": a, "test_loss": l,
                          "test_error": 100 * (1 - acc)}
                         for c in record["result"]["curves"] for a, l, acc in zip(c["alpha"], c["loss"], c["acc"])])


def table1(record: Mapping[str, Any]) -> pd.DataFrame:
    """Table 1 row 1: our midpoint barrier (mean ± std over pairs, nats) beside the paper's, then the max barrier."""
    name = labels(record)
    rows = {}
    for m in methods(record):
        b = barriers(record, m)
        maxb = np.array([c["barrier_max"] for c in record["result"]["curves"] if c["method"] == m])
        ref = PAPER_TABLE1.get(m)  # the first σ-Asym arm is the paper's FiGLU scale; others are our ablation
        rows[name[m]] = {"barrier, ours (nats)": mean_sd(b), "barrier, paper": f"{number(ref[0])} ± {number(ref[1], 2)}"
                         if ref else "— (our ablation)", "max barrier, ours": mean_sd(maxb), "pairs": len(b)}
    return pd.DataFrame.from_dict(rows, orient="index")


def endpoint_table(record: Mapping[str, Any]) -> pd.DataFrame:
    """The trained networks per arm (the training bar is on the mean test accuracy): test loss and accuracy, the
    lowest test accuracy, the last epoch's validation accuracy and the training time, means over networks."""
    name = labels(record)
    df = pd.DataFrame(record["result"]["models"])
    df["val_acc"] = [m["history"]["val_acc"][-1] for m in record["result"]["models"]]
    g = df.groupby("arm", sort=False).agg(networks=("test_loss", "size"), test_loss=("test_loss", "mean"),
                                          test_acc=("test_acc", "mean"), min_test_acc=("test_acc", "min"),
                                          val_acc=("val_acc", "mean"), train_time_s=("train_time_s", "mean"))
    return pd.DataFrame({"networks": g.networks, "test accuracy": g.test_acc.map(lambda v: percent(v, 2)),
                         "lowest test accuracy": g.min_test_acc.map(lambda v: percent(v, 2)),
                         "validation accuracy": g.val_acc.map(lambda v: percent(v, 2)),
                         "test loss (nats)": g.test_loss.map(lambda v: number(v, 4)),
                         "wall time per network (trained or loaded)": g.train_time_s.map(minutes)}).set_axis(
        [name[a] for a in g.index])


def matching_table(record: Mapping[str, Any]) -> pd.DataFrame:
    """Weight matching per standard pair: time, share of units left in place, and the objective's gain."""
    rows = {f"pair {c['pair']}": {"matching time": f"{number(1e3 * c['matching_time_s'], 0)} ms",
                                  "hidden units left in place": percent(c["identity_fraction"], 2),
                                  "objective gained over no permutation": percent(c["matching_relative_gain"])}
            for c in record["result"]["curves"] if c["method"] == "git_rebasin"}
    return pd.DataFrame.from_dict(rows, orient="index")


def figure_curves(record: Mapping[str, Any]):
    """Figure 3 (left): test loss and test error along the path, mean ± 1 std over pairs."""
    cfg = record["manifest"]["config"]
    df = curves_frame(record)
    name = labels(record)
    order = [name[m] for m in methods(record)]
    palette = {name[m]: METHOD_COLORS.get(name[m], METHOD_COLORS["σ-Asym"]) for m in methods(record)}
    for m in methods(record):
        if m.startswith("sigma_asym_"):
            palette[name[m]] = METHOD_COLORS["σ-Asym (second scale)"]
    fig, axes = new_figure(1, 2, width=11, height=4.6)
    line_with_band(df, "alpha", "test_loss", "method", axes[0], order=order, palette=palette,
                   xlabel="interpolation coefficient α", ylabel="test loss (cross-entropy, nats)",
                   title="Test loss along (1−α)θa + αθb")
    line_with_band(df, "alpha", "test_error", "method", axes[1], order=order, palette=palette,
                   xlabel="interpolation coefficient α", ylabel="test error (%)", title="Test error along the path")
    handles, names = axes[0].get_legend_handles_labels()
    for ax in axes:  # one legend for both panels, below them: inside, it covered the barrier's peak
        ax.get_legend().remove()
    fig.legend(handles, names, loc="outside lower center", ncol=min(len(names), 5), fontsize="small", frameon=False)
    fig.suptitle(f"MLP on MNIST, width {cfg['width']}, {cfg['epochs']} epochs, {cfg['n_pairs']} pairs per method "
                 f"(scale '{cfg['scale']}'); band: ±1 std over pairs")
    return fig


# ------------------------------------------------------------------------------------------------- prose
# The chapter's verdict in words, formatted here (tested in tests/test_reports.py) so the notebook only displays it.

def figlu_text(record: Mapping[str, Any]) -> str:
    """The FiGLU-scale ablation in words: σ-Asym's midpoint barrier at the authors' FiGLU std (the first of
    ``figlu_std``) and at the second (named ``1/√width`` when it is that), beside the standard barrier; one sentence
    when only one scale was run."""
    cfg = record["manifest"]["config"]
    second = [m for m in methods(record) if m.startswith("sigma_asym_")]
    if not second:
        return "Only one FiGLU scale was run at this scale."
    std = cfg["figlu_std"][1]
    named = " (= 1/√width)" if math.isclose(std, 1 / math.sqrt(cfg["width"]), rel_tol=1e-9) else ""
    return (f"With the authors' FiGLU scale (std {listing(cfg['figlu_std'][0])}) σ-Asym pairs reach a barrier of "
            f"{mean_sd(barriers(record, 'sigma_asym'))} nats; with std {listing(std)}{named} "
            f"{mean_sd(barriers(record, second[0]))} (standard: {number(barriers(record, 'standard').mean())}).")


def verdict_text(record: Mapping[str, Any]) -> str:
    """The chapter's closing verdict: the mean midpoint barrier of every arm beside the paper's Table 1, every
    claim's verdict in words (:func:`symlib.ledger.sentences`, as the ledger says them) and the FiGLU-scale ablation
    (:func:`figlu_text`)."""
    cfg = record["manifest"]["config"]
    b = {m: barriers(record, m) for m in methods(record)}
    paper = {m: number(PAPER_TABLE1[m][0]) for m in ("standard", "git_rebasin", "sigma_asym", "w_asym")}
    return f"""
Standard pairs have a midpoint barrier of **{mean_sd(b['standard'])}** nats over {cfg['n_pairs']} pairs; after Git
Re-Basin weight matching it is **{number(b['git_rebasin'].mean())}**; σ-Asym networks reach
**{number(b['sigma_asym'].mean())}** and W-Asym networks **{number(b['w_asym'].mean())}** without any alignment.
(Paper: {paper['standard']}, {paper['git_rebasin']}, {paper['sigma_asym']}, {paper['w_asym']}.)

{ledger.sentences(CLAIMS, record)}

**FiGLU's scale.** {figlu_text(record)} The σ-Asym result depends on this choice, which the paper's text does not fix for the MLP;
the `paper` preset uses the authors' std 1.
"""


# ------------------------------------------------------------------------------------------------- claims

def _ours(a: np.ndarray, b: np.ndarray) -> str:
    return f"{number(a.mean())} vs {number(b.mean())}"


def standard_barrier_shown(record) -> tuple[bool, str]:
    """Premise of the comparisons: independently trained standard pairs show a barrier (one-sample t, > 0)."""
    b = barriers(record, "standard")
    p = stats.one_sample(b, 0.0, "greater")
    return b.mean() > 0 and p < stats.ALPHA, f"standard barrier {number(b.mean())} nats over {len(b)} pairs " \
                                              f"(> 0: {stats.format_p(p)})"


#: what every comparison of Table 1's row needs: a barrier for the methods to remove
BARRIER_SHOWN = Premise("independently trained standard pairs show a barrier (midpoint barrier > 0, one-sample t, "
                        "p < 0.05)", standard_barrier_shown)


def standard_barrier_positive(record) -> Assessment:
    b = barriers(record, "standard")
    p = stats.one_sample(b, 0.0, "greater")
    return Assessment(mean_sd(b), directional(b.mean() > 0, p),
                      f"one-sample t-test > 0, {stats.format_p(p)}, {len(b)} pairs")


def _welch_less(lo: str, hi: str):
    def assess(record) -> Assessment:
        a, b = barriers(record, lo), barriers(record, hi)
        p = stats.welch(a, b, "less")
        return Assessment(_ours(a, b), directional(a.mean() < b.mean(), p),
                          f"one-sided Welch t-test (independent pairs), {stats.format_p(p)}")
    return assess


def rebasin_below_standard(record) -> Assessment:
    a, b = barriers(record, "git_rebasin"), barriers(record, "standard")
    p = stats.wilcoxon(a, b, "less")
    return Assessment(_ours(a, b), directional(a.mean() < b.mean(), p),
                      f"one-sided Wilcoxon signed-rank test on the same {len(a)} pairs, {stats.format_p(p)}")


def w_asym_as_good_as_rebasin(record) -> Assessment:
    """Non-inferiority: W-Asym's barrier exceeds Git Re-Basin's by less than :data:`MARGIN` (one-sided, Welch)."""
    a, b = barriers(record, "w_asym"), barriers(record, "git_rebasin")
    p = stats.noninferiority(a, b, MARGIN)
    worse = stats.welch(a - MARGIN, b, "greater")
    verdict = "reproduced" if p < stats.ALPHA else ("not reproduced" if worse < stats.ALPHA else "inconclusive")
    return Assessment(_ours(a, b), verdict, f"non-inferiority test, margin {MARGIN} nats fixed before the run, "
                      f"{stats.format_p(p)}")


CLAIMS = [
    Claim("lmc.standard_positive", "Lim et al. 2024, Table 1 (MLP/MNIST)",
          "Independently trained standard MLPs have a positive midpoint barrier", "0.188 ± 0.12",
          standard_barrier_positive),
    Claim("lmc.rebasin_below_standard", "Lim et al. 2024, Table 1 (MLP/MNIST)",
          "Git Re-Basin lowers the barrier of the same standard pairs", "−0.006 vs 0.188", rebasin_below_standard,
          BARRIER_SHOWN),
    Claim("lmc.sigma_below_standard", "Lim et al. 2024, Table 1 (MLP/MNIST)",
          "σ-Asym lowers the barrier: σ-Asym < Standard", "0.117 vs 0.188", _welch_less("sigma_asym", "standard"),
          BARRIER_SHOWN),
    Claim("lmc.rebasin_below_sigma", "Lim et al. 2024, Table 1 (MLP/MNIST)",
          "Git Re-Basin beats σ-Asym: Git Re-Basin < σ-Asym", "−0.006 vs 0.117",
          _welch_less("git_rebasin", "sigma_asym"), BARRIER_SHOWN),
    Claim("lmc.w_asym_as_good_as_rebasin", "Lim et al. 2024, Table 1 (MLP/MNIST)",
          "W-Asym interpolates at least as well as Git Re-Basin", "−0.012 vs −0.006", w_asym_as_good_as_rebasin,
          BARRIER_SHOWN),
]
