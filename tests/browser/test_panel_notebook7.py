"""The generate-view-save path in Notebook 7 (issue 23): its own server (``jupyter notebook``,
the ``notebook`` package), the test notebook's panel, Generate, View (the lightbox), Save, and
the saved file next to the notebook.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from comet_widgets.testing import FakeAPI, FakeServer

from .conftest import (
    ARTIFACTS,
    PANEL_CELL,
    TEST_NOTEBOOK,
    JupyterServer,
    LabNotebook,
    jupyter_server,
    record_artifact,
)

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]  # see conftest: servers start


@pytest.fixture(scope="module")
def notebook7_server(
    tmp_path_factory: pytest.TempPathFactory, browser_fake: FakeServer, _chromium: None
) -> Iterator[JupyterServer]:
    """Notebook 7 on 127.0.0.1 with token auth; ``window.jupyterapp`` is exposed."""
    pytest.importorskip("notebook", minversion="7")
    with jupyter_server(
        tmp_path_factory,
        browser_fake.base_url,
        "notebook",
        "--JupyterNotebookApp.expose_app_in_browser=True",
    ) as server:
        yield server


def test_generate_view_and_save_in_notebook_7(
    page: Any, notebook7_server: JupyterServer, panel_on: Any, fake: FakeAPI
) -> None:
    server = notebook7_server
    name = f"nb7-{os.urandom(3).hex()}.ipynb"
    shutil.copy(TEST_NOTEBOOK, server.notebooks / name)
    page.set_viewport_size({"width": 1400, "height": 1000})
    notebook = LabNotebook(page, server, server.notebooks / name)
    notebook.open(f"/notebooks/{name}")
    # Notebook 7's own page, not JupyterLab's.
    expect(page.locator("#main-panel, .jp-NotebookPanel").first).to_be_visible()
    assert "/notebooks/" in page.url
    notebook.run_cell(PANEL_CELL)
    panel = panel_on(notebook.cell(PANEL_CELL))
    expect(panel.status).to_have_text("Ready", timeout=30_000)

    panel.type_prompt("A paper lantern over a river")
    panel.generate()
    expect(panel.status).to_have_text("Done: 1 image", timeout=30_000)
    panel.wait_decoded(1)
    assert fake.generation_count == 1

    panel.root.locator(".cw-tile button.cw-full-size").first.click()
    lightbox = panel.root.locator(".cw-lightbox")
    expect(lightbox).to_be_visible()
    image = lightbox.locator("img.cw-lightbox-image")
    expect(image).to_be_visible()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    lightbox.locator("button.cw-lightbox-save").click()
    link = lightbox.locator(".cw-lightbox-saved a")
    expect(link).to_be_visible(timeout=15_000)
    relative = link.get_attribute("href")
    assert relative is not None
    saved = server.notebooks / relative
    assert saved.is_file(), f"{relative} is not a file next to the notebook"
    assert saved.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert re.search(r"\.png$", saved.name)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "notebook7-lightbox-saved.png"
    page.screenshot(path=str(shot))
    record_artifact(shot)
    lightbox.locator("button.cw-lightbox-close").click()
    expect(lightbox).to_be_hidden()
