"""Metanetworks (symlib.metanets): Table 9's sizes, the inputs against numpy, DeepSets' invariance, the permutation
augmentation as a symmetry, the seeded split, and training that learns a learnable target but not a shuffled one."""
import functools

import numpy as np
import pytest
import torch

from symlib.architectures import ResNet8, ResNet8Config, build_model
from symlib.metanets import (DMC_MIN_LENGTH, KINDS, MetanetConfig, Network, fit_metanet, flat_weights,
                             hyperparameter_features, input_size, layout_of, metanet_input, parameter_count,
                             permutation_augment, permute_weights, predict, split, state_from_row,
                             tensor_statistics, weight_data, weight_statistics, zoo_networks)
from symlib.metrics import r2
from symlib.permutation import apply_permutation, random_permutation
from symlib.seeding import seeded, torch_generator

def _tiny(variant="standard", seed=0) -> ResNet8:
    """A small ResNet8; W-Asym: 3 fixed filters per output channel (the 3-channel stem wholly fixed, as the
    paper's), 2 fixed entries per head row."""
    return seeded(lambda: ResNet8(ResNet8Config(widths=(5, 8, 8), variant=variant, n_fix=3, n_fix_head=2)), seed)


def _metanet(kind, in_dim, hidden, seed=0):
    return seeded(lambda: build_model(MetanetConfig(kind, in_dim, hidden)), seed).eval()


@pytest.mark.parametrize("kind", KINDS)
def test_every_metanet_maps_a_batch_of_inputs_to_one_prediction_each(kind):
    d = DMC_MIN_LENGTH if kind == "dmc" else 40
    net = _metanet(kind, d, 32)
    assert net(torch.randn(3, d)).shape == (3,)


def test_the_dmc_refuses_inputs_its_convolutions_cannot_take():
    with pytest.raises(ValueError, match="at least"):
        MetanetConfig("dmc", DMC_MIN_LENGTH - 1)
    with pytest.raises(ValueError, match="unknown metanet"):
        MetanetConfig("gnn", 10)


def test_table9_parameter_counts_at_paper_width():
    """Table 9 (Appendix E.3): the MLP sees exactly the trainable weights (78,042 standard, 60,634 W-Asym); the
    other metanets' sizes do not depend on the zoo."""
    table9 = {"standard": {"mlp": 4_994_945, "dmc": 105_357, "deepsets": 8_897, "statnn": 119_297},
              "w_asym": {"mlp": 3_880_833, "dmc": 105_357, "deepsets": 8_897, "statnn": 119_297}}
    for variant, counts in table9.items():
        cnn = ResNet8(ResNet8Config(variant=variant))
        assert input_size("mlp", cnn) == {"standard": 78_042, "w_asym": 60_634}[variant]
        assert input_size("statnn", cnn) == 203  # 7 statistics of 29 tensors
        for kind, count in counts.items():
            assert parameter_count(MetanetConfig(kind, input_size(kind, cnn))) == count, (variant, kind)


def test_statistics_of_a_hand_made_tensor():
    w = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert tensor_statistics(w).tolist() == pytest.approx([3.5, 3.5, 1.0, 6.0, 2.25, 3.5, 4.75])
    assert tensor_statistics(torch.zeros(0)).tolist() == [0.0] * 7


def test_statnn_features_against_numpy_on_a_hand_made_w_asym_state():
    """Per tensor, in named_parameters order: statistics of the trainable entries only (the mask that the *state*
    carries wins over the template's); a wholly fixed stem gives zeros."""
    template = _tiny("w_asym")
    rng = np.random.default_rng(0)
    state = {k: torch.from_numpy(rng.normal(size=tuple(v.shape))).float() if v.is_floating_point() else v.clone()
             for k, v in template.state_dict().items()}
    state["stem.mask"] = torch.ones_like(state["stem.mask"])  # this state's own mask: the stem is all trainable
    state["head.mask"] = torch.from_numpy(rng.random(tuple(state["head.mask"].shape)) < 0.5)
    expected = []
    for name, _ in template.named_parameters():
        w = state[name].numpy()
        mask = state.get(name[:-len("weight")] + "mask") if name.endswith("weight") else None
        v = w[mask.numpy()] if mask is not None else w.reshape(-1)
        expected += ([v.mean(), v.var(ddof=1), v.min(), v.max(), *np.quantile(v, [0.25, 0.5, 0.75])]
                     if v.size else [0.0] * 7)
    got = weight_statistics(state, template)
    assert got.shape == (7 * len(list(template.parameters())),)
    np.testing.assert_allclose(got.numpy(), np.array(expected, dtype=np.float32), rtol=1e-5, atol=1e-6)
    # the template's own masks: the trainable entries only
    masked = {n for n, _ in template.named_buffers() if n.endswith(".mask")}
    assert flat_weights(template.state_dict(), template).numel() == sum(
        int(template.get_buffer(n).sum()) for n in masked) + sum(
        p.numel() for n, p in template.named_parameters() if n[:-len("weight")] + "mask" not in masked)


