"""The zoo the authors of Lim et al. (2024) published (Zenodo record 13883507), read into our networks.

What their code writes (checked in github.com/cptq/asymmetric-networks):

* ``metanet_data/train_cifar.py`` saves each network as ``torch.save((state_dict, test_acc), path)`` with
  ``test_acc`` the CIFAR-10 test accuracy **in percent** and ``path = <misc.root><misc.save_path><save_name>.pt``;
  ``metanet_data/grid_runs/make_scripts.py`` sets ``save_path = data/<model_type>/`` and ``save_name = i`` for
  data row ``i`` of ``hparams.csv``, and ``metanet_data/default_config.yaml`` sets ``root: cifar10_nets/``. So
  network ``i`` is ``<root>/data/<model_type>/<i>.pt``.
* ``hparams.csv`` (``metanet_data/grid_runs/make_hparams.py``: header ``lr, weight_decay, label_smoothing,
  epochs``, 10,000 rows) stays in ``metanet_data/grid_runs/``, **not** beside the networks: with the scripts run
  from ``metanet_data/`` (where ``train_cifar.py`` and its ``masks/`` live), that is ``<root>/../grid_runs/``.
  Their dataset class (``metanet/data_utils.py``, ``NetDataset``) reads it from ``metanet_data/grid_runs/`` and
  the networks from ``<its root>/<model_type>/``, recovers ``i`` from the file name's trailing digits, divides
  ``test_acc`` by 100, and **drops every network with a NaN in its state dict**.
* Four model types (``make_scripts.py``; built by ``construct_model`` in ``train_cifar.py`` from
  ``metanet_data/models.py`` with ``w_multiplier: 1``): ``resnet8`` (standard, widths 16/32/64),
  ``smaller_resnet8`` (the same standard ResNet at ``w = 0.875``: widths 14/28/56, 59,944 parameters),
  ``sigma_asym_resnet8`` (σ-Asym: every ReLU is a gate ``sigmoid(F x) ⊙ x`` whose ``F_mat (C, C, 1, 1)`` is a
  persistent buffer, drawn per process, so saved with each network) and ``sparse_resnet8`` (W-Asym:
  ``SparseConv2d`` / ``SparseLinear`` with the fixed masks of ``metanet_data/masks/``). ``construct_model`` also
  knows an ``mlp``, which is not one of the zoos.
* W-Asym layers hold ``mask`` (1 = trainable, 0 = fixed) and ``normal_mask``, **unit-variance** constants
  (``torch.randn``; the published mask files have std ≈ 1), both persistent buffers; the scale ``κ`` is the
  layer's ``mask_constant`` attribute, which is **not** saved: ``default_config.yaml`` sets it to 2. Their
  forward writes ``M ⊙ W + (1 − M) ⊙ κ · normal_mask`` back into ``weight``, so a saved ``weight`` already holds
  ``κ · normal_mask`` at its fixed entries; we check that it does.
"""
from __future__ import annotations

import csv
import math
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping

import torch

from .architectures.resnet8 import ResNet8, ResNet8Config

ZENODO = "https://zenodo.org/records/13883507"
HPARAMS_COLUMNS = ("lr", "weight_decay", "label_smoothing", "epochs")
AUTHORS_KAPPA = 2.0  # mask_constant in their metanet_data/default_config.yaml


@dataclass(frozen=True)
class AuthorsModelType:
    """One of the authors' zoo model types: our variant and widths for it, and where their code defines it."""

    name: str
    variant: str
    widths: tuple[int, int, int]
    source: str


MODEL_TYPES: dict[str, AuthorsModelType] = {t.name: t for t in (
    AuthorsModelType("resnet8", "standard", (16, 32, 64), "resnet8(w=1)"),
    AuthorsModelType("smaller_resnet8", "standard", (14, 28, 56), "resnet8(w=.875): widths round(16w), ..."),
    AuthorsModelType("sigma_asym_resnet8", "sigma_asym", (16, 32, 64), "sigma_asym_resnet8(w=1)"),
    AuthorsModelType("sparse_resnet8", "w_asym", (16, 32, 64), "sparse_resnet8(saved masks, w=1)"),
)}
_NOT_A_ZOO = {"mlp": "their train_cifar.py 'mlp' is a 3-layer MLP on flattened images, not a ResNet8 zoo"}


class DroppedMembersWarning(UserWarning):
    """Members of the authors' zoo were skipped because their weights are not finite (their dataset drops them)."""


