"""Symmetry-induced critical points (Şimşek et al. 2021): tables, figures and the verdicts of the two claims."""
from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import pandas as pd
import seaborn as sns

from ...claims import Assessment, Claim
from ... import ledger
from ...claims import by_key
from ...formatting import integer, listing, number, sci, sig
from ...plotting import new_figure
from ...theory import counting
from ...theory.teacher_student import TEACHER_W

__all__ = ["CLAIMS", "PARAMETERS", "cancelling_pair_text", "checks_table", "claim_text", "counts_frame",
           "counts_summary", "counts_table", "counts_text", "crossover_frame", "crossover_text", "crossover_verdict",
           "enumeration_table", "figure_counts", "figure_paths", "figure_ratio", "figure_students",
           "figure_trajectories", "labelling_text", "path_segments_text", "path_text", "regimes_table",
           "saddle_regimes", "students_frame", "students_summary", "students_table", "students_text"]

#: The notebook's parameters in words, with their units (the chapter's parameter table).
PARAMETERS = {
    "scale": "preset", "seed": "random seed", "activation": "activation of the two-layer network",
    "m_student": "student width m", "n_students": "students trained from random starts",
    "adam_steps": "full-batch Adam steps", "adam_lr": "Adam learning rate", "bfgs_steps": "BFGS iterations after Adam",
    "init_scale": "std of the students' incoming weights at initialisation",
    "manifold_tol": "distance below which a student is on the manifold", "path_permutation": "permutation the path "
    "realises", "path_points": "points per segment of the transfer path", "linear_points": "points on the straight "
    "line", "w_z": "spare neuron's incoming vector", "brute_r_max": "largest r* enumerated by brute force",
    "brute_h_max": "largest h enumerated by brute force", "r_star_plot": "teacher widths r* plotted",
    "h_max_plot": "largest h plotted", "demo_w": "incoming vector of the cancelling pair",
    "demo_a": "output weight ±c of the cancelling pair",
}


def counts_frame(record: Mapping[str, Any]) -> pd.DataFrame:
    df = pd.DataFrame(record["result"]["counts_check"])
    return df.set_index(["r_star", "m"])


def _ok(flag: bool) -> str:
    return "yes" if flag else "NO"


def counts_table(record: Mapping[str, Any]) -> pd.DataFrame:
    """The closed forms of :func:`counts_frame` for reading: one row per ``(r*, m)``, and whether the brute-force
    enumeration gives the same three numbers."""
    df = pd.DataFrame(record["result"]["counts_check"])
    agree = (df.G == df.G_brute) & (df.T_A == df.T_A_brute) & (df.T_B == df.T_B_brute)
    return pd.DataFrame({"h = m − r*": df.h.to_numpy(), "G(r*, m)": df.G.map(integer).to_numpy(),
                         "T_A(r*, m)": df.T_A.map(integer).to_numpy(), "T_B(r*, m)": df.T_B.map(integer).to_numpy(),
                         "enumeration agrees": agree.map(_ok).to_numpy()},
                        index=[f"r* = {r}, m = {m}" for r, m in zip(df.r_star, df.m)])


def checks_table(record: Mapping[str, Any]) -> pd.DataFrame:
    """The values the reconstructed formulas were first checked on by hand (the special cases the abstract and the
    Figure 4 caption imply, and small cases counted on paper), and what the code computes."""
    def label(d) -> str:
        reading = {"T_A": "reading A", "T_B": "reading B"}.get(d["function"])
        return " ".join(d["statement"].split()) + (f", {reading}" if reading and d["statement"].startswith("T(") else "")
    rows = {label(d): {"expected": integer(d["expected"]), "computed": integer(d["value"]),
                       "agree": _ok(d["value"] == d["expected"])} for d in record["result"]["digest_values"]}
    return pd.DataFrame.from_dict(rows, orient="index")


def crossover_frame(record: Mapping[str, Any]) -> pd.DataFrame:
    c = record["result"]["crossover"]
    return pd.DataFrame([{"r*": int(r), "crossover h (reading A)": v["A"], "crossover h (reading B)": v["B"]}
                         for r, v in c.items()]).set_index("r*")