def test_a_wholly_fixed_tensor_gives_zero_statistics():
    cnn = _tiny("w_asym")
    assert not cnn.stem.mask.any()
    assert weight_statistics(cnn.state_dict(), cnn)[:7].tolist() == [0.0] * 7


def test_a_flat_weights_row_with_its_layout_reads_back_the_same_inputs():
    cnn = _tiny("w_asym")
    state = cnn.state_dict()
    row = torch.cat([p.detach().reshape(-1) for p in cnn.parameters()]).numpy()
    back = state_from_row(row, layout_of(cnn))  # parameters only: the template's masks apply
    for kind in ("mlp", "statnn"):
        assert torch.equal(metanet_input(kind, back, cnn), metanet_input(kind, state, cnn))
    with pytest.raises(ValueError, match="does not fit"):
        state_from_row(row[:-1], layout_of(cnn))


def _permuted_state(cnn, seed):
    spec = cnn.permutation_spec()
    state = cnn.state_dict()
    return apply_permutation(spec, random_permutation(spec, state, seed), state)


def test_deepsets_is_invariant_to_neuron_permutations_and_the_mlp_is_not():
    cnn = _tiny()
    x = flat_weights(cnn.state_dict(), cnn)
    xp = flat_weights(_permuted_state(cnn, 3), cnn)
    assert not torch.equal(x, xp)
    d = x.numel()
    sets, mlp = _metanet("deepsets", d, 16), _metanet("mlp", d, 16)
    with torch.no_grad():
        torch.testing.assert_close(sets(xp[None]), sets(x[None]), rtol=1e-5, atol=1e-6)
        assert (mlp(xp[None]) - mlp(x[None])).abs().item() > 1e-3
        torch.testing.assert_close(  # StatNN's features are invariant too
            weight_statistics(_permuted_state(cnn, 3), cnn), weight_statistics(cnn.state_dict(), cnn))


