"""Trained members on disk, keyed by their definition: a re-run trains only what is not stored yet.

A trained member is a value of its **definition**: the :class:`~symlib.training.Member` (architecture config as
:func:`~symlib.architectures.describe` gives it, :class:`~symlib.training.TrainConfig`, init and data seeds), the
data it saw (the batch source: SHA-256 of its tensors' bytes with their dtypes and shapes — ``X``, ``y`` of a
:class:`~symlib.batches.TensorBatches`, ``x``, ``edge_index``, ``y``, ``mask`` of a
:class:`~symlib.batches.FullGraph` — its batch size, and its augmentation by qualified name with a partial's
arguments), the objective (class and hyper-parameters; ``None`` is ``CrossEntropy()``), the validation data whose
metrics its history holds, and the **code** that trains it (:func:`code_fingerprint`: the fingerprint of
:mod:`symlib.training` and every symlib module it imports — architectures, layers, variants, objectives, batches,
evaluation — comments and docstrings ignored). Its **key** is the SHA-256 of that definition and fingerprint, so a
changed train config, seed, datum or line of training code is a different member: never a stale reuse. The device
is not part of the key (it is recorded as ``trained_on``), as a result's device is not part of its config.

A member is two files written as soon as it is trained: ``<stem>.npz`` (NumPy arrays ``init/<tensor>`` and
``final/<tensor>``, the full state dicts; no ``final/`` if it diverged) and ``<stem>.json`` (key, definition, code
fingerprint, ``diverged``, history, the SHA-256 of the ``.npz``, and whatever its writer adds), each written
atomically (a temporary file, then a rename), the ``.json`` last: a member whose ``.json`` is missing, unreadable,
keyed differently or whose ``.npz`` fails its checksum is absent, and trained again. The ``.npz`` is read once per
load, hashed and parsed from the same bytes.

Two users of this one mechanism:

* :class:`MemberStore`, where :func:`~symlib.training.train_members` keeps every member it trains:
  ``$SYMLIB_MEMBERS`` (``off`` disables it), else ``members/`` at the project root (git-ignored); a member is
  ``<architecture>/<key[:24]>.npz`` and ``.json``. ``make clean-cache`` empties it.
* the CIFAR-10 zoo (:mod:`symlib.zoo`), whose readable layout ``<variant>/member_00042.npz`` / ``.json`` holds the
  same files with the member's key, and whose builders share a folder through :class:`Claims`.

**Claims** (for several builders sharing a folder, on one machine or over NFS): before training a member a builder
takes an exclusive claim on it, the file ``.claims/<name>.claim`` (host, pid, start time, a random token) published
with ``os.link``, so exactly one builder creates it, complete. A claim whose builder died is taken over: at once on
the same host when its pid is no longer alive; from any host when the claim file has not been touched for
:data:`STALE_AFTER` s (a builder touches its claims every :data:`HEARTBEAT` s).
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import functools
import hashlib
import io
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

from . import results
from .architectures import describe
from .architectures.registry import registered

#: Format of a member's ``.json`` (part of the key: a new format never reads an old file as a member).
FORMAT = 1
#: ``$SYMLIB_MEMBERS`` value that disables the member store.
OFF = "off"
_HOST = socket.gethostname()


# ------------------------------------------------------------------------------------------- definitions

def _tensor_id(t: torch.Tensor | np.ndarray) -> dict[str, Any]:
    """SHA-256 of a tensor's bytes (C order), with its dtype and shape."""
    if isinstance(t, np.ndarray):
        a = np.ascontiguousarray(t)
        digest = hashlib.sha256(a.view(np.uint8).reshape(-1).data if a.size else b"").hexdigest()
        return {"sha256": digest, "dtype": str(a.dtype), "shape": list(a.shape)}
    c = t.detach().cpu().contiguous()
    raw = c.reshape(-1).view(torch.uint8).numpy() if c.numel() else np.zeros(0, np.uint8)
    return {"sha256": hashlib.sha256(raw.data).hexdigest(), "dtype": str(c.dtype), "shape": list(c.shape)}


