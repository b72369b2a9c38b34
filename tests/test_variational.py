"""symlib.variational: the diagonal-plus-low-rank Gaussian posterior against torch.distributions, its sampling,
KL and predictive, W-Asym fixed entries, determinism, and populations trained equal to members trained alone; the
Bayesian ResNet20 (shapes, samples, BatchNorm over samples, fixed entries under ELBO training, KL, counts)."""
import copy
import math

import pytest
import torch
from torch import nn
from torch.distributions import LowRankMultivariateNormal, Normal, kl_divergence
from torch.func import jacrev

from symlib import variational as V
from symlib.architectures import MLPConfig, build_model
from symlib.architectures.resnet20 import ResNet20Config
from symlib.batches import TensorBatches
from symlib.evaluation import evaluate
from symlib.layers import WAsymConv2d, WAsymLinear, trainable_entries, trainable_parameters
from symlib.seeding import seeded, torch_generator
from symlib.training import Member, TrainConfig, build_member, train, train_members
from symlib.variants import LayerFactory

LAYERS = {
    "linear": lambda p: V.VariationalLinear(5, 3, p),
    "linear_w_asym": lambda p: V.VariationalLinear(5, 3, p, n_fix=2, kappa=0.5, seed=3),
    "linear_no_bias_rank0": lambda p: V.VariationalLinear(4, 3, V.Posterior(rank=0, learn_diag=True), bias=False),
    "conv": lambda p: V.VariationalConv2d(2, 3, 2, p),
    "conv_w_asym_filters": lambda p: V.VariationalConv2d(3, 3, 2, p, n_fix=1, fix="filters", kappa=2.0, seed=5),
}


def random_layer(kind: str, seed: int = 0) -> nn.Module:
    """A float64 layer with every posterior tensor random, garbage included at W-Asym fixed entries."""
    posterior = V.Posterior(rank=3, learn_diag=True, prior_precision=0.5)
    layer = seeded(lambda: LAYERS[kind](posterior), seed).double()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in layer.named_parameters():
            t.copy_(torch.randn(t.shape, generator=g, dtype=t.dtype) * (0.5 if "log_var" not in name else 1.0))
    return layer


def posterior_of(layer: nn.Module):
    """``(q as LowRankMultivariateNormal over the trainable coordinates, keep)``."""
    loc, factor, log_var, keep = V.flat_posterior(V.model_state(layer))
    keep = torch.ones_like(loc, dtype=torch.bool) if keep is None else keep
    factor = factor if factor.shape[1] else torch.zeros(len(loc), 1, dtype=loc.dtype)  # torch needs rank >= 1
    return LowRankMultivariateNormal(loc[keep], factor[keep], log_var[keep].exp()), keep


def flat_sample(layer: nn.Module, eps: torch.Tensor) -> torch.Tensor:
    w, b = layer.sample(eps)
    return torch.cat([w.reshape(-1)] + ([b] if b is not None else []))


@pytest.mark.parametrize("kind", list(LAYERS))
def test_log_density_kl_and_sampling_covariance_match_torch(kind):
    layer = random_layer(kind)
    q, keep = posterior_of(layer)
    theta = q.sample((6,))
    loc, factor, log_var, _ = V.flat_posterior(V.model_state(layer))
    torch.testing.assert_close(V.log_prob(theta, loc[keep], factor[keep], log_var[keep]), q.log_prob(theta),
                               rtol=0, atol=1e-9)
    prior = LowRankMultivariateNormal(torch.zeros_like(q.loc), torch.zeros(len(q.loc), 1, dtype=q.loc.dtype),
                                      torch.full_like(q.loc, layer.prior_log_var.exp().item()))
    torch.testing.assert_close(V.kl(V.model_state(layer)), kl_divergence(q, prior), rtol=1e-10, atol=1e-9)
    # θ(ε) is affine in ε: its Jacobian A gives the sampling covariance A Aᵀ exactly, and θ(0) the mean
    eps0 = torch.zeros(layer.noise_size, dtype=torch.float64)
    A = jacrev(lambda e: flat_sample(layer, e))(eps0)
    torch.testing.assert_close(A[keep] @ A[keep].T, q.covariance_matrix, rtol=0, atol=1e-12)
    torch.testing.assert_close(flat_sample(layer, eps0)[keep], q.loc, rtol=0, atol=0)
    if hasattr(layer, "mask"):  # fixed entries: exactly F, whatever the noise; outside the posterior
        assert (A[~keep] == 0).all() and (~keep).sum() == (~layer.mask).sum()
        w, _ = layer.sample(torch.randn(layer.noise_size, dtype=torch.float64))
        assert torch.equal(w[~layer.mask], layer.fixed[~layer.mask])


