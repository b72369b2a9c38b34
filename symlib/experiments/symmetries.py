"""Chapter *Which parameter symmetries are left?* (Lim et al. 2024, §4, Theorem 1, Proposition 2, Figure 2).

Five measurements, all stored in one JSON-able result:

1. ``function_change`` — the largest change of the logits on MNIST test images
   when the hidden units of a network are permuted (book MLP: LayerNorm + GELU)
   or rescaled (plain ReLU MLP, the only family here with that symmetry), for
   Standard, W-Asym and σ-Asym variants, at random init and after a short
   training run; plus the test accuracy after the transformation.
2. ``kappa_sweep`` / ``figlu_sweep`` — the permutation function change of
   W-Asym MLPs against the scale ``κ`` of the fixed entries, and of σ-Asym MLPs
   against the scale of FiGLU's ``F``.
3. ``automorphisms`` — automorphism counts of neural computation DAGs
   (Theorem 1) next to the count theory predicts.
4. ``equivariances`` — exhaustive permutation-pair and sampled diagonal-pair
   searches for ``P2 σ(x) = σ(P1 x)`` (Proposition 2).
5. ``masks`` — a W-Asym linear mask and W-Asym conv masks (fixed entries /
   fixed filters) with their effective weights (Figure 2).

All function changes are measured in float64 (models are trained in float32
and converted), so an exact symmetry shows as ~1e-15 and not float32 noise.
"""
from __future__ import annotations

import copy
import math
from typing import Any, Mapping

import numpy as np
import pandas as pd
import torch
from torch import nn

from .. import params, results
from ..data import load_mnist
from ..layers import FiGLU, WAsymConv2d, WAsymLinear, distinct_row_mask
from ..models import MLP, MLPConfig
from ..seeding import derive_seed, numpy_rng, seeded
from ..symmetry import (ReLUMLP, circulant_F, computation_dag, count_automorphisms, diagonal_equivariances,
                        elementwise_numpy, figlu_equivariances, mlp_masks, permutation_equivariances,
                        permute_hidden, rescale_hidden, symmetrised_F, zero_column_F)
from ..train import TrainConfig, train

NAME = "symmetries"
VARIANTS = ("standard", "w_asym", "sigma_asym")
LABELS = {"standard": "Standard", "w_asym": "W-Asym", "sigma_asym": "σ-Asym"}
FAMILIES = {"mlp": "MLP (LayerNorm + GELU)", "relu_mlp": "MLP (ReLU, no norm)"}

_PAPER = dict(width=512, depth=4, n_fix=[64, 64, 64, 256], kappa=[1.0, 1.0, 0.5, 0.25], figlu_scale=1.0,
              train_size=54000, epochs=25, batch_size=64, lr=1e-3, weight_decay=0.03, n_eval=1000, n_trials=10,
              kappa_grid=[0.01, 0.03, 0.1, 0.3, 1.0, 2.0, 4.0], figlu_grid=[0.001, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0],
              equivariance_dim=5, n_equivariance_inputs=64, n_diagonal_random=200)
PRESETS: dict[str, dict[str, Any]] = {
    # the paper's MLP and training recipe (papers.md §1); the measurements themselves are ours
    "paper": _PAPER,
    # a few minutes on 2 CPU cores: width 128, 10k training images, 2 epochs
    "small": {**_PAPER, "width": 128, "n_fix": [64, 16, 16, 64], "train_size": 10000, "epochs": 2, "n_eval": 500,
              "n_trials": 5},
    # nbval, < 1 min: width 32, 3 layers, 2k images, 1 epoch, d = 4 for the exhaustive search
    "ci": {**_PAPER, "width": 32, "depth": 3, "n_fix": [64, 4, 16], "kappa": [1.0, 0.5, 0.25], "train_size": 2000,
           "epochs": 1, "n_eval": 200, "n_trials": 3, "kappa_grid": [0.01, 0.1, 1.0, 4.0],
           "figlu_grid": [0.001, 0.03, 1.0, 10.0], "equivariance_dim": 4, "n_diagonal_random": 50},
}


