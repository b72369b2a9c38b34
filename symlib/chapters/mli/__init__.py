"""Chapter *Monotonic linear interpolation in a zoo of CNNs* (Lim et al. 2024, Table 4 and Figure 5)."""
from ... import results
from . import compute
from .compute import NAME, PRESETS, check, configure
from .report import (CLAIMS, METRICS, PAPER_TABLE4, curves_frame, figure_curves, figure_delta, figure_zoo_accuracy,
                     members_frame, metrics_frame, paired_tests, robustness_table, table4, zoo_table)


def load_or_run(cfg: dict, recompute: bool = False, device: str = "auto") -> dict:
    """The stored record for ``cfg`` unless ``recompute``; else measure the curves on the built zoo and store them."""
    return results.load_or_run(compute, cfg, recompute=recompute, device=device)
