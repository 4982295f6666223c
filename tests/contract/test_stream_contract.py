"""The fake's streamed answers against the contract: the SDK's event types and its own consumer.

Every event the fake streams validates against the openai SDK's ``ImageGenStreamEvent`` (a
discriminated union on ``type``), and ``AsyncOpenAI().images.generate(stream=True)`` reads the
fake's stream over loopback: partials then the completed event, with the usage.
"""

from __future__ import annotations

import base64
import contextlib
import io
import itertools
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import openai
import pydantic
import pytest
from openai.types import (
    ImageEditCompletedEvent,
    ImageEditPartialImageEvent,
    ImageGenCompletedEvent,
    ImageGenPartialImageEvent,
    ImageGenStreamEvent,
)
from PIL import Image

from bench._lab import start_server, stop_server
from comet_widgets.testing import FAKE_API_KEY, FakeAPI, FakeServer
from tests.client.test_faults import settled

AUTH = {"Authorization": f"Bearer {FAKE_API_KEY}"}
STREAM_EVENT = pydantic.TypeAdapter(ImageGenStreamEvent)


def _events(server: FakeServer, body: dict[str, object]) -> list[tuple[str, dict[str, object]]]:
    """The (event name, data) pairs of one streamed answer, read line by line with httpx."""
    url = f"{server.base_url}/images/generations"
    events: list[tuple[str, dict[str, object]]] = []
    with httpx.stream("POST", url, json=body, headers=AUTH, timeout=30) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["x-request-id"]
        name = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                name = line[len("event: ") :]
            elif line.startswith("data: "):
                events.append((name, json.loads(line[len("data: ") :])))
    return events


def _pixels(b64: object) -> Image.Image:
    assert isinstance(b64, str)
    image = Image.open(io.BytesIO(base64.b64decode(b64)))
    image.load()
    return image


@pytest.mark.parametrize(
    "params",
    [
        {"model": "gpt-image-2", "partial_images": 2},
        {"model": "gpt-image-2", "partial_images": 3, "size": "1536x1024", "quality": "high"},
        {"model": "gpt-image-1.5", "partial_images": 1, "output_format": "webp"},
        {"model": "gpt-image-2", "partial_images": 1, "n": 2, "background": "transparent"},
        {"model": "gpt-image-2", "stream": True},  # no partials: only the completed event
        {"model": "gpt-image-2", "partial_images": 1, "size": "2048x1152", "quality": "auto"},
    ],
    ids=["two", "three-high", "webp", "n2-transparent", "no-partials", "free-size"],
)
def test_every_streamed_event_validates_against_the_sdk_event_types(
    fake_server: FakeServer, params: dict[str, object]
) -> None:
    body = {"prompt": "a lighthouse in a storm", "stream": True, **params}
    events = _events(fake_server, body)
    partials = int(params.get("partial_images", 0))  # type: ignore[call-overload]
    n = int(params.get("n", 1))  # type: ignore[call-overload]
    assert len(events) == n * (partials + 1)
    kinds = []
    for name, data in events:
        event = STREAM_EVENT.validate_python(data)
        assert name == event.type  # the SSE event name repeats the JSON type
        kinds.append(type(event))
    expected = ([ImageGenPartialImageEvent] * partials + [ImageGenCompletedEvent]) * n
    assert kinds == expected
    first = events[0][1]
    if partials:
        assert [data["partial_image_index"] for _, data in events[:partials]] == list(
            range(partials)
        )
        # Partials are coarser versions of the final image, of the same size.
        assert _pixels(first["b64_json"]).size == _pixels(events[partials][1]["b64_json"]).size
        assert first["b64_json"] != events[partials][1]["b64_json"]


def test_each_partial_adds_output_tokens(fake_server: FakeServer) -> None:
    base = {"prompt": "a lighthouse", "model": "gpt-image-2", "stream": True}
    plain = _events(fake_server, base)[-1][1]["usage"]
    with_two = _events(fake_server, {**base, "partial_images": 2})[-1][1]["usage"]
    assert isinstance(plain, dict)
    assert isinstance(with_two, dict)
    assert with_two["output_tokens"] == plain["output_tokens"] + 200
    assert with_two["total_tokens"] == plain["total_tokens"] + 200


