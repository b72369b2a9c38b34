import os
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True, scope="session")
def _threads():
    torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(autouse=True)
def _no_member_store(monkeypatch):
    """Tests train for real: the member store (``$SYMLIB_MEMBERS``) is off unless a test names one itself."""
    monkeypatch.setenv("SYMLIB_MEMBERS", "off")


@pytest.fixture(scope="session")
def data_root() -> Path:
    """The dataset root; tests needing real data are skipped with a clear reason when it is absent."""
    root = Path(os.environ.get("SYMLIB_DATA", ROOT / "data"))
    if not (root / "MNIST" / "raw").exists():
        pytest.skip(f"MNIST not found under {root}/MNIST/raw; set SYMLIB_DATA to a folder holding MNIST/raw (or let torchvision download it)")
    return root


@pytest.fixture
def committed_results(monkeypatch) -> Path:
    """Point symlib at the committed results/ (CI runs the tests with SYMLIB_RESULTS set to a scratch folder)."""
    monkeypatch.setenv("SYMLIB_RESULTS", str(ROOT / "results"))
    return ROOT / "results"
