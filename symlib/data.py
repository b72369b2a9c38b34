"""Datasets as in-memory tensors, from a local root or a torchvision download.

The root is resolved as: the ``root`` argument, else ``$SYMLIB_DATA`` (relative
to the current directory), else ``data/`` at the project root (a source checkout;
elsewhere ``./data``). :mod:`symlib.notebook` makes a relative ``SYMLIB_DATA``
absolute against the directory it was started in before a kernel runs. Files follow torchvision's layout (``<root>/MNIST/raw/*-ubyte[.gz]``,
``<root>/cifar-10-batches-py/*``), so a downloaded copy and an offline copy
are read by the same code. When the files are missing and ``download`` is
true, torchvision downloads them into the root; if that fails (no network,
read-only root) a :class:`DatasetNotFound` names every file looked for and how
to obtain it. No dataset is ever silently replaced by another.

Images come back as ``float32`` tensors ``(N, C, H, W)`` normalised with the
usual per-channel mean/std, labels as ``int64`` ``(N,)``.
"""
from __future__ import annotations

import gzip
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
CIFAR10_FILES = {"train": tuple(f"data_batch_{i}" for i in range(1, 6)), "test": ("test_batch",)}
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)


class DatasetNotFound(FileNotFoundError):
    """Raised when a dataset's files are neither on disk nor downloadable."""


@dataclass
class Dataset:
    """In-memory split: ``X (N, C, H, W) float32``, ``y (N,) int64``, class names."""

    X: torch.Tensor
    y: torch.Tensor
    classes: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.y)

    def downsample(self, factor: int) -> "Dataset":
        """Area downsampling: every ``factor × factor`` block of pixels averaged (``factor = 1``: unchanged)."""
        if factor == 1:
            return self
        if factor < 1 or self.X.shape[-1] % factor or self.X.shape[-2] % factor:
            raise ValueError(f"cannot downsample {tuple(self.X.shape[-2:])} images by {factor}")
        return Dataset(torch.nn.functional.avg_pool2d(self.X, factor), self.y, self.classes)

    def subset(self, n: int | None, seed: int) -> "Dataset":
        """A seeded random subset of size ``n`` (``None`` or ``n >= len``: everything, same order)."""
        if n is None or n >= len(self):
            return self
        from .seeding import torch_generator
        idx = torch.randperm(len(self), generator=torch_generator(seed, "subset", n))[:n]
        return Dataset(self.X[idx], self.y[idx], self.classes)


def data_root(root: str | os.PathLike | None = None) -> Path:
    """``root`` argument > ``$SYMLIB_DATA`` > ``<project root>/data``."""
    if root is None and not os.environ.get("SYMLIB_DATA"):
        from .results import project_root
        return project_root() / "data"
    return Path(root if root is not None else os.environ["SYMLIB_DATA"]).expanduser()


def _missing(name: str, looked_for: list[Path], reason: str, how: str) -> DatasetNotFound:
    lines = "\n".join(f"  - {p}" for p in looked_for)
    return DatasetNotFound(
        f"{name} not found ({reason}). Looked for:\n{lines}\n"
        f"How to fix: {how}\nThe root is the `root` argument, else $SYMLIB_DATA, else data/ at the project root."
    )


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _find_mnist(raw: Path, stem: str) -> Path | None:
    for candidate in (raw / stem, raw / f"{stem}.gz"):
        if candidate.exists():
            return candidate
    return None


def load_mnist(split: str = "train", root: str | os.PathLike | None = None, download: bool = True) -> Dataset:
    """MNIST ``split`` (``"train"``: 60,000, ``"test"``: 10,000) as ``X (N, 1, 28, 28)``."""
    if split not in MNIST_FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    root = data_root(root)
    raw = root / "MNIST" / "raw"
    paths = [_find_mnist(raw, s) for s in MNIST_FILES[split]]
    reason = "files missing"
    if None in paths and download:
        try:
            from torchvision.datasets import MNIST
            MNIST(str(root), train=(split == "train"), download=True)
        except Exception as err:  # network, permissions, missing torchvision: report below
            reason = f"download failed: {type(err).__name__}: {err}"
        paths = [_find_mnist(raw, s) for s in MNIST_FILES[split]]
    if None in paths:
        raise _missing("MNIST", [raw / f"{s}[.gz]" for s in MNIST_FILES[split]], reason,
                       "run once with network access (torchvision downloads it), or copy the four official "
                       "*-ubyte.gz files into <root>/MNIST/raw/, e.g. `export SYMLIB_DATA=../shared/data`.")
    images, labels = (_read_idx(p) for p in paths)
    X = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    X = (X - MNIST_MEAN) / MNIST_STD
    return Dataset(X, torch.from_numpy(labels.astype(np.int64)), tuple(str(i) for i in range(10)))


