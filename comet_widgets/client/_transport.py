"""The client's own httpx transport: httpx's usual stack, with wider socket reads and writes.

httpcore reads a response 64 KiB at a time, and anyio slices (and copies) each larger chunk that
asyncio received into 64 KiB pieces: a 2.9 MB base64 answer costs ~46 reads. An upload goes the
other way in whole parts (httpx hands each 4 MB file of a multipart body to the socket at once),
and asyncio copies whatever the socket did not take at once into its own buffer. This transport
reads up to ``READ_SIZE`` bytes per read (each read takes whatever has arrived) and writes big
buffers in ``WRITE_SIZE`` views (each mostly taken by the socket as it is, without that copy).
The figures are in bench/RESULTS.md ("What was changed").

Only public APIs: ``httpx.AsyncBaseTransport`` over ``httpcore.AsyncConnectionPool`` with a
``network_backend`` (both documented constructor arguments), wrapping httpcore's own
``AnyIOBackend``. Everything else is what ``httpx.AsyncHTTPTransport`` would do with the
client's defaults: the same TLS context and pool limits, HTTP/1.1 only, no connection
retries, and httpcore's errors raised as the matching httpx errors. When a proxy is
set in the environment, ``transport_for_env`` returns None and httpx builds its own transports
(with the proxies), as it would without this module.
"""

from __future__ import annotations

import contextlib
import inspect
import ssl
import urllib.request
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

import httpcore
import httpx

__all__ = ["READ_SIZE", "WRITE_SIZE", "PoolTransport", "transport_for_env"]

#: Bytes asked for per socket read of a response.
READ_SIZE = 1024 * 1024
#: The largest piece handed to the socket per write (bigger buffers go as views of this size).
WRITE_SIZE = 1024 * 1024

# Most specific first: the first match is raised.
_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


@contextlib.contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for source, target in _ERRORS:
            if isinstance(exc, source):
                raise target(str(exc)) from exc
        raise


class _WideStream(httpcore.AsyncNetworkStream):
    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max(max_bytes, READ_SIZE), timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if len(buffer) <= WRITE_SIZE:
            await self._inner.write(buffer, timeout)
            return
        view = memoryview(buffer)
        for start in range(0, len(view), WRITE_SIZE):
            # A view, not a slice: no copy. (The annotation says bytes; every stream
            # underneath takes any bytes-like object.)
            piece: Any = view[start : start + WRITE_SIZE]
            await self._inner.write(piece, timeout)

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


class _WideBackend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.AnyIOBackend()

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


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors():
            async for chunk in self._inner:
                yield chunk

    async def aclose(self) -> None:
        with _as_httpx_errors():
            await self._inner.aclose()


def _default_limits() -> httpx.Limits:
    """The pool limits ``httpx.AsyncHTTPTransport`` uses when given none (``httpx.Limits()``
    alone means no limit at all); httpx 0.27-0.28 say 100 connections, 20 kept alive."""
    default = inspect.signature(httpx.AsyncHTTPTransport).parameters["limits"].default
    if isinstance(default, httpx.Limits):
        return default
    return httpx.Limits(max_connections=100, max_keepalive_connections=20)  # pragma: no cover


class PoolTransport(httpx.AsyncBaseTransport):
    """``httpx.AsyncHTTPTransport(verify=ssl_context)`` with wider socket reads and writes."""

    def __init__(self, ssl_context: ssl.SSLContext) -> None:
        limits = _default_limits()
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True,
            http2=False,
            retries=0,
            network_backend=_WideBackend(),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not isinstance(request.stream, httpx.AsyncByteStream):  # pragma: no cover
            raise TypeError("an AsyncClient request has an async body stream")
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _as_httpx_errors():
            response = await self._pool.handle_async_request(core)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


def transport_for_env(ssl_context: ssl.SSLContext) -> PoolTransport | None:
    """The transport for a client built by this package, or None (let httpx build its own)
    when the environment sets a proxy: httpx only reads those when it builds the transports."""
    proxies = urllib.request.getproxies()
    if any(proxies.get(scheme) for scheme in ("http", "https", "all")):
        return None
    return PoolTransport(ssl_context)
