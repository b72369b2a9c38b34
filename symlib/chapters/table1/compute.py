"""Table 1 whole and Figure 3 (Lim et al. 2024): ResNet20 on CIFAR-10 at several widths and the GNN on a graph — the
computation. Row 1 (the MLP on MNIST) is the LMC chapter's result, read by this chapter's report.

For each ResNet20 width multiplier in ``widths`` and for the GNN, and for each trained arm — standard, W-Asym and
σ-Asym — train ``n_pairs`` pairs of networks that share their architecture (within a pair the same masks and ``F``)
and differ in initialisation and data order (:func:`symlib.connectivity.connect`). Along ``θ(α) = (1−α)θ_a + αθ_b``
record the test loss and accuracy; "Git Re-Basin" is each standard pair after aligning ``θ_b`` to ``θ_a``: weight
matching for the ResNets (the paper's Appendix E.1.1), activation matching for the GNN (E.1.2; inner products of the
pre-BatchNorm linear outputs, as the authors' ``perm_gnn``), with weight matching beside it (``git_rebasin_wm``).
The GNN's BatchNorm statistics at every α are re-estimated on the whole graph (``bn = "reset"``, the authors' choice
and the table's number); the naive interpolation of the running statistics is measured too (``bn = "naive"``, a
second :func:`connect` on the same pairs: the member store trains them once). Table 1's number is the midpoint
barrier ``L(θ½) − (L(θ_a)+L(θ_b))/2`` (nats).

Presets. ``paper``: Appendix E's settings. ResNet20 (LayerNorm) at 1×, 2×, 4× and 8× width (Table 1 has 1× and 8×;
2× and 4× are the width trend, beyond the paper), batch 128, AdamW with weight decay 0, learning rate warmed up from
1e-4 to 1e-2 over 20 epochs then held (σ-Asym: to 1e-3 only, the paper's text), 100 epochs at 1× and 50 at 8× (2×:
100 and 4×: 50, our choice), random crop (pad 4) and flip drawn per image, W-Asym κ = 2 (Tables 6-7; the authors'
code uses κ = 3: ``resnet_kappa=3``), on 45,000 training images (the authors' code's 90 % split; the text is silent)
and the 10,000 test images. The warm-up is linear per step (:class:`~symlib.training.TrainConfig`); the authors' code
multiplies the rate by 1.259 per epoch (geometric). W-Asym's ``n_fix`` is Table 6 at 1× and Table 7 (3×) at 8×; at 2×
and 4×, where the paper gives none, it is Table 6 times ``3^(log2(w)/3)`` (geometric between the two tables, our
choice: :func:`resnet_n_fix`). GNN: ogbn-arXiv, 3 layers, hidden 256, full-batch Adam, peak learning rate 1e-3
reached linearly over 25 steps and held (``gnn_warmup_start_lr = 4e-5``, ``gnn_warmup_epochs = 24``: exactly the
code's ``LambdaLR`` ``lr·(s+1)/25`` for steps ``s = 0…24``), 500 epochs; W-Asym fixes 6 entries per row with κ = 0.5,
the paper's text (the authors' code's W-Asym GNN also swaps GELU for FiGLU: ``gnn_w_asym_figlu=True``); σ-Asym's
FiGLU ``F`` has std ``0.01/√256``. 5 pairs, 25 α.

``small`` (2 CPU cores, ≤ 15 minutes from scratch): see :data:`PRESETS` and the comment above it — the training bar
fixed before any barrier was computed, and the pilot numbers that chose the widths, image size, subset and epochs.
The GNN runs on **Cora**, not ogbn-arXiv: ogbn-arXiv (169,343 nodes) is neither available offline here nor trainable
500 epochs × 30 networks on two cores in minutes; Cora (2,708 nodes) is the standard small citation graph, so the
row tests the same claim on a smaller graph, never silently. It trains on Cora's full split (1,208 labelled nodes,
:meth:`symlib.data.Graph.full_split`), not the 140-node public one, on which the paper's dropout-free GNN overfits: the comment above
:data:`PRESETS` tells why, and what the first run on the public split measured. ``ci``: a smoke test.
"""
from __future__ import annotations

