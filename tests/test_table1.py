"""The Table 1 chapter: its presets are validated, it runs end to end at ``ci`` (a record that passes ``check``), its
report reads that record, and its verdicts are the right ones on hand-made records whose answers are known."""
import copy
import io
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import test_reports  # noqa: E402  (the notebook checker of the other chapters)
from symlib import ledger, params  # noqa: E402
from symlib.architectures.resnet20 import TABLE6_N_FIX, TABLE7_N_FIX  # noqa: E402
from symlib.chapters import table1  # noqa: E402
from symlib.plotting import MAX_WIDTH, set_style  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------------------ configure

def test_configure_takes_the_preset_and_refuses_what_it_does_not_know():
    cfg = table1.configure({"scale": "small"})
    assert cfg == {"scale": "small", "seed": 0, **table1.PRESETS["small"]}
    with pytest.raises(params.ParameterError, match="unknown parameter"):
        table1.configure({"scale": "ci", "width": 2})  # the MLP's name, not this chapter's
    with pytest.raises(params.ParameterError, match="unknown scale"):
        table1.configure({"scale": "huge"})
    with pytest.raises(params.ParameterError, match="increasing"):
        table1.configure({"scale": "ci", "widths": [2, 1]})
    with pytest.raises(params.ParameterError, match="resnet_epochs"):
        table1.configure({"scale": "ci", "widths": [1, 2], "resnet_epochs": [1]})
    with pytest.raises(params.ParameterError, match="odd"):
        table1.configure({"scale": "ci", "n_alpha": 4})
    with pytest.raises(params.ParameterError, match="gnn_data"):
        table1.configure({"scale": "ci", "gnn_data": "citeseer"})
    with pytest.raises(params.ParameterError, match="gnn_split"):
        table1.configure({"scale": "ci", "gnn_split": "random"})
    with pytest.raises(params.ParameterError, match="Cora only"):
        table1.configure({"scale": "paper", "gnn_split": "full"})
    with pytest.raises(params.ParameterError, match="downsample"):
        table1.configure({"scale": "ci", "downsample": 3})
    with pytest.raises(params.ParameterError, match="resnet_bar"):
        table1.configure({"scale": "ci", "resnet_bar": 60})
    assert table1.configure({"scale": "small", "widths": [1, 2, 4]})["resnet_epochs"] == [5, 5, 5]


def test_presets_follow_the_paper_and_small_states_its_bars():
    paper, small = table1.PRESETS["paper"], table1.PRESETS["small"]
    assert paper["widths"][0] == 1 and paper["widths"][-1] == 8 and paper["resnet_epochs"] == [100, 100, 50, 50]
    assert (paper["resnet_lr"], paper["resnet_sigma_lr"], paper["resnet_warmup_start_lr"]) == (1e-2, 1e-3, 1e-4)
    assert paper["resnet_kappa"] == 2.0 and paper["gnn_kappa"] == 0.5 and paper["gnn_n_fix"] == 6
    assert paper["gnn_data"] == "ogbn-arxiv" and paper["gnn_epochs"] == 500 and not paper["gnn_w_asym_figlu"]
    assert paper["gnn_split"] == "standard" and paper["gnn_weight_decay"] == 0.0
    assert small["gnn_data"] == "cora" and small["n_pairs"] >= 5
    assert small["resnet_bar"] is not None and small["gnn_bar"] is not None
    assert table1.PRESETS["ci"]["resnet_bar"] is None and table1.PRESETS["ci"]["gnn_bar"] is None


def test_the_full_split_trains_on_every_node_outside_validation_and_test():
    if not _data_present():
        pytest.skip("Cora not in $SYMLIB_DATA")
    from symlib.data import load_cora
    cora = load_cora()
    full = cora.full_split()
    assert int(cora.train_mask.sum()) == 140 and int(full.train_mask.sum()) == 2708 - 500 - 1000
    assert not (full.train_mask & (full.val_mask | full.test_mask)).any()
    assert full.train_mask[cora.train_mask].all()  # the public training nodes stay training nodes
    assert (full.val_mask == cora.val_mask).all() and (full.test_mask == cora.test_mask).all()


def test_gnn_warm_up_is_the_authors_lambda_lr():
    """``lr·(s+1)/25`` for steps ``s = 0…24``, then ``lr`` (the authors' ``LambdaLR``)."""
    from symlib.chapters.table1.compute import _gnn_pairs
    cfg = table1.configure({"scale": "paper"})
    tc = _gnn_pairs(cfg, "standard", 128, 40)[0].a.train
    assert [tc.lr_at(s, 1) for s in range(30)] == pytest.approx([1e-3 * min(s + 1, 25) / 25 for s in range(30)])


