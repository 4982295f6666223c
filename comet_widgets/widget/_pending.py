"""A generation in flight: the panel's ``Job`` and the ``PendingGeneration`` users get.

The work runs on the widgets' private loop; ``PendingGeneration`` wraps its thread-safe future
so that it can be awaited from any event loop (a notebook's top-level ``await``, a comm
subshell, a test) or waited on from plain code with ``result()``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .._errors import StateError

__all__ = ["Job", "PendingGeneration"]

T = TypeVar("T")


@dataclass(eq=False)
class Job:
    """One generation of a panel; once submitted, its state changes on the private loop, except
    that ``cancel()`` settles it from the caller's thread (so a new generation can start at once).

    ``settled`` turns True exactly once (``claim()``, under a lock): when the images land, the
    generation fails or it is cancelled. Whatever comes second finds it set and does nothing
    (nothing half-done lands).
    """

    payload: dict[str, Any]
    started: float = field(default_factory=time.monotonic)
    future: concurrent.futures.Future[Any] | None = None
    task: asyncio.Task[Any] | None = None
    #: One note per retry ("rate limited by the API; retrying in 1 s (request id ...)").
    retries: list[str] = field(default_factory=list)
    cancelled: bool = False
    settled: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def claim(self, *, cancel: bool = False) -> bool:
        """Settle the job if nobody has yet: True for the one caller that did."""
        with self._lock:
            if self.settled:
                return False
            self.settled = True
            self.cancelled = self.cancelled or cancel
            return True

    #: What the status line says while it runs ("Generating 4 images").
    what: str = "Generating"
    #: How many placeholder tiles it shows, and their labels ("Image 2 of 4" when empty).
    slots: int = 1
    labels: list[str] = field(default_factory=list)
    #: The wait before the next retry: why, and until when (``time.monotonic()``).
    retry_reason: str = ""
    retry_until: float = 0.0
    #: The status line once done, when the default one does not fit (a batch's).
    summary: str = ""

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started


class PendingGeneration(Generic[T]):
    """A generation (or a batch) in flight: ``await`` it, or call ``result(timeout)``."""

    __slots__ = ("_future",)

    def __init__(self, future: concurrent.futures.Future[T]) -> None:
        self._future = future

    def __await__(self) -> Generator[Any, None, T]:
        return asyncio.wrap_future(self._future).__await__()

    def result(self, timeout: float | None = None) -> T:
        """Block until done: the result, or raise its error.

        For plain scripts: in a notebook use ``await`` (blocking the kernel freezes the panel).
        Raises ``RuntimeError`` when called from the panel's own thread (an ``images`` observer),
        where waiting could never end.
        """
        from ._loop import in_loop_thread

        if in_loop_thread() and not self._future.done():
            raise StateError("result() would wait forever on the panel's own thread")
        return self._future.result(timeout)

    def done(self) -> bool:
        return self._future.done()

    def cancel(self) -> bool:
        """Ask for cancellation; the panel then shows "cancelled"."""
        return self._future.cancel()

    def __repr__(self) -> str:
        future = self._future
        if not future.done():
            state = "running"
        elif future.cancelled():
            state = "cancelled"
        elif future.exception() is not None:
            state = f"failed: {future.exception()}"
        else:
            state = f"done: {future.result()!r}"
        return f"<PendingGeneration {state}>"
