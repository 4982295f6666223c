"""The panel's part of the fault and bad-input matrices, over real loopback sockets.

For each fault: what the panel shows (status, error with the request id and what to do, the
images that did arrive), the exact number of requests the fake received, that the key shows up
nowhere a front end or a user could see it, and that the panel generates again right after.
Bad input set on the traits shows the catalogue's message (field, value, allowed) and sends
nothing.
"""

from __future__ import annotations

import html
import json
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import ipywidgets
import pytest
from bad_inputs import ROWS, BadInput

from comet_widgets import AsyncImageClient, ImageGenerator, InvalidParameterError, build_payload
from comet_widgets.testing import FakeAPI, FakeServer

KEY = "sk-" + "test-SECRET-" + "0123456789abcdef"
SECRET_PART = "SECRET-0123456789abcdef"
BUSY = "service unavailable, please try again later"

MakePanel = Callable[..., ImageGenerator]


def generation_requests(app: FakeAPI) -> list[Any]:
    """The generation requests the fake received (a panel also lists the key's models)."""
    return [r for r in app.requests if r.path.endswith("/generations")]


async def _no_wait(seconds: float) -> None:
    pass


@pytest.fixture
def loop_panel(fake_server: FakeServer, tmp_path: Any) -> Iterator[MakePanel]:
    """Panels whose clients talk to the loopback fake with ``KEY``; closed after the test."""
    panels: list[ImageGenerator] = []

    def make(*, client_options: dict[str, Any] | None = None, **traits: Any) -> ImageGenerator:
        options = {"base_url": fake_server.base_url, "sleep": _no_wait, **(client_options or {})}

        def factory() -> AsyncImageClient:
            return AsyncImageClient(api_key=KEY, **options)

        traits.setdefault("prompt", "a paper boat")
        traits.setdefault("model", "dall-e-2")
        traits.setdefault("size", "256x256")
        panel = ImageGenerator(client_factory=factory, output_dir=tmp_path, **traits)
        panels.append(panel)
        return panel

    yield make
    for panel in panels:
        panel.close()


Parts = Callable[[ImageGenerator, str], Any]


def everything_shown(panel: ImageGenerator, descendants: Callable[..., list[Any]]) -> str:
    """All a user or a front end can see of the panel: traits, repr, every widget's state."""
    parts = [panel.status, panel.error, repr(panel), repr(panel.history), repr(panel.generation)]
    for widget in descendants(panel):
        assert isinstance(widget, ipywidgets.Widget)
        state = widget.get_state()
        parts.append(json.dumps(state, default=lambda b: bytes(b).decode("latin-1")))
    return "\n".join(parts)


@dataclass(frozen=True)
class PanelRow:
    inject: Callable[[FakeAPI], None]
    #: The status the panel ends in: "error", or "done" (with a partial-failure message).
    status: str
    requests: int
    says: tuple[str, ...] = ()
    traits: dict[str, Any] = field(default_factory=dict)
    client_options: dict[str, Any] = field(default_factory=dict)
    #: Images that must land (for "done" rows).
    images: int = 1
    request_id: bool = True


def fail(count: int, status: int, **kwargs: Any) -> Callable[[FakeAPI], None]:
    return lambda fake: fake.fail_next(count, status, **kwargs)


def malform(kind: str) -> Callable[[FakeAPI], None]:
    return lambda fake: fake.malform_next(kind)  # type: ignore[arg-type]


def urls(method: str, *args: Any) -> Callable[[FakeAPI], None]:
    return lambda fake: getattr(fake, method)(*args)


B64 = {"response_format": "b64_json"}
URL3 = {"response_format": "url", "n": 3}
SHORT = {"timeout": 0.5}
#: When some downloads must arrive in time and one must not: ample for the ones that arrive,
#: even on a busy machine, while the one held back never comes.
AMPLE = {"timeout": 3.0}

