"""The authors' published zoo format (Zenodo 13883507) read into our networks, on fixtures in their layout."""
import csv

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from symlib import authors_zoo
from symlib.architectures import ResNet8, ResNet8Config
from symlib.variants import VARIANTS


class _SparseConv(nn.Module):
    """The authors' W-Asym conv as they store it: ``weight`` holds the effective weight, ``mask`` is 1 where
    trainable, ``normal_mask`` the unit-variance constants (scaled by their ``mask_constant`` κ)."""

    def __init__(self, c_in, c_out, k, stride, n_fix, kappa, g):
        super().__init__()
        mask = torch.ones(c_out, c_in, k, k)
        for o in range(c_out):
            mask[o, torch.randperm(c_in, generator=g)[:min(n_fix, c_in)]] = 0
        self.register_buffer("mask", mask)
        self.register_buffer("normal_mask", torch.randn(c_out, c_in, k, k, generator=g))
        w = torch.randn(c_out, c_in, k, k, generator=g) * 0.2
        self.weight = nn.Parameter(w * mask + (1 - mask) * kappa * self.normal_mask)
        self.stride, self.padding = stride, k // 2

    def forward(self, x):
        return F.conv2d(x, self.weight, stride=self.stride, padding=self.padding)


class _Gate(nn.Module):
    def __init__(self, c, g):
        super().__init__()
        self.register_buffer("F_mat", torch.randn(c, c, 1, 1, generator=g) / c ** 0.5)

    def forward(self, x):
        return torch.sigmoid(F.conv2d(x, self.F_mat)) * x


class _Block(nn.Module):
    def __init__(self, c_in, c_out, stride, variant, g):
        super().__init__()
        conv = (lambda a, b, k, s: _SparseConv(a, b, k, s, 8, 2.0, g)) if variant == "w_asym" else \
            (lambda a, b, k, s: nn.Conv2d(a, b, k, stride=s, padding=k // 2, bias=False))
        self.conv1, self.ln1 = conv(c_in, c_out, 3, stride), nn.GroupNorm(1, c_out)
        self.conv2, self.ln2 = conv(c_out, c_out, 3, 1), nn.GroupNorm(1, c_out)
        self.shortcut = nn.Sequential()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(conv(c_in, c_out, 1, stride), nn.GroupNorm(1, c_out))
        if variant == "sigma_asym":
            self.nonlin1, self.nonlin2 = _Gate(c_out, g), _Gate(c_out, g)
        self.variant = variant

    def forward(self, x):
        act1 = self.nonlin1 if self.variant == "sigma_asym" else F.relu
        act2 = self.nonlin2 if self.variant == "sigma_asym" else F.relu
        out = act1(self.ln1(self.conv1(x)))
        out = self.ln2(self.conv2(out))
        return act2(out + self.shortcut(x))


class AuthorsLayout(nn.Module):
    """A ResNet8 with the authors' module names (conv1, ln1, layer{s}.0.*, shortcut.0/1, linear, nonlin*.F_mat)."""

    def __init__(self, variant, seed):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.variant = variant
        self.conv1 = _SparseConv(3, 16, 3, 1, 8, 2.0, g) if variant == "w_asym" else nn.Conv2d(3, 16, 3, padding=1,
                                                                                                   bias=False)
        self.ln1 = nn.GroupNorm(1, 16)
        if variant == "sigma_asym":
            self.nonlin = _Gate(16, g)
        self.layer1 = nn.Sequential(_Block(16, 16, 1, variant, g))
        self.layer2 = nn.Sequential(_Block(16, 32, 2, variant, g))
        self.layer3 = nn.Sequential(_Block(32, 64, 2, variant, g))
        self.linear = nn.Linear(64, 10)
        if variant == "w_asym":
            mask = torch.ones(10, 64)
            for o in range(10):
                mask[o, torch.randperm(64, generator=g)[:8]] = 0
            self.linear.register_buffer("mask", mask)
            self.linear.register_buffer("normal_mask", torch.randn(10, 64, generator=g))
            with torch.no_grad():
                self.linear.weight.copy_(self.linear.weight * mask + (1 - mask) * 2.0 * self.linear.normal_mask)
        with torch.no_grad():  # trained-looking norms
            for m in self.modules():
                if isinstance(m, nn.GroupNorm):
                    m.weight.copy_(1 + 0.3 * torch.randn(m.weight.shape, generator=g))
                    m.bias.copy_(0.1 * torch.randn(m.bias.shape, generator=g))

    def forward(self, x):
        act = self.nonlin if self.variant == "sigma_asym" else F.relu
        out = act(self.ln1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        out = F.avg_pool2d(out, out.size()[3]).flatten(1)
        return self.linear(out)


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_authors_zoo_format_loads_into_our_networks(tmp_path, variant):
    nets = [AuthorsLayout(variant, seed) for seed in (0, 1)]
    with open(tmp_path / "hparams.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["lr", "weight_decay", "label_smoothing", "epochs"])
        w.writerows([[0.05, 1e-3, 0.1, 12], [0.2, 1e-4, 0.05, 30]])
    for i, net in enumerate(nets):
        torch.save((net.state_dict(), 61.5 + i), tmp_path / f"{i}.pt")
    loaded = list(authors_zoo.load_authors_zoo(tmp_path))
    assert [m["member"] for m in loaded] == [0, 1] and {m["variant"] for m in loaded} == {variant}
    assert loaded[1]["test_acc"] == pytest.approx(0.625) and loaded[1]["epochs"] == 30 and loaded[0]["lr"] == 0.05
    x = torch.randn(4, 3, 16, 16, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    for net, m in zip(nets, loaded):
        ours = ResNet8(ResNet8Config(variant=variant))
        ours.load_state_dict(m["state"])  # strict: every tensor mapped, none left over
        with torch.no_grad():
            assert (ours.double().eval()(x) - net.double().eval()(x)).abs().max() < 1e-10
        if variant == "w_asym":
            assert torch.equal(ours.stem.mask, net.conv1.mask.bool()) and not ours.stem.mask.any()
            assert torch.all(ours.head.weight[~ours.head.mask] == 0)


def test_the_authors_loader_names_what_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="hparams.csv"):
        list(authors_zoo.load_authors_zoo(tmp_path))