def regimes_table(record: Mapping[str, Any]) -> pd.DataFrame:
    """:func:`saddle_regimes` for reading (the same exact comparisons, in words)."""
    reg = saddle_regimes(record["result"]["saddles_outnumber"])
    return pd.DataFrame({"saddles outnumber minima at": reg["saddles outnumber minima at"].to_numpy(),
                         "mild: saddles ahead with one spare neuron (h = 1)": reg[
                             "mild: saddles outnumber minima at h = 1"].map({True: "yes", False: "no"}).to_numpy(),
                         "vast: minima ahead from h": reg["vast: minima not outnumbered from"].map(listing).to_numpy(),
                         "… and through h": reg["vast holds through h"].map(listing).to_numpy()},
                        index=[f"r* = {r}, reading {x}" for r, x in reg.index])


def students_table(record: Mapping[str, Any]) -> pd.DataFrame:
    """Where each student ended, for reading: loss, the nearest global-minimum subspace and the distance to it,
    sign-flipped neurons, the largest output weight, and whether it is a critical point (gradient, Hessian)."""
    df = students_frame(record)
    ended = np.where(df["on manifold"], "on it: " + df["nearest subspace"].map(
        {"duplicate": "duplicated pair", "zero": "vanishing aᵢ"}).fillna(df["nearest subspace"]), "off it")
    columns = {"final loss": df["final loss"].map(sci), "manifold": ended, "distance to it": df["distance"].map(sig),
               "sign-flipped neurons": df["sign-flipped neurons"], "max |aᵢ|": df["max |a_i|"].map(sig),
               "max |gradient|": df["max |gradient|"].map(sci),
               "min Hessian eigenvalue": df["min Hessian eigenvalue"].map(sci)}
    return pd.DataFrame({k: np.asarray(v) for k, v in columns.items()}, index=list(df.index))


def students_frame(record: Mapping[str, Any]) -> pd.DataFrame:
    rows = []
    for s in record["result"]["students"]:
        rows.append({"student": s["student"], "final loss": s["loss"], "on manifold": s["on_manifold"],
                     "nearest subspace": s["kind"], "distance": s["distance"],
                     "closest pair |w_i − w_j|": s["closest_pair_distance"], "min |a_i|": s["smallest_abs_a"],
                     "sign-flipped neurons": len(s["sign_flipped"]), "max |a_i|": max(abs(v) for v in s["a"]),
                     "max |gradient|": s["grad_max"], "min Hessian eigenvalue": min(s["hessian_eigenvalues"])})
    return pd.DataFrame(rows).set_index("student")


def figure_counts(record: Mapping[str, Any]):
    """Saddle against minimum subspaces per ``r*``, log scale, two panels a row."""
    res = record["result"]
    rs = list(res["curves"])
    cols = 2 if len(rs) > 1 else 1
    rows = (len(rs) + cols - 1) // cols
    fig, axes = new_figure(rows, cols, height=3.3 * rows + 0.8, sharex=True)
    axes = np.atleast_1d(axes).ravel()
    for k, (ax, r) in enumerate(zip(axes, rs)):
        c = res["curves"][r]
        ax.plot(c["h"], c["log10_sumG"], color="C3", label=r"$\sum_{r<r^*} G(r, m)$: saddle subspaces")
        ax.plot(c["h"], c["log10_T_B"], color="C0", label=r"$T_B(r^*, m)$: minimum subspaces, reading B")
        ax.plot(c["h"], c["log10_T_A"], color="C0", ls="--", label=r"$T_A(r^*, m)$: minimum subspaces, reading A")
        x = res["crossover"][r]["B"]
        ax.axvline(x, color="0.5", ls=":", lw=1)
        ax.text(x, ax.get_ylim()[1], f" crossover (B)\n h = {x}", va="top", fontsize=8, color="0.3")
        ax.set_title(f"r* = {r}")
        if k >= len(rs) - cols:
            ax.set_xlabel("h = m − r*  (extra neurons)")
        if k % cols == 0:
            ax.set_ylabel("log10(# affine subspaces)")
    for ax in axes[len(rs):]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=2, fontsize=9, frameon=False)
    return fig


