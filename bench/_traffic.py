"""What widgets send to the page, counted without a kernel (the bench and the widget tests).

With no kernel, ipywidgets gives every widget ``comm``'s ``DummyComm``, whose ``publish_msg``
drops each message (a widget opened, a state update, a close). Inside ``WidgetTraffic()`` that
method counts them instead, with their size as the kernel would send them: the JSON of the
message's data plus its binary buffers (images travel as buffers).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from typing import Any

from comm import DummyComm


class WidgetTraffic:
    """``with WidgetTraffic() as traffic:`` ... ``traffic.messages``, ``traffic.bytes``: what
    every widget sent meanwhile (from any thread; widgets built before count too);
    ``traffic.besides(widgets)``: the same without what those widgets sent."""

    def __init__(self) -> None:
        self.messages = 0
        self.bytes = 0
        self._sent: list[tuple[str, int]] = []  # (the widget's comm id, the message's size)
        self._lock = threading.Lock()
        self._original = DummyComm.publish_msg

    def _record(self, comm: DummyComm, data: Any, buffers: Any) -> None:
        size = len(json.dumps(data, separators=(",", ":"), default=str))
        size += sum(memoryview(buffer).nbytes for buffer in buffers or ())
        with self._lock:
            self.messages += 1
            self.bytes += size
            self._sent.append((comm.comm_id, size))

    def besides(self, widgets: Iterable[Any]) -> tuple[int, int]:
        """``(messages, bytes)`` sent by the widgets other than ``widgets`` (e.g. those a
        timer updates, whose count depends on how long a run took)."""
        left_out = {widget.comm.comm_id for widget in widgets if widget.comm is not None}
        with self._lock:
            kept = [size for comm_id, size in self._sent if comm_id not in left_out]
        return len(kept), sum(kept)

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
            record(comm, data, buffers)

        DummyComm.publish_msg = publish_msg  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc_info: object) -> None:
        DummyComm.publish_msg = self._original  # type: ignore[method-assign]
