"""Theory-Init: the construction computes what it should, matching sees its symmetry breaking, the formal statements
hold (and are tight where the chapter says), the chapter validates its parameters, and its ``ci`` preset runs."""
import copy
import math

import numpy as np
import pytest
import torch

from symlib import params
from symlib.architectures import MLPConfig, SmallCNNConfig, build_model
from symlib.claims import VERDICTS
from symlib.init import arbitrary_rows, curvature_knots, dct_filters, identity_kernel, knot_rows
from symlib.matching import weight_matching
from symlib.seeding import seeded
from symlib.theory import theory_init as th


def _theory_mlp(rows, seed: int, delta_std: float = 0.0, depth: int = 4, bias: bool = True):
    cfg = MLPConfig(in_features=rows.shape[1] - int(bias), width=rows.shape[0], depth=depth, out_features=3,
                    activation="relu", norm=False, bias=bias, init="theory", first_rows=tuple(map(tuple, rows)),
                    delta_std=delta_std, out_std=0.1)
    return seeded(lambda: build_model(cfg), seed)


# ------------------------------------------------------------------------------------------------ the construction

@pytest.mark.parametrize("bias", [True, False])
def test_with_zero_delta_the_network_is_output_layer_of_relu_rows(bias):
    rows = arbitrary_rows(12, 5, seed=3, bias=bias)
    model = _theory_mlp(rows, seed=1, bias=bias).double()
    x = torch.randn(40, 5, dtype=torch.float64)
    W = model.layers[0].weight  # the rows, in float32 (the network's dtype) and made float64
    b = model.layers[0].bias if bias else torch.zeros(12, dtype=torch.float64)
    assert torch.allclose(W, torch.tensor(rows[:, :5]), atol=1e-6)
    if bias:
        assert torch.allclose(b, torch.tensor(rows[:, 5]), atol=1e-6)
    hidden = torch.relu(x @ W.T + b)
    expected = hidden @ model.layers[-1].weight.T + (model.layers[-1].bias if bias else 0)
    assert torch.allclose(model(x), expected, atol=1e-12, rtol=0)
    for layer in model.layers[1:-1]:  # the middle block is exactly the identity
        assert torch.equal(layer.weight, torch.eye(12, dtype=torch.float64))


def test_theory_init_networks_share_their_rows_and_differ_elsewhere():
    rows = knot_rows(curvature_knots(np.sin, -1, 1, 16))
    a, b = _theory_mlp(rows, seed=1, delta_std=0.02), _theory_mlp(rows, seed=2, delta_std=0.02)
    assert torch.equal(a.layers[0].weight, b.layers[0].weight) and torch.equal(a.layers[0].bias, b.layers[0].bias)
    assert not torch.equal(a.layers[1].weight, b.layers[1].weight)
    assert not torch.equal(a.layers[-1].weight, b.layers[-1].weight)
    assert torch.all(a.layers[1].bias == 0) and torch.all(a.layers[-1].bias == 0)
    delta = a.layers[1].weight - torch.eye(16)
    assert 0.01 < delta.std().item() < 0.03  # Δ ~ N(0, 0.02²)


def test_he_init_draws_he_weights_and_theory_config_is_validated():
    model = seeded(lambda: build_model(MLPConfig(in_features=400, width=400, depth=3, activation="relu", norm=False,
                                                 init="he")), 0)
    assert abs(model.layers[1].weight.std().item() - math.sqrt(2 / 400)) < 0.002
    rows = tuple(map(tuple, arbitrary_rows(8, 3, seed=0)))
    with pytest.raises(ValueError, match="relu"):
        MLPConfig(in_features=3, width=8, depth=3, init="theory", first_rows=rows, out_std=0.1)
    with pytest.raises(ValueError, match="first_rows must hold"):
        MLPConfig(in_features=3, width=9, depth=3, activation="relu", norm=False, init="theory", first_rows=rows,
                  out_std=0.1)
    with pytest.raises(ValueError, match="unknown init"):
        MLPConfig(init="orthogonal")
    with pytest.raises(ValueError, match="only"):
        MLPConfig(first_rows=rows)


def test_cnn_theory_init_is_identity_on_the_first_layers_features_at_zero_delta():
    cfg = SmallCNNConfig(in_channels=3, channels=12, depth=3, init="theory", delta_std=0.0, out_std=0.1)
    model = seeded(lambda: build_model(cfg), 0).double()
    x = torch.randn(4, 3, 16, 16, dtype=torch.float64)
    feat = torch.relu(model.convs[0](x))
    assert torch.allclose(model(x), model.head(feat.mean(dim=(2, 3))), atol=1e-12)
    f = dct_filters(12, 3, 5).reshape(12, -1)
    assert np.allclose(np.linalg.norm(f, axis=1), math.sqrt(2))
    assert np.linalg.matrix_rank(f) == 12  # distinct, linearly independent filters
    assert torch.equal(model.convs[0].weight, torch.from_numpy(dct_filters(12, 3, 5)).double().float().double())


