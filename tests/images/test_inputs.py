"""Image inputs under attack: what is not a regular file, what Pillow cannot read, odd arrays.

Every entry point that takes an image input (``client.edit``'s image, mask and markup, the
panel's ``inputs``, ``generate_many``'s planning of edit items) refuses it with an
``InvalidParameterError`` naming the input, at once, before anything is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
import socket
import struct
import threading
import zlib
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from comet_widgets import (
    AsyncImageClient,
    ImageGenerator,
    InvalidItemError,
    InvalidParameterError,
    generate_many,
    read_metadata,
)
from comet_widgets.images._inputs import input_file
from comet_widgets.testing import FakeAPI, FakeServer

NOT_FILES = ["fifo", "socket", "directory", "device"]


@pytest.fixture
def not_a_file(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Path]:
    """A path that is not a regular file: a FIFO no one writes to, a Unix socket, a
    directory, a character device."""
    kind = request.param
    path = tmp_path / f"{kind}.png"
    with socket.socket(socket.AF_UNIX) as server:
        if kind == "fifo":
            os.mkfifo(path)
        elif kind == "socket":
            server.bind(str(path))
        elif kind == "directory":
            path.mkdir()
        else:
            path = Path(os.devnull)
        yield path


def _release(path: Path) -> None:
    """Let go of a reader stuck on a FIFO (opening its other end gives it an end of file)."""
    if path.is_fifo():
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))


def _check(error: BaseException | None, name: str, field: str) -> InvalidParameterError:
    if isinstance(error, InvalidItemError):
        error = error.errors[0][1]
    assert isinstance(error, InvalidParameterError), repr(error)
    assert error.field == field
    assert name in str(error), str(error)
    return error


def refused_at_once(call: Callable[[], Any], path: Path, field: str) -> None:
    """``call()`` raises ``InvalidParameterError`` naming ``field`` and ``path`` within 5 s."""
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            call()
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(5)
    if thread.is_alive():
        _release(path)
        pytest.fail(f"{field}: still reading {path} after 5 s")
    _check(outcome[0], path.name, field)


async def refused_soon(call: Awaitable[Any], path: Path, field: str) -> None:
    """``await call`` raises ``InvalidParameterError`` (or ``InvalidItemError``) naming
    ``field`` and ``path`` within 5 s."""
    task = asyncio.ensure_future(call)
    done, _ = await asyncio.wait({task}, timeout=5)
    if not done:
        _release(path)
        await asyncio.wait({task}, timeout=5)
        pytest.fail(f"{field}: still reading {path} after 5 s")
    _check(task.exception(), path.name, field)


def _png(image: Image.Image | None = None) -> bytes:
    buffer = io.BytesIO()
    (image or Image.new("RGB", (64, 64), "red")).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("not_a_file", NOT_FILES, indirect=True)
@pytest.mark.parametrize("field", ["image", "mask", "markup"])
async def test_client_edit_refuses_what_is_not_a_regular_file(
    client: AsyncImageClient, fake: FakeAPI, not_a_file: Path, field: str
) -> None:
    options: dict[str, Any] = {"image": _png(), field: not_a_file}
    model = "gpt-image-2.5-flare" if field == "markup" else "gpt-image-2"
    await refused_soon(client.edit("a cat", model=model, **options), not_a_file, field)
    assert fake.requests == []


@pytest.mark.parametrize("not_a_file", NOT_FILES, indirect=True)
@pytest.mark.parametrize("field", ["image", "mask"])
async def test_generate_many_refuses_it_while_planning(
    client: AsyncImageClient, fake: FakeAPI, not_a_file: Path, field: str
) -> None:
    item = {"prompt": "a cat", "image": _png(), field: not_a_file}
    await refused_soon(generate_many([item], client=client, model="gpt-image-2"), not_a_file, field)
    assert fake.requests == []


@pytest.mark.parametrize("not_a_file", NOT_FILES, indirect=True)
def test_the_panel_refuses_it_as_an_input_on_the_kernels_thread(
    not_a_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COMETAPI_KEY", raising=False)
    panel = ImageGenerator(offline=True)
    try:
        refused_at_once(lambda: setattr(panel, "inputs", [not_a_file]), not_a_file, "inputs")
        assert panel.inputs == []
    finally:
        panel.close()


@pytest.mark.parametrize("not_a_file", NOT_FILES, indirect=True)
def test_read_metadata_refuses_it_unopened(not_a_file: Path) -> None:
    refused_at_once(lambda: read_metadata(not_a_file), not_a_file, "path")


# -- what Pillow cannot read ---------------------------------------------------------------------


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _bomb() -> bytes:
    """A PNG of a few hundred bytes that declares 30000x30000 pixels (900 MP)."""
    header = struct.pack(">IIBBBBB", 30000, 30000, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\0" * 1000)
    signature = b"\x89PNG\r\n\x1a\n"
    return signature + _chunk(b"IHDR", header) + _chunk(b"IDAT", pixels) + _chunk(b"IEND", b"")


def _corrupt() -> bytes:
    """A PNG without alpha whose header and end are whole, its pixels garbage."""
    noise = np.random.default_rng(1).integers(0, 255, (128, 128, 3), dtype=np.uint8)
    data = bytearray(_png(Image.fromarray(noise)))
    data[200:2000] = bytes(1800)
    return bytes(data)


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect/></svg>'
#: Inputs Pillow raises on (a bomb, a corrupt file, SVG, a 32-bit image PNG cannot hold).
UNREADABLE: dict[str, Callable[[], Any]] = {
    "bomb": _bomb,
    "corrupt": _corrupt,
    "svg": lambda: SVG,
    "mode I beyond 16 bits": lambda: Image.new("I", (64, 64), 70_000),
}
#: Images go as given when their header reads (the API refuses a corrupt one, unbilled); a
#: mask without alpha is decoded, so a corrupt one is refused here; a mode I mask is read as
#: "white = edit here" like any image without alpha.
CASES = [(kind, field) for kind in sorted(UNREADABLE) for field in ("image", "mask")]
CASES.remove(("corrupt", "image"))
CASES.remove(("mode I beyond 16 bits", "mask"))


@pytest.mark.parametrize(("kind", "field"), CASES)
async def test_what_pillow_cannot_read_is_refused_naming_the_input(
    client: AsyncImageClient, fake: FakeAPI, kind: str, field: str
) -> None:
    value = UNREADABLE[kind]()
    options: dict[str, Any] = {"image": _png(), field: value}
    with pytest.raises(InvalidParameterError) as caught:
        await client.edit("a cat", model="gpt-image-2", **options)
    assert caught.value.field == field
    item = {"prompt": "a cat", **options}
    with pytest.raises(InvalidItemError) as planned:
        await generate_many([item], client=client, model="gpt-image-2")
    assert planned.value.errors[0][1].field == field
    assert fake.requests == []


@pytest.mark.parametrize("kind", sorted(set(UNREADABLE) - {"corrupt"}))
async def test_the_panel_refuses_them_as_inputs_and_masks(
    fake_server: FakeServer, fake: FakeAPI, kind: str
) -> None:
    """As an input: refused when set, or (a PIL image, read when sent) the edit ends in the
    error; as a mask: refused when set, or taken as "change here". Never another exception."""

    def factory() -> AsyncImageClient:
        return AsyncImageClient(api_key="sk-inputs", base_url=fake_server.base_url)

    panel = ImageGenerator(client_factory=factory, prompt="a cat", model="gpt-image-2")
    try:
        refused: InvalidParameterError | None = None
        try:
            panel.inputs = [UNREADABLE[kind]()]
        except InvalidParameterError as exc:
            refused = exc
        if refused is None:
            with pytest.raises(InvalidParameterError):
                await panel.edit()
            assert panel.status == "error"
            assert panel.error
        else:
            assert refused.field == "inputs"
        panel.inputs = [_png()]
        with contextlib.suppress(InvalidParameterError):
            panel.mask = UNREADABLE[kind]()
    finally:
        panel.close()
    assert [r for r in fake.requests if "/images/" in r.path] == []


@pytest.mark.parametrize(("value", "mode"), [(200, "L"), (40_000, "I;16")])
def test_a_mode_i_image_whose_values_fit_is_converted_losslessly(value: int, mode: str) -> None:
    sent = input_file(Image.new("I", (64, 64), value), "image")
    with Image.open(io.BytesIO(sent.data)) as opened:
        assert opened.mode == mode
        assert opened.getextrema() == (value, value)


# -- arrays ---------------------------------------------------------------------------------------

ARRAYS: dict[str, tuple[Any, int]] = {
    # name: (array, the 8-bit grey it is sent as)
    "uint8": (np.full((64, 64), 200, dtype=np.uint8), 200),
    "uint16": (np.full((64, 64), 200 * 256 + 255, dtype=np.uint16), 200),
    "float 0..1": (np.full((64, 64), 200 / 255, dtype=np.float32), 200),
    "bool": (np.ones((64, 64), dtype=bool), 255),
}


@pytest.mark.parametrize("name", sorted(ARRAYS))
def test_arrays_are_read_by_one_rule(name: str) -> None:
    array, grey = ARRAYS[name]
    sent = input_file(array, "image")
    with Image.open(io.BytesIO(sent.data)) as opened:
        assert opened.convert("L").getextrema() == (grey, grey)


@pytest.mark.parametrize(
    "array",
    [
        np.full((64, 64), 3, dtype=np.int64),
        np.full((64, 64), 3, dtype=np.uint32),
        np.full((64, 64), 200.0),
        np.full((64, 64), np.nan),
        np.zeros((64, 64), dtype=complex),
    ],
    ids=["int64", "uint32", "float above 1", "nan", "complex"],
)
async def test_other_arrays_are_refused_saying_what_is_taken(
    client: AsyncImageClient, fake: FakeAPI, array: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(InvalidParameterError, match=re.escape("uint16 (0-65535, scaled")) as caught:
        await client.edit("a cat", image=array, model="gpt-image-2")
    assert caught.value.field == "image"
    assert str(array.dtype) in str(caught.value)
    monkeypatch.delenv("COMETAPI_KEY", raising=False)
    panel = ImageGenerator(offline=True)
    try:
        with pytest.raises(InvalidParameterError, match=re.escape("float in 0..1")):
            panel.inputs = [array]
    finally:
        panel.close()
    assert fake.requests == []


def test_a_float_pil_image_is_read_by_the_arrays_rule() -> None:
    sent = input_file(Image.fromarray(np.full((64, 64), 200 / 255, dtype=np.float32)), "image")
    with Image.open(io.BytesIO(sent.data)) as opened:
        assert opened.convert("L").getextrema() == (200, 200)
    with pytest.raises(InvalidParameterError, match=re.escape("outside 0..1")) as caught:
        input_file(Image.new("F", (64, 64), 200.0), "mask")
    assert caught.value.field == "mask"
