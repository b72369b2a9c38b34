"""The connectivity pipeline: train pairs → align → interpolate → measure, for any registered architecture.

Linear mode connectivity (Frankle et al. 2020; Entezari et al. 2022; Ainsworth et al. 2023; Lim et al. 2024,
Section 5.1) asks whether two networks trained from different seeds are joined by a low-loss straight line
``θ(α) = (1 − α) θ_a + α θ_b``, possibly after permuting ``θ_b``'s hidden units onto ``θ_a``'s. One call of
:func:`connect` does all of it for a list of :class:`Pair` s:

1. **train** both members of every pair through :func:`symlib.training.train_members` (one training loop; Ray
   workers or a GPU population where they help), on a batch source (:mod:`symlib.batches`: tensors or a
   :class:`~symlib.batches.FullGraph`);
2. **align** ``θ_b`` to ``θ_a`` with each of the given :class:`Aligner` s — values, so a new one plugs in:
   :data:`IDENTITY` (plain interpolation), :class:`WeightMatching` (Git Re-Basin, Algorithm 1), and
   :class:`ActivationMatching` (units matched by their activations' similarity on ``align_data``);
3. **interpolate** on an ``α`` grid (:func:`symlib.interpolation.interpolation_curves`), re-estimating
   BatchNorm statistics at every point when ``reset_data`` is given;
4. **measure** the loss and any metric of :mod:`symlib.metrics` along each curve, and the midpoint and maximum
   barriers (:func:`~symlib.interpolation.midpoint_barrier`, :func:`~symlib.interpolation.max_barrier`).

Everything returned is JSON-able: per member its loss, metrics, training history and time; per (pair, aligner)
the curve, its barriers and what the aligner reports (objective gain, identity fraction, time).
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any, Mapping, Protocol, Sequence

from .architectures import build_model
from .evaluation import Data, evaluate_states
from .interpolation import interpolation_curves, max_barrier, midpoint_barrier
from .matching import Matching, activation_matching, weight_matching
from .permutation import apply_permutation
from .training import Member, train_members

__all__ = ["Aligner", "ActivationMatching", "IDENTITY", "Identity", "Pair", "WeightMatching", "connect"]

State = Mapping[str, Any]


@dataclass(frozen=True)
class Pair:
    """Two members of one architecture (equal ``model`` configs, so equal fixed tensors) that differ in their
    seeds; ``seed`` seeds the aligners' randomness for this pair (weight matching's visit order and restarts)."""

    a: Member
    b: Member
    seed: int = 0

    def __post_init__(self) -> None:
        if self.a.model != self.b.model:
            raise ValueError(f"a pair needs one architecture; got {self.a.model} and {self.b.model}")


class Aligner(Protocol):
    """Maps ``θ_b`` onto ``θ_a``'s units: ``align(model, state_a, state_b, seed=..., data=...) -> (state, info)``
    where ``model`` is a template of the pair's architecture (weights unused), ``data`` the pipeline's
    ``align_data``, and ``info`` a JSON-able dict recorded beside the curve."""

    def align(self, model, state_a: State, state_b: State, *, seed: int, data: Data | None) -> tuple[State, dict]: ...


@dataclass(frozen=True)
class Identity:
    """No alignment: the plain interpolation of the two trained networks."""

    def align(self, model, state_a, state_b, *, seed, data):
        return state_b, {}


IDENTITY = Identity()


def _info(match: Matching, seconds: float) -> dict[str, float]:
    return {"matching_time_s": seconds, "identity_fraction": match.identity_fraction, "matching_gain": match.gain,
            "matching_relative_gain": match.relative_gain}


@dataclass(frozen=True)
class WeightMatching:
    """Git Re-Basin weight matching (:func:`symlib.matching.weight_matching`) on the architecture's permutation spec,
    seeded by the pair's ``seed``; ``init`` and ``n_restarts`` as there (Algorithm 1: one identity start)."""

    init: str = "identity"
    n_restarts: int = 1
    max_iter: int = 100

    def align(self, model, state_a, state_b, *, seed, data):
        spec = model.permutation_spec()
        t0 = time.perf_counter()
        match = weight_matching(spec, state_a, state_b, seed=seed, init=self.init, n_restarts=self.n_restarts,
                                max_iter=self.max_iter)
        return apply_permutation(spec, match.perms, state_b), _info(match, time.perf_counter() - t0)


