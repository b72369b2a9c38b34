"""Datasets as in-memory tensors, from a local root or a download (torchvision, PyG).

The root is resolved as: the ``root`` argument, else ``$SYMLIB_DATA`` (relative
to the current directory), else ``data/`` at the project root (a source checkout;
elsewhere ``./data``). :mod:`symlib.notebook` makes a relative ``SYMLIB_DATA``
absolute against the directory it was started in before a kernel runs. Files follow torchvision's and PyG's
layouts (``<root>/MNIST/raw/*-ubyte[.gz]``, ``<root>/cifar-10-batches-py/*``, ``<root>/cifar-100-python/*``,
``<root>/Cora/raw/ind.cora.*``, OGB's ``<root>/ogbn_arxiv/{raw,split}/``), so
a downloaded copy and an offline copy are read by the same code. What each dataset needs is known here only:
:func:`dataset_folder`, :func:`required_files`, :func:`missing` (the notebook runner's up-front check asks them).

When files are missing and ``download`` is true, :func:`download` fetches them into a temporary folder and moves
them into the root only once the download succeeded; if it fails (no network, read-only root) a
:class:`DatasetNotFound` says in one line what was looked for, where, and how to get it. A failed load or download
creates nothing (no empty ``MNIST/raw/``). No dataset is ever silently replaced by another.

Images come back as ``float32`` tensors ``(N, C, H, W)`` normalised with the
usual per-channel mean/std, labels as ``int64`` ``(N,)``; Cora and ogbn-arXiv as a :class:`Graph`
(:func:`load_cora`, :func:`load_ogbn_arxiv`).
"""
from __future__ import annotations

import contextlib
import gzip
import io
import os
import pickle
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

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
CIFAR100_FILES = {"train": ("train",), "test": ("test",)}
CIFAR100_MEAN = (0.5071, 0.4865, 0.4409)
CIFAR100_STD = (0.2673, 0.2564, 0.2762)
CORA_FILES = tuple(f"ind.cora.{s}" for s in ("x", "tx", "allx", "y", "ty", "ally", "graph", "test.index"))
ARXIV_FILES = tuple(f"raw/{f}.csv.gz" for f in ("edge", "node-feat", "node-label")) + tuple(
    f"split/time/{s}.csv.gz" for s in ("train", "valid", "test"))

#: ``name -> (folder under the root, how to get it by hand)`` for every dataset symlib reads.
DATASETS = {
    "MNIST": (Path("MNIST", "raw"), "the four official *-ubyte.gz files"),
    "CIFAR-10": (Path("cifar-10-batches-py"), "the official python-version batches (data_batch_1..5, test_batch, "
                                              "batches.meta)"),
    "CIFAR-100": (Path("cifar-100-python"), "the official python-version files (train, test, meta)"),
    "Cora": (Path("Cora", "raw"), "the eight Planetoid files ind.cora.* (kimiyoung/planetoid, as PyG's Planetoid "
                                  "downloads them)"),
    "ogbn-arxiv": (Path("ogbn_arxiv"), "OGB's raw/ and split/time/ files of ogbn-arxiv (as ogb downloads them)"),
}


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


def _check_name(name: str) -> None:
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; symlib reads {', '.join(DATASETS)}")


def dataset_folder(name: str, root: str | os.PathLike | None = None) -> Path:
    """The folder that holds dataset ``name``'s files under the data root (``"MNIST"``: ``<root>/MNIST/raw``)."""
    _check_name(name)
    return data_root(root) / DATASETS[name][0]


