"""Run a chapter notebook with papermill, after validating every parameter, from any directory::

    python -m symlib.notebook book/lmc.ipynb out.ipynb -p scale small -p seed 3 -p width 256 --html page/

Before a kernel starts, the parameters are checked against the notebook's ``parameters`` cell (papermill itself
only *warns* about unknown ones) and against the chapter's presets (``symlib.chapters.<notebook name>.configure``:
scale, types, ``recompute``, chapter constraints), and what the run will read is looked for: a chapter that has
to compute (``recompute``, or no stored result for this configuration) needs its datasets under ``$SYMLIB_DATA``
and, for the zoo chapters, the built zoo. Anything wrong stops the run with a one-line error, before anything is
created; ``--download`` lets torchvision fetch a missing dataset first. Values are parsed as YAML (``3`` -> int,
``1e-3`` -> float, ``[64, 32]`` -> list, ``true`` -> bool, ``null`` -> None).

Paths are the caller's: a relative ``SYMLIB_DATA`` / ``SYMLIB_RESULTS`` / ``SYMLIB_ZOO`` resolves against the
directory the command was started in, and so does the ``./data`` default (the kernel itself runs in the
notebook's folder, ``book/``, which is left untouched). Progress (papermill's cell bar and the notebook's own
progress bars) is shown unless ``--quiet``; at the end the run says where everything went: the notebook, the
result files it read and wrote (see :func:`symlib.results.tell`), and the page ``--html`` rendered with the
book's own configuration. ``--prepare-only`` injects the parameters without executing (nbval).

The executed notebook reads right on its own in Jupyter: prose that carries results is displayed by code, and
cells that only set up are tagged for the book to hide. The kernel talks to papermill over local IPC sockets, not
TCP.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import ModuleType

import yaml

from .params import ParameterError

PATH_VARIABLES = ("SYMLIB_DATA", "SYMLIB_RESULTS", "SYMLIB_ZOO")
PROJECT = Path(__file__).resolve().parents[1]

#: What each chapter reads when it computes instead of loading a stored result ("zoo": the named zoo of its
#: config, built by ``make zoo``). A test holds this against the modules each computation imports.
NEEDS = {"lmc": ("MNIST",), "table1": ("CIFAR-10", "Cora"), "identifiability": ("MNIST", "CIFAR-10"),
         "symmetries": ("MNIST",), "critical_points": (), "theory_init": ("MNIST", "CIFAR-10"),
         "bayesian": ("CIFAR-10",), "mli": ("zoo", "CIFAR-10"), "appendix_a": ("zoo", "CIFAR-10"),
         "metanetworks": ("zoo",)}


class MissingInput(RuntimeError):
    """A dataset or zoo that the run would need is not where it is looked for."""


def declared_parameters(path: str | Path) -> list[str]:
    import papermill as pm
    return list(pm.inspect_notebook(str(path)))


def chapter_of(path: str | Path) -> ModuleType | None:
    """The chapter package ``symlib.chapters.<stem>`` that validates notebook ``path``, if there is one."""
    name = f"symlib.chapters.{Path(path).stem}"
    return importlib.import_module(name) if importlib.util.find_spec(name) else None


def parse_value(text: str):
    """``"3"`` -> 3, ``"1e-3"`` -> 0.001, ``"[64, 8]"`` -> [64, 8], ``"true"`` -> True, ``"None"`` -> None."""
    for number in (int, float):
        try:
            return number(text)
        except ValueError:
            pass
    if text in ("None", "null", "~"):
        return None
    value = yaml.safe_load(text)
    return text if isinstance(value, dict) or value is None else value


def validate(input_path: str | Path, parameters: dict) -> dict:
    """The chapter's validated config for ``parameters``; :class:`ParameterError` on anything wrong."""
    if not Path(input_path).exists():
        raise ParameterError(f"notebook {input_path} not found (the chapters are book/*.ipynb)")
    declared = declared_parameters(input_path)
    unknown = sorted(set(parameters) - set(declared))
    if unknown:
        raise ParameterError(f"{input_path} has no parameter(s) {unknown}; declared: {', '.join(declared)}")
    chapter = chapter_of(input_path)
    return chapter.configure(parameters) if chapter is not None else dict(parameters)


def caller_paths(cwd: str | Path | None = None) -> dict[str, str]:
    """``SYMLIB_*`` path variables made absolute against ``cwd`` (default: the current directory); ``SYMLIB_DATA``
    defaults to ``<cwd>/data``."""
    cwd = Path(cwd or os.getcwd())
    out = {}
    for var in PATH_VARIABLES:
        value = os.environ.get(var) or ("data" if var == "SYMLIB_DATA" else None)
        if value:
            out[var] = str((cwd / Path(value).expanduser()).resolve())
    return out


# ------------------------------------------------------------------------------------------- inputs

def _dataset_files(name: str, root: Path) -> tuple[Path, list[str], list[Path]]:
    """``(folder, names looked for, missing paths)`` of dataset ``name`` under ``root``: what :mod:`symlib.data`
    (which alone knows each dataset's files) requires."""
    from . import data
    return (data.dataset_folder(name, root), [p.name for p in data.required_files(name, root)],
            data.missing(name, root))


