"""Streamed generations over loopback: partial previews, the same Generation, every fault.

Each test talks to the fake on 127.0.0.1 and counts what it received.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from comet_widgets import (
    APIConnectionError,
    AsyncImageClient,
    BadRequestError,
    CometError,
    ContentPolicyError,
    Generation,
    InvalidParameterError,
    PartialImage,
    ResponseError,
    ServerError,
    generate_many,
)
from comet_widgets.testing import FAKE_API_KEY, IN_PROCESS_BASE_URL, FakeAPI, FakeServer
from tests.client.test_faults import settled

PROMPT = "a lighthouse in a storm"


async def test_on_partial_receives_each_partial_then_the_same_generation(
    client: AsyncImageClient, fake: FakeAPI
) -> None:
    seen: list[PartialImage] = []
    generation = await client.generate(
        PROMPT, model="gpt-image-2", partial_images=2, on_partial=seen.append
    )
    assert [(p.index, p.partial_index) for p in seen] == [(0, 0), (0, 1)]
    for partial in seen:
        assert partial.format == "png"
        assert partial.image.size == (1024, 1024)
        assert (partial.width, partial.height) == (1024, 1024)
        bundle = partial._repr_mimebundle_()
        assert "PartialImage" in bundle["text/plain"]
        assert any(key.startswith("image/") for key in bundle)
    assert seen[0].data != seen[1].data != generation.images[0].data
    assert fake.requests[-1].json["stream"] is True
    assert fake.requests[-1].json["partial_images"] == 2
    # The same Generation as a plain call: images, usage, extra, request id.
    plain = await client.generate(PROMPT, model="gpt-image-2")
    assert generation.images[0].data == plain.images[0].data
    assert generation.images[0].generation is generation
    assert generation.usage is not None
    assert plain.usage is not None
    assert generation.usage["output_tokens"] == plain.usage["output_tokens"] + 200
    assert generation.request_id == fake.requests[-2].request_id
    assert {"background", "output_format", "quality", "size"} <= set(generation.extra)
    assert generation.ok
    assert generation.created > 0


async def test_async_callbacks_are_awaited_and_a_failing_one_does_not_stop_the_image(
    client: AsyncImageClient, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[int] = []

    async def slow(partial: PartialImage) -> None:
        await asyncio.sleep(0.01)
        seen.append(partial.partial_index)

    await client.generate(PROMPT, model="gpt-image-2", partial_images=3, on_partial=slow)
    assert seen == [0, 1, 2]

    def broken(partial: PartialImage) -> None:
        raise RuntimeError("my callback is broken")

    with caplog.at_level(logging.WARNING, logger="comet_widgets"):
        generation = await client.generate(
            PROMPT, model="gpt-image-2", partial_images=1, on_partial=broken
        )
    assert generation.ok
    assert "on_partial raised" in caplog.text


async def test_n2_partials_name_their_image(client: AsyncImageClient) -> None:
    seen: list[tuple[int, int]] = []
    generation = await client.generate(
        PROMPT,
        model="gpt-image-2",
        n=2,
        partial_images=1,
        on_partial=lambda p: seen.append((p.index, p.partial_index)),
    )
    assert seen == [(0, 0), (1, 0)]
    assert [image.index for image in generation.images] == [0, 1]
    assert all(image.ok for image in generation.images)


async def test_stream_yields_partials_then_the_generation(
    client: AsyncImageClient, fake: FakeAPI
) -> None:
    events = [event async for event in client.stream(PROMPT, model="gpt-image-2")]
    assert [type(e) for e in events] == [PartialImage, PartialImage, Generation]
    assert fake.requests[-1].json["partial_images"] == 2  # the default
    events = [e async for e in client.stream(PROMPT, model="gpt-image-2", partial_images=3)]
    assert len(events) == 4
    # A model that does not stream: just the Generation.
    events = [e async for e in client.stream(PROMPT, model="dall-e-2", size="256x256")]
    assert [type(e) for e in events] == [Generation]
    assert "stream" not in [r.json for r in fake.requests if r.json][-1]


async def test_leaving_the_stream_early_cancels_the_request(
    client: AsyncImageClient, fake: FakeAPI
) -> None:
    fake.stream_interval = 0.3
    stream = client.stream(PROMPT, model="gpt-image-2", partial_images=3)
    async for event in stream:
        assert isinstance(event, PartialImage)
        break
    await stream.aclose()  # type: ignore[attr-defined]
    for _ in range(100):
        if fake.in_flight == 0:
            break
        await asyncio.sleep(0.02)
    assert fake.in_flight == 0
    assert fake.requests[-1].status == 200
    assert len(fake.stream_times) < 4  # the fake stopped: nobody was listening
    fake.stream_interval = 0.0
    assert (await client.generate(PROMPT, model="gpt-image-2", partial_images=1)).ok


async def test_cancelling_a_streamed_generate_leaves_nothing_running(
    client: AsyncImageClient, fake: FakeAPI
) -> None:
    fake.stream_interval = 0.3
    first = asyncio.Event()
    task = asyncio.ensure_future(
        client.generate(
            PROMPT, model="gpt-image-2", partial_images=3, on_partial=lambda p: first.set()
        )
    )
    await asyncio.wait_for(first.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(100):
        if fake.in_flight == 0:
            break
        await asyncio.sleep(0.02)
    assert fake.in_flight == 0
    assert client._in_flight == set()


async def test_a_gateway_answering_json_gives_the_same_generation(
    client: AsyncImageClient, fake: FakeAPI, caplog: pytest.LogCaptureFixture
) -> None:
    fake.stream_relay = False
    seen: list[PartialImage] = []
    with caplog.at_level(logging.DEBUG, logger="comet_widgets"):
        generation = await client.generate(
            PROMPT, model="gpt-image-2", partial_images=2, on_partial=seen.append
        )
    assert seen == []
    assert generation.ok
    assert generation.streamed is False
    assert generation.usage is not None
    notes = [r for r in caplog.records if "plain JSON" in r.getMessage()]
    assert len(notes) == 1
    assert notes[0].levelno == logging.INFO
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    # Remembered: the next request of the model does not ask to stream, and is not noted again.
    again = await client.generate(PROMPT, model="gpt-image-2", partial_images=2)
    assert again.ok
    assert "stream" not in fake.requests[-1].json
    assert "stream" not in again.params
    assert len([r for r in caplog.records if "plain JSON" in r.getMessage()]) == 1


async def test_an_error_event_raises_the_typed_error_with_request_id(
    client: AsyncImageClient, fake: FakeAPI
) -> None:
    fake.break_stream_next(
        "error", after=1, message="your prompt was blocked", code="moderation_blocked"
    )
    with pytest.raises(ContentPolicyError) as caught:
        await client.generate(PROMPT, model="gpt-image-2", partial_images=2)
    error = caught.value
    assert error.request_id == fake.requests[-1].request_id
    assert "your prompt was blocked" in str(error)
    assert "error event" in str(error)
    assert len(error.partials) == 1
    fake.break_stream_next("error", after=0)
    with pytest.raises(ServerError) as server:
        await client.generate(PROMPT, model="gpt-image-2", partial_images=2)
    assert server.value.request_id
    assert fake.generation_count == 2  # a mid-stream failure may be billed: not retried


async def test_an_error_event_after_a_completed_image_keeps_the_image(
    client: AsyncImageClient, fake: FakeAPI
) -> None:
    """The image that completed before the error event is paid for: the error carries it."""
    fake.break_stream_next("error", after=3, message="upstream failed on image 2")
    with pytest.raises(ServerError) as caught:
        await client.generate(PROMPT, model="gpt-image-2", n=2, partial_images=1)
    error = caught.value
    assert "upstream failed on image 2" in str(error)
    assert error.generation is not None
    [image] = error.generation.images
    assert image.ok
    assert image.image.size == (1024, 1024)
    assert error.generation.request_id == error.request_id == fake.requests[-1].request_id
    assert [(p.index, p.partial_index) for p in error.partials] == [(0, 0), (1, 0)]
    assert fake.generation_count == 1  # not retried: an image was made


@pytest.mark.parametrize("route", ["generate", "edit"])
@pytest.mark.parametrize("after", [0, 1])
async def test_an_error_event_is_never_retried_once_the_stream_began(
    fake_server: FakeServer, fake: FakeAPI, route: str, after: int
) -> None:
    """A rate limit or a 5xx said inside a stream that answered 200 (and perhaps sent partials):
    the provider may have made, and billed, the image; one request, unless retry_billable."""
    for retry_billable, expected in ((False, 1), (True, 2)):
        fake.reset()
        fake.break_stream_next("error", after=after, code="rate_limit_exceeded")
        async with AsyncImageClient(
            api_key=FAKE_API_KEY,
            base_url=fake_server.base_url,
            sleep=_no_wait,
            retry_billable=retry_billable,
        ) as client:
            call = (
                client.generate(PROMPT, model="gpt-image-2", partial_images=2)
                if route == "generate"
                else client.edit(PROMPT, image=_tiny_png(), model="gpt-image-2", partial_images=2)
            )
            if retry_billable:
                assert (await call).ok
            else:
                with pytest.raises(CometError) as caught:
                    await call
                assert caught.value.billable
        assert len(fake.requests) == expected


async def test_a_begun_stream_that_then_refuses_streaming_is_not_sent_again(
    client: AsyncImageClient, fake: FakeAPI
) -> None:
    """A refusal of ``stream`` said as an error event, after the stream answered 200, is no
    negotiation: the provider had started; the request is not sent again without streaming."""
    fake.break_stream_next(
        "error", after=1, message="stream is not supported", code="invalid_request_error"
    )
    with pytest.raises(BadRequestError):
        await client.generate(PROMPT, model="gpt-image-2", partial_images=2)
    assert len(fake.requests) == 1


def _tiny_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "red").save(buffer, "PNG")
    return buffer.getvalue()


async def test_a_json_error_to_a_stream_is_the_usual_typed_error(
    client: AsyncImageClient, fake: FakeAPI
) -> None:
    fake.fail_next(1, 400, message="bad things", code="moderation_blocked")
    with pytest.raises(ContentPolicyError) as caught:
        await client.generate(PROMPT, model="gpt-image-2", partial_images=2)
    assert caught.value.request_id == fake.requests[-1].request_id
    fake.fail_next(1, 502)  # a refusal before anything was made: retried as usual
    assert (await client.generate(PROMPT, model="gpt-image-2", partial_images=1)).ok


@pytest.mark.parametrize("kind", ["cut", "end_early"])
async def test_a_stream_cut_before_completed_keeps_its_partials(
    client: AsyncImageClient, fake: FakeAPI, kind: str
) -> None:
    fake.break_stream_next(kind, after=2)  # type: ignore[arg-type]
    seen: list[PartialImage] = []
    with pytest.raises(APIConnectionError) as caught:
        await client.generate(PROMPT, model="gpt-image-2", partial_images=3, on_partial=seen.append)
    error = caught.value
    assert error.sent is True
    assert [p.partial_index for p in error.partials] == [0, 1]
    assert error.partials == seen
    assert fake.generation_count == 1  # not retried by default: it may have been billed


async def test_retry_billable_retries_a_cut_stream(fake_server: FakeServer, fake: FakeAPI) -> None:
    fake.break_stream_next("cut", after=1)
    async with AsyncImageClient(
        api_key=FAKE_API_KEY, base_url=fake_server.base_url, retry_billable=True, sleep=_no_wait
    ) as client:
        seen: list[PartialImage] = []
        generation = await client.generate(
            PROMPT, model="gpt-image-2", partial_images=2, on_partial=seen.append
        )
    assert generation.ok
    assert fake.generation_count == 2
    assert [p.partial_index for p in seen] == [0, 0, 1]


async def _no_wait(seconds: float) -> None:
    return None


@pytest.mark.parametrize("kind", ["invalid_json", "bad_event"])
async def test_malformed_events_raise_response_error(
    client: AsyncImageClient, fake: FakeAPI, kind: str
) -> None:
    fake.break_stream_next(kind, after=1)  # type: ignore[arg-type]
    with pytest.raises(ResponseError) as caught:
        await client.generate(PROMPT, model="gpt-image-2", partial_images=2)
    assert caught.value.request_id == fake.requests[-1].request_id
    assert len(caught.value.partials) == 1
    assert fake.generation_count == 1


@pytest.mark.slow
async def test_byte_caps_and_the_whole_response_deadline_hold_for_streams(
    fake_server: FakeServer, fake: FakeAPI
) -> None:
    async with AsyncImageClient(
        api_key=FAKE_API_KEY, base_url=fake_server.base_url, max_response_bytes=40_000
    ) as client:
        with pytest.raises(ResponseError, match="max_response_bytes"):
            await client.generate(PROMPT, model="gpt-image-2", partial_images=3)
    fake.stream_interval = 0.4
    async with AsyncImageClient(
        api_key=FAKE_API_KEY, base_url=fake_server.base_url, timeout=1.0
    ) as client:
        # Each event arrives well within the read timeout, the whole stream does not.
        with pytest.raises(APIConnectionError, match="longer than 1 s") as caught:
            await client.generate(PROMPT, model="gpt-image-2", partial_images=3)
    assert caught.value.sent is True
    assert caught.value.partials


async def test_the_key_is_redacted_from_events(fake_server: FakeServer, fake: FakeAPI) -> None:
    key = "sk-streaming-secret-1234567890"
    fake.break_stream_next("error", after=1, message=f"upstream saw Bearer {key} and {key}")
    async with AsyncImageClient(api_key=key, base_url=fake_server.base_url) as client:
        with pytest.raises(ServerError) as caught:
            await client.generate(PROMPT, model="gpt-image-2", partial_images=2)
    error = caught.value
    assert key not in str(error)
    assert key not in repr(error.body)
    assert "[redacted]" in str(error)


async def test_partial_images_are_refused_before_sending(
    client: AsyncImageClient, fake: FakeAPI
) -> None:
    for params in (
        {"model": "dall-e-3", "partial_images": 2},
        {"model": "qwen-image", "partial_images": 1},
        {"model": "gpt-image-2", "partial_images": 2, "output_format": "gif"},
        {
            "model": "gpt-image-2",
            "partial_images": 2,
            "output_format": "svg",
            "svg": {"model": "m"},
        },
        {"model": "gpt-image-2", "partial_images": 4},
    ):
        with pytest.raises(InvalidParameterError) as caught:
            await client.generate(PROMPT, **params)  # type: ignore[arg-type]
        assert caught.value.field in ("partial_images", "output_format", "n"), params
        assert str(params["partial_images"]) in str(caught.value)
        with pytest.raises(InvalidParameterError):
            [e async for e in client.stream(PROMPT, **params)]
    assert fake.requests == []


async def test_generate_many_passes_partials_through_with_the_item_index(
    client: AsyncImageClient, fake: FakeAPI, tmp_path: Path
) -> None:
    seen: list[tuple[int, int, int]] = []
    results = await generate_many(
        ["a red fox", "a blue whale", {"prompt": "an owl", "partial_images": 1}],
        client=client,
        model="gpt-image-2",
        partial_images=2,
        concurrency=2,
        output_dir=tmp_path,
        on_partial=lambda index, p: seen.append((index, p.index, p.partial_index)),
    )
    assert results.failed == []
    assert sorted(seen) == [(0, 0, 0), (0, 0, 1), (1, 0, 0), (1, 0, 1), (2, 0, 0)]
    # Only the final images are written; the manifest has one line per item.
    pngs, lines = _written(tmp_path)
    assert (pngs, lines) == (3, 3)
    assert all(r.json["stream"] is True for r in fake.requests)


def _written(folder: Path) -> tuple[int, int]:
    """How many PNG files and manifest lines ``folder`` holds."""
    return len(list(folder.glob("*.png"))), len(
        (folder / "manifest.jsonl").read_text().splitlines()
    )


async def test_a_key_echoed_in_a_streamed_event_is_redacted_even_across_chunks(
    recorded_sleeps: list[float],
) -> None:
    key = "sk-echoed-secret-0123456789abcdef"
    png = _png()
    event = (
        b"event: image_generation.completed\ndata: "
        + json.dumps(
            {
                "type": "image_generation.completed",
                "b64_json": base64.b64encode(png).decode(),
                "created_at": 1,
                "usage": {"input_tokens": 1, "output_tokens": 2, "total_tokens": 3},
                "echo": f"Authorization: Bearer {key}",
                "note": f"your key {key}",
            }
        ).encode()
        + b"\n\n"
    )
    cut = event.index(key.encode()) + 5  # the key spans two chunks

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        while (await receive()).get("more_body"):
            pass
        headers = [(b"content-type", b"text/event-stream"), (b"x-request-id", key.encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": event[:cut], "more_body": True})
        await send({"type": "http.response.body", "body": event[cut:]})

    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app))
    async with AsyncImageClient(
        api_key=key, base_url=IN_PROCESS_BASE_URL, http_client=http
    ) as client:
        generation = await client.generate(PROMPT, model="gpt-image-2", partial_images=1)
    await http.aclose()
    assert generation.ok
    assert key not in repr(generation.extra)
    assert key not in str(generation.request_id)
    assert "[redacted]" in generation.extra["note"]


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 10, 10)).save(buffer, format="PNG")
    return buffer.getvalue()


async def test_cancelling_the_task_iterating_a_stream_cancels_it_and_the_request(
    client: AsyncImageClient, fake: FakeAPI
) -> None:
    fake.stream_interval = 0.3
    got: list[object] = []

    async def consume() -> None:
        async for event in client.stream(PROMPT, model="gpt-image-2", partial_images=3):
            got.append(event)

    task = asyncio.ensure_future(consume())
    for _ in range(200):
        if got:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()
    for _ in range(100):
        if fake.in_flight == 0:
            break
        await asyncio.sleep(0.02)
    assert fake.in_flight == 0
    assert client._in_flight == set()


# -- a gateway that does not stream (CometAPI's gpt-image-2 page: "Streaming: Not supported") --


def _generations(fake: FakeAPI) -> list[dict[str, Any]]:
    """The bodies of the generation requests the fake received, in order."""
    return [r.json for r in fake.requests if r.path == "/v1/images/generations"]


@pytest.mark.parametrize("style", ["comet", "openai"])
async def test_a_refused_stream_is_sent_once_more_without_streaming_and_remembered(
    fake_server: FakeServer, fake: FakeAPI, caplog: pytest.LogCaptureFixture, style: str
) -> None:
    fake.stream_refusal = style  # type: ignore[assignment]
    seen: list[PartialImage] = []
    async with AsyncImageClient(
        api_key=FAKE_API_KEY, base_url=fake_server.base_url, max_retries=0
    ) as client:
        with caplog.at_level(logging.INFO, logger="comet_widgets"):
            generation = await client.generate(
                PROMPT, model="gpt-image-2", partial_images=2, on_partial=seen.append
            )
            again = await client.generate(PROMPT, model="gpt-image-2", partial_images=2)
    # Refused, then sent once more without streaming (max_retries=0: not a retry); the next
    # request of the model does not ask again.
    first, resent, later = _generations(fake)
    assert (first["stream"], first["partial_images"]) == (True, 2)
    assert "stream" not in resent
    assert "partial_images" not in resent
    assert later == resent
    await settled(fake)  # the fake logs a status once its handler returns
    assert [r.status for r in fake.requests] == [400, 200, 200]
    assert fake.requests[0].fault == "refuse:stream"
    for result in (generation, again):
        assert result.ok
        assert result.streamed is False
        assert "stream" not in result.params
        assert "partial_images" not in result.params
    assert seen == []
    assert generation.request_id == fake.requests[1].request_id
    notes = [r for r in caplog.records if "without streaming" in r.getMessage()]
    assert len(notes) == 1
    assert notes[0].levelno == logging.INFO
    assert "gpt-image-2" in notes[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_the_memory_is_per_model_and_per_base_url(
    fake_server: FakeServer, fake: FakeAPI, client: AsyncImageClient
) -> None:
    fake.stream_refusal = "comet"
    await client.generate(PROMPT, model="gpt-image-2", partial_images=1)
    generation = await client.generate(PROMPT, model="gpt-image-1.5", partial_images=1)
    assert generation.streamed is False
    assert [body.get("stream") for body in _generations(fake)] == [True, None, True, None]
    # A fresh client (its lifetime) and the same model on another base URL ask again.
    async with AsyncImageClient(api_key=FAKE_API_KEY, base_url=fake_server.base_url) as fresh:
        await fresh.generate(PROMPT, model="gpt-image-2", partial_images=1)
    assert _generations(fake)[-2].get("stream") is True
    fake.stream_refusal = None
    client.base_url = fake_server.url.replace("127.0.0.1", "localhost") + "/v1"
    streamed = await client.generate(PROMPT, model="gpt-image-2", partial_images=1)
    assert streamed.streamed is True
    assert _generations(fake)[-1]["stream"] is True


async def test_a_streamed_answer_says_so(client: AsyncImageClient) -> None:
    assert (await client.generate(PROMPT, model="gpt-image-2", partial_images=1)).streamed
    assert not (await client.generate(PROMPT, model="gpt-image-2")).streamed


async def test_negotiating_uses_none_of_max_retries(fake_server: FakeServer, fake: FakeAPI) -> None:
    fake.stream_refusal = "openai"
    fake.fail_next(1, 429, headers={"Retry-After": "0"})  # met by the request sent again
    async with AsyncImageClient(
        api_key=FAKE_API_KEY, base_url=fake_server.base_url, max_retries=1
    ) as client:
        generation = await client.generate(PROMPT, model="gpt-image-2", partial_images=2)
    assert generation.ok
    await settled(fake)  # the fake logs a status once its handler returns
    assert [r.status for r in fake.requests] == [400, 429, 200]


@pytest.mark.parametrize(
    ("message", "code", "param"),
    [
        ("size 999x999 is not supported for this model", "", ""),
        ("invalid value", "invalid_value", "size"),
        ("the upstream provider refused the request", "", ""),
    ],
)
async def test_a_refusal_that_names_another_field_stays_an_error_and_is_not_resent(
    client: AsyncImageClient, fake: FakeAPI, message: str, code: str, param: str
) -> None:
    error = {"message": message, "type": "invalid_request_error", "param": param, "code": code}
    fake.fail_next(1, 400, body=json.dumps({"error": error}), content_type="application/json")
    with pytest.raises(BadRequestError) as caught:
        await client.generate(PROMPT, model="gpt-image-2", partial_images=2)
    assert message in str(caught.value)
    assert len(fake.requests) == 1
    # Nothing was learnt: the next request still asks to stream, and streams.
    assert (await client.generate(PROMPT, model="gpt-image-2", partial_images=1)).streamed


async def test_a_refused_stream_that_is_refused_again_is_not_sent_a_third_time(
    client: AsyncImageClient, fake: FakeAPI
) -> None:
    fake.stream_refusal = "comet"
    fake.fail_next(1, 400, message="stream is not supported for this model")
    with pytest.raises(BadRequestError):
        await client.generate(PROMPT, model="gpt-image-2", partial_images=2)
    await settled(fake)  # the fake logs a status once its handler returns
    assert [r.status for r in fake.requests] == [400, 400]


@pytest.mark.parametrize("refuse", [True, False])
async def test_stream_yields_just_the_generation_from_a_gateway_that_does_not_stream(
    client: AsyncImageClient, fake: FakeAPI, refuse: bool
) -> None:
    if refuse:
        fake.stream_refusal = "comet"
    else:
        fake.stream_relay = False
    events = [event async for event in client.stream(PROMPT, model="gpt-image-2")]
    assert [type(event) for event in events] == [Generation]
    assert isinstance(events[0], Generation)
    assert events[0].ok
    assert events[0].streamed is False
    events = [event async for event in client.stream(PROMPT, model="gpt-image-2")]
    assert [type(event) for event in events] == [Generation]
    assert "stream" not in _generations(fake)[-1]
    assert len(fake.requests) == (3 if refuse else 2)


@pytest.mark.parametrize("refuse", [True, False])
async def test_generate_many_lands_every_item_from_a_gateway_that_does_not_stream(
    client: AsyncImageClient, fake: FakeAPI, tmp_path: Path, refuse: bool
) -> None:
    if refuse:
        fake.stream_refusal = "comet"
    else:
        fake.stream_relay = False
    seen: list[Any] = []
    results = await generate_many(
        ["a red fox", "a blue whale", "an owl"],
        client=client,
        model="gpt-image-2",
        partial_images=2,
        concurrency=1,
        output_dir=tmp_path,
        on_partial=lambda index, p: seen.append(index),
    )
    assert results.failed == []
    generations = [item.generation for item in results.succeeded]
    assert all(g is not None and g.ok and g.streamed is False for g in generations)
    assert seen == []
    asked = [body.get("stream") for body in _generations(fake)]
    # Only the first item asks to stream: once refused (or answered plainly), never again.
    assert asked == ([True, None, None, None] if refuse else [True, None, None])