def figure_ratio(record: Mapping[str, Any]):
    res = record["result"]
    fig, ax = new_figure(width=7, height=4.2)
    for i, r in enumerate(res["curves"]):
        c = res["curves"][r]
        ax.plot(c["h"], c["log10_ratio_B"], color=f"C{i}", label=f"r* = {r} (reading B)")
        ax.plot(c["h"], c["log10_ratio_A"], color=f"C{i}", ls="--", lw=1, label=f"r* = {r} (reading A)")
    ax.axhline(0, color="black", lw=0.8)
    ax.text(ax.get_xlim()[1], 0.3, "saddles dominate ↑\nminima dominate ↓", ha="right", va="bottom", fontsize=8)
    ax.set_xlabel("h = m − r*  (extra neurons)")
    ax.set_ylabel(r"$\log_{10}\left(\sum_{r<r^*} G(r, m)\,/\,T(r^*, m)\right)$")
    ax.legend(fontsize=7, ncol=2)
    return fig


def figure_paths(record: Mapping[str, Any], floor: float = 1e-34):
    p = record["result"]["path"]
    L = np.array(p["losses"])
    s = np.linspace(0, 1, len(L))
    fig, axes = new_figure(1, 2, height=4.0)
    axes[0].plot(p["linear_t"], p["linear_losses"], color="C3", label="straight line θ → π(θ)")
    axes[0].plot(s, L, color="C0", label="transfer path via the spare neuron")
    axes[0].set_xlabel("position along the path (normalised)")
    axes[0].set_ylabel("MSE loss on the 41×41 grid")
    axes[0].set_title(f"Teacher in width 5 → its permutation\n{tuple(p['permutation'])}", fontsize=10)
    axes[0].legend(fontsize=8)
    axes[1].semilogy(s, np.maximum(L, floor), color="C0", marker=".", ms=3, lw=0.8, label="transfer path")
    axes[1].axhline(1e-10, color="C3", ls="--", label="1e-10 (the test's bound)")
    n_seg = len(p["labels"])
    for k in range(1, n_seg):
        axes[1].axvline(k / n_seg, color="0.85", lw=0.6, zorder=0)
    axes[1].set_ylim(floor / 10, 1e-6)
    axes[1].set_xlabel(f"position along the path ({n_seg} linear segments, grey lines)")
    axes[1].set_ylabel(f"loss (float64, floored at {floor:.0e})")
    axes[1].set_title("Transfer path, log scale:\nthe loss stays at floating-point zero", fontsize=10)
    axes[1].legend(fontsize=8, loc="upper right")
    return fig


def figure_trajectories(record: Mapping[str, Any]):
    p = record["result"]["path"]
    s = np.linspace(0, 1, len(p["losses"]))
    knots = np.array(p["knot_index"]) / (len(p["losses"]) - 1)
    Wk, Ak = np.array(p["W_knots"]), np.array(p["a_knots"])  # corners of the piecewise-linear path
    W = np.stack([[np.interp(s, knots, Wk[:, i, c]) for c in range(2)] for i in range(Wk.shape[1])]).transpose(2, 0, 1)
    A = np.stack([np.interp(s, knots, Ak[:, i]) for i in range(Ak.shape[1])], axis=1)
    m = W.shape[1]
    fig, axes = new_figure(1, 2, height=4.8, gridspec_kw={"width_ratios": [1, 1.25]})
    ax = axes[0]
    for i in range(m):
        ax.plot(W[:, i, 0], W[:, i, 1], color=f"C{i}", lw=3 - 0.4 * i, alpha=0.7,
                label=f"neuron {i}" + (" (spare z)" if i == m - 1 else ""))
        ax.scatter(W[0, i, 0], W[0, i, 1], color=f"C{i}", s=50, zorder=3, edgecolor="white")
    ax.scatter(TEACHER_W[:, 0], TEACHER_W[:, 1], marker="x", color="black", s=90, zorder=4,
               label="teacher $w^*_k$")
    for k, (u, v) in enumerate(TEACHER_W):
        ax.annotate(f"$w^*_{k}$", (u, v), textcoords="offset points", xytext=(6, -14), fontsize=10)
    ax.margins(0.12)  # room for the labels inside the axes, clear of the title
    ax.set_xlabel("incoming weight $w_{i,1}$")
    ax.set_ylabel("incoming weight $w_{i,2}$")
    ax.set_title("Incoming vectors along the path\n(dots: start; shared routes overlap)", fontsize=10)
    ax.set_aspect("equal")
    ax.legend(fontsize=7, loc="lower left", bbox_to_anchor=(0.0, 0.12))
    ax = axes[1]
    n_seg = len(p["labels"])
    im = ax.imshow(A.T, aspect="auto", cmap="viridis", vmin=0, vmax=1, interpolation="nearest",
                   extent=(0, 1, m - 0.5, -0.5))
    for k in range(1, n_seg):
        ax.axvline(k / n_seg, color="white", lw=0.4, alpha=0.6)
    ax.set_yticks(range(m), [f"neuron {i}" + (" (spare z)" if i == m - 1 else "") for i in range(m)])
    ax.set_xlabel(f"position along the path ({n_seg} segments)")
    ax.set_title("Output weights $a_i$ along the path", fontsize=10)
    fig.colorbar(im, ax=ax, label="output weight $a_i$")
    return fig


