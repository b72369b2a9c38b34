"""The member store: a trained member is reused only for its exact definition and training code, a killed chapter
run resumes with the members it had trained, and a local Ray that fails to start does not lose the run."""
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from symlib import distributed, store
from symlib.architectures import MLPConfig
from symlib.batches import TensorBatches
from symlib.objectives import CrossEntropy
from symlib.training import Member, TrainConfig, train_members

ROOT = Path(__file__).resolve().parents[1]
REUSED = re.compile(r"symlib: reused (\d+) of (\d+) trained members from ([^;\s]+)")


def _data(n=96, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 12, generator=g), torch.randint(0, 3, (n,), generator=g)


def _members(lr=1e-2, n=3, epochs=2):
    cfg = MLPConfig(in_features=12, width=16, depth=3, out_features=3)
    return [Member(model=cfg, train=TrainConfig(epochs=epochs, batch_size=32, lr=lr), init_seed=10 + i, data_seed=20 + i)
            for i in range(n)]


def _equal(a, b):
    assert a["diverged"] == b["diverged"] and a["history"] == b["history"]
    for key in ("init", "final"):
        assert list(a[key]) == list(b[key])
        for name in a[key]:
            assert a[key][name].dtype == b[key][name].dtype and torch.equal(a[key][name], b[key][name]), (key, name)


def _run(members, source, tmp_path, capsys, **kw):
    out = train_members(members, source, device="cpu", progress=False, workers=1, store=tmp_path / "members", **kw)
    found = REUSED.findall(capsys.readouterr().err)
    assert len(found) == 1, found  # one line per call
    return out, int(found[0][0])


def test_stored_members_are_reused_bit_for_bit_and_only_for_their_definition(tmp_path, capsys, monkeypatch):
    X, y = _data()
    source = TensorBatches(X, y, 32)
    members = _members()
    plain = train_members(members, source, device="cpu", progress=False, workers=1, store=None)
    assert "symlib: reused" not in capsys.readouterr().err  # store=None: the loop alone
    first, reused = _run(members, source, tmp_path, capsys)
    assert reused == 0 and len(list((tmp_path / "members" / "MLP").glob("*.json"))) == 3
    seen = []
    again, reused = _run(members, source, tmp_path, capsys, on_result=lambda i, r: seen.append(i))
    assert reused == 3 and sorted(seen) == [0, 1, 2]
    for p, f, a in zip(plain, first, again):  # stored or trained now: the same result, bit for bit
        _equal(p, f)
        _equal(p, a)
    # the definition: a changed lr, seed, objective hyper-parameter, datum or batch size is another member
    assert _run(_members(lr=2e-2), source, tmp_path, capsys)[1] == 0
    assert _run(members[:2] + [Member(members[2].model, members[2].train, 99, members[2].data_seed)], source,
                tmp_path, capsys)[1] == 2
    X2 = X.clone()
    X2[0, 0] += 1e-6
    assert _run(members, TensorBatches(X2, y, 32), tmp_path, capsys)[1] == 0
    assert _run(members, source, tmp_path, capsys, val=(X[:10], y[:10]))[1] == 0
    assert _run(members, source, tmp_path, capsys, objective=CrossEntropy())[1] == 3  # None is CrossEntropy()
    # the code: another fingerprint of the training code retrains everything, then its members are reused
    monkeypatch.setattr(store, "code_fingerprint", lambda: {"symlib.training": "edited"})
    assert _run(members, source, tmp_path, capsys)[1] == 0
    assert _run(members, source, tmp_path, capsys)[1] == 3
    monkeypatch.undo()
    assert _run(members, source, tmp_path, capsys)[1] == 3  # the original code's members are still there


