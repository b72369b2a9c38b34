"""Chapter *Linear mode connectivity of MLPs on MNIST* (Lim et al. 2024, Table 1 row 1, Figure 3 left)."""
from ... import results
from . import compute
from .compute import NAME, PRESETS, arms, check, configure
from .report import (CLAIMS, MARGIN, barriers, curves_frame, endpoint_table, figure_curves, labels, matching_table,
                     methods, table1)


def load_or_run(cfg: dict, recompute: bool = False, device: str = "auto") -> dict:
    """The stored record for ``cfg`` (``results/<scale>/lmc-<hash>.json``) unless ``recompute``; else train and store."""
    return results.load_or_run(compute, cfg, recompute=recompute, device=device)
