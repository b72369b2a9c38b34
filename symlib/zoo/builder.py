"""Building and reading a zoo on disk (:class:`Zoo`): members written through :mod:`symlib.store`, claimed by the
builders sharing a folder, keyed by their definition and the training code (see :mod:`symlib.zoo`)."""
from __future__ import annotations

import csv
import functools
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch
from tqdm import tqdm

from .. import results, store
from ..architectures import ResNet8, build_model
from ..data import Dataset
from ..devices import resolve_device
from ..distributed import cpu_workers, parallel_tasks, session
from ..evaluation import evaluate_states
from ..layers import trainable_parameters
from ..training import IN_PROCESS_BELOW, TrainConfig, tensor_batches, train_members
from ..variants import VARIANTS
from .recipes import (NAME, MissingZoo, augment, data, hyperparameters, identity, member, model_config, recipe,
                      zoo_root)

#: Fields of a member's record left out of ``index.csv`` and of the summary (long, or not a property of the member).
_NOT_INDEXED = ("history", "sha256", "training_code")


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
    initialisation and of the data order and augmentation), diverged, the per-epoch training curve, metrics, the
    SHA-256 of the .npz, member_key (SHA-256 of the member's definition, data and training code: a member whose
    key differs from the one the current code gives is retrained, never reused), training_code (the fingerprint
    of that code) and trained_on (device).
