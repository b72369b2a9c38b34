"""ResNet20 (Lim et al., Table 1 rows 2-3, Tables 6-7): its permutation spec is a symmetry of the standard network,
weight matching recovers a planted permutation exactly, matching lowers the barrier of a trained pair, W-Asym
fixes the tables' entries per output channel, σ-Asym has FiGLU at every activation."""
from __future__ import annotations

import copy
import os

import numpy as np
import pytest
import torch
from torch import nn

from symlib.architectures.resnet20 import (BLOCKS_PER_STAGE, RESNET110_BLOCKS, TABLE6_N_FIX, TABLE7_N_FIX, ResNet20,
                                           ResNet20Config, stage_widths)
from symlib.batches import TensorBatches
from symlib.layers import FiGLU, WAsymConv2d, WAsymLinear, trainable_parameters
from symlib.matching import weight_matching
from symlib.permutation import apply_permutation, random_permutation
from symlib.training import Member, TrainConfig, train


def _standard(width: int, seed: int = 0) -> ResNet20:
    torch.manual_seed(seed)
    return ResNet20(ResNet20Config(width=width)).double().eval()


@pytest.mark.parametrize("width", [1, 2])
def test_a_random_spec_permutation_is_a_symmetry(width):
    model = _standard(width)
    spec = model.permutation_spec()
    spec.check_covers(model)
    assert len(spec.sizes(model.state_dict())) == 3 + 3 * BLOCKS_PER_STAGE
    perms = random_permutation(spec, model.state_dict(), seed=5)
    permuted = copy.deepcopy(model)
    permuted.load_state_dict(apply_permutation(spec, perms, model.state_dict()))
    x = torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    with torch.no_grad():
        out, out_p = model(x), permuted(x)
    assert out.abs().max() > 1e-3
    assert (out - out_p).abs().max().item() < 1e-10
    # a wrong spec (stage 2's stream permuted only on the shortcut) would change the function
    wrong = dict(permuted.state_dict())
    wrong["stage2.0.shortcut.weight"] = model.state_dict()["stage2.0.shortcut.weight"]
    permuted.load_state_dict(wrong)
    with torch.no_grad():
        assert (out - permuted(x)).abs().max().item() > 1e-3


def test_layout_and_parameter_counts():
    model = ResNet20(ResNet20Config())
    assert [m.out_channels for m in model.modules() if isinstance(m, nn.Conv2d)][:1] == [16]
    shortcuts = [n for n, m in model.named_modules() if n.endswith(".shortcut")]
    assert shortcuts == ["stage2.0.shortcut", "stage3.0.shortcut"]
    assert sum(isinstance(m, nn.GroupNorm) for m in model.modules()) == 1 + 9 * 2 + 2
    assert sum(p.numel() for p in model.parameters()) == 272_474
    assert trainable_parameters(ResNet20(ResNet20Config(variant="w_asym"))) == 230_026
    assert model(torch.randn(2, 3, 8, 8)).shape == (2, 10)


@pytest.mark.parametrize("norm", ["layer", "batch"])
def test_resnet110_is_resnet20_with_18_blocks_per_stage(norm):
    """Lim et al. Table 2's ResNet110: 6·18 + 2 layers of the same family. He et al.'s ResNet110 has ~1.7 M
    parameters; with 1×1 conv shortcuts and per-channel norms ours has exactly 1,730,714."""
    assert ResNet20Config().blocks_per_stage == BLOCKS_PER_STAGE == 3
    model = ResNet20(ResNet20Config(norm=norm, blocks_per_stage=RESNET110_BLOCKS))
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) + 1 == 110 + 2  # 109 3×3 convs, 2 shortcut convs, the head
    assert [len(getattr(model, f"stage{s}")) for s in (1, 2, 3)] == [18, 18, 18]
    assert sum(p.numel() for p in model.parameters()) == 1_730_714
    assert trainable_parameters(ResNet20(ResNet20Config(variant="w_asym", blocks_per_stage=18))) == 1_480_906
    assert model.activation_sites()["S3"] == "stage3.17"
    assert len(model.permutation_spec().sizes(model.state_dict())) == 3 + 3 * 18
    assert model(torch.randn(1, 3, 8, 8)).shape == (1, 10)


def _planted(state, spec, seed):
    perms = random_permutation(spec, state, seed=seed)
    return perms, apply_permutation(spec, perms, state)


def _trained_state(cfg: ResNet20Config, seed: int):
    g = torch.Generator().manual_seed(seed)
    X, y = torch.randn(64, 3, 8, 8, generator=g), torch.randint(0, 10, (64,), generator=g)
    member = Member(model=cfg, train=TrainConfig(epochs=2, batch_size=32, lr=1e-2), init_seed=seed, data_seed=seed)
    (res,) = train([member], TensorBatches(X, y, 32), device="cpu", progress=False)
    return res["final"]


