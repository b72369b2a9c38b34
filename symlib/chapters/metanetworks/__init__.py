"""Chapter *Metanetworks: Table 3* (Lim et al. 2024)."""
# What the notebook reads: ``compute.__all__`` and ``report.__all__`` (listed there, so adding a table or a figure
# to the report never changes this file, whose code is part of every result's fingerprint).
from ... import results
from . import compute
from .compute import *  # noqa: F401,F403
from .report import *  # noqa: F401,F403


def load_or_run(cfg: dict, recompute: bool = False, device: str = "auto") -> dict:
    """The stored record for ``cfg`` (``results/<scale>/metanetworks-<hash>.json``) unless ``recompute``; else
    train and store."""
    return results.load_or_run(compute, cfg, recompute=recompute, device=device)
