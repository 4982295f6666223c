"""A batch process killed mid-way loses nothing it finished and never pays twice on resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from comet_widgets.batch._manifest import MANIFEST_NAME, read_manifest
from comet_widgets.testing import FAKE_API_KEY, FakeAPI, FakeServer

PROMPTS = [f"crash-test prompt {i}" for i in range(16)]


def command(out: Path) -> list[str]:
    # --rpm 600 staggers the starts (one every 0.1 s) so answers arrive one at a time: a kill
    # right after a manifest line lands far from the next answer.
    return [
        sys.executable, "-m", "comet_widgets", "batch", "prompts.txt", "-o", str(out),
        "-m", "dall-e-2", "-s", "256x256", "--concurrency", "4", "--rpm", "600",
    ]  # fmt: skip


def environment(server: FakeServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMETAPI_")}
    env["COMETAPI_KEY"] = FAKE_API_KEY
    env["COMETAPI_BASE_URL"] = server.base_url
    return env


def wait_for_lines(manifest: Path, count: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while len(read_manifest(manifest)) < count:
        assert process.poll() is None, "the batch ended before it could be interrupted"
        assert time.monotonic() < deadline, "no manifest lines appeared"
        time.sleep(0.005)


def successes_per_prompt(fake: FakeAPI) -> Counter[str]:
    return Counter(
        r.json["prompt"]
        for r in fake.requests
        if r.path.endswith("/images/generations") and r.status == 200
    )


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
    finally:
        process.kill()  # SIGKILL: no cleanup of any kind
        process.wait(timeout=10)
    assert process.returncode == -signal.SIGKILL
    before = read_manifest(manifest)
    assert 3 <= len(before) < len(PROMPTS)
    first_run_requests = fake.generation_count

    fake.latency = 0.0
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
    second_run_requests = fake.generation_count - first_run_requests
    assert second_run_requests == len(PROMPTS) - len(before)

    after = read_manifest(manifest)
    assert Counter(r["prompt"] for r in after if r["error"] is None) == Counter(PROMPTS)
    assert all(r["error"] is None for r in after)
    for record in after:
        assert (out / record["paths"][0]).is_file()
    # the fake answered each prompt successfully exactly once over both runs: nothing paid twice
    assert successes_per_prompt(fake) == Counter(PROMPTS)


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
