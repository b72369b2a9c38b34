"""Results with provenance: config hashes, code fingerprints that ignore comments, staleness, and the ledger's
view of them."""
import json
import textwrap
import types

import pytest

from symlib import results
from symlib.results import _code_text, config_hash, fingerprint


def test_config_hash_is_canonical():
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})


def test_fingerprint_ignores_comments_docstrings_and_layout_but_not_code(tmp_path):
    base = textwrap.dedent('''
        """Module docstring."""
        def f(x):
            """Doc."""
            return x + 1  # a comment
    ''')
    same = textwrap.dedent('''
        """Another docstring, longer,
        over two lines."""
        # a new comment line
        def f(x):
            """Changed doc."""

            return x + 1
    ''')
    other = base.replace("x + 1", "x + 2")
    texts = []
    for i, src in enumerate((base, same, other)):
        p = tmp_path / f"m{i}.py"
        p.write_text(src)
        texts.append(_code_text(p))
    assert texts[0] == texts[1] != texts[2]


def test_a_chapter_fingerprint_covers_what_it_computes_with_and_nothing_presentational():
    fp = fingerprint("symlib.chapters.mli.compute")
    assert {"symlib.chapters.mli.compute", "symlib.zoo", "symlib.training", "symlib.interpolation",
            "symlib.architectures.resnet8", "symlib.layers"} <= set(fp)
    assert not set(fp) & {"symlib.results", "symlib.plotting", "symlib.claims", "symlib.stats", "symlib.ledger",
                          "symlib.chapters.mli.report", "symlib.distributed"}
    assert "symlib.training" not in fingerprint("symlib.chapters.critical_points.compute")
    # package __init__ files run on import, so they count too (symlib.chapters itself is kept code-free)
    assert {"symlib", "symlib.chapters", "symlib.chapters.mli"} <= set(fp)
    assert "symlib.theory" in fingerprint("symlib.chapters.critical_points.compute")


def _toy_run(config, device="cpu"):
    _Compute.calls += 1
    return {"value": config["x"] * 2}


#: a stand-in chapter compute module for load_or_run (its fingerprint is a real module's)
_Compute = types.SimpleNamespace(NAME="toy", __name__="symlib.chapters.critical_points.compute", run=_toy_run, calls=0)


def test_load_or_run_stores_loads_and_flags_stale_code(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMLIB_RESULTS", str(tmp_path))
    cfg = {"scale": "ci", "x": 3}
    first = results.load_or_run(_Compute, cfg, device="cpu")
    assert first["result"] == {"value": 6} and first["loaded_from"] is None and _Compute.calls == 1
    again = results.load_or_run(_Compute, cfg, device="cpu")
    assert again["loaded_from"] and again["stale"] == [] and _Compute.calls == 1
    man = again["manifest"]
    assert man["config_hash"] == config_hash(cfg) and man["code"] == fingerprint(_Compute.__name__)
    import re  # the CPU and its instruction set: same code on another one can differ in the last bits
    assert re.fullmatch(r".+ \((DEFAULT|VSX|ZVECTOR|AVX2|AVX512|SVE\d*)\)", man["cpu"]), man["cpu"]
    assert man["cpu"] in results.provenance(again)
    path = results.result_path("toy", cfg)
    record = json.loads(path.read_text())
    record["manifest"]["code"]["symlib.theory.counting"] = "000000000000"  # as if computed by older code
    path.write_text(json.dumps(record))
    stale = results.load_or_run(_Compute, cfg, device="cpu")
    assert stale["stale"] == ["symlib.theory.counting"] and _Compute.calls == 1
    assert "Stale result" in results.provenance(stale) and "symlib.theory.counting" in results.provenance(stale)
    fresh = results.load_or_run(_Compute, cfg, recompute=True, device="cpu")
    assert fresh["stale"] == [] and _Compute.calls == 2


def test_a_zoo_result_is_stale_when_its_own_recipe_changes_not_another(tmp_path, monkeypatch):
    """Recipes are values (symlib.zoo.named_recipes, outside fingerprints): a result that read zoo "small" records
    its recipe's hash, and only a change to that recipe stales it."""
    from symlib.zoo import named_recipes, recipes
    assert "symlib.zoo.named_recipes" not in fingerprint("symlib.chapters.mli.compute")
    assert "symlib.zoo.recipes" in fingerprint("symlib.chapters.mli.compute")
    record = {"manifest": {"config": {"scale": "small", "zoo": "small"},
                           "code": fingerprint("symlib.chapters.mli.compute"),
                           "code_root": "symlib.chapters.mli.compute"},
              "result": {"zoo_recipe_hash": recipes.recipe_hash("small")}}
    assert results.stale_modules(record) == []
    record["manifest"]["code"]["symlib.zoo.named_recipes"] = "000000000000"  # a record from before the split
    assert results.stale_modules(record) == []
    monkeypatch.setitem(named_recipes.RECIPES, "metanet_small",
                        {**named_recipes.RECIPES["metanet_small"], "epochs_max": 99})
    assert results.stale_modules(record) == []
    monkeypatch.setitem(named_recipes.RECIPES, "small", {**named_recipes.RECIPES["small"], "epochs_max": 99})
    assert results.stale_modules(record) == ["symlib.zoo.named_recipes['small']"]
    build = {"manifest": {"config": {"zoo": "small", "recipe_hash": "3c0bc9a3f4b6"},
                          "code": fingerprint("symlib.zoo"), "code_root": "symlib.zoo"}, "result": {}}
    assert results.stale_modules(build) == ["symlib.zoo.named_recipes['small']"]


def test_committed_results_are_fresh_and_clean(committed_results):
    """What the book renders must come from the code in this commit (CI fails on a stale or -dirty result)."""
    from symlib import ledger
    from symlib.ledger import CHAPTERS
    assert all(ledger.chapter_record(c) is not None for c in CHAPTERS), "a chapter has no committed result"
    assert ledger.problems() == []


def test_ledger_collects_every_chapter_and_reads_at_laptop_width(committed_results):
    from symlib import ledger
    from symlib.chapters import planned
    from symlib.ledger import CHAPTERS
    import importlib
    n = sum(len(importlib.import_module(f"symlib.chapters.{c}").CLAIMS) for c in CHAPTERS) + len(planned.CLAIMS)
    text = ledger.page()
    lines = text.strip().splitlines()
    assert lines[0].startswith(f"**{n} claims:**")
    table = lines[lines.index(":::{list-table}"):]
    table = table[:table.index(":::")]  # the claims table (the cost table follows it)
    assert ["* - Claim", "  - Verdict", "  - Paper", "  - Ours"] == table[table.index("* - Claim"):][:4]
    assert sum(line.startswith("* - ") for line in table) == n + 1  # the header row and one row per claim
    assert "p=0.000" not in text and "nan" not in text.lower().replace("nan-safe", "")
    keys = [c.key for ch in CHAPTERS for c in importlib.import_module(f"symlib.chapters.{ch}").CLAIMS]
    assert len(keys) == len(set(keys))  # one verdict function per claim


@pytest.mark.parametrize("bad", ["p=0.000"])
def test_format_p_never_prints_zero(bad):
    from symlib.stats import format_p
    assert format_p(1e-9) == "p < 0.001" and format_p(0.0123) == "p = 0.012" and format_p(float("nan")) == "p n/a"
    assert bad not in format_p(0.0)
