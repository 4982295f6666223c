"""How the client builds its HTTP machinery (no request is sent)."""

from __future__ import annotations

import asyncio
import warnings
from typing import Any

import httpx
import pytest

from comet_widgets import AsyncImageClient, InvalidParameterError
from comet_widgets.client._client import _shared_ssl_context
from comet_widgets.testing import FAKE_API_KEY, FakeAPI, FakeServer


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


# -- option names (README "The Python API": one name per idea) ------------------------------


async def _peak_in_flight(client: AsyncImageClient, fake: FakeAPI) -> int:
    fake.latency = 0.05
    async with client:
        await asyncio.gather(
            *(client.generate(f"capped {i}", model="dall-e-2", size="256x256") for i in range(4))
        )
    return fake.max_in_flight


async def test_concurrency_caps_requests_in_flight_without_a_warning(
    fake_server: FakeServer, fake: FakeAPI
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        client = AsyncImageClient(
            api_key=FAKE_API_KEY, base_url=fake_server.base_url, concurrency=2
        )
    assert await _peak_in_flight(client, fake) == 2


async def test_max_concurrency_still_works_and_warns_at_the_callers_line(
    fake_server: FakeServer, fake: FakeAPI
) -> None:
    with pytest.warns(
        DeprecationWarning, match=r"max_concurrency= is deprecated.*concurrency="
    ) as w:
        client = AsyncImageClient(
            api_key=FAKE_API_KEY, base_url=fake_server.base_url, max_concurrency=2
        )
    assert [warning.filename for warning in w] == [__file__]
    assert await _peak_in_flight(client, fake) == 2


def test_max_concurrency_none_is_still_the_old_name() -> None:
    with pytest.warns(DeprecationWarning, match="max_concurrency"):
        AsyncImageClient(api_key=FAKE_API_KEY, max_concurrency=None)


def test_both_names_at_once_are_refused() -> None:
    with pytest.raises(InvalidParameterError, match="pass only concurrency="):
        AsyncImageClient(api_key=FAKE_API_KEY, concurrency=2, max_concurrency=3)


def test_the_deprecated_name_is_checked_like_the_new_one() -> None:
    with (
        pytest.warns(DeprecationWarning, match="max_concurrency"),
        pytest.raises(InvalidParameterError) as info,
    ):
        AsyncImageClient(api_key=FAKE_API_KEY, max_concurrency=0)
    assert info.value.field == "concurrency"