def figure_students(record: Mapping[str, Any]):
    df = students_frame(record).reset_index()
    df["verdict"] = np.where(df["on manifold"], "on the manifold: " + df["nearest subspace"], "off the manifold")
    fig, ax = new_figure(width=7, height=4.2)
    sns.scatterplot(data=df, x="distance", y="final loss", hue="verdict", style="verdict", s=70, ax=ax)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("distance to the nearest global-minimum subspace (parameter space)")
    ax.set_ylabel("final training loss (MSE)")
    tol = record["manifest"]["config"]["manifold_tol"]
    ax.axvline(tol, color="0.5", ls=":", lw=1)
    ax.text(tol, ax.get_ylim()[0], f" on the manifold below {sig(tol)}", rotation=90, va="bottom", ha="right",
            fontsize=8, color="0.35")
    ax.legend(fontsize=8, loc="center left")
    return fig


# ------------------------------------------------------------------------------------------------- prose
# The numbers the chapter's sentences quote, formatted here (tested in tests/test_reports.py), so the notebook only
# displays them: each ``*_text`` returns Markdown.

def labelling_text(labels) -> str:
    """One labelling of the student neurons as :func:`symlib.theory.counting.enumerate_T` gives it, for reading:
    ``k > 0`` copies teacher neuron ``k`` (``w*k``), ``0`` is reading A's zero neuron (``a = 0``, free ``w``) and
    ``−b`` is zero block ``b`` (``Zb``): ``(1, 0, -1) -> "w*1 0 Z1"``."""
    return " ".join(f"w*{l}" if l > 0 else ("0" if l == 0 else f"Z{-l}") for l in labels)


def enumeration_table(r_star: int = 1, m: int = 3) -> pd.DataFrame:
    """Every global-minimum subspace of width ``m`` for a teacher of width ``r_star``, as the brute force lists
    them under reading A and reading B side by side (:func:`labelling_text`; the shorter column padded with
    blanks)."""
    columns = {"reading A (0 = a=0, free w)": [labelling_text(l) for l in counting.enumerate_T(r_star, m, "A")],
               "reading B (Zb = zero block b)": [labelling_text(l) for l in counting.enumerate_T(r_star, m, "B")]}
    return pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in columns.items()}).fillna("")


def counts_summary(record: Mapping[str, Any]) -> dict[str, int]:
    """How many of the record's checks agree: grid points where the closed forms of ``G``, ``T_A`` and ``T_B`` all
    equal the brute-force enumeration (``grid_agree`` of ``grid``), and raw enumerations where ``T_A`` and ``T_B``
    equal the canonicalised raw labellings (``raw_agree`` of ``raw``)."""
    res = record["result"]
    grid = sum(r["G"] == r["G_brute"] and r["T_A"] == r["T_A_brute"] and r["T_B"] == r["T_B_brute"]
               for r in res["counts_check"])
    raw = sum(r["T_A"] == r["T_A_raw"] and r["T_B"] == r["T_B_raw"] for r in res["raw_check"])
    return {"grid_agree": int(grid), "grid": len(res["counts_check"]), "raw_agree": int(raw),
            "raw": len(res["raw_check"])}