def test_w_asym_n_fix_is_table_6_at_1x_and_table_7_at_8x():
    assert table1.resnet_n_fix(1) == TABLE6_N_FIX
    assert table1.resnet_n_fix(8) == TABLE7_N_FIX
    n2, n4 = table1.resnet_n_fix(2), table1.resnet_n_fix(4)
    assert all(a <= b <= c <= d for a, b, c, d in zip(TABLE6_N_FIX, n2, n4, TABLE7_N_FIX))


def test_every_parameter_has_a_label():
    assert set(table1.PARAMETERS) == set(params.accepted(table1.PRESETS)) - {"recompute"}


def test_the_notebook_holds_no_logic():
    test_reports.test_notebook_cells_hold_no_logic("table1")


# ------------------------------------------------------------------------------------------------ the ci chapter

def _data_present() -> bool:
    root = Path(os.environ.get("SYMLIB_DATA", ROOT / "data"))
    return (root / "cifar-10-batches-py").exists() and (root / "Cora" / "raw").exists()


@pytest.fixture(scope="module")
def ci_record(tmp_path_factory):
    if not _data_present():
        pytest.skip("CIFAR-10 and Cora not in $SYMLIB_DATA")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SYMLIB_RESULTS", str(tmp_path_factory.mktemp("results")))
        mp.setenv("SYMLIB_MEMBERS", "off")
        cfg = table1.configure({"scale": "ci"})
        return table1.load_or_run(cfg, recompute=True, device="cpu")


def test_the_ci_chapter_runs_end_to_end(ci_record):
    rec = ci_record
    cfg = rec["manifest"]["config"]
    table1.check(rec)  # no bar at ci: only the invariants
    res = rec["result"]
    assert len(res["models"]) == (len(cfg["widths"]) + 1) * len(table1.ARMS) * 2 * cfg["n_pairs"]
    assert {c["row"] for c in res["curves"]} == set(table1.rows(cfg))
    assert {c["bn"] for c in res["curves"] if c["row"] == "gnn"} == {"reset", "naive"}
    assert {c["method"] for c in res["curves"] if c["row"] == "gnn"} == set(table1.gnn_methods())
    assert res["data"]["gnn_dataset"] == "cora" and res["data"]["gnn_nodes"] == 2708
    assert res["data"]["image_size"] == 32 // cfg["downsample"]
    # the naive GNN curves start and end at the networks' own losses; the reset ones do not have to
    naive = [c for c in res["curves"] if c["row"] == "gnn" and c["bn"] == "naive" and c["method"] == "standard"]
    assert naive[0]["loss"][0] == pytest.approx(naive[0]["endpoint_losses"][0], rel=1e-5)


def test_check_enforces_the_bars_and_the_endpoints(ci_record):
    rec = copy.deepcopy(ci_record)
    rec["manifest"]["config"]["resnet_bar"] = 0.99
    with pytest.raises(ValueError, match="training-quality bar not met: resnet20_1x"):
        table1.check(rec)
    rec = copy.deepcopy(ci_record)
    rec["manifest"]["config"]["gnn_bar"] = 0.99
    with pytest.raises(ValueError, match="training-quality bar not met: gnn"):
        table1.check(rec)
    rec = copy.deepcopy(ci_record)
    c = next(c for c in rec["result"]["curves"] if c["method"] == "git_rebasin" and c["row"] == "resnet20_1x")
    c["loss"][-1] += 0.1
    with pytest.raises(ValueError, match="permutation or interpolation bug"):
        table1.check(rec)
    rec = copy.deepcopy(ci_record)
    c = next(c for c in rec["result"]["curves"] if c["method"] == "git_rebasin_wm" and c["bn"] == "reset")
    c["loss"][-1] += 0.1
    with pytest.raises(ValueError, match="permutation bug"):
        table1.check(rec)
    rec = copy.deepcopy(ci_record)
    rec["result"]["curves"] = [c for c in rec["result"]["curves"] if not (c["method"] == "w_asym" and c["pair"] == 0)]
    with pytest.raises(ValueError, match="expected n_pairs"):
        table1.check(rec)


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def _check_figures(record, mlp):
    set_style()
    for draw in (lambda r: table1.figure3(r, mlp), table1.figure_width, table1.figure_batchnorm):
        fig = draw(record)
        assert fig.get_figwidth() <= MAX_WIDTH + 1e-9
        for ax in fig.axes:
            if ax.has_data():
                assert ax.get_xlabel(), "unlabelled x axis"
        assert _png(fig) == _png(draw(record))  # deterministic


