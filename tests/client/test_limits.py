"""RequestLimiter: concurrency cap, per-minute pacing and the shared 429 pause, on a fake clock."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from comet_widgets import InvalidParameterError
from comet_widgets.client._limits import RequestLimiter


class FakeTime:
    """A clock and a sleep; with ``advance=False`` sleep returns at once, like a test's no_sleep."""

    def __init__(self, *, advance: bool = True) -> None:
        self.now = 1000.0
        self.advance = advance
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        if self.advance:
            self.now += seconds
        await asyncio.sleep(0)

    def limiter(self, **options: float | int | None) -> RequestLimiter:
        return RequestLimiter(clock=self.clock, sleep=self.sleep, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "options", [{"concurrency": 0}, {"concurrency": -2}, {"requests_per_minute": 0}]
)
def test_invalid_settings_are_refused(options: dict[str, float]) -> None:
    with pytest.raises(InvalidParameterError, match="is not allowed"):
        RequestLimiter(**options)  # type: ignore[arg-type]


async def test_an_unlimited_limiter_never_sleeps() -> None:
    time = FakeTime()
    limiter = time.limiter()
    for _ in range(5):
        async with limiter.slot():
            pass
    assert time.sleeps == []


async def test_concurrency_cap_holds_across_tasks() -> None:
    limiter = RequestLimiter(concurrency=2)
    release = asyncio.Event()
    peak = inside = entered = 0

    async def job() -> None:
        nonlocal peak, inside, entered
        async with limiter.slot():
            entered += 1
            inside += 1
            peak = max(peak, inside)
            await release.wait()
            inside -= 1

    tasks = [asyncio.create_task(job()) for _ in range(5)]
    for _ in range(10):
        await asyncio.sleep(0)
    assert entered == 2  # the other three wait for a slot
    release.set()
    await asyncio.gather(*tasks)
    assert entered == 5
    assert peak == 2


async def test_requests_per_minute_spaces_the_starts() -> None:
    time = FakeTime()
    limiter = time.limiter(requests_per_minute=30)  # one every 2 s
    starts = []
    for _ in range(4):
        async with limiter.slot():
            starts.append(time.now)
    assert [b - a for a, b in itertools.pairwise(starts)] == [2.0, 2.0, 2.0]
    assert time.sleeps == [2.0, 2.0, 2.0]


async def test_pacing_does_not_sleep_when_requests_are_already_spaced() -> None:
    time = FakeTime()
    limiter = time.limiter(requests_per_minute=60)
    async with limiter.slot():
        pass
    time.now += 5
    async with limiter.slot():
        pass
    assert time.sleeps == []


async def test_pause_holds_the_next_request() -> None:
    time = FakeTime()
    limiter = time.limiter()
    limiter.pause(3)
    assert limiter.paused_for == 3
    async with limiter.slot():
        assert limiter.paused_for == 0
    assert time.sleeps == [3.0]


async def test_a_shorter_pause_does_not_shorten_a_longer_one() -> None:
    time = FakeTime()
    limiter = time.limiter()
    limiter.pause(5)
    limiter.pause(1)
    assert limiter.paused_for == 5


async def test_a_pause_is_waited_once_even_if_sleep_does_not_advance_the_clock() -> None:
    # The client injects a recording sleep in tests: the limiter must not spin on it.
    time = FakeTime(advance=False)
    limiter = time.limiter()
    limiter.pause(4)
    async with limiter.slot():
        pass
    assert time.sleeps == [4.0]


async def test_a_pause_extended_while_waiting_is_waited_for_too() -> None:
    time = FakeTime()
    limiter = time.limiter()
    limiter.pause(2)
    extended = False
    real_sleep = time.sleep

    async def sleep(seconds: float) -> None:
        nonlocal extended
        await real_sleep(seconds)
        if not extended:  # another request got a 429 meanwhile
            extended = True
            limiter.pause(3)

    limiter.sleep_with(sleep)
    async with limiter.slot():
        pass
    assert time.sleeps == [2.0, 3.0]


async def test_an_error_inside_the_block_releases_the_slot() -> None:
    limiter = RequestLimiter(concurrency=1)
    with pytest.raises(RuntimeError):
        async with limiter.slot():
            raise RuntimeError("boom")
    await asyncio.wait_for(_enter(limiter), timeout=1)  # would hang if the slot leaked


async def test_cancelling_a_waiting_request_releases_its_slot() -> None:
    time = FakeTime()
    limiter = RequestLimiter(concurrency=1, clock=time.clock)
    gate = asyncio.Event()

    async def stuck_sleep(seconds: float) -> None:
        await gate.wait()

    limiter.sleep_with(stuck_sleep)
    limiter.pause(10)
    task = asyncio.create_task(_enter(limiter))
    for _ in range(5):
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    time.now += 20  # the pause is over
    await asyncio.wait_for(_enter(limiter), timeout=1)


async def _enter(limiter: RequestLimiter) -> None:
    async with limiter.slot():
        pass
