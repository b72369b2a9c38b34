"""The tests behind the verdicts, against hand computations and scipy."""
import numpy as np
import pytest
from scipy import stats as sps

from symlib import stats
from symlib.claims import Assessment, directional


def test_mcnemar_counts_discordant_pairs_only():
    a = [1, 1, 1, 1, 1, 0, 1, 1]
    b = [0, 0, 0, 0, 0, 0, 1, 1]
    p, n_a, n_b = stats.mcnemar(a, b, "greater")
    assert (n_a, n_b) == (5, 0) and p == pytest.approx(0.5 ** 5)  # all five discordant pairs favour a
    assert stats.mcnemar(a, b, "less")[0] == pytest.approx(1.0)
    assert stats.mcnemar([1, 0], [1, 0], "greater") == (1.0, 0, 0)  # no discordant pair: no evidence


def test_wilcoxon_is_paired_exact_and_needs_five_pairs_for_significance():
    a, b = np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 3.5, 3.5, 6.0])
    assert stats.wilcoxon(a, b, "less") == pytest.approx(1 / 16)  # four pairs: at best 2^-4
    five = stats.wilcoxon(np.arange(5.0), np.arange(5.0) + 1, "less")
    assert five == pytest.approx(1 / 32) and five < stats.ALPHA
    assert stats.wilcoxon([1, 2], [1, 2]) == 1.0
    d = np.array([0.3, -0.1, 0.5, 0.2, 0.4, 0.25])
    assert stats.wilcoxon(d, np.zeros(6), "greater") == pytest.approx(
        sps.wilcoxon(d, alternative="greater").pvalue)
    assert stats.wilcoxon(d, np.zeros(6), "greater", shift=0.1) == pytest.approx(
        sps.wilcoxon(d[d != 0.1] - 0.1, alternative="greater").pvalue)


def test_noninferiority_and_tost():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.0, 0.01, 8), rng.normal(0.005, 0.01, 8)
    assert stats.noninferiority(a, b, margin=0.05) < 0.001  # a is far from worse than b + 0.05
    assert stats.noninferiority(a + 0.2, b, margin=0.05) > 0.99
    # Welch's formula by hand
    diff = a.mean() - b.mean() - 0.02
    va, vb = a.var(ddof=1) / 8, b.var(ddof=1) / 8
    df = (va + vb) ** 2 / (va ** 2 / 7 + vb ** 2 / 7)
    assert stats.noninferiority(a, b, 0.02) == pytest.approx(sps.t.cdf(diff / np.sqrt(va + vb), df))
    assert stats.tost(a, b, 0.05) < 0.01 and stats.tost(a + 0.2, b, 0.05) > 0.5
    with pytest.raises(ValueError, match="margin"):
        stats.noninferiority(a, b, 0.0)


def test_welch_and_one_sample_match_scipy_and_handle_no_spread():
    a, b = [1.0, 1.2, 0.9, 1.1], [1.5, 1.7, 1.4, 1.9]
    assert stats.welch(a, b, "less") == pytest.approx(sps.ttest_ind(a, b, equal_var=False, alternative="less").pvalue)
    assert stats.one_sample(a, 0.0, "greater") == pytest.approx(sps.ttest_1samp(a, 0.0, alternative="greater").pvalue)
    assert stats.welch([1, 1], [2, 2], "less") == 0.0 and stats.welch([1, 1], [1, 1], "less") == 1.0


def test_spearman_trend():
    rho, p = stats.spearman([1, 2, 3, 4, 5, 6], [2, 3, 5, 8, 9, 12], "greater")
    assert rho == pytest.approx(1.0) and p < 0.01
    assert np.isnan(stats.spearman([1, 1, 1], [1, 2, 3])[0])


def test_verdict_vocabulary():
    assert directional(True, 0.01) == "reproduced" and directional(True, 0.2) == "direction only"
    assert directional(False, 0.01) == "not reproduced"
    with pytest.raises(ValueError, match="unknown verdict"):
        Assessment("x", "roughly reproduced")
