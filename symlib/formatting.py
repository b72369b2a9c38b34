"""One way to write numbers and units on every page: tables, prose, figures' labels and the claims ledger.

A reader meets the same number in a table, in a sentence and in the ledger; it must read the same in all three.
So every page formats through these helpers: negative numbers carry a real minus sign (U+2212, as the papers print
them, never a hyphen), shares are percentages with a space before ``%`` (a fraction never sits beside a paper's
percentage), tiny numbers read ``9.8 × 10⁻¹⁵``, and a mean comes with its standard deviation as ``0.375 ± 0.144``.
:func:`minus` rewrites text that was formatted elsewhere (a claim's numbers) the same way.

Nothing here computes a result, so no result's code fingerprint includes this module.
"""
from __future__ import annotations

import html as _html
import math
import re
from typing import Iterable, Sequence

import numpy as np

MINUS = "\u2212"
#: a narrow no-break space: a number and its unit or its power of ten never wrap apart ("9.8 × 10⁻¹⁵", "74.8 %")
NNBSP = "\u202f"
_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
#: a hyphen that is a number's sign: not inside a word, an exponent (``1e-10``) or a range of numbers (``1-22``)
_SIGN = re.compile(r"(?<![\w.^)\]}])-(?=\.?\d)")


_E_NOTATION = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)e([+-]?)(\d+)\b")


def _power(m: re.Match) -> str:
    exponent = int(m.group(3)) * (-1 if m.group(2) == "-" else 1)
    power = f"10{str(exponent).translate(_SUPERSCRIPT)}"
    return power if m.group(1) == "1" else f"{m.group(1)}{NNBSP}×{NNBSP}{power}"


def minus(text: str) -> str:
    """``text`` written the book's way: every hyphen used as a number's sign becomes a real minus sign
    (``-0.010`` -> ``−0.010``; ``2^-5``, ``784-512`` and ``non-monotonic`` are left alone) and computer notation
    becomes a power of ten (``8.9e-15`` -> ``8.9 × 10⁻¹⁵``, as :func:`sci` writes it)."""
    return _SIGN.sub(MINUS, _E_NOTATION.sub(_power, text))


def _missing(x) -> bool:
    return x is None or (isinstance(x, float) and not math.isfinite(x))


def number(x: float | None, digits: int = 3, *, signed: bool = False) -> str:
    """Fixed decimals with a real minus sign: ``number(-0.0104) == "−0.010"``; ``signed`` writes ``+`` too;
    ``None``/NaN: ``—``."""
    if _missing(x):
        return "—"
    text = f"{x:+.{digits}f}" if signed else f"{x:.{digits}f}"
    if float(text) == 0:  # no "−0.000"
        text = text.lstrip("+-")
        text = ("+" if signed else "") + text
    return text.replace("-", MINUS)


def sci(x: float | None, digits: int = 1) -> str:
    """Scientific notation as a reader writes it: ``sci(9.8e-15) == "9.8 × 10⁻¹⁵"``; zero is ``0``."""
    if _missing(x):
        return "—"
    if x == 0:
        return "0"
    mantissa, exponent = f"{x:.{digits}e}".split("e")
    return f"{mantissa.replace('-', MINUS)}{NNBSP}×{NNBSP}10{str(int(exponent)).translate(_SUPERSCRIPT)}"


def sig(x: float | None, digits: int = 2) -> str:
    """``digits`` significant digits, in plain decimals between 10⁻³ and 10⁴ and in :func:`sci` otherwise
    (``0.0381 -> "0.038"``, ``7.1e-15 -> "7.1 × 10⁻¹⁵"``, ``1234.5 -> "1,234"``)."""
    if _missing(x):
        return "—"
    if x == 0:
        return "0"
    if not 1e-3 <= abs(x) < 1e4:
        return sci(x, digits - 1)
    decimals = max(digits - 1 - int(math.floor(math.log10(abs(x)))), 0)
    return number(round(x, decimals), decimals) if abs(x) < 1000 else f"{x:,.0f}".replace("-", MINUS)


def integer(n: int | float | None) -> str:
    """Thousands separated: ``78042 -> "78,042"``."""
    return "—" if _missing(n) else f"{int(n):,}".replace("-", MINUS)


def percent(fraction: float | None, digits: int = 1) -> str:
    """A fraction as a percentage: ``percent(0.7481) == "74.8 %"``."""
    return "—" if _missing(fraction) else f"{number(100 * fraction, digits)}{NNBSP}%"


def points(fraction_difference: float | None, digits: int = 1) -> str:
    """A difference of two fractions in percentage points: ``points(0.0123) == "1.2 points"``."""
    return "—" if _missing(fraction_difference) else f"{number(100 * fraction_difference, digits)}{NNBSP}points"


def mean_sd(values: Iterable[float], digits: int = 3, unit: str = "") -> str:
    """``"0.375 ± 0.144"`` (sample standard deviation; one value: no ``±``), with ``unit`` appended."""
    v = np.asarray(list(values), dtype=float)
    text = number(float(v.mean()), digits) if len(v) else "—"
    if len(v) > 1:
        text += f" ± {number(float(v.std(ddof=1)), digits)}"
    return text + (f" {unit}" if unit and len(v) else "")


def minutes(seconds: float | None) -> str:
    """A duration: ``"45 s"``, ``"27 min"``, ``"1.5 h"``."""
    if _missing(seconds):
        return "—"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def listing(values: Sequence) -> str:
    """A parameter value for a reader: lists without brackets, ``None`` as ``—``, numbers through :func:`minus`."""
    if values is None:
        return "—"
    if isinstance(values, (list, tuple)):
        return ", ".join(listing(v) for v in values)
    if isinstance(values, bool):
        return "yes" if values else "no"
    if isinstance(values, float):
        return minus(f"{values:g}")
    if isinstance(values, int) and abs(values) >= 10_000:
        return integer(values)
    return minus(str(values))


def md_escape(text: str) -> str:
    """Plain text for Markdown: ``r*``, ``n_fix`` and ``$`` stay literal instead of starting emphasis or math."""
    return re.sub(r"([*_$\\])", r"\\\1", text)


# ------------------------------------------------------------------------------------------- HTML

class Html(str):
    """A string that Jupyter and myst-nb display as HTML (as a cell's last expression, or with ``display``)."""

    def _repr_html_(self) -> str:
        return str(self)


_BOLD = re.compile(r"\*\*(.+?)\*\*")
_CODE = re.compile(r"`([^`]+)`")


def inline_html(text: str) -> str:
    """Escape ``text`` for HTML and render its ``**bold**`` and ```code``` (what claims and notes use)."""
    out = _html.escape(minus(text), quote=False)
    out = _BOLD.sub(r"<strong>\1</strong>", out)
    return _CODE.sub(r"<code>\1</code>", out)


def html_table(header: Sequence[str], rows: Iterable[Sequence[str]], css_class: str = "symlib",
               raw: bool = False) -> Html:
    """A plain HTML table (the book's CSS styles ``css_class``); cells are rendered by :func:`inline_html` unless
    ``raw``, in which case they are HTML already."""
    cell = (lambda c: str(c)) if raw else inline_html
    head = "".join(f"<th>{inline_html(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell(c)}</td>" for c in r) + "</tr>" for r in rows)
    cls = f' class="{css_class}"' if css_class else ""
    return Html(f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
