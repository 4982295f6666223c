"""Every notebook in notebooks/ runs top to bottom in a real kernel (nbclient), as ``make test``
runs it: against the fake API on loopback, with a recognisable key in the kernel's environment
and the widget state saved into the notebook, as JupyterLab would with "save widget state".

For the quickstart the fake serves a realistic image (a 2.2 MB 1024x1024 PNG, like a real
generation; its own placeholders are flat colours of a few kilobytes), so the size check
compares with what real images would cost.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient
from PIL import Image

from bench._lab import stop_kernels
from comet_widgets.testing import FakeAPI, FakeServer, serve_fake

# The first test that runs a notebook waits for its kernel and every cell (each within
# CELL_TIMEOUT).
pytestmark = [pytest.mark.notebook, pytest.mark.timeout(300)]

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
ARTIFACTS = REPO / "test-artifacts" / "notebooks"
QUICKSTART = REPO / "notebooks" / "01-quickstart.ipynb"
EDITS = REPO / "notebooks" / "03-edits.ipynb"
COMPARE = REPO / "notebooks" / "05-compare.ipynb"
LIBRARY = REPO / "notebooks" / "04-library.ipynb"

#: The key the kernel gets. Built at run time, so the literal is not one string in any file.
SECRET_KEY = "sk-" + "notebook-SECRET-" + "9d41c07be2"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
CELL_TIMEOUT = 120


def photo_like_png(side: int = 1024) -> bytes:
    """Smooth colour fields with fine grain: compresses like a photograph (~2.2 MB of PNG)."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:side, 0:side] / side
    base = np.stack(
        [
            120 + 90 * np.sin(6 * x + 2 * y),
            110 + 80 * np.cos(5 * y - 3 * x),
            130 + 70 * np.sin(4 * (x + y)),
        ],
        axis=-1,
    )
    pixels = np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGB").save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


@dataclass
class Executed:
    """A notebook after nbclient ran it, and the file it was saved to."""

    source: Path
    saved: Path
    notebook: nbformat.NotebookNode
    kernel_command: list[str]

    @property
    def text(self) -> str:
        return self.saved.read_text(encoding="utf-8")

    def stdout(self, cell_id: str) -> str:
        [cell] = [c for c in self.notebook.cells if c.get("id") == cell_id]
        return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


@pytest.fixture(scope="module")
def image_bytes() -> bytes:
    return photo_like_png()


@pytest.fixture(scope="module")
def notebook_fake() -> Iterator[FakeServer]:
    """The fake on loopback for this module's kernels."""
    with serve_fake(FakeAPI()) as server:
        yield server


@pytest.fixture(scope="module")
def kernel_environment(
    notebook_fake: FakeServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Path]:
    """What the kernel subprocess inherits: the key, the fake's URL, the venv first on PATH.
    Yields a folder for the kernels' connection files (``stop_kernels`` ends what names it)."""
    venv_bin = str(Path(sys.executable).parent)
    runtime = tmp_path_factory.mktemp("jupyter-runtime")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COMETAPI_KEY", SECRET_KEY)
        patch.setenv("COMETAPI_BASE_URL", notebook_fake.base_url)
        patch.delenv("COMETAPI_OFFLINE", raising=False)
        patch.setenv("PATH", venv_bin + os.pathsep + os.environ.get("PATH", ""))
        patch.setenv("IPYTHONDIR", str(tmp_path_factory.mktemp("ipython")))
        patch.setenv("JUPYTER_PLATFORM_DIRS", "1")
        patch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")  # no debugger warning on stderr
        yield runtime


@pytest.fixture(scope="module")
def run_notebook(
    kernel_environment: Path,
    notebook_fake: FakeServer,
    image_bytes: bytes,
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[Path], Executed]:
    """``run_notebook(path)``: run it once in the venv's ``python3`` kernel (later calls reuse
    the result) and save it as JupyterLab would, widget state included."""
    done: dict[Path, Executed] = {}

    def run(source: Path) -> Executed:
        if source in done:
            return done[source]
        notebook = nbformat.read(source, as_version=4)
        workdir = tmp_path_factory.mktemp(source.stem)
        client = NotebookClient(
            notebook,
            kernel_name="python3",
            timeout=CELL_TIMEOUT,
            store_widget_state=True,
            resources={"metadata": {"path": str(workdir)}},
        )
        # The kernel command as the kernel manager resolves it ("python" -> this interpreter),
        # its connection file where stop_kernels finds it.
        manager = client.create_kernel_manager()
        manager.connection_file = str(kernel_environment / f"{source.stem}.json")
        command = manager.format_kernel_cmd()
        notebook_fake.app.image_bytes = image_bytes if source == QUICKSTART else None
        try:
            client.execute()
        finally:
            notebook_fake.app.reset()
            stop_kernels(kernel_environment)  # a kernel left by a failure or a timeout
        saved = workdir / source.name
        nbformat.write(notebook, saved)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / source.name).write_text(saved.read_text(encoding="utf-8"), encoding="utf-8")
        done[source] = Executed(source, saved, notebook, command)
        return done[source]

    return run


