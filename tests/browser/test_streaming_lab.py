"""Partial previews in JupyterLab: a tile shows a partial image before the final one arrives.

The fake streams a partial at 1 s and 2 s and the completed event at 3 s; the panel (the
quickstart's, in headless Chromium, previews turned on under "More options") shows the first
partial in its tile while still running, then the final image, and nothing partial lands in
the history.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from comet_widgets.testing import FakeAPI

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]  # see conftest: servers start


def test_the_tile_shows_a_partial_before_the_final_image(
    lab_panel: Any, fake: FakeAPI, screenshot: Any
) -> None:
    _notebook, panel = lab_panel()
    panel.model.fill("gpt-image-2")
    panel.model.press("Enter")
    panel.unfold()  # previews are opt-in: turned on under "More options"
    panel.root.locator(".cw-partial-images select").select_option(label="2")
    fake.stream_interval = 1.0
    panel.type_prompt("a lighthouse in a storm")
    panel.generate()

    # A partial shows while the generation still runs (the final comes at 3 s).
    panel.wait_decoded(1, timeout=10_000)
    partial = panel.pixels()
    assert partial
    assert not panel.status.inner_text().lower().startswith("done")
    assert len(fake.stream_times) < 3  # the completed event has not been sent yet
    screenshot(panel.root, "streaming-partial.png")

    expect(panel.status).to_have_text(re.compile(r"^done", re.I), timeout=20_000)
    panel.wait_decoded(1)
    final = panel.pixels()
    assert final != partial
    request = next(r for r in fake.requests if r.path.endswith("/images/generations"))
    assert request.json["stream"] is True
    assert request.json["partial_images"] == 2
    assert len(fake.stream_times) == 3
    assert partial != panel.pixels()
