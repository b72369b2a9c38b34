"""Notebook parameters: presets per scale, and validation that fails loudly, in one line, before any work starts.

Every chapter notebook has a papermill ``parameters`` cell whose first line is ``scale = "small"``, followed by
``seed``, ``recompute`` and one line per preset key, each defaulting to ``None`` ("take the preset"). The chapter's
``configure`` calls :func:`resolve` on the notebook's namespace (or on the ``-p`` values, in
:mod:`symlib.notebook`, before a kernel starts): an unknown scale, a misspelt parameter or a value of the wrong
type raises :class:`ParameterError`. A list parameter takes any length; its elements are typed like the preset's.
"""
from __future__ import annotations

import types
from typing import Any, Mapping

COMMON = ("scale", "seed", "recompute")
_IPYTHON_NAMES = {"In", "Out", "get_ipython", "exit", "quit", "open"}


class ParameterError(ValueError):
    """An unknown scale, an unknown parameter or a badly typed value."""


def notebook_parameters(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """Candidate parameters in a notebook namespace: user-level names that are not ``_``-names, IPython
    helpers, modules, callables or UPPER_CASE constants (e.g. an imported ``METHOD_COLORS``)."""
    return {k: v for k, v in namespace.items()
            if not k.startswith("_") and k not in _IPYTHON_NAMES and not k.isupper()
            and not isinstance(v, types.ModuleType) and not callable(v)}


def accepted(presets: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Every parameter a chapter accepts: the common ones, then the preset keys."""
    keys = [k for p in presets.values() for k in p]
    return list(COMMON) + [k for k in dict.fromkeys(keys) if k not in COMMON]


def resolve(presets: Mapping[str, Mapping[str, Any]], given: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``given`` parameters over ``presets[scale]`` (``None`` means "take the preset").

    Raises :class:`ParameterError` naming the bad scale / parameter / value and what is valid. ``recompute`` is
    validated (a bool) but not part of the returned config (it says *whether* to compute, not *what*).
    """
    scale = given.get("scale", "small")
    if not isinstance(scale, str) or scale not in presets:
        raise ParameterError(f"unknown scale {scale!r}; valid scales: {', '.join(presets)}")
    unknown = sorted(set(given) - set(accepted(presets)))
    if unknown:
        raise ParameterError(f"unknown parameter(s) {unknown}; valid parameters: {', '.join(accepted(presets))}")
    recompute = given.get("recompute")
    if recompute is not None and not isinstance(recompute, bool):
        raise ParameterError(f"recompute must be True or False, got {recompute!r}")
    cfg = {"scale": scale, "seed": 0, **presets[scale]}
    for key, value in given.items():
        if value is None or key in ("scale", "recompute"):
            continue
        cfg[key] = _coerce(key, value, _example(presets, key))
    return cfg


def _example(presets: Mapping[str, Mapping[str, Any]], key: str) -> Any:
    """A non-None preset value of ``key`` at any scale (its type is the parameter's type)."""
    if key == "seed":
        return 0
    values = [p[key] for p in presets.values() if p.get(key) is not None]
    return values[0] if values else None


def _coerce(key: str, value: Any, like: Any) -> Any:
    if like is None:
        return value
    if isinstance(like, bool):
        if not isinstance(value, bool):
            raise ParameterError(f"{key} must be True or False, got {value!r}")
        return value
    if isinstance(like, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ParameterError(f"{key} must be an integer, got {value!r}")
        return value
    if isinstance(like, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParameterError(f"{key} must be a number, got {value!r}")
        return float(value)
    if isinstance(like, str):
        if not isinstance(value, str):
            raise ParameterError(f"{key} must be a string, got {value!r}")
        return value
    if isinstance(like, (list, tuple)):
        if not isinstance(value, (list, tuple)) or not value:
            raise ParameterError(f"{key} must be a non-empty list like {list(like)}, got {value!r}")
        element = like[0] if like else None
        return [_coerce(f"{key}[{i}]", v, element) for i, v in enumerate(value)]
    return value


def table(cfg: Mapping[str, Any], meanings: Mapping[str, str]):
    """The run's parameters for a reader, as a short table: two parameters a row, each in words (``meanings``: the
    chapter's ``PARAMETERS``) with the name to pass as ``-p NAME VALUE`` to change it, and its value."""
    from .formatting import html_table, inline_html, listing
    cells = [[f"{inline_html(meanings.get(k, k))} <code>{k}</code>", f"<strong>{inline_html(listing(v))}</strong>"]
             for k, v in cfg.items()]
    half = (len(cells) + 1) // 2
    rows = [cells[i] + (cells[half + i] if half + i < len(cells) else ["", ""]) for i in range(half)]
    return html_table(["Parameter", "Value", "Parameter", "Value"], rows, css_class="symlib parameters", raw=True)
