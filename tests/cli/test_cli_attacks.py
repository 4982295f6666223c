"""What the CLI does with hostile server text and output paths it cannot use."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from comet_widgets.cli._main import main
from comet_widgets.testing import FakeAPI, FakeServer
from tests.cli.test_cli import edits, quiet_lifecycle, run
from tests.helpers import cli_against

#: ESC (a terminal title, a screen clear), BEL, a carriage return that would overwrite the line.
HOSTILE = "\x1b]0;owned\x07\x1b[2Jx\rfake\x9b31m"


@pytest.mark.slow
def test_server_text_reaches_the_terminal_with_its_control_characters_escaped(
    tmp_path: Path, fake_server: FakeServer, fake: FakeAPI
) -> None:
    fake.extra_models = (f"flux-{HOSTILE}",)
    live = run("models", "--live", cwd=tmp_path, server=fake_server)
    assert live.returncode == 0, live.stderr
    assert "flux-\\x1b]0;owned\\x07\\x1b[2Jx\\x0dfake" in live.stdout
    # Laid out as printed, escapes included: the table still fits 100 columns.
    assert max(map(len, live.stdout.splitlines())) <= 100

    Image.new("RGB", (64, 64)).save(tmp_path / "photo.png")
    fake.silent_changes = {"prompt": f"winter {HOSTILE}"}
    edit = run("edit", "photo.png", "x", "-m", "gpt-image-1.5", cwd=tmp_path, server=fake_server)
    assert edit.returncode == 0, edit.stderr
    assert "revised prompt: winter \\x1b]0;owned" in edit.stdout

    fake.fail_next(1, 400, message=f"bad {HOSTILE}")
    failed = run("generate", "x", cwd=tmp_path, server=fake_server)
    assert failed.returncode == 1
    assert "bad \\x1b]0;owned\\x07" in failed.stderr
    for done in (live, edit, failed):
        assert not any(c in done.stdout + done.stderr for c in "\x1b\x07\r\x9b")
    assert len(edits(fake)) == 1


# -- output paths ---------------------------------------------------------------------------


def _commands(tmp_path: Path) -> dict[str, list[str]]:
    Image.new("RGB", (64, 64)).save(tmp_path / "photo.png")
    (tmp_path / "prompts.txt").write_text("a boat\n")
    return {
        "generate": ["generate", "a boat"],
        "edit": ["edit", "photo.png", "winter", "-m", "gpt-image-1.5"],
        "batch": ["batch", "prompts.txt", "--no-progress"],
    }


@pytest.fixture
def at_fake(tmp_path: Path, fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``main([...])`` runs in ``tmp_path`` (returned) against the fake, with a key."""
    cli_against(fake_server, tmp_path, monkeypatch)
    return tmp_path


