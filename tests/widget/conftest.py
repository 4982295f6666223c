"""Fixtures for widget tests: panels on the in-process fake, built with no kernel.

The panel runs its client on its private event loop, so the client is built there too, through
``client_factory``; the test keeps the ``FakeAPI`` to turn knobs and read counters.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import ipywidgets
import pytest
import widget_parts

from comet_widgets import AsyncImageClient, ImageGenerator
from comet_widgets.testing import IN_PROCESS_BASE_URL, FakeAPI, FakeServer, fake_transport
from comet_widgets.widget import _loop

#: A recognisable key: no widget state, repr or message may ever contain it. Built at run
#: time, so the literal is not one string in the sources the tests search.
SECRET_KEY = "sk-test-" + "SECRET-7f3a9c2e51d04b6b"

MakePanel = Callable[..., ImageGenerator]


async def no_sleep(seconds: float) -> None:
    """Injected as the client's sleep: retries happen at once (and still yield to the loop)."""
    await asyncio.sleep(0)


@pytest.fixture
def descendants() -> Callable[[ipywidgets.Widget], list[ipywidgets.Widget]]:
    """``descendants(root)``: every widget reachable from ``root`` through its synced traits
    (children, layout, style...), i.e. everything a front end would be sent."""
    return widget_parts.descendants


@pytest.fixture
def part() -> Callable[[ipywidgets.Widget, str], Any]:
    """``part(panel, "cw-error")``: the one widget with that documented CSS class."""
    return widget_parts.part


@pytest.fixture
def secret_key() -> str:
    """The key the panels' clients send (the fake accepts any key)."""
    return SECRET_KEY


@pytest.fixture
def app() -> FakeAPI:
    """A fresh in-process fake for each test (knobs and counters start clean)."""
    return FakeAPI()


@pytest.fixture
def output_dir(tmp_path: Path) -> Path:
    return tmp_path / "comet-images"


@pytest.fixture
def make_panel(app: FakeAPI, output_dir: Path) -> Iterator[MakePanel]:
    """Build panels whose clients talk to ``app``; they are closed after the test."""
    panels: list[ImageGenerator] = []
    transports: list[httpx.AsyncClient] = []

    def client_factory() -> AsyncImageClient:
        http = httpx.AsyncClient(transport=fake_transport(app))
        transports.append(http)
        return AsyncImageClient(
            api_key=SECRET_KEY, base_url=IN_PROCESS_BASE_URL, http_client=http, sleep=no_sleep
        )

    def make(**kwargs: Any) -> ImageGenerator:
        kwargs.setdefault("output_dir", output_dir)
        kwargs.setdefault("library", output_dir.parent / "library")  # never the user's
        panel = ImageGenerator(client_factory=client_factory, **kwargs)
        panels.append(panel)
        return panel

    yield make
    for panel in panels:
        panel.close()
    for http in transports:
        _loop.submit(http.aclose()).result(timeout=5)


@pytest.fixture
def loopback_panel(fake_server: FakeServer, output_dir: Path) -> Iterator[MakePanel]:
    """Build panels whose clients talk to the loopback fake (real sockets), closed after the
    test: ``make(api_key=..., client_options={...}, **traits)``."""
    panels: list[ImageGenerator] = []

    def make(
        *, api_key: str, client_options: dict[str, Any] | None = None, **traits: Any
    ) -> ImageGenerator:
        options = {"base_url": fake_server.base_url, **(client_options or {})}

        def factory() -> AsyncImageClient:
            return AsyncImageClient(api_key=api_key, **options)

        traits.setdefault("output_dir", output_dir)
        traits.setdefault("library", output_dir.parent / "library")  # never the user's
        panel = ImageGenerator(client_factory=factory, **traits)
        panels.append(panel)
        return panel

    yield make
    for panel in panels:
        panel.close()


def _wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> float:
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(0.01)
    return time.monotonic() - start


@pytest.fixture
def wait_until() -> Callable[..., float]:
    """``wait_until(predicate, timeout=5)``: poll (blocking: the work runs on the panel's own
    thread) and return the seconds it took; fails after ``timeout``."""
    return _wait_until
