"""The header's badge says where images come from; the static view follows the latest run."""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from PIL import Image
from widget_parts import text

from comet_widgets import AsyncImageClient, ImageGenerator
from comet_widgets.testing import FakeAPI, serve_fake
from comet_widgets.widget._header import badge_of
from comet_widgets.widget._static import StaticView


def _badge(panel: ImageGenerator, part: Any) -> tuple[set[str], str]:
    badge = part(panel, "cw-badge")
    classes = {c for c in badge._dom_classes if c in ("cw-offline", "cw-online", "cw-local")}
    return classes, text(panel, "cw-badge")


def test_badge_names_offline_local_and_online() -> None:
    assert badge_of(offline=True, base_url=None)[:2] == ("cw-offline", "Offline · fake API")
    css, words, tip = badge_of(offline=False, base_url="http://127.0.0.1:8123/v1")
    assert (css, words) == ("cw-local", "Local API · 127.0.0.1:8123")
    assert "http://127.0.0.1:8123/v1" in tip
    css, words, _tip = badge_of(offline=False, base_url="https://api.cometapi.com/v1")
    assert (css, words) == ("cw-online", "Online · api.cometapi.com")


def test_offline_panel_shows_the_offline_badge_and_banner(
    monkeypatch: pytest.MonkeyPatch, part: Any
) -> None:
    monkeypatch.delenv("COMETAPI_KEY", raising=False)
    panel = ImageGenerator(offline=True)
    try:
        assert _badge(panel, part) == ({"cw-offline"}, "Offline · fake API")
        assert part(panel, "cw-offline-banner").layout.display != "none"
    finally:
        panel.close()


@pytest.mark.slow
async def test_a_loopback_api_is_local_until_its_answers_prove_it_is_the_fake(
    part: Any, wait_until: Any
) -> None:
    """A real (non-fake) server would keep "Local API"; the fake's ``fake-`` request ids turn
    the badge to "Offline" as soon as its first answer lands."""
    with serve_fake(FakeAPI()) as server:
        panel = ImageGenerator(
            client_factory=lambda: AsyncImageClient(
                api_key="sk-test", base_url=server.base_url, max_retries=0
            ),
            prompt="A paper boat",
        )
        try:
            wait_until(lambda: _badge(panel, part)[0] == {"cw-local"})
            classes, words = _badge(panel, part)
            assert classes == {"cw-local"}
            assert words.startswith("Local API · 127.0.0.1:")
            assert part(panel, "cw-offline-banner").layout.display == "none"
            generation = await panel.generate()
            assert generation.request_id is not None
            assert generation.request_id.startswith("fake-")
            assert _badge(panel, part) == ({"cw-offline"}, "Offline · fake API")
            assert part(panel, "cw-offline-banner").layout.display != "none"
        finally:
            panel.close()


def test_a_factory_built_client_names_its_address_before_any_generation(
    part: Any, wait_until: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The panel cannot know a factory's address until it has called it; it does so in the
    background right away (for the model list), and the badge follows, not the default host."""
    monkeypatch.delenv("COMETAPI_BASE_URL", raising=False)
    with serve_fake(FakeAPI()) as server:
        panel = ImageGenerator(
            client_factory=lambda: AsyncImageClient(api_key="sk-test", base_url=server.base_url)
        )
        try:
            host = server.base_url.split("//")[1].split("/")[0]
            wait_until(lambda: _badge(panel, part) == ({"cw-local"}, f"Local API · {host}"))
            assert panel.history == []
        finally:
            panel.close()


def _sheet(width: int, height: int) -> Image.Image:
    return Image.new("RGB", (width, height), (200, 60, 40))


def test_the_static_view_is_replaced_through_its_display_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Displayed once, then every update replaces that output (``update_display`` with the
    same ``display_id``): a PNG and HTML of the latest run, hidden where the live panel is."""
    import IPython.display

    calls: list[tuple[str, dict[str, Any], str]] = []
    monkeypatch.setattr(
        IPython.display, "display", lambda b, raw, display_id: calls.append(("show", b, display_id))
    )
    monkeypatch.setattr(
        IPython.display,
        "update_display",
        lambda b, raw, display_id: calls.append(("update", b, display_id)),
    )
    view = StaticView("cw-id-test")
    view.update(_sheet(160, 160), ["not shown: nothing displayed yet"], "early")
    assert calls == []
    view.display()
    view.update(_sheet(320, 160), ["A red kite", "A blue whale"], "latest run: 2 images")
    view.update(_sheet(160, 160), ["A green frog"], "latest run: 1 image")
    assert [(kind, display_id) for kind, _b, display_id in calls] == [
        ("show", "cw-id-test-static"),
        ("update", "cw-id-test-static"),
        ("update", "cw-id-test-static"),
    ]
    latest = calls[-1][1]
    assert set(latest) == {"text/plain", "text/html", "image/png"}
    sheet = Image.open(io.BytesIO(base64.b64decode(latest["image/png"])))
    assert (sheet.format, sheet.size) == ("PNG", (160, 160))
    assert "A green frog" in latest["text/html"]
    assert "A blue whale" not in latest["text/html"]
    assert "data:image/jpeg;base64," in latest["text/html"]
    # Hidden only where the live panel (its unique class) is on the page.
    assert "body:has(.cw-id-test) .static-cw-id-test { display: none; }" in latest["text/html"]
    assert latest["text/plain"] == "ImageGenerator: latest run: 1 image\n1. A green frog"
