"""The zoo as a dataset: loadable without symlib, resumable after a kill, grown without retraining, corrupt files
retrained."""
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from symlib import store, zoo
from symlib.architectures import ResNet8, ResNet8Config
from symlib.evaluation import evaluate
from symlib.variants import VARIANTS

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ci_zoo(data_root, tmp_path_factory):
    if not (data_root / "cifar-10-batches-py").exists():
        pytest.skip(f"CIFAR-10 not found under {data_root}/cifar-10-batches-py")
    mp = pytest.MonkeyPatch()
    mp.setenv("SYMLIB_ZOO", str(tmp_path_factory.mktemp("zoo")))
    mp.setenv("SYMLIB_RESULTS", str(tmp_path_factory.mktemp("results")))
    z = zoo.Zoo("ci")
    record = z.build(2, device="cpu", progress=False)
    yield z, record
    mp.undo()


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_zoo_folder_is_loadable_without_symlib(ci_zoo):
    z, record = ci_zoo
    folder = z.directory
    index = pd.read_csv(folder / "index.csv")
    curves = pd.read_csv(folder / "curves.csv")
    assert len(index) == 2 * len(VARIANTS) and (folder / "README.txt").exists()
    assert set(index.columns) >= {"lr", "weight_decay", "label_smoothing", "epochs", "init_seed", "data_seed",
                                  "arch_seed", "train_acc", "test_acc", "diverged"}
    for row in index.itertuples():  # one curve point per epoch the member trained
        c = curves[(curves.variant == row.variant) & (curves.member == row.member)]
        assert c.epoch.tolist() == list(range(1, row.epochs + 1)) and c.train_loss.notna().all()
    _, _, test = z.data()
    for row in index.itertuples():
        with np.load(folder / row.file) as f:  # plain numpy: the README's recipe
            final = {k[6:]: torch.from_numpy(f[k]) for k in f.files if k.startswith("final/")}
            init = {k[5:]: torch.from_numpy(f[k]) for k in f.files if k.startswith("init/")}
        assert init.keys() == final.keys()
        model = ResNet8(zoo.model_config(z.recipe, row.variant))
        model.load_state_dict(final)
        res = evaluate(model, test.X, test.y)
        assert res["acc"] == pytest.approx(row.test_acc) and res["loss"] == pytest.approx(row.test_loss, rel=1e-5)
        if row.variant == "w_asym":  # fixed entries never move in training: the applied weight keeps them
            layers = [n[:-5] for n in final if n.endswith(".mask")]
            assert len(layers) == 10  # 9 convs + head
            for layer in layers:
                mask = final[f"{layer}.mask"]
                assert torch.equal(mask, init[f"{layer}.mask"]) and (~mask).any()
                applied = {s: torch.where(mask, st[f"{layer}.weight"], st[f"{layer}.fixed"])
                           for s, st in (("init", init), ("final", final))}
                assert torch.equal(applied["final"][~mask], applied["init"][~mask])
                if mask.any():  # the stem is entirely fixed
                    assert not torch.equal(applied["final"][mask], applied["init"][mask])
    assert record["result"]["n_members"] == 2 and len(record["result"]["members"]) == 2 * len(VARIANTS)
    assert z.stored_summary(2)["manifest"]["config_hash"] == record["manifest"]["config_hash"]


def test_members_are_paired_across_variants(ci_zoo):
    z, _ = ci_zoo
    for i in range(2):
        rows = [z.members(v, 2)[i] for v in VARIANTS]
        for key in ("lr", "weight_decay", "label_smoothing", "epochs", "init_seed", "data_seed"):
            assert len({r[key] for r in rows}) == 1, key
    assert len({z.members(v, 1)[0]["arch_seed"] for v in VARIANTS}) == 3


