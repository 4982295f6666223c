"""Benchmark 1: per-call overhead, one ~2 MB 1024x1024 PNG, zero server latency.

From the call to the decoded image bytes in hand, for ``b64_json`` (ours, the httpx baseline,
the openai SDK), ``url`` mode (post + download: ours and the httpx baseline), and ``b64_json``
again over https (the fake behind a self-signed certificate made at run time, see ``_tls``; the
default base URL is https). Calls are interleaved round-robin so that the machine's noise hits
every client alike.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ssl
import tempfile
import time
from pathlib import Path
from typing import Any

from ._clients import open_clients
from ._common import emit, fake_process, summary
from ._images import image_file
from ._tls import self_signed, trusting


async def measure(
    base_url: str,
    *,
    calls: int,
    warmup: int,
    mode: str,
    names: tuple[str, ...],
    verify: ssl.SSLContext | None = None,
) -> dict[str, Any]:
    """Milliseconds per call for each client: ``{name: summary}`` plus the bytes received."""
    async with contextlib.AsyncExitStack() as stack:
        clients = await open_clients(stack, base_url, mode=mode, names=names, verify=verify)
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


def run(*, smoke: bool = False) -> dict[str, Any]:
    calls, warmup = (3, 1) if smoke else (300, 10)

    def three_clients(base_url: str, verify: ssl.SSLContext | None = None) -> dict[str, Any]:
        names = ("ours", "httpx", "sdk")
        return asyncio.run(
            measure(
                base_url, calls=calls, warmup=warmup, mode="b64_json", names=names, verify=verify
            )
        )

    with fake_process(image_file()) as base_url:
        b64 = three_clients(base_url)
        url = asyncio.run(
            measure(base_url, calls=calls, warmup=warmup, mode="url", names=("ours", "httpx"))
        )
    result = {"calls": calls, "b64_json": b64, "url": url}
    with tempfile.TemporaryDirectory() as tmp:
        tls = self_signed(Path(tmp))
        if tls is not None:
            with fake_process(image_file(), tls=tls) as base_url:
                result["https"] = three_clients(base_url, trusting(tls[0]))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true")
    emit(run(smoke=parser.parse_args().smoke))