def test_identity_kernel_refuses_non_square_layers():
    assert torch.equal(identity_kernel(torch.zeros(3, 3)), torch.eye(3))
    with pytest.raises(ValueError):
        identity_kernel(torch.zeros(3, 4))
    with pytest.raises(ValueError):
        identity_kernel(torch.zeros(3, 3, 2, 2))


def test_curvature_knots_crowd_where_the_law_bends():
    knots = curvature_knots(lambda x: np.exp(4 * x), -1, 1, 40)
    assert np.all(np.diff(knots) > 0) and knots[0] > -1 and knots[-1] < 1
    assert (knots > 0).sum() > 2 * (knots < 0).sum()  # f'' grows like e^{4x}: most knots on the right
    rows = knot_rows(knots)
    u = knots[5]
    assert rows[5, 0] * u + rows[5, 1] == pytest.approx(0.0)  # the hinge sits at its knot


# ------------------------------------------------------------------------------------------------ matching

def test_matching_two_theory_init_networks_returns_the_identity_and_he_networks_do_not():
    from symlib.chapters.theory_init.compute import match
    rows = arbitrary_rows(24, 6, seed=5)
    a, b = _theory_mlp(rows, seed=1, delta_std=0.05), _theory_mlp(rows, seed=2, delta_std=0.05)
    m = match(a, a.state_dict(), b.state_dict(), seed=0, n_restarts=4, max_iter=100)
    assert m["best_identity_fraction"] == 1.0 and m["random_relative_gain"] <= 1e-12
    he = MLPConfig(in_features=6, width=24, depth=4, out_features=3, activation="relu", norm=False, init="he")
    ha, hb = seeded(lambda: build_model(he), 1), seeded(lambda: build_model(he), 2)
    m = match(ha, ha.state_dict(), hb.state_dict(), seed=0, n_restarts=4, max_iter=100)
    assert m["best_identity_fraction"] < 0.3 and m["best_relative_gain"] > 0
    # a planted permutation of a He network is found from random starts: matching works at all
    perm = {p: torch.randperm(24, generator=torch.Generator().manual_seed(i)) for i, p in enumerate(["P0", "P1", "P2"])}
    from symlib.permutation import apply_permutation
    planted = apply_permutation(ha.permutation_spec(), perm, ha.state_dict())
    found = weight_matching(ha.permutation_spec(), ha.state_dict(), planted, seed=0, init="random", n_restarts=4)
    aligned = apply_permutation(ha.permutation_spec(), found.perms, planted)
    assert all(torch.allclose(aligned[k], v) for k, v in ha.state_dict().items())


# ------------------------------------------------------------------------------------------------ the theory

@pytest.fixture
def rng():
    return np.random.default_rng(0)


def test_identity_at_zero_delta_and_the_l2_bound_holds(rng):
    h = np.maximum(rng.normal(size=(20, 30)), 0)
    out, _ = th.middle_block(h, [np.zeros((30, 30))] * 3)
    assert np.array_equal(out, h)
    for c in (0.01, 0.1, 0.4):
        deltas = th.gaussian_deltas(30, 4, c / math.sqrt(30), rng)
        out, _ = th.middle_block(h, deltas)
        err = np.linalg.norm(out - h, axis=1) / np.linalg.norm(h, axis=1)
        assert err.max() <= th.l2_bound(deltas) + 1e-12


@pytest.mark.parametrize("depth", [1, 3, 6])
def test_the_l2_bound_is_attained_by_the_rank_one_example(depth):
    h0, deltas = th.tight_example(25, depth, 0.3, seed=1)
    out, masks = th.middle_block(h0, deltas)
    assert all(m.all() for m in masks)
    assert np.linalg.norm(out - h0) / np.linalg.norm(h0) == pytest.approx(th.l2_bound(deltas), rel=1e-12)


def test_one_layer_equality_without_clipping_and_strict_with_it(rng):
    d = th.gaussian_deltas(30, 1, 0.02, rng)
    h = 1 + np.abs(rng.normal(size=(10, 30)))
    out, masks = th.middle_block(h, d)
    assert masks[0].all()
    assert np.allclose(np.linalg.norm(out - h, axis=1), np.linalg.norm(h @ d[0].T, axis=1), rtol=1e-12)
    h = np.maximum(rng.normal(size=(10, 30)), 0)  # zeros get clipped: the inequality is strict
    out, masks = th.middle_block(h, d)
    assert not masks[0].all()
    assert np.all(np.linalg.norm(out - h, axis=1) < np.linalg.norm(h @ d[0].T, axis=1))