index.csv   one row per valid member on disk: variant, member, file, hyper-parameters, seeds, arch_seed (seed of the
            variant's fixed tensors), diverged, train_loss / train_acc (fixed {eval_train}-image subset of the
            training images, label smoothing included, no augmentation), test_loss / test_acc ({test} test images),
            member_key, trained_on.
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
        #: the variants this zoo holds (the recipe's ``variants``); building, the index and ``info`` cover these only
        self.variants: tuple[str, ...] = tuple(self.recipe["variants"])
        self.directory = Path(root) if root is not None else zoo_root() / f"{name}-{self.hash}"
        self._data: tuple[Dataset, Dataset, Dataset] | None = None
        self._definitions: store.Definitions | None = None

    # ------------------------------------------------------------------------------------------- reading

    def _paths(self, variant: str, i: int) -> tuple[Path, Path]:
        stem = self.directory / variant / f"member_{i:05d}"
        return stem.with_suffix(".npz"), stem.with_suffix(".json")

    def source(self):
        """The batch source every member of this zoo trains on (training images, batch size, augmentation)."""
        rec = self.recipe
        train_ds = self.data()[0]
        return tensor_batches(train_ds.X, train_ds.y, TrainConfig(batch_size=rec["batch_size"]),
                              functools.partial(augment, translate=rec["translate"], cutout=rec["cutout"]))

    def definitions(self) -> store.Definitions:
        """Keys of this zoo's members (:mod:`symlib.store`: definition, data, training code); the data are hashed
        once per :class:`Zoo`."""
        if self._definitions is None:
            self._definitions = store.Definitions(self.source())
        return self._definitions

    def member_key(self, variant: str, i: int) -> str:
        """The store key of member ``i`` of ``variant``: its definition and the fingerprint of the training code."""
        return self.definitions().key(member(self.recipe, hyperparameters(self.recipe, i), variant))

    def _check(self, variant: str, i: int) -> tuple[dict | None, str]:
        """``(record, "ok")`` if member ``i``'s files are complete, keyed as the current definition and code, and
        its checksum matches; else ``(None, why)``, ``why`` in ``missing``, ``stale`` (another definition or other
        training code), ``corrupt``."""
        npz, meta = self._paths(variant, i)
        record = store.read_record(meta.with_suffix(""))
        if record is None:
            return None, "missing"
        if record.get("member_key") != self.member_key(variant, i):
            return None, "stale"
        if not store.verify(npz.with_suffix(""), record.get("sha256", "")):
            return None, "corrupt"
        return record, "ok"

    def _record(self, variant: str, i: int) -> dict | None:
        """Member ``i``'s record if it is valid (:meth:`_check`), else ``None``."""
        return self._check(variant, i)[0]

    def on_disk(self, variant: str) -> tuple[list[int], dict[str, int]]:
        """``(indices, problems)``: every valid member of ``variant`` present on disk, whatever its index, and how
        many member records are ``stale`` or ``corrupt``."""
        found, problems = [], {}
        for meta in sorted((self.directory / variant).glob("member_*.json")):
            try:
                i = int(meta.stem.split("_")[1])
            except (IndexError, ValueError):
                continue
            record, why = self._check(variant, i)
            if record is not None:
                found.append(i)
            elif why != "missing":
                problems[why] = problems.get(why, 0) + 1
        return found, problems

    def built(self, variant: str, n: int) -> list[int]:
        """The indices ``< n`` of ``variant`` whose files are complete and valid."""
        return [i for i in range(n) if self._record(variant, i) is not None]

    def members(self, variant: str, n: int | None = None) -> list[dict]:
        """Records of members ``0 … n−1`` of ``variant`` (default: the recipe's size); :class:`MissingZoo` if any is
        missing or invalid, with the command that builds them."""
        n = self.recipe["n_members"] if n is None else n
        checked = [self._check(variant, i) for i in range(n)]
        missing = [i for i, (r, _) in enumerate(checked) if r is None]
        if missing:
            stale = sum(why == "stale" for _, why in checked)
            raise MissingZoo(
                f"zoo {self.name!r} lacks {len(missing)} of the {n} {variant} members asked for (first missing: "
                f"member {missing[0]}) in {self.directory}"
                + (f" ({stale} of them were trained by other training code or to another definition, and are not "
                   f"reused)" if stale else "")
                + f"; build them with `make zoo SCALE={self.name}` (or `python -m symlib.zoo build {self.name} "
                  f"--members {n}`)")
        return [r for r, _ in checked]

    def weights(self, variant: str, i: int) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor] | None]:
        """``(init_state, final_state)`` of member ``i`` (``final`` is ``None`` if it diverged)."""
        stem = self._paths(variant, i)[0].with_suffix("")
        record = store.read_record(stem)
        states = None
        if record is not None and record.get("member_key") == self.member_key(variant, i):
            states = store.read_weights(stem, record.get("sha256", ""))  # read and hashed once
        if states is None:
            self.members(variant, i + 1)  # raises MissingZoo with the build command
            raise MissingZoo(f"zoo {self.name!r}: member {i} of {variant} changed while it was read; read it again")
        return states

    def model(self, variant: str) -> ResNet8:
        """An (untrained) network of ``variant``'s architecture: a template for states of this zoo."""
        return build_model(model_config(self.recipe, variant))

    def data(self) -> tuple[Dataset, Dataset, Dataset]:
        """``(train, eval_train, test)`` of the recipe (loaded once per :class:`Zoo`)."""
        if self._data is None:
            self._data = data(self.recipe)
        return self._data

    def stored_summary(self, n: int | None = None) -> dict | None:
        """The summary record ``results/<name>/zoo-<hash>.json`` written by :meth:`build` (no weights needed)."""
        return results.load_result(NAME, self.summary_config(n))

    def summary_config(self, n: int | None = None) -> dict[str, Any]:
        return {"scale": self.name, "zoo": self.name, "recipe_hash": self.hash,
                "n_members": self.recipe["n_members"] if n is None else n, **identity(self.recipe)}

    # ------------------------------------------------------------------------------------------- building

    def build(self, n_members: int | None = None, *, device: str = "auto", progress: bool = True,
              batch: int | None = None) -> dict:
        """Train every missing or invalid member ``< n_members`` of every variant of the recipe, measure the new ones,
        write the index and the summary record; returns the summary record. Members already built are kept; members that
        other builders of this folder have claimed are theirs (this build waits for them, module docstring).
        ``batch``: members claimed at a time (default: as many as train at once here)."""
        n = self.recipe["n_members"] if n_members is None else int(n_members)
        dev = resolve_device(device)
        rec = self.recipe
        t0 = time.perf_counter()
        train_ds, eval_ds, test_ds = self.data()
        draws = [hyperparameters(rec, i) for i in range(n)]
        source = self.source()
        order = sorted(range(n), key=lambda i: (-draws[i]["epochs"], i))  # rounds of members that finish together
        done = {(v, i) for v in self.variants for i in range(n) if self._record(v, i) is not None}
        todo_work = len(train_ds.y) * sum(draws[i]["epochs"] for v in self.variants for i in range(n)
                                          if (v, i) not in done)
        # the route of the whole build, not of one round (a round alone may look small enough to stay in process)
        workers = 1 if todo_work < IN_PROCESS_BELOW else cpu_workers()
        claims = store.Claims(self.directory)
        bar = tqdm(total=len(self.variants) * n - len(done), desc=f"zoo {self.name}: members", disable=not progress)
        trained, told = 0, None
        try:
            with session():  # one Ray instance for every round (if the route needs Ray at all)
                batch = batch or _members_at_once(dev)
                while True:
                    for v, i in [(v, i) for v in self.variants for i in order if (v, i) not in done]:
                        if self._record(v, i) is not None:  # built by another builder meanwhile
                            done.add((v, i))
                            bar.update()
                    variant, todo = None, []
                    for v, i in [(v, i) for v in self.variants for i in order if (v, i) not in done]:
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
                    missing = [_key(v, i) for v in self.variants for i in range(n) if (v, i) not in done]
                    if not missing:
                        break
                    held = claims.others(missing)
                    if held != told:  # say once what this builder waits for, and again when it changes
                        tqdm.write(_waiting(self.name, missing, held), file=sys.stderr)
                        told = held
                    time.sleep(store.POLL)
            bar.close()
            while not claims.take("index"):  # one builder at a time writes the index and the summary
                time.sleep(min(store.POLL, 1.0))
            self.write_index()
            summary = self.summary(n)
            summary.update(trained_now=trained, build_time_s=time.perf_counter() - t0)
            return results.save_result(NAME, self.summary_config(n), summary, summary["build_time_s"], str(dev),
                                       code_root="symlib.zoo")  # not __name__: "__main__" under python -m
        finally:
            bar.close()
            claims.release_all()

    def _train(self, variant: str, todo: list[int], draws: list[dict], source, eval_ds: Dataset, test_ds: Dataset,
               dev: torch.device, claims: store.Claims, done: set, bar, workers: int) -> None:
        """Train the claimed members ``todo`` of ``variant``; each is written, then its claim dropped, as it ends."""
        (self.directory / variant).mkdir(parents=True, exist_ok=True)

        def save(k: int, result: dict) -> None:
            i = todo[k]
            self._save(variant, i, draws[i], result, self.model(variant), eval_ds, test_ds, str(dev))
            claims.release(_key(variant, i))
            done.add((variant, i))
            bar.update()

        train_members([member(self.recipe, draws[i], variant) for i in todo], source, device=str(dev), progress=False,
                      workers=workers, on_result=save, store=None)  # the zoo's files are its store

    def _save(self, variant: str, i: int, draw: Mapping[str, Any], result: Mapping[str, Any], model: ResNet8,
              eval_ds: Dataset, test_ds: Dataset, device: str) -> None:
        """Measure member ``i`` and write its ``.npz``, then its ``.json`` (the ``.json`` marks it complete)."""
        npz, _ = self._paths(variant, i)
        metrics = {"train_loss": None, "train_acc": None, "test_loss": None, "test_acc": None}
        if result["final"] is not None:
            on_train = evaluate_states(model, [result["final"]], (eval_ds.X, eval_ds.y),
                                       hyper={"label_smoothing": [draw["label_smoothing"]]}, device=device)
            on_test = evaluate_states(model, [result["final"]], (test_ds.X, test_ds.y), device=device)
            metrics = {"train_loss": on_train["loss"][0], "train_acc": on_train["acc"][0],
                       "test_loss": on_test["loss"][0], "test_acc": on_test["acc"][0]}
        record = {"variant": variant, "member": i, "file": f"{variant}/{npz.name}", **draw,
                  "arch_seed": model_config(self.recipe, variant).arch_seed, **metrics,
                  "member_key": self.member_key(variant, i), "training_code": self.definitions().code,
                  "trained_on": device}
        store.write_member(npz.with_suffix(""), result, record)

    def summary(self, n: int) -> dict:
        """Members' records (without weights) and per-variant counts: what chapters read without the weights."""
        rows = [self.members(v, n) for v in self.variants]
        return {"members": [{k: v for k, v in r.items() if k not in _NOT_INDEXED} for rs in rows for r in rs],
                "trainable_parameters": {v: trainable_parameters(self.model(v)) for v in self.variants},
                "total_parameters": sum(p.numel() for p in self.model(self.variants[0]).parameters()),
                "directory": str(self.directory), "n_members": n, "recipe": dict(self.recipe)}

    def write_index(self) -> int:
        """``index.csv``, ``curves.csv`` and ``README.txt`` from every valid member on disk (so a killed build's stale
        index is rewritten by the next build, or by ``python -m symlib.zoo info``); returns the rows written."""
        rows = [self._record(v, i) for v in self.variants for i in self.on_disk(v)[0]]
        rows = [r for r in rows if r is not None]
        self.directory.mkdir(parents=True, exist_ok=True)
        columns = list(dict.fromkeys(k for r in rows for k in r if k not in _NOT_INDEXED))
        index, curves = io.StringIO(newline=""), io.StringIO(newline="")
        w = csv.DictWriter(index, columns)
        w.writeheader()
        w.writerows({k: r.get(k) for k in columns} for r in rows)
        c = csv.writer(curves)
        c.writerow(["variant", "member", "epoch", "train_loss", "train_acc"])
        for r in rows:
            h = r["history"]
            c.writerows([r["variant"], r["member"], e, l, a]
                        for e, l, a in zip(h["epoch"], h["train_loss"], h.get("train_acc", [])))
        store.write_atomically(self.directory / "index.csv", index.getvalue())
        store.write_atomically(self.directory / "curves.csv", curves.getvalue())
        store.write_atomically(self.directory / "README.txt", _README.format(
            name=self.name, variants=", ".join(self.variants), eval_train=self.recipe["eval_train_size"],
            test=self.recipe["test_size"], recipe=json.dumps(identity(self.recipe))))
        return len(rows)


