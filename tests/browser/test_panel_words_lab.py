"""Choices you can see and words for people, in JupyterLab (issue 23).

The Model list offers the current models first, then the deprecated and shut-down ones (their
status in the label), the key's live ones marked; picking a deprecated one says so under the
field. Size offers the model's presets, and "Custom…" a WxH box on a free-size model; both
reach the request. An error says one line; its facts (HTTP status, the request id) open under
"Details". No element of the panel has the title "null" or "undefined". Screenshots, light and
dark at 700 and 1400 px, with Details open, go to test-artifacts/browser/ (look at them).
"""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from playwright.sync_api import expect

from comet_widgets.testing import FakeAPI

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]  # see conftest: servers start

HEIGHT = 1000

_BAD_TITLES_JS = """root => Array.from(root.querySelectorAll('[title]'))
  .filter(e => ['null', 'undefined'].includes(e.getAttribute('title')))
  .map(e => e.tagName + '.' + e.className)"""


def _no_bad_titles(panel: Any) -> None:
    assert panel.root.evaluate(_BAD_TITLES_JS) == []


def _generations(fake: FakeAPI) -> list[Any]:
    return [r for r in fake.requests if r.path.endswith("/generations")]


def _generate(panel: Any, fake: FakeAPI, prompt: str) -> Any:
    """Generate; the request the fake received for it, once the run has ended."""
    before = len(_generations(fake))
    panel.type_prompt(prompt)
    panel.generate()
    deadline = time.monotonic() + 30
    while len(_generations(fake)) == before:
        assert time.monotonic() < deadline, "no request reached the fake"
        panel.page.wait_for_timeout(50)
    expect(panel.generate_button).to_be_visible(timeout=30_000)  # hidden while running
    expect(panel.status).to_have_text(re.compile(r"^(Done|Failed)"), timeout=30_000)
    return _generations(fake)[-1]


def test_model_and_size_choices_and_details(
    lab_panel: Any, fake: FakeAPI, whole_screenshot: Any
) -> None:
    notebook, panel = lab_panel(theme="light", viewport=(1400, HEIGHT))
    _no_bad_titles(panel)
    expect(panel.root.locator(".cw-model-status")).to_have_count(0)  # no chip repeating Model

    # The Model list: current models first, the key's live ones marked once its list is in.
    expect(panel.model.select.locator("option", has_text="✓ live").first).to_be_attached(
        timeout=15_000
    )
    labels = panel.model.labels()
    assert labels[0] == "gpt-image-2 · ✓ live", labels
    assert labels[-1] == "Other…"
    older = [label for label in labels if re.search(r" · (deprecated|shut down)", label)]
    assert older, labels
    first_older = labels.index(older[0])
    assert all(" · deprecated" not in x and " · shut down" not in x for x in labels[:first_older])

    # Pick a deprecated (here: shut-down) model: the notice under Model says what to use.
    dalle = next(label for label in older if label.startswith("dall-e-3"))
    panel.model.pick(dalle)
    expect(panel.model_notice).to_contain_text("dall-e-3 was retired by OpenAI")
    size = panel.size.locator("select")
    expect(size.locator("option")).to_have_text(["1024x1024", "1792x1024", "1024x1792"])
    size.select_option("1792x1024")
    request = _generate(panel, fake, "A lighthouse at dusk")
    assert (request.json["model"], request.json["size"]) == ("dall-e-3", "1792x1024")

    # A free-size model: dall-e-3's 1792x1024 is no preset of gpt-image-2 but a size it takes,
    # so it stays, shown in the WxH box ("Custom…"); a preset closes the box, "Custom…" opens it.
    panel.model.fill("gpt-image-2")
    custom = panel.root.locator(".cw-size-custom input")
    expect(custom).to_have_value("1792x1024")
    expect(custom).to_be_visible()
    size.select_option("1024x1024")
    expect(custom).to_be_hidden()
    size.select_option(label="Custom…")
    expect(custom).to_be_visible()
    custom.fill("1280x720")
    custom.press("Enter")
    expect(panel.root.locator(".cw-validation")).to_be_hidden()
    request = _generate(panel, fake, "A red bicycle against a blue wall")
    assert (request.json["model"], request.json["size"]) == ("gpt-image-2", "1280x720")
    # A size the model refuses: one line in the panel's labels, the rule behind Details.
    custom.fill("100x100")
    custom.press("Enter")
    validation = panel.root.locator(".cw-validation")
    expect(validation.locator(".cw-line")).to_have_text(
        "Size “100x100” is not accepted here. Change Size, then click Generate."
    )
    expect(panel.generate_button).to_be_disabled()
    validation.locator(".cw-details > summary").click()
    expect(validation.locator(".cw-details")).to_contain_text("Parameter: size")
    whole_screenshot(panel.root, "words-refused-size-light-1400.png")
    custom.fill("1280x720")
    custom.press("Enter")
    expect(validation).to_be_hidden()

    # "Other…": any id, typed in its box.
    panel.model.fill("my-gateway-model")
    expect(panel.model.other).to_have_value("my-gateway-model")
    expect(panel.model_notice).to_contain_text("my-gateway-model is not in your key's model list")
    panel.model.fill("gpt-image-2")
    expect(panel.model.other).to_be_hidden()

    # An error: one line; its facts behind Details, the request id among them.
    fake.fail_next(1, 401)
    request = _generate(panel, fake, "A paper boat")
    expect(panel.status).to_have_text("Failed")
    line = panel.error.locator(".cw-line")
    expect(line).to_have_count(1)
    expect(line).to_contain_text("The API did not accept the key.")
    assert "401" not in line.inner_text()
    rid = panel.error.locator(".cw-details .cw-rid")
    expect(rid).to_be_hidden()
    panel.error.locator(".cw-details > summary").click()
    expect(rid).to_be_visible()
    expect(rid).to_have_text(f"Request id: {request.request_id}")
    expect(panel.error.locator(".cw-details")).to_contain_text("HTTP 401")
    _no_bad_titles(panel)

    for theme in ("light", "dark"):
        notebook.set_theme(theme)
        for width in (700, 1400):
            notebook.page.set_viewport_size({"width": width, "height": HEIGHT})
            notebook.page.wait_for_timeout(300)
            whole_screenshot(panel.root, f"words-error-details-{theme}-{width}.png")
    notebook.set_theme("light")