def test_jacobian_is_the_derivative_and_within_its_bounds(rng):
    deltas = th.gaussian_deltas(12, 3, 0.05, rng)
    h = 1 + np.abs(rng.normal(size=(1, 12)))
    J = th.jacobian(h, deltas)[0]
    eps = 1e-6
    num = np.stack([(th.middle_block(h + eps * e, deltas)[0] - th.middle_block(h - eps * e, deltas)[0])[0] / (2 * eps)
                    for e in np.eye(12)], axis=1)
    assert np.allclose(J, num, atol=1e-8)
    sv = np.linalg.svd(J, compute_uv=False)
    s = th.spectral_norms(deltas)
    assert np.prod(1 - s) <= sv.min() and sv.max() <= np.prod(1 + s)


def test_relu_moments_match_monte_carlo_and_the_expected_error_bound(rng):
    h = np.array([0.0, 0.1, 0.5, 2.0])
    tau = 0.3
    g = rng.normal(size=(400_000, 1))
    post = np.maximum(h + tau * g, 0)
    mean, sq = th.relu_moments(h, tau)
    assert np.allclose(post.mean(0), mean, atol=4 * post.std(0) / math.sqrt(len(g)))
    assert np.allclose(((post - h) ** 2).mean(0), sq, rtol=0.02)
    assert np.all(sq <= tau ** 2 + 1e-15)
    assert th.relu_moments(np.array([50.0]), 0.3)[1][0] == pytest.approx(0.09, rel=1e-9)  # tight far from 0


# ------------------------------------------------------------------------------------------------ the chapter

def test_configure_rejects_bad_parameters():
    from symlib.chapters import theory_init as ti
    for bad, msg in (({"tasks": ["pendulum", "nope"]}, "tasks"), ({"tasks": ["pendulum"]}, "at least 2"),
                     ({"n_pairs": 1}, "n_pairs"), ({"depth": 2}, "depth"), ({"delta_scale": 0.7}, "delta_scale"),
                     ({"cnn_channels": 30}, "cnn_channels"), ({"cnn_datasets": ["SVHN"]}, "cnn_datasets"),
                     ({"width": "wide"}, "width"), ({"colour": 1}, "unknown parameter")):
        with pytest.raises(params.ParameterError, match=msg):
            ti.configure({"scale": "ci", **bad})


@pytest.fixture(scope="module")
def ci_record(tmp_path_factory):
    import os
    from symlib.chapters import theory_init as ti
    old = {k: os.environ.get(k) for k in ("SYMLIB_RESULTS", "SYMLIB_MEMBERS")}
    os.environ["SYMLIB_RESULTS"] = str(tmp_path_factory.mktemp("results"))
    os.environ["SYMLIB_MEMBERS"] = "off"
    try:
        yield ti.load_or_run(ti.configure({"scale": "ci"}), recompute=True, device="cpu")
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_ci_preset_runs_end_to_end_and_passes_its_check(ci_record, data_root):
    from symlib.chapters import theory_init as ti
    ti.check(ci_record)
    res = ci_record["result"]
    assert {(s["task"], s["arm"]) for s in res["mlp"]} == {(t, a) for t in ("pendulum", "lennard_jones")
                                                          for a in ti.ARMS}
    for s in res["mlp"]:
        if s["arm"] != "he":  # deterministic rows: the pair starts close, and matching returns the identity
            assert all(p["init_distance"] < 0.1 for p in s["pairs"])
    for c in ti.CLAIMS:
        assert c.judge(ci_record).verdict in VERDICTS
    assert ti.claim_text(ci_record, "theory_init.theory").startswith("**Indices")


def test_check_raises_when_the_training_bar_is_not_met(ci_record, data_root):
    from symlib.chapters import theory_init as ti
    record = copy.deepcopy(ci_record)
    record["manifest"]["config"]["r2_bar"] = 1.0
    with pytest.raises(ValueError, match="training-quality bar not met"):
        ti.check(record)
    record = copy.deepcopy(ci_record)
    record["manifest"]["config"]["cnn_acc_bar"] = [0.999, 0.999]
    with pytest.raises(ValueError, match="CNN"):
        ti.check(record)
    record = copy.deepcopy(ci_record)
    record["result"]["mlp"][0]["pairs"].pop()
    with pytest.raises(ValueError, match="pairs"):
        ti.check(record)


def test_report_tables_and_figures_on_the_ci_record(ci_record, data_root):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from symlib.chapters import theory_init as ti
    for table in (ti.distance_table, ti.matching_table, ti.accuracy_table, ti.cnn_table, ti.theory_table):
        df = table(ci_record)
        assert len(df) and not df.isna().any().any()
    assert ti.theory_summary(ci_record)["ok"]
    for fig in (ti.figure_distances, ti.figure_matching, ti.figure_accuracy, ti.figure_jacobian):
        plt.close(fig(ci_record))
