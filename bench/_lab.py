"""JupyterLab in headless Chromium for the browser benchmark, as the browser tests run it.

The same approach as ``tests/browser/conftest.py`` (Debian's ``/usr/bin/chromium`` driven by
Playwright, never ``playwright install``; JupyterLab 4 on a free loopback port with a token;
Jupyter's config, runtime, settings and workspaces in a throwaway directory; every request that
is not to loopback aborted), as plain context managers: the benchmark is no pytest session, and
``bench`` does not import ``tests``. Every server starts in a process group of its own
(``start_server``) and ``stop_server`` ends the whole group, then the kernels whose command line
names the server's folder: the tests start and stop all their servers with these two.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ._common import free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
TOKEN = "bench-token-" + os.urandom(8).hex()
START_TIMEOUT = 60.0
KERNEL_TIMEOUT_MS = 60_000

_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
}

KERNEL_IDLE_JS = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!w || !w.sessionContext || !w.context || !w.context.isReady) return false;
  const kernel = w.sessionContext.session && w.sessionContext.session.kernel;
  return !!kernel && kernel.status === 'idle' && kernel.connectionStatus === 'connected';
}"""

RUN_CELL_JS = """async (index) => {
  const app = window.jupyterapp;
  const notebook = app.shell.currentWidget.content;
  notebook.activeCellIndex = index;
  notebook.deselectAll();
  await app.commands.execute('notebook:run-cell');
}"""


def missing() -> str | None:
    """Why the browser benchmark cannot run here (None: it can)."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Python Playwright is not installed (pip install -e '.[dev]')"
    return None


def isolated_env(
    root: Path, base_url: str, api_key: str, *, settings: dict[str, Any] | None = None
) -> dict[str, str]:
    """A JupyterLab server's (and so its kernels') environment: every Jupyter path under
    ``root``, JupyterLab ``settings`` written there (default: no news, no update check), the
    caller's Jupyter/CometAPI/pytest variables dropped, and the API at ``base_url``.

    The browser tests (``tests/browser/conftest.py``) start their servers with it too.
    """
    dirs = {
        "JUPYTER_CONFIG_DIR": root / "config",
        "JUPYTER_DATA_DIR": root / "data",
        "JUPYTER_RUNTIME_DIR": root / "runtime",
        "JUPYTERLAB_SETTINGS_DIR": root / "lab-settings",
        "JUPYTERLAB_WORKSPACES_DIR": root / "lab-workspaces",
        "IPYTHONDIR": root / "ipython",
    }
    for path in dirs.values():
        path.mkdir(parents=True, exist_ok=True)
    for name, values in (_SETTINGS if settings is None else settings).items():
        target = dirs["JUPYTERLAB_SETTINGS_DIR"] / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("JUPYTER", "COMETAPI_", "IPYTHON", "PYTEST_"))
    }
    env.update({name: str(path) for name, path in dirs.items()})
    env.update(
        {
            "JUPYTER_PLATFORM_DIRS": "1",
            "PYDEVD_DISABLE_FILE_VALIDATION": "1",
            "COMETAPI_KEY": api_key,
            "COMETAPI_BASE_URL": base_url,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        }
    )
    return env


class Lab:
    """A running JupyterLab: its address, token and notebook folder."""

    def __init__(self, proc: subprocess.Popen[bytes], port: int, root: Path) -> None:
        self.proc = proc
        self.port = port
        self.root = root
        self.notebooks = root / "notebooks"

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}?token={TOKEN}"

    def ready(self) -> bool:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/api/status",
            headers={"Authorization": f"token {TOKEN}"},
        )
        with contextlib.suppress(OSError), urllib.request.urlopen(request, timeout=2) as answer:
            return bool(answer.status == 200)
        return False

    def log_tail(self) -> str:
        log = self.root / "jupyterlab.log"
        return log.read_text(errors="replace")[-3000:] if log.exists() else ""


#: Seconds a server gets to exit after SIGTERM before its process group is killed.
GRACE = 10.0


def start_server(argv: list[str], **popen: Any) -> subprocess.Popen[Any]:
    """Start ``argv`` (``popen``: Popen's keyword arguments) in a process group of its own, so
    that ``stop_server`` ends it with everything it started."""
    return subprocess.Popen(argv, start_new_session=True, **popen)


def _procs() -> Iterator[tuple[int, int, bytes]]:
    """(pid, process group, command line) of every live process, zombies left out (Linux)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if fields[0] != "Z":
                    yield int(entry.name), int(fields[2]), (entry / "cmdline").read_bytes()


def _in_group(group: int) -> list[int]:
    return [pid for pid, pgid, _ in _procs() if pgid == group]


def _naming(root: Path) -> list[int]:
    """Processes whose command line names a path under ``root`` (a kernel: its connection
    file), this one excepted."""
    marker = os.path.join(root, "").encode()
    return [pid for pid, _, cmdline in _procs() if marker in cmdline and pid != os.getpid()]


def _wait_gone(find: Callable[[], list[int]], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while find() and time.monotonic() < deadline:
        time.sleep(0.05)


def stop_server(
    proc: subprocess.Popen[Any], root: Path | None = None, *, grace: float = GRACE
) -> None:
    """End a server started with ``start_server`` and its whole process group: SIGTERM, up to
    ``grace`` s, then SIGKILL (also when a test's timeout interrupts the wait). Then, given the
    ``root`` folder its kernels' connection files are under, ``stop_kernels(root)``. Safe to
    call on a server that has already exited.
    """
    group = proc.pid
    try:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
        _wait_gone(partial(_in_group, group), grace)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
        proc.wait()
    if root is not None:
        stop_kernels(root)


def stop_kernels(root: Path) -> None:
    """End every process whose command line names a path under ``root``: kernels (their
    connection file), which run in sessions of their own, out of their server's process group.
    SIGTERM, up to 5 s, then SIGKILL."""
    for sig, seconds in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 1.0)):
        for pid in _naming(root):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        _wait_gone(partial(_naming, root), seconds)