@dataclass(frozen=True)
class ActivationMatching:
    """Activation matching (:func:`symlib.matching.activation_matching`) at the architecture's activation sites,
    on the pipeline's ``align_data`` (inputs only are used)."""

    similarity: str = "correlation"
    batch_size: int = 1000

    def align(self, model, state_a, state_b, *, seed, data):
        if data is None:
            raise ValueError("ActivationMatching needs align_data (the inputs whose activations are matched)")
        model_a, model_b = copy.deepcopy(model), copy.deepcopy(model)
        model_a.load_state_dict(state_a)
        model_b.load_state_dict(state_b)
        t0 = time.perf_counter()
        match = activation_matching(model_a, model_b, model.activation_sites(), data, similarity=self.similarity,
                                    batch_size=self.batch_size)
        return (apply_permutation(model.permutation_spec(), match.perms, state_b),
                _info(match, time.perf_counter() - t0))


def connect(pairs: Sequence[Pair], source, data: Data, alphas: Sequence[float], aligners: Mapping[str, Aligner], *,
            align_data: Data | None = None, reset_data: Data | None = None, metrics: Sequence[str] = ("acc",),
            val: Data | None = None, device: str = "auto", progress: bool = True,
            desc: str = "pairs: networks") -> dict[str, list[dict]]:
    """Train every pair on ``source``, align with every aligner, and measure the curves on ``data``.

    Returns ``{"members": [...], "curves": [...]}``. ``members[2k + m]`` is pair ``k``'s member ``m`` (0 = a,
    1 = b): ``{"pair", "member", "loss", <metrics>, "history", "train_time_s"}`` measured on ``data``
    (``train_time_s``: the wall time of training and measuring all members, per member). ``curves`` holds, pair by
    pair and within a pair in the order of ``aligners``, ``{"pair", "method", "alpha", "loss", <metrics>,
    "endpoint_losses", "barrier_mid", "barrier_max", **info}``; ``barrier_mid`` needs ``α = ½`` on the grid.
    A member whose loss turned non-finite stops the run with the pair named (a barrier of a diverged network is
    meaningless).
    """
    alphas = [float(a) for a in alphas]
    t0 = time.perf_counter()
    members = [m for p in pairs for m in (p.a, p.b)]
    trained = train_members(members, source, device=device, val=val, progress=progress, desc=desc)
    bad = sorted({j // 2 for j, r in enumerate(trained) if r["final"] is None})
    if bad:
        raise RuntimeError(f"pair(s) {bad}: a network diverged (non-finite loss); lower the learning rate")
    finals = [r["final"] for r in trained]
    templates = {}
    for p in pairs:
        templates.setdefault(p.a.model, build_model(p.a.model))
    own = _evaluate_groups(templates, members, finals, data, metrics, device)
    per_member_s = (time.perf_counter() - t0) / len(members)
    out_members = [{"pair": j // 2, "member": j % 2, **own[j], "history": trained[j]["history"],
                    "train_time_s": per_member_s} for j in range(len(members))]
    curves = []
    for k, p in enumerate(pairs):
        template = templates[p.a.model]
        a, b = finals[2 * k], finals[2 * k + 1]
        endpoints = [own[2 * k]["loss"], own[2 * k + 1]["loss"]]
        for method, aligner in aligners.items():
            state_b, info = aligner.align(template, a, b, seed=p.seed, data=align_data)
            (c,) = interpolation_curves(template, [(a, state_b)], alphas, data, metrics=metrics,
                                        reset_data=reset_data, device=device)
            curves.append({"pair": k, "method": method, **c, "endpoint_losses": endpoints,
                           "barrier_mid": midpoint_barrier(c["alpha"], c["loss"]),
                           "barrier_max": max_barrier(c["alpha"], c["loss"]), **info})
    return {"members": out_members, "curves": curves}


def _evaluate_groups(templates, members: Sequence[Member], states, data: Data, metrics, device) -> list[dict]:
    """Loss and metrics of every trained member on ``data``, evaluated per architecture."""
    out: list[dict | None] = [None] * len(members)
    for cfg, template in templates.items():
        idx = [j for j, m in enumerate(members) if m.model == cfg]
        res = evaluate_states(template, [states[j] for j in idx], data, metrics=metrics, device=device)
        for n, j in enumerate(idx):
            out[j] = {k: v[n] for k, v in res.items()}
    return out

