"""Train many networks of one architecture at once: ``torch.func.stack_module_state`` + ``vmap``.

Each member has its own initialisation, data order, augmentation draws,
:class:`~symlib.train.TrainConfig` (learning rate, weight decay, label
smoothing, epochs, schedule) and fixed buffers (W-Asym masks and ``F`` may
differ, e.g. a grid over ``n_fix`` and ``κ``); all share the batch size, the
optimiser and the module structure. One step evaluates every member on *its
own* mini-batch in a single vectorised forward/backward, then applies AdamW or
SGD with per-member hyper-parameters. A member whose epochs are done, or whose loss
turns non-finite (flagged ``diverged``), leaves the population, so no compute
is spent on it.

A member trained here follows the same arithmetic as :func:`symlib.train.train`
with the same seeds (same data order, same augmentation draws, the updates
of ``torch.optim.AdamW`` / ``torch.optim.SGD`` with momentum 0.9), so results
agree up to float rounding; the test suite checks this. The vectorised
optimisers are written out here because torch's optimisers cannot apply a
different learning rate to each slice of one stacked tensor.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap
from tqdm import tqdm

from .parallel import run_jobs
from .seeding import seeded, torch_generator
from .train import TrainConfig, resolve_device

BETAS, EPS = (0.9, 0.999), 1e-8
MOMENTUM = 0.9  # symlib.train's SGD
#: CPU training of fewer image-epochs than this (~100 s on one core) stays in this process, still on one thread
IN_PROCESS_BELOW = 100_000


@dataclass(frozen=True)
class Member:
    """One network of a population: ``init_seed`` seeds its initialisation, ``data_seed`` its data order
    and augmentation (as ``seed`` does in :func:`symlib.train.train`); ``arch`` is passed to the
    population's ``make_model`` (e.g. ``{"kappa": 1.0}``)."""

    init_seed: int
    data_seed: int
    train: TrainConfig
    arch: Mapping[str, Any] = field(default_factory=dict)


def smoothed_cross_entropy(logits: torch.Tensor, y: torch.Tensor, label_smoothing: torch.Tensor) -> torch.Tensor:
    """``(1−ε)·NLL + ε·mean_c(−log p_c)``, PyTorch's label-smoothed cross-entropy, with ``ε`` a tensor
    (so it can differ per member under ``vmap``). ``logits (B, C)``, ``y (B,)`` -> scalar mean."""
    logp = torch.log_softmax(logits, dim=-1)
    nll = -logp.gather(-1, y.unsqueeze(-1)).squeeze(-1)
    return ((1 - label_smoothing) * nll - label_smoothing * logp.mean(-1)).mean()


def build_member(make_model: Callable[[Member], nn.Module], member: Member) -> nn.Module:
    """``make_model(member)`` under ``torch.manual_seed(member.init_seed)`` (global RNG state restored)."""
    return seeded(lambda: make_model(member), member.init_seed)


