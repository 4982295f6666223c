"""``widen_reads``: the client's pools read up to READ_SIZE bytes per socket read."""

from __future__ import annotations

import httpx

from comet_widgets import AsyncImageClient
from comet_widgets.client._transport import READ_SIZE, _WideReads, _WideStream, widen_reads


async def test_the_clients_own_pool_is_widened_once() -> None:
    async with AsyncImageClient(api_key="sk-test", base_url="http://127.0.0.1:9/v1") as client:
        http = client._ensure_open()
        backend = http._transport._pool._network_backend  # type: ignore[attr-defined]
        assert isinstance(backend, _WideReads)
        assert widen_reads(http) == 0  # already wide: not wrapped twice


async def test_an_injected_client_is_left_alone() -> None:
    async with httpx.AsyncClient() as http:
        before = http._transport._pool._network_backend  # type: ignore[attr-defined]
        async with AsyncImageClient(
            api_key="sk-test", base_url="http://127.0.0.1:9/v1", http_client=http
        ) as client:
            client._ensure_open()
        assert http._transport._pool._network_backend is before  # type: ignore[attr-defined]


async def test_reads_ask_for_at_least_read_size() -> None:
    asked: list[int] = []

    class Inner:
        async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
            asked.append(max_bytes)
            return b"x"

    stream = _WideStream(Inner())  # type: ignore[arg-type]
    assert await stream.read(65536) == b"x"
    assert await stream.read(4 * READ_SIZE) == b"x"
    assert asked == [READ_SIZE, 4 * READ_SIZE]


def test_an_unknown_layout_changes_nothing() -> None:
    class Odd:
        def __init__(self) -> None:
            self._transport = object()
            self._mounts: dict[object, object] = {}

    assert widen_reads(Odd()) == 0  # type: ignore[arg-type]