PANEL_ROWS: dict[str, PanelRow] = {
    "429-retried-then-done": PanelRow(
        fail(1, 429, headers={"Retry-After": "1"}), "done", 2, says=("after 1 retry",)
    ),
    "429-hint-above-cap": PanelRow(
        fail(1, 429, headers={"Retry-After": "120"}),
        "error",
        1,
        says=("HTTP 429", "wait 120 s", "max_retry_wait"),
    ),
    "429-exhausted": PanelRow(fail(3, 429), "error", 3, says=("HTTP 429", "What to do")),
    "500": PanelRow(fail(1, 500), "error", 1, says=("HTTP 500", "retry_billable=True")),
    "502-retried-then-done": PanelRow(fail(1, 502), "done", 2, says=("after 1 retry",)),
    "503-busy-retried-then-done": PanelRow(fail(1, 503, message=BUSY), "done", 2),
    "503-no-available-channel": PanelRow(
        fail(1, 503), "error", 1, says=("no available channel", "pick another model")
    ),
    "504": PanelRow(fail(1, 504), "error", 1, says=("HTTP 504",)),
    "524": PanelRow(fail(1, 524), "error", 1, says=("HTTP 524",)),
    "401-echoing-the-key": PanelRow(
        fail(1, 401, message=f"bad key: Bearer {KEY}"),
        "error",
        1,
        says=("HTTP 401", "Bearer [redacted]", "COMETAPI_KEY"),
    ),
    "reset-mid-body": PanelRow(
        malform("reset_mid_body"), "error", 1, says=("may have been billed",), request_id=False
    ),
    "close-after-headers": PanelRow(
        malform("close_after_headers"), "error", 1, says=("received 0 bytes",), request_id=False
    ),
    "read-timeout": PanelRow(
        lambda fake: setattr(fake, "latency", 5.0),
        "error",
        1,
        says=("read timeout", "raise timeout="),
        client_options=SHORT,
        request_id=False,
    ),
    "trickle": PanelRow(
        malform("trickle"),
        "error",
        1,
        says=("read timeout", "took longer than"),
        client_options=SHORT,
        request_id=False,
    ),
    "invalid-json": PanelRow(malform("invalid_json"), "error", 1, says=("instead of JSON",)),
    "html-200": PanelRow(malform("html_200"), "error", 1, says=("an HTML page", "base_url")),
    "html-301": PanelRow(malform("html_301"), "error", 1, says=("answered 301", "base_url")),
    "empty-data": PanelRow(malform("empty_data"), "error", 1, says=("no images",)),
    "no-url-nor-b64": PanelRow(malform("no_image_fields"), "error", 1, says=("neither",)),
    "bad-base64": PanelRow(malform("bad_base64"), "error", 1, says=("base64",), traits=B64),
    "not-an-image": PanelRow(malform("not_an_image"), "error", 1, says=("not a PNG",), traits=B64),
    "truncated-png": PanelRow(
        malform("truncated_png"), "error", 1, says=("truncated",), traits=B64
    ),
    "decompression-bomb": PanelRow(
        malform("bomb"), "error", 1, says=("decompression bomb",), traits=B64
    ),
    "body-over-cap": PanelRow(
        malform("huge_body"),
        "error",
        1,
        says=("max_response_bytes",),
        client_options={"max_response_bytes": 1_000_000},
    ),
    "one-url-of-3-expired": PanelRow(
        urls("expire_urls", [1]),
        "done",
        1,
        says=("2 of 3 images; image 2 failed", "HTTP 404"),
        traits=URL3,
        images=2,
    ),
    "one-url-of-3-times-out": PanelRow(
        urls("slow_urls", [0], 600),  # the fake stops waiting when the client hangs up
        "done",
        1,
        says=("2 of 3 images; image", "took longer than"),
        traits=URL3,
        client_options=AMPLE,
        images=2,
    ),
    "one-url-of-3-not-http": PanelRow(
        urls("non_http_urls", [2]),
        "done",
        1,
        says=("2 of 3 images; image", "only http and https"),
        traits=URL3,
        images=2,
    ),
    "redirect-loop": PanelRow(
        urls("redirect_loop_urls", [0]),
        "error",
        1,
        says=("too many redirects",),
        traits={"response_format": "url"},
        request_id=False,
    ),
}


