"""The sentences and picks the critical-points, symmetries, LMC, MLI and Appendix A chapters print, computed in their
``report.py`` (the notebooks only display them): each checked against the committed ``small`` records, which the
ledger reads too, and against small hand-made records whose answers are known."""
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

CHAPTERS = ledger.CHAPTERS  # every chapter of the book


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


@pytest.mark.parametrize("path", sorted((ROOT / "book").glob("*.ipynb")), ids=lambda p: p.name)
def test_notebook_cells_have_unique_ids(path):
    """nbformat 4.5 requires a cell id (a missing one warns now and will be an error in later nbformat)."""
    nb = json.loads(path.read_text())
    ids = [c.get("id") for c in nb["cells"]]
    assert (nb["nbformat"], nb["nbformat_minor"]) < (4, 5) or (None not in ids and len(set(ids)) == len(ids)), \
        f"{path.name}: cells without an id or with a repeated one"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_notebook_cells_hold_no_logic(chapter):
    """The chapter's notebook only configures, loads and displays: no functions, loops, comprehensions, f-strings,
    arithmetic, comparisons or picks out of the record — that is the report's job, where it is tested."""
    path = ROOT / "book" / f"{chapter}.ipynb"
    if not path.exists():  # a drafted chapter, not yet in the book (book/drafts/README.md)
        path = ROOT / "book" / "drafts" / f"{chapter}.ipynb"
    nb = json.loads(path.read_text())
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


# ------------------------------------------------------------------------------------------------------------- MLI

from symlib.chapters import appendix_a as app  # noqa: E402
from symlib.chapters import mli  # noqa: E402
from symlib.formatting import listing, minutes, points  # noqa: E402
from symlib.variants import LABELS, VARIANTS  # noqa: E402


def _mli_curve(variant, member, start, delta, monotonic, tolerant=None):
    """A straight descent from ``start`` to 1 with one rise of ``delta`` (> 0: non-monotonic) at the last step."""
    alpha = [0.0, 0.5, 1.0]
    loss = [start, 1.0 - max(delta, 0), 1.0] if delta > 0 else [start, (start + 1) / 2, 1.0]
    return {"variant": variant, "member": member, "alpha": alpha, "loss": loss, "final_train_loss": loss[-1],
            "delta": delta, "monotonic": float(monotonic),
            "monotonic_tolerant": float(monotonic if tolerant is None else tolerant), "local_convexity": 0.5,
            "global_convexity": 0.8, "global_convexity_interior": 0.75, "rise_alpha": 1.0,
            "rise_is_last_step": 1.0}


def _mli_record(n=6, zoo="small"):
    """``n`` members per variant: standard members 0 and 1 rise (member 1 only by a tiny bump), σ-Asym member 0 rises,
    W-Asym never; W-Asym starts from a loss of 5, the others from 3; σ-Asym member ``n - 1`` diverged."""
    curves, members = [], []
    for v in VARIANTS:
        for i in range(n):
            if v == "sigma_asym" and i == n - 1:
                members.append({"variant": v, "member": i, "test_acc": float("nan"), "diverged": True})
                continue
            rises = {"standard": {0: 0.02, 1: 0.001}, "sigma_asym": {0: 0.01}}.get(v, {})
            delta = rises.get(i, -0.01 * (i + 1))
            curves.append(_mli_curve(v, i, 5.0 if v == "w_asym" else 3.0, delta, delta <= 0,
                                     tolerant=delta <= 0.005))
            members.append({"variant": v, "member": i, "test_acc": {"standard": 0.5, "sigma_asym": 0.55,
                                                                    "w_asym": 0.4}[v] + 0.01 * i, "diverged": False})
    return {"manifest": {"config": {"zoo": zoo, "n_members": n, "scale": "small"}},
            "result": {"curves": curves, "members": members,
                       "diverged": {"standard": 0, "sigma_asym": 1, "w_asym": 0}}}


