"""Claims of the papers that no chapter tests yet (the ledger shows them as "not yet built"). A new chapter moves
its claims from here into its own ``report.CLAIMS``."""
from __future__ import annotations

from ..claims import Claim

LIM = "Lim et al. 2024"
CLAIMS = [
    Claim("planned.resnet20_lmc", f"{LIM}, Table 1 (ResNet20 1×, 8×/CIFAR-10)",
          "W-Asym < Git Re-Basin < σ-Asym < Standard barriers",
          "1×: 0.934 / 2.041 / 2.521 / 3.287; 8×: 0.031 / 0.509 / 1.492 / 2.640"),
    Claim("planned.gnn_lmc", f"{LIM}, Table 1 (GNN/ogbn-arXiv)", "W-Asym < Git Re-Basin < σ-Asym < Standard barriers",
          "0.095 / 0.269 / 0.901 / 1.475"),
    Claim("planned.bayesian", f"{LIM}, Table 2", "Bayesian W-Asym nets train faster and match or beat standard ones "
          "(largest gap: MLP-16 test accuracy)", "MLP-16: 55.16 vs 13.54 %"),
    Claim("planned.metanetworks", f"{LIM}, Table 3", "Metanetworks predict test accuracy better from W-Asym weights "
          "(MLP metanetwork R²)", "0.594 vs −0.171"),
    Claim("planned.identifiability", "Bürgin et al. 2026", "Neurons of W-Asym nets are identifiable across runs: "
          "merging works without alignment", "abstract only"),
]
