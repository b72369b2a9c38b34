"""The Bayesian chapter: presets validated and following the paper, the MLP-16 control built as its design says, the
ci preset end to end (a record that passes ``check``), and ``check`` refusing broken or undertrained records."""
import copy

import numpy as np

import pytest
import torch

from symlib import params
from symlib import variational as V
from symlib.architectures import build_model
from symlib.chapters import bayesian as chap
from symlib.chapters.bayesian import compute
from symlib.layers import trainable_parameters
from symlib.seeding import seeded


def test_configure_takes_the_preset_and_refuses_bad_parameters():
    assert chap.configure({"scale": "small"}) == {"scale": "small", "seed": 0, **chap.PRESETS["small"]}
    for given, match in [({"scale": "huge"}, "unknown scale"), ({"models": ["mlp4"]}, "models"),
                         ({"models": []}, "models"), ({"n_runs": 1}, "n_runs"), ({"test_samples": 0}, "test_samples"),
                         ({"mlp_downsample": 3}, "mlp_downsample"), ({"val_size": 10 ** 6}, "val_size"),
                         ({"resnet_epochs": 1}, "resnet_epochs"), ({"resnet_n_fix": [1, 2]}, "resnet_n_fix"),
                         ({"augment_multiplier": 0}, "augment_multiplier"), ({"width": 3}, "unknown parameter")]:
        with pytest.raises(params.ParameterError, match=match):
            chap.configure({"scale": "ci", **given})


def test_presets_follow_the_paper_and_small_states_its_bars():
    paper, small = chap.PRESETS["paper"], chap.PRESETS["small"]
    assert paper["models"] == ["mlp8", "mlp16", "resnet20", "resnet110"] and paper["n_runs"] == 10
    assert (paper["batch_size"], paper["test_samples"]) == (250, 25)
    assert paper["mlp_epochs"] == paper["resnet_epochs"] == 50
    assert (paper["mlp_lr"], paper["resnet_lr"], paper["mlp_width"], paper["mlp_n_fix"]) == (5e-4, 1e-3, 256, 8)
    assert paper["mlp_kappa"] == paper["resnet_kappa"] == 0.5 and paper["resnet_n_fix"] == [12, 8, 12, 6, 16, 8, 0]
    assert paper["mlp_downsample"] == paper["resnet_downsample"] == 1 and paper["augment_multiplier"] == 8
    assert small["mlp_bar"] == 0.35 and small["resnet_bar"] == 0.20 and small["n_runs"] >= 3
    assert "resnet110" not in small["models"]
    assert V.MLP_POSTERIOR.rank == 4 and V.MLP_POSTERIOR.log_var == -10 and V.MLP_POSTERIOR.prior_precision == 0.01
    assert V.RESNET_POSTERIOR.log_var == -12 and V.RESNET_POSTERIOR.prior_precision == 1.0


def test_mlp_depths_count_hidden_layers_as_the_authors_script():
    cfg = chap.configure({"scale": "ci"})
    for model, hidden in (("mlp8", 8), ("mlp16", 16)):
        net = build_model(compute._config(cfg, model, "standard", 1, 48))
        assert len(net.layers) == hidden + 1


def test_free_start_control_starts_at_the_w_asym_weights_but_trains_every_entry():
    cfg = chap.configure({"scale": "ci"})
    w_cfg = compute._config(cfg, "mlp16", "w_asym", 7, 48)
    s_cfg = compute._config(cfg, "mlp16", "standard", 7, 48)
    free = seeded(lambda: build_model(compute._config(cfg, "mlp16", "free_start", 7, 48)), 11)
    w_asym = seeded(lambda: build_model(w_cfg), 11)
    standard = seeded(lambda: build_model(s_cfg), 11)
    for f, w, s in zip(free.layers, w_asym.layers, standard.layers):
        applied = torch.where(w.mask, w.weight, w.fixed)
        assert torch.equal(f.weight, applied)  # the W-Asym network's start, F included
        assert torch.equal(f.weight[w.mask], s.weight[w.mask])  # elsewhere the standard network's own draw
        assert torch.equal(f.weight_factor, s.weight_factor) and not hasattr(f, "mask")
        assert not torch.equal(f.weight, s.weight) and bool((f.weight_factor[:, ~w.mask] != 0).any())
    assert trainable_parameters(free) == trainable_parameters(standard) > trainable_parameters(w_asym)
    x = torch.randn(5, 48)
    noise = [torch.zeros(1, n) for n in V.noise_sizes(free)]
    with torch.no_grad():  # zero noise: the posterior means compute the W-Asym network's initial function
        torch.testing.assert_close(free.eval()(x, *noise), w_asym.eval()(x, *noise))
    with pytest.raises(ValueError, match="W-Asym"):
        compute.FreeStartConfig(s_cfg)


