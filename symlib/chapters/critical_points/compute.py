"""Chapter *Symmetry-induced critical points and the global-minimum manifold* (Şimşek et al., ICML 2021).

Stored in one JSON-able result:

1. ``counts_check`` — ``G``, ``T_A``, ``T_B`` by closed form and by brute-force
   enumeration of canonical labellings for every ``r* <= brute_r_max``,
   ``h <= brute_h_max``; ``raw_check`` canonicalises *raw* labellings for the
   smallest sizes; ``digest_values`` are checks of the reconstructed formulas (:mod:`symlib.theory.counting`).
2. ``curves`` / ``crossover`` — ``log10`` of ``Σ_{r<r*} G(r, m)``, ``T_A`` and
   ``T_B`` against ``h = m − r*`` for ``r*`` in ``r_star_plot``, the
   smallest ``h`` where the saddle-to-minimum ratio drops below 1, and for every
   ``h <= h_max_plot`` whether saddles strictly outnumber minima (``saddles_outnumber``).
3. ``path`` — the authors' teacher embedded in a width-5 student with a
   zero-output neuron: the loss along the straight line to a permuted copy, and
   along the zero-loss transfer path through the spare neuron.
4. ``b_demo`` — a width-6 zero-loss point (two neurons sharing a free ``w``
   with cancelling output weights) and its distance to the nearest subspace of
   reading A and of reading B.
5. ``students`` — width-5 students trained from random inits, each with the
   detector's verdict (on the expansion manifold or not, and where).
"""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
from tqdm import tqdm

from ... import params
from ...seeding import derive_seed
from ...theory.counting import (G, T_A, T_B, count_G, count_raw_labellings, count_T, crossover_h, log10_int,
                                saddles_outnumber_minima, sum_G_below)
from ...theory.teacher_student import (ACTIVATIONS, TEACHER_A, TEACHER_W, detect_expansion, embed_teacher,
                                       linear_path, nearest_subspace, path_losses, permute_student, student_loss,
                                       teacher_data, train_student, transfer_path)

__all__ = ["DIGEST", "NAME", "PRESETS", "check", "configure"]


NAME = "critical_points"

#: checks of the reconstructed formulas (from the paper's statements; brute-force checked in the tests)
DIGEST = [("T(r*, r*) = r*!  (r* = 3)", "T_A", (3, 3), 6), ("T(r*, r*) = r*!  (r* = 3)", "T_B", (3, 3), 6),
          ("T(1, 2) = 3", "T_A", (1, 2), 3), ("T(1, 2) = 3", "T_B", (1, 2), 3),
          ("T(r*, r*+1) = (r*+1)!(r*+2)/2  (r* = 4)", "T_A", (4, 5), 360),
          ("T(r*, r*+1) = (r*+1)!(r*+2)/2  (r* = 4)", "T_B", (4, 5), 360),
          ("T_A(1, 3) = 7", "T_A", (1, 3), 7), ("T_B(1, 3) = 10", "T_B", (1, 3), 10),
          ("T_A(2, 4) = 50", "T_A", (2, 4), 50), ("T_B(2, 4) = 62", "T_B", (2, 4), 62),
          ("G(2, 4) = 14", "G", (2, 4), 14), ("G(3, 5) = 150", "G", (3, 5), 150)]
_FUNCS = {"G": G, "T_A": T_A, "T_B": T_B}

_PAPER = dict(activation="softplus", m_student=5, n_students=100, adam_steps=2000, adam_lr=0.02, bfgs_steps=5000,
              init_scale=0.5, manifold_tol=1e-3, path_permutation=[1, 2, 3, 0, 4], path_points=21,
              linear_points=101, w_z=[0.3, 0.3], brute_r_max=4, brute_h_max=4, r_star_plot=[2, 5, 10, 20],
              h_max_plot=30, demo_w=[0.4, -0.1], demo_a=0.7)
PRESETS: dict[str, dict[str, Any]] = {
    # the authors' teacher and grid are fixed in symlib.theory.teacher_student; the student runs are our design
    "paper": _PAPER,
    "small": {**_PAPER, "n_students": 20, "bfgs_steps": 3000},
    "ci": {**_PAPER, "n_students": 4, "bfgs_steps": 3000, "path_points": 11, "linear_points": 51,
           "h_max_plot": 20},
}


