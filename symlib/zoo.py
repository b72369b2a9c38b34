"""The CIFAR-10 zoo of Lim et al. (2024, Section 5.3, Appendix E.3-E.4) as a dataset: many small ResNets per variant.

A zoo is named by its **recipe** (:data:`RECIPES`: ``"paper"``, ``"small"``, ``"ci"``): the architecture
(:class:`~symlib.architectures.ResNet8` in the authors' layout), the data, the training recipe and the
hyper-parameter sampler of the paper's Table 8. Member ``i`` is defined by the recipe and ``i`` alone — its
sampled hyper-parameters and its init / data seeds depend on nothing else, and are the **same in every variant**
(a paired design: variant differences are not sampling noise) — so a zoo grows by training more indices and
keeps every member already built.

On disk (``$SYMLIB_ZOO``, else ``zoo/`` at the project root; git-ignored, regenerable) a zoo is a folder
``<name>-<recipe hash>/`` holding per variant ``member_00042.npz`` (NumPy arrays ``init/<tensor>`` and
``final/<tensor>``: the full state dicts, fixed tensors included) and ``member_00042.json`` (hyper-parameters,
seeds, training curve, metrics, and the SHA-256 of the ``.npz``), plus ``index.csv``, ``curves.csv`` and a
``README.txt`` describing the layout: everything loads with NumPy and a CSV reader, without symlib.

Building (:meth:`Zoo.build`, ``make zoo SCALE=…``, ``python -m symlib.zoo build small``) is resumable: each member
is written as soon as it is trained, so a killed build continues where it stopped; a member whose files are
missing, unreadable or fail their checksum is trained again, never silently used. Chapters never build a zoo:
they ask for one by name and get a :class:`MissingZoo` error that says how to build it.

**Several builders, one folder.** Builders on one machine, or on machines sharing the folder (NFS), split the work
instead of each training everything. Before training a member a builder takes an exclusive **claim** on it: the file
``.claims/<variant>-member_00042.claim`` (host, pid, start time, a random token), published with ``os.link`` so
that exactly one builder creates it, complete, on a local file system or NFS. A builder claims the next unclaimed
missing members of one variant, in order of decreasing epochs, as many as it trains at once (its cores, a GPU
population, or a Ray cluster's slots), trains them, and deletes each claim once the member's files are written.
When every missing member is claimed by others it **waits** for them (printing which members are held by whom,
polling every :data:`POLL` s) rather than stopping early: a build that returns has every member it was asked for on
disk, so every builder writes the same ``index.csv`` and summary (one builder at a time, under the claim
``.claims/index.claim``). A claim whose builder died is taken over: at once on the same host when its pid is no
longer alive; from any host when the claim file has not been touched for :data:`STALE_AFTER` s (a builder touches
its claims every :data:`HEARTBEAT` s; the hosts' clocks must agree to within a few minutes). A member is therefore
trained twice only if its builder was frozen (stopped, suspended) for longer than :data:`STALE_AFTER` and then
resumed, or if two builders take over the same dead claim in the same instant; either way both write the same bits
(a member does not depend on who trains it), atomically. Claim files are no part of the zoo: a member is its
``.npz`` and ``.json``, claims are never read as members, and ``.claims/`` is removed when empty.

:mod:`symlib.authors_zoo` reads the zoo the authors published (Zenodo record 13883507) into our networks.
"""
from __future__ import annotations

import argparse
import csv
import functools
import hashlib
import json
import os
import secrets
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
from tqdm import tqdm

from . import results
from .architectures import ResNet8, ResNet8Config, build_model
from .architectures.resnet8 import figlu_std_for
from .data import Dataset, cifar_augment, load_cifar10
from .devices import resolve_device
from .distributed import cpu_workers, parallel_tasks, session
from .evaluation import evaluate_states
from .layers import trainable_parameters
from .seeding import derive_seed, numpy_rng
from .training import IN_PROCESS_BELOW, Member, TrainConfig, tensor_batches, train_members
from .variants import VARIANTS

NAME = "zoo"