def _download(name: str, root: Path) -> None:
    """Fetch dataset ``name`` into ``root`` (nothing is created there if that fails)."""
    from . import data
    try:
        data.download(name, root)
    except data.DatasetNotFound as err:
        raise MissingInput(str(err)) from None


def will_compute(chapter: ModuleType, cfg: dict, recompute: bool) -> bool:
    """Whether this run computes (``recompute``, or no stored result for ``cfg``) rather than loading a result."""
    from . import results
    return bool(recompute) or results.load_result(chapter.NAME, cfg) is None


def check_inputs(input_path: str | Path, cfg: dict, recompute: bool, download: bool = False) -> list[str]:
    """Look for what the run will read before a kernel starts; returns what was found (for the summary). Raises
    :class:`MissingInput` with one line naming what was looked for, where, and how to get it. Creates nothing
    unless ``download`` (then torchvision fetches a missing dataset into ``$SYMLIB_DATA``)."""
    stem = Path(input_path).stem
    chapter = chapter_of(input_path)
    if chapter is None or not NEEDS.get(stem) or not will_compute(chapter, cfg, recompute):
        return []
    why = "recompute=True" if recompute else "no stored result for this configuration"
    root = Path(caller_paths()["SYMLIB_DATA"])
    found = []
    for need in NEEDS[stem]:
        if need == "zoo":
            found.append(_check_zoo(stem, cfg, why))
            continue
        folder, names, missing = _dataset_files(need, root)
        if missing and download:
            _download(need, root)
            folder, names, missing = _dataset_files(need, root)
        if missing:
            raise MissingInput(
                f"{stem} computes ({why}) and needs {need}, which is not in {folder} (looked for "
                f"{', '.join(names)}; missing {len(missing)} of {len(names)}): set SYMLIB_DATA to a folder that holds "
                f"{folder.relative_to(root)}/, or add --download to fetch it there ({_FETCHERS.get(need, 'torchvision')})")
        found.append(f"{need} in {folder}")
    return found


_FETCHERS = {"Cora": "PyG's Planetoid", "ogbn-arxiv": "the ogb package"}


def _check_zoo(stem: str, cfg: dict, why: str) -> str:
    from .zoo import Zoo
    zoo = Zoo(cfg["zoo"])
    n = max(int(cfg.get("n_members") or 0), 2 * int(cfg.get("n_pairs") or 0))
    missing = {v: n - len(zoo.built(v, n)) for v in zoo.variants}
    if any(missing.values()):
        raise MissingInput(
            f"{stem} computes ({why}) and reads {n} members per variant of the zoo {cfg['zoo']!r} in {zoo.directory}, "
            f"which lacks {sum(missing.values())} of {n * len(zoo.variants)}: build it with `make zoo SCALE={cfg['zoo']}` "
            f"(`python -m symlib.zoo build {cfg['zoo']} --members {n}`), or set SYMLIB_ZOO to where it was built")
    return f"zoo {cfg['zoo']!r} ({n} members per variant) in {zoo.directory}"


# ------------------------------------------------------------------------------------------- running

def _kernel_manager_class():
    """A kernel manager whose kernel listens on IPC sockets in Jupyter's runtime folder (private to this user),
    not on TCP ports (ipykernel warns, rightly, about unencrypted TCP)."""
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.paths import jupyter_runtime_dir
    from traitlets import default

    class IPCKernelManager(AsyncKernelManager):
        @default("transport")
        def _transport_default(self):
            return "ipc"

        @default("ip")
        def _ip_default(self):
            Path(jupyter_runtime_dir()).mkdir(mode=0o700, parents=True, exist_ok=True)
            return str(Path(jupyter_runtime_dir()) / f"symlib-{uuid.uuid4().hex[:12]}-ipc")

    return IPCKernelManager


#: tags for the book (myst-nb): set-up cells disappear, code cells fold away under their outputs
INJECTED_TAGS = ("remove-cell",)


def _tag_for_the_book(output_path: Path) -> None:
    """Hide papermill's injected-parameters cell in the rendered book (the chapter shows its parameters as a table)."""
    nb = json.loads(output_path.read_text())
    for cell in nb["cells"]:
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if "injected-parameters" in tags:
            tags.extend(t for t in INJECTED_TAGS if t not in tags)
    output_path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")


def _failure(err) -> str:
    """One line for a cell that raised: the exception and the cell (papermill's own message is the traceback)."""
    first = (err.source or "").strip().splitlines()
    return f"cell {err.exec_count} ({first[0] if first else '?'} ...) raised {err.ename}: {err.evalue}"


