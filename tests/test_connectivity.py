"""The connectivity pipeline end to end: a BatchNorm ResNet on images and a PyG graph model on a full graph go
through train pair -> weight and activation matching -> curves with BatchNorm reset -> barriers; the pipeline
equals its pieces called by hand; BatchNorm states interpolate across different counters."""
import numpy as np
import pytest
import torch

from symlib.architectures import MLPConfig, ResNet8Config, build_model
from symlib.architectures.gnn import GNNConfig
from symlib.batches import FullGraph, TensorBatches
from symlib.batchnorm import reset_statistics
from symlib.connectivity import IDENTITY, ActivationMatching, Pair, WeightMatching, connect
from symlib.evaluation import evaluate_states
from symlib.interpolation import interpolate_state, interpolation_curves, max_barrier, midpoint_barrier
from symlib.matching import weight_matching
from symlib.permutation import apply_permutation
from symlib.training import Member, TrainConfig, train_members

ALPHAS = np.linspace(0, 1, 5)
ALIGNERS = {"identity": IDENTITY, "weight": WeightMatching(), "activation": ActivationMatching()}


def _pair(model, train, seed=0):
    return Pair(Member(model=model, train=train, init_seed=1 + seed, data_seed=11 + seed),
                Member(model=model, train=train, init_seed=2 + seed, data_seed=12 + seed), seed=seed)


def _check_curves(out, data, reset, template):
    """Every aligner: finite curve and barriers; α = 0 is network a with its statistics re-estimated; α = 1 is
    network b whatever the aligner (a permutation changes no function, so neither the re-estimated statistics)."""
    by = {c["method"]: c for c in out["curves"]}
    assert list(by) == list(ALIGNERS) and len(out["members"]) == 2
    for c in by.values():
        assert np.all(np.isfinite(c["loss"])) and np.isfinite(c["barrier_mid"]) and np.isfinite(c["barrier_max"])
        assert c["barrier_mid"] == pytest.approx(midpoint_barrier(c["alpha"], c["loss"]))
        assert c["barrier_max"] == pytest.approx(max_barrier(c["alpha"], c["loss"]))
        assert c["loss"][-1] == pytest.approx(by["identity"]["loss"][-1], rel=1e-4, abs=1e-5)
        assert c["loss"][0] == pytest.approx(by["identity"]["loss"][0], rel=1e-6)
    assert 0 <= by["weight"]["identity_fraction"] <= 1 and by["weight"]["matching_gain"] >= 0
    assert by["activation"]["matching_gain"] >= -1e-9
    return by


def test_a_batchnorm_resnet_goes_through_the_whole_pipeline():
    g = torch.Generator().manual_seed(0)
    X, y = torch.randn(96, 3, 8, 8, generator=g), torch.randint(0, 4, (96,), generator=g)
    model = ResNet8Config(widths=(4, 8, 8), num_classes=4, norm="batch")
    train = TrainConfig(epochs=2, batch_size=32, lr=1e-2)
    reset = (X[:64], y[:64])
    out = connect([_pair(model, train)], TensorBatches(X, y, 32), (X, y), ALPHAS, ALIGNERS, align_data=(X, y),
                  reset_data=reset, device="cpu", progress=False)
    template = build_model(model)
    _check_curves(out, (X, y), reset, template)
    # α = 0 of the curve is network a after a statistics reset: computed here from the pieces
    trained = train_members([_pair(model, train).a], TensorBatches(X, y, 32), device="cpu", progress=False)
    (state_a,) = reset_statistics(template, [trained[0]["final"]], reset, device="cpu")
    ours = evaluate_states(template, [state_a], (X, y), device="cpu")["loss"][0]
    assert out["curves"][0]["loss"][0] == pytest.approx(ours, rel=1e-6)
    assert out["members"][0]["loss"] == pytest.approx(
        evaluate_states(template, [trained[0]["final"]], (X, y), device="cpu")["loss"][0], rel=1e-6)


