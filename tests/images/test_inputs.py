"""Image inputs under attack: what is not a regular file, what Pillow cannot read, odd arrays.

Every entry point that takes an image input (``client.edit``'s image, mask and markup, the
panel's ``inputs``, ``generate_many``'s planning of edit items) refuses it with an
``InvalidParameterError`` naming the input, at once, before anything is sent.
"""

from __future__ import annotations

import asyncio
import io
import os
import socket
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from comet_widgets import (
    AsyncImageClient,
    ImageGenerator,
    InvalidItemError,
    InvalidParameterError,
    generate_many,
)
from comet_widgets.testing import FakeAPI

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


def _check(error: BaseException | None, path: Path, field: str) -> None:
    assert isinstance(error, InvalidParameterError), repr(error)
    assert error.field == field
    assert path.name in str(error), str(error)


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
    _check(outcome[0], path, field)


async def refused_soon(call: Awaitable[Any], path: Path, field: str) -> None:
    """``await call`` raises ``InvalidParameterError`` naming ``field`` and ``path`` within 5 s."""
    task = asyncio.ensure_future(call)
    done, _ = await asyncio.wait({task}, timeout=5)
    if not done:
        _release(path)
        await asyncio.wait({task}, timeout=5)
        pytest.fail(f"{field}: still reading {path} after 5 s")
    _check(task.exception(), path, field)


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(buffer, "PNG")
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
    call = generate_many([item], client=client, model="gpt-image-2")
    task = asyncio.ensure_future(call)
    done, _ = await asyncio.wait({task}, timeout=5)
    if not done:
        _release(not_a_file)
        await asyncio.wait({task}, timeout=5)
        pytest.fail(f"still reading {not_a_file} after 5 s")
    error = task.exception()
    assert isinstance(error, InvalidItemError), repr(error)
    _check(error.errors[0][1], not_a_file, field)
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
