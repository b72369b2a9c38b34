"""The zoo as a dataset: loadable without symlib, resumable after a kill, grown without retraining, corrupt files
retrained."""
import hashlib

import numpy as np
import pandas as pd
import pytest
import torch

from symlib import zoo
from symlib.architectures import ResNet8, ResNet8Config
from symlib.evaluation import evaluate
from symlib.variants import VARIANTS


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
