"""The one training loop of the book: one network, or a population of many trained in one vectorised pass.

Every chapter trains through :func:`train`. A population shares the module structure, the optimiser and the
batch source; each member has its own initialisation (``init_seed``), data order and augmentation draws
(``data_seed``), :class:`TrainConfig` (learning rate, weight decay, label smoothing, epochs, schedule) and fixed
buffers (W-Asym masks and ``F`` may differ between members, e.g. a grid over ``n_fix`` and ``κ``). One step
evaluates every member on *its own* batch (``torch.func`` + ``vmap``; a population of one skips vmap), computes
the pluggable :mod:`objective <symlib.objectives>`, and applies AdamW, Adam or SGD with per-member
hyper-parameters. A member whose epochs are done, or whose loss turns non-finite (flagged ``diverged``), leaves
the population.

The optimisers are written out because torch's optimisers cannot give each slice of one stacked tensor its own
learning rate; they implement exactly the updates of ``torch.optim.AdamW``, ``torch.optim.Adam`` (L2 weight
decay) and ``torch.optim.SGD`` with momentum 0.9, and ``tests/test_training.py`` holds the loop equal to a plain
``torch.optim`` loop. :func:`train_members` picks where members train (:mod:`symlib.distributed`).
"""
from __future__ import annotations

import math
import os
import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import torch
from torch import nn
from torch.func import vmap
from tqdm import tqdm

from .architectures import build_model
from .batches import TensorBatches
from .devices import resolve_device
from .distributed import cpu_workers, map_tasks
from .evaluation import evaluate_stacked
from .objectives import CrossEntropy, Objective
from .seeding import seeded, torch_generator
from .stacking import member_state, stack_models, vmapped_call

BETAS, EPS = (0.9, 0.999), 1e-8
MOMENTUM = 0.9
OPTIMIZERS = ("adamw", "adam", "sgd")
SCHEDULES = ("constant", "cosine", "linear")


@dataclass(frozen=True)
class TrainConfig:
    """Optimiser and schedule of one network.

    ``schedule``: ``"constant"``, ``"cosine"`` (to 0 at the end) or ``"linear"`` (to 0 at the end), each after
    ``warmup_epochs`` of linear warm-up from ``warmup_start_lr`` to ``lr``. ``"linear"`` with
    ``warmup_start_lr = 0`` is the triangular one-cycle schedule of FFCV's CIFAR script and of Lim et al.'s zoo
    code (peak at epoch ``warmup_epochs``). ``label_smoothing`` is read by :class:`~symlib.objectives.CrossEntropy`.
    """

    epochs: int = 25
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.0
    optimizer: str = "adamw"
    schedule: str = "constant"
    warmup_epochs: float = 0.0
    warmup_start_lr: float = 0.0
    label_smoothing: float = 0.0

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; choose one of {', '.join(SCHEDULES)}")
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError(f"epochs, batch_size and lr must be positive: {self}")

    def lr_at(self, step: int, steps_per_epoch: int) -> float:
        """Learning rate at optimisation step ``step`` (0-based)."""
        t = step / steps_per_epoch  # epochs elapsed
        if t < self.warmup_epochs:
            return self.warmup_start_lr + (self.lr - self.warmup_start_lr) * t / self.warmup_epochs
        u = min((t - self.warmup_epochs) / max(self.epochs - self.warmup_epochs, 1e-12), 1.0)
        if self.schedule == "cosine":
            return 0.5 * self.lr * (1 + math.cos(math.pi * u))
        if self.schedule == "linear":
            return self.lr * (1 - u)
        return self.lr


def train_config(preset: Mapping[str, Any], prefix: str = "", **overrides: Any) -> TrainConfig:
    """The one way a chapter turns its preset into a :class:`TrainConfig`: every field ``f`` of TrainConfig is read
    from ``preset[prefix + f]`` when present (``prefix="grid_"`` reads ``grid_lr``, ``grid_epochs``, ...), then
    ``overrides`` apply; absent fields keep TrainConfig's defaults."""
    given = {f.name: preset[prefix + f.name] for f in dataclasses.fields(TrainConfig) if prefix + f.name in preset}
    return TrainConfig(**{**given, **overrides})