def test_zoo_recipe_is_the_named_zoos():
    from symlib.zoo import RECIPES
    assert mli.zoo_recipe({"zoo": "small"}) is RECIPES["small"]
    assert mli.zoo_recipe({"zoo": "ci", "n_members": 3}) is RECIPES["ci"]
    with pytest.raises(KeyError):
        mli.zoo_recipe({"zoo": "no such zoo"})


def test_zoo_build_text(records):
    from symlib.zoo import Zoo
    r = records["mli"]
    cfg = r["manifest"]["config"]
    summary = Zoo(cfg["zoo"]).stored_summary(cfg["n_members"])
    assert summary is not None  # the committed small zoo's record
    text = mli.zoo_build_text(r)
    assert text.startswith(f"The zoo: {cfg['n_members']} members per variant")
    assert minutes(summary["result"]["build_time_s"]) in text and summary["manifest"]["git_commit"][:12] in text


def test_zoo_build_text_says_when_a_record_did_not_build_the_whole_zoo(monkeypatch):
    from symlib.zoo import Zoo
    r = _mli_record(n=3)
    summary = {"manifest": {"device": "cpu", "git_commit": "0123456789abcdef"},
               "result": {"n_members": 3, "recipe": {"variants": ["standard", "w_asym"]}, "trained_now": 6,
                          "build_time_s": 120.0}}
    monkeypatch.setattr(Zoo, "stored_summary", lambda self, n: summary)
    assert mli.zoo_build_text(r) == ("The zoo: 3 members per variant, built in 2 min on cpu "
                                     "(commit `0123456789ab`).")
    summary["result"]["trained_now"] = 2
    assert mli.zoo_build_text(r).startswith("The zoo: 3 members per variant; its record was written by a build that "
                                            "trained 2 of its 6 members (")


def test_zoo_build_text_without_a_stored_zoo(monkeypatch, tmp_path):
    monkeypatch.setenv("SYMLIB_RESULTS", str(tmp_path))
    assert mli.zoo_build_text(_mli_record(n=3)) == ("The zoo: 3 members per variant (its build record, with the "
                                                    "build's time and device, is not among the stored results).")


def test_mli_verdict_summary_on_a_hand_made_record():
    s = mli.verdict_summary(_mli_record())
    assert s["monotonic"] == pytest.approx({"standard": 4 / 6, "sigma_asym": 4 / 5, "w_asym": 1.0})
    assert s["monotonic_tolerant"] == pytest.approx({"standard": 5 / 6, "sigma_asym": 4 / 5, "w_asym": 1.0})
    assert s["delta"]["w_asym"] == pytest.approx(-0.035)
    assert s["delta"]["standard"] == pytest.approx((0.02 + 0.001 - 0.03 - 0.04 - 0.05 - 0.06) / 6)
    assert s["test_acc"] == pytest.approx({"standard": 0.525, "sigma_asym": 0.57, "w_asym": 0.425})  # NaN: diverged
    assert s["start_loss"] == {"standard": 3.0, "sigma_asym": 3.0, "w_asym": 5.0}
    assert s["diverged"] == {"standard": 0, "sigma_asym": 1, "w_asym": 0}
    assert s["largest_delta"] == pytest.approx(0.02)


