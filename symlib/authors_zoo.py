"""The zoo the authors of Lim et al. (2024) published (Zenodo record 13883507), read into our networks.

Their code (github.com/cptq/asymmetric-networks, ``metanet_data/``) writes one file per network,
``<root>/data/<model_type>/<i>.pt``, holding ``torch.save((state_dict, test_acc in %))``; the sampled
hyper-parameters are row ``i`` of one ``hparams.csv`` kept elsewhere (``metanet_data/grid_runs/``).
"""
from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any, Iterator, Mapping

import torch


def authors_to_ours(name: str) -> str:
    """Our tensor name for one of the authors' (``layer2.0.shortcut.0.weight`` -> ``stage2.shortcut.weight``)."""
    parts = name.split(".")
    if parts[0] == "conv1":
        return ".".join(["stem", *parts[1:]])
    if parts[0] == "ln1":
        return ".".join(["stem_norm", *parts[1:]])
    if parts[0] == "nonlin":
        return ".".join(["stem_act", *parts[1:]])
    if parts[0] == "linear":
        return ".".join(["head", *parts[1:]])
    if parts[0].startswith("layer") and parts[1] == "0":
        stage, rest = f"stage{parts[0][5:]}", parts[2:]
        mapping = {"conv1": ["conv1"], "ln1": ["norm1"], "conv2": ["conv2"], "ln2": ["norm2"], "nonlin1": ["act1"],
                   "nonlin2": ["act2"]}
        if rest[0] == "shortcut":
            return ".".join([stage, "shortcut" if rest[1] == "0" else "shortcut_norm", *rest[2:]])
        return ".".join([stage, *mapping[rest[0]], *rest[1:]])
    raise ValueError(f"unexpected tensor {name!r} in the authors' ResNet8 state dict")


def from_authors_state(state: Mapping[str, torch.Tensor]) -> tuple[str, dict[str, torch.Tensor]]:
    """``(variant, our state dict)`` for one of the authors' ResNet8 state dicts.

    W-Asym (``SparseConv2d`` / ``SparseLinear``): their ``weight`` holds the effective weight ``M⊙W + (1−M)⊙κF``
    (their forward writes it back), ``mask`` is 1 where trainable, ``normal_mask`` is ``F``; ours keeps the
    trainable entries in ``weight`` (0 at fixed positions), ``mask`` as booleans and the fixed values in
    ``fixed``. σ-Asym: their FiGLU buffer ``F_mat (C, C, 1, 1)`` is our ``F (C, C)``.
    """
    variant = ("w_asym" if any(k.endswith(".mask") for k in state)
               else "sigma_asym" if any(k.endswith("F_mat") for k in state) else "standard")
    ours: dict[str, torch.Tensor] = {}
    for name, t in state.items():
        if name.endswith(".normal_mask") or name.endswith(".mask"):
            continue
        target = authors_to_ours(name)
        if name.endswith("F_mat"):
            ours[target[:-len("F_mat")] + "F"] = t.reshape(t.shape[0], t.shape[1]).float().clone()
            continue
        layer = name[:-len(".weight")]
        if name.endswith(".weight") and f"{layer}.mask" in state:
            mask = state[f"{layer}.mask"].bool()
            ours[target] = torch.where(mask, t, torch.zeros_like(t)).float()
            ours[target[:-len("weight")] + "mask"] = mask.clone()
            ours[target[:-len("weight")] + "fixed"] = torch.where(mask, torch.zeros_like(t), t).float()
        else:
            ours[target] = t.float().clone()
    return variant, ours


def load_authors_zoo(directory: str | os.PathLike) -> Iterator[dict[str, Any]]:
    """The networks of a folder in the authors' format: ``hparams.csv`` (columns ``lr, weight_decay,
    label_smoothing, epochs``; row ``i`` is network ``i``) and ``<i>.pt`` files holding ``(state_dict, test_acc)``
    (test accuracy in percent). Yields ``{"member", "variant", "state", "test_acc" (in [0, 1]), hyper-parameters}``
    with ``state`` in our names, loadable into :class:`~symlib.architectures.ResNet8` of that variant (for W-Asym,
    its ``mask`` and ``fixed`` buffers are the authors', not ours). Download the record from
    https://zenodo.org/records/13883507 and unpack it; this reads one of its folders.
    """
    directory = Path(directory)
    table = directory / "hparams.csv"
    if not table.exists():
        raise FileNotFoundError(f"{table} not found: expected the authors' hparams.csv beside their <i>.pt files "
                                f"(Zenodo record 13883507)")
    with open(table, newline="") as f:
        rows = list(csv.DictReader(f))
    files = sorted(directory.glob("*.pt"), key=lambda p: int(p.stem) if p.stem.isdigit() else -1)
    if not files:
        raise FileNotFoundError(f"no <i>.pt network files in {directory}")
    for path in files:
        if not path.stem.isdigit():
            continue
        i = int(path.stem)
        state, test_acc = torch.load(path, map_location="cpu", weights_only=True)
        variant, ours = from_authors_state(state)
        row = rows[i]
        yield {"member": i, "variant": variant, "state": ours, "test_acc": float(test_acc) / 100,
               "lr": float(row["lr"]), "weight_decay": float(row["weight_decay"]),
               "label_smoothing": float(row["label_smoothing"]), "epochs": int(row["epochs"])}


