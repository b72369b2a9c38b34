"""The identifiability chapter: presets validated, the ci preset end to end (a record that passes ``check``, whose
report reads it), ``check`` refusing broken or undertrained records, and the verdicts on hand-made records whose
answers are known."""
import copy
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import test_reports  # noqa: E402
from symlib import ledger, params  # noqa: E402
from symlib.chapters import identifiability as chap  # noqa: E402
from symlib.plotting import MAX_WIDTH, set_style  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def test_configure_takes_the_preset_and_refuses_bad_parameters():
    assert chap.configure({"scale": "small"}) == {"scale": "small", "seed": 0, **chap.PRESETS["small"]}
    for given, match in [({"scale": "huge"}, "unknown scale"), ({"widths": [1]}, "unknown parameter"),
                         ({"n_fix": [1, 2]}, "depth"), ({"kappas": [-1.0]}, "kappas"), ({"kappas": [1.0, 1.0]}, "distinct"),
                         ({"n_alpha": 4}, "odd"), ({"n_pairs": 1}, "n_pairs"), ({"syn_tasks": ["xor"]}, "syn_tasks"),
                         ({"syn_intrinsic": [8]}, "syn_intrinsic"), ({"syn_intrinsic": [8, 64]}, "exceed"),
                         ({"pca_variance": 1.5}, "pca_variance"), ({"n_random": 1}, "n_random"),
                         ({"width": "wide"}, "integer"), ({"resnet_kappa": -2.0}, "resnet_kappa"),
                         ({"resnet_wm_restarts": 0}, "resnet_wm_restarts"), ({"resnet_bar": 20}, "resnet_bar")]:
        with pytest.raises(params.ParameterError, match=match):
            chap.configure({"scale": "ci", **given})


def test_presets_follow_the_paper_and_small_states_its_bars():
    paper, small = chap.PRESETS["paper"], chap.PRESETS["small"]
    assert paper["width"] == 512 and paper["n_fix"] == [64, 64, 64, 256] and paper["kappas"] == [0.0, 1.0]
    assert paper["epochs"] == 100 and 2 * paper["n_pairs"] == 16 and paper["n_random"] == 100
    assert paper["wm_restarts"] == 10 and paper["pca_variance"] == 0.9
    assert small["endpoint_bar"] == 0.94 and small["syn_bar"] == [0.90, 0.88] and small["n_pairs"] >= 5
    assert chap.PRESETS["ci"]["endpoint_bar"] is None and chap.PRESETS["ci"]["syn_bar"] is None
    assert [a for a, _, _ in chap.arms(paper)] == ["standard", "w_asym_k0", "w_asym_k1", "sigma_asym"]
    # the authors' ResNet setting: ResNet20x8, kappa 2; small: Table 1's small ResNet20 and its bar
    assert paper["resnet"] and paper["resnet_width"] == 8 and paper["resnet_kappa"] == 2.0
    assert paper["resnet_downsample"] == 1 and paper["resnet_wm_restarts"] == 10
    assert [a for a, _, _ in chap.arms(paper, chap.RESNET)] == ["standard", "w_asym_k2", "sigma_asym"]
    assert small["resnet_bar"] == 0.20 and small["resnet_width"] == 1 and chap.settings(small)[-1] == chap.RESNET


def test_every_parameter_has_a_label():
    assert set(chap.PARAMETERS) == set(params.accepted(chap.PRESETS)) - {"recompute"}


def test_the_notebook_holds_no_logic():
    test_reports.test_notebook_cells_hold_no_logic("identifiability")


# ------------------------------------------------------------------------------------------------ ci end to end

@pytest.fixture(scope="module")
def ci_record(tmp_path_factory, data_root):
    mp = pytest.MonkeyPatch()
    mp.setenv("SYMLIB_RESULTS", str(tmp_path_factory.mktemp("results")))
    mp.setenv("SYMLIB_MEMBERS", "off")
    try:
        yield chap.load_or_run(chap.configure({"scale": "ci"}), recompute=True, device="cpu")
    finally:
        mp.undo()


def test_the_ci_chapter_runs_end_to_end(ci_record):
    chap.check(ci_record)
    res, cfg = ci_record["result"], ci_record["manifest"]["config"]
    n_arms = 3 * 4 + 3  # MNIST and two synthetic tasks with four arms, the ResNet20 with three
    assert len(res["models"]) == n_arms * 2 * cfg["n_pairs"]
    assert len(res["curves"]) == n_arms * 3 * cfg["n_pairs"]
    for c in res["curves"]:
        if c["method"] == "activations":
            if c["setting"] == chap.RESNET:  # every permutation of the ResNet20: 9 block interiors, 3 streams
                assert len(c["layers"]) == 12
            for layer in c["layers"].values():
                assert layer["optimal"] >= layer["identity"] - 1e-9
                assert ("min_swap_cost" in layer) == (c["arm"].startswith("w_asym") and c["setting"] != chap.RESNET)
        assert c["rel_acc_drop"] <= 0