def test_sampling_and_monte_carlo_kl_agree_with_the_analytic_posterior():
    layer = random_layer("linear_w_asym", seed=1)
    q, keep = posterior_of(layer)
    eps = torch.randn(20000, layer.noise_size, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    theta = torch.func.vmap(lambda e: flat_sample(layer, e))(eps)[:, keep]
    n, cov = len(theta), q.covariance_matrix
    se = ((cov.diagonal()[:, None] * cov.diagonal()[None] + cov ** 2) / n).sqrt()
    assert ((torch.cov(theta.T) - cov).abs() < 5 * se).all()
    assert ((theta.mean(0) - q.loc).abs() < 5 * (cov.diagonal() / n).sqrt()).all()
    prior = Normal(0.0, (0.5 * layer.prior_log_var).exp())
    log_ratio = q.log_prob(theta) - prior.log_prob(theta).sum(-1)
    analytic = V.kl(V.model_state(layer))
    assert abs(log_ratio.mean() - analytic) < 4 * log_ratio.std() / math.sqrt(n)


def tiny_config(variant="w_asym", arch_seed=0, **posterior) -> MLPConfig:
    return MLPConfig(in_features=6, width=8, depth=3, out_features=3, variant=variant, n_fix=(2, 2, 2),
                     kappa=(0.5,) * 3, activation="relu", arch_seed=arch_seed,
                     posterior=V.Posterior(rank=2, prior_precision=1.0, **posterior))


def tiny_data(n=40):
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, 6, generator=g)
    return X, (X[:, 0] > 0).long() + (X[:, 1] > 0).long()


def test_fixed_entries_are_the_w_asym_constants_get_zero_gradient_and_never_move():
    cfg = tiny_config(learn_diag=True)
    model = build_member(Member(cfg, TrainConfig(), init_seed=0, data_seed=0))
    deterministic = build_model(MLPConfig(**{f: getattr(cfg, f) for f in ("in_features", "width", "depth",
                                          "out_features", "variant", "n_fix", "kappa", "activation", "arch_seed")}))
    for bayes, plain in zip(model.layers, deterministic.layers):  # the one mask mechanism, same (seed, name)
        assert isinstance(plain, WAsymLinear) and torch.equal(bayes.mask, plain.mask)
        assert torch.equal(bayes.fixed, plain.fixed)
    X, y = tiny_data()
    objective = V.elbo(model, n_train=len(X), samples=2)
    noise = objective.extra_inputs(len(X), torch_generator(0, "test"))
    objective.loss(model(X, *noise), y, {}, V.model_state(model)).backward()
    for layer in model.layers:
        for name in ("weight", "weight_log_var"):
            grad = getattr(layer, name).grad
            assert (grad[~layer.mask] == 0).all() and (grad[layer.mask] != 0).any()
        assert (layer.weight_factor.grad[:, ~layer.mask] == 0).all()
    cfg_t = TrainConfig(epochs=2, batch_size=20, lr=1e-2, optimizer="adam")
    member = Member(cfg, cfg_t, init_seed=0, data_seed=1)
    result = train_members([member], TensorBatches(X, y, 20), objective, device="cpu", workers=1, store=None,
                           progress=False)[0]
    init, final = result["init"], result["final"]
    for i, layer in enumerate(model.layers):
        fixed = ~layer.mask
        for name in ("weight", "weight_log_var"):
            assert torch.equal(final[f"layers.{i}.{name}"][fixed], init[f"layers.{i}.{name}"][fixed])
            assert not torch.equal(final[f"layers.{i}.{name}"][~fixed], init[f"layers.{i}.{name}"][~fixed])
        assert torch.equal(final[f"layers.{i}.weight_factor"][:, fixed], init[f"layers.{i}.weight_factor"][:, fixed])
        assert (init[f"layers.{i}.weight"][fixed] == 0).all()


