"""The built documentation site in headless Chromium: the quickstart tutorial's page shows the
panel and its images from the widget state saved when the build ran the notebook on the fake.

The site is served from a loopback HTTP server; the page loads the widget manager from the site
itself (every request outside loopback is aborted), with no JupyterLab and no kernel.
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.docs, pytest.mark.timeout(900)]


@pytest.fixture
def site_url(built_site: Any) -> Iterator[str]:
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(built_site.html)
    )
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_the_quickstart_page_shows_the_panel_and_its_images(
    page: Any, site_url: str, screenshot: Any
) -> None:
    page.goto(f"{site_url}/tutorials/01-quickstart.html")
    panel = page.locator(".cw-panel").first
    expect(panel).to_be_visible(timeout=30_000)
    expect(panel.locator(".cw-badge")).to_have_text("Offline · fake API")
    expect(panel.locator(".cw-prompt").first).to_be_visible()
    expect(panel.locator(".cw-generate")).to_be_visible()
    # The saved run's thumbnails: decoded images with real pixels, not empty tiles.
    thumbs = panel.locator("img.cw-thumb:visible")
    expect(thumbs.first).to_be_visible(timeout=30_000)
    page.wait_for_function(
        """() => [...document.querySelectorAll('.cw-panel img.cw-thumb')]
               .some(img => img.complete && img.naturalWidth > 0)""",
        timeout=30_000,
    )
    widths = thumbs.evaluate_all("imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")
    assert widths, widths
    assert all(width > 0 for width in widths), widths
    expect(panel.locator(".cw-status")).to_contain_text("Done")
    screenshot(panel, "docs-quickstart-panel.png")
