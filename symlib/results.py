"""Results as artifacts: JSON files with a manifest, keyed by a config hash, and stamped with the code that made them.

A chapter's computation writes ``<results root>/<scale>/<name>-<hash12>.json`` holding ``{"manifest": ...,
"result": ...}``. The manifest records the config and its SHA-256 hash, the git commit (``-dirty`` when ``symlib/``
differed from it), package versions, device, wall time, and a **code fingerprint**: a hash of every symlib module
the computation imports (transitively) and of every package ``__init__`` that runs on the way (``symlib``,
``symlib.chapters``, the chapter's own package, ...), comments and docstrings ignored. :func:`load_or_run` loads a stored result
whose config hash matches, else computes and stores it; a stored result whose fingerprint differs from the code
now is returned marked **stale** (``record["stale"]`` names the modules that changed), and the notebook and the
ledger say so instead of silently reusing it.

The results root is ``$SYMLIB_RESULTS`` if set, else ``results/`` at the project root (:func:`project_root`).
Every chapter run says where it read and wrote (:func:`tell`): one ``symlib: read|wrote <path>`` line on stderr (in
Jupyter it shows under the cell; the book drops stderr), and, when ``$SYMLIB_RUN_LOG`` names a file, a JSON line
there, which :mod:`symlib.notebook` turns into its closing summary. New files under the project's ``results/`` are
git-ignored, so an ad-hoc re-run cannot be committed by accident (``git add -f`` keeps one on purpose).
"""
from __future__ import annotations

import ast
import datetime as _dt
import hashlib
import importlib.util
import io
import json
import os
import platform
import subprocess
import sys
import time
import tokenize
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

PACKAGE_DIR = Path(__file__).resolve().parent
#: Modules that do not change a computed number (storage, trained-member cache, presets, verdicts, figures,
#: scheduling: tests hold results independent of where they ran), left out of fingerprints so editing them never
#: stales a result.
NOT_FINGERPRINTED = ("symlib.results", "symlib.params", "symlib.claims", "symlib.stats", "symlib.plotting",
                     "symlib.ledger", "symlib.notebook", "symlib.distributed", "symlib.store",
                     "symlib.zoo.named_recipes")
#: ``symlib.zoo.named_recipes`` holds the zoos' recipes as values: a result that read a zoo is stale when the hash
#: of that zoo's recipe (recorded as ``zoo_recipe_hash``, or a zoo build record's ``recipe_hash``) differs from the
#: recipe's now, whatever happened to the other recipes.


def project_root() -> Path:
    """The source checkout symlib runs from (the folder with ``pyproject.toml`` above the package), else the
    current directory."""
    return PACKAGE_DIR.parent if (PACKAGE_DIR.parent / "pyproject.toml").exists() else Path.cwd()


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)


def config_hash(config: dict) -> str:
    """SHA-256 of the config's canonical JSON (sorted keys): same config, same hash, everywhere."""
    return hashlib.sha256(canonical_json(config).encode("utf-8")).hexdigest()


def results_root() -> Path:
    return Path(os.environ["SYMLIB_RESULTS"]) if os.environ.get("SYMLIB_RESULTS") else project_root() / "results"


def result_path(name: str, config: dict) -> Path:
    return results_root() / config["scale"] / f"{name}-{config_hash(config)[:12]}.json"


# ------------------------------------------------------------------------------------------- messages

