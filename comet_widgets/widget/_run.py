"""The panel's run controller: start, tick, progress, partials, land, settle and cancel.

Also ``locked`` (the panel lock's decorator).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field, replace
from functools import partial, wraps
from typing import TYPE_CHECKING, Any, TypeVar, cast

from .._errors import CometError, describe
from ..images._results import GeneratedImage, Generation
from . import _loop
from ._client_source import ClientSource
from ._controls import Controls
from ._dom import show
from ._gallery import Gallery, Preview, make_previews
from ._header import Header
from ._history import HistoryStrip, Run
from ._partials import PartialPreviews
from ._pending import Job
from ._static import StaticView
from ._status import Message, StatusView, count_text, panel_message, status_text
from ._words import AGAIN

if TYPE_CHECKING:
    from .._cost import Cost
    from ..client._client import AsyncImageClient

__all__ = ["SHEET_CELL", "RunController", "locked"]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
#: A request: ``(client, on_partial, on_retry) -> Generation``.
Request = Callable[[Any, Any, Callable[..., None]], Awaitable[Generation]]

_TICK_SECONDS = 0.5  # the elapsed label: twice a second is plenty for IOPub
SHEET_CELL = 160


def kept(error: CometError) -> Generation | None:
    """What a failed request still delivered, to land like any answer: a stream that broke
    after completed images keeps them (paid for) on ``error.generation``; each slot that got
    nothing carries ``error``, so its tile says why. None when no image arrived."""
    generation: Generation | None = error.generation
    if generation is None or not any(image.ok for image in generation.images):
        return None
    for index in range(len(generation.images), generation.requested):
        generation.images.append(GeneratedImage(index=index, error=error, generation=generation))
    return generation


def locked(method: F) -> F:
    """Run ``method`` holding its object's ``_lock``: the panel's lock (see ``RunController``)."""

    @wraps(method)
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return cast(F, run)


@dataclass(eq=False)
class RunController:
    """The lifecycle of a panel's runs (a generation, an edit or a batch), and its results.

    Threading rules. Two threads touch a panel: the kernel's (cells, and the handlers of the
    browser's messages; under ipykernel 7 maybe a comm subshell's thread) and the private
    loop's (``_loop``), where every run's work runs and its answers arrive. One owner: the
    panel's ``RLock`` (``lock``). Every write to the panel's traits and widgets holds it: the
    panel's ``__setattr__`` takes it for each trait write (a cell's included), the handlers
    the browser reaches take it (``@locked``), and so does every loop-side callback here. So
    ``hold_trait_notifications`` only runs on the thread holding the lock, and a write from the
    other thread waits for the hold to end and is validated as it is made. The lock is held for
    synchronous work only: never across an ``await``, and nothing holding it waits for the loop
    (neither thread can stall the other for longer than one such step). Decoding and encoding
    run in worker threads, without it. A job settles once (``Job.claim``, under the lock):
    landed, failed or cancelled, whichever comes first; nothing of a settled job shows after.
    The parts' own view-only clicks (More options, View, the lightbox's paging, Save,
    selecting tiles, Download) hold it too: the parts take the panel's lock when built.
    """

    panel: Any  # the ImageGenerator: its result traits, ``mode`` and ``hold_trait_notifications``
    source: ClientSource
    controls: Controls
    gallery: Gallery
    view: StatusView
    history: HistoryStrip
    header: Header
    static: StaticView
    _lock: Any = field(default_factory=contextlib.nullcontext)
    job: Job | None = None
    runs: list[Run] = field(default_factory=list)
    shown: Run | None = None
    #: The settled status came from a refused parameter (cleared once it is fixed).
    from_validation: bool = False
    #: The session's priced costs (``spent_usd`` is its ``usd``; None before any), and whether
    #: a run of a model without a known price was left out of it.
    spent: Cost | None = None
    unpriced: bool = False
    #: The models this panel said the gateway does not stream (``say_unstreamed``).
    unstreamed: set[str] = field(default_factory=set)
    #: Called with each run that lands (under the lock; it must return at once): the panel
    #: hands it to its library's recorder (``_recording.py``).
    on_run: Callable[[Run], None] | None = None

    @property
    def running(self) -> bool:
        return self.job is not None and not self.job.settled

    @locked
    def client(self) -> AsyncImageClient:
        """The panel's client, built on first use (on the private loop); a client built here,
        e.g. by a ``client_factory``, names its address in the badge as soon as it exists."""
        built = self.source.client is None
        client = self.source.get()
        if built:
            self.header.point_at(str(client.base_url))
        return client

    def start(self, job: Job, work: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Make ``job`` the running one and submit its work to the private loop."""
        self.job = job
        job.started = time.monotonic()
        self.settle("running", "", job=job)
        future = _loop.submit(work)
        job.future = future
        future.add_done_callback(partial(self._future_done, job))
        return future

    async def wait(self) -> Generation | None:
        job = self.job
        if job is None or job.future is None:
            return None
        try:
            return await asyncio.shield(asyncio.wrap_future(job.future))
        except asyncio.CancelledError:
            if job.future.cancelled() or job.cancelled:
                return None
            raise
        except Exception:
            return None

    @locked
    def cancel(self, job: Job | None = None) -> None:
        """Settle ``job`` (by default the running one) as cancelled, from any thread; its task
        is cancelled on the loop."""
        job = job or self.job
        if job is not None and job.claim(cancel=True):
            self.settle("cancelled", "", job=job)
            _loop.call_soon(self._cancel_task, job)

    @staticmethod
    def _cancel_task(job: Job) -> None:
        if job.task is not None and job.task is not asyncio.current_task():
            job.task.cancel()

    def _future_done(self, job: Job, future: concurrent.futures.Future[Any]) -> None:
        if future.cancelled():  # e.g. the cell awaiting it was interrupted
            self.cancel(job)

    async def call(
        self, job: Job, request: Request, *, previews: bool, edit: Run | None = None
    ) -> Generation:
        """A generation's or an edit's work, on the private loop: send ``request`` (with
        partial previews to the tiles when ``previews``), then land its answer."""
        async with self.working(job):
            on_partial = None
            if previews:
                on_partial = PartialPreviews(
                    partial(self.show_partial, job),
                    lambda: self.job is job and not job.settled and not job.cancelled,
                )
            try:
                generation = await request(self.client(), on_partial, partial(self.on_retry, job))
            except CometError as error:
                delivered = kept(error)
                if delivered is None:
                    raise
                generation = delivered
            self.spend(generation)  # paid for, even if it is cancelled now
            previews_, decoded = await asyncio.to_thread(make_previews, generation)
            if job.cancelled or not self.land(job, generation, previews_, decoded, edit=edit):
                raise asyncio.CancelledError
            return generation

    @contextlib.asynccontextmanager
    async def working(self, job: Job) -> AsyncIterator[None]:
        """Run a job's work on the private loop: the elapsed ticker, cancelling, and failures
        shown in the panel (a generation's or a batch's)."""
        if job.cancelled:
            raise asyncio.CancelledError
        job.task = asyncio.current_task()
        ticker = asyncio.ensure_future(self._tick(job))
        try:
            yield
        except asyncio.CancelledError:
            self.cancel(job)
            raise
        except Exception as exc:
            with self._lock:
                self.spend(getattr(exc, "generation", None))  # an answer whose images all failed
                if job.claim():
                    self.settle("error", describe(exc), job=job, message=panel_message(exc))
            raise
        finally:
            ticker.cancel()

    async def _tick(self, job: Job) -> None:
        while not job.settled:
            self.show_progress(job)
            await asyncio.sleep(_TICK_SECONDS)

    @locked
    def show_progress(self, job: Job, *, starting: bool = False) -> None:
        """The running status line, elapsed time and placeholders (true at every tick)."""
        if job is not self.job or job.settled:
            return
        elapsed = 0.0 if starting else job.elapsed
        self.view.show_elapsed(elapsed)
        self.gallery.tick(elapsed)
        wait = job.retry_until - time.monotonic()
        if wait > 0:
            self.view.show_status(f"{job.retry_reason}: retrying in {math.ceil(wait)} s")
        else:
            tries = f" (retry {len(job.retries)})" if job.retries else ""
            self.view.show_status(f"{job.what}...{tries}")

    def on_retry(self, job: Job, error: CometError, delay: float) -> None:
        limited = getattr(error, "status_code", None) == 429
        what = "Rate limited by the API" if limited else panel_message(error).what.rstrip(".")
        request_id = getattr(error, "request_id", None)
        rid = f" (request id {request_id})" if request_id else ""
        job.retries.append(f"{what}; retried after {round(delay, 1):g} s{rid}")
        job.retry_reason = what
        job.retry_until = time.monotonic() + delay
        self.show_progress(job)

    @locked
    def show_partial(self, job: Job, index: int, data: bytes, fmt: str) -> None:
        if self.job is job:
            self.gallery.show_partial(index, data, fmt)

    @locked
    def land(
        self,
        job: Job,
        generation: Generation,
        previews: list[Preview],
        decoded: list[Any],
        *,
        edit: Run | None = None,
    ) -> bool:
        """Show a finished generation; False (nothing lands) when it was cancelled meanwhile."""
        if not job.claim():
            return False
        failed = [image for image in generation.images if not image.ok]
        error = ""
        if failed:
            first = failed[0]
            reason = describe(first.error) if first.error else "no image data"
            error = f"{count_text(generation)}: {reason}"
        # An edit's run was made when it started (what it edits), without its results.
        run = replace(edit or Run([], []), generations=[generation], previews=previews)
        # Every observer fires after all of these are set, so each sees a consistent panel.
        with self.panel.hold_trait_notifications():
            self.add_run(run)
            self.publish(generation, decoded)
            self.settle("done", error, job=job, shown=True)
            if job.payload.get("partial_images"):
                self.say_unstreamed([generation])
        return True

    def say_unstreamed(self, asked: Iterable[Generation]) -> None:
        """Say once per model, in words, that this gateway does not stream it: ``asked`` are
        answers to requests for previews, and one that did not stream tells (the client then
        sends that model's later runs without asking, so this panel does not say it again)."""
        models = sorted({g.model for g in asked if not g.streamed} - self.unstreamed)
        if models:
            self.unstreamed.update(models)
            names = " and ".join(models)
            self.view.show_stream_notice(
                f"Previews are off for {names}: this gateway sends"
                f" {'its' if len(models) == 1 else 'their'} images whole, without previews."
            )

    def add_run(self, run: Run) -> None:
        """Show a finished run: gallery, history strip and the static view."""
        self.runs.append(run)
        self.show_run(run)
        self.history.add(run)
        self._update_static(run)
        self.header.saw_request_id(run.generations[-1].request_id)
        if self.on_run is not None:
            self.on_run(run)

    def show_run(self, run: Run | None) -> None:
        self.shown = run
        if run is None:
            self.gallery.show([], None)
            return
        usage = run.generations[0].usage if len(run.generations) == 1 else None
        costs = [generation.cost for generation in run.generations]
        cost = sum(costs[1:], costs[0])
        self.gallery.show(run.previews, usage, cost, self._session_text())

    def _session_text(self) -> str:
        """The session's total in words: '$0.42', 'about $0.42 and unpriced runs', 'unpriced'."""
        spent = [str(self.spent)] if self.spent is not None else []
        if self.unpriced:
            spent.append("unpriced runs" if spent else "unpriced")
        return " and ".join(spent)

    def _update_static(self, run: Run) -> None:
        from ..images._previews import decode_image, sheet_image

        # From the thumbnails (an SVG's is its text): no run keeps its decoded images, which
        # the decoded-image cache holds and drops (a batch's may be many more than it holds).
        images = [decode_image(p.data) for p in run.previews if p.data and p.format != "svg+xml"]
        if not images:
            return
        # The grid itself, not a PNG of it: the static view makes its own small encodings,
        # and the panel's own repr encodes a PNG only if it is ever asked for one.
        sheet = sheet_image(images, cell=SHEET_CELL)
        captions = [p.caption for p in run.previews if p.data is not None]
        generation = run.generations[-1]
        what = f"batch of {run.batch} prompts" if run.batch else count_text(generation)
        title = f"latest run: {what} · {generation.model}"
        self.static.update(sheet, captions, title)

    @locked
    def spend(self, generation: Generation | None) -> None:
        """Add what an answer cost to the session's total (``spent_usd``), on the loop's
        thread, where every run's answer arrives."""
        if generation is None:
            return
        cost = generation.cost
        if cost.usd is None:
            self.unpriced = True
            return
        self.spent = cost if self.spent is None else self.spent + cost
        self.panel.set_trait("spent_usd", self.spent.usd)

    @locked
    def publish(self, generation: Generation, decoded: list[Any]) -> None:
        """Set the result traits (``history`` gets the generation appended)."""
        panel = self.panel
        with panel.hold_trait_notifications():
            panel.set_trait("history", [*panel.history, generation])
            panel.set_trait("generation", generation)
            panel.set_trait("images", decoded)

    @locked
    def settle(
        self,
        status: str,
        error: str,
        *,
        job: Job | None = None,
        message: Message | None = None,
        from_validation: bool = False,
        shown: bool = False,
    ) -> None:
        """Set ``status`` and ``error`` and show them (from any thread; a job's from the loop).

        ``message`` is the error box's text; ``shown=True``: the problem is already shown
        elsewhere (the key notice, a tile, the validation box), so no error box.
        """
        if job is not None and job is not self.job:
            return
        self.from_validation = from_validation
        running = status == "running"
        with self.panel.hold_trait_notifications():
            self.panel.set_trait("status", status)
            self.panel.set_trait("error", error)
        if running and job is not None:
            self.gallery.pending(job.slots, job.labels or None)
            self.view.show_stream_notice(None)  # said once, for the run that found it out
            self.show_progress(job, starting=True)
        else:
            if job is not None:
                self.gallery.settle()
                if status != "done" and not self.gallery.shown:  # nothing of it landed
                    self.show_run(self.shown)  # back to what was shown
            retries = job.retries if job is not None else []
            text = status_text(status, self.panel.generation, retries)
            self.view.show_status(job.summary if status == "done" and job and job.summary else text)
            # The elapsed time belongs to a run: its final time, or nothing.
            self.view.show_elapsed(job.elapsed if job is not None else None)
        if message is None and error and not (shown or from_validation) and status == "error":
            message = Message("Something went wrong.", AGAIN, (error,))
        if message is not None and self.panel.mode == "edit":  # the button says "Apply edit"
            message = message.button("Apply edit")
        self.view.show_error(message if status == "error" else None)
        show(self.view.next_note, running)
        self.controls.mark_next_run(running)
        show(self.controls.generate, not running)
        show(self.controls.cancel, running)