@dataclass(frozen=True)
class Member:
    """One network to train, a value: its architecture ``model`` (a registered config such as
    :class:`~symlib.architectures.MLPConfig`, built by :func:`~symlib.architectures.build_model`), its
    :class:`TrainConfig`, ``init_seed`` (the model is built under ``torch.manual_seed(init_seed)``) and
    ``data_seed`` (its data order and augmentation). Equal members train to equal networks on equal data."""

    model: Any
    train: TrainConfig
    init_seed: int
    data_seed: int


def build_member(member: Member) -> nn.Module:
    """``build_model(member.model)`` under ``torch.manual_seed(member.init_seed)`` (the global RNG state is restored)."""
    return seeded(lambda: build_model(member.model), member.init_seed)


def train(members: Sequence[Member], source, objective: Objective | None = None, *, device: str = "auto", val=None,
          progress: bool = True, desc: str = "training") -> list[dict]:
    """Train every member; return per member ``{"init": state, "final": state | None, "history": ..., "diverged"}``.

    ``source`` is a batch source (:mod:`symlib.batches`); ``history`` has per-epoch ``epoch``, ``train_loss`` (the
    running mean of the objective over the epoch) and the objective's metrics as ``train_<metric>`` (e.g.
    ``train_acc``), plus ``val_loss`` / ``val_<metric>`` after each epoch when ``val`` (``(X, y)`` or a graph) is
    given. ``final`` is ``None`` for a diverged member.
    """
    return _train([build_member(m) for m in members], members, source, objective, device=device, val=val,
                  progress=progress, desc=desc)