def model_type(name: str) -> AuthorsModelType:
    """The :class:`AuthorsModelType` called ``name``, else a one-line ``ValueError`` saying why not."""
    if name in MODEL_TYPES:
        return MODEL_TYPES[name]
    why = _NOT_A_ZOO.get(name, "not a model type their metanet_data/grid_runs/make_scripts.py trains")
    raise ValueError(f"cannot load the authors' model type {name!r}: {why}; "
                     f"symlib reads {', '.join(MODEL_TYPES)}")


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
    if parts[0].startswith("layer") and len(parts) > 2 and parts[1] == "0":
        stage, rest = f"stage{parts[0][5:]}", parts[2:]
        mapping = {"conv1": "conv1", "ln1": "norm1", "conv2": "conv2", "ln2": "norm2", "nonlin1": "act1",
                   "nonlin2": "act2"}
        if rest[0] == "shortcut" and len(rest) > 1 and rest[1] in ("0", "1"):
            return ".".join([stage, "shortcut" if rest[1] == "0" else "shortcut_norm", *rest[2:]])
        if rest[0] in mapping:
            return ".".join([stage, mapping[rest[0]], *rest[1:]])
    raise ValueError(f"unexpected tensor {name!r} in the authors' ResNet8 state dict")


def variant_of_state(state: Mapping[str, torch.Tensor]) -> str:
    """The variant the tensors of one of the authors' state dicts say: ``mask``/``normal_mask`` buffers mean
    W-Asym, ``F_mat`` buffers σ-Asym, neither standard."""
    if any(k.endswith(".mask") or k.endswith(".normal_mask") for k in state):
        return "w_asym"
    return "sigma_asym" if any(k.endswith("F_mat") for k in state) else "standard"


def from_authors_state(state: Mapping[str, torch.Tensor], variant: str,
                       kappa: float = AUTHORS_KAPPA) -> dict[str, torch.Tensor]:
    """Our state dict for one of the authors' ResNet8 state dicts of ``variant``.

    ``variant`` comes from the model type; a state dict whose tensors say otherwise is refused (``ValueError``).
    W-Asym (their ``SparseConv2d`` / ``SparseLinear``, github.com/cptq/asymmetric-networks
    ``metanet_data/models.py``): ``mask`` is 1 where trainable; ``normal_mask`` holds unit-variance constants
    (not F: the fixed value is ``F = κ · normal_mask`` with ``κ = mask_constant``, which they do not save; 2 in
    their ``default_config.yaml``); their ``weight`` holds the effective weight ``M ⊙ W + (1 − M) ⊙ κ ·
    normal_mask``, which we check (a ``ValueError`` gives the ``κ`` the saved weight implies). Ours keeps the
    trainable entries in ``weight`` (0 at fixed positions), ``mask`` as booleans and ``F`` at the fixed positions
    in ``fixed``. σ-Asym: their gate buffer ``F_mat (C, C, 1, 1)`` is our FiGLU's ``F (C, C)``.
    """
    found = variant_of_state(state)
    if found != variant:
        raise ValueError(f"expected a {variant} network but its tensors are {found}'s")
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
            mask, unit = state[f"{layer}.mask"], state.get(f"{layer}.normal_mask")
            if unit is None or mask.shape != t.shape or unit.shape != t.shape:
                raise ValueError(f"{layer}: W-Asym layer without a normal_mask of the weight's shape")
            if not torch.all((mask == 0) | (mask == 1)):
                raise ValueError(f"{layer}.mask holds values other than 0 and 1")
            mask = mask.bool()
            fixed = torch.where(mask, torch.zeros_like(unit), kappa * unit).float()
            if not torch.allclose(t[~mask].float(), fixed[~mask], rtol=1e-5, atol=1e-6):
                ratio = (t[~mask].double() / unit[~mask].double())
                raise ValueError(f"{layer}: saved weight at the fixed entries is not kappa*normal_mask with kappa="
                                 f"{kappa:g} (it implies kappa≈{ratio.median().item():.4g})")
            ours[target] = torch.where(mask, t, torch.zeros_like(t)).float()
            ours[target[:-len("weight")] + "mask"] = mask.clone()
            ours[target[:-len("weight")] + "fixed"] = fixed
        else:
            ours[target] = t.float().clone()
    return ours