_PAPER: dict[str, Any] = dict(
    seed=0, widths=[16, 32, 64], image_size=32, train_size=50000, test_size=10000, eval_train_size=10000,
    batch_size=512, epochs_min=10, epochs_max=40, peak_epoch=5.0, optimizer="adamw",
    lr_scale=0.5, lr_exponent=[0.0, 2.0], weight_decay_exponent=[1.0, 5.0], label_smoothing_max=0.2,
    n_fix=8, n_fix_head=8, kappa=2.0, figlu_gain=1.0, translate=2, cutout=4)
#: Named zoo recipes. ``n_members`` (per variant) is the default size, not part of a member's identity;
#: ``quality_bar`` is the training-quality floor the recipe was chosen by (mean test accuracy over the
#: non-diverged members of each variant), checked by :func:`check_quality`.
RECIPES: dict[str, dict[str, Any]] = {
    # Table 8 and Appendix E.3-E.4 verbatim, with the authors' code where the text is silent (AdamW, triangular
    # learning rate peaking at epoch 5, κ = 2, min(8, C_in) fixed filters: metanet_data/ of cptq/asymmetric-networks).
    # 300 members per
    # variant, as the MLI experiment (the metanetwork chapter grows it to 10,000). A GPU box.
    "paper": {**_PAPER, "n_members": 300, "quality_bar": {"standard": 0.60, "every variant": 0.50}},
    # 2 CPU cores: chosen by the training-quality bar alone, before any claim was computed on it (see the
    # chapter "Monotonic linear interpolation", section "The small zoo"):
    # 16×16 images (area-downsampled), 10,000 training images, RandInt(5, 10) epochs at batch 64 with Table 8's
    # learning rates scaled by 64/512, peak at epoch 2, 20 members per variant; 2,000 test images, losses on a fixed
    # 1,000-image subset of the training images.
    "small": {**_PAPER, "image_size": 16, "train_size": 10000, "test_size": 2000, "eval_train_size": 1000,
              "batch_size": 64, "lr_scale": 0.5 * 64 / 512, "epochs_min": 5, "epochs_max": 10, "peak_epoch": 2.0,
              "translate": 1, "cutout": 2, "n_members": 20, "quality_bar": {"standard": 0.45, "every variant": 0.30}},
    # nbval: three members of a narrow net on a few hundred images; no bar (a smoke test). n_fix 4: with 8 channels,
    # the paper's min(8, C_in) would fix whole layers
    "ci": {**_PAPER, "widths": [8, 16, 16], "n_fix": 4, "image_size": 16, "train_size": 256, "test_size": 256,
           "eval_train_size": 128, "batch_size": 64, "epochs_min": 1, "epochs_max": 2, "peak_epoch": 0.5,
           "translate": 1, "cutout": 2, "n_members": 3, "quality_bar": None},
}
#: Recipe entries that do not define a member (so they are not part of the zoo's identity).
_NOT_IDENTITY = ("n_members", "quality_bar")


class MissingZoo(FileNotFoundError):
    """A chapter asked for zoo members that have not been built on this machine."""


def recipe(name: str) -> dict[str, Any]:
    """The recipe of zoo ``name`` (a copy), or a ``ValueError`` listing the names."""
    if name not in RECIPES:
        raise ValueError(f"unknown zoo {name!r}; named zoos: {', '.join(RECIPES)}")
    return dict(RECIPES[name])


