"""Real-browser fixtures: JupyterLab 4 and Voilà on loopback, driven by headless Chromium.

Both servers run as subprocesses of this venv with isolated Jupyter directories (config,
runtime, IPython, lab settings and workspaces under a tmp dir; the venv's own share/jupyter
stays on the data path, so the ipywidgets lab extension is found). Their kernels inherit
``COMETAPI_KEY`` (a recognisable secret built at run time) and ``COMETAPI_BASE_URL`` pointing
at a fake API served from this pytest process, so a test turns the fake's knobs directly.

The browser is Debian's Chromium (``/usr/bin/chromium``; ``playwright install`` is never run):
one per session, a new context per test, and every request that is not to loopback aborted.
Without Chromium the tests skip locally and fail when ``CI`` is set.

A test in JupyterLab opens the panel with ``lab_panel`` (a copy of a notebook, its panel cell
run, the panel "Ready") and works it through the ``Panel`` locators of its documented classes.

The browser, the servers and the fake are package-scoped (this folder is a package for that):
they end when the last browser test has run, before the rest of the suite. That matters: while
Playwright's sync API is open, the main thread looks as if an event loop were running, and every
pytest-asyncio test after it would fail with "Runner.run() cannot be called from a running event
loop".
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from bench._lab import isolated_env, start_server, stop_server
from comet_widgets.testing import FakeAPI, FakeServer, serve_fake

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "test-artifacts" / "browser"
TEST_NOTEBOOK = HERE / "panel.ipynb"

#: The key the kernels get. Built at run time so that the literal never sits in a file the
#: secrecy test searches (the saved notebook), nor in this repository as one string.
SECRET_KEY = "sk-" + "browser-SECRET-" + "123456"
TOKEN = "browser-token-" + os.urandom(8).hex()

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
#: Every browser test has a 240 s timeout (its pytestmark): the first one also waits for
#: Chromium, JupyterLab (up to SERVER_START_TIMEOUT) and a kernel (KERNEL_TIMEOUT_MS) to start.
SERVER_START_TIMEOUT = 60.0
#: Generous: the first kernel start of a session imports ipywidgets, Pillow and httpx.
KERNEL_TIMEOUT_MS = 45_000

_LAB_SETTINGS = {
    # No news toast, no update check: nothing may reach outside loopback.
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    # Every cell in the DOM, so a locator finds outputs of cells scrolled out of view.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    # Save widget state into the notebook: the secrecy test checks that it carries no key.
    "@jupyter-widgets/jupyterlab-manager/plugin.jupyterlab-settings": {"saveState": True},
}

_artifacts_written: list[Path] = []


def record_artifact(path: Path) -> None:
    """Remember a file written for a person to look at; the terminal summary lists it."""
    _artifacts_written.append(path)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _artifacts_written:
        terminalreporter.section("browser test artifacts")
        for path in _artifacts_written:
            terminalreporter.write_line(str(path.resolve()))


# -- servers --------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class JupyterServer:
    """A JupyterLab or Voilà server started by a fixture (stopped with its process group and
    kernels when its package's tests end)."""

    name: str
    proc: subprocess.Popen[bytes]
    port: int
    root: Path
    log: Path
    notebooks: Path
    token: str = TOKEN

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def page_url(self, path: str = "/") -> str:
        """An address on this server that logs the browser in with the token."""
        return f"{self.url}{path}?token={self.token}"

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def api(self, method: str, path: str) -> Any:
        """Call the server's REST API with the token; the decoded JSON (None when empty)."""
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None


def _isolated_env(root: Path, fake_base_url: str) -> dict[str, str]:
    """The servers' (and so their kernels') environment: Jupyter paths under ``root``, the
    venv's share/jupyter (labextensions, kernelspec) still on the path through sys.prefix."""
    return isolated_env(root, fake_base_url, SECRET_KEY, settings=_LAB_SETTINGS)


def _start(name: str, root: Path, argv: list[str], port: int, env: dict[str, str]) -> JupyterServer:
    log = root / f"{name}.log"
    with log.open("wb") as out:
        proc = start_server(
            argv, cwd=root / "notebooks", env=env, stdout=out, stderr=subprocess.STDOUT
        )
    return JupyterServer(name, proc, port, root, log, root / "notebooks")


def _wait_ready(server: JupyterServer, probe: Any) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(
                f"{server.name} exited with {server.proc.returncode}:\n{server.log_tail()}"
            )
        with contextlib.suppress(OSError):
            if probe():
                return
        time.sleep(0.2)
    _stop(server)
    raise RuntimeError(
        f"{server.name} was not ready in {SERVER_START_TIMEOUT:g} s:\n{server.log_tail()}"
    )


def _tcp_open(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


def _stop(server: JupyterServer) -> None:
    stop_server(server.proc, server.root)


@pytest.fixture(scope="package")
def secret_key() -> str:
    """The API key in the kernels' environment (the fake accepts only this one)."""
    return SECRET_KEY


@pytest.fixture(scope="package")
def browser_fake() -> Iterator[FakeServer]:
    """The fake API on loopback for the kernels; it accepts only ``SECRET_KEY``."""
    with serve_fake(FakeAPI(api_key=SECRET_KEY)) as server:
        yield server


@pytest.fixture
def fake(browser_fake: FakeServer) -> Iterator[FakeAPI]:
    """The browser fake's app, its knobs and counters reset for each test."""
    browser_fake.app.reset()
    yield browser_fake.app
    browser_fake.app.reset()


@contextlib.contextmanager
def jupyter_server(
    tmp_path_factory: pytest.TempPathFactory, fake_base_url: str, module: str, *app_args: str
) -> Iterator[JupyterServer]:
    """``python -m module`` (``jupyterlab``, or ``notebook`` for Notebook 7) on 127.0.0.1 with
    token auth, in a throwaway root, its kernels talking to the fake at ``fake_base_url``;
    ``app_args``: the app's own options (expose ``window.jupyterapp`` there)."""
    root = tmp_path_factory.mktemp(module)
    (root / "notebooks").mkdir()
    env = _isolated_env(root, fake_base_url)
    port = _free_port()
    argv = [
        sys.executable,
        "-m",
        module,
        "--no-browser",
        "--allow-root",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.root_dir={root / 'notebooks'}",
        f"--IdentityProvider.token={TOKEN}",
        *app_args,
    ]
    server = _start(module, root, argv, port, env)

    def probe() -> bool:
        return server.api("GET", "/api/status") is not None

    try:
        _wait_ready(server, probe)
        yield server
    finally:
        _stop(server)


@pytest.fixture(scope="package")
def lab_server(
    tmp_path_factory: pytest.TempPathFactory, browser_fake: FakeServer, _chromium: None
) -> Iterator[JupyterServer]:
    """JupyterLab 4 on 127.0.0.1 with token auth; ``window.jupyterapp`` is exposed."""
    with jupyter_server(
        tmp_path_factory,
        browser_fake.base_url,
        "jupyterlab",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ) as server:
        yield server


@pytest.fixture(scope="package")
def voila_server(
    tmp_path_factory: pytest.TempPathFactory, browser_fake: FakeServer, _chromium: None
) -> Iterator[JupyterServer]:
    """Voilà serving a copy of the test notebook on 127.0.0.1 with token auth."""
    root = tmp_path_factory.mktemp("voila")
    (root / "notebooks").mkdir()
    notebook = root / "notebooks" / TEST_NOTEBOOK.name
    shutil.copy(TEST_NOTEBOOK, notebook)
    env = _isolated_env(root, browser_fake.base_url)
    port = _free_port()
    argv = [
        sys.executable,
        "-m",
        "voila",
        str(notebook),
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        f"--Voila.token={TOKEN}",
        "--show_tracebacks=True",
        # Connection files (so kernel command lines) under root: teardown finds its kernels.
        f"--Voila.connection_dir_root={root / 'runtime'}",
    ]
    server = _start("voila", root, argv, port, env)
    try:
        # A TCP connect only: an HTTP GET of / would start a kernel that stays.
        _wait_ready(server, lambda: _tcp_open(port))
        yield server
    finally:
        _stop(server)


# -- browser --------------------------------------------------------------------------------


@pytest.fixture(scope="package")
def _chromium() -> None:
    """Skip (locally) or fail (CI) when Chromium or Playwright is missing."""
    problem = None
    if not CHROMIUM.exists():
        problem = f"{CHROMIUM} is missing (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "Python Playwright is not installed (pip install -e '.[dev]')"
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run in CI: {problem}")
    pytest.skip(f"browser tests need Chromium and Playwright: {problem}")


@pytest.fixture(scope="package")
def browser(_chromium: None) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # Failure screenshots of an earlier run would be mistaken for this one's.
    shutil.rmtree(ARTIFACTS / "failures", ignore_errors=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def _loopback_only(route: Any) -> None:
    host = urlsplit(route.request.url).hostname or ""
    if host in ("127.0.0.1", "localhost", "::1") or route.request.url.startswith(
        ("data:", "blob:")
    ):
        route.continue_()
    else:
        route.abort()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    # Keep each phase's report on the test, so the page fixture knows whether the test failed.
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A page in a fresh context; requests outside loopback are aborted.

    When the test fails, a screenshot of the page goes to test-artifacts/browser/failures/ and
    the browser's console errors are printed (pytest shows them with the failure).
    """
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    context.route(re.compile(r"^(?!data:|blob:).*"), _loopback_only)
    context.set_default_timeout(30_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"console {message.type}: {message.text}")
            if message.type == "error"
            else None
        ),
    )
    request.node.stash[_PROBLEMS] = problems
    try:
        yield page
    finally:
        capture_failure(page, request.node)
        context.close()


_PROBLEMS = pytest.StashKey[list[str]]()
_CAPTURED = pytest.StashKey[bool]()


def capture_failure(page: Any, node: pytest.Item) -> None:
    """If the test failed: screenshot the page to test-artifacts/browser/failures/ and print
    the browser's console errors (pytest shows them with the failure). Once per test."""
    report = node.stash.get(_REPORTS, {}).get("call")
    if report is None or not report.failed or node.stash.get(_CAPTURED, False):
        return
    node.stash[_CAPTURED] = True
    problems = node.stash.get(_PROBLEMS, [])
    if problems:
        print("browser console errors:", *problems, sep="\n")
    if page.is_closed():
        return
    with contextlib.suppress(Exception):  # what each panel said: its status line and messages
        for selector in (".cw-status", ".cw-error", ".cw-validation", ".cw-notice"):
            texts = [t for t in page.locator(selector).all_inner_texts() if t.strip()]
            if texts:
                print(f"{selector}:", *texts, sep="\n  ")
    folder = ARTIFACTS / "failures"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (re.sub(r"\W+", "-", node.name).strip("-") + ".png")
    with contextlib.suppress(Exception):  # a dead page must not hide the real failure
        page.screenshot(path=str(path), full_page=True)
        record_artifact(path)


# -- driving a notebook in JupyterLab --------------------------------------------------------

_KERNEL_IDLE_JS = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  if (!w || !w.sessionContext || !w.context || !w.context.isReady) return false;
  const session = w.sessionContext.session;
  const kernel = session && session.kernel;
  return !!kernel && kernel.status === 'idle' && kernel.connectionStatus === 'connected';
}"""

_RUN_CELL_JS = """async (index) => {
  const app = window.jupyterapp;
  const notebook = app.shell.currentWidget.content;
  notebook.activeCellIndex = index;
  notebook.deselectAll();
  await app.commands.execute('notebook:run-cell');
}"""

_SAVE_JS = """async () => {
  const app = window.jupyterapp;
  const w = app.shell.currentWidget;
  await app.commands.execute('docmanager:save');
  return !w.context.model.dirty;
}"""


class LabNotebook:
    """A notebook opened in JupyterLab (or Notebook 7) in ``page``, its kernel idle and ready."""

    def __init__(self, page: Any, server: JupyterServer, path: Path) -> None:
        self.page = page
        self.server = server
        self.path = path

    def open(self, url_path: str | None = None) -> None:
        """Open it at ``url_path`` on the server (Notebook 7: ``/notebooks/NAME``); by default in
        JupyterLab, in a workspace of its own, so that no earlier test's documents come back."""
        if url_path is None:
            url_path = f"/lab/workspaces/t{os.urandom(4).hex()}/tree/{self.path.name}"
        self.page.goto(self.server.page_url(url_path))
        self.page.wait_for_function(_KERNEL_IDLE_JS, timeout=KERNEL_TIMEOUT_MS)

    def run_cell(self, index: int) -> None:
        """Run cell ``index`` (returns once it is sent, not when it ends)."""
        self.page.evaluate(_RUN_CELL_JS, index)

    def run_all(self) -> None:
        self.page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")

    def wait_idle(self, timeout: float = KERNEL_TIMEOUT_MS) -> None:
        self.page.wait_for_function(_KERNEL_IDLE_JS, timeout=timeout)

    def cell(self, index: int) -> Any:
        return self.page.locator(".jp-NotebookPanel:visible .jp-Notebook .jp-Cell").nth(index)

    def output(self, index: int) -> Any:
        return self.cell(index).locator(".jp-OutputArea-output")

    def set_theme(self, theme: str) -> None:
        """Switch to JupyterLab's "light" or "dark" theme; returns once it is applied and the
        splash JupyterLab shows while it switches (its logo, over the page) is gone."""
        name = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}[theme]
        self.page.evaluate(
            "t => window.jupyterapp.commands.execute('apputils:change-theme', {theme: t})", name
        )
        light = "true" if theme == "light" else "false"
        self.page.wait_for_function(
            f"() => document.body.dataset.jpThemeLight === '{light}'"
            " && !document.querySelector('#jupyterlab-splash')",
            timeout=15_000,
        )

    def save(self) -> None:
        """Save through JupyterLab's own command; returns once the model is clean."""
        assert self.page.evaluate(_SAVE_JS), "the notebook is still dirty after docmanager:save"


@pytest.fixture
def lab_notebook(
    page: Any, lab_server: JupyterServer, request: pytest.FixtureRequest
) -> Iterator[Any]:
    """Open a copy of a notebook in JupyterLab: ``lab_notebook(source)`` -> ``LabNotebook``.

    Each test gets its own copy (saving one cannot affect another test); its kernel is shut
    down afterwards.
    """
    opened: list[LabNotebook] = []

    def open_copy(source: Path = TEST_NOTEBOOK) -> LabNotebook:
        name = re.sub(r"\W+", "-", request.node.name).strip("-")[:60]
        target = lab_server.notebooks / f"{name}-{len(opened)}.ipynb"
        shutil.copy(source, target)
        notebook = LabNotebook(page, lab_server, target)
        opened.append(notebook)
        notebook.open()
        return notebook

    yield open_copy
    capture_failure(page, request.node)  # before its kernel goes away
    for session in lab_server.api("GET", "/api/sessions") or []:
        with contextlib.suppress(OSError):
            lab_server.api("DELETE", f"/api/sessions/{session['id']}")


# -- the panel, as a person sees it -----------------------------------------------------------


_PIXELS_JS = """img => {
  if (!img.complete || img.naturalWidth === 0) return '';
  const canvas = document.createElement('canvas');
  canvas.width = img.naturalWidth;
  canvas.height = img.naturalHeight;
  canvas.getContext('2d').drawImage(img, 0, 0);
  return canvas.toDataURL('image/png');
}"""


class ModelPicker:
    """The Model list (``cw-model``, a select whose labels are "id", "id · shut down",
    "id · ✓ live"...) and its "Other…" box (``cw-model-other``) for any other id."""

    OTHER = "Other…"

    def __init__(self, root: Any) -> None:
        self.select = root.locator(".cw-model select")
        self.other = root.locator(".cw-model-other input")

    def labels(self) -> list[str]:
        """The list's labels (ipywidgets writes their spaces as no-break spaces)."""
        texts = self.select.evaluate("s => Array.from(s.options, o => o.textContent)")
        return [text.replace("\xa0", " ") for text in texts]

    def pick(self, label: str) -> None:
        """Pick the entry labelled ``label``."""
        from playwright.sync_api import expect

        index = self.labels().index(label)
        self.select.select_option(index=index)
        expect(self.select).to_have_js_property("selectedIndex", index)

    def label_of(self, model: str) -> str | None:
        """The list's label for ``model`` (its id, then what is said of it), or None."""
        return next((t for t in self.labels() if t.split(" · ")[0] == model), None)

    def fill(self, model: str) -> None:
        """Pick ``model`` in the list, or (not listed) "Other…" and type it in the box."""
        from playwright.sync_api import expect

        label = self.label_of(model)
        if label is not None:
            self.pick(label)
            return
        self.pick(self.OTHER)
        expect(self.other).to_be_visible()
        self.other.fill(model)
        self.other.press("Enter")

    def press(self, key: str) -> None:
        """A key in the "Other…" box when it is open (a list pick applies at once)."""
        if self.other.is_visible():
            self.other.press(key)

    def expect_model(self, model: str) -> None:
        """Wait until the list (or the "Other…" box) shows ``model``."""
        from playwright.sync_api import expect

        if self.label_of(model) is not None:
            expect(self.select).to_have_value(re.compile(rf"^{re.escape(model)}(\W·\W.*)?$"))
        else:
            expect(self.other).to_have_value(model)


class Panel:
    """Locators for one ``ImageGenerator`` on a page, by the CSS classes its docstring lists."""

    def __init__(self, scope: Any) -> None:
        """``scope``: a page, or a locator (e.g. a notebook cell) holding the panel."""
        self.page = getattr(scope, "page", scope)
        self.root = scope.locator(".cw-panel").first
        self.prompt = self.root.locator(".cw-prompt textarea")
        self.model = ModelPicker(self.root)
        self.model_notice = self.root.locator(".cw-model-notice")
        self.size = self.root.locator(".cw-size")
        self.response_format = self.root.locator(".cw-response-format")
        self.generate_button = self.root.locator("button.cw-generate")
        self.cancel_button = self.root.locator("button.cw-cancel")
        self.status = self.root.locator(".cw-status")
        self.error = self.root.locator(".cw-error")
        self.history_items = self.root.locator(".cw-history .cw-history-item")
        self.history_picks = self.root.locator(".cw-history button.cw-history-pick")
        self.advanced_toggle = self.root.locator("button.cw-advanced-toggle")
        self.gallery = self.root.locator(".cw-gallery")
        self.thumbs = self.root.locator(".cw-tile:visible img.cw-thumb:visible")
        self.captions = self.root.locator(".cw-tile:visible .cw-caption")

    def unfold(self) -> None:
        """Unfold "More options" (the advanced choices)."""
        from playwright.sync_api import expect

        if not self.root.locator(".cw-advanced").is_visible():
            self.advanced_toggle.click()
        expect(self.root.locator(".cw-advanced")).to_be_visible()

    def type_prompt(self, text: str) -> None:
        """Type a prompt; returns once the kernel has it (Generate becomes enabled)."""
        from playwright.sync_api import expect

        self.prompt.fill(text)
        expect(self.prompt).to_have_value(text)
        expect(self.generate_button).to_be_enabled()

    def generate(self) -> None:
        from playwright.sync_api import expect

        expect(self.generate_button).to_be_enabled()
        self.generate_button.click()

    def size_choices(self) -> list[str]:
        """The sizes the size control offers (a dropdown's options or a combobox's list)."""
        return list(
            self.size.evaluate(
                """el => {
                  const select = el.querySelector('select');
                  if (select) return Array.from(select.options, o => o.value || o.text);
                  const input = el.querySelector('input');
                  const list = input && input.list;
                  return list ? Array.from(list.options, o => o.value) : [];
                }"""
            )
        )

    def decoded_thumbs(self) -> list[int]:
        """naturalWidth of each visible thumbnail (0 for one the browser could not decode)."""
        return list(
            self.thumbs.evaluate_all("imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")
        )

    def wait_decoded(
        self, count: int, timeout: float = 30_000, images: str = ".cw-tile img.cw-thumb"
    ) -> None:
        """Wait until exactly ``count`` visible ``images`` (the gallery's thumbnails unless
        told) are decoded images."""
        self.page.wait_for_function(
            """([root, count, images]) => {
              const imgs = Array.from(root.querySelectorAll(images))
                .filter(i => i.offsetParent !== null);
              return imgs.length === count && imgs.every(i => i.complete && i.naturalWidth > 0);
            }""",
            arg=[self.root.element_handle(), count, images],
            timeout=timeout,
        )

    def pixels(self, index: int = 0) -> str:
        """The ``index``-th visible thumbnail's pixels as a PNG data URL ('' until decoded)."""
        return str(self.thumbs.nth(index).evaluate(_PIXELS_JS))

    def wait_pixels(self, expected: str, *, index: int = 0, timeout: float = 10.0) -> None:
        """Wait until the ``index``-th thumbnail shows exactly ``expected`` (see ``pixels``)."""
        deadline = time.monotonic() + timeout
        while self.pixels(index) != expected:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"thumbnail {index} is not the expected image after {timeout:g} s"
                )
            self.page.wait_for_timeout(100)  # a poll interval, not a wait for correctness