@pytest.mark.slow
def test_events_are_spaced_by_the_stream_interval(fake_server: FakeServer, fake: FakeAPI) -> None:
    fake.stream_interval = 0.3
    started = time.monotonic()
    url = f"{fake_server.base_url}/images/generations"
    body = {"prompt": "a boat", "model": "gpt-image-2", "partial_images": 2, "stream": True}
    arrivals = []
    with httpx.stream("POST", url, json=body, headers=AUTH, timeout=30) as response:
        for line in response.iter_lines():
            if line.startswith("data: "):
                arrivals.append(time.monotonic() - started)
    assert len(arrivals) == 3
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    assert all(gap >= 0.25 for gap in gaps), arrivals
    assert len(fake.stream_times) == 3


async def test_the_sdk_consumes_the_fakes_stream(fake_server: FakeServer) -> None:
    sdk = openai.AsyncOpenAI(api_key=FAKE_API_KEY, base_url=fake_server.base_url, max_retries=0)
    try:
        stream = await sdk.images.generate(
            model="gpt-image-2", prompt="a lighthouse in a storm", stream=True, partial_images=2
        )
        events = [event async for event in stream]
    finally:
        await sdk.close()
    assert [event.type for event in events] == [
        "image_generation.partial_image",
        "image_generation.partial_image",
        "image_generation.completed",
    ]
    partials = [e for e in events if isinstance(e, ImageGenPartialImageEvent)]
    assert [p.partial_image_index for p in partials] == [0, 1]
    completed = events[-1]
    assert isinstance(completed, ImageGenCompletedEvent)
    assert completed.usage.output_tokens > 200
    assert _pixels(completed.b64_json).size == (1024, 1024)


async def test_the_sdk_consumes_the_fakes_streamed_edit(fake_server: FakeServer) -> None:
    """Edits stream ``image_edit.*``: the SDK's ``ImageEditStreamEvent`` types, both of them."""
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (20, 120, 220)).save(out, "PNG")
    sdk = openai.AsyncOpenAI(api_key=FAKE_API_KEY, base_url=fake_server.base_url, max_retries=0)
    try:
        stream = await sdk.images.edit(
            image=("photo.png", out.getvalue(), "image/png"),
            prompt="make it winter",
            model="gpt-image-2",
            stream=True,
            partial_images=1,
        )
        events = [event async for event in stream]
    finally:
        await sdk.close()
    assert [type(event) for event in events] == [
        ImageEditPartialImageEvent,
        ImageEditCompletedEvent,
    ]
    assert [event.type for event in events] == [
        "image_edit.partial_image",
        "image_edit.completed",
    ]
    assert _pixels(events[-1].b64_json).size == (64, 64)


async def test_the_sdk_raises_on_the_fakes_error_event(
    fake_server: FakeServer, fake: FakeAPI
) -> None:
    fake.break_stream_next("error", after=1, message="upstream failed", code="server_error")
    sdk = openai.AsyncOpenAI(api_key=FAKE_API_KEY, base_url=fake_server.base_url, max_retries=0)
    seen = []
    try:
        stream = await sdk.images.generate(
            model="gpt-image-2", prompt="a boat", stream=True, partial_images=2
        )
        with pytest.raises(openai.APIError) as caught:  # noqa: PT012 - raised mid-iteration
            async for event in stream:
                seen.append(event)
    finally:
        await sdk.close()
    assert len(seen) == 1
    assert caught.value.message == "upstream failed"
    assert caught.value.code == "server_error"