def identity(rec: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of a recipe that define its members (the zoo's folder is named by their hash)."""
    return {k: v for k, v in rec.items() if k not in _NOT_IDENTITY}


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


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_atomically(path: Path, write) -> None:
    tmp = path.with_name(f"{path.name}.{_HOST}-{os.getpid()}.tmp")  # builders sharing a folder never share a tmp
    write(tmp)
    os.replace(tmp, path)


# ------------------------------------------------------------------------------------------- claims

#: Seconds without a heartbeat after which a claim of another host is taken over (its builder is presumed dead).
STALE_AFTER = 900.0
#: Seconds between two touches of the claims a builder holds.
HEARTBEAT = 60.0
#: Seconds between two looks at members that other builders are training.
POLL = 2.0
_HOST = socket.gethostname()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


class _Claims:
    """One builder's claims on the members of a zoo folder (see the module docstring)."""

    def __init__(self, directory: Path) -> None:
        self.folder = directory / ".claims"
        self.me = {"host": _HOST, "pid": os.getpid(), "since": time.time(), "token": secrets.token_hex(8)}
        self.held: set[Path] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    def path(self, key: str) -> Path:
        return self.folder / f"{key}.claim"

    @staticmethod
    def owner(path: Path) -> tuple[dict, float] | None:
        """``(owner, mtime)`` of a claim file, or ``None`` if there is none (or it just went)."""
        try:
            return json.loads(path.read_text()), path.stat().st_mtime
        except (OSError, ValueError):
            return None

    @staticmethod
    def dead(owner: Mapping[str, Any], mtime: float) -> bool:
        """Whether a claim's builder is gone: its pid is not alive on this host, or no heartbeat for STALE_AFTER."""
        if time.time() - mtime > STALE_AFTER:
            return True
        return owner.get("host") == _HOST and not _alive(int(owner.get("pid", -1)))

    def take(self, key: str) -> bool:
        """Claim ``key``; ``False`` if a live builder holds it. A dead builder's claim is taken over."""
        path = self.path(key)
        found = self.owner(path)
        if found is not None and not self.dead(*found):  # the common case while others build: no write
            return False
        mine = self.folder / f"{key}.{self.me['token']}.new"
        for _ in range(3):
            self.folder.mkdir(parents=True, exist_ok=True)
            try:
                mine.write_text(json.dumps(self.me) + "\n")
                break
            except FileNotFoundError:  # another builder removed the empty folder in between
                continue
        try:
            for _ in range(3):
                try:
                    os.link(mine, path)  # atomic and exclusive, on NFS too; the claim appears complete
                except FileExistsError:
                    if os.stat(mine).st_nlink == 2:  # NFS: the link was made, its reply was lost
                        break
                    found = self.owner(path)
                    if found is None:
                        continue  # released meanwhile: try again
                    if not self.dead(*found):
                        return False
                    if not self._remove_dead(path, found[0]):
                        return False
                    continue
                break
            else:
                return False
            with self._lock:
                self.held.add(path)
            self._start_heartbeat()
            return True
        finally:
            mine.unlink(missing_ok=True)

    def _remove_dead(self, path: Path, owner: Mapping[str, Any]) -> bool:
        """Move a dead builder's claim aside; ``False`` if what moved was a fresh claim (put back, if still free)."""
        aside = self.folder / f"{path.stem}.{self.me['token']}.dead"
        try:
            os.rename(path, aside)
        except FileNotFoundError:
            return True  # another builder moved it first
        moved = self.owner(aside)
        if moved is not None and moved[0].get("token") != owner.get("token"):
            try:  # it was taken over between our look and the move: give it back
                os.link(aside, path)
            except FileExistsError:
                pass
            aside.unlink(missing_ok=True)
            return False
        aside.unlink(missing_ok=True)
        return True

    def release(self, key: str) -> None:
        path = self.path(key)
        with self._lock:
            self.held.discard(path)
        found = self.owner(path)
        if found is not None and found[0].get("token") == self.me["token"]:  # never delete a claim taken over
            path.unlink(missing_ok=True)

    def release_all(self) -> None:
        self._stop.set()
        for path in list(self.held):
            self.release(path.stem)
        try:
            self.folder.rmdir()  # only when no builder holds a claim any more
        except OSError:
            pass

    def others(self, keys) -> dict[str, str]:
        """The live claims of other builders among ``keys``: ``{key: "host pid"}``."""
        out = {}
        for key in keys:
            found = self.owner(self.path(key))
            if found is not None and found[0].get("token") != self.me["token"] and not self.dead(*found):
                out[key] = f"{found[0].get('host')} pid {found[0].get('pid')}"
        return out

    def _start_heartbeat(self) -> None:
        if self._beat is not None:
            return

        def beat() -> None:
            while not self._stop.wait(HEARTBEAT):
                with self._lock:
                    paths = list(self.held)
                for path in paths:
                    try:
                        os.utime(path)
                    except OSError:
                        pass

        self._beat = threading.Thread(target=beat, name="zoo-claims-heartbeat", daemon=True)
        self._beat.start()


def _key(variant: str, i: int) -> str:
    return f"{variant}-member_{i:05d}"


def _waiting(name: str, missing: list[str], held: Mapping[str, str]) -> str:
    by: dict[str, list[str]] = {}
    for key, who in held.items():
        by.setdefault(who, []).append(key)
    return (f"zoo {name}: waiting for {len(missing)} member(s) that other builders are training ("
            + "; ".join(f"{who}: {', '.join(keys)}" for who, keys in by.items()) + ")")


def _members_at_once(dev: torch.device) -> int:
    """How many members :func:`~symlib.training.train_members` trains at once on this route (its defaults: GPU
    populations of 64 on ``1/8`` of a GPU each, one member per CPU core), here or on the ``RAY_ADDRESS`` cluster."""
    if dev.type == "cuda":
        return 64 * parallel_tasks(num_gpus=0.125)
    return parallel_tasks()


_README = """CIFAR-10 zoo "{name}" of symlib (Lim et al. 2024, Tables 3-4): ResNet8 members of the variants {variants}.

<variant>/member_XXXXX.npz
    NumPy arrays "init/<name>" and "final/<name>" for every entry of the PyTorch state_dict (parameters and
    buffers, the fixed W-Asym masks / constants and sigma-Asym F included); no "final/" arrays if the member
    diverged. Load with: f = numpy.load(path); final = {{k[6:]: f[k] for k in f.files if k.startswith("final/")}}
<variant>/member_XXXXX.json
    the member's record: hyper-parameters (Table 8 draw), init_seed / data_seed (torch seeds of the
    initialisation and of the data order and augmentation), diverged, the per-epoch training curve, metrics, and
    the SHA-256 of the .npz.
index.csv   one row per member: variant, member, file, hyper-parameters, seeds, arch_seed (seed of the variant's
            fixed tensors), diverged, train_loss / train_acc (fixed {eval_train}-image subset of the training
            images, label smoothing included, no augmentation), test_loss / test_acc ({test} test images).
curves.csv  per-epoch training curve: variant, member, epoch, train_loss, train_acc (running mean over the epoch,
            with augmentation and label smoothing).

Recipe: {recipe}
Rebuild or grow: `make zoo SCALE={name}` (or `python -m symlib.zoo build {name} --members N`) in the symlib repository.
"""


class Zoo:
    """A named zoo on disk: ``Zoo("small").build()``, ``Zoo("small").members("w_asym", 40)``, ``.weights(...)``."""

    def __init__(self, name: str, root: str | os.PathLike | None = None) -> None:
        self.name = name
        self.recipe = recipe(name)
        self.hash = results.config_hash(identity(self.recipe))[:12]
        self.directory = Path(root) if root is not None else zoo_root() / f"{name}-{self.hash}"

    # ------------------------------------------------------------------------------------------- reading

    def _paths(self, variant: str, i: int) -> tuple[Path, Path]:
        stem = self.directory / variant / f"member_{i:05d}"
        return stem.with_suffix(".npz"), stem.with_suffix(".json")

    def _record(self, variant: str, i: int) -> dict | None:
        """Member ``i``'s record if its files are complete and its checksum matches, else ``None``."""
        npz, meta = self._paths(variant, i)
        try:
            record = json.loads(meta.read_text())
            if record.get("sha256") != _sha256(npz):
                return None
        except (OSError, ValueError):
            return None
        return record

    def built(self, variant: str, n: int) -> list[int]:
        """The indices ``< n`` of ``variant`` whose files are complete and valid."""
        return [i for i in range(n) if self._record(variant, i) is not None]

    def members(self, variant: str, n: int | None = None) -> list[dict]:
        """Records of members ``0 … n−1`` of ``variant`` (default: the recipe's size); :class:`MissingZoo` if any is
        missing or invalid, with the command that builds them."""
        n = self.recipe["n_members"] if n is None else n
        records = [self._record(variant, i) for i in range(n)]
        missing = [i for i, r in enumerate(records) if r is None]
        if missing:
            raise MissingZoo(
                f"zoo {self.name!r} lacks {len(missing)} of the {n} {variant} members asked for (first missing: "
                f"member {missing[0]}) in {self.directory}; build them with `make zoo SCALE={self.name}` "
                f"(or `python -m symlib.zoo build {self.name} --members {n}`)")
        return records

    def weights(self, variant: str, i: int) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor] | None]:
        """``(init_state, final_state)`` of member ``i`` (``final`` is ``None`` if it diverged)."""
        if self._record(variant, i) is None:
            self.members(variant, i + 1)  # raises MissingZoo with the build command
        return load_member(self._paths(variant, i)[0])

    def model(self, variant: str) -> ResNet8:
        """An (untrained) network of ``variant``'s architecture: a template for states of this zoo."""
        return build_model(model_config(self.recipe, variant))

    def data(self) -> tuple[Dataset, Dataset, Dataset]:
        return data(self.recipe)

    def stored_summary(self, n: int | None = None) -> dict | None:
        """The summary record ``results/<name>/zoo-<hash>.json`` written by :meth:`build` (no weights needed)."""
        return results.load_result(NAME, self.summary_config(n))

    def summary_config(self, n: int | None = None) -> dict[str, Any]:
        return {"scale": self.name, "zoo": self.name, "recipe_hash": self.hash,
                "n_members": self.recipe["n_members"] if n is None else n, **identity(self.recipe)}

    # ------------------------------------------------------------------------------------------- building

    def build(self, n_members: int | None = None, *, device: str = "auto", progress: bool = True,
              batch: int | None = None) -> dict:
        """Train every missing or invalid member ``< n_members`` of every variant, measure the new ones, write the
        index and the summary record; returns the summary record. Members already built are kept; members that
        other builders of this folder have claimed are theirs (this build waits for them, module docstring).
        ``batch``: members claimed at a time (default: as many as train at once here)."""
        n = self.recipe["n_members"] if n_members is None else int(n_members)
        dev = resolve_device(device)
        rec = self.recipe
        t0 = time.perf_counter()
        train_ds, eval_ds, test_ds = self.data()
        draws = [hyperparameters(rec, i) for i in range(n)]
        source = tensor_batches(train_ds.X, train_ds.y, member(rec, draws[0]).train if draws else TrainConfig(),
                                functools.partial(augment, translate=rec["translate"], cutout=rec["cutout"]))
        order = sorted(range(n), key=lambda i: (-draws[i]["epochs"], i))  # rounds of members that finish together
        done = {(v, i) for v in VARIANTS for i in range(n) if self._record(v, i) is not None}
        todo_work = sum(draws[i]["epochs"] for v in VARIANTS for i in range(n) if (v, i) not in done) * len(train_ds.y)
        # the route of the whole build, not of one round (a round alone may look small enough to stay in process)
        workers = 1 if todo_work < IN_PROCESS_BELOW else cpu_workers()
        claims = _Claims(self.directory)
        bar = tqdm(total=len(VARIANTS) * n - len(done), desc=f"zoo {self.name}: members", disable=not progress)
        trained, told = 0, None
        try:
            with session():  # one Ray instance for every round (if the route needs Ray at all)
                batch = batch or _members_at_once(dev)
                while True:
                    for v, i in [(v, i) for v in VARIANTS for i in order if (v, i) not in done]:
                        if self._record(v, i) is not None:  # built by another builder meanwhile
                            done.add((v, i))
                            bar.update()
                    variant, todo = None, []
                    for v, i in [(v, i) for v in VARIANTS for i in order if (v, i) not in done]:
                        if len(todo) == batch or (variant is not None and v != variant):
                            break
                        if not claims.take(_key(v, i)):
                            continue
                        if self._record(v, i) is not None:  # finished just before we claimed it
                            claims.release(_key(v, i))
                            done.add((v, i))
                            bar.update()
                            continue
                        variant = v
                        todo.append(i)
                    if todo:
                        self._train(variant, todo, draws, source, eval_ds, test_ds, dev, claims, done, bar, workers)
                        trained += len(todo)
                        continue
                    missing = [_key(v, i) for v in VARIANTS for i in range(n) if (v, i) not in done]
                    if not missing:
                        break
                    held = claims.others(missing)
                    if held != told:  # say once what this builder waits for, and again when it changes
                        tqdm.write(_waiting(self.name, missing, held), file=sys.stderr)
                        told = held
                    time.sleep(POLL)
            bar.close()
            while not claims.take("index"):  # one builder at a time writes the index and the summary
                time.sleep(min(POLL, 1.0))
            self.write_index(n)
            summary = self.summary(n)
            summary.update(trained_now=trained, build_time_s=time.perf_counter() - t0)
            return results.save_result(NAME, self.summary_config(n), summary, summary["build_time_s"], str(dev),
                                       code_root="symlib.zoo")  # not __name__: "__main__" under python -m
        finally:
            bar.close()
            claims.release_all()

    def _train(self, variant: str, todo: list[int], draws: list[dict], source, eval_ds: Dataset, test_ds: Dataset,
               dev: torch.device, claims: _Claims, done: set, bar, workers: int) -> None:
        """Train the claimed members ``todo`` of ``variant``; each is written, then its claim dropped, as it ends."""
        (self.directory / variant).mkdir(parents=True, exist_ok=True)

        def save(k: int, result: dict) -> None:
            i = todo[k]
            self._save(variant, i, draws[i], result, self.model(variant), eval_ds, test_ds, str(dev))
            claims.release(_key(variant, i))
            done.add((variant, i))
            bar.update()

        train_members([member(self.recipe, draws[i], variant) for i in todo], source, device=str(dev), progress=False,
                      workers=workers, on_result=save)

    def _save(self, variant: str, i: int, draw: Mapping[str, Any], result: Mapping[str, Any], model: ResNet8,
              eval_ds: Dataset, test_ds: Dataset, device: str) -> None:
        """Measure member ``i`` and write its ``.npz``, then its ``.json`` (the ``.json`` marks it complete)."""
        npz, meta = self._paths(variant, i)
        arrays = {f"init/{k}": v.numpy() for k, v in result["init"].items()}
        metrics = {"train_loss": None, "train_acc": None, "test_loss": None, "test_acc": None}
        if result["final"] is not None:
            arrays.update({f"final/{k}": v.numpy() for k, v in result["final"].items()})
            on_train = evaluate_states(model, [result["final"]], (eval_ds.X, eval_ds.y),
                                       hyper={"label_smoothing": [draw["label_smoothing"]]}, device=device)
            on_test = evaluate_states(model, [result["final"]], (test_ds.X, test_ds.y), device=device)
            metrics = {"train_loss": on_train["loss"][0], "train_acc": on_train["acc"][0],
                       "test_loss": on_test["loss"][0], "test_acc": on_test["acc"][0]}
        _write_atomically(npz, lambda p: np.savez(open(p, "wb"), **arrays))
        record = {"variant": variant, "member": i, "file": f"{variant}/{npz.name}", **draw,
                  "arch_seed": model_config(self.recipe, variant).arch_seed, "diverged": bool(result["diverged"]),
                  **metrics, "history": result["history"], "sha256": _sha256(npz)}
        _write_atomically(meta, lambda p: p.write_text(json.dumps(record, indent=1) + "\n"))

    def summary(self, n: int) -> dict:
        """Members' records (without weights) and per-variant counts: what chapters read without the weights."""
        rows = [self.members(v, n) for v in VARIANTS]
        return {"members": [{k: v for k, v in r.items() if k != "sha256"} for rs in rows for r in rs],
                "trainable_parameters": {v: trainable_parameters(self.model(v)) for v in VARIANTS},
                "total_parameters": sum(p.numel() for p in self.model("standard").parameters()),
                "directory": str(self.directory), "n_members": n, "recipe": dict(self.recipe)}

    def write_index(self, n: int) -> None:
        """``index.csv``, ``curves.csv`` and ``README.txt`` for members ``< n`` (plain CSV and text)."""
        rows = [r for v in VARIANTS for r in self.members(v, n)]
        columns = [k for k in rows[0] if k not in ("history", "sha256")]
        with open(self.directory / "index.csv", "w", newline="") as f:
            w = csv.DictWriter(f, columns)
            w.writeheader()
            w.writerows({k: r[k] for k in columns} for r in rows)
        with open(self.directory / "curves.csv", "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["variant", "member", "epoch", "train_loss", "train_acc"])
            for r in rows:
                h = r["history"]
                w.writerows([r["variant"], r["member"], e, l, a]
                            for e, l, a in zip(h["epoch"], h["train_loss"], h.get("train_acc", [])))
        (self.directory / "README.txt").write_text(_README.format(
            name=self.name, variants=", ".join(VARIANTS), eval_train=self.recipe["eval_train_size"],
            test=self.recipe["test_size"], recipe=json.dumps(identity(self.recipe))))


def load_member(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor] | None]:
    """``(init_state, final_state)`` from a member's ``.npz`` (``final`` is ``None`` if it diverged)."""
    with np.load(path) as f:
        init = {k[5:]: torch.from_numpy(f[k]) for k in f.files if k.startswith("init/")}
        final = {k[6:]: torch.from_numpy(f[k]) for k in f.files if k.startswith("final/")}
    return init, (final or None)


