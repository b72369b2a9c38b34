import numpy as np
import pytest
import torch

from symlib.architectures import MLP, MLPConfig
from symlib.evaluation import evaluate
from symlib.interpolation import interpolate_state, interpolation_curves, max_barrier, midpoint_barrier

# figlu_std = 1/sqrt(width): the std the old `figlu_scale=1.0` gave at width 16
KW = dict(in_features=20, width=16, depth=3, out_features=4, n_fix=(3, 3, 4), kappa=(1.0, 1.0, 0.5), figlu_std=0.25)


def _mlp(variant: str, arch_seed: int = 1) -> MLP:
    return MLP(MLPConfig(variant=variant, arch_seed=arch_seed, **KW))


def _pair(variant="w_asym"):
    torch.manual_seed(0)
    a = _mlp(variant)
    torch.manual_seed(1)
    b = _mlp(variant)
    return a, b


def _reference_curve(model, sa, sb, X, y, alphas, label_smoothing=0.0):
    """Loss and accuracy along the line, one interpolated state at a time, with plain torch."""
    model = MLP(model.cfg)
    losses, accs = [], []
    for alpha in alphas:
        model.load_state_dict(interpolate_state(model, sa, sb, float(alpha)))
        model.eval()
        with torch.no_grad():
            logits = model(X)
        losses.append(torch.nn.functional.cross_entropy(logits, y, label_smoothing=label_smoothing).item())
        accs.append((logits.argmax(1) == y).double().mean().item())
    return losses, accs


def test_barrier_of_a_model_with_itself_is_zero():
    a, _ = _pair()
    X, y = torch.randn(200, 20), torch.randint(0, 4, (200,))
    s = a.state_dict()
    (c,) = interpolation_curves(a, [(s, s)], np.linspace(0, 1, 25), (X, y), device="cpu")
    assert midpoint_barrier(c["alpha"], c["loss"]) == pytest.approx(0.0, abs=1e-6)
    assert max_barrier(c["alpha"], c["loss"]) == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("variant", ["standard", "w_asym", "sigma_asym"])
def test_endpoints_equal_the_models_own_losses(variant):
    a, b = _pair(variant)
    X, y = torch.randn(300, 20), torch.randint(0, 4, (300,))
    ea, eb = evaluate(a, X, y, device="cpu"), evaluate(b, X, y, device="cpu")
    sa = {k: v.clone() for k, v in a.state_dict().items()}
    sb = {k: v.clone() for k, v in b.state_dict().items()}
    (c,) = interpolation_curves(a, [(sa, sb)], np.linspace(0, 1, 25), (X, y), device="cpu")
    assert len(c["alpha"]) == len(c["loss"]) == len(c["acc"]) == 25 and c["alpha"][0] == 0 and c["alpha"][-1] == 1
    assert c["loss"][0] == pytest.approx(ea["loss"], abs=1e-6)
    assert c["loss"][-1] == pytest.approx(eb["loss"], abs=1e-6)
    assert c["acc"][0] == pytest.approx(ea["acc"], abs=1e-12)
    assert c["acc"][-1] == pytest.approx(eb["acc"], abs=1e-12)


def test_fixed_buffers_must_match_and_are_never_averaged():
    a, b = _pair("w_asym")
    s = interpolate_state(a, a.state_dict(), b.state_dict(), 0.3)
    assert torch.equal(s["layers.0.mask"], a.layers[0].mask) and s["layers.0.mask"].dtype == torch.bool
    assert torch.allclose(s["layers.0.weight"], 0.7 * a.layers[0].weight + 0.3 * b.layers[0].weight)
    torch.manual_seed(0)
    other = _mlp("w_asym", arch_seed=2)
    with pytest.raises(ValueError, match="identical"):
        interpolate_state(a, a.state_dict(), other.state_dict(), 0.5)


def test_integer_buffers_are_not_interpolated():
    bn_a, bn_b = torch.nn.BatchNorm1d(3), torch.nn.BatchNorm1d(3)
    bn_b.running_mean += 2.0
    s = interpolate_state(bn_a, bn_a.state_dict(), bn_b.state_dict(), 0.5)
    assert torch.allclose(s["running_mean"], torch.ones(3))  # float running stats are interpolated
    bn_b.num_batches_tracked += 3  # BatchNorm's counter is no architecture: the nearer endpoint's
    assert interpolate_state(bn_a, bn_a.state_dict(), bn_b.state_dict(), 0.5)["num_batches_tracked"] == 0
    assert interpolate_state(bn_a, bn_a.state_dict(), bn_b.state_dict(), 0.51)["num_batches_tracked"] == 3
    other_a, other_b = ({**bn.state_dict(), "steps": torch.tensor(k)} for k, bn in ((1, bn_a), (2, bn_b)))
    with pytest.raises(ValueError, match="'steps' must be identical"):  # any other integer buffer must agree
        interpolate_state(bn_a, other_a, other_b, 0.5)


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
    convex_decreasing = mli_metrics(a, (1 - a) ** 2)  # 1, .5625, .25, .0625, 0: steps -.4375, -.3125, -.1875, -.0625
    assert convex_decreasing == {"delta": pytest.approx(-0.0625), "monotonic": 1.0, "local_convexity": 1.0,
                                 "global_convexity": 1.0, "global_convexity_interior": 1.0,
                                 "monotonic_tolerant": 1.0,  # Δ = -.0625 <= 0.01 · (1 - 0)
                                 "rise_alpha": 1.0,  # the largest step (-.0625) is the last one, ending at α = 1
                                 "rise_is_last_step": 1.0}
    bump = np.array([1.0, 1.2, 0.8, 0.5, 0.4])  # goes up first, then down
    m = mli_metrics(a, bump)
    assert m["delta"] == pytest.approx(0.2) and m["monotonic"] == 0.0
    assert m["local_convexity"] == pytest.approx(2 / 3)  # second differences -0.6, +0.1, +0.2
    assert m["global_convexity"] == pytest.approx(3 / 5)  # chord 1.0, .85, .7, .55, .4: 1.2 and .8 lie above
    assert m["global_convexity_interior"] == pytest.approx(1 / 3)  # interior 1.2, .8, .5: only .5 lies below
    assert m["monotonic_tolerant"] == 0.0  # the rise 0.2 exceeds 0.01 · (1.0 - 0.4) = 0.006
    assert m["rise_alpha"] == 0.25 and m["rise_is_last_step"] == 0.0  # the rise 1.0 → 1.2 ends at α = .25
    assert set(m) == set(convex_decreasing)
    # the chord runs to the LAST point: this curve is below the chord 1 → 0 everywhere (globally convex), but
    # above the line through its first two points (slope -1.6: 0.2 at α=.5), the authors' buggy reference
    c = np.array([1.0, 0.6, 0.45, 0.2, 0.0])
    assert mli_metrics(a, c)["global_convexity"] == 1.0
    assert mli_metrics(a, c)["global_convexity_interior"] == 1.0
    assert np.any(c > c[0] + (c[1] - c[0]) / a[1] * a)


