"""Wall time of Git Re-Basin weight matching on the paper-size MLP (784-512-512-512-10).

    .venv/bin/python benchmarks/weight_matching.py [--repeats 15] [--threads 1]

Reports the median and spread over repeats for (a) a planted permutation of one
network and (b) two independently initialised networks (more sweeps), matched
from the identity (one start). Budget from the backbone issue: <= 100 ms. Run on
an otherwise idle machine.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from symlib.architectures import MLP, MLPConfig
from symlib.matching import weight_matching
from symlib.permutation import apply_permutation, random_permutation


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = MLP(MLPConfig(width=512))
    spec, a = model.permutation_spec(), model.state_dict()
    torch.manual_seed(1)
    independent = MLP(MLPConfig(width=512)).state_dict()
    planted = apply_permutation(spec, random_permutation(spec, a, seed=1), a)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for name, b in (("planted permutation", planted), ("independent init", independent)):
        weight_matching(spec, a, b)  # warm-up
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            weight_matching(spec, a, b)
            times.append(time.perf_counter() - t0)
        t = 1e3 * np.array(times)
        print(f"{name:22s} median {np.median(t):6.1f} ms  (min {t.min():.1f}, max {t.max():.1f}, n={len(t)})")


if __name__ == "__main__":
    main()
