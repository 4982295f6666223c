"""Offline mode's client: an ``AsyncImageClient`` wired to an in-process fake.

``comet-images --offline`` and ``ImageGenerator(offline=True)`` both build it here, so offline
means the same everywhere: the fake's key, its in-process base URL and transport, nothing on
the network, and closing the client closes the transport it was given.
"""

from __future__ import annotations

import httpx

from ..client._client import AsyncImageClient
from ._names import FAKE_API_KEY, IN_PROCESS_BASE_URL
from ._server import fake_transport

__all__ = ["OfflineClient"]


class OfflineClient:
    """An ``AsyncImageClient`` (``.client``) on a new in-process ``FakeAPI``, and its transport.

    ``async with OfflineClient() as client:`` closes both at the end; or keep the object and call
    ``aclose()``. Build it on the event loop that will use it.
    """

    def __init__(self) -> None:
        self._http = httpx.AsyncClient(transport=fake_transport())
        self.client = AsyncImageClient(
            api_key=FAKE_API_KEY, base_url=IN_PROCESS_BASE_URL, http_client=self._http
        )

    async def aclose(self) -> None:
        """Close the client, then the transport (the client does not close an injected one)."""
        try:
            await self.client.aclose()
        finally:
            await self._http.aclose()

    async def __aenter__(self) -> AsyncImageClient:
        return self.client

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