@pytest.fixture(params=NOTEBOOKS, ids=lambda path: path.name)
def executed(request: pytest.FixtureRequest, run_notebook: Callable[[Path], Executed]) -> Executed:
    """Each notebook of notebooks/, executed."""
    return run_notebook(request.param)


def notebook_fixture(path: Path) -> Any:
    """A fixture giving the notebook at ``path``, executed (once: ``run_notebook``)."""

    @pytest.fixture
    def executed_notebook(run_notebook: Callable[[Path], Executed]) -> Executed:
        return run_notebook(path)

    return executed_notebook


quickstart = notebook_fixture(QUICKSTART)
edits = notebook_fixture(EDITS)
compared = notebook_fixture(COMPARE)
library = notebook_fixture(LIBRARY)


def test_there_are_notebooks() -> None:
    assert QUICKSTART in NOTEBOOKS
    assert EDITS in NOTEBOOKS
    assert COMPARE in NOTEBOOKS
    assert LIBRARY in NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebooks_are_committed_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], cell.source[:40]
            assert cell.execution_count is None, cell.source[:40]
    assert "widgets" not in notebook.metadata


def test_the_kernel_is_this_venv(executed: Executed) -> None:
    assert executed.kernel_command[0] == sys.executable


def test_the_notebook_runs_without_errors(executed: Executed) -> None:
    for cell in executed.notebook.cells:
        if cell.cell_type != "code":
            continue
        assert cell.execution_count is not None
        for output in cell.outputs:
            assert output.output_type != "error", "".join(output.get("traceback", []))
            if output.output_type == "stream":
                assert output.name != "stderr", output.text


def test_the_key_is_nowhere_in_the_saved_notebook(executed: Executed) -> None:
    text = executed.text
    assert SECRET_KEY not in text
    assert SECRET_KEY.removeprefix("sk-") not in text
    assert base64.b64encode(SECRET_KEY.encode()).decode() not in text


def test_the_panel_state_is_saved_with_thumbnails_only(quickstart: Executed) -> None:
    state = quickstart.notebook.metadata["widgets"][WIDGET_STATE]["state"]
    images = [s for s in state.values() if s["model_name"] == "ImageModel"]
    panels = [s for s in state.values() if "cw-panel" in s["state"].get("_dom_classes", [])]
    assert len(panels) == 1
    shown = []
    for image in images:
        for buffer in image.get("buffers", []):  # nbclient keeps binary values beside the state
            assert buffer["path"] == ["value"]
            data = base64.b64decode(buffer["data"])
            if data:
                with Image.open(io.BytesIO(data)) as opened:
                    shown.append((opened.format, opened.size))
    # The four thumbnails of the last generation (tiles are reused, so no older set lingers),
    # and the history strip's one small thumbnail per run (two runs).
    tiles = [s for s in shown if s[1] == (512, 512)]
    strip = [s for s in shown if max(s[1]) <= 96]
    assert tiles == [("JPEG", (512, 512))] * 4, shown
    assert len(strip) == 2, shown
    assert len(shown) == 6, shown


def test_quickstart_uses_the_panel_from_code_and_pil(quickstart: Executed) -> None:
    four = quickstart.stdout("four")
    assert re.search(r"^4 images landed \(observer saw \[4\]\)", four), four
    assert "as an array: (1024, 1024, 3) uint8" in quickstart.stdout("pil")
    history = quickstart.stdout("history")
    assert "1 gpt-image-2 1 image(s): A paper boat floating on calm water at sunrise." in history
    assert "2 gpt-image-2 4 image(s)" in history


def test_quickstart_saved_notebook_is_far_smaller_than_its_images(
    quickstart: Executed, image_bytes: bytes
) -> None:
    match = re.search(r"(\d+) bytes of images kept in Python", quickstart.stdout("four"))
    assert match, quickstart.stdout("four")
    four_images = int(match.group(1))
    assert four_images == 4 * len(image_bytes)  # 1024x1024 each, about 2.2 MB
    saved = quickstart.saved.stat().st_size
    widget_state = len(json.dumps(quickstart.notebook.metadata["widgets"]))
    print(f"\nfour images: {four_images:,} bytes; saved notebook: {saved:,} bytes", end="")
    print(f" (widget state {widget_state:,})")
    # The figure in docs/panel.md ("Saved notebooks"): under 0.45 MB for 8.9 MB of images (the
    # panel's ~250 widget models and its 512 px thumbnails are most of it).
    assert saved < 450_000, (saved, four_images)


