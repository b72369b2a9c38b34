"""Wall time of Git Re-Basin weight matching, before (the plain reference) and after (the prepared matcher).

    .venv/bin/python benchmarks/weight_matching.py [--repeats 15] [--conv-repeats 3] [--threads 1]
                                                   [--cases mlp resnet8 resnet20] [--json PATH | --no-json]

Cases, each matched from the identity (one start): the paper-size MLP (784-512-512-512-10) and two 8x conv nets
(ResNet8 with widths 128-256-512, ResNet20 with width multiplier 8), each against (a) a planted permutation of
itself and (b) an independently initialised network (more sweeps). Each repeat times the reference
(``weight_matching(..., _reference=True)``, the implementation before the speed-up) and the fast path back to back,
so both see the same machine load; medians and spreads in ms. Every case first checks that both give the same
permutations and the same objective to the last bit (the benchmark stops otherwise). Targets (issue 17): MLP
planted <= 50 ms, two 8x ResNet20s <= 2 s, one thread. Writes ``benchmarks/results/weight_matching-<host>.json``
(``<host>``: ``cpu<number of CPUs>``; ``--json`` to choose the path). Run on an otherwise idle machine, pinned to one core (``taskset -c 0``).
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import socket
import time
from pathlib import Path

import numpy as np
import torch

from symlib.architectures import MLPConfig, ResNet8Config, ResNet20Config, build_model
from symlib.matching import weight_matching
from symlib.permutation import apply_permutation, random_permutation

CASES = {"mlp": MLPConfig(width=512), "resnet8": ResNet8Config(widths=(128, 256, 512)),
         "resnet20": ResNet20Config(width=8)}


def _pair_states(cfg):
    torch.manual_seed(0)
    model = build_model(cfg)
    spec, a = model.permutation_spec(), model.state_dict()
    torch.manual_seed(1)
    independent = build_model(cfg).state_dict()
    planted = apply_permutation(spec, random_permutation(spec, a, seed=1), a)
    return spec, a, {"planted": planted, "independent": independent}


def _same(fast, ref) -> bool:
    return (all(torch.equal(fast.perms[p], ref.perms[p]) for p in ref.perms) and fast.objective == ref.objective
            and fast.identity_objective == ref.identity_objective
            and fast.restart_objectives == ref.restart_objectives)


def _stats(t: list[float]) -> dict:
    t = 1e3 * np.array(t)
    return {"median_ms": float(np.median(t)), "min_ms": float(t.min()), "max_ms": float(t.max()), "n": len(t)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=15, help="repeats of the MLP cases")
    ap.add_argument("--conv-repeats", type=int, default=3, help="repeats of the conv-net cases")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    ap.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    ap.add_argument("--json", default=None, help="output path (default benchmarks/results/weight_matching-cpu<N>.json)")
    ap.add_argument("--no-json", action="store_true")
    ap.add_argument("--note", default="", help="conditions of the run, stored in the JSON")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    tag, host = f"cpu{os.cpu_count()}", socket.gethostname()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, host {host} ({tag})")
    results = []
    for case in args.cases:
        cfg = CASES[case]
        spec, a, pairs = _pair_states(cfg)
        repeats = args.repeats if case == "mlp" else args.conv_repeats
        for kind, b in pairs.items():
            fast, ref = weight_matching(spec, a, b), weight_matching(spec, a, b, _reference=True)  # also warm-up
            if not _same(fast, ref):
                raise SystemExit(f"{case} {kind}: the fast path differs from the reference")
            before, after = [], []
            for _ in range(repeats):
                for ref_flag, sink in ((True, before), (False, after)):
                    t0 = time.perf_counter()
                    weight_matching(spec, a, b, _reference=ref_flag)
                    sink.append(time.perf_counter() - t0)
            row = {"case": case, "pair": kind, "config": repr(cfg), "objective": fast.objective,
                   "identical_to_reference": True, "before": _stats(before), "after": _stats(after)}
            row["speedup"] = row["before"]["median_ms"] / row["after"]["median_ms"]
            results.append(row)
            print(f"{case:9s} {kind:12s} before {row['before']['median_ms']:8.1f} ms  after "
                  f"{row['after']['median_ms']:8.1f} ms  (x{row['speedup']:.2f}; after min "
                  f"{row['after']['min_ms']:.1f}, max {row['after']['max_ms']:.1f}, n={repeats})", flush=True)
    if args.no_json:
        return
    out = Path(args.json) if args.json else Path(__file__).parent / "results" / f"weight_matching-{tag}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    doc = {"command": "benchmarks/weight_matching.py " + " ".join(
               f"--{k.replace('_', '-')} {' '.join(v) if isinstance(v, list) else v}"
               for k, v in vars(args).items() if k not in ("json", "no_json", "note")),
           "measured": datetime.date.today().isoformat() + (f", {args.note}" if args.note else ""),
           "host": host, "cpu_count": os.cpu_count(),
           "processor": platform.processor() or platform.machine(), "torch": torch.__version__,
           "threads": torch.get_num_threads(),
           "before": "weight_matching(..., _reference=True): the implementation before the speed-up",
           "results": results}
    out.write_text(json.dumps(doc, indent=1) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
