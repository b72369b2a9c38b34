"""symlib.identifiability (correlation statistics, effective function classes, swap costs) and symlib.synthetic:
each checked against answers known by construction."""
import copy

import numpy as np
import pytest
import torch

from symlib.architectures import MLPConfig, build_model
from symlib.identifiability import (IdentifiabilityProbe, correlation_summary, layer_inputs, pca_basis,
                                    realisation_costs, relative_accuracy_drop, slot_tensors, smallest_swap_cost,
                                    swap_costs)
from symlib.permutation import apply_permutation
from symlib.seeding import seeded
from symlib.synthetic import gaussian_subspace, make_task, parity_subspace


# ------------------------------------------------------------------------------------ correlation statistics

def test_identity_optimal_and_random_on_a_known_matrix():
    S = np.eye(50)  # every unit correlates with itself only
    out = correlation_summary(S, np.arange(50), n_random=100, seed=0)
    assert out["identity"] == out["optimal"] == 1.0
    assert abs(out["random"] - 1 / 50) < 0.02  # one fixed point per random permutation in expectation
    shuffled = S[:, np.random.default_rng(0).permutation(50)]
    perm = np.argmax(shuffled, axis=1)
    out = correlation_summary(shuffled, perm, n_random=100, seed=0)
    assert out["optimal"] == 1.0 and out["identity"] < 0.1


def test_random_permutations_are_seeded():
    S = np.random.default_rng(1).normal(size=(20, 20))
    a = correlation_summary(S, np.arange(20), 30, seed=3)
    assert a == correlation_summary(S, np.arange(20), 30, seed=3)
    assert a["random"] != correlation_summary(S, np.arange(20), 30, seed=4)["random"]
    with pytest.raises(ValueError):
        correlation_summary(S, np.arange(19), 30, seed=3)


def test_relative_accuracy_drop_is_the_authors_formula():
    assert relative_accuracy_drop([0.9, 0.45, 0.8]) == pytest.approx((0.45 - 0.9) / 0.9 * 100)
    assert relative_accuracy_drop([0.9, 0.95, 0.9]) == 0.0


def _mlp(variant="w_asym", kappa=1.0, seed=0, width=24):
    cfg = MLPConfig(in_features=12, width=width, depth=3, out_features=3, variant=variant, n_fix=(3, 4, 6),
                    kappa=(kappa,) * 3, arch_seed=7)
    return seeded(lambda: build_model(cfg), seed)


def test_identical_networks_are_identifiable_and_decorrelated_units_are_not_matched_at_random():
    model = _mlp("standard")
    X = torch.randn(2000, 12, generator=torch.Generator().manual_seed(0))
    probe = IdentifiabilityProbe(slots=(("P0", "layers.0"), ("P1", "layers.1")), n_random=100)
    state = model.state_dict()
    aligned, info = probe.align(model, state, copy.deepcopy(state), seed=0, data=(X, None))
    for layer in info["layers"].values():
        assert layer["identity"] == pytest.approx(1.0) and layer["optimal"] == pytest.approx(1.0)
        assert abs(layer["random"]) < 0.15 and layer["moved_fraction"] == 0.0
        assert "min_swap_cost" not in layer  # dense layers: no swap-cost analysis (C = 0)
    # a permuted copy: the identity is poor, the optimum finds the permutation back
    spec = model.permutation_spec()
    perms = {p: torch.randperm(24, generator=torch.Generator().manual_seed(1)) for p in ("P0", "P1")}
    permuted = apply_permutation(spec, perms, state)
    aligned, info = probe.align(model, state, permuted, seed=0, data=(X, None))
    for layer in info["layers"].values():
        assert layer["optimal"] == pytest.approx(1.0) and layer["identity"] < 0.5
    for k, v in state.items():
        assert torch.allclose(aligned[k], v, atol=1e-6), k


def test_the_probe_records_swap_costs_for_w_asym_layers():
    a, b = _mlp(seed=0), _mlp(seed=1)
    X = torch.randn(500, 12, generator=torch.Generator().manual_seed(0))
    probe = IdentifiabilityProbe(slots=(("P0", "layers.0"), ("P1", "layers.1")), n_random=20, block=8)
    _, info = probe.align(a, a.state_dict(), b.state_dict(), seed=0, data=(X, None))
    for layer in info["layers"].values():
        assert len(layer["min_swap_cost"]) == len(layer["moved"]) == 24
        assert np.array(layer["swap_block"]).shape == (8, 8)
        assert 1 <= layer["pca_dims"] <= 24
        assert layer["moved_fraction"] == pytest.approx(np.mean(layer["moved"]))


