"""The metric registry: ECE is torchmetrics' (and a hand-computed example), R² the textbook formula, Kendall τ
scipy's τ-b, and unknown names are refused with the known ones listed."""
import math

import pytest
import torch
from scipy.stats import kendalltau
from torchmetrics.functional.classification import multiclass_calibration_error

from symlib import metrics
from symlib.metrics import accuracy, expected_calibration_error, kendall_tau, r2


def _torchmetrics_ece(probs, y):
    return multiclass_calibration_error(probs, y, num_classes=probs.shape[1], n_bins=15, norm="l1").item()


@pytest.mark.parametrize("seed, scale", [(0, 1.0), (1, 3.0), (2, 0.3)])
def test_ece_equals_torchmetrics_on_random_logits(seed, scale):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(500, 10, generator=g) * scale
    y = torch.randint(0, 10, (500,), generator=g)
    probs = torch.softmax(logits, dim=1)
    expected = _torchmetrics_ece(probs, y)
    assert expected > 0
    assert expected_calibration_error(logits, y) == expected
    assert expected_calibration_error(probs, y, probabilities=True) == expected
    assert metrics.compute(["ece"], logits, y) == {"ece": expected}


def test_ece_applies_softmax_to_logits_that_happen_to_lie_in_0_1():
    """torchmetrics reads a tensor whose entries all lie in [0, 1] as probabilities; logits must not be."""
    g = torch.Generator().manual_seed(3)
    logits = torch.rand(200, 4, generator=g)
    y = torch.randint(0, 4, (200,), generator=g)
    ours = expected_calibration_error(logits, y)
    assert ours == _torchmetrics_ece(torch.softmax(logits, 1), y)
    assert ours != pytest.approx(_torchmetrics_ece(logits, y))


def test_ece_by_hand_with_two_bins():
    # top-label confidences 0.41, 0.45 (bin [0, 1/2)) and 0.82, 0.90 (bin [1/2, 1)); correct: yes, no | no, yes
    probs = torch.tensor([[0.41, 0.34, 0.25],
                          [0.30, 0.45, 0.25],
                          [0.08, 0.10, 0.82],
                          [0.90, 0.05, 0.05]])
    y = torch.tensor([0, 0, 0, 0])
    low = 2 / 4 * abs(1 / 2 - (0.41 + 0.45) / 2)    # weight 1/2, accuracy 1/2, mean confidence 0.43
    high = 2 / 4 * abs(1 / 2 - (0.82 + 0.90) / 2)   # weight 1/2, accuracy 1/2, mean confidence 0.86
    ece = expected_calibration_error(probs, y, probabilities=True, n_bins=2)
    assert ece == pytest.approx(low + high, abs=1e-7) and ece == pytest.approx(0.035 + 0.18, abs=1e-7)
    assert ece == multiclass_calibration_error(probs, y, 3, n_bins=2, norm="l1").item()
    # the default, 15 bins of width 1/15: 0.41 and 0.45 share [6/15, 7/15); 0.82 and 0.90 are alone in theirs
    bins15 = 2 / 4 * abs(1 / 2 - 0.43) + 1 / 4 * abs(0 - 0.82) + 1 / 4 * abs(1 - 0.90)
    assert expected_calibration_error(probs, y, probabilities=True) == pytest.approx(bins15, abs=1e-7)
    assert bins15 == pytest.approx(0.265)


def test_ece_of_a_diverged_network_is_nan():
    logits = torch.tensor([[float("nan"), 0.0], [1.0, 0.0]])
    assert math.isnan(expected_calibration_error(logits, torch.tensor([0, 1])))


def test_accuracy_counts_argmax_hits():
    out = torch.tensor([[2.0, 1.0], [0.0, 3.0], [5.0, -1.0]])
    assert accuracy(out, torch.tensor([0, 1, 1])) == 2 / 3
    assert accuracy(torch.softmax(out, 1), torch.tensor([0, 1, 1]), probabilities=True) == 2 / 3
    with pytest.raises(ValueError, match=r"outputs \(N, C\)"):
        accuracy(out[:, 0], torch.tensor([0, 1, 1]))


def test_r2_is_one_minus_residual_over_total_sum_of_squares():
    y = [1.0, 2.0, 4.0, 7.0, 11.0]
    yhat = [1.5, 2.0, 3.0, 8.0, 10.0]
    mean = sum(y) / len(y)
    expected = 1 - sum((a - b) ** 2 for a, b in zip(y, yhat)) / sum((a - mean) ** 2 for a in y)
    t, p = torch.tensor(y), torch.tensor(yhat)
    assert r2(p, t) == pytest.approx(expected, rel=1e-12)
    assert r2(p[:, None], t) == r2(p, t[:, None]) == r2(p[:, None], t[:, None]) == r2(p, t)  # no (N, N) broadcast
    assert r2(t, t) == 1.0
    assert r2(torch.full((5,), mean), t) == pytest.approx(0.0, abs=1e-12)
    assert math.isnan(r2(p, torch.ones(5)))
    with pytest.raises(ValueError, match="one value per example"):
        r2(torch.zeros(5, 2), t)


def test_kendall_tau_is_scipys_tau_b():
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 6, (60,), generator=g).float()  # ties, so tau-b differs from tau-a and tau-c
    yhat = y + torch.randn(60, generator=g) * 2
    yhat[:10] = yhat[0]
    expected = kendalltau(yhat.numpy(), y.numpy(), variant="b").statistic
    assert kendall_tau(yhat, y) == pytest.approx(expected, rel=1e-12)
    assert kendall_tau(yhat[:, None], y) == kendall_tau(yhat, y)
    assert kendall_tau(yhat, y) != pytest.approx(kendalltau(yhat.numpy(), y.numpy(), variant="c").statistic)
    assert kendall_tau(y, y) == 1.0 and kendall_tau(-y, y) == -1.0


def test_unknown_metric_names_are_refused_with_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown metric 'accuracy'; known metrics: acc, ece, kendall_tau, nll, r2"):
        metrics.get("accuracy")
    with pytest.raises(ValueError, match="unknown metric 'f1'"):
        metrics.compute(["acc", "f1"], torch.zeros(2, 2), torch.zeros(2, dtype=torch.long))
    with pytest.raises(ValueError, match="sequence of names"):
        metrics.check("acc")
    assert metrics.check(["acc", "ece"]) == ("acc", "ece")


def test_nll_from_logits_is_cross_entropy_and_from_probabilities_is_minus_log():
    g = torch.Generator().manual_seed(3)
    logits = torch.randn(50, 7, generator=g) * 3
    y = torch.randint(0, 7, (50,), generator=g)
    expected = float(torch.nn.functional.cross_entropy(logits.double(), y))
    assert metrics.negative_log_likelihood(logits, y) == pytest.approx(expected, rel=1e-12)
    probs = torch.softmax(logits.double(), -1)
    assert metrics.get("nll")(probs, y, probabilities=True) == pytest.approx(expected, rel=1e-12)
    # a predictive that averages sample probabilities: -log of the mean, not the mean of -log
    p2 = torch.softmax(torch.randn(50, 7, generator=g, dtype=torch.float64), -1)
    mix = (probs + p2) / 2
    assert metrics.get("nll")(mix, y, probabilities=True) == pytest.approx(
        float(-torch.log(mix[torch.arange(50), y]).mean()), rel=1e-12)
    assert metrics.get("nll")(torch.tensor([[1.0, 0.0]]), torch.tensor([1]), probabilities=True) == float("inf")