def _untracked_in_project(path: Path) -> bool:
    """Whether ``path`` lies in the project's own ``results/`` and git does not track it (a new, ignored file)."""
    root = project_root()
    try:
        path.resolve().relative_to((root / "results").resolve())
    except ValueError:
        return False
    try:
        out = subprocess.run(["git", "ls-files", "--error-unmatch", str(path.resolve())], cwd=root,
                             capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode != 0


def note_for(path: str | Path) -> str:
    """What a reader should know about a written result file: ``""``, or that git ignores it (new, in ``results/``)."""
    return (" (new: git ignores new files in results/; `git add -f` to commit it)"
            if _untracked_in_project(Path(path)) else "")


def tell(event: str, path: str | Path, stale: list[str] | None = None) -> None:
    """Say that this run ``event`` (``"read"`` / ``"wrote"``) the result file ``path``: a line on stderr, and a JSON
    line appended to ``$SYMLIB_RUN_LOG`` if set."""
    path = Path(path).resolve()
    extra = f" (stale: code changed since: {', '.join(stale)})" if stale else ""
    if event == "wrote":
        extra += note_for(path)
    print(f"symlib: {event} {path}{extra}", file=sys.stderr, flush=True)
    log = os.environ.get("SYMLIB_RUN_LOG")
    if log:
        with open(log, "a") as f:
            f.write(json.dumps({"event": event, "path": str(path), "stale": list(stale or [])}) + "\n")


# ------------------------------------------------------------------------------------------- fingerprints

def _code_text(path: Path) -> str:
    """The tokens of a Python file without comments, docstrings and layout: what a fingerprint hashes."""
    source = path.read_text()
    docstrings: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and body \
                and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                and isinstance(body[0].value.value, str):
            docstrings.update(range(body[0].lineno, body[0].end_lineno + 1))
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}
    return " ".join(t.string if t.type != tokenize.NEWLINE else "\n"
                    for t in tokenize.generate_tokens(io.StringIO(source).readline)
                    if t.type not in skip and t.start[0] not in docstrings)


def _imports(module: str) -> set[str]:
    """symlib modules that ``module`` imports directly (relative or absolute)."""
    spec = importlib.util.find_spec(module)
    path = Path(spec.origin)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            if not base.startswith("symlib"):
                continue
            found.add(base)
            for alias in node.names:
                if importlib.util.find_spec(f"{base}.{alias.name}") if _is_package(base) else False:
                    found.add(f"{base}.{alias.name}")
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("symlib"))
    return found


def _is_package(module: str) -> bool:
    spec = importlib.util.find_spec(module)
    return spec is not None and spec.submodule_search_locations is not None


@lru_cache(maxsize=None)
def fingerprint(module: str) -> dict[str, str]:
    """``{module: sha256[:12]}`` of ``module`` and every symlib module it imports, transitively, with the parent
    packages of each (their ``__init__.py`` runs on import: ``symlib.chapters.mli.compute`` brings ``symlib``,
    ``symlib.chapters`` and ``symlib.chapters.mli``), except :data:`NOT_FINGERPRINTED` and chapters' ``report``
    modules."""
    seen, todo, out = set(), [module], {}
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        parts = name.split(".")
        todo.extend(".".join(parts[:k]) for k in range(1, len(parts)))
        if name in NOT_FINGERPRINTED or name.endswith(".report"):
            continue
        path = Path(importlib.util.find_spec(name).origin)
        out[name] = hashlib.sha256(_code_text(path).encode("utf-8")).hexdigest()[:12]
        todo.extend(_imports(name))
    return dict(sorted(out.items()))


def stale_modules(record: dict) -> list[str]:
    """The modules whose code differs from the code that computed ``record`` (``[]``: up to date)."""
    stored = record["manifest"].get("code") or {}
    if not stored:
        return ["(no code fingerprint in this record)"]
    main = next(iter(stored))
    now = fingerprint(record["manifest"].get("code_root", main))
    stale = sorted(m for m in set(stored) | set(now)
                   if stored.get(m) != now.get(m) and m not in NOT_FINGERPRINTED)
    config = record["manifest"].get("config") or {}
    read = (record.get("result") or {}).get("zoo_recipe_hash") or config.get("recipe_hash")
    if read and config.get("zoo"):
        from .zoo.recipes import recipe_hash  # here: symlib.zoo imports this module
        if recipe_hash(config["zoo"]) != read:
            stale.append(f"symlib.zoo.named_recipes[{config['zoo']!r}]")
    return stale


# ------------------------------------------------------------------------------------------- manifest