def test_a_killed_build_resumes_and_a_corrupt_member_is_retrained(ci_zoo):
    z, _ = ci_zoo
    npz0, meta0 = z._paths("standard", 0)
    npz1, meta1 = z._paths("w_asym", 1)
    before = {p: _sha(p) for p in (npz0, npz1)}
    untouched = z._paths("sigma_asym", 1)[0]
    mtime = untouched.stat().st_mtime_ns
    meta1.unlink()  # killed after the weights, before the record: not complete
    npz0.write_bytes(npz0.read_bytes()[:100])  # a truncated weight file: fails its checksum
    assert z.built("standard", 2) == [1] and z.built("w_asym", 2) == [0]
    with pytest.raises(zoo.MissingZoo, match="make zoo SCALE=ci"):
        z.members("standard", 2)
    record = z.build(2, device="cpu", progress=False)
    assert record["result"]["trained_now"] == 2
    assert {p: _sha(p) for p in (npz0, npz1)} == before  # retrained bit for bit (same seeds, one thread)
    assert untouched.stat().st_mtime_ns == mtime  # a valid member is never rewritten


def test_growing_a_zoo_keeps_the_members_already_built(ci_zoo):
    z, _ = ci_zoo
    shas = {(v, i): _sha(z._paths(v, i)[0]) for v in VARIANTS for i in range(2)}
    record = z.build(3, device="cpu", progress=False)
    assert record["result"]["trained_now"] == len(VARIANTS)  # only member 2 of each variant
    assert {(v, i): _sha(z._paths(v, i)[0]) for v in VARIANTS for i in range(2)} == shas
    assert [r["member"] for r in z.members("w_asym", 3)] == [0, 1, 2]
    # `info` counts what is on disk (3 per variant), not the recipe's size (3 too at ci: grow past it to tell)
    assert zoo.cli.info(z).startswith(f"zoo 'ci' in {z.directory}: standard 3, sigma_asym 3, w_asym 3 valid")


def test_info_counts_members_on_disk_and_rewrites_a_stale_index(ci_zoo, capsys, monkeypatch):
    """A killed build leaves index.csv behind the members on disk; `info` counts from disk (not the recipe's size:
    a zoo grown past it says how many it holds) and rewrites it."""
    z, _ = ci_zoo
    monkeypatch.setitem(zoo.RECIPES["ci"], "n_members", 1)  # the folder holds 3 per variant, more than the recipe's
    on_disk = {v: z.on_disk(v)[0] for v in VARIANTS}
    n = sum(map(len, on_disk.values()))
    (z.directory / "index.csv").write_text("variant,member\nstandard,0\n")  # as a killed build may leave it
    (z.directory / "curves.csv").unlink()
    zoo.main(["info", "ci"])
    out = capsys.readouterr().out
    assert ", ".join(f"{v} {len(on_disk[v])}" for v in VARIANTS) in out and f"({n} members)" in out
    assert n == 3 * len(VARIANTS) and "recipe default: 1 per variant" in out
    index = pd.read_csv(z.directory / "index.csv")
    assert len(index) == n and set(index.member_key) == {z.member_key(r.variant, r.member) for r in index.itertuples()}
    assert (z.directory / "curves.csv").exists()


def test_a_member_trained_by_other_code_or_to_another_definition_is_retrained(ci_zoo, monkeypatch):
    """A zoo member's record carries its key (definition + training code): one whose key differs from what the
    current code gives is missing, never reused, and the build trains it again."""
    z, _ = ci_zoo
    npz, meta = z._paths("standard", 1)
    record = json.loads(meta.read_text())
    assert record["member_key"] == z.member_key("standard", 1) and record["training_code"]["symlib.training"]
    sha = _sha(npz)
    record["member_key"] = "0" * 64  # trained to another definition, or by other training code
    meta.write_text(json.dumps(record))
    assert z.built("standard", 2) == [0] and z.on_disk("standard")[1] == {"stale": 1}
    with pytest.raises(zoo.MissingZoo, match="trained by other training code"):
        z.members("standard", 2)
    assert z.build(2, device="cpu", progress=False)["result"]["trained_now"] == 1
    assert _sha(npz) == sha and json.loads(meta.read_text())["member_key"] == z.member_key("standard", 1)
    # the training code changing (its fingerprint) makes every member stale: nothing is reused
    monkeypatch.setattr(store, "code_fingerprint", lambda: {"symlib.training": "changed"})
    fresh = zoo.Zoo("ci", root=z.directory)
    assert fresh.built("standard", 2) == [] and fresh.on_disk("w_asym")[1] == {"stale": len(z.on_disk("w_asym")[0])}


