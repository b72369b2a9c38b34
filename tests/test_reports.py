"""The sentences and picks the critical-points, symmetries and LMC chapters print, computed in their ``report.py``
(the notebooks only display them): each checked against the committed ``small`` records, which the ledger reads
too, and against small hand-made records whose answers are known."""
import ast
import copy
import glob
import importlib
import json
import math
from pathlib import Path

import numpy as np
import pytest

from symlib import ledger, params
from symlib.chapters import critical_points as cp
from symlib.chapters import lmc
from symlib.chapters import symmetries as sym
from symlib.formatting import integer, mean_sd, number, percent, sci, sig
from symlib.theory import counting

ROOT = Path(__file__).resolve().parents[1]

CHAPTERS = ("critical_points", "symmetries", "lmc")


def _committed(chapter: str) -> dict:
    """What the ledger reads for ``chapter``; if its config changed since the committed ``small`` result was computed
    (a renamed parameter), that committed record itself, so the report is still checked on real numbers."""
    record = ledger.chapter_record(chapter)
    if record is None:
        files = sorted(glob.glob(str(ROOT / "results" / "small" / f"{chapter}-*.json")))
        assert files, f"no committed small result for {chapter}"
        record = json.loads(open(files[-1]).read())
        record.setdefault("stale", [])
    return record


@pytest.fixture
def records(committed_results):
    return {c: _committed(c) for c in CHAPTERS}


# ------------------------------------------------------------------------------------ what the ledger can call

def _text_functions(chapter: str):
    mod = importlib.import_module(f"symlib.chapters.{chapter}")
    return [(name, getattr(mod, name)) for name in mod.report.__all__ if name.endswith("_text")
            and name not in ("labelling_text", "claim_text")]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_text_reads_the_ledgers_record(chapter, records):
    """Each ``*_text`` takes nothing but the record the ledger reads, and says something."""
    functions = _text_functions(chapter)
    assert functions, f"{chapter} exports no *_text"
    for name, f in functions:
        text = f(records[chapter])
        assert isinstance(text, str) and text.strip(), name
        words = set(text.replace("(", " ").replace(")", " ").split())
        assert not words & {"nan", "NaN", "None", "inf"}, f"{chapter}.{name}: a missing number: {text!r}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_claim_sentences_are_the_ledgers(chapter, records):
    mod = importlib.import_module(f"symlib.chapters.{chapter}")
    record = records[chapter]
    if hasattr(mod, "claim_text"):
        for c in mod.CLAIMS:
            assert mod.claim_text(record, c.key) == ledger.sentence(c, record)
        with pytest.raises(KeyError):
            mod.claim_text(record, "no.such_claim")


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_parameter_has_a_label(chapter):
    """The parameter table names every parameter the chapter accepts, and nothing else (a renamed parameter, such
    as symmetries' ``figlu_scale`` -> ``figlu_gain``, is renamed in the labels too)."""
    mod = importlib.import_module(f"symlib.chapters.{chapter}")
    assert set(mod.PARAMETERS) == set(params.accepted(mod.PRESETS)) - {"recompute"}


