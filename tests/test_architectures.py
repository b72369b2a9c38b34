"""Every architecture of :mod:`symlib.architectures` against its own symmetries.

For each architecture (and each variant where it makes sense):

1. its ``permutation_spec()`` lists exactly its parameters;
2. a random permutation drawn from the spec leaves a standard network's function unchanged (float64, eval);
3. the same permutation changes the function of the W-Asym and σ-Asym networks, whose fixed buffers stay put;
4. its ``activation_sites()`` name submodules that run once per forward pass and carry the permutation's units
   on dim 1 (and, for a standard network, move with the permutation);
5. ResNet8 has the authors' parameter counts and W-Asym layout;
6. fixed buffers depend on ``arch_seed`` and on the layer *name* only;
7. the GNN has the authors' parameter count and a vmapped population computes what its members compute alone.

A new architecture is one more entry in :data:`ARCHS` (graph networks take ``(x, edge_index)``: ``graph=True``).
BatchNorm networks are tested in eval mode with random running statistics, which the spec permutes.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest
import torch
from torch import nn

from symlib.architectures import MLP, MLPConfig, ResNet8, ResNet8Config, SmallCNN, SmallCNNConfig
from symlib.architectures.gnn import GNN, GNNConfig
from symlib.architectures.resnet20 import ResNet20, ResNet20Config
from symlib.init import arbitrary_rows
from symlib.layers import WAsymConv2d, WAsymLinear, fixed_buffer_names, trainable_parameters
from symlib.permutation import apply_permutation, random_permutation
from symlib.variants import VARIANTS, LayerFactory

PERM_SEED = 11
PAPER_WIDTHS = (16, 32, 64)


@dataclass(frozen=True)
class Arch:
    name: str
    build: Callable[[str, int], nn.Module]  # (variant, arch_seed) -> model
    input_shape: tuple[int, ...]  # one example (one node's features for a graph), without the batch axis
    graph: bool = False  # inputs (x (N, *input_shape), edge_index (2, E)) instead of x (B, *input_shape)
    variants: tuple[str, ...] = VARIANTS  # the variants it is built in (Theory-Init and the small CNN: standard only)


def _mlp(variant: str, arch_seed: int, **kw) -> MLP:
    return MLP(MLPConfig(in_features=20, width=16, depth=3, out_features=5, variant=variant, n_fix=(4, 4, 8),
                         kappa=(1.0, 1.0, 0.5), figlu_std=1.0, arch_seed=arch_seed, **kw))


def _theory_mlp(variant: str, arch_seed: int, bias: bool = True) -> MLP:
    rows = arbitrary_rows(16, 20, seed=arch_seed, bias=bias)
    return MLP(MLPConfig(in_features=20, width=16, depth=4, out_features=5, activation="relu", norm=False, bias=bias,
                         init="theory", first_rows=tuple(map(tuple, rows)), delta_std=0.05, out_std=0.1,
                         arch_seed=arch_seed))


def _gnn(variant: str, arch_seed: int, **kw) -> GNN:
    return GNN(GNNConfig(in_features=12, width=16, out_features=5, variant=variant, n_fix=3, kappa=0.5, figlu_std=1.0,
                         arch_seed=arch_seed, **{"depth": 3, **kw}))


ARCHS = [
    Arch("mlp_gelu_layernorm", lambda v, s: _mlp(v, s), (20,)),
    Arch("mlp_relu_no_norm", lambda v, s: _mlp(v, s, activation="relu", norm=False), (20,)),
    Arch("resnet8_small", lambda v, s: ResNet8(ResNet8Config(widths=(8, 16, 16), variant=v, n_fix=4, n_fix_head=4,
                                                             arch_seed=s)), (3, 8, 8)),
    Arch("resnet8_paper", lambda v, s: ResNet8(ResNet8Config(widths=PAPER_WIDTHS, variant=v, arch_seed=s)), (3, 8, 8)),
    Arch("resnet8_batchnorm", lambda v, s: ResNet8(ResNet8Config(widths=(8, 16, 16), variant=v, n_fix=4, n_fix_head=4,
                                                                 norm="batch", arch_seed=s)), (3, 8, 8)),
    Arch("resnet20", lambda v, s: ResNet20(ResNet20Config(variant=v, arch_seed=s)), (3, 8, 8)),
    Arch("resnet20_code_kappa_batchnorm", lambda v, s: ResNet20(ResNet20Config(variant=v, kappa=3.0, norm="batch",
                                                                              arch_seed=s)), (3, 8, 8)),
    Arch("resnet20_figlu_std1", lambda v, s: ResNet20(ResNet20Config(variant=v, figlu_std=(1.0, 1.0, 1.0),
                                                                    arch_seed=s)), (3, 8, 8)),
    Arch("mlp_theory_init", lambda v, s: _theory_mlp(v, s), (20,), variants=("standard",)),
    Arch("mlp_theory_init_no_bias", lambda v, s: _theory_mlp(v, s, bias=False), (20,), variants=("standard",)),
    Arch("cnn_he", lambda v, s: SmallCNN(SmallCNNConfig(in_channels=3, channels=8, depth=3, init="he")), (3, 8, 8),
         variants=("standard",)),
    Arch("cnn_theory_init", lambda v, s: SmallCNN(SmallCNNConfig(in_channels=1, channels=8, depth=3, init="theory",
                                                                 delta_std=0.05, out_std=0.1)), (1, 8, 8),
         variants=("standard",)),
    Arch("gnn_small", lambda v, s: _gnn(v, s), (12,), graph=True),
    Arch("gnn_layernorm_relu", lambda v, s: _gnn(v, s, norm="layer", activation="relu", depth=2), (12,), graph=True),
    Arch("gnn_paper", lambda v, s: GNN(GNNConfig(variant=v, w_asym_figlu=True, arch_seed=s)), (128,), graph=True),
]
ARCH_IDS = [a.name for a in ARCHS]


def _build(arch: Arch, variant: str, arch_seed: int = 0, init_seed: int = 0) -> nn.Module:
    torch.manual_seed(init_seed)
    model = arch.build(variant, arch_seed).double().eval()
    g = torch.Generator().manual_seed(init_seed + 100)
    with torch.no_grad():  # BatchNorm: random running statistics, so that permuting them matters
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g, dtype=torch.float64))
                m.running_var.copy_(0.5 + torch.rand(m.running_var.shape, generator=g, dtype=torch.float64))
    return model


def _edges(n: int, gen: torch.Generator, per_node: int = 3) -> torch.Tensor:
    """A random undirected graph on ``n`` nodes (both directions of every edge; node 0 isolated)."""
    src, dst = torch.randint(1, n, (2, per_node * n), generator=gen)
    keep = src != dst
    src, dst = src[keep], dst[keep]
    return torch.stack([torch.cat([src, dst]), torch.cat([dst, src])])


def _input(arch: Arch, n: int = 6) -> tuple[torch.Tensor, ...]:
    """The model's positional inputs: ``(x,)`` with ``n`` examples, or ``(x, edge_index)`` for ``n`` nodes."""
    g = torch.Generator().manual_seed(3)
    if arch.graph:
        n = max(n, 30)
    x = torch.randn((n, *arch.input_shape), generator=g, dtype=torch.float64)
    return (x, _edges(n, g)) if arch.graph else (x,)