def _train(models: list[nn.Module], members: Sequence[Member], source, objective: Objective | None, *, device: str,
           val, progress: bool, desc: str) -> list[dict]:
    """:func:`train` of already built ``models`` (one per member; consumed)."""
    objective = objective or CrossEntropy()
    if len({m.train.optimizer for m in members}) != 1:
        raise ValueError(f"a population needs one optimizer, got {sorted({m.train.optimizer for m in members})}")
    if hasattr(source, "batch_size") and {m.train.batch_size for m in members} != {source.batch_size}:
        raise ValueError(f"members' batch sizes {sorted({m.train.batch_size for m in members})} differ from the "
                         f"source's {source.batch_size}")
    optimizer = members[0].train.optimizer
    dev = resolve_device(device)
    init = [{n: t.detach().clone() for n, t in m.state_dict().items()} for m in models]
    params, buffers, base = stack_models(models, dev)
    del models
    base.train()
    out = [{"init": init[i], "final": None, "diverged": False, "history": {"epoch": [], "train_loss": []}}
           for i in range(len(members))]
    active = list(range(len(members)))
    params = {k: v.clone().requires_grad_(True) for k, v in params.items()}
    slots = ("momentum",) if optimizer == "sgd" else ("exp_avg", "exp_avg_sq")
    state = {slot: {k: torch.zeros_like(v) for k, v in params.items()} for slot in slots}
    gens = [torch_generator(m.data_seed, "data_order") for m in members]
    hyper = {f: torch.tensor([float(getattr(m.train, f)) for m in members], device=dev) for f in objective.hyper_fields}
    wd = torch.tensor([m.train.weight_decay for m in members], device=dev)
    steps_per_epoch = source.steps_per_epoch
    step = 0
    bar = tqdm(total=sum(m.train.epochs for m in members), desc=desc, disable=not progress, unit="member-epoch")

    def keep_only(keep: list[int]) -> None:  # positions into `active`
        nonlocal params, buffers, wd, hyper, active
        idx = torch.tensor(keep, device=dev, dtype=torch.long)
        params = {k: v.detach()[idx].clone().requires_grad_(True) for k, v in params.items()}
        buffers = {k: v[idx] for k, v in buffers.items()}
        for slot in state:
            state[slot] = {k: v[idx] for k, v in state[slot].items()}
        wd, hyper = wd[idx], {k: v[idx] for k, v in hyper.items()}
        active = [active[j] for j in keep]

    def step_inputs(batch) -> tuple[list[torch.Tensor], list[int | None]]:
        """The batch's inputs plus the objective's per-member extra inputs (drawn once per step)."""
        inputs, in_dims = list(batch.inputs), [0 if batch.per_member else None] * len(batch.inputs)
        extra = [objective.extra_inputs(batch.size, gens[i]) for i in active]
        for k in range(len(extra[0]) if extra else 0):
            inputs.append(torch.stack([e[k] for e in extra]))
            in_dims.append(0)
        return inputs, in_dims

    def forward(batch, inputs, in_dims):
        outputs = vmapped_call(base, params, buffers, tuple(x.to(dev) for x in inputs), tuple(in_dims))
        if batch.select is not None:
            outputs = outputs[:, batch.select.to(dev)]
        targets = batch.targets.to(dev)
        losses = vmap(objective.loss, in_dims=(0, 0 if batch.per_member else None, 0, 0))(outputs, targets, hyper,
                                                                                          {**params, **buffers})
        return outputs, targets, losses

    for epoch in range(max(m.train.epochs for m in members)):
        at_start = list(active)
        loss_sum = torch.zeros(len(active), dtype=torch.float64)
        sums: dict[str, torch.Tensor] = {}
        for batch in source.epoch([gens[i] for i in at_start], keep=lambda: [at_start.index(i) for i in active]):
            inputs, in_dims = step_inputs(batch)
            outputs, targets, losses = forward(batch, inputs, in_dims)
            finite = torch.isfinite(losses.detach()).cpu()
            if not finite.all():  # flag and remove diverged members before any update
                for j in (~finite).nonzero().flatten().tolist():
                    out[active[j]]["diverged"] = True
                    out[active[j]]["history"]["diverged"] = [1.0]
                    bar.update(members[active[j]].train.epochs - epoch)
                keep = finite.nonzero().flatten().tolist()
                loss_sum, sums = loss_sum[keep], {k: v[keep] for k, v in sums.items()}
                keep_only(keep)
                if not active:
                    break
                inputs = [x[keep] if d == 0 else x for x, d in zip(inputs, in_dims)]
                if batch.per_member:
                    batch.targets = batch.targets[keep]
                outputs, targets, losses = forward(batch, inputs, in_dims)
            grads = torch.autograd.grad(losses.sum(), list(params.values()))
            lr = torch.tensor([members[i].train.lr_at(step, steps_per_epoch) for i in active], device=dev)
            step += 1
            _UPDATES[optimizer](params, grads, state, lr, wd, step)
            loss_sum += losses.detach().double().cpu() * batch.size
            in_t = 0 if batch.per_member else None
            for k, v in vmap(objective.sums, in_dims=(0, in_t))(outputs.detach(), targets).items():
                sums[k] = sums.get(k, 0) + v.double().cpu()
        if not active:
            break
        n = source.n
        val_metrics = None
        if val is not None:
            val_metrics = evaluate_stacked(base, {k: v.detach() for k, v in params.items()}, buffers, val,
                                           objective=objective, hyper=hyper)
            base.train()
        finished = []
        for j, i in enumerate(active):
            h = out[i]["history"]
            h["epoch"].append(epoch + 1)
            h["train_loss"].append(float(loss_sum[j] / n))
            for k, v in objective.finish({k: v[j] for k, v in sums.items()}, n).items():
                h.setdefault(f"train_{k}", []).append(v)
            for k, v in (val_metrics or {}).items():
                h.setdefault(f"val_{k}", []).append(v[j])
            if members[i].train.epochs == epoch + 1:
                out[i]["final"] = member_state(params, buffers, j)
                finished.append(j)
        bar.update(len(active))
        if finished:
            keep_only([j for j in range(len(active)) if j not in finished])
        if not active:
            break
    bar.close()
    return out


