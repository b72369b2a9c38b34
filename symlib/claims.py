"""Claims of the papers and how a chapter judges them: one verdict function per claim, used everywhere.

A chapter's ``report`` module lists its :class:`Claim` s; each has an ``assess(record) -> Assessment`` that reads
our number from the chapter's stored result and returns the verdict, and, where the comparison needs room, a
:class:`Premise`: what the data must show before the claim can be tested at all (the baseline must show the
phenomenon the claim says asymmetry removes). :meth:`Claim.judge` is the one verdict function: a failed premise
gives "not testable at this scale" whatever the p-values. The chapter's page shows exactly these judgements
(:func:`symlib.ledger.chapter_table`, :func:`symlib.ledger.sentence`) and the book's claims ledger collects them
(:func:`symlib.ledger.page`); nothing else computes a verdict.

Verdicts (:data:`VERDICTS`):

* **reproduced** — the paper's direction, supported by the pre-stated test at p < 0.05, and no metric of the same
  table points significantly the other way;
* **direction only** — the paper's direction, not significant;
* **mixed** — the claimed metric agrees but another metric of the same table (or another variant the claim
  covers) points significantly the other way, or the claim holds in part of its stated range and fails in
  another (the note says where);
* **inconclusive** — an "at least as good" claim whose non-inferiority test, with the margin fixed in code before
  the run, is not significant (or a claim the data cannot decide);
* **not reproduced** — the opposite direction, or an exact check that fails;
* **not testable at this scale** — the claim's :class:`Premise` does not hold here (e.g. nothing overfits, or
  the baseline is already monotonic), shown with the figures that say why;
* **not yet run** / **not yet built** — no stored result / no chapter yet.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, Mapping

from .stats import ALPHA, TooFewSamples

VERDICTS = ("reproduced", "direction only", "mixed", "inconclusive", "not reproduced", "not testable at this scale",
            "not yet run", "not yet built")


@dataclass(frozen=True)
class Assessment:
    """Our number(s) for a claim (``ours``), the verdict (one of :data:`VERDICTS`), and a note: the test and its
    p-value, or why the verdict is what it is."""

    ours: str
    verdict: str
    note: str = ""
    #: the premise that failed (its sentence), when the verdict is "not testable at this scale" because of it
    premise: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in VERDICTS:
            raise ValueError(f"unknown verdict {self.verdict!r}; choose one of {VERDICTS}")


@dataclass(frozen=True)
class Premise:
    """What a claim's data must show before the claim can be tested, stated before any run: ``text`` (one
    sentence) and ``check(record) -> (holds, detail)``, ``detail`` giving the figures that decide it. A check whose
    test has too few samples (:class:`~symlib.stats.TooFewSamples`) counts as not holding."""

    text: str
    check: Callable[[Mapping], tuple[bool, str]]


@dataclass(frozen=True)
class Claim:
    """A claim of a paper: ``key`` (unique, ``"<chapter>.<name>"``), ``source`` (paper, table / figure), the claim in
    words, the paper's number (the reference column), ``assess`` (``None`` until a chapter tests it) and the
    ``premise`` its comparison needs (``None``: an exact statement, or a claim about the phenomenon itself)."""

    key: str
    source: str
    text: str
    paper: str
    assess: Callable[[Mapping], Assessment] | None = None
    premise: Premise | None = None

    def judge(self, record: Mapping) -> Assessment:
        """The claim's verdict on ``record``, the only one anywhere: the premise first (failed: "not testable at
        this scale", naming it and its figures, whatever the p-values), then ``assess``. A test that the data are
        too small for gives "inconclusive" with the reason."""
        try:
            a = self.assess(record)
        except TooFewSamples as e:
            a = Assessment("—", "inconclusive", f"too few samples for the test: {e}")
        if self.premise is None:
            return a
        try:
            holds, detail = self.premise.check(record)
        except TooFewSamples as e:
            holds, detail = False, f"too few samples to establish it: {e}"
        if holds:
            return a
        return Assessment(a.ours, "not testable at this scale", f"premise not met: {detail}", premise=self.premise.text)


def directional(holds: bool, p: float) -> str:
    """The verdict of a one-sided test of the claimed direction: reproduced / direction only / not reproduced."""
    if holds and p < ALPHA:
        return "reproduced"
    return "direction only" if holds else "not reproduced"


def across(outcomes: Mapping[str, tuple[bool, float, float]]) -> tuple[str, list[str]]:
    """The verdict of a claim that covers several variants (or metrics), from each one's ``(holds, p,
    p_opposite)``: the claimed direction holds in the means, its one-sided p, and the p of the opposite
    direction. Returns ``(verdict, names pointing significantly the other way)``:

    * every part holds at p < ALPHA: **reproduced**; every part holds: **direction only**;
    * some parts hold and others do not (pointing the other way, significantly or not): **mixed** — the claim
      holds in part of its stated range and fails in another (the module's definition); the names returned say
      which parts point significantly the other way;
    * no part holds: **not reproduced**.
    """
    against = [name for name, (_, _, p_opp) in outcomes.items() if p_opp < ALPHA]
    holds = [h for h, _, _ in outcomes.values()]
    if all(h and p < ALPHA for h, p, _ in outcomes.values()):
        return "reproduced", against
    if all(holds):
        return "direction only", against
    return ("mixed" if any(holds) else "not reproduced"), against


def by_key(claims: Iterable[Claim]) -> dict[str, Claim]:
    return {c.key: c for c in claims}
