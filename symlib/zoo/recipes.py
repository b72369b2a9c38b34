"""The zoo's recipes: what member ``i`` of a named zoo is (architecture, data, Table-8 draw, seeds), as values."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

import torch

from .. import results
from ..architectures import ResNet8Config
from ..architectures.resnet8 import figlu_std_for
from ..data import Dataset, cifar_augment, load_cifar10
from ..seeding import derive_seed, numpy_rng
from ..training import Member, TrainConfig
from ..variants import VARIANTS
from .named_recipes import RECIPES

NAME = "zoo"
#: Recipe entries that do not define a member (so they are not part of the zoo's identity).
_NOT_IDENTITY = ("n_members", "quality_bar", "variants")
#: Keys a ``quality_bar`` may hold besides the variants' names.
_BAR_KEYS = ("every variant", "sd")


class MissingZoo(FileNotFoundError):
    """A chapter asked for zoo members that have not been built on this machine."""


def recipe(name: str) -> dict[str, Any]:
    """The recipe of zoo ``name`` (a copy), or a ``ValueError`` listing the names, or one saying which of its
    ``variants`` / ``quality_bar`` entries is malformed."""
    if name not in RECIPES:
        raise ValueError(f"unknown zoo {name!r}; named zoos: {', '.join(RECIPES)}")
    rec = dict(RECIPES[name])
    variants = rec.get("variants")
    if (not isinstance(variants, (list, tuple)) or not variants or len(set(variants)) != len(variants)
            or not set(variants) <= set(VARIANTS)):
        raise ValueError(f"zoo {name!r}: recipe entry 'variants' must be a non-empty list of distinct variants "
                         f"among {', '.join(VARIANTS)}; got {variants!r}")
    bar = rec.get("quality_bar")
    if bar is not None and (not bar or not set(bar) <= set(_BAR_KEYS) | set(variants)):
        raise ValueError(f"zoo {name!r}: quality_bar keys must be among {', '.join(_BAR_KEYS + tuple(variants))}; "
                         f"got {sorted(bar) if bar else bar!r}")
    return rec


def identity(rec: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of a recipe that define its members (the zoo's folder is named by their hash)."""
    return {k: v for k, v in rec.items() if k not in _NOT_IDENTITY}


def recipe_hash(name: str) -> str:
    """The 12-hex-digit hash of zoo ``name``'s identity: its folder's suffix, ``Zoo(name).hash``."""
    return results.config_hash(identity(recipe(name)))[:12]


def zoo_root() -> Path:
    """``$SYMLIB_ZOO``, else ``zoo/`` beside ``results/`` (:func:`symlib.results.project_root`)."""
    return Path(os.environ["SYMLIB_ZOO"]) if os.environ.get("SYMLIB_ZOO") else results.project_root() / "zoo"


def model_config(rec: Mapping[str, Any], variant: str) -> ResNet8Config:
    """The architecture of every member of ``variant`` (all share their fixed tensors: one ``arch_seed``); FiGLU's
    std is the recipe's ``figlu_gain / √C`` per stage (the paper's ``1/√d``, Appendix E.4)."""
    return ResNet8Config(widths=tuple(rec["widths"]), variant=variant, n_fix=rec["n_fix"], n_fix_head=rec["n_fix_head"],
                         kappa=rec["kappa"], figlu_std=figlu_std_for(rec["widths"], rec["figlu_gain"]),
                         arch_seed=derive_seed(rec["seed"], NAME, "arch", variant))


def hyperparameters(rec: Mapping[str, Any], i: int) -> dict[str, Any]:
    """Member ``i``'s Table-8 draw — learning rate ``lr_scale·10^-U(lr_exponent)``, weight decay
    ``10^-U(weight_decay_exponent)``, label smoothing ``U(0, label_smoothing_max)``, epochs
    ``RandInt(epochs_min, epochs_max)`` — and its init / data seeds; seeded by ``(seed, i)`` only."""
    rng = numpy_rng(rec["seed"], NAME, "hyperparameters", i)
    return {"lr": float(rec["lr_scale"] * 10 ** -rng.uniform(*rec["lr_exponent"])),
            "weight_decay": float(10 ** -rng.uniform(*rec["weight_decay_exponent"])),
            "label_smoothing": float(rng.uniform(0, rec["label_smoothing_max"])),
            "epochs": int(rng.integers(rec["epochs_min"], rec["epochs_max"] + 1)),
            "init_seed": derive_seed(rec["seed"], NAME, "init", i), "data_seed": derive_seed(rec["seed"], NAME, "data", i)}


def member(rec: Mapping[str, Any], draw: Mapping[str, Any], variant: str = "standard") -> Member:
    """The training job of a member of ``variant``: AdamW, a linear warm-up from 0 to ``lr`` until ``peak_epoch``,
    then linear decay to 0 (the authors' triangular schedule), label smoothing, batch ``batch_size``."""
    return Member(model=model_config(rec, variant), init_seed=draw["init_seed"], data_seed=draw["data_seed"],
                  train=TrainConfig(epochs=draw["epochs"], batch_size=rec["batch_size"], lr=draw["lr"],
                                    weight_decay=draw["weight_decay"], optimizer=rec["optimizer"], schedule="linear",
                                    warmup_epochs=rec["peak_epoch"], warmup_start_lr=0.0,
                                    label_smoothing=draw["label_smoothing"]))


def augment(x: torch.Tensor, generator: torch.Generator, translate: int, cutout: int) -> torch.Tensor:
    """FFCV's CIFAR augmentation (flip, translation, Cutout) drawn per image, scaled to the recipe's image size."""
    return cifar_augment(x, generator, translate=translate, cutout=cutout)


def data(rec: Mapping[str, Any]) -> tuple[Dataset, Dataset, Dataset]:
    """``(train, eval_train, test)``: seeded CIFAR-10 subsets at the recipe's image size (area-downsampled from
    32×32 where smaller); ``eval_train`` is a fixed subset of ``train``, measured without augmentation."""
    factor = 32 // rec["image_size"]
    train = load_cifar10("train").subset(rec["train_size"], derive_seed(rec["seed"], NAME, "train subset"))
    eval_train = train.subset(rec["eval_train_size"], derive_seed(rec["seed"], NAME, "eval subset"))
    test = load_cifar10("test").subset(rec["test_size"], derive_seed(rec["seed"], NAME, "test subset"))
    return train.downsample(factor), eval_train.downsample(factor), test.downsample(factor)
