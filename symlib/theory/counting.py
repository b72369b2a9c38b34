"""Counting symmetry-induced subspaces of a two-layer network (Şimşek et al., ICML 2021).

A teacher of minimal width ``r*`` is learnt by a student of width
``m = r* + h``. Every count here is an exact Python ``int`` (or a
:class:`fractions.Fraction` for ratios); nothing goes through floats.

* ``G(r, m) = r! S(m, r)`` — affine subspaces of *symmetry-induced critical
  points* that come from a width-``r`` critical point: every one of the ``m``
  student neurons copies one of the ``r`` neurons, and all ``r`` are used
  (a surjection ``[m] -> [r]``).
* ``T(r*, m)`` — affine subspaces that make up the *global-minimum manifold*.
  Our sources give the statements, not the formula, and two readings fit them
  (they agree for ``h <= 1``):

  - reading A, :func:`T_A` ``= sum_{k=0}^{h} C(m,k) r*! S(m-k, r*)``: a
    student neuron either copies a teacher neuron (copies of one teacher neuron
    share its incoming vector, their output weights sum to the teacher's) or is
    a *zero-type neuron* — output weight 0, its own free incoming vector;
  - reading B, :func:`T_B` ``= sum_{j=r*}^{m} j!/(j-r*)! S(m, j)``: zero-type
    neurons come in *blocks* that share one free incoming vector and whose
    output weights sum to 0 (a block of one is reading A's zero neuron).

Brute force: :func:`enumerate_G`, :func:`enumerate_T` list the canonical
labellings the definitions describe (each student neuron labelled as a copy of
one teacher neuron, or zero-type; zero blocks named in order of first
appearance) and :func:`count_raw_labellings` canonicalises *every* raw
labelling over an alphabet with named zero blocks (small sizes only). The
tests and the critical-points chapter check that all of them agree with the
closed forms.
"""
from __future__ import annotations

import itertools
import math
from fractions import Fraction
from functools import lru_cache
from typing import Iterator

__all__ = ["stirling2", "bell", "G", "T_A", "T_B", "T", "READINGS", "enumerate_G", "enumerate_T",
           "count_G", "count_T", "count_raw_labellings", "set_partitions", "sum_G_below",
           "saddle_to_minimum_ratio", "crossover_h", "saddles_outnumber_minima", "log10_int"]

READINGS = ("A", "B")


@lru_cache(maxsize=None)
def stirling2(n: int, k: int) -> int:
    """Stirling number of the second kind ``S(n, k)``: partitions of an ``n``-set into ``k`` non-empty blocks."""
    if n < 0 or k < 0:
        raise ValueError(f"S(n, k) needs n, k >= 0, got ({n}, {k})")
    if n == k:
        return 1
    if k == 0 or k > n:
        return 0
    # iterative over n to keep the recursion shallow for large n
    row = [1] + [0] * k  # S(0, j)
    for i in range(1, n + 1):
        new = [0] * (k + 1)
        for j in range(1, min(i, k) + 1):
            new[j] = j * row[j] + row[j - 1]
        row = new
    return row[k]


def bell(n: int) -> int:
    """Bell number ``B_n = sum_k S(n, k)``."""
    return sum(stirling2(n, k) for k in range(n + 1))


def _check(r: int, m: int, name: str = "r") -> None:
    if not (isinstance(r, int) and isinstance(m, int)) or r < 0 or m < 0:
        raise ValueError(f"{name} and m must be non-negative ints, got ({r!r}, {m!r})")


def G(r: int, m: int) -> int:
    """``G(r, m) = r! S(m, r)``: surjections of ``m`` student neurons onto ``r`` neurons."""
    _check(r, m)
    return math.factorial(r) * stirling2(m, r)


def T_A(r_star: int, m: int) -> int:
    """Reading A: ``sum_{k=0}^{h} C(m, k) r*! S(m-k, r*)`` (``k`` zero-type neurons, each ``a = 0`` with a free ``w``)."""
    _check(r_star, m, "r_star")
    if m < r_star:
        return 0
    return sum(math.comb(m, k) * math.factorial(r_star) * stirling2(m - k, r_star) for k in range(m - r_star + 1))


def T_B(r_star: int, m: int) -> int:
    """Reading B: ``sum_{j=r*}^{m} j!/(j-r*)! S(m, j)`` (``j`` blocks of shared ``w``; ``j - r*`` are zero blocks)."""
    _check(r_star, m, "r_star")
    if m < r_star:
        return 0
    return sum(math.perm(j, r_star) * stirling2(m, j) for j in range(r_star, m + 1))


def T(r_star: int, m: int, reading: str = "B") -> int:
    """``T_A`` or ``T_B`` by name. The book adopts reading B (see the critical-points chapter)."""
    if reading == "A":
        return T_A(r_star, m)
    if reading == "B":
        return T_B(r_star, m)
    raise ValueError(f"reading must be one of {READINGS}, got {reading!r}")


# --------------------------------------------------------------------------- brute force

def set_partitions(items: tuple) -> Iterator[tuple[tuple, ...]]:
    """All set partitions of ``items`` (blocks in order of their first element), by recursion on the first item."""
    if not items:
        yield ()
        return
    first, rest = items[0], items[1:]
    for part in set_partitions(rest):
        yield ((first,),) + part  # ``first`` alone
        for i, block in enumerate(part):  # ``first`` joins an existing block
            yield part[:i] + ((first,) + block,) + part[i + 1:]