def load_member(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor] | None]:
    """``(init_state, final_state)`` from a member's ``.npz`` (``final`` is ``None`` if it diverged)."""
    return store.npz_states(path)


def accuracy_stats(record: Mapping[str, Any], variants: tuple[str, ...] | list[str] | None = None
                   ) -> dict[str, dict[str, float]]:
    """``{variant: {"n", "mean", "sd"}}``: how many members trained (did not diverge) and the mean and sample standard
    deviation (``ddof=1``; 0 for one member) of their test accuracies. ``record``: a zoo's summary record (or its
    ``result``) or any record with ``members`` (``variant``, ``diverged``, ``test_acc``); ``variants``: default the
    recipe's in a zoo's summary, else :data:`~symlib.variants.VARIANTS`. A variant with no trained member raises
    ``ValueError``."""
    result = record["result"] if "result" in record else record
    if variants is None:
        variants = result.get("recipe", {}).get("variants", VARIANTS)
    accs = {v: [m["test_acc"] for m in result["members"] if m["variant"] == v and not m["diverged"]] for v in variants}
    if not all(accs.values()):
        raise ValueError(f"no trained member in variant(s) {[v for v, a in accs.items() if not a]}")
    return {v: {"n": len(a), "mean": float(np.mean(a)), "sd": float(np.std(a, ddof=1)) if len(a) > 1 else 0.0}
            for v, a in accs.items()}