import functools
import math
import time
from typing import Any, Mapping

import numpy as np

from ... import params
from ...architectures import GNNConfig, ResNet20Config
from ...architectures.resnet20 import TABLE6_N_FIX
from ...connectivity import IDENTITY, ActivationMatching, Pair, WeightMatching, connect
from ...data import cifar_augment, load_cifar10, load_cora, load_ogbn_arxiv
from ...distributed import session
from ...seeding import derive_seed
from ...training import Member, TrainConfig, tensor_batches

__all__ = ["ARMS", "GNN_DATASETS", "GNN_SPLITS", "NAME", "PRESETS", "check", "configure", "gnn_methods", "resnet_methods",
           "resnet_n_fix", "row_of", "rows"]

NAME = "table1"
#: The trained arms; "git_rebasin" (and the GNN's "git_rebasin_wm") are the standard pairs after alignment.
ARMS = ("standard", "w_asym", "sigma_asym")
GNN_DATASETS = ("ogbn-arxiv", "cora")
#: The GNN's training nodes: the dataset's standard split, or (Cora) every node outside its validation and test sets.
GNN_SPLITS = ("standard", "full")

_PAPER = dict(
    widths=[1, 2, 4, 8], resnet_epochs=[100, 100, 50, 50], resnet_batch_size=128, resnet_lr=1e-2,
    resnet_sigma_lr=1e-3, resnet_warmup_start_lr=1e-4, resnet_warmup_epochs=20.0, resnet_weight_decay=0.0,
    resnet_kappa=2.0, downsample=1, train_size=45000, test_size=10000,
    gnn_data="ogbn-arxiv", gnn_split="standard", gnn_width=256, gnn_depth=3, gnn_epochs=500, gnn_lr=1e-3,
    gnn_warmup_start_lr=4e-5, gnn_warmup_epochs=24.0, gnn_weight_decay=0.0, gnn_n_fix=6, gnn_kappa=0.5,
    gnn_w_asym_figlu=False, gnn_normalize=False,
    n_pairs=5, n_alpha=25, resnet_bar=None, gnn_bar=None)

