"""Bayesian neural networks: Table 2 beside the paper's, Figure 4, the MLP-16 control, and the verdicts of the chapter's
claims.

Designs and tests, fixed in this file before the ``small`` result was computed. The replicate is the *run*: runs are
independent (each its own initialisation, data order and fixed entries), so every comparison of two arms is unpaired,
Welch's t-test (the book's test for independent samples; with 3 runs per arm an exact rank test cannot go below
p = 0.05, so it could never support a claim). A diverged run (non-finite loss) counts as chance accuracy, 10 %.

* :data:`FAIL_ACC` = 20 % test accuracy (twice chance): below it a model "fails to train" (the paper's failed
  standard MLP-16 reaches 13.5 %); "the standard MLP-16 fails" is the one-sample t-test of its runs' accuracy
  against it, and it is the premise of "W-Asym MLP-16 trains where the standard one fails".
* "At least as good" (MLP-8, ResNet20, ResNet110): per model and metric, the non-inferiority test of W-Asym against
  standard with the margins :data:`MARGINS`, fixed before the run: test accuracy 2 points, test loss 0.05 nats,
  ECE 0.01. Every part significant: reproduced; a part where W-Asym is significantly worse by more than its margin:
  mixed (not reproduced if no part holds); otherwise inconclusive.
* "Trains faster": per model except MLP-16 (its own claim), W-Asym's test accuracy at half the epochs (one weight
  sample, :mod:`compute`) is higher, one-sided Welch; combined by :func:`symlib.claims.across`.
* The control (beyond the paper): the free-start MLP-16 against the standard and the W-Asym MLP-16, two-sided Welch
  on test accuracy; reported, not a claim of the paper.
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd

from ... import ledger, stats
from ...claims import Assessment, Claim, Premise, across, directional
from ...formatting import mean_sd, minutes, number, percent, points
from ...plotting import METHOD_COLORS, line_with_band, new_figure
from .compute import MODELS, arms

__all__ = ["CLAIMS", "FAIL_ACC", "MARGINS", "PAPER", "PARAMETERS", "control_table", "control_text", "cost_table",
           "figure_training_loss", "table2", "verdict_text"]

FAIL_ACC = 0.20
#: non-inferiority margins (W-Asym may be worse than standard by less than this): metric -> margin
MARGINS = {"test_acc": 0.02, "test_nll": 0.05, "ece": 0.01}
CHANCE = 0.10

_SOURCE = "Lim et al. 2024, Table 2"
#: Table 2 of the paper, CIFAR-10 rows: (model, arm) -> train loss, test loss, ECE, test accuracy (50 epochs) and at
#: 25 epochs. The CIFAR-100 rows (ResNet20 with BatchNorm and with LayerNorm) are not built here (see the chapter).
PAPER = {("mlp8", "standard"): (1.34, 1.24, .039, .5637, .5287), ("mlp8", "w_asym"): (1.31, 1.22, .042, .5708, .5415),
         ("mlp16", "standard"): (2.29, 2.28, .026, .1354, .1334),
         ("mlp16", "w_asym"): (1.39, 1.27, .045, .5516, .5142),
         ("resnet20", "standard"): (.596, .535, .045, .8198, .7237),
         ("resnet20", "w_asym"): (.600, .535, .044, .8194, .7364),
         ("resnet110", "standard"): (.803, .706, .052, .7571, .5985),
         ("resnet110", "w_asym"): (.745, .658, .049, .7740, .6320)}

ARM_LABELS = {"standard": "Standard", "w_asym": "W-Asym", "free_start": "Standard, W-Asym start"}
ARM_COLORS = {"Standard": METHOD_COLORS["Standard"], "W-Asym": METHOD_COLORS["W-Asym"],
              "Standard, W-Asym start": "#8172B3"}
METRIC_LABELS = {"test_acc": "test accuracy", "test_nll": "test loss", "ece": "ECE"}

PARAMETERS = {
    "scale": "preset", "seed": "random seed", "models": "models to train (mlp8, mlp16, resnet20, resnet110)",
    "n_runs": "independent runs per arm", "control": "MLP-16: also train the free-start control",
    "batch_size": "batch size", "test_samples": "weight samples of the test predictive",
    "augment_multiplier": "N of the ELBO = this × training images (the authors' num_data)",
    "test_size": "test images", "val_size": "test images read every epoch (one sample)",
    "train_eval_size": "training images for the train loss (predictive, no augmentation)",
    "mlp_width": "MLP: hidden units", "mlp_n_fix": "W-Asym MLP: fixed entries per row", "mlp_kappa": "W-Asym MLP: κ",
    "mlp_epochs": "MLP: epochs", "mlp_lr": "MLP: learning rate (Adam)", "mlp_downsample": "MLP: image downsampling",
    "mlp_train_size": "MLP: training images", "resnet_width": "ResNet: width multiplier",
    "resnet_norm": "ResNet: norm (both arms)", "resnet_n_fix": "W-Asym ResNet: fixed entries per output channel",
    "resnet_kappa": "W-Asym ResNet: κ", "resnet_epochs": "ResNet: epochs", "resnet_lr": "ResNet: learning rate (Adam)",
    "resnet_downsample": "ResNet: image downsampling", "resnet_train_size": "ResNet: training images",
    "mlp_bar": "training bar: standard MLP-8 mean test accuracy",
    "resnet_bar": "training bar: standard ResNet20 mean test accuracy",
}


# ------------------------------------------------------------------------------------------------- data

def members(record: Mapping[str, Any]) -> pd.DataFrame:
    """One row per trained network; a diverged run's test accuracy is :data:`CHANCE` (its other metrics NaN)."""
    df = pd.DataFrame(record["result"]["members"])
    df.loc[df.diverged, "test_acc"] = CHANCE
    df.loc[df.diverged, "half_acc"] = CHANCE
    return df


