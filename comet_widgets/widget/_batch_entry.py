"""The panel's batch entry point: ``ImageGenerator.generate_many``.

A batch runs ``comet_widgets.generate_many`` on the panel's private loop with the panel's
current parameters as defaults. Every finished item lands in the same gallery and history as a
single generation does, as soon as it arrives; the status line counts the items. Cancel stops
the batch: items already finished stay (each is a complete generation), nothing half-done lands.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

from .._errors import InvalidParameterError, MissingAPIKeyError
from ..batch._prompts import text_prompts
from ._gallery import make_previews
from ._pending import Job, PendingGeneration

if TYPE_CHECKING:
    from ..batch._results import BatchItem, BatchResults
    from ._panel import ImageGenerator

__all__ = ["BatchEntry", "prompts_of"]

_NOT_PARAMS = ("prompt",)


def prompts_of(prompts: str | Iterable[str | Mapping[str, Any]]) -> list[str | Mapping[str, Any]]:
    """Items of a batch: a text is one prompt per line, as in a ``.txt`` prompt file (blank
    lines and lines starting with ``#`` skipped)."""
    if isinstance(prompts, str):
        return [prompt for _, prompt in text_prompts(prompts)]
    return list(prompts)


class BatchEntry:
    """Mixed into ``ImageGenerator``: generate many prompts into the same gallery and history."""

    def generate_many(
        self,
        prompts: str | Iterable[str | Mapping[str, Any]],
        **options: Any,
    ) -> PendingGeneration[BatchResults]:
        """Generate a batch with the panel's current parameters as defaults.

        ``prompts`` is a list of prompts (or dicts of per-item parameters, as for
        ``comet_widgets.generate_many``) or a text with one prompt per line. ``options`` are
        ``generate_many``'s keyword arguments (``concurrency``, ``requests_per_minute``,
        ``output_dir``, ``resume``, parameters...). Returns at once with an awaitable of the
        ``BatchResults``; each finished item's images land in the gallery and ``history`` as they
        arrive. Invalid items refuse the whole batch before anything is sent (shown in the
        panel, raised by the awaitable). Raises ``RuntimeError`` while the panel is busy.
        """
        panel = cast("ImageGenerator", self)
        if panel.running:
            raise RuntimeError("a generation is already running: await gen.wait() or gen.cancel()")
        items = prompts_of(prompts)
        notice = panel._source.missing_key()
        panel._view.show_notice(notice)
        if notice is not None:
            panel._settle("error", notice)
            raise MissingAPIKeyError(notice)
        if not items:
            raise InvalidParameterError(
                "prompts",
                prompts,
                "give at least one non-empty prompt (a list, or a text with one per line)",
                reason="generate_many() got no prompt",
            )
        values = panel._values()
        defaults = {k: v for k, v in values.items() if k not in _NOT_PARAMS and v is not None}
        defaults.update(options)
        job = Job({"batch": len(items)})
        future = panel._start(job, _run_batch(panel, job, items, defaults))
        panel._view.show_status(f"running: batch of {len(items)}")
        return PendingGeneration(future)


async def _run_batch(
    panel: ImageGenerator, job: Job, items: list[Any], options: dict[str, Any]
) -> BatchResults:
    from ..batch._generate import generate_many

    total, finished = len(items), 0

    async def on_item(item: BatchItem) -> None:
        nonlocal finished
        finished += 1
        generation = item.generation
        if generation is not None and not job.cancelled:
            previews, decoded = await asyncio.to_thread(make_previews, generation)
            if not job.cancelled:
                panel._add_generation(generation, previews, decoded)
        if not job.cancelled:
            panel._view.show_status(f"running: batch {finished}/{total} done")

    async with panel._running(job):
        client = panel._source.get()
        results = await generate_many(items, client=client, on_result=on_item, **options)
    if not job.claim():  # cancelled as it finished: the panel already says so
        return results
    failed = results.failed
    error = ""
    if failed:
        first = failed[0].error or {}
        error = f"{len(failed)} of {total} items failed; first: {first.get('message', '?')}"
    status = "error" if failed and not results.ok else "done"
    panel._settle(status, error, job=job)
    panel._view.show_status(
        f"{status}: batch of {total}, {len(results.ok)} ok, {len(failed)} failed"
    )
    return results
