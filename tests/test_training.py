"""The one training loop: equal to a plain torch.optim loop (the oracle, kept here), the same member whatever
population or process it trains in, and the pluggable objectives and batch sources."""
import dataclasses
import math

import pytest
import torch
from torch import nn

from symlib.architectures import MLP, MLPConfig, ResNet8Config, build_model, register
from symlib.batches import FullGraph, TensorBatches
from symlib.data import cifar_augment
from symlib.evaluation import evaluate, evaluate_states
from symlib.objectives import ELBO, CrossEntropy, MeanSquaredError
from symlib.seeding import torch_generator
from symlib.training import Member, TrainConfig, build_member, fit, tensor_batches, train, train_members

WIDTHS = (8, 16, 16)


def _images(n=96, seed=0, size=16):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, size, size, generator=g), torch.randint(0, 10, (n,), generator=g)


def _members(optimizer="adamw", variant="w_asym"):
    """Three members that differ in hyper-parameters, schedules, epochs, data order and fixed buffers (arch seed, κ)."""
    lrs = {"adamw": [3e-3, 1e-2, 5e-4], "adam": [3e-3, 1e-2, 5e-4], "sgd": [0.05, 0.2, 0.01]}[optimizer]

    def arch(arch_seed, kappa):
        return ResNet8Config(widths=WIDTHS, variant=variant, arch_seed=arch_seed, kappa=kappa)

    return [Member(init_seed=1, data_seed=11, model=arch(5, 0.5),
                   train=TrainConfig(epochs=2, batch_size=32, lr=lrs[0], weight_decay=0.05, optimizer=optimizer,
                                     label_smoothing=0.1, schedule="linear", warmup_epochs=0.5)),
            Member(init_seed=2, data_seed=12, model=arch(6, 1.0),
                   train=TrainConfig(epochs=3, batch_size=32, lr=lrs[1], weight_decay=1e-4, optimizer=optimizer,
                                     label_smoothing=0.0, schedule="cosine", warmup_epochs=1)),
            Member(init_seed=3, data_seed=13, model=arch(5, 0.25),
                   train=TrainConfig(epochs=1, batch_size=32, lr=lrs[2], weight_decay=0.01, optimizer=optimizer,
                                     label_smoothing=0.2, schedule="constant"))]


def oracle(member, X, y, augment=None):
    """The plain loop the library's one loop must equal: torch.optim, F.cross_entropy, the same data order."""
    model = build_member(member)
    cfg = member.train
    params = [p for p in model.parameters()]
    opt = {"adamw": lambda: torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay),
           "adam": lambda: torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay),
           "sgd": lambda: torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)}[cfg.optimizer]()
    gen = torch_generator(member.data_seed, "data_order")
    steps_per_epoch = math.ceil(len(X) / cfg.batch_size)
    step, losses = 0, []
    for _ in range(cfg.epochs):
        order = torch.randperm(len(X), generator=gen)
        total = 0.0
        for i in range(0, len(X), cfg.batch_size):
            idx = order[i:i + cfg.batch_size]
            xb = X[idx] if augment is None else augment(X[idx], gen)
            for group in opt.param_groups:
                group["lr"] = cfg.lr_at(step, steps_per_epoch)
            loss = nn.functional.cross_entropy(model(xb), y[idx], label_smoothing=cfg.label_smoothing)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            total += loss.item() * len(idx)
        losses.append(total / len(X))
    return model, losses


def _close(state, model, rtol=1e-4, atol=1e-5):
    for name, p in model.state_dict().items():
        torch.testing.assert_close(state[name], p, rtol=rtol, atol=atol, msg=name)


@pytest.mark.parametrize("variant,optimizer", [("standard", "adamw"), ("w_asym", "adamw"), ("sigma_asym", "adam"),
                                               ("w_asym", "sgd")])
