"""Chapter *Theory-Init: symmetry broken at initialisation* (seed 000; only its abstract exists): the computation.

Stored in one JSON-able result:

1. ``mlp`` — per task (:mod:`.tasks`) and arm (``theory``: Theory-Init with knot rows placed from the law;
   ``arbitrary``: Theory-Init with one frozen He-distributed first layer; ``he``: He initialisation), ``n_pairs``
   pairs of ReLU MLPs trained from different seeds (init and data order) with MSE: per member the test MSE and R²
   on the interpolation and extrapolation splits; per pair the distance per parameter ``‖θ_a − θ_b‖₂ / √P`` at
   initialisation and after training, and Git Re-Basin weight matching of ``θ_b`` onto ``θ_a`` from ``n_restarts``
   random starts (the verdict's matching) and from the identity (Algorithm 1; reported, never judged on), with the
   identity fraction per hidden layer, the objective's gain over the identity and the distance after alignment;
   ``best_*`` is the better of the two, what Git Re-Basin with all these starts returns.
2. ``mlp_controls`` — the same matching between *unrelated* networks: member a of He pair ``k`` on task ``i``
   against member b of He pair ``k`` on task ``i + 1``, and the same for the arbitrary-row arm (whose rows are the
   same on every task).
3. ``cnn`` — the small CNN (:class:`~symlib.architectures.SmallCNN`) on MNIST and CIFAR-10, Theory-Init (DCT filters)
   against He, with the same distances and matching, and the unrelated control: He on MNIST against He on
   CIFAR-10 in luminance (one channel, so the shapes agree).
4. ``theory`` — the formal statements of :mod:`symlib.theory.theory_init` checked on random inputs: the worst-case
   L² bound (and where it is tight), the moment identities against Monte Carlo, the Jacobian's singular values
   against ``Δ``'s scale and the depth.

Presets. ``paper``: what we would run with a GPU (wider, more pairs, more data, longer). ``small`` (2 CPU cores,
≤ 10 min). ``ci``: a smoke test. **Training-quality bar of ``small``, fixed before any claim was computed:** every
(task, arm)'s mean interpolation test R² ≥ ``r2_bar`` = 0.98, and every (dataset, arm)'s mean CNN test accuracy ≥
``cnn_acc_bar`` (MNIST 0.88, CIFAR-10 0.37); :func:`check` enforces it. Pilot runs that looked only at these
numbers (no distance, matching or claim was computed), with seeds disjoint from the chapter's (``seed = 12345``,
2 pairs per MLP arm, 1 pair per CNN arm), chose the preset:

* MLP width 64, depth 4, Adam lr 3e-3, 512 training points. Batch 32, 100 epochs: mean R² ≥ 0.9976 except
  arbitrary rows on Lennard-Jones, 0.9797 (min 0.928): below the bar. Batch 64, **200 epochs** (the preset): mean R²
  theory / arbitrary / He = pendulum 0.9999 / 0.9999 / 0.9999, Planck 0.9999 / 0.9990 / 0.9967, Lennard-Jones
  0.9990 / 0.9973 / 0.9989, resonance 0.9993 / 0.9999 / 0.9995 (smallest network 0.988).
* CNN depth 3, Adam lr 3e-3, batch 64 (test accuracy theory / He). 16 channels, 4,000 images, 4 epochs: MNIST
  0.711 / 0.804, CIFAR-10 0.308 / 0.331; 6 epochs: 0.787 / 0.879 and 0.328 / 0.379; 24 channels, 6,000 images,
  10 epochs: 0.938 / 0.961 and 0.458 / 0.479 (~4 times the CPU time); **16 channels, 6,000 images, 10 epochs** (the
  preset): MNIST 0.915 / 0.938, CIFAR-10 0.406 / 0.439. The bars sit about 3 points below the weaker arm.
"""
from __future__ import annotations

import math
import time
from typing import Any, Mapping

import numpy as np
import torch
from tqdm import tqdm

