"""The fake's two transports: in-process (``httpx.ASGITransport``) and real loopback (uvicorn).

In-process is fast but ``ASGITransport`` buffers whole responses, so socket-level faults (a
connection closed mid-body, a trickling body) only behave like the real thing on loopback.
uvicorn is imported only by ``serve_fake``: it is the optional ``server`` extra.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from .._constants import SERVER_INSTALL
from .._errors import FakeServerError, MissingDependencyError
from ._app import FakeAPI
from ._asgi import InjectedDisconnect

__all__ = ["FakeServer", "fake_transport", "serve_fake"]

_STOP_TIMEOUT = 3.0


def fake_transport(app: FakeAPI | None = None) -> httpx.ASGITransport:
    """An httpx transport that calls ``app`` (a new ``FakeAPI`` when None) in-process.

    Use it with ``base_url=IN_PROCESS_BASE_URL``; the app is also ``transport.app``.
    """
    return httpx.ASGITransport(app=app if app is not None else FakeAPI())


@dataclass(frozen=True)
class FakeServer:
    """A fake API listening on loopback (see ``serve_fake``)."""

    app: FakeAPI
    host: str
    port: int

    @property
    def url(self) -> str:
        """The server's root, e.g. ``http://127.0.0.1:8765``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The API base URL to give a client, e.g. ``http://127.0.0.1:8765/v1``."""
        return f"{self.url}/v1"


class _QuietInjectedFaults(logging.Filter):
    """Drops uvicorn's traceback for connections the fake breaks on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, InjectedDisconnect)


@contextlib.contextmanager
def serve_fake(
    app: FakeAPI | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    startup_timeout: float = 10.0,
) -> Iterator[FakeServer]:
    """Run ``app`` (a new ``FakeAPI`` when None) with uvicorn in a daemon thread.

    ``port=0`` picks a free port. Yields a ``FakeServer``; leaving the block stops the server
    and joins the thread. The server has its own event loop, so this also works when called
    from a coroutine. Raises ``RuntimeError`` if the server cannot start (e.g. the port is in
    use) and ``MissingDependencyError`` without uvicorn (the ``server`` extra); the in-process
    ``fake_transport`` needs no extra.
    """
    try:
        import uvicorn
    except ImportError as exc:
        raise MissingDependencyError(
            "serving the fake API on a port (serve_fake, comet-images serve-fake)",
            "uvicorn",
            SERVER_INSTALL,
        ) from exc
    app = app if app is not None else FakeAPI()
    # Bind here rather than in uvicorn: a port in use raises in the caller (uvicorn would
    # sys.exit its thread) and the real port of port=0 is known at once.
    sock = _bind(host, port)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        lifespan="off",
        access_log=False,
        # Longer than a client's pool keeps an idle connection (httpx: 5 s), as gateways do
        # (nginx: 75 s). With uvicorn's 5 s both sides drop it at once, and a request sent
        # on it as the fake closes it fails unsent ("Server disconnected") and unretried.
        timeout_keep_alive=75,
        timeout_graceful_shutdown=2,
    )
    logger = logging.getLogger("uvicorn.error")  # after Config: it (re)configures loggers
    if not any(isinstance(f, _QuietInjectedFaults) for f in logger.filters):
        logger.addFilter(_QuietInjectedFaults())
    server: Any = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="comet-fake-api", daemon=True
    )
    try:
        thread.start()
        deadline = time.monotonic() + startup_timeout
        while not server.started:
            if not thread.is_alive():
                raise FakeServerError(f"the fake API could not start on {host}:{port}")
            if time.monotonic() > deadline:
                raise FakeServerError(f"the fake API did not start within {startup_timeout:g} s")
            time.sleep(0.005)
        yield FakeServer(app=app, host=host, port=int(sock.getsockname()[1]))
    finally:
        server.should_exit = True
        if thread.is_alive():
            thread.join(_STOP_TIMEOUT)
        if thread.is_alive():
            # Requests still being answered (a client that never hangs up): stop waiting for them.
            server.force_exit = True
            thread.join(_STOP_TIMEOUT)
        sock.close()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets whose proto says TCP, and an
    # accepted socket inherits it. With proto 0 Nagle stays on and every small answer waits
    # ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise FakeServerError(f"the fake API cannot listen on {host}:{port}: {exc}") from exc
    return sock
