"""Lim et al. (2024): permutation/rescaling symmetries, DAG automorphisms (Theorem 1), FiGLU equivariances (Prop. 2)."""
import math

import numpy as np
import pytest
import torch

from symlib.architectures import MLP, MLPConfig
from symlib.layers import FiGLU, distinct_row_mask
from symlib.theory.dag import computation_dag, count_automorphisms, mlp_masks
from symlib.theory.equivariance import (circulant_F, diagonal_equivariances, elementwise_numpy, figlu_equivariances,
                                        permutation_equivariances, symmetrised_F, zero_column_F)
from symlib.theory.transforms import function_change, permute_hidden, rescale_hidden

ones = lambda r, c: np.ones((r, c), dtype=bool)  # noqa: E731


def _x(n=32, d=20, seed=0):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _mlp(variant, seed=1):
    """GELU + LayerNorm MLP 20-16-16-5; FiGLU's std 1/sqrt(16), the old `figlu_scale=1.0` at this width."""
    torch.manual_seed(seed)
    return MLP(MLPConfig(in_features=20, width=16, depth=3, out_features=5, variant=variant, n_fix=(4, 4, 8),
                         kappa=(1.0, 1.0, 0.5), figlu_std=0.25, arch_seed=seed)).double()


def _relu_mlp(variant, arch_seed=0, **kw):
    """Plain ReLU MLP 20-16-16-5 without norms (the former ``ReLUMLP([20, 16, 16, 5], ...)``)."""
    return MLP(MLPConfig(in_features=20, width=16, depth=3, out_features=5, variant=variant, activation="relu",
                         norm=False, figlu_std=0.25, arch_seed=arch_seed, **kw))


def test_permuted_standard_mlp_computes_the_same_function():
    m = _mlp("standard")
    assert function_change(m, lambda mm: permute_hidden(mm, 7), _x()) < 1e-12


@pytest.mark.parametrize("variant", ["w_asym", "sigma_asym"])
def test_permuted_asymmetric_mlps_compute_a_different_function(variant):
    m = _mlp(variant)
    assert function_change(m, lambda mm: permute_hidden(mm, 7), _x()) > 1e-2


def test_permutation_moves_parameters_not_buffers():
    m = _mlp("w_asym")
    p = permute_hidden(m, 3)
    for (n, b), (_, b2) in zip(m.named_buffers(), p.named_buffers()):
        assert torch.equal(b, b2), n  # mask and fixed entries stay put
    w, w2 = m.layers[0].weight, p.layers[0].weight
    assert not torch.equal(w, w2)
    assert torch.equal(torch.sort(w.sum(1)).values, torch.sort(w2.sum(1)).values)  # same rows, reordered


def test_rescaling_is_a_symmetry_of_relu_nets_only():
    x = _x()
    torch.manual_seed(0)
    std = _relu_mlp("standard").double()
    assert std.norms is None and all(isinstance(a, torch.nn.ReLU) for a in std.acts)
    assert function_change(std, lambda mm: rescale_hidden(mm, 1), x) < 1e-12
    assert function_change(std, lambda mm: permute_hidden(mm, 1), x) < 1e-12
    wa = _relu_mlp("w_asym", n_fix=(4, 4, 8), kappa=(1.0, 1.0, 1.0), arch_seed=2).double()
    assert function_change(wa, lambda mm: rescale_hidden(mm, 1), x) > 1e-2
    sa = _relu_mlp("sigma_asym", arch_seed=2).double()
    assert function_change(sa, lambda mm: rescale_hidden(mm, 1), x) > 1e-3
    # LayerNorm + GELU has no rescaling symmetry, even in the standard MLP
    assert function_change(_mlp("standard"), lambda mm: rescale_hidden(mm, 1), x) > 1e-3


def test_dag_structure():
    g = computation_dag([ones(4, 3), ones(2, 4)])
    assert g.number_of_nodes() == 9 and g.number_of_edges() == 12 + 8
    mask = distinct_row_mask(4, 6, 2, seed=0)
    g = computation_dag([mask, ones(2, 4)])
    assert g.number_of_edges() == mask.sum() + 8  # fixed entries are absent edges
    with pytest.raises(ValueError):
        computation_dag([ones(4, 3), ones(2, 5)])


