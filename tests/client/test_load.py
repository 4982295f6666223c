"""Load, cancellation and aclose() over real loopback sockets.

- 300 generations at concurrency 16 while the fake answers 10% 429s and 5% 503s: every one
  completes, in input order, with exactly one good answer per generation at the fake.
- Cancelling during a request, during URL downloads or during a retry wait leaves no task and
  no busy connection behind, and the next generation works at once.
- ``aclose()`` during in-flight requests ends them with ``ClientClosedError``.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from comet_widgets import AsyncImageClient, ClientClosedError, Generation
from comet_widgets.testing import FAKE_API_KEY, FakeAPI, FakeServer

GENERATIONS = "/v1/images/generations"
BUSY = "service unavailable, please try again later"

pytestmark = pytest.mark.load


@pytest.fixture
async def make_client(fake_server: FakeServer) -> AsyncIterator[Callable[..., AsyncImageClient]]:
    clients: list[AsyncImageClient] = []

    def make(**options: Any) -> AsyncImageClient:
        options.setdefault("sleep", _record)
        client = AsyncImageClient(api_key=FAKE_API_KEY, base_url=fake_server.base_url, **options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


async def _record(seconds: float) -> None:
    """A retry wait that takes no time (nothing in this file waits for real backoff)."""


async def small(
    client: AsyncImageClient, prompt: str = "a paper boat", **params: Any
) -> Generation:
    params = {"model": "dall-e-2", "size": "256x256", "response_format": "b64_json", **params}
    return await client.generate(prompt, **params)


async def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for a condition"
        await asyncio.sleep(0.005)


def other_tasks() -> set[asyncio.Task[Any]]:
    current = asyncio.current_task()
    return {task for task in asyncio.all_tasks() if task is not current and not task.done()}


async def assert_nothing_left_behind(client: AsyncImageClient, fake: FakeAPI) -> None:
    """No task left running and the fake sees every request end (no request left open)."""
    await wait_until(lambda: not other_tasks(), timeout=2)
    await wait_until(lambda: fake.in_flight == 0, timeout=3)


# -- load ---------------------------------------------------------------------------------------


@pytest.mark.slow
async def test_300_generations_at_concurrency_16_under_random_429_and_503(
    fake: FakeAPI, make_client: Callable[..., AsyncImageClient]
) -> None:
    sleeps: list[float] = []

    async def record(seconds: float) -> None:
        sleeps.append(seconds)

    # Eight retries: a generation fails only after nine faults in a row (0.15**9, about 4e-8).
    client = make_client(concurrency=16, max_retries=8, sleep=record)
    fake.fault_rates(rate_429=0.1, rate_503=0.05, seed=20261125)
    prompts = [f"boat number {i}" for i in range(300)]
    results = await asyncio.gather(*(small(client, prompt) for prompt in prompts))

    assert [generation.prompt for generation in results] == prompts  # input order
    assert all(generation.ok for generation in results)
    await wait_until(lambda: fake.in_flight == 0)
    generations = [r for r in fake.requests if r.path == GENERATIONS]
    good = Counter(r.json["prompt"] for r in generations if r.status == 200 and r.fault is None)
    assert good == Counter(prompts)  # exactly one good answer per generation, none lost
    faults = Counter(r.fault for r in generations if r.fault)
    assert faults["random:429"] > 10
    assert faults["random:503"] > 5
    assert len(generations) == 300 + sum(faults.values())  # every extra request was a fault
    assert fake.max_in_flight <= 16
    # Each generation's image is its own (the fake draws from the prompt): nothing swapped.
    assert len({generation.images[0].data for generation in results}) == 300
    # 429s carry "Retry-After: 0" (no wait); each 503 is followed by one backoff wait.
    assert len(sleeps) == faults["random:503"]
    assert all(0 < s <= 8 for s in sleeps)


# -- cancellation ---------------------------------------------------------------------------------


async def test_cancelling_during_a_request(
    fake: FakeAPI, make_client: Callable[..., AsyncImageClient]
) -> None:
    client = make_client()
    await small(client)  # a warm pool: the connection must be reusable after the cancel
    await wait_until(lambda: fake.in_flight == 0)
    fake.reset()
    fake.latency = 30
    task = asyncio.create_task(small(client))
    await wait_until(lambda: fake.generation_count == 1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await assert_nothing_left_behind(client, fake)
    fake.latency = 0
    assert (await small(client)).ok
    assert fake.generation_count == 2


async def test_cancelling_during_url_downloads(
    fake: FakeAPI, make_client: Callable[..., AsyncImageClient]
) -> None:
    client = make_client()
    fake.download_latency = 30
    task = asyncio.create_task(small(client, n=3, response_format="url"))
    await wait_until(lambda: fake.download_count == 3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await assert_nothing_left_behind(client, fake)
    await wait_until(lambda: all(r.finished is not None for r in fake.requests))
    fake.download_latency = 0
    generation = await small(client, n=2, response_format="url")
    assert generation.ok
    assert fake.generation_count == 2


@pytest.mark.parametrize(
    ("status", "headers"),
    [(503, {}), (429, {"Retry-After": "30"})],
    ids=["503-backoff", "429-retry-after"],
)
async def test_cancelling_during_a_retry_wait(
    fake: FakeAPI,
    make_client: Callable[..., AsyncImageClient],
    status: int,
    headers: dict[str, str],
) -> None:
    waiting = asyncio.Event()
    waits: list[float] = []
    block = True

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        if block:
            waiting.set()
            await asyncio.Event().wait()  # a retry wait that only a cancel ends

    client = make_client(sleep=sleep)
    fake.fail_next(1, status, message=BUSY, headers=headers)
    task = asyncio.create_task(small(client))
    await asyncio.wait_for(waiting.wait(), timeout=5)
    assert fake.generation_count == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await assert_nothing_left_behind(client, fake)
    block = False
    assert (await small(client)).ok
    assert fake.generation_count == 2  # the cancelled generation was not sent again
    if status == 429:
        # The server's pause still holds for the client's other requests: the next one waits
        # out what is left of it (recorded, not slept here).
        assert len(waits) == 2
        assert 29 < waits[1] <= 30
    else:
        assert len(waits) == 1


async def test_cancelling_one_of_many_leaves_the_others_alone(
    fake: FakeAPI, make_client: Callable[..., AsyncImageClient]
) -> None:
    client = make_client(concurrency=2)
    fake.latency = 0.3
    tasks = [asyncio.create_task(small(client, f"boat {i}")) for i in range(4)]
    await wait_until(lambda: fake.in_flight == 2)
    tasks[0].cancel()
    done = await asyncio.gather(*tasks, return_exceptions=True)
    assert isinstance(done[0], asyncio.CancelledError)
    assert [g.prompt for g in done[1:] if isinstance(g, Generation)] == [
        "boat 1",
        "boat 2",
        "boat 3",
    ]
    await assert_nothing_left_behind(client, fake)


# -- aclose() -------------------------------------------------------------------------------------


async def _started_then_closed(
    client: AsyncImageClient, fake: FakeAPI, started: Callable[[], bool], *calls: Awaitable[Any]
) -> list[BaseException | Any]:
    tasks = [asyncio.ensure_future(call) for call in calls]
    await wait_until(started)
    await client.aclose()
    # The calls end with aclose(), not when the fake would answer them (it holds them for 30 s).
    results = await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 10)
    return results


async def test_aclose_ends_requests_in_flight_with_a_clear_error(
    fake: FakeAPI, make_client: Callable[..., AsyncImageClient]
) -> None:
    client = make_client()
    fake.latency = 30
    results = await _started_then_closed(
        client,
        fake,
        lambda: fake.in_flight == 3,
        *(small(client, f"boat {i}") for i in range(3)),
    )
    for result in results:
        assert isinstance(result, ClientClosedError), repr(result)
        assert "closed (aclose()) while this request was in flight" in str(result)
        assert "create a new AsyncImageClient" in str(result)
    assert client.closed
    await wait_until(lambda: not other_tasks(), timeout=2)
    await wait_until(lambda: fake.in_flight == 0, timeout=3)
    with pytest.raises(ClientClosedError, match="is closed"):
        await small(client)
    assert fake.generation_count == 3


async def test_aclose_during_url_downloads(
    fake: FakeAPI, make_client: Callable[..., AsyncImageClient]
) -> None:
    client = make_client()
    fake.download_latency = 30
    [result] = await _started_then_closed(
        client,
        fake,
        lambda: fake.download_count == 2,
        small(client, n=2, response_format="url"),
    )
    assert isinstance(result, ClientClosedError), repr(result)
    await wait_until(lambda: not other_tasks(), timeout=2)


async def test_a_task_ended_by_aclose_is_not_left_cancelling(
    fake: FakeAPI, make_client: Callable[..., AsyncImageClient]
) -> None:
    """The CancelledError aclose() uses is turned into an error and the cancel withdrawn, so
    the task can go on (e.g. report the error, or use another client)."""
    client = make_client()
    fake.latency = 30
    after: list[int] = []

    async def caller() -> str:
        try:
            await small(client)
        except ClientClosedError:
            task = asyncio.current_task()
            assert task is not None
            after.append(getattr(task, "cancelling", lambda: 0)())  # Python 3.11+
            await asyncio.sleep(0.01)  # would raise CancelledError if a cancel were pending
        return "carried on"

    task = asyncio.create_task(caller())
    await wait_until(lambda: fake.in_flight == 1)
    await client.aclose()
    assert await task == "carried on"
    assert after == [0]
