"""Every payload build_payload makes validates against OpenAI's ``CreateImageRequest`` schema.

The grid covers every catalogued model over the values it accepts (gpt-image-2's free sizes
included); the schema lists no ``additionalProperties: false``, so each payload's keys are also
checked against the schema's properties. A request captured on the wire validates too.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from comet_widgets import MODELS, AsyncImageClient, build_payload
from comet_widgets.testing import FakeAPI

FREE_SIZES = ["1536x864", "2560x1440", "3840x2160", "1024x3072", "816x816", "2048x1152"]


@pytest.fixture(scope="module")
def validator(openapi: dict[str, Any]) -> Draft202012Validator:
    root = {"components": openapi["components"], "$ref": "#/components/schemas/CreateImageRequest"}
    Draft202012Validator.check_schema(root)
    return Draft202012Validator(root)


@pytest.fixture(scope="module")
def properties(openapi: dict[str, Any]) -> set[str]:
    return set(openapi["components"]["schemas"]["CreateImageRequest"]["properties"])


def _grid(model: str) -> Iterator[dict[str, Any]]:
    """Every accepted value of each field at least once, plus combinations of the main ones."""
    spec = MODELS[model]
    sizes = list(spec.sizes) + (FREE_SIZES if spec.free_size else [])
    ns = sorted({1, spec.max_n, min(2, spec.max_n)})
    formats: list[str | None] = [None, *spec.response_formats]
    qualities: list[str | None] = [None, *spec.qualities]
    for size, n, response_format, quality in itertools.product(sizes, ns, formats, qualities):
        params: dict[str, Any] = {"size": size, "n": n}
        if response_format is not None:
            params["response_format"] = response_format
        if quality is not None:
            params["quality"] = quality
        yield params
    for style in spec.styles:
        yield {"style": style}
    if spec.accepts("background"):
        for background, output_format in itertools.product(
            ["transparent", "opaque", "auto"], ["png", "jpeg", "webp"]
        ):
            if background == "transparent" and output_format == "jpeg":
                continue
            yield {"background": background, "output_format": output_format}
        for compression in (0, 50, 100):
            yield {"output_format": "webp", "output_compression": compression}
        for moderation in ("low", "auto"):
            yield {"moderation": moderation}
    yield {"user": "user-1234"}
    yield {}


def _all_cases() -> list[tuple[str, dict[str, Any]]]:
    return [(model, params) for model in sorted(MODELS) for params in _grid(model)]


CASES = _all_cases()


def test_the_grid_covers_every_model_and_field() -> None:
    assert {model for model, _ in CASES} == set(MODELS)
    fields = {key for _, params in CASES for key in params}
    assert fields >= {
        "size",
        "n",
        "response_format",
        "quality",
        "style",
        "background",
        "output_format",
        "output_compression",
        "moderation",
        "user",
    }
    assert any(params.get("size") == "3840x2160" for model, params in CASES)
    assert len(CASES) > 300


def test_every_grid_payload_validates(
    validator: Draft202012Validator, properties: set[str]
) -> None:
    failures = []
    for model, params in CASES:
        payload = build_payload(
            "A paper boat floating on calm water at sunrise.", model=model, **params
        )
        errors = [error.message for error in validator.iter_errors(payload)]
        unknown = set(payload) - properties
        if errors or unknown:
            failures.append((model, params, errors, sorted(unknown)))
    assert failures == []


@pytest.mark.parametrize("model", sorted(MODELS))
def test_the_longest_allowed_prompt_validates(validator: Draft202012Validator, model: str) -> None:
    payload = build_payload("x" * MODELS[model].max_prompt, model=model)
    validator.validate(payload)


def test_the_validator_is_strict_enough_to_catch_mistakes(validator: Draft202012Validator) -> None:
    """Guards the test itself: payloads the client must never make are refused by the schema."""
    good = build_payload("a boat", model="dall-e-2")
    for bad in (
        {**good, "n": "2"},
        {**good, "n": 11},
        {**good, "quality": "ultra"},
        {**good, "response_format": "png"},
        {**good, "style": "anime"},
        {**good, "size": None},
        {key: value for key, value in good.items() if key != "prompt"},
    ):
        assert not validator.is_valid(bad), bad


async def test_a_request_captured_on_the_wire_validates(
    client: AsyncImageClient,
    fake: FakeAPI,
    validator: Draft202012Validator,
    properties: set[str],
) -> None:
    await client.generate(
        "A paper boat floating on calm water at sunrise.",
        model="dall-e-3",
        size="1024x1024",
        response_format="url",
        quality="hd",
        style="natural",
    )
    await client.generate(
        "An isometric city",
        model="gpt-image-2",
        size="1536x864",
        quality="low",
        output_format="webp",
    )
    sent = [r.json for r in fake.requests if r.path == "/v1/images/generations"]
    assert len(sent) == 2
    for body in sent:
        validator.validate(body)
        assert set(body) <= properties
    assert "response_format" not in sent[1]
