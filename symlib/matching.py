"""Matching two networks' hidden units: Git Re-Basin weight matching and activation matching.

* :func:`weight_matching` (Ainsworth et al. 2023, Algorithm 1): coordinate ascent over the permutations of a
  :class:`~symlib.permutation.PermutationSpec`, each step a linear assignment problem (scipy's
  ``linear_sum_assignment``), with seeded restarts;
* :func:`activation_matching` (Ainsworth et al. 2023, Section 3.1; Bürgin et al. 2026 use the Pearson correlation
  of post-activations): the units of each permutation matched by the similarity of their activations at the
  architecture's *activation sites*, on tensors or a graph; the similarity matrices come back on the result.

Both return a :class:`Matching` with ``perms`` such that ``apply_permutation(spec, perms, state_b)`` is aligned to
``state_a``, the objective reached and its gain over the identity.
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import nn

from .batches import FullGraph
from .permutation import Perms, PermutationSpec, State, _permute
from .seeding import numpy_rng

__all__ = ["Matching", "matching_objective", "weight_matching", "activation_matching"]


# --------------------------------------------------------------------------- matching results

@dataclass
class Matching:
    """Result of :func:`weight_matching` or :func:`activation_matching`.

    ``perms[name]``: ``LongTensor (n,)``, such that ``apply_permutation(spec, perms, state_b)`` is aligned to
    ``state_a``. ``objective``: the maximised quantity at ``perms`` (float64) — for weight matching
    ``Σ_{tensors in spec} <θ_a, π(θ_b)>`` (:func:`matching_objective`), for activation matching the summed
    similarity of matched units ``Σ_p Σ_i S_p[i, p[i]]``. ``identity_objective``: the same at ``π = id``.
    ``restart_objectives``: the objective reached by each restart, in restart order (one entry for
    activation matching).

    ``similarity[p]`` (activation matching only; empty for weight matching): the matrix ``S_p`` that was
    matched, ``float64 (n_a, n_b)`` on the CPU, ``S_p[i, j]`` = similarity of unit ``i`` of model a and unit
    ``j`` of model b at ``p``'s site; ``similarity_kind`` says which (``"correlation"``: Pearson correlation over
    samples; ``"inner_product"``: mean over samples of ``a_i b_j``). Unit ``i``'s matched similarity is
    ``S_p[i, perms[p][i]]``; under the identity it is ``S_p[i, i]``.
    """

    perms: dict[str, torch.Tensor]
    objective: float
    identity_objective: float
    restart_objectives: list[float] = field(default_factory=list)
    similarity: dict[str, torch.Tensor] = field(default_factory=dict)
    similarity_kind: str | None = None

    @property
    def gain(self) -> float:
        """``objective − identity_objective``."""
        return self.objective - self.identity_objective

    @property
    def relative_gain(self) -> float:
        """``gain / |identity_objective|``; ``nan`` when ``identity_objective`` is 0 (or either value is nan)."""
        denom = abs(self.identity_objective)
        return self.gain / denom if denom > 0 else math.nan

    @property
    def identity_fraction(self) -> float:
        """Fraction of units mapped to themselves, pooled over all permutations: ``Σ_p #{i: p[i] = i} / Σ_p n_p``,
        i.e. the per-permutation fractions averaged with weights ``n_p`` (their plain mean differs when widths
        differ). ``nan`` when there are no units. About ``len(perms)/Σ n_p`` (one fixed point per permutation
        in expectation) for uniformly random permutations."""
        total = sum(len(p) for p in self.perms.values())
        if total == 0:
            return math.nan
        fixed = sum(int((p == torch.arange(len(p))).sum()) for p in self.perms.values())
        return fixed / total


def matching_objective(spec: PermutationSpec, state_a: State, state_b: State,
                       perms: Mapping[str, torch.Tensor]) -> float:
    """``Σ_{name in spec, not a statistic} <θ_a[name], π(θ_b)[name]>`` in float64: the objective weight matching
    maximises (Ainsworth et al. 2023, Eq. 2, written as a sum of Frobenius inner products over the spec's tensors).
    ``spec.statistics`` (BatchNorm's running statistics) are left out: they are permuted with their channels but
    are not parameters."""
    total = torch.zeros((), dtype=torch.float64)
    for name, axes in spec.axes.items():
        if name in spec.statistics:
            continue
        a = state_a[name].detach().to(torch.float64)
        b = _permute(state_b[name].detach().to(torch.float64), axes, perms)
        total += (a * b).sum()
    return float(total)


# --------------------------------------------------------------------------- weight matching

#: sweeps without a new best objective after which an ascent with self-coupled permutations stops
_PATIENCE = 10


class _WeightMatcher:
    """Prepared tensors of one ``(spec, state_a, state_b)`` for coordinate ascent (shared by all restarts).

    Computes exactly what :class:`_ReferenceWeightMatcher` computes (same float32 matmul on the same operands,
    same float64 objective summed in the same order, hence the same permutations and objective to the last
    bit), with less work per step: ``state_b``'s blocks of every permutation are moved and concatenated once
    (``b_base[p] (n, M)``, unpermuted), and a solve gathers its columns with one ``np.take`` (permuting the
    other axes of a tensor moved-and-flattened is a gather of its columns) into a reused buffer; the objective
    multiplies in one reused float64 buffer (no fresh large allocation, no float64 copy of ``state_b``) and
    is remembered per permutation state (the identity start's is the identity objective)."""

    def __init__(self, spec: PermutationSpec, state_a: State, state_b: State) -> None:
        spec = spec.parameters_only()  # statistics are permuted with their channels, never matched on
        self.spec = spec
        self.sizes = spec.sizes(state_a)
        if spec.sizes(state_b) != self.sizes:
            raise ValueError("state_a and state_b have different widths")
        for name in spec.axes:
            if state_a[name].shape != state_b[name].shape:
                raise ValueError(f"{name}: shapes differ, {tuple(state_a[name].shape)} vs {tuple(state_b[name].shape)}")
        self.uses = spec.perm_axes
        self.names = sorted(self.sizes)
        # Products in float32 (exact enough to separate matches, several times faster than float64); the
        # blocks of every tensor touching P are concatenated so C is one matmul: C = [A_k]_k [B_k]_k^T.
        self.a_cat = {p: torch.cat([state_a[name].detach().to(torch.float32).movedim(k, 0).reshape(n, -1)
                                    for name, k in self.uses[p]], dim=1) for p, n in self.sizes.items()}
        # b_base[p]: the same concatenation of state_b, unpermuted; cols[p]: per block, its column offset,
        # the sizes of its other axes and the permutation (or None) acting on each of them.
        self.b_base: dict[str, torch.Tensor] = {}
        self.cols: dict[str, list[tuple[int, list[int], list[str | None]]]] = {}
        for p, n in self.sizes.items():
            blocks, parts, offset = [], [], 0
            for name, k in self.uses[p]:
                w = state_b[name].detach().to(torch.float32)
                others = [j for j in range(w.dim()) if j != k]
                dims = [int(w.shape[j]) for j in others]
                blocks.append(w.movedim(k, 0).reshape(n, -1))
                parts.append((offset, dims, [spec.axes[name][j] for j in others]))
                offset += math.prod(dims)
            self.b_base[p] = torch.cat(blocks, dim=1).contiguous()
            self.cols[p] = parts
        self._arange: dict[int, torch.Tensor] = {}
        # A permutation that acts on two axes of one tensor ("self-coupled", e.g. a square map on a
        # residual stream with axes (S, S)) enters the objective quadratically: its cost matrix depends on
        # its own current value, so it is its own neighbour.
        self.self_coupled = {p for p in self.sizes
                             if any(sum(q == p for q in spec.axes[name]) > 1 for name, _ in self.uses[p])}
        self.neighbours = {p: sorted({q for name, _ in self.uses[p] for q in spec.axes[name]
                                      if q is not None and (q != p or p in self.self_coupled)})
                           for p in self.sizes}
        # the objective's operands, in their own dtype (made float64 as the objective needs them); for
        # contiguous ones the products go to one reused float64 buffer (fresh large allocations cost page faults)
        self.a_raw = {name: state_a[name].detach() for name in spec.axes}
        self.b_raw = {name: state_b[name].detach() for name in spec.axes}
        self._objectives: dict[tuple[bytes, ...], float] = {}
        self._products = {name for name, a in self.a_raw.items()
                          if a.is_contiguous() and self.b_raw[name].is_contiguous() and a.dim() > 0}
        self._product_buf = torch.empty(max((self.a_raw[n].numel() for n in self._products), default=0),
                                        dtype=torch.float64)
        self._gather_buf = np.empty(max((b.numel() for b in self.b_base.values()), default=0), dtype=np.float32)
        self.patience = _PATIENCE

    def _range(self, d: int) -> torch.Tensor:
        r = self._arange.get(d)
        if r is None:
            r = self._arange[d] = torch.arange(d)
        return r

    def b_cat(self, p: str, perms: Perms) -> torch.Tensor:
        """``(n, M)`` contiguous, equal to the reference's
        ``cat([_permute(b, skip=k).movedim(k, 0).reshape(n, -1) for (b, k) using P], dim=1)``."""
        index = []
        for offset, dims, qs in self.cols[p]:
            idx = torch.zeros((), dtype=torch.long)
            for d, q in zip(dims, qs):
                idx = idx.unsqueeze(-1) * d + (perms[q] if q is not None else self._range(d))
            index.append(idx.reshape(-1) + offset)
        # numpy's column gather is several times faster than index_select(1, ...); both copy the same values.
        # Into one reused buffer (each gather's product is taken before the next gather).
        base = self.b_base[p].numpy()
        out = self._gather_buf[:base.size].reshape(base.shape)
        np.take(base, torch.cat(index).numpy(), axis=1, out=out, mode="clip")  # indices are in range: no clipping
        return torch.from_numpy(out)

    def objective(self, perms: Perms) -> float:
        """:func:`matching_objective` (same operations in the same order, so the same float), remembered."""
        key = tuple(perms[p].numpy().tobytes() for p in self.names)
        obj = self._objectives.get(key)
        if obj is None:
            total = torch.zeros((), dtype=torch.float64)
            for name, axes in self.spec.axes.items():
                a, b = self.a_raw[name], _permute(self.b_raw[name], axes, perms)
                if name not in self._products:
                    total += (a.to(torch.float64) * b.to(torch.float64)).sum()
                    continue
                # the same float64 products (both factors made float64, one IEEE multiply each) in a reused
                # contiguous buffer, summed as the reference sums its contiguous temporary of the same shape
                buf = self._product_buf[:a.numel()].view(a.shape)
                buf.copy_(a)
                total += torch.mul(buf, b, out=buf).sum()
            obj = self._objectives[key] = float(total)
        return obj

    def ascend(self, perms: Perms, rng: np.random.Generator, max_iter: int, rtol: float,
               use_cache: bool = True) -> tuple[Perms, float]:
        """Coordinate ascent from ``perms``; the visit order of each sweep from ``rng``. Returns the
        permutations and their objective (:func:`matching_objective`)."""
        perms = dict(perms)
        version = dict.fromkeys(self.sizes, 0)
        solved_at: dict[str, tuple[int, ...]] = {}
        # Without self-coupled permutations every accepted step raises the objective (up to float32 rounding
        # of C), so the last state is the best; with them the linearised steps may lower it, so keep the best
        # state seen at the end of a sweep. Either way the result is never worse than the start.
        track = bool(self.self_coupled)
        best, best_obj = dict(perms), self.objective(perms)
        stale = 0  # sweeps since the best objective last rose (self-coupled specs; linearised steps can cycle)
        for _ in range(max_iter):
            improved = False
            for idx in rng.permutation(len(self.names)):
                p = self.names[idx]
                n = self.sizes[p]
                seen = tuple(version[q] for q in self.neighbours[p])
                if use_cache and solved_at.get(p) == seen:
                    continue  # same cost matrix as at P's last solve, hence the same answer: nothing to gain
                b_cat = self.b_cat(p, perms)
                c = (self.a_cat[p] @ b_cat.T).numpy().astype(np.float64)
                _, cols = linear_sum_assignment(c, maximize=True)
                rows = np.arange(n)
                old, new = c[rows, perms[p].numpy()].sum(), c[rows, cols].sum()
                solved_at[p] = seen
                if new > old + rtol * max(1.0, abs(old)):
                    improved = True
                    perms[p] = torch.from_numpy(cols)
                    version[p] += 1
            if not improved:
                break
            if track:
                obj = self.objective(perms)
                if obj > best_obj + rtol * max(1.0, abs(best_obj)):
                    best, best_obj, stale = dict(perms), obj, 0
                else:
                    stale += 1
                    if stale >= self.patience:
                        break
        if not track:
            obj = self.objective(perms)
            if obj >= best_obj:
                best, best_obj = perms, obj
        return best, best_obj


class _ReferenceWeightMatcher(_WeightMatcher):
    """The plain implementation of :class:`_WeightMatcher`'s two hot steps (re-permutes and re-concatenates
    ``state_b``'s tensors for every solve, converts to float64 for every objective), on the same ascent: kept as
    the reference the fast one must equal bit for bit (``weight_matching(..., _reference=True)``; tests and
    ``benchmarks/weight_matching.py``)."""

    def __init__(self, spec: PermutationSpec, state_a: State, state_b: State) -> None:
        super().__init__(spec, state_a, state_b)
        self.b = {n: state_b[n].detach().to(torch.float32) for n in self.spec.axes}
        self.state_a, self.state_b = state_a, state_b

    def b_cat(self, p: str, perms: Perms) -> torch.Tensor:
        n = self.sizes[p]
        return torch.cat([_permute(self.b[name], self.spec.axes[name], perms, skip=k).movedim(k, 0).reshape(n, -1)
                          for name, k in self.uses[p]], dim=1)

    def objective(self, perms: Perms) -> float:
        return matching_objective(self.spec, self.state_a, self.state_b, perms)


def weight_matching(spec: PermutationSpec, state_a: State, state_b: State, *, seed: int = 0,
                    max_iter: int = 100, init: Literal["identity", "random"] = "identity", n_restarts: int = 1,
                    rtol: float = 1e-12, _cache: bool = True, _reference: bool = False) -> Matching:
    """Git Re-Basin weight matching (Ainsworth et al. 2023, Section 3.2 and Algorithm 1).

    Finds permutations ``π`` maximising ``Σ_{tensors in spec} <θ_a, π(θ_b)>`` (:func:`matching_objective`;
    the spec's ``statistics``, BatchNorm's running statistics, are not in the sum, so listing them changes
    neither the permutations found nor the objective; ``apply_permutation`` still permutes them) by coordinate
    ascent: visit the permutations in a seeded random order, and for each solve the linear
    assignment problem ``max_P <C, P>`` (``scipy.optimize.linear_sum_assignment``) with

        C (n, n) = Σ_{(w, k) using P}  A_k  B_kᵀ,   A_k (n, m_k) = w_a with axis k moved first, flattened,
                                                    B_k (n, m_k) = the same of w_b with every *other* axis permuted,

    so 1-D tensors (biases, norm scales) enter as outer products. A sweep skips P when nothing its ``C``
    depends on changed since P's last solve. A permutation acting on two axes of one tensor (a square map
    on a residual stream, axes ``(S, S)``) makes the objective quadratic in it: ``C`` is then the
    linearisation at its current value, so P depends on itself and is re-solved after each change of its
    own (a fixed-point iteration). Such steps can lower the exact objective and can cycle, so for such
    specs each restart returns the best state seen at the end of a sweep and also stops after 10 sweeps
    without a new best. A restart stops when a whole sweep improves nothing (relative ``rtol``) or after
    ``max_iter`` sweeps.

    Starts: ``init="identity"`` starts restart 0 at the identity (Algorithm 1) and restarts ``1..n_restarts-1``
    at random permutations; ``init="random"`` starts every restart at random permutations. Restart ``k``
    draws its start and its visit orders from ``numpy_rng(seed, "weight_matching", k)`` (SHA-256 via
    :func:`symlib.seeding.derive_seed`). The restart with the highest objective is returned (the first on
    ties).

    The identity start is biased towards the identity: the ascent from it stops at a local optimum that
    keeps units in place even for two *unrelated* networks, and how many depends on the order in which the first
    sweep visits the permutations. For two default-initialised (untrained) 784-512-512-512-10 MLPs
    (``tests/test_matching.py``; an independent re-implementation agrees): when the middle permutation ``P1`` is
    visited last, 56-62 % of the middle layer's units stay in place (``identity_fraction`` 0.19-0.21, pooled over
    the three layers); in the other orders 0-11 % per layer (pooled 0.04-0.06); from random starts 0-0.8 % (chance:
    one fixed point per permutation, 1/512 ≈ 0.002), at an objective within 2.2 % of the identity start's. So
    never read "the matching returned (nearly) the identity" from one identity-start run: use random starts
    (``init="random"``, several ``n_restarts``, several seeds, hence visit orders), the objective's gain over the
    identity, and unrelated-network controls whenever ``identity_fraction`` or the gain is itself the quantity of
    interest.
    Restarts also rescue the rare planted permutation that a self-coupled spec hides from one ascent.
    ``gain >= 0`` is guaranteed for ``init="identity"`` (every restart returns a state at least as good as
    its start); with random starts alone it can be negative, e.g. for two models that share their
    initialisation.

    Shapes: ``state_a``/``state_b`` hold the same shapes for every tensor in ``spec``; ``perms[p]`` is a
    ``LongTensor (n_p,)``. Returns a :class:`Matching` whose ``perms`` satisfy ``apply_permutation(spec,
    perms, state_b) ≈ state_a`` as well as coordinate ascent can make it.

    ``_cache=False`` re-solves every permutation every sweep (same result, slower; for tests).
    ``_reference=True`` runs the plain implementation (:class:`_ReferenceWeightMatcher`; the same permutations
    and objective to the last bit, slower; for tests and the benchmark).
    """
    if init not in ("identity", "random"):
        raise ValueError(f"init must be 'identity' or 'random', got {init!r}")
    if n_restarts < 1:
        raise ValueError(f"n_restarts must be >= 1, got {n_restarts}")
    sizes = spec.sizes(state_a)  # every permutation, also one acting on statistics only (left at the identity)
    if spec.sizes(state_b) != sizes:
        raise ValueError("state_a and state_b have different widths")
    matcher = (_ReferenceWeightMatcher if _reference else _WeightMatcher)(spec, state_a, state_b)
    best: Perms | None = None
    best_obj = -math.inf
    objectives: list[float] = []
    for k in range(n_restarts):
        rng = numpy_rng(seed, "weight_matching", k)
        if init == "identity" and k == 0:
            start = {p: torch.arange(n) for p, n in matcher.sizes.items()}
        else:
            start = {p: torch.from_numpy(rng.permutation(matcher.sizes[p])) for p in matcher.names}
        perms, obj = matcher.ascend(start, rng, max_iter, rtol, use_cache=_cache)
        objectives.append(obj)
        if obj > best_obj:
            best, best_obj = perms, obj
    assert best is not None
    ident = {p: torch.arange(n) for p, n in matcher.sizes.items()}
    perms = {p: best[p] if p in matcher.sizes else torch.arange(n) for p, n in sorted(sizes.items())}
    return Matching(perms=perms, objective=best_obj,
                    identity_objective=(matching_objective(spec, state_a, state_b, ident) if _reference
                                        else matcher.objective(ident)),
                    restart_objectives=objectives)


# --------------------------------------------------------------------------- activation matching

class _Moments:
    """Streaming means and centred co-moments of paired samples ``a (m, C)``, ``b (m, C)`` (float64, Chan et al.'s
    pairwise update, so no ``E[ab] − E[a]E[b]`` cancellation)."""

    def __init__(self) -> None:
        self.n = 0
        self.mean_a = self.mean_b = self.m2_a = self.m2_b = self.cab = None

    def update(self, a: torch.Tensor, b: torch.Tensor) -> None:
        m = a.shape[0]
        if m == 0:
            return
        ma, mb = a.mean(0), b.mean(0)
        ca, cb = a - ma, b - mb
        cab, m2a, m2b = ca.T @ cb, (ca * ca).sum(0), (cb * cb).sum(0)
        if self.n == 0:
            self.n, self.mean_a, self.mean_b, self.m2_a, self.m2_b, self.cab = m, ma, mb, m2a, m2b, cab
            return
        n = self.n + m
        da, db = ma - self.mean_a, mb - self.mean_b
        w = self.n * m / n
        self.cab = self.cab + cab + w * torch.outer(da, db)
        self.m2_a = self.m2_a + m2a + w * da * da
        self.m2_b = self.m2_b + m2b + w * db * db
        self.mean_a = self.mean_a + da * (m / n)
        self.mean_b = self.mean_b + db * (m / n)
        self.n = n

    def similarity(self, kind: str) -> torch.Tensor:
        """``(C, C)``: Pearson correlation, or the mean over samples of ``a_i b_j``."""
        if kind == "inner_product":
            return self.cab / self.n + torch.outer(self.mean_a, self.mean_b)
        sa, sb = self.m2_a.clamp_min(0).sqrt(), self.m2_b.clamp_min(0).sqrt()

        def usable(s: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
            # (numerically) constant units, e.g. dead ReLUs: correlation 0 with everything
            scale = (mean.abs() * math.sqrt(self.n)).maximum(s.max() if s.numel() else s)
            return s > 1e-10 * scale + torch.finfo(torch.float64).tiny

        ok_a, ok_b = usable(sa, self.mean_a), usable(sb, self.mean_b)
        corr = self.cab / torch.outer(torch.where(ok_a, sa, 1.0), torch.where(ok_b, sb, 1.0))
        return (corr * torch.outer(ok_a, ok_b)).clamp(-1.0, 1.0)


def _inputs(x, batch_size: int | None) -> Iterator[tuple[torch.Tensor, ...]]:
    """The positional inputs of each forward pass (see :func:`activation_matching` for the accepted ``x``)."""
    if isinstance(x, FullGraph):
        yield x.x, x.edge_index
        return
    if isinstance(x, tuple) and len(x) == 2 and all(isinstance(t, torch.Tensor) for t in x):
        x = x[0]  # (X, y) tensors: the inputs X
    if isinstance(x, torch.Tensor):
        step = batch_size or max(len(x), 1)
        for i in range(0, len(x), step):
            yield (x[i:i + step],)
        return
    for batch in x:
        yield (batch[0] if isinstance(batch, (tuple, list)) else batch,)


def _units_last(out: torch.Tensor, site: str) -> torch.Tensor:
    """``(B, C)`` or ``(B, C, *spatial)`` → ``(B·Π spatial, C)`` float64 on the CPU."""
    if not isinstance(out, torch.Tensor) or out.dim() < 2:
        raise TypeError(f"site {site!r} must output a tensor of shape (B, C, ...), got "
                        f"{type(out).__name__}{tuple(out.shape) if isinstance(out, torch.Tensor) else ''}")
    return out.detach().movedim(1, -1).reshape(-1, out.shape[1]).to("cpu", torch.float64)


def _device_of(model: nn.Module) -> torch.device | None:
    for t in model.parameters():
        return t.device
    for t in model.buffers():
        return t.device
    return None


def activation_matching(model_a: nn.Module, model_b: nn.Module, sites: Mapping[str, str], x, *,
                        similarity: Literal["correlation", "inner_product"] = "correlation",
                        batch_size: int | None = None) -> Matching:
    """Activation matching (Ainsworth et al. 2023, Section 3.1): match units by the similarity of their activations.

    ``sites[p]`` is the qualified name of a submodule (``model.get_submodule(sites[p])``) whose forward
    *output* carries permutation ``p``'s units on dim 1: shape ``(B, C)``, or ``(B, C, H, W)`` (any trailing
    dims), whose spatial positions count as extra samples. Typically the module after the nonlinearity
    (post-activations) of a hidden layer, or the output of a residual block for the stream's permutation.
    Every site must run exactly once per forward pass (give each layer its own activation module).

    ``x``, the data (every input's activations count as samples):

    * an input tensor ``X (N, ...)``, or ``(X, y)`` tensors (``y`` unused): ``model(X[i:i + batch_size])`` per
      slice (``batch_size=None``: all of ``X`` in one pass);
    * a :class:`~symlib.batches.FullGraph`: one pass ``model(graph.x, graph.edge_index)``, the activations of
      **all** ``N`` nodes are the samples (not only ``graph.mask``'s: on a transductive graph every node's
      representation is computed by the same units, and the mask only chooses which labels the loss reads);
    * an iterable of batches (a ``DataLoader``; of a tuple or list, the first element is the input).

    Both models run on each batch in eval mode under ``torch.no_grad``; their training flags are restored and
    the forward hooks removed afterwards, also on error.

    ``similarity``: ``"correlation"`` — Pearson correlation over samples, ``S (C, C)``, ``S[i, j] =
    corr(a_i, b_j)`` (as Ainsworth et al. 2023 and Bürgin et al. 2026 use on post-activations); a unit of
    (numerically) constant output has correlation 0 with everything, so constant units are matched
    arbitrarily among themselves. ``"inner_product"`` — the plain inner products ``Σ_samples a_i b_j``
    (divided by the number of samples, which does not change the matching; Lim et al.'s GNN baseline).
    For each ``p``: ``linear_sum_assignment(S, maximize=True)``, and ``perms[p][i] = j`` for matched
    ``(i, j)``, so ``apply_permutation(spec, perms, model_b.state_dict())`` aligns ``b`` to ``a``.

    Returns a :class:`Matching` with ``objective = Σ_p Σ_i S_p[i, perms[p][i]]``, ``identity_objective =
    Σ_p trace S_p``, ``restart_objectives = [objective]``, ``similarity = {p: S_p}`` (float64 ``(C, C)``, rows:
    model a's units, columns: model b's) and ``similarity_kind = similarity``.
    """
    if similarity not in ("correlation", "inner_product"):
        raise ValueError(f"similarity must be 'correlation' or 'inner_product', got {similarity!r}")
    names = sorted(sites)
    modules = [[model.get_submodule(sites[p]) for p in names] for model in (model_a, model_b)]
    sinks: list[dict[str, list[torch.Tensor]]] = [{p: [] for p in names}, {p: [] for p in names}]

    def hook_for(sink: dict[str, list[torch.Tensor]], p: str):
        def hook(module, inputs, output):
            sink[p].append(_units_last(output, sites[p]))
        return hook

    moments = {p: _Moments() for p in names}
    modes = (model_a.training, model_b.training)
    handles = []
    try:
        for model_mods, sink in zip(modules, sinks):
            for p, mod in zip(names, model_mods):
                handles.append(mod.register_forward_hook(hook_for(sink, p)))
        model_a.eval()
        model_b.eval()
        dev_a, dev_b = _device_of(model_a), _device_of(model_b)
        with torch.no_grad():
            for inputs in _inputs(x, batch_size):
                acts = []
                for model, dev, sink in ((model_a, dev_a, sinks[0]), (model_b, dev_b, sinks[1])):
                    for v in sink.values():
                        v.clear()
                    model(*(inputs if dev is None else (t.to(dev) for t in inputs)))
                    acts.append({p: list(v) for p, v in sink.items()})
                for p in names:
                    calls = (len(acts[0][p]), len(acts[1][p]))
                    if calls != (1, 1):
                        raise ValueError(f"site {sites[p]!r} ran {calls} times in one forward pass of (model_a, "
                                         "model_b); it must run exactly once (a shared activation module?)")
                    a, b = acts[0][p][0], acts[1][p][0]
                    if a.shape != b.shape:
                        raise ValueError(f"site {sites[p]!r}: activations of shape {tuple(a.shape)} "
                                         f"vs {tuple(b.shape)}")
                    moments[p].update(a, b)
    finally:
        for h in handles:
            h.remove()
        model_a.train(modes[0])
        model_b.train(modes[1])
    perms: Perms = {}
    matrices: dict[str, torch.Tensor] = {}
    objective = identity_objective = 0.0
    for p in names:
        if moments[p].n == 0:
            raise ValueError("x holds no samples")
        matrices[p] = moments[p].similarity(similarity)
        s = matrices[p].numpy()
        rows, cols = linear_sum_assignment(s, maximize=True)
        perms[p] = torch.from_numpy(cols[np.argsort(rows)].astype(np.int64))
        objective += float(s[rows, cols].sum())
        identity_objective += float(np.trace(s))
    return Matching(perms=perms, objective=objective, identity_objective=identity_objective,
                    restart_objectives=[objective], similarity=matrices, similarity_kind=similarity)
