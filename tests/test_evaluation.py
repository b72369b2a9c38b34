"""Evaluation with named metrics: equal to plain per-network loops, loss and accuracy bit-identical to the
objective-based evaluation it replaced (kept here as the oracle), metrics over a graph's masked nodes only, the
Bayesian predictive for the ELBO, regression metrics for MeanSquaredError."""
import copy

import pytest
import torch
from scipy.stats import kendalltau
from torch import nn
from torch.func import vmap
from torchmetrics.functional.classification import multiclass_calibration_error

from symlib.batches import FullGraph
from symlib.evaluation import _batches, evaluate, evaluate_stacked, evaluate_states
from symlib.objectives import ELBO, CrossEntropy, MeanSquaredError
from symlib.seeding import torch_generator
from symlib.stacking import stack_states, vmapped_call


def _net(seed, d_in=20, classes=4):
    """A small classifier with buffers (BatchNorm running statistics, randomised so that they matter)."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(d_in, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, classes))
    model[1].running_mean.normal_()
    model[1].running_var.uniform_(0.5, 2.0)
    return model.eval()


def _states(models):
    return [{k: v.detach().clone() for k, v in m.state_dict().items()} for m in models]


def _data(n=150, d_in=20, classes=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d_in, generator=g) * 2, torch.randint(0, classes, (n,), generator=g)


@torch.no_grad()
def _previous_evaluate_stacked(base, params, buffers, data, *, objective, hyper=None, batch_size=1000):
    """The evaluation before metrics were separate (symlib/evaluation.py at f6df92b): metrics from the
    objective's per-batch ``sums`` and ``finish``. The oracle for the loss and accuracy, to the bit."""
    device = next(iter(params.values())).device
    n_members = next(iter(params.values())).shape[0]
    hyper = {f: (hyper[f] if hyper is not None and f in hyper else torch.zeros(n_members)).to(device)
             for f in objective.hyper_fields}
    base.eval()
    total = torch.zeros(n_members, dtype=torch.float64)
    sums, n = {}, 0
    noise = torch_generator(0, "evaluation noise")
    for inputs, targets, select in _batches(data, batch_size):
        inputs = tuple(x.to(device) for x in (*inputs, *objective.extra_inputs(len(targets), noise)))
        out = vmapped_call(base, params, buffers, inputs, (None,) * len(inputs))
        if select is not None:
            out = out[:, select]
        losses = vmap(objective.loss, in_dims=(0, None, 0, 0))(out, targets, hyper, dict(params))
        total += losses.double().cpu() * len(targets)
        for k, v in vmap(objective.sums, in_dims=(0, None))(out, targets).items():
            sums[k] = sums.get(k, 0) + v.double().cpu()
        n += len(targets)
    result = {"loss": (total / n).tolist()}
    per_member = [objective.finish({k: v[j] for k, v in sums.items()}, n) for j in range(n_members)]
    for key in per_member[0]:
        result[key] = [m[key] for m in per_member]
    return result


@pytest.mark.parametrize("chunk", [1, 3])
def test_three_stacked_states_equal_plain_loops_per_state(chunk):
    models = [_net(s) for s in (1, 2, 3)]
    X, y = _data()
    res = evaluate_states(models[0], _states(models), (X, y), chunk=chunk, batch_size=40, device="cpu",
                          metrics=("acc", "ece"))
    assert list(res) == ["loss", "acc", "ece"] and all(len(v) == 3 for v in res.values())
    for j, model in enumerate(models):
        with torch.no_grad():
            logits = model(X)
        loss = sum(nn.functional.cross_entropy(logits[i:i + 40], y[i:i + 40]).item() * len(y[i:i + 40])
                   for i in range(0, len(y), 40)) / len(y)
        assert res["loss"][j] == pytest.approx(loss, rel=1e-6)
        assert res["acc"][j] == (logits.argmax(1) == y).sum().item() / len(y)
        ece = multiclass_calibration_error(torch.softmax(logits, 1), y, 4, n_bins=15, norm="l1").item()
        assert res["ece"][j] == pytest.approx(ece, abs=1e-6)
    assert len(set(res["ece"])) == 3  # three networks, three values (not one batch's, not shared)


def test_ece_is_over_the_whole_set_not_averaged_over_batches():
    model = _net(4)
    X, y = _data(n=100)
    whole = evaluate(model, X, y, metrics=("ece",), batch_size=1000, device="cpu")["ece"]
    assert evaluate(model, X, y, metrics=("ece",), batch_size=7, device="cpu")["ece"] == pytest.approx(whole, abs=1e-7)
    per_batch = sum(evaluate(model, X[i:i + 7], y[i:i + 7], metrics=("ece",), device="cpu")["ece"] * len(y[i:i + 7])
                    for i in range(0, 100, 7)) / 100
    assert per_batch != pytest.approx(whole, abs=1e-3)


@pytest.mark.parametrize("smoothing", [0.0, 0.15])
def test_loss_and_accuracy_are_bit_identical_to_the_previous_evaluation(smoothing):
    models = [_net(s) for s in (5, 6, 7)]
    X, y = _data(n=130)
    params, buffers = stack_states(models[0], _states(models), "cpu")
    base = copy.deepcopy(models[0]).to("meta")
    hyper = {"label_smoothing": torch.full((3,), smoothing)}
    new = evaluate_stacked(base, params, buffers, (X, y), objective=CrossEntropy(), hyper=hyper, batch_size=40)
    old = _previous_evaluate_stacked(base, params, buffers, (X, y), objective=CrossEntropy(), hyper=hyper,
                                     batch_size=40)
    assert new == old  # exactly, every float
    states = evaluate_states(models[0], _states(models), (X, y), hyper={"label_smoothing": [smoothing] * 3},
                             batch_size=40, device="cpu")
    assert states["acc"] == old["acc"]
    plain = [(m(X).argmax(1) == y).sum().item() / len(y) for m in models]
    assert states["acc"] == plain