def test_check_enforces_the_bars_and_the_endpoints(ci_record):
    bad = copy.deepcopy(ci_record)
    bad["manifest"]["config"]["endpoint_bar"] = 0.999
    with pytest.raises(ValueError, match="training-quality bar"):
        chap.check(bad)
    bad = copy.deepcopy(ci_record)
    bad["manifest"]["config"]["syn_bar"] = [0.999, 0.0]
    with pytest.raises(ValueError, match="gaussian_subspace"):
        chap.check(bad)
    bad = copy.deepcopy(ci_record)
    bad["manifest"]["config"]["resnet_bar"] = 0.999
    with pytest.raises(ValueError, match="cifar_resnet20"):
        chap.check(bad)
    bad = copy.deepcopy(ci_record)
    next(c for c in bad["result"]["curves"] if c["method"] == "activations")["loss"][-1] += 0.5
    with pytest.raises(ValueError, match="endpoint"):
        chap.check(bad)
    bad = copy.deepcopy(ci_record)
    layer = next(iter(next(c for c in bad["result"]["curves"] if c["method"] == "activations")["layers"].values()))
    layer["optimal"] = layer["identity"] - 0.1
    with pytest.raises(ValueError, match="optimal"):
        chap.check(bad)
    bad = copy.deepcopy(ci_record)
    bad["result"]["curves"].pop()
    with pytest.raises(ValueError, match="curves"):
        chap.check(bad)


def test_the_report_reads_the_ci_record(ci_record):
    cfg = ci_record["manifest"]["config"]
    for setting in chap.settings(cfg):
        if setting == chap.RESNET:
            assert len(chap.correlation_table(ci_record, setting)) == 3 * 12
            assert len(chap.merge_table(ci_record, setting)) == 3
            continue
        hidden = (cfg["depth"] if setting == "mnist" else cfg["syn_depth"]) - 1
        assert len(chap.correlation_table(ci_record, setting)) == 4 * hidden
        assert len(chap.merge_table(ci_record, setting)) == 4
        assert len(chap.swap_table(ci_record, setting)) == 2 * hidden
    assert len(chap.endpoint_table(ci_record)) == 15
    assert "ResNet20" in chap.resnet_text(ci_record)
    text = chap.verdict_text(ci_record)
    assert "nan" not in text.split() and all(c.text in text for c in chap.CLAIMS)
    for c in chap.CLAIMS:
        assert c.judge(ci_record).verdict in ("reproduced", "direction only", "mixed", "inconclusive",
                                              "not reproduced", "not testable at this scale")
    set_style()
    for fig in (chap.figure_correlations(ci_record), chap.figure_swap_costs(ci_record),
                chap.figure_swap_costs(ci_record, "parity_subspace")):
        assert fig.get_figwidth() <= MAX_WIDTH + 1e-9
        plt.close(fig)


# ------------------------------------------------------------------------------------------------ hand-made records

def _record(gap, plain, aligned, rho=-0.5, n_pairs=6, seed=0):
    """A record whose arms have the given mean (optimal − identity) gap per layer, plain / aligned barriers and
    swap-cost ρ (W-Asym arms), with small pair-to-pair noise."""
    cfg = chap.configure({"scale": "ci", "n_pairs": n_pairs})
    rng = np.random.default_rng(seed)
    curves = []
    for setting in chap.settings(cfg):
        for arm, variant, _ in chap.arms(cfg, setting):
            key = "w_asym_k1" if arm == f"w_asym_k{cfg['resnet_kappa']:g}" else arm  # the ResNet's W-Asym arm
            for k in range(n_pairs):
                layers = {}
                for p in ("P0", "P1", "P2"):
                    g = gap[key] + rng.normal(0, 0.003)
                    layers[p] = {"identity": 0.9 - g, "optimal": 0.9, "random": 0.0, "moved_fraction": 0.5}
                    if variant == "w_asym":
                        layers[p].update(spearman=rho + rng.normal(0, 0.02), pca_dims=5, median_swap_cost=1.0)
                for method, b in (("plain", plain[key]), ("activations", aligned[key]), ("weights", aligned[key])):
                    curves.append({"setting": setting, "arm": arm, "pair": k, "method": method,
                                   "barrier_mid": b + rng.normal(0, 0.003), "rel_acc_drop": -1.0,
                                   **({"layers": layers} if method == "activations" else {})})
    return {"manifest": {"config": cfg}, "result": {"curves": curves, "models": []}}


