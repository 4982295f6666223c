"""The panel's model control: the key's live model list, fetched in the background; a failure
is said quietly and leaves the catalogue's list; the lifecycle notice and typos."""

from __future__ import annotations

import html

import httpx

from comet_widgets import AsyncImageClient, ImageGenerator
from comet_widgets._catalog import CURRENT
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
        model = _part(panel, "cw-model")
        _wait(lambda: "flux-pro-1.1" in model.options)  # type: ignore[attr-defined]
        options = tuple(model.options)  # type: ignore[attr-defined]
        assert options[: len(CURRENT)] == CURRENT
        assert "gpt-4o-mini" not in options
        panel.model = "dall-e-3"
        notice = html.unescape(_part(panel, "cw-model-notice").value)  # type: ignore[attr-defined]
        assert "dall-e-3 was retired by OpenAI on 2026-05-12" in notice
        assert "try gpt-image-2" in notice
        panel.model = "DALL-E-3"
        validation = html.unescape(_part(panel, "cw-validation").value)  # type: ignore[attr-defined]
        assert "did you mean 'dall-e-3'" in validation
    finally:
        panel.close()


def test_a_failed_list_is_said_quietly_and_keeps_the_catalogue() -> None:
    app = FakeAPI(api_key="the-right-key")
    panel = _panel(app, "a-wrong-key")
    try:
        note = _part(panel, "cw-model-list")
        _wait(lambda: note.layout.display != "none")  # type: ignore[attr-defined]
        text = html.unescape(note.value)  # type: ignore[attr-defined]
        assert "model list is unavailable" in text
        assert "HTTP 401" in text
        assert "a-wrong-key" not in text
        assert tuple(_part(panel, "cw-model").options) == CURRENT  # type: ignore[attr-defined]
        assert panel.status == "idle"  # the panel is not in error for it
    finally:
        panel.close()
    assert _loop.is_running()
