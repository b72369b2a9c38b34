"""The metanetwork chapter: presets validated and following the paper, the ci preset end to end on a built zoo (a
record that passes ``check``, runs paired by split), ``check`` refusing broken records, and the claims' verdicts on
records whose answer is known."""
import copy

import numpy as np
import pytest

from symlib import params, zoo
from symlib.chapters import metanetworks as chap
from symlib.metanets import KINDS, LEARNING_RATES


def test_configure_takes_the_preset_and_refuses_bad_parameters():
    assert chap.configure({"scale": "small"}) == {"scale": "small", "seed": 0, **chap.PRESETS["small"]}
    for given, match in [({"scale": "huge"}, "unknown scale"), ({"kinds": ["transformer"]}, "kinds"),
                         ({"kinds": []}, "kinds"), ({"zoo": "nope"}, "unknown zoo"),
                         ({"controls": ["dropout"]}, "control"), ({"n_members": 5}, "n_members"),
                         ({"lrs": []}, "lrs"), ({"lrs": [0.0]}, "lrs"), ({"epochs": 0}, "positive"),
                         ({"weight_decay": -1.0}, "weight_decay"), ({"width": 3}, "unknown parameter")]:
        with pytest.raises(params.ParameterError, match=match):
            chap.configure({"scale": "ci", **given})


def test_a_zoo_without_both_variants_is_refused(monkeypatch):
    monkeypatch.setitem(zoo.RECIPES, "std_only", {**zoo.RECIPES["metanet_ci"], "variants": ["standard"]})
    with pytest.raises(params.ParameterError, match="needs standard and w_asym"):
        chap.configure({"scale": "ci", "zoo": "std_only"})


def test_presets_follow_the_paper():
    paper, small = chap.PRESETS["paper"], chap.PRESETS["small"]
    assert paper["zoo"] == "metanet_paper" and paper["n_members"] == 10000 and paper["n_runs"] == 5
    assert paper["kinds"] == list(KINDS) and paper["lrs"] == list(LEARNING_RATES)
    assert (paper["epochs"], paper["batch_size"], paper["weight_decay"]) == (50, 128, 1e-2)
    assert {k: v for k, v in small.items() if k not in ("zoo", "n_members", "kinds")} == \
        {k: v for k, v in paper.items() if k not in ("zoo", "n_members", "kinds")}  # the paper's training
    assert small["kinds"] == ["mlp", "statnn"]  # the DMC and DeepSets cost hours a fit on 2 cores: paper only
    assert small["zoo"] == "metanet_small" and zoo.RECIPES["metanet_small"]["quality_bar"] == \
        {"every variant": 0.35, "sd": 0.05}


def test_fits_cover_every_metanet_on_both_zoos_and_the_controls():
    cfg = chap.configure({"scale": "ci"})
    f = chap.fits(cfg)
    assert [x for x in f if not x[2]] == [(v, k, "") for v in chap.VARIANTS for k in KINDS]
    assert ("standard", "mlp", "augmented") in f and ("w_asym", "mlp", "augmented") not in f  # standard only
    assert ("w_asym", "statnn", "hparams") in f and ("w_asym", "mlp", "shuffled") in f
    assert ("standard", "mlp", "blind") in f and ("w_asym", "mlp", "blind") in f


@pytest.fixture(scope="module")
def ci_record(data_root, tmp_path_factory):
    if not (data_root / "cifar-10-batches-py").exists():
        pytest.skip(f"CIFAR-10 not found under {data_root}/cifar-10-batches-py")
    mp = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("metanetworks")
    mp.setenv("SYMLIB_ZOO", str(root / "zoo"))
    mp.setenv("SYMLIB_RESULTS", str(root / "results"))
    mp.setenv("SYMLIB_WORKERS", "1")
    cfg = chap.configure({"scale": "ci"})
    with pytest.raises(zoo.MissingZoo, match="make zoo SCALE=metanet_ci"):
        chap.load_or_run(cfg, recompute=True, device="cpu")
    zoo.Zoo("metanet_ci").build(device="cpu", progress=False)
    record = chap.load_or_run(cfg, recompute=True, device="cpu")
    yield record
    mp.undo()


