"""Helpers shared by tests of several folders: the images the edit tests send (client, fake,
contract, package: one PNG encoder, a photo, a markup, so each side of the wire builds the same
files), and a CLI run in-process against the fake."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from comet_widgets.testing import FakeServer

SIDE = 64
#: A model whose edits take a markup (gpt-image-2.5).
MARKUP_MODEL = "gpt-image-2.5-flare"


def png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


PHOTO = png(Image.new("RGB", (SIDE, SIDE), (30, 90, 200)))


def marks(side: int = SIDE, mode: str = "RGBA") -> bytes:
    """A markup: transparent, with one red stroke drawn on it."""
    image = Image.new(mode, (side, side), (0, 0, 0, 0) if mode == "RGBA" else (0, 0, 0))
    ImageDraw.Draw(image).line((8, 8, side - 8, side - 8), fill=(255, 0, 0), width=4)
    return png(image)


def cli_against(server: FakeServer, cwd: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Set up ``comet_widgets.cli._main.main([...])`` to run in ``cwd`` against ``server``, with
    a key, as a user's shell would."""
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("COMETAPI_KEY", "sk-test")
    monkeypatch.setenv("COMETAPI_BASE_URL", server.base_url)