# The `small` preset (2 CPU cores, <= 15 minutes from scratch). Its training bar was fixed before any barrier was
# computed: every ResNet20 arm's mean endpoint CIFAR-10 test accuracy >= `resnet_bar` at every width, and every GNN
# arm's mean endpoint Cora test accuracy >= `gnn_bar`. The issue proposed 60 % and 75 %; pilot networks (not part of any
# result; one thread each, CPU seconds measured while another job kept both cores busy) showed that neither can be met:
#
# * ResNet20, batch 128, the paper's AdamW recipe (lr 1e-2, warm-up from 1e-4, constant after; σ-Asym to 1e-3),
#   5,000 training images, test accuracy on 1,000 test images, CPU seconds to train one network:
#     8×8 px, 1×, 8 epochs (40k image-passes): standard 34.6 % (14 s), W-Asym 29.6 % (15 s), σ-Asym 38.6 % (18 s);
#     16×16 px, 1×, standard, 8 epochs: 34.8 % (37 s) — no better than 8×8 px at 2.6× the cost;
#     8×8 px, 2×, standard, 8 epochs: 34.7 % (33 s); lr 1e-3 for all: standard 36.1 %, W-Asym 23.3 % (no help);
#     batch 64: standard 33.5 %, W-Asym 26.3 % at 1.35× the cost (no help);
#     8×8 px, 5 epochs (this preset): 1× W-Asym 26.1 % (8.8 s); 2× W-Asym 22.7 % (24 s), 2× σ-Asym 33.9 % (28 s).
#   Every arm trains 10 networks per width (5 pairs), so one width at 8×8 px and 40k image-passes already costs
#   ~470 CPU-s (1×) and ~1,100 (2×); 60 % would need 32×32 px and tens of epochs on ~20k+ images (minutes per
#   network at 32 px: 266 images/s), hours for 30 networks. No honest setting within 15 minutes reaches 60 %, so the
#   bar is lowered to 20 % (twice chance): the networks are trained, weakly, and the chapter says so. Two widths (1×,
#   2×; "2× at small": 4× and 8× do not fit) at 5 epochs fit; one width could train 3× longer (~40 %) but would leave
#   Table 1's wide row and the width trend empty.
# * GNN on Cora (paper's layout, hidden 256, full-batch Adam, 25-step warm-up, no dropout, no weight decay).
#   (1) On the public split (140 labelled nodes), single networks, test accuracy by epoch: standard 61.5 / 74.8 / 73.8 /
#     72.2 / 72.0 % at 10 / 20 / 30 / 40 / 60 epochs; W-Asym 50.7 / 70.5 / 72.6 / 72.5 / 72.1 %; σ-Asym 68.8 / 74.9 /
#     72.0 / 69.7 / 68.4 % (training accuracy 100 % from ~20 epochs). Row-normalised features: 55 % at 60 epochs. Weight
#     decay 5e-4, and with dropout 0.5 too, at 100 epochs: standard 72.9 / 74.6 %, W-Asym 71.8 / 73.8 %. The bar was set
#     to 70 % and the preset to 30 epochs on the public split.
#   (2) First run of that preset (2026-11-30, the chapter's own seeds): the ResNet20 arms met their bar (mean endpoint
#     test accuracy 29.7 / 27.1 / 31.6 % at 1×, 28.4 / 26.1 / 35.5 % at 2×: standard / W-Asym / σ-Asym), the GNN did
#     not: standard 66.5 % (per network 59-74 %), W-Asym 71.1 %, σ-Asym 71.2 %. check() stopped the run; its barriers
#     were never displayed or read, and the record was discarded.
#   (3) Ten-network pilots per arm (pilot seeds), public split: the lowest arm's mean test accuracy 37.0 / 53.7 / 63.3 /
#     67.9 / 70.0 / 70.0 / 69.1 % at 10 / 15 / 20 / 25 / 30 / 35 / 40 epochs; with Adam's L2 weight decay 0 / 5e-4 /
#     5e-3, the lowest arm's mean *validation* accuracy peaks at 66.7 / 66.8 / 69.0 % (40-60 epochs). No recipe of the
#     paper's dropout-free GNN clears 70 % reliably with 140 labels: it overfits them within ~20 epochs.
#   (4) ogbn-arXiv, the paper's graph, trains on 54 % of its nodes; the public split trains on 5 % of Cora's, a few-label
#     regime the paper never ran. So the preset trains on Cora's **full split** (Chen et al. 2018; PyG's
#     ``split="full"``: every node outside the 500 validation and 1,000 test nodes, 1,208 = 45 % of the graph) with the
#     paper's recipe, and the bar returns to the 75 %, both fixed before the pilot that chose the epochs: ten
#     networks per arm, the lowest arm's mean validation accuracy 83.2 / 84.9 / 83.8 / 83.1 / 82.5 % at 20 / 30 / 40 /
#     50 / 60 epochs (standard / W-Asym / σ-Asym at 30: 86.0 / 86.6 / 84.9 %); the rule fixed before it ran (the
#     highest lowest-arm mean, then the fewest epochs within 0.5 points) chose 30 epochs. One GNN training step on Cora
#     costs ~0.18 CPU-s, 60 ms of it the mean aggregation of the 1,433-d input features.
# Cost of this preset, estimated from the pilots' CPU seconds: ResNet training ~990 CPU-s on two Ray workers (~8 min),
# ResNet curves and matching ~2 min, GNN training ~1.5 min and its curves (re-estimated and naive BatchNorm) ~1 min:
# ~13 min on two idle cores (the chapter's setup text shows the measured wall time).
PRESETS: dict[str, dict[str, Any]] = {
    "paper": _PAPER,
    "small": {**_PAPER, "widths": [1, 2], "resnet_epochs": [5, 5], "resnet_warmup_epochs": 1.25, "downsample": 4,
              "train_size": 5000, "test_size": 1000, "gnn_data": "cora", "gnn_split": "full", "gnn_epochs": 30,
              "n_alpha": 11, "resnet_bar": 0.20, "gnn_bar": 0.75},
    "ci": {**_PAPER, "widths": [1, 2], "resnet_epochs": [1, 1], "resnet_warmup_epochs": 0.5, "downsample": 4,
           "train_size": 256, "test_size": 256, "gnn_data": "cora", "gnn_width": 32, "gnn_epochs": 5, "n_pairs": 2,
           "n_alpha": 3, "resnet_bar": None, "gnn_bar": None},
}


