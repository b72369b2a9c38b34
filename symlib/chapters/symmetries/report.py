"""Which parameter symmetries are left? Tables, Figures 1-2 and the verdicts of §4, Theorem 1 and Proposition 2.

These claims are exact statements, so their checks are exact too: a permutation of a standard network's hidden
units changes its logits by floating-point noise only (< 1e-10 in float64), an asymmetric network's by far more;
DAG automorphism counts equal the prediction; FiGLU with a generic ``F`` admits only the identity.
"""
from __future__ import annotations

from math import factorial
from typing import Any, Mapping

import numpy as np
import pandas as pd
from matplotlib.patches import Rectangle

from ... import ledger
from ...claims import Assessment, Claim, by_key
from ...formatting import integer, listing, percent, sci, sig
from ...plotting import METHOD_COLORS, new_figure, strip
from .compute import FAMILIES, LABELS, VARIANTS

__all__ = ["CLAIMS", "PARAMETERS", "automorphism_agreement", "automorphism_frame", "automorphism_table",
           "automorphism_text", "claim_text", "equivariance_frame", "equivariance_table", "equivariance_text",
           "figure_function_change", "figure_masks", "figure_sweeps", "function_change_frame",
           "function_change_summary", "function_change_table", "function_change_text", "permutation_effect",
           "permutation_effect_table", "setup_text", "sweep_summary", "sweep_text"]

#: The notebook's parameters in words, with their units (the chapter's parameter table).
PARAMETERS = {
    "scale": "preset", "seed": "random seed", "width": "hidden width (units per layer)", "depth": "linear layers",
    "n_fix": "W-Asym: fixed entries per row, per layer", "kappa": "W-Asym: std of the fixed entries F, per layer",
    "figlu_gain": "σ-Asym: FiGLU's F has std c/√width; this is c", "train_size": "training images",
    "epochs": "training epochs", "batch_size": "batch size", "lr": "learning rate (AdamW)",
    "weight_decay": "weight decay (AdamW)", "n_eval": "test images the change is measured on",
    "n_trials": "random transformations per network", "kappa_grid": "κ values of the sweep",
    "figlu_grid": "FiGLU scales c of the sweep", "equivariance_dim": "dimension d of the equivariance search",
    "n_equivariance_inputs": "random inputs per equivariance test",
    "n_diagonal_random": "random diagonal pairs tested",
}


def function_change_frame(record: Mapping[str, Any]) -> pd.DataFrame:
    rows = []
    for r in record["result"]["function_change"]:
        rows.append({"network": FAMILIES[r["family"]], "variant": LABELS[r["variant"]], "state": r["state"],
                     "transform": r["transform"], "max |Δ logit|": r["change_max"],
                     "test acc before": r["acc_before"], "test acc after": r["acc_after_mean"],
                     "predictions changed": r["pred_changed_mean"]})
    return pd.DataFrame(rows)


def function_change_summary(record: Mapping[str, Any]) -> dict[str, float]:
    """The numbers the chapter's prose quotes, from the same rows as the claim's check: the largest change of a
    standard network under a permutation (``standard_permutation``) and under a rescaling (``standard_rescaling``),
    the smallest change of an asymmetric network under a permutation (``asymmetric_permutation``), and the largest
    share of a standard network's predictions that changed (``standard_predictions_changed``)."""
    rows = record["result"]["function_change"]
    std = [r for r in rows if r["variant"] == "standard"]
    return {"standard_permutation": max(r["change_max"] for r in std if r["transform"] == "permutation"),
            "standard_rescaling": max((r["change_max"] for r in std if r["transform"] == "rescaling"), default=np.nan),
            "asymmetric_permutation": min(r["change_max"] for r in rows
                                          if r["variant"] != "standard" and r["transform"] == "permutation"),
            "standard_predictions_changed": max(r["pred_changed_mean"] for r in std)}


def function_change_table(record: Mapping[str, Any]) -> pd.DataFrame:
    """Largest logit change per network and transformation (rows) and variant (columns), at initialisation and
    after training."""
    cells: dict[str, dict[str, dict[str, float]]] = {}
    for r in record["result"]["function_change"]:
        row = f"{FAMILIES[r['family']]}, {r['transform']}"
        cells.setdefault(row, {}).setdefault(LABELS[r["variant"]], {})[r["state"]] = r["change_max"]
    columns = [LABELS[v] for v in VARIANTS]
    return pd.DataFrame({c: {row: " / ".join(sig(v[s]) if s in v else "—" for s in ("random init", "trained"))
                             for row, by in cells.items() for v in [by.get(c, {})]} for c in columns})


