"""The panel in Voilà (the notebook rendered as an app, no code cells shown): the core flow,
and the states a person sees (header and badge, placeholders, lightbox, history strip)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from comet_widgets.testing import FakeAPI

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]  # see conftest: servers start


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


def test_voila_shows_the_panels_states(
    page: Any,
    voila_server: Any,
    panel_on: Any,
    fake: FakeAPI,
    screenshot: Any,
    whole_screenshot: Any,
) -> None:
    """Voilà renders the new states too: the header and its badge, placeholder tiles while a
    run is under way, the lightbox (in view, Previous/Next), and the history strip restoring a
    run."""
    page.goto(voila_server.page_url())
    panel = panel_on(page)
    expect(panel.root).to_be_visible(timeout=45_000)
    expect(panel.status).to_have_text("Ready")
    header = panel.root.locator(".cw-header")
    expect(header.locator(".cw-title")).to_have_text("Image generator")
    expect(header.locator(".cw-badge")).to_have_text(re.compile(r"^Local API · 127\.0\.0\.1:"))
    panel.model.expect_model("gpt-image-2")
    expect(header.locator(".cw-model-status")).to_have_count(0)  # the Model field says it

    n = panel.root.locator(".cw-n input")
    n.fill("3")
    n.press("Tab")
    expect(n).to_have_value("3")
    fake.latency = 1.5
    panel.type_prompt("Three lanterns on a river")
    panel.generate()
    expect(panel.root.locator(".cw-tile .cw-placeholder:visible")).to_have_count(3, timeout=1_000)
    expect(panel.status).to_have_text(re.compile(r"^Generating 3 images"))
    whole_screenshot(panel.root, "voila-running.png")
    expect(panel.status).to_have_text("Done: 3 images", timeout=20_000)
    panel.wait_decoded(3)
    expect(header.locator(".cw-badge")).to_have_text("Offline · fake API")
    first = panel.pixels(0)

    panel.root.locator(".cw-tile button.cw-full-size").nth(2).click()
    lightbox = panel.root.locator(".cw-lightbox")
    expect(lightbox).to_be_visible()
    expect(lightbox.locator(".cw-lightbox-count")).to_have_text("Image 3 of 3")
    expect(lightbox.locator(".cw-lightbox-close")).to_be_in_viewport()
    lightbox.locator("button.cw-lightbox-next").click()
    expect(lightbox.locator(".cw-lightbox-count")).to_have_text("Image 1 of 3")
    page.wait_for_timeout(300)  # let the image lay out before the screenshot
    screenshot(lightbox, "voila-lightbox.png")
    lightbox.locator("button.cw-lightbox-close").click()
    expect(lightbox).to_be_hidden()

    fake.latency = 0.0
    n.fill("1")
    n.press("Tab")
    panel.type_prompt("One lantern in the fog")
    panel.generate()
    expect(panel.status).to_have_text("Done: 1 image")
    panel.wait_decoded(1)
    expect(panel.history_items).to_have_count(2)
    panel.history_picks.nth(1).click()
    expect(panel.prompt).to_have_value("Three lanterns on a river")
    expect(n).to_have_value("3")
    panel.wait_decoded(3)
    panel.wait_pixels(first)
    whole_screenshot(panel.root, "voila-history.png")