def configure(given: Mapping[str, Any]) -> dict[str, Any]:
    """Validated config from notebook parameters (``None`` = preset); raises on unknown names or bad values."""
    cfg = params.resolve(PRESETS, params.notebook_parameters(given))
    if cfg["activation"] not in ACTIVATIONS:
        raise params.ParameterError(f"activation must be one of {ACTIVATIONS}, got {cfg['activation']!r}")
    m = cfg["m_student"]
    perm = list(cfg["path_permutation"])
    if len(perm) != m or sorted(perm) != list(range(m)) or perm[m - 1] != m - 1:
        raise params.ParameterError(f"path_permutation must permute range({m}) and keep the spare neuron {m - 1}, "
                                    f"got {perm}")
    if m != len(TEACHER_A) + 1:
        raise params.ParameterError(f"m_student must be r* + 1 = {len(TEACHER_A) + 1} (the detector and path "
                                    f"assume one spare neuron), got {m}")
    if cfg["brute_r_max"] > 4 or cfg["brute_h_max"] > 4:
        raise params.ParameterError("brute force beyond r* = 4, h = 4 is exponential; keep brute_r_max, brute_h_max <= 4")
    if cfg["n_students"] < 1:
        raise params.ParameterError("n_students must be >= 1")
    return cfg


def _counts(cfg) -> dict:
    rows = []
    for r in range(1, cfg["brute_r_max"] + 1):
        for h in range(cfg["brute_h_max"] + 1):
            m = r + h
            rows.append({"r_star": r, "m": m, "h": h, "G": G(r, m), "G_brute": count_G(r, m),
                         "T_A": T_A(r, m), "T_A_brute": count_T(r, m, "A"),
                         "T_B": T_B(r, m), "T_B_brute": count_T(r, m, "B")})
    raw = []
    for r, m in ((1, 1), (1, 2), (1, 3), (1, 4), (2, 2), (2, 3), (2, 4), (3, 4), (3, 5)):
        raw.append({"r_star": r, "m": m, "T_A": T_A(r, m), "T_A_raw": count_raw_labellings(r, m, "A"),
                    "T_B": T_B(r, m), "T_B_raw": count_raw_labellings(r, m, "B")})
    digest = [{"statement": s, "function": f, "args": list(a), "expected": e, "value": _FUNCS[f](*a)}
              for s, f, a, e in DIGEST]
    curves, cross, outnumber = {}, {}, {}
    for r in cfg["r_star_plot"]:
        hs = list(range(cfg["h_max_plot"] + 1))
        sg = [sum_G_below(r, r + h) for h in hs]
        ta = [T_A(r, r + h) for h in hs]
        tb = [T_B(r, r + h) for h in hs]
        curves[str(r)] = {"h": hs, "log10_sumG": [log10_int(v) for v in sg], "log10_T_A": [log10_int(v) for v in ta],
                          "log10_T_B": [log10_int(v) for v in tb],
                          "log10_ratio_A": [log10_int(g) - log10_int(t) for g, t in zip(sg, ta)],
                          "log10_ratio_B": [log10_int(g) - log10_int(t) for g, t in zip(sg, tb)]}
        cross[str(r)] = {"A": crossover_h(r, "A"), "B": crossover_h(r, "B")}
        outnumber[str(r)] = {reading: saddles_outnumber_minima(r, cfg["h_max_plot"], reading) for reading in "AB"}
    return {"counts_check": rows, "raw_check": raw, "digest_values": digest, "curves": curves, "crossover": cross,
            "saddles_outnumber": outnumber}


