"""The notebooks' charts reach the reader as images: each notebook that draws one is
executed in a real kernel (nbclient's public API, as nbval does) and its outputs, the
widgets' saved state included, must hold a PNG and no figure's text repr."""

from __future__ import annotations

import base64
import os
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
PNG = b"\x89PNG\r\n\x1a\n"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def execute(name: str, folder: Path) -> nbformat.NotebookNode:
    """Run a copy of ``notebooks/<name>`` in ``folder`` with a throwaway log and the
    non-interactive backend the servers and tests use (no inline backend to lean on)."""
    copy = folder / name
    shutil.copy(ROOT / "notebooks" / name, copy)
    notebook = nbformat.read(copy, as_version=4)
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKTRACK_")}
    env |= {"BACKTRACK_CSV": str(folder / "data" / "backtrack.csv"), "MPLBACKEND": "Agg"}
    client = NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
        store_widget_state=True,
    )
    client.execute(env=env)
    return notebook


def _bundles(notebook: nbformat.NotebookNode) -> list[dict]:
    """Every output as a MIME bundle (a stream as text/plain): the cells', and those
    captured by Output widgets."""
    state = notebook.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    outputs = [out for cell in notebook.cells for out in cell.get("outputs", [])] + [
        out
        for model in state.values()
        if model["model_name"] == "OutputModel"
        for out in model["state"].get("outputs", [])
    ]
    return [
        {"text/plain": out["text"]} if out.get("output_type") == "stream" else out.get("data", {})
        for out in outputs
    ]


def images(notebook: nbformat.NotebookNode) -> list[bytes]:
    """The PNGs shown: ``image/png`` outputs and the values of Image widgets."""
    shown = [base64.b64decode(b["image/png"]) for b in _bundles(notebook) if "image/png" in b]
    state = notebook.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for model in state.values():
        if model["model_name"] == "ImageModel" and model["state"].get("format") == "png":
            shown += [
                base64.b64decode(buffer["data"])
                for buffer in model.get("buffers", [])
                if buffer["path"] == ["value"]
            ]
    return shown


def texts(notebook: nbformat.NotebookNode) -> list[str]:
    return [str(b.get("text/plain", "")) for b in _bundles(notebook)]


@pytest.mark.parametrize("name", ["05-trial.ipynb", "06-clinic-trials.ipynb"])
def test_the_chart_is_an_image_not_a_figure_repr(tmp_path, name):
    """Issue 24 item 3: 05-trial showed ``<Figure size 900x320 with 1 Axes>``."""
    notebook = execute(name, tmp_path)
    assert not [t for t in texts(notebook) if "<Figure size" in t]
    shown = images(notebook)
    assert shown, "no image in the executed notebook"
    assert all(png.startswith(PNG) and len(png) > 10_000 for png in shown)
