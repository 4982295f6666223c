"""Odd input is refused before anything is sent, as InvalidParameterError naming the field.

Whole-string matching (a trailing newline is not a size), text keys in ``extra_body``, one JSON
check in ``build_payload`` that names the field holding the bad value, nesting deep enough to
exhaust the stack, every client option, a key that cannot travel in a header, and the panel's
``generate_many`` of blank lines.
"""

from __future__ import annotations

import math
from typing import Any

import pytest

from comet_widgets import (
    AsyncImageClient,
    CometError,
    ImageGenerator,
    InvalidParameterError,
    build_payload,
    generate_many,
)
from comet_widgets.testing import FAKE_API_KEY, FakeAPI, FakeServer

PROMPT = "a paper boat"


def deep(levels: int) -> Any:
    value: Any = "leaf"
    for _ in range(levels):
        value = {"x": value}
    return value


@pytest.mark.parametrize("model", ["gpt-image-2", "dall-e-3", "some-gateway-model"])
@pytest.mark.parametrize("size", ["1024x1024\n", "1024x1024 ", "\n1024x1024"])
def test_a_size_is_matched_as_a_whole_string(model: str, size: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        build_payload(PROMPT, model=model, size=size)
    assert info.value.field == "size"


def test_extra_body_keys_must_be_text() -> None:
    with pytest.raises(InvalidParameterError) as info:
        build_payload(PROMPT, extra_body={1: "x"})  # type: ignore[dict-item]
    assert info.value.field == "extra_body"
    assert "int key 1" in str(info.value)


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"extra_body": {"weight": math.nan}}, "extra_body['weight']"),
        ({"extra_body": {"weight": math.inf}}, "extra_body['weight']"),
        ({"extra_body": {"tag": "\ud800"}}, "extra_body['tag']"),
        ({"extra_body": {"obj": object()}}, "extra_body['obj']"),
        ({"extra_body": {"nested": deep(5000)}}, "extra_body['nested']"),
        ({"user": "\udfff"}, "user"),
    ],
)
def test_build_payload_checks_json_once_naming_the_field(
    arguments: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidParameterError) as info:
        build_payload(PROMPT, **arguments)
    assert info.value.field == field
    assert "cannot be sent as JSON" in str(info.value)
    assert len(str(info.value)) < 600


def test_a_lone_surrogate_prompt_is_reported_as_the_prompt() -> None:
    with pytest.raises(InvalidParameterError) as info:
        build_payload("a boat \ud800")
    assert info.value.field == "prompt"


async def test_a_bad_item_refuses_the_batch_before_any_is_paid(
    fake_server: FakeServer, fake: FakeAPI
) -> None:
    items: list[Any] = [PROMPT, {"prompt": "two", "extra_body": {"w": math.nan}}, "three"]
    async with AsyncImageClient(api_key=FAKE_API_KEY, base_url=fake_server.base_url) as client:
        with pytest.raises(InvalidParameterError) as info:
            await generate_many(items, client=client, model="dall-e-2", size="256x256")
    assert "extra_body['w']" in str(info.value)
    assert not [r for r in fake.requests if r.path.endswith("/generations")]


BAD_OPTIONS = [
    ("concurrency", 0),
    ("concurrency", 2.5),
    ("requests_per_minute", 0),
    ("requests_per_minute", math.nan),
    ("timeout", "10"),
    ("timeout", -1),
    ("timeout", math.nan),
    ("max_retries", "2"),
    ("max_retries", 2.5),
    ("max_retries", True),
    ("max_retry_wait", -1),
    ("max_retry_wait", math.nan),
    ("max_response_bytes", -1),
    ("max_image_pixels", 0),
    ("retry_billable", "yes"),
    ("sleep", 3),
    ("http_client", "a client"),
]


@pytest.mark.parametrize(
    ("option", "value"), BAD_OPTIONS, ids=[f"{o}={v!r}" for o, v in BAD_OPTIONS]
)
def test_every_client_option_is_checked(option: str, value: object) -> None:
    with pytest.raises(InvalidParameterError) as info:
        AsyncImageClient(api_key=FAKE_API_KEY, **{option: value})  # type: ignore[arg-type]
    assert info.value.field == option
    text = str(info.value)
    assert option in text
    assert repr(value) in text
    assert "use " in text


BATCH_OPTIONS = [
    *((o, v) for o, v in BAD_OPTIONS if o in ("concurrency", "requests_per_minute")),
    ("concurrency", True),
    ("requests_per_minute", "fast"),
    ("requests_per_minute", math.inf),
    ("budget_usd", -1),
]


@pytest.mark.parametrize(
    ("option", "value"), BATCH_OPTIONS, ids=[f"{o}={v!r}" for o, v in BATCH_OPTIONS]
)
async def test_generate_manys_options_are_checked_as_the_clients(
    option: str, value: object
) -> None:
    """Refused as AsyncImageClient refuses them, before anything is sent."""
    client = AsyncImageClient(api_key=FAKE_API_KEY, base_url="http://127.0.0.1:9/v1")
    with pytest.raises(InvalidParameterError) as info:
        await generate_many([PROMPT], client=client, **{option: value})  # type: ignore[arg-type]
    assert info.value.field == option
    assert repr(value) in str(info.value)
    assert "use " in str(info.value)
    await client.aclose()


@pytest.mark.parametrize(
    "key", ["sk-" + "abc\n", "sk-" + "abc ", " sk-abc", "sk-" + "abc\u00e9", "sk-" + "a\tb"]
)
async def test_a_key_that_cannot_be_a_header_is_refused_before_sending(
    fake_server: FakeServer, fake: FakeAPI, key: str
) -> None:
    async with AsyncImageClient(api_key=key, base_url=fake_server.base_url) as client:
        with pytest.raises(InvalidParameterError) as info:
            await client.generate(PROMPT, model="dall-e-2", size="256x256")
    text = str(info.value)
    assert "cannot be sent in a header" in text
    assert "nothing was sent" in text
    assert "abc" not in text  # the key is not shown
    assert not getattr(info.value, "sent", False)
    assert not fake.requests


def test_the_panels_blank_batch_is_an_invalid_parameter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMETAPI_KEY", FAKE_API_KEY)
    panel = ImageGenerator(offline=True)
    try:
        with pytest.raises(InvalidParameterError) as info:
            panel.generate_many("\n \n")
        assert isinstance(info.value, CometError)
        assert info.value.field == "prompts"
    finally:
        panel.close()


@pytest.mark.parametrize(
    ("value", "end"), [(list(range(100)), "...]"), ({"k": "v" * 99}, "...}"), ("x" * 99, "...'")]
)
def test_a_long_value_is_cut_keeping_its_own_closing_mark(value: object, end: str) -> None:
    text = str(InvalidParameterError("size", value, "use a size like '1024x1024'"))
    shown = text.removeprefix("size ").split(" is not allowed", 1)[0]
    assert shown.startswith(repr(value)[:10])
    assert shown.endswith(end), shown
    assert len(shown) <= 60
