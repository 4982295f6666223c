"""A batch obeys its client: the client's own limits and injected sleep apply to every request of
``generate_many``; a batch's ``concurrency`` / ``requests_per_minute`` can only tighten them."""

from __future__ import annotations

from comet_widgets import AsyncImageClient, generate_many
from comet_widgets.testing import FAKE_API_KEY, FakeAPI, FakeServer

CHEAP = {"model": "dall-e-2", "size": "256x256"}


async def test_the_clients_limits_pace_a_batch(fake_server: FakeServer, fake: FakeAPI) -> None:
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    fake.latency = 0.05
    async with AsyncImageClient(
        api_key=FAKE_API_KEY,
        base_url=fake_server.base_url,
        requests_per_minute=6,
        concurrency=1,
        sleep=record,
    ) as client:
        results = await generate_many(
            [f"paced {i}" for i in range(4)], client=client, **CHEAP, concurrency=4
        )
    assert all(item.ok for item in results)
    assert fake.max_in_flight == 1, "the client's concurrency=1 holds within the batch"
    # Six per minute: each request after the first waits its 10 s turn (with the injected sleep).
    assert len([w for w in waits if w > 5]) >= 3, waits


async def test_a_429_in_a_batch_waits_with_the_clients_sleep(
    fake_server: FakeServer, fake: FakeAPI
) -> None:
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    fake.fail_next(1, 429, headers={"Retry-After": "30"})
    async with AsyncImageClient(
        api_key=FAKE_API_KEY, base_url=fake_server.base_url, sleep=record
    ) as client:
        results = await generate_many(["one", "two"], client=client, **CHEAP, concurrency=1)
    assert all(item.ok for item in results)
    # The wait went through the client's sleep (recorded here), not a real 30 s sleep.
    assert any(abs(w - 30) < 1 for w in waits), waits


async def test_a_batchs_own_limits_only_tighten(fake_server: FakeServer, fake: FakeAPI) -> None:
    fake.latency = 0.1
    async with AsyncImageClient(
        api_key=FAKE_API_KEY, base_url=fake_server.base_url, concurrency=8
    ) as client:
        await generate_many([f"tight {i}" for i in range(6)], client=client, **CHEAP, concurrency=2)
    assert fake.max_in_flight == 2
