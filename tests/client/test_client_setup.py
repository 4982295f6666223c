"""How the client builds its HTTP machinery (no request is sent)."""

from __future__ import annotations

import httpx

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


def test_default_timeouts_are_the_readmes() -> None:
    # README "Retries and timeouts": connect 10 s, read 10 minutes, write 60 s, pool 1 hour.
    timeout = AsyncImageClient(api_key="k").timeout
    assert (timeout.connect, timeout.read, timeout.write, timeout.pool) == (10, 600, 60, 3600)


def test_a_number_sets_the_read_timeout_and_connects_stay_short() -> None:
    timeout = AsyncImageClient(api_key="k", timeout=120).timeout
    assert timeout.read == 120
    assert timeout.connect == 10
    assert AsyncImageClient(api_key="k", timeout=2).timeout.connect == 2


def test_an_httpx_timeout_is_used_as_given() -> None:
    given = httpx.Timeout(5, read=300)
    assert AsyncImageClient(api_key="k", timeout=given).timeout is given
