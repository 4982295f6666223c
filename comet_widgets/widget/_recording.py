"""The panel's recording into its ``Library``: every run that lands, off the landing path.

``Recorder.record(run)`` only submits the work to a single-thread executor the panel owns
(``comet-library``), and that thread starts once the landing has let go of the panel's lock
(``after``): the run is in the panel before the library hashes, makes thumbnails and writes
its files and rows, so landing neither waits for SQLite or the disk nor competes with them for
the interpreter. One thread keeps a panel's runs in the order they landed. Whatever goes wrong
there (a folder that is not writable, a damaged database, a full disk) is caught and handed to
``on_done`` for the panel's quiet line (``cw-library-notice``: words, the reason behind
Details); the run itself stays in the panel, untouched.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from .._errors import InvalidParameterError
from ..library._library import Library, LibraryEntry

if TYPE_CHECKING:
    from ._history import Run

__all__ = ["Recorder", "library_of"]

#: What ``ImageGenerator(library=...)`` takes.
LibraryArg = Library | str | os.PathLike[str] | bool | None


def library_of(value: LibraryArg) -> Library | None:
    """The panel's library: ``None``/``True``: the default one (``COMET_WIDGETS_LIBRARY``, else
    the user's data folder); a ``Library`` or a path: that one; ``False``: none (record nothing).
    Nothing is opened here: the library opens on its first use, in the recording thread."""
    if value is False:
        return None
    if value is None or value is True:
        return Library()
    if isinstance(value, Library):
        return value
    if isinstance(value, (str, os.PathLike)):
        return Library(value)
    raise InvalidParameterError(
        "library",
        type(value).__name__,
        "a Library, a folder path, or False to record nothing",
    )


def _input_bytes(run: Run) -> list[bytes]:
    """The bytes an edit sent (its images, then its mask), as the client encoded them: the
    same hashes as ``generation.params`` holds."""
    from ..images._inputs import input_file, mask_file

    blobs = [input_file(item.source, "image", n).data for n, item in enumerate(run.inputs)]
    if run.mask is not None:
        blobs.append(mask_file(run.mask).data)
    return blobs


class Recorder:
    """Records a panel's landed runs into ``library`` in one worker thread of its own.

    ``on_done(entries, problem)`` is called in that thread after each run: the new entries
    and ``None``, or ``[]`` and the exception that stopped the library (for the panel's quiet
    line). ``after``: a lock the thread takes (and lets go at once) before it records, the
    panel's, which the landing holds. With ``library=None`` nothing is recorded and no thread
    is started.
    """

    def __init__(
        self,
        library: Library | None,
        on_done: Callable[[list[LibraryEntry], BaseException | None], None],
        *,
        after: AbstractContextManager[Any] | None = None,
    ) -> None:
        self.library = library
        self.on_done = on_done
        self._after = after if after is not None else contextlib.nullcontext()
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        #: The last run submitted: its one thread records runs in order, so when it is done
        #: every run before it is.
        self._last: concurrent.futures.Future[None] | None = None
        self._lock = threading.Lock()
        self._closed = False

    def record(self, run: Run, *, batch: str | None = None) -> None:
        """Submit ``run``'s generations for recording; returns at once."""
        if self.library is None or not run.generations:
            return
        with self._lock:
            if self._closed:
                return
            if self._executor is None:
                self._executor = concurrent.futures.ThreadPoolExecutor(1, "comet-library")
            self._last = self._executor.submit(self._record, self.library, run, batch)

    def _record(self, library: Library, run: Run, batch: str | None) -> None:
        with self._after:
            pass  # the landing that submitted this run has ended: record it now
        entries: list[LibraryEntry] = []
        problem: BaseException | None = None
        try:
            inputs = _input_bytes(run) if run.inputs and not run.batch else []
            items: list[int | None] = [*run.items] or [None] * len(run.generations)
            for generation, item in zip(run.generations, items, strict=True):
                entries += library.add(generation, inputs=inputs, batch=batch, item=item)
        except Exception as exc:  # the run has landed: nothing here may be lost in a log
            problem = exc
        self.on_done(entries, problem)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until every run submitted so far is recorded (or failed to be); False when
        ``timeout`` passed first."""
        last = self._last
        return last is None or not concurrent.futures.wait([last], timeout=timeout).not_done

    def close(self) -> None:
        """Let the runs already submitted finish in the background; accept no more."""
        with self._lock:
            self._closed = True
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False)
