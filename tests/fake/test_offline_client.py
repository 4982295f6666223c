"""Offline mode's client (``--offline``, ``ImageGenerator(offline=True)``): the in-process fake,
no key and no network needed, and closing it closes what it opened."""

from __future__ import annotations

import pytest

from comet_widgets import ClientClosedError
from comet_widgets.testing import IN_PROCESS_BASE_URL
from comet_widgets.testing._offline import OfflineClient


async def test_it_generates_with_no_key_and_closes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COMETAPI_KEY", raising=False)
    monkeypatch.setenv("COMETAPI_BASE_URL", "http://127.0.0.1:9/v1")  # never used
    async with OfflineClient() as client:
        generation = await client.generate("a paper boat", model="dall-e-2", size="256x256")
        assert generation.ok
        assert generation.images[0].format == "png"
        assert client.base_url == IN_PROCESS_BASE_URL
    assert client.closed
    with pytest.raises(ClientClosedError):
        await client.generate("again", model="dall-e-2", size="256x256")


async def test_aclose_without_a_block() -> None:
    offline = OfflineClient()
    await offline.aclose()
    assert offline.client.closed