def permutation_effect_table(record: Mapping[str, Any], family: str | None = None) -> pd.DataFrame:
    """A random permutation of each *trained* MLP (the book's LayerNorm + GELU family unless ``family``): test
    accuracy before and after, and the share of test predictions it changed (mean over trials)."""
    family = family or next(iter(FAMILIES))
    rows = {LABELS[r["variant"]]: {"test accuracy": percent(r["acc_before"]),
                                   "after a permutation": percent(r["acc_after_mean"]),
                                   "predictions changed": percent(r["pred_changed_mean"], 0)}
            for r in record["result"]["function_change"]
            if r["family"] == family and r["transform"] == "permutation" and r["state"] == "trained"}
    return pd.DataFrame.from_dict(rows, orient="index").loc[[LABELS[v] for v in VARIANTS if LABELS[v] in rows]]


def sweep_summary(record: Mapping[str, Any]) -> dict[str, float]:
    """The κ and FiGLU-scale sweeps' numbers the prose quotes: κ = 0, the smallest κ and the largest mean, the
    smallest FiGLU scale and the scale nearest 1."""
    ks, fs = record["result"]["kappa_sweep"], record["result"]["figlu_sweep"]
    imax = int(np.argmax(ks["mean"]))
    i1 = int(np.argmin(np.abs(np.array(fs["grid"]) - 1.0)))
    return {"kappa_zero": ks["kappa_zero"], "kappa_min": ks["grid"][0], "kappa_min_change": ks["mean"][0],
            "kappa_max": ks["grid"][imax], "kappa_max_change": ks["mean"][imax], "figlu_min": fs["grid"][0],
            "figlu_min_change": fs["mean"][0], "figlu_one": fs["grid"][i1], "figlu_one_change": fs["mean"][i1]}


def figure_function_change(record: Mapping[str, Any]):
    """Largest logit change after a random hidden-unit permutation (and, for ReLU nets, a positive rescaling):
    one dot per trial, log scale; the grey band is floating-point zero."""
    rows = []
    for r in record["result"]["function_change"]:
        for c in r["changes"]:
            rows.append({"variant": LABELS[r["variant"]], "state": r["state"],
                         "panel": f"{FAMILIES[r['family']]}:\n{r['transform']} of hidden units",
                         "change": max(c, 1e-17)})
    df = pd.DataFrame(rows)
    panels = list(dict.fromkeys(df.panel))
    fig, axes = new_figure(1, len(panels), height=4.0, sharey=True)
    for k, (ax, panel) in enumerate(zip(axes, panels)):
        strip(ax, df[df.panel == panel], "variant", "change", [LABELS[v] for v in VARIANTS], hue="state",
              hue_order=["random init", "trained"], palette={"random init": "0.6", "trained": "0.1"}, seed=k)
        for tick in ax.get_xticklabels():
            tick.set_color(METHOD_COLORS.get(tick.get_text(), "black"))
        ax.set_yscale("log")
        ax.axhspan(1e-17, 1e-12, color="0.9", zorder=0)
        ax.set_title(panel, fontsize=10)
        ax.set_ylabel("max |Δ logit| on test images (float64)" if k == 0 else "")
    axes[-1].legend(title="parameters", loc="center right", fontsize=8)
    axes[0].text(0.02, 0.03, "grey band: floating-point zero", transform=axes[0].transAxes, fontsize=8, color="0.35")
    return fig