def check_quality(record: Mapping[str, Any], bar: Mapping[str, float] | None) -> dict[str, float]:
    """Mean test accuracy of the non-diverged members per variant; raises ``ValueError`` if it is below ``bar``
    (``{"standard": a, "every variant": b}``; ``None``: no bar)."""
    members = record["result"]["members"] if "result" in record else record["members"]
    accs = {v: [m["test_acc"] for m in members if m["variant"] == v and not m["diverged"]] for v in VARIANTS}
    if not all(accs.values()):
        raise ValueError(f"no trained member in variant(s) {[v for v, a in accs.items() if not a]}")
    means = {v: float(np.mean(a)) for v, a in accs.items()}
    if bar:
        low = [f"{v} {100 * a:.1f} %" for v, a in means.items()
               if a < bar["every variant"] or (v == "standard" and a < bar["standard"])]
        if low:
            raise ValueError(f"zoo below its training-quality bar (standard >= {100 * bar['standard']:.0f} %, every "
                             f"variant >= {100 * bar['every variant']:.0f} % mean test accuracy): {', '.join(low)}")
    return means


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m symlib.zoo", description="Build or inspect a named CIFAR-10 zoo.")
    sub = ap.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="train the missing members (resumable; grows a zoo without retraining)")
    b.add_argument("name", choices=sorted(RECIPES))
    b.add_argument("--members", type=int, default=None, help="members per variant (default: the recipe's)")
    b.add_argument("--device", default="auto")
    i = sub.add_parser("info", help="where a zoo lives and how many members are built")
    i.add_argument("name", choices=sorted(RECIPES))
    args = ap.parse_args(argv)
    zoo = Zoo(args.name)
    if args.command == "info":
        n = zoo.recipe["n_members"]
        print(f"zoo {zoo.name!r} in {zoo.directory}: " + ", ".join(f"{v} {len(zoo.built(v, n))}/{n}" for v in VARIANTS))
        claimed = sorted(p.stem for p in (zoo.directory / ".claims").glob("*.claim"))
        if claimed:  # a build in progress (or a dead builder's claims, taken over by the next build)
            print(f"being trained by builders: {', '.join(claimed)}")
        return
    record = zoo.build(args.members, device=args.device)
    means = check_quality(record, zoo.recipe["quality_bar"])
    print(f"zoo {zoo.name!r}: {record['result']['n_members']} members per variant in {zoo.directory} "
          f"({record['result']['trained_now']} trained now, {record['result']['build_time_s'] / 60:.1f} min); mean test "
          f"accuracy " + ", ".join(f"{v} {100 * a:.1f} %" for v, a in means.items()))


if __name__ == "__main__":
    main(sys.argv[1:])