def test_the_report_reads_the_ci_record(ci_record):
    rec = ci_record
    cfg = rec["manifest"]["config"]
    t = table1.table(rec, None)
    assert list(t.index) == ["MLP (MNIST), the LMC chapter's (not yet run)", "ResNet20 1× (CIFAR-10, 8×8 px)",
                             "ResNet20 2× (CIFAR-10, 8×8 px) [paper: 8×]", "GNN (Cora) [paper: ogbn-arXiv]"]
    assert t.loc["ResNet20 1× (CIFAR-10, 8×8 px)", ("Standard", "paper")] == "3.287 ± 0.32"
    assert t.loc["ResNet20 2× (CIFAR-10, 8×8 px) [paper: 8×]", ("W-Asym", "paper")] == "0.031 ± 0.05"
    assert len(table1.width_table(rec)) == len(cfg["widths"])
    assert len(table1.endpoint_table(rec)) == (len(cfg["widths"]) + 1) * 3
    assert len(table1.matching_table(rec)) == len(cfg["widths"]) + 2
    for name in [n for n in table1.report.__all__ if n.endswith("_text")]:
        text = getattr(table1, name)(rec)
        assert text.strip() and not {"nan", "NaN", "None", "inf"} & set(text.replace("(", " ").split()), name
    assert "2× at ci" in table1.setup_text(rec) and "Cora, not the paper's ogbn-arXiv" in table1.setup_text(rec)
    assert all(ledger.sentence(c, rec) in table1.verdict_text(rec) for c in table1.CLAIMS)
    assert "verdict-" in ledger.chapter_table(table1.CLAIMS, rec)
    _check_figures(rec, None)


# ------------------------------------------------------------------------------------------------ hand-made records

GOOD = {"standard": 3.0, "git_rebasin": 2.0, "sigma_asym": 2.5, "w_asym": 0.9}  # the paper's 1× row, rounded
GOOD_WIDE = {"standard": 2.6, "git_rebasin": 0.5, "sigma_asym": 1.5, "w_asym": 0.03}
SPREAD = np.array([-0.02, -0.01, 0.0, 0.01, 0.02])


def _curve(row, width, method, bn, k, b):
    return {"row": row, "width": width, "method": method, "bn": bn, "pair": k, "alpha": [0.0, 0.5, 1.0],
            "loss": [1.0, 1.0 + b, 1.0], "acc": [0.6, 0.5, 0.6], "barrier_mid": float(b), "barrier_max": float(b),
            "matching_time_s": 0.01, "identity_fraction": 0.1, "matching_relative_gain": 0.2}


def _handmade(widths=(1, 2), rows=None, n_pairs=5):
    """A record whose barriers are ``rows[row][method] + SPREAD``: by default the paper's ordering in every row."""
    cfg = table1.configure({"scale": "ci", "widths": list(widths), "n_pairs": n_pairs})
    rows = rows or {}
    means = {f"resnet20_{w}x": rows.get(f"resnet20_{w}x", GOOD if i == 0 else GOOD_WIDE) for i, w in enumerate(widths)}
    means["gnn"] = rows.get("gnn", GOOD_WIDE)
    curves = []
    for row, m in means.items():
        width = None if row == "gnn" else int(row[9:-1])
        methods = table1.gnn_methods() if row == "gnn" else table1.resnet_methods()
        for bn in (("reset", "naive") if row == "gnn" else ("none",)):
            for method in methods:
                mean = m.get(method, m["git_rebasin"])
                values = np.broadcast_to(np.asarray(mean, dtype=float), (n_pairs,)) + SPREAD[:n_pairs]
                curves += [_curve(row, width, method, bn, k, v) for k, v in enumerate(values)]
    models = [{"row": r, "width": None, "arm": a, "pair": k, "member": j, "test_loss": 1.0, "test_acc": 0.6,
               "train_time_s": 1.0, "history": {}} for r in means for a in table1.ARMS for k in range(n_pairs)
              for j in (0, 1)]
    data = {"resnet_train": 100, "resnet_test": 100, "image_size": 8, "gnn_dataset": "cora", "gnn_nodes": 2708,
            "gnn_train": 140}
    return {"manifest": {"config": cfg}, "result": {"curves": curves, "models": models, "data": data}}


def _verdicts(record):
    return {c.key: c.judge(record).verdict for c in table1.CLAIMS}


def test_the_papers_ordering_is_reproduced():
    rec = _handmade()
    assert set(_verdicts(rec).values()) == {"reproduced"}
    a = table1.ordering(rec, "resnet20_1x")
    assert a.ours == "ResNet20 1× (CIFAR-10, 8×8 px): 0.900 / 2.000 / 2.500 / 3.000"
    assert "W-Asym < Git Re-Basin: yes (Welch" in a.note


