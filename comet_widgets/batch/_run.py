"""The engine of ``generate_many``: a worker pool over a queue, persisting as items finish.

``generate_many`` (``_generate.py``) validates and plans; ``BatchRun`` rebuilds resumed items
from the folder's manifests, runs ``concurrency`` workers that pull items from one queue through
one shared ``RequestLimiter``, and for each answer saves the images (fsynced) in a thread, then
appends the manifest line (fsynced). Answers received before a cancellation are still written.

With a budget, a worker admits an item only when what the batch has spent (the cost of the
finished items, resumed ones included), plus the estimates of the items in flight, plus this
item's estimate stays within it. When it would not, the worker waits for the items in flight
(their actual costs usually come in under their estimates); once none is left in flight the
item is marked over budget, not sent, and the next one is tried.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, InitVar, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .._catalog import Price
from .._cost import estimate_payload
from .._errors import (
    AuthenticationError,
    ClientClosedError,
    CometError,
    MissingAPIKeyError,
    error_payload,
)
from ..client._limits import RequestLimiter
from ..images._formats import EXTENSIONS
from ..images._results import save_in, slug
from ._manifest import (
    MANIFEST_NAME,
    ManifestWriter,
    fsync_directory,
    manifest_files,
    read_manifest,
    shard_manifest_name,
)
from ._progress import Progress, ProgressCallback, TerminalProgress, make_progress
from ._results import (
    BatchItem,
    BatchResults,
    StoredImage,
    cost_from_record,
    generation_from_record,
    record_of,
)

if TYPE_CHECKING:
    from ..images._results import Generation, PartialImage

from ._edits import edit_files

__all__ = ["BatchRun", "PayloadClient", "Planned"]


class PayloadClient(Protocol):
    """What a batch needs from a client: ``generate_payload`` (``AsyncImageClient`` has it)."""

    async def generate_payload(
        self,
        payload: dict[str, Any],
        *,
        limiter: RequestLimiter | None = None,
        on_partial: Callable[[PartialImage], object] | None = None,
    ) -> Generation: ...


@dataclass
class Planned:
    """One validated item: its input index, request body, key and labels."""

    index: int
    payload: dict[str, Any]
    key: str
    meta: dict[str, Any]


#: Failures that would repeat for every item: they stop the batch instead of being recorded.
_BATCH_FATAL = (MissingAPIKeyError, AuthenticationError, ClientClosedError)
#: Seconds between two redraws of a terminal's bar while no item finishes.
TICK = 1.0
#: Slack for float sums when comparing with a budget (a nano-dollar).
_BUDGET_SLACK = 1e-9


@dataclass(eq=False, repr=False)
class BatchRun:
    """One execution of a planned batch."""

    planned: InitVar[list[Planned]]
    _: KW_ONLY
    folder: Path | None
    shard: tuple[int, int] | None
    resume: bool
    sidecar: bool
    limiter: RequestLimiter
    on_result: Callable[[BatchItem], object] | None
    on_partial: Callable[[int, PartialImage], object] | None
    #: The bytes of in-memory edit inputs, by hash (``_edits.hold_inputs``).
    held: Mapping[str, bytes]
    prices: Mapping[str, Price] | None
    budget: float | None
    #: USD spent by finished (and resumed) requests, and estimated for those in flight.
    spent: float = field(default=0.0, init=False)
    reserved: float = field(default=0.0, init=False)
    #: Counted apart: float sums of estimates need not return to 0.0.
    in_flight: int = field(default=0, init=False)
    writer: ManifestWriter | None = field(default=None, init=False)
    progress: Progress | None = field(default=None, init=False)

    def __post_init__(self, planned: list[Planned]) -> None:
        #: Each item's estimated cost, by input index.
        self.estimates = {p.index: estimate_payload(p.payload, prices=self.prices) for p in planned}
        self.items: dict[int, BatchItem] = {}
        # key -> indexes of every item with that body, the first one requested
        self.by_key: dict[str, list[int]] = {}
        for p in planned:
            params = {k: v for k, v in p.payload.items() if k != "prompt"}
            self.items[p.index] = BatchItem(
                p.index, p.payload["prompt"], params, p.key, meta=p.meta
            )
            self.by_key.setdefault(p.key, []).append(p.index)
        name = shard_manifest_name(*self.shard) if self.shard else MANIFEST_NAME
        self.manifest = self.folder / name if self.folder is not None else None
        self._room = asyncio.Condition()
        self._persisting: set[asyncio.Future[None]] = set()

    async def execute(
        self, client: PayloadClient, progress: bool | ProgressCallback | Progress
    ) -> BatchResults:
        started = time.perf_counter()
        sleep = getattr(client, "sleep", None)
        if callable(sleep):  # the client's injected sleep applies within batches too
            self.limiter.sleep_with(sleep)
        self.progress = make_progress(progress, len(self.items))
        ticker = asyncio.ensure_future(self._tick(self.progress))
        try:
            if self.manifest is not None:  # it makes the folder
                self.writer = await asyncio.to_thread(ManifestWriter, self.manifest)
            pending = await self._resume() if self.resume else list(self.by_key)
            queue = deque(self.by_key[key][0] for key in pending)
            count = min(self.limiter.concurrency or 1, len(queue))
            tasks = [asyncio.ensure_future(self._worker(client, queue)) for _ in range(count)]
            try:
                await asyncio.gather(*tasks)
            except BaseException:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise
            finally:
                # Answers already received are written even when the batch is cancelled.
                while self._persisting:
                    await asyncio.gather(*self._persisting, return_exceptions=True)
        finally:
            ticker.cancel()
            await asyncio.gather(ticker, return_exceptions=True)
            if self.writer is not None:
                self.writer.close()
            if self.progress is not None:
                self.progress.close()
        return BatchResults(
            list(self.items.values()),
            output_dir=self.folder,
            manifest=self.manifest,
            elapsed=time.perf_counter() - started,
            shard=self.shard,
            budget_usd=self.budget,
        )

    @staticmethod
    async def _tick(progress: Progress | None) -> None:
        """Redraw a terminal's bar every second, so that its elapsed time runs while the items
        in flight take minutes (other displays change only when an item finishes)."""
        if not isinstance(progress, TerminalProgress):
            return
        while True:
            await asyncio.sleep(TICK)
            progress.update()

    async def _resume(self) -> list[str]:
        """Rebuild items done in earlier runs; return the keys still to request."""
        assert self.folder is not None
        assert self.manifest is not None
        folder, own = self.folder, self.manifest

        own_rows: set[tuple[str, Any]] = set()  # (key, index) of this manifest's rows

        def load() -> dict[str, dict[str, Any]]:
            done: dict[str, dict[str, Any]] = {}
            # Later successful lines win (a --no-resume run rewrote the same file names), and
            # this run's own manifest wins over the folder's others: it is read last.
            files = [f for f in manifest_files(folder) if f != own] + [own]
            for file in files:
                for record in read_manifest(file):
                    key = record["key"]
                    if key in self.by_key and record.get("error") is None:
                        done[key] = record
                        if file == own:
                            own_rows.add((key, record.get("index")))
            return done

        done = await asyncio.to_thread(load)
        pending = []
        for key, indexes in self.by_key.items():
            record = done.get(key)
            generation = generation_from_record(record, folder) if record else None
            if record is None or generation is None:
                pending.append(key)
                continue
            generation.prices = self.prices
            cost = cost_from_record(record) or generation.cost
            self.spent += cost.usd or 0.0
            for position, index in enumerate(indexes):
                item = self.items[index]
                item.cost = None if position else cost
                item.generation = generation
                item.paths = [img.path for img in generation.images if isinstance(img, StoredImage)]
                item.skipped = True
                item.elapsed = record.get("elapsed")
                item.duplicate_of = indexes[0] if position else None
                if (key, index) not in own_rows and self.writer is not None:
                    # Found in another manifest of this folder (another shard layout), or under
                    # another item with the same body: write its row, so this manifest alone
                    # describes every item it covers, each with its own labels.
                    row = record if record.get("index") == index else record_of(item, folder)
                    await asyncio.to_thread(self.writer.append, row)
                await self._report(item, "resumed")
        return pending

    async def _admit(self, index: int) -> bool:
        """Reserve item ``index``'s estimate within the budget (waiting for items in flight
        when it does not fit yet); False when it cannot fit."""
        if self.budget is None:
            return True
        estimate = self.estimates[index].usd or 0.0
        async with self._room:
            while self.spent + self.reserved + estimate > self.budget + _BUDGET_SLACK:
                if not self.in_flight:
                    return False
                await self._room.wait()
            self.reserved += estimate
            self.in_flight += 1
        return True

    async def _settle(self, index: int) -> None:
        """Item ``index`` is done: its cost replaces its reserved estimate."""
        if self.budget is None:
            return
        cost = self.items[index].cost
        async with self._room:
            self.reserved -= self.estimates[index].usd or 0.0
            self.in_flight -= 1
            if cost is not None and cost.usd is not None:
                self.spent += cost.usd
            self._room.notify_all()

    async def _worker(self, client: PayloadClient, queue: deque[int]) -> None:
        while queue:
            first = queue.popleft()
            item = self.items[first]
            if not await self._admit(first):
                for index in self.by_key[item.key]:
                    self.items[index].over_budget = True
                    await self._report(self.items[index], "over_budget")
                continue
            try:
                await self._run_item(client, item)
            finally:
                await self._settle(first)

    async def _run_item(self, client: PayloadClient, item: BatchItem) -> None:
        """Send one item, persist its outcome, and report it and its duplicates."""
        first = item.index
        payload = {"prompt": item.prompt, **item.params}
        started = time.perf_counter()
        generation: Generation | None = None
        exception: BaseException | None = None
        on_partial = None  # the user's, with the item's index
        if self.on_partial is not None and item.params.get("stream"):
            on_partial = functools.partial(self.on_partial, first)
        try:
            if "image" in payload:  # an edit: files named in the item, or held bytes
                generation = await edit_files(
                    client, payload, limiter=self.limiter, held=self.held, on_partial=on_partial
                )
            else:
                generation = await client.generate_payload(
                    payload, limiter=self.limiter, on_partial=on_partial
                )
        except _BATCH_FATAL:
            raise  # every other item would fail the same way: stop the batch
        except CometError as exc:
            generation, exception = exc.generation, exc
        except Exception as exc:  # a bug or an unexpected failure stays with its item
            exception = exc
        elapsed = time.perf_counter() - started
        if self.folder is None:
            # Nothing to write: recording the result in memory is cheaper than a thread hop
            # (which delays this worker's next request; see bench/RESULTS.md).
            self._persist(item, generation, exception, elapsed)
        else:
            persist = asyncio.ensure_future(
                asyncio.to_thread(self._persist, item, generation, exception, elapsed)
            )
            self._persisting.add(persist)
            persist.add_done_callback(self._persisting.discard)
            await asyncio.shield(persist)
        indexes = self.by_key[item.key]
        for position, index in enumerate(indexes):
            other = self.items[index]
            if position:
                other.generation, other.paths = item.generation, item.paths
                other.error, other.exception = item.error, item.exception
                other.elapsed, other.duplicate_of = item.elapsed, first
                if self.writer is not None:  # its own row, with its own labels
                    await asyncio.to_thread(self.writer.append, record_of(other, self.folder))
            await self._report(other, "succeeded" if other.ok else "failed")

    def _stem(self, item: BatchItem, generation: Generation) -> str:
        """The images' names without ``-<image>.<ext>``: ``00012-a-red-fox``. A name already taken
        in the folder (another body at this index, a ``--no-resume`` rerun) is never replaced:
        the key's first 8 hex digits are added then."""
        assert self.folder is not None
        stem = f"{item.index:05d}-{slug(item.prompt, 40)}"
        names = [
            f"-{image.index}{EXTENSIONS[image.format or 'png']}" for image in generation.images
        ]
        if any((self.folder / (stem + name)).exists() for name in names):
            stem += f"-{item.key[:8]}"
        return stem

    def _persist(
        self,
        item: BatchItem,
        generation: Generation | None,
        exception: BaseException | None,
        elapsed: float,
    ) -> None:
        """Record the outcome; with a folder (in a thread), save the images, then append the
        manifest line."""
        item.elapsed = elapsed
        item.exception = exception
        item.error = error_payload(exception) if exception is not None else None
        # what the request cost: its answer's cost, else its estimate when the failure may
        # have been billed (``CometError.billable``), else None (nothing billed)
        if generation is not None:
            generation.prices = self.prices
            item.cost = generation.cost
        elif isinstance(exception, CometError) and exception.billable:
            item.cost = self.estimates[item.index]
        if generation is not None and exception is None and self.folder is not None:
            stem = self._stem(item, generation)
            moved: OSError | None = None
            for position, image in enumerate(generation.images):
                if not image.ok:
                    continue
                path, problem = save_in(
                    image,
                    self.folder,
                    name=f"{stem}-{image.index}",
                    # None: a sidecar only where the format has no text chunks (JPEG, WebP, GIF)
                    sidecar=True if self.sidecar else None,
                    fsync=True,
                )
                moved = moved or problem
                # From now on the bytes live in the file, not in memory.
                generation.images[position] = StoredImage.of(
                    image, path, url=image.url, generation=generation
                )
                item.paths.append(path)
            if moved is not None:  # paid for, kept elsewhere; the batch stops (see generate_many)
                where = ", ".join(map(str, item.paths))
                raise OSError(
                    f"item {item.index}'s images could not be written in {self.folder}"
                    f" ({moved.strerror or moved}); they are saved as {where} instead",
                )
            fsync_directory(self.folder)
        item.generation = generation if exception is None else None
        if self.writer is not None:
            self.writer.append(record_of(item, self.folder))

    async def _report(self, item: BatchItem, outcome: str) -> None:
        """Count ``item`` as ``outcome`` (a ``Progress.update`` keyword) and pass it on."""
        if self.progress is not None:
            self.progress.update(**{outcome: 1})
        if self.on_result is not None:
            called = self.on_result(item)
            if inspect.isawaitable(called):
                await called
