"""Where the panel's client comes from: given, built by a factory, the offline fake, or the default.

Every client the panel builds is built on the private loop (``_loop``) and only ever used there:
an ``httpx`` connection pool belongs to the loop that opened it. Nothing here runs at import
time, and the API key is never read into anything but the client itself.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .._constants import API_KEY_ENV, FAKE_API_KEY, OFFLINE_ENV
from ..client._client import AsyncImageClient

__all__ = [
    "OFFLINE_BANNER",
    "ClientSource",
    "missing_key_notice",
    "offline_from_env",
]

OFFLINE_BANNER = (
    "Offline mode: images are local placeholders drawn by the fake API, not real generations."
)

_TRUTHY = frozenset({"1", "true", "yes", "on"})


def offline_from_env() -> bool:
    """Whether ``COMETAPI_OFFLINE`` asks for offline mode (1, true, yes or on)."""
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in _TRUTHY


def missing_key_notice() -> str:
    """How to give the panel a key (plain text; the panel escapes it)."""
    return (
        f"No API key: the {API_KEY_ENV} environment variable is not set. Set it before starting"
        " Jupyter, or in the notebook without writing the key into it:"
        ' import os, getpass; os.environ["COMETAPI_KEY"] = getpass.getpass("CometAPI key: ").'
        " Or pass a client: ImageGenerator(client=AsyncImageClient(api_key=...)),"
        " or try it offline: ImageGenerator(offline=True)."
    )


@dataclass
class ClientSource:
    """Builds (once, on the private loop) and closes the panel's client."""

    client: AsyncImageClient | None = None
    factory: Callable[[], AsyncImageClient] | None = None
    offline: bool = False
    _owned: bool = field(default=False, init=False)
    _http: Any = field(default=None, init=False)

    @property
    def needs_key(self) -> bool:
        """True when the panel will build a default client, which needs ``COMETAPI_KEY``."""
        return self.client is None and self.factory is None and not self.offline

    @property
    def serves_placeholders(self) -> bool:
        """True when the fake draws the images: offline mode, or a default client that would
        send the fake's key (``make demo`` points the kernels at the fake with it)."""
        return self.offline or (self.needs_key and os.environ.get(API_KEY_ENV) == FAKE_API_KEY)

    def missing_key(self) -> str | None:
        """The notice to show when the default client would have no key, else None."""
        if self.needs_key and not os.environ.get(API_KEY_ENV):
            return missing_key_notice()
        return None

    def get(self) -> AsyncImageClient:
        """The client, built on first call (call it on the private loop only)."""
        if self.client is None:
            if self.factory is not None:
                self.client = self.factory()
            elif self.offline:
                import httpx

                from ..testing import FAKE_API_KEY, IN_PROCESS_BASE_URL, fake_transport

                self._http = httpx.AsyncClient(transport=fake_transport())
                self.client = AsyncImageClient(
                    api_key=FAKE_API_KEY, base_url=IN_PROCESS_BASE_URL, http_client=self._http
                )
            else:
                self.client = AsyncImageClient()
            self._owned = True
        return self.client

    async def aclose(self) -> None:
        """Close what this source built (a client passed in by the user stays open)."""
        if self._owned and self.client is not None:
            await self.client.aclose()
        if self._http is not None:
            await self._http.aclose()
        self._http = None
