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
import torch
from torch import nn

from ... import params
from ...architectures import MLPConfig, build_model
from ...data import load_mnist
from ...layers import FiGLU, WAsymConv2d, WAsymLinear, distinct_row_mask
from ...seeding import derive_seed, seeded
from ...theory.dag import computation_dag, count_automorphisms, mlp_masks
from ...theory.equivariance import (circulant_F, diagonal_equivariances, elementwise_numpy, figlu_equivariances,
                                    permutation_equivariances, symmetrised_F, zero_column_F)
from ...theory.transforms import compare, permute_hidden, rescale_hidden
from ...training import fit, tensor_batches, train_config

__all__ = ["FAMILIES", "LABELS", "NAME", "PRESETS", "VARIANTS", "check", "configure"]


NAME = "symmetries"
VARIANTS = ("standard", "w_asym", "sigma_asym")
LABELS = {"standard": "Standard", "w_asym": "W-Asym", "sigma_asym": "σ-Asym"}
FAMILIES = {"mlp": "MLP (LayerNorm + GELU)", "relu_mlp": "MLP (ReLU, no norm)"}

_PAPER = dict(width=512, depth=4, n_fix=[64, 64, 64, 256], kappa=[1.0, 1.0, 0.5, 0.25], figlu_gain=1.0,
              train_size=54000, epochs=25, batch_size=64, lr=1e-3, weight_decay=0.03, n_eval=1000, n_trials=10,
              kappa_grid=[0.01, 0.03, 0.1, 0.3, 1.0, 2.0, 4.0], figlu_grid=[0.001, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0],
              equivariance_dim=5, n_equivariance_inputs=64, n_diagonal_random=200)
PRESETS: dict[str, dict[str, Any]] = {
    # the paper's MLP (Table 5) and the authors' training recipe; the measurements themselves are ours
    "paper": _PAPER,
    # a few minutes on 2 CPU cores: width 128, 10k training images, 2 epochs
    "small": {**_PAPER, "width": 128, "n_fix": [64, 16, 16, 64], "train_size": 10000, "epochs": 2, "n_eval": 500,
              "n_trials": 5},
    # nbval, < 1 min: width 32, 3 layers, 2k images, 1 epoch, d = 4 for the exhaustive search
    "ci": {**_PAPER, "width": 32, "depth": 3, "n_fix": [64, 4, 16], "kappa": [1.0, 0.5, 0.25], "train_size": 2000,
           "epochs": 1, "n_eval": 200, "n_trials": 3, "kappa_grid": [0.01, 0.1, 1.0, 4.0],
           "figlu_grid": [0.001, 0.03, 1.0, 10.0], "equivariance_dim": 4, "n_diagonal_random": 50},
}


def configure(given: Mapping[str, Any]) -> dict[str, Any]:
    """Validated config from notebook parameters (``None`` = preset); raises on unknown names or bad values."""
    cfg = params.resolve(PRESETS, params.notebook_parameters(given))
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

def model_config(cfg: Mapping[str, Any], family: str, variant: str, arch_seed: int, kappa=None,
                 figlu_gain=None) -> MLPConfig:
    """The book's MLP (``family="mlp"``: LayerNorm + GELU) or the plain ReLU MLP (``"relu_mlp"``); FiGLU's ``F`` has
    std ``figlu_gain / √width`` (this chapter's sweep variable, derived from the width here)."""
    kappa = list(cfg["kappa"]) if kappa is None else list(kappa)
    figlu_gain = cfg["figlu_gain"] if figlu_gain is None else figlu_gain
    plain = family == "relu_mlp"
    return MLPConfig(width=cfg["width"], depth=cfg["depth"], variant=variant, n_fix=tuple(cfg["n_fix"]),
                     kappa=tuple(kappa), figlu_std=figlu_gain / math.sqrt(cfg["width"]), arch_seed=arch_seed,
                     activation="relu" if plain else "gelu", norm=not plain)


