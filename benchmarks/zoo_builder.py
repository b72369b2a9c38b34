"""Zoo building throughput: members per hour at a zoo recipe, one member at a time against the zoo builder, and
where the arithmetic lands against the paper's zoo.

    .venv/bin/python benchmarks/zoo_builder.py [--zoo metanet_small] [--members 4] [--json out.json]

Both arms train and measure the same members (the first ``--members`` of every variant the recipe holds) from the
recipe's own definitions, data and augmentation (:mod:`symlib.zoo`): *one at a time* is a plain loop in this process
on all its threads, each member trained by ``symlib.training.train`` and then evaluated on the recipe's training
subset and test images, as the builder does; *builder* is ``Zoo.build`` into a scratch folder, its default route
(on a CPU one member per core as Ray tasks, Ray's start-up included; on a GPU vectorised populations). Both
arms' times include loading the recipe's data. Nothing is written to the real zoo or to ``results/``.

Training FLOPs are 3x the forward FLOPs of every conv and linear layer (2 per multiply-add, counted with forward
hooks as ``benchmarks/population.py`` does) per training image and epoch; evaluation adds one forward pass per
evaluated image. The paper's zoo (Lim et al., Table 8: 32x32 images, 50,000 training images, RandInt(10, 40)
epochs, 20,000 networks) is counted the same way and set against an H100's dense bf16 peak (989 TFLOP/s). Run on an
otherwise idle machine.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from population import forward_flops, gemm_peak, show_and_write  # noqa: E402

from symlib import zoo as zoo_module  # noqa: E402
from symlib.devices import resolve_device  # noqa: E402
from symlib.distributed import cpu_workers  # noqa: E402
from symlib.evaluation import evaluate_states  # noqa: E402
from symlib.training import train  # noqa: E402
from symlib.zoo.recipes import hyperparameters, member, recipe  # noqa: E402

H100_BF16_DENSE = 989e12  # FLOP/s, NVIDIA's H100 SXM datasheet (dense, without sparsity)


def member_flops(rec: dict, epochs: float) -> float:
    """Training plus evaluation FLOPs of one member of recipe ``rec`` trained for ``epochs`` epochs."""
    model = zoo_module.model_config(rec, "standard")
    from symlib.architectures import build_model
    net = build_model(model).eval()
    per_image = forward_flops(net, torch.zeros(1, 3, rec["image_size"], rec["image_size"]))
    return per_image * (3 * rec["train_size"] * epochs + rec["eval_train_size"] + rec["test_size"])


def one_at_a_time(z: zoo_module.Zoo, n: int, device: torch.device) -> float:
    """Seconds to train and evaluate members ``0..n-1`` of every variant in a plain loop on all threads."""
    rec = z.recipe
    t0 = time.perf_counter()  # the data's loading included, as in the builder's arm
    source, (_, eval_ds, test_ds) = z.source(), z.data()
    for v in z.variants:
        model = z.model(v)
        for i in range(n):
            draw = hyperparameters(rec, i)
            result = train([member(rec, draw, v)], source, device=str(device), progress=False)[0]
            if result["final"] is not None:
                evaluate_states(model, [result["final"]], (eval_ds.X, eval_ds.y),
                                hyper={"label_smoothing": [draw["label_smoothing"]]}, device=str(device))
                evaluate_states(model, [result["final"]], (test_ds.X, test_ds.y), device=str(device))
    return time.perf_counter() - t0


def builder(name: str, n: int, device: torch.device) -> float:
    """Seconds for ``Zoo.build(n)`` of zoo ``name`` into a scratch folder (its summary record too)."""
    with tempfile.TemporaryDirectory() as scratch:
        saved = {k: os.environ.get(k) for k in ("SYMLIB_ZOO", "SYMLIB_RESULTS")}
        os.environ.update(SYMLIB_ZOO=f"{scratch}/zoo", SYMLIB_RESULTS=f"{scratch}/results")
        try:
            t0 = time.perf_counter()
            zoo_module.Zoo(name).build(n, device=str(device), progress=False)
            return time.perf_counter() - t0
        finally:
            for k, v in saved.items():
                os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--zoo", default="metanet_small", help="a recipe of symlib.zoo.RECIPES")
    ap.add_argument("--members", type=int, default=4, help="members per variant in each arm")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = ap.parse_args()
    if args.members < 1:
        ap.error("--members must be >= 1")
    dev = resolve_device(args.device)
    rec = recipe(args.zoo)
    z = zoo_module.Zoo(args.zoo)
    n_total = args.members * len(z.variants)
    epochs = [hyperparameters(rec, i)["epochs"] for i in range(args.members)] * len(z.variants)
    flops = sum(member_flops(rec, e) for e in epochs)

    loop_s = one_at_a_time(z, args.members, dev)
    build_s = builder(args.zoo, args.members, dev)
    peak = gemm_peak(dev)

    whole = [hyperparameters(rec, i)["epochs"] for i in range(rec["n_members"])] * len(rec["variants"])
    zoo_flops = sum(member_flops(rec, e) for e in whole)
    paper = recipe("metanet_paper")
    paper_epochs = (paper["epochs_min"] + paper["epochs_max"]) / 2
    paper_flops = 2 * paper["n_members"] * member_flops(paper, paper_epochs)
    out = {
        "command": "benchmarks/zoo_builder.py " + " ".join(sys.argv[1:]),
        "zoo": args.zoo, "device": str(dev), "threads": torch.get_num_threads(), "workers": cpu_workers(),
        "members": n_total, "epochs_of_these_members": epochs,
        "gflop_these_members": flops / 1e9,
        "one_at_a_time_s_per_member": loop_s / n_total, "builder_s_per_member": build_s / n_total,
        "members_per_hour_one_at_a_time": 3600 * n_total / loop_s,
        "members_per_hour_builder": 3600 * n_total / build_s,
        "speedup_builder": loop_s / build_s,
        "gemm_peak_gflops": peak / 1e9,
        "achieved_gflops_one_at_a_time": flops / loop_s / 1e9, "achieved_gflops_builder": flops / build_s / 1e9,
        "fraction_of_gemm_peak_builder": flops / build_s / peak,
        "whole_zoo_members": len(whole), "whole_zoo_pflop": zoo_flops / 1e15,
        "whole_zoo_hours_at_builder_rate": zoo_flops / (flops / build_s) / 3600,
        "paper_zoo_members": 2 * paper["n_members"], "paper_zoo_flop": paper_flops,
        "paper_zoo_h100_bf16_hours": paper_flops / H100_BF16_DENSE / 3600,
        "paper_zoo_hours_at_builder_rate": paper_flops / (flops / build_s) / 3600,
    }
    show_and_write(out, args.json)


if __name__ == "__main__":
    main()