def test_a_population_member_equals_the_torch_optim_oracle(variant, optimizer):
    """Members differ in hyper-parameters, schedules, epochs, data order *and* fixed buffers (arch seed, κ)."""
    X, y = _images()
    members = _members(optimizer, variant)
    out = train(members, TensorBatches(X, y, 32, cifar_augment), device="cpu", progress=False)
    for member, res in zip(members, out):
        model, losses = oracle(member, X, y, cifar_augment)
        assert not res["diverged"] and res["history"]["epoch"] == list(range(1, member.train.epochs + 1))
        assert all(torch.equal(res["init"][k], v) for k, v in build_member(member).state_dict().items())
        _close(res["final"], model)
        assert res["history"]["train_loss"] == pytest.approx(losses, rel=1e-4)
        alone = train([member], TensorBatches(X, y, 32, cifar_augment), device="cpu", progress=False)[0]
        _close(alone["final"], model)  # the vmap-free path (a population of one) too


def test_fixed_entries_never_move_and_the_rest_trains():
    X, y = _images()
    res = train(_members()[:1], TensorBatches(X, y, 32), device="cpu", progress=False)[0]
    for name in [n[:-5] for n in res["final"] if n.endswith(".mask")]:
        mask = res["final"][f"{name}.mask"]
        assert torch.equal(res["final"][f"{name}.fixed"], res["init"][f"{name}.fixed"])
        assert torch.all(res["final"][f"{name}.weight"][~mask] == 0)  # the trainable tensor holds no fixed value
        if mask.any():
            assert not torch.equal(res["final"][f"{name}.weight"][mask], res["init"][f"{name}.weight"][mask])


def test_a_diverging_member_is_flagged_and_does_not_disturb_the_others():
    X, y = _images()
    good = _members(variant="sigma_asym")[0]
    bad = dataclasses.replace(good, init_seed=9, train=dataclasses.replace(good.train, lr=1e36, weight_decay=0.0))
    out = train([bad, good], TensorBatches(X, y, 32, cifar_augment), device="cpu", progress=False)
    assert out[0]["diverged"] and out[0]["final"] is None and out[0]["history"]["diverged"] == [1.0]
    model, _ = oracle(good, X, y, cifar_augment)
    assert not out[1]["diverged"]
    _close(out[1]["final"], model)


def test_the_loop_rejects_what_it_cannot_vectorise():
    X, y = _images(32)
    m = _members(variant="standard")
    with pytest.raises(ValueError, match="batch size"):
        train([m[0], dataclasses.replace(m[1], train=TrainConfig(batch_size=16))], TensorBatches(X, y, 32),
              progress=False)
    with pytest.raises(ValueError, match="one optimizer"):
        train([m[0], _members("sgd", "standard")[1]], TensorBatches(X, y, 32), progress=False)
    with pytest.raises(ValueError, match="module structure"):
        train([m[0], dataclasses.replace(m[1], model=ResNet8Config(widths=(8, 16, 32)))], TensorBatches(X, y, 32),
              progress=False)
    with pytest.raises(TypeError, match="no architecture is registered for dict"):
        train([dataclasses.replace(m[0], model={"widths": WIDTHS})], TensorBatches(X, y, 32), progress=False)


def test_fit_trains_an_existing_model_in_place_and_records_validation():
    torch.manual_seed(0)
    model = MLP(MLPConfig(in_features=20, width=16, depth=3, out_features=4))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    X, y = torch.randn(128, 20), torch.randint(0, 4, (128,))
    cfg = TrainConfig(epochs=3, batch_size=32, lr=1e-2)
    hist = fit(model, tensor_batches(X, y, cfg), cfg, seed=3, val=(X[:64], y[:64]))
    assert hist["epoch"] == [1, 2, 3] and len(hist["val_loss"]) == 3 and len(hist["val_acc"]) == 3
    assert hist["val_loss"][-1] == pytest.approx(evaluate(model, X[:64], y[:64])["loss"], rel=1e-5)
    assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_cross_entropy_evaluation_matches_torch_with_label_smoothing():
    torch.manual_seed(0)
    model = MLP(MLPConfig(in_features=20, width=16, depth=3, out_features=4, variant="sigma_asym"))
    X, y = torch.randn(150, 20), torch.randint(0, 4, (150,))
    states = [{k: v.clone() for k, v in model.state_dict().items()}]
    with torch.no_grad():
        ref = nn.functional.cross_entropy(model(X), y, label_smoothing=0.15).item()
        acc = (model(X).argmax(1) == y).float().mean().item()
    for chunk in (1, 2):
        res = evaluate_states(model, states * 2, (X, y), hyper={"label_smoothing": [0.15, 0.15]}, chunk=chunk,
                              batch_size=40, device="cpu")
        assert res["loss"] == pytest.approx([ref, ref], rel=1e-5) and res["acc"] == pytest.approx([acc, acc])