def configure(given: Mapping[str, Any]) -> dict[str, Any]:
    """Validated config from notebook parameters (``None`` = preset); raises :class:`~symlib.params.ParameterError`.

    ``widths`` must be distinct positive multipliers in increasing order (Table 1's rows are the first and the last),
    with one ``resnet_epochs`` entry each; if ``widths`` is overridden and ``resnet_epochs`` is not, every width
    trains the preset's first epoch count."""
    given = params.notebook_parameters(given)
    cfg = params.resolve(PRESETS, given)
    if given.get("widths") is not None and given.get("resnet_epochs") is None:
        cfg["resnet_epochs"] = [PRESETS[cfg["scale"]]["resnet_epochs"][0]] * len(cfg["widths"])
    w = cfg["widths"]
    if min(w) < 1 or list(w) != sorted(set(w)):
        raise params.ParameterError(f"widths must be distinct positive multipliers in increasing order, got {w}")
    if len(cfg["resnet_epochs"]) != len(w) or min(cfg["resnet_epochs"]) < 1:
        raise params.ParameterError(f"resnet_epochs needs one positive count per width {w}, got {cfg['resnet_epochs']}")
    if cfg["n_alpha"] < 3 or cfg["n_alpha"] % 2 == 0:
        raise params.ParameterError(f"n_alpha must be odd and >= 3 so that α = 0.5 is on the grid, got {cfg['n_alpha']}")
    if cfg["n_pairs"] < 2:
        raise params.ParameterError(f"n_pairs must be >= 2 to report a standard deviation, got {cfg['n_pairs']}")
    if cfg["downsample"] < 1 or 32 % cfg["downsample"] or 32 // cfg["downsample"] < 4:
        raise params.ParameterError(f"downsample must divide 32 and leave images of at least 4×4, got {cfg['downsample']}")
    if cfg["gnn_data"] not in GNN_DATASETS:
        raise params.ParameterError(f"gnn_data must be one of {', '.join(GNN_DATASETS)}, got {cfg['gnn_data']!r}")
    if cfg["gnn_split"] not in GNN_SPLITS:
        raise params.ParameterError(f"gnn_split must be one of {', '.join(GNN_SPLITS)}, got {cfg['gnn_split']!r}")
    if cfg["gnn_split"] == "full" and cfg["gnn_data"] != "cora":
        raise params.ParameterError(f"gnn_split='full' is defined for Cora only; {cfg['gnn_data']} trains on its "
                                    f"standard split (gnn_split='standard')")
    for bar in ("resnet_bar", "gnn_bar"):
        if cfg[bar] is not None and not 0 < cfg[bar] < 1:
            raise params.ParameterError(f"{bar} must be a test accuracy in (0, 1) or None, got {cfg[bar]}")
    return cfg


# ------------------------------------------------------------------------------------------------ the rows

def rows(cfg: Mapping[str, Any]) -> list[str]:
    """Every row of the record: ``resnet20_<w>x`` per width, then ``gnn``."""
    return [f"resnet20_{w}x" for w in cfg["widths"]] + ["gnn"]


