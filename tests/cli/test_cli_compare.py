"""``comet-images compare`` against the loopback fake: the sheet, the images and a CSV in the
folder, not-applicable cells never sent, bad input refused before anything is sent, a failed
cell's exit code, and a process killed mid-way resumed without paying any cell twice."""

from __future__ import annotations

import csv
import sys
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image
from test_cli import refused, run

from comet_widgets import read_metadata
from comet_widgets.testing import FakeAPI, FakeServer
from tests.helpers import fake_env, images_answered, kill_once_recorded, run_captured

EXAMPLE = (
    "compare", "a red fox", "--model", "gpt-image-2", "gpt-image-2.5-flare",
    "--quality", "low", "xhigh", "-o", "out/", "-q",
)  # fmt: skip


def bodies(fake: FakeAPI) -> list[dict[str, object]]:
    return [r.json for r in fake.requests if r.path.endswith("/images/generations")]


def table(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.mark.slow
def test_compare_writes_the_sheet_the_images_and_a_csv(
    fake_server: FakeServer, fake: FakeAPI, tmp_path: Path
) -> None:
    done = run(*EXAMPLE, cwd=tmp_path, server=fake_server)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "out"
    assert done.stdout.splitlines()[:2] == [
        str(Path("out") / "comparison.png"),
        str(Path("out") / "comparison.csv"),
    ]
    assert "2 model x 2 quality: 3 ok, 1 not applicable" in done.stdout
    assert done.stderr.startswith("compare: 4 cell(s) (1 not applicable), 3 to send: estimate")
    assert "not applicable: model=gpt-image-2, quality=xhigh:" in done.stderr
    # the refused cell was never sent
    assert fake.generation_count == 3
    assert ("gpt-image-2", "xhigh") not in {(b["model"], b.get("quality")) for b in bodies(fake)}
    rows = table(out / "comparison.csv")
    assert [(r["model"], r["quality"], r["status"]) for r in rows] == [
        ("gpt-image-2", "low", "ok"),
        ("gpt-image-2", "xhigh", "not applicable"),
        ("gpt-image-2.5-flare", "low", "ok"),
        ("gpt-image-2.5-flare", "xhigh", "ok"),
    ]
    for row in rows:
        if row["status"] == "ok":
            assert (tmp_path / row["path"]).is_file()
            assert float(row["cost"]) > 0
            assert int(row["tokens"]) > 0
    assert len(list(out.glob("0000*-a-red-fox-0.png"))) == 3
    record = read_metadata(out / "comparison.png")
    assert record["comparison"]["axes"] == {
        "model": ["gpt-image-2", "gpt-image-2.5-flare"],
        "quality": ["low", "xhigh"],
    }
    with Image.open(out / "comparison.png") as sheet:
        assert (sheet.width, sheet.height) == (record["width"], record["height"])
    # again: everything resumes, nothing is sent
    again = run(*EXAMPLE, cwd=tmp_path, server=fake_server)
    assert again.returncode == 0, again.stderr
    assert "cells already done in out/ are not sent again" in again.stderr
    assert fake.generation_count == 3
    assert [r["resumed"] for r in table(out / "comparison.csv")] == [
        "True",
        "False",
        "True",
        "True",
    ]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (("--quality", "hd"), "no cell of the comparison can be sent"),
        (("--quality", "low", "hd"), "quality 'hd' is refused on every cell"),
        (("-s", "1024x1024", "1536x1024", "--max-cells", "3"), "more than max_cells=3"),
        (("--layout", "size"), "layout"),
        (("--budget", "-1"), "--budget"),
    ],
)
def test_bad_input_exits_2_before_anything_is_sent(
    fake_server: FakeServer, fake: FakeAPI, tmp_path: Path, flags: tuple[str, ...], words: str
) -> None:
    done = run(
        "compare", "a boat", "-m", "gpt-image-2", "gpt-image-2.5-flare", *flags, "-o", "out",
        cwd=tmp_path, server=fake_server, key=False,
    )  # fmt: skip
    refused(done, fake, words)
    assert "COMETAPI_KEY" not in done.stderr  # refused before the key is even looked for
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_failed_cell_is_reported_and_exits_1(
    fake_server: FakeServer, fake: FakeAPI, tmp_path: Path
) -> None:
    fake.fail_next(1, 400, message="your prompt was refused", code="content_policy_violation")
    done = run(
        "compare", "a boat", "--quality", "low", "medium", "--concurrency", "1", "-o", "out",
        "-q", cwd=tmp_path, server=fake_server,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "failed: quality=low: HTTP 400: your prompt was refused\n" in done.stderr
    assert [r["status"] for r in table(tmp_path / "out" / "comparison.csv")] == ["failed", "ok"]


SIZES = ("1024x1024", "1536x1024", "1024x1536")
QUALITIES = ("low", "medium", "high")


def command(out: Path) -> list[str]:
    return [
        sys.executable, "-m", "comet_widgets", "compare", "a lighthouse", "-m", "gpt-image-2",
        "-s", *SIZES, "--quality", *QUALITIES, "-o", str(out), "--concurrency", "2", "-q",
    ]  # fmt: skip


def answered(fake: FakeAPI) -> Counter[tuple[str, str]]:
    """(size, quality) of each generation the fake answered with an image."""
    return Counter((str(r.json["size"]), str(r.json["quality"])) for r in images_answered(fake))


@pytest.mark.slow
def test_a_killed_comparison_resumes_without_paying_any_cell_twice(
    fake_server: FakeServer, fake: FakeAPI, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    fake.latency = 0.3
    before = len(
        kill_once_recorded(command(out), cwd=tmp_path, server=fake_server, out=out, lines=2, hold=9)
    )
    assert 2 <= before < 9
    assert not (out / "comparison.png").exists()  # it is written at the end
    first = answered(fake)
    assert sum(first.values()) == before

    fake.reset()
    done = run_captured(command(out), cwd=tmp_path, env=fake_env(fake_server))
    assert done.returncode == 0, done.stderr
    assert "3 size x 3 quality: 9 ok" in done.stdout
    assert fake.generation_count == 9 - before
    # each cell answered with an image exactly once over both runs: none paid twice
    assert first + answered(fake) == Counter((s, q) for s in SIZES for q in QUALITIES)
    rows = table(out / "comparison.csv")
    assert sum(r["resumed"] == "True" for r in rows) == before
    assert all(r["status"] == "ok" for r in rows)