@dataclass(frozen=True)
class AuthorsMember:
    """Network ``member`` of one of the authors' zoos, in our tensor names (``ResNet8(config)`` loads ``state``
    strictly; for W-Asym its ``mask`` and ``fixed`` are the authors', not ours). ``test_acc`` is a fraction
    (theirs / 100); ``lr``, ``weight_decay``, ``label_smoothing``, ``epochs`` are row ``member`` of their
    ``hparams.csv``."""

    member: int
    model_type: str
    config: ResNet8Config
    state: dict[str, torch.Tensor]
    test_acc: float
    lr: float
    weight_decay: float
    label_smoothing: float
    epochs: int
    path: Path

    @property
    def variant(self) -> str:
        return self.config.variant

    def network(self) -> ResNet8:
        """Our :class:`~symlib.architectures.ResNet8` holding this member's weights (loaded strictly)."""
        net = ResNet8(self.config)
        net.load_state_dict(self.state)
        return net


class AuthorsZoo:
    """The networks of one model type of the authors' zoo, read lazily (see :func:`load_authors_zoo`).

    Iterating yields :class:`AuthorsMember` in member order and skips members whose state dict holds a NaN or
    an infinite value (their ``NetDataset`` drops NaN ones); ``dropped`` maps each skipped member to the
    reason, ``summary()`` says how many, and a :class:`DroppedMembersWarning` names them at the end of a pass.
    ``members`` lists the indices with a file; ``missing`` the ``hparams.csv`` rows without one.
    """

    def __init__(self, root: str | os.PathLike, model_type_name: str, hparams: str | os.PathLike | None = None,
                 kappa: float = AUTHORS_KAPPA) -> None:
        self.spec = model_type(model_type_name)
        self.model_type = self.spec.name
        self.root = Path(root)
        self.kappa = float(kappa)
        get = f"get it from Zenodo record 13883507 ({ZENODO})"
        if not self.root.is_dir():
            raise FileNotFoundError(f"authors' zoo root {self.root} not found: expected the folder holding "
                                    f"data/{self.model_type}/<i>.pt (their misc.root, cifar10_nets/); {get}")
        self.folder = self.root / "data" / self.model_type
        if not self.folder.is_dir():
            there = sorted(p.name for p in (self.root / "data").glob("*") if p.is_dir())
            raise FileNotFoundError(f"{self.folder} not found: no {self.model_type} networks under {self.root} "
                                    f"(data/ holds: {', '.join(there) or 'nothing'}); {get}")
        self.hparams_path = Path(hparams) if hparams is not None else self.root.parent / "grid_runs" / "hparams.csv"
        if not self.hparams_path.is_file():
            raise FileNotFoundError(f"hparams.csv not found at {self.hparams_path}: their code keeps it in "
                                    f"metanet_data/grid_runs/, not beside the networks; pass hparams=<its path> "
                                    f"({get})")
        self.rows = _read_hparams(self.hparams_path)
        files = {int(m.group(1)): p for p in self.folder.iterdir() if (m := re.fullmatch(r"(\d+)\.pt", p.name))}
        if not files:
            raise FileNotFoundError(f"no <i>.pt network files in {self.folder}; {get}")
        beyond = [i for i in files if i >= len(self.rows)]
        if beyond:
            raise ValueError(f"{self.folder}: network {min(beyond)} has no row in {self.hparams_path} "
                             f"({len(self.rows)} rows): not the hparams.csv these networks were trained from")
        self.paths = dict(sorted(files.items()))
        self.members = list(self.paths)
        self.missing = [i for i in range(len(self.rows)) if i not in self.paths]
        self.config = ResNet8Config(widths=self.spec.widths, variant=self.spec.variant, kappa=self.kappa)
        self._shapes = {k: tuple(v.shape) for k, v in ResNet8(self.config).state_dict().items()}
        self.dropped: dict[int, str] = {}

    def __iter__(self) -> Iterator[AuthorsMember]:
        dropped_now = []
        for i in self.members:
            member = self.load(i)
            if member is None:
                dropped_now.append(i)
                continue
            yield member
        if dropped_now:
            shown = ", ".join(map(str, dropped_now[:10])) + (", ..." if len(dropped_now) > 10 else "")
            warnings.warn(f"{self.model_type}: dropped {len(dropped_now)} of {len(self.members)} networks with "
                          f"NaN/inf weights (members {shown}); see .dropped", DroppedMembersWarning, stacklevel=2)

    def load(self, i: int) -> AuthorsMember | None:
        """Member ``i``, or ``None`` (and an entry in ``dropped``) if its weights are not finite."""
        path = self.paths[i]
        state, test_acc = torch.load(path, map_location="cpu", weights_only=True)
        bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
        if bad:
            kinds = "NaN" if any(state[k].isnan().any() for k in bad) else "inf"
            self.dropped[i] = f"{kinds} in {len(bad)} tensor(s), first {bad[0]}"
            return None
        try:
            ours = from_authors_state(state, self.spec.variant, self.kappa)
        except ValueError as e:
            raise ValueError(f"{path} (model type {self.model_type}): {e}") from None
        self._check_shapes(path, state, ours)
        row = self.rows[i]
        return AuthorsMember(member=i, model_type=self.model_type, config=self.config, state=ours,
                             test_acc=float(test_acc) / 100, lr=row["lr"], weight_decay=row["weight_decay"],
                             label_smoothing=row["label_smoothing"], epochs=row["epochs"], path=path)

    def _check_shapes(self, path: Path, state: Mapping[str, torch.Tensor], ours: Mapping[str, torch.Tensor]) -> None:
        got = {k: tuple(v.shape) for k, v in ours.items()}
        if got == self._shapes:
            return
        widths = tuple(state[k].shape[0] for k in ("conv1.weight", "layer2.0.conv1.weight", "layer3.0.conv1.weight")
                       if k in state)
        extra, lacking = sorted(set(got) - set(self._shapes)), sorted(set(self._shapes) - set(got))
        raise ValueError(f"{path}: not a {self.model_type} network ({self.spec.variant}, widths {self.spec.widths}): "
                         f"widths {widths}" + (f", unexpected {extra[:3]}" if extra else "")
                         + (f", missing {lacking[:3]}" if lacking else ""))

    def summary(self) -> str:
        """One line: files, hparams rows without a file, and members dropped so far for non-finite weights."""
        dropped = sorted(self.dropped)
        return (f"{self.model_type} ({self.spec.variant}, widths {self.spec.widths}) at {self.folder}: "
                f"{len(self.members)} networks for {len(self.rows)} hparams rows ({len(self.missing)} without a "
                f"file); dropped {len(dropped)} with NaN/inf weights" + (f": {dropped[:10]}" if dropped else ""))

    def __repr__(self) -> str:
        return f"AuthorsZoo({self.summary()})"