def row_of(width: int | None) -> str:
    return "gnn" if width is None else f"resnet20_{width}x"


def resnet_methods() -> list[str]:
    """The curves of every ResNet row, in Table 1's column order."""
    return ["standard", "git_rebasin", "sigma_asym", "w_asym"]


def gnn_methods() -> list[str]:
    """The curves of the GNN row: Table 1's four, then weight matching beside the paper's activation matching."""
    return ["standard", "git_rebasin", "sigma_asym", "w_asym", "git_rebasin_wm"]


def resnet_n_fix(width: int) -> tuple[int, ...]:
    """W-Asym's fixed entries per output channel at width multiplier ``width``: Table 6 times ``3^(log2(w)/3)``,
    the stem capped at its 27 entries. That is Table 6 at 1× and Table 7 (three times Table 6) at 8×, exactly; the
    paper gives no table for 2× and 4×, where this geometric interpolation is our choice."""
    mul = 3.0 ** (math.log2(width) / 3)
    n = [round(k * mul) for k in TABLE6_N_FIX]
    n[0] = min(n[0], 27)
    return tuple(n)


def _resnet_pairs(cfg: Mapping[str, Any], width: int, epochs: int, arm: str) -> list[Pair]:
    seed, row = cfg["seed"], row_of(width)
    model = dict(width=width, variant=arm, kappa=cfg["resnet_kappa"],
                 n_fix=resnet_n_fix(width) if arm == "w_asym" else None)
    train = TrainConfig(epochs=epochs, batch_size=cfg["resnet_batch_size"], optimizer="adamw", schedule="constant",
                        lr=cfg["resnet_sigma_lr"] if arm == "sigma_asym" else cfg["resnet_lr"],
                        warmup_start_lr=cfg["resnet_warmup_start_lr"], warmup_epochs=cfg["resnet_warmup_epochs"],
                        weight_decay=cfg["resnet_weight_decay"])

    def member(k: int, m: int, arch: int) -> Member:
        return Member(model=ResNet20Config(**model, arch_seed=arch), train=train,
                      init_seed=derive_seed(seed, NAME, row, "init", arm, k, m),
                      data_seed=derive_seed(seed, NAME, row, "data_order", arm, k, m))

    out = []
    for k in range(cfg["n_pairs"]):
        arch = derive_seed(seed, NAME, row, "arch", arm, k)
        out.append(Pair(member(k, 0, arch), member(k, 1, arch), seed=derive_seed(seed, NAME, row, "match", k)))
    return out


def _gnn_pairs(cfg: Mapping[str, Any], arm: str, in_features: int, classes: int) -> list[Pair]:
    seed = cfg["seed"]
    train = TrainConfig(epochs=cfg["gnn_epochs"], batch_size=1, optimizer="adam", schedule="constant",
                        lr=cfg["gnn_lr"], warmup_start_lr=cfg["gnn_warmup_start_lr"],
                        warmup_epochs=cfg["gnn_warmup_epochs"], weight_decay=cfg["gnn_weight_decay"])

    def member(k: int, m: int, arch: int) -> Member:
        model = GNNConfig(in_features=in_features, width=cfg["gnn_width"], depth=cfg["gnn_depth"],
                          out_features=classes, variant=arm, n_fix=cfg["gnn_n_fix"], kappa=cfg["gnn_kappa"],
                          w_asym_figlu=cfg["gnn_w_asym_figlu"], arch_seed=arch)
        return Member(model=model, train=train, init_seed=derive_seed(seed, NAME, "gnn", "init", arm, k, m),
                      data_seed=derive_seed(seed, NAME, "gnn", "data_order", arm, k, m))

    out = []
    for k in range(cfg["n_pairs"]):
        arch = derive_seed(seed, NAME, "gnn", "arch", arm, k)
        out.append(Pair(member(k, 0, arch), member(k, 1, arch), seed=derive_seed(seed, NAME, "gnn", "match", k)))
    return out