def test_the_edits_notebook_edits_with_the_client_the_panel_and_batches(edits: Executed) -> None:
    assert edits.stdout("setup").startswith("editing with http://127.0.0.1:")
    # The fake changes exactly the masked area, so this says the mask was honoured.
    one = edits.stdout("client-edit")
    assert "changed inside the mask: 100%; outside: 0%" in one, one
    assert "[('generated-0.png', " in one, one
    assert "mask.png" in one, one
    assert "inputs: ['generated-0.png', 'image-1.png']" in edits.stdout("multi")
    panel = edits.stdout("panel-edit")
    assert "mode: edit | size: 1024x1024 | status: done" in panel, panel
    assert "the panel's mask is (1024, 1024) 33% of the image" in panel, panel
    batch = edits.stdout("batch")
    assert batch.startswith("3 item(s): 3 ok, 0 failed"), batch
    assert "2 True Replace the sky with a sky full of hot-air balloons" in batch
    panel_batch = edits.stdout("panel-batch")
    assert "panel batch: 3 item(s): 3 ok, 0 failed" in panel_batch, panel_batch
    assert "the last 3 are the batch's, in input order: True" in panel_batch, panel_batch
    # Only thumbnails (and the painter's <= 512 px preview) went to the browser: no 1024 px
    # input, mask or result is in the saved state.
    state = edits.notebook.metadata["widgets"][WIDGET_STATE]["state"]
    sides = []
    for model in state.values():
        for buffer in model.get("buffers", []):
            data = base64.b64decode(buffer["data"])
            try:
                with Image.open(io.BytesIO(data)) as opened:
                    sides.append(max(opened.size))
            except OSError:  # not an image (or empty)
                continue
    assert len(sides) > 3, "the panel's thumbnails are in the saved state"
    assert max(sides) <= 512, sides


def test_the_compare_notebook_shows_the_grid_its_data_and_resumes(compared: Executed) -> None:
    assert compared.stdout("setup").startswith("comparing with http://127.0.0.1:")
    run = compared.stdout("compare")
    assert run.startswith("compare: 12 cell(s) (2 not applicable), 10 to send: estimate"), run
    assert "2 prompt x 2 model x 3 quality: 10 ok, 2 not applicable; cost $" in run, run
    [cell] = [c for c in compared.notebook.cells if c.get("id") == "compare"]
    [shown] = [o for o in cell.outputs if o.output_type == "execute_result"]
    with Image.open(io.BytesIO(base64.b64decode(shown.data["image/png"]))) as sheet:
        width, height = sheet.size
    assert height > 2 * width  # three sheets (one per quality) of two rows each, stacked
    costs = compared.stdout("per-model")
    assert "gpt-image-2.5-flare  high" in costs, costs
    assert "xhigh" in costs, costs
    one = compared.stdout("cell")
    assert "model=gpt-image-2.5-flare, quality=xhigh ok> | $" in one, one
    assert "not applicable - quality 'xhigh' is not supported by gpt-image-2" in one, one
    layout = compared.stdout("layout")
    assert "resumed: 10 of 12" in layout, layout
    assert "{'rows': 'model', 'columns': 'quality', 'sheets': ['prompt']}" in layout, layout
    saved = compared.stdout("save")
    assert "['comparison.csv', 'comparison.png', 'fox-vs-lighthouse.png', 'manifest.jsonl']" in (
        saved
    ), saved


def test_the_library_notebook_records_searches_and_exports(library: Executed) -> None:
    setup = library.stdout("setup")
    assert setup.startswith("recording into /"), setup
    assert "comet-library-tutorial-" in setup  # its own folder: the user's library is untouched
    assert library.stdout("generate").strip() == "recorded: True"
    opened = library.stdout("open")
    assert opened.startswith("3 images"), opened
    lines = opened.splitlines()
    assert "A red fox asleep in the snow" in lines[1]  # newest first
    assert all("A lighthouse on a cliff" in line for line in lines[2:4]), lines
    assert "'prompt': 'A red fox asleep in the snow, photograph.'" in opened
    found = library.stdout("search")
    assert "lighthouse: [2, 1]" in found, found
    assert "'light' (a word's start): [2, 1]" in found, found
    assert "starred: [2]" in found, found
    assert "collections: {'coast': 2}" in found, found
    assert "in 'coast' from gpt-image-2: 2" in found, found
    exported = library.stdout("export")
    assert "metadata.jsonl" in exported, exported
    assert exported.count(".png") == 2, exported