def test_mean_squared_error_and_r2():
    torch.manual_seed(0)
    model = MLP(MLPConfig(in_features=3, width=32, depth=3, out_features=1))
    X = torch.randn(256, 3)
    y = (X[:, :1] * 2 - X[:, 1:2]).float()
    cfg = TrainConfig(epochs=30, batch_size=32, lr=1e-2)
    hist = fit(model, tensor_batches(X, y, cfg), cfg, seed=0, objective=MeanSquaredError())
    res = evaluate(model, X, y, objective=MeanSquaredError())
    with torch.no_grad():
        sse = ((model(X) - y) ** 2).sum().item()
    assert res["loss"] == pytest.approx(sse / len(X), rel=1e-5)
    assert res["r2"] == pytest.approx(1 - sse / ((y - y.mean()) ** 2).sum().item(), rel=1e-5)
    assert res["r2"] > 0.9 and hist["train_loss"][-1] < hist["train_loss"][0]


class BayesianLinear(nn.Module):
    """A mean-field Gaussian linear classifier for the ELBO test: ``S`` reparameterised samples of ``W``."""

    def __init__(self, cfg=None):
        super().__init__()
        d_in, d_out = (cfg.d_in, cfg.d_out) if cfg is not None else (5, 3)
        self.mu = nn.Parameter(torch.randn(d_out, d_in) * 0.1)
        self.log_sigma = nn.Parameter(torch.full((d_out, d_in), -2.0))

    def forward(self, x, eps):  # eps (S, d_out, d_in)
        w = self.mu + torch.exp(self.log_sigma) * eps
        return torch.einsum("sod,bd->sbo", w, x)


def _kl(params):  # KL(N(mu, sigma²) || N(0, 1)), summed
    mu, log_sigma = params["mu"], params["log_sigma"]
    return (0.5 * (torch.exp(2 * log_sigma) + mu ** 2 - 1) - log_sigma).sum()


@dataclasses.dataclass(frozen=True)
class BayesianLinearConfig:
    d_in: int = 5
    d_out: int = 3


register(BayesianLinearConfig)(BayesianLinear)


def test_elbo_is_route_independent_and_computes_the_bound():
    X, y = torch.randn(64, 5), torch.randint(0, 3, (64,))
    objective = ELBO(_kl, n_train=64, noise=lambda b: [(4, 3, 5)])
    cfg = TrainConfig(epochs=2, batch_size=16, lr=1e-2)
    members = [Member(model=BayesianLinearConfig(), init_seed=s, data_seed=10 + s, train=cfg) for s in (1, 2)]
    together = train(members, TensorBatches(X, y, 16), objective, device="cpu", progress=False)
    for m, r in zip(members, together):
        alone = train([m], TensorBatches(X, y, 16), objective, device="cpu", progress=False)[0]
        for k in r["final"]:
            torch.testing.assert_close(r["final"][k], alone["final"][k], rtol=1e-5, atol=1e-6)
    model = build_model(BayesianLinearConfig())
    eps = torch.randn(4, 3, 5, generator=torch.Generator().manual_seed(0))
    params = dict(model.named_parameters())
    out = model(X, eps)
    expected = torch.stack([nn.functional.cross_entropy(o, y) for o in out]).mean() + _kl(params) / 64
    assert objective.loss(out, y, {}, params).item() == pytest.approx(expected.item(), rel=1e-6)
    first = evaluate(model, X, y, objective=objective)
    assert first == evaluate(model, X, y, objective=objective) and 0 <= first["acc"] <= 1  # fixed evaluation noise