class Stacked:
    """A population's stacked parameters and buffers ``{name: (P, ...)}`` and a meta-device copy of the
    architecture, for vectorised calls."""

    def __init__(self, models: Sequence[nn.Module], device: torch.device) -> None:
        structure = [(n, tuple(p.shape)) for n, p in models[0].state_dict().items()]
        for m in models[1:]:
            if [(n, tuple(p.shape)) for n, p in m.state_dict().items()] != structure:
                raise ValueError("members of a population must share the module structure (names and shapes)")
        params, buffers = stack_module_state(list(models))
        self.params = {n: p.detach().to(device) for n, p in params.items()}
        self.buffers = {n: b.to(device) for n, b in buffers.items()}
        self.base = copy.deepcopy(models[0]).to("meta")

    def call(self, params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
        """Logits ``(P, B, classes)`` for inputs ``x (P, B, ...)``, member ``i`` on ``x[i]``."""
        return vmapped_call(self.base, params, buffers, x)


def vmapped_call(base: nn.Module, params: Mapping[str, torch.Tensor], buffers: Mapping[str, torch.Tensor],
                 x: torch.Tensor, in_dim_x: int | None = 0) -> torch.Tensor:
    """``base`` evaluated with member ``i``'s ``params``/``buffers`` (stacked ``(P, ...)``) on ``x[i]``
    (``in_dim_x=0``) or on the shared ``x`` (``in_dim_x=None``); returns ``(P, ...)``.

    A population of one skips ``vmap``: the same arithmetic, ~1.4x faster training on a CPU (zoo CNN, widths
    8/16/32, batch 32), where vmap's batching rules turn each convolution into a grouped one even for ``P = 1``."""
    if next(iter(params.values())).shape[0] == 1:
        xb = x[0] if in_dim_x == 0 else x
        one = functional_call(base, ({k: v[0] for k, v in params.items()}, {k: v[0] for k, v in buffers.items()}),
                              (xb,))
        return one.unsqueeze(0)
    return vmap(lambda p, b, xb: functional_call(base, (p, b), (xb,)), in_dims=(0, 0, in_dim_x))(params, buffers, x)


def train_population(make_model: Callable[[Member], nn.Module], members: Sequence[Member], X: torch.Tensor,
                     y: torch.Tensor, *, augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
                     device: str = "auto", progress: bool = True, desc: str = "population") -> list[dict]:
    """Train every member; return per member ``{"init": state, "final": state, "history": ..., "diverged": bool}``.

    ``make_model(member)`` builds a member's network (it is called under ``torch.manual_seed(init_seed)``).
    ``X (N, ...)``, ``y (N,)`` on the CPU (batches are gathered per member, then moved to ``device``).
    ``history`` has per-epoch ``train_loss`` (label smoothing included) and ``train_acc``, as in
    :func:`symlib.train.train`. ``final`` is ``None`` for a diverged member.
    """
    if len({m.train.batch_size for m in members}) != 1:
        raise ValueError("all members of a population must share the batch size")
    optimizers = {m.train.optimizer for m in members}
    if len(optimizers) != 1 or optimizers & {"adam"}:
        raise ValueError(f"a population needs one optimizer, 'adamw' or 'sgd'; got {sorted(optimizers)}")
    sgd = optimizers == {"sgd"}
    dev = resolve_device(device)
    models = [build_member(make_model, m) for m in members]
    stacked = Stacked(models, dev)
    init = [{n: t.detach().clone() for n, t in m.state_dict().items()} for m in models]
    del models
    n, batch = len(X), members[0].train.batch_size
    spe = math.ceil(n / batch)
    out: list[dict] = [{"init": init[i], "final": None, "diverged": False,
                        "history": {"epoch": [], "train_loss": [], "train_acc": []}} for i in range(len(members))]

    active = list(range(len(members)))
    params = {k: v.clone().requires_grad_(True) for k, v in stacked.params.items()}
    buffers = dict(stacked.buffers)
    state = {slot: {k: torch.zeros_like(v) for k, v in params.items()}
             for slot in (("momentum",) if sgd else ("exp_avg", "exp_avg_sq"))}
    gens = [torch_generator(m.data_seed, "data_order") for m in members]
    wd = torch.tensor([m.train.weight_decay for m in members], device=dev)
    ls = torch.tensor([m.train.label_smoothing for m in members], device=dev)
    step = 0
    bar = tqdm(total=sum(m.train.epochs for m in members), desc=desc, disable=not progress, unit="member-epoch")

    def keep_only(keep: list[int]) -> None:
        nonlocal params, buffers, wd, ls, active
        idx = torch.tensor(keep, device=dev, dtype=torch.long)
        params = {k: v.detach()[idx].clone().requires_grad_(True) for k, v in params.items()}
        buffers = {k: v[idx] for k, v in buffers.items()}
        for slot in state:
            state[slot] = {k: v[idx] for k, v in state[slot].items()}
        wd, ls = wd[idx], ls[idx]
        active = [active[j] for j in keep]

    for epoch in range(max(m.train.epochs for m in members)):
        orders = [torch.randperm(n, generator=gens[i]) for i in active]
        sums = torch.zeros(len(active), dtype=torch.float64)
        correct = torch.zeros(len(active), dtype=torch.float64)
        for start in range(0, n, batch):
            xs, ys = [], []
            for j, i in enumerate(active):
                idx = orders[j][start:start + batch]
                xs.append(X[idx] if augment is None else augment(X[idx], gens[i]))
                ys.append(y[idx])
            xb, yb = torch.stack(xs).to(dev), torch.stack(ys).to(dev)
            logits = stacked.call(params, buffers, xb)
            losses = vmap(smoothed_cross_entropy)(logits, yb, ls)
            finite = torch.isfinite(losses.detach()).cpu()
            if not finite.all():  # flag and remove diverged members before any update, as train() does
                for j in (~finite).nonzero().flatten().tolist():
                    out[active[j]]["diverged"] = True
                    out[active[j]]["history"]["diverged"] = [1.0]
                    bar.update(members[active[j]].train.epochs - epoch)
                keep = finite.nonzero().flatten().tolist()
                orders, sums, correct = [orders[j] for j in keep], sums[keep], correct[keep]
                keep_only(keep)
                if not active:
                    break
                xb, yb = xb[keep], yb[keep]
                logits = stacked.call(params, buffers, xb)
                losses = vmap(smoothed_cross_entropy)(logits, yb, ls)
            grads = torch.autograd.grad(losses.sum(), list(params.values()))
            lr = torch.tensor([members[i].train.lr_at(step, spe) for i in active], device=dev)
            step += 1
            if sgd:
                _sgd_(params, grads, state["momentum"], lr, wd)
            else:
                _adamw_(params, grads, state["exp_avg"], state["exp_avg_sq"], lr, wd, step)
            sums += losses.detach().double().cpu() * yb.shape[1]
            correct += (logits.argmax(-1) == yb).sum(-1).double().cpu()
        if not active:
            break
        finished = []
        for j, i in enumerate(active):
            h = out[i]["history"]
            h["epoch"].append(epoch + 1)
            h["train_loss"].append(float(sums[j] / n))
            h["train_acc"].append(float(correct[j] / n))
            if members[i].train.epochs == epoch + 1:
                out[i]["final"] = {**{k: v[j].detach().cpu().clone() for k, v in params.items()},
                                   **{k: v[j].cpu().clone() for k, v in buffers.items()}}
                finished.append(j)
        bar.update(len(active))
        if finished:
            keep_only([j for j in range(len(active)) if j not in finished])
        if not active:
            break
    bar.close()
    return out


_TASK: dict[str, Any] = {}


def _set_task(make_model, X, y, augment) -> None:
    _TASK.update(make_model=make_model, X=X, y=y, augment=augment)


def _train_alone(member: Member) -> dict:
    return train_population(_TASK["make_model"], [member], _TASK["X"], _TASK["y"], augment=_TASK["augment"],
                            device="cpu", progress=False)[0]


def train_members(make_model: Callable[[Member], nn.Module], members: Sequence[Member], X: torch.Tensor,
                  y: torch.Tensor, *, augment: Callable | None = None, device: str = "auto", population: int = 64,
                  workers: int | None = None, progress: bool = True, desc: str = "members trained") -> list[dict]:
    """:func:`train_population`'s results for ``members``, by the faster route for the device.

    CUDA: vectorised populations of up to ``population`` members of similar epochs (so they leave together).
    CPU: each member trains alone on one thread, one worker process per core (:func:`symlib.parallel.run_jobs`),
    longest first. ``benchmarks/population.py`` on 2 cores, relative to one member at a time on both threads:
    zoo CNN at widths 8/16/32, batch 32 (the ``small`` zoo): workers 1.27x, vmap population 1.16x; at widths
    16/32/64, batch 128: workers 0.94x, population 0.33x (vmap makes every convolution a grouped one). Workers
    are never far behind and win where networks are small, so they are the CPU route. A member's result is the same either way up to float rounding. On a CPU ``make_model`` and
    ``augment`` must be picklable (module-level functions or ``functools.partial`` of them). ``workers``: CPU
    worker processes; default one per core, or none (this process) for under ``IN_PROCESS_BELOW`` image-epochs.
    """
    order = sorted(range(len(members)), key=lambda i: (-members[i].train.epochs, i))
    out: list[dict | None] = [None] * len(members)
    dev = resolve_device(device)
    if dev.type == "cuda":
        chunks = [order[c:c + population] for c in range(0, len(order), population)]
        for ids in tqdm(chunks, desc=desc, disable=not progress, unit="population"):
            for i, r in zip(ids, train_population(make_model, [members[i] for i in ids], X, y, augment=augment,
                                                  device=str(dev), progress=False)):
                out[i] = r
        return out
    # starting worker processes costs ~5-10 s each time (import torch, ship X): not worth it for a few seconds' work
    if workers is None and sum(m.train.epochs for m in members) * len(X) < IN_PROCESS_BELOW:
        workers = 1
    res = run_jobs(_train_alone, [members[i] for i in order], initializer=_set_task,
                   initargs=(make_model, X, y, augment), workers=workers, desc=desc, progress=progress)
    for i, r in zip(order, res):
        out[i] = r
    return out


@torch.no_grad()
def _adamw_(params, grads, exp_avg, exp_avg_sq, lr, wd, step) -> None:
    """In-place AdamW with per-member ``lr (P,)`` and ``wd (P,)``, the update of ``torch.optim.AdamW``."""
    b1, b2 = BETAS
    bc1, bc2_sqrt = 1 - b1 ** step, math.sqrt(1 - b2 ** step)
    for (name, p), g in zip(params.items(), grads):
        shape = (-1,) + (1,) * (p.dim() - 1)
        p.mul_(1 - (lr * wd).view(shape))
        exp_avg[name].lerp_(g, 1 - b1)
        exp_avg_sq[name].mul_(b2).addcmul_(g, g, value=1 - b2)
        denom = (exp_avg_sq[name].sqrt() / bc2_sqrt).add_(EPS)
        p.sub_((lr / bc1).view(shape) * exp_avg[name] / denom)


@torch.no_grad()
def _sgd_(params, grads, momentum, lr, wd) -> None:
    """In-place SGD with momentum 0.9 and per-member ``lr (P,)``, ``wd (P,)``: ``torch.optim.SGD``'s update."""
    for (name, p), g in zip(params.items(), grads):
        shape = (-1,) + (1,) * (p.dim() - 1)
        d = g + wd.view(shape) * p
        momentum[name].mul_(MOMENTUM).add_(d)
        p.sub_(lr.view(shape) * momentum[name])


@torch.no_grad()
def evaluate_states(make_model: Callable[[], nn.Module], states: Sequence[Mapping[str, torch.Tensor]], X: torch.Tensor, y: torch.Tensor,
                    label_smoothing: Sequence[float] | None = None, batch_size: int = 1000, chunk: int | None = None,
                    device: str = "auto") -> tuple[list[float], list[float]]:
    """Loss (with each state's label smoothing, default 0) and accuracy of many states of one module structure.

    ``make_model()`` gives the structure (its own weights are unused); each state carries its own parameters
    and buffers. Vectorised over ``chunk`` states at a time (default: 32 on CUDA, 1 on a CPU, where vmap'd
    convolutions are slower than a loop); every state sees all of ``(X, y)``.
    """
    dev = resolve_device(device)
    if chunk is None:  # vmap'd convs are slower than a loop on CPUs (benchmarks/population.py)
        chunk = 32 if dev.type == "cuda" else 1
    model = make_model()
    base = copy.deepcopy(model).to("meta")
    pnames = [n for n, _ in model.named_parameters()]
    bnames = [n for n, _ in model.named_buffers()]
    ls_all = list(label_smoothing) if label_smoothing is not None else [0.0] * len(states)
    losses, accs = [], []
    for c0 in range(0, len(states), chunk):
        group = states[c0:c0 + chunk]
        params = {n: torch.stack([s[n] for s in group]).to(dev) for n in pnames}
        buffers = {n: torch.stack([s[n] for s in group]).to(dev) for n in bnames}
        ls = torch.tensor(ls_all[c0:c0 + chunk], device=dev)
        tot = torch.zeros(len(group), dtype=torch.float64)
        cor = torch.zeros(len(group), dtype=torch.float64)
        for i in range(0, len(X), batch_size):
            xb, yb = X[i:i + batch_size].to(dev), y[i:i + batch_size].to(dev)
            logits = vmapped_call(base, params, buffers, xb, in_dim_x=None)
            per = vmap(smoothed_cross_entropy, in_dims=(0, None, 0))(logits, yb, ls)
            tot += per.double().cpu() * len(yb)
            cor += (logits.argmax(-1) == yb).sum(-1).double().cpu()
        losses += (tot / len(X)).tolist()
        accs += (cor / len(X)).tolist()
    return losses, accs
