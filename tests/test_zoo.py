"""The zoo as a dataset: loadable without symlib, resumable after a kill, grown without retraining, corrupt files
retrained, and the authors' published format read into our networks."""
import csv
import hashlib

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn
from torch.nn import functional as F

from symlib import zoo
from symlib.architectures import ResNet8, ResNet8Config
from symlib.evaluation import evaluate
from symlib.variants import VARIANTS


@pytest.fixture(scope="module")
def ci_zoo(data_root, tmp_path_factory):
    if not (data_root / "cifar-10-batches-py").exists():
        pytest.skip(f"CIFAR-10 not found under {data_root}/cifar-10-batches-py")
    mp = pytest.MonkeyPatch()
    mp.setenv("SYMLIB_ZOO", str(tmp_path_factory.mktemp("zoo")))
    mp.setenv("SYMLIB_RESULTS", str(tmp_path_factory.mktemp("results")))
    z = zoo.Zoo("ci")
    record = z.build(2, device="cpu", progress=False)
    yield z, record
    mp.undo()


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_zoo_folder_is_loadable_without_symlib(ci_zoo):
    z, record = ci_zoo
    folder = z.directory
    index = pd.read_csv(folder / "index.csv")
    curves = pd.read_csv(folder / "curves.csv")
    assert len(index) == 2 * len(VARIANTS) and (folder / "README.txt").exists()
    assert set(index.columns) >= {"lr", "weight_decay", "label_smoothing", "epochs", "init_seed", "data_seed",
                                  "arch_seed", "train_acc", "test_acc", "diverged"}
    for row in index.itertuples():  # one curve point per epoch the member trained
        c = curves[(curves.variant == row.variant) & (curves.member == row.member)]
        assert c.epoch.tolist() == list(range(1, row.epochs + 1)) and c.train_loss.notna().all()
    _, _, test = z.data()
    for row in index.itertuples():
        with np.load(folder / row.file) as f:  # plain numpy: the README's recipe
            final = {k[6:]: torch.from_numpy(f[k]) for k in f.files if k.startswith("final/")}
            init = {k[5:]: torch.from_numpy(f[k]) for k in f.files if k.startswith("init/")}
        assert init.keys() == final.keys()
        model = ResNet8(zoo.model_config(z.recipe, row.variant))
        model.load_state_dict(final)
        res = evaluate(model, test.X, test.y)
        assert res["acc"] == pytest.approx(row.test_acc) and res["loss"] == pytest.approx(row.test_loss, rel=1e-5)
        if row.variant == "w_asym":  # fixed entries never move in training: the applied weight keeps them
            layers = [n[:-5] for n in final if n.endswith(".mask")]
            assert len(layers) == 10  # 9 convs + head
            for layer in layers:
                mask = final[f"{layer}.mask"]
                assert torch.equal(mask, init[f"{layer}.mask"]) and (~mask).any()
                applied = {s: torch.where(mask, st[f"{layer}.weight"], st[f"{layer}.fixed"])
                           for s, st in (("init", init), ("final", final))}
                assert torch.equal(applied["final"][~mask], applied["init"][~mask])
                if mask.any():  # the stem is entirely fixed
                    assert not torch.equal(applied["final"][mask], applied["init"][mask])
    assert record["result"]["n_members"] == 2 and len(record["result"]["members"]) == 2 * len(VARIANTS)
    assert z.stored_summary(2)["manifest"]["config_hash"] == record["manifest"]["config_hash"]


def test_members_are_paired_across_variants(ci_zoo):
    z, _ = ci_zoo
    for i in range(2):
        rows = [z.members(v, 2)[i] for v in VARIANTS]
        for key in ("lr", "weight_decay", "label_smoothing", "epochs", "init_seed", "data_seed"):
            assert len({r[key] for r in rows}) == 1, key
    assert len({z.members(v, 1)[0]["arch_seed"] for v in VARIANTS}) == 3


def test_a_killed_build_resumes_and_a_corrupt_member_is_retrained(ci_zoo):
    z, _ = ci_zoo
    npz0, meta0 = z._paths("standard", 0)
    npz1, meta1 = z._paths("w_asym", 1)
    before = {p: _sha(p) for p in (npz0, npz1)}
    untouched = z._paths("sigma_asym", 1)[0]
    mtime = untouched.stat().st_mtime_ns
    meta1.unlink()  # killed after the weights, before the record: not complete
    npz0.write_bytes(npz0.read_bytes()[:100])  # a truncated weight file: fails its checksum
    assert z.built("standard", 2) == [1] and z.built("w_asym", 2) == [0]
    with pytest.raises(zoo.MissingZoo, match="make zoo SCALE=ci"):
        z.members("standard", 2)
    record = z.build(2, device="cpu", progress=False)
    assert record["result"]["trained_now"] == 2
    assert {p: _sha(p) for p in (npz0, npz1)} == before  # retrained bit for bit (same seeds, one thread)
    assert untouched.stat().st_mtime_ns == mtime  # a valid member is never rewritten


def test_growing_a_zoo_keeps_the_members_already_built(ci_zoo):
    z, _ = ci_zoo
    shas = {(v, i): _sha(z._paths(v, i)[0]) for v in VARIANTS for i in range(2)}
    record = z.build(3, device="cpu", progress=False)
    assert record["result"]["trained_now"] == len(VARIANTS)  # only member 2 of each variant
    assert {(v, i): _sha(z._paths(v, i)[0]) for v in VARIANTS for i in range(2)} == shas
    assert [r["member"] for r in z.members("w_asym", 3)] == [0, 1, 2]


# --------------------------------------------------------------- the authors' published format (Zenodo 13883507)

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
    loaded = list(zoo.load_authors_zoo(tmp_path))
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
        list(zoo.load_authors_zoo(tmp_path))