def test_ci_preset_runs_end_to_end_and_passes_check(ci_record):
    chap.check(ci_record)
    cfg, fits = ci_record["manifest"]["config"], ci_record["result"]["fits"]
    assert len(fits) == cfg["n_runs"] * len(chap.fits(cfg))
    for r in range(cfg["n_runs"]):  # paired by run: both zoos predict the same members
        tested = {(f["variant"], f["kind"], f["control"]): f["test_members"] for f in fits if f["run"] == r}
        assert tested[("standard", "mlp", "")] == tested[("w_asym", "mlp", "")] == tested[("standard", "dmc", "")]
    assert fits[0]["test_members"] != [f for f in fits if f["run"] == 1][0]["test_members"]  # runs split anew
    assert all(f["lr"] in cfg["lrs"] and 1 <= f["epoch"] <= cfg["epochs"] for f in fits)
    sizes = ci_record["result"]["input_sizes"]
    assert sizes["standard/flat"] > sizes["w_asym/flat"]  # fixed entries are not inputs
    assert sizes["standard/statnn"] == sizes["w_asym/statnn"] == 7 * 29


def test_report_renders_every_table_and_figure(ci_record):
    import matplotlib
    matplotlib.use("Agg")
    assert list(chap.table3(ci_record).columns)[:2] == ["Standard R²", "Standard τ"]
    assert "MLP, permutation augmentation" in chap.controls_table(ci_record).index
    assert len(chap.zoo_table(ci_record)) == 2 and len(chap.cost_table(ci_record)) >= 3
    scatter = chap.figure_scatter(ci_record)
    assert len(scatter.axes) == 2 * len(KINDS)
    assert all(ax.get_xlabel() == "true test accuracy (%)" for ax in scatter.axes[len(KINDS):])
    assert chap.figure_zoo_accuracy(ci_record).axes[0].get_xlabel() == "member's CIFAR-10 test accuracy (%)"
    assert "R²" in chap.verdict_text(ci_record)


def test_check_refuses_missing_fits_and_predictions_that_are_not_the_fit_s(ci_record):
    broken = copy.deepcopy(ci_record)
    broken["result"]["fits"] = broken["result"]["fits"][1:]
    with pytest.raises(ValueError, match="missing or unexpected"):
        chap.check(broken)
    broken = copy.deepcopy(ci_record)
    broken["result"]["fits"][0]["predictions"] = list(reversed(broken["result"]["fits"][0]["predictions"]))
    broken["result"]["fits"][0]["predictions"][0] += 0.3
    with pytest.raises(ValueError, match="stored predictions"):
        chap.check(broken)
    broken = copy.deepcopy(ci_record)
    broken["result"]["fits"][0]["n_train"] -= 1
    with pytest.raises(ValueError, match="does not cover"):
        chap.check(broken)


def _record(r2: dict, tau: dict, n_runs: int = 5, kinds=("mlp", "statnn")) -> dict:
    """A record holding only what the claims read: (variant, kind) -> test R² / τ per run."""
    fits = [{"run": r, "variant": v, "kind": k, "control": "", "test_r2": r2[(v, k)][r],
             "test_kendall_tau": tau[(v, k)][r], "test_rmse": 0.05, "predictions": [], "targets": [],
             "test_members": []}
            for (v, k) in r2 for r in range(n_runs)]
    return {"manifest": {"config": {"kinds": list(kinds), "controls": []}}, "result": {"fits": fits}}


def test_claims_reproduced_mixed_and_not_reproduced_on_known_records():
    base = np.linspace(0.1, 0.3, 5)
    claim = {c.key: c for c in chap.CLAIMS}
    easier, largest = claim["metanetworks.w_asym_easier_mlp"], claim["metanetworks.gap_largest_for_mlp"]
    up = {("standard", "mlp"): base, ("w_asym", "mlp"): base + 0.5,
          ("standard", "statnn"): base + 0.5, ("w_asym", "statnn"): base + 0.52}
    rec = _record(up, up)
    assert easier.judge(rec).verdict == "reproduced"  # every run higher in both metrics: p = 1/32
    assert largest.judge(rec).verdict == "reproduced"
    tau = {**up, ("w_asym", "mlp"): base - 0.2}  # τ points the other way
    assert easier.judge(_record(up, tau)).verdict == "mixed"
    down = {**up, ("w_asym", "mlp"): base - 0.1}
    assert easier.judge(_record(down, down)).verdict == "not reproduced"
    assert largest.judge(_record(down, down)).verdict == "not reproduced"
    noisy = {**up, ("w_asym", "mlp"): base + np.array([0.3, -0.1, 0.2, 0.1, -0.05])}
    assert easier.judge(_record(noisy, noisy)).verdict == "direction only"  # two runs against: p > 0.05
    assert claim["metanetworks.w_asym_easier_dmc"].judge(rec).verdict == "inconclusive"  # not run