# ------------------------------------------------------------------------------------ effective function classes

def test_pca_basis_keeps_the_variance_asked_for():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4000, 6)) * np.array([10, 5, 1, 0.1, 0.1, 0.1])
    U = pca_basis(X, 0.9)
    assert U.shape == (6, 2) and np.allclose(U.T @ U, np.eye(2), atol=1e-10)
    assert pca_basis(X, 0.999).shape[1] == 3
    with pytest.raises(ValueError):
        pca_basis(X, 0.0)


def test_swap_cost_of_a_slot_with_itself_is_zero_and_the_matrix_is_symmetric():
    model = _mlp()
    W, mask, F = slot_tensors(model.layers[1])
    assert (~mask).sum(axis=1).tolist() == [4] * 24 and np.all(F[mask] == 0)
    X = layer_inputs(model, ["layers.1"], torch.randn(800, 12))["layers.1"]
    U = pca_basis(X, 0.9)
    c = realisation_costs(W, mask, F, U)
    C = swap_costs(c)
    assert np.allclose(np.diag(C), 0) and np.allclose(C, C.T)
    assert np.all(np.diag(c) >= -1e-9)
    # the diagonal cost is the trainable part's norm on the support: c_ii = |P_i (U^T (d_i ⊙ w_i))|² ≤ |d_i ⊙ w_i|²
    assert np.all(np.diag(c) <= (W * mask).__pow__(2).sum(1) + 1e-9)
    assert smallest_swap_cost(C).shape == (24,)


def test_dense_slots_swap_for_free_and_asymmetric_slots_do_not():
    """With F = 0 and full masks, swapping any two neurons costs nothing (the permutation symmetry); W-Asym with
    κ > 0 makes most swaps costly."""
    rng = np.random.default_rng(0)
    W = rng.normal(size=(10, 8))
    U = np.linalg.qr(rng.normal(size=(8, 5)))[0]
    full = np.ones_like(W, dtype=bool)
    assert np.allclose(swap_costs(realisation_costs(W, full, np.zeros_like(W), U)), 0, atol=1e-9)
    # a permuted copy of the layer has zero swap cost along the permutation: same slots, same neuron set
    perm = rng.permutation(10)
    c, c_perm = realisation_costs(W, full, np.zeros_like(W), U), realisation_costs(W[perm], full, np.zeros_like(W), U)
    assert np.allclose(c_perm, c[:, perm])
    mask = full.copy()
    mask[np.arange(10), rng.integers(0, 8, 10)] = False
    F = np.where(mask, 0.0, rng.normal(size=W.shape))
    C = swap_costs(realisation_costs(np.where(mask, W, F), mask, F, U))
    assert np.median(C[~np.eye(10, dtype=bool)]) > 1e-3


def test_realisation_cost_is_the_minimum_norm_solution():
    """c_ij equals ‖t*‖² for the least-norm trainable t with U^T(d_i ⊙ t + F_i) = a_j (solved directly)."""
    rng = np.random.default_rng(2)
    n, d, k = 5, 9, 4
    W, U = rng.normal(size=(n, d)), np.linalg.qr(rng.normal(size=(d, k)))[0]
    mask = np.ones((n, d), bool)
    mask[np.arange(n), rng.integers(0, d, n)] = False
    F = np.where(mask, 0.0, rng.normal(size=(n, d)))
    c = realisation_costs(W, mask, F, U)
    for i in range(n):
        M = U.T * mask[i]  # (k, d)
        for j in range(n):
            t = np.linalg.lstsq(M, U.T @ W[j] - U.T @ F[i], rcond=None)[0]
            assert c[i, j] == pytest.approx(t @ t, rel=1e-8, abs=1e-10)


# ------------------------------------------------------------------------------------ synthetic tasks

