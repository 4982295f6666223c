"""The panel in JupyterLab 4, driven in headless Chromium as a person would use it.

Each test opens its own copy of panel.ipynb (the quickstart's public API: ``ImageGenerator()``
reading ``COMETAPI_KEY`` and ``COMETAPI_BASE_URL`` from the kernel's environment) and runs its
panel cell. The kernel talks to the fake API served from this pytest process, whose knobs
(latency, injected errors) the tests turn.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from comet_widgets.testing import FakeAPI
from comet_widgets.testing._bodies import REVISION

from .conftest import PANEL_CELL

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]  # see conftest: servers start

PRINT_CELL = 2
QUICKSTART = Path(__file__).resolve().parents[2] / "notebooks" / "01-quickstart.ipynb"


def generation_requests(fake: FakeAPI) -> list[Any]:
    """The generation requests the fake received (not the image downloads), oldest first."""
    return [r for r in fake.requests if r.path.endswith("/images/generations")]


def generate(panel: Any, prompt: str, *, images: int = 1) -> None:
    """Type ``prompt``, click Generate and wait for the images to show, decoded.

    The run has landed when its history card is there: until then the status line may still
    read the previous run's "Done", and the previous images (or a partial preview) are decoded
    thumbnails too."""
    runs = panel.history_items.count()
    panel.type_prompt(prompt)
    panel.generate()
    expect(panel.history_items).to_have_count(runs + 1)
    expect(panel.status).to_have_text(re.compile(r"^Done"))
    panel.wait_decoded(images)


def test_generate_shows_image_caption_and_done(lab_panel: Any, fake: FakeAPI) -> None:
    """Scenario 1: type a prompt, Generate: a decoded thumbnail, its caption, status done."""
    _notebook, panel = lab_panel()
    expect(panel.thumbs).to_have_count(0)

    prompt = "A paper boat on a calm lake"
    panel.type_prompt(prompt)
    panel.generate()

    expect(panel.status).to_have_text("Done: 1 image")
    panel.wait_decoded(1)
    assert all(width > 0 for width in panel.decoded_thumbs())
    # gpt-image-2 (the default model) does not rewrite the prompt: the caption is the prompt.
    expect(panel.captions.first).to_contain_text(prompt)
    expect(panel.error).to_be_hidden()
    expect(panel.model_notice).to_be_hidden()  # a current model: no notice

    [request] = generation_requests(fake)
    assert request.auth_ok, "the kernel did not send the key from its environment"
    assert request.json["prompt"] == prompt
    assert request.json["model"] == "gpt-image-2"


def test_model_switch_and_history(lab_panel: Any, fake: FakeAPI, screenshot: Any) -> None:
    """Scenario 2: dall-e-3 -> gpt-image-1 changes the sizes and hides the response format;
    both generations are in the history; choosing the first restores its prompt and image."""
    _notebook, panel = lab_panel()
    first, second = "A lighthouse at dusk", "A red bicycle against a blue wall"

    panel.model.fill("dall-e-3")
    expect(panel.model_notice).to_have_text(
        "dall-e-3 was retired by OpenAI on 2026-05-12; CometAPI may no longer route it;"
        " try gpt-image-2"
    )
    generate(panel, first)
    expect(panel.captions.first).to_contain_text(first + REVISION)
    first_image = panel.pixels()
    expect(panel.size.locator("option[value='1792x1024']")).to_have_count(1)
    panel.unfold()
    expect(panel.response_format).to_be_visible()

    panel.model.fill("gpt-image-1")
    expect(panel.size.locator("option[value='1536x1024']")).to_have_count(1)
    expect(panel.size.locator("option[value='1792x1024']")).to_have_count(0)
    assert "auto" in panel.size_choices()
    expect(panel.response_format).to_be_hidden()
    expect(panel.model_notice).to_contain_text("try gpt-image-2.5-sunburst or gpt-image-2.5-flare")

    generate(panel, second)
    expect(panel.captions.first).to_have_text(re.compile(rf"^{re.escape(second)}"))
    assert panel.pixels() not in ("", first_image), "the second image is not shown"
    # The history strip: newest first, the shown run marked.
    expect(panel.history_items).to_have_count(2)
    tips = [t for t in panel.history_picks.evaluate_all("bs => bs.map(b => b.title)")]
    assert tips[0].endswith(f" · gpt-image-1 · {second}"), tips
    assert tips[1].endswith(f" · dall-e-3 · {first}"), tips

    panel.history_picks.nth(1).click()
    expect(panel.prompt).to_have_value(first)
    panel.model.expect_model("dall-e-3")
    expect(panel.captions.first).to_contain_text(first + REVISION)
    expect(panel.response_format).to_be_visible()
    expect(panel.size.locator("option[value='1792x1024']")).to_have_count(1)
    panel.wait_decoded(1)
    panel.wait_pixels(first_image)

    generations = [r.json for r in generation_requests(fake)]
    assert [(g["model"], g["prompt"]) for g in generations] == [
        ("dall-e-3", first),
        ("gpt-image-1", second),
    ]
    assert "response_format" not in generations[1]
    path = screenshot(panel.root, "jupyterlab-panel-history.png")
    assert path.stat().st_size > 0


def test_errors_are_readable_and_rate_limits_wait(lab_panel: Any, fake: FakeAPI) -> None:
    """Scenario 3: a 401 shows a readable message with the request id; a 429 with
    Retry-After: 1 shows the wait, then the image; Generate works again afterwards."""
    _notebook, panel = lab_panel()

    fake.fail_next(1, 401)
    panel.type_prompt("A cat reading a newspaper")
    panel.generate()
    expect(panel.status).to_have_text("Failed")
    expect(panel.error).to_be_visible()
    [refused] = generation_requests(fake)
    assert refused.status == 401
    expect(panel.error).to_contain_text(refused.request_id)
    # Readable: what happened and what to do, in a sentence, not a traceback.
    text = panel.error.inner_text()
    assert "Traceback" not in text, text
    assert "COMETAPI_KEY" in text, text
    # The HTTP status is a fact behind Details (closed: not in the text a person sees).
    assert "401" not in text, text
    assert "HTTP 401" in (panel.error.locator(".cw-details").text_content() or "")
    expect(panel.thumbs).to_have_count(0)

    fake.fail_next(1, 429, headers={"Retry-After": "1"})
    panel.type_prompt("A dog reading a newspaper")
    panel.generate()
    # The wait is shown while it lasts, then the image lands.
    expect(panel.status).to_contain_text("retrying in 1 s")
    expect(panel.error).to_be_hidden()
    expect(panel.status).to_have_text(re.compile(r"^Done: 1 image after 1 retry"))
    panel.wait_decoded(1)
    requests = generation_requests(fake)
    assert [r.status for r in requests] == [401, 429, 200]
    limited, answered = requests[1], requests[2]
    assert limited.finished is not None
    waited = answered.started - limited.finished
    assert waited >= 0.9, f"Retry-After: 1 was not honoured (retried after {waited:.2f} s)"

    generate(panel, "A bird reading a newspaper")
    expect(panel.status).to_have_text("Done: 1 image")
    expect(panel.captions.first).to_contain_text("A bird reading a newspaper")
    assert fake.success_count == 2


def test_cancel_stops_the_generation(lab_panel: Any, fake: FakeAPI) -> None:
    """Scenario 4: with a slow API, Cancel reads "cancelled" within 1 s, no image lands, and
    the panel generates again afterwards."""
    _notebook, panel = lab_panel()
    fake.latency = 5.0

    panel.type_prompt("A very slow sunrise")
    panel.generate()
    expect(panel.status).to_have_text(re.compile(r"^Generating"))
    expect(panel.cancel_button).to_be_visible()
    _wait_for(lambda: fake.in_flight == 1, "the request to reach the fake")

    panel.cancel_button.click()
    # Cancelled while the fake still holds the answer (it would send it after 5 s).
    expect(panel.status).to_have_text("Cancelled", timeout=4_000)
    expect(panel.generate_button).to_be_visible()
    expect(panel.cancel_button).to_be_hidden()
    # The request was abandoned (the fake saw the client hang up), well before 5 s.
    _wait_for(lambda: fake.in_flight == 0, "the cancelled request to end", timeout=3.0)
    assert generation_requests(fake)[-1].status is None, "the cancelled request was answered"
    expect(panel.thumbs).to_have_count(0)
    expect(panel.status).to_have_text("Cancelled")

    fake.latency = 0.0
    generate(panel, "A quick sunset")
    expect(panel.status).to_have_text("Done: 1 image")


def test_kernel_stays_free_while_generating(lab_panel: Any, fake: FakeAPI) -> None:
    """Scenario 5: with a slow API, another cell runs and prints before the image arrives."""
    notebook, panel = lab_panel()
    fake.latency = 3.0

    panel.type_prompt("A snail crossing a road")
    panel.generate()
    expect(panel.status).to_have_text(re.compile(r"^Generating"))
    _wait_for(lambda: fake.in_flight == 1, "the request to reach the fake")
    notebook.run_cell(PRINT_CELL)
    expect(notebook.output(PRINT_CELL)).to_contain_text("the kernel is free: 42", timeout=2_500)
    # The print landed while the generation was still in flight.
    assert fake.in_flight == 1
    expect(panel.thumbs).to_have_count(0)
    expect(panel.status).to_have_text(re.compile(r"^Generating"))

    expect(panel.status).to_have_text("Done: 1 image", timeout=15_000)
    panel.wait_decoded(1)


def test_saved_notebook_does_not_contain_the_key(
    lab_panel: Any, fake: FakeAPI, secret_key: str
) -> None:
    """Scenario 6: after a generation, saving through JupyterLab writes no trace of the key."""
    notebook, panel = lab_panel()
    prompt = "A locked treasure chest"
    generate(panel, prompt)
    assert generation_requests(fake)[-1].auth_ok

    notebook.save()
    saved = notebook.path.read_text()
    assert secret_key not in saved
    # The save did write the panel (its view and, with saveState on, the widget state).
    document = json.loads(saved)
    state = document["metadata"]["widgets"]["application/vnd.jupyter.widget-state+json"]
    assert state["state"], "no widget state was saved"
    assert prompt in saved
    outputs = document["cells"][PANEL_CELL]["outputs"]
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)
    # The static view was replaced after the generation: the saved file shows its images
    # without widget state, and nbconvert's HTML too.
    [static] = [
        o for o in outputs if "cw-static" in "".join(o.get("data", {}).get("text/html", ""))
    ]
    assert "image/png" in static["data"], static["data"].keys()
    assert prompt in "".join(static["data"]["text/html"])
    import nbformat
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nbformat.reads(saved, as_version=4))
    assert "data:image/jpeg;base64," in body
    assert prompt in body
    # Nor did the key reach the browser.
    assert secret_key not in notebook.page.content()


def test_quickstart_runs_in_jupyterlab(lab_notebook: Any, panel_on: Any, fake: FakeAPI) -> None:
    """The quickstart itself, run-all-cells in JupyterLab: no error, and its panel shows the
    last generation (four images from code) with both generations in its history."""
    notebook = lab_notebook(QUICKSTART)
    notebook.run_all()
    last = notebook.cell(-1)
    expect(last.locator(".jp-OutputArea-output")).to_contain_text("saved:", timeout=45_000)
    notebook.wait_idle()
    # Errors (tracebacks) and warnings both render as stderr outputs: none at all.
    stderr = notebook.page.locator(".jp-OutputArea-output[data-mime-type$='stderr']")
    expect(stderr).to_have_count(0)

    panel = panel_on(notebook.page)
    expect(panel.status).to_have_text("Done: 4 images")
    panel.wait_decoded(4)
    expect(panel.history_items).to_have_count(2)
    assert [r.json["model"] for r in generation_requests(fake)] == ["gpt-image-2", "gpt-image-2"]
    assert all(r.auth_ok for r in generation_requests(fake))


def _wait_for(condition: Any, what: str, timeout: float = 10.0) -> None:
    """Poll a condition on the fake (in this process) until it holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.02)


def test_the_model_list_offers_the_keys_image_models(lab_panel: Any, fake: FakeAPI) -> None:
    """The panel fetches the key's model list in the background: the model box offers the
    catalogue's current models plus the key's image models (not its text models)."""
    fake.extra_models = ("flux-pro-1.1",)
    _notebook, panel = lab_panel()
    expect(panel.model.select.locator("option", has_text="flux-pro-1.1 · ✓ live")).to_have_count(1)
    values = [label.split(" · ")[0] for label in panel.model.labels()]
    assert values[0] == "gpt-image-2"
    assert "gpt-image-2.6-flare" in values
    assert "gpt-4o-mini" not in values  # a text model of the key: not offered
    assert any(r.path == "/v1/models" for r in fake.requests)
    # A model the key cannot use is marked; a typed unknown id still passes.
    panel.model.fill("gpt-image-3")
    expect(panel.model_notice).to_have_text(
        "gpt-image-3 is not in your key's model list; CometAPI may refuse it"
    )
    panel.type_prompt("a paper boat")
    expect(panel.generate_button).to_be_enabled()
