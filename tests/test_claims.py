"""Verdicts: a failed premise makes a claim "not testable" whatever its p-values, claims covering several variants
are "mixed" when one points the other way, and the chapters' premises and verdict functions on their records."""
import copy
import glob
import json

import pytest

from symlib import stats
from symlib.claims import Assessment, Claim, Premise, across
from symlib.ledger import chapter_table, sentence
from symlib.chapters import appendix_a, critical_points, mli
from symlib.theory.counting import saddles_outnumber_minima


def _claim(verdict="reproduced", premise_holds=True, raises=None):
    def assess(record):
        if raises:
            raise raises
        return Assessment("ours", verdict, "p < 0.001")
    return Claim("t.x", "source", "text", "paper", assess,
                 Premise("the baseline shows the phenomenon", lambda r: (premise_holds, "3 of 20 show it")))


def test_a_failed_premise_is_not_testable_whatever_the_p_values():
    for verdict in ("reproduced", "not reproduced", "mixed", "direction only"):
        a = _claim(verdict, premise_holds=False).judge({})
        assert a.verdict == "not testable at this scale" and a.ours == "ours"
        assert a.premise == "the baseline shows the phenomenon" and "3 of 20" in a.note
        assert _claim(verdict, premise_holds=True).judge({}).verdict == verdict
    shown = chapter_table([_claim(premise_holds=False)], {}) + sentence(_claim(premise_holds=False), {})
    assert "not testable at this scale" in shown and "the baseline shows the phenomenon" in shown
    assert "3 of 20" in shown and "reproduced" not in shown


def test_too_few_samples_give_inconclusive_or_an_unestablished_premise():
    a = _claim(raises=stats.TooFewSamples("Welch's t-test needs at least 2")).judge({})
    assert a.verdict == "inconclusive" and "at least 2" in a.note

    def premise(record):
        return stats.one_sample([0.3], 0.0, "greater") < 0.05, "one pair"
    c = Claim("t.y", "s", "t", "p", lambda r: Assessment("x", "reproduced"), Premise("a barrier", premise))
    assert c.judge({}).verdict == "not testable at this scale"


def test_across_variants():
    assert across({"σ": (True, 0.01, 0.99), "W": (True, 0.02, 0.98)}) == ("reproduced", [])
    assert across({"σ": (True, 0.30, 0.70), "W": (True, 0.02, 0.98)}) == ("direction only", [])
    assert across({"σ": (False, 0.99, 0.001), "W": (True, 0.10, 0.90)}) == ("mixed", ["σ"])
    assert across({"σ": (False, 0.99, 0.001), "W": (False, 0.90, 0.04)}) == ("not reproduced", ["σ", "W"])
    # holds in one part, fails (not significantly) in the other: the claim holds in part of its range
    assert across({"σ": (False, 0.70, 0.30), "W": (True, 0.01, 0.99)}) == ("mixed", [])
    assert across({"σ": (False, 0.70, 0.30), "W": (False, 0.60, 0.40)}) == ("not reproduced", [])


def _out(r_stars, h_max=30):
    return {str(r): {reading: saddles_outnumber_minima(r, h_max, reading) for reading in "AB"} for r in r_stars}


def test_crossover_verdict_says_where_the_claim_holds():
    assert critical_points.crossover_verdict(_out([10, 20]))[0] == "reproduced"
    verdict, ours, note = critical_points.crossover_verdict(_out([2, 5, 10, 20]))
    assert verdict == "mixed"
    assert "r* ∈ {10, 20}" in note and "at r* = 2 global minima dominate from h = 0" in note
    assert "at r* = 5 global minima dominate from h = 1" in note and "through h = 30" in note
    assert "r* = 2: never / never" in ours
    assert critical_points.crossover_verdict(_out([2]))[0] == "not reproduced"
    reg = critical_points.saddle_regimes(_out([10]))
    assert reg.loc[(10, "B"), "saddles outnumber minima at"] == "h ≤ 2"
    assert reg.loc[(10, "A"), "saddles outnumber minima at"] == "h ≤ 3"
    # minima outnumbered again late: the vast half fails
    broken = _out([10])
    broken["10"]["B"][-1] = True
    assert critical_points.crossover_verdict(broken)[0] == "not reproduced"


def _record(chapter):
    paths = glob.glob(f"results/small/{chapter}-*.json")
    if not paths:
        pytest.skip(f"no committed small result of {chapter}")
    return json.load(open(paths[0]))


def test_mli_premise_needs_room_for_the_paired_test(committed_results, monkeypatch):
    monkeypatch.chdir(committed_results.parent)
    record = _record("mli")
    claim = mli.CLAIMS[0]
    curves = record["result"]["curves"]
    std = [c for c in curves if c["variant"] == "standard"]
    non_monotonic = sum(not c["monotonic"] for c in std)
    assert mli.report.MIN_NON_MONOTONIC == 5 and 0.5 ** 5 < stats.ALPHA <= 0.5 ** 4
    if non_monotonic < 5:
        assert claim.judge(record).verdict == "not testable at this scale"
    # the same record with five more standard curves made non-monotonic: the premise holds, the test decides
    room = copy.deepcopy(record)
    flipped = 0
    for c in room["result"]["curves"]:
        if c["variant"] == "standard" and c["monotonic"] and flipped < 5:
            c["monotonic"], flipped = 0, flipped + 1
    assert mli.report.standard_non_monotonic(room)[0]
    assert claim.judge(room).verdict != "not testable at this scale"


def test_overfitting_covers_both_asymmetric_variants(committed_results, monkeypatch):
    monkeypatch.chdir(committed_results.parent)
    record = _record("appendix_a")
    a = appendix_a.CLAIMS[1].judge(record)
    assert "σ-Asym" in a.ours and "W-Asym" in a.ours and "σ-Asym" in a.note
    # σ-Asym overfitting more than standard by a wide margin, W-Asym less: "mixed"
    rec = copy.deepcopy(record)
    for m in rec["result"]["members"]:
        if m["variant"] == "sigma_asym":
            m["train_acc"] = m["test_acc"] + 0.05 + 0.001 * m["member"]
        if m["variant"] == "w_asym":
            m["train_acc"] = m["test_acc"]
        if m["variant"] == "standard":
            m["train_acc"] = m["test_acc"] + 0.01 + 0.0001 * m["member"]
    a = appendix_a.CLAIMS[1].judge(rec)
    assert a.verdict == "mixed" and "overfits more: σ-Asym" in a.note
    # nothing overfits: not testable, whatever the asymmetric variants do
    for m in rec["result"]["members"]:
        m["train_acc"] = m["test_acc"]
    assert appendix_a.CLAIMS[1].judge(rec).verdict == "not testable at this scale"