def _read_hparams(path: Path) -> list[dict[str, float | int]]:
    with open(path, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, [])
        if tuple(h.strip() for h in header[:4]) != HPARAMS_COLUMNS:
            raise ValueError(f"{path}: header {header[:4]} is not theirs ({', '.join(HPARAMS_COLUMNS)})")
        rows = []
        for row in reader:
            if not row:
                continue
            lr, wd, ls, epochs = (float(x) for x in row[:4])
            if not math.isclose(epochs, round(epochs)):
                raise ValueError(f"{path}: epochs {row[3]!r} in row {len(rows)} is not an integer")
            rows.append({"lr": lr, "weight_decay": wd, "label_smoothing": ls, "epochs": int(round(epochs))})
    return rows


def load_authors_zoo(root: str | os.PathLike, model_type: str, hparams: str | os.PathLike | None = None,
                     kappa: float = AUTHORS_KAPPA) -> AuthorsZoo:
    """The networks of ``model_type`` in the authors' zoo, as their code writes it (Zenodo record 13883507).

    ``root`` is their ``misc.root`` (``metanet_data/cifar10_nets/`` when trained with their scripts): network
    ``i`` is ``<root>/data/<model_type>/<i>.pt`` holding ``(state_dict, test accuracy in %)``. ``hparams``
    defaults to where their scripts keep it, ``<root>/../grid_runs/hparams.csv`` (their
    ``metanet_data/grid_runs/hparams.csv``); row ``i`` is network ``i``. ``model_type`` is one of
    :data:`MODEL_TYPES` (``resnet8``, ``smaller_resnet8``, ``sigma_asym_resnet8``, ``sparse_resnet8``); it sets
    the variant and widths, which every file's tensors must match. ``kappa`` is their unsaved ``mask_constant``
    (W-Asym only; 2 in their config), checked against each saved weight.

    Returns an :class:`AuthorsZoo`: iterate it for :class:`AuthorsMember` (members with NaN/inf weights are
    dropped and counted in ``.dropped`` / ``.summary()``). Missing paths and unknown model types raise at once,
    naming what was looked for.

    Example::

        zoo = load_authors_zoo("metanet_data/cifar10_nets", "sparse_resnet8")
        for m in zoo:
            net = m.network()          # ResNet8(m.config) with m.state loaded strictly
        print(zoo.summary())
    """
    return AuthorsZoo(root, model_type, hparams=hparams, kappa=kappa)
