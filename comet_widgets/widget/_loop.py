"""The widgets' private event loop: one daemon thread running its own asyncio loop.

Every HTTP call the widget makes runs here, never on the kernel's loop. A click handler only
submits a coroutine and returns, so the kernel stays responsive whatever runs the comm handlers:
the kernel's main loop, an ipykernel 7 comm subshell (whose loop may not run tasks until the next
cell), Voilà or nbclient. Awaiting from any loop works through ``asyncio.wrap_future``.

The loop starts on first use and is shared by every widget of the process (an ``httpx`` pool is
bound to the loop that opened it, so each widget's client lives and dies here). Callbacks
scheduled from another thread run in a copy of that thread's ``contextvars`` context, so messages
sent from here keep the parent header of the cell or click that started the work.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import os
import sys
import threading
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from .._errors import StateError

__all__ = ["call_soon", "get_loop", "in_loop_thread", "is_running", "submit"]

T = TypeVar("T")

_THREAD_NAME = "comet-widgets-loop"
_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None
_pid: int | None = None


def _serve(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
    asyncio.set_event_loop(loop)
    loop.call_soon(ready.set)
    loop.run_forever()


def get_loop() -> asyncio.AbstractEventLoop:
    """The private loop, started on first call (and again after a fork).

    Raises ``RuntimeError`` while the interpreter shuts down (no thread can start then).
    """
    global _loop, _thread, _pid
    with _lock:
        loop = _loop
        if loop is None or not is_running():
            if sys.is_finalizing():
                raise StateError("the interpreter is shutting down")
            loop = asyncio.new_event_loop()
            ready = threading.Event()
            thread = threading.Thread(
                target=_serve, args=(loop, ready), name=_THREAD_NAME, daemon=True
            )
            thread.start()
            ready.wait()
            _loop, _thread, _pid = loop, thread, os.getpid()
        return loop


def is_running() -> bool:
    """Whether the private loop runs in this process (it is never started by this call)."""
    thread = _thread
    return _loop is not None and thread is not None and thread.is_alive() and _pid == os.getpid()


def in_loop_thread() -> bool:
    """Whether the caller runs on the private loop's thread."""
    return _thread is not None and threading.current_thread() is _thread


def submit(coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
    """Run ``coro`` as a task on the private loop; returns a thread-safe future of its result.

    Cancelling the returned future cancels the task.
    """
    return asyncio.run_coroutine_threadsafe(coro, get_loop())


def call_soon(callback: Callable[..., object], *args: object) -> None:
    """Call ``callback(*args)`` on the private loop's thread, soon (thread-safe)."""
    get_loop().call_soon_threadsafe(callback, *args)


@atexit.register
def _stop() -> None:
    # Stop the loop so that interpreter shutdown does not tear it down mid-iteration.
    loop, thread = _loop, _thread
    if loop is None or thread is None or not thread.is_alive() or _pid != os.getpid():
        return
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=2)
    if not thread.is_alive():
        loop.close()
