"""Claims of the papers and how a chapter judges them: one verdict function per claim, used everywhere.

A chapter's ``report`` module lists its :class:`Claim` s; each has an ``assess(record) -> Assessment`` that reads
our number from the chapter's stored result and returns the verdict. The chapter's notebook shows exactly these
assessments (:func:`table`) and the book's claims ledger (:mod:`symlib.ledger`) collects them; nothing else
computes a verdict.

Verdicts (:data:`VERDICTS`):

* **reproduced** — the paper's direction, supported by the pre-stated test at p < 0.05, and no metric of the same
  table points significantly the other way;
* **direction only** — the paper's direction, not significant;
* **mixed** — the claimed metric agrees but another metric of the same table points significantly the other way
  (the note names it);
* **inconclusive** — an "at least as good" claim whose non-inferiority test, with the margin fixed in code before
  the run, is not significant (or a claim the data cannot decide);
* **not reproduced** — the opposite direction, or an exact check that fails;
* **not testable at this scale** — the claim's premise does not hold here (e.g. nothing overfits);
* **not yet run** / **not yet built** — no stored result / no chapter yet.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

import pandas as pd

from .stats import ALPHA

VERDICTS = ("reproduced", "direction only", "mixed", "inconclusive", "not reproduced", "not testable at this scale",
            "not yet run", "not yet built")


@dataclass(frozen=True)
class Assessment:
    """Our number(s) for a claim (``ours``), the verdict (one of :data:`VERDICTS`), and a note: the test and its
    p-value, or why the verdict is what it is."""

    ours: str
    verdict: str
    note: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}; choose one of {VERDICTS}")


@dataclass(frozen=True)
class Claim:
    """A claim of a paper: ``key`` (unique, ``"<chapter>.<name>"``), ``source`` (paper, table / figure), the claim in
    words, the paper's number (the reference column), and ``assess`` (``None`` until a chapter tests it)."""

    key: str
    source: str
    text: str
    paper: str
    assess: Callable[[Mapping], Assessment] | None = None


def directional(holds: bool, p: float) -> str:
    """The verdict of a one-sided test of the claimed direction: reproduced / direction only / not reproduced."""
    if holds and p < ALPHA:
        return "reproduced"
    return "direction only" if holds else "not reproduced"


def by_key(claims: Iterable[Claim]) -> dict[str, Claim]:
    return {c.key: c for c in claims}


def table(claims: Iterable[Claim], record: Mapping) -> pd.DataFrame:
    """The chapter's claims with the paper's number, ours and the verdict: what the notebook shows."""
    rows = []
    for c in claims:
        a = c.assess(record)
        rows.append({"claim": f"{c.source}: {c.text}", "paper": c.paper, "ours": a.ours, "verdict": a.verdict,
                     "why": a.note})
    return pd.DataFrame(rows).set_index("claim")


def sentence(claim: Claim, record: Mapping) -> str:
    """One Markdown sentence with the verdict of ``claim`` (for ``glue`` in the chapter's text)."""
    a = claim.assess(record)
    return f"**{claim.text}** — {a.verdict}: {a.ours}" + (f" ({a.note})" if a.note else "") + "."
