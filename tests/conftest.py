"""Fixtures shared by every test layer: the fake API (in-process and on loopback) and clients.

No test reaches the internet: every client here points at the fake on 127.0.0.1 or at the
in-process ASGI transport.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from comet_widgets import AsyncImageClient
from comet_widgets._constants import LIBRARY_ENV
from comet_widgets.testing import (
    FAKE_API_KEY,
    IN_PROCESS_BASE_URL,
    FakeAPI,
    FakeServer,
    fake_transport,
    serve_fake,
)
from comet_widgets.testing._app import SERVE_RETIRED_ENV
from tests.helpers import clean_env, run_captured

# Most tests exercise paths first written for dall-e-2/-3 (url mode, revised prompts), which
# the fake answers like today's CometAPI by default (503 "no available channel"). They run with
# the fake serving shut-down models; the tests of today's lifecycle build
# FakeAPI(serve_retired=False) themselves (tests/fake/test_lifecycle.py). Subprocesses (the
# CLI, kernels) inherit the setting.
os.environ[SERVE_RETIRED_ENV] = "1"

# No test records into the user's real library: every panel (and Library()) without a folder
# of its own uses this one, a temporary folder per test process, which subprocesses (the CLI,
# notebooks, the browser tests' kernels) inherit. Widget tests give each panel its own
# (tests/widget/conftest.py); tests of the default build their own with monkeypatch.
_LIBRARY_HOME = tempfile.mkdtemp(prefix="comet-library-tests-")
os.environ[LIBRARY_ENV] = _LIBRARY_HOME
atexit.register(shutil.rmtree, _LIBRARY_HOME, ignore_errors=True)

# jsonschema compiles 38 grammars of rfc3987-syntax when it is imported (about 2 s of CPU in
# every run) only to check the "iri" formats, which no schema here has ("uri" is checked by
# rfc3986-validator): without the module it leaves those two formats unchecked.
sys.modules.setdefault("rfc3987_syntax", None)

REPO = Path(__file__).resolve().parents[1]
#: The vendored image part of OpenAI's OpenAPI document (see tests/spec/README.md).
SPEC_PATH = REPO / "tests" / "spec" / "images-openapi.json"


async def no_sleep(seconds: float) -> None:
    """Injected instead of asyncio.sleep so that no test waits for real backoff."""
    sleeps.append(seconds)


sleeps: list[float] = []


@pytest.fixture
def recorded_sleeps() -> Iterator[list[float]]:
    sleeps.clear()
    yield sleeps
    sleeps.clear()


@pytest.fixture(scope="session")
def openapi() -> dict[str, Any]:
    """The image part of OpenAI's OpenAPI document, vendored under ``tests/spec``."""
    if not SPEC_PATH.exists():
        pytest.fail(f"the OpenAPI spec is missing: {SPEC_PATH}")
    spec: dict[str, Any] = json.loads(SPEC_PATH.read_text())
    return spec


@pytest.fixture(scope="session")
def _session_server() -> Iterator[FakeServer]:
    with serve_fake() as server:
        yield server


def _reset(app: FakeAPI, seconds: float = 5.0) -> None:
    """Reset the shared fake once it has answered everything: a client can have the whole answer
    before the fake's handler returns and counts it, which would then land after the reset, in
    the next test's counters (seen on a loaded machine)."""
    deadline = time.monotonic() + seconds
    while app.in_flight and time.monotonic() < deadline:
        time.sleep(0.005)
    app.reset()


@pytest.fixture
def fake_server(_session_server: FakeServer) -> Iterator[FakeServer]:
    """The fake API on real loopback sockets, with knobs and counters reset for each test."""
    _reset(_session_server.app)
    yield _session_server
    _reset(_session_server.app)


@pytest.fixture
def fake(fake_server: FakeServer) -> FakeAPI:
    """The loopback fake's app: its knobs and counters."""
    return fake_server.app


@pytest.fixture
async def client(
    fake_server: FakeServer, recorded_sleeps: list[float]
) -> AsyncIterator[AsyncImageClient]:
    """A client talking to the loopback fake; retry sleeps are recorded, not waited."""
    async with AsyncImageClient(
        api_key=FAKE_API_KEY, base_url=fake_server.base_url, sleep=no_sleep
    ) as c:
        yield c


@pytest.fixture
async def inprocess_client() -> AsyncIterator[tuple[AsyncImageClient, FakeAPI]]:
    """A client on the in-process ASGI transport (fast; no socket-level faults)."""
    app = FakeAPI()
    http = httpx.AsyncClient(transport=fake_transport(app))
    async with AsyncImageClient(
        api_key=FAKE_API_KEY, base_url=IN_PROCESS_BASE_URL, http_client=http, sleep=no_sleep
    ) as c:
        yield c, app
    await http.aclose()


# -- the documentation site (tests/docs, tests/browser/test_docs_site.py) ----------------------
# Built once per session as ``make docs`` builds it (``sphinx-build -W --keep-going``), from
# scratch (``-E -a``) into test-artifacts/docs/html, with a key-looking secret in COMETAPI_KEY:
# docs/conf.py removes it and runs the notebooks on the offline fake; the tests check that no
# page holds it.

DOCS_SITE = REPO / "test-artifacts" / "docs" / "html"
#: make docs's command (the Makefile's ``docs`` target).
SPHINX_BUILD = (sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going")
#: The docs build's COMETAPI_KEY, shaped like a real key, so that a page holding it would be found.
DOCS_SECRET = "sk-docsbuild" + "7Qx2" * 10


@dataclass
class DocsSite:
    html: Path
    log: str
    secret: str


@pytest.fixture(scope="session")
def built_site() -> DocsSite:
    done = run_captured(
        [*SPHINX_BUILD, "-E", "-a", "-q", str(REPO / "docs"), str(DOCS_SITE)],
        cwd=REPO,
        env=clean_env("COMET", COMETAPI_KEY=DOCS_SECRET),
        timeout=840,
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, f"sphinx-build failed:\n{log[-6000:]}"
    return DocsSite(DOCS_SITE, log, DOCS_SECRET)
