"""One place for request pacing: a concurrency cap, a per-minute rate and a shared pause.

A ``RequestLimiter`` is shared by every request of a client (or of a batch): the concurrency cap
and the requests-per-minute pacing apply across all of them, and a 429 answer pauses them all
(``pause``), so a rate limit slows the whole batch instead of each item hammering on alone.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from .._errors import InvalidParameterError

__all__ = ["RequestLimiter", "check_number"]


def check_number(
    name: str, value: object, *, whole: bool, minimum: float, above: bool = False
) -> None:
    """Refuse a numeric client option of the wrong type or range (bools, strings, NaN,
    infinities, fractions where a whole number is needed), naming option, value and range."""
    kind = "a whole number" if whole else "a number"
    bound = f"above {minimum:g}" if above else f"{minimum:g} or more"
    ok = not isinstance(value, bool) and isinstance(value, int if whole else (int, float))
    if ok:
        assert isinstance(value, (int, float))
        ok = math.isfinite(value) and (value > minimum if above else value >= minimum)
    if not ok:
        raise InvalidParameterError(
            name, value, f"use {kind} {bound}", reason=f"{name}={value!r} is not allowed"
        )


class RequestLimiter:
    """Concurrency cap + requests-per-minute pacing + a pause that 429 answers extend."""

    def __init__(
        self,
        *,
        concurrency: int | None = None,
        requests_per_minute: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if concurrency is not None:
            check_number("concurrency", concurrency, whole=True, minimum=1)
        if requests_per_minute is not None:
            check_number(
                "requests_per_minute", requests_per_minute, whole=False, minimum=0, above=True
            )
        self.concurrency = concurrency
        self.requests_per_minute = requests_per_minute
        self._clock = clock
        self._sleep = sleep
        self._semaphore: asyncio.Semaphore | None = None
        self._next_start = 0.0
        self._paused_until = 0.0
        self._served_until = 0.0

    def sleep_with(self, sleep: Callable[[float], Awaitable[None]]) -> None:
        """Wait with ``sleep`` from now on (a batch's limiter takes its client's)."""
        self._sleep = sleep

    def pause(self, seconds: float) -> None:
        """Hold every request that has not started yet for ``seconds`` from now."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    @property
    def paused_for(self) -> float:
        """Seconds left of the current pause (0 when not paused)."""
        if self._paused_until <= self._served_until:
            return 0.0
        return max(0.0, self._paused_until - self._clock())

    async def _wait_turn(self) -> None:
        # A pause is over once one sleep for it has returned; wait again only if another 429
        # extended it meanwhile. (Going by the clock alone would wait again and again with an
        # injected sleep that takes no time, as the tests use.)
        while (wait := self.paused_for) > 0:
            until = self._paused_until
            await self._sleep(wait)
            self._served_until = max(self._served_until, until)
        if self.requests_per_minute:
            now = self._clock()
            start = max(now, self._next_start)
            self._next_start = start + 60.0 / self.requests_per_minute
            if start > now:
                await self._sleep(start - now)

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Wait for a turn (pause, rate, concurrency), hold it for the block."""
        if self.concurrency is not None and self._semaphore is None:
            self._semaphore = asyncio.Semaphore(self.concurrency)
        if self._semaphore is not None:
            await self._semaphore.acquire()
        try:
            await self._wait_turn()
            yield
        finally:
            if self._semaphore is not None:
                self._semaphore.release()