from ... import params
from ...architectures import MLPConfig, SmallCNNConfig, build_model
from ...data import load_cifar10, load_mnist
from ...evaluation import evaluate_states
from ...init import arbitrary_rows, curvature_knots, knot_rows
from ...matching import weight_matching
from ...objectives import MeanSquaredError
from ...permutation import apply_permutation
from ...seeding import derive_seed, numpy_rng
from ...theory import theory_init as th
from ...training import Member, tensor_batches, train_config, train_members
from .tasks import TASKS

__all__ = ["ARMS", "NAME", "PRESETS", "check", "configure", "mlp_config"]

NAME = "theory_init"
ARMS = ("theory", "arbitrary", "he")
CNN_ARMS = ("theory", "he")
DATASETS = ("MNIST", "CIFAR-10")

_PAPER = dict(
    tasks=list(TASKS), width=256, depth=5, delta_scale=0.1, out_scale=0.1, n_pairs=10, n_train=4096, n_test=2048,
    epochs=600, batch_size=64, lr=1e-3, n_restarts=20, max_iter=100, r2_bar=0.99,
    cnn_datasets=list(DATASETS), cnn_channels=24, cnn_depth=4, cnn_train_size=50000, cnn_test_size=10000,
    cnn_epochs=20, cnn_batch_size=128, cnn_lr=1e-3, cnn_delta_scale=0.1, cnn_out_scale=0.1, cnn_acc_bar=[0.98, 0.55],
    jac_width=256, jac_depths=[1, 2, 4, 8, 16], jac_scales=[0.01, 0.03, 0.1, 0.3], jac_draws=50, jac_inputs=64,
    mc_draws=20000, tail_t=2.0)
PRESETS: dict[str, dict[str, Any]] = {
    "paper": _PAPER,
    # small: chosen by the pilots in the module docstring (training quality only, seed 12345)
    "small": {**_PAPER, "width": 64, "depth": 4, "n_pairs": 5, "n_train": 512, "n_test": 512, "epochs": 200,
              "batch_size": 64, "lr": 3e-3, "n_restarts": 8, "r2_bar": 0.98,
              "cnn_channels": 16, "cnn_depth": 3, "cnn_train_size": 6000, "cnn_test_size": 2000, "cnn_epochs": 10,
              "cnn_batch_size": 64, "cnn_lr": 3e-3, "cnn_acc_bar": [0.88, 0.37],
              "jac_width": 64, "jac_depths": [1, 2, 4, 8], "jac_draws": 20, "jac_inputs": 32, "mc_draws": 4000},
    "ci": {**_PAPER, "tasks": ["pendulum", "lennard_jones"], "width": 16, "depth": 3, "n_pairs": 2, "n_train": 128,
           "n_test": 128, "epochs": 20, "batch_size": 32, "lr": 3e-3, "n_restarts": 2, "r2_bar": None,
           "cnn_datasets": ["MNIST"], "cnn_channels": 8, "cnn_depth": 2, "cnn_train_size": 300, "cnn_test_size": 200,
           "cnn_epochs": 1, "cnn_batch_size": 50, "cnn_lr": 3e-3, "cnn_acc_bar": None,
           "jac_width": 16, "jac_depths": [1, 2], "jac_scales": [0.03, 0.3], "jac_draws": 3, "jac_inputs": 8,
           "mc_draws": 500},
}