@pytest.mark.parametrize("command", ["generate", "edit", "batch"])
def test_an_output_folder_that_cannot_be_used_is_refused_before_anything_is_sent(
    command: str, at_fake: Path, fake: FakeAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    tmp_path = at_fake
    argv = _commands(tmp_path)[command]
    (tmp_path / "taken.png").write_bytes(b"mine")
    (tmp_path / "out" / "manifest.jsonl").mkdir(parents=True)
    outputs = {
        "taken.png": "is a file",  # an existing file where the folder would be made
        "taken.png/sub": "is a file where a folder is needed",
    }
    if command == "batch":
        outputs["out"] = "is a folder where a file goes"  # its manifest.jsonl
    for output, why in outputs.items():
        assert main([*argv, "-o", output]) == 2
        err = capsys.readouterr().err
        assert why in err, err
    assert (tmp_path / "taken.png").read_bytes() == b"mine"
    assert fake.requests == []


def test_a_folder_without_write_permission_is_refused_before_sending(
    tmp_path: Path, fake_server: FakeServer, fake: FakeAPI
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    # Root writes in any folder whatever its mode (CI runs as root); an immutable folder
    # (chattr +i, ext4 here) refuses even root, so the refusal is tested either way.
    as_root = os.geteuid() == 0
    if as_root:
        subprocess.run(["chattr", "+i", str(locked)], check=True)
    try:
        for argv in _commands(tmp_path).values():
            done = run(*argv, "-o", "locked/out", cwd=tmp_path, server=fake_server)
            assert done.returncode == 2, done.stderr
            assert "cannot write in locked" in done.stderr
    finally:
        if as_root:
            subprocess.run(["chattr", "-i", str(locked)], check=True)
    assert fake.requests == []


def _break_folder_while_sent(
    argv: list[str], tmp_path: Path, fake_server: FakeServer, fake: FakeAPI
) -> subprocess.CompletedProcess[str]:
    """Run the CLI; once its request reached the fake (which waits), the output folder ``out``
    becomes a file (as a full disk or a changed permission would make it unwritable)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMETAPI_")}
    quiet_lifecycle(env)
    (tmp_path / "tmp").mkdir()
    env.update(
        COMETAPI_KEY="sk-test", COMETAPI_BASE_URL=fake_server.base_url, TMPDIR=str(tmp_path / "tmp")
    )
    fake.latency = 1.0
    process = subprocess.Popen(
        [sys.executable, "-m", "comet_widgets", *argv, "-o", "out"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 30
    while not fake.in_flight and time.monotonic() < deadline:
        time.sleep(0.01)
    assert fake.in_flight
    (tmp_path / "out").rename(tmp_path / "out-moved")
    (tmp_path / "out").write_bytes(b"not a folder")
    stdout, stderr = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


@pytest.mark.slow
@pytest.mark.parametrize("command", ["edit", "generate", "batch"])
def test_a_paid_image_whose_folder_cannot_be_written_is_saved_elsewhere_and_named(
    command: str, tmp_path: Path, fake_server: FakeServer, fake: FakeAPI
) -> None:
    argv = _commands(tmp_path)[command]
    (tmp_path / "out").mkdir()
    done = _break_folder_while_sent(argv, tmp_path, fake_server, fake)
    assert done.returncode == 1, done.stderr
    rescued = list((tmp_path / "tmp" / "comet-images-rescued").glob("*.png"))
    assert len(rescued) == 1
    with Image.open(rescued[0]) as image:
        assert image.format == "PNG"
    assert str(rescued[0].relative_to(tmp_path / "tmp")) in done.stderr + done.stdout
    assert "could not be written in out" in done.stderr
    assert len(fake.requests) == 1


def test_a_batch_with_an_edit_item_the_model_cannot_take_sends_nothing(
    at_fake: Path, fake: FakeAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    tmp_path = at_fake
    Image.new("RGB", (64, 64)).save(tmp_path / "photo.png")
    Image.new("RGB", (64, 64)).save(tmp_path / "anim.gif")
    (tmp_path / "edits.csv").write_text("prompt,image\nwinter,photo.png\nspring,anim.gif\n")
    assert main(["batch", "edits.csv", "-o", "out", "-m", "gpt-image-2", "--no-progress"]) == 2
    assert "anim.gif is gif, which gpt-image-2 does not edit" in capsys.readouterr().err
    assert fake.requests == []


@contextlib.contextmanager
def raw_answer(answer: bytes) -> Iterator[str]:
    """A loopback server that answers every connection with ``answer``; yields its base URL."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                connection, _ = server.accept()
                with connection:
                    connection.recv(65536)
                    connection.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/v1"
    finally:
        server.close()
        thread.join(5)


@pytest.mark.slow
def test_a_request_id_header_with_control_bytes_is_escaped_in_errors_and_debug_lines(
    tmp_path: Path,
) -> None:
    body = b'{"error": {"message": "bad", "type": "invalid_request_error", "code": ""}}'
    answer = (
        b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n"
        b"x-request-id: id-\x1b]0;owned\x07-\x9b31m\r\nconnection: close\r\n"
        b"content-length: %d\r\n\r\n%s" % (len(body), body)
    )
    with raw_answer(answer) as base_url:
        done = run(
            "--debug",
            "generate",
            "x",
            cwd=tmp_path,
            extra_env={"COMETAPI_BASE_URL": base_url},
        )
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.startswith(("DEBUG", "error:"))]
    assert len(lines) == 2, done.stderr  # the request's debug line and the error
    for line in lines:
        assert "id-\\x1b]0;owned\\x07-\\x9b31m" in line
    assert not any(c in done.stderr for c in "\x1b\x07\x9b")
