"""Benchmark 6: kernel-loop stall while four 2 MB b64 images are generated and decoded.

A 5 ms asyncio ticker runs beside four concurrent ``b64_json`` generations (each 2.9 MB of JSON
to receive, parse and base64-decode into PNG bytes); the longest gap it sees beyond its period is
the stall a notebook's kernel would feel (widgets and output freeze that long). Ours (parsing
off the loop in a thread) against the httpx baseline (``json.loads`` + ``base64.b64decode`` on
the loop). Clients are built and warmed before measuring.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from typing import Any

from ._clients import open_clients
from ._common import emit, fake_process, summary
from ._images import image_file
from ._ticker import Ticker


async def measure(base_url: str, *, rounds: int, images: int = 4) -> dict[str, Any]:
    async with contextlib.AsyncExitStack() as stack:
        clients = await open_clients(stack, base_url, names=("ours", "httpx"))
        for call in clients.values():
            await call("warm up")
        stalls: dict[str, list[float]] = {name: [] for name in clients}
        order = list(clients)
        for number in range(rounds):
            for name in order if number % 2 == 0 else order[::-1]:
                call = clients[name]
                async with Ticker().running() as ticker:
                    answers = await asyncio.gather(
                        *(call(f"stall {number} image {i}") for i in range(images))
                    )
                if sum(len(a) for a in answers) != images:
                    raise RuntimeError(f"{name}: expected {images} images")
                stalls[name].append(ticker.max_gap_ms)
    return {
        "rounds": rounds,
        "images": images,
        "max_stall_ms": {k: summary(v) for k, v in stalls.items()},
    }


def run(*, smoke: bool = False) -> dict[str, Any]:
    with fake_process(image_file()) as base_url:
        return asyncio.run(measure(base_url, rounds=1 if smoke else 50))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true")
    emit(run(smoke=parser.parse_args().smoke))
