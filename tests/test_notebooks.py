"""Notebook hygiene: every chapter has a papermill parameters cell starting with `scale`, and no stored outputs."""
import json
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))


def test_there_are_notebooks():
    assert NOTEBOOKS, f"no notebooks under {BOOK}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_parameters_cell_and_no_outputs(path):
    nb = json.loads(path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: needs exactly one cell tagged 'parameters'"
    lines = "".join(tagged[0]["source"]).strip().splitlines()
    assert lines[0].replace(" ", "").startswith("scale="), f"{path.name}: first line must set scale"
    assert any(l.replace(" ", "").startswith("seed=") for l in lines), f"{path.name}: no seed parameter"
    assert any(l.replace(" ", "").startswith("recompute=") for l in lines), f"{path.name}: no recompute parameter"
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), \
        f"{path.name}: has stored outputs; strip them (results live in results/)"


def test_every_notebook_is_in_the_table_of_contents():
    toc = (BOOK.parent / "_toc.yml").read_text()
    for path in NOTEBOOKS:
        assert f"book/{path.stem}" in toc, f"{path.name} missing from _toc.yml"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_papermill_sees_every_parameter(path):
    """papermill silently skips lines it cannot parse (e.g. a quote in a comment): then -p NAME is 'unknown'."""
    import ast

    import papermill as pm
    nb = json.loads(path.read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c.get("metadata", {}).get("tags", []))
    assigned = [t.id for node in ast.parse("".join(cell["source"])).body if isinstance(node, ast.Assign)
                for t in node.targets]
    assert list(pm.inspect_notebook(str(path))) == assigned


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_notebook_and_its_chapter_accept_the_same_parameters(path):
    """The wrapper checks -p names against the notebook, the chapter checks values: both must know every name."""
    from symlib import notebook, params
    chapter = notebook.chapter_of(path)
    assert chapter is not None, f"no symlib.chapters.{path.stem} package for {path.name}"
    assert notebook.declared_parameters(path) == params.accepted(chapter.PRESETS)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebooks_assert_no_claims(path):
    """Claims are verdicts computed by the chapter (shown, never asserted): a re-run with new parameters that gives
    another answer must render, not crash. Invariants live in the chapter's `check`."""
    nb = json.loads(path.read_text())
    code = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert "assert " not in code, f"{path.name} asserts in a cell"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_code_is_folded_away_in_the_book(path):
    """A reader meets results, not set-up: the parameters cell is removed (the page shows them as a table), and every
    other code cell is folded under its output (hide-input) or shows only its output (remove-input)."""
    nb = json.loads(path.read_text())
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        tags = set(cell.get("metadata", {}).get("tags", []))
        if "parameters" in tags:
            assert "remove-cell" in tags, f"{path.name}: the parameters cell should be tagged remove-cell"
        else:
            assert tags & {"hide-input", "remove-input", "remove-cell"}, \
                f"{path.name}: a code cell shows its source in the book: {''.join(cell['source'])[:60]!r}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_results_are_displayed_by_code_not_glued(path):
    """What a re-runner opens in Jupyter has no {glue} placeholder: prose that carries results is displayed by code,
    so it reads the same in Jupyter, in a page rendered with --html and in the book."""
    text = "".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"])
    assert "{glue" not in text and "glue(" not in text, f"{path.name} still glues numbers into prose"