def enumerate_G(r: int, m: int) -> Iterator[tuple[int, ...]]:
    """Labellings ``(l_1..l_m)``, ``l_i`` in ``1..r``, that use every label (each is one subspace)."""
    _check(r, m)
    need = set(range(1, r + 1))
    for lab in itertools.product(range(1, r + 1), repeat=m):
        if set(lab) == need:
            yield lab


def enumerate_T(r_star: int, m: int, reading: str) -> Iterator[tuple[int, ...]]:
    """Canonical labellings of the global-minimum subspaces.

    Label ``k >= 1``: a copy of teacher neuron ``k`` (all teacher neurons must
    be used). Reading A: label ``0`` = zero-type neuron (``a = 0``, own free
    ``w``). Reading B: zero-type neurons are grouped into blocks sharing a free
    ``w`` with outputs summing to 0; block names ``-1, -2, ...`` are given in
    order of first appearance (the canonical form, since block names carry no
    meaning).
    """
    if reading not in READINGS:
        raise ValueError(f"reading must be one of {READINGS}, got {reading!r}")
    _check(r_star, m, "r_star")
    need = set(range(1, r_star + 1))
    for lab in itertools.product(range(r_star + 1), repeat=m):
        if not need <= set(lab):
            continue
        if reading == "A":
            yield lab
            continue
        zeros = tuple(i for i, l in enumerate(lab) if l == 0)
        for part in set_partitions(zeros):
            out = list(lab)
            for b, block in enumerate(sorted(part, key=min)):
                for i in block:
                    out[i] = -(b + 1)
            yield tuple(out)


def count_G(r: int, m: int) -> int:
    return sum(1 for _ in enumerate_G(r, m))


def count_T(r_star: int, m: int, reading: str) -> int:
    """Number of *distinct* canonical labellings (a set, so duplicates from a wrong canonicalisation would show)."""
    return len(set(enumerate_T(r_star, m, reading)))


def count_raw_labellings(r_star: int, m: int, reading: str, max_states: int = 2_000_000) -> int:
    """Count subspaces by canonicalising every raw labelling (exponential; small sizes only).

    Raw alphabet: teacher labels ``1..r*`` and zero labels ``z_1..z_m``. Reading
    A treats every zero label alike (a zero neuron has its own free ``w``);
    reading B groups neurons with the same zero label into one block, so the
    canonical form is (teacher labels, partition of the zero-type neurons).
    """
    if reading not in READINGS:
        raise ValueError(f"reading must be one of {READINGS}, got {reading!r}")
    alphabet = r_star + m
    if alphabet ** m > max_states:
        raise ValueError(f"{alphabet}^{m} raw labellings exceed max_states={max_states}")
    need = set(range(1, r_star + 1))
    seen = set()
    for lab in itertools.product(range(1, alphabet + 1), repeat=m):
        teach = tuple(l if l <= r_star else 0 for l in lab)
        if not need <= set(teach):
            continue
        if reading == "A":
            seen.add(teach)
        else:
            blocks = {}
            for i, l in enumerate(lab):
                if l > r_star:
                    blocks.setdefault(l, []).append(i)
            seen.add((teach, frozenset(frozenset(b) for b in blocks.values())))
    return len(seen)


# --------------------------------------------------------------------------- saddles vs minima

def sum_G_below(r_star: int, m: int) -> int:
    """``sum_{r=1}^{r*-1} G(r, m)``: symmetry-induced critical subspaces from all smaller widths."""
    return sum(G(r, m) for r in range(1, r_star))


def saddle_to_minimum_ratio(r_star: int, m: int, reading: str = "B") -> Fraction:
    """Exact ``sum_{r<r*} G(r, m) / T(r*, m)``."""
    return Fraction(sum_G_below(r_star, m), T(r_star, m, reading))


def crossover_h(r_star: int, reading: str = "B", h_max: int = 10_000) -> int:
    """Smallest ``h >= 0`` with ``sum_{r<r*} G(r, r*+h) < T(r*, r*+h)`` (ratio below 1), compared as exact ints."""
    for h in range(h_max + 1):
        m = r_star + h
        if sum_G_below(r_star, m) < T(r_star, m, reading):
            return h
    raise RuntimeError(f"no crossover up to h={h_max} for r*={r_star}, reading {reading}")


def saddles_outnumber_minima(r_star: int, h_max: int, reading: str = "B") -> list[bool]:
    """``[Σ_{r<r*} G(r, r*+h) > T(r*, r*+h) for h = 0..h_max]``, compared as exact ints: where the
    symmetry-induced saddle subspaces strictly outnumber the global-minimum subspaces (``h = 0`` is the network of
    minimal width itself, ``h >= 1`` the overparameterised ones)."""
    return [sum_G_below(r_star, r_star + h) > T(r_star, r_star + h, reading) for h in range(h_max + 1)]


def log10_int(n: int) -> float:
    """``log10`` of a (possibly huge) positive int, for plotting only (``-inf`` for 0)."""
    return math.log10(n) if n > 0 else float("-inf")