def _qualname(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', getattr(obj, '__name__', repr(obj)))}"


def describe_value(value: Any, _depth: int = 0) -> Any:
    """``value`` as canonical JSON-able data for a key: tensors and arrays by the SHA-256 of their bytes, functions
    and classes by qualified name, a ``functools.partial`` by its function and arguments, dataclasses and plain
    objects by type and fields (non-finite floats as strings)."""
    if _depth > 8:
        return repr(value)
    d = _depth + 1
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if np.isfinite(value) else repr(value)
    if isinstance(value, (torch.Tensor, np.ndarray)):
        return {"tensor": _tensor_id(value)}
    if isinstance(value, np.generic):
        return describe_value(value.item(), d)
    if isinstance(value, (list, tuple)):
        return [describe_value(v, d) for v in value]
    if isinstance(value, Mapping):
        return {str(k): describe_value(v, d) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, functools.partial):
        return {"partial": _qualname(value.func), "args": describe_value(list(value.args), d),
                "kwargs": describe_value(dict(value.keywords), d)}
    if isinstance(value, type) or callable(value) and not hasattr(value, "__dict__") or \
            hasattr(value, "__code__") or isinstance(value, (staticmethod, classmethod)):
        return {"callable": _qualname(value)}
    if dataclasses.is_dataclass(value):
        return {"type": _qualname(type(value)),
                **{f.name: describe_value(getattr(value, f.name), d) for f in dataclasses.fields(value)}}
    if isinstance(value, torch.nn.Module):
        return {"type": _qualname(type(value)), "state": describe_value(dict(value.state_dict()), d)}
    if hasattr(value, "__dict__"):
        return {"type": _qualname(type(value)),
                **{k: describe_value(v, d) for k, v in sorted(vars(value).items()) if not k.startswith("_")}}
    return repr(value)


def describe_source(source: Any) -> dict[str, Any]:
    """The identity of the data a batch source feeds: its type, tensors (hashed), batch size and augmentation."""
    from .batches import FullGraph, TensorBatches
    if isinstance(source, TensorBatches):
        return {"type": "TensorBatches", "X": _tensor_id(source.X), "y": _tensor_id(source.y),
                "batch_size": source.batch_size, "augment": describe_value(source.augment)}
    if isinstance(source, FullGraph):
        return {"type": "FullGraph", **{k: _tensor_id(getattr(source, k)) for k in ("x", "edge_index", "y", "mask")}}
    return describe_value(source)


def describe_objective(objective: Any) -> Any:
    """The objective's class and hyper-parameters (``None``: the training loop's default, ``CrossEntropy()``)."""
    if objective is None:
        from .objectives import CrossEntropy
        objective = CrossEntropy()
    return describe_value(objective)


@functools.lru_cache(maxsize=None)
def _code() -> tuple[tuple[str, str], ...]:
    fp = dict(results.fingerprint("symlib.training"))
    fp.pop(__name__, None)  # storage does not change a trained member
    return tuple(sorted(fp.items()))


def code_fingerprint() -> dict[str, str]:
    """``{module: hash}`` of the code that trains a member: :mod:`symlib.training` and what it imports."""
    return dict(_code())


class Definitions:
    """Keys of members trained on one source, objective and validation set (their data hashed once)."""

    def __init__(self, source: Any, objective: Any = None, val: Any = None) -> None:
        self.context = {"data": describe_source(source), "objective": describe_objective(objective),
                        "val": describe_value(val)}
        self.code = code_fingerprint()

    def definition(self, member: Any) -> dict[str, Any]:
        model = describe(member.model) if dataclasses.is_dataclass(member.model) else describe_value(member.model)
        return {"format": FORMAT, "model": describe_value(model), "train": describe_value(member.train),
                "init_seed": int(member.init_seed), "data_seed": int(member.data_seed), **self.context}

    def key(self, member: Any) -> str:
        """SHA-256 of the member's definition and the training code's fingerprint."""
        return results.config_hash({"definition": self.definition(member), "code": self.code})


# ------------------------------------------------------------------------------------------- member files

def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_atomically(path: Path, data: bytes | str) -> None:
    """Write ``path`` through a temporary file of this host and process, then rename (readers never see half)."""
    tmp = path.with_name(f"{path.name}.{_HOST}-{os.getpid()}.tmp")  # writers sharing a folder never share a tmp
    if isinstance(data, str):
        tmp.write_text(data)
    else:
        tmp.write_bytes(data)
    os.replace(tmp, path)


def write_member(stem: Path, result: Mapping[str, Any], record: Mapping[str, Any]) -> dict[str, Any]:
    """Write a trained member (``{"init", "final", "diverged", "history"}``) as ``stem.npz`` then ``stem.json``
    (``record`` plus ``diverged``, ``history`` and ``sha256``); returns the record written."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"init/{k}": v.detach().cpu().numpy() for k, v in result["init"].items()}
    if result["final"] is not None:
        arrays.update({f"final/{k}": v.detach().cpu().numpy() for k, v in result["final"].items()})
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    data = buf.getvalue()
    write_atomically(stem.with_suffix(".npz"), data)
    full = {**record, "diverged": bool(result["diverged"]), "history": result["history"], "sha256": sha256_bytes(data)}
    write_atomically(stem.with_suffix(".json"), json.dumps(full, indent=1) + "\n")
    return full


def read_record(stem: Path) -> dict | None:
    """A member's ``.json``, or ``None`` if it is missing or unreadable (its ``.npz`` is not checked)."""
    try:
        return json.loads(stem.with_suffix(".json").read_text())
    except (OSError, ValueError):
        return None


def read_weights(stem: Path, sha256: str) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor] | None] | None:
    """``(init, final)`` from ``stem.npz`` if its bytes hash to ``sha256`` (read and hashed once), else ``None``."""
    try:
        data = stem.with_suffix(".npz").read_bytes()
    except OSError:
        return None
    if sha256_bytes(data) != sha256:
        return None
    try:
        return npz_states(io.BytesIO(data))
    except (OSError, ValueError, KeyError):
        return None