def figure_sweeps(record: Mapping[str, Any]):
    """Permutation function change against κ (W-Asym) and against FiGLU's scale (σ-Asym)."""
    res = record["result"]
    fig, axes = new_figure(1, 2, height=4.2)

    for ax, key, label, colour in ((axes[0], "kappa_sweep", "κ = std of the fixed entries F (all layers)",
                                    METHOD_COLORS["W-Asym"]),
                                   (axes[1], "figlu_sweep", "FiGLU scale c  (F ~ N(0, c²/width))",
                                    METHOD_COLORS["σ-Asym"])):
        s = res[key]
        ch = np.array(s["changes"])
        ax.errorbar(s["grid"], s["mean"], yerr=s["std"], marker="o", color=colour, capsize=3,
                    label=("W-Asym" if key == "kappa_sweep" else "σ-Asym") + " (mean ± std)")
        ax.scatter(np.repeat(s["grid"], ch.shape[1]), ch.ravel(), s=10, color=colour, alpha=0.4,
                   label="single network")
        lo = ch.min()
        if key == "kappa_sweep":
            ax.axhline(s["kappa_zero"], color=colour, ls=":", label="W-Asym with κ = 0 (mask only)")
            lo = min(lo, s["kappa_zero"])
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_ylim(lo / 10, ch.max() * 5)
        ax.text(0.98, 0.04, f"Standard MLP: {s['standard']:.1e}\n(exact symmetry, far below this axis)",
                transform=ax.transAxes, ha="right", va="bottom", fontsize=8, color=METHOD_COLORS["Standard"])
        ax.set_xlabel(label)
        ax.set_ylabel("max |Δ logit| after a random\nhidden-unit permutation (float64)")
        ax.legend(fontsize=8, loc="upper left")
    axes[0].set_title("W-Asym: the change grows with κ")
    axes[1].set_title("σ-Asym: the change vanishes as F → 0")
    return fig


def automorphism_frame(record: Mapping[str, Any]) -> pd.DataFrame:
    return pd.DataFrame([{"network": r["network"], "edges": r["edges"], "hidden-layer mask rows distinct": all(r["rows_distinct"]),
                          "automorphisms (counted)": r["automorphisms"], "predicted": r["predicted"],
                          "why": r["prediction"]} for r in record["result"]["automorphisms"]]).set_index("network")


def automorphism_table(record: Mapping[str, Any]) -> pd.DataFrame:
    """The DAG automorphism counts for reading: network, trainable edges, counted against predicted, and why."""
    df = automorphism_frame(record)
    return pd.DataFrame({"trainable edges": df["edges"],
                         "mask rows distinct": df["hidden-layer mask rows distinct"].map({True: "yes", False: "no"}),
                         "automorphisms counted": df["automorphisms (counted)"].map(integer),
                         "predicted": df["predicted"].map(integer), "why": df["why"]}).rename_axis(None)


def equivariance_table(record: Mapping[str, Any]) -> pd.DataFrame:
    """The equivariance search for reading: pairs found out of those tested, for permutations and diagonals."""
    rows = {}
    for r in record["result"]["equivariances"]:
        ex = "; ".join(str(tuple(p1)) for p1, _ in r["perm_examples"][:2]) or "—"
        rows[r["nonlinearity"]] = {
            "permutation pairs that hold": f"{integer(r['perm_pairs'])} of {integer(r['perm_tested'])}"
                                           + ("" if r["perm_all_equal"] else " (some P₁ ≠ P₂)"),
            "examples (P₁ = P₂)": ex, "diagonal pairs that hold": f"{r['diag_pairs']} of {r['diag_tested']}",
            "predicted": r["predicted"]}
    return pd.DataFrame.from_dict(rows, orient="index")


def equivariance_frame(record: Mapping[str, Any]) -> pd.DataFrame:
    rows = []
    for r in record["result"]["equivariances"]:
        ex = "; ".join(f"P1=P2={tuple(p1)}" for p1, p2 in r["perm_examples"][:2]) or "—"
        rows.append({"σ": r["nonlinearity"], "perm. pairs found": f"{r['perm_pairs']} / {r['perm_tested']}",
                     "all with P1 = P2": r["perm_all_equal"], "non-identity examples": ex,
                     "diag. pairs found": f"{r['diag_pairs']} / {r['diag_tested']}", "predicted": r["predicted"]})
    return pd.DataFrame(rows).set_index("σ")


def _outline_fixed(ax, mask: np.ndarray) -> None:
    for i, j in zip(*np.nonzero(~mask)):
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="black", lw=1.4))


def _conv_tiles(arr: np.ndarray, fill=np.nan) -> np.ndarray:
    """(C_out, C_in, k, k) -> a (C_out·(k+1)−1, C_in·(k+1)−1) image of k×k tiles separated by one blank row/column."""
    co, ci, k, _ = arr.shape
    img = np.full((co * (k + 1) - 1, ci * (k + 1) - 1), fill, dtype=float)
    for o in range(co):
        for i in range(ci):
            img[o * (k + 1):o * (k + 1) + k, i * (k + 1):i * (k + 1) + k] = arr[o, i]
    return img