# ------------------------------------------------------------------------------------------- several builders

_BUILDER = """
import json, sys, time
from pathlib import Path
from symlib import store, zoo
store.POLL = 0.2
Path(sys.argv[2]).touch()
while not Path(sys.argv[1]).exists():  # both builders start together
    time.sleep(0.01)
record = zoo.Zoo("ci").build(int(sys.argv[3]), device="cpu", progress=False)
print(json.dumps({"trained": record["result"]["trained_now"]}))
"""


def test_two_builders_of_one_folder_split_the_work_and_train_each_member_once(ci_zoo, tmp_path):
    """Two processes building the same zoo folder at the same moment: every member trained by exactly one of them
    (they train N and M with N + M = members needed, both > 0), and the members are those of a lone build."""
    z, _ = ci_zoo
    n = 4
    env = {**os.environ, "SYMLIB_ZOO": str(tmp_path / "zoo"), "SYMLIB_RESULTS": str(tmp_path / "results"),
           "SYMLIB_WORKERS": "1", "PYTHONPATH": str(ROOT)}
    go, ready = tmp_path / "go", [tmp_path / f"ready{k}" for k in range(2)]
    procs = [subprocess.Popen([sys.executable, "-c", _BUILDER, str(go), str(r), str(n)], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for r in ready]
    try:
        deadline = time.time() + 120
        while not all(r.exists() for r in ready) and time.time() < deadline:
            time.sleep(0.05)
        go.touch()
        outs = [p.communicate(timeout=240) for p in procs]
    finally:
        for p in procs:
            p.kill()
    assert [p.returncode for p in procs] == [0, 0], [err[-2000:] for _, err in outs]
    trained = [json.loads(out.strip().splitlines()[-1])["trained"] for out, _ in outs]
    assert sum(trained) == n * len(VARIANTS) and min(trained) > 0, trained  # before: [12, 12] or so
    shared = zoo.Zoo("ci", root=next((tmp_path / "zoo").iterdir()))
    assert not (shared.directory / ".claims").exists()  # claims are transient, and no part of the zoo
    assert len(pd.read_csv(shared.directory / "index.csv")) == n * len(VARIANTS)
    for v in VARIANTS:
        assert shared.built(v, n) == list(range(n))
        for i in range(2):  # whoever trained it, a member is the member
            assert _sha(shared._paths(v, i)[0]) == _sha(z._paths(v, i)[0])


def test_a_dead_builders_claims_are_taken_over_and_a_live_ones_waited_for(data_root, tmp_path, monkeypatch, capsys):
    if not (data_root / "cifar-10-batches-py").exists():
        pytest.skip(f"CIFAR-10 not found under {data_root}/cifar-10-batches-py")
    monkeypatch.setenv("SYMLIB_ZOO", str(tmp_path / "zoo"))
    monkeypatch.setenv("SYMLIB_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("SYMLIB_WORKERS", "1")
    monkeypatch.setattr(store, "STALE_AFTER", 1.0)
    monkeypatch.setattr(store, "POLL", 0.05)
    z = zoo.Zoo("ci")
    folder = z.directory / ".claims"
    folder.mkdir(parents=True)
    gone = subprocess.Popen(["true"])
    gone.wait()

    def claim(variant, owner):
        path = folder / f"{variant}-member_00000.claim"
        path.write_text(json.dumps({**owner, "since": 0, "token": f"t-{variant}"}))
        return path

    claim("standard", {"host": store._HOST, "pid": gone.pid})  # this host, its process gone
    old = claim("sigma_asym", {"host": "elsewhere", "pid": 1})  # another host, no heartbeat for an hour
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    live = claim("w_asym", {"host": "elsewhere", "pid": 1})  # another host, alive until the others are built

    def heartbeat():  # the other builder lives while this one trains the two others, then dies
        while not (z.built("standard", 1) and z.built("sigma_asym", 1)):
            os.utime(live)
            time.sleep(0.02)
        for _ in range(10):
            os.utime(live)
            time.sleep(0.02)

    beat = threading.Thread(target=heartbeat, daemon=True)
    beat.start()
    record = z.build(1, device="cpu", progress=False)
    beat.join(5)
    assert record["result"]["trained_now"] == 3 and not folder.exists()
    err = capsys.readouterr().err
    assert "waiting for 1 member(s)" in err and "elsewhere pid 1: w_asym-member_00000" in err
    assert "standard" not in err.split("waiting")[1] and "sigma_asym" not in err.split("waiting")[1]


# ------------------------------------------------------------------------------------------- recipes

def test_recipe_identities_are_unchanged_by_entries_that_do_not_define_a_member():
    """A zoo's folder is named by the hash of its recipe's identity; ``variants``, ``n_members`` and ``quality_bar``
    are no part of it, so adding ``variants`` kept every zoo already built where it was (hashes pinned from before)."""
    assert {n: zoo.Zoo(n).hash for n in ("paper", "small", "ci")} == {
        "paper": "1a50692881d9", "small": "3c0bc9a3f4b6", "ci": "751fd947cc4a"}
    assert zoo.Zoo("small").directory.name == "small-3c0bc9a3f4b6"
    for name in ("paper", "small", "ci"):
        assert zoo.recipe(name)["variants"] == list(VARIANTS) and zoo.Zoo(name).variants == VARIANTS


@pytest.mark.parametrize("variants", [[], ["standard", "w_asymm"], "standard", ["w_asym", "w_asym"], None])
def test_a_recipes_variants_are_checked(monkeypatch, variants):
    monkeypatch.setitem(zoo.RECIPES, "bad", {**zoo.RECIPES["ci"], "variants": variants})
    with pytest.raises(ValueError, match="zoo 'bad': recipe entry 'variants' must be a non-empty list") as err:
        zoo.Zoo("bad")
    assert "\n" not in str(err.value)


def test_a_quality_bar_names_only_known_keys(monkeypatch):
    monkeypatch.setitem(zoo.RECIPES, "bad", {**zoo.RECIPES["ci"], "variants": ["standard", "w_asym"],
                                             "quality_bar": {"sigma_asym": 0.3}})
    with pytest.raises(ValueError, match="quality_bar keys must be among every variant, sd, standard, w_asym"):
        zoo.recipe("bad")


def _record(accs, variants=None):
    members = [{"variant": v, "member": i, "diverged": a is None, "test_acc": a}
               for v, acc in accs.items() for i, a in enumerate(acc)]
    return {"result": {"members": members, **({"recipe": {"variants": variants}} if variants else {})}}


def test_the_quality_bar_can_ask_for_a_spread_of_accuracies():
    """A metanet zoo's bar: every variant's mean test accuracy >= 35 % and its sd >= 5 points, over the members that
    did not diverge; a zoo that misses either fails with every miss named."""
    bar = {"every variant": 0.35, "sd": 0.05}
    spread = [0.30, 0.40, 0.50, None]  # mean 40 %, sd 10 points; the diverged member is left out
    narrow = [0.39, 0.40, 0.41]  # mean 40 %, sd 1 point
    assert zoo.check_quality(_record({"standard": spread, "w_asym": spread}), bar, ["standard", "w_asym"]) == \
        pytest.approx({"standard": 0.40, "w_asym": 0.40})
    stats = zoo.accuracy_stats(_record({"standard": spread}), ["standard"])["standard"]
    assert stats["n"] == 3 and stats["sd"] == pytest.approx(0.10)
    with pytest.raises(ValueError, match=r"sd >= 5 points.*: w_asym sd 1\.0 points < 5$"):
        zoo.check_quality(_record({"standard": spread, "w_asym": narrow}), bar, ["standard", "w_asym"])
    low = [a - 0.1 for a in narrow]
    with pytest.raises(ValueError, match=r"standard mean 30\.0 % < 35 %, standard sd 1\.0 points < 5"):
        zoo.check_quality(_record({"standard": low, "w_asym": spread}), bar, ["standard", "w_asym"])
    # the variants checked: given, else the recipe's in a zoo's summary, else all three (the chapters' records)
    two = _record({"standard": spread, "w_asym": spread}, ["standard", "w_asym"])
    assert set(zoo.check_quality(two, bar)) == {"standard", "w_asym"}
    with pytest.raises(ValueError, match="no trained member in variant.*sigma_asym"):
        zoo.check_quality(_record({"standard": spread, "w_asym": spread}), bar)
    # the MLI zoos' bars: a floor on the standard mean and on every variant's
    mli = {"standard": 0.45, "every variant": 0.30}
    three = {"standard": spread, "sigma_asym": spread, "w_asym": [0.2, 0.3]}
    with pytest.raises(ValueError, match=r"standard mean >= 45 %, every variant mean >= 30 %.*: standard mean 40\.0 % "
                                         r"< 45 %, w_asym mean 25\.0 % < 30 %$"):
        zoo.check_quality(_record(three), mli)
    with pytest.raises(ValueError, match=r"standard mean 40\.0 % < 45 %$"):
        zoo.check_quality(_record({**three, "w_asym": spread}), mli)


def test_the_metanet_recipes_hold_standard_and_w_asym():
    """The metanet zoos' paper and ci recipes define the same members as the interpolation zoos' (other variants,
    other size); the small one is its own."""
    assert zoo.Zoo("metanet_paper").hash == zoo.Zoo("paper").hash and zoo.Zoo("metanet_ci").hash == zoo.Zoo("ci").hash
    assert zoo.identity(zoo.recipe("metanet_paper")) == zoo.identity(zoo.recipe("paper"))
    for name in ("metanet_paper", "metanet_small", "metanet_ci"):
        assert zoo.recipe(name)["variants"] == ["standard", "w_asym"]
    assert zoo.recipe("metanet_paper")["n_members"] == 10000 and zoo.recipe("metanet_small")["n_members"] >= 300
    assert zoo.recipe("metanet_small")["quality_bar"] == {"every variant": 0.35, "sd": 0.05}


def test_a_zoo_holds_its_recipes_variants_only(ci_zoo, capsys):
    """The metanet zoos hold standard and W-Asym members only: the build trains, indexes, summarises and checks those,
    and member i of a variant is the member i of every zoo of the same identity (here the ci zoo's), bit for bit."""
    z, _ = ci_zoo
    zoo.main(["build", "metanet_ci", "--members", "2", "--device", "cpu"])
    out = capsys.readouterr().out
    assert "zoo 'metanet_ci': 2 members per variant" in out and "sigma_asym" not in out and "w_asym" in out
    m = zoo.Zoo("metanet_ci")
    assert m.directory.parent == z.directory.parent and m.directory != z.directory
    assert sorted(p.name for p in m.directory.iterdir() if p.is_dir()) == ["standard", "w_asym"]
    index = pd.read_csv(m.directory / "index.csv")
    assert sorted(zip(index.variant, index.member)) == [("standard", 0), ("standard", 1), ("w_asym", 0), ("w_asym", 1)]
    assert "members of the variants standard, w_asym." in (m.directory / "README.txt").read_text()
    summary = m.stored_summary(2)["result"]
    assert {r["variant"] for r in summary["members"]} == {"standard", "w_asym"}
    assert set(summary["trainable_parameters"]) == {"standard", "w_asym"}
    assert set(zoo.check_quality(summary, {"every variant": 0.0})) == {"standard", "w_asym"}
    assert zoo.cli.info(m).startswith(f"zoo 'metanet_ci' in {m.directory}: standard 2, w_asym 2 valid")
    for v in ("standard", "w_asym"):
        for i in range(2):
            assert m.member_key(v, i) == z.member_key(v, i)
            assert _sha(m._paths(v, i)[0]) == _sha(z._paths(v, i)[0])
