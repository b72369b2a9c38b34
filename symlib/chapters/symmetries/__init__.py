"""Chapter *Which parameter symmetries are left?* (Lim et al. 2024, §4, Theorem 1, Proposition 2, Figures 1-2)."""
# What the notebook reads: ``compute.__all__`` and ``report.__all__`` (listed there, so adding a table or a figure
# to the report never changes this file, whose code is part of every result's fingerprint).
from ... import results
from . import compute
from .compute import *  # noqa: F401,F403
from .report import *  # noqa: F401,F403


def load_or_run(cfg: dict, recompute: bool = False, device: str = "cpu") -> dict:
    """The stored record for ``cfg`` unless ``recompute``; else measure (on the CPU) and store it."""
    return results.load_or_run(compute, cfg, recompute=recompute, device=device)