def configure(given: Mapping[str, Any]) -> dict[str, Any]:
    """Validated config from notebook parameters (``None`` = preset); raises :class:`~symlib.params.ParameterError`."""
    cfg = params.resolve(PRESETS, params.notebook_parameters(given))
    bad = sorted(set(cfg["tasks"]) - set(TASKS))
    if bad or len(set(cfg["tasks"])) != len(cfg["tasks"]):
        raise params.ParameterError(f"tasks must be distinct names from {list(TASKS)}, got {cfg['tasks']}")
    if len(cfg["tasks"]) < 2:
        raise params.ParameterError("tasks needs at least 2 tasks (the unrelated-network control pairs networks of "
                                    f"different tasks), got {cfg['tasks']}")
    if cfg["n_pairs"] < 2:
        raise params.ParameterError(f"n_pairs must be >= 2 (5 for an exact p < 0.05), got {cfg['n_pairs']}")
    if cfg["depth"] < 3:
        raise params.ParameterError(f"depth must be >= 3 linear layers (at least one square middle layer), got {cfg['depth']}")
    if cfg["width"] < 2 or cfg["n_restarts"] < 1 or cfg["epochs"] < 1:
        raise params.ParameterError("width must be >= 2, n_restarts and epochs >= 1")
    for key in ("delta_scale", "cnn_delta_scale"):
        if not 0 <= cfg[key] < 0.5:
            raise params.ParameterError(f"{key} must be in [0, 0.5) (Δ's spectral norm ≈ 2·{key}), got {cfg[key]}")
    for key in ("out_scale", "cnn_out_scale"):
        if cfg[key] <= 0:
            raise params.ParameterError(f"{key} must be positive, got {cfg[key]}")
    bad = sorted(set(cfg["cnn_datasets"]) - set(DATASETS))
    if bad:
        raise params.ParameterError(f"cnn_datasets must be among {list(DATASETS)}, got {cfg['cnn_datasets']}")
    if cfg["cnn_acc_bar"] is not None and len(cfg["cnn_acc_bar"]) != len(DATASETS):
        raise params.ParameterError(f"cnn_acc_bar needs one accuracy per dataset of {list(DATASETS)}")
    if cfg["cnn_depth"] < 2 or cfg["cnn_channels"] > 25:
        raise params.ParameterError("cnn_depth must be >= 2 (a square middle conv) and cnn_channels <= 25 (distinct "
                                    f"5×5 DCT filters), got {cfg['cnn_depth']}, {cfg['cnn_channels']}")
    if min(cfg["jac_depths"]) < 1 or min(cfg["jac_scales"]) <= 0 or cfg["jac_draws"] < 1 or cfg["mc_draws"] < 100:
        raise params.ParameterError("jac_depths >= 1, jac_scales > 0, jac_draws >= 1 and mc_draws >= 100 needed")
    return cfg


# ------------------------------------------------------------------------------------------------- networks

def rows_for(cfg: Mapping[str, Any], task: str, arm: str) -> tuple[tuple[float, ...], ...]:
    """The first-layer rows of an arm (``()`` for He): knots of the task's law (``theory``) or the frozen draw
    shared by every task (``arbitrary``)."""
    if arm == "theory":
        t = TASKS[task]
        return tuple(map(tuple, knot_rows(curvature_knots(t.law_u, -1.0, 1.0, cfg["width"]))))
    if arm == "arbitrary":
        return tuple(map(tuple, arbitrary_rows(cfg["width"], 1, seed=derive_seed(cfg["seed"], NAME, "arbitrary rows"))))
    return ()


def mlp_config(cfg: Mapping[str, Any], task: str, arm: str) -> MLPConfig:
    """The MLP of one (task, arm): ``1 → width → … → 1``, ReLU, no norm, with bias; Δ's std ``delta_scale/√width``
    (so ``‖Δ‖₂ ≈ 2·delta_scale``), the output layer's ``out_scale/√width``."""
    w = cfg["width"]
    common = dict(in_features=1, width=w, depth=cfg["depth"], out_features=1, activation="relu", norm=False)
    if arm == "he":
        return MLPConfig(**common, init="he")
    return MLPConfig(**common, init="theory", first_rows=rows_for(cfg, task, arm),
                     delta_std=cfg["delta_scale"] / math.sqrt(w), out_std=cfg["out_scale"] / math.sqrt(w))


def cnn_config(cfg: Mapping[str, Any], channels_in: int, arm: str) -> SmallCNNConfig:
    c = cfg["cnn_channels"]
    if arm == "he":
        return SmallCNNConfig(in_channels=channels_in, channels=c, depth=cfg["cnn_depth"], init="he")
    return SmallCNNConfig(in_channels=channels_in, channels=c, depth=cfg["cnn_depth"], init="theory",
                          delta_std=cfg["cnn_delta_scale"] / math.sqrt(9 * c), out_std=cfg["cnn_out_scale"] / math.sqrt(c))