def values(record: Mapping[str, Any], model: str, arm: str, key: str) -> np.ndarray:
    df = members(record)
    d = df[(df.model == model) & (df.arm == arm)].sort_values("run")
    return d[key].to_numpy(dtype=float)


def _run(record, model: str) -> bool:
    return model in record["manifest"]["config"]["models"]


# ------------------------------------------------------------------------------------------------- tables

def _cell(v: np.ndarray, kind: str) -> str:
    v = v[np.isfinite(v)]
    if not len(v):
        return "—"
    if kind == "acc":
        return mean_sd(100 * v, 1, "%")
    return mean_sd(v, 3)


def table2(record: Mapping[str, Any]) -> pd.DataFrame:
    """Table 2 beside the paper's: per model and arm, our mean ± sd over runs and the paper's row. Columns: train loss
    (predictive NLL on un-augmented training images), test loss (predictive NLL), ECE, test accuracy, and test
    accuracy at half the epochs (one weight sample; the paper's 25 of 50 epochs). Models not run at this scale say so."""
    cfg = record["manifest"]["config"]
    rows = {}
    for model, (label, _, _) in MODELS.items():
        for arm in (arms(cfg, model) if _run(record, model) else ["standard", "w_asym"]):
            if _run(record, model):
                half = int(members(record).query("model == @model").half_epoch.iloc[0])
                rows[(label, ARM_LABELS[arm], "ours")] = {
                    "train loss": _cell(values(record, model, arm, "train_nll"), "loss"),
                    "test loss": _cell(values(record, model, arm, "test_nll"), "loss"),
                    "ECE": _cell(values(record, model, arm, "ece"), "loss"),
                    "test acc.": _cell(values(record, model, arm, "test_acc"), "acc"),
                    "acc. at ½ epochs": _cell(values(record, model, arm, "half_acc"), "acc") + f" (ep. {half})"}
            else:
                rows[(label, ARM_LABELS[arm], "ours")] = dict.fromkeys(
                    ["train loss", "test loss", "ECE", "test acc.", "acc. at ½ epochs"], "not run at this scale")
            if (model, arm) in PAPER:
                tr, te, ece, acc, acc25 = PAPER[(model, arm)]
                rows[(label, ARM_LABELS[arm], "paper")] = {
                    "train loss": number(tr, 3), "test loss": number(te, 3), "ECE": number(ece, 3),
                    "test acc.": percent(acc, 2), "acc. at ½ epochs": percent(acc25, 2) + " (ep. 25)"}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.names = ["model", "arm", ""]
    return out


