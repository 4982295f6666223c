"""The line that says ``comet-images`` is waiting: a spinner and the seconds elapsed, on stderr.

``async with waiting("generating 1 image with gpt-image-2", quiet=...):`` wraps one request (a
generation or an edit takes seconds to minutes). An asyncio task beside the request redraws
``\\r| 12s generating 1 image with gpt-image-2`` in place ten times a second; it never blocks the
request, and is cancelled when the request ends: its answer, its failure or Ctrl-C. The line is
then cleared (``\\r`` and erase to the end of the line), so what is printed next starts on a
clean line. Off when stderr is not a terminal (a log, a pipe) or with ``quiet``: not a byte is
written then.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TextIO

from ..batch._progress import duration

__all__ = ["CLEAR", "waiting"]

FRAMES = "|/-\\"
INTERVAL = 0.1  # seconds between two redraws
#: Back to the start of the line and erase it.
CLEAR = "\r\x1b[K"


@asynccontextmanager
async def waiting(label: str, *, quiet: bool = False) -> AsyncIterator[None]:
    """Show ``label`` and the time elapsed on stderr while the body runs."""
    out = sys.stderr
    if quiet or not out.isatty():
        yield
        return
    spinner = asyncio.create_task(_spin(label, out))
    try:
        yield
    finally:
        spinner.cancel()
        await asyncio.gather(spinner, return_exceptions=True)
        out.write(CLEAR)
        out.flush()


async def _spin(label: str, out: TextIO) -> None:
    started = time.monotonic()
    # A line wider than the terminal wraps and cannot be redrawn in place.
    room = max(10, shutil.get_terminal_size((80, 24)).columns - 1)
    for frame in itertools.cycle(FRAMES):
        line = f"{frame} {duration(time.monotonic() - started)} {label}"
        out.write(f"\r{line[:room]}")
        out.flush()
        await asyncio.sleep(INTERVAL)