LOGIC = (ast.FunctionDef, ast.Lambda, ast.ListComp, ast.DictComp, ast.SetComp, ast.GeneratorExp, ast.JoinedStr,
         ast.For, ast.While, ast.If, ast.IfExp, ast.Subscript, ast.BinOp, ast.Compare, ast.BoolOp)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_notebook_cells_hold_no_logic(chapter):
    """The chapter's notebook only configures, loads and displays: no functions, loops, comprehensions, f-strings,
    arithmetic, comparisons or picks out of the record — that is the report's job, where it is tested."""
    nb = json.loads((ROOT / "book" / f"{chapter}.ipynb").read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        src = "\n".join(l for l in "".join(cell["source"]).splitlines() if not l.startswith("%"))
        for node in ast.walk(ast.parse(src)):
            assert not isinstance(node, LOGIC), \
                f"{chapter}.ipynb: logic in a cell ({type(node).__name__}): {ast.unparse(node)[:100]!r}"


# ----------------------------------------------------------------------------------------------- critical points

def test_labelling_text():
    assert cp.labelling_text((1, 0, -1, -2, 2)) == "w*1 0 Z1 Z2 w*2"
    assert cp.labelling_text(()) == ""


def test_enumeration_table_lists_both_readings():
    t = cp.enumeration_table(1, 3)
    a, b = t.columns
    assert "reading A" in a and "reading B" in b
    assert len(t) == counting.T_B(1, 3) == 10
    assert (t[a] != "").sum() == counting.T_A(1, 3) == 7 and (t[b] != "").sum() == 10
    assert set(t[a]) - {""} == {cp.labelling_text(l) for l in counting.enumerate_T(1, 3, "A")}
    assert "w*1 Z1 Z1" in set(t[b]) and "w*1 Z1 Z1" not in set(t[a])
    assert list(t[a][7:]) == ["", "", ""]  # the shorter column padded with blanks, not NaN


def _cp_counts_record(corrupt_grid=False, corrupt_raw=False):
    grid = [{"r_star": r, "m": r + h, "h": h, "G": 1, "G_brute": 1, "T_A": 2, "T_A_brute": 2, "T_B": 3, "T_B_brute": 3}
            for r in (1, 2) for h in (0, 1)]
    raw = [{"T_A": 2, "T_A_raw": 2, "T_B": 3, "T_B_raw": 3} for _ in range(3)]
    if corrupt_grid:
        grid[1]["T_B_brute"] = 4
    if corrupt_raw:
        raw[0]["T_A_raw"] = 1
        raw[2]["T_B_raw"] = 1
    return {"result": {"counts_check": grid, "raw_check": raw}}


def test_counts_summary_counts_agreements():
    assert cp.counts_summary(_cp_counts_record()) == {"grid_agree": 4, "grid": 4, "raw_agree": 3, "raw": 3}
    assert cp.counts_summary(_cp_counts_record(corrupt_grid=True))["grid_agree"] == 3
    assert cp.counts_summary(_cp_counts_record(corrupt_raw=True))["raw_agree"] == 1


def test_counts_text(records):
    r = records["critical_points"]
    res = r["result"]
    text = cp.counts_text(r)
    n, k = len(res["counts_check"]), len(res["raw_check"])
    assert f"{n} of {n} grid points agree" in text and f"{k} of {k} raw\nenumerations" in text
    assert "$T_A(1,3) = 7$" in text and "$T_B(1,3) = 10$" in text
    assert "3,360\nagainst 3,720" in text  # T_A(4, 6), T_B(4, 6)
    assert "$h\\le 1$" in text  # LaTeX, one backslash
    assert "3 of 4 grid points" in cp.counts_text(_cp_counts_record(corrupt_grid=True))


def test_cancelling_pair_text(records):
    r = records["critical_points"]
    b = r["result"]["b_demo"]
    text = cp.cancelling_pair_text(r)
    assert text.count("$(0.40, −0.10)$") == 2  # demo_w, with a real minus sign
    assert "output weights +0.70 and\n−0.70" in text
    assert f"(of {integer(counting.T_A(4, 6))}): `{b['labels_A']}`, at distance {number(b['distance_A'], 4)}" in text
    assert f"(of {integer(counting.T_B(4, 6))}): `{b['labels_B']}`, at distance {sci(b['distance_B'])}" in text
    assert f"sits {number(b['distance_A'], 2)} away" in text
    # the pair is the last two neurons, whatever they hold
    other = copy.deepcopy(r)
    other["result"]["b_demo"]["W"][-1] = [1.25, -2.5]
    other["result"]["b_demo"]["a"][-2:] = [0.3, -0.3]
    text = cp.cancelling_pair_text(other)
    assert "$(1.25, −2.50)$" in text and "+0.30 and\n−0.30" in text


def test_crossover_text(records):
    r = records["critical_points"]
    cross = r["result"]["crossover"]
    text = cp.crossover_text(r)
    ratio = counting.saddle_to_minimum_ratio(10, 10, "B")
    assert f"For $r^* = 10$ there are {number(float(ratio), 1)} times more" in text and "27.2" in text
    assert f"$h = {cross['10']['B']}$ (reading B; $h = {cross['10']['A']}$ with reading A)" in text
    assert f"for $r^*=20$ at\n$h = {cross['20']['B']}$." in text
    # another grid of r*: the two largest are quoted, the ratio is the smaller one's
    small = {"result": {"crossover": {"5": {"A": 2, "B": 1}, "2": {"A": 0, "B": 0}, "7": {"A": 3, "B": 4}}}}
    text = cp.crossover_text(small)
    assert f"$r^* = 5$ there are {number(float(counting.saddle_to_minimum_ratio(5, 5, 'B')), 1)} times" in text
    assert "$h = 1$ (reading B; $h = 2$ with reading A), and for $r^*=7$ at\n$h = 4$." in text
    assert "for $r^*=" not in cp.crossover_text({"result": {"crossover": {"7": {"A": 3, "B": 2}}}})


def test_path_texts(records):
    r = records["critical_points"]
    p = r["result"]["path"]
    seg = cp.path_segments_text(r)
    assert seg.startswith("The path's segments: ") and seg.endswith(" …")
    assert seg.removeprefix("The path's segments: ").removesuffix(" …").split("; ") == p["labels"][:7]
    short = {"result": {"path": {"labels": ["a", "b"]}}}
    assert cp.path_segments_text(short) == "The path's segments: a; b"
    text = cp.path_text(r)
    assert f"the loss rises to {number(p['linear_barrier'])}" in text
    assert f"{len(p['labels'])} segments, {integer(len(p['losses']))} points" in text
    assert f"the largest loss is\n{sci(p['max_loss'])}" in text
    assert cp.claim_text(r, "critical_points.transfer_path") in text


def _student(i, loss, on, kind="zero", grad=1e-12, hess=(0.1, 1.0), a=(1.0, -2.0)):
    return {"student": i, "loss": loss, "on_manifold": on, "kind": kind, "distance": 1e-6 if on else 0.5,
            "closest_pair_distance": 0.1, "smallest_abs_a": 1e-3, "sign_flipped": [], "a": list(a), "grad_max": grad,
            "hessian_eigenvalues": list(hess)}


def test_students_summary_on_a_hand_made_record():
    rec = {"result": {"students": [
        _student(0, 1e-20, True, "duplicate"), _student(1, 1e-22, True, "zero"), _student(2, 2e-22, True, "zero"),
        _student(3, 1e-9, False, grad=1e-10),                  # strict local minimum
        _student(4, 3e-7, False, grad=1e-3),                   # not critical
        _student(5, 1e-6, False, grad=1e-10, hess=(-1e-3, 1))  # a saddle
    ]}}
    s = cp.students_summary(rec)
    assert (s["students"], s["on"], s["duplicate"], s["zero"], s["off"], s["strict"], s["consistent"]) == \
        (6, 3, 1, 2, 3, 1, 6)
    assert s["on_max_loss"] == 1e-20 and s["off_min_loss"] == 1e-9 and s["off_max_loss"] == 1e-6
    rec["result"]["students"][3]["loss"] = 1e-16  # a zero loss off the manifold: the detector is inconsistent
    assert cp.students_summary(rec)["consistent"] == 5
    text = cp.students_text(rec)
    assert text.startswith("\n3 of 6 students reach") and "(1\non a duplicated-pair subspace, 2 with" in text
    assert f"({sci(1e-16)} to {sci(1e-6)})" in text and "; 1 of them have a vanishing gradient" in text
    assert "(For 5 of the 6 students" in text and "$10^{-14}$" in text
    none_on = {"result": {"students": [_student(0, 1e-9, False)]}}
    assert "losses are at most —" in cp.students_text(none_on)


def test_students_text(records):
    r = records["critical_points"]
    st = r["result"]["students"]
    on = [s for s in st if s["on_manifold"]]
    s = cp.students_summary(r)
    assert s["students"] == len(st) and s["on"] == len(on) and s["off"] == len(st) - len(on)
    assert s["duplicate"] + s["zero"] == s["on"] and s["strict"] <= s["off"]
    assert s["consistent"] == len(st)  # the committed record's detector agrees with every loss
    text = cp.students_text(r)
    assert f"{len(on)} of {len(st)} students reach the global-minimum manifold" in text
    assert f"at most {sci(max(x['loss'] for x in on))}" in text
    off = [x["loss"] for x in st if not x["on_manifold"]]
    assert f"({sci(min(off))} to {sci(max(off))})" in text


# ------------------------------------------------------------------------------------------------------ symmetries

def test_setup_text(records):
    r = records["symmetries"]
    cfg, data = r["manifest"]["config"], r["result"]["data"]
    text = sym.setup_text(r)
    assert text.startswith(f"MLPs of width {cfg['width']} with {cfg['depth']} linear layers")
    assert "(W-Asym: 64, 16, 16, 64 fixed entries per row, κ = 1, 1, 0.5, 0.25)" in text  # the small preset's
    assert f"trained on {integer(data['train'])} MNIST images for {cfg['epochs']} epoch(s)" in text
    assert f"measured on {integer(data['eval'])} test images." in text and "10,000" in text


def _fc_row(variant, transform="permutation", state="trained", family="mlp", change=0.5, acc=0.9, after=0.4,
            changed=0.6):
    return {"family": family, "variant": variant, "transform": transform, "state": state, "change_max": change,
            "changes": [change], "acc_before": acc, "acc_after_mean": after, "pred_changed_mean": changed}


def test_permutation_effect_picks_the_trained_permutation_of_the_books_mlp():
    rows = [_fc_row("w_asym", state="random init", changed=0.1), _fc_row("w_asym", family="relu_mlp", changed=0.2),
            _fc_row("w_asym", changed=0.934, acc=0.9361, after=0.0719), _fc_row("w_asym", "rescaling", changed=0.3)]
    rec = {"result": {"function_change": rows}}
    assert sym.permutation_effect(rec, "w_asym") == \
        f"{percent(0.934, 0)} of its test predictions (accuracy {percent(0.9361)} → {percent(0.0719)})"
    assert percent(0.934, 0) == "93\u202f%" and percent(0.0719) == "7.2\u202f%"
    assert sym.permutation_effect(rec, "w_asym", family="relu_mlp").startswith(f"{percent(0.2, 0)} of")


def test_function_change_text(records):
    r = records["symmetries"]
    fc = sym.function_change_summary(r)
    text = sym.function_change_text(r)
    assert f"at most {sci(fc['standard_permutation'])}, and\nevery rescaling" in text
    assert f"by at most {sci(fc['standard_rescaling'])} — floating-point" in text
    assert f"is {percent(fc['standard_predictions_changed'], 0)}." in text
    assert f"made is {sig(fc['asymmetric_permutation'])} logits" in text
    for v in ("w_asym", "sigma_asym"):
        assert sym.permutation_effect(r, v) in text
    assert sym.claim_text(r, "symmetries.function_change") in text


def test_sweep_text_on_a_hand_made_record():
    rec = {"result": {"kappa_sweep": {"grid": [0.1, 1.0, 2.0], "mean": [0.5, 3.25, 2.0], "kappa_zero": 0.0123},
                      "figlu_sweep": {"grid": [0.01, 0.9, 3.0], "mean": [0.004, 0.81, 2.5]}}}
    text = sym.sweep_text(rec)
    assert "changes the logits by 0.012 (the masks" in text
    assert "it is 0.50 at κ = 0.1 and grows to\n3.2 (the largest mean on the grid, at κ = 1)" in text
    assert "0.81 at $c = 0.9$\nbut 0.0040 at $c = 0.01$" in text  # the scale nearest 1, and the smallest


def test_sweep_text(records):
    r = records["symmetries"]
    sw = sym.sweep_summary(r)
    text = sym.sweep_text(r)
    assert f"by {sig(sw['kappa_zero'])} (the masks" in text and f"grows to\n{sig(sw['kappa_max_change'])}" in text


def test_automorphism_agreement_and_text(records):
    rows = [{"automorphisms": 1, "predicted": 1}, {"automorphisms": 2, "predicted": 1},
            {"automorphisms": 24, "predicted": 24}]
    assert sym.automorphism_agreement({"result": {"automorphisms": rows}}) == (2, 3)
    r = records["symmetries"]
    n = len(r["result"]["automorphisms"])
    assert sym.automorphism_agreement(r) == (n, n)
    assert sym.automorphism_text(r) == (f"{n} of {n} counts agree with the prediction. "
                                        + sym.claim_text(r, "symmetries.automorphisms"))


def test_equivariance_text(records):
    r = records["symmetries"]
    assert r["manifest"]["config"]["equivariance_dim"] == 5
    text = sym.equivariance_text(r)
    assert text.startswith("With $d = 5$ the search tries all 14,400 permutation pairs. ")
    assert text.endswith(sym.claim_text(r, "symmetries.figlu"))
    assert "1 of 14,400 permutation pairs" in text  # the claim formats its counts the same way
    other = copy.deepcopy(r)
    other["manifest"]["config"]["equivariance_dim"] = 3
    assert sym.equivariance_text(other).startswith("With $d = 3$ the search tries all 36 permutation pairs.")


def test_figlu_gain_is_the_parameters_name():
    assert "figlu_gain" in sym.PARAMETERS and "figlu_scale" not in sym.PARAMETERS


# ------------------------------------------------------------------------------------------------------------- LMC

def _lmc_record(figlu_std=(1.0, 0.0625), width=256, n_pairs=5):
    bars = {"standard": [0.2, 0.3, 0.4, 0.5, 0.6], "git_rebasin": [-0.01, 0.0, -0.02, 0.01, -0.03],
            "sigma_asym": [0.1, 0.12, 0.14, 0.16, 0.18], "sigma_asym_1": [0.3, 0.31, 0.32, 0.33, 0.34],
            "w_asym": [-0.02, -0.01, -0.03, 0.0, -0.04]}
    methods = ["standard", "git_rebasin", "sigma_asym", "w_asym"] + (["sigma_asym_1"] if len(figlu_std) > 1 else [])
    curves = [{"method": m, "pair": k, "barrier_mid": bars[m][k], "barrier_max": bars[m][k] + 0.01}
              for m in methods for k in range(n_pairs)]
    return {"manifest": {"config": {"figlu_std": list(figlu_std), "width": width, "n_pairs": n_pairs}},
            "result": {"curves": curves}}


def test_figlu_text():
    assert lmc.figlu_text(_lmc_record(figlu_std=[1.0])) == "Only one FiGLU scale was run at this scale."
    text = lmc.figlu_text(_lmc_record())
    assert text == ("With the authors' FiGLU scale (std 1) σ-Asym pairs reach a barrier of 0.140 ± 0.032 nats; with "
                    "std 0.0625 (= 1/√width) 0.320 ± 0.016 (standard: 0.400).")
    assert "(= 1/√width)" not in lmc.figlu_text(_lmc_record(figlu_std=[1.0, 0.5]))


def test_verdict_text_on_a_hand_made_record():
    rec = _lmc_record()
    text = lmc.verdict_text(rec)
    assert "midpoint barrier of **0.400 ± 0.158** nats over 5 pairs" in text
    assert "it is **−0.010**; σ-Asym networks reach\n**0.140** and W-Asym networks **−0.020**" in text
    assert "(Paper: 0.188, −0.006, 0.117, −0.012.)" in text
    assert ledger.sentences(lmc.CLAIMS, rec) in text and lmc.figlu_text(rec) in text


def test_verdict_text(records):
    r = records["lmc"]
    text = lmc.verdict_text(r)
    b = {m: lmc.barriers(r, m) for m in lmc.methods(r)}
    assert f"**{mean_sd(b['standard'])}** nats over {r['manifest']['config']['n_pairs']} pairs" in text
    for m in ("git_rebasin", "sigma_asym", "w_asym"):
        assert f"**{number(b[m].mean())}**" in text
    assert len(lmc.methods(r)) == 5 and "(= 1/√width)" in text  # the small preset runs both FiGLU scales
    assert math.isclose(r["manifest"]["config"]["figlu_std"][1], 1 / np.sqrt(r["manifest"]["config"]["width"]))
    assert all(ledger.sentence(c, r) in text for c in lmc.CLAIMS)