@pytest.fixture
def panel_on() -> Any:
    """``panel_on(page_or_locator)`` -> ``Panel``, for a panel that ``lab_panel`` did not open."""
    return Panel


#: The panel's cell in panel.ipynb and panel_edit.ipynb (cell 0 is their markdown).
PANEL_CELL = 1


@pytest.fixture
def lab_panel(lab_notebook: Any) -> Any:
    """``lab_panel(source, *, theme=None, viewport=None)`` -> ``(LabNotebook, Panel)``.

    Opens a copy of ``source`` (panel.ipynb unless told) with ``lab_notebook``, switches to
    ``theme`` ("light" or "dark") and sizes the page to ``viewport`` (width, height) when
    given, runs ``PANEL_CELL``, and returns once its panel is visible and says "Ready".
    """

    def open_panel(
        source: Path = TEST_NOTEBOOK,
        *,
        theme: str | None = None,
        viewport: tuple[int, int] | None = None,
    ) -> tuple[LabNotebook, Panel]:
        from playwright.sync_api import expect

        notebook = lab_notebook(source)
        if theme is not None:
            notebook.set_theme(theme)
        if viewport is not None:
            width, height = viewport
            notebook.page.set_viewport_size({"width": width, "height": height})
        notebook.run_cell(PANEL_CELL)
        panel = Panel(notebook.cell(PANEL_CELL))
        expect(panel.root).to_be_visible(timeout=30_000)
        expect(panel.status).to_have_text("Ready", timeout=30_000)
        return notebook, panel

    return open_panel


@pytest.fixture
def screenshot() -> Any:
    """``screenshot(locator, name)`` saves a PNG under test-artifacts/browser/ and returns its
    path; the terminal summary prints every one written."""

    def save(locator: Any, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / name
        locator.screenshot(path=str(path))
        record_artifact(path)
        return path

    return save


@pytest.fixture
def whole_screenshot(screenshot: Any) -> Any:
    """``whole_screenshot(locator, name)``: like ``screenshot``, with the viewport made tall
    enough for the whole element first (a panel taller than the page would be cut off by the
    notebook's scroller), then put back."""

    def save(locator: Any, name: str) -> Path:
        page = locator.page
        size = page.viewport_size
        box = locator.bounding_box()
        if size is None or box is None or box["height"] + 150 <= size["height"]:
            return Path(screenshot(locator, name))
        page.set_viewport_size({"width": size["width"], "height": int(box["height"]) + 300})
        try:
            page.wait_for_timeout(300)  # JupyterLab lays out again
            return Path(screenshot(locator, name))
        finally:
            page.set_viewport_size(size)

    return save
