"""The claims ledger: every claim of the papers, the paper's number, ours, and the verdict.

The ledger only *collects*: each chapter package (:data:`CHAPTERS`) exports its ``CLAIMS`` and
``configure``; claims no chapter tests yet live in :mod:`symlib.chapters.planned`. For each chapter the ledger
reads the stored result of its default configuration at the largest scale that has one (paper > small > ci),
calls each claim's :meth:`~symlib.claims.Claim.judge` on it, and marks a result whose code has changed since it was computed as
stale. ``python -m symlib.ledger`` prints the ledger page the book includes (:func:`page`: a count per verdict, then
one row per claim linked to its chapter, laid out as cards on a phone by the book's CSS); ``--check`` fails (exit 1) if a stored result is stale or was computed from
uncommitted code. A chapter shows its own claims with the same layout (:func:`chapter_table`) and lists their
verdicts in words (:func:`sentences`); every number goes through :mod:`symlib.formatting`.
"""
from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections import Counter
from pathlib import Path

from . import results
from .chapters import planned
from .claims import VERDICTS
from .formatting import Html, html_table, inline_html, md_escape, minus, minutes

#: Chapters in book order (the ledger lists their claims in this order): a new chapter adds one line here.
CHAPTERS = ("lmc", "table1", "identifiability", "symmetries", "critical_points", "theory_init", "bayesian", "mli",
            "appendix_a", "metanetworks")
SCALES = ("paper", "small", "ci")  # the verdict is taken at the first scale with a result


def chapter_record(chapter: str) -> dict | None:
    """The stored record of ``chapter``'s default configuration at the largest scale that has one, else None."""
    mod = importlib.import_module(f"symlib.chapters.{chapter}")
    for scale in SCALES:
        record = results.load_result(mod.NAME, mod.configure({"scale": scale}))
        if record is not None:
            return record
    return None


# ------------------------------------------------------------------------------------------- the book's page

BOOK = Path(__file__).resolve().parents[1] / "book"


def chapter_title(chapter: str) -> str:
    """The first heading of ``book/<chapter>.ipynb`` (the chapter's title in the book), else the chapter's name."""
    try:
        cells = json.loads((BOOK / f"{chapter}.ipynb").read_text())["cells"]
        first = "".join(next(c for c in cells if c["cell_type"] == "markdown")["source"]).strip().splitlines()[0]
        title = first.lstrip("#").strip()
        for stop in ("?", ":"):  # the short title: "Which parameter symmetries are left?", "Appendix A"
            if stop in title:
                title = title[:title.index(stop) + (1 if stop == "?" else 0)]
        return title
    except (OSError, StopIteration, ValueError, IndexError, KeyError):
        return chapter


def _slug(verdict: str) -> str:
    return "verdict-" + ("not-testable" if verdict.startswith("not testable") else verdict.replace(" ", "-"))


def judged(claims, record) -> list[dict]:
    """Each claim of a chapter judged on ``record`` (by :meth:`~symlib.claims.Claim.judge`, the one verdict
    function): source, text, paper, verdict, ours, note, premise (its text, and whether it failed)."""
    out = []
    for c in claims:
        a = c.judge(record)
        out.append({"claim": c, "verdict": a.verdict, "ours": a.ours, "note": a.note,
                    "premise": c.premise.text if c.premise else "", "premise_failed": bool(a.premise)})
    return out


def _ours_text(j: dict, escape=lambda text: text) -> str:
    """Our numbers, the test, and a failed premise in bold (``escape``: how plain text is made safe for the
    output, e.g. :func:`~symlib.formatting.md_escape`)."""
    text = escape(j["ours"] + (f"; {j['note']}" if j["note"] and not j["premise_failed"] else ""))
    if j["premise_failed"]:
        text += (" — **premise not met:** "
                 + escape(f"{j['premise']} ({j['note'].removeprefix('premise not met: ')})"))
    return text


def chapter_table(claims, record) -> Html:
    """A chapter's claims as the ledger shows them: claim, verdict, the paper's number, ours (with the test, and the
    premise where one failed). An HTML table: it reads the same in Jupyter and in the book, and on a phone each claim
    becomes a card (the book's CSS, class ``claims``)."""
    rows = []
    for j in judged(claims, record):
        c = j["claim"]
        premise = (f"<br><small>premise ({'not met' if j['premise_failed'] else 'met'}): "
                   f"{inline_html(j['premise'])}</small>") if j["premise"] and not j["premise_failed"] else ""
        rows.append([f"<strong>{inline_html(c.source)}.</strong> {inline_html(c.text)}",
                     f'<span class="{_slug(j["verdict"])}">{inline_html(j["verdict"])}</span>',
                     inline_html(c.paper), inline_html(_ours_text(j)) + premise])
    return Html(html_table(["Claim", "Verdict", "Paper", "Ours"], rows, css_class="symlib claims", raw=True))


def sentence(claim, record) -> str:
    """One claim's verdict in words, as Markdown: the claim in bold, the verdict, our numbers and the test."""
    j = judged([claim], record)[0]
    detail = j["note"].removeprefix("premise not met: ")
    text = f"Ours: {j['ours']}" + (f" (premise not met: {j['premise']}; here {detail})" if j["premise_failed"] else
                                   (f" ({j['note']})" if j["note"] else "")) + "."
    return f"**{md_escape(minus(claim.text))}**: {j['verdict']}. {md_escape(minus(text))}"


