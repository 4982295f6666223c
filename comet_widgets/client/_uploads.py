"""Edit uploads: the files of a ``POST /v1/images/edits`` multipart body.

Inputs become files through ``images/_inputs.py`` (PIL images, arrays, bytes, paths,
``GeneratedImage``s); here they are gathered (``prepare``), checked against the model's edit
rules, hashed and written as the SDK writes its multipart body. Reading, encoding and converting
run in a worker thread (``prepare``): megabytes of them would stall a notebook's event loop;
PNG, JPEG or WebP bytes already in hand only have their header read, on the loop. Provenance
(``describe``) holds names and SHA-256 hashes, never bytes; the hashes are computed in a worker
thread once the body is sent (``Hashing``), while the server reads and answers.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from .._catalog import check_edit
from .._types import ImageInput
from ..images._inputs import InputFile, in_hand, input_file, mask_file

__all__ = [
    "EditFiles",
    "Hashing",
    "form_data",
    "hash_all",
    "prepare",
    "when_sent",
]


@dataclass
class EditFiles:
    """The files of one edit: its images, and its mask or markup."""

    images: list[InputFile]
    mask: InputFile | None = None
    markup: InputFile | None = None

    @property
    def all(self) -> list[InputFile]:
        """Every file, in the SDK's order (images, markup, mask)."""
        return [*self.images, *(u for u in (self.markup, self.mask) if u is not None)]

    def files(self) -> list[tuple[str, tuple[str, bytes, str]]]:
        """httpx's ``files=``: each file's field, name, bytes and content type, in order."""
        return [(u.field, (u.name, u.data, u.content_type)) for u in self.all]

    def check(self, model: str) -> None:
        """Refuse files ``model`` does not accept (``check_edit``)."""
        check_edit(
            model,
            [u.for_catalogue() for u in self.images],
            None if self.mask is None else self.mask.for_catalogue(),
            None if self.markup is None else self.markup.for_catalogue(),
        )

    def describe(self) -> dict[str, Any]:
        """What an edit's params record of its files: names, sizes and hashes (no bytes)."""
        params: dict[str, Any] = {"image": [u.describe() for u in self.images]}
        for upload in (self.mask, self.markup):
            if upload is not None:
                params[upload.field] = upload.describe()
        return params


async def prepare(
    image: ImageInput | Sequence[ImageInput],
    mask: ImageInput | None = None,
    markup: ImageInput | None = None,
) -> EditFiles:
    """The files of an edit: ``image`` (one, or a list: then sent as ``image[]``), ``mask``
    and ``markup`` (sent as it is: it must be a PNG with transparent pixels).

    Runs in a worker thread: reading, encoding and converting never stall the event loop. Only
    when every input is PNG, JPEG or WebP bytes already (``bytes`` or a ``GeneratedImage``) and
    there is no mask or markup does it run here: reading their headers takes microseconds, less
    than the hop to a thread and back (a GIF's frames, by contrast, are walked to the end).
    """
    many = isinstance(image, (list, tuple))
    items = list(image) if many else [image]

    def files() -> EditFiles:
        field = "image[]" if many else "image"
        return EditFiles(
            [input_file(item, field, number) for number, item in enumerate(items)],
            mask=None if mask is None else mask_file(mask),
            markup=None if markup is None else input_file(markup, "markup"),
        )

    if mask is None and markup is None and all(in_hand(item) for item in items):
        return files()
    return await asyncio.to_thread(files)


def _hash_sync(uploads: list[InputFile]) -> None:
    for upload in uploads:
        if not upload.sha256:
            upload.sha256 = hashlib.sha256(upload.data).hexdigest()


async def hash_all(uploads: list[InputFile]) -> None:
    """Fill each upload's ``sha256`` in a worker thread (hashlib releases the GIL)."""
    await asyncio.to_thread(_hash_sync, uploads)


class Hashing:
    """The provenance hashes of an edit's uploads, computed while the server works.

    ``start`` (given to the request as its "body sent" callback) runs ``hash_all`` once the
    whole body has been handed to the socket: while the upload is under way the client's core
    is busy sending (on loopback, moving the bytes to the reader too), and hashing then would
    compete with it; after that the client only waits for the answer. ``finish`` starts it if
    the body was never sent and waits for it; ``settle`` waits only if it was started (a thread
    cannot be cancelled: let it end before the uploads are dropped).
    """

    def __init__(self, uploads: list[InputFile]) -> None:
        self._uploads = uploads
        self._task: asyncio.Future[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(hash_all(self._uploads))

    async def finish(self) -> None:
        self.start()
        assert self._task is not None
        await asyncio.shield(self._task)

    async def settle(self) -> None:
        if self._task is not None and not self._task.done():
            await asyncio.shield(self._task)


def when_sent(request: httpx.Request, then: Callable[[], None]) -> httpx.Request:
    """``request`` with ``then()`` called once its whole body has been handed to the socket."""
    stream = request.stream
    assert isinstance(stream, httpx.AsyncByteStream)

    async def body() -> AsyncIterator[bytes]:
        async for chunk in stream:
            yield chunk
        then()

    # Its headers keep the body's Content-Length: httpx does not switch to chunked.
    return httpx.Request(
        request.method,
        request.url,
        headers=request.headers,
        content=body(),
        extensions=request.extensions,
    )


def form_data(payload: dict[str, Any]) -> dict[str, Any]:
    """The text fields of the multipart body (httpx's ``data=``), as the SDK writes them:
    numbers and strings as text, booleans as ``true``/``false``, a dict as ``key[sub]``, a list
    as ``key[]`` (a list of values, in order)."""
    data: dict[str, Any] = {}

    def add(key: str, value: Any) -> None:
        if isinstance(value, dict):
            for sub, item in value.items():
                add(f"{key}[{sub}]", item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                add(f"{key}[]", item)
        elif value is not None:
            text = str(value).lower() if isinstance(value, bool) else str(value)
            data[key] = [*data.get(key, []), text] if key.endswith("[]") else text

    for key, value in payload.items():
        add(key, value)
    return data
