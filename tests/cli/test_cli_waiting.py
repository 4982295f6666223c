"""While ``generate`` and ``edit`` wait for the API: a spinner with the seconds elapsed on a
terminal's stderr (driven here under a pseudo-terminal against the loopback fake answering
slowly), cleared at the end, whatever the end; nothing of it off a terminal or with --quiet."""

from __future__ import annotations

import functools
import os
import pty
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from test_cli import KEY, quiet_lifecycle, run

from comet_widgets.cli._main import main
from comet_widgets.cli._waiting import CLEAR
from comet_widgets.testing import FakeAPI, FakeServer

LOW = ("-m", "gpt-image-2", "--quality", "low", "-s", "1024x1024")
#: One redraw of the spinner: a frame, the seconds elapsed, what it waits for.
FRAME = re.compile(r"\r[|/\\-] (\d+)s (generating|editing) 1 image\(s\) with gpt-image-2")


class Terminal:
    """The CLI in a subprocess whose stderr is a pseudo-terminal (read as it is written)."""

    def __init__(self, *args: str, cwd: Path, server: FakeServer) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMETAPI_")}
        env |= {"COMETAPI_KEY": KEY, "COMETAPI_BASE_URL": server.base_url}
        quiet_lifecycle(env)
        self.leader, follower = pty.openpty()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "comet_widgets", *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=follower,
        )
        os.close(follower)
        self.chunks: list[bytes] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        try:
            while chunk := os.read(self.leader, 65536):
                self.chunks.append(chunk)
        except OSError:  # EIO once the process has exited and the terminal is drained
            pass

    @property
    def stderr(self) -> str:
        # The terminal turns each \n into \r\n: undo that, so a \r left is one written.
        return b"".join(self.chunks).decode().replace("\r\n", "\n")

    def wait_for(self, pattern: re.Pattern[str], timeout: float = 30.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if match := pattern.search(self.stderr):
                return match
            time.sleep(0.05)
        raise AssertionError(f"{pattern.pattern!r} never shown; stderr: {self.stderr!r}")

    def finish(self, code: int) -> tuple[str, str]:
        """Wait for the end, check it exited ``code`` with the key shown nowhere; its stdout and
        what the terminal showed."""
        stdout, _ = self.process.communicate(timeout=60)
        out = stdout.decode()
        self.reader.join(timeout=10)
        os.close(self.leader)
        assert KEY not in out + self.stderr
        assert self.process.returncode == code, self.stderr
        return out, self.stderr


Start = Callable[..., Terminal]


@pytest.fixture
def start(fake_server: FakeServer, tmp_path: Path) -> Start:
    """``start(*args)``: the CLI in a ``Terminal``, in tmp_path, against the fake."""
    return functools.partial(Terminal, cwd=tmp_path, server=fake_server)


def spinner_then_cleared(stderr: str) -> tuple[list[int], str, str]:
    """The seconds the spinner showed, and what came before it and after its last redraw; the
    line is cleared right after that redraw."""
    frames = list(FRAME.finditer(stderr))
    assert frames, stderr
    after = stderr[frames[-1].end() :]
    assert after.startswith(CLEAR), after
    return [int(f.group(1)) for f in frames], stderr[: frames[0].start()], after[len(CLEAR) :]


@pytest.mark.slow
def test_generate_shows_the_seconds_elapsed_and_clears_the_line(
    start: Start, fake: FakeAPI
) -> None:
    fake.seconds_per_image = 2.5
    out, stderr = start("generate", "a red fox", *LOW).finish(0)
    seconds, before, after = spinner_then_cleared(stderr)
    assert seconds[0] == 0
    assert max(seconds) >= 2  # counted while waiting, redrawn in place
    assert seconds == sorted(seconds)
    assert before.startswith("estimate: 1 image(s) of gpt-image-2, quality low")
    assert before.count("\n") == 1  # the estimate, then the spinner
    assert after.startswith("cost: $")  # the actual cost, on a clean line
    assert "\r" not in after
    assert out.strip().endswith(".png")


@pytest.mark.slow
def test_edit_shows_the_spinner_too(start: Start, fake: FakeAPI, tmp_path: Path) -> None:
    Image.new("RGB", (64, 64), (200, 10, 10)).save(tmp_path / "photo.png")
    fake.seconds_per_image = 1.5
    _, stderr = start("edit", "photo.png", "make it winter", "-m", "gpt-image-2").finish(0)
    seconds, before, after = spinner_then_cleared(stderr)
    assert "editing" in stderr
    assert max(seconds) >= 1
    assert before.startswith("estimate: 1 image(s) of gpt-image-2")
    assert after.startswith("cost: $")


@pytest.mark.slow
def test_a_failure_clears_the_line_before_its_error(start: Start, fake: FakeAPI) -> None:
    fake.latency = 1.2
    fake.fail_next(1, 400, message="no such thing")
    _, stderr = start("generate", "a red fox", *LOW).finish(1)
    _, _, after = spinner_then_cleared(stderr)
    assert after.startswith("error: HTTP 400")


@pytest.mark.slow
def test_ctrl_c_clears_the_line_and_exits_130(start: Start, fake: FakeAPI) -> None:
    fake.seconds_per_image = 30.0
    terminal = start("generate", "a red fox", *LOW)
    terminal.wait_for(re.compile(r"\r[|/\\-] 1s generating"))
    terminal.process.send_signal(signal.SIGINT)
    _, stderr = terminal.finish(130)
    _, _, after = spinner_then_cleared(stderr)
    assert after.startswith("interrupted")
    assert "Traceback" not in stderr


@pytest.mark.slow
def test_no_spinner_off_a_terminal_nor_with_quiet(
    start: Start, fake_server: FakeServer, fake: FakeAPI, tmp_path: Path
) -> None:
    fake.seconds_per_image = 1.2
    piped = run("generate", "a red fox", *LOW, cwd=tmp_path, server=fake_server)
    assert piped.returncode == 0, piped.stderr
    _, stderr = start("generate", "a red fox", *LOW, "--quiet").finish(0)
    for printed in (piped.stderr, stderr):  # no spinner: only the estimate and cost lines
        assert "\r" not in printed
        assert "\x1b" not in printed
        assert [line.split(":")[0] for line in printed.splitlines()] == ["estimate", "cost"]


@pytest.mark.slow
def test_a_batch_bar_counts_the_seconds_while_an_item_is_in_flight(
    start: Start, fake: FakeAPI, tmp_path: Path
) -> None:
    (tmp_path / "p.txt").write_text("a red fox\n")
    fake.seconds_per_image = 3.5
    out, stderr = start("batch", "p.txt", "-o", "out", *LOW).finish(0)
    waiting = re.findall(r"\rbatch \[\.+\] 0/1 · 0 ok · 0 failed · (\d+)s", stderr)
    assert [int(s) for s in waiting][-1] >= 3  # redrawn while nothing finished
    assert "1/1 · 1 ok" in stderr
    assert (tmp_path / "out" / "00000-a-red-fox-0.png").is_file()
    assert out.startswith("1 item(s): 1 ok")


def test_help_says_what_is_shown_while_waiting(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ("generate", "edit", "batch"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "-q, --quiet" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["generate", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "the estimated cost before sending, a spinner with the seconds elapsed" in text