def load_cifar10(split: str = "train", root: str | os.PathLike | None = None, download: bool = True,
                 normalize: bool = True) -> Dataset:
    """CIFAR-10 ``split`` (50,000 / 10,000) as ``X (N, 3, 32, 32)``, read from the python pickles.

    The pickles are read directly (not through torchvision's ``CIFAR10`` class,
    which refuses copies whose md5 differs, such as re-ordered offline copies).
    With ``normalize=False`` pixels are in [0, 1].
    """
    if split not in CIFAR10_FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    root = data_root(root)
    folder = root / "cifar-10-batches-py"
    files = [folder / f for f in CIFAR10_FILES[split]] + [folder / "batches.meta"]
    reason = "files missing"
    if not all(f.exists() for f in files) and download:
        try:
            from torchvision.datasets import CIFAR10
            CIFAR10(str(root), train=(split == "train"), download=True)
        except Exception as err:
            reason = f"download failed: {type(err).__name__}: {err}"
    if not all(f.exists() for f in files):
        raise _missing("CIFAR-10", files, reason,
                       "run once with network access (torchvision downloads it), or place the official "
                       "cifar-10-batches-py folder in <root>, e.g. `export SYMLIB_DATA=../shared/data`.")
    xs, ys = [], []
    for f in files[:-1]:
        with open(f, "rb") as fh:
            batch = pickle.load(fh, encoding="latin1")
        xs.append(np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        ys.append(np.asarray(batch["labels"], dtype=np.int64))
    with open(files[-1], "rb") as fh:
        classes = tuple(pickle.load(fh, encoding="latin1")["label_names"])
    X = torch.from_numpy(np.concatenate(xs)).float() / 255.0
    if normalize:
        X = (X - torch.tensor(CIFAR10_MEAN).view(1, 3, 1, 1)) / torch.tensor(CIFAR10_STD).view(1, 3, 1, 1)
    return Dataset(X, torch.from_numpy(np.concatenate(ys)), classes)


def train_val_split(ds: Dataset, val_fraction: float, seed: int) -> tuple[Dataset, Dataset]:
    """Seeded split into ``(train, val)``; Lim et al.'s MLP code holds out 10% (``val_fraction=0.1``)."""
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must lie in [0, 1), got {val_fraction}")
    from .seeding import torch_generator
    idx = torch.randperm(len(ds), generator=torch_generator(seed, "train_val_split"))
    n_val = int(round(val_fraction * len(ds)))
    v, t = idx[:n_val], idx[n_val:]
    return Dataset(ds.X[t], ds.y[t], ds.classes), Dataset(ds.X[v], ds.y[v], ds.classes)


def cifar_augment(x: torch.Tensor, gen: torch.Generator, translate: int = 2, cutout: int = 4) -> torch.Tensor:
    """FFCV's CIFAR-10 augmentation, drawn independently *per image* from ``gen``.

    ``x (B, C, H, W)`` (normalised, so 0 is the mean colour): a horizontal flip with probability ½, a
    translation by up to ``translate`` pixels in each direction (zero fill), and Cutout of one
    ``cutout × cutout`` square (zero fill) at a uniformly random centre. Lim et al.'s code gave every image
    of a batch the same crop; here each image gets its own.
    """
    b, _, h, w = x.shape
    flip = torch.rand(b, generator=gen) < 0.5
    shift = torch.randint(-translate, translate + 1, (b, 2), generator=gen)
    centre = torch.stack([torch.randint(0, h, (b,), generator=gen), torch.randint(0, w, (b,), generator=gen)], 1)
    out = torch.where(flip.view(b, 1, 1, 1), x.flip(-1), x)
    padded = torch.nn.functional.pad(out, (translate,) * 4)
    rows = (torch.arange(h).view(1, h) + translate - shift[:, :1])  # (B, H)
    cols = (torch.arange(w).view(1, w) + translate - shift[:, 1:])  # (B, W)
    out = padded[torch.arange(b).view(b, 1, 1), :, rows.view(b, h, 1), cols.view(b, 1, w)].permute(0, 3, 1, 2)
    r = torch.arange(h).view(1, h, 1)
    c = torch.arange(w).view(1, 1, w)
    cy, cx = centre[:, 0].view(b, 1, 1), centre[:, 1].view(b, 1, 1)
    half = cutout // 2
    hole = (r >= cy - half) & (r < cy - half + cutout) & (c >= cx - half) & (c < cx - half + cutout)
    return out.masked_fill(hole.unsqueeze(1), 0.0)