class GraphNet(nn.Module):
    """Mean aggregation + Linear + BatchNorm, a miniature of the paper's GNN layer, for the full-graph source. (No
    bias before the BatchNorm: its gradient is zero up to rounding, which Adam would amplify into noise.)"""

    def __init__(self, cfg=None, d_hidden=8, classes=3):
        super().__init__()
        d_in = cfg.d_in if cfg is not None else 6
        self.lin = nn.Linear(d_in, d_hidden, bias=False)
        self.norm, self.head = nn.BatchNorm1d(d_hidden), nn.Linear(d_hidden, classes)

    def forward(self, x, edge_index):
        src, dst = edge_index
        agg = torch.zeros_like(x).index_add(0, dst, x[src])
        deg = torch.zeros(len(x)).index_add(0, dst, torch.ones(len(src))).clamp(min=1)
        h = torch.relu(self.norm(self.lin(x + agg / deg[:, None])))
        return self.head(h)


@dataclasses.dataclass(frozen=True)
class GraphNetConfig:
    d_in: int = 6


register(GraphNetConfig)(GraphNet)


def test_full_graph_source_with_batchnorm_is_route_independent():
    g = torch.Generator().manual_seed(0)
    n = 40
    x, y = torch.randn(n, 6, generator=g), torch.randint(0, 3, (n,), generator=g)
    edge_index = torch.randint(0, n, (2, 120), generator=g)
    mask = torch.zeros(n, dtype=torch.bool)
    mask[:25] = True
    source = FullGraph(x, edge_index, y, mask)
    cfg = TrainConfig(epochs=5, batch_size=1, lr=1e-2, optimizer="adam")
    members = [Member(model=GraphNetConfig(), init_seed=s, data_seed=s, train=cfg) for s in (1, 2)]
    together = train(members, source, device="cpu", progress=False)
    for m, r in zip(members, together):
        model = build_member(m)
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        for _ in range(5):
            loss = nn.functional.cross_entropy(model(x, edge_index)[mask], y[mask])
            opt.zero_grad()
            loss.backward()
            opt.step()
        _close(r["final"], model)  # the BatchNorm running statistics included
        assert r["final"]["norm.num_batches_tracked"].item() == 5


def test_train_members_gives_the_same_member_in_process_and_on_ray():
    """A member's result does not depend on where it ran: here in this process vs two Ray workers (one thread each)."""
    X, y = _images(64)
    members = [dataclasses.replace(m, model=ResNet8Config(widths=WIDTHS, variant="w_asym")) for m in _members("sgd")]
    source = TensorBatches(X, y, 32, cifar_augment)
    here = train_members(members, source, device="cpu", workers=1, progress=False)
    done = []
    on_ray = train_members(members, source, device="cpu", workers=2, progress=False,
                           on_result=lambda i, r: done.append(i))
    assert sorted(done) == [0, 1, 2]
    for a, b in zip(here, on_ray):
        assert a["history"] == b["history"]
        for name in a["final"]:
            assert torch.equal(a["final"][name], b["final"][name]), name  # bit for bit


def _fail_on_negative(shared, job):
    if job < 0:
        raise ValueError(f"negative job {job}")
    return job * shared, torch.get_num_threads()


def test_map_tasks_keeps_order_runs_single_threaded_and_reports_failures():
    from symlib.distributed import map_tasks
    threads = torch.get_num_threads()
    for in_process in (True, False):
        out = map_tasks(_fail_on_negative, [3, 1, 4], shared=10, in_process=in_process, progress=False)
        assert [r for r, _ in out] == [30, 10, 40] and {t for _, t in out} == {1}
    assert torch.get_num_threads() == threads  # the in-process route restores the caller's threads
    with pytest.raises(ValueError, match="negative job -2"):
        map_tasks(_fail_on_negative, [1, -2, 5, 6], shared=1, progress=False)