def required_files(name: str, root: str | os.PathLike | None = None, split: str | None = None) -> list[Path]:
    """Every file dataset ``name`` needs under the root (``split`` ``"train"``/``"test"`` of MNIST and CIFAR-10: that
    split's only; ``None``: all). MNIST's files are listed gzipped, the official form; the uncompressed file
    (torchvision extracts one beside it) serves as well."""
    folder = dataset_folder(name, root)
    splits = ("train", "test") if split is None else (split,)
    if name == "MNIST":
        return [folder / f"{s}.gz" for sp in splits for s in MNIST_FILES[sp]]
    if name == "CIFAR-10":
        return [folder / f for sp in splits for f in CIFAR10_FILES[sp]] + [folder / "batches.meta"]
    if name == "CIFAR-100":
        return [folder / f for sp in splits for f in CIFAR100_FILES[sp]] + [folder / "meta"]
    if name == "ogbn-arxiv":
        return [folder / f for f in ARXIV_FILES]
    return [folder / f for f in CORA_FILES]


def _present(path: Path) -> Path | None:
    """``path`` if it exists; for a ``.gz`` file, the uncompressed copy first (faster to read)."""
    if path.suffix == ".gz" and path.with_suffix("").exists():
        return path.with_suffix("")
    return path if path.exists() else None


def missing(name: str, root: str | os.PathLike | None = None, split: str | None = None) -> list[Path]:
    """The :func:`required_files` of dataset ``name`` that are not on disk (empty: it can be loaded)."""
    return [p for p in required_files(name, root, split) if _present(p) is None]


def _not_found(name: str, root: str | os.PathLike | None, split: str | None, reason: str) -> DatasetNotFound:
    """One line: what was looked for, where, why it failed, and how to get it on any machine."""
    folder, files = dataset_folder(name, root), required_files(name, root, split)
    gone = missing(name, root, split)
    fetcher = {"Cora": "PyG's Planetoid", "ogbn-arxiv": "the ogb package"}.get(name, "torchvision")
    return DatasetNotFound(
        f"{name} not found in {folder} ({reason}: missing {len(gone)} of {len(files)} files: "
        f"{', '.join(p.name for p in gone)}); to get it, load it once with network access and download=True "
        f"({fetcher} fetches it into {folder}), or set $SYMLIB_DATA to a folder that holds "
        f"{DATASETS[name][0].as_posix()}/ with {DATASETS[name][1]} (the root is the `root` argument, else "
        f"$SYMLIB_DATA, else data/ at the project root)")


def _fetch(name: str, into: Path) -> Path:
    """Download dataset ``name`` below the empty folder ``into``; returns the folder holding its files there."""
    if name == "MNIST":
        from torchvision.datasets import MNIST
        MNIST(str(into), train=True, download=True)  # fetches all four files
    elif name == "CIFAR-10":
        from torchvision.datasets import CIFAR10
        CIFAR10(str(into), train=True, download=True)
    elif name == "CIFAR-100":
        from torchvision.datasets import CIFAR100
        CIFAR100(str(into), train=True, download=True)
    elif name == "ogbn-arxiv":
        from ogb.nodeproppred import NodePropPredDataset  # a fresh folder: no "update the dataset?" prompt
        with contextlib.redirect_stdout(io.StringIO()):
            NodePropPredDataset("ogbn-arxiv", root=str(into))
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            from torch_geometric.datasets import Planetoid
        with contextlib.redirect_stderr(io.StringIO()):  # PyG's "Processing... Done!"
            Planetoid(str(into), "Cora")
    return into / DATASETS[name][0]


def download(name: str, root: str | os.PathLike | None = None) -> None:
    """Fetch dataset ``name`` into the data root unless it is there. The download goes to a temporary folder (a
    hidden one inside the root when the root exists, so that the move is a rename); only after it succeeded are the
    files moved into :func:`dataset_folder` (creating it). Raises :class:`DatasetNotFound` (one line) on failure,
    leaving the root as it was."""
    if not missing(name, root):
        return
    root_path = data_root(root)
    try:
        parent = root_path if root_path.is_dir() else None
        with tempfile.TemporaryDirectory(prefix=".symlib-download-", dir=parent) as tmp:
            fetched = _fetch(name, Path(tmp))
            folder = dataset_folder(name, root)
            for f in required_files(name, root):
                rel = f.relative_to(folder)
                got = fetched / rel
                if not got.exists() and got.suffix == ".gz" and got.with_suffix("").exists():
                    got = got.with_suffix("")  # torchvision extracted MNIST's files
                    rel = rel.with_suffix("")
                if got.exists() and not (folder / rel).exists():
                    (folder / rel).parent.mkdir(parents=True, exist_ok=True)
                    shutil.move(str(got), str(folder / rel))
    except Exception as err:  # network, permissions, a missing package: one line below
        detail = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise _not_found(name, root, None, f"download failed: {type(err).__name__}: {detail}") from err
    if missing(name, root):
        raise _not_found(name, root, None, "the download did not provide every file")


