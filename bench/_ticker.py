"""A 5 ms asyncio ticker: the longest gap between its wake-ups is how long the loop stalled."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator


class Ticker:
    """Measures the event loop's responsiveness while it runs (``max_gap_ms``, ``ticks``)."""

    def __init__(self, period: float = 0.005) -> None:
        self.period = period
        self.max_gap_ms = 0.0
        self.ticks = 0

    async def _run(self) -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(self.period)
            now = time.perf_counter()
            # The gap beyond the requested period is the stall.
            self.max_gap_ms = max(self.max_gap_ms, (now - last - self.period) * 1000)
            self.ticks += 1
            last = now

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[Ticker]:
        task = asyncio.create_task(self._run())
        await asyncio.sleep(0)
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