def counts_text(record: Mapping[str, Any]) -> str:
    """§1's closing sentences: how many grid points and raw enumerations agree (:func:`counts_summary`), and where
    the two readings of ``T`` part (``T(1, 3)`` and the authors' ``T(4, 6)``)."""
    c = counts_summary(record)
    return f"""
{c['grid_agree']} of {c['grid']} grid points agree for $G$, $T_A$ and $T_B$, as do {c['raw_agree']} of {c['raw']} raw
enumerations and every hand-checked case (`cp.check` stops the chapter if any does not: that would be a bug in the
counting code). The readings agree for $h\\le 1$ and part from $h=2$ on ($T_A(1,3) = {integer(counting.T_A(1, 3))}$,
$T_B(1,3) = {integer(counting.T_B(1, 3))}$; for the authors' $r^*=4$ with two spare neurons, {integer(counting.T_A(4, 6))}
against {integer(counting.T_B(4, 6))}).
"""


def cancelling_pair_text(record: Mapping[str, Any]) -> str:
    """§2's measurement: the cancelling pair added to the authors' teacher, its loss, and its distance to the nearest
    subspace of each reading of ``T`` (reading A's is far, reading B's is zero)."""
    b = record["result"]["b_demo"]
    r_star, m = len(TEACHER_W), len(b["a"])

    def vector(k: int) -> str:
        return f"$({', '.join(number(x, 2) for x in b['W'][k])})$"
    return f"""
The cancelling pair: incoming vectors {vector(m - 2)} and {vector(m - 1)}, output weights {number(b['a'][m - 2], 2, signed=True)} and
{number(b['a'][m - 1], 2, signed=True)}; the loss there is {sci(b['loss'])}.

* nearest reading-A subspace (of {integer(counting.T_A(r_star, m))}): `{b['labels_A']}`, at distance {number(b['distance_A'], 4)};
* nearest reading-B subspace (of {integer(counting.T_B(r_star, m))}): `{b['labels_B']}`, at distance {sci(b['distance_B'])}.

The point has loss {sci(b['loss'])} yet sits {number(b['distance_A'], 2)} away (in parameter space) from every
reading-A subspace.
"""


def crossover_text(record: Mapping[str, Any]) -> str:
    """§3's numbers: how many times the saddle subspaces outnumber the minimum subspaces at ``h = 0`` for the
    second-largest ``r*`` plotted (10 in the presets), where that ratio drops below 1 under each reading, and where it
    does for the largest ``r*`` (20)."""
    cross = record["result"]["crossover"]
    rs = sorted(cross, key=int)
    r, last = (rs[-2], rs[-1]) if len(rs) > 1 else (rs[-1], None)
    ratio = float(counting.saddle_to_minimum_ratio(int(r), int(r), "B"))
    tail = f", and for $r^*={last}$ at\n$h = {cross[last]['B']}$" if last else ""
    return f"""
For $r^* = {r}$ there are {number(ratio, 1)} times more
symmetry-induced critical subspaces than global-minimum subspaces at $h=0$; the ratio drops below 1 at
$h = {cross[r]['B']}$ (reading B; $h = {cross[r]['A']}$ with reading A){tail}.
"""


def path_segments_text(record: Mapping[str, Any], n: int = 7) -> str:
    """The first ``n`` segments of the transfer path (one transposition's seven), named."""
    labels = record["result"]["path"]["labels"]
    return "The path's segments: " + "; ".join(labels[:n]) + (" …" if len(labels) > n else "")


def claim_text(record: Mapping[str, Any], key: str) -> str:
    """The verdict of the chapter's claim ``key`` in words (:func:`symlib.ledger.sentence`, as the ledger says it)."""
    return ledger.sentence(by_key(CLAIMS)[key], record)


