"""The statistical tests behind the book's verdicts, and how p-values are printed.

Which test for which design (the book's rule):

* **paired** samples (the same zoo member index in two variants shares its hyper-parameters and seeds; Git
  Re-Basin is computed on the same pairs as Standard): :func:`wilcoxon` for continuous metrics,
  :func:`mcnemar` (exact) for yes/no outcomes such as "monotonic";
* **independent** samples (pairs of networks trained separately per variant): :func:`welch`;
* "A is **at least as good as** B" (lower is better): :func:`noninferiority` with a margin fixed in code
  before the run — without one the verdict can only be "inconclusive"; :func:`tost` tests equivalence;
* a trend over a grid: :func:`spearman`.

All tests return a p-value in [0, 1] (``nan`` when undefined); ``alternative`` names the direction of the
*claim* (``"less"``: the first sample is smaller). :func:`format_p` prints ``p < 0.001`` instead of ``p=0.000``.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from scipy import stats

ALPHA = 0.05


def format_p(p: float) -> str:
    """``"p < 0.001"``, ``"p = 0.012"``, or ``"p n/a"`` for an undefined test."""
    if p is None or not np.isfinite(p):
        return "p n/a"
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _arrays(*xs: Sequence[float]) -> list[np.ndarray]:
    return [np.asarray(x, dtype=float) for x in xs]


def welch(a: Sequence[float], b: Sequence[float], alternative: str = "two-sided") -> float:
    """Welch's t-test of ``mean(a)`` vs ``mean(b)`` (independent samples, unequal variances)."""
    a, b = _arrays(a, b)
    if len(a) < 2 or len(b) < 2 or (a.std() == 0 and b.std() == 0):
        return _degenerate(a.mean() - b.mean(), alternative)
    return float(stats.ttest_ind(a, b, equal_var=False, alternative=alternative).pvalue)


def one_sample(a: Sequence[float], popmean: float = 0.0, alternative: str = "two-sided") -> float:
    """Student's t-test of ``mean(a)`` against ``popmean``."""
    (a,) = _arrays(a)
    if len(a) < 2 or a.std() == 0:
        return _degenerate(a.mean() - popmean, alternative)
    return float(stats.ttest_1samp(a, popmean, alternative=alternative).pvalue)


def _degenerate(diff: float, alternative: str) -> float:
    """A test on samples without spread: certain when the difference is exactly in the claimed direction."""
    if alternative == "less":
        return 0.0 if diff < 0 else 1.0
    if alternative == "greater":
        return 0.0 if diff > 0 else 1.0
    return 0.0 if diff != 0 else 1.0


def wilcoxon(a: Sequence[float], b: Sequence[float], alternative: str = "two-sided", shift: float = 0.0) -> float:
    """Wilcoxon signed-rank test on the paired differences ``a − b − shift`` (exact for small samples).

    Pairs with a zero difference are dropped (Wilcoxon's convention); if every difference is zero the p-value is
    1 (no evidence either way). With ``n`` non-zero pairs the smallest one-sided p-value is ``2^-n``: five pairs
    are needed for p < 0.05.
    """
    a, b = _arrays(a, b)
    if a.shape != b.shape:
        raise ValueError(f"paired samples need equal lengths, got {a.shape} and {b.shape}")
    d = a - b - shift
    d = d[d != 0]
    if len(d) == 0:
        return 1.0
    return float(stats.wilcoxon(d, alternative=alternative, zero_method="wilcox").pvalue)


def mcnemar(a: Sequence[bool], b: Sequence[bool], alternative: str = "two-sided") -> tuple[float, int, int]:
    """Exact McNemar test for paired yes/no outcomes: ``(p, n_a_only, n_b_only)``.

    Only discordant pairs count: ``n_a_only`` pairs where ``a`` is true and ``b`` false, ``n_b_only`` the reverse.
    Under the null each discordant pair goes either way with probability ½, so ``n_a_only ~ Binom(n, ½)``;
    ``alternative="greater"``: ``a`` is true more often than ``b``.
    """
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"paired samples need equal lengths, got {a.shape} and {b.shape}")
    n_a, n_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    if n_a + n_b == 0:
        return 1.0, 0, 0
    return float(stats.binomtest(n_a, n_a + n_b, 0.5, alternative=alternative).pvalue), n_a, n_b


def noninferiority(a: Sequence[float], b: Sequence[float], margin: float, paired: bool = False) -> float:
    """p-value for "``a`` is not worse than ``b`` by ``margin`` or more", lower being better:
    ``H0: mean(a) − mean(b) ≥ margin`` against ``H1: mean(a) − mean(b) < margin`` (the upper one-sided test of
    TOST). Welch's t for independent samples; for ``paired`` samples the Wilcoxon signed-rank test on
    ``a − b − margin``."""
    if margin <= 0:
        raise ValueError(f"a non-inferiority margin must be positive, got {margin}")
    a, b = _arrays(a, b)
    if paired:
        return wilcoxon(a, b, alternative="less", shift=margin)
    diff = a.mean() - b.mean() - margin
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    se = math.sqrt(va + vb)
    if se == 0:
        return _degenerate(diff, "less")
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    return float(stats.t.cdf(diff / se, df))


def tost(a: Sequence[float], b: Sequence[float], margin: float, paired: bool = False) -> float:
    """Two one-sided tests for equivalence, ``|mean(a) − mean(b)| < margin``: the larger of the two p-values."""
    a, b = _arrays(a, b)
    upper = noninferiority(a, b, margin, paired)
    lower = noninferiority(b, a, margin, paired)
    return max(upper, lower)


def spearman(x: Sequence[float], y: Sequence[float], alternative: str = "two-sided") -> tuple[float, float]:
    """Spearman's rank correlation ``(rho, p)`` (``nan`` for constant inputs)."""
    x, y = _arrays(x, y)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan"), float("nan")
    r = stats.spearmanr(x, y, alternative=alternative)
    return float(r.statistic), float(r.pvalue)