def sentences(claims, record) -> str:
    """The chapter's verdicts in words, one Markdown bullet per claim (what the chapter's closing section shows)."""
    return "\n".join(f"* {sentence(c, record)}" for c in claims)


def _cell(text: str) -> str:
    """A list-table cell: one line of MyST Markdown with numbers' minus signs."""
    return minus(" ".join(text.split()))


def page() -> str:
    """The ledger page the book includes: the count of claims per verdict, then a table (MyST ``list-table``, class
    ``claims``) with one row per claim, its chapter linked, verdict before the numbers."""
    rows, counts = [], Counter()
    for chapter in CHAPTERS:
        mod = importlib.import_module(f"symlib.chapters.{chapter}")
        record = chapter_record(chapter)
        link = f"[{chapter_title(chapter)}]({chapter}.ipynb)"
        for c in mod.CLAIMS:
            claim = f"**{md_escape(c.source)}.** {md_escape(c.text)} → {link}"
            if record is None:
                counts["not yet run"] += 1
                rows.append((claim, "**not yet run**", md_escape(c.paper), "—"))
                continue
            j = judged([c], record)[0]
            counts[j["verdict"]] += 1
            scale = record["manifest"]["config"]["scale"]
            where = f"at scale {scale}" + (", a smoke test" if scale == "ci" else "")
            stale = "<br><small>stale: code changed</small>" if record.get("stale") else ""
            verdict = f'<span class="{_slug(j["verdict"])}">{j["verdict"]}</span><br><small>{where}</small>{stale}'
            rows.append((claim, verdict, md_escape(c.paper), _ours_text(j, md_escape)))
    for c in planned.CLAIMS:
        counts["not yet built"] += 1
        rows.append((f"**{md_escape(c.source)}.** {md_escape(c.text)} (no chapter yet)", "not yet built",
                     md_escape(c.paper), "—"))
    tally = " · ".join(f"**{counts[v]}** {v}" for v in VERDICTS if counts[v])
    out = [f"**{sum(counts.values())} claims:** {tally}.", "",
           ":::{list-table}", ":header-rows: 1", ":class: claims", ":widths: 40 16 18 26", "",
           "* - Claim", "  - Verdict", "  - Paper", "  - Ours"]
    for row in rows:
        out.append(f"* - {_cell(row[0])}")
        out.extend(f"  - {_cell(cell)}" for cell in row[1:])
    out.append(":::")
    return "\n".join(out) + "\n\n" + costs()


def _zoo_record(chapter_rec: dict | None) -> dict | None:
    cfg = (chapter_rec or {}).get("manifest", {}).get("config", {})
    if "zoo" not in cfg:
        return None
    from .zoo import Zoo
    return Zoo(cfg["zoo"]).stored_summary(cfg.get("n_members"))


def costs() -> str:
    """Where the ledger's numbers come from and what they cost: per chapter (and the zoo the zoo chapters read) the
    scale, the wall time, the device and the commit, read from each record's manifest."""
    out = ["**Where these numbers come from** (read from each result's manifest):", "",
           ":::{list-table}", ":header-rows: 1", ":class: symlib", "",
           "* - Result", "  - Scale", "  - Computed in", "  - On", "  - Commit"]
    zoo_done = set()
    for chapter in CHAPTERS:
        rec = chapter_record(chapter)
        items = [(f"[{chapter_title(chapter)}]({chapter}.ipynb)", rec)]
        zoo = _zoo_record(rec)
        if zoo is not None and zoo["loaded_from"] not in zoo_done:
            zoo_done.add(zoo["loaded_from"])
            cfg = zoo["manifest"]["config"]
            items.append((f"the CIFAR-10 zoo `{cfg['zoo']}` ({cfg['n_members']} members per variant, `make zoo`)",
                          zoo))
        for name, r in items:
            if r is None:
                out += [f"* - {name}", "  - —", "  - not yet run", "  - —", "  - —"]
                continue
            m = r["manifest"]
            out += [f"* - {name}", f"  - {m['config']['scale']}", f"  - {minutes(m['wall_time_s'])}",
                    f"  - {m['device']}, {m.get('cpu_threads', '?')} threads",
                    f"  - `{(m.get('git_commit') or 'unknown')[:12]}`"]
    out.append(":::")
    return "\n".join(out) + "\n"


def problems() -> list[str]:
    """Stored default results that are stale or were computed from uncommitted code (``-dirty``)."""
    out = []
    for chapter in CHAPTERS:
        record = chapter_record(chapter)
        if record is None:
            continue
        name = record["loaded_from"]
        if record.get("stale"):
            out.append(f"{name}: stale (changed since: {', '.join(record['stale'])})")
        if str(record["manifest"].get("git_commit") or "").endswith("-dirty"):
            out.append(f"{name}: computed from uncommitted code ({record['manifest']['git_commit']})")
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m symlib.ledger", description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if a stored result is stale or dirty")
    args = ap.parse_args(argv)
    if args.check:
        found = problems()
        for p in found:
            print(p, file=sys.stderr)
        raise SystemExit(1 if found else 0)
    sys.stdout.write(page())


if __name__ == "__main__":
    main(sys.argv[1:])