def fit(model: nn.Module, source, cfg: TrainConfig, *, seed: int, objective: Objective | None = None,
        device: str = "auto", val=None, progress: bool = False, desc: str = "training") -> dict[str, list[float]]:
    """Train one existing ``model`` in place (data order and augmentation from ``seed``); returns its history
    (``"diverged": [1.0]`` if its loss turned non-finite, in which case the weights are left as they were)."""
    member = Member(model=None, train=cfg, init_seed=0, data_seed=seed)  # built already: model, init_seed unused
    result = _train([model], [member], source, objective, device=device, val=val, progress=progress, desc=desc)[0]
    if result["final"] is not None:
        model.load_state_dict(result["final"])
    return result["history"]


def tensor_batches(X: torch.Tensor, y: torch.Tensor, cfg: TrainConfig, augment=None) -> TensorBatches:
    """The usual source: shuffled mini-batches of ``cfg.batch_size``."""
    return TensorBatches(X, y, cfg.batch_size, augment)


#: CPU work below this many example-epochs (~100 s on one core) stays in this process: starting Ray costs ~7 s
IN_PROCESS_BELOW = 100_000


def _train_chunk(shared: tuple, members: Sequence[Member]) -> list[dict]:
    """One task of :func:`train_members`: a population trained with :func:`train` (module-level, for Ray)."""
    source, objective, device, val = shared
    return train(members, source, objective, device=device, val=val, progress=False)


def _member_store(store):
    """The :class:`~symlib.store.MemberStore` that ``train_members(store=...)`` names, or ``None``."""
    from .store import MemberStore
    if store is True:
        return MemberStore.default()
    if store is None or store is False:
        return None
    return store if isinstance(store, MemberStore) else MemberStore(store)


def train_members(members: Sequence[Member], source, objective: Objective | None = None, *, device: str = "auto", population: int = 64,
                  gpu_fraction: float = 0.125, workers: int | None = None, val=None, progress: bool = True,
                  desc: str = "members trained", on_result: Callable[[int, dict], None] | None = None,
                  store: Any = True) -> list[dict]:
    """:func:`train`'s results for ``members``, each computed where it is fastest; the result of a member does
    not depend on the route.

    * CUDA: vectorised populations of up to ``population`` members of similar epochs (so they leave together),
      in this process, or as Ray tasks holding ``gpu_fraction`` of a GPU each when ``RAY_ADDRESS`` names a
      cluster;
    * CPU: each member alone on one thread, one Ray task per member on every core (2 cores, the small zoo's ResNet8:
      1.19x one member at a time on both threads, against 1.08x for a vectorised population, where vmap makes every
      convolution a grouped one; ``benchmarks/results/population-cpu2-resnet8-16px.json``);
      small workloads (under ``IN_PROCESS_BELOW`` example-epochs) or ``workers=1`` stay in this process, on
      one thread.

    **Stored members** (:mod:`symlib.store`): ``store=True`` (default) keeps every trained member in the member
    store (``$SYMLIB_MEMBERS``, else ``members/`` at the project root; ``SYMLIB_MEMBERS=off`` disables it), keyed by
    its definition (member, data, objective, ``val``) and the training code's fingerprint: members already stored
    are loaded, only the others train, and each is written as soon as it is trained, so a killed run loses no
    finished member. One line on stderr says how many were reused and where the store is. ``store`` may also be a
    folder or a :class:`~symlib.store.MemberStore`; ``None`` disables it. A stored member's result is the one
    training gives (states and history bit for bit, on the device it was trained on).

    Members' configs (and the augmentation of ``source``) must pickle for Ray: module-level classes and
    functions, or ``functools.partial`` of them. ``on_result(i, result)`` is called as soon as member ``i``'s result
    is known (stored members first); ``val`` is passed to :func:`train`.
    """
    dev = resolve_device(device)
    out: list[dict | None] = [None] * len(members)
    members = list(members)
    stored = _member_store(store) if members else None
    todo = list(range(len(members)))
    if stored is not None:
        from .store import Definitions, tell_reuse
        defs = Definitions(source, objective, val)
        keys = [defs.key(m) for m in members]
        for i, m in enumerate(members):
            out[i] = stored.load(m, keys[i])
        todo = [i for i in todo if out[i] is None]
        tell_reuse(len(members) - len(todo), len(members), stored.root)
        if on_result is not None:
            for i in range(len(members)):
                if out[i] is not None:
                    on_result(i, out[i])
    if not todo:
        return out
    order = sorted(todo, key=lambda i: (-members[i].train.epochs, i))
    per_task = population if dev.type == "cuda" else 1
    chunks = [order[c:c + per_task] for c in range(0, len(order), per_task)]
    if dev.type == "cuda":
        in_process = not os.environ.get("RAY_ADDRESS")
    else:
        work = sum(members[i].train.epochs for i in todo) * getattr(source, "n", 1)
        in_process = (workers or cpu_workers()) == 1 or (workers is None and work < IN_PROCESS_BELOW)

    def collect(k: int, results: list[dict]) -> None:
        for i, r in zip(chunks[k], results):
            if stored is not None:
                stored.save(members[i], keys[i], defs.definition(members[i]), defs.code, r, str(dev))
            out[i] = r
            if on_result is not None:
                on_result(i, r)

    map_tasks(_train_chunk, [[members[i] for i in chunk] for chunk in chunks],
              shared=(source, objective, str(dev), val), num_gpus=gpu_fraction if dev.type == "cuda" else 0.0,
              in_process=in_process, on_result=collect, progress=progress, desc=desc)
    return out