def _permuted_copy(model: nn.Module, perms: dict[str, torch.Tensor]) -> nn.Module:
    """A copy of ``model`` with every tensor in its spec permuted by ``perms`` (the parameters, and BatchNorm's
    running statistics); other buffers (masks, ``F``) are left where they are."""
    new = apply_permutation(model.permutation_spec(), perms, model.state_dict())
    out = copy.deepcopy(model)
    out.load_state_dict(new)
    return out


def _perms(model: nn.Module) -> dict[str, torch.Tensor]:
    perms = random_permutation(model.permutation_spec(), model.state_dict(), seed=PERM_SEED)
    for p, perm in perms.items():
        assert sorted(perm.tolist()) == list(range(len(perm))), p
        assert not torch.equal(perm, torch.arange(len(perm))), f"{p} is the identity: pick another PERM_SEED"
    return perms


@torch.no_grad()
def _max_change(a: nn.Module, b: nn.Module, xs: tuple[torch.Tensor, ...]) -> float:
    return (a(*xs) - b(*xs)).abs().max().item()


def _running_stats(model: nn.Module) -> set[str]:
    return {n for n, _ in model.named_buffers() if n.endswith((".running_mean", ".running_var"))}


# --------------------------------------------------------------------------- 1. the spec covers every parameter