def test_mli_verdict_text_on_a_hand_made_record(monkeypatch):
    from symlib.zoo import RECIPES
    rec = _mli_record()
    text = mli.verdict_text(rec)
    assert text.startswith("\nOf 6 members per variant, 100\u202f% of W-Asym, 80\u202f% of σ-Asym and\n67\u202f% of "
                           "standard networks interpolate monotonically")
    assert "(paper:\n100.0\u202f%, 87.3\u202f%, 26.3\u202f%); mean Δ −0.0350, " in text
    assert "nats; 1 σ-Asym members diverged." in text
    assert "the shares are 100\u202f%, 80\u202f% and 83\u202f%." in text
    assert f"\n\n{ledger.sentence(mli.CLAIMS[0], rec)}\n\n" in text
    assert ("mean test accuracy of 52.5\u202f% (standard),\n57.0\u202f% (σ-Asym) and 42.5\u202f% (W-Asym) on "
            "16×16 images") in text
    assert "The largest Δ of any member is\n0.0200 nats." in text
    assert "(mean $L(0)$\n5.00 against 3.00 nats for standard networks" in text and "std κ = 2, dwarf" in text
    # the image size and κ are the zoo recipe's
    monkeypatch.setitem(RECIPES, "small", {**RECIPES["small"], "image_size": 8, "kappa": 0.5})
    text = mli.verdict_text(rec)
    assert "on 8×8 images" in text and "std κ = 0.5, dwarf" in text


def test_mli_verdict_text(records):
    r = records["mli"]
    m, s = mli.metrics_frame(r), mli.verdict_summary(r)
    recipe = mli.zoo_recipe(r["manifest"]["config"])
    for v in VARIANTS:
        assert s["monotonic"][v] == pytest.approx(m[m.variant == v].monotonic.mean())
        assert s["start_loss"][v] == pytest.approx(np.mean([c["loss"][0] for c in r["result"]["curves"]
                                                            if c["variant"] == v]))
    text = mli.verdict_text(r)
    assert f"Of {r['manifest']['config']['n_members']} members per variant, {percent(s['monotonic']['w_asym'], 0)} " \
           f"of W-Asym" in text
    assert f"The largest Δ of any member is\n{number(m.delta.max(), 4)} nats" in text
    assert f"on {recipe['image_size']}×{recipe['image_size']} images" in text
    assert f"std κ = {listing(recipe['kappa'])}," in text
    assert ledger.sentence(mli.CLAIMS[0], r) in text


def test_mli_claim_numbers_go_through_formatting():
    """The premise's and the claim's shares read as before the move to symlib.formatting (whole percents)."""
    rec = _mli_record()
    ok, text = mli.CLAIMS[0].premise.check(rec)
    assert not ok
    assert text.startswith("2 of 6 standard members are non-monotonic (33 %; paper 73.7 %)")
    assert mli.CLAIMS[0].assess(rec).ours == "monotonic W-Asym / σ-Asym / Standard: 100 % / 80 % / 67 %"


# ------------------------------------------------------------------------------------------------------ Appendix A

def _app_record(grid_epochs=8):
    """Pairs (0, 1), (2, 3), (4, 5) per variant; members 0-5 per variant, standard overfitting by 2 points, σ-Asym
    by 3, W-Asym by 1, with member 5 of σ-Asym diverged; a 2 × 2 Figure-6 grid beside the standard run, one cell
    never reaching the threshold."""
    pairs = [{"variant": v, "a": 2 * k, "b": 2 * k + 1, "barrier": b + 0.01 * k,
              "distance_per_parameter": d * (1 + 0.1 * k)}
             for v, d, b in (("standard", 0.001, 0.5), ("sigma_asym", 0.0011, 0.1), ("w_asym", 0.0012, 0.02))
             for k in range(3)]
    members = [{"variant": v, "member": i, "train_acc": 0.5 + 0.01 * i + gap + 0.001 * i * i,
                "test_acc": 0.5 + 0.01 * i, "diverged": v == "sigma_asym" and i == 5}
               for v, gap in (("standard", 0.02), ("sigma_asym", 0.03), ("w_asym", 0.01)) for i in range(6)]
    runs = [{"variant": "standard", "n_fix": 0, "kappa": 0.0, "fixed_entries": 0, "train_acc": [0.3, 0.45, 0.5],
             "epochs_to_threshold": 2, "diverged": False}]
    runs += [{"variant": "w_asym", "n_fix": n, "kappa": k, "fixed_entries": 1000 * n,
              "train_acc": [0.2, 0.3, 0.35 if e is None else 0.45], "epochs_to_threshold": e, "diverged": False}
             for (n, k), e in (((4, 0.75), 2), ((4, 1.5), 3), ((8, 0.75), 3), ((8, 1.5), None))]
    return {"manifest": {"config": {"grid_epochs": grid_epochs, "scale": "small"}},
            "result": {"pairs": pairs, "members": members, "training_speed": {"threshold": 0.41632, "runs": runs}}}


