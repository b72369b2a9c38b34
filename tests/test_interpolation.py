import numpy as np
import pytest
import torch

from symlib.interpolation import interpolate_state, interpolation_curve, max_barrier, midpoint_barrier
from symlib.models import build_mlp
from symlib.train import evaluate

KW = dict(in_features=20, width=16, depth=3, out_features=4, n_fix=(3, 3, 4), kappa=(1.0, 1.0, 0.5))


def _pair(variant="w_asym"):
    torch.manual_seed(0)
    a = build_mlp(variant=variant, arch_seed=1, **KW)
    torch.manual_seed(1)
    b = build_mlp(variant=variant, arch_seed=1, **KW)
    return a, b


def test_barrier_of_a_model_with_itself_is_zero():
    a, _ = _pair()
    X, y = torch.randn(200, 20), torch.randint(0, 4, (200,))
    s = a.state_dict()
    c = interpolation_curve(a, s, s, X, y, np.linspace(0, 1, 25))
    assert midpoint_barrier(c["alpha"], c["loss"]) == pytest.approx(0.0, abs=1e-6)
    assert max_barrier(c["alpha"], c["loss"]) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("variant", ["standard", "w_asym", "sigma_asym"])
def test_endpoints_equal_the_models_own_losses(variant):
    a, b = _pair(variant)
    X, y = torch.randn(300, 20), torch.randint(0, 4, (300,))
    la, lb = evaluate(a, X, y)[0], evaluate(b, X, y)[0]
    sa = {k: v.clone() for k, v in a.state_dict().items()}
    sb = {k: v.clone() for k, v in b.state_dict().items()}
    c = interpolation_curve(a, sa, sb, X, y, np.linspace(0, 1, 25))
    assert len(c["alpha"]) == 25 and c["alpha"][0] == 0 and c["alpha"][-1] == 1
    assert c["loss"][0] == pytest.approx(la, abs=1e-6)
    assert c["loss"][-1] == pytest.approx(lb, abs=1e-6)


def test_fixed_buffers_must_match_and_are_never_averaged():
    a, b = _pair("w_asym")
    s = interpolate_state(a, a.state_dict(), b.state_dict(), 0.3)
    assert torch.equal(s["layers.0.mask"], a.layers[0].mask) and s["layers.0.mask"].dtype == torch.bool
    assert torch.allclose(s["layers.0.weight"], 0.7 * a.layers[0].weight + 0.3 * b.layers[0].weight)
    torch.manual_seed(0)
    other = build_mlp(variant="w_asym", arch_seed=2, **KW)
    with pytest.raises(ValueError, match="identical"):
        interpolate_state(a, a.state_dict(), other.state_dict(), 0.5)


def test_integer_buffers_are_not_interpolated():
    bn_a, bn_b = torch.nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)
    bn_b.running_mean += 2.0
    s = interpolate_state(bn_a, bn_a.state_dict(), bn_b.state_dict(), 0.5)
    assert torch.allclose(s["running_mean"], torch.ones(3))  # float running stats are interpolated
    bn_b.num_batches_tracked += 3
    with pytest.raises(ValueError, match="num_batches_tracked"):
        interpolate_state(bn_a, bn_a.state_dict(), bn_b.state_dict(), 0.5)


def test_barrier_definitions():
    alpha = np.linspace(0, 1, 5)
    loss = np.array([1.0, 2.0, 3.0, 1.5, 0.0])
    assert midpoint_barrier(alpha, loss) == pytest.approx(3.0 - 0.5)
    assert max_barrier(alpha, loss) == pytest.approx(3.0 - 0.5)
    with pytest.raises(ValueError, match="0.5"):
        midpoint_barrier(np.linspace(0, 1, 4), np.zeros(4))


def test_mli_metrics_on_known_curves():
    from symlib.interpolation import mli_metrics
    a = np.linspace(0, 1, 5)
    convex_decreasing = mli_metrics(a, (1 - a) ** 2)
    assert convex_decreasing == {"delta": pytest.approx(-0.0625), "monotonic": 1.0, "local_convexity": 1.0,
                                 "global_convexity": 1.0}
    bump = np.array([1.0, 1.2, 0.8, 0.5, 0.4])  # goes up first, then down
    m = mli_metrics(a, bump)
    assert m["delta"] == pytest.approx(0.2) and m["monotonic"] == 0.0
    assert m["local_convexity"] == pytest.approx(2 / 3)  # second differences -0.6, +0.1, +0.2
    assert m["global_convexity"] == pytest.approx(3 / 5)  # chord 1.0, .85, .7, .55, .4: 1.2 and .8 lie above
    # the chord runs to the LAST point: this curve is below the chord 1 → 0 everywhere (globally convex), but
    # above the line through its first two points (slope -1.6: 0.2 at α=.5), the authors' buggy reference
    c = np.array([1.0, 0.6, 0.45, 0.2, 0.0])
    assert mli_metrics(a, c)["global_convexity"] == 1.0
    assert np.any(c > c[0] + (c[1] - c[0]) / a[1] * a)


@pytest.mark.parametrize("variant", ["standard", "w_asym", "sigma_asym"])
def test_many_curves_at_once_equal_one_curve_at_a_time(variant):
    """interpolation_losses (the zoo chapters' batched route, split into groups) against interpolation_curve."""
    from symlib.interpolation import interpolation_losses
    X, y = torch.randn(150, 20), torch.randint(0, 4, (150,))
    a, b = _pair(variant)
    torch.manual_seed(2)
    c = build_mlp(variant=variant, arch_seed=1, **KW)
    states = [{k: v.clone() for k, v in m.state_dict().items()} for m in (a, b, c)]
    pairs = [(states[0], states[1]), (states[1], states[2]), (states[2], states[0])]
    alphas = np.linspace(0, 1, 7)
    make = lambda: build_mlp(variant=variant, arch_seed=1, **KW)  # noqa: E731
    curves = interpolation_losses(make, pairs, alphas, X, y, device="cpu", states_at_once=10)  # groups of 1 pair
    assert len(curves) == 3
    for (sa, sb), curve in zip(pairs, curves):
        ref = interpolation_curve(make(), sa, sb, X, y, alphas)["loss"]
        assert curve == pytest.approx(ref, rel=1e-5)
    smoothed = interpolation_losses(make, pairs[:1], alphas, X, y, label_smoothing=[0.2], device="cpu")[0]
    model = make()
    for alpha, loss in zip(alphas, smoothed):  # each pair's label smoothing enters its loss as torch defines it
        model.load_state_dict(interpolate_state(model, *pairs[0], float(alpha)))
        with torch.no_grad():
            ref = torch.nn.functional.cross_entropy(model(X), y, label_smoothing=0.2).item()
        assert loss == pytest.approx(ref, rel=1e-5)
