"""A batch process killed mid-way loses nothing it finished and never pays twice on resume."""

from __future__ import annotations

import signal
import sys
from collections import Counter
from pathlib import Path

import pytest

from comet_widgets.batch._manifest import MANIFEST_NAME, read_manifest
from comet_widgets.testing import FakeAPI, FakeServer
from tests.helpers import (
    fake_env,
    images_answered,
    kill_once_recorded,
    run_captured,
    start_against,
    wait_until,
)

PROMPTS = [f"crash-test prompt {i}" for i in range(16)]


def command(out: Path) -> list[str]:
    # --rpm 600 staggers the starts (one every 0.1 s): the first lines land well before the
    # last prompt is sent, so there is a batch left to interrupt.
    return [
        sys.executable, "-m", "comet_widgets", "batch", "prompts.txt", "-o", str(out),
        "-m", "dall-e-2", "-s", "256x256", "--concurrency", "4", "--rpm", "600",
    ]  # fmt: skip


def successes_per_prompt(fake: FakeAPI) -> Counter[str]:
    return Counter(r.json["prompt"] for r in images_answered(fake))


@pytest.mark.slow
def test_sigkill_mid_batch_then_resume_does_every_prompt_exactly_once(
    fake_server: FakeServer, fake: FakeAPI, tmp_path: Path
) -> None:
    (tmp_path / "prompts.txt").write_text("\n".join(PROMPTS) + "\n")
    out = tmp_path / "out"
    fake.latency = 0.4
    before = kill_once_recorded(
        command(out), cwd=tmp_path, server=fake_server, out=out, lines=3, hold=len(PROMPTS)
    )
    assert 3 <= len(before) < len(PROMPTS)
    first_run = successes_per_prompt(fake)
    assert sum(first_run.values()) == len(before)

    fake.reset()  # no latency, no held answers; a fresh log for the second run
    done = run_captured(command(out), cwd=tmp_path, env=fake_env(fake_server))
    assert done.returncode == 0, done.stderr
    assert f"{len(PROMPTS)} ok ({len(before)} resumed)" in done.stdout
    assert fake.generation_count == len(PROMPTS) - len(before)

    after = read_manifest(out / MANIFEST_NAME)
    assert Counter(r["prompt"] for r in after if r["error"] is None) == Counter(PROMPTS)
    assert all(r["error"] is None for r in after)
    for record in after:
        assert (out / record["paths"][0]).is_file()
    # the fake answered each prompt with an image exactly once over both runs: nothing paid twice
    assert first_run + successes_per_prompt(fake) == Counter(PROMPTS)


@pytest.mark.slow
def test_sigterm_stops_gracefully_and_keeps_finished_items(
    fake_server: FakeServer, fake: FakeAPI, tmp_path: Path
) -> None:
    (tmp_path / "prompts.txt").write_text("\n".join(PROMPTS) + "\n")
    out = tmp_path / "out"
    fake.latency = 0.4
    process = start_against(fake_server, command(out), cwd=tmp_path)
    try:
        wait_until(lambda: len(read_manifest(out / MANIFEST_NAME)) >= 2, "2 lines", process)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130
    assert "interrupted: finished items are saved" in err
    assert "Traceback" not in err
    lines = read_manifest(out / MANIFEST_NAME)
    assert 2 <= len(lines) < len(PROMPTS)
    assert all((out / r["paths"][0]).is_file() for r in lines)
