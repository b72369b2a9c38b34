"""The tests behind the verdicts, against hand computations, exact enumeration and scipy."""
import itertools
import math

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
    assert stats.paired_t(a, b, "less") == pytest.approx(sps.ttest_rel(a, b, alternative="less").pvalue)


def test_spearman_trend():
    rho, p = stats.spearman([1, 2, 3, 4, 5, 6], [2, 3, 5, 8, 9, 12], "greater")
    assert rho == pytest.approx(1.0) and p == pytest.approx(1 / math.factorial(6))  # exact: one pairing of 720
    assert np.isnan(stats.spearman([1, 1, 1], [1, 2, 3])[0])


def _enumerated_spearman_p(x, y, alternative):
    """The exact p-value by brute force: scipy's rho for every reordering of y."""
    observed = sps.spearmanr(x, y).statistic
    rhos = np.array([sps.spearmanr(x, np.asarray(y)[list(p)]).statistic for p in itertools.permutations(range(len(y)))])
    tol = 1e-12
    if alternative == "greater":
        return np.mean(rhos >= observed - tol)
    if alternative == "less":
        return np.mean(rhos <= observed + tol)
    return np.mean(np.abs(rhos) >= abs(observed) - tol)


@pytest.mark.parametrize("n", [3, 4, 5, 6])
def test_spearman_p_is_exact_for_small_samples(n):
    rng = np.random.default_rng(n)
    cases = [(np.arange(n), np.arange(n)),                              # a perfect ranking
             (rng.normal(size=n), rng.normal(size=n)),                  # no ties
             (rng.integers(0, 3, n), rng.integers(0, 4, n))]            # ties in both
    for x, y in cases:
        if np.ptp(x) == 0 or np.ptp(y) == 0:
            continue
        for alternative in ("greater", "less", "two-sided"):
            rho, p = stats.spearman(x, y, alternative)
            assert rho == pytest.approx(sps.spearmanr(x, y).statistic)
            assert p == pytest.approx(_enumerated_spearman_p(x, y, alternative), abs=1e-12)
    assert stats.spearman([1, 2, 3], [1, 2, 3], "greater")[1] == pytest.approx(1 / 6)  # asymptotic: 0
    assert sps.spearmanr([1, 2, 3], [1, 2, 3], alternative="greater").pvalue < 1e-6


def test_spearman_on_a_figure6_grid_is_exact_and_larger_than_the_asymptotic_p():
    # a 3 x 3 grid of n_fix (tied in threes) against epochs, censored cells tied at the top
    n_fix = [4, 4, 4, 8, 8, 8, 12, 12, 12]
    epochs = [4, 5, 6, 5, 6, 8, 6, 9, 9]
    rho, p = stats.spearman(n_fix, epochs, "greater")
    # rho of every pairing as the Pearson correlation of mid-ranks (float64, vectorised over all 9! pairings)
    rx, ry = sps.rankdata(n_fix), sps.rankdata(epochs)
    perms = np.array(list(itertools.permutations(range(9))))
    ys = ry[perms] - ry.mean()
    rhos = ys @ (rx - rx.mean()) / np.sqrt((ys ** 2).sum(1) * ((rx - rx.mean()) ** 2).sum())
    assert rho == pytest.approx(np.corrcoef(rx, ry)[0, 1])
    assert p == pytest.approx(np.mean(rhos >= rho - 1e-12), abs=1e-12)
    assert p > sps.spearmanr(n_fix, epochs, alternative="greater").pvalue


def test_spearman_beyond_ten_points_is_scipys():
    x, y = np.arange(12.0), np.r_[np.arange(10.0), 11, 10]
    assert stats.spearman(x, y, "greater")[1] == pytest.approx(sps.spearmanr(x, y, alternative="greater").pvalue)


def test_a_single_observation_has_no_p_value():
    with pytest.raises(stats.TooFewSamples, match="at least 2"):
        stats.welch([1.0], [2.0, 3.0], "less")
    with pytest.raises(stats.TooFewSamples):
        stats.one_sample([0.3], 0.0, "greater")
    with pytest.raises(stats.TooFewSamples):
        stats.noninferiority([0.1], [0.2], margin=0.05)
    with pytest.raises(stats.TooFewSamples):
        stats.paired_t([0.1], [0.2])


def test_paired_noninferiority_tests_the_mean_it_states():
    # nine differences of 0 and one of 10: mean difference 1.0, ten times the margin of 0.1
    b = np.linspace(1.0, 2.0, 10)
    a = b.copy()
    a[-1] += 10.0
    assert (a - b).mean() == pytest.approx(1.0)
    assert stats.wilcoxon(a, b, "less", shift=0.1) < stats.ALPHA  # a rank test would call this non-inferior
    p = stats.noninferiority(a, b, margin=0.1, paired=True)
    assert p > 0.5  # the mean is far above the margin: not non-inferior
    assert p == pytest.approx(sps.ttest_1samp(a - b, 0.1, alternative="less").pvalue)
    close = b + np.array([0.01, -0.02, 0.0, 0.03, -0.01, 0.02, 0.0, 0.01, -0.01, 0.02])
    assert stats.noninferiority(close, b, margin=0.1, paired=True) < 0.001


@pytest.mark.parametrize("p", [0.04999, 0.0495, 0.04995, 0.049999999, 0.05, 0.0500001, 0.05049, 0.012, 0.9996])
def test_printed_p_is_on_the_same_side_of_alpha_as_p(p):
    text = stats.format_p(p)
    assert text.startswith("p = ")
    assert (float(text[4:]) < stats.ALPHA) == (p < stats.ALPHA)


def test_verdict_vocabulary():
    assert directional(True, 0.01) == "reproduced" and directional(True, 0.2) == "direction only"
    assert directional(False, 0.01) == "not reproduced"
    with pytest.raises(ValueError, match="unknown verdict"):
        Assessment("x", "roughly reproduced")