def render_page(notebook: str | Path, out_dir: str | Path) -> Path:
    """Render one executed chapter to an HTML page in ``out_dir`` with the book's configuration (``_config.yml``:
    hidden set-up cells, bundled MathJax); returns the page's path."""
    notebook, out_dir = Path(notebook).resolve(), Path(out_dir).resolve()
    with tempfile.TemporaryDirectory(prefix="symlib-page-") as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        shutil.copy(notebook, src / notebook.name)
        cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(src / notebook.name), "--config",
               str(PROJECT / "_config.yml"), "--path-output", str(Path(tmp) / "out"), "-qq"]
        done = subprocess.run(cmd, capture_output=True, text=True)
        built = Path(tmp) / "out" / "_build" / "_page" / notebook.stem / "html"
        if done.returncode != 0 or not (built / f"{notebook.stem}.html").exists():
            raise RuntimeError(f"rendering {notebook} failed: {(done.stderr or done.stdout).strip()[-500:]}")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        shutil.copytree(built, out_dir)
    return out_dir / f"{notebook.stem}.html"


def run(input_path: str | Path, output_path: str | Path, parameters: dict, prepare_only: bool = False,
        progress: bool = True, download: bool = False, html: str | Path | None = None) -> dict:
    """Validate, look for the inputs, then execute ``input_path`` into ``output_path`` with papermill (kernel in the
    notebook's folder). Returns what happened: ``{"found", "read", "wrote", "seconds", "page"}``."""
    import papermill as pm

    cfg = validate(input_path, parameters)
    os.environ.update(caller_paths())
    found = [] if prepare_only else check_inputs(input_path, cfg, bool(parameters.get("recompute")), download)
    Path(output_path).parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with tempfile.NamedTemporaryFile("r", prefix="symlib-run-", suffix=".jsonl") as log:
        previous = os.environ.get("SYMLIB_RUN_LOG")
        os.environ["SYMLIB_RUN_LOG"] = log.name
        try:
            pm.execute_notebook(str(input_path), str(output_path), parameters=parameters, prepare_only=prepare_only,
                                cwd=str(Path(input_path).resolve().parent), progress_bar=progress,
                                log_output=progress, kernel_name="python3",
                                kernel_manager_class=_kernel_manager_class())
        finally:
            if previous is None:
                os.environ.pop("SYMLIB_RUN_LOG", None)
            else:
                os.environ["SYMLIB_RUN_LOG"] = previous
        events = [json.loads(line) for line in log.read().splitlines() if line.strip()]
    _tag_for_the_book(Path(output_path))
    out = {"found": found, "seconds": time.perf_counter() - t0, "page": None,
           "read": [e for e in events if e["event"] == "read"], "wrote": [e for e in events if e["event"] == "wrote"]}
    if html and not prepare_only:
        out["page"] = str(render_page(output_path, html))
    return out


def summary(input_path: str | Path, output_path: str | Path, parameters: dict, outcome: dict) -> str:
    """What a finished run tells its user: what ran, and where everything it read and wrote is."""
    from .results import note_for
    given = ", ".join(f"{k} {v}" for k, v in parameters.items() if k != "scale") or "the preset's values"
    lines = [f"symlib: ran {input_path} at scale {parameters.get('scale', 'small')} ({given}) in "
             f"{outcome['seconds']:.0f} s"]
    lines.append(f"  notebook  {Path(output_path).resolve()}")
    for e in outcome["read"]:
        stale = f" (stale: code changed since: {', '.join(e['stale'])})" if e["stale"] else ""
        lines.append(f"  read      {e['path']}{stale}")
    for f in outcome["found"]:
        lines.append(f"  input     {f}")
    for e in outcome["wrote"]:
        lines.append(f"  wrote     {e['path']}{note_for(e['path'])}")
    if not outcome["read"] and not outcome["wrote"]:
        lines.append("  results   none read or written")
    if outcome["page"]:
        lines.append(f"  page      {outcome['page']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m symlib.notebook", description=__doc__.split("\n\n")[0],
                                 epilog="Environment: SYMLIB_DATA (datasets; default ./data), SYMLIB_RESULTS (result "
                                        "files; default results/ in the project), SYMLIB_ZOO (zoos; default zoo/ in "
                                        "the project); relative paths are taken from the current directory.")
    ap.add_argument("input", help="a chapter notebook, e.g. book/lmc.ipynb")
    ap.add_argument("output", help="where the executed notebook goes")
    ap.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    ap.add_argument("--prepare-only", action="store_true", help="inject the parameters without executing")
    ap.add_argument("--quiet", action="store_true", help="no progress output (the closing summary is still printed)")
    ap.add_argument("--download", action="store_true", help="let torchvision download a missing dataset first")
    ap.add_argument("--html", metavar="DIR", help="also render the executed notebook to DIR/<name>.html, styled as "
                                                  "the book")
    args = ap.parse_args(argv)
    params = {name: parse_value(value) for name, value in args.parameter}
    import papermill as pm
    try:
        outcome = run(args.input, args.output, params, prepare_only=args.prepare_only, progress=not args.quiet,
                      download=args.download, html=args.html)
    except (ParameterError, MissingInput) as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    except pm.PapermillExecutionError as err:
        print(f"error: {args.input} failed: {_failure(err)}; the partial notebook is {Path(args.output).resolve()}",
              file=sys.stderr)
        raise SystemExit(1) from None
    if args.prepare_only:
        print(f"symlib: prepared {Path(args.output).resolve()} (parameters injected, not executed)")
    else:
        print(summary(args.input, args.output, params, outcome))


if __name__ == "__main__":
    main(sys.argv[1:])