def figure_masks(record: Mapping[str, Any]):
    """Figure 2: a W-Asym linear mask and W-Asym conv masks (fixed entries / fixed filters), effective weights."""
    m = record["result"]["masks"]
    fig, axes = new_figure(1, 3, height=4.0, gridspec_kw={"width_ratios": [16, 15, 15]})
    panels = [("linear", "W-Asym linear, 16 → 8\nn_fix = 4 per row, κ = 1"),
              ("conv_entries", "W-Asym conv 3×3, 4 → 4 channels\nfixed entries: 8 per output channel"),
              ("conv_filters", "W-Asym conv 3×3, 4 → 4 channels\nfixed filters: 1 per output channel")]
    vmax = max(np.abs(np.array(m[k]["weight"])).max() for k, _ in panels)
    for ax, (key, title) in zip(axes, panels):
        w, mask = np.array(m[key]["weight"]), np.array(m[key]["mask"], dtype=bool)
        if w.ndim == 4:
            k = w.shape[2]
            ax.set_xticks([i * (k + 1) + 1 for i in range(w.shape[1])], range(w.shape[1]))
            ax.set_yticks([o * (k + 1) + 1 for o in range(w.shape[0])], range(w.shape[0]))
            w, mask = _conv_tiles(w), _conv_tiles(mask.astype(float), fill=1.0).astype(bool)
            ax.set_xlabel("input channel (3×3 tiles)")
            ax.set_ylabel("output channel")
        else:
            ax.set_xlabel("input unit j")
            ax.set_ylabel("output unit i")
        im = ax.imshow(np.ma.masked_invalid(w), cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        _outline_fixed(ax, mask)
        ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=axes, shrink=0.8, label="effective weight  M⊙W + (1−M)⊙F\n(black outline: fixed entry)")
    return fig


# ------------------------------------------------------------------------------------------------- prose
# The sentences of the chapter that carry numbers, formatted here (tested in tests/test_reports.py) so the notebook
# only displays them: each ``*_text`` returns Markdown.

def claim_text(record: Mapping[str, Any], key: str) -> str:
    """The verdict of the chapter's claim ``key`` in words (:func:`symlib.ledger.sentence`, as the ledger says it)."""
    return ledger.sentence(by_key(CLAIMS)[key], record)


def setup_text(record: Mapping[str, Any]) -> str:
    """The networks the chapter measures: width, depth, W-Asym's ``n_fix`` and κ, the training images and epochs,
    and the test images the function change is measured on."""
    cfg, data = record["manifest"]["config"], record["result"]["data"]
    return (f"MLPs of width {cfg['width']} with {cfg['depth']} linear layers (W-Asym: {listing(cfg['n_fix'])} fixed "
            f"entries per row, κ = {listing(cfg['kappa'])}), trained on {integer(data['train'])} MNIST "
            f"images for {cfg['epochs']} epoch(s); the function change is measured on {integer(data['eval'])} "
            f"test images.")


def permutation_effect(record: Mapping[str, Any], variant: str, family: str | None = None) -> str:
    """What a random permutation does to the trained ``variant`` (of ``family``, the book's MLP unless given), in
    words: the share of test predictions it changed and the test accuracy before → after (means over trials)."""
    family = family or next(iter(FAMILIES))
    r = next(r for r in record["result"]["function_change"] if r["variant"] == variant and r["family"] == family
             and r["transform"] == "permutation" and r["state"] == "trained")
    return (f"{percent(r['pred_changed_mean'], 0)} of its test predictions (accuracy {percent(r['acc_before'])} → "
            f"{percent(r['acc_after_mean'])})")


def function_change_text(record: Mapping[str, Any]) -> str:
    """§1's reading of the measurements (:func:`function_change_summary`, :func:`permutation_effect`) and the
    claim's verdict."""
    fc = function_change_summary(record)
    return f"""
For the standard networks every permutation changes the logits by at most {sci(fc['standard_permutation'])}, and
every rescaling of the ReLU network by at most {sci(fc['standard_rescaling'])} — floating-point rounding — and the
largest share of changed predictions is {percent(fc['standard_predictions_changed'], 0)}. For W-Asym and σ-Asym
networks the smallest change a permutation made is {sig(fc['asymmetric_permutation'])} logits. After training, a
random permutation of the W-Asym MLP changes {permutation_effect(record, 'w_asym')}, and of the σ-Asym MLP {permutation_effect(record, 'sigma_asym')}:
the permuted weights are a *different* network, so a weight-space matching such as Git Re-Basin has nothing to
align. (At the `ci` and `small` scales the networks are trained briefly on a subset; the W-Asym nets, which the
paper notes train more slowly, are the least accurate.)

{claim_text(record, "symmetries.function_change")}
"""