@pytest.mark.parametrize("widths", [(2, 3, 1), (3, 4, 2), (3, 2, 3, 2), (2, 3, 4, 1)])
def test_standard_mlp_automorphisms_are_products_of_factorials(widths):
    masks = [ones(b, a) for a, b in zip(widths[:-1], widths[1:])]
    expected = math.prod(math.factorial(n) for n in widths[1:-1])
    assert count_automorphisms(computation_dag(masks)) == expected


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_w_asym_with_distinct_rows_has_only_the_identity(seed):
    masks = [distinct_row_mask(5, 6, 2, seed), distinct_row_mask(4, 5, 2, seed + 10), distinct_row_mask(2, 4, 1, seed + 20)]
    assert count_automorphisms(computation_dag(masks)) == 1
    # the output layer may even be dense: Theorem 1's induction never uses it
    assert count_automorphisms(computation_dag(masks[:2] + [ones(2, 4)])) == 1


def test_equal_mask_rows_or_unmasked_layers_leave_automorphisms():
    m1 = distinct_row_mask(5, 6, 2, seed=3)
    dup = m1.copy()
    dup[1] = dup[0]
    assert count_automorphisms(computation_dag([dup, ones(2, 5)])) == 2
    dup[2] = dup[0]
    assert count_automorphisms(computation_dag([dup, ones(2, 5)])) == 6
    assert count_automorphisms(computation_dag([m1, ones(4, 5), ones(2, 4)])) == math.factorial(4)


def test_masks_of_symlib_mlps():
    w = MLP(MLPConfig(in_features=8, width=5, depth=3, out_features=2, variant="w_asym", n_fix=(2, 2, 2),
                      kappa=(1.0, 1.0, 1.0), arch_seed=4))
    assert count_automorphisms(computation_dag(mlp_masks(w))) == 1
    s = MLP(MLPConfig(in_features=4, width=3, depth=3, out_features=2))
    assert count_automorphisms(computation_dag(mlp_masks(s))) == 36


def test_elementwise_nonlinearities_have_all_diagonal_permutation_pairs():
    for name in ("relu", "tanh", "gelu"):
        found = permutation_equivariances(elementwise_numpy(name), 4)
        assert len(found) == 24 and all(p1 == p2 for p1, p2 in found)
    relu = diagonal_equivariances(elementwise_numpy("relu"), 4)["found"]
    assert all(min(a) > 0 and np.allclose(a, b) for a, b in relu) and len(relu) > 10
    tanh = diagonal_equivariances(elementwise_numpy("tanh"), 4)["found"]
    assert len(tanh) == 16  # exactly the sign flips


@pytest.mark.parametrize("d,seed", [(3, 0), (4, 1), (5, 2)])
def test_generic_figlu_has_only_the_identity(d, seed):
    F = FiGLU(d, std=1.0, seed=seed).F
    r = figlu_equivariances(F, seed=seed)
    ident = tuple(range(d))
    assert r["permutation"] == [(ident, ident)]
    assert r["diagonal"]["found"] == [([1.0] * d, [1.0] * d)]


def test_degenerate_figlu_has_the_predicted_equivariances():
    d = 4
    F = FiGLU(d, std=1.0, seed=0).F.double().numpy()
    swap = (1, 0, 2, 3)
    r = figlu_equivariances(symmetrised_F(F, swap))
    assert sorted(r["permutation"]) == sorted([((0, 1, 2, 3),) * 2, (swap, swap)])
    r = figlu_equivariances(circulant_F(F[0]))
    assert len(r["permutation"]) == d
    assert ((1, 2, 3, 0), (1, 2, 3, 0)) in r["permutation"]
    r = figlu_equivariances(np.full((d, d), 0.3))
    assert len(r["permutation"]) == math.factorial(d)
    r = figlu_equivariances(zero_column_F(F, 2))
    assert len(r["permutation"]) == 1
    found = r["diagonal"]["found"]
    assert len(found) > 1
    for a, b in found:  # only coordinate 2 is rescaled, and A = B
        assert np.allclose(a, b) and np.allclose(np.delete(a, 2), 1.0)