def _members(cfg, model, tc, where: str) -> list[Member]:
    """``2 · n_pairs`` members: pair ``k``, member ``m`` at index ``2k + m``; seeds shared by the arms of one
    setting (a paired design: pair ``k`` of every arm has the same init and data-order seeds)."""
    s = cfg["seed"]
    return [Member(model, tc, init_seed=derive_seed(s, NAME, "init", where, k, m),
                   data_seed=derive_seed(s, NAME, "data_order", where, k, m))
            for k in range(cfg["n_pairs"]) for m in (0, 1)]


# ------------------------------------------------------------------------------------------------- measurements

def _flat(state: Mapping[str, torch.Tensor], names) -> torch.Tensor:
    return torch.cat([state[n].detach().double().reshape(-1) for n in names])


def distance(state_a, state_b, names) -> float:
    """``‖θ_a − θ_b‖₂ / √P`` over the parameters ``names`` (the root-mean-square difference per parameter)."""
    a, b = _flat(state_a, names), _flat(state_b, names)
    return float(torch.linalg.vector_norm(a - b) / math.sqrt(a.numel()))


def match(template, state_a, state_b, seed: int, n_restarts: int, max_iter: int) -> dict[str, Any]:
    """Weight matching of ``state_b`` onto ``state_a`` from the identity (``identity_start_*``, Algorithm 1) and from
    ``n_restarts`` random starts (``random_*``, the best of them); ``best_*`` is what Git Re-Basin with all these
    starts returns: the higher objective of the two (the identity start on a tie). Per run: the identity fraction
    pooled and per permutation, the relative gain over the identity ``(obj − obj_id)/|obj_id|``, the distance per
    parameter after alignment; ``distance``: before alignment."""
    spec = template.permutation_spec()
    names = list(spec.axes)
    out: dict[str, Any] = {"distance": distance(state_a, state_b, names)}
    runs = {}
    for key, init, restarts in (("identity_start", "identity", 1), ("random", "random", n_restarts)):
        m = runs[key] = weight_matching(spec, state_a, state_b, seed=seed, init=init, n_restarts=restarts,
                                        max_iter=max_iter)
        out[f"{key}_restart_objectives"] = m.restart_objectives
    runs["best"] = runs["random"] if runs["random"].objective > runs["identity_start"].objective else runs["identity_start"]
    for key, m in runs.items():
        out[f"{key}_identity_fraction"] = m.identity_fraction
        out[f"{key}_layer_identity"] = {p: float((v == torch.arange(len(v))).double().mean()) for p, v in m.perms.items()}
        out[f"{key}_relative_gain"] = m.relative_gain
        out[f"{key}_aligned_distance"] = distance(state_a, apply_permutation(spec, m.perms, state_b), names)
    out["identity_objective"] = runs["best"].identity_objective
    return out


def _pairs(template, trained, cfg, where: str) -> list[dict]:
    names = list(template.permutation_spec().axes)
    out = []
    for k in range(cfg["n_pairs"]):
        a, b = trained[2 * k], trained[2 * k + 1]
        m = match(template, a["final"], b["final"], derive_seed(cfg["seed"], NAME, "match", where, k),
                  cfg["n_restarts"], cfg["max_iter"])
        out.append({"pair": k, "init_distance": distance(a["init"], b["init"], names), **m})
    return out


def _train(members, X, y, tc, objective, device, progress, desc):
    trained = train_members(members, tensor_batches(X, y, tc), objective, device=device, progress=progress, desc=desc)
    bad = [j for j, r in enumerate(trained) if r["final"] is None]
    if bad:
        raise RuntimeError(f"{desc}: member(s) {bad} diverged (non-finite loss); lower the learning rate")
    return trained


