"""The authors' published zoo (Zenodo 13883507) read into our networks, on fixtures in exactly the layout their
code writes (github.com/cptq/asymmetric-networks, metanet_data/): ``<root>/data/<model_type>/<i>.pt`` holding
``(state_dict, test accuracy in %)``, ``hparams.csv`` in ``metanet_data/grid_runs/`` beside ``root``."""
import csv

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from symlib import authors_zoo
from symlib.architectures import ResNet8, ResNet8Config

TYPES = {"resnet8": ("standard", 1.0), "smaller_resnet8": ("standard", 0.875),
         "sigma_asym_resnet8": ("sigma_asym", 1.0), "sparse_resnet8": ("w_asym", 1.0)}
KAPPA = 2.0
ROWS = [[0.05, 1e-3, 0.1, 12], [0.2, 1e-4, 0.05, 30], [0.01, 3e-2, 0.0, 40], [0.1, 1e-5, 0.2, 10]]


class _SparseConv(nn.Module):
    """A W-Asym conv as they store it: ``mask`` 1 where trainable (whole input filters fixed), ``normal_mask``
    unit-variance constants, ``weight`` the effective weight with ``κ · normal_mask`` at the fixed entries."""

    def __init__(self, c_in, c_out, k, stride, g):
        super().__init__()
        mask = torch.ones(c_out, c_in, k, k)
        for o in range(c_out):
            mask[o, torch.randperm(c_in, generator=g)[:8]] = 0
        self.register_buffer("mask", mask)
        self.register_buffer("normal_mask", torch.randn(c_out, c_in, k, k, generator=g))
        w = torch.randn(c_out, c_in, k, k, generator=g) * 0.2
        self.weight = nn.Parameter(w * mask + (1 - mask) * KAPPA * self.normal_mask)
        self.stride, self.padding = stride, k // 2

    def forward(self, x):
        return F.conv2d(x, self.weight, stride=self.stride, padding=self.padding)


class _Gate(nn.Module):
    def __init__(self, c, g):
        super().__init__()
        self.register_buffer("F_mat", torch.randn(c, c, 1, 1, generator=g) / c ** 0.5)

    def forward(self, x):
        return torch.sigmoid(F.conv2d(x, self.F_mat)) * x


def _conv(variant, c_in, c_out, k, stride, g):
    if variant == "w_asym":
        return _SparseConv(c_in, c_out, k, stride, g)
    return nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, bias=False)


class _Block(nn.Module):
    def __init__(self, c_in, c_out, stride, variant, g):
        super().__init__()
        self.conv1, self.ln1 = _conv(variant, c_in, c_out, 3, stride, g), nn.GroupNorm(1, c_out)
        self.conv2, self.ln2 = _conv(variant, c_out, c_out, 3, 1, g), nn.GroupNorm(1, c_out)
        self.shortcut = nn.Sequential()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(_conv(variant, c_in, c_out, 1, stride, g), nn.GroupNorm(1, c_out))
        if variant == "sigma_asym":
            self.nonlin1, self.nonlin2 = _Gate(c_out, g), _Gate(c_out, g)
        self.variant = variant

    def forward(self, x):
        act1 = self.nonlin1 if self.variant == "sigma_asym" else F.relu
        act2 = self.nonlin2 if self.variant == "sigma_asym" else F.relu
        out = self.ln2(self.conv2(act1(self.ln1(self.conv1(x)))))
        return act2(out + self.shortcut(x))


