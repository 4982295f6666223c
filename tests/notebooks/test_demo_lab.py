"""``make demo``: JupyterLab on the quickstart, loopback only, token in the printed URL, the fake
API started when there is no key, scratch copies of every notebook (a save never touches the
repository), no news toast, and Ctrl-C stopping all of it."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from bench._lab import start_server, stop_server
from comet_widgets.testing import FAKE_API_KEY

# Up to START_TIMEOUT for the demo to start, then Ctrl-C and up to 30 s for it to stop.
pytestmark = [pytest.mark.notebook, pytest.mark.slow, pytest.mark.timeout(240)]

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90.0


def get(
    url: str, headers: dict[str, str] | None = None, *, method: str = "GET", body: Any = None
) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, headers=headers or {}, method=method, data=data)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """``python -m comet_widgets.cli._demo`` with no key; yields the process and its stdout lines
    up to the URL. It is always stopped afterwards (SIGINT, as Ctrl-C; then its whole process
    group and whatever names ``tmp_path``, its scratch folder included, with stop_server)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMETAPI_", "JUPYTER"))}
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_WORKSPACES_DIR"):
        env[name] = str(tmp_path / name.lower())
    env["JUPYTERLAB_SETTINGS_DIR"] = str(tmp_path / "settings")
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env["TMPDIR"] = str(tmp_path)  # the demo's scratch copy, so JupyterLab's command line
    errors = (tmp_path / "stderr.txt").open("w")
    process = start_server(
        [sys.executable, "-m", "comet_widgets.cli._demo"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
    )
    lines: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip("\n"))
            if line.strip().startswith("stop:"):
                break
        yield process, lines
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(30)
        stop_server(process, tmp_path)
        if process.stdout is not None:
            process.stdout.close()
        errors.close()
    # What a person sees in the terminal besides the URL: no warning that is not theirs.
    printed = (tmp_path / "stderr.txt").read_text()
    assert "Warning" not in printed, printed
    assert "Traceback" not in printed, printed


def test_make_demo_serves_the_quickstart_with_a_token_and_stops_on_ctrl_c(
    demo: tuple[subprocess.Popen[str], list[str]],
) -> None:
    process, lines = demo
    printed = "\n".join(lines)
    [url] = [line.split("open:", 1)[1].strip() for line in lines if "open:" in line] or [printed]
    parts = urlsplit(url)
    assert parts.hostname == "127.0.0.1", printed
    assert parts.path == "/lab/tree/notebooks/01-quickstart.ipynb"
    [token] = parse_qs(parts.query)["token"]
    assert len(token) >= 32
    assert "offline fake API at http://127.0.0.1:" in printed

    status, page = get(url)
    assert status == 200
    assert b"JupyterLab" in page
    root = f"{parts.scheme}://{parts.netloc}"
    assert get(f"{root}/api/contents/notebooks")[0] == 403, "the API must need the token"
    auth = {"Authorization": f"token {token}"}
    status, body = get(f"{root}/api/contents/notebooks/01-quickstart.ipynb", auth)
    assert status == 200, "the server's root holds the notebooks"
    served = json.loads(body)
    assert served["name"] == "01-quickstart.ipynb"
    # Every tracked notebook is served (as a scratch copy with the same cells), and nothing
    # else; the edits tutorial is named so a glob that found nothing could not pass.
    tracked = sorted(path.name for path in (REPO / "notebooks").glob("*.ipynb"))
    assert {"01-quickstart.ipynb", "02-batch-dataset.ipynb", "03-edits.ipynb"} <= set(tracked)
    assert tracked == sorted(
        item["name"]
        for item in json.loads(get(f"{root}/api/contents/notebooks", auth)[1])["content"]
        if item["name"].endswith(".ipynb")
    )
    for name in tracked:
        status, body = get(f"{root}/api/contents/notebooks/{name}", auth)
        assert status == 200, name
        copy = json.loads(body)["content"]
        original = json.loads((REPO / "notebooks" / name).read_text(encoding="utf-8"))
        assert [c["source"] for c in copy["cells"]] == [
            "".join(c["source"]) for c in original["cells"]
        ], name

    # A save (what autosave does) lands in the scratch copy, never in the tracked notebook.
    tracked = REPO / "notebooks" / "01-quickstart.ipynb"
    before = tracked.read_bytes()
    notebook = served["content"]
    notebook["cells"][0]["source"] = "edited in the demo session"
    status, _ = get(
        f"{root}/api/contents/notebooks/01-quickstart.ipynb",
        {**auth, "Content-Type": "application/json"},
        method="PUT",
        body={"type": "notebook", "format": "json", "content": notebook},
    )
    assert status == 200
    assert tracked.read_bytes() == before
    status, body = get(f"{root}/api/contents/notebooks/01-quickstart.ipynb", auth)
    assert "edited in the demo session" in json.dumps(json.loads(body)["content"])

    # No news toast (nor update check): the notification plugin's defaults say so.
    status, body = get(f"{root}/lab/api/settings/@jupyterlab/apputils-extension:notification", auth)
    assert status == 200
    defaults = json.loads(body)["schema"]["properties"]
    assert defaults["fetchNews"]["default"] == "false", "JupyterLab's own default asks ('none')"
    assert defaults["checkForUpdates"]["default"] is False

    # The fake the kernels are pointed at answers, with the fake's key.
    [fake_line] = [line for line in lines if "offline fake API at" in line]
    fake_base = fake_line.split("offline fake API at", 1)[1].split()[0]
    status, models = get(f"{fake_base}/models", {"Authorization": f"Bearer {FAKE_API_KEY}"})
    assert status == 200
    assert b"gpt-image-2" in models

    process.send_signal(signal.SIGINT)  # Ctrl-C
    assert process.wait(30) == 0
    assert not port_open(parts.port or 80), "JupyterLab still listens after Ctrl-C"
    fake_port = urlsplit(fake_base).port
    assert fake_port is not None
    assert not port_open(fake_port), "the fake still listens"
    [scratch_line] = [line for line in lines if "scratch copy" in line]
    assert "removed on exit" in scratch_line