@pytest.mark.parametrize("row", PANEL_ROWS.values(), ids=PANEL_ROWS.keys())
async def test_panel_fault_matrix(
    row: PanelRow,
    fake: FakeAPI,
    loop_panel: MakePanel,
    descendants: Callable[..., list[Any]],
    part: Parts,
) -> None:
    panel = loop_panel(client_options=row.client_options, **row.traits)
    row.inject(fake)
    part(panel, "cw-generate").click()
    result = await panel.wait()
    assert panel.status == row.status, panel.error
    status_line = html.unescape(part(panel, "cw-status").value)
    for text in row.says:
        assert text in panel.error or text in status_line, (panel.error, status_line)
    if row.status == "error":
        assert result is None
        assert panel.error
        box = part(panel, "cw-error")
        assert box.layout.display != "none"
        # The panel's own words: no hint that only code can follow (those stay in .error).
        for hint in ("retry_billable", "api_key=", "max_retry_wait", "raise timeout="):
            assert hint not in box.value, box.value
        assert panel.history == []
        if row.request_id:
            generations = [r for r in fake.requests if r.path.endswith("/generations")]
            assert generations[-1].request_id in panel.error
    else:
        assert result is not None
        assert len(panel.images) == row.images
        assert panel.history == [result]
    assert fake.generation_count == row.requests
    assert not part(panel, "cw-generate").disabled
    assert SECRET_PART not in everything_shown(panel, descendants)

    # Usable right after: the same panel generates again.
    fake.reset()
    panel.response_format, panel.n = None, 1
    generation = await panel.generate()
    assert panel.status == "done"
    assert panel.error == ""
    assert panel.generation is generation
    assert fake.generation_count == 1


async def test_a_refused_connection_is_shown_as_not_sent(
    loop_panel: MakePanel, descendants: Callable[..., list[Any]], part: Parts
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    panel = loop_panel(client_options={"base_url": f"http://127.0.0.1:{port}/v1"})
    part(panel, "cw-generate").click()
    assert await panel.wait() is None
    assert panel.status == "error"
    assert f"127.0.0.1:{port}" in panel.error
    assert "check base_url and your network" in panel.error
    assert SECRET_PART not in everything_shown(panel, descendants)


# -- bad input on the traits --------------------------------------------------------------------


#: The panel's parameter traits and the types they hold (other parameters have no control).
_TRAIT_TYPES: dict[str, type] = {
    "model": str,
    "size": str,
    "n": int,
    "response_format": str,
    "quality": str,
    "style": str,
    "background": str,
    "output_format": str,
}


def _on_the_panel(row: BadInput) -> bool:
    """Whether a person can enter this row in the panel: only its traits, of their types, and
    refused by the catalogue (what only sending can reveal, like a lone surrogate, is not)."""
    if not isinstance(row.prompt, str):
        return False
    for name, value in row.params.items():
        kind = _TRAIT_TYPES.get(name)
        if kind is None or type(value) is not kind:
            return False
    try:
        build_payload(row.prompt, **row.params)
    except InvalidParameterError:
        return True
    return False


#: The client's bad-input rows (tests/bad_inputs.py) that can be set on the panel's traits.
PANEL_INPUTS: dict[str, BadInput] = {name: row for name, row in ROWS.items() if _on_the_panel(row)}


@pytest.mark.parametrize("row", PANEL_INPUTS.values(), ids=PANEL_INPUTS.keys())
async def test_bad_input_on_the_traits_is_shown_and_sends_nothing(
    row: BadInput, fake: FakeAPI, loop_panel: MakePanel, part: Parts
) -> None:
    panel = loop_panel()
    # The model first (it adapts the other defaults), then the rest, then the prompt.
    traits = {**row.params, "prompt": row.prompt}
    for name in sorted(traits, key=lambda name: name != "model"):
        setattr(panel, name, traits[name])
    validation = html.unescape(part(panel, "cw-validation").value)
    assert part(panel, "cw-generate").disabled
    if row.field != "prompt" or row.prompt.strip():
        for text in (row.field, row.shown, row.allowed):
            assert text in validation, validation
    part(panel, "cw-generate").click()  # a click that reaches the kernel anyway sends nothing
    await panel.wait()
    assert panel.status == "error"
    for text in (row.field, row.shown, row.allowed):
        assert text in panel.error, panel.error
    assert fake.generation_count == 0
    assert generation_requests(fake) == []
