"""The zoo as a dataset: what a researcher loads without symlib matches what symlib measured."""
import numpy as np
import pandas as pd
import pytest
import torch

from symlib.experiments import zoo
from symlib.models import ZooCNN
from symlib.train import evaluate


@pytest.fixture(scope="module")
def tiny_zoo(data_root, tmp_path_factory):
    if not (data_root / "cifar-10-batches-py").exists():
        pytest.skip(f"CIFAR-10 not found under {data_root}/cifar-10-batches-py")
    mp = pytest.MonkeyPatch()
    mp.setenv("SYMLIB_ZOO", str(tmp_path_factory.mktemp("zoo")))
    cfg = zoo.configure({"scale": "ci", "n_members": 2, "train_size": 128, "test_size": 128, "eval_train_size": 64,
                         "epochs_min": 1, "epochs_max": 2})
    result = zoo.run(cfg, device="cpu", progress=False)
    yield cfg, result, zoo.zoo_dir(cfg)
    mp.undo()


def test_zoo_folder_is_loadable_without_symlib(tiny_zoo):
    cfg, result, folder = tiny_zoo
    index = pd.read_csv(folder / "index.csv")
    curves = pd.read_csv(folder / "curves.csv")
    assert len(index) == 2 * len(zoo.VARIANTS) and (folder / "README.txt").exists()
    assert set(index.columns) >= {"lr", "weight_decay", "label_smoothing", "epochs", "init_seed", "data_seed",
                                  "arch_seed", "train_acc", "test_acc", "diverged"}
    for row in index.itertuples():  # one curve point per epoch the member trained
        c = curves[(curves.variant == row.variant) & (curves.member == row.member)]
        assert c.epoch.tolist() == list(range(1, row.epochs + 1)) and c.train_loss.notna().all()
    _, _, test = zoo.data(cfg)
    for row in index.itertuples():
        with np.load(folder / row.file) as f:  # plain numpy: the README's recipe
            final = {k[6:]: torch.from_numpy(f[k]) for k in f.files if k.startswith("final/")}
            init = {k[5:]: torch.from_numpy(f[k]) for k in f.files if k.startswith("init/")}
        assert init.keys() == final.keys()
        model = ZooCNN(zoo.model_config(cfg, row.variant))
        model.load_state_dict(final)
        loss, acc = evaluate(model, test.X, test.y)
        assert acc == pytest.approx(row.test_acc) and loss == pytest.approx(row.test_loss, rel=1e-5)
        if row.variant == "w_asym":  # fixed entries never move in training: the applied weight keeps them
            layers = [n[:-5] for n in final if n.endswith(".mask")]
            assert len(layers) == 10  # 9 convs + head
            for layer in layers:
                mask = final[f"{layer}.mask"]
                assert torch.equal(mask, init[f"{layer}.mask"]) and (~mask).any()
                applied = {s: torch.where(mask, st[f"{layer}.weight"], st[f"{layer}.fixed"])
                           for s, st in (("init", init), ("final", final))}
                assert torch.equal(applied["final"][~mask], applied["init"][~mask])
                assert not torch.equal(applied["final"][mask], applied["init"][mask])  # the rest did train
