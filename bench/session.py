"""Benchmark 10: a long session in one panel stays light.

A fresh interpreter builds one ``ImageGenerator`` and runs one four-image generation to warm
up (it builds the gallery's tiles, the HTTP client and the preview threads), then takes its RSS
as the baseline and runs 100 more, as a user clicking Generate would (``panel.generate()``, no
browser). The fake runs in a thread of that interpreter (``serve_fake``, loopback) and serves
the ~2 MB PNG with a coloured square that moves from run to run (ten variants, made before the
baseline), so each run's thumbnails differ from the last as real ones do: the panel sends
nothing for a thumbnail that did not change. It reports:

- the RSS growth over the baseline (and the peak's) against the compressed bytes of those 100
  generations, which the panel's ``history`` holds: decoded images stay in the bounded LRU
  (``DECODED_CACHE_SIZE``), not in the history;
- the widget messages and bytes each generation sends to the page (``bench._traffic``: what
  the kernel would send, counted without one), early in the session and at its end.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from typing import Any

from ._common import FAKE_KEY, emit, run_module
from ._images import image_file
from ._traffic import WidgetTraffic
from .memory import _status
from .widget import MODEL

N = 4
WINDOW = 5  # generations compared at each end of the session (medians: a tick can add a few)


def _variants(count: int) -> list[bytes]:
    """The benchmark PNG with a coloured square in ``count`` different places."""
    import io

    from PIL import Image, ImageDraw

    with Image.open(image_file()) as opened:
        base = opened.convert("RGB")
    found = []
    for number in range(count):
        image = base.copy()
        x, y = 60 + 80 * number, 40 + 90 * number
        ImageDraw.Draw(image).rectangle((x, y, x + 160, y + 160), fill=(230, 40 + 20 * number, 60))
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", compress_level=1)
        found.append(buffer.getvalue())
    return found


def _child(generations: int) -> dict[str, Any]:
    from comet_widgets import AsyncImageClient, ImageGenerator
    from comet_widgets.testing import FakeAPI, serve_fake

    variants = _variants(min(10, generations + 1))
    app = FakeAPI(api_key=FAKE_KEY)
    with serve_fake(app) as server:
        panel = ImageGenerator(
            client_factory=lambda: AsyncImageClient(
                api_key=FAKE_KEY, base_url=server.base_url, max_retries=0
            ),
            model=MODEL,
            n=N,
            partial_images=0,
        )
        result = _session(panel, app, variants, generations)
        panel.close()
    return result


def _session(panel: Any, app: Any, variants: list[bytes], generations: int) -> dict[str, Any]:
    runs: list[dict[str, float]] = []
    with WidgetTraffic() as traffic:
        for number in range(generations + 1):
            panel.prompt = f"a lighthouse at dusk, take {number}"
            app.image_bytes = variants[number % len(variants)]
            before = traffic.messages, traffic.bytes
            started = time.perf_counter()
            generation = panel.generate().result(timeout=120)
            took = time.perf_counter() - started
            if len(generation.images) != N or not generation.ok:
                raise RuntimeError(f"generation {number} failed: {generation!r}")
            runs.append(
                {
                    "messages": traffic.messages - before[0],
                    "bytes": traffic.bytes - before[1],
                    "ms": took * 1000,
                }
            )
            if number == 0:
                gc.collect()
                base = _status()
    gc.collect()
    end = _status()
    compressed = sum(len(i.data or b"") for g in panel.history[1:] for i in g.images)
    return {
        "generations": generations,
        "n": N,
        "baseline_rss": base["VmRSS"],
        "rss_growth": end["VmRSS"] - base["VmRSS"],
        "peak_growth": end["VmHWM"] - base["VmRSS"],
        "compressed_bytes": compressed,
        "warm_up": runs[0],
        "runs": runs[1:],
    }


def _median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def run(*, smoke: bool = False) -> dict[str, Any]:
    generations = 3 if smoke else 100
    if smoke:  # in this process: its RSS figures mean nothing
        result = _child(generations)
    else:
        result = run_module("bench.session", "--child", str(generations))
    window = 1 if smoke else WINDOW
    first, last = result["runs"][:window], result["runs"][-window:]
    result["window"] = window
    for key in ("messages", "bytes", "ms"):
        result[f"first_{key}"] = _median(first, key)
        result[f"last_{key}"] = _median(last, key)
    result["rss_ratio"] = result["rss_growth"] / result["compressed_bytes"]
    result["peak_ratio"] = result["peak_growth"] / result["compressed_bytes"]
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--child", type=int, metavar="GENERATIONS")
    args = parser.parse_args()
    if args.child:
        emit(_child(args.child))
        sys.exit(0)
    emit(run(smoke=args.smoke))