def _collect(out: dict, row: str, width: int | None, arm: str, bn: str, models: list, curves: list) -> None:
    if bn != "naive":  # the naive call measures the same members again: record them once
        models += [{"row": row, "width": width, "arm": arm, "pair": m["pair"], "member": m["member"],
                    "test_loss": m["loss"], "test_acc": m["acc"], "train_time_s": m["train_time_s"],
                    "history": m["history"]} for m in out["members"]]
    curves += [{"row": row, "width": width, "bn": bn, **c} for c in out["curves"]]


def run(cfg: Mapping[str, Any], device: str = "auto", progress: bool = True) -> dict[str, Any]:
    """Train every pair of every row and measure every curve. Returns the JSON-able result: ``models`` (one entry per
    trained network: row, width, arm, pair, member, test loss and accuracy, training history and time), ``curves``
    (one per row, method, pair and BatchNorm treatment ``bn``: ``"none"`` for the ResNets, ``"reset"`` / ``"naive"``
    for the GNN), ``data`` (sizes) and ``timing`` (wall seconds per row)."""
    seed, alphas = cfg["seed"], np.linspace(0, 1, cfg["n_alpha"])
    models, curves, timing = [], [], {}
    f = cfg["downsample"]
    train = load_cifar10("train").subset(cfg["train_size"], derive_seed(seed, NAME, "train subset")).downsample(f)
    test = load_cifar10("test").subset(cfg["test_size"], derive_seed(seed, NAME, "test subset")).downsample(f)
    augment = functools.partial(cifar_augment, translate=max(1, 4 // f), cutout=0)  # the paper's pad-4 crop, scaled
    source = tensor_batches(train.X, train.y, TrainConfig(batch_size=cfg["resnet_batch_size"]), augment=augment)
    with session():  # one Ray instance for every call (when the work needs Ray at all)
        for width, epochs in zip(cfg["widths"], cfg["resnet_epochs"]):
            t0, row = time.perf_counter(), row_of(width)
            for arm in ARMS:
                aligners = {"standard": IDENTITY, "git_rebasin": WeightMatching()} if arm == "standard" \
                    else {arm: IDENTITY}
                out = connect(_resnet_pairs(cfg, width, epochs, arm), source, (test.X, test.y), alphas, aligners,
                              device=device, progress=progress, desc=f"table1: ResNet20 {width}x {arm}")
                _collect(out, row, width, arm, "none", models, curves)
            timing[row] = time.perf_counter() - t0

        t0 = time.perf_counter()
        graph = load_cora(normalize=cfg["gnn_normalize"]) if cfg["gnn_data"] == "cora" else load_ogbn_arxiv()
        if cfg["gnn_split"] == "full":
            graph = graph.full_split()
        g_train, g_test = graph.source("train"), graph.source("test")
        for arm in ARMS:
            aligners = {"standard": IDENTITY, "git_rebasin": ActivationMatching(similarity="inner_product"),
                        "git_rebasin_wm": WeightMatching()} if arm == "standard" else {arm: IDENTITY}
            pairs = _gnn_pairs(cfg, arm, graph.x.shape[1], graph.num_classes)
            for bn, reset in (("reset", g_train), ("naive", None)):  # the second call finds the members stored
                out = connect(pairs, g_train, g_test, alphas, aligners, align_data=g_train, reset_data=reset,
                              device=device, progress=progress, desc=f"table1: GNN {arm} ({bn} BatchNorm)")
                _collect(out, "gnn", None, arm, bn, models, curves)
        timing["gnn"] = time.perf_counter() - t0
    return {"models": models, "curves": curves, "timing": timing,
            "data": {"resnet_train": len(train), "resnet_test": len(test), "image_size": int(train.X.shape[-1]),
                     "gnn_dataset": cfg["gnn_data"], "gnn_nodes": int(graph.x.shape[0]),
                     "gnn_edges": int(graph.edge_index.shape[1]), "gnn_features": int(graph.x.shape[1]),
                     "gnn_classes": graph.num_classes, **{f"gnn_{s}": int(graph.mask(s).sum())
                                                          for s in ("train", "val", "test")}}}


# ------------------------------------------------------------------------------------------------ checks

def _arm(method: str) -> str:
    return "standard" if method.startswith("git_rebasin") else method


def check(record: Mapping[str, Any], atol: float = 1e-4) -> None:
    """Raise on a malformed record — non-finite losses, a wrong α grid or pair count, curve endpoints that differ
    from the networks' own test losses (ResNets, and the GNN's naive curves: an interpolation or permutation bug), GNN
    reset curves whose endpoints differ between methods (the same two networks, a permutation changes no function) —
    or on endpoints below the preset's training-quality bars (``resnet_bar``: every ResNet arm's mean endpoint test
    accuracy at every width; ``gnn_bar``: every GNN arm's)."""
    cfg, res = record["manifest"]["config"], record["result"]
    models = {(m["row"], m["arm"], m["pair"], m["member"]): m for m in res["models"]}
    by_pair: dict[tuple, dict[str, dict]] = {}
    for c in res["curves"]:
        where = f"{c['row']} {c['method']} ({c['bn']}) pair {c['pair']}"
        if len(c["alpha"]) != cfg["n_alpha"] or not np.isclose(c["alpha"][0], 0) or not np.isclose(c["alpha"][-1], 1):
            raise ValueError(f"{where}: α grid is not {cfg['n_alpha']} points from 0 to 1")
        if not np.all(np.isfinite(c["loss"])):
            raise ValueError(f"{where}: non-finite loss on the interpolation curve")
        if c["bn"] == "reset":
            by_pair.setdefault((c["row"], _arm(c["method"]), c["pair"]), {})[c["method"]] = c
            continue
        for end, member in ((0, 0), (-1, 1)):
            expected = models[(c["row"], _arm(c["method"]), c["pair"], member)]["test_loss"]
            if abs(c["loss"][end] - expected) > atol * max(1.0, abs(expected)):
                raise ValueError(f"{where}: curve endpoint {c['loss'][end]:.6f} ≠ network {member}'s test loss "
                                 f"{expected:.6f} (a permutation or interpolation bug)")
    for key, group in by_pair.items():
        first = next(iter(group.values()))
        for method, c in group.items():
            for end in (0, -1):
                if abs(c["loss"][end] - first["loss"][end]) > atol * max(1.0, abs(first["loss"][end])):
                    raise ValueError(f"{key}: {method}'s re-estimated endpoint {c['loss'][end]:.6f} ≠ "
                                     f"{first['method']}'s {first['loss'][end]:.6f} (a permutation bug)")
    expected = [(r, m, "none") for r in rows(cfg)[:-1] for m in resnet_methods()]
    expected += [("gnn", m, bn) for m in gnn_methods() for bn in ("reset", "naive")]
    for row, method, bn in expected:
        n = sum(c["row"] == row and c["method"] == method and c["bn"] == bn for c in res["curves"])
        if n != cfg["n_pairs"]:
            raise ValueError(f"{row} {method} ({bn}): {n} curves, expected n_pairs={cfg['n_pairs']}")
    for row in rows(cfg):
        bar = cfg["gnn_bar"] if row == "gnn" else cfg["resnet_bar"]
        if bar is None:
            continue
        for arm in ARMS:
            acc = np.mean([m["test_acc"] for m in res["models"] if m["row"] == row and m["arm"] == arm])
            if acc < bar:
                raise ValueError(f"training-quality bar not met: {row} {arm} endpoints reach {100 * acc:.2f} % mean "
                                 f"test accuracy < {100 * bar:.0f} % (the preset's bar); the barriers of undertrained "
                                 f"networks are not the paper's claim")
