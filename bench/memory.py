"""Benchmark 4: memory of a history of generations, in a fresh interpreter.

The child process imports the package, Pillow and opens a client (the baseline), then keeps 100
generations of the ~2 MB image in a list without displaying them: peak and current RSS growth
over the baseline, divided by the images' compressed bytes. Then it reads ``.image`` of every one:
decoded images live in a bounded LRU (``DECODED_CACHE_SIZE``), so RSS grows by the cache, not by
the history.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
from typing import Any

from ._common import FAKE_KEY, emit, fake_process, run_module
from ._images import image_file

MIB = 1024 * 1024


def _status() -> dict[str, int]:
    """VmRSS and VmHWM (peak) of this process, in bytes (from /proc/self/status)."""
    values: dict[str, int] = {}
    with open("/proc/self/status") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) * 1024
    return values


async def _child(base_url: str, count: int) -> dict[str, Any]:
    import PIL.Image  # noqa: F401  (part of the baseline: phase 2 needs it)

    from comet_widgets import AsyncImageClient
    from comet_widgets._constants import DECODED_CACHE_SIZE
    from comet_widgets.images._results import decoded_cache

    history = []
    async with AsyncImageClient(api_key=FAKE_KEY, base_url=base_url, max_retries=0) as client:
        client._ensure_open()  # the httpx client and its CA bundle belong to the baseline
        gc.collect()
        base = _status()
        for number in range(count):
            history.append(await client.generate(f"history {number}"))
    gc.collect()
    held = _status()
    compressed = sum(len(image.data or b"") for gen in history for image in gen.images)
    for gen in history:
        for image in gen.images:
            image.image.size  # noqa: B018  (decode: the point of this phase)
    gc.collect()
    decoded = _status()
    one = history[-1].images[0].image
    return {
        "generations": count,
        "compressed_bytes": compressed,
        "baseline_rss": base["VmRSS"],
        "held": {
            "rss_growth": held["VmRSS"] - base["VmRSS"],
            "peak_growth": held["VmHWM"] - base["VmRSS"],
        },
        "decoded": {
            "rss_growth": decoded["VmRSS"] - base["VmRSS"],
            "peak_growth": decoded["VmHWM"] - base["VmRSS"],
            "cache_size": DECODED_CACHE_SIZE,
            "cached_images": len(decoded_cache),
            "bytes_per_decoded_image": len(one.tobytes()),
        },
    }


def run(*, smoke: bool = False) -> dict[str, Any]:
    count = 5 if smoke else 100
    with fake_process(image_file()) as base_url:
        result: dict[str, Any] = run_module(
            "bench.memory", "--child", base_url, "--count", str(count)
        )
    compressed = result["compressed_bytes"]
    result["held"]["rss_ratio"] = result["held"]["rss_growth"] / compressed
    result["held"]["peak_ratio"] = result["held"]["peak_growth"] / compressed
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--child", metavar="BASE_URL")
    parser.add_argument("--count", type=int, default=100)
    args = parser.parse_args()
    if args.child:
        emit(asyncio.run(_child(args.child, args.count)))
        sys.exit(0)
    emit(run(smoke=args.smoke))
