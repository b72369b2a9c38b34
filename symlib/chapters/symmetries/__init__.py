"""Chapter *Which parameter symmetries are left?* (Lim et al. 2024, §4, Theorem 1, Proposition 2, Figures 1-2)."""
from ... import results
from . import compute
from .compute import FAMILIES, LABELS, NAME, PRESETS, VARIANTS, check, configure
from .report import (CLAIMS, automorphism_frame, equivariance_frame, figure_function_change, figure_masks,
                     figure_sweeps, function_change_frame)


def load_or_run(cfg: dict, recompute: bool = False, device: str = "cpu") -> dict:
    """The stored record for ``cfg`` unless ``recompute``; else measure (on the CPU) and store it."""
    return results.load_or_run(compute, cfg, recompute=recompute, device=device)