@pytest.fixture(scope="module")
def ci_record(tmp_path_factory, monkeypatch_module):
    root = tmp_path_factory.mktemp("bayesian")
    monkeypatch_module.setenv("SYMLIB_RESULTS", str(root / "results"))
    monkeypatch_module.setenv("SYMLIB_MEMBERS", str(root / "members"))
    return chap.load_or_run(chap.configure({"scale": "ci"}), recompute=True, device="cpu")


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_ci_preset_runs_end_to_end_and_passes_check(ci_record):
    chap.check(ci_record)
    cfg, rows = ci_record["manifest"]["config"], ci_record["result"]["members"]
    assert len(rows) == cfg["n_runs"] * sum(len(chap.arms(cfg, m)) for m in cfg["models"])
    for r in rows:
        assert len(r["curve_train_nll"]) == len(r["curve_val_acc"]) == r["epochs"]
        assert r["half_acc"] == r["curve_val_acc"][r["half_epoch"] - 1]
    by_arm = {(r["model"], r["arm"]): r for r in rows}
    assert by_arm[("mlp16", "free_start")]["trainable"] == by_arm[("mlp16", "standard")]["trainable"]
    assert by_arm[("mlp16", "w_asym")]["posterior_dim"] < by_arm[("mlp16", "standard")]["posterior_dim"]


def test_check_refuses_missing_runs_bad_metrics_and_undertrained_standard_networks(ci_record):
    broken = copy.deepcopy(ci_record)
    broken["result"]["members"] = broken["result"]["members"][1:]
    with pytest.raises(ValueError, match="runs"):
        chap.check(broken)
    broken = copy.deepcopy(ci_record)
    broken["result"]["members"][0]["ece"] = 1.5
    with pytest.raises(ValueError, match="outside"):
        chap.check(broken)
    strict = copy.deepcopy(ci_record)
    strict["manifest"]["config"]["mlp_bar"] = 0.99
    with pytest.raises(ValueError, match="bar not met"):
        chap.check(strict)


# ------------------------------------------------------------------------------------------------ the report

def test_the_notebook_holds_no_logic():
    import test_reports
    test_reports.test_notebook_cells_hold_no_logic("bayesian")


def test_every_parameter_has_a_label():
    assert set(chap.PARAMETERS) == set(params.accepted(chap.PRESETS)) - {"recompute"}


def test_the_report_reads_the_ci_record(ci_record):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from symlib.plotting import MAX_WIDTH, set_style

    cfg = ci_record["manifest"]["config"]
    t2 = chap.table2(ci_record)
    assert len(t2) == 7 + 2 + 8  # 7 arms run, 2 ResNet110 rows "not run", 8 paper rows
    assert (t2.loc[("ResNet110", "Standard", "ours")] == "not run at this scale").all()
    assert t2.loc[("MLP-16", "W-Asym", "paper"), "test acc."].startswith("55.16")
    assert len(chap.control_table(ci_record)) == 3 and len(chap.cost_table(ci_record)) == 7
    text = chap.verdict_text(ci_record)
    assert "nan" not in text.split() and all(c.text in text for c in chap.CLAIMS)
    for c in chap.CLAIMS:
        assert c.judge(ci_record).verdict in ("reproduced", "direction only", "mixed", "inconclusive",
                                              "not reproduced", "not testable at this scale")
    set_style()
    fig = chap.figure_training_loss(ci_record)
    assert fig.get_figwidth() <= MAX_WIDTH + 1e-9 and len(fig.axes) == len(cfg["models"])
    assert all(ax.get_xlabel() == "epoch" and "nats" in ax.get_ylabel() for ax in fig.axes)
    plt.close(fig)


