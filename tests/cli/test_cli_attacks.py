"""What the CLI does with hostile server text and output paths it cannot use."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from comet_widgets.testing import FakeAPI, FakeServer
from tests.cli.test_cli import edits, run

#: ESC (a terminal title, a screen clear), BEL, a carriage return that would overwrite the line.
HOSTILE = "\x1b]0;owned\x07\x1b[2Jx\rfake"


@pytest.mark.slow
def test_server_text_reaches_the_terminal_with_its_control_characters_escaped(
    tmp_path: Path, fake_server: FakeServer, fake: FakeAPI
) -> None:
    fake.extra_models = (f"flux-{HOSTILE}",)
    live = run("models", "--live", cwd=tmp_path, server=fake_server)
    assert live.returncode == 0, live.stderr
    assert "flux-\\x1b]0;owned\\x07\\x1b[2Jx\\x0dfake" in live.stdout

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
        assert not any(c in done.stdout + done.stderr for c in "\x1b\x07\r")
    assert len(edits(fake)) == 1
