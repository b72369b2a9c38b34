import dataclasses

import pytest
import torch

from symlib.data import cifar_augment
from symlib.models import ZooCNN, ZooCNNConfig
from symlib.population import Member, build_member, evaluate_states, train_population
from symlib.train import TrainConfig, evaluate, train

WIDTHS = (8, 16, 16)


def _data(n=96, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 32, 32, generator=g), torch.randint(0, 10, (n,), generator=g)


def _members(optimizer="adamw", lr_scale=1.0):
    lrs = [3e-3, 1e-2, 5e-4] if optimizer == "adamw" else [0.05, 0.2, 0.01]
    return [Member(init_seed=1, data_seed=11, arch={"arch_seed": 5, "kappa": 0.5},
                   train=TrainConfig(epochs=2, batch_size=32, lr=lrs[0] * lr_scale, weight_decay=0.05, optimizer=optimizer,
                                     label_smoothing=0.1, schedule="linear", warmup_epochs=0.5)),
            Member(init_seed=2, data_seed=12, arch={"arch_seed": 6, "kappa": 1.0},
                   train=TrainConfig(epochs=3, batch_size=32, lr=lrs[1] * lr_scale, weight_decay=1e-4, optimizer=optimizer,
                                     label_smoothing=0.0, schedule="linear", warmup_epochs=1)),
            Member(init_seed=3, data_seed=13, arch={"arch_seed": 5, "kappa": 0.25},
                   train=TrainConfig(epochs=1, batch_size=32, lr=lrs[2] * lr_scale, weight_decay=0.01, optimizer=optimizer,
                                     label_smoothing=0.2, schedule="linear"))]


def _maker(variant):
    return lambda m: ZooCNN(ZooCNNConfig(widths=WIDTHS, variant=variant, **m.arch))


def _alone(make, member, X, y):
    model = build_member(make, member)
    init = {k: v.clone() for k, v in model.state_dict().items()}
    hist = train(model, X, y, member.train, seed=member.data_seed, augment=cifar_augment, progress=False)
    return init, model, hist


@pytest.mark.parametrize("variant,optimizer", [("standard", "adamw"), ("w_asym", "adamw"), ("sigma_asym", "adamw"),
                                               ("w_asym", "sgd")])
def test_population_member_equals_the_member_trained_alone(variant, optimizer):
    """Members differ in hyper-parameters, epochs, data order *and* fixed buffers (arch seed, κ)."""
    make = _maker(variant)
    X, y = _data()
    members = _members(optimizer)
    out = train_population(make, members, X, y, augment=cifar_augment, device="cpu", progress=False)
    for member, res in zip(members, out):
        init, model, hist = _alone(make, member, X, y)
        assert not res["diverged"]
        assert all(torch.equal(res["init"][k], v) for k, v in init.items())
        for name, p in model.state_dict().items():
            torch.testing.assert_close(res["final"][name], p, rtol=1e-4, atol=1e-5, msg=name)
        assert res["history"]["epoch"] == hist["epoch"] == list(range(1, member.train.epochs + 1))
        torch.testing.assert_close(torch.tensor(res["history"]["train_loss"]), torch.tensor(hist["train_loss"]),
                                   rtol=1e-4, atol=1e-5)
        assert res["history"]["train_acc"] == pytest.approx(hist["train_acc"], abs=1 / len(X) + 1e-9)
    # vectorised evaluation of states with different buffers agrees with the plain one, whether the states
    # go one at a time (the vmap-free path) or three at once (vmap)
    for chunk in (1, 3):
        losses, accs = evaluate_states(lambda: make(members[0]), [r["final"] for r in out], X, y, chunk=chunk,
                                       device="cpu")
        for member, r, loss, acc in zip(members, out, losses, accs):
            model = make(member)
            model.load_state_dict(r["final"])
            ref_loss, ref_acc = evaluate(model, X, y)
            assert loss == pytest.approx(ref_loss, rel=1e-5) and acc == pytest.approx(ref_acc)


def test_diverging_member_is_flagged_and_does_not_disturb_the_others():
    make = _maker("sigma_asym")
    X, y = _data()
    good = _members()[0]
    bad = dataclasses.replace(good, init_seed=9, train=dataclasses.replace(good.train, lr=1e36, weight_decay=0.0))
    out = train_population(make, [bad, good], X, y, augment=cifar_augment, device="cpu", progress=False)
    assert out[0]["diverged"] and out[0]["final"] is None and out[0]["history"]["diverged"] == [1.0]
    _, model, _ = _alone(make, good, X, y)
    assert not out[1]["diverged"]
    for name, p in model.state_dict().items():
        torch.testing.assert_close(out[1]["final"][name], p, rtol=1e-4, atol=1e-5, msg=name)


def test_population_rejects_what_it_cannot_vectorise():
    X, y = _data(32)
    m = _members()
    with pytest.raises(ValueError, match="batch size"):
        train_population(_maker("standard"), [m[0], dataclasses.replace(m[1], train=TrainConfig(batch_size=16))],
                         X, y, progress=False)
    with pytest.raises(ValueError, match="one optimizer"):
        train_population(_maker("standard"), [m[0], _members("sgd")[1]], X, y, progress=False)
    widths = iter([WIDTHS, (8, 16, 32)])
    with pytest.raises(ValueError, match="module structure"):
        train_population(lambda mem: ZooCNN(ZooCNNConfig(widths=next(widths))), m[:2], X, y, progress=False)


def _square_or_fail(x):
    if x < 0:
        raise ValueError(f"negative job {x}")
    return x * x, torch.get_num_threads()


def test_run_jobs_keeps_job_order_runs_single_threaded_and_reports_failures():
    from symlib.parallel import run_jobs
    threads = torch.get_num_threads()
    jobs = [3, 1, 4, 1, 5]
    for workers in (1, 2):
        out = run_jobs(_square_or_fail, jobs, workers=workers, progress=False)
        assert [r for r, _ in out] == [9, 1, 16, 1, 25]
        assert {t for _, t in out} == {1}  # every job on one thread, whatever the number of workers
    assert torch.get_num_threads() == threads  # the in-process route restores the caller's threads
    with pytest.raises(ValueError, match="negative job -2"):
        run_jobs(_square_or_fail, [1, -2], workers=2, progress=False)


def test_train_members_cpu_workers_give_the_population_result():
    """The CPU route (one member per worker process, one thread each) against one vectorised population."""
    import functools

    import symlib.population as population
    from symlib.experiments import zoo
    X, y = _data(64)
    mcfg = ZooCNNConfig(widths=WIDTHS, variant="sigma_asym")
    members = [dataclasses.replace(m, arch={}) for m in _members("sgd")]
    workers = population.train_members(functools.partial(zoo.build_model, mcfg), members, X, y,
                                       augment=cifar_augment, device="cpu", workers=2, progress=False)
    together = train_population(lambda m: ZooCNN(mcfg), members, X, y, augment=cifar_augment, device="cpu",
                                progress=False)
    for a, b in zip(workers, together):
        assert a["history"]["epoch"] == b["history"]["epoch"]
        for name in b["final"]:
            torch.testing.assert_close(a["final"][name], b["final"][name], rtol=1e-4, atol=1e-5, msg=name)
