"""A batch process killed mid-way loses nothing it finished and never pays twice on resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from comet_widgets.batch._manifest import MANIFEST_NAME, read_manifest
from comet_widgets.testing import FAKE_API_KEY, FakeAPI, FakeServer

PROMPTS = [f"crash-test prompt {i}" for i in range(16)]


def command(out: Path) -> list[str]:
    # --rpm 600 staggers the starts (one every 0.1 s): the first lines land well before the
    # last prompt is sent, so there is a batch left to interrupt.
    return [
        sys.executable, "-m", "comet_widgets", "batch", "prompts.txt", "-o", str(out),
        "-m", "dall-e-2", "-s", "256x256", "--concurrency", "4", "--rpm", "600",
    ]  # fmt: skip


def environment(server: FakeServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMETAPI_")}
    env["COMETAPI_KEY"] = FAKE_API_KEY
    env["COMETAPI_BASE_URL"] = server.base_url
    return env


def wait_until(condition: Callable[[], bool], what: str, process: subprocess.Popen[str]) -> None:
    """Poll ``condition`` (a generous deadline only against a hang; nothing here is timed)."""
    deadline = time.monotonic() + 60
    while not condition():
        assert process.poll() is None, f"the batch ended before {what}"
        assert time.monotonic() < deadline, f"never: {what}"
        time.sleep(0.005)


def wait_for_lines(manifest: Path, count: int, process: subprocess.Popen[str]) -> None:
    wait_until(lambda: len(read_manifest(manifest)) >= count, "manifest lines appeared", process)


def generations(fake: FakeAPI) -> list[Any]:
    return [r for r in fake.requests if r.path.endswith("/images/generations")]


def successes_per_prompt(fake: FakeAPI) -> Counter[str]:
    """Prompts the fake answered with an image (a held answer cut off by the kill is not one)."""
    return Counter(r.json["prompt"] for r in generations(fake) if r.status == 200 and not r.fault)


def settled(fake: FakeAPI) -> bool:
    """The fake has finished with every request it received (its log is complete)."""
    return fake.in_flight == 0 and all(r.finished is not None for r in fake.requests)


@pytest.mark.slow
def test_sigkill_mid_batch_then_resume_does_every_prompt_exactly_once(
    fake_server: FakeServer, fake: FakeAPI, tmp_path: Path
) -> None:
    (tmp_path / "prompts.txt").write_text("\n".join(PROMPTS) + "\n")
    out = tmp_path / "out"
    manifest = out / MANIFEST_NAME
    fake.latency = 0.4
    process = subprocess.Popen(
        command(out),
        cwd=tmp_path,
        env=environment(fake_server),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        wait_for_lines(manifest, 3, process)
        # From now on every request is held: headers, then a body that never comes. The kill
        # must not land between an image answer and its manifest line (that image would be
        # requested and paid again, rightly), so wait until every answer sent is recorded.
        fake.trickle_seconds, fake.trickle_chunks = 3600.0, 1
        fake.malform_next("trickle", count=len(PROMPTS))

        def quiet() -> bool:
            answering = [r for r in generations(fake) if not r.fault and r.finished is None]
            answered = sum(successes_per_prompt(fake).values())
            return not answering and answered == len(read_manifest(manifest))

        wait_until(quiet, "every image answered was in the manifest", process)
    finally:
        process.kill()  # SIGKILL: no cleanup of any kind
        process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL
    before = read_manifest(manifest)
    assert 3 <= len(before) < len(PROMPTS)
    deadline = time.monotonic() + 60
    while not settled(fake):  # the held requests end when the fake sees the hang-up
        assert time.monotonic() < deadline, f"the fake is still busy: {fake!r}"
        time.sleep(0.005)
    first_run = successes_per_prompt(fake)
    assert sum(first_run.values()) == len(before)

    fake.reset()  # no latency, no held answers; a fresh log for the second run
    done = subprocess.run(
        command(out),
        cwd=tmp_path,
        env=environment(fake_server),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert f"{len(PROMPTS)} ok ({len(before)} resumed)" in done.stdout
    assert fake.generation_count == len(PROMPTS) - len(before)

    after = read_manifest(manifest)
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
    process = subprocess.Popen(
        command(out),
        cwd=tmp_path,
        env=environment(fake_server),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_lines(out / MANIFEST_NAME, 2, process)
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