ARMS = ("standard", "w_asym_k0", "w_asym_k1", "sigma_asym")


def _verdicts(record):
    return {c.key.split(".")[1]: c.judge(record).verdict for c in chap.CLAIMS}


def test_the_papers_picture_is_reproduced():
    r = _record(gap=dict(zip(ARMS, (0.4, 0.3, 0.01, 0.3))), plain=dict(zip(ARMS, (0.5, 0.4, 0.01, 0.4))),
                aligned=dict(zip(ARMS, (0.1, 0.1, 0.015, 0.2))))
    assert set(_verdicts(r).values()) == {"reproduced"}


def test_w_asym_far_from_optimal_is_not_identifiable_and_small_samples_are_inconclusive():
    r = _record(gap=dict(zip(ARMS, (0.4, 0.3, 0.3, 0.3))), plain=dict(zip(ARMS, (0.5, 0.4, 0.3, 0.4))),
                aligned=dict(zip(ARMS, (0.1, 0.1, 0.05, 0.2))), rho=0.3)
    v = _verdicts(r)
    assert v["w_asym_identifiable"] == "not reproduced" and v["merge_without_alignment"] == "not reproduced"
    assert v["swap_cost_predicts_moves"] == "not reproduced"
    near = _record(gap=dict(zip(ARMS, (0.4, 0.3, 0.049, 0.3))), plain=dict(zip(ARMS, (0.5, 0.4, 0.01, 0.4))),
                   aligned=dict(zip(ARMS, (0.1, 0.1, 0.01, 0.2))))
    assert _verdicts(near)["w_asym_identifiable"] == "inconclusive"


def test_identifiable_standard_networks_make_the_asymmetric_claims_not_testable():
    r = _record(gap=dict(zip(ARMS, (0.0, 0.0, 0.0, 0.0))), plain=dict(zip(ARMS, (0.0, 0.0, 0.0, 0.0))),
                aligned=dict(zip(ARMS, (0.0, 0.0, 0.0, 0.0))))
    v = _verdicts(r)
    assert v["w_asym_identifiable"] == "not testable at this scale"
    assert v["merge_without_alignment"] == "not testable at this scale"
    assert v["standard_not_identifiable"] == "not reproduced"


def test_the_resnet_claims_follow_the_resnet_setting_and_say_when_it_was_not_run():
    gap, plain = dict(zip(ARMS, (0.4, 0.3, 0.01, 0.3))), dict(zip(ARMS, (0.5, 0.4, 0.01, 0.4)))
    aligned = dict(zip(ARMS, (0.1, 0.1, 0.015, 0.2)))
    r = _record(gap=gap, plain=plain, aligned=aligned)
    assert _verdicts(r)["resnet20_w_asym_identifiable"] == "reproduced"
    for c in r["result"]["curves"]:  # only the ResNet20's W-Asym arm far from its optimum
        if c["setting"] == chap.RESNET and c["arm"] == "w_asym_k2" and c["method"] == "activations":
            for layer in c["layers"].values():
                layer["identity"] = layer["optimal"] - 0.3
    v = _verdicts(r)
    assert v["resnet20_w_asym_identifiable"] == "not reproduced" and v["w_asym_identifiable"] == "reproduced"
    off = _record(gap=gap, plain=plain, aligned=aligned)
    off["manifest"]["config"]["resnet"] = False
    off["result"]["curves"] = [c for c in off["result"]["curves"] if c["setting"] != chap.RESNET]
    for key in ("resnet20_w_asym_identifiable", "resnet20_merge_without_alignment"):
        a = next(c for c in chap.CLAIMS if c.key.endswith(key)).judge(off)
        assert a.verdict == "not testable at this scale" and "not run" in a.note


def test_no_moved_units_make_the_swap_cost_claim_not_testable():
    r = _record(gap=dict(zip(ARMS, (0.4, 0.3, 0.01, 0.3))), plain=dict(zip(ARMS, (0.5, 0.4, 0.01, 0.4))),
                aligned=dict(zip(ARMS, (0.1, 0.1, 0.015, 0.2))))
    for c in r["result"]["curves"]:
        if c["arm"] == "w_asym_k1" and c["method"] == "activations":
            for layer in c["layers"].values():
                layer["spearman"] = None
    assert _verdicts(r)["swap_cost_predicts_moves"] == "not testable at this scale"


def test_the_ledger_reads_the_chapter():
    assert "identifiability" in ledger.CHAPTERS
    from symlib.chapters import planned
    assert all(not c.key.startswith("planned.identifiability") for c in planned.CLAIMS)
    toc = (ROOT / "_toc.yml").read_text()
    assert "book/identifiability" in toc
