"""Deterministic seeds derived from explicit keys.

Every random tensor that is part of an architecture (masks, ``F``) or of an
experiment (initialisation, data order) gets its seed from :func:`derive_seed`,
which hashes a base seed and a tuple of string keys with SHA-256. Python's
built-in string hashing is salted per process and must never be used for this.
"""
from __future__ import annotations

import hashlib
from typing import Callable, TypeVar

import numpy as np
import torch

T = TypeVar("T")


def derive_seed(seed: int, *keys: object) -> int:
    """Return a 63-bit integer seed from ``seed`` and any number of keys.

    The same ``(seed, keys)`` gives the same integer on every machine and in
    every process: ``derive_seed(0, "lmc", "w_asym", 3)``.
    """
    text = "/".join([str(int(seed)), *map(str, keys)])
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "little") & (2**63 - 1)


def numpy_rng(seed: int, *keys: object) -> np.random.Generator:
    """A NumPy generator seeded through :class:`numpy.random.SeedSequence`."""
    return np.random.default_rng(np.random.SeedSequence(derive_seed(seed, *keys)))


def torch_generator(seed: int, *keys: object) -> torch.Generator:
    """A CPU :class:`torch.Generator` seeded from ``(seed, keys)``."""
    g = torch.Generator()
    g.manual_seed(derive_seed(seed, *keys))
    return g



def seeded(build: Callable[[], T], seed: int) -> T:
    """``build()`` run under ``torch.manual_seed(seed)``, e.g. a network's default initialisation; the global
    torch RNG state is restored afterwards, so the caller's random stream is untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return build()