def test_table3_says_which_metanets_were_not_run():
    base = np.linspace(0.1, 0.3, 5)
    up = {("standard", "mlp"): base, ("w_asym", "mlp"): base + 0.5,
          ("standard", "statnn"): base + 0.5, ("w_asym", "statnn"): base + 0.52}
    table = chap.table3(_record(up, up))
    assert table.loc[("DMC", "ours"), "W-Asym R²"] == "not run at this scale"
    assert table.loc[("DMC", "paper"), "W-Asym R²"] == "0.967"  # the paper's row stays
    assert table.loc[("MLP", "ours"), "Standard R²"].startswith("0.2")


def test_the_shuffled_control_text_says_when_the_control_fails():
    base = np.linspace(0.1, 0.3, 5)
    noise = np.array([-0.08, 0.03, -0.12, 0.05, -0.02])  # scattered about 0: the control holds
    scores = {("standard", "mlp", ""): base, ("w_asym", "mlp", ""): base + 0.5,
              ("standard", "mlp", "shuffled"): noise, ("w_asym", "mlp", "shuffled"): noise}
    rec = {"manifest": {"config": {"kinds": ["mlp"], "controls": ["shuffled"], "lrs": [1e-3, 1e-2], "epochs": 50}},
           "result": {"fits": [{"run": r, "variant": v, "kind": k, "control": c, "test_r2": s[r],
                                "test_kendall_tau": 0.0, "test_rmse": 0.05, "predictions": [], "targets": [],
                                "test_members": []} for (v, k, c), s in scores.items() for r in range(5)]}}
    assert "does not leak the target" in chap.shuffled_text(rec) and "does not." not in chap.shuffled_text(rec)
    for f in rec["result"]["fits"]:
        if (f["variant"], f["control"]) == ("w_asym", "shuffled"):
            f["test_r2"] += 0.4  # every run above 0: p = 1/32, the control fails on W-Asym only
    text = chap.shuffled_text(rec)
    assert "**On the W-Asym zoo it does not.**" in text and "standard zoo it does not" not in text
    assert "2 rates × 50 epochs" in text and "beats its shuffled control in 5 of 5 runs" in text
    assert "not tested at this scale" in text
    # the blind control (validation targets shuffled too) decides the reading, by the rule fixed before it ran
    rec["manifest"]["config"]["controls"] = ["shuffled", "blind"]
    blind = [{**f, "control": "blind", "test_r2": noise[f["run"]]} for f in rec["result"]["fits"]
             if f["control"] == "shuffled"]
    rec["result"]["fits"] += blind
    text = chap.shuffled_text(rec)
    assert "not above 0, as the reading predicts" in text and "not tested" not in text
    assert "higher in 5 of 5 runs" in text
    for f in blind:
        if f["variant"] == "w_asym":
            f["test_r2"] += 0.4
    assert "above 0 even so" in chap.shuffled_text(rec)
    rec["manifest"]["config"]["controls"] = []
    assert chap.shuffled_text(rec) == "The shuffled-target control was not run at this scale."


def test_the_cost_text_splits_the_run_and_sets_a_small_run_against_its_budget():
    timings = {"standard/mlp/": 300.0, "w_asym/mlp/": 200.0, "standard/statnn/": 15.0, "w_asym/statnn/": 15.0,
               "standard/mlp/shuffled": 250.0, "w_asym/mlp/shuffled": 140.0, "standard/statnn/hparams": 12.0,
               "w_asym/statnn/hparams": 12.0}
    rec = {"manifest": {"config": {"zoo": "metanet_small", "controls": ["hparams", "shuffled"]}, "device": "cpu",
                        "wall_time_s": 1000.0},
           "result": {"timings_s": timings}}
    text = chap.cost_text(rec)
    assert text.startswith("This run took 17 min: 9 min for the metanets of Table 3 and 7 min for the controls")
    assert "; MLP, shuffled targets: 6 min)" in text and "the metanets fit it and the controls take it over" in text
    assert chap.SMALL_BUDGET_MIN == 15
    rec["manifest"]["wall_time_s"] = 800.0
    assert chap.cost_text(rec).endswith("it fits.")
    rec["manifest"]["config"]["zoo"] = "metanet_ci"
    assert "budget" not in chap.cost_text(rec)