def test_same_seed_same_samples():
    cfg, X = tiny_config(), tiny_data()[0]
    a, b = (build_member(Member(cfg, TrainConfig(), init_seed=3, data_seed=0)) for _ in range(2))
    assert all(torch.equal(a.state_dict()[k], t) for k, t in b.state_dict().items())
    objective = V.elbo(a, n_train=100, samples=3)
    na, nb, nc = (objective.extra_inputs(len(X), torch_generator(s, "data_order")) for s in (7, 7, 8))
    assert all(torch.equal(u, v) for u, v in zip(na, nb)) and not torch.equal(na[0], nc[0])
    assert [tuple(t.shape) for t in na] == [(3, n) for n in V.noise_sizes(a)]
    with torch.no_grad():
        out = a(X, *na)
        assert torch.equal(out, b(X, *nb)) and not torch.equal(out, a(X, *nc))
        assert out.shape == (3, len(X), 3) and not torch.equal(out[0], out[1])  # samples differ


def test_population_trains_equal_to_members_alone():
    X, y = tiny_data()
    cfg_t = TrainConfig(epochs=2, batch_size=20, lr=1e-2, optimizer="adam")
    members = [Member(tiny_config(arch_seed=s, learn_diag=True), cfg_t, init_seed=s, data_seed=10 + s)
               for s in (0, 1)]  # different masks: the KL reads each member's own state
    objective = V.elbo(build_member(members[0]), n_train=len(X), samples=2)
    together = train(members, TensorBatches(X, y, 20), objective, device="cpu", progress=False)
    alone = train_members(members, TensorBatches(X, y, 20), objective, device="cpu", workers=1, store=None,
                          progress=False)
    for t, a in zip(together, alone):
        assert t["final"].keys() == a["final"].keys()
        for k in t["final"]:
            torch.testing.assert_close(t["final"][k], a["final"][k], rtol=1e-5, atol=1e-6)
        assert t["history"]["train_loss"] == pytest.approx(a["history"]["train_loss"], rel=1e-5)
    model = build_member(members[0])
    model.load_state_dict(together[0]["final"])
    test = V.elbo(model, n_train=len(X), samples=5)
    res = evaluate(model, X, y, objective=test, device="cpu")  # (ECE would import torchmetrics: seconds)
    with torch.no_grad():
        outputs = model(X, *test.extra_inputs(len(X), torch_generator(0, "evaluation noise")))
    assert res["acc"] == (V.predictive(outputs).argmax(-1) == y).double().mean().item()
    assert res["loss"] == pytest.approx(test.loss(outputs, y, {}, V.model_state(model)).item(), rel=1e-6)


def test_predictive_averages_probabilities():
    logits = torch.tensor([[[4.0, 0.0]], [[-4.0, 0.2]]], dtype=torch.float64)  # (S=2, B=1, C=2)
    p = V.predictive(logits)
    torch.testing.assert_close(p, (logits.softmax(-1)[0] + logits.softmax(-1)[1]) / 2)
    assert not torch.allclose(p, logits.mean(0).softmax(-1))
    y = torch.tensor([1])
    torch.testing.assert_close(V.predictive_nll(logits, y), -p[0, 1].log())


