"""An offline fake of CometAPI's image API, for tests, notebooks and demos.

``FakeAPI`` is a plain ASGI 3 app speaking the exact wire protocol of
``POST /v1/images/generations`` (and ``GET /v1/models``), plain JSON or streamed as server-sent
events (``stream: true``), with knobs that inject every fault a
client must survive. Two transports::

    app = FakeAPI()
    # in-process, fast
    http = httpx.AsyncClient(transport=fake_transport(app))  # base URL: IN_PROCESS_BASE_URL
    # real loopback sockets (uvicorn in a thread)
    with serve_fake(app) as server:
        ...  # server.base_url == "http://127.0.0.1:PORT/v1"

``python -m comet_widgets.testing --port 8765`` runs it standalone. Nothing here imports Jupyter.
"""

from __future__ import annotations

from typing import Final

from .._constants import FAKE_API_KEY as _FAKE_API_KEY
from ._app import FakeAPI
from ._asgi import RecordedRequest
from ._faults import MALFORM_KINDS, STREAM_BREAK_KINDS
from ._server import IN_PROCESS_BASE_URL, FakeServer, fake_transport, serve_fake

__all__ = [
    "FAKE_API_KEY",
    "IN_PROCESS_BASE_URL",
    "MALFORM_KINDS",
    "STREAM_BREAK_KINDS",
    "FakeAPI",
    "FakeServer",
    "RecordedRequest",
    "fake_transport",
    "serve_fake",
]

#: A key for talking to the fake (which accepts any non-empty key unless given one).
FAKE_API_KEY: Final = _FAKE_API_KEY

# Tracebacks and reprs name the public path (comet_widgets.testing.FakeAPI).
for _obj in (FakeAPI, FakeServer, RecordedRequest):
    _obj.__module__ = __name__
del _obj