def test_synthetic_generators_are_deterministic_per_seed():
    a = gaussian_subspace(200, 16, 4, 5, 1.5, structure_seed=1, sample_seed=2)
    b = gaussian_subspace(200, 16, 4, 5, 1.5, structure_seed=1, sample_seed=2)
    c = gaussian_subspace(200, 16, 4, 5, 1.5, structure_seed=1, sample_seed=3)
    assert torch.equal(a.X, b.X) and torch.equal(a.y, b.y) and not torch.equal(a.X, c.X)
    assert torch.equal(a.P, c.P)  # the subspace is the task's structure, shared by its splits
    p1, p2 = parity_subspace(300, 16, 4, 1, 2), parity_subspace(300, 16, 4, 1, 2)
    assert torch.equal(p1.X, p2.X) and torch.equal(p1.y, p2.y)


def test_inputs_lie_on_the_subspace_and_parity_is_the_parity_of_the_sign_bits():
    t = parity_subspace(1000, 16, 4, structure_seed=5, sample_seed=6)
    assert torch.allclose(t.P.T @ t.P, torch.eye(4), atol=1e-5)
    assert torch.allclose(t.X @ t.P, t.Z, atol=1e-5)  # X = Z P^T with orthonormal P: coordinates recovered
    assert torch.linalg.matrix_rank(t.X.double(), atol=1e-4) == 4
    bits = (t.X @ t.P < 0).int()
    assert torch.equal(t.y, bits.sum(1) % 2)
    assert 0.4 < t.y.float().mean() < 0.6
    g = make_task("gaussian_subspace", 500, 16, 4, n_classes=3, separation=2.0, structure_seed=5, sample_seed=6)
    assert set(g.y.tolist()) == {0, 1, 2} and torch.linalg.matrix_rank(g.X.double(), atol=1e-4) == 4
    with pytest.raises(ValueError, match="unknown synthetic task"):
        make_task("xor", 10, 4, 2, n_classes=2, separation=1.0, structure_seed=0, sample_seed=0)
    with pytest.raises(ValueError):
        parity_subspace(10, 3, 4, 0, 0)


@pytest.mark.parametrize("variant", ["standard", "w_asym", "sigma_asym"])
@pytest.mark.parametrize("arch", ["mlp", "resnet20"])
def test_a_permuted_twin_computes_the_network_function_and_twins_interpolate(arch, variant):
    """The twin of a network computes its function; the twin permuted by a random permutation of its spec computes
    it too (the fixed tensors move with their units); the plain path between two twins is the networks' plain
    path (their fixed entries are equal at both ends)."""
    from symlib.architectures import ResNet20Config
    from symlib.identifiability import permutable_twin
    from symlib.interpolation import interpolate_state
    from symlib.permutation import random_permutation

    if arch == "mlp":
        cfg, x = MLPConfig(in_features=12, width=16, depth=3, out_features=5, variant=variant,
                           n_fix=(4, 4, 8), kappa=(1.0, 1.0, 1.0), arch_seed=3), torch.randn(7, 12, generator=torch.Generator().manual_seed(0))
    else:
        cfg = ResNet20Config(width=1, variant=variant, arch_seed=3)
        x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    net_a, net_b = seeded(lambda: build_model(cfg), 1), seeded(lambda: build_model(cfg), 2)
    a, b = net_a.state_dict(), net_b.state_dict()
    twin, ta = permutable_twin(net_a, a)
    _, tb = permutable_twin(net_a, b)
    if variant == "w_asym":
        assert not any(k.endswith((".mask", ".fixed")) for k in ta)

    def out(model, state):
        model = copy.deepcopy(model).eval()
        model.load_state_dict(state)
        with torch.no_grad():
            return model(x)

    spec = twin.permutation_spec()
    perms = random_permutation(spec, tb, seed=5)
    torch.testing.assert_close(out(twin, ta), out(net_a, a), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(out(twin, apply_permutation(spec, perms, tb)), out(net_b, b), rtol=1e-4, atol=1e-4)
    mid_twin, mid_net = interpolate_state(twin, ta, tb, 0.5), interpolate_state(net_a, a, b, 0.5)
    torch.testing.assert_close(out(twin, mid_twin), out(net_a, mid_net), rtol=1e-5, atol=1e-5)
    if variant == "sigma_asym":  # the network's spec leaves its fixed F in place; the twin's moves it
        assert not any(k.endswith(".F") for k in net_a.permutation_spec().axes)
        assert any(k.endswith(".F") for k in spec.axes)