@contextlib.contextmanager
def jupyterlab(base_url: str, api_key: str) -> Iterator[Lab]:
    """JupyterLab on 127.0.0.1 whose kernels talk to the API at ``base_url`` with ``api_key``."""
    with tempfile.TemporaryDirectory(prefix="cw-bench-lab-") as tmp:
        root = Path(tmp)
        (root / "notebooks").mkdir()
        env = isolated_env(root, base_url, api_key)
        port = free_port()
        argv = [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--allow-root",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.root_dir={root / 'notebooks'}",
            f"--IdentityProvider.token={TOKEN}",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        with (root / "jupyterlab.log").open("wb") as log:
            proc = start_server(
                argv, cwd=root / "notebooks", env=env, stdout=log, stderr=subprocess.STDOUT
            )
        lab = Lab(proc, port, root)
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while not lab.ready():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"JupyterLab did not start:\n{lab.log_tail()}")
                time.sleep(0.2)
            yield lab
        finally:
            stop_server(lab.proc, lab.root)


def _loopback_only(route: Any) -> None:
    url = route.request.url
    host = urlsplit(url).hostname or ""
    if host in ("127.0.0.1", "localhost", "::1") or url.startswith(("data:", "blob:")):
        route.continue_()
    else:
        route.abort()


@contextlib.contextmanager
def chromium_page(width: int = 1280, height: int = 1000) -> Iterator[Any]:
    """A page of headless Chromium in a fresh context; requests outside loopback aborted."""
    import re

    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(viewport={"width": width, "height": height})
            context.route(re.compile(r"^(?!data:|blob:).*"), _loopback_only)
            context.set_default_timeout(60_000)
            yield context.new_page()
        finally:
            browser.close()
