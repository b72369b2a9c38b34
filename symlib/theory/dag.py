"""Neural computation DAGs of masked MLPs and their automorphisms (Lim et al. 2024, Theorem 1 and Lemma 1).

:func:`computation_dag` builds the DAG of an MLP whose layers have trainable-connection masks (nodes = neurons,
edges = *trainable* connections; a W-Asym layer's fixed entries count as absent edges, i.e. ``κ = 0`` as in
Theorem 1), :func:`mlp_masks` reads those masks from a :class:`~symlib.architectures.MLP`, and
:func:`count_automorphisms` counts the DAG's automorphisms that fix every input and output node.
"""
from __future__ import annotations

from typing import Sequence

import networkx as nx
import numpy as np
from networkx.algorithms.isomorphism import DiGraphMatcher
from torch import nn

from ..layers import WAsymLinear

__all__ = ["computation_dag", "count_automorphisms", "mlp_masks"]


def mlp_masks(model: nn.Module) -> list[np.ndarray]:
    """Trainable-connection masks ``(d_out, d_in)`` of every linear layer: a W-Asym layer's ``mask``, else all ones."""
    out = []
    for layer in model.layers:
        if isinstance(layer, WAsymLinear):
            out.append(layer.mask.cpu().numpy().astype(bool))
        else:
            out.append(np.ones(tuple(layer.weight.shape), dtype=bool))
    return out


def computation_dag(mask_list: Sequence[np.ndarray]) -> nx.DiGraph:
    """Neural computation DAG of an MLP whose layer ``l`` has trainable-connection mask ``mask_list[l]`` ``(d_out, d_in)``.

    Nodes are ``(layer, index)`` with ``layer = 0`` the inputs and
    ``layer = L`` the outputs, attribute ``kind`` in ``{"input", "hidden",
    "output"}``. There is an edge ``(l-1, j) -> (l, i)`` iff ``mask_list[l-1][i, j]``
    is true: fixed (untrained) entries are treated as absent edges, which is
    the ``κ = 0`` setting of Lim et al.'s Theorem 1. Biases add no edges.
    """
    masks = [np.asarray(m, dtype=bool) for m in mask_list]
    if not masks:
        raise ValueError("need at least one layer mask")
    for l in range(1, len(masks)):
        if masks[l].shape[1] != masks[l - 1].shape[0]:
            raise ValueError(f"layer {l} has fan-in {masks[l].shape[1]} but layer {l - 1} has {masks[l - 1].shape[0]} outputs")
    dims = [masks[0].shape[1]] + [m.shape[0] for m in masks]
    L = len(masks)
    g = nx.DiGraph()
    for l, d in enumerate(dims):
        kind = "input" if l == 0 else "output" if l == L else "hidden"
        g.add_nodes_from(((l, i) for i in range(d)), kind=kind, layer=l)
    for l, m in enumerate(masks, start=1):
        rows, cols = np.nonzero(m)
        g.add_edges_from(((l - 1, int(j)), (l, int(i))) for i, j in zip(rows, cols))
    return g


def count_automorphisms(g: nx.DiGraph, limit: int | None = None) -> int:
    """Number of automorphisms of ``g`` that fix every input and output node (``kind`` attribute).

    Input and output nodes get a colour of their own, all hidden nodes share one
    colour (an automorphism may a priori move a hidden node to another layer;
    Lim et al.'s Lemma 1 shows it cannot when no mask row is zero), and the
    isomorphisms ``g -> g`` preserving colours are enumerated with networkx's
    VF2 matcher. ``limit`` stops counting early (returns ``limit``).
    """
    colour = {v: ("hidden" if d.get("kind") == "hidden" else v) for v, d in g.nodes(data=True)}
    h = g.copy()
    nx.set_node_attributes(h, colour, "colour")
    matcher = DiGraphMatcher(h, h, node_match=lambda a, b: a["colour"] == b["colour"])
    n = 0
    for _ in matcher.isomorphisms_iter():
        n += 1
        if limit is not None and n >= limit:
            break
    return n
