"""``generate_many``: many prompts, paced, resumable, with every finished image on disk at once.

How a batch runs:

1. Every item is validated with ``build_payload`` before anything is sent: one invalid item
   refuses the whole batch (``InvalidItemError`` names its index, field, value and what is
   allowed), so nothing is paid for a batch with a typo at item 950.
2. Each item's key is the SHA-256 of its request body. Items with the same body are requested
   once and share the result (ask ``n=2`` for two variations of one prompt).
3. With ``output_dir`` and ``resume``, keys already in the folder's manifests without an error
   (and whose files still exist) are rebuilt from the manifest, not requested again.
4. ``BatchRun`` (``_run.py``) sends the rest through a pool of ``concurrency`` workers and one
   shared ``RequestLimiter``, within ``budget_usd``, and writes each item's images (fsynced)
   and then its manifest line (fsynced) as it finishes. A failed item records its error and
   the others go on; on cancellation, answered items are written before it propagates.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from .._catalog import build_payload, refuse_unknown
from .._constants import DEFAULT_MODEL
from .._errors import (
    BatchError,
    InvalidItemError,
    InvalidParameterError,
    key_from_env,
    missing_key,
)
from .._types import ImageParams, ImageRequest, Unpack, signed
from ..client._limits import RequestLimiter, check_number
from ..images._results import PartialImage
from ._edits import EDIT_INPUTS, Seen, edit_payload, hold_inputs
from ._manifest import item_key
from ._progress import Progress, ProgressCallback
from ._results import BatchItem, BatchResults
from ._run import BatchRun, PayloadClient, Planned

__all__ = [
    "BatchError",
    "BatchItem",
    "BatchResults",
    "InvalidItemError",
    "generate_many",
    "parse_shard",
]

Item = str | ImageRequest | Mapping[str, Any]


def parse_shard(shard: str | tuple[int, int] | None) -> tuple[int, int] | None:
    """``"1/4"`` or ``(1, 4)`` -> ``(1, 4)``; raises ``InvalidParameterError`` otherwise."""
    if shard is None:
        return None
    allowed = "write it as 'i/k' with 0 <= i < k, e.g. '0/4' (items whose index % k == i)"
    try:
        index, count = map(int, shard.split("/") if isinstance(shard, str) else shard)
    except (TypeError, ValueError):
        raise InvalidParameterError("shard", shard, allowed) from None
    if not 0 <= index < count:
        raise InvalidParameterError("shard", shard, allowed)
    return index, count


def _split_item(item: object) -> tuple[object, dict[str, Any], dict[str, Any]]:
    if isinstance(item, str):
        return item, {}, {}
    if isinstance(item, Mapping):
        fields = dict(item)
        meta = fields.pop("meta", None) or {}
        if not isinstance(meta, Mapping):
            raise InvalidParameterError("meta", meta, "a dict of labels", reason="bad meta")
        if "prompt" not in fields:
            raise InvalidParameterError(
                "prompt", None, "give each dict item a 'prompt'", reason="the item has no prompt"
            )
        return fields.pop("prompt"), fields, dict(meta)
    raise InvalidParameterError(
        "item", item, "give a prompt string or a dict with a 'prompt'", reason="bad item type"
    )


def plan(items: Iterable[object], defaults: Mapping[str, Any]) -> list[Planned]:
    """Validate every item; return their payloads and keys or raise ``InvalidItemError``."""
    planned: list[Planned] = []
    errors: list[tuple[int, InvalidParameterError]] = []
    seen: Seen = {}
    for index, item in enumerate(items):
        try:
            prompt, overrides, meta = _split_item(item)
            params = {k: v for k, v in defaults.items() if v is not None} | overrides
            if any(name in params for name in EDIT_INPUTS):
                payload = edit_payload(prompt, params, seen)
            else:
                payload = build_payload(prompt, **params)
                carried = sorted(set(payload) & set(EDIT_INPUTS))
                if carried:
                    raise InvalidParameterError(
                        "extra_body",
                        carried,
                        "give input images as the item's 'image' (and 'mask' or 'markup')",
                        reason=f"extra_body must not carry {', '.join(carried)}",
                    )
            try:
                key = item_key(payload)
            except (TypeError, ValueError):
                raise InvalidParameterError(
                    "extra_body", payload, "JSON values only", reason="not JSON serialisable"
                ) from None
        except InvalidParameterError as exc:
            errors.append((index, exc))
            continue
        planned.append(Planned(index, payload, key, meta))
    if errors:
        raise InvalidItemError(errors)
    return planned


@signed(ImageParams, model=DEFAULT_MODEL)
async def generate_many(
    items: Iterable[Item],
    *,
    client: PayloadClient | None = None,
    concurrency: int = 4,
    requests_per_minute: float | None = None,
    output_dir: str | os.PathLike[str] | None = None,
    resume: bool | None = None,
    sidecar: bool = False,
    progress: bool | ProgressCallback | Progress = False,
    raise_on_error: bool = False,
    on_result: Callable[[BatchItem], object] | None = None,
    on_partial: Callable[[int, PartialImage], object] | None = None,
    shard: str | tuple[int, int] | None = None,
    budget_usd: float | None = None,
    on_plan: Callable[[list[dict[str, Any]]], object] | None = None,
    **params: Unpack[ImageParams],
) -> BatchResults:
    """Generate images for many prompts; return a ``BatchResults`` in input order.

    ``items`` are prompt strings or dicts (``ImageRequest``: ``{"prompt": ..., "size": ...,
    "meta": {...}}``); the generation parameters are those of ``ImageParams`` (``_types.py``):
    a dict's parameters override the call's, ``meta`` holds labels carried into the manifest
    and the data frame. A dict with ``image`` (one or a list: file paths, or PIL images,
    arrays, bytes, ``GeneratedImage``s) and optionally ``mask`` is an edit of those inputs
    (``client.edit``); in-memory inputs are made bytes once, in a thread, and keyed by their
    hash. Every item is validated first: any invalid item raises
    ``InvalidItemError`` and nothing is sent. ``client=None`` builds an ``AsyncImageClient``
    from the environment and closes it afterwards.

    ``concurrency`` caps requests in flight (and workers); ``requests_per_minute`` paces their
    starts; a 429 pauses every worker. With ``output_dir`` each image is written as it arrives
    (``<index>-<prompt slug>-<image>.<ext>``: ``00012-a-red-fox-0.png``; fsynced; with
    metadata: PNG text chunks, a JSON sidecar for other formats, and for PNG too with
    ``sidecar=True``) and one line per finished item is appended to ``manifest.jsonl``
    (``manifest.shard-i-of-k.jsonl`` with ``shard``).
    ``resume`` (default: on with ``output_dir``) skips items already done in that folder. Image
    bytes of such batches are read back from the files on access.

    A failed item records its error and does not stop the others. ``raise_on_error=True``
    raises ``BatchError`` (with ``.results``) after the batch when any failed. ``progress``:
    ``True`` (widget, terminal bar or plain lines), or ``callback(done, failed, total)``.
    ``on_result(item)`` (sync or async) is called as each item finishes, resumed ones first;
    an exception it raises stops the batch. With ``partial_images`` (GPT image models)
    ``on_partial(index, partial)`` receives each item's partial previews as they arrive, with
    the item's input index; partials are never written or recorded. ``shard="i/k"`` keeps the
    items whose input index % k == i. ``on_plan(bodies)`` is called once every item is
    checked, before anything is sent, with the request bodies of the items to run (e.g. to
    show an estimate); an exception it raises stops the batch with nothing sent.

    ``budget_usd`` caps what the batch spends, in USD, counting what earlier runs of the same
    ``output_dir`` spent on the items resumed: before each item starts, its estimate
    (``estimate_cost``) is added to the actual costs of the finished items and the estimates of
    those in flight; an item that would pass the budget is not sent and is marked
    ``over_budget`` (not failed; ``on_result`` still gets it). Items already done are kept; a
    resume with a larger budget continues with the items left. Costs use the client's
    ``prices``. ``BatchResults.cost`` is the total.

    Raises ``InvalidItemError``/``InvalidParameterError`` for bad input, ``BatchError`` as
    above, ``MissingAPIKeyError``/``AuthenticationError`` (they would fail every item: the
    batch stops), and ``OSError`` when files cannot be written (the batch stops: images that
    cannot be saved should not be paid for; those already paid for are saved in the temp
    folder's ``comet-images-rescued`` and the error names them). Finished items are on disk in
    every case.
    """
    refuse_unknown(params)
    defaults: dict[str, Any] = {"model": DEFAULT_MODEL, **params}
    if budget_usd is not None:
        check_number("budget_usd", budget_usd, whole=False, minimum=0)
    # Checked here too: the limiter takes None as "no cap", which a batch must not.
    check_number("concurrency", concurrency, whole=True, minimum=1)
    limiter = RequestLimiter(concurrency=concurrency, requests_per_minute=requests_per_minute)
    if resume and output_dir is None:
        raise InvalidParameterError(
            "resume", resume, "give output_dir=...: the manifest there is what resume reads"
        )
    shard_spec = parse_shard(shard)
    listed, held = await hold_inputs(items)
    planned = plan(listed, defaults)
    if shard_spec is not None:
        planned = [p for p in planned if p.index % shard_spec[1] == shard_spec[0]]
    if on_plan is not None:
        on_plan([p.payload for p in planned])
    folder = Path(output_dir) if output_dir is not None else None
    prices = getattr(client, "prices", None)  # an AsyncImageClient's; else PRICES
    run = BatchRun(
        planned,
        folder=folder,
        shard=shard_spec,
        resume=output_dir is not None if resume is None else resume,
        sidecar=sidecar,
        limiter=limiter,
        on_result=on_result,
        on_partial=on_partial,
        held=held,
        prices=prices,
        budget=budget_usd,
    )
    unpriced = [p for p in planned if run.estimates[p.index].usd is None]
    if budget_usd is not None and unpriced:
        model = unpriced[0].payload["model"]
        raise InvalidParameterError(
            "budget_usd",
            budget_usd,
            f"give the client a price for {model} (AsyncImageClient(prices=...)), or leave"
            " budget_usd unset",
            reason=f"item {unpriced[0].index} uses {model}, which has no known price, so no"
            " budget can be kept; nothing was sent",
        )
    if client is not None:
        results = await run.execute(client, progress)
    else:
        from ..client._client import AsyncImageClient

        if key_from_env() is None:
            raise missing_key("or pass client=AsyncImageClient(api_key=...); nothing was sent")
        async with AsyncImageClient() as owned:
            results = await run.execute(owned, progress)
    if raise_on_error and results.failed:
        raise BatchError(results)
    return results