def check_quality(record: Mapping[str, Any], bar: Mapping[str, float] | None,
                  variants: tuple[str, ...] | list[str] | None = None) -> dict[str, float]:
    """Mean test accuracy of the non-diverged members per variant (:func:`accuracy_stats`); raises ``ValueError``
    naming every miss if the zoo is below ``bar`` (a recipe's ``quality_bar``: ``"every variant"`` / ``"<variant>"``
    floors on the mean, ``"sd"`` a floor on every variant's standard deviation; ``None``: no bar)."""
    stats = accuracy_stats(record, variants)
    if bar:
        low = [f"{v} mean {100 * s['mean']:.1f} % < {100 * floor:.0f} %" for v, s in stats.items()
               for floor in (bar.get("every variant"), bar.get(v)) if floor is not None and s["mean"] < floor]
        if "sd" in bar:
            low += [f"{v} sd {100 * s['sd']:.1f} points < {100 * bar['sd']:.0f}" for v, s in stats.items()
                    if s["sd"] < bar["sd"]]
        if low:
            raise ValueError(f"zoo below its training-quality bar ({_bar_words(bar)}; test accuracy over the trained "
                             f"members): {', '.join(low)}")
    return {v: s["mean"] for v, s in stats.items()}


def _bar_words(bar: Mapping[str, float]) -> str:
    """A bar in words: ``"standard mean >= 60 %, every variant mean >= 50 %"`` (and ``"sd >= 5 points"``)."""
    return ", ".join(f"sd >= {100 * f:.0f} points" if k == "sd" else f"{k} mean >= {100 * f:.0f} %"
                     for k, f in bar.items())