def _mlp(cfg, device: str, progress: bool) -> tuple[list[dict], dict]:
    tc = train_config(cfg, optimizer="adam")
    mse = MeanSquaredError()
    settings, finals = [], {}
    for task in cfg["tasks"]:
        data = TASKS[task].data(cfg["n_train"], cfg["n_test"], derive_seed(cfg["seed"], NAME, "data", task))
        for arm in ARMS:
            model = mlp_config(cfg, task, arm)
            template = build_model(model)
            trained = _train(_members(cfg, model, tc, task), *data["train"], tc, mse, device, progress,
                             f"theory_init: {task}, {arm} networks")
            states = [r["final"] for r in trained]
            finals[(task, arm)] = (template, trained)
            scores = {split: evaluate_states(template, states, data[split], objective=mse, metrics=("r2",),
                                             device=device) for split in ("interpolation", "extrapolation")}
            members = [{"pair": j // 2, "member": j % 2, "final_train_loss": trained[j]["history"]["train_loss"][-1],
                        **{f"{split}_{k}": v[j] for split, s in scores.items() for k, v in s.items()}}
                       for j in range(len(states))]
            settings.append({"task": task, "arm": arm, "members": members,
                             "pairs": _pairs(template, trained, cfg, f"{task}/{arm}")})
    controls = []
    tasks = cfg["tasks"]
    for arm in ("he", "arbitrary"):
        for i, task in enumerate(tasks):
            other = tasks[(i + 1) % len(tasks)]
            template, ta = finals[(task, arm)]
            _, tb = finals[(other, arm)]
            for k in range(cfg["n_pairs"]):
                m = match(template, ta[2 * k]["final"], tb[2 * k + 1]["final"],
                          derive_seed(cfg["seed"], NAME, "control", arm, task, k), cfg["n_restarts"], cfg["max_iter"])
                controls.append({"arm": arm, "task_a": task, "task_b": other, "pair": k, **m})
    return settings, {"pairs": controls}


def _images(name: str, split: str, n: int, seed: int, gray: bool = False):
    ds = (load_mnist(split) if name == "MNIST" else load_cifar10(split)).subset(n, derive_seed(seed, NAME, name, split))
    X = ds.X
    if gray:  # luminance (ITU-R 601 weights on the normalised channels), one channel
        X = (0.299 * X[:, 0] + 0.587 * X[:, 1] + 0.114 * X[:, 2]).unsqueeze(1)
    return X, ds.y


