"""The CIFAR-10 zoo of Lim et al. (2024), Section 5.3 / Appendix E.3-E.4: many small CNNs per variant.

Every member samples its hyper-parameters from the paper's Table 8 (learning rate ``0.5·10^-U(0,2)``, weight
decay ``10^-U(1,5)``, label smoothing ``U(0, 0.2)``, epochs ``RandInt(lo, hi)``) and is trained with the FFCV
CIFAR recipe the paper used: SGD with momentum 0.9, batch 512, a linear warm-up to the peak learning rate
(FFCV: epoch 2; ours: ``min(2, 0.2·epochs)`` so short runs still decay) then linear decay to 0, random flips,
translations and Cutout drawn per image. Member ``i`` gets the *same* hyper-parameters and seeds in every
variant (a paired design, our choice), so variant differences are not sampling noise.

Members are trained by :func:`symlib.population.train_members`: vectorised populations on a GPU, one member
per core and thread on a CPU (the faster route there). The weights (initial and final, fixed buffers
included) are written to ``<zoo root>/<scale>/<config hash>/<variant>/member_XXXX.npz`` with an
``index.csv`` beside them: plain NumPy + CSV, loadable without symlib. The zoo root is ``$SYMLIB_ZOO``, else
``zoo/`` at the project root (git-ignored: weights are regenerable). The committed result
``results/<scale>/zoo-<hash>.json`` holds every member's hyper-parameters, metrics and training curve.
"""
from __future__ import annotations

import functools
import os
import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import pandas as pd
import torch

from .. import params, results
from ..data import cifar_augment, load_cifar10
from ..models import ZooCNN, ZooCNNConfig, trainable_parameters
from ..parallel import cpu_workers
from ..population import Member, evaluate_states, train_members
from ..seeding import derive_seed, numpy_rng
from ..train import TrainConfig, resolve_device

NAME = "zoo"
VARIANTS = ("standard", "sigma_asym", "w_asym")
LABELS = {"standard": "Standard", "sigma_asym": "σ-Asym", "w_asym": "W-Asym"}

_PAPER = dict(widths=[16, 32, 64], n_members=300, train_size=50000, test_size=10000, eval_train_size=10000,
              batch_size=512, epochs_min=10, epochs_max=40, n_fix_fraction=0.25, kappa=0.5, figlu_scale=1.0)
PRESETS: dict[str, dict[str, Any]] = {
    # Table 8 verbatim; 300 members per variant as in the MLI experiment (Appendix E.4); a GPU box
    "paper": _PAPER,
    # 2 CPU cores, <= 25 min for the whole zoo: half width, 1,600 training images, RandInt(2, 6) epochs at
    # batch 32, i.e. 100-300 SGD steps per member (batch 128 on 2,000 images for 2-6 epochs gave 32-96 steps
    # and members at 17-21 % test accuracy); training losses measured on a fixed 300-image subset of the
    # training images (the MLI curves evaluate 25 points per member), test metrics on 1,000 test images
    "small": {**_PAPER, "widths": [8, 16, 32], "n_members": 50, "train_size": 1600, "test_size": 1000,
              "eval_train_size": 300, "batch_size": 32, "epochs_min": 2, "epochs_max": 6},
    # nbval: a few members on a few hundred images
    "ci": {**_PAPER, "widths": [8, 16, 16], "n_members": 3, "train_size": 256, "test_size": 256,
           "eval_train_size": 128, "batch_size": 64, "epochs_min": 1, "epochs_max": 2},
}


