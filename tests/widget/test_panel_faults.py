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
import io
import json
import re
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ipywidgets
import pytest
import widget_parts
from bad_inputs import ROWS, BadInput
from fault_table import AMPLE, DALLE_2, Row
from fault_table import ROWS as FAULTS
from PIL import Image
from widget_parts import parts

from comet_widgets import ImageGenerator, InvalidParameterError, build_payload
from comet_widgets._types import EDIT_PARAMETERS, PARAMETERS
from comet_widgets.testing import STREAM_BREAK_KINDS, FakeAPI
from comet_widgets.testing._faults import STREAM_REFUSALS
from tests.client.test_server_strings import ECHOES
from tests.client.test_server_strings import KEY as ECHOED_KEY

KEY = "sk-" + "test-SECRET-" + "0123456789abcdef"
SECRET_PART = "SECRET-0123456789abcdef"

MakePanel = Callable[..., ImageGenerator]


def generation_requests(app: FakeAPI) -> list[Any]:
    """The generation requests the fake received (a panel also lists the key's models)."""
    return [r for r in app.requests if r.path.endswith("/generations")]


async def _no_wait(seconds: float) -> None:
    pass


@pytest.fixture
def loop_panel(loopback_panel: MakePanel) -> MakePanel:
    """Panels on the loopback fake with ``KEY``, retry waits not slept."""

    def make(*, client_options: dict[str, Any] | None = None, **traits: Any) -> ImageGenerator:
        traits.setdefault("prompt", "a paper boat")
        traits.setdefault("model", "dall-e-2")
        traits.setdefault("size", "256x256")
        options = {"sleep": _no_wait, **(client_options or {})}
        return loopback_panel(api_key=KEY, client_options=options, **traits)

    return make


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


# -- the panel's words: one line in its terms, the facts behind "Details" -------------------

#: Every parameter a generation or an edit declares (``_types.ImageParams``/``EditParams``).
DECLARED = tuple(dict.fromkeys((*PARAMETERS, *EDIT_PARAMETERS)))
#: Parameter names that are also everyday words the panel uses for what it labels the same
#: (its "Model", "Size", "Quality"... controls; the edit mode's mask and markup): the others
#: (``output_format``, ``n``, ``partial_images``, ``complexity``...) are API field names that
#: no line of the panel may show (derived from the declaration, so a new one is checked too).
EVERYDAY = ("model", "prompt", "size", "quality", "style", "background", "moderation", "mask")
FIELD_NAMES = tuple(name for name in DECLARED if name not in EVERYDAY)
_FIELD_NAME = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, FIELD_NAMES)) + r")(?![\w-])")
#: Python reprs and stack text: never anywhere in the panel, Details included.
REPRS = ("b'", 'b"', "\\x", " object at 0x", "Traceback", 'File "')
_CODE = re.compile(r"\w\(|=|\bimport\b|`|\w+Error\b|\bNone\b|\bTrue\b|\bFalse\b")
_DETAILS = re.compile(r'<details class="cw-details">(.*?)</details>', re.S)


@dataclass(frozen=True)
class Words:
    """A message box as a person reads it: its lines outside Details, and the Details."""

    lines: list[str]
    details: str
    request_ids: list[str]


def words_of(widget: Any) -> Words:
    """The words of a message box (``cw-error``, ``cw-validation``, ``cw-image-error``...):
    each ``cw-line`` (a failed tile's: its title and line) and the ``cw-details`` toggle."""
    value = str(widget.value)
    details = " ".join(html.unescape(re.sub(r"<[^>]+>", " ", d)) for d in _DETAILS.findall(value))
    outside = _DETAILS.sub("", value)
    assert "<br" not in outside, value  # one line per problem
    lines = re.findall(r'<div class="cw-line">(.*?)</div>', outside, re.S)
    if not lines:  # a failed tile: its title, then its one line
        lines = [outside]
    texts = [html.unescape(re.sub(r"<[^>]+>", " ", line)).strip() for line in lines]
    rids = [
        html.unescape(r) for r in re.findall(r'<div class="cw-rid">Request id: (.*?)</div>', value)
    ]
    return Words(texts, details, rids)