def _path(cfg, X, y) -> dict:
    act = cfg["activation"]
    W, a = embed_teacher(cfg["w_z"])
    perm = list(cfg["path_permutation"])
    W2, a2 = permute_student(W, a, perm)
    p = transfer_path(W, a, perm, z=cfg["m_student"] - 1, n=cfg["path_points"])
    losses = path_losses(p, X, y, act)
    lp = linear_path(W, a, W2, a2, cfg["linear_points"])
    lin = path_losses(lp, X, y, act)
    knots = np.unique(np.concatenate([[0], np.flatnonzero(np.diff(p.segment)), [len(p) - 1]]))
    return {"permutation": perm, "losses": losses.tolist(), "segment": p.segment.tolist(), "labels": p.labels,
            # the path is piecewise linear: its corners determine it (kept small for results/)
            "knot_index": knots.tolist(), "W_knots": p.W[knots].tolist(), "a_knots": p.a[knots].tolist(),
            "max_loss": float(losses.max()),
            "end_matches_permuted": bool(np.array_equal(p.W[-1], W2) and np.array_equal(p.a[-1], a2)),
            "linear_t": np.linspace(0, 1, cfg["linear_points"]).tolist(), "linear_losses": lin.tolist(),
            "linear_barrier": float(lin.max() - max(lin[0], lin[-1]))}


def _b_demo(cfg, X, y) -> dict:
    """Teacher + two neurons sharing ``demo_w`` with output weights ``±demo_a``: zero loss, off every A-subspace."""
    W = np.vstack([TEACHER_W, [cfg["demo_w"], cfg["demo_w"]]])
    a = np.concatenate([TEACHER_A, [cfg["demo_a"], -cfg["demo_a"]]])
    la, da = nearest_subspace(W, a, "A")
    lb, db = nearest_subspace(W, a, "B")
    return {"W": W.tolist(), "a": a.tolist(), "loss": student_loss(W, a, X, y, cfg["activation"]),
            "labels_A": list(la), "distance_A": da, "labels_B": list(lb), "distance_B": db}


def _students(cfg, X, y, progress: bool = True) -> list[dict]:
    """Train ``n_students`` students (Adam, then BFGS) and locate each on the critical manifolds; a progress bar
    per student (the chapter's longest step: ~30 s on 2 cores at ``small``)."""
    out = []
    for k in tqdm(range(cfg["n_students"]), desc="critical points: students (Adam + BFGS)", unit="student",
                  disable=not progress):
        r = train_student(cfg["m_student"], derive_seed(cfg["seed"], NAME, "student", k), X, y, cfg["activation"],
                          adam_steps=cfg["adam_steps"], adam_lr=cfg["adam_lr"], bfgs_steps=cfg["bfgs_steps"],
                          init_scale=cfg["init_scale"])
        d = detect_expansion(r["W"], r["a"], X, y, cfg["activation"], tol=cfg["manifold_tol"])
        out.append({"student": k, "loss_after_adam": r["loss_after_adam"], "n_bfgs_iter": r["n_bfgs_iter"],
                    "grad_max": r["grad_max"], "hessian_eigenvalues": r["hessian_eigenvalues"],
                    "W": r["W"], "a": r["a"], **d})
    return out


def run(cfg: Mapping[str, Any], device: str = "cpu", progress: bool = True) -> dict[str, Any]:
    """All measurements of the chapter (NumPy, float64). Returns the JSON-able result."""
    X, y = teacher_data(cfg["activation"])
    return {**_counts(cfg), "path": _path(cfg, X, y), "b_demo": _b_demo(cfg, X, y),
            "students": _students(cfg, X, y, progress), "data": {"n_inputs": len(X)}}


def check(record: Mapping[str, Any]) -> None:
    """Raise on a malformed record: a digest value or brute-force count that disagrees with its closed form is a
    bug in the counting code, as is a transfer path that does not end at the permuted minimum."""
    res = record["result"]
    bad = [d["statement"] for d in res["digest_values"] if d["value"] != d["expected"]]
    bad += [f"r*={r['r_star']}, m={r['m']}" for r in res["counts_check"]
            if (r["G"], r["T_A"], r["T_B"]) != (r["G_brute"], r["T_A_brute"], r["T_B_brute"])]
    if bad:
        raise ValueError(f"closed forms disagree with enumeration: {bad}")
    if not res["path"]["end_matches_permuted"]:
        raise ValueError("the transfer path does not end at the permuted minimum")