def test_permutation_augmentation_keeps_each_network_s_function():
    cnn = _tiny()
    other = _tiny(seed=1)
    X = torch.stack([flat_weights(m.state_dict(), m) for m in (cnn, other)])
    aug = functools.partial(permutation_augment, network=cnn.cfg)
    Xa = aug(X, torch_generator(0, "test"))
    assert torch.equal(Xa, aug(X, torch_generator(0, "test")))  # seeded by the generator
    assert not torch.equal(Xa, aug(X, torch_generator(1, "test")))
    images = torch.randn(5, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    layout = layout_of(cnn)
    for row, new in zip(X, Xa):
        assert not torch.equal(row, new) and torch.equal(row.sort().values, new.sort().values)
        before, after = _tiny(seed=5).eval(), _tiny(seed=5).eval()
        before.load_state_dict(state_from_row(row, layout))
        after.load_state_dict(state_from_row(new, layout))
        with torch.no_grad():
            torch.testing.assert_close(after(images), before(images), rtol=1e-5, atol=1e-5)
    assert permute_weights(X[0], cnn.cfg, 7).shape == X[0].shape


def test_permutation_augmentation_refuses_asymmetric_networks():
    cfg = _tiny("w_asym").cfg
    with pytest.raises(ValueError, match="standard network"):
        permutation_augment(torch.zeros(1, 10), torch_generator(0), network=cfg)


def test_the_split_is_seeded_disjoint_and_not_file_order():
    tr, va, te = split(103, seed=4)
    assert (len(tr), len(va), len(te)) == (52, 26, 25)
    assert sorted(torch.cat([tr, va, te]).tolist()) == list(range(103))
    assert all(torch.equal(a, b) for a, b in zip(split(103, seed=4), (tr, va, te)))
    assert not torch.equal(split(103, seed=5)[0], tr)
    assert tr.tolist() != sorted(tr.tolist())


def test_weight_data_reads_networks_and_drops_non_finite_ones():
    cnn = _tiny()
    nets = [Network(i, _tiny(seed=i).state_dict(), 0.1 * i, 1e-2, 1e-3, 0.1, 12) for i in range(3)]
    nets[1].state["head.bias"][0] = float("nan")
    data = weight_data("statnn", nets, cnn)
    assert data.members == (0, 2) and data.dropped == (1,) and data.X.shape == (2, 203)
    assert data.y.tolist() == pytest.approx([0.0, 0.2])
    assert data.hparams[0].tolist() == pytest.approx([-2.0, -3.0, 0.1, 12.0])
    assert torch.equal(data.hparams[0], hyperparameter_features(1e-2, 1e-3, 0.1, 12))


def _synthetic(seed=1, n=256, d=8):
    g = torch.Generator().manual_seed(seed)
    X, w = torch.randn(n, d, generator=g), torch.randn(d, generator=g)
    return X, 0.5 + 0.2 * torch.tanh(X @ w / d ** 0.5)


def test_a_metanet_learns_a_learnable_target_and_the_shuffled_control_does_not():
    X, y = _synthetic()
    splits = split(len(y), seed=1)
    cfg = MetanetConfig("mlp", X.shape[1], hidden=32)
    kw = dict(lrs=(1e-3, 1e-2), epochs=12, batch_size=32, seed=1, device="cpu", workers=1)
    real = fit_metanet(cfg, X, y, splits, **kw)
    shuffled = fit_metanet(cfg, X, y, splits, shuffle_targets=True, **kw)
    assert real["test_r2"] > 0.5 and real["test_kendall_tau"] > 0.5
    assert -0.3 < shuffled["test_r2"] < 0.1
    # the returned network is the one of the best validation epoch (retrained to that epoch)
    val = splits[1]
    assert r2(predict(cfg, shuffled["state"], X[val]), y[val]) == pytest.approx(shuffled["val_r2"], abs=1e-6)
    assert shuffled["epoch"] < 12 and max(shuffled["val_r2_curves"][shuffled["lr"]]) == shuffled["val_r2"]


def test_the_blind_shuffled_control_chooses_on_shuffled_validation_targets_along_the_same_path():
    X, y = _synthetic()
    splits = split(len(y), seed=1)
    cfg = MetanetConfig("mlp", X.shape[1], hidden=32)
    kw = dict(lrs=(1e-3, 1e-2), epochs=12, batch_size=32, seed=1, device="cpu", workers=1, shuffle_targets=True)
    shuffled = fit_metanet(cfg, X, y, splits, **kw)
    blind = fit_metanet(cfg, X, y, splits, shuffle_validation=True, **kw)
    val, test = splits[1], splits[2]
    # its chosen network is judged on validation targets that are not the truth ...
    assert r2(predict(cfg, blind["state"], X[val]), y[val]) != pytest.approx(blind["val_r2"], abs=1e-3)
    assert blind["val_r2_curves"] != shuffled["val_r2_curves"]
    # ... and tested on the true test targets
    assert r2(predict(cfg, blind["state"], X[test]), y[test]) == pytest.approx(blind["test_r2"], abs=1e-6)
    # the training path is the shuffled control's: the same targets, start and batches (one epoch: nothing to choose)
    one = {**kw, "lrs": (1e-2,), "epochs": 1}
    a, b = fit_metanet(cfg, X, y, splits, **one), fit_metanet(cfg, X, y, splits, **one, shuffle_validation=True)
    assert all(torch.equal(a["state"][k], b["state"][k]) for k in a["state"]) and a["val_r2"] != b["val_r2"]
    with pytest.raises(ValueError, match="needs shuffle_targets=True"):
        fit_metanet(cfg, X, y, splits, **{**kw, "shuffle_targets": False}, shuffle_validation=True)


class _FakeZoo:
    """What zoo_networks reads of a symlib.zoo.Zoo: records and (init, final) states; member 1 diverged."""

    def __init__(self):
        self.states = {i: _tiny(seed=i).state_dict() for i in (0, 2)}

    def members(self, variant, n=None):
        draw = {"lr": 0.1, "weight_decay": 1e-4, "label_smoothing": 0.05, "epochs": 7}
        return [{"member": i, "test_acc": None if i == 1 else 0.3 + i / 10, **draw} for i in range(3)][:n]

    def weights(self, variant, i):
        return self.states.get(i), self.states.get(i)


def test_zoo_networks_skips_diverged_members():
    nets = list(zoo_networks(_FakeZoo(), "standard"))
    assert [n.member for n in nets] == [0, 2] and nets[1].test_acc == pytest.approx(0.5) and nets[0].epochs == 7
    data = weight_data("mlp", nets, _tiny())
    assert data.X.shape == (2, input_size("mlp", _tiny()))


def _their_inputs(sd):
    """The authors' metanet inputs (metanet/train.py, ``sd_to_input`` with ``use_fixed=False`` and ``sd_to_stats``,
    restated): every state-dict entry but the ``mask``/``normal_mask``/``F_mat`` buffers, in their order; a weight
    with a mask keeps its entries where the mask is 1."""
    kept = []
    for k, v in sd.items():
        if "mask" in k or "F_mat" in k:
            continue
        mask = sd.get(k[:k.rfind(".")] + ".mask") if k.endswith(".weight") else None
        kept.append(v[mask == 1] if mask is not None else v.reshape(-1))
    return torch.cat(kept), kept


@pytest.mark.parametrize("model_type", ["resnet8", "sparse_resnet8", "sigma_asym_resnet8"])
def test_inputs_equal_the_authors_on_a_state_dict_in_their_layout(model_type):
    """Same entries in the same order (their state-dict order is our named_parameters order), so the DMC's 1-D
    convolutions see the sequence theirs saw; the statistics agree tensor by tensor."""
    from test_authors_zoo import TYPES, TheirResNet8  # a ResNet8 with their module names and buffers

    from symlib.authors_zoo import from_authors_state

    variant = TYPES[model_type][0]
    sd = TheirResNet8(model_type, seed=0).state_dict()
    ours, model = from_authors_state(sd, variant), ResNet8(ResNet8Config(variant=variant))
    flat, tensors = _their_inputs(sd)
    assert flat.numel() == {"standard": 78_042, "w_asym": 60_634, "sigma_asym": 78_042}[variant]
    assert torch.equal(flat_weights(ours, model), flat)
    stats = torch.stack([tensor_statistics(t) for t in tensors]).reshape(-1)
    torch.testing.assert_close(weight_statistics(ours, model), stats)