def assert_people_words(words: Words, *, request_id: str | None = None) -> None:
    """One line per problem in the panel's own terms, no API field name, no repr, no code,
    no stack; the request id (when there is one) behind Details."""
    assert len(words.lines) == 1, words
    line = words.lines[0]
    assert line, words
    assert "\n" not in line.strip(), words
    assert not _FIELD_NAME.search(line), (_FIELD_NAME.search(line), line)
    assert not re.search(r"HTTP \d{3}|[Rr]equest id", line), line  # facts go behind Details
    assert not _CODE.search(line), (_CODE.search(line), line)
    for hint in CODE_HINTS:
        assert hint not in line, line
    for text in (line, words.details):
        for repr_ in REPRS:
            assert repr_ not in text, (repr_, text)
    assert words.request_ids == ([request_id] if request_id else []), words


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
    #: Text the ``error`` trait (the exception text) or the status line must contain.
    says: tuple[str, ...] = ()
    traits: dict[str, Any] = field(default_factory=dict)
    client_options: dict[str, Any] = field(default_factory=dict)
    #: Images that must land (for "done" rows).
    images: int = 1
    request_id: bool = True
    #: What the message box must say (a failed tile's, for "done" rows), in the panel's terms.
    box: tuple[str, ...] = ()

    @classmethod
    def of(cls, row: Row, box: tuple[str, ...] = (), *, says: tuple[str, ...] = ()) -> PanelRow:
        """A row of the fault table (tests/fault_table.py) as the panel meets it: the same
        fault, parameters and client options, the same requests and exception text."""
        return cls(
            row.inject,
            "done" if row.raises is None else "error",
            row.requests,
            says=row.says + says,
            traits={**DALLE_2, **row.params},
            client_options=row.options,
            request_id=row.request_id,
            box=box,
        )


def fail(count: int, status: int, **kwargs: Any) -> Callable[[FakeAPI], None]:
    return lambda fake: fake.fail_next(count, status, **kwargs)


def urls(method: str, *args: Any) -> Callable[[FakeAPI], None]:
    return lambda fake: getattr(fake, method)(*args)


URL3 = {"response_format": "url", "n": 3}

READ = "could not be read"
BILLED_NOT_RETRIED = ("may already have made (and billed)", "not retried")
#: The fault table's rows a person can meet in the panel, and what its message box says.
TABLE_BOXES: dict[str, tuple[str, ...]] = {
    "429-retry-after-seconds": (),
    "429-hint-above-cap": (
        "rate limiting requests.",
        "HTTP 429",
        "It asks to wait 2 min",
        "Wait 2 min, then click Generate again.",
    ),
    "429-retries-exhausted": (
        "rate limiting requests",
        "The server said: rate limit exceeded",
        "Wait a moment",
    ),
    "500-not-retried": ("The provider failed.", "HTTP 500", *BILLED_NOT_RETRIED),
    "500-invalid-request-never-retried": (
        "The server said: invalid size",
        "would fail again: change the settings",
    ),
    "502-retried": (),
    "502-exhausted": ("The provider failed.", "HTTP 502", "Tried 3 times"),
    "503-retried": (),
    "503-no-available-channel": (
        "dall-e-2 is not available for this key",
        "Pick another model (try gpt-image-2)",
    ),
    "504-not-retried": ("HTTP 504", *BILLED_NOT_RETRIED),
    "524-not-retried": ("HTTP 524", *BILLED_NOT_RETRIED),
    "524-retry-billable-exhausted": ("The provider failed.", "HTTP 524", "Tried 3 times"),
    "400": ("refused the request.", "HTTP 400", "invalid request", "Change the settings"),
    "400-content-policy": ("The provider refused the prompt", "Rephrase the prompt"),
    "401": ("The API did not accept the key.", "HTTP 401", "COMETAPI_KEY", "restart the kernel"),
    "403": ("may not use this model", "Pick another model"),
    "404": ("was not found", "COMETAPI_BASE_URL"),
    "reset-mid-body": ("connection to the API broke", *BILLED_NOT_RETRIED),
    "close-after-headers": ("connection to the API broke", "(and billed)"),
    "read-timeout": ("did not answer in time.", "Waited 0.5 s", "(and billed)"),
    "trickle-past-read-timeout": ("did not answer in time.", "Waited 0.5 s"),
    "invalid-json": ("not an image result", "instead of JSON"),
    "html-200": ("not an image result", "an HTML page", "Check COMETAPI_BASE_URL"),
    "html-301": ("redirecting to", "Check COMETAPI_BASE_URL"),
    "empty-data": ("returned no images", "Rephrase the prompt or pick another model"),
    "no-url-nor-b64": (READ, "neither 'url' nor 'b64_json'"),
    "bad-base64": (READ, "not valid base64"),
    "base64-of-not-an-image": (READ, "not a PNG"),
    "truncated-png": (READ, "truncated"),
    "decompression-bomb": (READ, "100000x100000"),
    "body-over-cap-declared": ("too large", "larger than 1,000,000 bytes", "fewer or smaller"),
}
#: What the status line says after the table's rows that end well.
TABLE_STATUS = {
    "429-retry-after-seconds": ("Done: 1 image after 2 retries",),
    "502-retried": ("after 1 retry",),
    "503-retried": ("after 1 retry",),
}

