"""BatchNorm running statistics recomputed for given weights (symlib.batchnorm), checked against plain loops.

torch's ``momentum=None`` after a reset: batch k sets ``running = running + (stat_k − running) / k``, so after K
batches the running mean is the mean of the K batch means and the running variance the mean of the K *unbiased*
batch variances. The plain loops below compute exactly that from a hand-written train-mode forward pass.
"""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from symlib.batchnorm import has_batchnorm, reset_statistics
from symlib.batches import FullGraph

EPS = 1e-5


class ConvBN(nn.Module):
    """conv → BatchNorm2d → relu → mean over space → linear → BatchNorm1d → relu → linear."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 5, 3, padding=1)
        self.bn2d = nn.BatchNorm2d(5, momentum=0.3)
        self.fc = nn.Linear(5, 4)
        self.bn1d = nn.BatchNorm1d(4)  # default momentum 0.1
        self.head = nn.Linear(4, 2)

    def forward(self, x):
        h = torch.relu(self.bn2d(self.conv(x))).mean(dim=(2, 3))
        return self.head(torch.relu(self.bn1d(self.fc(h))))


def _bn_train(h, weight, bias, dims):
    """Train-mode BatchNorm by hand: normalise with the batch's own biased variance; also return the batch mean and
    the unbiased batch variance (what the running statistics average)."""
    mean, var = h.mean(dims), h.var(dims, unbiased=False)
    shape = (1, -1) + (1,) * (h.dim() - 2)
    out = (h - mean.view(shape)) / torch.sqrt(var.view(shape) + EPS) * weight.view(shape) + bias.view(shape)
    return out, mean, h.var(dims, unbiased=True)


def _plain_statistics(state, X, batch_size):
    """Running statistics of ConvBN at ``state`` from full batches of X, as the mean of the per-batch statistics."""
    stats = {k: [] for k in ("bn2d.running_mean", "bn2d.running_var", "bn1d.running_mean", "bn1d.running_var")}
    for i in range(0, len(X) - len(X) % batch_size, batch_size):
        xb = X[i:i + batch_size].double()
        h = F.conv2d(xb, state["conv.weight"].double(), state["conv.bias"].double(), padding=1)
        h, m, v = _bn_train(h, state["bn2d.weight"].double(), state["bn2d.bias"].double(), (0, 2, 3))
        stats["bn2d.running_mean"].append(m)
        stats["bn2d.running_var"].append(v)
        h = torch.relu(h).mean(dim=(2, 3)) @ state["fc.weight"].double().T + state["fc.bias"].double()
        _, m, v = _bn_train(h, state["bn1d.weight"].double(), state["bn1d.bias"].double(), (0,))
        stats["bn1d.running_mean"].append(m)
        stats["bn1d.running_var"].append(v)
    return {k: torch.stack(v).mean(0) for k, v in stats.items()}, len(stats["bn2d.running_mean"])


def _trained_pair():
    torch.manual_seed(0)
    a, b = ConvBN(), ConvBN()
    with torch.no_grad():
        for model in (a, b):  # non-trivial affine parameters and stale running statistics
            for bn in (model.bn2d, model.bn1d):
                bn.weight.uniform_(0.5, 1.5)
                bn.bias.normal_(0, 0.3)
                bn.running_mean.normal_(0, 5)
                bn.running_var.uniform_(3, 9)
                bn.num_batches_tracked.fill_(1234)
    return a, b


def test_statistics_at_the_endpoint_and_the_midpoint_equal_a_plain_loop():
    a, b = _trained_pair()
    X = torch.randn(250, 3, 6, 6) * 2 + 0.5  # batch_size 64: three full batches, the last 58 examples unused
    y = torch.randint(0, 2, (250,))
    state_a, state_b = a.state_dict(), b.state_dict()
    mid = {k: (v + state_b[k]) / 2 if v.is_floating_point() else v for k, v in state_a.items()}
    before = {k: v.clone() for k, v in state_a.items()}
    momenta = (a.bn2d.momentum, a.bn1d.momentum)
    out = reset_statistics(a, [state_a, mid], (X, y), device="cpu", batch_size=64)
    assert len(out) == 2
    for state, new in zip((state_a, mid), out):
        expected, n_batches = _plain_statistics(state, X, 64)
        assert n_batches == 3
        for k, v in expected.items():
            assert new[k].dtype == torch.float32
            assert torch.allclose(new[k].double(), v, rtol=1e-5, atol=1e-5), k
        assert int(new["bn2d.num_batches_tracked"]) == 3 == int(new["bn1d.num_batches_tracked"])
        for k, v in state.items():  # parameters untouched: the very same tensors
            if "running" not in k and "num_batches" not in k:
                assert new[k] is v
    # the inputs are left as they were: the states, the model's buffers, its momentum and its mode
    assert all(torch.equal(state_a[k], before[k]) for k in before)
    assert all(torch.equal(a.state_dict()[k], before[k]) for k in before)
    assert (a.bn2d.momentum, a.bn1d.momentum) == momenta == (0.3, 0.1)
    assert a.training


def test_passes_repeat_the_same_batches_and_small_data_is_one_batch():
    a, _ = _trained_pair()
    X = torch.randn(40, 3, 5, 5)
    once, = reset_statistics(a, [a.state_dict()], (X, torch.zeros(40)), device="cpu", batch_size=16)
    thrice, = reset_statistics(a, [a.state_dict()], (X, torch.zeros(40)), device="cpu", batch_size=16, passes=3)
    assert int(once["bn1d.num_batches_tracked"]) == 2 and int(thrice["bn1d.num_batches_tracked"]) == 6
    for k in ("bn2d.running_mean", "bn2d.running_var", "bn1d.running_mean", "bn1d.running_var"):
        assert torch.allclose(once[k], thrice[k], atol=1e-6)  # deterministic model: averaging repeats changes nothing
    small, = reset_statistics(a, [a.state_dict()], (X[:10], torch.zeros(10)), device="cpu", batch_size=16)
    expected, _ = _plain_statistics(a.state_dict(), X[:10], 10)  # fewer examples than batch_size: one batch of all
    assert int(small["bn2d.num_batches_tracked"]) == 1
    assert all(torch.allclose(small[k].double(), v, atol=1e-5) for k, v in expected.items())
    with pytest.raises(ValueError, match="no examples"):
        reset_statistics(a, [a.state_dict()], (X[:0], torch.zeros(0)), device="cpu")


class GraphBN(nn.Module):
    """``h = relu(BN(lin(A_mean x + x)))``, then a linear readout; ``forward(x, edge_index)``."""

    def __init__(self, d_in=4, hidden=6, d_out=3):
        super().__init__()
        self.lin, self.bn, self.out = nn.Linear(d_in, hidden), nn.BatchNorm1d(hidden), nn.Linear(hidden, d_out)

    @staticmethod
    def aggregate(x, edge_index):
        src, dst = edge_index
        total = torch.zeros_like(x).index_add_(0, dst, x[src])
        return x + total / torch.bincount(dst, minlength=len(x)).clamp_min(1).to(x.dtype)[:, None]

    def forward(self, x, edge_index):
        return self.out(torch.relu(self.bn(self.lin(self.aggregate(x, edge_index)))))


def test_full_graph_statistics_are_those_of_all_nodes_in_one_pass():
    torch.manual_seed(1)
    model = GraphBN()
    n = 50
    x, edge_index = torch.randn(n, 4) * 3, torch.randint(0, n, (2, 150))
    mask = torch.zeros(n, dtype=torch.bool)
    mask[:10] = True
    graph = FullGraph(x, edge_index, torch.randint(0, 3, (n,)), mask)
    for passes in (1, 4):
        new, = reset_statistics(model, [model.state_dict()], graph, device="cpu", passes=passes)
        with torch.no_grad():
            h = model.lin(GraphBN.aggregate(x, edge_index)).double()
        assert torch.allclose(new["bn.running_mean"].double(), h.mean(0), atol=1e-5)
        assert torch.allclose(new["bn.running_var"].double(), h.var(0, unbiased=True), atol=1e-5)
        assert int(new["bn.num_batches_tracked"]) == passes


def test_states_without_batchnorm_come_back_unchanged():
    mlp = nn.Sequential(nn.Linear(3, 4), nn.LayerNorm(4), nn.ReLU(), nn.Linear(4, 2))
    no_tracking = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4, track_running_stats=False))
    assert not has_batchnorm(mlp) and not has_batchnorm(no_tracking)
    assert has_batchnorm(ConvBN()) and has_batchnorm(GraphBN())
    states = [mlp.state_dict(), {k: v + 1 for k, v in mlp.state_dict().items()}]
    out = reset_statistics(mlp, states, (torch.randn(8, 3), torch.zeros(8)), device="cpu")
    assert len(out) == 2 and all(o is s for o, s in zip(out, states))