def test_a_non_relaying_gateway_answers_json(fake_server: FakeServer, fake: FakeAPI) -> None:
    fake.stream_relay = False
    url = f"{fake_server.base_url}/images/generations"
    body = {"prompt": "a boat", "model": "gpt-image-2", "partial_images": 2, "stream": True}
    response = httpx.post(url, json=body, headers=AUTH, timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    document = response.json()
    assert len(document["data"]) == 1
    assert document["usage"]["output_tokens"] > 0


async def test_a_gateway_that_does_not_stream_refuses_stream_in_both_shapes(
    fake_server: FakeServer, fake: FakeAPI
) -> None:
    """``stream_refusal``: a 400 at once, as the SDK reads it; requests without ``stream``
    (and edits) are served as usual."""
    sdk = openai.AsyncOpenAI(api_key=FAKE_API_KEY, base_url=fake_server.base_url, max_retries=0)
    try:
        fake.stream_refusal = "comet"
        with pytest.raises(openai.BadRequestError) as comet:
            await sdk.images.generate(
                model="gpt-image-2", prompt="a boat", stream=True, partial_images=2
            )
        fake.stream_refusal = "openai"
        with pytest.raises(openai.BadRequestError) as refused:
            await sdk.images.generate(model="gpt-image-2", prompt="a boat", stream=True)
        plain = await sdk.images.generate(model="gpt-image-2", prompt="a boat")
    finally:
        await sdk.close()
    first = fake.requests[0]
    assert comet.value.body == {
        "message": f"stream is not supported for this model (request id: {first.request_id})",
        "type": "comet_api_error",
        "param": "",
        "code": "",
    }
    assert refused.value.param == "stream"
    assert refused.value.code == "unsupported_value"
    assert refused.value.request_id == fake.requests[1].request_id
    assert plain.data is not None
    await settled(fake)  # the fake logs a status once its handler returns
    assert [r.status for r in fake.requests] == [400, 400, 200]
    assert [r.fault for r in fake.requests] == ["refuse:stream", "refuse:stream", None]
    assert fake.success_count == 1
    fake.reset()
    assert fake.stream_refusal is None


@pytest.mark.slow
def test_the_standalone_fake_refuses_streams_with_its_flag() -> None:
    with _standalone("--refuse-stream", "openai") as url:
        body = {"prompt": "a boat", "model": "gpt-image-2", "partial_images": 1, "stream": True}
        refused = httpx.post(url, json=body, headers=AUTH, timeout=30)
        del body["stream"], body["partial_images"]
        served = httpx.post(url, json=body, headers=AUTH, timeout=30)
    assert refused.status_code == 400
    assert refused.json()["error"]["param"] == "stream"
    assert served.status_code == 200


@pytest.mark.parametrize("kind", ["cut", "end_early", "invalid_json", "bad_event"])
def test_broken_streams_stop_after_the_good_events(
    fake_server: FakeServer, fake: FakeAPI, kind: str
) -> None:
    fake.break_stream_next(kind, after=1)  # type: ignore[arg-type]
    url = f"{fake_server.base_url}/images/generations"
    body = {"prompt": "a boat", "model": "gpt-image-2", "partial_images": 2, "stream": True}
    lines: list[str] = []
    with (
        pytest.raises(httpx.RemoteProtocolError) if kind == "cut" else contextlib.nullcontext(),
        httpx.stream("POST", url, json=body, headers=AUTH, timeout=30) as response,
    ):
        lines.extend(line for line in response.iter_lines() if line.startswith("data: "))
    good = [STREAM_EVENT.validate_python(json.loads(line[6:])) for line in lines[:1]]
    assert len(good) == 1
    if kind == "cut" or kind == "end_early":
        assert len(lines) == 1
    else:
        assert len(lines) == 2
        if kind == "invalid_json":
            with pytest.raises(json.JSONDecodeError):
                json.loads(lines[1][6:])
        else:
            with pytest.raises(pydantic.ValidationError):
                STREAM_EVENT.validate_python(json.loads(lines[1][6:]))
    assert fake.requests[-1].fault == f"stream:{kind}@1"


@contextlib.contextmanager
def _standalone(*flags: str) -> Iterator[str]:
    """``python -m comet_widgets.testing`` with ``flags`` on a free port: its generations URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "comet_widgets.testing", "--port", str(port), *flags]
    process = start_server(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield f"{process.stdout.readline().strip()}/images/generations"
    finally:
        stop_server(process)
        if process.stdout is not None:
            process.stdout.close()


@pytest.mark.slow
def test_the_standalone_fake_streams_with_its_flags() -> None:
    with _standalone("--stream-interval", "0.2") as url:
        body = {"prompt": "a boat", "model": "gpt-image-2", "partial_images": 1, "stream": True}
        started = time.monotonic()
        with httpx.stream("POST", url, json=body, headers=AUTH, timeout=30) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            lines = [line for line in response.iter_lines() if line.startswith("data: ")]
        assert len(lines) == 2
        assert time.monotonic() - started >= 0.4
