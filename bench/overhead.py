"""Benchmark 1: per-call overhead, one ~2 MB 1024x1024 PNG, zero server latency.

From the call to the decoded image bytes in hand, for ``b64_json`` (ours, the httpx baseline,
the openai SDK, and ours again on httpx's default transport: what ``client/_transport.py``
changes, measured in every run) and ``url`` mode (post + download: ours and the httpx
baseline). Calls are interleaved round-robin so that the machine's noise hits every client alike.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from typing import Any

from ._clients import MODEL, Call, open_clients
from ._common import FAKE_KEY, emit, fake_process, summary
from ._images import image_file


async def measure(
    base_url: str, *, calls: int, warmup: int, mode: str, names: tuple[str, ...]
) -> dict[str, Any]:
    """Milliseconds per call for each client: ``{name: summary}`` plus the bytes received."""
    async with contextlib.AsyncExitStack() as stack:
        clients = await open_clients(stack, base_url, mode=mode, names=names)
        if DEFAULT_TRANSPORT in names:
            clients[DEFAULT_TRANSPORT] = await _ours_on_httpx_transport(stack, base_url, mode)
        size = 0
        for call in clients.values():
            for _ in range(warmup):
                size = len((await call("warm up"))[0])
        samples: dict[str, list[float]] = {name: [] for name in clients}
        order = list(clients)
        for round_number in range(calls):
            # Rotate who goes first: a call right after another client's may find caches warm.
            shift = round_number % len(order)
            for name in order[shift:] + order[:shift]:
                started = time.perf_counter()
                images = await clients[name](f"a lighthouse, round {round_number}")
                samples[name].append((time.perf_counter() - started) * 1000)
                if len(images) != 1 or len(images[0]) != size:
                    raise RuntimeError(f"{name} returned {[len(i) for i in images]} bytes")
    return {"image_bytes": size, "ms": {name: summary(s) for name, s in samples.items()}}


DEFAULT_TRANSPORT = "ours-httpx-transport"


async def _ours_on_httpx_transport(
    stack: contextlib.AsyncExitStack, base_url: str, mode: str
) -> Call:
    """``ours`` given a plain ``httpx.AsyncClient`` (httpx's own transport, 64 KiB reads)."""
    import httpx

    from comet_widgets import AsyncImageClient

    http = await stack.enter_async_context(httpx.AsyncClient(timeout=httpx.Timeout(600.0)))
    client = await stack.enter_async_context(
        AsyncImageClient(api_key=FAKE_KEY, base_url=base_url, max_retries=0, http_client=http)
    )

    async def call(prompt: str) -> list[bytes]:
        generation = await client.generate(prompt, model=MODEL, response_format=mode)
        return [image.data for image in generation.images if image.data is not None]

    return call


def run(*, smoke: bool = False) -> dict[str, Any]:
    calls, warmup = (3, 1) if smoke else (300, 10)
    with fake_process(image_file()) as base_url:
        b64 = asyncio.run(
            measure(
                base_url,
                calls=calls,
                warmup=warmup,
                mode="b64_json",
                names=("ours", "httpx", "sdk", DEFAULT_TRANSPORT),
            )
        )
        url = asyncio.run(
            measure(base_url, calls=calls, warmup=warmup, mode="url", names=("ours", "httpx"))
        )
    return {"calls": calls, "b64_json": b64, "url": url}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true")
    emit(run(smoke=parser.parse_args().smoke))
