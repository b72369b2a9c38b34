"""Where a metanet fit's time goes: the MLP metanet of the metanetwork chapter on inputs of a zoo's shape, one
learning rate profiled on one thread, and (``--full``) one whole fit as the chapter runs it.

    .venv/bin/python benchmarks/metanet_fit.py [--zoo metanet_small] [--variant standard] [--epochs 40] [--full]
                                               [--json out.json]

Inputs are random numbers of the zoo's shape (``n_members`` rows of the variant's trainable weights, split 50/25/25
by :func:`symlib.metanets.split`; accuracies uniform in [0.2, 0.55]): a fit's time does not depend on the values,
so the zoo need not be built. The profiled arm trains one learning rate (10⁻³) for ``--epochs`` epochs through
:func:`symlib.metanets.fit_metanet` in this process on one thread, under :mod:`cProfile`, and splits its time into
the optimizer step (``symlib.training._adamw_``), the backward pass (autograd's engine), the batches
(``TensorBatches.epoch``: gathering and stacking the rows), the validation pass after each epoch
(``evaluate_stacked``, with the one test pass at the end) and the rest (the forward pass and the loop's
bookkeeping); the chosen epoch's retraining is in the total. ``--full`` adds the wall time of one whole fit of the chapter's training: the six learning rates,
50 epochs, on every core (one Ray task per rate), the chosen epoch retrained.

GEMM FLOPs of an epoch: the first layer's forward and weight gradient on the training rows (``2·2·n·D·h``) and its
forward on the validation rows (``2·n_val·D·h``); the rest of the MLP is negligible. Set against the measured GEMM
peak of one thread. Run on an otherwise idle machine.
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from population import gemm_peak, show_and_write  # noqa: E402

from symlib.distributed import cpu_workers, session  # noqa: E402
from symlib.metanets import (HIDDEN, LEARNING_RATES, PAPER_TRAINING,  # noqa: E402
                             MetanetConfig, fit_metanet, input_size, split)
from symlib.architectures import build_model  # noqa: E402
from symlib.metrics import kendall_tau  # noqa: E402
from symlib.zoo import RECIPES, model_config  # noqa: E402

#: (label, how a cProfile row is recognised: file suffix and function name, cumulative time)
PARTS = {"optimizer step (AdamW)": ("training.py", "_adamw_"),
         "batches (gather and stack rows)": ("batches.py", "epoch"),
         "validation passes (and the test pass)": ("evaluation.py", "evaluate_stacked")}


def _cumulative(stats: pstats.Stats, file_suffix: str, name: str) -> float:
    return sum(v[3] for (f, _, fn), v in stats.stats.items() if f.endswith(file_suffix) and fn == name)


def _backward(stats: pstats.Stats) -> float:
    return sum(v[2] for (_, _, fn), v in stats.stats.items() if "run_backward" in fn)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--zoo", default="metanet_small", help="a metanet_* recipe of symlib.zoo.RECIPES")
    ap.add_argument("--variant", default="standard")
    ap.add_argument("--epochs", type=int, default=40, help="epochs of the profiled learning rate")
    ap.add_argument("--full", action="store_true", help="also time one whole fit as the chapter runs it")
    ap.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = ap.parse_args()
    if args.zoo not in RECIPES or args.variant not in RECIPES[args.zoo]["variants"]:
        ap.error(f"--zoo/--variant: {args.zoo!r}/{args.variant!r} is not a zoo variant of symlib.zoo.RECIPES")
    if args.epochs < 1:
        ap.error("--epochs must be >= 1")
    rec = RECIPES[args.zoo]
    d = input_size("mlp", build_model(model_config(rec, args.variant)))
    n = rec["n_members"]
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(n, d, generator=g), 0.2 + 0.35 * torch.rand(n, generator=g)
    splits = split(n, seed=0)
    cfg = MetanetConfig("mlp", d)
    train_kw = dict(batch_size=PAPER_TRAINING["batch_size"], weight_decay=PAPER_TRAINING["weight_decay"], seed=0,
                    device="cpu", store=None)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    peak = gemm_peak(torch.device("cpu"), n=2048)
    kendall_tau(torch.rand(8), torch.rand(8))  # its first call imports its backend: seconds that are not the fit's
    profile = cProfile.Profile()
    t0 = time.perf_counter()
    profile.enable()
    fit = fit_metanet(cfg, X, y, splits, lrs=[1e-3], epochs=args.epochs, workers=1, **train_kw)
    profile.disable()
    seconds = time.perf_counter() - t0
    stats = pstats.Stats(profile)
    trained = args.epochs + (fit["epoch"] if fit["epoch"] != args.epochs else 0)
    parts = {label: _cumulative(stats, *where) for label, where in PARTS.items()}
    parts["backward pass"] = _backward(stats)
    parts["forward pass and the rest"] = seconds - sum(parts.values())
    n_train, n_val = len(splits[0]), len(splits[1])
    gemm_flops = (4 * n_train + 2 * n_val) * d * HIDDEN["mlp"]
    out = {"command": "benchmarks/metanet_fit.py " + " ".join(sys.argv[1:]), "zoo": args.zoo,
           "variant": args.variant, "input_size": d, "train_rows": n_train, "val_rows": n_val,
           "profiled_epochs_trained": trained, "profiled_seconds": seconds,
           "seconds_per_epoch_one_thread": seconds / trained,
           "share_of_time": {k: v / seconds for k, v in parts.items()},
           "gemm_gflop_per_epoch": gemm_flops / 1e9, "gemm_peak_gflops_one_thread": peak / 1e9,
           "fraction_of_one_thread_gemm_peak": gemm_flops * trained / seconds / peak}
    if args.full:
        torch.set_num_threads(threads)  # as the chapter: the rates as Ray tasks, the retraining in this process
        with session():
            t0 = time.perf_counter()
            full = fit_metanet(cfg, X, y, splits, lrs=LEARNING_RATES, epochs=PAPER_TRAINING["epochs"],
                               workers=cpu_workers(), **train_kw)
            out["full_fit_seconds"] = time.perf_counter() - t0
        out.update(full_fit_workers=cpu_workers(), full_fit_chosen_epoch=full["epoch"],
                   full_fit_member_epochs=len(LEARNING_RATES) * PAPER_TRAINING["epochs"]
                   + (full["epoch"] if full["epoch"] != PAPER_TRAINING["epochs"] else 0))
    show_and_write(out, args.json)


if __name__ == "__main__":
    main()
