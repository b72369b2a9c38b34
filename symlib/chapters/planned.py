"""Claims of the papers that no chapter tests yet (the ledger shows them as "not yet built"). A new chapter moves
its claims from here into its own ``report.CLAIMS``."""
from __future__ import annotations

from ..claims import Claim

LIM = "Lim et al. 2024"
CLAIMS = [
    Claim("planned.metanetworks", f"{LIM}, Table 3", "Metanetworks predict test accuracy better from W-Asym weights "
          "(MLP metanetwork R²)", "0.594 vs −0.171"),
]
