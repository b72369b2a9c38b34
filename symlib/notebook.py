"""Run a chapter notebook with papermill, after validating every parameter, from any directory::

    python -m symlib.notebook book/lmc.ipynb out.ipynb -p scale small -p seed 3 -p width 256

Before a kernel starts, the parameters are checked against the notebook's ``parameters`` cell (papermill itself
only *warns* about unknown ones) and against the chapter's presets (``symlib.chapters.<notebook name>.configure``:
scale, types, ``recompute``, chapter constraints); a bad one stops with a one-line error. Values are parsed as
YAML (``3`` -> int, ``1e-3`` -> float, ``[64, 32]`` -> list, ``true`` -> bool, ``null`` -> None).

Paths are the caller's: a relative ``SYMLIB_DATA`` / ``SYMLIB_RESULTS`` / ``SYMLIB_ZOO`` resolves against the
directory the command was started in, and so does the ``./data`` default (the kernel itself runs in the
notebook's folder, ``book/``, which is left untouched). Progress (papermill's cell bar and the notebook's own
progress bars) is shown unless ``--quiet``. ``--prepare-only`` injects the parameters without executing (nbval).
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import yaml

from .params import ParameterError

PATH_VARIABLES = ("SYMLIB_DATA", "SYMLIB_RESULTS", "SYMLIB_ZOO")


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


def run(input_path: str | Path, output_path: str | Path, parameters: dict, prepare_only: bool = False,
        progress: bool = True) -> None:
    """Validate, then execute ``input_path`` into ``output_path`` with papermill (kernel in the notebook's folder)."""
    import papermill as pm

    validate(input_path, parameters)
    os.environ.update(caller_paths())
    Path(output_path).parent.mkdir(parents=True, exist_ok=True)
    pm.execute_notebook(str(input_path), str(output_path), parameters=parameters, prepare_only=prepare_only,
                        cwd=str(Path(input_path).resolve().parent), progress_bar=progress, log_output=progress,
                        kernel_name="python3")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m symlib.notebook", description=__doc__.split("\n\n")[0])
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    ap.add_argument("--prepare-only", action="store_true", help="inject the parameters without executing")
    ap.add_argument("--quiet", action="store_true", help="no progress output")
    args = ap.parse_args(argv)
    params = {name: parse_value(value) for name, value in args.parameter}
    try:
        run(args.input, args.output, params, prepare_only=args.prepare_only, progress=not args.quiet)
    except ParameterError as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main(sys.argv[1:])