@pytest.mark.parametrize("variant", ["standard", "w_asym"])
def test_table2_bayesian_mlp_is_a_config(variant):
    for depth in (8, 16):
        cfg = MLPConfig(in_features=3072, width=256, depth=depth, activation="relu", variant=variant,
                        n_fix=(8,) * depth, kappa=(0.5,) * depth, posterior=V.MLP_POSTERIOR)
        model = build_model(cfg)
        assert len(V.variational_layers(model)) == depth
        assert all(hasattr(m, "mask") == (variant == "w_asym") for _, m in V.variational_layers(model))
        # the code's prior scaling: s² = 1 / (λ · out_features) for a linear layer
        assert model.layers[-1].prior_log_var.item() == pytest.approx(-math.log(0.01 * 10))
        assert model.layers[1].prior_log_var.item() == pytest.approx(-math.log(0.01 * 256))
    noise = V.Noise.of(model, samples=2)(5)
    assert [s[1] for s in noise] == [3072 * 256 + 256 + 4] + [256 * 256 + 256 + 4] * 14 + [256 * 10 + 10 + 4]
    with pytest.raises(ValueError, match="one noise tensor"):
        model(torch.randn(2, 3072))


def test_factory_default_is_unchanged_and_posterior_makes_variational_layers():
    assert type(LayerFactory("w_asym").linear("a", 6, 4, n_fix=2)) is WAsymLinear
    assert type(LayerFactory("w_asym").conv("a", 2, 4, 3, n_fix=2)) is WAsymConv2d
    assert type(LayerFactory("standard").linear("a", 6, 4, n_fix=2)) is nn.Linear
    bayes = LayerFactory("w_asym", posterior=V.RESNET_POSTERIOR)
    conv = bayes.conv("a", 2, 4, 3, padding=1, n_fix=2, kappa=2.0)
    assert isinstance(conv, V.VariationalConv2d) and torch.equal(conv.mask, LayerFactory("w_asym").conv(
        "a", 2, 4, 3, padding=1, n_fix=2, kappa=2.0).mask)
    assert conv(torch.randn(1, 2, 5, 5), torch.randn(conv.noise_size)).shape == (1, 4, 5, 5)
    assert not hasattr(LayerFactory("standard", posterior=V.MLP_POSTERIOR).linear("a", 6, 4, n_fix=2), "mask")


@pytest.mark.parametrize("kind", list(LAYERS))
def test_a_layer_applies_s_samples_at_once_as_one_at_a_time(kind):
    """Noise ``(S, noise_size)`` with an input ``(S, ...)``: sample ``s`` on ``x[s]`` (a grouped convolution)."""
    layer = random_layer(kind)
    conv = isinstance(layer, nn.Conv2d)
    x = torch.randn(3, 2, *((layer.in_channels, 6, 6) if conv else (layer.in_features,)), dtype=torch.float64)
    eps = torch.randn(3, layer.noise_size, dtype=torch.float64)
    out = layer(x, eps)
    torch.testing.assert_close(out, torch.stack([layer(x[s], eps[s]) for s in range(3)]), rtol=1e-12, atol=1e-12)
    w, b = layer.sample(eps)
    assert torch.equal(w[1], layer.sample(eps[1])[0]) and (b is None or torch.equal(b[1], layer.sample(eps[1])[1]))
    assert torch.equal(layer(x[:1], eps[:1])[0], layer(x[0], eps[0]))
    with pytest.raises(ValueError, match="samples first"):
        layer(x[:2], eps)


# ------------------------------------------------------------------------------------------- Bayesian ResNet20

def bayes_resnet(variant="w_asym", norm="layer", learn_diag=False, **fields) -> ResNet20Config:
    return ResNet20Config(variant=variant, norm=norm, posterior=V.Posterior(rank=2, log_var=-12.0,
                          prior_precision=1.0, learn_diag=learn_diag), **fields)


def tiny_images(n=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 8, 8, generator=g), torch.randint(0, 10, (n,), generator=g)


