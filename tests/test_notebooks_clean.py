"""Notebooks are committed clean: no outputs, no execution counts, no widget state."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _notebooks() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "*.ipynb"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    names = listed.stdout.split() if listed.returncode == 0 else []
    found = {ROOT / name for name in names} | set((ROOT / "notebooks").glob("*.ipynb"))
    return sorted(p for p in found if p.exists())


def test_there_are_notebooks():
    assert any(p.name == "01-log.ipynb" for p in _notebooks())


@pytest.mark.parametrize("path", _notebooks(), ids=lambda p: p.name)
def test_notebook_is_clean(path):
    notebook = json.loads(path.read_text(encoding="utf-8"))
    assert "widgets" not in notebook.get("metadata", {}), f"{path}: clear metadata.widgets"
    for number, cell in enumerate(notebook["cells"], start=1):
        if cell["cell_type"] != "code":
            continue
        assert cell.get("outputs") == [], f"{path}: cell {number} has outputs"
        assert cell.get("execution_count") is None, f"{path}: cell {number} has a count"
