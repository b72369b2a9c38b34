import subprocess
import sys

import numpy as np
import pytest
import torch
from torch.func import functional_call, grad

from symlib.layers import FiGLU, WAsymConv2d, WAsymLinear, distinct_row_mask
from symlib.seeding import derive_seed
from symlib.training import TrainConfig, fit, tensor_batches


def test_mask_rows_have_exactly_n_fix_and_are_distinct():
    m = distinct_row_mask(512, 784, 64, seed=1)
    assert m.shape == (512, 784)
    assert ((~m).sum(1) == 64).all()
    assert len(np.unique(m, axis=0)) == 512


def test_mask_duplicates_are_redrawn_when_patterns_are_scarce():
    m = distinct_row_mask(6, 4, 2, seed=0)  # C(4,2) = 6 patterns for 6 rows: all must be used once
    assert len(np.unique(m, axis=0)) == 6
    with pytest.raises(ValueError, match="pairwise-distinct"):
        distinct_row_mask(7, 4, 2, seed=0)


def test_fully_fixed_mask_is_allowed_and_all_false():
    """n_fix == cols is a fully fixed layer (the 3-channel stem of the zoo's W-Asym ResNet): every entry fixed."""
    m = distinct_row_mask(3, 4, 4, seed=0)
    assert m.shape == (3, 4) and m.dtype == bool
    assert not m.any()
    # 16 rows from C(3, 3) = 1 pattern: the rows coincide, by design (they differ only through F)
    assert not distinct_row_mask(16, 3, 3, seed=1).any()
    for bad in (-1, 5):  # n_fix outside [0, cols] is still refused
        with pytest.raises(ValueError, match="must lie in"):
            distinct_row_mask(3, 4, bad, seed=0)
    # a fully fixed conv applies exactly its constants F and has nothing trainable in its weight
    c = WAsymConv2d(3, 5, 3, n_fix=3, kappa=2.0, seed=0, fix="filters", bias=False)
    assert not c.mask.any()
    assert torch.equal(c.effective_weight, c.fixed) and (c.fixed != 0).all()
    assert torch.equal(c.weight, torch.zeros_like(c.weight))


def test_derive_seed_is_stable_across_processes():
    code = ("from symlib.layers import WAsymLinear; import torch; l = WAsymLinear(30, 20, 5, 1.0, seed=7); "
            "print(l.mask.sum().item(), float(l.fixed.abs().sum()))")
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
            for _ in range(2)}
    assert len(outs) == 1
    here = WAsymLinear(30, 20, 5, 1.0, seed=7)
    assert outs.pop().split()[0] == str(here.mask.sum().item())
    assert derive_seed(0, "a", 1) == derive_seed(0, "a", 1) != derive_seed(0, "a", 2)


def test_same_seed_same_architecture_different_seed_different():
    a, b, c = (WAsymLinear(50, 40, 8, 1.0, seed=s) for s in (3, 3, 4))
    assert torch.equal(a.mask, b.mask) and torch.equal(a.fixed, b.fixed)
    assert not torch.equal(a.mask, c.mask)


def test_fixed_entries_never_move_in_training():
    torch.manual_seed(0)
    layer = torch.nn.Sequential(WAsymLinear(20, 16, 5, 1.0, seed=1), torch.nn.GELU(),
                                WAsymLinear(16, 3, 4, 0.5, seed=2))
    before = [l.effective_weight.detach().clone() for l in (layer[0], layer[2])]
    X, y = torch.randn(256, 20), torch.randint(0, 3, (256,))
    cfg = TrainConfig(epochs=5, batch_size=32, lr=1e-2, weight_decay=0.1)
    hist = fit(layer, tensor_batches(X, y, cfg), cfg, seed=0, device="cpu")
    assert "diverged" not in hist and len(hist["train_loss"]) == 5
    for l, w0 in zip((layer[0], layer[2]), before):
        w1 = l.effective_weight.detach()
        fixed = ~l.mask
        assert torch.equal(w1[fixed], w0[fixed]), "fixed entries moved"
        assert not torch.allclose(w1[l.mask], w0[l.mask]), "trainable entries did not move"


def test_w_asym_works_under_torch_func():
    layer = WAsymLinear(6, 4, 2, 1.0, seed=0)
    params = {k: v.detach() for k, v in layer.named_parameters()}
    buffers = dict(layer.named_buffers())
    x = torch.randn(5, 6)

    def loss(p):
        return functional_call(layer, {**p, **buffers}, (x,)).pow(2).sum()

    g = grad(loss)(params)
    assert torch.all(g["weight"][~layer.mask] == 0)  # no gradient reaches fixed entries
    assert g["weight"][layer.mask].abs().sum() > 0


def test_conv_modes():
    c = WAsymConv2d(6, 8, 3, n_fix=2, kappa=2.0, seed=0, fix="filters", padding=1)
    fixed_filters = (~c.mask).all(dim=(2, 3))
    assert (fixed_filters.sum(1) == 2).all() and torch.equal((~c.mask).any(dim=(2, 3)), fixed_filters)
    e = WAsymConv2d(4, 8, 3, n_fix=5, kappa=2.0, seed=0, fix="entries")
    assert ((~e.mask).flatten(1).sum(1) == 5).all()
    assert e(torch.randn(2, 4, 9, 9)).shape == (2, 8, 7, 7)


def test_figlu_matches_equation_and_is_not_permutation_equivariant():
    f = FiGLU(6, std=1.0, seed=0)
    x = torch.randn(10, 6)
    assert torch.allclose(f(x), torch.sigmoid(x @ f.F.T) * x)
    img = torch.randn(2, 6, 3, 3)
    ref = torch.sigmoid(torch.einsum("oc,bchw->bohw", f.F, img)) * img
    assert torch.allclose(f(img), ref)
    p = torch.randperm(6, generator=torch.Generator().manual_seed(1))
    assert not torch.allclose(f(x[:, p]), f(x)[:, p], atol=1e-3)
    gelu = torch.nn.GELU()
    assert torch.allclose(gelu(x[:, p]), gelu(x)[:, p])
