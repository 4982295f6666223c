"""Helpers shared by tests of several folders: the images the edit tests send (client, fake,
contract, package: one PNG encoder, a photo, a markup, so each side of the wire builds the same
files), a CLI run in-process against the fake, a subprocess run in a cleaned environment, and
a batch or comparison killed mid-way (to test its resume)."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw

from comet_widgets.batch._manifest import MANIFEST_NAME, read_manifest
from comet_widgets.testing import FAKE_API_KEY, FakeAPI, FakeServer

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


def clean_env(drop: str | tuple[str, ...] = "COMETAPI_", **values: str) -> dict[str, str]:
    """This process's environment without the variables whose names start with ``drop``, and
    with ``values``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(values)
    return env


def fake_env(server: FakeServer) -> dict[str, str]:
    """A clean environment with the fake's key and address, as a user's shell would have."""
    return clean_env(COMETAPI_KEY=FAKE_API_KEY, COMETAPI_BASE_URL=server.base_url)


def run_captured(
    command: Sequence[str],
    *,
    env: dict[str, str],
    cwd: Path | None = None,
    stdin: str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` to its end with its output captured as text; the test checks its exit
    code (``timeout`` only against a hang)."""
    return subprocess.run(
        list(command),
        cwd=cwd,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def start_against(
    server: FakeServer, command: Sequence[str], *, cwd: Path, output: int = subprocess.PIPE
) -> subprocess.Popen[str]:
    """Start ``command`` in ``cwd`` with the fake's key and address (``output``: where its
    stdout and stderr go)."""
    return subprocess.Popen(
        list(command), cwd=cwd, env=fake_env(server), stdout=output, stderr=output, text=True
    )


def wait_until(condition: Callable[[], bool], what: str, process: subprocess.Popen[str]) -> None:
    """Poll ``condition`` while ``process`` runs (a generous deadline only against a hang;
    nothing here is timed)."""
    deadline = time.monotonic() + 60
    while not condition():
        assert process.poll() is None, f"the process ended before {what}"
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.005)


def images_answered(fake: FakeAPI) -> list[Any]:
    """The generations ``fake`` answered with an image (a held answer cut off is not one)."""
    return [
        r
        for r in fake.requests
        if r.path.endswith("/images/generations") and r.status == 200 and not r.fault
    ]


def kill_once_recorded(
    command: Sequence[str], *, cwd: Path, server: FakeServer, out: Path, lines: int, hold: int
) -> list[dict[str, Any]]:
    """Run ``command`` (a batch or a comparison writing its manifest into ``out``) against
    ``server``, SIGKILL it once the manifest has ``lines`` lines and every image answered is in
    it, and return the manifest's lines as the kill left them.

    From ``lines`` on, the next ``hold`` answers are held (headers, then a body that never
    comes): the kill must not land between an image answer and its manifest line (that image
    would be requested and paid again, rightly). Returns once the fake has finished with every
    request (the held ones end when it sees the hang-up), so its log is complete.
    """
    fake, manifest = server.app, out / MANIFEST_NAME
    process = start_against(server, command, cwd=cwd, output=subprocess.DEVNULL)
    try:
        wait_until(lambda: len(read_manifest(manifest)) >= lines, "manifest lines", process)
        fake.trickle_seconds, fake.trickle_chunks = 3600.0, 1
        fake.malform_next("trickle", count=hold)

        def quiet() -> bool:
            requests = [r for r in fake.requests if r.path.endswith("/images/generations")]
            answering = [r for r in requests if not r.fault and r.finished is None]
            return not answering and len(images_answered(fake)) == len(read_manifest(manifest))

        wait_until(quiet, "every image answered was in the manifest", process)
    finally:
        process.kill()  # SIGKILL: no cleanup of any kind
        process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 60
    while fake.in_flight or any(r.finished is None for r in fake.requests):
        assert time.monotonic() < deadline, f"the fake is still busy: {fake!r}"
        time.sleep(0.005)
    return read_manifest(manifest)
