"""How the client builds its HTTP machinery (no request is sent)."""

from __future__ import annotations

from comet_widgets import AsyncImageClient


def _ssl_context_of(client: AsyncImageClient) -> object:
    http = client._ensure_open()
    return http._transport._pool._ssl_context  # httpx 0.27-0.28 layout


async def test_clients_share_one_tls_context() -> None:
    # Building a TLS context loads the CA bundle (~48 ms): every new client (each panel, each
    # batch without a client) must reuse the process's one.
    first = AsyncImageClient(api_key="k", base_url="https://api.example.test/v1")
    second = AsyncImageClient(api_key="k", base_url="https://other.example.test/v1")
    try:
        assert _ssl_context_of(first) is _ssl_context_of(second)
        assert first._ensure_open() is not second._ensure_open()
    finally:
        await first.aclose()
        await second.aclose()
