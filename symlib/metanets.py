"""Metanetworks that predict a CNN's test accuracy from its weights (Lim et al. 2024, Section 5.3, Table 3,
Appendix E.3), their inputs, and their training.

**The metanets** (:class:`Metanet`, one config :class:`MetanetConfig` per network, built through the architecture
registry so that :func:`symlib.training.train_members` trains them). Every one maps ``x (B, in_dim) -> (B,)``, the
predicted test accuracy. Sizes are the authors' (github.com/cptq/asymmetric-networks, ``metanet/train.py`` and
``metanet/models.py``; hidden sizes from ``metanet/paper_scripts/final_*.sh``), and their parameter counts are the
paper's Table 9:

=============  ====================================================================  ======  =============
``kind``        network                                                                hidden  Table 9 count
=============  ====================================================================  ======  =============
``"mlp"``       ``Linear(D, h) → ReLU → LayerNorm → Linear(h, 1)`` on the flat weights   64   ``64·D + 257``
``"dmc"``       10 1-D convolutions (Eilertsen et al. 2020) over the flat weights,         64    105,357
                channels ``1→2→4→8→16→32→64→64→64→64→64``, kernel 5, each ReLU →
                BatchNorm, max-pool 2 after the first six and the 8th and 10th, then a
                DeepSets readout over positions (``Linear → LayerNorm → ReLU``, mean,
                ``Linear → LayerNorm → ReLU → Linear``)
``"deepsets"``  DeepSets over the **set of scalar weights** (``φ = Linear(1, h) →              64     8,897
                LayerNorm → ReLU``, mean over all D entries, ``ρ`` = two ``Linear →
                LayerNorm → ReLU`` and ``Linear(h, 1)``)
``"statnn"``    ``Linear(F, h) → ReLU → LayerNorm → (Linear(h, h) → ReLU → LayerNorm)     256    119,297
                → Linear(h, 1)`` on ``F = 7·29 = 203`` weight statistics
=============  ====================================================================  ======  =============

``D`` is the number of *trainable* weights of the CNN: 78,042 for the zoo's standard ResNet8 and 60,634 for its
W-Asym one (fixed entries excluded), so the MLP has 4,994,945 and 3,880,833 parameters, Table 9's counts. The
authors' DeepSets (``DSSeqReadout(1, 64, 1, num_layers=3)``) treats every scalar weight as one element of a set:
it is invariant to *every* permutation of the weight vector, hence to the CNN's neuron permutations; it is not a
DeepSets over neurons (Table 9's 8,897 parameters is exactly this network). The control that sees only the
sampled hyper-parameters is the ``"statnn"`` network on :func:`hyperparameter_features` (``in_dim = 4``).

**Inputs** from a CNN's state dict and its architecture (a template network whose ``mask`` buffers say which
entries of a W-Asym weight are fixed, unless the state dict carries its own masks):
:func:`flat_weights` (the trainable entries, ``named_parameters()`` order), :func:`weight_statistics` (mean,
variance, min, max and the 25/50/75 % quantiles of every parameter tensor's trainable entries, as the authors'
``vector_to_stats``/``sd_to_stats``: unbiased variance, linearly interpolated quantiles, zeros for a tensor with no
trainable entry, like the W-Asym stem), :func:`metanet_input` (either, by kind); :func:`state_from_row` reads one
row of a flat ``weights.npy`` given its layout (``name, start, end, shape`` per tensor, as Unterthiner et al.'s
``layout.csv``). :func:`weight_data` turns zoo members (ours, :func:`zoo_networks`, or the authors',
:func:`symlib.authors_zoo.load_authors_zoo`) into a :class:`WeightData` set.

**Permutation augmentation** (:func:`permutation_augment`): each flat weight vector of a batch is replaced by the
weights of a randomly permuted copy of its network, drawn from the network's own ``permutation_spec()`` with a seed
taken from the training loop's per-member generator (:func:`symlib.permutation.random_permutation`, seeded through
:mod:`symlib.seeding`): the same function, other weights. Standard networks only: an asymmetric network's fixed
tensors do not move with a permutation, so permuting it changes its function.

**Training** (:func:`fit_metanet`), as the paper: AdamW (weight decay 1e-2), batch 128, 50 epochs, MSE, the
learning rate from :data:`LEARNING_RATES` and the epoch by validation R² (the authors' ``train.py`` reports the test
metrics of the epoch with the best validation R²), split 50/25/25 by member with a seeded permutation
(:func:`split`; the authors split in file order), test R² and Kendall τ (:mod:`symlib.metrics`). Training goes
through :func:`symlib.training.train_members` with :class:`~symlib.objectives.MeanSquaredError`. The controls:
``shuffle_targets=True`` (training targets permuted among training members; validation and test keep the truth),
the same with ``shuffle_validation=True`` (validation targets permuted too: the choice of learning rate and epoch
blind to the truth) and the hyper-parameter-only model.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, NamedTuple, Sequence

import numpy as np
import torch
from torch import nn

from .architectures import build_model, register
from .batches import TensorBatches
from .evaluation import evaluate_states
from .layers import fixed_buffer_names
from .metrics import kendall_tau, r2
from .objectives import MeanSquaredError
from .permutation import apply_permutation, random_permutation
from .seeding import derive_seed, numpy_rng, seeded
from .training import Member, TrainConfig, train_members

State = Mapping[str, torch.Tensor]

KINDS = ("mlp", "dmc", "deepsets", "statnn")
#: Hidden sizes of the authors' runs (``metanet/paper_scripts/final_*.sh``; ``train.py``'s default is 64).
HIDDEN = {"mlp": 64, "dmc": 64, "deepsets": 64, "statnn": 256}
#: The learning rates the paper chooses from by validation R² (Appendix E.3.2).
LEARNING_RATES = (1e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2)
#: The paper's metanet training: AdamW with weight decay 1e-2, batch 128, 50 epochs (``metanet/train.py`` defaults).
PAPER_TRAINING = {"epochs": 50, "batch_size": 128, "weight_decay": 1e-2}
#: The seven statistics per tensor, in the authors' order (``vector_to_stats``).
STATISTICS = ("mean", "var", "min", "max", "q25", "q50", "q75")
#: Hyper-parameter features of the hyper-parameter-only control (Table 8's sampler draws).
HYPERPARAMETERS = ("log10_lr", "log10_weight_decay", "label_smoothing", "epochs")
#: The shortest flat input the DMC's ten convolutions and eight poolings accept.
DMC_MIN_LENGTH = 2044


# ------------------------------------------------------------------------------------------- the metanets

@dataclass(frozen=True)
class MetanetConfig:
    """A metanet: ``kind`` in :data:`KINDS`, its input size ``in_dim`` (``D`` flat weights, or the number of
    features), and ``hidden`` (``None``: the authors' size for the kind, :data:`HIDDEN`)."""

    kind: str
    in_dim: int
    hidden: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown metanet {self.kind!r}; choose one of {', '.join(KINDS)}")
        if self.in_dim < 1:
            raise ValueError(f"in_dim must be positive, got {self.in_dim}")
        if self.kind == "dmc" and self.in_dim < DMC_MIN_LENGTH:
            raise ValueError(f"the DMC needs at least {DMC_MIN_LENGTH} input entries, got {self.in_dim}")
        if self.kind == "dmc" and self.width % 32:
            raise ValueError(f"the DMC's hidden size must be a multiple of 32, got {self.width}")

    @property
    def width(self) -> int:
        return HIDDEN[self.kind] if self.hidden is None else int(self.hidden)


def _dense(a: int, b: int) -> list[nn.Module]:
    """``Linear(a, b) → ReLU → LayerNorm(b)`` (the order of the authors' MLP and StatNN)."""
    return [nn.Linear(a, b), nn.ReLU(), nn.LayerNorm(b)]


def _set_layer(a: int, b: int) -> list[nn.Module]:
    """``Linear(a, b) → LayerNorm(b) → ReLU`` (the order of the authors' DeepSets, ``DSSeqReadout``)."""
    return [nn.Linear(a, b), nn.LayerNorm(b), nn.ReLU()]


class SetReadout(nn.Module):
    """DeepSets (Zaheer et al. 2017) as the authors' ``DSSeqReadout``: ``x (B, N, in_dim) -> (B,)`` by
    ``ρ(mean_n φ(x_n))``, ``φ`` one :func:`_set_layer`, ``ρ`` ``layers − 1`` of them and ``Linear(hidden, 1)``.
    Invariant to permuting the ``N`` elements."""

    def __init__(self, in_dim: int, hidden: int, layers: int) -> None:
        super().__init__()
        self.phi = nn.Sequential(*_set_layer(in_dim, hidden))
        self.rho = nn.Sequential(*[m for _ in range(layers - 1) for m in _set_layer(hidden, hidden)],
                                 nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rho(self.phi(x).mean(1)).squeeze(-1)


def _dmc_convs(hidden: int) -> nn.Sequential:
    """The DMC's convolutions: ``(B, 1, D) -> (B, hidden, L)``; six ``Conv1d(k=5) → ReLU → BatchNorm1d →
    MaxPool1d(2)`` doubling the channels from ``hidden/32`` to ``hidden``, then four at ``hidden`` channels, the 2nd
    and 4th pooled (the authors' ``DMCCNN`` with ``conv_num_layers=10``)."""
    chans = [1] + [hidden // 2 ** k for k in (5, 4, 3, 2, 1, 0)] + [hidden] * 4
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(chans[:-1], chans[1:])):
        layers += [nn.Conv1d(a, b, 5), nn.ReLU(), nn.BatchNorm1d(b)]
        if i < 6 or (i - 6) % 2 == 1:
            layers.append(nn.MaxPool1d(2))
    return nn.Sequential(*layers)


@register(MetanetConfig)
class Metanet(nn.Module):
    """``x (B, in_dim) -> (B,)``: the metanet of ``cfg.kind`` (see the module's table). ``mlp``, ``dmc`` and
    ``deepsets`` read flat weights (:func:`flat_weights`), ``statnn`` a feature vector (:func:`weight_statistics`,
    :func:`hyperparameter_features`)."""

    def __init__(self, cfg: MetanetConfig) -> None:
        super().__init__()
        self.cfg = cfg
        h = cfg.width
        if cfg.kind == "mlp":
            self.net = nn.Sequential(*_dense(cfg.in_dim, h), nn.Linear(h, 1))
        elif cfg.kind == "statnn":
            self.net = nn.Sequential(*_dense(cfg.in_dim, h), *_dense(h, h), nn.Linear(h, 1))
        elif cfg.kind == "deepsets":
            self.net = SetReadout(1, h, layers=3)
        else:
            self.convs, self.net = _dmc_convs(h), SetReadout(h, h, layers=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.cfg.kind == "deepsets":
            return self.net(x.unsqueeze(-1))  # (B, D, 1): every weight is one element of the set
        if self.cfg.kind == "dmc":
            return self.net(self.convs(x.unsqueeze(1)).transpose(1, 2))  # (B, L, hidden): positions as a set
        return self.net(x).squeeze(-1)


def parameter_count(cfg: MetanetConfig) -> int:
    """Number of parameters of the metanet ``cfg`` (built on ``meta``: no memory, no RNG draws)."""
    with torch.device("meta"):
        return sum(p.numel() for p in Metanet(cfg).parameters())


# ------------------------------------------------------------------------------------------- inputs

def _trainable_tensors(state: State, model: nn.Module) -> list[tuple[str, torch.Tensor]]:
    """``[(name, trainable entries (flat))]`` of every parameter of ``model`` in ``named_parameters()`` order, read
    from ``state``; a W-Asym weight keeps the entries its mask (``state``'s own, else ``model``'s) marks trainable."""
    out = []
    for prefix, module in model.named_modules():
        for name, _ in module.named_parameters(recurse=False):
            full = f"{prefix}.{name}" if prefix else name
            w = state[full].detach().reshape(-1).float()
            if name == "weight" and hasattr(module, "mask"):
                mask = state.get(f"{prefix}.mask", module.mask)
                w = w[mask.reshape(-1).bool().to(w.device)]
            out.append((full, w))
    return out


def flat_weights(state: State, model: nn.Module) -> torch.Tensor:
    """The trainable weights of ``state`` (a state dict of ``model``'s architecture) as one vector ``(D,)``:
    78,042 entries for the zoo's standard ResNet8, 60,634 for its W-Asym one (the authors' ``sd_to_input`` with
    ``use_fixed=False``; σ-Asym's ``F`` is a buffer, never an input)."""
    return torch.cat([w for _, w in _trainable_tensors(state, model)])


def tensor_statistics(w: torch.Tensor) -> torch.Tensor:
    """``(7,)``: mean, unbiased variance, min, max and the 25/50/75 % quantiles (linear interpolation) of the
    entries of ``w``; zeros if ``w`` is empty (the authors' ``vector_to_stats`` and their empty-tensor rule)."""
    w = w.reshape(-1).float()
    if w.numel() == 0:
        return torch.zeros(len(STATISTICS))
    q = torch.quantile(w, torch.tensor([0.25, 0.5, 0.75]))
    return torch.cat([torch.stack([w.mean(), w.var(), w.min(), w.max()]), q])


def weight_statistics(state: State, model: nn.Module) -> torch.Tensor:
    """``(7·T,)``: :func:`tensor_statistics` of the trainable entries of each of ``model``'s ``T`` parameter tensors
    (29 for the zoo's ResNet8: 203 features), tensor by tensor in ``named_parameters()`` order."""
    return torch.cat([tensor_statistics(w) for _, w in _trainable_tensors(state, model)])


def metanet_input(kind: str, state: State, model: nn.Module) -> torch.Tensor:
    """The input of metanet ``kind`` for one network: :func:`weight_statistics` for ``"statnn"``, else
    :func:`flat_weights`."""
    if kind not in KINDS:
        raise ValueError(f"unknown metanet {kind!r}; choose one of {', '.join(KINDS)}")
    return weight_statistics(state, model) if kind == "statnn" else flat_weights(state, model)


def input_size(kind: str, model: nn.Module) -> int:
    """``in_dim`` of metanet ``kind`` for networks of ``model``'s architecture."""
    return metanet_input(kind, model.state_dict(), model).numel()


def hyperparameter_features(lr: float, weight_decay: float, label_smoothing: float, epochs: int) -> torch.Tensor:
    """``(4,)``: ``log10 lr, log10 weight decay, label smoothing, epochs`` (:data:`HYPERPARAMETERS`), Table 8's draws
    on the scales they are sampled on: the input of the hyper-parameter-only control."""
    return torch.tensor([math.log10(lr), math.log10(weight_decay), label_smoothing, float(epochs)])


Layout = Sequence[tuple[str, int, int, Sequence[int]]]


def layout_of(model: nn.Module) -> list[tuple[str, int, int, tuple[int, ...]]]:
    """``[(name, start, end, shape)]`` of ``model``'s parameters laid end to end (full tensors, fixed entries
    included): the layout of a flat ``weights.npy`` row, as Unterthiner et al.'s ``layout.csv``."""
    out, start = [], 0
    for name, p in model.named_parameters():
        out.append((name, start, start + p.numel(), tuple(p.shape)))
        start += p.numel()
    return out


def state_from_row(row: np.ndarray | torch.Tensor, layout: Layout) -> dict[str, torch.Tensor]:
    """The tensors of one flat weight row ``(P,)`` (a row of ``weights.npy``) cut by ``layout``: ``{name:
    row[start:end].reshape(shape)}``. Feed it with the network's template to :func:`metanet_input`."""
    row = torch.as_tensor(np.asarray(row) if not isinstance(row, torch.Tensor) else row).reshape(-1)
    state = {}
    for name, start, end, shape in layout:
        if end - start != math.prod(shape) or end > row.numel():
            raise ValueError(f"layout entry {name!r} [{start}, {end}) does not fit shape {tuple(shape)} in a row of "
                             f"{row.numel()} entries")
        state[name] = row[start:end].reshape(tuple(shape)).float()
    return state


# ------------------------------------------------------------------------------------------- datasets

class Network(NamedTuple):
    """One trained network as :func:`weight_data` reads it (:class:`symlib.authors_zoo.AuthorsMember` has the same
    fields): ``state`` its final state dict, ``test_acc`` a fraction, and its Table-8 draw."""

    member: int
    state: dict[str, torch.Tensor]
    test_acc: float
    lr: float
    weight_decay: float
    label_smoothing: float
    epochs: int


def zoo_networks(zoo: Any, variant: str, n: int | None = None) -> Iterable[Network]:
    """The non-diverged members ``0 … n−1`` of ``variant`` of a :class:`symlib.zoo.Zoo` (read lazily; a zoo that
    lacks one raises :class:`symlib.zoo.MissingZoo` with the command that builds it)."""
    for record in zoo.members(variant, n):
        i = record["member"]
        final = zoo.weights(variant, i)[1]
        if final is None or record.get("test_acc") is None:
            continue
        yield Network(i, final, float(record["test_acc"]), record["lr"], record["weight_decay"],
                      record["label_smoothing"], int(record["epochs"]))


@dataclass(frozen=True)
class WeightData:
    """A metanet data set: ``X (N, in_dim)`` inputs, ``y (N,)`` test accuracies, ``hparams (N, 4)``
    (:func:`hyperparameter_features`) and the zoo index of each row, ``members (N,)``."""

    X: torch.Tensor
    y: torch.Tensor
    hparams: torch.Tensor
    members: tuple[int, ...]
    dropped: tuple[int, ...] = ()

    def __len__(self) -> int:
        return len(self.y)


def weight_data(kind: str, networks: Iterable[Any], model: nn.Module) -> WeightData:
    """:class:`WeightData` of metanet ``kind`` from ``networks`` (objects with :class:`Network`'s fields: ours from
    :func:`zoo_networks`, or the authors' :class:`~symlib.authors_zoo.AuthorsMember`) of ``model``'s architecture.
    Networks with a non-finite weight are dropped (as the authors' ``NetDataset``) and listed in ``dropped``."""
    xs, ys, hs, members, dropped = [], [], [], [], []
    for net in networks:
        if any(t.is_floating_point() and not torch.isfinite(t).all() for t in net.state.values()):
            dropped.append(net.member)
            continue
        xs.append(metanet_input(kind, net.state, model))
        ys.append(float(net.test_acc))
        hs.append(hyperparameter_features(net.lr, net.weight_decay, net.label_smoothing, net.epochs))
        members.append(int(net.member))
    if not xs:
        raise ValueError("no network with finite weights to build a metanet data set from")
    return WeightData(torch.stack(xs), torch.tensor(ys), torch.stack(hs), tuple(members), tuple(dropped))


def split(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(train, val, test)`` row indices of ``n`` members: a seeded permutation cut 50/25/25 (``round(n/2)``,
    ``round(n/4)``, the rest, as the authors' sizes), disjoint and covering ``range(n)``."""
    order = torch.from_numpy(numpy_rng(seed, "metanets", "split").permutation(n))
    a, b = round(0.5 * n), round(0.5 * n) + round(0.25 * n)
    return order[:a], order[a:b], order[b:]


# ------------------------------------------------------------------------------------------- augmentation

@functools.lru_cache(maxsize=8)
def _symmetry(network: Any):
    """``(template, spec, [(name, shape)])`` of the standard network ``network`` (a registered config)."""
    template = seeded(lambda: build_model(network), 0)  # no draw from the caller's torch RNG
    if fixed_buffer_names(template):
        raise ValueError(f"permutation augmentation needs a standard network; {type(network).__name__} has fixed "
                         f"tensors ({fixed_buffer_names(template)[:3]}...) that a permutation does not move, so "
                         f"permuting its weights changes its function")
    shapes = [(n, tuple(p.shape)) for n, p in template.named_parameters()]
    return template, template.permutation_spec().parameters_only(), shapes


def permute_weights(flat: torch.Tensor, network: Any, seed: int) -> torch.Tensor:
    """The flat weights ``(D,)`` (:func:`flat_weights`) of a standard network of architecture ``network`` (a
    registered config such as :class:`~symlib.architectures.ResNet8Config`) permuted by the random permutation
    ``seed`` draws from the network's ``permutation_spec()``: the weights of a network computing the same
    function."""
    _, spec, shapes = _symmetry(network)
    state, start = {}, 0
    for name, shape in shapes:
        size = math.prod(shape)
        state[name] = flat[start:start + size].reshape(shape)
        start += size
    if start != flat.numel():
        raise ValueError(f"{flat.numel()} weights do not fit {type(network).__name__}'s {start}")
    permuted = apply_permutation(spec, random_permutation(spec, state, seed), state)
    return torch.cat([permuted[name].reshape(-1) for name, _ in shapes])


def permutation_augment(x: torch.Tensor, generator: torch.Generator, network: Any) -> torch.Tensor:
    """A batch augmentation for :class:`~symlib.batches.TensorBatches`: every row of ``x (B, D)`` is
    :func:`permute_weights` with its own seed, drawn from the member's ``generator``. Pass it as
    ``functools.partial(permutation_augment, network=config)``."""
    seeds = torch.randint(0, 2 ** 62, (len(x),), generator=generator).tolist()
    return torch.stack([permute_weights(row, network, s) for row, s in zip(x, seeds)])


# ------------------------------------------------------------------------------------------- training

def _best(history: Mapping[str, list], lr: float) -> tuple[float, int, float]:
    """``(val R², epoch, lr)`` of a member's best validation epoch (``-inf`` if none is finite)."""
    scores = [v if v == v else -math.inf for v in history.get("val_r2", [])]
    if not scores:
        return -math.inf, 0, lr
    k = int(np.argmax(scores))
    return scores[k], k + 1, lr


def fit_metanet(cfg: MetanetConfig, X: torch.Tensor, y: torch.Tensor, splits: tuple[torch.Tensor, ...], *,
                lrs: Sequence[float] = LEARNING_RATES, epochs: int = PAPER_TRAINING["epochs"],
                batch_size: int = PAPER_TRAINING["batch_size"], weight_decay: float = PAPER_TRAINING["weight_decay"],
                seed: int = 0, augment: Any = None, shuffle_targets: bool = False, shuffle_validation: bool = False,
                device: str = "auto", workers: int | None = None, store: Any = None,
                progress: bool = False) -> dict[str, Any]:
    """Train metanet ``cfg`` on rows ``splits[0]`` of ``X (N, in_dim)``, ``y (N,)`` once per learning rate in
    ``lrs`` (AdamW, ``weight_decay``, ``batch_size``, constant rate, MSE; :func:`symlib.training.train_members`),
    pick the learning rate and epoch with the best R² on rows ``splits[1]``, and measure R² and Kendall τ on rows
    ``splits[2]`` at that epoch.

    The chosen network is the learning rate's member trained again for exactly the chosen number of epochs: with
    the same seeds and a constant rate its first epochs are the same steps, so this is early stopping at the best
    validation epoch (the authors' ``train.py`` reports the test metrics of that epoch) without keeping every
    epoch's weights. ``augment`` is a :class:`~symlib.batches.TensorBatches` augmentation (e.g.
    ``functools.partial(permutation_augment, network=ResNet8Config())``); ``shuffle_targets`` permutes the training
    targets among the training rows (seeded): the control that should score R² ≈ 0. ``shuffle_validation`` (only
    with ``shuffle_targets``) also permutes the validation targets among the validation rows (seeded, another
    draw), so the learning rate and epoch are chosen blind to the truth; the training path is the shuffled
    control's, step for step, and the test targets stay true. Every member starts from the
    same initialisation and data order (seeded by ``seed``). ``store`` is ``train_members``' member store, off by
    default: a stored member's key fingerprints the training loop's code, not this module's.

    Returns ``{"lr", "epoch", "val_r2", "test_r2", "test_kendall_tau", "val_r2_curves": {lr: [per epoch]},
    "diverged": [lrs], "state"}``.
    """
    if shuffle_validation and not shuffle_targets:
        raise ValueError("shuffle_validation=True is the blind shuffled control: it needs shuffle_targets=True")
    train_idx, val_idx, test_idx = splits
    y = y.float()
    y_train, y_val = y[train_idx], y[val_idx]
    if shuffle_targets:
        y_train = y_train[torch.from_numpy(numpy_rng(seed, "metanets", "shuffled targets").permutation(len(y_train)))]
    if shuffle_validation:
        y_val = y_val[torch.from_numpy(numpy_rng(seed, "metanets", "shuffled validation targets")
                                       .permutation(len(y_val)))]
    source = TensorBatches(X[train_idx].float(), y_train, batch_size, augment)
    val = (X[val_idx].float(), y_val)
    init_seed, data_seed = derive_seed(seed, "metanets", "init"), derive_seed(seed, "metanets", "data")

    def member(lr: float, n_epochs: int) -> Member:
        return Member(model=cfg, init_seed=init_seed, data_seed=data_seed,
                      train=TrainConfig(epochs=n_epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay,
                                        optimizer="adamw"))

    objective = MeanSquaredError()
    kw = dict(device=device, workers=workers, store=store, progress=progress)
    runs = train_members([member(lr, epochs) for lr in lrs], source, objective, val=val, **kw)
    best_r2, best_epoch, best_lr = max((_best(r["history"], lr) for r, lr in zip(runs, lrs)),
                                       key=lambda t: t[0])
    if best_r2 == -math.inf:
        raise RuntimeError(f"no learning rate of {list(lrs)} gave a finite validation R²")
    state = runs[list(lrs).index(best_lr)]["final"]
    if best_epoch != epochs or state is None:
        state = train_members([member(best_lr, best_epoch)], source, objective, **kw)[0]["final"]
    model = seeded(lambda: build_model(cfg), 0)
    on_test = evaluate_states(model, [state], (X[test_idx].float(), y[test_idx]), objective=objective,
                              metrics=("r2", "kendall_tau"), device=device)
    return {"lr": best_lr, "epoch": best_epoch, "val_r2": best_r2, "test_r2": on_test["r2"][0],
            "test_kendall_tau": on_test["kendall_tau"][0],
            "val_r2_curves": {lr: r["history"].get("val_r2", []) for r, lr in zip(runs, lrs)},
            "diverged": [lr for r, lr in zip(runs, lrs) if r["diverged"]], "state": state}


def predict(cfg: MetanetConfig, state: State, X: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """Predictions ``(N,)`` of the metanet ``cfg`` with weights ``state`` on inputs ``X (N, in_dim)`` (eval mode)."""
    model = seeded(lambda: build_model(cfg), 0)
    model.load_state_dict(state)
    model.eval()
    with torch.no_grad():
        return torch.cat([model(X[i:i + batch_size].float()) for i in range(0, len(X), batch_size)])


def scores(predictions: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
    """``{"r2", "kendall_tau"}`` of predicted against true accuracies (:mod:`symlib.metrics`)."""
    return {"r2": r2(predictions, targets), "kendall_tau": kendall_tau(predictions, targets)}


__all__ = ["DMC_MIN_LENGTH", "HIDDEN", "HYPERPARAMETERS", "KINDS", "LEARNING_RATES", "Metanet", "MetanetConfig",
           "Network", "PAPER_TRAINING", "STATISTICS", "SetReadout", "WeightData", "fit_metanet", "flat_weights",
           "hyperparameter_features", "input_size", "layout_of", "metanet_input", "parameter_count",
           "permutation_augment", "permute_weights", "predict", "scores", "split", "state_from_row",
           "tensor_statistics", "weight_data", "weight_statistics", "zoo_networks"]
