"""``make demo``: JupyterLab on the quickstart notebook; ``--script``: one image from the shell.

With ``COMETAPI_KEY`` set both use the real API (or ``COMETAPI_BASE_URL``); without it, the
offline fake API on loopback in this process (``backend``), paced like a real model so that a
newcomer sees the placeholders, the previews and has time to press Cancel.

JupyterLab listens on 127.0.0.1 only, on a free port, with a fresh token printed in the URL. It
works on copies of the notebooks in a scratch folder (removed on exit), so its autosave never
writes into the repository's tracked notebooks, and its news toast is off. Images saved in it go
to the checkout's ``comet-images/`` (ignored by git), which outlives the scratch copy: the demo
says where when it starts and when it stops. Ctrl-C (or SIGTERM) stops JupyterLab, its kernels
and the fake.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import webbrowser
from collections.abc import MutableMapping, Sequence
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from .._constants import (
    API_KEY_ENV,
    BASE_URL_ENV,
    DEFAULT_MODEL,
    DEFAULT_OUTPUT_DIR,
    LIBRARY_ENV,
)
from .._errors import key_from_env

if TYPE_CHECKING:
    from ..testing import FakeAPI

SEED_PROMPT = "A paper boat floating on calm water at sunrise."
QUICKSTART = "notebooks/01-quickstart.ipynb"
_REPO = Path(__file__).resolve().parents[2]
#: Default values of JupyterLab settings for the demo (a user's own settings still win): no news
#: toast and no update check, so the demo reaches nothing but loopback.
LAB_OVERRIDES = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False}
}
#: Seconds the demo's fake takes for each image: enough to see placeholders, previews and Cancel.
DEMO_SECONDS_PER_IMAGE = 1.5
_READY_TIMEOUT = 90.0
_STOP_TIMEOUT = 15.0


async def generate_one() -> int:
    """One image from the API the environment names, saved, and what it came with."""
    from .. import AsyncImageClient, read_metadata
    from ._commands import out  # server text (a revised prompt, a request id) escaped

    async with AsyncImageClient() as client:
        generation = await client.generate(SEED_PROMPT, model=DEFAULT_MODEL, size="1024x1024")
    image = generation.images[0]
    path = image.save()  # into ./comet-images/ (a bare "comet-images" would name a file)
    metadata = read_metadata(path)
    out(f"saved:          {path}")
    out(f"format:         {image.format} {image.width}x{image.height}")
    if image.revised_prompt:
        out(f"revised prompt: {image.revised_prompt}")
    out(f"request id:     {generation.request_id}")
    out(f"metadata keys:  {', '.join(sorted(metadata))}")
    return 0


def demo_fake() -> FakeAPI:
    """The fake API ``make demo`` serves when no key is set: paced like a real model."""
    from ..testing import FakeAPI

    return FakeAPI(seconds_per_image=DEMO_SECONDS_PER_IMAGE)


def backend(stack: contextlib.ExitStack, env: MutableMapping[str, str], images: Path) -> str:
    """Point ``env`` at the API: the real one with a key, else the demo's fake on loopback
    (kept running by ``stack``; what is recorded goes to ``images/library``, not the user's
    own library). Returns what makes the images, to say so."""
    if key_from_env() is not None:
        return f"CometAPI ({env.get(BASE_URL_ENV) or 'the default base URL'})"
    from ..testing import FAKE_API_KEY, serve_fake

    server = stack.enter_context(serve_fake(demo_fake()))
    env[API_KEY_ENV] = FAKE_API_KEY
    env[BASE_URL_ENV] = server.base_url
    env.setdefault(LIBRARY_ENV, str(images / "library"))
    return (
        f"the offline fake API at {server.base_url} (placeholder images, about"
        f" {DEMO_SECONDS_PER_IMAGE:g} s each; set {API_KEY_ENV} for real ones)"
    )


def scratch_copy(source: Path, scratch: Path, images: Path) -> None:
    """Copy the notebooks under ``source`` into ``scratch/notebooks`` (the served root).

    ``comet-images`` in both folders (a kernel saves there, relative to its notebook's folder)
    is a link to ``images``, so what is saved outlives the scratch copy.
    """
    target = scratch / "notebooks"
    target.mkdir(parents=True, exist_ok=True)
    for notebook in sorted((source / "notebooks").glob("*.ipynb")):
        shutil.copyfile(notebook, target / notebook.name)
    for folder in (scratch, target):
        (folder / DEFAULT_OUTPUT_DIR).symlink_to(images, target_is_directory=True)


def app_settings(scratch: Path) -> Path:
    """An application settings folder: JupyterLab's own (if any) plus ``LAB_OVERRIDES``."""
    target = scratch / ".lab-app-settings"
    try:
        from jupyterlab.commands import get_app_dir  # type: ignore[import-untyped]

        installed = Path(get_app_dir()) / "settings"
    except Exception:  # without JupyterLab's own folder there is nothing to keep
        installed = None
    if installed is not None and installed.is_dir():
        shutil.copytree(installed, target, dirs_exist_ok=True)
    target.mkdir(parents=True, exist_ok=True)
    overrides_path = target / "overrides.json"
    overrides: dict[str, dict[str, object]] = {}
    if overrides_path.is_file():
        with contextlib.suppress(ValueError):
            overrides = json.loads(overrides_path.read_text(encoding="utf-8"))
    for plugin, values in LAB_OVERRIDES.items():
        overrides.setdefault(plugin, {}).update(values)
    overrides_path.write_text(json.dumps(overrides, indent=1), encoding="utf-8")
    return target


def lab_command(*, port: int, token: str, root: Path, settings: Path) -> list[str]:
    """The JupyterLab command line: loopback only, this interpreter, no browser of its own."""
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--notebook-dir={root}",
        f"--LabApp.default_url=/lab/tree/{QUICKSTART}",
        "--ServerApp.log_level=WARN",
        # Voila (a dev extra, for the Voila browser tests) would load as a server extension
        # and turn traitlets' deprecation warnings on for the whole server, which then prints
        # jupyter-server's own "ServerApp.token config is deprecated" at everyone who runs the
        # demo (its token is given the current way, IdentityProvider.token).
        "--ServerApp.jpserver_extensions=voila.server_extension=False",
        f"--LabApp.app_settings_dir={settings}",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    return command


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    return False


def _stop(process: subprocess.Popen[bytes]) -> None:
    # SIGTERM lets the server shut its kernels down (they run in sessions of their own).
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _terminated(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run_lab(*, port: int = 0, open_browser: bool = False, root: Path | None = None) -> int:
    """Start JupyterLab on copies of the notebooks (and the fake when there is no key).

    ``root`` holds the ``notebooks/`` folder to copy and keeps the images saved in the demo in
    its ``comet-images/`` (default: the repository, else the current folder). Waits for Ctrl-C.
    """
    source = root or (_REPO if (_REPO / QUICKSTART).is_file() else Path.cwd())
    images = (source / DEFAULT_OUTPUT_DIR).resolve()
    images.mkdir(exist_ok=True)
    if not port:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:  # one free right now
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    token = secrets.token_hex(24)
    signal.signal(signal.SIGTERM, _terminated)
    with contextlib.ExitStack() as stack:
        # Said last, once JupyterLab and the fake have stopped, however the demo ended.
        done = f"comet-widgets demo: the images saved in it are in {images}"
        stack.callback(print, done, flush=True)
        scratch = Path(
            stack.enter_context(
                tempfile.TemporaryDirectory(prefix="comet-demo-", ignore_cleanup_errors=True)
            )
        )
        scratch_copy(source, scratch, images)
        settings = app_settings(scratch)
        env = dict(os.environ)
        label = backend(stack, env, images)
        process = subprocess.Popen(
            lab_command(port=port, token=token, root=scratch, settings=settings),
            env=env,
            cwd=scratch,
            start_new_session=True,  # Ctrl-C reaches this process only; it stops the server
        )
        stack.callback(_stop, process)
        url = f"http://127.0.0.1:{port}/lab/tree/{QUICKSTART}?token={token}"
        print(f"comet-widgets demo: JupyterLab on {scratch / QUICKSTART}", flush=True)
        print(f"  a scratch copy of {source / 'notebooks'} (removed on exit)", flush=True)
        print(f"  images from: {label}", flush=True)
        print(f"  images you save go to: {images}", flush=True)
        try:
            if not _wait_ready(url, process, _READY_TIMEOUT):
                print("  JupyterLab did not start; see its messages above", flush=True)
                return 1
            print(f"  open: {url}", flush=True)
            print("  stop: Ctrl-C", flush=True)
            if open_browser:
                webbrowser.open(url)
            return process.wait()
        except KeyboardInterrupt:
            print("\ncomet-widgets demo: stopping JupyterLab", flush=True)
            return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m comet_widgets.cli._demo")
    parser.add_argument("--script", action="store_true", help="generate one image and exit")
    parser.add_argument("--port", type=int, default=0, help="JupyterLab's port (default: free)")
    parser.add_argument("--browser", action="store_true", help="also open a web browser")
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="the folder whose notebooks/ are copied and whose comet-images/ keeps the images"
        " saved in the demo (default: this checkout)",
    )
    args = parser.parse_args(argv)
    if not args.script:
        return run_lab(port=args.port, open_browser=args.browser, root=args.root)
    with contextlib.ExitStack() as stack:
        label = backend(stack, os.environ, Path(DEFAULT_OUTPUT_DIR))
        print(f"comet-widgets demo: generating with {label}")
        return asyncio.run(generate_one())


if __name__ == "__main__":
    sys.exit(main())
