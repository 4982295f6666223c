"""Benchmark 11: the image library (``comet_widgets.Library``).

- Recording: ``Library.add`` of a four-image run (four ~2 MB 1024x1024 PNGs): hashing, writing
  the files with their provenance, thumbnails, one transaction. Measured twice: with the images
  already decoded (as when the panel has shown them: its gallery decoded them) and cold (the
  bytes only, as for a generation made with the client directly). A fresh library folder per
  round, so every file is really written.
- Browsing a 100,000-entry library (built by bulk insert with tiny thumbnails, ~a few seconds):
  a fresh ``Library`` opening its first page of 50 with their thumbnails, then later pages
  (offsets up to the last page), then searches over the prompts (FTS5) with and without a
  filter, each returning a first page with thumbnails.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from ._common import emit, summary
from ._images import image_bytes

WORDS = (
    "lighthouse",
    "harbour",
    "kite",
    "fox",
    "snow",
    "city",
    "forest",
    "river",
    "boat",
    "cliff",
    "storm",
    "garden",
    "market",
    "mountain",
    "desert",
    "robot",
    "dragon",
    "castle",
    "bridge",
    "tower",
    "owl",
    "whale",
    "lantern",
    "train",
    "orchard",
)
MODELS = ("gpt-image-2", "gpt-image-1", "dall-e-3", "gpt-image-2.5-flare")


def _run_of_four(decoded: bool) -> Any:
    from comet_widgets import GeneratedImage, Generation

    images = [
        GeneratedImage(index=i, data=image_bytes(seed=7 + i), format="png", width=1024, height=1024)
        for i in range(4)
    ]
    generation = Generation(
        prompt="a lighthouse at dusk",
        model="gpt-image-2",
        created=int(time.time()),
        images=images,
        params={"prompt": "a lighthouse at dusk", "model": "gpt-image-2", "n": 4},
        request_id="bench",
        usage={"input_tokens": 10, "output_tokens": 4 * 272},
    )
    if decoded:
        for image in images:
            _ = image.image  # what the panel's gallery did
    return generation


def _recording(rounds: int, decoded: bool) -> dict[str, float]:
    from comet_widgets import Library

    times = []
    for _ in range(rounds):
        generation = _run_of_four(decoded)
        with tempfile.TemporaryDirectory() as folder:
            lib = Library(folder)
            lib.search(limit=1)  # the database exists (the panel opened it long before)
            started = time.perf_counter()
            lib.add(generation)
            times.append((time.perf_counter() - started) * 1000)
            lib.close()
    return summary(times)


def _tiny_thumbnail() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (90, 120, 200)).save(buffer, "JPEG", quality=50)
    return buffer.getvalue()


def build(folder: Path, count: int) -> float:
    """Fill ``folder`` with ``count`` entries by bulk insert; returns the seconds it took."""
    from comet_widgets import Library

    started = time.perf_counter()
    Library(folder).search(limit=1)  # creates the schema
    rng = random.Random(7)
    thumb = _tiny_thumbnail()
    now = time.time()
    cost = json.dumps({"usd": 0.01, "basis": "usage", "breakdown": {}, "tokens": {}})
    db = sqlite3.connect(folder / "library.db")
    with db:
        rows = []
        for number in range(count):
            prompt = " ".join(rng.choice(WORDS) for _ in range(8))
            sha = f"{number:064x}"
            params = json.dumps({"prompt": prompt, "model": MODELS[number % 4]})
            rows.append(
                (sha, ".png", prompt, None, MODELS[number % 4], params, 0, "png", 1024, 1024,
                 "{}", f"req-{number}", now - (count - number) * 60, 12.0, None, cost, 0.01,
                 "[]", None, None, 0)
            )  # fmt: skip
        db.executemany(
            "INSERT INTO entries (sha256, ext, prompt, revised_prompt, model, params,"
            " image_index, format, width, height, mismatches, request_id, created, elapsed,"
            " usage, cost, cost_usd, inputs, batch, item, starred)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )
        db.executemany(
            "INSERT INTO thumbnails (sha256, data) VALUES (?, ?)",
            ((row[0], thumb) for row in rows),
        )
    db.close()
    return time.perf_counter() - started


def _timed(folder: Path, rounds: int, **query: Any) -> dict[str, float]:
    """A fresh ``Library`` (new connection) each round: one page and its thumbnails, in ms."""
    from comet_widgets import Library

    times = []
    for _ in range(rounds):
        lib = Library(folder)
        started = time.perf_counter()
        page = lib.search(**query)
        for entry in page:
            _ = entry.thumbnail
        times.append((time.perf_counter() - started) * 1000)
        lib.close()
        if not page:
            raise RuntimeError(f"no entries for {query}")
    return summary(times)


def run(*, smoke: bool = False) -> dict[str, Any]:
    count = 1_000 if smoke else 100_000
    rounds = 1 if smoke else 15
    result: dict[str, Any] = {
        "record_decoded_ms": _recording(rounds, decoded=True),
        "record_cold_ms": _recording(rounds, decoded=False),
        "entries": count,
    }
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        result["build_s"] = build(root, count)
        pages = {"first": 0, "second": 50, "middle": count // 2, "last": count - 50}
        result["pages_ms"] = {
            name: _timed(root, rounds, limit=50, offset=offset) for name, offset in pages.items()
        }
        result["search_ms"] = {
            "lighthouse": _timed(root, rounds, text="lighthouse"),
            "lighthouse fox": _timed(root, rounds, text="lighthouse fox"),
            "lighthouse, model": _timed(root, rounds, text="lighthouse", model="gpt-image-2"),
            "light (a word's start)": _timed(root, rounds, text="light"),
        }
        result["database_mb"] = (root / "library.db").stat().st_size / 1e6
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true")
    emit(run(smoke=parser.parse_args().smoke))
