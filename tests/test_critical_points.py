"""The authors' teacher, the zero-loss transfer path, and the expansion-manifold detector."""
import numpy as np
import pytest

from symlib.theory import teacher_student as cp
from symlib.theory.counting import T_A, T_B


@pytest.fixture(scope="module")
def data():
    return cp.teacher_data()


def test_grid_and_teacher(data):
    X, y = data
    assert X.shape == (1681, 2) and X.dtype == np.float64
    assert np.isclose(X.min(), -5) and np.isclose(X.max(), 5)
    assert np.allclose(np.unique(X[:, 0])[:3], [-5, -4.75, -4.5])
    W, a = cp.embed_teacher()
    assert cp.student_loss(W, a, X, y) < 1e-28


def test_gradient_is_exact(data):
    X, y = data
    theta = np.random.default_rng(0).normal(size=15) * 0.5
    _, g = cp.loss_and_grad(theta, X, y)
    num = np.array([(cp.loss_and_grad(theta + e, X, y)[0] - cp.loss_and_grad(theta - e, X, y)[0]) / 2e-6
                    for e in np.eye(15) * 1e-6])
    assert np.allclose(g, num, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("perm", [[1, 0, 2, 3, 4], [1, 2, 3, 0, 4], [3, 2, 1, 0, 4], [2, 0, 3, 1, 4]])
def test_transfer_path_keeps_zero_loss_and_ends_at_the_permuted_minimum(data, perm):
    X, y = data
    W, a = cp.embed_teacher()
    W2, a2 = cp.permute_student(W, a, perm)
    path = cp.transfer_path(W, a, perm, z=4, n=11)
    losses = cp.path_losses(path, X, y)
    assert path.W.dtype == np.float64
    assert losses.max() < 1e-10
    assert np.array_equal(path.W[-1], W2) and np.array_equal(path.a[-1], a2)
    # consecutive points are close: it is a path, not a jump
    step = np.sqrt(((np.diff(path.W, axis=0)) ** 2).sum((1, 2)) + (np.diff(path.a, axis=0) ** 2).sum(1))
    assert step.max() < 0.2


def test_transposition_path_passes_through_the_expected_segments(data):
    X, y = data
    W, a = cp.embed_teacher()
    p = cp.transposition_path(W, a, 0, 1, 4, n=5)
    assert len(p.labels) == 7
    assert cp.path_losses(p, X, y).max() < 1e-10
    assert np.allclose(p.W[-1], W[[1, 0, 2, 3, 4]]) and np.allclose(p.a[-1], a[[1, 0, 2, 3, 4]])


def test_linear_interpolation_between_permuted_minima_has_a_barrier(data):
    X, y = data
    W, a = cp.embed_teacher()
    W2, a2 = cp.permute_student(W, a, [1, 0, 2, 3, 4])
    losses = cp.path_losses(cp.linear_path(W, a, W2, a2, 21), X, y)
    assert losses[0] < 1e-28 and losses[-1] < 1e-28 and losses.max() > 1e-2


def test_path_refuses_moves_that_change_the_function():
    W, a = cp.embed_teacher()
    a = a.copy()
    a[4] = 0.5
    with pytest.raises(ValueError):
        cp.transfer_path(W, a, [1, 0, 2, 3, 4], z=4)


def test_distances_to_subspaces_and_nearest_subspace():
    W, a = cp.embed_teacher()
    labels, d = cp.nearest_subspace(W, a, "B")
    assert d < 1e-12 and labels == (1, 2, 3, 4, -1)
    labels, d = cp.nearest_subspace(W, a, "A")
    assert d < 1e-12 and labels == (1, 2, 3, 4, 0)
    Wd = np.vstack([cp.TEACHER_W, cp.TEACHER_W[2]])
    ad = np.array([1, 1, 0.3, 1, 0.7])
    labels, d = cp.nearest_subspace(Wd, ad, "B")
    assert d < 1e-12 and labels == (1, 2, 3, 4, 3)
    # zero neuron 4 costs a_4² = 0.49; teacher 3's lone copy has a = 0.3, off by 0.7: 0.49
    assert cp.distance_to_subspace(Wd, ad, (1, 2, 3, 4, 0)) == pytest.approx(np.sqrt(0.98), abs=1e-12)


def test_cancelling_pair_is_a_zero_loss_point_only_reading_B_covers(data):
    X, y = data
    W = np.vstack([cp.TEACHER_W, [[0.4, -0.1], [0.4, -0.1]]])
    a = np.concatenate([cp.TEACHER_A, [0.7, -0.7]])
    assert cp.student_loss(W, a, X, y) < 1e-28
    assert cp.nearest_subspace(W, a, "B")[1] < 1e-12
    assert cp.nearest_subspace(W, a, "A")[1] > 0.5
    assert T_B(4, 6) > T_A(4, 6)


def test_trained_students_and_the_detector(data):
    X, y = data
    verdicts = []
    for seed in range(6):
        r = cp.train_student(5, seed, X, y, bfgs_steps=3000)
        d = cp.detect_expansion(r["W"], r["a"], X, y)
        verdicts.append(d)
        if r["loss"] < 1e-14:  # a (numerically) global minimum must lie on the expansion manifold
            assert d["on_manifold"] and d["distance"] < 1e-2, d
        if d["kind"] == "zero" and d["on_manifold"]:
            assert d["smallest_abs_a"] < 1e-6
        if d["kind"] == "duplicate" and d["on_manifold"]:
            i, j = d["duplicate_neurons"]
            assert np.linalg.norm(np.subtract(r["W"][i], r["W"][j])) < 1e-2
    assert any(v["on_manifold"] for v in verdicts)


def test_training_is_seeded(data):
    X, y = data
    r1 = cp.train_student(5, 3, X, y, adam_steps=200, bfgs_steps=50)
    r2 = cp.train_student(5, 3, X, y, adam_steps=200, bfgs_steps=50)
    assert r1["W"] == r2["W"] and r1["a"] == r2["a"]