@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("arch", ARCHS, ids=ARCH_IDS)
def test_spec_covers_every_parameter_exactly(arch, variant):
    if variant not in arch.variants:
        pytest.skip(f"{arch.name} has no {variant} variant")
    model = _build(arch, variant)
    spec = model.permutation_spec()
    spec.check_covers(model)
    spec.sizes(model.state_dict())  # BatchNorm's running statistics agree with their permutations' lengths
    assert set(spec.axes) == {n for n, _ in model.named_parameters()} | _running_stats(model)
    assert not set(spec.axes) & set(fixed_buffer_names(model))  # mask, fixed, F are never permuted
    for name, t in model.state_dict().items():
        assert name not in spec.axes or len(spec.axes[name]) == t.dim(), name


# --------------------------------------------------------------------------- 2./3. permutations and function

@pytest.mark.parametrize("arch", ARCHS, ids=ARCH_IDS)
def test_random_permutation_is_a_symmetry_of_the_standard_network(arch):
    model = _build(arch, "standard")
    xs = _input(arch)
    permuted = _permuted_copy(model, _perms(model))
    assert any(not torch.equal(p, q) for p, q in zip(model.parameters(), permuted.parameters()))
    assert model(*xs).abs().max().item() > 1e-3  # the logits are not trivially zero
    assert _max_change(model, permuted, xs) < 1e-10
    stats = _running_stats(model)
    if stats:  # the running statistics matter: leaving them in place breaks the symmetry
        wrong = copy.deepcopy(permuted)
        wrong.load_state_dict({**permuted.state_dict(), **{n: model.state_dict()[n] for n in stats}})
        assert _max_change(model, wrong, xs) > 1e-3


@pytest.mark.parametrize("variant", ["w_asym", "sigma_asym"])
@pytest.mark.parametrize("arch", ARCHS, ids=ARCH_IDS)
def test_the_same_permutation_changes_asymmetric_networks(arch, variant):
    if variant not in arch.variants:
        pytest.skip(f"{arch.name} has no {variant} variant")
    standard = _build(arch, "standard")
    model = _build(arch, variant)
    perms = _perms(standard)
    assert model.permutation_spec().sizes(model.state_dict()) == {p: len(v) for p, v in perms.items()}
    permuted = _permuted_copy(model, perms)
    buffers, fixed = dict(permuted.named_buffers()), fixed_buffer_names(model)
    assert set(fixed) <= set(buffers) and fixed
    for name, b in model.named_buffers():  # mask, fixed and F stay where they are
        if name in fixed:
            assert torch.equal(buffers[name], b), name
    assert _max_change(model, permuted, _input(arch)) > 1e-3


# --------------------------------------------------------------------------- 4. activation sites

def _site_outputs(model: nn.Module, xs: tuple[torch.Tensor, ...]) -> dict[str, list[torch.Tensor]]:
    sites = model.activation_sites()
    seen: dict[str, list[torch.Tensor]] = {p: [] for p in sites}
    handles = [model.get_submodule(name).register_forward_hook(
        lambda mod, inp, out, p=p: seen[p].append(out.detach())) for p, name in sites.items()]
    try:
        with torch.no_grad():
            model(*xs)
    finally:
        for h in handles:
            h.remove()
    return seen


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("arch", ARCHS, ids=ARCH_IDS)
def test_activation_sites_carry_their_permutation_on_dim_1(arch, variant):
    if variant not in arch.variants:
        pytest.skip(f"{arch.name} has no {variant} variant")
    model = _build(arch, variant)
    sites = model.activation_sites()
    sizes = model.permutation_spec().sizes(model.state_dict())
    assert set(sites) == set(sizes)  # every permutation can be read somewhere, and only those
    submodules = dict(model.named_modules())
    for p, name in sites.items():
        assert name in submodules, f"{p}: no submodule {name!r}"
    xs = _input(arch)
    seen = _site_outputs(model, xs)
    for p, outs in seen.items():
        assert len(outs) == 1, f"site {sites[p]!r} of {p} ran {len(outs)} times in one forward pass"
        out = outs[0]
        assert out.dim() >= 2 and out.shape[0] == len(xs[0]) and out.shape[1] == sizes[p], (p, tuple(out.shape))
    if variant == "standard":  # the site's units move with the permutation: unit i becomes unit perm[i]
        perms = _perms(model)
        moved = _site_outputs(_permuted_copy(model, perms), xs)
        for p, perm in perms.items():
            diff = (moved[p][0] - seen[p][0].index_select(1, perm)).abs().max().item()
            assert diff < 1e-10, (p, diff)


