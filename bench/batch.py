"""Benchmark 2: batch efficiency, 64 generations at 200 ms server latency, concurrency 8.

Wall time over the ideal ``ceil(64 / 8) x 0.2 s``, for ``generate_many`` with our client, our
client alone, the httpx baseline and the openai SDK (each behind an ``asyncio.Semaphore``), and
two floors that only receive the bodies (through httpx, and through bare asyncio streams); with
tiny images and with ~2 MB images in ``b64_json``. Every client keeps the images it received, as
``generate_many`` does (fresh memory has a cost here). The fake runs in its own process. A 5 ms
ticker records the longest event-loop stall during each batch.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import time
from typing import Any

from ._clients import MODEL, open_clients
from ._common import FAKE_KEY, emit, fake_process, summary
from ._images import image_file
from ._ticker import Ticker


async def one_batch(
    base_url: str, name: str, *, items: int, concurrency: int, tag: str
) -> tuple[float, float]:
    """Wall seconds and the longest loop stall (ms) of one batch.

    Clients are built and warmed (one request) before the clock starts: building an
    ``httpx.AsyncClient`` loads the CA bundle (~48 ms), a one-off cost that is not the batch's.
    """
    from comet_widgets import AsyncImageClient, generate_many

    prompts = [f"batch {tag} item {i}: a harbour at dawn" for i in range(items)]
    async with contextlib.AsyncExitStack() as stack:
        if name == "ours":
            client = await stack.enter_async_context(
                AsyncImageClient(api_key=FAKE_KEY, base_url=base_url, max_retries=0)
            )
            await client.generate("warm up", model=MODEL, response_format="b64_json")
        else:
            client_name = "ours" if name == "ours-client" else name
            call = (await open_clients(stack, base_url, names=(client_name,)))[client_name]
            await call("warm up")
        gate = asyncio.Semaphore(concurrency)

        kept: list[list[bytes]] = []  # every client keeps its images, as generate_many does

        async def one(prompt: str) -> int:
            async with gate:
                images = await call(prompt)
            kept.append(images)
            return sum(len(data) for data in images)

        async with Ticker().running() as ticker:
            started = time.perf_counter()
            if name == "ours":
                results = await generate_many(
                    prompts,
                    client=client,
                    model=MODEL,
                    concurrency=concurrency,
                    response_format="b64_json",
                )
                failed = [item for item in results if not item.ok]
                if failed:
                    raise RuntimeError(f"{len(failed)} items failed: {failed[0]!r}")
                received = sum(len(image.data or b"") for image in results.images)
            else:
                received = sum(await asyncio.gather(*(one(p) for p in prompts)))
            wall = time.perf_counter() - started
    if received <= 0:
        raise RuntimeError(f"{name}: no image bytes received")
    return wall, ticker.max_gap_ms


#: ``ours`` is ``generate_many``; ``ours-client`` the same client behind a plain semaphore;
#: ``receive-only`` and ``raw-floor`` are floors: the transfer alone through httpx, and through
#: bare asyncio streams; nothing parsed or decoded.
CLIENTS = ("ours", "ours-client", "httpx", "sdk", "receive-only", "raw-floor")


def run(*, smoke: bool = False) -> dict[str, Any]:
    items, concurrency, latency, repeats = (4, 2, 0.02, 1) if smoke else (64, 8, 0.2, 5)
    ideal = math.ceil(items / concurrency) * latency
    out: dict[str, Any] = {
        "items": items,
        "concurrency": concurrency,
        "latency_s": latency,
        "ideal_s": ideal,
        "repeats": repeats,
        "payloads": {},
    }
    payloads = {"small": image_file(16), "2MB": image_file()}
    for label, path in payloads.items():
        walls: dict[str, list[float]] = {name: [] for name in CLIENTS}
        stalls: dict[str, list[float]] = {name: [] for name in walls}
        with fake_process(path, latency=latency) as base_url:
            for repeat in range(repeats):
                shift = repeat % len(CLIENTS)
                order = [*CLIENTS[shift:], *CLIENTS[:shift]]
                for name in order:
                    wall, stall = asyncio.run(
                        one_batch(
                            base_url,
                            name,
                            items=items,
                            concurrency=concurrency,
                            tag=f"{label}-{repeat}-{name}",
                        )
                    )
                    walls[name].append(wall / ideal)
                    stalls[name].append(stall)
        out["payloads"][label] = {
            "bytes": path.stat().st_size,
            "wall_over_ideal": {name: summary(v) for name, v in walls.items()},
            "max_stall_ms": {name: summary(v) for name, v in stalls.items()},
        }
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true")
    emit(run(smoke=parser.parse_args().smoke))