# ------------------------------------------------------------------------------------- vectorised optimisers

@torch.no_grad()
def _adamw_(params, grads, state, lr, wd, step) -> None:
    """``torch.optim.AdamW`` with per-member ``lr (P,)`` and ``wd (P,)`` (decoupled weight decay)."""
    _adam_core(params, grads, state, lr, step, decay=lambda p, shape: p.mul_(1 - (lr * wd).view(shape)))


@torch.no_grad()
def _adam_(params, grads, state, lr, wd, step) -> None:
    """``torch.optim.Adam`` with per-member ``lr (P,)`` and L2 weight decay ``wd (P,)`` added to the gradient."""
    grads = [g + wd.view((-1,) + (1,) * (p.dim() - 1)) * p for p, g in zip(params.values(), grads)]
    _adam_core(params, grads, state, lr, step, decay=None)


def _adam_core(params, grads, state, lr, step, decay) -> None:
    b1, b2 = BETAS
    bc1, bc2_sqrt = 1 - b1 ** step, math.sqrt(1 - b2 ** step)
    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
    for (name, p), g in zip(params.items(), grads):
        shape = (-1,) + (1,) * (p.dim() - 1)
        if decay is not None:
            decay(p, shape)
        exp_avg[name].lerp_(g, 1 - b1)
        exp_avg_sq[name].mul_(b2).addcmul_(g, g, value=1 - b2)
        denom = (exp_avg_sq[name].sqrt() / bc2_sqrt).add_(EPS)
        p.sub_((lr / bc1).view(shape) * exp_avg[name] / denom)


@torch.no_grad()
def _sgd_(params, grads, state, lr, wd, step) -> None:
    """``torch.optim.SGD`` with momentum 0.9, per-member ``lr (P,)`` and L2 weight decay ``wd (P,)``."""
    momentum = state["momentum"]
    for (name, p), g in zip(params.items(), grads):
        shape = (-1,) + (1,) * (p.dim() - 1)
        d = g + wd.view(shape) * p
        momentum[name].mul_(MOMENTUM).add_(d)
        p.sub_(lr.view(shape) * momentum[name])


_UPDATES = {"adamw": _adamw_, "adam": _adam_, "sgd": _sgd_}
