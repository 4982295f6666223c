"""An offline fake of CometAPI's image API, for tests, notebooks and demos.

``FakeAPI`` is a plain ASGI 3 app speaking the exact wire protocol of
``POST /v1/images/generations``, ``POST /v1/images/edits`` and ``GET /v1/models``, plain JSON or
streamed as server-sent events (``stream: true``), with knobs that inject every fault a client
must survive. Two transports::

    app = FakeAPI()
    # in-process, fast
    http = httpx.AsyncClient(transport=fake_transport(app))  # base URL: IN_PROCESS_BASE_URL
    # real loopback sockets (uvicorn in a thread)
    with serve_fake(app) as server:
        ...  # server.base_url == "http://127.0.0.1:PORT/v1"

``python -m comet_widgets.testing --port 8765`` runs it standalone. Nothing here imports Jupyter.

The fake's own names (its key, its in-process address, its request ids' prefix) live here, not
in the package's production modules; importing them loads none of the fake (the rest loads on
first use), so the panel can recognise the fake cheaply.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._names import FAKE_API_KEY, IN_PROCESS_BASE_URL, REQUEST_ID_PREFIX

if TYPE_CHECKING:
    from ._app import FakeAPI
    from ._asgi import RecordedRequest
    from ._faults import MALFORM_KINDS, STREAM_BREAK_KINDS
    from ._server import FakeServer, fake_transport, serve_fake

__all__ = [
    "FAKE_API_KEY",
    "IN_PROCESS_BASE_URL",
    "MALFORM_KINDS",
    "REQUEST_ID_PREFIX",
    "STREAM_BREAK_KINDS",
    "FakeAPI",
    "FakeServer",
    "RecordedRequest",
    "fake_transport",
    "serve_fake",
]

_LAZY = {
    "FakeAPI": "._app",
    "RecordedRequest": "._asgi",
    "MALFORM_KINDS": "._faults",
    "STREAM_BREAK_KINDS": "._faults",
    "FakeServer": "._server",
    "fake_transport": "._server",
    "serve_fake": "._server",
}


def __getattr__(name: str) -> Any:
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(where, __name__), name)
    if isinstance(value, type):
        value.__module__ = __name__  # tracebacks and reprs name the public path
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