def _compare(model: nn.Module, other: nn.Module, x: torch.Tensor, y: torch.Tensor) -> tuple[float, float, float]:
    """(max |Δ logits|, accuracy of ``other``, share of changed predictions) by :func:`symlib.theory.transforms.compare`."""
    c = compare(model, other, x, y)
    return c["change"], c["accuracy"], c["changed_predictions"]


def _transform(name: str, model: nn.Module, seed: int) -> nn.Module:
    return permute_hidden(model, seed) if name == "permutation" else rescale_hidden(model, seed)


# --------------------------------------------------------------------------- the pieces of run()

def function_change_rows(cfg, x, y, train_ds) -> list[dict]:
    seed, rows = cfg["seed"], []
    tc = train_config(cfg, optimizer="adamw")
    for family in FAMILIES:
        for variant in VARIANTS:
            arch_seed = derive_seed(seed, NAME, family, variant, "arch")
            model = seeded(lambda: build_model(model_config(cfg, family, variant, arch_seed)),
                           derive_seed(seed, NAME, family, variant, "init"))
            for state in ("random init", "trained"):
                hist = None
                if state == "trained":
                    hist = fit(model, tensor_batches(train_ds.X, train_ds.y, tc), tc,
                               seed=derive_seed(seed, NAME, family, variant, "data"), device="cpu")
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

    def measure(kappa=None, figlu_gain=None, var=variant, tag=""):
        ch = []
        for k in range(cfg["n_trials"]):
            arch = derive_seed(seed, NAME, "sweep", key, var, tag, k)
            model = seeded(lambda: build_model(model_config(cfg, "mlp", var, arch, kappa=kappa, figlu_gain=figlu_gain)),
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
    small_std = build_model(MLPConfig(in_features=5, width=4, depth=3, out_features=2, variant="standard"))
    small_w = build_model(MLPConfig(in_features=8, width=6, depth=3, out_features=3, variant="w_asym", n_fix=(2, 2, 2),
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


def run(cfg: Mapping[str, Any], device: str = "cpu") -> dict[str, Any]:
    """All measurements of the chapter (on the CPU, in float64 where it matters). Returns the JSON-able result."""
    seed = cfg["seed"]
    train_ds = load_mnist("train").subset(cfg["train_size"], seed)
    test_ds = load_mnist("test").subset(cfg["n_eval"], derive_seed(seed, NAME, "eval"))
    x, y = test_ds.X.double(), test_ds.y
    with torch.random.fork_rng(devices=[]):
        return {
            "function_change": function_change_rows(cfg, x, y, train_ds),
            "kappa_sweep": _sweep(cfg, x, y, "w_asym", cfg["kappa_grid"], "kappa"),
            "figlu_sweep": _sweep(cfg, x, y, "sigma_asym", cfg["figlu_grid"], "figlu_gain"),
            "automorphisms": automorphism_rows(seed),
            "equivariances": equivariance_rows(cfg),
            "masks": mask_examples(seed),
            "data": {"train": len(train_ds), "eval": len(test_ds)},
        }




def check(record: Mapping[str, Any]) -> None:
    """Raise on a malformed record: a non-finite function change, or missing measurements."""
    res = record["result"]
    expected = sum(len(("permutation",) if f == "mlp" else ("permutation", "rescaling")) for f in FAMILIES) * \
        len(VARIANTS) * 2
    if len(res["function_change"]) != expected:
        raise ValueError(f"{len(res['function_change'])} function-change rows, expected {expected}")
    if not all(np.isfinite(r["changes"]).all() for r in res["function_change"]):
        raise ValueError("non-finite function change")
    for key in ("kappa_sweep", "figlu_sweep"):
        if len(res[key]["mean"]) != len(res[key]["grid"]) or not np.isfinite(res[key]["mean"]).all():
            raise ValueError(f"{key}: malformed sweep")