def test_mean_squared_error_reports_r2_and_kendall_tau_and_no_accuracy():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Linear(8, 1))
    X = torch.randn(90, 3)
    y = X[:, :1] * 2 - X[:, 1:2]
    objective = MeanSquaredError()
    default = evaluate(model, X, y, objective=objective, batch_size=25, device="cpu")
    assert list(default) == ["loss", "r2"]
    res = evaluate(model, X, y, objective=objective, metrics=("r2", "kendall_tau"), batch_size=25, device="cpu")
    with torch.no_grad():
        pred = model(X)
    r2 = 1 - ((y - pred) ** 2).sum().item() / ((y - y.mean()) ** 2).sum().item()
    assert res["r2"] == default["r2"] == pytest.approx(r2, rel=1e-6, abs=1e-6)
    assert res["kendall_tau"] == pytest.approx(kendalltau(pred.flatten().numpy(), y.flatten().numpy()).statistic,
                                               rel=1e-9)
    none = evaluate(model, X, y, objective=objective, metrics=(), batch_size=25, device="cpu")
    assert none == {"loss": res["loss"]}


class _GraphNet(nn.Module):
    def __init__(self, d_in=6, classes=3):
        super().__init__()
        self.lin, self.head = nn.Linear(d_in, 8), nn.Linear(8, classes)

    def forward(self, x, edge_index):
        src, dst = edge_index
        agg = torch.zeros_like(x).index_add(0, dst, x[src])
        return self.head(torch.relu(self.lin(x + agg)))


def test_full_graph_metrics_read_only_the_masked_nodes():
    g = torch.Generator().manual_seed(0)
    n = 60
    x, y = torch.randn(n, 6, generator=g), torch.randint(0, 3, (n,), generator=g)
    edge_index = torch.randint(0, n, (2, 150), generator=g)
    mask = torch.zeros(n, dtype=torch.bool)
    mask[::3] = True
    models = [_GraphNet() for _ in range(2)]
    names = ("acc", "ece")
    res = evaluate_states(models[0], _states(models), FullGraph(x, edge_index, y, mask), metrics=names, device="cpu")
    other = y.clone()
    other[~mask] = (y[~mask] + 1) % 3  # different labels off the mask: nothing may change
    assert evaluate_states(models[0], _states(models), FullGraph(x, edge_index, other, mask), metrics=names,
                           device="cpu") == res
    for j, model in enumerate(models):
        with torch.no_grad():
            logits = model(x, edge_index)[mask]
        assert res["loss"][j] == pytest.approx(nn.functional.cross_entropy(logits, y[mask]).item(), rel=1e-6)
        assert res["acc"][j] == (logits.argmax(1) == y[mask]).sum().item() / int(mask.sum())
        ece = multiclass_calibration_error(torch.softmax(logits, 1), y[mask], 3, n_bins=15, norm="l1").item()
        assert res["ece"][j] == pytest.approx(ece, abs=1e-6)


class _BayesianLinear(nn.Module):
    def __init__(self, d_in=5, d_out=3):
        super().__init__()
        self.mu = nn.Parameter(torch.randn(d_out, d_in))
        self.log_sigma = nn.Parameter(torch.full((d_out, d_in), -0.5))

    def forward(self, x, eps):  # eps (S, d_out, d_in) -> logits (S, B, d_out)
        return torch.einsum("sod,bd->sbo", self.mu + torch.exp(self.log_sigma) * eps, x)


def test_elbo_metrics_read_the_sample_averaged_predictive_probabilities():
    torch.manual_seed(0)
    model = _BayesianLinear()
    X, y = torch.randn(80, 5), torch.randint(0, 3, (80,))
    objective = ELBO(lambda p: (p["mu"] ** 2).sum(), n_train=80, noise=lambda b: [(6, 3, 5)])
    res = evaluate(model, X, y, objective=objective, metrics=("acc", "ece"), device="cpu")
    eps = objective.extra_inputs(len(y), torch_generator(0, "evaluation noise"))[0]  # one batch: the same draw
    with torch.no_grad():
        probs = torch.softmax(model(X, eps), -1).mean(0)
    assert res["acc"] == (probs.argmax(1) == y).sum().item() / len(y)
    ece = multiclass_calibration_error(probs, y, 3, n_bins=15, norm="l1").item()
    assert res["ece"] == pytest.approx(ece, abs=1e-6)
    twice = multiclass_calibration_error(torch.softmax(probs, 1), y, 3, n_bins=15, norm="l1").item()
    assert res["ece"] != pytest.approx(twice, abs=1e-3)  # read as probabilities, not softmax'ed again
    params, buffers = stack_states(model, _states([model]), "cpu")
    old = _previous_evaluate_stacked(copy.deepcopy(model).to("meta"), params, buffers, (X, y), objective=objective,
                                     batch_size=30)
    new = evaluate_stacked(copy.deepcopy(model).to("meta"), params, buffers, (X, y), objective=objective,
                           batch_size=30)
    assert new == {k: old[k] for k in new} and set(old) == {"loss", "acc", "nll"}  # the ELBO's sums also carry nll


def test_unknown_metric_is_refused_before_evaluating():
    model = _net(0)
    X, y = _data(n=10)
    with pytest.raises(ValueError, match="unknown metric 'auc'; known metrics: acc, ece, kendall_tau, nll, r2"):
        evaluate(model, X, y, metrics=("acc", "auc"), device="cpu")
    with pytest.raises(ValueError, match="sequence of names"):
        evaluate(model, X, y, metrics="acc", device="cpu")
