"""Batch progress that fits where it runs: a widget, a terminal bar, or plain lines.

``make_progress(True, ...)`` picks: in a Jupyter kernel, an ``IntProgress`` bar and an ``HTML``
label displayed once and updated in place (drawn by ``widget/_progress_bar.py``: this folder
imports no Jupyter package); on a terminal (stderr is a TTY), one text line redrawn with
``\\r``; anywhere else (a log file, CI), a plain line every tenth of the batch or every few
seconds. Displays are throttled to at most four updates a second; the last state is always
shown on ``close``. A callable ``progress(done, failed, total)`` is called on every change
instead. No tqdm: runtime dependencies are fixed.
"""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from .._errors import InvalidCallError

__all__ = [
    "CallbackProgress",
    "PlainProgress",
    "Progress",
    "ProgressCallback",
    "TerminalProgress",
    "WidgetProgress",
    "duration",
    "make_progress",
]

#: ``callback(done, failed, total)``: ``done`` counts every finished item (failed and resumed
#: included), ``failed`` those that failed.
ProgressCallback = Callable[[int, int, int], object]

MIN_INTERVAL = 0.25  # seconds between two displays: at most four updates a second
PLAIN_INTERVAL = 5.0  # a plain line at least this often while items finish


def duration(seconds: float) -> str:
    """``42s``, ``3m07s``, ``2h05m``: a duration as the progress lines show it."""
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class Progress:
    """Base: keeps the counts and the clock, throttles, and renders through ``_show``."""

    def __init__(
        self,
        total: int,
        *,
        label: str = "batch",
        clock: Callable[[], float] = time.monotonic,
        min_interval: float = MIN_INTERVAL,
    ) -> None:
        self.total = total
        #: Where the batch stands (over budget: not sent, it would have passed ``budget_usd``).
        self.succeeded = self.failed = self.resumed = self.over_budget = 0
        self.label = label
        self._clock = clock
        self._min_interval = min_interval
        self._started = clock()
        self._last_shown: float | None = None
        self.closed = False

    def update(
        self, *, succeeded: int = 0, failed: int = 0, resumed: int = 0, over_budget: int = 0
    ) -> None:
        """Add finished items and redraw if the last display is old enough."""
        self.succeeded += succeeded
        self.failed += failed
        self.resumed += resumed
        self.over_budget += over_budget
        now = self._clock()
        due = self._last_shown is None or now - self._last_shown >= self._min_interval
        if due and self._wants(now):
            self._last_shown = now
            self._show(final=False)

    @property
    def done(self) -> int:
        return self.succeeded + self.failed + self.resumed + self.over_budget

    def close(self) -> None:
        """Show the final state once."""
        if not self.closed:
            self.closed = True
            self._show(final=True)

    def _wants(self, now: float) -> bool:
        return True

    def text(self) -> str:
        """``"12/40 · 10 ok · 1 failed · 1 resumed · 35.2/min · ETA 1m"``."""
        parts = [f"{self.done}/{self.total}", f"{self.succeeded} ok", f"{self.failed} failed"]
        if self.resumed:
            parts.append(f"{self.resumed} resumed")
        if self.over_budget:
            parts.append(f"{self.over_budget} over budget")
        elapsed = self._clock() - self._started
        # items finished per minute in this run (resumed ones excluded)
        rate = (self.succeeded + self.failed) * 60.0 / elapsed if elapsed > 0 else 0.0
        if rate:
            parts.append(f"{rate:.1f}/min")
            remaining = self.total - self.done
            if remaining and not self.closed:
                parts.append(f"ETA {duration(remaining * 60.0 / rate)}")
        parts.append(duration(elapsed))
        return " · ".join(parts)

    def _show(self, *, final: bool) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class CallbackProgress(Progress):
    """Calls ``callback(done, failed, total)`` on every change (not throttled)."""

    def __init__(self, callback: ProgressCallback, total: int, **options: Any) -> None:
        super().__init__(total, min_interval=0.0, **options)
        self.callback = callback

    def _show(self, *, final: bool) -> None:
        self.callback(self.done, self.failed, self.total)


class TerminalProgress(Progress):
    """One line redrawn in place with ``\\r`` (for a TTY)."""

    def __init__(self, total: int, *, stream: TextIO | None = None, **options: Any) -> None:
        super().__init__(total, **options)
        self.stream = stream or sys.stderr
        self._width = 0

    def _show(self, *, final: bool) -> None:
        columns = shutil.get_terminal_size((80, 24)).columns
        cells = 20
        filled = cells * self.done // self.total if self.total else cells
        line = f"{self.label} [{'#' * filled}{'.' * (cells - filled)}] {self.text()}"
        line = line[: max(10, columns - 1)]  # a wrapped line cannot be redrawn with \r
        pad = " " * max(0, self._width - len(line))
        self._width = len(line)
        self.stream.write(f"\r{line}{pad}" + ("\n" if final else ""))
        self.stream.flush()


class PlainProgress(Progress):
    """A plain line every tenth of the batch or every few seconds (logs, CI, pipes)."""

    def __init__(
        self,
        total: int,
        *,
        stream: TextIO | None = None,
        interval: float = PLAIN_INTERVAL,
        **options: Any,
    ) -> None:
        super().__init__(total, **options)
        self.stream = stream or sys.stderr
        self.every = max(1, -(-total // 10))
        self.interval = interval
        self._last_done = 0

    def _wants(self, now: float) -> bool:
        done = self.done
        crossed = done // self.every > self._last_done // self.every
        late = self._last_shown is None or now - self._last_shown >= self.interval
        return done > self._last_done and (crossed or late)

    def _show(self, *, final: bool) -> None:
        self._last_done = self.done
        prefix = f"{self.label} done" if final else self.label
        self.stream.write(f"{prefix}: {self.text()}\n")
        self.stream.flush()


class WidgetProgress(Progress):
    """A progress bar in a notebook, drawn by the widget folder's ``ProgressBar``."""

    def __init__(self, total: int, **options: Any) -> None:
        super().__init__(total, **options)
        from ..widget._progress_bar import ProgressBar

        self.bar = ProgressBar(total, label=self.label, text=self.text())

    def _show(self, *, final: bool) -> None:
        self.bar.show(self.done, self.text(), final=final, failed=self.failed)


def make_progress(
    progress: bool | ProgressCallback | Progress | None,
    total: int,
    *,
    stream: TextIO | None = None,
) -> Progress | None:
    """The progress display for ``progress`` (``True``: pick by environment; ``False``: none)."""
    if progress is None or progress is False:
        return None
    if isinstance(progress, Progress):
        return progress
    if progress is not True:
        if not callable(progress):
            raise InvalidCallError(f"progress must be a bool or a callable, got {progress!r}")
        return CallbackProgress(progress, total)
    if "ipykernel" in sys.modules:  # maybe a notebook: the widget folder draws the bar there
        from ..widget import _progress_bar

        if _progress_bar.in_notebook():
            return WidgetProgress(total)
    out = stream or sys.stderr
    isatty = getattr(out, "isatty", None)
    if isatty is not None and isatty():
        return TerminalProgress(total, stream=out)
    return PlainProgress(total, stream=out)
