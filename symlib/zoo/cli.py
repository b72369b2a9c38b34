"""The command line of the zoo: ``python -m symlib.zoo build|info NAME``."""
from __future__ import annotations

import argparse

from .builder import Zoo, accuracy_stats, check_quality
from .recipes import RECIPES, zoo_root


def _parser() -> argparse.ArgumentParser:
    where = zoo_root()
    ap = argparse.ArgumentParser(
        prog="python -m symlib.zoo", description="Build or inspect a named CIFAR-10 zoo.",
        epilog=f"A zoo is written to $SYMLIB_ZOO/<name>-<recipe hash>/ when SYMLIB_ZOO is set, else to zoo/ at the "
               f"project root (here: {where}/<name>-<recipe hash>/). Its summary record goes to $SYMLIB_RESULTS "
               f"(default results/ at the project root). CIFAR-10 is read from $SYMLIB_DATA.")
    sub = ap.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="train the missing members (resumable; grows a zoo without retraining)",
                       description=f"Train the missing members of zoo NAME in {where}/NAME-<recipe hash>/ "
                                   f"($SYMLIB_ZOO, else zoo/ at the project root); members already built are kept.")
    b.add_argument("name", choices=sorted(RECIPES))
    b.add_argument("--members", type=int, default=None, help="members per variant (default: the recipe's)")
    b.add_argument("--device", default="auto",
                   help="where to train: auto (CUDA if available, else CPU; the default), cpu, cuda, or cuda:N "
                        "(GPU N); any torch device string")
    i = sub.add_parser("info", help="where a zoo lives and how many valid members are on disk (refreshes index.csv)")
    i.add_argument("name", choices=sorted(RECIPES))
    return ap


def info(zoo: Zoo) -> str:
    """What is on disk: valid members per variant of the recipe (all indices, not the recipe's size), stale or corrupt
    ones, and claims of builders at work; rewrites ``index.csv`` / ``curves.csv`` from the members on disk."""
    counts, notes = {}, []
    for v in zoo.variants:
        found, problems = zoo.on_disk(v)
        counts[v] = len(found)
        contiguous = found == list(range(len(found)))
        if found and not contiguous:
            notes.append(f"{v}: indices {found[0]}-{found[-1]} with gaps")
        notes.extend(f"{v}: {k} {why} (retrained by the next build)" for why, k in sorted(problems.items()))
    n = zoo.recipe["n_members"]
    lines = [f"zoo {zoo.name!r} in {zoo.directory}: " + ", ".join(f"{v} {counts[v]}" for v in zoo.variants)
             + f" valid members on disk (recipe default: {n} per variant)"]
    if any(counts.values()):
        rows = zoo.write_index()
        lines.append(f"index.csv and curves.csv rewritten from disk ({rows} members)")
    lines.extend(notes)
    claimed = sorted(p.stem for p in (zoo.directory / ".claims").glob("*.claim"))
    if claimed:  # a build in progress (or a dead builder's claims, taken over by the next build)
        lines.append(f"being trained by builders: {', '.join(claimed)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    zoo = Zoo(args.name)
    if args.command == "info":
        print(info(zoo))
        return
    record = zoo.build(args.members, device=args.device)
    stats = accuracy_stats(record, zoo.variants)
    print(f"zoo {zoo.name!r}: {record['result']['n_members']} members per variant in {zoo.directory} "
          f"({record['result']['trained_now']} trained now, {record['result']['build_time_s'] / 60:.1f} min); test "
          f"accuracy (mean ± sd) " + ", ".join(f"{v} {100 * s['mean']:.1f} ± {100 * s['sd']:.1f} %"
                                               for v, s in stats.items()))
    check_quality(record, zoo.recipe["quality_bar"], zoo.variants)
