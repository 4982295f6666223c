"""``make demo``: JupyterLab on the quickstart, loopback only, token in the printed URL, the fake
API started when there is no key (a second or more per image), scratch copies of every notebook
(a save never touches the repository), images saved in its kernels kept in the checkout's
``comet-images/`` after it stops, no news toast, and Ctrl-C stopping all of it.

The demo runs on a copy of the checkout's notebooks (``--root``), so nothing lands in the real
checkout."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from bench._lab import start_server, stop_server
from comet_widgets import read_metadata
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
def checkout(tmp_path: Path) -> Path:
    """A stand-in for the checkout: a copy of its notebooks."""
    shutil.copytree(REPO / "notebooks", tmp_path / "checkout" / "notebooks")
    return tmp_path / "checkout"


@pytest.fixture
def demo(tmp_path: Path, checkout: Path) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """``python -m comet_widgets.cli._demo --root CHECKOUT`` with no key; yields the process and
    its stdout lines up to the URL. It is always stopped afterwards (SIGINT, as Ctrl-C; then
    its whole process group and whatever names ``tmp_path``, its scratch folder included, with
    stop_server)."""
    # No key, and no library set: the demo picks where its panels record (tests/conftest.py
    # sets COMET_WIDGETS_LIBRARY for the suite).
    drop = ("COMETAPI_", "JUPYTER", "COMET_WIDGETS_LIBRARY")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_WORKSPACES_DIR"):
        env[name] = str(tmp_path / name.lower())
    env["JUPYTERLAB_SETTINGS_DIR"] = str(tmp_path / "settings")
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    env["TMPDIR"] = str(tmp_path)  # the demo's scratch copy, so JupyterLab's command line
    errors = (tmp_path / "stderr.txt").open("w")
    process = start_server(
        [sys.executable, "-m", "comet_widgets.cli._demo", "--root", str(checkout)],
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
    demo: tuple[subprocess.Popen[str], list[str]], checkout: Path
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

    # A save (what autosave does) lands in the scratch copy, never in the checkout's notebook.
    tracked = checkout / "notebooks" / "01-quickstart.ipynb"
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


def run_in_kernel(url: str, code: str) -> str:
    """Run ``code`` in a new kernel of the quickstart's session on the demo's JupyterLab (as a
    notebook cell runs, over the kernel's websocket); return what it printed."""
    import websocket  # websocket-client, as jupyter-server has it

    parts = urlsplit(url)
    [token] = parse_qs(parts.query)["token"]
    root = f"{parts.scheme}://{parts.netloc}"
    auth = {"Authorization": f"token {token}", "Content-Type": "application/json"}
    session = {"path": "notebooks/01-quickstart.ipynb", "type": "notebook", "name": ""}
    status, body = get(
        f"{root}/api/sessions", auth, method="POST", body={**session, "kernel": {"name": "python3"}}
    )
    assert status == 201, body
    kernel = json.loads(body)["kernel"]["id"]
    channels = f"ws://{parts.netloc}/api/kernels/{kernel}/channels?token={token}"
    socket_ = websocket.create_connection(channels, timeout=60)
    header = {"msg_id": uuid.uuid4().hex, "msg_type": "execute_request", "version": "5.3"}
    header.update(username="test", session=uuid.uuid4().hex, date="")
    content = {"code": code, "silent": False, "store_history": False, "allow_stdin": False}
    request = {"header": header, "parent_header": {}, "metadata": {}, "channel": "shell"}
    socket_.send(json.dumps({**request, "content": {**content, "user_expressions": {}}}))
    printed = []
    try:
        while True:
            message = json.loads(socket_.recv())
            if message["parent_header"].get("msg_id") != header["msg_id"]:
                continue
            kind, body_ = message["msg_type"], message["content"]
            if kind == "stream":
                printed.append(body_["text"])
            elif kind == "error":
                raise AssertionError("\n".join(body_["traceback"]))
            elif kind == "status" and body_["execution_state"] == "idle":
                return "".join(printed)
    finally:
        socket_.close()


SAVE_IN_THE_KERNEL = """
import time
from comet_widgets import AsyncImageClient

started = time.monotonic()
async with AsyncImageClient() as client:  # the demo's fake, from the kernel's environment
    generation = await client.generate("a paper boat", model="gpt-image-2")
print("took", time.monotonic() - started)
print("saved", *[path.resolve() for path in generation.save()])
from comet_widgets import Library
print("library-at", Library().path.resolve())
"""


def test_an_image_saved_in_the_demos_kernel_outlives_the_demo_in_the_checkout(
    demo: tuple[subprocess.Popen[str], list[str]], checkout: Path, tmp_path: Path
) -> None:
    process, lines = demo
    images = checkout / "comet-images"
    assert f"images you save go to: {images}" in "\n".join(lines)
    [url] = [line.split("open:", 1)[1].strip() for line in lines if "open:" in line]

    printed = run_in_kernel(url, SAVE_IN_THE_KERNEL)
    took = float(printed.split("took", 1)[1].split()[0])
    assert took >= 1.0, "the demo's fake answers at a real model's pace"
    [saved] = [
        Path(line.split(" ", 1)[1]) for line in printed.splitlines() if line.startswith("saved ")
    ]
    assert saved.parent == images.resolve()
    # Offline, the panels record into a library beside the images, not the user's own.
    [library] = [
        line.split(" ", 1)[1] for line in printed.splitlines() if line.startswith("library-at ")
    ]
    assert Path(library) == (images / "library").resolve()

    process.send_signal(signal.SIGINT)  # Ctrl-C
    assert process.wait(30) == 0
    assert process.stdout is not None
    farewell = process.stdout.read()
    assert f"the images saved in it are in {images}" in farewell
    assert saved.is_file(), "the image outlived the demo"
    assert read_metadata(saved)["prompt"] == "a paper boat"
    assert not list(tmp_path.glob("comet-demo-*")), "the scratch copy is removed"