def verify(stem: Path, sha256: str) -> bool:
    """Whether ``stem.npz`` hashes to ``sha256``."""
    try:
        return sha256_bytes(stem.with_suffix(".npz").read_bytes()) == sha256
    except OSError:
        return False


def npz_states(file) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor] | None]:
    """``(init_state, final_state)`` from a member's ``.npz`` (a path or file object; ``final`` ``None`` if it
    diverged)."""
    with np.load(file) as f:
        init = {k[5:]: torch.from_numpy(f[k]) for k in f.files if k.startswith("init/")}
        final = {k[6:]: torch.from_numpy(f[k]) for k in f.files if k.startswith("final/")}
    return init, (final or None)


# ------------------------------------------------------------------------------------------- the member store

def members_root() -> Path | None:
    """``$SYMLIB_MEMBERS`` (``off``: ``None``, no store), else ``members/`` at the project root."""
    value = os.environ.get("SYMLIB_MEMBERS", "")
    if value.strip().lower() == OFF:
        return None
    return Path(value) if value else results.project_root() / "members"


class MemberStore:
    """Trained members by key in ``root``: ``<architecture>/<key[:24]>.npz`` and ``.json`` (module docstring)."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    @classmethod
    def default(cls) -> MemberStore | None:
        root = members_root()
        return None if root is None else cls(root)

    def stem(self, member: Any, key: str) -> Path:
        built_by = registered().get(type(member.model))
        arch = built_by.__name__ if built_by is not None else type(member.model).__name__
        return self.root / arch / key[:24]

    def load(self, member: Any, key: str) -> dict | None:
        """The stored result of ``member`` (``{"init", "final", "diverged", "history"}``), or ``None``."""
        stem = self.stem(member, key)
        record = read_record(stem)
        if record is None or record.get("key") != key or "sha256" not in record:
            return None
        states = read_weights(stem, record["sha256"])
        if states is None:
            return None
        return {"init": states[0], "final": states[1], "diverged": bool(record["diverged"]),
                "history": record["history"]}

    def save(self, member: Any, key: str, definition: Mapping[str, Any], code: Mapping[str, str],
             result: Mapping[str, Any], device: str = "") -> None:
        write_member(self.stem(member, key), result,
                     {"key": key, "definition": definition, "code": dict(code), "trained_on": device,
                      "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")})


def clean(root: Path | None = None) -> tuple[Path | None, int, int]:
    """Empty the member store: ``(root, members removed, bytes freed)`` (``root`` ``None`` when it is off). Only
    the store's own files (``<architecture>/<key>.npz|.json`` and temporaries) are removed, then empty folders."""
    root = members_root() if root is None else Path(root)
    if root is None or not root.exists():
        return root, 0, 0
    count = size = 0
    for path in sorted(root.glob("*/*")):
        if path.is_file() and (path.suffix in (".npz", ".json") or path.name.endswith(".tmp")):
            count += path.suffix == ".json"
            size += path.stat().st_size
            path.unlink()
    for folder in [p for p in root.iterdir() if p.is_dir()] + [root]:
        try:
            folder.rmdir()
        except OSError:  # not empty: something else lives there
            pass
    return root, count, size