def _record(acc, n_runs=5, seed=0, sd=0.005, other=None):
    """A record whose arms have the given mean test accuracies ``acc[(model, arm)]`` (and the same value at half the
    epochs), test NLL 1.5 and ECE 0.03 unless ``other[(model, arm)]`` overrides ``{"test_nll": ..}``; small noise."""
    cfg = chap.configure({"scale": "ci", "n_runs": n_runs})
    rng = np.random.default_rng(seed)
    rows = []
    for model in cfg["models"]:
        for arm in chap.arms(cfg, model):
            for r in range(n_runs):
                a = acc[(model, arm)] + rng.normal(0, sd)
                row = {"model": model, "arm": arm, "run": r, "diverged": False, "test_acc": a, "half_acc": a,
                       "test_nll": 1.5 + rng.normal(0, 0.005), "ece": 0.03 + rng.normal(0, 0.001), "train_nll": 1.4,
                       "train_acc": a, "epochs": 2, "half_epoch": 1, "curve_train_nll": [2.0, 1.5],
                       "curve_val_acc": [a, a], "train_time_s": 1.0, "trainable": 10, "posterior_dim": 2}
                row.update({k: v + rng.normal(0, 0.001) for k, v in (other or {}).get((model, arm), {}).items()})
                rows.append(row)
    return {"manifest": {"config": cfg}, "result": {"members": rows, "data": {}}}



PAPERS_PICTURE = {("mlp8", "standard"): 0.40, ("mlp8", "w_asym"): 0.42, ("mlp16", "standard"): 0.11,
                  ("mlp16", "w_asym"): 0.40, ("mlp16", "free_start"): 0.11, ("resnet20", "standard"): 0.30,
                  ("resnet20", "w_asym"): 0.32}


def _verdicts(record):
    return {c.key.split(".")[1]: c.judge(record).verdict for c in chap.CLAIMS}


def test_the_papers_picture_is_reproduced_and_the_control_reads_it():
    r = _record(PAPERS_PICTURE)
    assert set(_verdicts(r).values()) == {"reproduced"}
    assert "fails like the standard network" in chap.control_text(r)
    r = _record({**PAPERS_PICTURE, ("mlp16", "free_start"): 0.40})
    assert "The control trains" in chap.control_text(r)


def test_a_standard_mlp16_that_trains_makes_the_rescue_not_testable():
    r = _record({**PAPERS_PICTURE, ("mlp16", "standard"): 0.38})
    v = _verdicts(r)
    assert v["mlp16_standard_fails"] == "not reproduced" and v["mlp16_w_asym_trains"] == "not testable at this scale"
    assert "no failure for the control to explain" in chap.control_text(r)


def test_at_least_as_good_needs_every_metric_within_its_margin():
    # equal means, tiny noise: every comparison non-inferior
    equal = {**PAPERS_PICTURE, ("mlp8", "w_asym"): 0.40, ("resnet20", "w_asym"): 0.30}
    assert _verdicts(_record(equal))["w_asym_at_least_as_good"] == "reproduced"
    # W-Asym's test loss worse by 0.2 nats on MLP-8 (margin 0.05) while accuracy holds: mixed
    worse_loss = _record(equal, other={("mlp8", "w_asym"): {"test_nll": 1.7}})
    assert _verdicts(worse_loss)["w_asym_at_least_as_good"] == "mixed"
    # two noisy runs: nothing can be shown either way
    noisy = _record(equal, n_runs=2, sd=0.05)
    assert _verdicts(noisy)["w_asym_at_least_as_good"] == "inconclusive"


def test_trains_faster_reads_the_accuracy_at_half_the_epochs():
    slower = _record({**PAPERS_PICTURE, ("mlp8", "w_asym"): 0.38, ("resnet20", "w_asym"): 0.28})
    assert _verdicts(slower)["w_asym_trains_faster"] == "not reproduced"


def test_a_diverged_run_counts_as_chance():
    r = _record(PAPERS_PICTURE)
    for row in r["result"]["members"]:
        if (row["model"], row["arm"]) == ("mlp16", "standard"):
            row.update(diverged=True, test_acc=None, test_nll=None, ece=None, half_acc=None)
    assert chap.report.values(r, "mlp16", "standard", "test_acc").tolist() == [0.1] * 5
    assert _verdicts(r)["mlp16_w_asym_trains"] == "reproduced"


def test_the_ledger_reads_the_chapter():
    from pathlib import Path

    from symlib import ledger
    from symlib.chapters import planned
    assert "bayesian" in ledger.CHAPTERS
    assert all(not c.key.startswith("planned.bayesian") for c in planned.CLAIMS)
    assert "book/bayesian" in (Path(__file__).resolve().parents[1] / "_toc.yml").read_text()
