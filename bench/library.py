"""Benchmark 11: the image library (``comet_widgets.Library``).

- Recording: ``Library.add`` of a four-image run (four ~2 MB 1024x1024 PNGs): hashing, writing
  the files with their provenance, thumbnails, one transaction. Measured twice: with the images
  already decoded (as when the panel has shown them: its gallery decoded them) and cold (the
  bytes only, as for a generation made with the client directly). A fresh library folder per
  round, so every file is really written.
- The panel's landing with recording on and off: four-image runs (``n=4``, the ~2 MB benchmark
  image) from the fake in its own process, in a fresh interpreter, by two panels, one with
  ``library=Library(tmp)`` and one with ``library=False``, one run each per round in
  alternating order; the time from the answer to the end of ``land`` (thumbnails made, gallery
  and history shown), and ``land`` alone. What recording adds is the median of the rounds'
  differences. Recording is only submitted from ``land`` (timed too), and its thread starts once
  ``land`` has let go of the panel's lock. Also: how long after landing the run is recorded.
- Browsing a 100,000-entry library (built by bulk insert with tiny thumbnails, ~a few seconds):
  a fresh ``Library`` opening its first page of 50 with their thumbnails, then later pages
  (offsets up to the last page), then searches over the prompts (FTS5) with and without a
  filter, each returning a first page with thumbnails. And the panel's Library view on it:
  opening it (a fresh ``Library``: first page of cards, the filters' choices, the count), the
  next page, and a search typed into its box.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from ._common import FAKE_KEY, emit, fake_process, run_module, summary
from ._images import image_bytes, image_file

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


def _child_landing(base_url: str, rounds: int) -> dict[str, Any]:
    """In a fresh interpreter: the landing of four-image runs by two panels, one recording
    into a library and one with ``library=False``, in alternating order each round (so each
    pair of runs sees the same load); per run the time from the answer to the end of ``land``,
    ``land`` alone, and, recording, the ``record`` call made in ``land`` and how long after
    the landing the run was in the library."""
    from comet_widgets import AsyncImageClient, ImageGenerator, Library

    times: dict[str, dict[str, list[float]]] = {
        "off": {"answer_to_landed": [], "land": []},
        "on": {"answer_to_landed": [], "land": [], "submit": [], "recorded": []},
    }
    with tempfile.TemporaryDirectory() as folder:
        panels: dict[str, Any] = {}
        marks: dict[str, dict[str, float]] = {"off": {}, "on": {}}
        for key in ("off", "on"):
            client = AsyncImageClient(api_key=FAKE_KEY, base_url=base_url, max_retries=0)
            panel = ImageGenerator(
                client_factory=lambda client=client: client,
                model="gpt-image-2",
                n=4,
                library=Library(folder) if key == "on" else False,
            )
            _instrument(panel, client, marks[key], times[key] if key == "on" else None)
            panel.prompt = "warm up: a lighthouse"
            panel.generate().result(timeout=120)  # builds the client, opens the library
            panel.wait_recorded(60)
            panels[key] = panel
        recorded = 4
        for number in range(rounds):
            for key in ("off", "on") if number % 2 else ("on", "off"):
                panel = panels[key]
                panel.prompt = f"a lighthouse at dusk, take {number}"
                generation = panel.generate().result(timeout=120)
                if len(generation.images) != 4 or not generation.ok:
                    raise RuntimeError(f"run {number} failed: {generation!r}")
                mark = marks[key]
                times[key]["answer_to_landed"].append((mark["landed"] - mark["answer"]) * 1000)
                times[key]["land"].append((mark["landed"] - mark["land"]) * 1000)
                if key == "on":
                    if not panel.wait_recorded(60):
                        raise RuntimeError("the run was not recorded within 60 s")
                    times["on"]["recorded"].append((time.perf_counter() - mark["landed"]) * 1000)
                    recorded += 4
                    if len(Library(folder)) != recorded:
                        raise RuntimeError("the library misses images")
        for panel in panels.values():
            panel.close()
    return times


def _instrument(
    panel: Any, client: Any, marks: dict[str, float], times: dict[str, list[float]] | None
) -> None:
    """Mark when the answer arrived and when ``land`` began and ended; time ``record``."""
    runner, recorder = panel._runner, panel._recorder
    original_land, original_call, original_record = (
        runner.land,
        client.generate_payload,
        recorder.record,
    )

    async def generate_payload(*args: Any, **kwargs: Any) -> Any:
        answer = await original_call(*args, **kwargs)
        marks["answer"] = time.perf_counter()
        return answer

    def land(*args: Any, **kwargs: Any) -> bool:
        marks["land"] = time.perf_counter()
        landed: bool = original_land(*args, **kwargs)
        marks["landed"] = time.perf_counter()
        return landed

    def record(*args: Any, **kwargs: Any) -> None:
        started = time.perf_counter()
        original_record(*args, **kwargs)
        if times is not None:
            times["submit"].append((time.perf_counter() - started) * 1000)

    client.generate_payload = generate_payload
    runner.land = land
    recorder.record = record


def _view_times(folder: Path, rounds: int) -> dict[str, dict[str, float]]:
    """The panel's Library view on ``folder``: open (fresh ``Library``), next page, a search."""
    from comet_widgets import Library
    from comet_widgets.widget._gallery import Lightbox
    from comet_widgets.widget._library_view import LibraryView

    times: dict[str, list[float]] = {"open": [], "next page": [], "search": []}
    for _ in range(rounds):
        library = Library(folder)
        view = LibraryView(
            library,
            contextlib.nullcontext(),
            Lightbox(lambda: "."),
            on_restore=lambda entry: None,
            on_edit=lambda entry: None,
        )
        started = time.perf_counter()
        view.open()
        times["open"].append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        view.next.click()
        times["next page"].append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        view.search.value = "lighthouse fox"
        times["search"].append((time.perf_counter() - started) * 1000)
        if len(view.entries) != view.page_size or view.page != 0:
            raise RuntimeError("the view did not show a first page of matches")
        for widget in view.all:
            widget.close()
        library.close()
    return {name: summary(values) for name, values in times.items()}


def _landing(smoke: bool) -> dict[str, Any]:
    rounds = 2 if smoke else 16
    with fake_process(image_file()) as base_url:
        raw = (
            _child_landing(base_url, rounds)
            if smoke
            else run_module("bench.library", "--child", base_url, str(rounds), timeout=900)
        )
    found: dict[str, Any] = {
        key: {name: summary(values) for name, values in parts.items() if values}
        for key, parts in raw.items()
    }
    # Each round ran one run per panel back to back: the difference within a round is what
    # recording adds under the same load; its median is the figure.
    pairs = zip(raw["on"]["answer_to_landed"], raw["off"]["answer_to_landed"], strict=True)
    found["added"] = summary([on - off for on, off in pairs])
    return found


def run(*, smoke: bool = False) -> dict[str, Any]:
    count = 1_000 if smoke else 100_000
    rounds = 1 if smoke else 15
    result: dict[str, Any] = {
        "record_decoded_ms": _recording(rounds, decoded=True),
        "record_cold_ms": _recording(rounds, decoded=False),
        "entries": count,
        "landing": _landing(smoke),
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
        result["view_ms"] = _view_times(root, rounds)
        result["database_mb"] = (root / "library.db").stat().st_size / 1e6
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("BASE_URL", "ROUNDS"))
    args = parser.parse_args()
    if args.child:
        emit(_child_landing(args.child[0], int(args.child[1])))
        sys.exit(0)
    emit(run(smoke=args.smoke))
