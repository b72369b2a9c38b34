"""The statistical tests behind the book's verdicts, and how p-values are printed.

Which test for which design (the book's rule):

* **paired** samples (the same zoo member index in two variants shares its hyper-parameters and seeds; Git
  Re-Basin is computed on the same pairs as Standard): :func:`wilcoxon` for continuous metrics (a statement
  about the *location* of the differences, exact for small samples), :func:`paired_t` where the claim is
  about their *mean*, :func:`mcnemar` (exact) for yes/no outcomes such as "monotonic";
* **independent** samples (pairs of networks trained separately per variant): :func:`welch`;
* "A is **at least as good as** B" (lower is better): :func:`noninferiority` with a margin fixed in code
  before the run — without one the verdict can only be "inconclusive"; :func:`tost` tests equivalence. Both
  are statements about means: Welch's t, or the paired t on the differences;
* a trend over a grid: :func:`spearman` (exact permutation p-values up to :data:`EXACT_SPEARMAN_MAX_N`).

All tests return a p-value in [0, 1] (``nan`` when undefined); ``alternative`` names the direction of the
*claim* (``"less"``: the first sample is smaller). A test that needs a spread refuses a single observation
(:class:`TooFewSamples`, a ``ValueError``) instead of returning a p-value it cannot have. :func:`format_p`
prints ``p < 0.001`` instead of ``p=0.000``, and never prints a value on the other side of :data:`ALPHA` than the
p-value itself.
"""
from __future__ import annotations

import itertools
import math
import warnings
from typing import Sequence

import numpy as np
from scipy import stats

ALPHA = 0.05
#: Spearman p-values are exact (all ``n!`` pairings enumerated) up to this many points, asymptotic beyond.
EXACT_SPEARMAN_MAX_N = 10


class TooFewSamples(ValueError):
    """A test was asked for a p-value that its samples cannot give (e.g. a t-test on one observation)."""


def format_p(p: float) -> str:
    """``"p < 0.001"``, ``"p = 0.012"``, or ``"p n/a"`` for an undefined test.

    Three decimals, or more where three would print a value on the other side of :data:`ALPHA` than ``p``
    (``0.04999`` prints ``p = 0.04999``, not ``p = 0.050``), so the printed p and the verdict never disagree."""
    if p is None or not np.isfinite(p):
        return "p n/a"
    if p < 0.001:
        return "p < 0.001"
    for digits in range(3, 16):
        text = f"{p:.{digits}f}"
        if (float(text) < ALPHA) == (p < ALPHA):
            return f"p = {text}"
    return f"p = {p!r}"


def _arrays(*xs: Sequence[float]) -> list[np.ndarray]:
    return [np.asarray(x, dtype=float) for x in xs]


def _need(test: str, minimum: int, **sizes: int) -> None:
    small = {k: n for k, n in sizes.items() if n < minimum}
    if small:
        raise TooFewSamples(f"{test} needs at least {minimum} observations per sample, got "
                            + ", ".join(f"{k}: {n}" for k, n in sizes.items()))


def welch(a: Sequence[float], b: Sequence[float], alternative: str = "two-sided") -> float:
    """Welch's t-test of ``mean(a)`` vs ``mean(b)`` (independent samples, unequal variances); at least two
    observations per sample."""
    a, b = _arrays(a, b)
    _need("Welch's t-test", 2, a=len(a), b=len(b))
    if a.std() == 0 and b.std() == 0:
        return _degenerate(a.mean() - b.mean(), alternative)
    with warnings.catch_warnings():  # scipy warns when a sample's values are (nearly) identical, e.g. runs at chance
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(stats.ttest_ind(a, b, equal_var=False, alternative=alternative).pvalue)


def one_sample(a: Sequence[float], popmean: float = 0.0, alternative: str = "two-sided") -> float:
    """Student's t-test of ``mean(a)`` against ``popmean``; at least two observations."""
    (a,) = _arrays(a)
    _need("the one-sample t-test", 2, a=len(a))
    if a.std() == 0:
        return _degenerate(a.mean() - popmean, alternative)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(stats.ttest_1samp(a, popmean, alternative=alternative).pvalue)


def paired_t(a: Sequence[float], b: Sequence[float], alternative: str = "two-sided", shift: float = 0.0) -> float:
    """Paired t-test of the *mean* difference: ``mean(a − b)`` against ``shift`` (at least two pairs)."""
    a, b = _arrays(a, b)
    if a.shape != b.shape:
        raise ValueError(f"paired samples need equal lengths, got {a.shape} and {b.shape}")
    return one_sample(a - b, shift, alternative)