# --------------------------------------------------------------------------- 5. ResNet8: the authors' counts

@pytest.fixture(scope="module")
def paper_resnets() -> dict[str, ResNet8]:
    return {v: ResNet8(ResNet8Config(widths=PAPER_WIDTHS, variant=v)) for v in VARIANTS}


@pytest.mark.parametrize("variant", VARIANTS)
def test_resnet8_parameter_counts(paper_resnets, variant):
    model = paper_resnets[variant]
    assert sum(p.numel() for p in model.parameters()) == 78_042
    assert trainable_parameters(model) == (60_634 if variant == "w_asym" else 78_042)
    n_asym_layers = sum(isinstance(m, (WAsymConv2d, WAsymLinear)) for m in model.modules())
    assert n_asym_layers == (10 if variant == "w_asym" else 0)  # the stem, 6 block convs, 2 shortcuts, the head


def test_resnet8_w_asym_layout(paper_resnets):
    model = paper_resnets["w_asym"]
    convs = {n: m for n, m in model.named_modules() if isinstance(m, nn.Conv2d)}
    assert len(convs) == 9 and all(isinstance(m, WAsymConv2d) for m in convs.values())
    stem = convs.pop("stem")
    assert tuple(stem.weight.shape) == (16, 3, 3, 3)
    assert ((~stem.mask).flatten(1).sum(1) == 27).all()  # fully fixed: 27 of 27 entries per output channel
    assert torch.equal(stem.effective_weight, stem.fixed)
    for name, conv in convs.items():
        c_out, c_in = conv.weight.shape[:2]
        fixed = ~conv.mask
        whole = fixed.all(dim=(2, 3))  # (C_out, C_in): input filters fixed entirely
        assert torch.equal(fixed.any(dim=(2, 3)), whole), f"{name}: fixes parts of filters"
        assert (whole.sum(1) == min(8, c_in)).all(), name
        rows = conv.mask.flatten(1).numpy()
        assert len(np.unique(rows, axis=0)) == c_out, f"{name}: mask rows are not pairwise distinct"
    head = model.head
    assert isinstance(head, WAsymLinear) and tuple(head.mask.shape) == (10, 64)
    assert ((~head.mask).sum(1) == 8).all()
    assert len(np.unique(head.mask.numpy(), axis=0)) == 10
    # the fixed entries are N(0, κ²) with κ = 2, and 0 at trainable positions
    fixed_values = torch.cat([m.fixed[~m.mask] for m in model.modules() if isinstance(m, (WAsymConv2d, WAsymLinear))])
    assert fixed_values.numel() == 78_042 - 60_634
    assert 1.8 < fixed_values.std().item() < 2.2
    assert all((m.fixed[m.mask] == 0).all() for m in model.modules() if isinstance(m, (WAsymConv2d, WAsymLinear)))


# --------------------------------------------------------------------------- 6. fixed buffers: arch_seed and name

def _fixed_buffers(model: nn.Module) -> dict[str, torch.Tensor]:
    buffers = dict(model.named_buffers())
    return {n: buffers[n] for n in fixed_buffer_names(model)}


@pytest.mark.parametrize("variant", ["w_asym", "sigma_asym"])
@pytest.mark.parametrize("arch", ARCHS, ids=ARCH_IDS)
def test_fixed_buffers_follow_arch_seed(arch, variant):
    if variant not in arch.variants:
        pytest.skip(f"{arch.name} has no {variant} variant")
    a, b, c = (_build(arch, variant, arch_seed=s, init_seed=i) for s, i in ((5, 0), (5, 1), (6, 0)))
    fa, fb, fc = _fixed_buffers(a), _fixed_buffers(b), _fixed_buffers(c)
    assert fa and set(fa) == set(fb) == set(fc)
    for name in fa:
        assert torch.equal(fa[name], fb[name]), f"{name}: same arch_seed, different buffer"
        if name.endswith(".mask") and not fa[name].any() and not fc[name].any():
            continue  # a fully fixed layer (the ResNet stem): its all-False mask is the same for every seed
        assert not torch.equal(fa[name], fc[name]), f"{name}: different arch_seed, same buffer"


