"""Wider socket reads for the client's own ``httpx.AsyncClient`` (a measured speed-up).

httpcore reads a response 64 KiB at a time; asyncio hands over up to 256 KiB per ``recv``, and
anyio then slices (and copies) each big chunk into 64 KiB pieces. A 2.9 MB base64 answer costs
~46 reads. Asking for up to 1 MiB per read lets each read take whatever has arrived: about a
fifth less time per 2 MB image call (bench/RESULTS.md). Nothing else changes: same sockets, TLS,
timeouts, proxies and errors; only the ``max_bytes`` of each read is raised.

httpx offers no public hook for httpcore's network backend, so ``widen_reads`` wraps the backend
of each connection pool the client built, when it finds one where httpx 0.27-0.28 keep it; on
any other layout it leaves the client as it is (still correct, just the default read size).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

__all__ = ["READ_SIZE", "widen_reads"]

#: Bytes asked for per socket read of a response.
READ_SIZE = 1024 * 1024


class _WideStream(httpcore.AsyncNetworkStream):
    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max(max_bytes, READ_SIZE), timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self._inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _WideStream(await self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _WideReads(httpcore.AsyncNetworkBackend):
    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_tcp(
            host, port, timeout=timeout, local_address=local_address, socket_options=socket_options
        )
        return _WideStream(stream)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._inner.connect_unix_socket(
            path, timeout=timeout, socket_options=socket_options
        )
        return _WideStream(stream)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def widen_reads(client: httpx.AsyncClient) -> int:
    """Make ``client``'s connection pools read up to ``READ_SIZE`` bytes at a time.

    Call it on a client this package built, before its first request. Returns how many pools
    were changed (0 when httpx keeps them elsewhere: the client then works as before).
    """
    transports = [getattr(client, "_transport", None)]
    transports += list(getattr(client, "_mounts", {}).values())
    changed = 0
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if isinstance(backend, httpcore.AsyncNetworkBackend) and not isinstance(
            backend, _WideReads
        ):
            pool._network_backend = _WideReads(backend)  # type: ignore[union-attr]
            changed += 1
    return changed
