"""Chapter *Appendix A: distances, overfitting and training speed* (Lim et al. 2024, Appendix A and Figure 6)."""
from ... import results
from . import compute
from .compute import NAME, PRESETS, check, configure, threshold
from .report import (CLAIMS, DISTANCE_MARGIN, PAPER, distance_table, figure6, figure6_curves, figure_distance_barrier,
                     overfitting_table, pairs_frame, speed_frame, speed_table)


def load_or_run(cfg: dict, recompute: bool = False, device: str = "auto") -> dict:
    """The stored record for ``cfg`` unless ``recompute``; else measure on the built zoo, train the Figure-6 grid, store."""
    return results.load_or_run(compute, cfg, recompute=recompute, device=device)
