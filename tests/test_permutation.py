import time

import pytest
import torch

from symlib.architectures import MLP, MLPConfig
from symlib.matching import Matching, matching_objective, weight_matching
from symlib.permutation import apply_permutation, identity_permutation, random_permutation

# figlu_std = 1/sqrt(width): the std the old `figlu_scale=1.0` gave at width 24
SMALL = dict(in_features=30, width=24, depth=4, out_features=5, n_fix=(4, 4, 4, 8), kappa=(1.0, 1.0, 0.5, 0.25),
             figlu_std=24 ** -0.5)


def _mlp(**kw) -> MLP:
    return MLP(MLPConfig(**{**SMALL, **kw}))


def _permuted_outputs(variant: str, seed: int = 0):
    torch.manual_seed(seed)
    model = _mlp(variant=variant, arch_seed=seed).eval()
    spec = model.permutation_spec()
    state = model.state_dict()
    perms = random_permutation(spec, state, seed=seed + 100)
    assert all(not torch.equal(p, torch.arange(len(p))) for p in perms.values())
    x = torch.randn(64, 30)
    with torch.no_grad():
        y0 = model(x)
        model.load_state_dict(apply_permutation(spec, perms, state))
        y1 = model(x)
    return (y0 - y1).abs().max().item()


def test_permuted_standard_mlp_computes_the_same_function():
    assert _permuted_outputs("standard") < 1e-5


@pytest.mark.parametrize("variant", ["w_asym", "sigma_asym"])
def test_permuted_asymmetric_mlp_computes_a_different_function(variant):
    assert _permuted_outputs(variant) > 1e-2


def test_spec_covers_every_trainable_parameter_but_not_the_logit_axis():
    model = _mlp(variant="w_asym")
    spec = model.permutation_spec()
    params = dict(model.named_parameters())
    assert set(params) == set(spec.axes)
    spec.check_covers(model)
    assert spec.axes["layers.3.weight"][0] is None and spec.axes["layers.3.bias"] == (None,)


@pytest.mark.parametrize("trained", [False, True])
def test_weight_matching_recovers_a_planted_permutation(trained):
    torch.manual_seed(1)
    model = _mlp(width=64)
    if trained:
        from symlib.training import TrainConfig, fit, tensor_batches
        X, y = torch.randn(512, 30), torch.randint(0, 5, (512,))
        cfg = TrainConfig(epochs=3, batch_size=64, weight_decay=0.03)  # the old TrainConfig's default decay
        hist = fit(model, tensor_batches(X, y, cfg), cfg, seed=0, device="cpu")
        assert "diverged" not in hist and len(hist["train_loss"]) == 3
    spec = model.permutation_spec()
    a = model.state_dict()
    planted = random_permutation(spec, a, seed=5)
    b = apply_permutation(spec, planted, a)
    found = weight_matching(spec, a, b, seed=0)
    assert isinstance(found, Matching) and set(found.perms) == set(planted)
    aligned = apply_permutation(spec, found.perms, b)
    for name in a:
        assert torch.equal(aligned[name], a[name]), name
    # and the found permutation is the inverse of the planted one
    for p, perm in planted.items():
        assert torch.equal(perm[found.perms[p]], torch.arange(len(perm)))
    # its objective is that of a with itself, the maximum
    ident = identity_permutation(spec, a)
    assert found.objective == pytest.approx(matching_objective(spec, a, a, ident), rel=1e-9)
    assert found.identity_objective == pytest.approx(matching_objective(spec, a, b, ident), rel=1e-9)
    assert found.gain > 0


def test_weight_matching_of_identical_models_is_identity():
    model = _mlp()
    spec = model.permutation_spec()
    s = model.state_dict()
    found = weight_matching(spec, s, s)
    ident = identity_permutation(spec, s)
    assert set(found.perms) == set(ident)
    assert all(torch.equal(found.perms[p], ident[p]) for p in ident)
    assert found.identity_fraction == 1.0 and found.gain == 0.0


def test_weight_matching_recovers_planted_permutation_at_paper_size():
    """784-512-512-512-10. Timing against the 100 ms budget lives in benchmarks/weight_matching.py;
    the loose bound here only catches a pathological regression (e.g. a sweep loop that never converges)."""
    torch.manual_seed(0)
    model = MLP(MLPConfig(width=512))
    spec = model.permutation_spec()
    a = model.state_dict()
    b = apply_permutation(spec, random_permutation(spec, a, seed=1), a)
    t0 = time.perf_counter()
    found = weight_matching(spec, a, b)
    dt = time.perf_counter() - t0
    aligned = apply_permutation(spec, found.perms, b)
    assert all(torch.equal(aligned[n], a[n]) for n in a)
    assert dt < 5.0, f"weight matching took {dt:.1f} s"


# --------------------------------------------------------------------------- BatchNorm statistics (ResNet8, norm="batch")

def _batchnorm_resnet8(seed: int):
    """A small ResNet8 with BatchNorm whose running statistics are non-trivial (a few train-mode forward passes)."""
    from symlib.architectures import ResNet8, ResNet8Config
    torch.manual_seed(seed)
    model = ResNet8(ResNet8Config(widths=(6, 8, 10), norm="batch"))
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = 0.5
    with torch.no_grad():
        model.train()
        for _ in range(3):
            model(torch.randn(8, 3, 8, 8) * 3 + 1)
    return model.eval()


def test_resnet8_batchnorm_spec_marks_statistics_and_they_are_not_matched():
    model = _batchnorm_resnet8(0)
    spec = model.permutation_spec()
    spec.check_covers(model)
    buffers = {n for n, _ in model.named_buffers() if n.endswith(("running_mean", "running_var"))}
    assert buffers and spec.statistics == buffers
    assert not set(spec.parameters_only().axes) & buffers
    a = model.state_dict()
    # a planted permutation: recovered, the statistics permuted with their channels, the same function
    planted = random_permutation(spec, a, seed=3)
    b = apply_permutation(spec, planted, a)
    name = "stage1.norm1"
    assert torch.equal(b[f"{name}.running_mean"], a[f"{name}.running_mean"][planted["H1"]])
    x = torch.randn(4, 3, 8, 8)
    other = _batchnorm_resnet8(1)
    with torch.no_grad():
        y_a = model(x)
        other.load_state_dict(b)
        assert (other(x) - y_a).abs().max().item() < 1e-4
    found = weight_matching(spec, a, b, seed=0)
    aligned = apply_permutation(spec, found.perms, b)
    assert all(torch.equal(aligned[n], a[n]) for n in a)
    # an unrelated network: listing the statistics changes neither the permutations nor the objectives
    c = _batchnorm_resnet8(2).state_dict()
    for kw in (dict(seed=0), dict(seed=1, init="random", n_restarts=2)):
        with_stats = weight_matching(spec, a, c, **kw)
        without = weight_matching(spec.parameters_only(), a, c, **kw)
        assert all(torch.equal(with_stats.perms[p], without.perms[p]) for p in without.perms)
        assert with_stats.restart_objectives == without.restart_objectives
        assert with_stats.identity_objective == without.identity_objective
