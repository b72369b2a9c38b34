"""Teacher–student two-layer networks and the global-minimum manifold (Şimşek et al., ICML 2021).

The authors' toy teacher (from their public Julia code):
``r* = 4`` neurons, 2-D input, no biases, incoming weights (0.6, 0.5),
(−0.5, 0.5), (−0.2, −0.6), (0.1, −0.6), output weights 1, inputs on the grid
``{−5, −4.75, …, 5}²`` (1,681 points), mean squared error. A student
``f(x) = Σ_i a_i σ(w_i · x)`` has parameters ``W (m, 2)`` and ``a (m,)``.

**Activation: softplus** ``σ(u) = log(1 + eᵘ)`` — our choice; the sources do
not name the activation. It has to be smooth (critical points and Hessians are
defined everywhere; ReLU's dead regions and its rescaling symmetry
``(w, a) -> (c w, a / c)`` would turn each isolated minimum into a curve),
and neither odd nor even (``tanh`` would add the sign flips
``(w, a) -> (−w, −a)``, so the width-``r*`` minimum would have ``2^{r*} r*!``
copies instead of the ``r*!`` the counts assume). Between the two smooth
candidates we take softplus rather than sigmoid because it does not saturate
for large positive inputs, so gradient training on the wide ``[−5, 5]²`` grid
converges faster. Softplus does satisfy ``σ(u) − σ(−u) = u``, which creates
zero-loss points outside the symmetry-induced subspaces once ``h >= 2``
(e.g. one teacher neuron rebuilt from three neurons at ``−w_k``, ``±λ w_k``);
the experiments here use ``h = 1``, where that cannot happen.

Everything is float64 NumPy (training uses exact gradients, Adam then SciPy's BFGS).
The loss is ``mean_x (f_student(x) − f_teacher(x))²`` (no factor ½).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from .counting import enumerate_T
from ..seeding import numpy_rng

__all__ = ["TEACHER_W", "TEACHER_A", "ACTIVATIONS", "activation", "input_grid", "teacher_data", "student_output",
           "student_loss", "embed_teacher", "permute_student", "linear_path", "transposition_path", "transfer_path",
           "path_losses", "loss_and_grad", "hessian", "train_student", "distance_to_subspace", "nearest_subspace", "detect_expansion",
           "Path"]

#: the authors' teacher: incoming weights (r*, 2) and output weights (r*,)
TEACHER_W = np.array([[0.6, 0.5], [-0.5, 0.5], [-0.2, -0.6], [0.1, -0.6]], dtype=np.float64)
TEACHER_A = np.ones(4, dtype=np.float64)
ACTIVATIONS = ("softplus", "sigmoid")


def activation(u: np.ndarray, name: str = "softplus") -> np.ndarray:
    if name == "softplus":
        return np.logaddexp(0.0, u)
    if name == "sigmoid":
        return 0.5 * (1.0 + np.tanh(0.5 * u))
    raise ValueError(f"unknown activation {name!r}; choose from {ACTIVATIONS}")


def input_grid(limit: float = 5.0, step: float = 0.25) -> np.ndarray:
    """All points of ``{−limit, −limit+step, …, limit}²`` as an ``(n, 2)`` float64 array (1,681 for the defaults)."""
    n = int(round(2 * limit / step)) + 1
    g = np.linspace(-limit, limit, n)
    xx, yy = np.meshgrid(g, g, indexing="ij")
    return np.stack([xx.ravel(), yy.ravel()], axis=1)


def student_output(W: np.ndarray, a: np.ndarray, X: np.ndarray, act: str = "softplus") -> np.ndarray:
    """``f(x) = Σ_i a_i σ(w_i · x)`` for every row of ``X (n, 2)``; ``W (m, 2)``, ``a (m,)``."""
    return activation(X @ np.asarray(W).T, act) @ np.asarray(a)


def teacher_data(act: str = "softplus", limit: float = 5.0, step: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """``(X (1681, 2), y (1681,))`` with ``y`` the teacher's output."""
    X = input_grid(limit, step)
    return X, student_output(TEACHER_W, TEACHER_A, X, act)


