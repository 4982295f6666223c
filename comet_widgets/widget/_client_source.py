"""Where the panel's client comes from: built by a factory, the offline fake, or the default.

Every client the panel builds is built on the private loop (``_loop``) and only ever used there:
an ``httpx`` connection pool belongs to the loop that opened it. Nothing here runs at import
time, and the API key is never read into anything but the client itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .._constants import API_KEY_ENV
from .._errors import key_from_env, missing_key
from ..client._client import AsyncImageClient
from ..testing import FAKE_API_KEY

if TYPE_CHECKING:
    from ..testing._offline import OfflineClient

__all__ = ["OFFLINE_BANNER", "ClientSource"]

OFFLINE_BANNER = (
    "Offline mode: images are local placeholders drawn by the fake API, not real generations."
)


@dataclass
class ClientSource:
    """Builds (once, on the private loop) and closes the panel's client."""

    factory: Callable[[], AsyncImageClient] | None = None
    offline: bool = False
    client: AsyncImageClient | None = field(default=None, init=False)
    _offline: OfflineClient | None = field(default=None, init=False)

    @property
    def needs_key(self) -> bool:
        """True when the panel will build a default client, which needs ``COMETAPI_KEY``."""
        return self.factory is None and not self.offline

    @property
    def serves_placeholders(self) -> bool:
        """True when the fake draws the images: offline mode, or a default client that would
        send the fake's key (``make demo`` points the kernels at the fake with it)."""
        return self.offline or (self.needs_key and key_from_env() == FAKE_API_KEY)

    def missing_key(self) -> str | None:
        """When the default client would have no key, the package's "no API key" message with
        how to give the panel a key (plain text; the panel escapes it), else None."""
        if not self.needs_key or key_from_env() is not None:
            return None
        text = missing_key(
            "before starting Jupyter, or in the notebook without writing the key into it:"
            f' import os, getpass; os.environ["{API_KEY_ENV}"] = getpass.getpass("CometAPI key: ").'
            " Or give it a client:"
            " ImageGenerator(client_factory=lambda: AsyncImageClient(api_key=...)),"
            " or try it offline: ImageGenerator(offline=True)."
        ).message
        return text[:1].upper() + text[1:]

    def get(self) -> AsyncImageClient:
        """The client, built on first call (call it on the private loop only)."""
        if self.client is None:
            if self.factory is not None:
                self.client = self.factory()
            elif self.offline:
                from ..testing._offline import OfflineClient

                self._offline = OfflineClient()
                self.client = self._offline.client
            else:
                self.client = AsyncImageClient()
        return self.client

    async def aclose(self) -> None:
        """Close the client this source built."""
        if self._offline is not None:
            await self._offline.aclose()
        elif self.client is not None:
            await self.client.aclose()
        self._offline = None
