"""The book's chapters, one package per notebook ``book/<name>.ipynb``.

Each chapter package has

* ``compute.py`` — ``NAME``, ``PRESETS`` (``ci`` / ``small`` / ``paper``), ``configure(parameters)`` (validated
  config; the notebook wrapper calls it before a kernel starts), ``run(config, device)`` (the JSON-able result)
  and ``check(record)`` (invariants that betray a bug, and the preset's training-quality bar). Only this module
  computes numbers, so only its code (and what it imports) is fingerprinted into a result's manifest;
* ``report.py`` — tables and figures drawn from a stored record, and ``CLAIMS``: the paper's claims this chapter
  tests, each with the one function that computes its verdict (:mod:`symlib.claims`);
* ``__init__.py`` — re-exports both and ``load_or_run(config, recompute)``.

A new chapter is a new package here, its notebook, one line in :data:`symlib.ledger.CHAPTERS` and one in
``_toc.yml``; it moves its claims out of :mod:`symlib.chapters.planned`.

This file holds no code on purpose: it runs whenever a chapter's computation is imported, so it is part of every
result's code fingerprint (:func:`symlib.results.fingerprint`), and adding a chapter must not make every stored
result stale.
"""
