"""Benchmark 7: time to first pixel of a streamed generation (partial previews).

The fake streams ``partial_images=2`` partial events and then the completed event, spaced
``interval`` seconds apart (1 s in a full run), each a 2 MB PNG (2.9 MB of base64), like a real
GPT image stream. For every partial event we take the time from the event being handed to the
server (``FakeAPI.stream_times``) to the partial's bytes being in the caller's hands:

- ``ours``: ``AsyncImageClient.generate(..., on_partial=...)`` calling ``on_partial`` (the event
  framed by httpx-sse, redacted, parsed, base64-decoded and sniffed);
- ``sdk``: ``openai.AsyncOpenAI().images.generate(stream=True)`` yielding the event, plus
  ``base64.b64decode`` of its ``b64_json`` (the SDK leaves decoding to the caller);
- ``panel``: an ``ImageGenerator``'s tile holding the partial's new thumbnail (the gallery's
  ``show_partial`` returned: the thumbnail made off the loop and set on the tile's image widget),
  in process (no browser).

The fake runs in a thread of this process (``serve_fake``), so both timestamps come from the
same clock; between events it is idle, so it does not compete with the client being measured.
Clients alternate, one generation at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import time
from typing import Any

from ._common import FAKE_KEY, emit, summary
from ._images import image_file

PARTIALS = 2
MODEL = "gpt-image-2"


async def _ours(base_url: str, app: Any, prompt: str) -> list[float]:
    from comet_widgets import AsyncImageClient

    arrived: list[float] = []
    async with AsyncImageClient(api_key=FAKE_KEY, base_url=base_url) as client:
        await client.generate("warm up", model=MODEL)
        app.stream_times.clear()
        generation = await client.generate(
            prompt,
            model=MODEL,
            partial_images=PARTIALS,
            on_partial=lambda partial: arrived.append(time.perf_counter()),
        )
    if not generation.ok or len(arrived) != PARTIALS:
        raise RuntimeError(f"ours: expected {PARTIALS} partials, got {len(arrived)}")
    return [got - sent for got, sent in zip(arrived, app.stream_times, strict=False)]


async def _sdk(base_url: str, app: Any, prompt: str) -> list[float]:
    import openai

    arrived: list[float] = []
    sdk = openai.AsyncOpenAI(api_key=FAKE_KEY, base_url=base_url, max_retries=0)
    try:
        await sdk.images.generate(model=MODEL, prompt="warm up")
        app.stream_times.clear()
        stream = await sdk.images.generate(
            model=MODEL, prompt=prompt, stream=True, partial_images=PARTIALS
        )
        async for event in stream:
            if event.type == "image_generation.partial_image":
                base64.b64decode(event.b64_json)
                arrived.append(time.perf_counter())
    finally:
        await sdk.close()
    if len(arrived) != PARTIALS:
        raise RuntimeError(f"sdk: expected {PARTIALS} partials, got {len(arrived)}")
    return [got - sent for got, sent in zip(arrived, app.stream_times, strict=False)]


async def _panel(base_url: str, app: Any, prompt: str) -> list[float]:
    from comet_widgets import AsyncImageClient, ImageGenerator

    arrived: list[float] = []
    panel = ImageGenerator(
        client_factory=lambda: AsyncImageClient(api_key=FAKE_KEY, base_url=base_url),
        model=MODEL,
        partial_images=PARTIALS,
        prompt="warm up",
    )
    try:
        await panel.generate()
        gallery = panel._gallery
        original = gallery.show_partial

        def timed(index: int, data: bytes, fmt: str) -> None:
            original(index, data, fmt)
            arrived.append(time.perf_counter())

        gallery.show_partial = timed  # type: ignore[method-assign]
        app.stream_times.clear()
        panel.prompt = prompt
        await panel.generate()
    finally:
        panel.close()
    if len(arrived) != PARTIALS:
        raise RuntimeError(f"panel: expected {PARTIALS} partials, got {len(arrived)}")
    return [got - sent for got, sent in zip(arrived, app.stream_times, strict=False)]


async def measure(base_url: str, app: Any, *, rounds: int) -> dict[str, Any]:
    clients = {"ours": _ours, "sdk": _sdk, "panel": _panel}
    every: dict[str, list[float]] = {name: [] for name in clients}
    first: dict[str, list[float]] = {name: [] for name in clients}
    order = list(clients)
    for number in range(rounds):
        for name in order if number % 2 == 0 else order[::-1]:
            delays = await clients[name](base_url, app, f"stream {number}")
            every[name] += [d * 1000 for d in delays]
            first[name].append(delays[0] * 1000)
    return {
        "rounds": rounds,
        "partials": PARTIALS,
        "interval_s": app.stream_interval,
        "event_bytes": len(base64.b64encode(app.image_bytes)),
        "first_partial_ms": {k: summary(v) for k, v in first.items()},
        "every_partial_ms": {k: summary(v) for k, v in every.items()},
    }


def run(*, smoke: bool = False) -> dict[str, Any]:
    from comet_widgets.testing import FakeAPI, serve_fake

    app = FakeAPI(image_bytes=image_file().read_bytes(), stream_interval=0.05 if smoke else 1.0)
    with serve_fake(app) as server:
        return asyncio.run(measure(server.base_url, app, rounds=1 if smoke else 10))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true")
    emit(run(smoke=parser.parse_args().smoke))