@pytest.mark.parametrize("norm", ["layer", "batch"])
@pytest.mark.parametrize("variant", ["standard", "sigma_asym", "w_asym"])
def test_bayesian_resnet20_forward_shapes_and_samples(variant, norm):
    model = build_member(Member(bayes_resnet(variant, norm), TrainConfig(), init_seed=0, data_seed=0)).double()
    layers = V.variational_layers(model)
    assert [n for n, _ in layers][:4] == ["stem", "stage1.0.conv1", "stage1.0.conv2", "stage1.1.conv1"]
    assert len(layers) == 1 + 2 * 9 + 2 + 1 and layers[-1][0] == "head"  # stem, block convs, shortcuts, head
    assert all(hasattr(m, "mask") == (variant == "w_asym") for _, m in layers)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.modules()) == (21 if norm == "batch" else 0)
    X = tiny_images(3)[0].double()
    noise = [torch.randn(4, n, generator=torch.Generator().manual_seed(i), dtype=torch.float64)
             for i, n in enumerate(V.noise_sizes(model))]
    with torch.no_grad():
        out = model(X, *noise)
        assert out.shape == (4, 3, 10) and torch.isfinite(out).all()
        # samples are independent once norms use no batch statistics (LayerNorm; BatchNorm in eval mode): sample s
        # alone gives the same logits; BatchNorm in training pools its statistics over all S·B examples instead
        for mode in ("eval",) + (("train",) if norm == "layer" else ()):
            getattr(model, mode)()
            out = model(X, *noise)
            for s in (0, 3):
                torch.testing.assert_close(model(X, *[n[s:s + 1] for n in noise])[0], out[s], rtol=1e-9, atol=1e-9)
    with pytest.raises(ValueError, match="one noise tensor"):
        model(X)
    with pytest.raises(ValueError, match="takes no noise"):
        build_model(ResNet20Config(variant=variant, norm=norm)).double()(X, *noise)
    with pytest.raises(NotImplementedError):
        model.permutation_spec()


def test_bayesian_resnet20_batchnorm_folds_samples_into_the_batch():
    """Training-mode BatchNorm normalises over the S·B examples of a step, one running-statistics update."""
    model = build_member(Member(bayes_resnet("standard", "batch"), TrainConfig(), init_seed=0, data_seed=0)).train()
    X = tiny_images(3)[0]
    noise = [torch.randn(2, n) for n in V.noise_sizes(model)]
    with torch.no_grad():
        h = model.stem(X.expand(2, *X.shape), noise[0])
        stem_norm = copy.deepcopy(model.stem_norm)
        model(X, *noise)
    torch.testing.assert_close(model.stem_norm.running_mean, 0.9 * stem_norm.running_mean
                               + 0.1 * h.mean(dim=(0, 1, 3, 4)))
    assert model.stem_norm.num_batches_tracked.item() == 1


def test_bayesian_resnet20_same_seed_same_outputs():
    cfg, X = bayes_resnet(norm="batch"), tiny_images(3)[0]
    a, b = (build_member(Member(cfg, TrainConfig(), init_seed=3, data_seed=0)) for _ in range(2))
    assert a.state_dict().keys() == b.state_dict().keys()
    assert all(torch.equal(a.state_dict()[k], t) for k, t in b.state_dict().items())
    c = build_member(Member(cfg, TrainConfig(), init_seed=4, data_seed=0))
    assert not torch.equal(a.stage1[0].conv1.weight, c.stage1[0].conv1.weight)
    assert torch.equal(a.stage1[0].conv1.mask, c.stage1[0].conv1.mask)  # the architecture: arch_seed, not init_seed
    objective = V.elbo(a, n_train=100, samples=2)
    na, nb, nc = (objective.extra_inputs(len(X), torch_generator(s, "data_order")) for s in (7, 7, 8))
    with torch.no_grad():
        out = a.eval()(X, *na)
        assert torch.equal(out, b.eval()(X, *nb)) and not torch.equal(out, a(X, *nc))
        assert not torch.equal(out[0], out[1])


