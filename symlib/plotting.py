"""One plotting style for the whole book (seaborn on matplotlib), and figures that are identical in every build.

Every figure of the book is drawn by a chapter's ``report`` module from a stored record, with the helpers here:
:func:`set_style` once per notebook; :func:`new_figure` for sizes that stay legible in the rendered book (at most
:data:`MAX_WIDTH` inches wide: the book shows figures at its text width, so a wider figure's fonts would shrink);
:func:`line_with_band` for mean ± std curves; :func:`strip` for per-network dots with **seeded** jitter (seaborn's
stripplot draws its jitter from NumPy's global generator, so two builds would differ). A method always gets the
same colour (:data:`METHOD_COLORS`), so a reader can follow "W-Asym" from chapter to chapter.
"""
from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

METHOD_COLORS = {
    "Standard": "#4C72B0",
    "Git Re-Basin": "#55A868",
    "σ-Asym": "#DD8452",
    "σ-Asym (second scale)": "#8C613C",
    "W-Asym": "#C44E52",
}
MAX_WIDTH = 10.0  # inches


def set_style() -> None:
    """Seaborn ``whitegrid``, fonts sized for a 10-inch figure shown at the book's text width, 150-dpi output (PNG
    carries no timestamp, so a figure's bytes depend on its content only), and tables that show whole cells."""
    pd.set_option("display.max_colwidth", 300)
    sns.set_theme(style="whitegrid", context="notebook", font_scale=1.05)
    plt.rcParams.update({"figure.dpi": 150, "savefig.dpi": 150, "savefig.bbox": "tight", "axes.titleweight": "bold",
                         "axes.titlesize": "medium", "legend.frameon": True, "legend.fontsize": "small"})


def color(label: str) -> str:
    """The book's colour of a method label (``"σ-Asym (F std 1)"`` takes σ-Asym's)."""
    for name in sorted(METHOD_COLORS, key=len, reverse=True):
        if label.startswith(name):
            return METHOD_COLORS[name]
    return "0.3"


def new_figure(rows: int = 1, cols: int = 1, width: float = MAX_WIDTH, height: float = 4.0, **kwargs):
    """``plt.subplots`` with the width capped at :data:`MAX_WIDTH` inches and ``constrained_layout``."""
    fig, axes = plt.subplots(rows, cols, figsize=(min(width, MAX_WIDTH), height), layout="constrained", **kwargs)
    return fig, axes


def line_with_band(df: pd.DataFrame, x: str, y: str, hue: str, ax: plt.Axes, *, xlabel: str, ylabel: str,
                   title: str | None = None, order: list[str] | None = None, palette: dict | None = None) -> plt.Axes:
    """Mean line with a ±1 standard-deviation band over repeats, one colour per ``hue`` level."""
    palette = palette or {k: color(k) for k in df[hue].unique()}
    sns.lineplot(data=df, x=x, y=y, hue=hue, hue_order=order, errorbar="sd", marker="o", markersize=3,
                 palette=palette, ax=ax)
    ax.set(xlabel=xlabel, ylabel=ylabel)
    if title:
        ax.set_title(title)
    ax.legend(title=None)
    return ax


def strip(ax: plt.Axes, df: pd.DataFrame, x: str, y: str, order: Sequence[str], *, hue: str | None = None,
          hue_order: Sequence[str] | None = None, palette: dict | None = None, seed: int = 0, size: float = 14,
          jitter: float = 0.15, alpha: float = 0.8) -> plt.Axes:
    """Dots of ``y`` per category ``x`` (in ``order``), dodged by ``hue``, with jitter drawn from a generator seeded
    by ``seed`` (identical figures in every build)."""
    rng = np.random.default_rng(seed)
    levels = list(hue_order) if hue is not None else [None]
    width = 0.8 / len(levels)
    for i, cat in enumerate(order):
        for k, level in enumerate(levels):
            d = df[(df[x] == cat) & ((df[hue] == level) if hue is not None else True)]
            centre = i - 0.4 + width * (k + 0.5)
            xs = centre + rng.uniform(-jitter, jitter, len(d)) * (width / 0.8)
            c = (palette or {}).get(level if hue is not None else cat, color(str(cat)))
            ax.scatter(xs, d[y], s=size, color=c, alpha=alpha, label=level if (hue is not None and i == 0) else None,
                       edgecolor="none")
    ax.set_xticks(range(len(order)), order)
    ax.set_xlim(-0.6, len(order) - 0.4)
    return ax