def _cnn(cfg, device: str, progress: bool) -> dict:
    tc = train_config(cfg, prefix="cnn_", optimizer="adam")
    settings, he_mnist = [], None
    for name in cfg["cnn_datasets"]:
        train = _images(name, "train", cfg["cnn_train_size"], cfg["seed"])
        test = _images(name, "test", cfg["cnn_test_size"], cfg["seed"])
        for arm in CNN_ARMS:
            model = cnn_config(cfg, train[0].shape[1], arm)
            template = build_model(model)
            trained = _train(_members(cfg, model, tc, f"cnn/{name}"), *train, tc, None, device, progress,
                             f"theory_init: CNN {name}, {arm} networks")
            res = evaluate_states(template, [r["final"] for r in trained], test, metrics=("acc",), device=device)
            members = [{"pair": j // 2, "member": j % 2, "test_loss": res["loss"][j], "test_acc": res["acc"][j]}
                       for j in range(len(trained))]
            settings.append({"dataset": name, "arm": arm, "members": members,
                             "pairs": _pairs(template, trained, cfg, f"cnn/{name}/{arm}")})
            if name == "MNIST" and arm == "he":
                he_mnist = (template, trained)
    controls = []
    if he_mnist is not None:  # unrelated: He on MNIST against He on CIFAR-10 luminance
        train = _images("CIFAR-10", "train", cfg["cnn_train_size"], cfg["seed"], gray=True)
        model = cnn_config(cfg, 1, "he")
        trained = _train(_members(cfg, model, tc, "cnn/CIFAR-10 luminance"), *train, tc, None, device, progress,
                         "theory_init: CNN CIFAR-10 luminance, he networks (control)")
        template, ta = he_mnist
        for k in range(cfg["n_pairs"]):
            m = match(template, ta[2 * k]["final"], trained[2 * k + 1]["final"],
                      derive_seed(cfg["seed"], NAME, "control", "cnn", k), cfg["n_restarts"], cfg["max_iter"])
            controls.append({"arm": "he", "task_a": "MNIST", "task_b": "CIFAR-10 luminance", "pair": k, **m})
    return {"settings": settings, "controls": controls}


def _theory(cfg, progress: bool) -> dict:
    """The statements of :mod:`symlib.theory.theory_init`, checked on random inputs (see its docstring)."""
    n, seed = cfg["jac_width"], cfg["seed"]
    grid = []
    items = [(L, c) for L in cfg["jac_depths"] for c in cfg["jac_scales"]]
    for L, c in tqdm(items, desc="theory_init: Jacobian grid", unit="setting", disable=not progress):
        sigma = c / math.sqrt(n)
        for d in range(cfg["jac_draws"]):
            rng = numpy_rng(seed, NAME, "jacobian", L, c, d)
            deltas = th.gaussian_deltas(n, L, sigma, rng)
            s = th.spectral_norms(deltas)
            row = {"depth": L, "scale": c, "draw": d, "spectral_norms": s.tolist(),
                   "tail_bound": th.spectral_tail_bound(n, sigma, cfg["tail_t"]),
                   "lower": float(np.prod(1 - s)), "upper": float(np.prod(1 + s)), "l2_bound": th.l2_bound(deltas)}
            for kind, h in (("positive", 1.0 + np.abs(rng.normal(size=(cfg["jac_inputs"], n)))),
                            ("relu", np.maximum(rng.normal(size=(cfg["jac_inputs"], n)), 0.0))):
                out, masks = th.middle_block(h, deltas)
                sv = np.linalg.svd(th.jacobian(h, deltas), compute_uv=False)
                unclipped = np.all([m.all(axis=1) for m in masks], axis=0)
                err = np.linalg.norm(out - h, axis=1) / np.linalg.norm(h, axis=1)
                one, first = th.middle_block(h, deltas[:1])
                ratio = np.linalg.norm(one - h, axis=1) / np.linalg.norm(h @ deltas[0].T, axis=1)
                free = first[0].all(axis=1)
                row[kind] = {"sv_min": float(sv.min()), "sv_max": float(sv.max()),
                             "sv_min_unclipped": float(sv[unclipped].min()) if unclipped.any() else None,
                             "unclipped_inputs": int(unclipped.sum()), "inputs": len(h),
                             "clipped_units": float(1 - np.mean([m.mean() for m in masks])),
                             "max_error_over_bound": float(err.max() / row["l2_bound"]) if row["l2_bound"] > 0 else 0.0,
                             "mean_relative_error": float(err.mean()),
                             "one_layer_ratio_max": float(ratio.max()),
                             "one_layer_unclipped_max_deviation": float(np.abs(ratio[free] - 1).max()) if free.any()
                             else None}
            grid.append(row)
    tight = []
    for L in cfg["jac_depths"]:
        for c in cfg["jac_scales"]:
            h0, deltas = th.tight_example(n, L, 2 * c, seed=derive_seed(seed, NAME, "tight", L, c) % 2**32)
            out, _ = th.middle_block(h0, deltas)
            tight.append({"depth": L, "s": 2 * c, "ratio": float(np.linalg.norm(out - h0) / np.linalg.norm(h0)
                                                               / th.l2_bound(deltas))})
    moments = []
    for c in cfg["jac_scales"]:
        rng = numpy_rng(seed, NAME, "moments", c)
        sigma = c / math.sqrt(n)
        for kind, h in (("positive", 1.0 + np.abs(rng.normal(size=n))), ("relu", np.maximum(rng.normal(size=n), 0))):
            tau = sigma * np.linalg.norm(h)
            draws_mean, draws_err, pre_err = [], [], []
            for _ in range(cfg["mc_draws"]):
                pre = h + rng.normal(0.0, sigma, size=(n, n)) @ h
                post = np.maximum(pre, 0.0)
                draws_mean.append(post)
                draws_err.append(float(((post - h) ** 2).sum()))
                pre_err.append(float(((pre - h) ** 2).sum()))
            draws_mean = np.array(draws_mean)
            exact_mean, exact_sq = th.relu_moments(h, tau)
            se = draws_mean.std(axis=0, ddof=1) / math.sqrt(len(draws_mean))
            moments.append({"scale": c, "inputs": kind, "tau": float(tau), "min_h_over_tau": float(h.min() / tau),
                            "mean_z": float(np.max(np.abs(draws_mean.mean(0) - exact_mean) / np.maximum(se, 1e-300))),
                            "sq_error_mc": float(np.mean(draws_err)),
                            "sq_error_mc_se": float(np.std(draws_err, ddof=1) / math.sqrt(len(draws_err))),
                            "sq_error_exact": float(exact_sq.sum()),
                            "pre_sq_error_mc": float(np.mean(pre_err)),
                            "pre_sq_error_mc_se": float(np.std(pre_err, ddof=1) / math.sqrt(len(pre_err))),
                            "bound": float(n * sigma ** 2 * (h ** 2).sum())})
    return {"grid": grid, "tight": tight, "moments": moments, "width": n}


def run(cfg: Mapping[str, Any], device: str = "cpu", progress: bool = True) -> dict[str, Any]:
    """All measurements of the chapter, and the wall time of each part (``timings_s``: training and matching of the
    MLPs, of the CNNs, the theory checks; reused stored members are not retrained). Returns the JSON-able result."""
    t0 = time.perf_counter()
    mlp, controls = _mlp(cfg, device, progress)
    t1 = time.perf_counter()
    cnn = _cnn(cfg, device, progress)
    t2 = time.perf_counter()
    theory = _theory(cfg, progress)
    t3 = time.perf_counter()
    return {"mlp": mlp, "mlp_controls": controls["pairs"], "cnn": cnn, "theory": theory,
            "timings_s": {"mlp": t1 - t0, "cnn": t2 - t1, "theory": t3 - t2}}


def check(record: Mapping[str, Any]) -> None:
    """Raise on a malformed record (a pair count or a non-finite score) or when the training-quality bar of the
    preset is not met: every (task, arm)'s mean interpolation R² ≥ ``r2_bar`` and every (dataset, arm)'s mean CNN
    test accuracy ≥ ``cnn_acc_bar`` (undertrained networks are not the claim's networks)."""
    cfg, res = record["manifest"]["config"], record["result"]
    for s in res["mlp"] + res["cnn"]["settings"]:
        where = f"{s.get('task', s.get('dataset'))}/{s['arm']}"
        if len(s["pairs"]) != cfg["n_pairs"] or len(s["members"]) != 2 * cfg["n_pairs"]:
            raise ValueError(f"{where}: expected {cfg['n_pairs']} pairs")
        values = [v for m in s["members"] for k, v in m.items() if k not in ("pair", "member")]
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{where}: a non-finite test score")
    if cfg["r2_bar"] is not None:
        for s in res["mlp"]:
            r2 = float(np.mean([m["interpolation_r2"] for m in s["members"]]))
            if r2 < cfg["r2_bar"]:
                raise ValueError(f"training-quality bar not met: {s['task']}/{s['arm']} reaches a mean interpolation "
                                 f"R² of {r2:.4f} < {cfg['r2_bar']} (the preset's bar)")
    if cfg["cnn_acc_bar"] is not None:
        bars = dict(zip(DATASETS, cfg["cnn_acc_bar"]))
        for s in res["cnn"]["settings"]:
            acc = float(np.mean([m["test_acc"] for m in s["members"]]))
            if acc < bars[s["dataset"]]:
                raise ValueError(f"training-quality bar not met: CNN {s['dataset']}/{s['arm']} reaches {100 * acc:.1f} % "
                                 f"mean test accuracy < {100 * bars[s['dataset']]:.0f} % (the preset's bar)")
