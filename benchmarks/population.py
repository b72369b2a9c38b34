"""Population training throughput: members per hour, population vs one-at-a-time, fraction of fp32 GEMM peak.

    .venv/bin/python benchmarks/population.py [--members 16] [--widths 16 32 64] [--size 16] [--images 2048]

Three arms, the same training code (``symlib.training.train``) on the zoo's ResNet8: *one at a time* trains the
members one by one in this process on all its threads (a population of 1, which skips vmap), *population* all at
once with vmap, and, on a CPU, *workers*, ``train_members``' CPU route: each member alone on one thread, one Ray
task per core (Ray's start-up included). Training FLOPs are counted as 3x the forward
FLOPs of every conv and linear layer (2 per multiply-add), measured with forward hooks; the peak is a
4096x4096 fp32 ``torch.mm`` on the same device. Run on an otherwise idle machine.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch
from torch import nn

from symlib.architectures import ResNet8, ResNet8Config
from symlib.batches import TensorBatches
from symlib.data import cifar_augment
from symlib.devices import resolve_device
from symlib.distributed import cpu_workers
from symlib.training import Member, TrainConfig, train, train_members
from symlib.architectures import build_model


def forward_flops(model: nn.Module, x: torch.Tensor) -> int:
    """Multiply-add FLOPs (x2) of conv and linear layers for one forward pass of ``x``."""
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            k = module.weight.shape[1] * module.weight.shape[2] * module.weight.shape[3]
            total += 2 * output.numel() * k
        elif isinstance(module, nn.Linear):
            total += 2 * output.numel() * module.in_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return total


def gemm_peak(device: torch.device, n: int = 4096, repeats: int = 5) -> float:
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    a @ b
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(repeats):
        a @ b
    if device.type == "cuda":
        torch.cuda.synchronize()
    return 2 * n ** 3 * repeats / (time.perf_counter() - t0)


def show_and_write(out: dict, json_path: str | None) -> None:
    """Print the figures ``out`` a line each (a dict of shares as percentages) and, if ``json_path``, write them
    there as JSON."""
    for k, v in out.items():
        if isinstance(v, dict):
            print(f"{k}:", ", ".join(f"{a} {100 * b:.0f} %" for a, b in v.items()))
        else:
            print(f"{k}: {v:.4g}" if isinstance(v, float) else f"{k}: {v}")
    if json_path:
        Path(json_path).write_text(json.dumps(out, indent=1) + "\n")
        print(f"wrote {json_path}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=16)
    ap.add_argument("--widths", type=int, nargs=3, default=[16, 32, 64])
    ap.add_argument("--variant", default="standard")
    ap.add_argument("--images", type=int, default=2048)
    ap.add_argument("--size", type=int, default=16, help="image side in pixels (the small zoo: 16)")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--baseline-members", type=int, default=4, help="members timed one at a time")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--json", default=None, help="also write the figures to this JSON file")
    args = ap.parse_args()
    dev = resolve_device(args.device)
    cfg = ResNet8Config(widths=tuple(args.widths), variant=args.variant)
    g = torch.Generator().manual_seed(0)
    X = torch.randn(args.images, 3, args.size, args.size, generator=g)
    y = torch.randint(0, 10, (args.images,), generator=g)
    members = [Member(cfg, TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=0.002 * (1 + i % 4),
                                              weight_decay=1e-4, label_smoothing=0.1, schedule="linear",
                                              warmup_epochs=0.5, optimizer="adamw"), i, 100 + i)
               for i in range(args.members)]
    flops_per_member = 3 * forward_flops(build_model(cfg), X[:1]) * args.images * args.epochs
    source = TensorBatches(X, y, args.batch_size, cifar_augment)
    train(members[:2], TensorBatches(X[:256], y[:256], args.batch_size, cifar_augment), device=str(dev),
          progress=False)

    def timed(group):
        if dev.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        train(group, source, device=str(dev), progress=False)
        if dev.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t0

    t_single = sum(timed([m]) for m in members[:args.baseline_members]) / args.baseline_members
    t_pop = timed(members) / args.members
    t_workers = None
    if dev.type == "cpu":
        t0 = time.perf_counter()  # workers given explicitly: Ray even for a small job (its start-up is counted)
        train_members(members, source, device="cpu", workers=cpu_workers(), progress=False)
        t_workers = (time.perf_counter() - t0) / args.members
    peak = gemm_peak(dev)
    res = {
        "command": " ".join(["benchmarks/population.py", *sys.argv[1:]]),
        "device": str(dev) if dev.type != "cuda" else torch.cuda.get_device_name(dev),
        "threads": torch.get_num_threads(), "widths": args.widths, "variant": args.variant,
        "members": args.members, "images_per_epoch": args.images, "epochs": args.epochs,
        "batch_size": args.batch_size, "image_size": args.size, "train_gflop_per_member": flops_per_member / 1e9,
        "one_at_a_time_s_per_member": t_single, "population_s_per_member": t_pop,
        "speedup": t_single / t_pop,
        "members_per_hour_one_at_a_time": 3600 / t_single, "members_per_hour_population": 3600 / t_pop,
        "gemm_peak_gflops": peak / 1e9,
        "achieved_gflops_one_at_a_time": flops_per_member / t_single / 1e9,
        "achieved_gflops_population": flops_per_member / t_pop / 1e9,
    }
    if t_workers is not None:
        res.update(workers=cpu_workers(), workers_s_per_member=t_workers, speedup_workers=t_single / t_workers,
                   members_per_hour_workers=3600 / t_workers,
                   achieved_gflops_workers=flops_per_member / t_workers / 1e9)
        res["fraction_of_gemm_peak_workers"] = res["achieved_gflops_workers"] / res["gemm_peak_gflops"]
    res["fraction_of_gemm_peak_population"] = res["achieved_gflops_population"] / res["gemm_peak_gflops"]
    res["fraction_of_gemm_peak_one_at_a_time"] = res["achieved_gflops_one_at_a_time"] / res["gemm_peak_gflops"]
    for k, v in res.items():
        print(f"{k:40s} {v:.4g}" if isinstance(v, float) else f"{k:40s} {v}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
