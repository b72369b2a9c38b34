"""The claims ledger: every claim of the papers, the paper's number, ours, and the verdict.

The ledger only *collects*: each chapter package (:data:`CHAPTERS`) exports its ``CLAIMS`` and
``configure``; claims no chapter tests yet live in :mod:`symlib.chapters.planned`. For each chapter the ledger
reads the stored result of its default configuration at the largest scale that has one (paper > small > ci),
calls each claim's own ``assess`` on it, and marks a result whose code has changed since it was computed as
stale. ``python -m symlib.ledger`` prints the ledger as Markdown; ``--check`` fails (exit 1) if a stored result is
stale or was computed from uncommitted code.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from . import results
from .chapters import planned

#: Chapters in book order (the ledger lists their claims in this order): a new chapter adds one line here.
CHAPTERS = ("lmc", "symmetries", "critical_points", "mli", "appendix_a")
SCALES = ("paper", "small", "ci")  # the verdict is taken at the first scale with a result


def chapter_record(chapter: str) -> dict | None:
    """The stored record of ``chapter``'s default configuration at the largest scale that has one, else None."""
    mod = importlib.import_module(f"symlib.chapters.{chapter}")
    for scale in SCALES:
        record = results.load_result(mod.NAME, mod.configure({"scale": scale}))
        if record is not None:
            return record
    return None


def ledger_rows() -> list[dict[str, str]]:
    """One row per claim: ``claim``, ``paper``, ``ours``, ``verdict``."""
    rows = []
    for chapter in CHAPTERS:
        mod = importlib.import_module(f"symlib.chapters.{chapter}")
        record = chapter_record(chapter)
        for c in mod.CLAIMS:
            row = {"claim": f"**{c.source}.** {c.text}", "paper": c.paper}
            if record is None:
                row.update(ours="—", verdict="not yet run")
            else:
                a = c.judge(record)
                scale = record["manifest"]["config"]["scale"]
                stale = " **(stale: code changed since)**" if record.get("stale") else ""
                row["ours"] = a.ours + (f"; {a.note}" if a.note else "")
                where = f"at {scale}{', a smoke test' if scale == 'ci' else ''}"
                row["verdict"] = (f"**not testable** ({where}; premise: {a.premise})" if a.premise
                                  else f"**{a.verdict}** ({where})") + stale
            rows.append(row)
    for c in planned.CLAIMS:
        rows.append({"claim": f"**{c.source}.** {c.text}", "paper": c.paper, "ours": "—", "verdict": "not yet built"})
    return rows


def markdown() -> str:
    """The ledger as a Markdown table (four columns, so it reads at laptop widths)."""
    rows = ledger_rows()
    cols = ["claim", "paper", "ours", "verdict"]
    head = ["Claim", "Paper", "Ours", "Verdict"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(r[c].replace("|", "\\|").replace("\n", " ") for c in cols) + " |" for r in rows]
    return "\n".join(lines) + "\n"


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
    sys.stdout.write(markdown())


if __name__ == "__main__":
    main(sys.argv[1:])