def _read_idx(path: Path) -> np.ndarray:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def _ensure(name: str, root: str | os.PathLike | None, split: str | None, download_ok: bool) -> None:
    """Return when ``name``'s files (of ``split``) are on disk, downloading them first if allowed; else raise."""
    if not missing(name, root, split):
        return
    if not download_ok:
        raise _not_found(name, root, split, "files missing, download=False")
    download(name, root)


def load_mnist(split: str = "train", root: str | os.PathLike | None = None, download: bool = True) -> Dataset:
    """MNIST ``split`` (``"train"``: 60,000, ``"test"``: 10,000) as ``X (N, 1, 28, 28)``."""
    if split not in MNIST_FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    _ensure("MNIST", root, split, download)
    images, labels = (_read_idx(_present(p)) for p in required_files("MNIST", root, split))
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
    _ensure("CIFAR-10", root, split, download)
    files = required_files("CIFAR-10", root, split)
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


def load_cifar100(split: str = "train", root: str | os.PathLike | None = None, download: bool = True,
                  normalize: bool = True) -> Dataset:
    """CIFAR-100 ``split`` (50,000 / 10,000) as ``X (N, 3, 32, 32)`` with the 100 fine labels, read from the python
    pickles (``cifar-100-python/{train,test,meta}``); normalised with CIFAR-100's per-channel mean and std."""
    if split not in CIFAR100_FILES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    _ensure("CIFAR-100", root, split, download)
    data_file, meta_file = required_files("CIFAR-100", root, split)
    with open(data_file, "rb") as fh:
        batch = pickle.load(fh, encoding="latin1")
    with open(meta_file, "rb") as fh:
        classes = tuple(pickle.load(fh, encoding="latin1")["fine_label_names"])
    X = torch.from_numpy(np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)).float() / 255.0
    if normalize:
        X = (X - torch.tensor(CIFAR100_MEAN).view(1, 3, 1, 1)) / torch.tensor(CIFAR100_STD).view(1, 3, 1, 1)
    return Dataset(X, torch.from_numpy(np.asarray(batch["fine_labels"], dtype=np.int64)), classes)


class Graph(NamedTuple):
    """One graph for full-batch node classification: ``x (N, F) float32``, ``edge_index (2, E) int64`` (both
    directions of every undirected edge), ``y (N,) int64`` and the boolean node masks of the standard split.
    ``Graph.source(split)`` is the :class:`symlib.batches.FullGraph` that trains (or evaluates) on that split."""

    x: torch.Tensor
    edge_index: torch.Tensor
    y: torch.Tensor
    train_mask: torch.Tensor
    val_mask: torch.Tensor
    test_mask: torch.Tensor

    @property
    def num_classes(self) -> int:
        return int(self.y.max()) + 1

    def mask(self, split: str) -> torch.Tensor:
        if split not in ("train", "val", "test"):
            raise ValueError(f"split must be 'train', 'val' or 'test', got {split!r}")
        return getattr(self, f"{split}_mask")

    def full_split(self) -> "Graph":
        """This graph training on every node outside its validation and test sets (Chen et al. 2018's
        "full-supervised" Cora split, PyG's ``Planetoid(split="full")``): Cora's 140 / 500 / 1,000 become
        1,208 / 500 / 1,000."""
        return self._replace(train_mask=~(self.val_mask | self.test_mask))

    def source(self, split: str = "train"):
        """A :class:`symlib.batches.FullGraph` whose loss reads the nodes of ``split``."""
        from .batches import FullGraph
        return FullGraph(self.x, self.edge_index, self.y, self.mask(split))


