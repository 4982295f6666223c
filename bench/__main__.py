"""``python -m bench``: run every benchmark, each in a fresh interpreter, and write RESULTS.md.

``--smoke`` runs everything once with tiny counts, in this interpreter (seconds; figures
meaningless) and writes bench/out/RESULTS-smoke.md instead; ``--only NAME ...`` runs a subset
and writes bench/out/RESULTS-only.md (RESULTS.md is only ever a full run). Raw figures go to
bench/out/results[-smoke|-only].json.
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from comet_widgets._constants import LIBRARY_ENV

from ._common import run_module
from ._images import OUT, image_file
from .report import machine, render

HERE = Path(__file__).resolve().parent
BENCHMARKS = (
    "overhead",
    "batch",
    "startup",
    "memory",
    "widget",
    "stall",
    "streaming",
    "edits",
    "browser",
    "session",
    "library",
)
# Seconds each benchmark may take before it is stopped (a full run is ~3-5 minutes in all).
TIMEOUTS = {
    "overhead": 240,
    "batch": 420,
    "startup": 120,
    "memory": 120,
    "widget": 180,
    "stall": 120,
    "streaming": 180,
    "edits": 180,
    "browser": 240,
    "session": 300,
    "library": 240,
}

NOTES = """\
## What was changed for these figures

Each change was profiled first (cProfile) and measured against the code without it in one run,
interleaved; figures are from this machine with other work running, so read them as sizes.

- Removed in issue 21: `client/_transport.py` (207 lines: an httpx transport on httpcore's pool
  that read up to 1 MiB per socket read and wrote big buffers as 1 MiB views) and the direct
  `httpcore` dependency. Its gain was on plain http only (over TLS OpenSSL returns at most one
  16 KiB record per read, whatever is asked), and the default base URL is https. Interleaved
  A/B against the fake over https on loopback (a self-signed certificate trusted through one
  `ssl.SSLContext`), one 2 MB `b64_json` image per call, load 2.4-3.3: with the copy / on
  httpx's default transport, per-call medians 1.07, 1.08, 1.04 and 1.00 in four runs of 100-150
  calls: no gain. Over plain http in the same session: 0.83. Section 1's `b64_json over https`
  rows measure the three clients over TLS in every run.
- `_errors.redact_bytes` (every answer's body passes it): same result, found sooner. A short
  key's `bytes.find` steps through dense base64 almost byte by byte (~0.7 ms per 2.9 MB body
  with the bench's 13-character key, ~0.25 ms with a real 51-character one), so the key is
  looked for at each `-` instead (base64 has none), and when the body holds a backslash or
  `%` (a `\\n` or `\\u0026` in a revised prompt) the key's escaped-form regex is tried
  around those few escapes, not over the whole body (~20 ms -> ~0.2 ms for such a body).
  Interleaved A/B, three runs of 150 calls, busy machine: ours/httpx per b64 call 0.435,
  0.475, 0.421 with it, 0.447, 0.508, 0.482 without.
- Edits (`client/_uploads.py`): the inputs' SHA-256 (provenance, ~9 ms for four 4 MB inputs
  on a quiet machine) starts in its worker thread once the whole body has been handed to the
  socket, not with the upload. While sending, the client's core is busy copying the body to
  the fake, and a hashing thread then slowed the send (body sent after 25 ms instead of 14 ms
  in one A/B). After that the client only waits while the fake parses and answers (~17 ms).
  Inputs that are bytes already are checked on the loop (microseconds) instead of through a
  worker thread. Interleaved A/B, twelve runs of 30 rounds as the machine's load fell from
  ~2 to ~0.3 (ours/httpx per edit, median of the run medians, min-max): hashing once sent
  1.06 (0.96-1.27), hashing with the upload (as before) 1.18 (1.09-1.28), httpx hashing
  beside its post 1.19 (1.08-1.43), ours without hashing 0.99 (0.95-1.08). In the five runs
  starting below load 1.3: 0.96-1.07 in four (1.25 in one) vs 1.12-1.26. When other work
  keeps both cores busy the hashing's CPU (~10 ms per edit: the client's CPU doubles) shows
  up almost in full, as the `httpx+sha256` row of section 8 shows.
- Removed in issue 12: `_wire._lift_b64` (~95 lines cutting long `b64_json` strings out of the
  body before jiter parsed it). Interleaved A/B of `bench.overhead`, 5 runs each on a busy
  machine, ours/httpx per b64 call (median of run medians, min-max): with it 0.468
  (0.439-0.519), without it 0.419 (0.391-0.491): no gain beyond the noise, so jiter parses the
  whole body.
- `comet_widgets/_constants.py` `OFFLOAD_DECODE_BYTES` 256 KiB -> 16 MiB: a 2 MB image parses
  in well under a millisecond on the loop, while the `asyncio.to_thread` hand-off cost ~0.7 ms
  per call (6.40 -> 5.74 ms per call, same loop stall: 3.0 vs 3.6 ms median for four at once)
  and ~1.4 ms of CPU per response in batches (0.39 -> 0.33 s for 64). Bodies over 16 MiB (n >= 6
  large images) still parse in a thread.