def control_table(record: Mapping[str, Any]) -> pd.DataFrame:
    """MLP-16's three arms: test accuracy, test loss, accuracy at half the epochs, and Welch p-values of the test
    accuracy against the standard and the W-Asym MLP-16 (two-sided)."""
    cfg = record["manifest"]["config"]
    if not _run(record, "mlp16"):
        return pd.DataFrame()
    rows = {}
    for arm in arms(cfg, "mlp16"):
        acc = values(record, "mlp16", arm, "test_acc")
        row = {"test acc.": _cell(acc, "acc"), "test loss": _cell(values(record, "mlp16", arm, "test_nll"), "loss"),
               "acc. at ½ epochs": _cell(values(record, "mlp16", arm, "half_acc"), "acc")}
        for other in ("standard", "w_asym"):
            row[f"p vs {ARM_LABELS[other]}"] = ("—" if other == arm else
                                                stats.format_p(stats.welch(acc, values(record, "mlp16", other,
                                                                                       "test_acc"))))
        rows[ARM_LABELS[arm]] = row
    return pd.DataFrame.from_dict(rows, orient="index")


def control_text(record: Mapping[str, Any]) -> str:
    """The control's outcome in one paragraph, from the numbers."""
    cfg = record["manifest"]["config"]
    if not (_run(record, "mlp16") and "free_start" in arms(cfg, "mlp16")):
        return "The control was not run (`control=False` or no MLP-16)."
    acc = {arm: values(record, "mlp16", arm, "test_acc") for arm in arms(cfg, "mlp16")}
    m = {arm: a.mean() for arm, a in acc.items()}
    trains = {arm: m[arm] >= FAIL_ACC for arm in acc}
    p_std = stats.welch(acc["free_start"], acc["standard"])
    p_wa = stats.welch(acc["free_start"], acc["w_asym"])
    text = (f"Mean test accuracy of the MLP-16: standard {percent(m['standard'])}, W-Asym {percent(m['w_asym'])}, "
            f"standard started at the W-Asym start {percent(m['free_start'])} (against standard: "
            f"{stats.format_p(p_std)}; against W-Asym: {stats.format_p(p_wa)}). ")
    if trains["standard"]:
        return text + (f"The standard MLP-16 trains at this scale (≥ {percent(FAIL_ACC, 0)}), so there is no failure "
                       "for the control to explain.")
    if not trains["w_asym"]:
        return text + "The W-Asym MLP-16 fails as well, so there is no difference for the control to explain."
    if trains["free_start"]:
        gap = m["w_asym"] - m["free_start"]
        if p_wa < stats.ALPHA and gap > 0:
            rest = (f"It stays {points(gap)} below W-Asym, significantly: the start explains most of the rescue, and "
                    "keeping the entries fixed adds the rest.")
        else:
            rest = (f"It is not distinguishable from W-Asym here ({points(gap)} apart, {len(acc['w_asym'])} runs per "
                    "arm), which cannot rule out a smaller contribution of keeping the entries fixed.")
        return text + ("The control trains: starting from the W-Asym network's weights (the constants F at the "
                       "would-be fixed positions) is enough to train the standard MLP-16, so its failure is mostly "
                       "about where it starts, not about the symmetry that stays broken during training. " + rest)
    return text + ("The control fails like the standard network: the W-Asym start alone does not rescue MLP-16; "
                   "keeping the entries fixed does, which points to the broken symmetry (or to the smaller "
                   "posterior) rather than to the initial weights.")


def cost_table(record: Mapping[str, Any]) -> pd.DataFrame:
    """Per model and arm: posterior dimension ``D`` (weights and biases under the posterior), trainable scalars
    (``(k + 1)·D`` plus norms) and the wall time per network (trained or loaded from the member store)."""
    df = members(record)
    rows = {}
    for (model, arm), d in df.groupby(["model", "arm"], sort=False):
        rows[(MODELS[model][0], ARM_LABELS[arm])] = {"posterior dimension D": f"{int(d.posterior_dim.iloc[0]):,}",
                                                     "trainable scalars": f"{int(d.trainable.iloc[0]):,}",
                                                     "wall time per network": minutes(d.train_time_s.mean())}
    return pd.DataFrame.from_dict(rows, orient="index")


