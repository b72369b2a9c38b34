"""Every figure of the book, drawn from the committed results: identical in two builds (seeded jitter, no global
random state) and no wider than the book's text allows (legible fonts)."""
import importlib
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from symlib import ledger  # noqa: E402
from symlib.ledger import CHAPTERS  # noqa: E402
from symlib.plotting import MAX_WIDTH, set_style  # noqa: E402

FIGURES = [(c, name) for c in CHAPTERS for name in dir(importlib.import_module(f"symlib.chapters.{c}"))
           if name.startswith("figure")]


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


@pytest.mark.parametrize("chapter,name", FIGURES, ids=[f"{c}.{n}" for c, n in FIGURES])
def test_figures_are_deterministic_and_fit_the_page(chapter, name, committed_results):
    record = ledger.chapter_record(chapter)
    assert record is not None, f"no committed result for {chapter} under {committed_results}"
    set_style()
    draw = getattr(importlib.import_module(f"symlib.chapters.{chapter}"), name)
    first = draw(record)
    assert first.get_figwidth() <= MAX_WIDTH + 1e-9, f"{name} is {first.get_figwidth()} inches wide"
    for ax in first.axes:  # every panel with data says what its axes are (a shared y axis may be labelled once)
        if ax.has_data() and ax.get_label() != "<colorbar>":
            assert ax.get_xlabel() or len(ax.get_shared_x_axes().get_siblings(ax)) > 1 or \
                any(t.get_text() for t in ax.get_xticklabels()), f"{name}: unlabelled x axis"
            assert ax.get_ylabel() or len(ax.get_shared_y_axes().get_siblings(ax)) > 1 or \
                any(t.get_text() for t in ax.get_yticklabels()), f"{name}: unlabelled y axis"
    assert _png(first) == _png(draw(record))