def test_fixed_buffers_depend_on_the_layer_name():
    # widths (16, 16, 16): stage2.conv1 and stage3.conv1 (and the three conv2s) have identical shapes
    for variant in ("w_asym", "sigma_asym"):
        model = ResNet8(ResNet8Config(widths=(16, 16, 16), variant=variant, arch_seed=3))
        same_shape = [("stage2.conv1", "stage3.conv1"), ("stage1.conv2", "stage2.conv2"),
                      ("stage2.conv2", "stage3.conv2"), ("stage2.shortcut", "stage3.shortcut"),
                      ("stage1.act1", "stage2.act1"), ("stage2.act1", "stage3.act1"), ("stem_act", "stage1.act2")]
        for x, y in same_shape:
            bx, by = _fixed_buffers(model.get_submodule(x)), _fixed_buffers(model.get_submodule(y))
            if not bx:  # W-Asym changes no activation, σ-Asym no conv
                assert not by
                continue
            assert set(bx) == set(by)
            for k in bx:
                assert bx[k].shape == by[k].shape
                assert not torch.equal(bx[k], by[k]), f"{variant}: {x}.{k} equals {y}.{k}"
    # ... and on nothing else: stage1 and stage2 are built alike in networks that differ from stage 3 on, and
    # any layer equals a layer built alone under its name
    a = ResNet8(ResNet8Config(widths=(16, 32, 64), variant="w_asym", arch_seed=3))
    b = ResNet8(ResNet8Config(widths=(16, 32, 32), variant="w_asym", n_fix_head=4, arch_seed=3))
    for name in ("stem", "stage1.conv1", "stage1.conv2", "stage2.conv1", "stage2.conv2", "stage2.shortcut"):
        fa, fb = _fixed_buffers(a.get_submodule(name)), _fixed_buffers(b.get_submodule(name))
        assert fa and all(torch.equal(fa[k], fb[k]) for k in fa), name
    alone = LayerFactory("w_asym", arch_seed=3).conv("stage3.conv1", 32, 64, 3, stride=2, padding=1, n_fix=8,
                                                     fix="filters", kappa=2.0, bias=False)
    assert torch.equal(alone.mask, a.stage3.conv1.mask) and torch.equal(alone.fixed, a.stage3.conv1.fixed)
    # the MLP: the first two layers of a depth-3 and a depth-4 network of one arch_seed coincide
    m3 = MLP(MLPConfig(in_features=20, width=16, depth=3, out_features=5, variant="w_asym", n_fix=(4, 4, 8),
                       kappa=(1.0, 1.0, 0.5), arch_seed=2))
    m4 = MLP(MLPConfig(in_features=20, width=16, depth=4, out_features=5, variant="w_asym", n_fix=(4, 4, 4, 8),
                       kappa=(1.0, 1.0, 1.0, 0.5), arch_seed=2))
    for i in (0, 1):
        assert torch.equal(m3.layers[i].mask, m4.layers[i].mask) and torch.equal(m3.layers[i].fixed, m4.layers[i].fixed)
    assert not torch.equal(m4.layers[1].mask, m4.layers[2].mask)  # same shape, n_fix and κ; different name
    assert not math.isclose(m4.layers[1].fixed.abs().sum().item(), m4.layers[2].fixed.abs().sum().item())


# --------------------------------------------------------------------------- 7. the GNN: counts, layer, vmap