def tell_reuse(reused: int, total: int, root: Path) -> None:
    """One line on stderr: how many of a run's members came from the store, and where it is."""
    print(f"symlib: reused {reused} of {total} trained members from {root.resolve()}"
          + (f"; training {total - reused}, each stored as it finishes" if reused < total else ""),
          file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------- claims

#: Seconds without a heartbeat after which a claim of another host is taken over (its builder is presumed dead).
STALE_AFTER = 900.0
#: Seconds between two touches of the claims a builder holds.
HEARTBEAT = 60.0
#: Seconds between two looks at members that other builders are training.
POLL = 2.0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


class Claims:
    """One builder's claims on the members of a folder (module docstring)."""

    def __init__(self, directory: Path) -> None:
        self.folder = Path(directory) / ".claims"
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

        self._beat = threading.Thread(target=beat, name="claims-heartbeat", daemon=True)
        self._beat.start()


__all__ = ["MemberStore", "Definitions", "Claims", "members_root", "code_fingerprint", "clean", "write_member",
           "read_record", "read_weights", "verify", "npz_states", "write_atomically", "describe_value",
           "describe_source", "describe_objective", "tell_reuse", "STALE_AFTER", "HEARTBEAT", "POLL", "OFF"]


def main(argv: list[str] | None = None) -> None:
    """``python -m symlib.store clean``: empty the member store and say what was removed."""
    import argparse
    ap = argparse.ArgumentParser(prog="python -m symlib.store",
                                 description="The store of trained members ($SYMLIB_MEMBERS, else members/ at the "
                                             "project root; SYMLIB_MEMBERS=off disables it).")
    ap.add_argument("command", choices=["clean", "where"],
                    help="clean: remove every stored member (not results/, not the zoo); where: print the folder")
    args = ap.parse_args(argv)
    if args.command == "where":
        print(members_root() or "the member store is off (SYMLIB_MEMBERS=off)")
        return
    root, count, size = clean()
    if root is None:
        print("symlib: the member store is off (SYMLIB_MEMBERS=off): nothing to remove")
    elif count or size:
        print(f"symlib: removed {count} trained member(s) ({size / 2**20:.1f} MiB) from {root.resolve()}")
    else:
        print(f"symlib: no trained members to remove in {root.resolve()}")


if __name__ == "__main__":
    main(sys.argv[1:])
