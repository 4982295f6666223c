"""What widgets send to the page, counted without a kernel (the bench and the widget tests).

With no kernel, ipywidgets gives every widget ``comm``'s ``DummyComm``, whose ``publish_msg``
drops each message (a widget opened, a state update, a close). Inside ``WidgetTraffic()`` that
method counts them instead, with their size as the kernel would send them: the JSON of the
message's data plus its binary buffers (images travel as buffers).
"""

from __future__ import annotations

import json
import threading
from typing import Any

from comm import DummyComm


class WidgetTraffic:
    """``with WidgetTraffic() as traffic:`` ... ``traffic.messages``, ``traffic.bytes``: what
    every widget sent meanwhile (from any thread; widgets built before count too)."""

    def __init__(self) -> None:
        self.messages = 0
        self.bytes = 0
        self._lock = threading.Lock()
        self._original = DummyComm.publish_msg

    def _record(self, data: Any, buffers: Any) -> None:
        size = len(json.dumps(data, separators=(",", ":"), default=str))
        size += sum(memoryview(buffer).nbytes for buffer in buffers or ())
        with self._lock:
            self.messages += 1
            self.bytes += size

    def __enter__(self) -> WidgetTraffic:
        record = self._record

        def publish_msg(
            comm: DummyComm,
            msg_type: str,
            data: Any = None,
            metadata: Any = None,
            buffers: Any = None,
            **keys: Any,
        ) -> None:
            record(data, buffers)

        DummyComm.publish_msg = publish_msg  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc_info: object) -> None:
        DummyComm.publish_msg = self._original  # type: ignore[method-assign]