def configure(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """Validated config from a notebook's parameters (``None`` = preset); raises on unknown names or bad values."""
    cfg = params.resolve(PRESETS, params.notebook_parameters(namespace))
    if not (len(cfg["n_fix"]) == len(cfg["kappa"]) == cfg["depth"]):
        raise params.ParameterError(f"n_fix {cfg['n_fix']} and kappa {cfg['kappa']} need depth={cfg['depth']} entries")
    if not 2 <= cfg["equivariance_dim"] <= 5:
        raise params.ParameterError(f"equivariance_dim must be in 2..5 (exhaustive (d!)^2 search), got {cfg['equivariance_dim']}")
    if cfg["n_trials"] < 1 or cfg["n_eval"] < 1:
        raise params.ParameterError("n_trials and n_eval must be >= 1")
    if min(cfg["kappa_grid"]) <= 0 or min(cfg["figlu_grid"]) <= 0:
        raise params.ParameterError("kappa_grid and figlu_grid must be positive (κ = 0 is measured separately)")
    return cfg


# --------------------------------------------------------------------------- models

def build(cfg: Mapping[str, Any], family: str, variant: str, arch_seed: int, kappa=None, figlu_scale=None) -> nn.Module:
    kappa = list(cfg["kappa"]) if kappa is None else list(kappa)
    figlu_scale = cfg["figlu_scale"] if figlu_scale is None else figlu_scale
    if family == "mlp":
        return MLP(MLPConfig(width=cfg["width"], depth=cfg["depth"], variant=variant, n_fix=tuple(cfg["n_fix"]),
                             kappa=tuple(kappa), figlu_scale=figlu_scale, arch_seed=arch_seed))
    dims = [784] + [cfg["width"]] * (cfg["depth"] - 1) + [10]
    return ReLUMLP(dims, variant, n_fix=cfg["n_fix"], kappa=kappa, figlu_scale=figlu_scale, arch_seed=arch_seed)


@torch.no_grad()
def _compare(model: nn.Module, other: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float, float]:
    """(max |Δ logits|, accuracy of ``other``, fraction of changed predictions) in float64."""
    model.eval()
    other.eval()
    a, b = model(x), other(x)
    return (float((a - b).abs().max()), float((b.argmax(1) == y).double().mean()),
            float((a.argmax(1) != b.argmax(1)).double().mean()))


def _transform(name: str, model: nn.Module, seed: int) -> nn.Module:
    return permute_hidden(model, seed) if name == "permutation" else rescale_hidden(model, seed)


# --------------------------------------------------------------------------- the pieces of run()

def function_change_rows(cfg, x, y, train_ds) -> list[dict]:
    seed, rows = cfg["seed"], []
    tc = TrainConfig(epochs=cfg["epochs"], batch_size=cfg["batch_size"], lr=cfg["lr"],
                     weight_decay=cfg["weight_decay"], optimizer="adamw")
    for family in FAMILIES:
        for variant in VARIANTS:
            arch_seed = derive_seed(seed, NAME, family, variant, "arch")
            model = seeded(lambda: build(cfg, family, variant, arch_seed), derive_seed(seed, NAME, family, variant, "init"))
            for state in ("random init", "trained"):
                hist = None
                if state == "trained":
                    hist = train(model, train_ds.X, train_ds.y, tc, seed=derive_seed(seed, NAME, family, variant, "data"),
                                 device="cpu", progress=False)
                m64 = copy.deepcopy(model).double()
                acc = float((m64.eval()(x).argmax(1) == y).double().mean())
                for tname in (("permutation",) if family == "mlp" else ("permutation", "rescaling")):
                    ch = [_compare(m64, _transform(tname, m64, derive_seed(seed, NAME, tname, family, variant, state, k)),
                                   x, y) for k in range(cfg["n_trials"])]
                    d = np.array(ch)
                    rows.append({"family": family, "variant": variant, "state": state, "transform": tname,
                                 "change_max": float(d[:, 0].max()), "change_mean": float(d[:, 0].mean()),
                                 "changes": d[:, 0].tolist(), "acc_before": acc, "acc_after_mean": float(d[:, 1].mean()),
                                 "pred_changed_mean": float(d[:, 2].mean()), "n_trials": cfg["n_trials"],
                                 "train_loss_last": (hist["train_loss"][-1] if hist else None)})
    return rows


def _sweep(cfg, x, y, variant: str, grid, key: str) -> dict:
    seed, out = cfg["seed"], {"grid": [float(v) for v in grid], "mean": [], "std": [], "changes": []}

    def measure(kappa=None, figlu_scale=None, var=variant, tag=""):
        ch = []
        for k in range(cfg["n_trials"]):
            arch = derive_seed(seed, NAME, "sweep", key, var, tag, k)
            model = seeded(lambda: build(cfg, "mlp", var, arch, kappa=kappa, figlu_scale=figlu_scale),
                            derive_seed(seed, NAME, "sweep_init", key, var, tag, k)).double()
            ch.append(_compare(model, permute_hidden(model, derive_seed(seed, NAME, "sweep_perm", key, var, tag, k)),
                               x, y)[0])
        return ch

    for v in grid:
        ch = measure(**{key: ([v] * cfg["depth"] if key == "kappa" else v)}, tag=str(v))
        out["changes"].append(ch)
        out["mean"].append(float(np.mean(ch)))
        out["std"].append(float(np.std(ch)))
    out["standard"] = float(np.mean(measure(var="standard", tag="reference")))
    if key == "kappa":
        out["kappa_zero"] = float(np.mean(measure(kappa=[0.0] * cfg["depth"], tag="0")))
    return out


def automorphism_rows(seed: int) -> list[dict]:
    """DAG automorphism counts vs. the count predicted by theory, for hand-picked shapes."""
    ones = lambda r, c: np.ones((r, c), dtype=bool)  # noqa: E731
    dr = lambda r, c, k, tag: distinct_row_mask(r, c, k, derive_seed(seed, NAME, "dag", tag))  # noqa: E731
    dup = dr(5, 6, 2, "dup")
    dup[1] = dup[0]
    small_std = MLP(MLPConfig(in_features=5, width=4, depth=3, out_features=2, variant="standard"))
    small_w = MLP(MLPConfig(in_features=8, width=6, depth=3, out_features=3, variant="w_asym", n_fix=(2, 2, 2),
                            kappa=(1.0, 1.0, 1.0), arch_seed=derive_seed(seed, NAME, "dag", "mlp")))
    cases = [
        ("Standard 3-4-4-2", [ones(4, 3), ones(4, 4), ones(2, 4)], math.factorial(4) ** 2, "n1!·n2!"),
        ("Standard 2-3-5-1", [ones(3, 2), ones(5, 3), ones(1, 5)], math.factorial(3) * math.factorial(5), "n1!·n2!"),
        ("symlib MLP, Standard 5-4-4-2", mlp_masks(small_std), math.factorial(4) ** 2, "n1!·n2!"),
        ("W-Asym 6-5-5-2 (all layers masked)", [dr(5, 6, 2, "a1"), dr(5, 5, 2, "a2"), dr(2, 5, 2, "a3")], 1,
         "Theorem 1: 1"),
        ("W-Asym 6-5-5-2, dense output layer", [dr(5, 6, 2, "b1"), dr(5, 5, 2, "b2"), ones(2, 5)], 1, "Theorem 1: 1"),
        ("symlib MLP, W-Asym 8-6-6-3", mlp_masks(small_w), 1, "Theorem 1: 1"),
        ("W-Asym first layer only, 6-5-4-2", [dr(5, 6, 2, "c1"), ones(4, 5), ones(2, 4)], math.factorial(4),
         "layer 2 unmasked: n2!"),
        ("two equal rows in the mask, 6-5-2", [dup, ones(2, 5)], 2, "swap of the twin rows: 2"),
    ]
    rows = []
    for name, masks, expected, why in cases:
        g = computation_dag(masks)
        rows.append({"network": name, "widths": [masks[0].shape[1]] + [m.shape[0] for m in masks],
                     "edges": g.number_of_edges(), "automorphisms": count_automorphisms(g),
                     "predicted": int(expected), "prediction": why,
                     "rows_distinct": [bool(len(np.unique(m, axis=0)) == len(m)) for m in masks[:-1]]})
    return rows


def equivariance_rows(cfg) -> list[dict]:
    d, seed = cfg["equivariance_dim"], cfg["seed"]
    n_in, n_rand = cfg["n_equivariance_inputs"], cfg["n_diagonal_random"]
    F = FiGLU(d, std=1.0, seed=derive_seed(seed, NAME, "figlu_generic")).F.double().numpy()
    swap = [1, 0] + list(range(2, d))
    shift = list(range(1, d)) + [0]
    cases = [
        ("ReLU (elementwise)", "elementwise", "relu", "all (P, P); positive diagonals"),
        ("tanh (elementwise, odd)", "elementwise", "tanh", "all (P, P); sign flips"),
        ("FiGLU, generic Gaussian F", "figlu", F, "identity only (Prop. 2)"),
        ("FiGLU, F symmetrised under the swap (0 1)", "figlu", symmetrised_F(F, swap), "I and (P01, P01)"),
        ("FiGLU, circulant F", "figlu", circulant_F(F[0]), f"the {d} cyclic shifts"),
        ("FiGLU, all entries of F equal", "figlu", np.full((d, d), 0.5), "all (P, P)"),
        ("FiGLU, F with column 0 zeroed", "figlu", zero_column_F(F, 0), "identity perm.; A = B scaling x_0"),
    ]
    rows = []
    for name, kind, spec, predicted in cases:
        if kind == "elementwise":
            sigma = elementwise_numpy(spec)
            perm = permutation_equivariances(sigma, d, n_in, seed)
            diag = diagonal_equivariances(sigma, d, n_in, seed, n_rand)
        else:
            r = figlu_equivariances(spec, n_in, seed, n_rand)
            perm, diag = r["permutation"], r["diagonal"]
        ident = tuple(range(d))
        rows.append({"nonlinearity": name, "d": d, "predicted": predicted,
                     "perm_pairs": len(perm), "perm_tested": math.factorial(d) ** 2,
                     "perm_all_equal": bool(all(p1 == p2 for p1, p2 in perm)),
                     "perm_examples": [[list(p1), list(p2)] for p1, p2 in perm if p1 != ident][:4],
                     "diag_pairs": len(diag["found"]), "diag_tested": diag["tested"],
                     "diag_examples": [[a, b] for a, b in diag["found"] if a != [1.0] * d][:3],
                     "F": None if kind == "elementwise" else np.asarray(spec).round(6).tolist()})
    return rows


def mask_examples(seed: int) -> dict:
    """A W-Asym linear layer and W-Asym convs (fixed entries / fixed filters): masks and effective weights."""
    out = {}
    torch.manual_seed(derive_seed(seed, NAME, "mask_init"))  # only the trainable init of these demo layers
    lin = WAsymLinear(16, 8, n_fix=4, kappa=1.0, seed=derive_seed(seed, NAME, "mask_linear"))
    out["linear"] = {"mask": lin.mask.numpy().tolist(), "weight": lin.effective_weight.detach().numpy().tolist(),
                     "n_fix": 4, "kappa": 1.0, "shape": list(lin.weight.shape)}
    for fix, n_fix in (("entries", 8), ("filters", 1)):
        conv = WAsymConv2d(4, 4, 3, n_fix=n_fix, kappa=1.0, seed=derive_seed(seed, NAME, "mask_conv", fix), fix=fix)
        out[f"conv_{fix}"] = {"mask": conv.mask.numpy().tolist(), "weight": conv.effective_weight.detach().numpy().tolist(),
                              "n_fix": n_fix, "kappa": 1.0, "shape": list(conv.weight.shape), "fix": fix}
    return out


def run(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """All measurements of the chapter (CPU). Returns the JSON-able result."""
    seed = cfg["seed"]
    train_ds = load_mnist("train").subset(cfg["train_size"], seed)
    test_ds = load_mnist("test").subset(cfg["n_eval"], derive_seed(seed, NAME, "eval"))
    x, y = test_ds.X.double(), test_ds.y
    with torch.random.fork_rng(devices=[]):
        return {
            "function_change": function_change_rows(cfg, x, y, train_ds),
            "kappa_sweep": _sweep(cfg, x, y, "w_asym", cfg["kappa_grid"], "kappa"),
            "figlu_sweep": _sweep(cfg, x, y, "sigma_asym", cfg["figlu_grid"], "figlu_scale"),
            "automorphisms": automorphism_rows(seed),
            "equivariances": equivariance_rows(cfg),
            "masks": mask_examples(seed),
            "data": {"train": len(train_ds), "eval": len(test_ds)},
        }


def load_or_run(cfg: Mapping[str, Any], recompute: bool = False) -> dict[str, Any]:
    """Stored record for ``cfg`` from ``results/<scale>/`` unless ``recompute``; else run and store it."""
    return results.load_or_run(NAME, dict(cfg), run, recompute=recompute, device="cpu")


# --------------------------------------------------------------------------- tables and figures

def function_change_frame(record: Mapping[str, Any]) -> pd.DataFrame:
    rows = []
    for r in record["result"]["function_change"]:
        rows.append({"network": FAMILIES[r["family"]], "variant": LABELS[r["variant"]], "state": r["state"],
                     "transform": r["transform"], "max |Δ logit|": r["change_max"],
                     "test acc before": r["acc_before"], "test acc after": r["acc_after_mean"],
                     "predictions changed": r["pred_changed_mean"]})
    return pd.DataFrame(rows)


def plot_function_change(record: Mapping[str, Any]):
    import matplotlib.pyplot as plt
    import seaborn as sns

    from ..plotting import METHOD_COLORS

    rows = []
    for r in record["result"]["function_change"]:
        for c in r["changes"]:
            rows.append({"variant": LABELS[r["variant"]], "state": r["state"],
                         "panel": f"{FAMILIES[r['family']]}\n{r['transform']} of hidden units",
                         "change": max(c, 1e-17)})
    df = pd.DataFrame(rows)
    panels = list(dict.fromkeys(df.panel))
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.8), sharey=True)
    for ax, panel in zip(axes, panels):
        sns.stripplot(data=df[df.panel == panel], x="variant", y="change", hue="state", dodge=True, ax=ax,
                      order=[LABELS[v] for v in VARIANTS], hue_order=["random init", "trained"], size=6, jitter=0.15,
                      palette={"random init": "0.6", "trained": "0.1"})
        for tick in ax.get_xticklabels():
            tick.set_color(METHOD_COLORS.get(tick.get_text(), "black"))
        ax.set_yscale("log")
        ax.axhspan(1e-17, 1e-12, color="0.9", zorder=0)
        ax.set_title(panel, fontsize=10)
        ax.set_xlabel("")
        ax.set_ylabel("max |Δ logit| on test images (float64)")
        if ax is not axes[-1]:
            ax.get_legend().remove()
    axes[-1].legend(title="parameters", loc="center right", fontsize=8)
    axes[0].text(0.02, 0.03, "grey band: floating-point zero", transform=axes[0].transAxes, fontsize=8, color="0.35")
    fig.tight_layout()
    return fig


