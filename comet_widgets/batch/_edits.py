"""Edit items of a batch: ``{"prompt": ..., "image": path(s), "mask": path}``.

At planning time each input file is read once for its SHA-256, which goes into the item's
request body (as ``{"path", "sha256"}``), so the manifest key changes when an input does and a
resumed batch never reuses a result made from other bytes. At run time the files are read
again, checked against those hashes and sent through ``AsyncImageClient.edit``'s upload path.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._catalog import edit_rules_for
from .._errors import InvalidParameterError

if TYPE_CHECKING:
    from ..client._limits import RequestLimiter
    from ..images._results import Generation

__all__ = ["edit_files", "edit_inputs"]


def _file(value: object, field: str) -> dict[str, str]:
    if not isinstance(value, (str, os.PathLike)) or not str(value).strip():
        raise InvalidParameterError(
            field, value, "a path to an image file", reason=f"{field} must be a file path"
        )
    from ..client._uploads import read_path  # httpx and friends load when a batch edits

    _, data = read_path(value, field)
    return {"path": str(Path(value)), "sha256": hashlib.sha256(data).hexdigest()}


def edit_inputs(
    payload: Mapping[str, Any],
    image: object,
    mask: object,
    input_fidelity: object,
    *,
    given: Mapping[str, Any],
) -> dict[str, Any]:
    """The fields an edit item adds to its request body: ``image`` (a list of path + hash),
    ``mask`` and ``input_fidelity``. ``n`` and ``size`` not ``given`` are left to the API."""
    if image is None:
        raise InvalidParameterError(
            "image", None, "give the item an 'image' path to edit", reason="a mask without image"
        )
    edit_rules_for(str(payload["model"]))
    paths = image if isinstance(image, (list, tuple)) else [image]
    if isinstance(image, str) and "|" in image:  # a CSV cell may list several files
        paths = [part.strip() for part in image.split("|") if part.strip()]
    fields: dict[str, Any] = {"image": [_file(p, "image") for p in paths]}
    if mask is not None and mask != "":
        fields["mask"] = _file(mask, "mask")
    if input_fidelity is not None:
        fields["input_fidelity"] = input_fidelity
    fields["_drop"] = [name for name in ("n", "size") if given.get(name) is None]
    return fields


async def edit_files(
    client: Any, payload: dict[str, Any], *, limiter: RequestLimiter | None
) -> Generation:
    """Run one planned edit item with ``client`` (an ``AsyncImageClient``)."""
    from ..client._uploads import prepare

    body = dict(payload)
    for name in body.pop("_drop", []):
        body.pop(name, None)
    images, mask = body.pop("image"), body.pop("mask", None)
    paths = [Path(entry["path"]) for entry in images]
    uploads, mask_upload = await prepare(
        paths if len(paths) > 1 else paths[0], None if mask is None else Path(mask["path"])
    )
    from ..client._uploads import hash_all

    await hash_all(uploads)
    for entry, upload in zip(images, uploads, strict=True):
        if upload.sha256 != entry["sha256"] and not upload.encoded:
            raise InvalidParameterError(
                "image",
                entry["path"],
                "leave input files unchanged while a batch runs",
                reason=f"{entry['path']} changed since the batch was planned",
            )
    from .._catalog import check_edit

    check_edit(
        str(body["model"]),
        [u.for_catalogue() for u in uploads],
        None if mask_upload is None else mask_upload.for_catalogue(),
        input_fidelity=body.get("input_fidelity"),
    )
    generation: Generation = await client.generate_payload(
        body, limiter=limiter, uploads=(uploads, mask_upload)
    )
    return generation
