"""Şimşek et al. (2021) counts: closed forms vs. brute-force enumeration, and the digest's values."""
import math
from fractions import Fraction

import pytest

from symlib.theory import counting as c

GRID = [(r, m) for r in range(1, 5) for m in range(r, r + 5)]


def test_stirling_and_bell_small_values():
    assert [c.stirling2(5, k) for k in range(6)] == [0, 1, 15, 25, 10, 1]
    assert c.stirling2(0, 0) == 1 and c.stirling2(3, 0) == 0 and c.stirling2(2, 3) == 0
    assert [c.bell(n) for n in range(7)] == [1, 1, 2, 5, 15, 52, 203]
    assert isinstance(c.stirling2(60, 7), int)  # exact, no floats


@pytest.mark.parametrize("name,value,expected", [
    ("T_A(1,2)", c.T_A(1, 2), 3), ("T_B(1,2)", c.T_B(1, 2), 3),
    ("T_A(1,3)", c.T_A(1, 3), 7), ("T_B(1,3)", c.T_B(1, 3), 10),
    ("T_A(2,4)", c.T_A(2, 4), 50), ("T_B(2,4)", c.T_B(2, 4), 62),
    ("G(2,4)", c.G(2, 4), 14), ("G(3,5)", c.G(3, 5), 150),
])
def test_digest_values(name, value, expected):
    assert value == expected, name


@pytest.mark.parametrize("r", range(0, 9))
def test_T_at_minimal_width_and_one_extra(r):
    assert c.T_A(r, r) == c.T_B(r, r) == math.factorial(r)
    assert c.G(r, r) == math.factorial(r)
    if r >= 1:
        expected = math.factorial(r + 1) * (r + 2) // 2
        assert c.T_A(r, r + 1) == c.T_B(r, r + 1) == expected


def test_readings_differ_from_h_2():
    for r in range(1, 7):
        assert c.T_A(r, r + 2) < c.T_B(r, r + 2)


@pytest.mark.parametrize("r,m", GRID)
def test_brute_force_equals_formulas_on_grid(r, m):
    assert c.count_G(r, m) == c.G(r, m)
    assert c.count_T(r, m, "A") == c.T_A(r, m)
    assert c.count_T(r, m, "B") == c.T_B(r, m)


@pytest.mark.parametrize("r,m", [(1, 1), (1, 2), (1, 3), (1, 4), (1, 5), (2, 2), (2, 3), (2, 4), (2, 5), (3, 4),
                                 (3, 5)])
def test_raw_labellings_canonicalised_equal_formulas(r, m):
    assert c.count_raw_labellings(r, m, "A") == c.T_A(r, m)
    assert c.count_raw_labellings(r, m, "B") == c.T_B(r, m)


def test_enumerated_labellings_are_canonical_and_valid():
    labs = list(c.enumerate_T(2, 4, "B"))
    assert len(labs) == len(set(labs)) == 62
    for lab in labs:
        assert {1, 2} <= set(lab)
        zero_names = [l for l in lab if l < 0]
        firsts = list(dict.fromkeys(zero_names))
        assert firsts == [-(i + 1) for i in range(len(firsts))]  # named in order of first appearance


def test_T_B_equals_bell_weighted_form():
    for r in range(1, 6):
        for m in range(r, r + 8):
            alt = sum(math.comb(m, k) * math.factorial(r) * c.stirling2(m - k, r) * c.bell(k) for k in range(m - r + 1))
            assert c.T_B(r, m) == alt


def test_ratio_is_exact_and_crossover():
    ratio = c.saddle_to_minimum_ratio(10, 10, "B")
    assert isinstance(ratio, Fraction)
    assert ratio == Fraction(sum(math.factorial(r) * c.stirling2(10, r) for r in range(1, 10)), math.factorial(10))
    for reading in c.READINGS:
        for r in (2, 5, 10, 20):
            h = c.crossover_h(r, reading)
            assert c.saddle_to_minimum_ratio(r, r + h, reading) < 1
            if h > 0:
                assert c.saddle_to_minimum_ratio(r, r + h - 1, reading) >= 1
    assert c.crossover_h(10, "B") == 3 and c.crossover_h(10, "A") == 4


def test_where_saddles_outnumber_minima_is_a_prefix_ending_at_the_crossover():
    for reading in c.READINGS:
        for r in (2, 5, 10, 20):
            out = c.saddles_outnumber_minima(r, 30, reading)
            h = c.crossover_h(r, reading)
            assert out == [c.saddle_to_minimum_ratio(r, r + k, reading) > 1 for k in range(31)]
            assert not any(out[h:]) and all(out[:max(h - 1, 0)])  # (at h - 1 the ratio may be exactly 1)
    # r* = 2: minima dominate from h = 0 (1 saddle subspace against T(2, 2) = 2! = 2): half of the claim fails there
    assert c.saddles_outnumber_minima(2, 3, "B") == [False] * 4
    assert c.saddles_outnumber_minima(5, 2, "B") == [True, False, False]


def test_bad_arguments():
    with pytest.raises(ValueError):
        c.T(2, 3, reading="C")
    with pytest.raises(ValueError):
        c.G(-1, 3)
    assert c.T_A(3, 2) == c.T_B(3, 2) == 0
