"""Bayesian neural networks: tables, figures and the verdicts of the chapter's claims (written with the notebook)."""
__all__: list[str] = []