def test_a_corrupt_or_incomplete_member_is_retrained(tmp_path, capsys):
    X, y = _data()
    source = TensorBatches(X, y, 32)
    members = _members()
    first, _ = _run(members, source, tmp_path, capsys)
    files = sorted((tmp_path / "members" / "MLP").glob("*.npz"))
    data = bytearray(files[0].read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte: fails its checksum
    files[0].write_bytes(bytes(data))
    files[1].with_suffix(".json").unlink()  # killed between the weights and the record
    again, reused = _run(members, source, tmp_path, capsys)
    assert reused == 1
    for a, b in zip(first, again):
        _equal(a, b)
    assert _run(members, source, tmp_path, capsys)[1] == 3  # both rewritten


def test_the_store_is_chosen_by_SYMLIB_MEMBERS_and_cleaned(tmp_path, capsys, monkeypatch):
    X, y = _data(48)
    source = TensorBatches(X, y, 32)
    monkeypatch.setenv("SYMLIB_MEMBERS", str(tmp_path / "mine"))
    train_members(_members(n=2, epochs=1), source, device="cpu", progress=False, workers=1)
    err = capsys.readouterr().err
    assert f"symlib: reused 0 of 2 trained members from {(tmp_path / 'mine').resolve()}; training 2" in err
    (tmp_path / "mine" / "keep.txt").write_text("not a member")
    root, count, size = store.clean()
    assert root == tmp_path / "mine" and count == 2 and size > 0
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["keep.txt"]  # only the store's own files go
    monkeypatch.setenv("SYMLIB_MEMBERS", "off")
    train_members(_members(n=1, epochs=1), source, device="cpu", progress=False, workers=1)
    assert "symlib: reused" not in capsys.readouterr().err and store.members_root() is None
    monkeypatch.delenv("SYMLIB_MEMBERS")
    assert store.members_root() == ROOT / "members"


def test_local_ray_failing_to_start_falls_back_to_this_process(tmp_path, capsys, monkeypatch):
    """Ray's GCS dying at start-up (simulated: ``ray.init`` raises) costs one line, not the run; the results are
    those of an in-process run. A cluster named by RAY_ADDRESS that cannot be joined is still an error."""
    ray = pytest.importorskip("ray")
    monkeypatch.delenv("RAY_ADDRESS", raising=False)

    def gcs_dies(*args, **kwargs):
        raise RuntimeError("Failed to start GCS server: process exited with code 1\n(more lines)")

    monkeypatch.setattr(ray, "init", gcs_dies)
    monkeypatch.setattr(ray, "is_initialized", lambda: False)
    X, y = _data()
    source = TensorBatches(X, y, 32)
    members = _members()
    seen = []
    out = train_members(members, source, device="cpu", progress=False, workers=2, store=None,
                        on_result=lambda i, r: seen.append(i))
    err = capsys.readouterr().err
    assert err.count("symlib: local Ray workers failed to start") == 1, err
    assert "RuntimeError: Failed to start GCS server" in err and "running the 3 task(s) in this process" in err
    assert sorted(seen) == [0, 1, 2]
    for a, b in zip(out, train_members(members, source, device="cpu", progress=False, workers=1, store=None)):
        _equal(a, b)
    monkeypatch.setenv("RAY_ADDRESS", "ray://127.0.0.1:1")
    with pytest.raises(RuntimeError, match="GCS"):
        distributed.map_tasks(abs, [1, -2], in_process=False, progress=False)


# ------------------------------------------------------------------------------------------- a killed chapter

_CHAPTER = """
import json, sys
import symlib.chapters.lmc as ch
rec = ch.load_or_run(ch.configure({"scale": "ci"}), recompute=True)
json.dump(rec["result"], open(sys.argv[1], "w"))
"""


def _without_times(x):
    if isinstance(x, dict):
        return {k: _without_times(v) for k, v in x.items() if not k.endswith("_time_s")}
    if isinstance(x, list):
        return [_without_times(v) for v in x]
    return x


def test_a_killed_chapter_run_resumes_training_only_the_missing_members(data_root, tmp_path):
    """The LMC chapter at ci in a subprocess, SIGKILLed once some networks are stored; the re-run reuses exactly
    those, trains the rest, and its result equals an uninterrupted run's (curves, barriers, histories)."""
    def start(name, members, out):
        env = {**os.environ, "SYMLIB_RESULTS": str(tmp_path / name / "results"), "SYMLIB_MEMBERS": str(members),
               "SYMLIB_WORKERS": "1", "PYTHONPATH": str(ROOT), "SYMLIB_DATA": str(data_root)}
        return subprocess.Popen([sys.executable, "-c", _CHAPTER, str(out)], env=env, cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    store_dir = tmp_path / "members"
    reference = start("reference", tmp_path / "reference-members", tmp_path / "reference.json")
    killed = start("killed", store_dir, tmp_path / "killed.json")
    deadline = time.time() + 120
    while len(list(store_dir.glob("*/*.json"))) < 2 and killed.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    killed.send_signal(signal.SIGKILL)
    killed.communicate()
    stored = len(list(store_dir.glob("*/*.json")))
    assert killed.returncode == -signal.SIGKILL and not (tmp_path / "killed.json").exists()
    out, err = reference.communicate(timeout=240)
    assert reference.returncode == 0, err[-3000:]
    total = sum(int(n) for _, n, _ in REUSED.findall(err))
    assert 2 <= stored < total, (stored, total)

    resumed = start("resumed", store_dir, tmp_path / "resumed.json")
    out, err = resumed.communicate(timeout=240)
    assert resumed.returncode == 0, err[-3000:]
    lines = REUSED.findall(err)
    assert sum(int(r) for r, _, _ in lines) == stored and sum(int(n) for _, n, _ in lines) == total
    assert {Path(p) for _, _, p in lines} == {store_dir.resolve()}
    assert len(list(store_dir.glob("*/*.json"))) == total
    reference_result = json.loads((tmp_path / "reference.json").read_text())
    resumed_result = json.loads((tmp_path / "resumed.json").read_text())
    assert _without_times(resumed_result) == _without_times(reference_result)