def _degenerate(diff: float, alternative: str) -> float:
    """A test on samples without spread: certain when the difference is exactly in the claimed direction."""
    if alternative == "less":
        return 0.0 if diff < 0 else 1.0
    if alternative == "greater":
        return 0.0 if diff > 0 else 1.0
    return 0.0 if diff != 0 else 1.0


def wilcoxon(a: Sequence[float], b: Sequence[float], alternative: str = "two-sided", shift: float = 0.0) -> float:
    """Wilcoxon signed-rank test on the paired differences ``a − b − shift``: whether they are located (are
    symmetric) about zero, not a test of their mean (that is :func:`paired_t`).

    Exact for small samples (scipy >= 1.13: all ``2^n`` sign flips for ``n <= 50`` distinct differences, and
    for ``n <= 13`` when differences are tied; the normal approximation beyond). Pairs with a zero difference
    are dropped (Wilcoxon's convention); if every difference is zero the p-value is 1 (no evidence either way).
    With ``n`` non-zero pairs the smallest one-sided p-value is ``2^-n``: five pairs are needed for p < 0.05.
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
    TOST). Welch's t for independent samples; for ``paired`` samples the paired t-test of ``mean(a − b)``
    against ``margin`` (a hypothesis on the mean, so a test of the mean: a rank test would declare a mean
    difference of 1.0 non-inferior within a margin of 0.1 when most differences are small)."""
    if margin <= 0:
        raise ValueError(f"a non-inferiority margin must be positive, got {margin}")
    a, b = _arrays(a, b)
    if paired:
        return paired_t(a, b, alternative="less", shift=margin)
    _need("the non-inferiority test", 2, a=len(a), b=len(b))
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
    """Spearman's rank correlation ``(rho, p)`` (``nan`` for constant inputs or fewer than 3 points).

    For ``n <= EXACT_SPEARMAN_MAX_N`` the p-value is exact: the share of all ``n!`` pairings of ``y`` with ``x``
    whose rank correlation is at least as extreme as the observed one (ties kept as mid-ranks, as in ``rho``);
    a perfect ranking of 3 points has one-sided p = 1/6, not the asymptotic 0. Beyond, scipy's t approximation.
    """
    x, y = _arrays(x, y)
    if len(x) != len(y):
        raise ValueError(f"spearman needs paired samples, got {len(x)} and {len(y)} points")
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan"), float("nan")
    r = stats.spearmanr(x, y, alternative=alternative)
    if len(x) > EXACT_SPEARMAN_MAX_N:
        return float(r.statistic), float(r.pvalue)
    return float(r.statistic), _exact_rank_correlation_p(x, y, alternative)


def _exact_rank_correlation_p(x: np.ndarray, y: np.ndarray, alternative: str) -> float:
    """Exact permutation p-value of Spearman's rho. With mid-ranks doubled to integers, rho is an increasing
    affine function of ``S = Σ rx_i · ry_π(i)`` over pairings ``π`` (the ranks' sums and squares do not depend on
    ``π``), so comparing ``S`` in integer arithmetic compares rho exactly."""
    rx = np.rint(2 * stats.rankdata(x)).astype(np.int64)
    ry = np.rint(2 * stats.rankdata(y)).astype(np.int64)
    n = len(rx)
    observed = int(rx @ ry)
    pairings, chunk = itertools.permutations(range(n)), 40_320  # 8!: n! pairings in bounded blocks
    s = np.empty(math.factorial(n), dtype=np.int64)  # S for every pairing (29 MB at n = 10)
    for start in range(0, len(s), chunk):
        block = np.fromiter(itertools.chain.from_iterable(itertools.islice(pairings, chunk)), dtype=np.int8)
        block = block.reshape(-1, n)
        s[start:start + len(block)] = ry[block] @ rx
    if alternative == "greater":
        return float(np.mean(s >= observed))
    if alternative == "less":
        return float(np.mean(s <= observed))
    # two-sided: |rho| at least as large, i.e. |S − E[S]| at least as large (n·E[S] = Σrx·Σry, kept integral)
    centre = int(rx.sum()) * int(ry.sum())
    return float(np.mean(np.abs(n * s - centre) >= abs(n * observed - centre)))
