"""The official ``openai`` SDK against the fake on loopback, read strictly.

For generations, streamed generations, edits, streamed edits, ``models.list`` and
``models.retrieve``: the SDK's own call must succeed, see the right types and fields, and what
it received must validate against the SDK's types in strict mode (JSON mode, no coercion) with
no field the type does not declare. The SDK itself builds its objects without validating
(``construct``), so a body it merely tolerates would pass a plain call: the strict re-check is
what catches the fake disagreeing with it.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from typing import Any

import openai
import pydantic
import pytest
from openai.types import (
    ImageEditStreamEvent,
    ImageGenStreamEvent,
    ImagesResponse,
    Model,
)
from PIL import Image

from comet_widgets.testing import FAKE_API_KEY, FakeAPI, FakeServer

PROMPT = "a lighthouse in a storm"
GENERATION_EVENTS = pydantic.TypeAdapter(ImageGenStreamEvent)
EDIT_EVENTS = pydantic.TypeAdapter(ImageEditStreamEvent)


def photo() -> tuple[str, bytes, str]:
    out = io.BytesIO()
    Image.new("RGB", (96, 64), (20, 120, 220)).save(out, "PNG")
    return ("photo.png", out.getvalue(), "image/png")


def no_extra(value: Any, where: str = "") -> None:
    """Every field of ``value`` (a parsed SDK object, recursively) is one its type declares."""
    if isinstance(value, pydantic.BaseModel):
        extra = value.model_extra or {}
        assert not extra, f"{type(value).__name__}{where} has undeclared fields {sorted(extra)}"
        for name in type(value).model_fields:
            no_extra(getattr(value, name), f"{where}.{name}")
    elif isinstance(value, list):
        for number, item in enumerate(value):
            no_extra(item, f"{where}[{number}]")


def strict(adapter: pydantic.TypeAdapter[Any], received: Any) -> Any:
    """What the SDK received, validated again by ``adapter`` in strict JSON mode."""
    data = received.to_dict(mode="json") if hasattr(received, "to_dict") else received
    parsed = adapter.validate_json(json.dumps(data), strict=True)
    no_extra(parsed)
    return parsed


RESPONSE = pydantic.TypeAdapter(ImagesResponse)
MODEL = pydantic.TypeAdapter(Model)


@pytest.fixture
async def sdk(fake_server: FakeServer) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(
        api_key=FAKE_API_KEY, base_url=fake_server.base_url, max_retries=0
    ) as client:
        yield client


@pytest.mark.parametrize(
    ("params", "size"),
    [
        ({"model": "gpt-image-2", "quality": "low"}, "1024x1024"),
        ({"model": "gpt-image-2", "size": "2048x1152", "output_format": "webp"}, "2048x1152"),
        ({"model": "gpt-image-2", "n": 2, "background": "transparent"}, "1024x1024"),
    ],
    ids=["plain", "free-size", "n2-transparent"],
)
async def test_generations(sdk: openai.AsyncOpenAI, params: dict[str, Any], size: str) -> None:
    result = strict(RESPONSE, await sdk.images.generate(prompt=PROMPT, **params))
    assert result.size == size
    assert result.output_format == params.get("output_format", "png")
    assert result.background == ("transparent" if "background" in params else "opaque")
    assert result.quality in ("low", "medium")
    assert result.usage is not None
    assert result.usage.total_tokens == result.usage.input_tokens + result.usage.output_tokens
    assert result.data is not None
    assert len(result.data) == params.get("n", 1)
    assert all(image.b64_json and image.url is None for image in result.data)


async def test_streamed_generations(sdk: openai.AsyncOpenAI) -> None:
    stream = await sdk.images.generate(
        prompt=PROMPT, model="gpt-image-2", stream=True, partial_images=2, size="1536x1024"
    )
    events = [strict(GENERATION_EVENTS, event) async for event in stream]
    assert [event.type for event in events] == [
        "image_generation.partial_image",
        "image_generation.partial_image",
        "image_generation.completed",
    ]
    assert [event.partial_image_index for event in events[:2]] == [0, 1]
    assert {event.size for event in events} == {"1536x1024"}
    assert events[-1].usage.output_tokens > 200  # each partial costs about 100 tokens


async def test_edits(sdk: openai.AsyncOpenAI) -> None:
    result = strict(
        RESPONSE,
        await sdk.images.edit(image=photo(), prompt="make it winter", model="gpt-image-2"),
    )
    assert result.size == "96x64"  # no size asked: the input's
    assert result.usage is not None
    assert result.usage.input_tokens_details.image_tokens > 0
    assert result.data is not None
    [image] = result.data
    assert image.b64_json


async def test_streamed_edits(sdk: openai.AsyncOpenAI) -> None:
    stream = await sdk.images.edit(
        image=photo(), prompt="make it winter", model="gpt-image-2", stream=True, partial_images=1
    )
    events = [strict(EDIT_EVENTS, event) async for event in stream]
    assert [event.type for event in events] == ["image_edit.partial_image", "image_edit.completed"]
    assert {event.size for event in events} == {"96x64"}
    assert events[-1].usage.input_tokens_details.image_tokens > 0


async def test_models_list_and_retrieve(sdk: openai.AsyncOpenAI, fake: FakeAPI) -> None:
    listed = [strict(MODEL, model) async for model in sdk.models.list()]
    assert "gpt-image-2" in [model.id for model in listed]
    one = strict(MODEL, await sdk.models.retrieve("gpt-image-2"))
    assert one == next(model for model in listed if model.id == "gpt-image-2")
    with pytest.raises(openai.NotFoundError) as missing:
        await sdk.models.retrieve("no-such-model")
    assert missing.value.code == "model_not_found"
    assert missing.value.request_id == fake.requests[-1].request_id


async def test_refusals_name_the_field_and_the_key_error_its_code(
    sdk: openai.AsyncOpenAI, fake_server: FakeServer
) -> None:
    with pytest.raises(openai.BadRequestError) as size:
        await sdk.images.generate(prompt=PROMPT, model="gpt-image-2", size="1000x1000")
    assert (size.value.param, size.value.code) == ("size", "invalid_value")
    with pytest.raises(openai.BadRequestError) as edit:
        await sdk.images.edit(image=photo(), prompt="x", model="dall-e-3")
    assert (edit.value.param, edit.value.code) == ("model", "invalid_value")
    fake_server.app.api_key = "the-right-key"
    try:
        with pytest.raises(openai.AuthenticationError) as denied:
            await sdk.models.list()
    finally:
        fake_server.app.api_key = None
    assert (denied.value.param, denied.value.code) == (None, "invalid_api_key")


def test_the_strict_check_can_fail() -> None:
    with pytest.raises(pydantic.ValidationError):
        strict(RESPONSE, {"created": "1"})  # strict: no string-to-int coercion
    with pytest.raises(pydantic.ValidationError):
        strict(EDIT_EVENTS, {"type": "image_generation.completed", "b64_json": ""})
    with pytest.raises(AssertionError, match="undeclared fields"):
        strict(RESPONSE, {"created": 1, "usage_note": "an extra field"})