def test_mli_tolerance_and_location_of_the_rise():
    from symlib.interpolation import mli_metrics
    a = np.linspace(0, 1, 5)
    # a rise of 0.002 in a curve dropping by 1: not monotonic, but within the 1% tolerance (0.01)
    m = mli_metrics(a, np.array([1.0, 0.6, 0.3, 0.302, 0.0]))
    assert m["delta"] == pytest.approx(0.002) and m["monotonic"] == 0.0 and m["monotonic_tolerant"] == 1.0
    assert m["rise_alpha"] == 0.75 and m["rise_is_last_step"] == 0.0
    # the tolerance scales with the total drop: 0.1 · 0.01 = 0.001 < 0.002
    m = mli_metrics(a, np.array([1.0, 0.96, 0.93, 0.932, 0.9]))
    assert m["monotonic"] == 0.0 and m["monotonic_tolerant"] == 0.0
    # ... and with the `tolerance` argument: 0.05 · 0.1 = 0.005 >= 0.002
    assert mli_metrics(a, np.array([1.0, 0.96, 0.93, 0.932, 0.9]), tolerance=0.05)["monotonic_tolerant"] == 1.0
    # a curve that does not drop at all gets no tolerance, however small its rise
    for flat_or_up in ([1.0, 1.001, 1.0, 1.0, 1.0], [1.0, 1.001, 1.0, 1.0, 1.1]):
        m = mli_metrics(a, np.array(flat_or_up))
        assert m["monotonic_tolerant"] == 0.0
    # the largest rise is the final step into α = 1
    m = mli_metrics(a, np.array([1.0, 0.6, 0.3, 0.1, 0.2]))
    assert m["delta"] == pytest.approx(0.1) and m["monotonic_tolerant"] == 0.0  # 0.1 > 0.01 · 0.8
    assert m["rise_alpha"] == 1.0 and m["rise_is_last_step"] == 1.0
    # a larger interior rise beats a smaller last one
    m = mli_metrics(a, np.array([1.0, 0.6, 0.9, 0.1, 0.2]))
    assert m["delta"] == pytest.approx(0.3) and m["rise_alpha"] == 0.5 and m["rise_is_last_step"] == 0.0


@pytest.mark.parametrize("variant", ["standard", "w_asym", "sigma_asym"])
def test_many_curves_at_once_equal_one_curve_at_a_time(variant):
    """interpolation_curves (the zoo chapters' batched route, split into groups) against a plain torch loop."""
    X, y = torch.randn(150, 20), torch.randint(0, 4, (150,))
    a, b = _pair(variant)
    torch.manual_seed(2)
    c = _mlp(variant)
    states = [{k: v.clone() for k, v in m.state_dict().items()} for m in (a, b, c)]
    pairs = [(states[0], states[1]), (states[1], states[2]), (states[2], states[0])]
    alphas = np.linspace(0, 1, 7)
    template = _mlp(variant)
    grouped = interpolation_curves(template, pairs, alphas, (X, y), device="cpu", states_at_once=10)  # groups of 1 pair
    at_once = interpolation_curves(template, pairs, alphas, (X, y), device="cpu", states_at_once=1000)
    assert len(grouped) == len(at_once) == 3
    for (sa, sb), curve, whole in zip(pairs, grouped, at_once):
        assert curve["alpha"] == pytest.approx(list(alphas), abs=0)
        ref_loss, ref_acc = _reference_curve(template, sa, sb, X, y, alphas)
        assert curve["loss"] == pytest.approx(ref_loss, rel=1e-5)
        assert curve["acc"] == pytest.approx(ref_acc, abs=1e-12)
        assert whole["loss"] == pytest.approx(curve["loss"], rel=1e-5)
        assert whole["acc"] == pytest.approx(curve["acc"], abs=1e-12)
    smoothed = interpolation_curves(template, pairs[:1], alphas, (X, y), label_smoothing=[0.2], device="cpu")[0]
    model = _mlp(variant)
    for alpha, loss in zip(alphas, smoothed["loss"]):  # each pair's label smoothing enters its loss as torch defines it
        model.load_state_dict(interpolate_state(model, *pairs[0], float(alpha)))
        with torch.no_grad():
            ref = torch.nn.functional.cross_entropy(model(X), y, label_smoothing=0.2).item()
        assert loss == pytest.approx(ref, rel=1e-5)
