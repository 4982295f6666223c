"""The panel's core flow in Voilà (the notebook rendered as an app, no code cells shown)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from comet_widgets.testing import FakeAPI

pytestmark = pytest.mark.browser


def test_generate_in_voila(
    page: Any, voila_server: Any, panel_on: Any, fake: FakeAPI, secret_key: str
) -> None:
    """Scenario 1 in Voilà: a decoded thumbnail with its caption, status done."""
    page.goto(voila_server.page_url())
    panel = panel_on(page)
    # The first kernel start imports the package: generous.
    expect(panel.root).to_be_visible(timeout=45_000)
    expect(panel.status).to_have_text("Ready")
    # Voilà ran every cell; the code is hidden, the print's output is shown.
    expect(page.get_by_text("the kernel is free: 42")).to_be_visible()
    expect(page.get_by_text("from comet_widgets import")).to_have_count(0)

    prompt = "A hot-air balloon over a desert"
    panel.type_prompt(prompt)
    panel.generate()
    expect(panel.status).to_have_text("Done: 1 image")
    panel.wait_decoded(1)
    expect(panel.captions.first).to_contain_text(prompt)  # gpt-image-2 keeps the prompt
    expect(panel.error).to_be_hidden()

    generations = [r for r in fake.requests if r.path.endswith("/images/generations")]
    assert [(r.json["prompt"], r.auth_ok) for r in generations] == [(prompt, True)]
    assert re.search(re.escape(secret_key), page.content()) is None
