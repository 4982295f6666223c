"""``comet-images edit``'s flags are ``EditParams``'s: ``--markup FILE`` sends a markup, and
what an edit refuses (a markup with a mask, ``--moderation``) exits 2 before any request."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from test_cli import refused, run

from comet_widgets.testing import FakeAPI, FakeServer

MARKUP_MODEL = "gpt-image-2.5-flare"


def edits(fake: FakeAPI) -> list[object]:
    return [r for r in fake.requests if r.path == "/v1/images/edits"]


def files(tmp_path: Path) -> None:
    Image.new("RGB", (64, 64), (200, 10, 10)).save(tmp_path / "photo.png")
    marks = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    ImageDraw.Draw(marks).line((8, 8, 56, 56), fill=(255, 255, 0), width=4)
    marks.save(tmp_path / "marks.png")


@pytest.mark.slow
def test_edit_sends_a_markup_file(tmp_path: Path, fake_server: FakeServer, fake: FakeAPI) -> None:
    files(tmp_path)
    done = run(
        "edit",
        "photo.png",
        "a lamp where the line is",
        "--markup",
        "marks.png",
        "-m",
        MARKUP_MODEL,
        "-o",
        "out",
        cwd=tmp_path,
        server=fake_server,
    )
    assert done.returncode == 0, done.stderr
    [request] = edits(fake)
    sent = [(p.name, p.filename) for p in request.form if p.value is None]  # type: ignore[attr-defined]
    assert sent == [("image", "photo.png"), ("markup", "marks.png")]
    assert len(list((tmp_path / "out").glob("*.png"))) == 1


@pytest.mark.slow
@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (("--markup", "marks.png", "--mask", "marks.png"), "cannot be combined with a mask"),
        (("--markup", "marks.png", "-m", "gpt-image-2"), "gpt-image-2 takes no markup"),
        (("--markup", "nope.png"), "nope.png"),
        (("--moderation", "low"), "unrecognized arguments: --moderation"),
        (("--output-format", "gif", "--mask", "marks.png"), "GIF output takes no mask"),
    ],
)
def test_edit_refuses_before_sending(
    tmp_path: Path,
    fake_server: FakeServer,
    fake: FakeAPI,
    flags: tuple[str, ...],
    words: str,
) -> None:
    files(tmp_path)
    model = () if "-m" in flags else ("-m", MARKUP_MODEL)
    done = run("edit", "photo.png", "x", *model, *flags, cwd=tmp_path, server=fake_server)
    refused(done, fake, words)


@pytest.mark.slow
def test_batch_reads_a_markup_column(
    tmp_path: Path, fake_server: FakeServer, fake: FakeAPI
) -> None:
    (tmp_path / "in").mkdir()
    files(tmp_path / "in")
    (tmp_path / "in" / "edits.csv").write_text(
        "prompt,image,markup\na lamp,photo.png,marks.png\nno marks,photo.png,\n"
    )
    done = run(
        "batch", "in/edits.csv", "-o", "out", "-m", MARKUP_MODEL, cwd=tmp_path, server=fake_server
    )
    assert done.returncode == 0, done.stderr
    sent = sorted(
        [p.name for p in r.form if p.value is None]  # type: ignore[attr-defined]
        for r in edits(fake)
    )
    assert sent == [["image"], ["image", "markup"]]
