"""Data are the real datasets; parameters are validated before any work, in one line, from any directory."""
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from symlib import data, notebook, params
from symlib.chapters import appendix_a, lmc
from symlib.data import DatasetNotFound, data_root, load_cifar10, load_cora, load_mnist
from symlib.results import config_hash

ROOT = Path(__file__).resolve().parents[1]


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_missing_dataset_error_names_the_files_and_the_fix(tmp_path):
    with pytest.raises(DatasetNotFound) as err:
        load_mnist("train", root=tmp_path, download=False)
    msg = str(err.value)
    assert "train-images-idx3-ubyte" in msg and str(tmp_path / "MNIST" / "raw") in msg and "SYMLIB_DATA" in msg
    assert "\n" not in msg and "shared" not in msg and "MNIST/raw/" in msg and "download=True" in msg
    with pytest.raises(DatasetNotFound, match="test_batch"):
        load_cifar10("test", root=tmp_path, download=False)
    assert _tree(tmp_path) == []  # no empty MNIST/raw/ or cifar-10-batches-py/


def test_what_a_dataset_needs_is_known_in_one_place(data_root, tmp_path):
    assert data.missing("MNIST", data_root) == [] and len(data.required_files("MNIST", data_root)) == 4
    assert [p.name for p in data.required_files("MNIST", tmp_path, "test")] == [
        "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
    assert data.missing("Cora", tmp_path) == data.required_files("Cora", tmp_path)
    assert len(data.required_files("Cora", tmp_path)) == 8
    folder, names, missing = notebook._dataset_files("Cora", tmp_path)  # the runner's check asks symlib.data
    assert folder == tmp_path / "Cora" / "raw" and "ind.cora.graph" in names and len(missing) == 8
    assert notebook._dataset_files("MNIST", data_root)[2] == []
    with pytest.raises(ValueError, match="unknown dataset"):
        data.required_files("ImageNet", tmp_path)


def test_cora_is_the_real_dataset_read_without_writing(data_root, tmp_path):
    if data.missing("Cora", data_root):
        pytest.skip("Cora not in the data root")
    before = _tree(data_root / "Cora")
    g = load_cora(root=data_root, download=False)
    assert _tree(data_root / "Cora") == before  # PyG's processed/ cache went to a temporary folder
    assert tuple(g.x.shape) == (2708, 1433) and g.x.dtype == torch.float32 and set(g.x.unique().tolist()) == {0, 1}
    assert g.edge_index.dtype == torch.int64 and tuple(g.edge_index.shape) == (2, 10556)  # 5,278 undirected edges
    forward, backward = (torch.sort(a * 2708 + b)[0] for a, b in (g.edge_index, g.edge_index.flip(0)))
    assert torch.equal(forward, backward) and len(forward.unique()) == 10556  # both directions, no duplicates
    assert g.y.dtype == torch.int64 and g.num_classes == 7 and len(g.y) == 2708
    assert [int(g.mask(s).sum()) for s in ("train", "val", "test")] == [140, 500, 1000]
    assert not (g.train_mask & g.val_mask).any() and not (g.val_mask & g.test_mask).any()
    assert g.y[g.train_mask].bincount().tolist() == [20] * 7  # the public split: 20 training nodes per class
    assert g.train_mask[:140].all() and g.val_mask[140:640].all()  # Planetoid's standard index ranges
    src = g.source("train")
    assert src.n == 140 and src.x is g.x
    normalized = load_cora(root=data_root, download=False, normalize=True)
    assert torch.allclose(normalized.x.sum(1), torch.ones(2708))


def test_missing_cora_is_one_line_and_creates_nothing(tmp_path):
    for root in (tmp_path / "empty", tmp_path / "nowhere"):
        if root.name == "empty":
            root.mkdir()
        with pytest.raises(DatasetNotFound) as err:
            load_cora(root=root, download=False)
        msg = str(err.value)
        assert "\n" not in msg and str(root / "Cora" / "raw") in msg and "ind.cora.x" in msg
        assert "../shared" not in msg and "shared" not in msg and "SYMLIB_DATA" in msg and "Cora/raw/" in msg
    assert _tree(tmp_path) == ["empty"]  # the empty root stays empty, the missing one missing


def test_a_failed_download_creates_nothing_and_a_good_one_lands_in_the_root(tmp_path, monkeypatch):
    def broken(name, into):
        (into / "Cora" / "raw").mkdir(parents=True)
        (into / "Cora" / "raw" / "ind.cora.x").write_bytes(b"partial")
        raise OSError("no network\nsecond line")

    monkeypatch.setattr(data, "_fetch", broken)
    for root in (tmp_path / "exists", tmp_path / "nowhere"):
        if root.name == "exists":
            root.mkdir()
        with pytest.raises(DatasetNotFound) as err:
            load_cora(root=root, download=True)
        msg = str(err.value)
        assert "\n" not in msg and "download failed: OSError: no network" in msg and str(root / "Cora" / "raw") in msg
    assert _tree(tmp_path) == ["exists"]  # no partial file, no empty Cora/raw/, no temporary folder

    def fake(name, into):
        raw = into / "Cora" / "raw"
        raw.mkdir(parents=True)
        for f in data.CORA_FILES:
            (raw / f).write_bytes(b"x")
        return raw

    monkeypatch.setattr(data, "_fetch", fake)
    data.download("Cora", tmp_path / "exists")
    assert _tree(tmp_path / "exists") == ["Cora", "Cora/raw"] + sorted(f"Cora/raw/{f}" for f in data.CORA_FILES)


def test_mnist_is_the_real_dataset(data_root):
    test = load_mnist("test", root=data_root, download=False)
    assert tuple(test.X.shape) == (10000, 1, 28, 28) and len(test.y) == 10000
    assert test.y.bincount().tolist()[:3] == [980, 1135, 1032]  # the official test-set class counts
    assert abs(float(test.X.mean())) < 0.05 and abs(float(test.X.std()) - 1) < 0.05


def test_cifar10_is_the_real_dataset_and_downsamples_by_area(data_root):
    if not (data_root / "cifar-10-batches-py").exists():
        pytest.skip("CIFAR-10 not in the data root")
    test = load_cifar10("test", root=data_root, download=False)
    assert tuple(test.X.shape) == (10000, 3, 32, 32)
    assert test.y.bincount().tolist() == [1000] * 10 and test.classes[0] == "airplane"
    small = test.subset(5, 0).downsample(2)
    assert tuple(small.X.shape) == (5, 3, 16, 16)
    assert small.X[0, :, 0, 0].tolist() == pytest.approx(test.subset(5, 0).X[0, :, :2, :2].mean((1, 2)).tolist())


def test_the_default_data_root_is_the_project_not_the_working_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("SYMLIB_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    assert data_root() == ROOT / "data"


def test_unknown_scale_misspelt_parameter_bad_types_are_rejected():
    with pytest.raises(params.ParameterError, match="unknown scale 'smal'"):
        lmc.configure({"scale": "smal"})
    with pytest.raises(params.ParameterError, match=r"unknown parameter\(s\) \['widht'\]"):
        lmc.configure({"scale": "small", "widht": 256})
    with pytest.raises(params.ParameterError, match="must be an integer"):
        lmc.configure({"scale": "small", "epochs": "3"})
    with pytest.raises(params.ParameterError, match="recompute must be True or False"):
        lmc.configure({"scale": "small", "recompute": "maybe"})
    with pytest.raises(params.ParameterError, match=r"kappa\[1\] must be a number"):
        lmc.configure({"scale": "small", "kappa": [1.0, "x", 0.5, 0.25]})


def test_grids_take_any_length():
    from symlib.chapters import symmetries
    cfg = symmetries.configure({"scale": "small", "kappa_grid": [0.1, 1.0]})
    assert cfg["kappa_grid"] == [0.1, 1.0]
    assert appendix_a.configure({"scale": "small", "grid_kappas": [0.5, 1, 2, 3, 4]})["grid_kappas"] == [0.5, 1, 2, 3, 4]


def test_imported_names_are_not_mistaken_for_parameters():
    import math
    ns = {"scale": "ci", "seed": 1, "math": math, "sqrt": math.sqrt, "METHOD_COLORS": {"a": 1}, "In": [],
          "_": None, "ParameterError": params.ParameterError}
    assert params.notebook_parameters(ns) == {"scale": "ci", "seed": 1}
    assert lmc.configure(ns)["seed"] == 1


def test_presets_and_overrides():
    small = lmc.configure({"scale": "small", "seed": 0, "recompute": False, "width": None})
    assert small == lmc.configure({"scale": "small"})
    wide = lmc.configure({"scale": "small", "seed": 3, "width": 128})
    assert wide["seed"] == 3 and wide["n_fix"] == [64, 16, 16, 64]  # hidden-fan-in n_fix scale with width
    assert config_hash(wide) != config_hash(small)
    paper = lmc.configure({"scale": "paper"})
    assert (paper["lr"], paper["weight_decay"], paper["batch_size"], paper["epochs"]) == (1e-3, 0.03, 64, 25)
    assert paper["n_pairs"] >= 5 and paper["width"] == 512 and paper["n_fix"] == [64, 64, 64, 256]
    assert paper["kappa"] == [1.0, 1.0, 0.5, 0.25] and paper["figlu_std"] == [1.0]  # the authors' FiGLU scale


def test_the_wrapper_validates_before_any_kernel_starts(tmp_path):
    book = ROOT / "book" / "lmc.ipynb"
    assert {"scale", "seed", "recompute", "width"} <= set(notebook.declared_parameters(book))
    for bad, message in (({"scale": "ci", "widht": 3}, r"no parameter\(s\) \['widht'\]"),
                         ({"scale": "huge"}, "unknown scale 'huge'"), ({"recompute": "maybe"}, "recompute must be"),
                         ({"epochs": 1.5}, "epochs must be an integer")):
        with pytest.raises(params.ParameterError, match=message):
            notebook.run(book, tmp_path / "out.ipynb", bad)
    assert not (tmp_path / "out.ipynb").exists()
    assert notebook.parse_value("3") == 3 and notebook.parse_value("[64, 8]") == [64, 8]
    assert notebook.parse_value("1e-3") == 1e-3 and notebook.parse_value("small") == "small"


def test_a_bad_parameter_is_one_line_on_the_command_line(tmp_path):
    out = subprocess.run([sys.executable, "-m", "symlib.notebook", str(ROOT / "book" / "lmc.ipynb"),
                          str(tmp_path / "o.ipynb"), "-p", "recompute", "maybe"], capture_output=True, text=True)
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == ["error: recompute must be True or False, got 'maybe'"]


def test_relative_paths_resolve_against_the_callers_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SYMLIB_DATA", "some/data")
    monkeypatch.delenv("SYMLIB_RESULTS", raising=False)
    monkeypatch.setenv("SYMLIB_ZOO", "../zoo")
    paths = notebook.caller_paths()
    assert paths["SYMLIB_DATA"] == str(tmp_path / "some" / "data")
    assert paths["SYMLIB_ZOO"] == str(tmp_path.parent / "zoo") and "SYMLIB_RESULTS" not in paths
    monkeypatch.delenv("SYMLIB_DATA")
    assert notebook.caller_paths()["SYMLIB_DATA"] == str(tmp_path / "data")


def test_a_chapter_runs_from_another_directory_with_a_relative_data_path(data_root, tmp_path):
    """`python -m symlib.notebook` at ci from outside the project with a relative SYMLIB_DATA: the data are found,
    nothing is written under book/, nothing alarming is printed, and the run ends by saying where everything went."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    before = sorted(p.name for p in (ROOT / "book").iterdir())
    env = {**os.environ, "SYMLIB_DATA": os.path.relpath(data_root.resolve(), elsewhere),
           "SYMLIB_RESULTS": str(tmp_path / "results"), "SYMLIB_WORKERS": "1"}
    out = subprocess.run([sys.executable, "-m", "symlib.notebook", str(ROOT / "book" / "lmc.ipynb"), "out.ipynb",
                          "-p", "scale", "ci", "-p", "recompute", "true", "--quiet"], cwd=elsewhere, env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    written = list((tmp_path / "results" / "ci").glob("lmc-*.json"))
    assert (elsewhere / "out.ipynb").exists() and written
    assert sorted(p.name for p in (ROOT / "book").iterdir()) == before  # no book/data, nothing else
    lines = out.stdout.strip().splitlines()
    assert lines[0].startswith("symlib: ran ") and f"notebook  {elsewhere / 'out.ipynb'}" in out.stdout
    assert f"wrote     {written[0]}" in out.stdout and f"MNIST in {data_root.resolve()}" in out.stdout
    for alarm in ("WARNING", "Traceback", "KeyboardInterrupt", "without encryption"):
        assert alarm not in out.stdout + out.stderr, f"{alarm!r} printed by a successful run"


def test_missing_data_stops_before_a_kernel_in_one_line(tmp_path):
    """A chapter that has to compute without its dataset: one line naming what was looked for, where, and how to get
    it; exit 2; nothing created (no notebook, no empty MNIST/raw/)."""
    env = {**os.environ, "SYMLIB_DATA": str(tmp_path / "nowhere"), "SYMLIB_RESULTS": str(tmp_path / "results")}
    out = subprocess.run([sys.executable, "-m", "symlib.notebook", str(ROOT / "book" / "lmc.ipynb"),
                          str(tmp_path / "out.ipynb"), "-p", "scale", "ci", "-p", "seed", "3"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: lmc computes"), out.stderr
    assert str(tmp_path / "nowhere" / "MNIST" / "raw") in lines[0] and "train-images-idx3-ubyte" in lines[0]
    assert "SYMLIB_DATA" in lines[0] and "--download" in lines[0] and "shared" not in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_stored_result_needs_no_data(tmp_path, monkeypatch, committed_results):
    """Loading a committed result reads no dataset, so the up-front check asks for none."""
    from symlib.chapters import critical_points, symmetries
    monkeypatch.setenv("SYMLIB_DATA", str(tmp_path / "nowhere"))
    assert notebook.check_inputs(ROOT / "book" / "symmetries.ipynb", symmetries.configure({"scale": "small"}),
                                 recompute=False) == []
    with pytest.raises(notebook.MissingInput, match="MNIST"):
        notebook.check_inputs(ROOT / "book" / "symmetries.ipynb", symmetries.configure({"scale": "small"}),
                              recompute=True)
    assert notebook.check_inputs(ROOT / "book" / "critical_points.ipynb",
                                 critical_points.configure({"scale": "ci"}), recompute=True) == []
    assert not (tmp_path / "nowhere").exists()


def test_every_chapter_declares_what_it_reads():
    """notebook.NEEDS (what the up-front check looks for) agrees with what each computation imports."""
    from symlib.ledger import CHAPTERS
    from symlib.results import fingerprint
    drafts = {p.stem for p in (notebook.PROJECT / "book" / "drafts").glob("*.ipynb")}  # chapters not yet in the book
    assert set(notebook.NEEDS) == set(CHAPTERS) | drafts
    for chapter in sorted(set(CHAPTERS) | drafts):
        modules = fingerprint(f"symlib.chapters.{chapter}.compute")
        needs = set(notebook.NEEDS[chapter])
        assert ("symlib.zoo" in modules) == ("zoo" in needs), chapter
        if "zoo" in needs:  # symlib.zoo imports symlib.data: a zoo chapter reads images only through zoo.data()
            source = (notebook.PROJECT / "symlib" / "chapters" / chapter / "compute.py").read_text()
            assert (".data()" in source) == bool(needs - {"zoo"}), chapter
        else:
            assert ("symlib.data" in modules) == bool(needs), chapter


def test_ad_hoc_results_cannot_be_committed_by_accident():
    """A new result file under results/ is git-ignored (a committed one stays tracked); the run says so."""
    from symlib.results import note_for
    new = ROOT / "results" / "small" / "lmc-000000000000.json"
    out = subprocess.run(["git", "check-ignore", "-q", str(new)], cwd=ROOT)
    if out.returncode == 128:
        pytest.skip("not a git checkout")
    assert out.returncode == 0, "new files in results/ must be ignored by git"
    assert "git add -f" in note_for(new)
    tracked = subprocess.run(["git", "ls-files", "results"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    if tracked:
        assert note_for(ROOT / tracked[0]) == ""


def test_cifar100_reads_the_official_pickles(tmp_path):
    """A tiny copy in the official layout (cifar-100-python/{train,test,meta}, the fine labels)."""
    import pickle

    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    g = torch.Generator().manual_seed(0)
    pixels = torch.randint(0, 256, (5, 3 * 32 * 32), generator=g).to(torch.uint8).numpy()
    for split in ("train", "test"):
        with open(folder / split, "wb") as f:
            pickle.dump({"data": pixels, "fine_labels": [3, 1, 4, 1, 5], "coarse_labels": [0] * 5}, f)
    with open(folder / "meta", "wb") as f:
        pickle.dump({"fine_label_names": [f"c{i}" for i in range(100)], "coarse_label_names": []}, f)
    ds = data.load_cifar100("test", root=tmp_path, download=False)
    assert ds.X.shape == (5, 3, 32, 32) and ds.y.tolist() == [3, 1, 4, 1, 5] and len(ds.classes) == 100
    raw = torch.from_numpy(pixels).float().view(5, 3, 32, 32) / 255
    mean, std = torch.tensor(data.CIFAR100_MEAN).view(1, 3, 1, 1), torch.tensor(data.CIFAR100_STD).view(1, 3, 1, 1)
    torch.testing.assert_close(ds.X, (raw - mean) / std)
    assert torch.equal(data.load_cifar100("train", root=tmp_path, download=False, normalize=False).X, raw)


def test_ogbn_arxiv_reads_ogbs_files_undirected_with_the_time_split(tmp_path):
    """A tiny graph in OGB's layout: both edge directions kept once, features, labels and the three masks."""
    import gzip

    def write(rel, rows):
        path = tmp_path / "ogbn_arxiv" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with gzip.open(path, "wt") as f:
            f.write("".join(",".join(str(v) for v in row) + "\n" for row in rows))

    write("raw/edge.csv.gz", [(0, 1), (1, 2), (2, 1), (3, 0)])  # 2 -> 1 duplicates 1 -> 2 once undirected
    write("raw/node-feat.csv.gz", [(0.5, -1.0), (1.5, 2.0), (0.0, 0.25), (3.0, 1.0)])
    write("raw/node-label.csv.gz", [(7,), (0,), (39,), (2,)])
    write("split/time/train.csv.gz", [(0,), (3,)])
    write("split/time/valid.csv.gz", [(1,)])
    write("split/time/test.csv.gz", [(2,)])
    g = data.load_ogbn_arxiv(root=tmp_path, download=False)
    assert g.x.dtype == torch.float32 and g.x[1].tolist() == [1.5, 2.0] and g.y.tolist() == [7, 0, 39, 2]
    assert sorted(map(tuple, g.edge_index.T.tolist())) == [(0, 1), (0, 3), (1, 0), (1, 2), (2, 1), (3, 0)]
    assert g.train_mask.tolist() == [True, False, False, True] and g.val_mask.tolist() == [False, True, False, False]
    assert g.test_mask.tolist() == [False, False, True, False] and g.source("train").n == 2


@pytest.mark.parametrize("name,load", [("CIFAR-100", lambda root: data.load_cifar100(root=root, download=False)),
                                       ("ogbn-arxiv", lambda root: data.load_ogbn_arxiv(root=root, download=False))])
def test_missing_cifar100_or_arxiv_is_one_line_and_creates_nothing(tmp_path, name, load):
    with pytest.raises(DatasetNotFound) as err:
        load(tmp_path)
    msg = str(err.value)
    assert "\n" not in msg and str(data.dataset_folder(name, tmp_path)) in msg and "SYMLIB_DATA" in msg
    assert ("the ogb package" if name == "ogbn-arxiv" else "torchvision") in msg
    assert list(tmp_path.iterdir()) == []
