"""Permutation specs and applying permutations (Ainsworth et al. 2023, "Git Re-Basin", Section 3).

A :class:`PermutationSpec` maps every permuted tensor of a state dict to one permutation name (or ``None``) per
axis. Every architecture of :mod:`symlib.architectures` builds its own spec from small part-dicts; applying
permutations (:func:`apply_permutation`) and matching two networks (:mod:`symlib.matching`) both derive from that
one table:

    spec = PermutationSpec.merge(
        conv_axes("stem", "S1", None), norm_axes("stem_norm", "S1"),
        # a residual stage: every tensor on the stream names the *same* permutation "S1"
        conv_axes("block1.conv1", "B1", "S1"), norm_axes("block1.norm1", "B1"),
        conv_axes("block1.conv2", "S1", "B1"), norm_axes("block1.norm2", "S1"),
        linear_axes("head", None, "S1"),
    )
    spec.check_covers(model)   # every parameter is listed, nothing else is

BatchNorm's running statistics (``norm_axes(..., running_stats=True)``) are listed too, so that
:func:`apply_permutation` permutes them with their channels, and are recorded in ``spec.statistics``: weight
matching ignores them (they are not parameters; Git Re-Basin matches parameters only).

Convention: a permutation ``p`` is a ``LongTensor`` of length ``n`` and permuting axis ``k`` of ``w`` gives
``w.index_select(k, p)``, i.e. unit ``i`` of the result is unit ``p[i]`` of the original.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import torch
from torch import nn

from .seeding import numpy_rng

State = Mapping[str, torch.Tensor]
Perms = dict[str, torch.Tensor]
Axes = tuple[str | None, ...]

__all__ = ["PermutationSpec", "SpecPart", "linear_axes", "conv_axes", "norm_axes", "gate_axes", "apply_permutation",
           "random_permutation", "identity_permutation"]


# --------------------------------------------------------------------------- specs

def linear_axes(name: str, out: str | None, inp: str | None, bias: bool = True) -> dict[str, Axes]:
    """Axes of ``nn.Linear`` ``name``: ``weight (out_features, in_features)`` → ``(out, inp)``,
    ``bias (out_features,)`` → ``(out,)`` (left out when ``bias=False``). ``None`` marks an axis that is not
    permuted (the input, the logits)."""
    axes: dict[str, Axes] = {f"{name}.weight": (out, inp)}
    if bias:
        axes[f"{name}.bias"] = (out,)
    return axes


def conv_axes(name: str, out: str | None, inp: str | None, bias: bool = False) -> dict[str, Axes]:
    """Axes of ``nn.Conv2d`` ``name``: ``weight (C_out, C_in, kH, kW)`` → ``(out, inp, None, None)``, plus
    ``bias (C_out,)`` → ``(out,)`` when ``bias=True`` (convs followed by a norm usually have none)."""
    axes: dict[str, Axes] = {f"{name}.weight": (out, inp, None, None)}
    if bias:
        axes[f"{name}.bias"] = (out,)
    return axes


class SpecPart(dict):
    """A part-dict ``name -> axes`` (compares equal to the plain dict) that also names which of its entries are
    statistics (buffers permuted with their channels but never matched on): :meth:`PermutationSpec.merge`
    collects them into ``PermutationSpec.statistics``."""

    def __init__(self, axes: Mapping[str, Axes], statistics: Iterable[str] = ()) -> None:
        super().__init__(axes)
        self.statistics = frozenset(statistics)


def norm_axes(name: str, p: str | None, bias: bool = True, running_stats: bool = False) -> SpecPart:
    """Axes of a per-channel affine norm ``name`` (LayerNorm over features, ``GroupNorm(1, C)``, BatchNorm):
    ``weight (C,)`` and ``bias (C,)`` → ``(p,)``. ``running_stats=True`` adds BatchNorm's buffers
    ``running_mean``/``running_var (C,)``, which :func:`apply_permutation` must permute too, and marks them as
    *statistics* (``.statistics``; weight matching skips them). The scalar ``num_batches_tracked`` is not
    listed; it is copied as it is."""
    axes: dict[str, Axes] = {f"{name}.weight": (p,)}
    if bias:
        axes[f"{name}.bias"] = (p,)
    stats = (f"{name}.running_mean", f"{name}.running_var") if running_stats else ()
    for s in stats:
        axes[s] = (p,)
    return SpecPart(axes, stats)


def gate_axes(name: str, p: str) -> SpecPart:
    """Axes of FiGLU ``name``'s ``F (C, C)`` (:class:`symlib.layers.FiGLU`): ``(p, p)``, a *statistic* — permuted
    with the channels it gates (a permuted σ-Asym network computes the same function, with a permuted ``F``) but
    never matched on. Listed only where ``F`` is data (:meth:`symlib.layers.FiGLU.as_data`): a fixed ``F`` defines
    the architecture and stays where it is."""
    return SpecPart({f"{name}.F": (p, p)}, [f"{name}.F"])


@dataclass(frozen=True)
class PermutationSpec:
    """``axes[name] = (perm or None, ...)``, one entry per axis of tensor ``name``.

    A tensor with no permuted axis (e.g. the logit layer's bias) may be listed with all-``None`` axes; it is
    then copied by :func:`apply_permutation` and counted (as a constant) in the matching objective.

    ``statistics``: the entries that are statistics of the data rather than parameters (BatchNorm's
    ``running_mean``/``running_var``): :func:`apply_permutation` permutes them like every entry, while weight
    matching (:func:`symlib.matching.weight_matching`, :func:`symlib.matching.matching_objective`) leaves them
    out of its objective. Each must be an entry of ``axes``.
    """

    axes: Mapping[str, Axes]
    statistics: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "statistics", frozenset(self.statistics))
        unknown = sorted(self.statistics - set(self.axes))
        if unknown:
            raise ValueError(f"statistics that are not entries of the spec: {unknown}")

    @classmethod
    def merge(cls, *parts: "Mapping[str, Iterable[str | None]] | PermutationSpec") -> "PermutationSpec":
        """One spec from part-dicts such as :func:`linear_axes`/:func:`conv_axes`/:func:`norm_axes` return, or
        from other specs. The statistics of every part (``SpecPart.statistics``, ``PermutationSpec.statistics``)
        are kept; a plain dict has none.

        A tensor may appear in several parts only with identical axes; a conflict raises ``ValueError``.
        """
        axes: dict[str, Axes] = {}
        statistics: set[str] = set()
        for part in parts:
            statistics |= getattr(part, "statistics", frozenset())
            for name, ax in (part.axes if isinstance(part, PermutationSpec) else part).items():
                ax = tuple(ax)
                if name in axes and axes[name] != ax:
                    raise ValueError(f"tensor {name!r} is listed twice with different axes: {axes[name]} and {ax}")
                axes[name] = ax
        return cls(axes, frozenset(statistics))

    def parameters_only(self) -> "PermutationSpec":
        """The spec without its statistics (the entries weight matching uses), in the same order."""
        if not self.statistics:
            return self
        return PermutationSpec({n: ax for n, ax in self.axes.items() if n not in self.statistics})

    def check_covers(self, model_or_state: nn.Module | State | Iterable[str]) -> None:
        """Raise ``ValueError`` unless the spec lists exactly the given parameters.

        ``model_or_state``: an ``nn.Module`` (its ``named_parameters()`` are checked; buffers such as
        BatchNorm's running statistics may be listed in the spec but are not required), a mapping
        ``name -> tensor`` (e.g. a state dict: every key is required), or an iterable of names. The
        message names every parameter the spec does not list and every spec entry that is not a
        parameter; when tensors are available it also names entries whose number of axes differs from
        the tensor's ``ndim`` and permutations used on axes of different lengths.
        """
        tensors: dict[str, torch.Tensor] = {}
        if isinstance(model_or_state, nn.Module):
            names = [n for n, _ in model_or_state.named_parameters()]
            tensors = {**dict(model_or_state.named_buffers()), **dict(model_or_state.named_parameters())}
            allowed = set(tensors)
        elif isinstance(model_or_state, Mapping):
            tensors = {n: t for n, t in model_or_state.items() if isinstance(t, torch.Tensor)}
            names = list(model_or_state)
            allowed = set(names)
        else:
            names = list(model_or_state)
            allowed = set(names)
        problems = []
        missing = [n for n in names if n not in self.axes]
        if missing:
            problems.append(f"parameters missing from the spec: {missing}")
        extra = [n for n in self.axes if n not in allowed]
        if extra:
            problems.append(f"spec entries that are not parameters: {extra}")
        bad_rank = [f"{n} (axes {self.axes[n]}, shape {tuple(t.shape)})" for n, t in tensors.items()
                    if n in self.axes and len(self.axes[n]) != t.dim()]
        if bad_rank:
            problems.append(f"entries whose number of axes differs from the tensor's: {bad_rank}")
        if not problems and tensors:
            try:
                self.sizes(tensors)
            except (ValueError, KeyError) as e:
                problems.append(str(e))
        if problems:
            raise ValueError("PermutationSpec does not match the model: " + "; ".join(problems))

    @property
    def perm_axes(self) -> dict[str, list[tuple[str, int]]]:
        """For each permutation name: the ``(tensor name, axis)`` pairs it acts on."""
        out: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for name, axes in self.axes.items():
            for k, p in enumerate(axes):
                if p is not None:
                    out[p].append((name, k))
        return dict(out)

    def sizes(self, state: State) -> dict[str, int]:
        """Length of every permutation, checked for consistency against ``state``."""
        sizes: dict[str, int] = {}
        for p, uses in self.perm_axes.items():
            ns = {state[name].shape[k] for name, k in uses}
            if len(ns) != 1:
                raise ValueError(f"permutation {p!r} acts on axes of different lengths {sorted(ns)}: {uses}")
            sizes[p] = ns.pop()
        return sizes


# --------------------------------------------------------------------------- applying permutations

def _permute(w: torch.Tensor, axes: tuple[str | None, ...], perms: Perms, skip: int | None = None) -> torch.Tensor:
    for k, p in enumerate(axes):
        if p is not None and k != skip:
            w = w.index_select(k, perms[p])
    return w


def apply_permutation(spec: PermutationSpec, perms: Perms, state: State) -> dict[str, torch.Tensor]:
    """Return a copy of ``state`` with every axis in ``spec`` permuted; other entries are copied as they are."""
    return {name: (_permute(w, spec.axes[name], perms) if name in spec.axes else w.clone())
            for name, w in state.items()}


def random_permutation(spec: PermutationSpec, state: State, seed: int) -> Perms:
    """A uniformly random permutation for every name in ``spec`` (seeded)."""
    rng = numpy_rng(seed, "random_permutation")
    return {p: torch.from_numpy(rng.permutation(n)) for p, n in sorted(spec.sizes(state).items())}


def identity_permutation(spec: PermutationSpec, state: State) -> Perms:
    return {p: torch.arange(n) for p, n in spec.sizes(state).items()}