- `comet_widgets/_previews.py` `thumbnail_of`: `resize(..., reducing_gap=1.0)` instead of
  `copy()` + `thumbnail(..., reducing_gap=2.0)`: a 1024 px image is halved by a 2x2 box average
  and nothing is left for Lanczos: ~1.5 ms instead of ~27 ms; the JPEG is the same size (25.9 vs
  25.6 KB) and side by side the thumbnails cannot be told apart. Thumbnails stay JPEG q85 (4:2:0
  is Pillow's default): 26 KB, well under 64 KB, so quality was not lowered.
- The fake (`comet_widgets/testing`), which every figure depends on: its loopback socket is now
  created with `IPPROTO_TCP`, so asyncio turns Nagle off (every small answer waited ~40 ms for a
  delayed ACK: 44 -> 0.9 ms per call; the whole test suite got faster too); it builds a body
  with one `join` (~3.5 -> ~0.1 ms of copies per 2.9 MB body); `--image-file` serves a file's
  bytes for every image.
- `generate_many` (comet_widgets/_batch_run.py, by its owner after this suite showed it): with no
  `output_dir` a finished item is recorded inline instead of through `asyncio.to_thread`, so a
  worker sends its next request at once; measured with a patch before it landed: 1.154x ->
  1.141x of ideal for 64 x 2 MB.
- Borderline: the 2 MB batch target. Across the seven full or batch-only runs made while
  tuning (one machine, one session, other sessions' tests running in some) `generate_many`
  measured 1.134x-1.185x, 1.13x-1.16x when the machine was quiet; httpx merely receiving the
  same bodies measured 1.14x-1.165x in those runs. Expect a miss on a busy machine.
- The panel's gallery tiles (`widget/_gallery.py`, section 9): each synced change is one
  comm message the page handles on its own, and a re-run's click sent 38 in 300 ms, 32 of them
  the four tiles' parts (display toggles, clearing the old thumbnail, captions). A tile's state
  is now one class on it (`cw-tile-pending`, `-partial`, `-image`, `-failed`) and the
  stylesheet shows that state's parts; the old thumbnail stays under the placeholder instead of
  being cleared. Per tile: 2 messages until its placeholder shows (was 8), 3 for its finished
  thumbnail (was 9); a widget test counts them. Measured with `--only browser` before and
  after, on a quiet machine: click -> placeholders 104 -> 58 ms, answer -> four thumbnails
  painted 258 -> 162 ms (medians of 15).
- The panel's previews (`widget/_gallery.py` `make_previews`): a generation's images are
  decoded and thumbnailed on up to four threads (Pillow releases the GIL while it decodes
  and encodes) instead of one after another: four 2 MB PNGs ~70 -> ~40 ms here; section 9's
  kernel part (answer -> thumbnails set), back to back before and after: 167 -> 115 ms median.
- Measured and left alone: `aiter_raw` vs `aiter_bytes` and `aread()` vs the capped chunk loop
  (within noise of each other: the decoder path is the identity); the final `b"".join` (one copy,
  needed for a contiguous body). jiter holds the GIL (~0.2 ms per 2.9 MB) while pybase64 releases
  it. No new dependency: everything here uses httpx, jiter, pybase64 and Pillow.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--smoke", action="store_true", help="tiny counts, figures meaningless")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, default=list(BENCHMARKS))
    parser.add_argument("--out", type=Path, default=None, help="where to write the report")
    parser.add_argument(
        "--from-json", type=Path, default=None, help="only re-render a report from raw results"
    )
    args = parser.parse_args(argv)
    # Every panel the benchmarks make records its runs, as a user's does, but into a
    # throw-away library (every benchmark and kernel inherits it), never the user's own.
    scratch = tempfile.mkdtemp(prefix="comet-bench-library-")
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)
    os.environ[LIBRARY_ENV] = scratch
    if args.from_json is not None:
        raw_results = json.loads(args.from_json.read_text())
        out = args.out or HERE / "RESULTS.md"
        out.write_text(
            render(raw_results["results"], raw_results["machine"], smoke=args.smoke, notes=NOTES)
        )
        return 0
    subset = list(args.only) != list(BENCHMARKS)
    suffix = "-smoke" if args.smoke else "-only" if subset else ""
    out = args.out or (HERE / "RESULTS.md" if not suffix else OUT / f"RESULTS{suffix}.md")
    image_file(), image_file(16)  # render the test images once, before anything is timed
    info = machine()
    info["load_start"] = info["load"]
    started = time.perf_counter()
    results: dict[str, Any] = {}
    for name in args.only:
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        if args.smoke:
            # In this process: one interpreter start and one `import openai` for the whole run.
            results[name] = importlib.import_module(f"bench.{name}").run(smoke=True)
        else:
            results[name] = run_module(f"bench.{name}", timeout=TIMEOUTS[name])
        print(f"bench: {name} done in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    info.update({k: v for k, v in machine().items() if k == "load"})
    info["elapsed_s"] = time.perf_counter() - started
    OUT.mkdir(parents=True, exist_ok=True)
    raw = OUT / f"results{suffix}.json"
    raw.write_text(json.dumps({"machine": info, "results": results}, indent=1))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(results, info, smoke=args.smoke, notes=NOTES))
    print(f"bench: wrote {out} and {raw} in {info['elapsed_s']:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
