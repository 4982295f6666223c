"""The batch view: a panel batch's placeholders (one per image, in input order), each item's
images landing in their tiles as they arrive, and the batch's one history card."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from .._errors import failure_summary
from ..batch._prompts import text_prompts
from ..images._results import Generation, PartialImage
from ._gallery import Preview, make_previews
from ._history import Run
from ._partials import PartialPreviews
from ._pending import Job
from ._run import RunController, locked
from ._status import Message, panel_message, plural

if TYPE_CHECKING:
    from ..batch._results import BatchItem, BatchResults

__all__ = ["batch_job", "prompts_of", "run_batch"]


def prompts_of(prompts: str | Iterable[str | Mapping[str, Any]]) -> list[str | Mapping[str, Any]]:
    """Items of a batch: a text is one prompt per line, as in a ``.txt`` prompt file (blank
    lines and lines starting with ``#`` skipped)."""
    if isinstance(prompts, str):
        return [prompt for _, prompt in text_prompts(prompts)]
    return list(prompts)


def _count(n: Any) -> int:
    """An item's number of images for its placeholders: a value the batch refuses (checked
    before anything is sent) counts as one."""
    return n if isinstance(n, int) and not isinstance(n, bool) and n > 0 else 1


def batch_job(items: list[Any], n: int, editing: bool) -> tuple[Job, list[int]]:
    """A batch's job (its tiles' labels, "Prompt 2 of 3 · image 1 of 2") and each item's
    number of images (its own ``n``, else ``n``)."""
    counts = [_count(item.get("n", n)) if isinstance(item, Mapping) else n for item in items]
    job = Job({"batch": len(items)})
    job.slots = sum(counts)
    job.labels = [
        f"Prompt {number} of {len(items)}" + (f" · image {k} of {count}" if count > 1 else "")
        for number, count in enumerate(counts, 1)
        for k in range(1, count + 1)
    ]
    verb = "Editing" if editing else "Generating"
    job.what = f"{verb} a batch of {plural(len(items), 'prompt')}"
    return job, counts


async def run_batch(
    runner: RunController,
    job: Job,
    items: list[Any],
    counts: list[int],
    options: dict[str, Any],
    edit_of: tuple[str, str],
) -> BatchResults:
    """A panel batch's work, on the private loop: each finished item's images land in their
    tiles (and in ``history``) as they arrive, under the panel's lock; the whole batch lands
    as one run."""
    from ..batch._generate import generate_many

    total, finished = len(items), 0
    starts = [sum(counts[:i]) for i in range(len(counts))]
    landed: dict[int, tuple[Generation, list[Preview]]] = {}
    ended: set[int] = set()
    previewers: dict[int, PartialPreviews] = {}

    def on_partial(index: int, image: PartialImage) -> Any:
        """Item ``index``'s partial previews go to its own tiles while it runs."""
        if index not in previewers:
            previewers[index] = PartialPreviews(
                lambda number, data, fmt: runner.show_partial(
                    job, starts[index] + number, data, fmt
                ),
                lambda: runner.job is job and not job.settled and index not in ended,
            )
        return previewers[index](image)

    async def on_item(item: BatchItem) -> None:
        nonlocal finished
        finished += 1
        ended.add(item.index)
        generation = item.generation
        if not item.skipped and item.duplicate_of is None:  # requested by this batch
            runner.spend(generation or getattr(item.exception, "generation", None))
        if generation is not None and not job.cancelled:
            previews, decoded = await asyncio.to_thread(make_previews, generation)
            with runner._lock:
                if not job.cancelled:
                    landed[item.index] = (generation, previews)
                    runner.gallery.fill(starts[item.index], previews)
                    runner.publish(generation, decoded)
        if not job.cancelled:
            verb = "Editing" if edit_of[0] else "Generating"
            job.what = f"{verb} a batch: {finished} of {plural(total, 'prompt')} done"
            runner.show_progress(job)

    async with runner.working(job):
        results = await generate_many(
            items, client=runner.client(), on_result=on_item, on_partial=on_partial, **options
        )
    _land(runner, job, results, landed, edit_of)
    return results


@locked
def _land(
    runner: RunController,
    job: Job,
    results: BatchResults,
    landed: dict[int, tuple[Generation, list[Preview]]],
    edit_of: tuple[str, str],
) -> None:
    """Land a finished batch (unless it was cancelled as it finished: the panel says so)."""
    panel = runner.panel
    if not job.claim():
        return
    total = len(results)
    order = sorted(landed)
    run = Run(
        [landed[i][0] for i in order],
        [p for i in order for p in landed[i][1]],
        batch=total,
        items=order,
        edit_of=edit_of[0],
        edit_title=edit_of[1],
    )
    failed = results.failed
    error = ""
    summary = f"Done: batch of {plural(total, 'prompt')}, {len(results.succeeded)} done"
    if failed:
        numbers = ", ".join(str(item.index + 1) for item in failed[:5])
        summary += f"; prompt{'s' if len(failed) > 1 else ''} {numbers} failed"
        error = failure_summary(failed, total, noun="prompt", start=1)
    status = "error" if failed and not results.succeeded else "done"
    with panel.hold_trait_notifications():
        if run.generations:
            runner.add_run(run)
            # ``history`` got each item as it arrived; keep this batch in input order.
            before = [g for g in panel.history if g not in run.generations]
            panel.set_trait("history", [*before, *run.generations])
        job.summary = summary
        message = None
        if failed:
            first = failed[0].exception
            said = (
                panel_message(first)
                if first
                else Message("the reason is in Details.", details=(error,))
            )
            what = (
                f"{len(failed)} of {plural(total, 'prompt')} failed; prompt {failed[0].index + 1}"
            )
            message = replace(said, what=f"{what}: {said.what}")
        runner.settle(status, error, job=job, message=message)
        if status == "done" and message is not None:
            runner.view.show_error(message)
        runner.say_unstreamed(
            item.generation
            for item in results
            if item.generation is not None and item.params.get("stream") and not item.skipped
        )