PANEL_ROWS: dict[str, PanelRow] = {
    **{
        name: PanelRow.of(FAULTS[name], box, says=TABLE_STATUS.get(name, ()))
        for name, box in TABLE_BOXES.items()
    },
    # -- the panel's own cases: the key echoed back, and url mode ---------------------------
    "401-echoing-the-key": PanelRow(
        fail(1, 401, message=f"bad key: Bearer {KEY}"),
        "error",
        1,
        says=("HTTP 401", "Bearer [redacted]", "COMETAPI_KEY"),
        box=("The API did not accept the key.", "HTTP 401", "Bearer [redacted]"),
    ),
    "one-url-of-3-expired": PanelRow(
        urls("expire_urls", [1]),
        "done",
        1,
        says=("2 of 3 images; image 2 failed", "HTTP 404"),
        traits=URL3,
        images=2,
        box=(
            "could not be downloaded",
            "HTTP 404",
            "expire",
            "about an hour)",
            "An image could not be downloaded. Click Generate to try again.",
        ),
    ),
    "one-url-of-3-times-out": PanelRow(
        urls("slow_urls", [0], 600),  # the fake stops waiting when the client hangs up
        "done",
        1,
        says=("2 of 3 images; image", "took longer than"),
        traits=URL3,
        # Ample for the downloads that arrive, even on a busy machine; the slow one never does.
        client_options={"timeout": AMPLE},
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


def test_the_panel_rows_are_the_tables() -> None:
    """A panel row named like a fault-table row is that row (one place for each fault)."""
    assert set(TABLE_BOXES) <= set(FAULTS)
    assert not (set(PANEL_ROWS) - set(TABLE_BOXES)) & set(FAULTS)


@pytest.mark.slow
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
    # The panel's own words: one line, no hint that only code can follow (those stay in
    # .error), the request id behind Details.
    rid = generation_requests(fake)[-1].request_id
    if row.status == "error":
        assert_people_words(words_of(box), request_id=rid if row.request_id else None)
    for tile in parts(panel, "cw-image-error", visible=True):
        assert_people_words(words_of(tile), request_id=rid)
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
    words = words_of(part(panel, "cw-error"))
    assert_people_words(words)
    assert words.lines[0].startswith("Could not reach the API.")
    assert "Check the network (and COMETAPI_BASE_URL)" in words.lines[0]
    assert f"Address: 127.0.0.1:{port}" in words.details
    assert SECRET_PART not in everything_shown(panel, descendants)


@pytest.mark.parametrize("echo", sorted(ECHOES))
async def test_a_key_echoed_in_any_server_string_is_nowhere_in_the_panel(
    fake: FakeAPI, loopback_panel: MakePanel, descendants: Callable[..., list[Any]], echo: str
) -> None:
    """The key the fake sends back (tests/client/test_server_strings.py) reaches no widget's
    state, trait or repr: the error box words the error's attributes, and they are redacted."""
    panel = loopback_panel(
        api_key=ECHOED_KEY,
        client_options={"max_retries": 0},
        prompt="a key",
        model="gpt-image-2",
        n=2,
        partial_images=1,
    )
    ECHOES[echo](fake)
    widget_parts.part(panel, "cw-generate").click()
    await panel.wait()
    assert panel.status in ("error", "done"), panel.status
    assert ECHOED_KEY not in everything_shown(panel, descendants)


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


#: The labels of the panel's controls, as a person reads them.
CONTROL_LABELS = {"model": "Model", "n": "Images", "size": "Size", "quality": "Quality"}
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
        words = words_of(part(panel, "cw-validation"))
        assert_people_words(words)
        # The facts (the parameter's name, the value, what is allowed) are behind Details...
        for text in (row.field, row.shown, row.allowed):
            if "\\" not in text:  # a repr's escapes (a lone surrogate's) are not shown
                assert text in words.details, validation
        # ...and the line names the control a person sets it with.
        label = CONTROL_LABELS.get(row.field)
        if label is not None:
            assert words.lines[0].startswith(f"{label} "), words
    part(panel, "cw-generate").click()  # a click that reaches the kernel anyway sends nothing
    await panel.wait()
    assert panel.status == "error"
    for text in (row.field, row.shown, row.allowed):
        assert text in panel.error, panel.error
    assert fake.generation_count == 0
    assert generation_requests(fake) == []


# -- every error the fake can produce, walked through the panel ----------------------------------

#: Every error status the fake words (``fail_next``), each sent once with no retry.
STATUSES = (400, 401, 403, 404, 408, 409, 413, 422, 429, 500, 502, 503, 504, 524)
#: A streamed generation (one preview per image), for the fake's broken streams.
STREAMED = {"model": "gpt-image-2", "size": "1024x1024", "quality": "low", "partial_images": 1}
NO_RETRY = {"max_retries": 0}
Walk = tuple[Callable[[FakeAPI], None], dict[str, Any], dict[str, Any]]
#: What the matrix above does not walk: the fault table's other rows, every status, every
#: broken stream, each way the fake refuses to stream.
WALKS: dict[str, Walk] = {
    **{
        name: (row.inject, {**DALLE_2, **row.params}, row.options)
        for name, row in FAULTS.items()
        if name not in PANEL_ROWS
    },
    **{f"status-{code}": (fail(1, code), DALLE_2, NO_RETRY) for code in STATUSES},
    **{
        f"stream-{kind}": (urls("break_stream_next", kind), STREAMED, NO_RETRY)
        for kind in STREAM_BREAK_KINDS
    },
    **{
        f"stream-refused-{how}": (
            lambda fake, how=how: setattr(fake, "stream_refusal", how),
            STREAMED,
            NO_RETRY,
        )
        for how in STREAM_REFUSALS
    },
    "url-bad-image": (
        urls("malform_next", "not_an_image"),
        {**DALLE_2, "response_format": "url"},
        {},
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("walk", WALKS.values(), ids=WALKS.keys())
async def test_every_fault_of_the_fake_reads_as_words(
    walk: Walk, fake: FakeAPI, loop_panel: MakePanel, part: Parts
) -> None:
    """Whatever goes wrong, each message box and failed tile says one line in the panel's
    terms (no API field name, repr, code or stack) with the facts behind Details, the request
    id among them when the error has one."""
    inject, traits, options = walk
    panel = loop_panel(client_options=options, **traits)
    inject(fake)
    part(panel, "cw-generate").click()
    await panel.wait()
    sent = generation_requests(fake)
    rid = sent[-1].request_id if sent else None
    said = 0
    if panel.status == "error":
        box = part(panel, "cw-error")
        assert box.layout.display != "none"
        assert_people_words(words_of(box), request_id=rid if rid and rid in panel.error else None)
        said += 1
    for tile in parts(panel, "cw-image-error", visible=True):
        assert_people_words(words_of(tile), request_id=rid)
        said += 1
    for name in ("cw-validation", "cw-stream-notice"):
        widget = part(panel, name)
        if widget.layout.display != "none":
            assert_people_words(words_of(widget))
    assert said or (panel.status == "done" and panel.error == ""), panel.error


def _edit_input() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "teal").save(buffer, "PNG")
    return buffer.getvalue()


#: A value no declared parameter takes (each checks its type or its allowed values).
REFUSED = ["not", "this"]


@pytest.mark.parametrize("field", DECLARED)
async def test_every_refused_parameter_reads_as_words(
    field: str, fake: FakeAPI, loop_panel: MakePanel, part: Parts
) -> None:
    """Every parameter of the declaration, refused (in a batch's item: the panel's way to take
    any of them), is said in the panel's words: its parameter name only behind Details."""
    panel = loop_panel(model="gpt-image-2", size="1024x1024")
    if field not in PARAMETERS:  # an edit's own: the panel edits an input
        panel.inputs = [_edit_input()]
    with pytest.raises(InvalidParameterError) as caught:
        await panel.generate_many([{"prompt": "a paper boat", field: REFUSED}])
    assert caught.value.field == field, caught.value
    words = words_of(part(panel, "cw-error"))
    assert_people_words(words)
    assert f"Parameter: {field}" in words.details
    assert words.lines[0].startswith("Prompt 1: "), words
    assert fake.generation_count == 0
