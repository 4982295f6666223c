"""How the client builds its HTTP machinery (no request is sent)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from comet_widgets import AsyncImageClient
from comet_widgets.client._client import _shared_ssl_context


async def test_clients_share_one_tls_context(monkeypatch: pytest.MonkeyPatch) -> None:
    # Building a TLS context loads the CA bundle (~48 ms): every new client (each panel, each
    # batch without a client) must reuse the process's one.
    built: list[object] = []
    real = httpx.create_ssl_context

    def counting(*args: Any, **kwargs: Any) -> Any:
        built.append(real(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(httpx, "create_ssl_context", counting)
    _shared_ssl_context.cache_clear()
    first = AsyncImageClient(api_key="k", base_url="https://api.example.test/v1")
    second = AsyncImageClient(api_key="k", base_url="https://other.example.test/v1")
    try:
        assert first._ensure_open() is not second._ensure_open()
        assert len(built) == 1
    finally:
        await first.aclose()
        await second.aclose()
        _shared_ssl_context.cache_clear()


def test_default_timeouts_are_the_readmes() -> None:
    # docs/errors.md "Retries and timeouts": connect 10 s, read 10 minutes, write 60 s, pool 1 hour.
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