def path_text(record: Mapping[str, Any]) -> str:
    """§4's result: the straight line's barrier against the transfer path's largest loss, and the claim's verdict."""
    p = record["result"]["path"]
    return f"""
Along the straight line the loss rises to {number(p['linear_barrier'])} (the outputs of the teacher are of order
1–10); along the transfer path — {len(p['labels'])} segments, {integer(len(p['losses']))} points — the largest loss is
{sci(p['max_loss'])}, floating-point zero in float64. The $r^*! = 24$ permuted minima of the width-4 network are
therefore all connected inside the zero-loss set of the width-5 network: claim 1 of the abstract.

{claim_text(record, "critical_points.transfer_path")}
"""


def students_summary(record: Mapping[str, Any]) -> dict[str, Any]:
    """Where the students ended, counted: ``students``; ``on`` the manifold, of them ``duplicate`` (a duplicated pair)
    and ``zero`` (a vanishing output weight), and their largest loss ``on_max_loss``; ``off`` it, their smallest and
    largest loss, and ``strict`` of them at a strict local minimum (gradient below 1e-8, Hessian positive definite);
    ``consistent``: students for which a loss below 1e-14 implies being on the manifold (all, if the detector is
    right)."""
    st = students_frame(record)
    on, off = st[st["on manifold"]], st[~st["on manifold"]]
    nan = float("nan")
    return {"students": len(st), "on": len(on), "duplicate": int((on["nearest subspace"] == "duplicate").sum()),
            "zero": int((on["nearest subspace"] == "zero").sum()),
            "on_max_loss": float(on["final loss"].max()) if len(on) else nan, "off": len(off),
            "off_min_loss": float(off["final loss"].min()) if len(off) else nan,
            "off_max_loss": float(off["final loss"].max()) if len(off) else nan,
            "strict": int(((off["min Hessian eigenvalue"] > 0) & (off["max |gradient|"] < 1e-8)).sum()),
            "consistent": int(((st["final loss"] < 1e-14) <= st["on manifold"]).sum())}


def students_text(record: Mapping[str, Any]) -> str:
    """§5's reading of the students (:func:`students_summary`): how many reach the manifold and how, where the others
    stop, and whether the detector agrees with the loss."""
    s = students_summary(record)
    off_range = f"{sci(s['off_min_loss'])} to {sci(s['off_max_loss'])}" if s["off"] else "—"
    return f"""
{s['on']} of {s['students']} students reach the global-minimum manifold ({s['duplicate']}
on a duplicated-pair subspace, {s['zero']} with a vanishing output weight); their
losses are at most {sci(s['on_max_loss'])}, and for duplicated pairs the twins are still
closing in slowly, since the loss is only quartic in their separation. The other {s['off']} stop with a small but
clearly non-zero loss ({off_range}) far from every global-minimum subspace; {s['strict']} of them have a vanishing gradient
and a positive-definite Hessian, i.e. they sit in strict spurious local minima, often with *sign-flipped* neurons
($w_n\\approx -w^*_k$) that exploit softplus's identity $\\sigma(u) = \\sigma(-u) + u$; a student whose largest
$|a_i|$ is big is instead drifting along a cancelling pair towards infinity. One spare neuron connects all permuted
global minima (§4), but it does not make gradient descent find them: the mildly overparameterised regime is exactly
where the paper finds the symmetry-induced saddles to dominate (§3). (For {s['consistent']} of the {s['students']} students the
detector is consistent with the loss: every student with a loss below $10^{{-14}}$ is on the manifold.)
"""


# ------------------------------------------------------------------------------------------------- claims

def _h_range(out: list[bool]) -> str:
    hs = [h for h, o in enumerate(out) if o]
    if not hs:
        return "never"
    return "only at h = 0" if hs == [0] else f"h ≤ {hs[-1]}" if hs == list(range(hs[-1] + 1)) else \
        ", ".join(map(str, hs))