def _git_commit() -> str | None:
    """HEAD's commit, with ``-dirty`` when ``symlib/`` (the code that computes) differs from it."""
    root = PACKAGE_DIR.parent
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                             timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "symlib"], cwd=root, capture_output=True,
                               text=True, timeout=5).stdout.strip()
        return (sha + ("-dirty" if dirty else "")) or None
    except (OSError, subprocess.SubprocessError):
        return None


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("symlib", "torch", "numpy", "scipy"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _cpu() -> str:
    """The CPU's model name and the instruction set PyTorch's kernels use on it (``"AMD EPYC (AVX2)"``): results
    computed with the same code on CPUs of another instruction set can differ in the last bits, and training
    amplifies that."""
    import torch
    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            name = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), name)
    except OSError:
        pass
    return f"{name} ({torch.backends.cpu.get_cpu_capability()})"


def manifest(config: dict, wall_time_s: float, device: str, code_root: str) -> dict:
    import torch
    return {
        "config": config,
        "config_hash": config_hash(config),
        "git_commit": _git_commit(),
        "code_root": code_root,
        "code": fingerprint(code_root),
        "versions": _versions(),
        "device": device,
        "cpu_threads": torch.get_num_threads(),
        "cpu": _cpu(),
        "seed": config.get("seed"),
        "wall_time_s": round(wall_time_s, 2),
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }


def save_result(name: str, config: dict, result: dict, wall_time_s: float, device: str, code_root: str) -> dict:
    """Write ``{"manifest", "result"}`` atomically and return it as loaded back (``loaded_from`` None)."""
    path = result_path(name, config)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {"manifest": manifest(config, wall_time_s, device, code_root), "result": result}
    tmp = path.with_suffix(f".json.{os.getpid()}.tmp")  # per process: two writers of one result never share it
    tmp.write_text(json.dumps(record, indent=1, allow_nan=True) + "\n")
    tmp.replace(path)
    tell("wrote", path)
    record = json.loads(path.read_text())
    record.update(loaded_from=None, stale=[])
    return record


def load_result(name: str, config: dict) -> dict | None:
    """The stored record for exactly this config, or ``None``; ``record["stale"]`` lists changed modules."""
    path = result_path(name, config)
    if not path.exists():
        return None
    record = json.loads(path.read_text())
    if record["manifest"]["config_hash"] != config_hash(config):
        return None
    record.update(loaded_from=str(path), stale=stale_modules(record))
    return record


def load_or_run(compute, config: dict, recompute: bool = False, device: str = "auto",
                run: Callable[[dict], dict] | None = None) -> dict:
    """The one helper every chapter uses: ``compute`` is the chapter's compute module (``NAME``, ``run(config,
    device)``). Loads the stored record for ``config`` unless ``recompute``; otherwise runs, stores and returns it."""
    if not recompute:
        record = load_result(compute.NAME, config)
        if record is not None:
            tell("read", record["loaded_from"], record.get("stale"))
            return record
    from .devices import resolve_device
    dev = str(resolve_device(device))
    t0 = time.perf_counter()
    result = (run or (lambda c: compute.run(c, device=dev)))(config)
    return save_result(compute.NAME, config, result, time.perf_counter() - t0, dev, code_root=compute.__name__)


def provenance(record: dict) -> str:
    """One Markdown paragraph: where the numbers on the page come from, and a warning if they are stale."""
    m = record["manifest"]
    where = m["device"] + (f", {m['cpu']}" if m.get("cpu") and m["device"] == "cpu" else "")
    text = (f"Config `{m['config_hash'][:12]}`, computed {m['created_utc']} on {where} in "
            f"{m['wall_time_s'] / 60:.1f} min at commit `{(m.get('git_commit') or 'unknown')[:12]}`"
            + (f", loaded from `{Path(record['loaded_from']).name}`." if record.get("loaded_from") else ", just now."))
    if record.get("stale"):
        text += (f"\n\n**Stale result:** the code that computed it has changed since ({', '.join(record['stale'])}); "
                 f"re-run with `recompute=True` to refresh it.")
    return text