def test_threshold_text():
    assert app.threshold_text(_app_record()) == "Here the threshold is **41.6\u202f%** training accuracy."


def test_appendix_a_verdict_summary_on_a_hand_made_record():
    s = app.verdict_summary(_app_record())
    assert s["distance"] == pytest.approx({"standard": 0.0011, "w_asym": 0.00132})
    assert s["barrier"] == pytest.approx({"standard": 0.51, "w_asym": 0.03})
    assert s["gap"] == pytest.approx({"standard": 0.02 + 0.001 * 55 / 6, "sigma_asym": 0.03 + 0.001 * 30 / 5,
                                      "w_asym": 0.01 + 0.001 * 55 / 6})  # σ-Asym's diverged member left out


def test_appendix_a_verdict_text_on_a_hand_made_record():
    rec = _app_record()
    text = app.verdict_text(rec)
    assert text.startswith("\nDistance per parameter: 0.00110 (standard) vs 0.00132 (W-Asym), with\nmidpoint "
                           "barriers 0.510 vs 0.030 nats. Mean train − test accuracy gap:\n"
                           f"{points(0.02 + 0.001 * 55 / 6, 2)} (standard), 3.60\u202fpoints (σ-Asym) and ")
    assert text.endswith(f"\n(W-Asym).\n\n{ledger.sentences(app.CLAIMS, rec)}\n")


def test_appendix_a_verdict_text(records):
    r = records["appendix_a"]
    pairs, of = app.pairs_frame(r), app.overfitting_frame(r)
    text = app.verdict_text(r)
    for v in ("standard", "w_asym"):
        assert number(pairs[pairs.variant == v].distance_per_parameter.mean(), 5) in text
        assert number(pairs[pairs.variant == v].barrier.mean()) in text
    for v in VARIANTS:
        label = "standard" if v == "standard" else LABELS[v]
        assert f"{points(of[of.variant == v].gap.mean(), 2)} ({label})" in text.replace("\n", " ")
    assert all(ledger.sentence(c, r) in text for c in app.CLAIMS)
    assert app.threshold_text(r) == \
        f"Here the threshold is **{percent(r['result']['training_speed']['threshold'])}** training accuracy."


def test_appendix_a_tables_and_claims_read_as_before():
    """Numbers moved to symlib.formatting read as the f-strings they replace did."""
    rec = _app_record()
    t = app.speed_table(rec)
    assert list(t.index) == ["standard", "W-Asym, n_fix 4, κ 0.75", "W-Asym, n_fix 4, κ 1.5",
                             "W-Asym, n_fix 8, κ 0.75", "W-Asym, n_fix 8, κ 1.5"]
    assert list(t["epochs to the threshold"]) == ["2", "2", "3", "3", "never (in 8)"]
    assert app.report.standard_reaches_threshold(rec)[1] == \
        "the standard ResNet reaches 41.6 % training accuracy in 2 epochs"
    a = app.report.figure6_claim(rec)
    assert a.ours == "standard 2 epochs; W-Asym cells 2–3 epochs, 1 of 4 never reach it in 8"
    assert a.note.startswith("Spearman ρ with n_fix 0.") and ", with κ 0." in a.note
    assert app.report.distance_claim(rec).ours == ("distance 0.00132 vs 0.00110; barrier 0.030 vs 0.510 "
                                            "(W-Asym vs Standard, 3 pairs)")
    assert app.report.overfitting_claim(rec).ours.startswith("train − test accuracy gap: σ-Asym 3.60, W-Asym ")
