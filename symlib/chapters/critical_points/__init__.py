"""Chapter *Symmetry-induced critical points and the global-minimum manifold* (Şimşek et al., ICML 2021)."""
from ... import results
from . import compute
from .compute import DIGEST, NAME, PRESETS, check, configure
from .report import (CLAIMS, counts_frame, crossover_frame, figure_counts, figure_paths, figure_ratio, figure_students,
                     figure_trajectories, students_frame)


def load_or_run(cfg: dict, recompute: bool = False, device: str = "cpu") -> dict:
    """The stored record for ``cfg`` unless ``recompute``; else compute (NumPy, on the CPU) and store it."""
    return results.load_or_run(compute, cfg, recompute=recompute, device=device)
