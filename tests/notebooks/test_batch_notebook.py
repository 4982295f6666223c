"""notebooks/02-batch-dataset.ipynb runs top to bottom against the offline fake API."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from bench._lab import stop_kernels

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "02-batch-dataset.ipynb"

pytestmark = [pytest.mark.notebook, pytest.mark.timeout(300)]  # a kernel and every cell


def outputs_text(notebook: nbformat.NotebookNode) -> str:
    parts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            parts.append(str(output.get("data", {}).get("text/plain", "")))
    return "\n".join(parts)


def test_the_committed_notebook_has_no_outputs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == []
            assert cell.execution_count is None


def test_batch_notebook_runs_offline(tmp_path: Path) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    env = {k: v for k, v in os.environ.items() if k not in ("COMETAPI_KEY", "COMETAPI_BASE_URL")}
    temp = tmp_path / "temp"  # the notebook writes its dataset with tempfile
    temp.mkdir()
    work = tmp_path / "cwd"
    work.mkdir()
    env["TMPDIR"] = str(temp)
    client = NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(work)}},
    )
    runtime = tmp_path / "runtime"  # the kernel's connection file, where stop_kernels finds it
    runtime.mkdir()
    client.create_kernel_manager().connection_file = str(runtime / "kernel.json")
    try:
        client.execute(env=env)
    finally:
        stop_kernels(runtime)  # a kernel left by a failure or a timeout
    text = outputs_text(notebook)
    assert "the offline fake API" in text
    assert "16 item(s): 16 ok, 0 failed" in text
    assert "batch (16, 1024, 1024, 3) uint8" in text
    assert "16 item(s): 16 ok (16 resumed), 0 failed" in text
    kinds = {
        key for cell in notebook.cells for o in cell.get("outputs", []) for key in o.get("data", {})
    }
    assert "image/png" in kinds  # the contact sheet
    assert "application/vnd.jupyter.widget-view+json" in kinds  # the progress bar
    assert not any(
        o.get("output_type") == "error" for c in notebook.cells for o in c.get("outputs", [])
    )
    assert list(work.iterdir()) == []  # nothing written next to the notebook
    (dataset,) = temp.glob("dataset-demo-*")
    assert len(list(dataset.glob("*.png"))) == 16
    assert len((dataset / "manifest.jsonl").read_text().splitlines()) == 16