@pytest.mark.parametrize("variant", VARIANTS)
def test_gnn_has_the_papers_parameter_count_and_w_asym_layout(variant):
    model = GNN(GNNConfig(variant=variant))  # ogbn-arXiv: 128 features, 40 classes, 3 layers of width 256
    assert sum(p.numel() for p in model.parameters()) == 176_424  # Appendix E.1.2
    n_rows = 3 * 256 + 40  # every linear map fixes 6 entries per row, the first layer and the head included
    assert trainable_parameters(model) == (176_424 - 6 * n_rows if variant == "w_asym" else 176_424)
    assert all(isinstance(m, nn.BatchNorm1d) for m in model.norms) and len(model.norms) == 3
    if variant == "w_asym":
        lins = [*model.lins, model.head]
        assert all(isinstance(m, WAsymLinear) and ((~m.mask).sum(1) == 6).all() for m in lins)
        assert all(len(np.unique(m.mask.numpy(), axis=0)) == m.mask.shape[0] for m in lins)
        fixed = torch.cat([m.fixed[~m.mask] for m in lins])
        assert fixed.numel() == 6 * n_rows and 0.45 < fixed.std().item() < 0.55  # κ = 0.5
    if variant == "sigma_asym":
        F = torch.cat([a.F.flatten() for a in model.acts])
        assert abs(F.std().item() / (0.01 / 16) - 1) < 0.02  # 0.01/√256, the authors' (absolute) std


def test_gnn_config_is_canonical_and_the_codes_w_asym_adds_figlu():
    assert GNNConfig(variant="standard", n_fix=3, kappa=2.0, figlu_std=0.3) == GNNConfig()  # unused fields normalised
    assert GNNConfig(variant="sigma_asym", width=64).figlu_std == pytest.approx(0.01 / 8)
    assert GNNConfig(variant="sigma_asym", figlu_std=1.0).figlu_std == 1.0
    paper, code = GNN(GNNConfig(variant="w_asym")), GNN(GNNConfig(variant="w_asym", w_asym_figlu=True))
    assert all(isinstance(a, nn.GELU) for a in paper.acts)
    assert all(type(a).__name__ == "FiGLU" and a.std == pytest.approx(0.01 / 16) for a in code.acts)
    with pytest.raises(ValueError, match="norm"):
        GNNConfig(norm="group")


def test_gnn_layer_is_mean_aggregation_plus_the_root():
    """``aggregate(x)_v = x_v + mean of x_u over edges u → v`` (0 for a node without incoming edges)."""
    model = _build(ARCHS[ARCH_IDS.index("gnn_small")], "standard")
    x, edge_index = _input(ARCHS[ARCH_IDS.index("gnn_small")])
    src, dst = edge_index
    summed = torch.zeros_like(x).index_add(0, dst, x[src])
    count = torch.zeros(len(x), dtype=x.dtype).index_add(0, dst, torch.ones(len(src), dtype=x.dtype))
    expected = x + summed / count.clamp(min=1)[:, None]
    assert count[0] == 0  # node 0 is isolated
    torch.testing.assert_close(model.aggregate(x, edge_index), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("variant", VARIANTS)
def test_a_vmapped_gnn_population_computes_what_its_members_compute(variant):
    """One vmapped forward of 2 stacked members (different inits and ``arch_seed``s: masks and ``F`` differ) equals
    two plain forwards, in eval and train mode (BatchNorm's batch statistics and running-statistics updates), and
    so do the gradients: the path :mod:`symlib.training` takes."""
    from symlib.stacking import stack_models, vmapped_call
    arch = ARCHS[ARCH_IDS.index("gnn_small")]
    x, edge_index = _input(arch)
    y = torch.randint(0, 5, (len(x),), generator=torch.Generator().manual_seed(0))
    for train_mode in (False, True):
        members = [_build(arch, variant, arch_seed=s, init_seed=s).train(train_mode) for s in (1, 2)]
        params, buffers, base = stack_models([copy.deepcopy(m) for m in members])
        base.train(train_mode)
        params = {k: v.requires_grad_(True) for k, v in params.items()}
        out = vmapped_call(base, params, buffers, (x, edge_index), (None, None))
        loss = sum(nn.functional.cross_entropy(o, y) for o in out)
        grads = dict(zip(params, torch.autograd.grad(loss, list(params.values()))))
        for j, m in enumerate(members):
            alone = m(x, edge_index)
            torch.testing.assert_close(out[j], alone, rtol=0, atol=1e-10)
            g = dict(zip([n for n, _ in m.named_parameters()],
                         torch.autograd.grad(nn.functional.cross_entropy(alone, y), list(m.parameters()))))
            for name in g:
                torch.testing.assert_close(grads[name][j], g[name], rtol=0, atol=1e-10)
            for name, b in m.named_buffers():  # in train mode both updated their running statistics alike
                torch.testing.assert_close(buffers[name][j], b, rtol=0, atol=1e-12)
