from pathlib import Path

import pytest

from symlib import params
from symlib.data import DatasetNotFound, load_cifar10, load_mnist
from symlib.experiments import lmc
from symlib.results import config_hash


def test_missing_dataset_error_names_the_files_and_the_fix(tmp_path):
    with pytest.raises(DatasetNotFound) as err:
        load_mnist("train", root=tmp_path, download=False)
    msg = str(err.value)
    assert "train-images-idx3-ubyte" in msg and str(tmp_path) in msg and "SYMLIB_DATA" in msg
    with pytest.raises(DatasetNotFound, match="test_batch"):
        load_cifar10("test", root=tmp_path, download=False)


def test_mnist_is_the_real_dataset(data_root):
    test = load_mnist("test", root=data_root, download=False)
    assert tuple(test.X.shape) == (10000, 1, 28, 28) and len(test.y) == 10000
    assert test.y.bincount().tolist()[:3] == [980, 1135, 1032]  # the official test-set class counts
    assert abs(float(test.X.mean())) < 0.05 and abs(float(test.X.std()) - 1) < 0.05


def test_cifar10_is_the_real_dataset(data_root):
    if not (data_root / "cifar-10-batches-py").exists():
        pytest.skip("CIFAR-10 not in the data root")
    test = load_cifar10("test", root=data_root, download=False)
    assert tuple(test.X.shape) == (10000, 3, 32, 32)
    assert test.y.bincount().tolist() == [1000] * 10 and test.classes[0] == "airplane"


def test_unknown_scale_and_misspelt_parameter_are_rejected():
    with pytest.raises(params.ParameterError, match="unknown scale 'smal'"):
        lmc.configure({"scale": "smal"})
    with pytest.raises(params.ParameterError, match=r"unknown parameter\(s\) \['widht'\]"):
        lmc.configure({"scale": "small", "widht": 256})
    with pytest.raises(params.ParameterError, match="must be an int"):
        lmc.configure({"scale": "small", "epochs": "3"})


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
    assert paper["kappa"] == [1.0, 1.0, 0.5, 0.25]


def test_notebook_wrapper_rejects_undeclared_parameters(tmp_path):
    from symlib import notebook
    book = Path(__file__).resolve().parents[1] / "book" / "lmc.ipynb"
    assert {"scale", "seed", "recompute", "width"} <= set(notebook.declared_parameters(book))
    with pytest.raises(SystemExit, match=r"no parameter\(s\) \['widht'\]"):
        notebook.run(book, tmp_path / "out.ipynb", {"scale": "ci", "widht": 3})
    assert not (tmp_path / "out.ipynb").exists()
    assert notebook.parse_value("3") == 3 and notebook.parse_value("[64, 8]") == [64, 8]
    assert notebook.parse_value("1e-3") == 1e-3 and notebook.parse_value("small") == "small"


def test_figure6_threshold_follows_the_stated_rule():
    from symlib.experiments import appendix_a
    small = appendix_a.configure({"scale": "small"})
    assert small["grid_threshold"] is None  # no fixed threshold: a fraction of the standard run's accuracy
    assert appendix_a.threshold(small, 0.30) == pytest.approx(small["grid_threshold_of_standard"] * 0.30)
    assert appendix_a.threshold(appendix_a.configure({"scale": "paper"}), 0.30) == 0.70  # the paper's 70 %
    assert appendix_a.threshold(appendix_a.configure({"scale": "small", "grid_threshold": 0.5}), 0.3) == 0.5
    for bad in (1.5, 0.0, "0.3", True):
        with pytest.raises(params.ParameterError, match="grid_threshold must be a training accuracy"):
            appendix_a.configure({"scale": "small", "grid_threshold": bad})