def sweep_text(record: Mapping[str, Any]) -> str:
    """§2's reading of the κ and FiGLU-scale sweeps (:func:`sweep_summary`)."""
    sw = sweep_summary(record)
    return f"""
With κ = 0 a permutation already changes the logits by {sig(sw['kappa_zero'])} (the masks of the permuted rows do
not match); it is {sig(sw['kappa_min_change'])} at κ = {listing(sw['kappa_min'])} and grows to
{sig(sw['kappa_max_change'])} (the largest mean on the grid, at κ = {listing(sw['kappa_max'])}). For σ-Asym the change
shrinks roughly in proportion to the scale of $F$: {sig(sw['figlu_one_change'])} at $c = {listing(sw['figlu_one'])}$
but {sig(sw['figlu_min_change'])} at $c = {listing(sw['figlu_min'])}$. Lim et al. used $c = 1$ for the MLP zoo and
$c = 0.01$ for the GNN; a small $c$ leaves the network numerically close to a permutation-symmetric one, which is one
reading of why σ-Asym networks sit between Standard and W-Asym in Table 1.
"""


def automorphism_agreement(record: Mapping[str, Any]) -> tuple[int, int]:
    """``(agree, networks)``: how many of the DAG automorphism counts equal the prediction, of how many."""
    rows = record["result"]["automorphisms"]
    return sum(r["automorphisms"] == r["predicted"] for r in rows), len(rows)


def automorphism_text(record: Mapping[str, Any]) -> str:
    """§3's summary: how many automorphism counts agree with the prediction, and Theorem 1's verdict."""
    agree, n = automorphism_agreement(record)
    return f"{agree} of {n} counts agree with the prediction. {claim_text(record, 'symmetries.automorphisms')}"


def equivariance_text(record: Mapping[str, Any]) -> str:
    """§4's summary: how many permutation pairs the exhaustive search tries at the record's dimension ``d``
    (``(d!)²``), and Proposition 2's verdict."""
    d = record["manifest"]["config"]["equivariance_dim"]
    return (f"With $d = {d}$ the search tries all {integer(factorial(d) ** 2)} permutation pairs. "
            f"{claim_text(record, 'symmetries.figlu')}")


# ------------------------------------------------------------------------------------------------- claims

def function_change(record) -> Assessment:
    rows = [r for r in record["result"]["function_change"] if r["transform"] == "permutation"]
    std = max(r["change_max"] for r in rows if r["variant"] == "standard")
    asym = min(r["change_max"] for r in rows if r["variant"] != "standard")
    ok = std < 1e-10 and asym > 1e-3
    return Assessment(f"largest change: standard {sci(std)}, asymmetric ≥ {sig(asym)}",
                      "reproduced" if ok else "not reproduced", "exact check in float64 (standard < 1e-10, "
                      "asymmetric > 1e-3)")


def automorphisms(record) -> Assessment:
    rows = record["result"]["automorphisms"]
    ok = sum(r["automorphisms"] == r["predicted"] for r in rows)
    return Assessment(f"{ok}/{len(rows)} DAG automorphism counts equal the prediction",
                      "reproduced" if ok == len(rows) else "not reproduced", "exhaustive VF2 enumeration")


def figlu(record) -> Assessment:
    row = next(r for r in record["result"]["equivariances"] if "generic" in r["nonlinearity"])
    ok = row["perm_pairs"] == 1 and row["diag_pairs"] == 1
    return Assessment(f"{integer(row['perm_pairs'])} of {integer(row['perm_tested'])} permutation pairs and "
                      f"{integer(row['diag_pairs'])} of {integer(row['diag_tested'])} diagonal pairs hold "
                      f"(d = {row['d']})", "reproduced" if ok else
                      "not reproduced", "exhaustive over permutation pairs, sampled diagonal pairs")


CLAIMS = [
    Claim("symmetries.function_change", "Lim et al. 2024, §4", "Permuting hidden units leaves a standard net's "
          "function unchanged but changes W-Asym and σ-Asym nets", "construction", function_change),
    Claim("symmetries.automorphisms", "Lim et al. 2024, Theorem 1", "Pairwise-distinct mask rows leave the "
          "computation DAG no non-trivial automorphism (and equal rows bring one back)", "proof", automorphisms),
    Claim("symmetries.figlu", "Lim et al. 2024, Proposition 2", "FiGLU with a generic F has no permutation or "
          "diagonal equivariance", "proof", figlu),
]