def student_loss(W: np.ndarray, a: np.ndarray, X: np.ndarray, y: np.ndarray, act: str = "softplus") -> float:
    """Mean squared error of the student ``(W, a)`` on ``(X, y)``."""
    r = student_output(W, a, X, act) - y
    return float(np.mean(r * r))


def embed_teacher(w_z: Sequence[float] = (0.3, 0.3)) -> tuple[np.ndarray, np.ndarray]:
    """Width-5 student equal to the teacher plus neuron ``z`` (index 4) with incoming ``w_z`` and output weight 0."""
    W = np.vstack([TEACHER_W, np.asarray(w_z, dtype=np.float64)[None]])
    a = np.append(TEACHER_A, 0.0)
    return W, a


def permute_student(W: np.ndarray, a: np.ndarray, perm: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Neuron ``k`` of the result is neuron ``perm[k]`` of the input (``len(perm) = m``)."""
    perm = np.asarray(perm)
    return W[perm].copy(), a[perm].copy()


@dataclass
class Path:
    """A piecewise-linear path in parameter space: ``W (n, m, 2)``, ``a (n, m)``, ``segment (n,)`` index and labels."""

    W: np.ndarray
    a: np.ndarray
    segment: np.ndarray
    labels: list[str]

    def __len__(self) -> int:
        return len(self.a)


def _segment(W0, a0, W1, a1, n: int, include_start: bool) -> tuple[np.ndarray, np.ndarray]:
    t = np.linspace(0.0, 1.0, n)[(0 if include_start else 1):]
    W = (1 - t)[:, None, None] * W0[None] + t[:, None, None] * W1[None]
    a = (1 - t)[:, None] * a0[None] + t[:, None] * a1[None]
    W[-1], a[-1] = W1, a1  # land exactly on the end point
    return W, a


def linear_path(W0, a0, W1, a1, n: int = 51) -> Path:
    """The straight segment ``(1−t) θ0 + t θ1`` at ``n`` points."""
    W, a = _segment(np.asarray(W0), np.asarray(a0), np.asarray(W1), np.asarray(a1), n, True)
    return Path(W, a, np.zeros(n, dtype=int), ["linear interpolation"])


class _Builder:
    def __init__(self, W, a, n):
        self.W, self.a, self.n = np.array(W, dtype=np.float64), np.array(a, dtype=np.float64), n
        self.Ws, self.As, self.seg, self.labels = [self.W[None].copy()], [self.a[None].copy()], [np.zeros(1, int)], []

    def go(self, W1, a1, label):
        W, a = _segment(self.W, self.a, W1, a1, self.n, False)
        self.Ws.append(W)
        self.As.append(a)
        self.seg.append(np.full(len(a), len(self.labels), dtype=int))
        self.labels.append(label)
        self.W, self.a = W1.copy(), a1.copy()

    def move(self, k, target, label):
        """Move incoming vector ``w_k`` (whose output weight must be 0) to ``target``."""
        if self.a[k] != 0.0:
            raise ValueError(f"neuron {k} has output weight {self.a[k]} != 0; moving it would change the function")
        W1 = self.W.copy()
        W1[k] = target
        self.go(W1, self.a, label)

    def slide(self, src, dst, label):
        """Slide the output weight of ``src`` onto ``dst`` (requires ``w_src == w_dst`` exactly)."""
        if not np.array_equal(self.W[src], self.W[dst]):
            raise ValueError(f"neurons {src} and {dst} do not share an incoming vector; sliding would change the function")
        a1 = self.a.copy()
        a1[dst] += a1[src]
        a1[src] = 0.0
        self.go(self.W, a1, label)

    def path(self):
        return Path(np.concatenate(self.Ws), np.concatenate(self.As), np.concatenate(self.seg), self.labels)


def _swap(b: _Builder, i: int, j: int, z: int) -> None:
    """Exchange neurons ``i`` and ``j`` using the free neuron ``z`` (``a_z = 0``): ``i -> z, j -> i, z -> j``."""
    w_z_home = b.W[z].copy()
    b.move(z, b.W[i], f"move w{z} to w{i}")
    b.slide(i, z, f"slide a{i} to a{z}")          # role of i now held by z; i is free
    b.move(i, b.W[j], f"move w{i} to w{j}")
    b.slide(j, i, f"slide a{j} to a{i}")          # role of j now held by i; j is free
    b.move(j, b.W[z], f"move w{j} to w{z}")
    b.slide(z, j, f"slide a{z} to a{j}")          # role of (old) i now held by j; z is free
    b.move(z, w_z_home, f"return w{z}")


def transposition_path(W, a, i: int, j: int, z: int, n: int = 21) -> Path:
    """Zero-loss path from ``θ`` to ``θ`` with neurons ``i`` and ``j`` exchanged, through the spare neuron ``z``.

    Şimşek et al. §4 / Figure 4: with ``a_z = 0``, (1) move ``w_z`` to
    ``w_i``; (2) slide the output weight from ``i`` to ``z``; now ``i`` is
    free, and the same two moves carry ``j -> i`` and ``z -> j``; finally
    ``w_z`` returns to where it started. Every segment keeps the network
    function unchanged, so the loss stays at the minimum. ``n`` points per segment.
    """
    if len({i, j, z}) != 3:
        raise ValueError(f"i, j, z must be distinct, got {i}, {j}, {z}")
    b = _Builder(W, a, n)
    _swap(b, i, j, z)
    return b.path()


def transfer_path(W, a, perm: Sequence[int], z: int, n: int = 21) -> Path:
    """Zero-loss path from ``(W, a)`` to ``permute_student(W, a, perm)`` (``perm[z] == z``) via spare neuron ``z``.

    ``perm`` is decomposed into transpositions (selection sort on the current
    arrangement); each is realised by :func:`transposition_path`.
    """
    perm = list(perm)
    m = len(a)
    if sorted(perm) != list(range(m)):
        raise ValueError(f"perm must be a permutation of range({m}), got {perm}")
    if perm[z] != z:
        raise ValueError("the spare neuron z must stay in place")
    if a[z] != 0.0:
        raise ValueError(f"spare neuron {z} must have output weight 0, has {a[z]}")
    b = _Builder(W, a, n)
    current = list(range(m))  # current[k] = original neuron whose role slot k holds
    for k in range(m):
        if current[k] != perm[k]:
            l = current.index(perm[k])
            _swap(b, k, l, z)
            current[k], current[l] = current[l], current[k]
    return b.path()


def path_losses(path: Path, X: np.ndarray, y: np.ndarray, act: str = "softplus") -> np.ndarray:
    """Loss at every point of a path (float64)."""
    return np.array([student_loss(path.W[t], path.a[t], X, y, act) for t in range(len(path))])


# --------------------------------------------------------------------------- training from random init

def _act_and_grad(u: np.ndarray, act: str) -> tuple[np.ndarray, np.ndarray]:
    if act == "softplus":
        return np.logaddexp(0.0, u), 0.5 * (1.0 + np.tanh(0.5 * u))
    if act == "sigmoid":
        s = 0.5 * (1.0 + np.tanh(0.5 * u))
        return s, s * (1.0 - s)
    raise ValueError(f"unknown activation {act!r}; choose from {ACTIVATIONS}")


def loss_and_grad(theta: np.ndarray, X: np.ndarray, y: np.ndarray, act: str = "softplus") -> tuple[float, np.ndarray]:
    """Loss and exact gradient for the flat parameter vector ``theta = (W.ravel(), a)`` (``W (m, 2)``)."""
    m = len(theta) // 3
    W, a = theta[:2 * m].reshape(m, 2), theta[2 * m:]
    S, dS = _act_and_grad(X @ W.T, act)
    r = S @ a - y
    n = len(y)
    g_a = (2.0 / n) * (S.T @ r)
    g_W = (2.0 / n) * ((r[:, None] * dS * a[None]).T @ X)
    return float(np.mean(r * r)), np.concatenate([g_W.ravel(), g_a])


def hessian(theta: np.ndarray, X: np.ndarray, y: np.ndarray, act: str = "softplus", eps: float = 1e-6) -> np.ndarray:
    """Hessian of the loss at ``theta`` by central differences of the exact gradient (symmetrised)."""
    n = len(theta)
    H = np.empty((n, n))
    for i in range(n):
        e = np.zeros(n)
        e[i] = eps
        H[i] = (loss_and_grad(theta + e, X, y, act)[1] - loss_and_grad(theta - e, X, y, act)[1]) / (2 * eps)
    return 0.5 * (H + H.T)


def train_student(m: int, seed: int, X: np.ndarray, y: np.ndarray, act: str = "softplus", adam_steps: int = 2000,
                  adam_lr: float = 0.02, bfgs_steps: int = 3000, init_scale: float = 0.5) -> dict:
    """Full-batch training of a width-``m`` student from a seeded random init, float64: Adam, then BFGS.

    Init: ``w_i ~ N(0, init_scale² I)``, ``a_i ~ N(0, 1/m)`` (seeded through
    :func:`symlib.seeding.numpy_rng`). Adam (``adam_steps`` full-batch steps)
    leaves the initial plateau; quasi-Newton BFGS with exact gradients (15
    parameters for ``m = 5``) then drives the loss towards 0. Near a
    duplicated pair the loss is only quartic in the pair's separation, so the
    last digits of the distance converge slowly; the detector reports it.
    Returns ``{"W", "a", "loss", "loss_after_adam", "n_bfgs_iter", "grad_max",
    "hessian_eigenvalues"}`` (arrays as lists) — the last two tell a local
    minimum (tiny gradient, no clearly negative eigenvalue) from a point that is
    still moving.
    """
    from scipy.optimize import minimize

    rng = numpy_rng(seed, "student_init", m)
    theta = np.concatenate([rng.normal(0.0, init_scale, 2 * m), rng.normal(0.0, 1.0 / np.sqrt(m), m)])
    mom, vel = np.zeros_like(theta), np.zeros_like(theta)
    b1, b2, eps = 0.9, 0.999, 1e-8
    for t in range(1, adam_steps + 1):
        _, g = loss_and_grad(theta, X, y, act)
        mom = b1 * mom + (1 - b1) * g
        vel = b2 * vel + (1 - b2) * g * g
        theta = theta - adam_lr * (mom / (1 - b1 ** t)) / (np.sqrt(vel / (1 - b2 ** t)) + eps)
    loss_after_adam = loss_and_grad(theta, X, y, act)[0]
    n_iter = 0
    if bfgs_steps > 0:
        res = minimize(loss_and_grad, theta, args=(X, y, act), jac=True, method="BFGS",
                       options={"gtol": 1e-15, "maxiter": bfgs_steps})
        theta, n_iter = res.x, int(res.nit)
    W, a = theta[:2 * m].reshape(m, 2), theta[2 * m:]
    loss, grad = loss_and_grad(theta, X, y, act)
    eig = np.linalg.eigvalsh(hessian(theta, X, y, act))
    return {"W": W.tolist(), "a": a.tolist(), "loss": loss, "loss_after_adam": loss_after_adam,
            "n_bfgs_iter": n_iter, "grad_max": float(np.abs(grad).max()), "hessian_eigenvalues": eig.tolist()}


# --------------------------------------------------------------------------- where does a point sit?

def distance_to_subspace(W: np.ndarray, a: np.ndarray, labels: Sequence[int],
                         teacher_W: np.ndarray = TEACHER_W, teacher_a: np.ndarray = TEACHER_A) -> float:
    """Euclidean distance from ``(W, a)`` to the affine subspace named by a canonical labelling.

    Labels (see :func:`symlib.theory.counting.enumerate_T`): ``k >= 1`` = copy of
    teacher neuron ``k`` (all copies have ``w = w*_k``, their ``a`` sum to
    ``a*_k``); ``0`` = zero-type neuron (``a = 0``, free ``w``); ``-b`` = member
    of zero block ``b`` (shared free ``w``, outputs summing to 0). The subspace
    is a product over groups, so the squared distance is a sum of per-group
    projections.
    """
    W, a, labels = np.asarray(W), np.asarray(a), np.asarray(labels)
    d2 = 0.0
    for lab in np.unique(labels):
        idx = np.flatnonzero(labels == lab)
        if lab == 0:
            d2 += float(np.sum(a[idx] ** 2))
        elif lab > 0:
            d2 += float(np.sum((W[idx] - teacher_W[lab - 1]) ** 2))
            d2 += float((a[idx].sum() - teacher_a[lab - 1]) ** 2 / len(idx))
        else:
            d2 += float(np.sum((W[idx] - W[idx].mean(axis=0)) ** 2))
            d2 += float(a[idx].sum() ** 2 / len(idx))
    return float(np.sqrt(d2))


def nearest_subspace(W, a, reading: str = "B", teacher_W: np.ndarray = TEACHER_W,
                     teacher_a: np.ndarray = TEACHER_A) -> tuple[tuple[int, ...], float]:
    """The global-minimum subspace (reading ``A`` or ``B``) nearest to ``(W, a)``, and its distance (exhaustive)."""
    m, r = len(a), len(teacher_a)
    best, best_d = None, np.inf
    for labels in enumerate_T(r, m, reading):
        d = distance_to_subspace(W, a, labels, teacher_W, teacher_a)
        if d < best_d:
            best, best_d = labels, d
    return best, best_d


def detect_expansion(W, a, X: np.ndarray, y: np.ndarray, act: str = "softplus", tol: float = 1e-3) -> dict:
    """Does a trained width-``m`` student sit on the expansion manifold of the teacher?

    Reports the loss, the nearest global-minimum subspace (reading B, which
    equals reading A for ``m = r* + 1``) with its distance, what kind it is
    (``"duplicate"``: two neurons copying one teacher neuron; ``"zero"``: a
    neuron with vanishing output weight; ``"zero block"``), and raw diagnostics:
    the closest pair of incoming vectors, the smallest ``|a_i|`` and the
    *sign-flipped* neurons ``w_n ≈ −w*_k`` (within 0.05): softplus's identity
    ``σ(u) = σ(−u) + u`` lets such neurons plus a linear correction mimic a
    teacher neuron, which is how the off-manifold near-fits we meet arise.
    ``on_manifold`` is true when that distance is below ``tol``.
    """
    W, a = np.asarray(W, dtype=np.float64), np.asarray(a, dtype=np.float64)
    labels, dist = nearest_subspace(W, a, "B")
    counts = {l: labels.count(l) for l in set(labels)}
    dup = [l for l, c in counts.items() if l > 0 and c > 1]
    zeros = [i for i, l in enumerate(labels) if l <= 0]
    if any(l < 0 and c > 1 for l, c in counts.items()):
        kind = "zero block"
    elif dup and not zeros:
        kind = "duplicate"
    elif zeros and not dup:
        kind = "zero"
    elif dup and zeros:
        kind = "duplicate + zero"
    else:
        kind = "teacher permutation"
    pairs = [(i, j, float(np.linalg.norm(W[i] - W[j]))) for i, j in itertools.combinations(range(len(a)), 2)]
    i, j, dmin = min(pairs, key=lambda t: t[2])
    z = int(np.argmin(np.abs(a)))
    flips = [(int(n), int(k), float(np.linalg.norm(W[n] + TEACHER_W[k])))
             for n in range(len(a)) for k in range(len(TEACHER_W)) if np.linalg.norm(W[n] + TEACHER_W[k]) < 0.05]
    out = {"loss": student_loss(W, a, X, y, act), "nearest_labels": [int(l) for l in labels], "distance": dist,
           "kind": kind, "sign_flipped": flips,
           "on_manifold": bool(dist < tol), "closest_pair": [i, j], "closest_pair_distance": dmin,
           "closest_pair_a_sum": float(a[i] + a[j]), "smallest_a_index": z, "smallest_abs_a": float(abs(a[z]))}
    if kind == "duplicate":
        k = dup[0]
        out["duplicate_of_teacher"] = int(k)
        out["duplicate_neurons"] = [n for n, l in enumerate(labels) if l == k]
    if kind == "zero":
        out["zero_neuron"] = zeros[0]
    return out
