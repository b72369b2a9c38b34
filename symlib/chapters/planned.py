"""Claims of the papers that no chapter tests yet (the ledger shows them as "not yet built"). A new chapter moves
its claims from here into its own ``report.CLAIMS``."""
from __future__ import annotations

from ..claims import Claim

CLAIMS: list[Claim] = []