def saddle_regimes(outnumber: Mapping[str, Mapping[str, list[bool]]]) -> pd.DataFrame:
    """Where each half of Şimšek et al.'s claim holds, per ``r*`` and reading, from the exact comparisons
    ``outnumber[r*][reading][h]`` (saddle subspaces strictly outnumber minimum subspaces at ``h``):

    * **mild** — saddles outnumber minima with one spare neuron (``h = 1``; ``h = 0`` is the network of minimal
      width itself, not an overparameterised one);
    * **vast** — from the crossover on, minima are never outnumbered again, up to the largest ``h`` computed.
    """
    rows = []
    for r, by_reading in outnumber.items():
        for reading, out in by_reading.items():
            first_min = next((h for h, o in enumerate(out) if not o), None)
            rows.append({"r*": int(r), "reading": reading, "saddles outnumber minima at": _h_range(out),
                         "mild: saddles outnumber minima at h = 1": bool(len(out) > 1 and out[1]),
                         "vast: minima not outnumbered from": first_min,
                         "vast holds through h": len(out) - 1 if first_min is not None and not any(out[first_min:])
                         else None})
    return pd.DataFrame(rows).set_index(["r*", "reading"])


def crossover_verdict(outnumber: Mapping[str, Mapping[str, list[bool]]]) -> tuple[str, str, str]:
    """``(verdict, ours, note)`` for the crossover claim: the claim holds at ``r*`` when both halves hold under
    both readings of ``T`` (:func:`saddle_regimes`). Every ``r*``: reproduced; some: mixed, saying where; none: not
    reproduced."""
    reg = saddle_regimes(outnumber)
    ok = {}
    for r in dict.fromkeys(reg.index.get_level_values(0)):
        g = reg.loc[r]
        ok[r] = bool(g["mild: saddles outnumber minima at h = 1"].all() and g["vast holds through h"].notna().all())
    ours = "saddles outnumber minima (readings " + " / ".join(reg.loc[next(iter(ok))].index) + "): " + "; ".join(
        f"r* = {r}: " + " / ".join(reg.loc[r]["saddles outnumber minima at"]) for r in ok)
    holds, fails = [r for r, v in ok.items() if v], [r for r, v in ok.items() if not v]
    vast = reg["vast holds through h"].notna().all()
    h_max = int(reg["vast holds through h"].max()) if vast else None
    parts = []
    if holds:
        parts.append(f"holds with a spare neuron (h ≥ 1) for r* ∈ {{{', '.join(map(str, holds))}}}")
    for r in fails:
        first = reg.loc[r]["vast: minima not outnumbered from"].min()
        parts.append(f"at r* = {r} global minima dominate from h = {first}"
                     + (" (saddles outnumber them only at h = 0, the minimal network itself)" if first == 1 else ""))
    parts.append(f"minima dominate from the crossover through h = {h_max} for every r*" if vast
                 else "minima are outnumbered again beyond the crossover for some r*")
    verdict = ("reproduced" if not fails else "mixed" if holds and vast else "not reproduced")
    return verdict, ours, "; ".join(parts)


def crossover(record) -> Assessment:
    brute_ok = all(r["T_A"] == r["T_A_brute"] and r["T_B"] == r["T_B_brute"] and r["G"] == r["G_brute"]
                   for r in record["result"]["counts_check"])
    verdict, ours, note = crossover_verdict(record["result"]["saddles_outnumber"])
    if not brute_ok:
        return Assessment(ours, "not reproduced", "closed forms disagree with brute-force enumeration")
    return Assessment(ours, verdict, note + "; closed forms checked against brute-force enumeration")


def transfer_path(record) -> Assessment:
    p = record["result"]["path"]
    ok = p["max_loss"] < 1e-10 and p["linear_barrier"] > 1e-3
    return Assessment(f"largest loss on the path {sci(p['max_loss'])}; straight-line barrier "
                      f"{number(p['linear_barrier'])}",
                      "reproduced" if ok else "not reproduced", "exact check in float64 (path < 1e-10, line > 1e-3)")


CLAIMS = [
    Claim("critical_points.crossover", "Şimşek et al. 2021", "Symmetry-induced saddle subspaces outnumber "
          "global-minimum subspaces at small h = m − r*, and global minima dominate for h ≫ r*",
          "statements; the paper gives no counts to compare", crossover),
    Claim("critical_points.transfer_path", "Şimşek et al. 2021", "One extra neuron connects permuted global minima "
          "by a zero-loss path, where the straight line has a barrier", "construction", transfer_path),
]