# ------------------------------------------------------------------------------------------------- figure

def figure_training_loss(record: Mapping[str, Any]):
    """Figure 4: the training loss (the ELBO's data term, running mean over each epoch, nats per example) per epoch,
    mean and ±1 sd band over runs, standard against W-Asym (and the control for MLP-16), one panel per model."""
    df = members(record)
    models = [m for m in MODELS if _run(record, m)]
    fig, axes = new_figure(1, len(models), height=3.6, squeeze=False)
    for ax, model in zip(axes[0], models):
        long = [{"epoch": e + 1, "loss": v, "arm": ARM_LABELS[r.arm], "run": r.run}
                for r in df[df.model == model].itertuples() for e, v in enumerate(r.curve_train_nll)]
        d = pd.DataFrame(long)
        order = [ARM_LABELS[a] for a in arms(record["manifest"]["config"], model)]
        line_with_band(d, "epoch", "loss", "arm", ax, xlabel="epoch", ylabel="training loss (nats)",
                       title=MODELS[model][0], order=order, palette=ARM_COLORS)
        ax.axhline(np.log(10), color="0.5", lw=0.8, ls=":")
    axes[0][0].annotate("chance: ln 10", xy=(0.02, np.log(10)), xycoords=("axes fraction", "data"), va="bottom",
                        fontsize="x-small", color="0.4")
    return fig


# ------------------------------------------------------------------------------------------------- claims

def _premise_standard_fails(record) -> tuple[bool, str]:
    if not _run(record, "mlp16"):
        return False, "MLP-16 was not run"
    acc = values(record, "mlp16", "standard", "test_acc")
    p = stats.one_sample(acc, FAIL_ACC, "less")
    return acc.mean() < FAIL_ACC and p < stats.ALPHA, (f"standard MLP-16 test accuracy {mean_sd(100 * acc, 1, '%')} "
                                                        f"(< {percent(FAIL_ACC, 0)}: {stats.format_p(p)})")


STANDARD_FAILS = Premise(f"the standard MLP-16 fails to train here (mean test accuracy below {100 * FAIL_ACC:.0f} %, "
                         "one-sample t, p < 0.05)", _premise_standard_fails)


def _assess_standard_fails(record) -> Assessment:
    if not _run(record, "mlp16"):
        return Assessment("—", "inconclusive", "MLP-16 was not run")
    acc = values(record, "mlp16", "standard", "test_acc")
    p = stats.one_sample(acc, FAIL_ACC, "less")
    return Assessment(f"{mean_sd(100 * acc, 1, '%')}", directional(acc.mean() < FAIL_ACC, p),
                      f"one-sample t-test of the runs' test accuracy < {percent(FAIL_ACC, 0)}: {stats.format_p(p)}")


def _assess_w_asym_trains(record) -> Assessment:
    w, s = values(record, "mlp16", "w_asym", "test_acc"), values(record, "mlp16", "standard", "test_acc")
    p = stats.welch(w, s, "greater")
    holds = w.mean() > s.mean() and w.mean() >= FAIL_ACC
    return Assessment(f"{percent(w.mean())} vs {percent(s.mean())}", directional(holds, p),
                      f"Welch's t-test, W-Asym > standard: {stats.format_p(p)}; W-Asym mean "
                      f"{'≥' if w.mean() >= FAIL_ACC else '<'} {percent(FAIL_ACC, 0)}")


def _elsewhere(record) -> list[str]:
    return [m for m in ("mlp8", "resnet20", "resnet110") if _run(record, m)]