def configure(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """Validated config from a notebook's parameters (``None`` = preset); raises on unknown names."""
    cfg = params.resolve(PRESETS, params.notebook_parameters(namespace))
    if not 1 <= cfg["epochs_min"] <= cfg["epochs_max"]:
        raise params.ParameterError(f"need 1 <= epochs_min <= epochs_max, got {cfg['epochs_min']}, {cfg['epochs_max']}")
    return cfg


def zoo_config(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a chapter config that defines the zoo (chapters built on the zoo add their own keys)."""
    return {k: cfg[k] for k in ("scale", "seed", *PRESETS["paper"])}


def model_config(cfg: Mapping[str, Any], variant: str) -> ZooCNNConfig:
    return ZooCNNConfig(widths=tuple(cfg["widths"]), variant=variant, n_fix_fraction=cfg["n_fix_fraction"],
                        kappa=cfg["kappa"], figlu_scale=cfg["figlu_scale"],
                        arch_seed=derive_seed(cfg["seed"], NAME, "arch", variant))


def sample_hyperparameters(cfg: Mapping[str, Any], i: int) -> dict[str, Any]:
    """Table 8 of Lim et al. for member ``i`` (seeded by ``(seed, i)`` only: shared by all variants)."""
    rng = numpy_rng(cfg["seed"], NAME, "hyperparameters", i)
    epochs = int(rng.integers(cfg["epochs_min"], cfg["epochs_max"] + 1))
    return {"lr": float(0.5 * 10 ** -rng.uniform(0, 2)), "weight_decay": float(10 ** -rng.uniform(1, 5)),
            "label_smoothing": float(rng.uniform(0, 0.2)), "epochs": epochs,
            "warmup_epochs": float(min(2.0, 0.2 * epochs)),
            "init_seed": derive_seed(cfg["seed"], NAME, "init", i), "data_seed": derive_seed(cfg["seed"], NAME, "data", i)}


def member(cfg: Mapping[str, Any], hp: Mapping[str, Any]) -> Member:
    return Member(init_seed=hp["init_seed"], data_seed=hp["data_seed"],
                  train=TrainConfig(epochs=hp["epochs"], batch_size=cfg["batch_size"], lr=hp["lr"],
                                    weight_decay=hp["weight_decay"], optimizer="sgd", schedule="linear",
                                    warmup_epochs=hp["warmup_epochs"], warmup_start_lr=0.0,
                                    label_smoothing=hp["label_smoothing"]))


def zoo_dir(cfg: Mapping[str, Any]) -> Path:
    root = Path(os.environ["SYMLIB_ZOO"]) if "SYMLIB_ZOO" in os.environ else results.PROJECT_ROOT / "zoo"
    return root / cfg["scale"] / results.config_hash(zoo_config(cfg))[:12]


def data(cfg: Mapping[str, Any]):
    """``(train, eval_train, test)`` CIFAR-10 subsets, seeded; eval_train is a fixed subset of train."""
    train = load_cifar10("train").subset(cfg["train_size"], derive_seed(cfg["seed"], NAME, "train subset"))
    eval_train = train.subset(cfg["eval_train_size"], derive_seed(cfg["seed"], NAME, "eval subset"))
    test = load_cifar10("test").subset(cfg["test_size"], derive_seed(cfg["seed"], NAME, "test subset"))
    return train, eval_train, test


def _save_member(path: Path, init: Mapping[str, torch.Tensor], final: Mapping[str, torch.Tensor] | None) -> None:
    arrays = {f"init/{k}": v.numpy() for k, v in init.items()}
    if final is not None:
        arrays.update({f"final/{k}": v.numpy() for k, v in final.items()})
    np.savez(path, **arrays)


def load_member(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor] | None]:
    """``(init_state, final_state)`` of a stored member (``final`` is ``None`` if it diverged)."""
    with np.load(path) as f:
        init = {k[5:]: torch.from_numpy(f[k]) for k in f.files if k.startswith("init/")}
        final = {k[6:]: torch.from_numpy(f[k]) for k in f.files if k.startswith("final/")}
    return init, (final or None)


def build_model(mcfg: ZooCNNConfig, member: Member | None = None) -> ZooCNN:
    """A zoo CNN of architecture ``mcfg``; ``member`` is ignored (all members of a variant share it). Module-level,
    so ``functools.partial(build_model, mcfg)`` pickles for CPU worker processes."""
    return ZooCNN(mcfg)


_ZOO_README = """CIFAR-10 CNN zoo of symlib (Lim et al. 2024, Table 3/4): {n} members x variants {variants}.

index.csv   one row per member: variant, member, file, the sampled hyper-parameters (Table 8), init_seed and
            data_seed (torch seeds of the initialisation and of the data order / augmentation), arch_seed (seed
            of the variant's fixed tensors: W-Asym masks and fixed entries, sigma-Asym F), diverged, and
            train_loss / train_acc (fixed {eval_train}-image subset of the training images, label smoothing
            included, no augmentation), test_loss / test_acc ({test} test images).
curves.csv  per-epoch training curve: variant, member, epoch, train_loss, train_acc (running mean over the
            epoch, with augmentation and label smoothing).
<variant>/member_XXXX.npz
            numpy arrays "init/<name>" and "final/<name>" for every entry of the PyTorch state_dict
            (parameters and buffers, fixed tensors included); no "final/" arrays if the member diverged.
            Load with: f = numpy.load(path); init = {{k[5:]: f[k] for k in f.files if k.startswith("init/")}}

Configuration: {config}
Rebuild: `make reproduce SCALE={scale}` in the symlib repository.
"""


def write_index(cfg: Mapping[str, Any], out_dir: Path, rows: list[dict]) -> None:
    """``index.csv``, ``curves.csv`` and ``README.txt`` of a zoo folder (plain CSV and text, no symlib needed)."""
    arch_seed = {v: model_config(cfg, v).arch_seed for v in VARIANTS}
    index = pd.DataFrame([{**{k: v for k, v in r.items() if k != "history"}, "arch_seed": arch_seed[r["variant"]]}
                          for r in rows])
    index.to_csv(out_dir / "index.csv", index=False)
    curves = [{"variant": r["variant"], "member": r["member"], "epoch": e, "train_loss": l, "train_acc": a}
              for r in rows for e, l, a in zip(r["history"]["epoch"], r["history"]["train_loss"],
                                               r["history"]["train_acc"])]
    pd.DataFrame(curves).to_csv(out_dir / "curves.csv", index=False)
    (out_dir / "README.txt").write_text(_ZOO_README.format(
        n=cfg["n_members"], variants=", ".join(VARIANTS), eval_train=cfg["eval_train_size"], test=cfg["test_size"],
        config=dict(zoo_config(cfg)), scale=cfg["scale"]))


def run(cfg: Mapping[str, Any], device: str = "auto", progress: bool = True) -> dict[str, Any]:
    """Train the zoo, write the weights and the index, return the JSON-able summary.

    Training goes through :func:`symlib.population.train_members`: populations of 64 on a GPU, one member per
    core and thread on a CPU. Train loss (with the member's label smoothing) and accuracy are measured on the
    fixed ``eval_train`` subset without augmentation, test loss and accuracy on the test subset."""
    dev = resolve_device(device)
    train_ds, eval_ds, test_ds = data(cfg)
    out_dir = zoo_dir(cfg)
    hps = [sample_hyperparameters(cfg, i) for i in range(cfg["n_members"])]
    rows, t0 = [], time.perf_counter()
    for variant in VARIANTS:
        mcfg = model_config(cfg, variant)
        (out_dir / variant).mkdir(parents=True, exist_ok=True)
        res = train_members(functools.partial(build_model, mcfg), [member(cfg, hp) for hp in hps], train_ds.X,
                            train_ds.y, augment=cifar_augment, device=str(dev), progress=progress,
                            desc=f"zoo: {variant} members trained")
        ok = [k for k, r in enumerate(res) if r["final"] is not None]
        finals = [res[k]["final"] for k in ok]
        tr = evaluate_states(functools.partial(build_model, mcfg), finals, eval_ds.X, eval_ds.y,
                             [hps[k]["label_smoothing"] for k in ok], device=str(dev))
        te = evaluate_states(functools.partial(build_model, mcfg), finals, test_ds.X, test_ds.y, device=str(dev))
        metrics = {k: {"train_loss": a, "train_acc": b, "test_loss": c, "test_acc": d}
                   for k, a, b, c, d in zip(ok, *tr, *te)}
        for i, (hp, r) in enumerate(zip(hps, res)):
            path = out_dir / variant / f"member_{i:04d}.npz"
            _save_member(path, r["init"], r["final"])
            m = metrics.get(i, {"train_loss": None, "train_acc": None, "test_loss": None, "test_acc": None})
            rows.append({"variant": variant, "member": i, "file": f"{variant}/{path.name}", **hp,
                         "diverged": bool(r["diverged"]), **m, "history": r["history"]})
    write_index(cfg, out_dir, rows)
    n_trainable = {v: trainable_parameters(ZooCNN(model_config(cfg, v))) for v in VARIANTS}
    return {"members": rows, "train_time_s": time.perf_counter() - t0, "trainable_parameters": n_trainable,
            "route": "GPU populations of 64" if dev.type == "cuda" else
                     f"CPU, each member alone on one thread, up to {cpu_workers()} at once",
            "zoo_dir": str(out_dir.relative_to(results.PROJECT_ROOT) if out_dir.is_relative_to(results.PROJECT_ROOT)
                           else out_dir),
            "data": {"train": len(train_ds), "eval_train": len(eval_ds), "test": len(test_ds)}}


def load_or_run(cfg: Mapping[str, Any], recompute: bool = False, device: str = "auto") -> dict[str, Any]:
    """The zoo's summary record; rebuilt when missing, when ``recompute``, or when its weights are gone."""
    cfg = zoo_config(cfg)
    weights_present = (zoo_dir(cfg) / "index.csv").exists()
    record = None if recompute else results.load_result(NAME, cfg)
    if record is not None and weights_present:
        record["loaded_from"] = str(results.result_path(NAME, cfg))
        return record
    dev = resolve_device(device)
    return results.load_or_run(NAME, cfg, lambda c: run(c, device=str(dev)), recompute=True, device=str(dev))


def members_frame(record: Mapping[str, Any]) -> pd.DataFrame:
    return pd.DataFrame([{k: v for k, v in m.items() if k != "history"} for m in record["result"]["members"]])


def weights(cfg: Mapping[str, Any], variant: str, i: int) -> tuple[dict, dict | None]:
    """Initial and final state of member ``i`` of ``variant``; a clear error when the zoo was not built here."""
    path = zoo_dir(cfg) / variant / f"member_{i:04d}.npz"
    if not path.exists():
        raise FileNotFoundError(f"zoo weights {path} not found: the zoo for this config was not built on this "
                                f"machine. Build it with symlib.experiments.zoo.load_or_run(cfg, recompute=True) "
                                f"or `make reproduce SCALE={cfg['scale']}`.")
    return load_member(path)


def stored_record(cfg: Mapping[str, Any]) -> dict | None:
    """The stored zoo summary for ``cfg`` (manifest + members' metrics), or ``None``; needs no weights."""
    return results.load_result(NAME, zoo_config(cfg))