def load_cora(root: str | os.PathLike | None = None, download: bool = True, normalize: bool = False) -> Graph:
    """Cora (Planetoid, Sen et al. 2008) with the standard public split of Yang et al. (2016): 2,708 nodes, 10,556
    directed edges (5,278 undirected), 1,433 binary bag-of-words features, 7 classes, 140 / 500 / 1,000 train / val /
    test nodes. ``normalize=True`` divides each node's features by their sum (PyG's ``NormalizeFeatures``).

    Read by PyG's own ``Planetoid`` class from ``<root>/Cora/raw/ind.cora.*`` (the folder ``Planetoid(root, "Cora")``
    expects). ``Planetoid`` writes a ``processed/`` cache beside ``raw/``; here it processes into a temporary folder
    instead, deleted right after (Cora processes in well under a second), so the data root is only ever read — it may
    be read-only or shared — and no stale cache can outlive a change of the raw files.
    """
    _ensure("Cora", root, None, download)
    folder = dataset_folder("Cora", root)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # PyG's torch.jit.script deprecation noise on import
        from torch_geometric.datasets import Planetoid

    class _ReadOnlyPlanetoid(Planetoid):
        """``Planetoid`` reading ``raw_dir`` from the data root and processing into a folder of ours."""

        def __init__(self, raw: str, processed: str) -> None:
            self._raw, self._processed = raw, processed
            super().__init__(processed, "Cora")

        @property
        def raw_dir(self) -> str:
            return self._raw

        @property
        def processed_dir(self) -> str:
            return self._processed

    with tempfile.TemporaryDirectory(prefix="symlib-cora-") as tmp, contextlib.redirect_stderr(io.StringIO()):
        data = _ReadOnlyPlanetoid(str(folder), tmp)[0]
    x = data.x.float()
    if normalize:
        x = x / x.sum(dim=1, keepdim=True).clamp(min=1)
    return Graph(x, data.edge_index.long(), data.y.long(), data.train_mask.bool(), data.val_mask.bool(),
                 data.test_mask.bool())


def load_ogbn_arxiv(root: str | os.PathLike | None = None, download: bool = True) -> Graph:
    """ogbn-arXiv (Hu et al. 2020; Lim et al. 2024, Table 1 row 4): 169,343 papers, 128-d features (averaged word
    embeddings), 40 subject classes, and the official time split (train: up to 2017, val: 2018, test: 2019).

    Read from OGB's files under ``<root>/ogbn_arxiv/`` (``raw/edge.csv.gz``, ``raw/node-feat.csv.gz``,
    ``raw/node-label.csv.gz``, ``split/time/{train,valid,test}.csv.gz``), which the ``ogb`` package downloads. The
    1,166,243 citation edges are directed in OGB; here both directions are kept and duplicates removed, as the
    authors' code does with PyG's ``ToUndirected``.
    """
    _ensure("ogbn-arxiv", root, None, download)
    import pandas as pd
    edge, feat, label, *splits = (pd.read_csv(p, header=None).to_numpy() for p in required_files("ogbn-arxiv", root))
    x = torch.from_numpy(feat.astype(np.float32))
    y = torch.from_numpy(label.reshape(-1).astype(np.int64))
    both = torch.from_numpy(np.concatenate([edge.T, edge.T[::-1]], axis=1).astype(np.int64))
    edge_index = torch.unique(both, dim=1)
    masks = []
    for idx in splits:
        m = torch.zeros(len(y), dtype=torch.bool)
        m[torch.from_numpy(idx.reshape(-1).astype(np.int64))] = True
        masks.append(m)
    return Graph(x, edge_index, y, *masks)


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