def _assess_at_least_as_good(record) -> Assessment:
    outcomes, notes = {}, []
    for model in _elsewhere(record):
        for key, margin in MARGINS.items():
            w, s = values(record, model, "w_asym", key), values(record, model, "standard", key)
            sign = -1.0 if key == "test_acc" else 1.0  # as losses: lower is better
            lw, ls = sign * w, sign * s
            p = stats.noninferiority(lw, ls, margin)
            p_opp = stats.welch(lw - margin, ls, "greater")  # W-Asym worse by more than the margin
            name = f"{MODELS[model][0]} {METRIC_LABELS[key]}"
            outcomes[name] = (lw.mean() - ls.mean() < margin, p, p_opp)
            diff = (w.mean() - s.mean()) * (100 if key == "test_acc" else 1)
            notes.append(f"{name}: W-Asym − standard {number(diff, 3, signed=True)}"
                         f"{' points' if key == 'test_acc' else ''}, non-inferiority {stats.format_p(p)}")
    if not outcomes:
        return Assessment("—", "inconclusive", "none of MLP-8, ResNet20, ResNet110 was run")
    verdict, against = across(outcomes)
    if verdict == "direction only":  # an "at least as good" claim without significance decides nothing
        verdict = "inconclusive"
    held = sum(1 for h, p, _ in outcomes.values() if h and p < stats.ALPHA)
    return Assessment(f"{held} of {len(outcomes)} comparisons non-inferior", verdict,
                      "non-inferiority (Welch), margins fixed before the run (accuracy 2 points, loss 0.05 nats, "
                      "ECE 0.01): " + "; ".join(notes)
                      + (f"; worse beyond the margin: {', '.join(against)}" if against else ""))


def _assess_trains_faster(record) -> Assessment:
    outcomes, notes = {}, []
    for model in _elsewhere(record):
        w, s = values(record, model, "w_asym", "half_acc"), values(record, model, "standard", "half_acc")
        outcomes[MODELS[model][0]] = (w.mean() > s.mean(), stats.welch(w, s, "greater"), stats.welch(w, s, "less"))
        notes.append(f"{MODELS[model][0]}: {percent(w.mean())} vs {percent(s.mean())} "
                     f"({stats.format_p(outcomes[MODELS[model][0]][1])})")
    if not outcomes:
        return Assessment("—", "inconclusive", "none of MLP-8, ResNet20, ResNet110 was run")
    verdict, against = across(outcomes)
    return Assessment("; ".join(notes), verdict, "one-sided Welch's t-tests of the accuracy at half the epochs, "
                      "W-Asym > standard" + (f"; significantly the other way: {', '.join(against)}" if against else ""))


CLAIMS = [
    Claim("bayesian.mlp16_standard_fails", _SOURCE,
          f"The standard Bayesian MLP-16 fails to train on CIFAR-10 (mean test accuracy below {100 * FAIL_ACC:.0f} %; "
          "chance is 10 %)", "13.54 %", _assess_standard_fails),
    Claim("bayesian.mlp16_w_asym_trains", _SOURCE,
          "W-Asym MLP-16 trains where the standard one fails: higher test accuracy, above the failure line",
          "55.16 vs 13.54 %", _assess_w_asym_trains, STANDARD_FAILS),
    Claim("bayesian.w_asym_at_least_as_good", _SOURCE,
          "Elsewhere (MLP-8, ResNet20, ResNet110) Bayesian W-Asym networks are at least as good as standard ones: "
          "test accuracy, test loss and ECE", "e.g. MLP-8 57.08 vs 56.37 %", _assess_at_least_as_good),
    Claim("bayesian.w_asym_trains_faster", _SOURCE,
          "Bayesian W-Asym networks train faster: higher test accuracy at half the epochs (MLP-8, ResNet20, "
          "ResNet110)", "e.g. ResNet110 63.20 vs 59.85 % at 25 epochs", _assess_trains_faster),
]


def verdict_text(record: Mapping[str, Any]) -> str:
    """The chapter's closing verdict: mean test accuracy per model and arm, the control, and every claim's verdict in
    words (:func:`symlib.ledger.sentences`)."""
    cfg = record["manifest"]["config"]
    parts = []
    for model in (m for m in MODELS if _run(record, m)):
        accs = ", ".join(f"{ARM_LABELS[a]} {percent(values(record, model, a, 'test_acc').mean())}"
                         for a in arms(cfg, model))
        parts.append(f"{MODELS[model][0]}: {accs}")
    return ("Mean test accuracy over " + str(cfg["n_runs"]) + " runs: " + "; ".join(parts) + ".\n\n"
            + control_text(record) + "\n\n" + ledger.sentences(CLAIMS, record))
