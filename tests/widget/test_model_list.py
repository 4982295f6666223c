"""The panel's model control: the key's live model list, fetched in the background; a failure
is said quietly and leaves the catalogue's list; the lifecycle notice and typos."""

from __future__ import annotations

import html
import re
from typing import Any

import httpx

from comet_widgets import AsyncImageClient, ImageGenerator
from comet_widgets._catalog import CURRENT, MODELS
from comet_widgets.testing import IN_PROCESS_BASE_URL, FakeAPI, fake_transport
from comet_widgets.widget import _loop


def _part(panel: ImageGenerator, css: str) -> object:
    stack: list[object] = [panel]
    while stack:
        widget = stack.pop()
        if css in getattr(widget, "_dom_classes", ()):
            return widget
        stack.extend(getattr(widget, "children", ()))
    raise AssertionError(css)


def _panel(app: FakeAPI, key: str) -> ImageGenerator:
    def factory() -> AsyncImageClient:
        http = httpx.AsyncClient(transport=fake_transport(app))
        return AsyncImageClient(api_key=key, base_url=IN_PROCESS_BASE_URL, http_client=http)

    return ImageGenerator(client_factory=factory)


def _wait(predicate: object, timeout: float = 5.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.01)


def test_the_live_list_adds_the_keys_image_models() -> None:
    app = FakeAPI(serve_retired=False, extra_models=("flux-pro-1.1",))
    panel = _panel(app, "any-key")
    try:
        model: Any = _part(panel, "cw-model")
        _wait(lambda: "flux-pro-1.1" in dict(model.options).values())
        labels = dict(model.options)  # label -> value
        values = tuple(labels.values())
        assert values[: len(CURRENT)] == CURRENT  # current models first
        assert values[-1] == ""  # then "Other…", a box for any id
        assert "gpt-4o-mini" not in values
        # The key's models are marked live; a retired one the key lacks is not, and says so.
        assert labels["gpt-image-2 · ✓ live"] == "gpt-image-2"
        assert labels["flux-pro-1.1 · ✓ live"] == "flux-pro-1.1"
        assert labels["dall-e-3 · shut down"] == "dall-e-3"
        panel.model = "dall-e-3"
        notice = html.unescape(_part(panel, "cw-model-notice").value)  # type: ignore[attr-defined]
        assert "dall-e-3 was retired by OpenAI on 2026-05-12" in notice
        assert "try gpt-image-2" in notice
        panel.model = "DALL-E-3"
        validation = html.unescape(_part(panel, "cw-validation").value)  # type: ignore[attr-defined]
        assert "Did you mean dall-e-3?" in validation
    finally:
        panel.close()


def test_a_failed_list_is_said_quietly_and_keeps_the_catalogue() -> None:
    app = FakeAPI(api_key="the-right-key")
    panel = _panel(app, "a-wrong-key")
    try:
        note = _part(panel, "cw-model-list")
        _wait(lambda: note.layout.display != "none")  # type: ignore[attr-defined]
        text = html.unescape(note.value)  # type: ignore[attr-defined]
        assert "model list could not be loaded" in text
        assert "HTTP 401" in text  # behind Details
        assert "\n" not in re.sub("<details.*</details>", "", text)  # one line
        assert "a-wrong-key" not in text
        values = [value for _label, value in _part(panel, "cw-model").options]  # type: ignore[attr-defined]
        assert values == [*CURRENT, *(m for m in MODELS if m not in CURRENT), ""]
        assert panel.status == "idle"  # the panel is not in error for it
    finally:
        panel.close()
    assert _loop.is_running()
