"""The panel's part of the fault and bad-input matrices, over real loopback sockets.

For each fault: what the panel shows (status, error with the request id and what to do, the
images that did arrive), the exact number of requests the fake received, that the key shows up
nowhere a front end or a user could see it, and that the panel generates again right after.
The message box (``cw-error``, or a failed tile's ``cw-image-error``) speaks the panel's own
terms, built from the error's attributes: what happened and what to do, never a hint that only
Python code can follow (those stay in the exception text, ``panel.error``).
Bad input set on the traits shows the catalogue's message (field, value, allowed) and sends
nothing.
"""

from __future__ import annotations

import html
import json
import re
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import ipywidgets
import pytest
from bad_inputs import ROWS, BadInput
from widget_parts import parts

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
#: Words that only Python code can act on: never in the panel's messages.
CODE_HINTS = (
    "retry_billable",
    "api_key=",
    "max_retry_wait",
    "timeout=",
    "max_response_bytes",
    "base_url",
    "What to do:",
    "pass ",
)


def shown_text(widget: Any) -> str:
    """An HTML widget's text as a person reads it (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", " ", str(widget.value)))


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
    #: What the message box must say (a failed tile's, for "done" rows), in the panel's terms.
    box: tuple[str, ...] = ()


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
        box=("rate limiting requests (HTTP 429)", "It asks to wait 2 min.", "Wait 2 min, then"),
    ),
    "429-exhausted": PanelRow(
        fail(3, 429),
        "error",
        3,
        says=("HTTP 429", "What to do"),
        box=("rate limiting requests", "The server said: rate limit exceeded.", "Wait a moment"),
    ),
    "500": PanelRow(
        fail(1, 500),
        "error",
        1,
        says=("HTTP 500", "retry_billable=True"),
        box=("The provider failed (HTTP 500)", "may already have made (and billed)", "not retried"),
    ),
    "500-retried-on-opt-in-then-exhausted": PanelRow(
        fail(3, 500),
        "error",
        3,
        client_options={"retry_billable": True},
        box=("The provider failed (HTTP 500)", "Tried 3 times"),
    ),
    "500-invalid-request": PanelRow(
        fail(1, 500, code="invalid_request", message="invalid size"),
        "error",
        1,
        box=("The server said: invalid size.", "would fail again: change the parameters"),
    ),
    "502-retried-then-done": PanelRow(fail(1, 502), "done", 2, says=("after 1 retry",)),
    "502-exhausted": PanelRow(
        fail(3, 502), "error", 3, box=("The provider failed (HTTP 502)", "Tried 3 times")
    ),
    "503-busy-retried-then-done": PanelRow(fail(1, 503, message=BUSY), "done", 2),
    "503-no-available-channel": PanelRow(
        fail(1, 503),
        "error",
        1,
        says=("no available channel", "pick another model"),
        box=("dall-e-2 is not available for this key", "Pick another model (try gpt-image-2)"),
    ),
    "504": PanelRow(fail(1, 504), "error", 1, says=("HTTP 504",), box=("HTTP 504", "billed")),
    "524": PanelRow(fail(1, 524), "error", 1, says=("HTTP 524",), box=("HTTP 524", "billed")),
    "400": PanelRow(
        fail(1, 400, message="bad size"),
        "error",
        1,
        box=("refused the request (HTTP 400)", "bad size", "Change the parameters"),
    ),
    "400-content-policy": PanelRow(
        fail(1, 400, code="content_policy_violation", message="your prompt was refused"),
        "error",
        1,
        box=("The provider refused the prompt", "Rephrase the prompt"),
    ),
    "401-echoing-the-key": PanelRow(
        fail(1, 401, message=f"bad key: Bearer {KEY}"),
        "error",
        1,
        says=("HTTP 401", "Bearer [redacted]", "COMETAPI_KEY"),
        box=("The API refused the key (HTTP 401)", "COMETAPI_KEY", "restart the kernel"),
    ),
    "403": PanelRow(fail(1, 403), "error", 1, box=("may not use this model", "Pick another")),
    "404": PanelRow(fail(1, 404), "error", 1, box=("was not found", "COMETAPI_BASE_URL")),
    "reset-mid-body": PanelRow(
        malform("reset_mid_body"),
        "error",
        1,
        says=("may have been billed",),
        request_id=False,
        box=("connection to the API broke", "(and billed)", "not retried"),
    ),
    "close-after-headers": PanelRow(
        malform("close_after_headers"),
        "error",
        1,
        says=("received 0 bytes",),
        request_id=False,
        box=("connection to the API broke", "(and billed)"),
    ),
    "read-timeout": PanelRow(
        lambda fake: setattr(fake, "latency", 30.0),  # the fake stops when the client hangs up
        "error",
        1,
        says=("read timeout", "raise timeout="),
        client_options=SHORT,
        request_id=False,
        box=("did not answer in time (within 0.5 s)", "(and billed)"),
    ),
    "trickle": PanelRow(
        malform("trickle"),
        "error",
        1,
        says=("read timeout", "took longer than"),
        client_options=SHORT,
        request_id=False,
        box=("did not answer in time (within 0.5 s)",),
    ),
    "invalid-json": PanelRow(
        malform("invalid_json"),
        "error",
        1,
        says=("instead of JSON",),
        box=("not an image result", "instead of JSON"),
    ),
    "html-200": PanelRow(
        malform("html_200"),
        "error",
        1,
        says=("an HTML page", "base_url"),
        box=("not an image result", "an HTML page", "Check COMETAPI_BASE_URL"),
    ),
    "html-301": PanelRow(
        malform("html_301"),
        "error",
        1,
        says=("answered 301", "base_url"),
        box=("redirecting to", "Check COMETAPI_BASE_URL"),
    ),
    "empty-data": PanelRow(
        malform("empty_data"),
        "error",
        1,
        says=("no images",),
        box=("returned no images", "Rephrase the prompt or pick another model"),
    ),
    "no-url-nor-b64": PanelRow(
        malform("no_image_fields"),
        "error",
        1,
        says=("neither",),
        box=("could not be read", "neither 'url' nor 'b64_json'"),
    ),
    "bad-base64": PanelRow(
        malform("bad_base64"),
        "error",
        1,
        says=("base64",),
        traits=B64,
        box=("could not be read", "not valid base64"),
    ),
    "not-an-image": PanelRow(
        malform("not_an_image"),
        "error",
        1,
        says=("not a PNG",),
        traits=B64,
        box=("could not be read", "not a PNG"),
    ),
    "truncated-png": PanelRow(
        malform("truncated_png"),
        "error",
        1,
        says=("truncated",),
        traits=B64,
        box=("could not be read", "truncated"),
    ),
    "decompression-bomb": PanelRow(
        malform("bomb"),
        "error",
        1,
        says=("decompression bomb",),
        traits=B64,
        box=("could not be read", "100000x100000"),
    ),
    "body-over-cap": PanelRow(
        malform("huge_body"),
        "error",
        1,
        says=("max_response_bytes",),
        client_options={"max_response_bytes": 1_000_000},
        box=("too large", "larger than 1,000,000 bytes", "fewer or smaller images"),
    ),
    "one-url-of-3-expired": PanelRow(
        urls("expire_urls", [1]),
        "done",
        1,
        says=("2 of 3 images; image 2 failed", "HTTP 404"),
        traits=URL3,
        images=2,
        box=("could not be downloaded", "HTTP 404", "expire"),
    ),
    "one-url-of-3-times-out": PanelRow(
        urls("slow_urls", [0], 600),  # the fake stops waiting when the client hangs up
        "done",
        1,
        says=("2 of 3 images; image", "took longer than"),
        traits=URL3,
        client_options=AMPLE,
        images=2,
        box=("could not be downloaded", "took longer than 3 s"),
    ),
    "one-url-of-3-not-http": PanelRow(
        urls("non_http_urls", [2]),
        "done",
        1,
        says=("2 of 3 images; image", "only http and https"),
        traits=URL3,
        images=2,
        box=("could not be downloaded", "only http and https"),
    ),
    "redirect-loop": PanelRow(
        urls("redirect_loop_urls", [0]),
        "error",
        1,
        says=("too many redirects",),
        traits={"response_format": "url"},
        request_id=False,
        box=("could not be downloaded", "too many redirects"),
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
        words = shown_text(box)
        assert panel.history == []
        if row.request_id:
            generations = [r for r in fake.requests if r.path.endswith("/generations")]
            assert generations[-1].request_id in panel.error
    else:
        assert result is not None
        assert len(panel.images) == row.images
        assert panel.history == [result]
        words = " ".join(shown_text(w) for w in parts(panel, "cw-image-error", visible=True))
    for text in row.box:
        assert text in words, words
    # The panel's own words: no hint that only code can follow (those stay in .error).
    for hint in CODE_HINTS:
        assert hint not in words, words
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
    words = shown_text(part(panel, "cw-error"))
    assert f"Could not reach the API at 127.0.0.1:{port}." in words
    assert "Check the network (and COMETAPI_BASE_URL)" in words
    assert not any(hint in words for hint in CODE_HINTS), words
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
