"""Edit items of a batch: ``{"prompt": ..., "image": path(s) or image(s), "mask": ...}``.

An item is an edit when it has an ``image`` (a ``mask`` or ``markup`` without one is refused);
its other fields are ``EditParams``, validated by ``build_edit_payload`` like ``client.edit``'s.

At planning time each input file is read once: for its SHA-256, which goes into the item's
request body (``{"path", "sha256"}``), so a resumed batch never reuses a result made from other
bytes; and for every rule ``client.edit`` applies to its files (``check_edit``), so a bad item
is refused before anything is sent. At run time the files are read again, checked against those
hashes and sent through ``AsyncImageClient.edit``'s upload path.

Inputs held in memory (a PIL image, an array, bytes, a ``GeneratedImage``; the panel's edit
batches) are made bytes once per batch, in a worker thread, before planning (``hold_inputs``).
Their body entry is ``{"name", "sha256"}``: the bytes stay in memory for the run, the manifest
and the key see the hash only, so resume works for them as for files.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._catalog import EditInput, build_edit_payload, check_edit
from .._errors import InvalidParameterError
from .._types import EDIT_FILES

if TYPE_CHECKING:
    from ..client._limits import RequestLimiter
    from ..images._results import Generation, PartialImage

__all__ = ["EDIT_INPUTS", "Seen", "edit_files", "edit_payload", "hold_inputs"]

#: The fields of an edit item that are files (any one makes the item an edit).
EDIT_INPUTS = ("image", *EDIT_FILES)


@dataclass(frozen=True, eq=False)
class Held:
    """An input given in memory, as the bytes that will be sent (or why it cannot be)."""

    name: str
    data: bytes
    sha256: str
    refused: InvalidParameterError | None = None


def _in_memory(value: object) -> bool:
    return value is not None and not isinstance(value, (str, os.PathLike, list, tuple, Held))


def _hold_one(value: object, field: str) -> Held:
    from ..images._inputs import to_bytes

    try:
        name, data = to_bytes(value, field)
    except InvalidParameterError as exc:
        return Held("", b"", "", refused=exc)
    return Held(name, data, hashlib.sha256(data).hexdigest())


async def hold_inputs(items: Iterable[object]) -> tuple[list[object], dict[str, bytes]]:
    """``items`` with every in-memory ``image``/``mask`` value replaced by a ``Held`` (each
    distinct object made bytes once, in one worker thread), and those bytes by hash. A batch
    without such values is passed on as it is (and then no thread is used)."""
    listed = list(items)
    wanted: dict[int, tuple[object, str]] = {}
    for item in listed:
        if not isinstance(item, Mapping):
            continue
        for field in EDIT_INPUTS:
            value = item.get(field)
            for one in value if isinstance(value, (list, tuple)) else [value]:
                if _in_memory(one):
                    wanted.setdefault(id(one), (one, field))
    if not wanted:
        return listed, {}

    made = await asyncio.to_thread(lambda: [_hold_one(*given) for given in wanted.values()])
    held = dict(zip(wanted, made, strict=True))

    def swap(value: object) -> object:
        if isinstance(value, (list, tuple)):
            return [swap(one) for one in value]
        return held[id(value)] if _in_memory(value) else value

    out = [
        {k: swap(v) if k in EDIT_INPUTS else v for k, v in item.items()}
        if isinstance(item, Mapping)
        else item
        for item in listed
    ]
    return out, {h.sha256: h.data for h in held.values() if h.refused is None}


#: What the edit rules saw of each input already planned, by field and SHA-256.
Seen = dict[tuple[str, str], EditInput]


def _file(value: object, field: str, seen: Seen) -> tuple[dict[str, str], EditInput]:
    """One input's body entry and what the catalogue's edit rules see of it, from one read of
    its bytes (kept no longer: a header is sniffed; only a mask without alpha is decoded, to
    make the PNG that would be sent, once per batch for the same bytes)."""
    from ..images._inputs import input_file, mask_file, read_path

    if isinstance(value, Held):
        if value.refused is not None:
            raise value.refused
        name, data = value.name, value.data
        entry = {"name": value.name, "sha256": value.sha256}
    elif isinstance(value, (str, os.PathLike)) and str(value).strip():
        name, data = read_path(value, field)
        entry = {"path": str(Path(value)), "sha256": hashlib.sha256(data).hexdigest()}
    else:
        raise InvalidParameterError(
            field,
            type(value).__name__ if value is not None else value,
            "a path to an image file, or a PIL image, numpy array, bytes or GeneratedImage",
            reason=f"{field} must be a file path or an image",
        )
    known = seen.get((field, entry["sha256"]))
    if known is None:
        sent = mask_file(data, name=name) if field == "mask" else input_file(data, field, name=name)
        known = seen[field, entry["sha256"]] = sent.for_catalogue()
    return entry, dataclasses.replace(known, name=name)


def edit_payload(prompt: object, params: Mapping[str, Any], seen: Seen) -> dict[str, Any]:
    """The request body of an edit item: its form fields (``build_edit_payload``) and its
    files, each as ``{"path" or "name", "sha256"}`` (``image`` a list of them). Every rule
    ``client.edit`` applies to the files is applied here, before anything is sent: they are
    images (``check_edit``: formats, sizes, counts, a mask's size and alpha). ``seen`` (one per
    batch) spares decoding a mask without alpha again for every item that shares it."""
    params = {k: v for k, v in params.items() if not (k in EDIT_FILES and v in (None, ""))}
    image = params.pop("image", None)
    if image is None:
        given = next(name for name in EDIT_FILES if name in params)
        raise InvalidParameterError(
            "image",
            None,
            "give the item an 'image' path to edit",
            reason=f"a {given} without image",
        )
    payload = build_edit_payload(prompt, params)
    paths = image if isinstance(image, (list, tuple)) else [image]
    if isinstance(image, str) and "|" in image:  # a CSV cell may list several files
        paths = [part.strip() for part in image.split("|") if part.strip()]
    images = [_file(p, "image", seen) for p in paths]
    files = {name: _file(params[name], name, seen) for name in EDIT_FILES if name in params}
    overlays = {name: described for name, (_, described) in files.items()}
    check_edit(
        str(payload["model"]),
        [described for _, described in images],
        overlays.get("mask"),
        overlays.get("markup"),
    )
    payload["image"] = [entry for entry, _ in images]
    payload.update({name: entry for name, (entry, _) in files.items()})
    return payload


def _source(entry: Mapping[str, str], field: str, held: Mapping[str, bytes]) -> object:
    """What to read for one planned input: its file, or the bytes held for its hash."""
    if "path" in entry:
        return Path(entry["path"])
    data = held.get(entry["sha256"])
    if data is None:
        raise InvalidParameterError(
            field,
            entry.get("name"),
            "give in-memory inputs to the same generate_many call that runs them",
            reason=f"the bytes of {field} {entry.get('name')!r} are not held by this batch",
        )
    return data


async def edit_files(
    client: Any,
    payload: dict[str, Any],
    *,
    limiter: RequestLimiter | None,
    held: Mapping[str, bytes],
    on_partial: Callable[[PartialImage], object] | None = None,
) -> Generation:
    """Run one planned edit item with ``client`` (an ``AsyncImageClient``); ``held`` has the
    bytes of the item's in-memory inputs by hash (see ``hold_inputs``); ``on_partial`` gets
    its partial previews when it streams."""
    from ..client._uploads import hash_all, prepare

    body = dict(payload)
    images = body.pop("image")
    files = {name: body.pop(name) for name in EDIT_FILES if name in body}
    paths = [_source(entry, "image", held) for entry in images]
    prepared = await prepare(
        paths if len(paths) > 1 else paths[0],
        **{name: _source(entry, name, held) for name, entry in files.items()},
    )
    pairs = [
        *zip(images, prepared.images, strict=True),
        *((entry, getattr(prepared, name)) for name, entry in files.items()),
    ]
    for entry, upload in pairs:
        if "path" not in entry and "." in entry.get("name", ""):
            upload.name = entry["name"]  # as client.edit names it ("generated-0.png")
    await hash_all(prepared.all)
    for entry, upload in pairs:
        if upload.sha256 != entry["sha256"] and not upload.encoded:
            what = entry.get("path", entry.get("name"))
            raise InvalidParameterError(
                upload.field.rstrip("[]"),
                what,
                "leave input files unchanged while a batch runs",
                reason=f"{what} changed since the batch was planned",
            )
    prepared.check(str(body["model"]))
    generation: Generation = await client.generate_payload(
        body, limiter=limiter, uploads=prepared, on_partial=on_partial
    )
    return generation