def test_bayesian_resnet20_fixed_entries_never_move_under_elbo_training():
    """ResNet20-BN, W-Asym, learned diagonal: two ELBO steps through train_members move every trainable posterior
    tensor and never a fixed entry (means, log-variances, factors)."""
    cfg = bayes_resnet("w_asym", "batch", learn_diag=True)
    model = build_member(Member(cfg, TrainConfig(), init_seed=0, data_seed=0))
    X, y = tiny_images(16)
    objective = V.elbo(model, n_train=len(X), samples=2)
    member = Member(cfg, TrainConfig(epochs=1, batch_size=8, lr=1e-3, optimizer="adam"), init_seed=0, data_seed=1)
    (result,) = train_members([member], TensorBatches(X, y, 8), objective, device="cpu", workers=1, store=None,
                              progress=False)
    init, final = result["init"], result["final"]
    assert not result["diverged"] and len(result["history"]["train_loss"]) == 1
    for name, layer in V.variational_layers(model):
        fixed = ~layer.mask
        assert fixed.any()
        for p in ("weight", "weight_log_var", "weight_factor"):
            a, b = init[f"{name}.{p}"], final[f"{name}.{p}"]
            a, b = a.reshape(-1, fixed.numel())[:, fixed.flatten()], b.reshape(-1, fixed.numel())[:, fixed.flatten()]
            assert torch.equal(a, b), (name, p)
        moved = final[f"{name}.weight"][layer.mask] != init[f"{name}.weight"][layer.mask]
        assert moved.any(), name
        assert (final[f"{name}.weight_log_var"][layer.mask] != init[f"{name}.weight_log_var"][layer.mask]).any()
    assert not torch.equal(final["stem_norm.running_mean"], init["stem_norm.running_mean"])


def test_bayesian_resnet20_kl_is_the_sum_of_its_layers():
    model = build_member(Member(bayes_resnet("w_asym", learn_diag=True), TrainConfig(), init_seed=0,
                                data_seed=0)).double()
    with torch.no_grad():  # away from the initial posterior, so every term of the KL matters
        for name, p in model.named_parameters():
            p.add_(torch.randn_like(p) * 0.1)
    total = V.kl(V.model_state(model))
    parts = [V.kl(V.model_state(layer)) for _, layer in V.variational_layers(model)]
    assert len(parts) == 22 and all(p > 0 for p in parts)
    torch.testing.assert_close(total, torch.stack(parts).sum(), rtol=1e-12, atol=0)
    # a conv's ELRG-VI prior scaling: s² = 1 / (λ · input channels)
    assert model.stage2[0].conv1.prior_log_var.item() == pytest.approx(-math.log(16))


@pytest.mark.parametrize("variant", ["standard", "w_asym"])
@pytest.mark.parametrize("learn_diag", [False, True])
def test_trainable_parameters_count_the_posterior_without_fixed_positions(variant, learn_diag):
    """Trainable scalars of a Bayesian network: (k + 1)·D (+ D with a learned diagonal) plus the norms', where D,
    the posterior dimension, is the deterministic network's trainable weights and biases."""
    plain = build_model(ResNet20Config(variant=variant))
    model = build_model(bayes_resnet(variant, learn_diag=learn_diag))
    norms = sum(p.numel() for m in model.modules() if isinstance(m, nn.GroupNorm) for p in m.parameters())
    D = trainable_parameters(plain) - norms
    assert V.posterior_dimension(model) == D == (270_906 if variant == "standard" else 228_458)
    assert trainable_parameters(model) == (2 + 1 + learn_diag) * D + norms
    entries = trainable_entries(model.state_dict(), model)
    assert entries.numel() == trainable_parameters(model)
    if variant == "w_asym":  # fixed factor entries are 0 and left out
        assert sum(int((m.weight_factor[:, ~m.mask] == 0).all()) for _, m in V.variational_layers(model)) == 22