@pytest.mark.parametrize("width", [1, 2])
@pytest.mark.parametrize("trained", [False, True], ids=["random", "trained"])
def test_weight_matching_recovers_a_planted_permutation_exactly(width, trained):
    cfg = ResNet20Config(width=width)
    state = _trained_state(cfg, 3) if trained else _standard(width, 3).float().state_dict()
    spec = ResNet20(cfg).permutation_spec()
    perms, state_b = _planted(state, spec, seed=7)
    match = weight_matching(spec, state, state_b, seed=0, init="identity", n_restarts=1)
    aligned = apply_permutation(spec, match.perms, state_b)
    for p, planted in perms.items():  # exact: the found permutation undoes the planted one, unit by unit
        ident = torch.arange(len(planted))
        assert torch.equal(planted[match.perms[p]], ident) or torch.equal(match.perms[p][planted], ident), p
    assert all(torch.equal(aligned[k], state[k]) for k in spec.axes)


@pytest.mark.skipif(not os.environ.get("SYMLIB_DATA"), reason="needs CIFAR-10 under $SYMLIB_DATA")
def test_matching_lowers_the_barrier_of_a_trained_pair():
    from symlib.connectivity import IDENTITY, Pair, WeightMatching, connect
    from symlib.data import load_cifar10

    ds = load_cifar10("train").subset(1024, 0).downsample(4)  # 8×8 images
    X, y = ds.X, ds.y
    cfg = ResNet20Config()
    tc = TrainConfig(epochs=4, batch_size=64, lr=3e-3)
    pair = Pair(Member(cfg, tc, init_seed=1, data_seed=11), Member(cfg, tc, init_seed=2, data_seed=12))
    out = connect([pair], TensorBatches(X, y, 64), (X, y), np.linspace(0, 1, 3),
                  {"plain": IDENTITY, "rebasin": WeightMatching()}, device="cpu", progress=False)
    by = {c["method"]: c for c in out["curves"]}
    assert by["plain"]["barrier_mid"] > 0.1
    assert by["rebasin"]["barrier_mid"] < by["plain"]["barrier_mid"]


@pytest.mark.parametrize("width,table", [(1, TABLE6_N_FIX), (8, TABLE7_N_FIX)])
def test_w_asym_fixes_the_tables_entries_per_output_channel(width, table):
    model = ResNet20(ResNet20Config(width=width, variant="w_asym"))
    stem, conv1, conv2, skip2, conv3, skip3, head = table
    expected = {"stem": stem, "head": head, "stage2.0.shortcut": skip2, "stage3.0.shortcut": skip3}
    for s, n in zip((1, 2, 3), (conv1, conv2, conv3)):
        for b in range(BLOCKS_PER_STAGE):
            expected[f"stage{s}.{b}.conv1"] = expected[f"stage{s}.{b}.conv2"] = n
    layers = {n: m for n, m in model.named_modules() if isinstance(m, (WAsymConv2d, WAsymLinear))}
    assert set(layers) == set(expected)
    for name, layer in layers.items():
        fixed_per_row = (~layer.mask.bool()).reshape(layer.mask.shape[0], -1).sum(1)
        assert torch.all(fixed_per_row == expected[name]), name
    if width == 8:
        assert stage_widths(8) == (128, 256, 512) and stem == 27  # the whole 3×3×3 stem is fixed


def test_sigma_asym_has_figlu_at_every_activation():
    model = ResNet20(ResNet20Config(variant="sigma_asym"))
    figlus = {n: m for n, m in model.named_modules() if isinstance(m, FiGLU)}
    expected = {"stem_act"} | {f"stage{s}.{b}.{a}" for s in (1, 2, 3) for b in range(3) for a in ("act1", "act2")}
    assert set(figlus) == expected
    assert not any(isinstance(m, (nn.ReLU, WAsymConv2d, WAsymLinear)) for m in model.modules())
    for name, f in figlus.items():  # absolute std 1/√C of its stage
        c = f.F.shape[0]
        assert f.F.std().item() == pytest.approx(c ** -0.5, rel=0.2), name
    assert sum(isinstance(m, nn.GroupNorm) for m in model.modules()) == 21  # every norm kept
    # unused fields are normalised: equal networks, equal configs
    assert ResNet20Config(kappa=3.0, n_fix=TABLE7_N_FIX) == ResNet20Config()
    assert ResNet20Config(variant="w_asym", figlu_std=(1.0, 1.0, 1.0)) == ResNet20Config(variant="w_asym")