def test_one_part_reversed_significantly_is_mixed():
    rows = {"resnet20_1x": {**GOOD, "sigma_asym": 4.0}, "gnn": {**GOOD_WIDE, "w_asym": 1.0}}
    v = _verdicts(_handmade(rows=rows))
    assert v["table1.resnet20_1x_ordering"] == "mixed" and v["table1.gnn_ordering"] == "mixed"
    assert v["table1.resnet20_wide_ordering"] == "reproduced"
    note = table1.ordering(_handmade(rows=rows), "resnet20_1x").note
    assert "significantly the other way: σ-Asym < Standard" in note
    # the width claim: W-Asym worse at the wider width, Git Re-Basin better
    wide = {"resnet20_2x": {**GOOD_WIDE, "w_asym": 1.5}}
    assert _verdicts(_handmade(rows=wide))["table1.width_helps"] == "mixed"


def test_a_part_the_other_way_without_significance_makes_the_ordering_mixed():
    # σ-Asym barely above Standard (not significantly): two of the three comparisons hold, one fails (claims.across)
    rows = {"resnet20_1x": {**GOOD, "sigma_asym": 3.01}}
    assert _verdicts(_handmade(rows=rows))["table1.resnet20_1x_ordering"] == "mixed"


def test_no_standard_barrier_makes_the_claims_not_testable():
    flat = {"standard": 0.0, "git_rebasin": -0.5, "sigma_asym": -0.2, "w_asym": -1.0}
    v = _verdicts(_handmade(rows={"gnn": flat, "resnet20_2x": flat}))
    assert v["table1.gnn_ordering"] == v["table1.resnet20_wide_ordering"] == "not testable at this scale"
    assert v["table1.width_helps"] == "not testable at this scale"
    assert v["table1.resnet20_1x_ordering"] == "reproduced"
    j = ledger.judged([table1.CLAIMS[2]], _handmade(rows={"gnn": flat}))[0]
    assert j["premise_failed"] and "GNN (Cora): standard barrier 0.000" in j["note"]


def test_one_width_leaves_the_wide_row_and_the_width_claim_not_testable():
    rec = _handmade(widths=(1,))
    v = _verdicts(rec)
    assert v["table1.resnet20_wide_ordering"] == v["table1.width_helps"] == "not testable at this scale"
    assert v["table1.resnet20_1x_ordering"] == v["table1.gnn_ordering"] == "reproduced"
    assert table1.widest_row(rec) is None and "Only one width" in table1.setup_text(rec)
    assert len(table1.table(rec)) == 3 and table1.width_text(rec).startswith("Only one width")


def test_compare_pairs_the_shared_pairs_only():
    rec = _handmade()
    assert table1.compare(rec, "resnet20_1x", "git_rebasin", "standard")[3] == "paired Wilcoxon"
    assert table1.compare(rec, "gnn", "git_rebasin", "git_rebasin_wm")[3] == "paired Wilcoxon"
    assert table1.compare(rec, "resnet20_1x", "w_asym", "git_rebasin")[3] == "Welch"


def _lmc_like():
    curves = [{"method": m, "pair": k, "alpha": [0.0, 0.5, 1.0], "loss": [0.1, 0.1 + b, 0.1], "acc": [0.98] * 3,
               "barrier_mid": b, "barrier_max": b}
              for m, b in (("standard", 0.2), ("git_rebasin", 0.0), ("sigma_asym", 0.1), ("w_asym", -0.01),
                           ("sigma_asym_1", 0.3)) for k in range(3)]
    return {"manifest": {"config": {"figlu_std": [1.0, 0.0625], "width": 256, "n_pairs": 3}},
            "result": {"curves": curves}}


def test_table_and_figures_on_a_hand_made_record():
    rec, mlp = _handmade(widths=(1, 2, 4)), _lmc_like()
    t = table1.table(rec, mlp)
    assert t.loc["MLP (MNIST), the LMC chapter's (width 256)", ("Standard", "ours")] == "0.200 ± 0.000"
    assert t.loc["MLP (MNIST), the LMC chapter's (width 256)", ("Git Re-Basin", "paper")] == "−0.006 ± 0.00"
    assert "ResNet20 4× (CIFAR-10, 8×8 px) [paper: 8×]" in t.index and len(t) == 4
    assert list(table1.width_table(rec).index) == ["1×", "2×", "4×"]
    text = table1.width_text(rec)
    assert "1×: 2.000 vs 0.900" in text and "stays above W-Asym's" in text
    _check_figures(rec, mlp)