def plot_sweeps(record: Mapping[str, Any]):
    import matplotlib.pyplot as plt

    res = record["result"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    from ..plotting import METHOD_COLORS

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
    fig.tight_layout()
    return fig


def automorphism_frame(record: Mapping[str, Any]) -> pd.DataFrame:
    return pd.DataFrame([{"network": r["network"], "edges": r["edges"], "hidden-layer mask rows distinct": all(r["rows_distinct"]),
                          "automorphisms (counted)": r["automorphisms"], "predicted": r["predicted"],
                          "why": r["prediction"]} for r in record["result"]["automorphisms"]]).set_index("network")


def equivariance_frame(record: Mapping[str, Any]) -> pd.DataFrame:
    rows = []
    for r in record["result"]["equivariances"]:
        ex = "; ".join(f"P1=P2={tuple(p1)}" for p1, p2 in r["perm_examples"][:2]) or "—"
        rows.append({"σ": r["nonlinearity"], "perm. pairs found": f"{r['perm_pairs']} / {r['perm_tested']}",
                     "all with P1 = P2": r["perm_all_equal"], "non-identity examples": ex,
                     "diag. pairs found": f"{r['diag_pairs']} / {r['diag_tested']}", "predicted": r["predicted"]})
    return pd.DataFrame(rows).set_index("σ")


def _outline_fixed(ax, mask: np.ndarray) -> None:
    from matplotlib.patches import Rectangle
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


def plot_masks(record: Mapping[str, Any]):
    import matplotlib.pyplot as plt

    m = record["result"]["masks"]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.6), gridspec_kw={"width_ratios": [16, 15, 15]},
                             constrained_layout=True)
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
            ax.set_xlabel("input channel (one 3×3 filter per tile)")
            ax.set_ylabel("output channel")
        else:
            ax.set_xlabel("input unit j")
            ax.set_ylabel("output unit i")
        im = ax.imshow(np.ma.masked_invalid(w), cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        _outline_fixed(ax, mask)
        ax.set_title(title, fontsize=10)
    fig.colorbar(im, ax=axes, shrink=0.8, label="effective weight  M⊙W + (1−M)⊙F\n(black outline: fixed entry)")
    return fig