def test_a_graph_model_goes_through_the_whole_pipeline():
    g = torch.Generator().manual_seed(1)
    n = 60
    x, y = torch.randn(n, 6, generator=g), torch.randint(0, 3, (n,), generator=g)
    edges = torch.randint(0, n, (2, 200), generator=g)
    edge_index = torch.cat([edges, edges.flip(0)], dim=1)
    train_mask, test_mask = torch.zeros(n, dtype=torch.bool), torch.zeros(n, dtype=torch.bool)
    train_mask[:40], test_mask[40:] = True, True
    model = GNNConfig(in_features=6, width=8, depth=2, out_features=3)
    train = TrainConfig(epochs=5, batch_size=1, lr=1e-2)
    source = FullGraph(x, edge_index, y, train_mask)
    test = FullGraph(x, edge_index, y, test_mask)
    out = connect([_pair(model, train)], source, test, ALPHAS, ALIGNERS, align_data=source, reset_data=source,
                  metrics=("acc", "ece"), device="cpu", progress=False)
    by = _check_curves(out, test, source, build_model(model))
    assert all(0 <= v <= 1 for c in by.values() for v in c["ece"]) and "ece" in out["members"][0]


def test_the_pipeline_equals_its_pieces_on_an_mlp():
    g = torch.Generator().manual_seed(2)
    X, y = torch.randn(128, 10, generator=g), torch.randint(0, 3, (128,), generator=g)
    model = MLPConfig(in_features=10, width=12, depth=3, out_features=3)
    train = TrainConfig(epochs=3, batch_size=32, lr=1e-2)
    pairs = [_pair(model, train, seed=s) for s in (0, 5)]
    source = TensorBatches(X, y, 32)
    out = connect(pairs, source, (X, y), ALPHAS, {"plain": IDENTITY, "rebasin": WeightMatching()}, device="cpu",
                  progress=False)
    template = build_model(model)
    for k, p in enumerate(pairs):
        a, b = (r["final"] for r in train_members([p.a, p.b], source, device="cpu", progress=False))
        spec = template.permutation_spec()
        aligned = apply_permutation(spec, weight_matching(spec, a, b, seed=p.seed).perms, b)
        for method, state_b in (("plain", b), ("rebasin", aligned)):
            (c,) = interpolation_curves(template, [(a, state_b)], ALPHAS, (X, y), device="cpu")
            (ours,) = [o for o in out["curves"] if o["pair"] == k and o["method"] == method]
            assert ours["loss"] == c["loss"] and ours["acc"] == c["acc"]  # bit for bit


def test_an_aligner_without_data_and_a_mixed_pair_are_refused():
    model = MLPConfig(in_features=4, width=4, depth=2, out_features=2)
    with pytest.raises(ValueError, match="one architecture"):
        Pair(Member(model, TrainConfig(), 1, 1), Member(MLPConfig(in_features=4, width=6, depth=2, out_features=2),
                                                          TrainConfig(), 2, 2))
    template = build_model(model)
    state = template.state_dict()
    with pytest.raises(ValueError, match="align_data"):
        ActivationMatching().align(template, state, state, seed=0, data=None)


def test_a_batchnorm_initialisation_interpolates_against_its_trained_state():
    """``num_batches_tracked`` differs (0 at init): the interpolated point takes the nearer endpoint's counter."""
    g = torch.Generator().manual_seed(3)
    X, y = torch.randn(64, 3, 8, 8, generator=g), torch.randint(0, 4, (64,), generator=g)
    member = Member(model=ResNet8Config(widths=(4, 8, 8), num_classes=4, norm="batch"),
                    train=TrainConfig(epochs=1, batch_size=32, lr=1e-2), init_seed=1, data_seed=1)
    (res,) = train_members([member], TensorBatches(X, y, 32), device="cpu", progress=False)
    template = build_model(member.model)
    counter = "stem_norm.num_batches_tracked"
    assert res["init"][counter] != res["final"][counter]
    for alpha, expected in ((0.25, res["init"]), (0.75, res["final"])):
        mid = interpolate_state(template, res["init"], res["final"], alpha)
        assert torch.equal(mid[counter], expected[counter])
        torch.testing.assert_close(mid["stem.weight"], torch.lerp(res["init"]["stem.weight"],
                                                                  res["final"]["stem.weight"], alpha))
    curves = interpolation_curves(template, [(res["init"], res["final"])], ALPHAS, (X, y), reset_data=(X, y),
                                  device="cpu")
    assert np.all(np.isfinite(curves[0]["loss"]))