class TheirResNet8(nn.Module):
    """A ResNet8 with their module names (conv1, ln1, nonlin, layer{s}.0.{conv1,ln1,conv2,ln2,shortcut.0/1,
    nonlin1/2}, linear; W-Asym mask/normal_mask buffers) at width multiplier ``w`` (widths round(16w) ...)."""

    def __init__(self, model_type, seed):
        super().__init__()
        variant, w = TYPES[model_type]
        c1, c2, c3 = (round(16 * w), round(32 * w), round(64 * w))
        g = torch.Generator().manual_seed(seed)
        self.variant = variant
        self.conv1, self.ln1 = _conv(variant, 3, c1, 3, 1, g), nn.GroupNorm(1, c1)
        self.nonlin = _Gate(c1, g) if variant == "sigma_asym" else nn.ReLU()
        self.layer1 = nn.Sequential(_Block(c1, c1, 1, variant, g))
        self.layer2 = nn.Sequential(_Block(c1, c2, 2, variant, g))
        self.layer3 = nn.Sequential(_Block(c2, c3, 2, variant, g))
        self.linear = nn.Linear(c3, 10)
        if variant == "w_asym":  # their SparseLinear: 8 fixed entries per row
            mask = torch.ones(10, c3)
            for o in range(10):
                mask[o, torch.randperm(c3, generator=g)[:8]] = 0
            self.linear.register_buffer("mask", mask)
            self.linear.register_buffer("normal_mask", torch.randn(10, c3, generator=g))
            with torch.no_grad():
                self.linear.weight.copy_(self.linear.weight * mask + (1 - mask) * KAPPA * self.linear.normal_mask)
        with torch.no_grad():  # trained-looking norms
            for m in self.modules():
                if isinstance(m, nn.GroupNorm):
                    m.weight.copy_(1 + 0.3 * torch.randn(m.weight.shape, generator=g))
                    m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))
        self.to(memory_format=torch.channels_last)  # as their construct_model leaves it

    def forward(self, x):
        out = self.nonlin(self.ln1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        return self.linear(F.avg_pool2d(out, out.size()[3]).flatten(1))


def write_their_layout(base, nets_by_type, rows=ROWS):
    """``base/metanet_data/{cifar10_nets/data/<type>/<i>.pt, grid_runs/hparams.csv}``; returns the root."""
    root = base / "metanet_data" / "cifar10_nets"
    grid = base / "metanet_data" / "grid_runs"
    grid.mkdir(parents=True)
    with open(grid / "hparams.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["lr", "weight_decay", "label_smoothing", "epochs"])
        w.writerows(rows)
    for model_type, nets in nets_by_type.items():
        folder = root / "data" / model_type
        folder.mkdir(parents=True)
        for i, net in nets.items():
            torch.save((net.state_dict(), 60.0 + i + 0.25), folder / f"{i}.pt")
    return root


@pytest.fixture(scope="module")
def their_zoo(tmp_path_factory):
    """Every model type, members 0, 1 and 3 (row 2 of hparams.csv has no file, as after a failed run)."""
    nets = {t: {i: TheirResNet8(t, seed=10 * k + i) for i in (0, 1, 3)} for k, t in enumerate(TYPES)}
    return write_their_layout(tmp_path_factory.mktemp("authors"), nets), nets


@pytest.mark.parametrize("model_type", list(TYPES))
def test_each_model_type_loads_from_their_layout(their_zoo, model_type):
    root, nets = their_zoo
    zoo = authors_zoo.load_authors_zoo(root, model_type)  # hparams.csv found at their default place
    loaded = list(zoo)
    variant, w = TYPES[model_type]
    assert [m.member for m in loaded] == [0, 1, 3] and zoo.missing == [2] and not zoo.dropped
    assert {m.variant for m in loaded} == {variant}
    assert {m.config.widths for m in loaded} == {(round(16 * w), round(32 * w), round(64 * w))}
    m3 = loaded[2]
    assert m3.test_acc == pytest.approx(0.6325) and (m3.lr, m3.weight_decay, m3.label_smoothing, m3.epochs) == (
        0.1, 1e-5, 0.2, 10)
    x = torch.randn(3, 3, 16, 16, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    for m in loaded:
        ours, theirs = m.network(), nets[model_type][m.member]  # network(): a strict load
        with torch.no_grad():
            assert (ours.double().eval()(x) - theirs.double().eval()(x)).abs().max() < 1e-10
        if variant == "w_asym":
            assert not ours.stem.mask.any()  # their stem fixes all 3 input filters
            assert torch.equal(ours.head.mask, theirs.linear.mask.bool())
            assert torch.all(ours.head.weight[~ours.head.mask] == 0)
            fixed = ~ours.stage2.conv1.mask
            assert torch.equal(ours.stage2.conv1.fixed[fixed], KAPPA * theirs.layer2[0].conv1.normal_mask[fixed])
    assert "3 networks for 4 hparams rows (1 without a file); dropped 0" in zoo.summary()


def test_smaller_resnet8_is_the_standard_resnet_at_widths_14_28_56(their_zoo):
    root, nets = their_zoo
    assert authors_zoo.MODEL_TYPES["smaller_resnet8"].widths == (14, 28, 56)
    theirs = nets["smaller_resnet8"][0]
    assert sum(p.numel() for p in theirs.parameters()) == 59_944  # what their train_cifar.py prints
    ours = ResNet8(ResNet8Config(widths=(14, 28, 56)))
    assert sum(p.numel() for p in ours.parameters()) == 59_944
    assert sum(p.numel() for p in ResNet8(ResNet8Config()).parameters()) == 78_042


def test_members_with_nan_or_inf_weights_are_dropped_and_counted(tmp_path):
    nets = {i: TheirResNet8("sparse_resnet8", seed=i) for i in range(4)}
    with torch.no_grad():
        nets[1].layer2[0].conv1.weight[0, 0, 0, 0] = float("nan")
        nets[2].linear.bias[3] = float("inf")
    root = write_their_layout(tmp_path, {"sparse_resnet8": nets})
    zoo = authors_zoo.load_authors_zoo(root, "sparse_resnet8")
    with pytest.warns(authors_zoo.DroppedMembersWarning, match="dropped 2 of 4 .*members 1, 2"):
        loaded = list(zoo)
    assert [m.member for m in loaded] == [0, 3]
    assert sorted(zoo.dropped) == [1, 2] and zoo.dropped[1].startswith("NaN") and zoo.dropped[2].startswith("inf")
    assert "dropped 2 with NaN/inf weights: [1, 2]" in zoo.summary()


def _one_line_error(kind, match, call):
    with pytest.raises(kind, match=match) as e:
        call()
    assert "\n" not in str(e.value)
    return str(e.value)


def test_unknown_model_types_are_refused_naming_the_type_and_why(their_zoo):
    root, _ = their_zoo
    msg = _one_line_error(ValueError, "'mlp'.*3-layer MLP", lambda: authors_zoo.load_authors_zoo(root, "mlp"))
    assert "sparse_resnet8" in msg
    _one_line_error(ValueError, "'resnet20'.*make_scripts", lambda: authors_zoo.load_authors_zoo(root, "resnet20"))


def test_missing_paths_name_what_was_looked_for_and_where_to_get_the_data(their_zoo, tmp_path):
    root, _ = their_zoo
    msg = _one_line_error(FileNotFoundError, "root .*nowhere.* not found",
                          lambda: authors_zoo.load_authors_zoo(tmp_path / "nowhere", "resnet8"))
    assert "13883507" in msg
    bare = tmp_path / "bare"
    (bare / "data" / "resnet8").mkdir(parents=True)
    msg = _one_line_error(FileNotFoundError, "sparse_resnet8 not found.*data/ holds: resnet8",
                          lambda: authors_zoo.load_authors_zoo(bare, "sparse_resnet8"))
    assert "13883507" in msg
    msg = _one_line_error(FileNotFoundError, "hparams.csv not found at .*grid_runs.*hparams=",
                          lambda: authors_zoo.load_authors_zoo(bare, "resnet8"))
    assert str(bare.parent / "grid_runs" / "hparams.csv") in msg and "13883507" in msg
    _one_line_error(FileNotFoundError, "hparams.csv not found at .*elsewhere",
                    lambda: authors_zoo.load_authors_zoo(root, "resnet8", hparams=tmp_path / "elsewhere.csv"))


def test_hparams_can_be_passed_from_anywhere(their_zoo, tmp_path):
    root, _ = their_zoo
    moved = tmp_path / "h.csv"
    moved.write_text((root.parent / "grid_runs" / "hparams.csv").read_text())
    zoo = authors_zoo.load_authors_zoo(root, "resnet8", hparams=moved)
    assert zoo.hparams_path == moved and next(iter(zoo)).epochs == 12


def test_the_model_type_is_cross_checked_against_the_tensors(tmp_path):
    root = write_their_layout(tmp_path, {"resnet8": {0: TheirResNet8("sparse_resnet8", 0)},
                                         "smaller_resnet8": {0: TheirResNet8("resnet8", 0)}})
    _one_line_error(ValueError, r"0\.pt \(model type resnet8\): expected a standard network.*w_asym",
                    lambda: list(authors_zoo.load_authors_zoo(root, "resnet8")))
    _one_line_error(ValueError, r"not a smaller_resnet8 network .*\(14, 28, 56\).*widths \(16, 32, 64\)",
                    lambda: list(authors_zoo.load_authors_zoo(root, "smaller_resnet8")))


def test_their_unsaved_kappa_is_checked_against_the_saved_weight(their_zoo):
    root, _ = their_zoo
    _one_line_error(ValueError, "not kappa\\*normal_mask with kappa=1 .*kappa≈2",
                    lambda: next(iter(authors_zoo.load_authors_zoo(root, "sparse_resnet8", kappa=1.0))))
