"""Every payload build_payload makes meets the contract: OpenAI's ``CreateImageRequest`` schema
for what it knows, the official SDK's parameter types for all of it.

The grid covers every catalogued model over the values it accepts (free sizes included) and
the options of today. The vendored schema predates gpt-image-2.5/2.6 and those options, so
``payload_contract`` validates the parts it knows with the schema and the whole body with the
SDK's ``ImageGenerateParamsNonStreaming`` (strict); the parts only the SDK judged are checked
to be exactly the documented newer ones. A request captured on the wire validates too.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from payload_contract import PayloadContract

from comet_widgets import MODELS, AsyncImageClient, build_payload
from comet_widgets.testing import FakeAPI

FREE_SIZES = ["1536x864", "2560x1440", "3840x2160", "1024x3072", "816x816", "2048x1152"]


#: What the vendored schema does not know (it predates them): options, and values of options.
NEWER_OPTIONS = {"complexity", "frame_count", "frame_duration_ms", "svg", "safety_identifier"}
NEWER_VALUES = {"quality": {"xhigh", "max"}, "output_format": {"gif", "svg"}}


@pytest.fixture(scope="module")
def contract(openapi: dict[str, Any]) -> PayloadContract:
    return PayloadContract(openapi)


def _only_documented_newer(newer: dict[str, Any]) -> bool:
    return all(
        key in NEWER_OPTIONS or value in NEWER_VALUES.get(key, ()) for key, value in newer.items()
    )


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
        for compression, fmt in itertools.product((0, 50, 100), ("webp", "jpeg")):
            yield {"output_format": fmt, "output_compression": compression}
        for moderation in ("low", "auto"):
            yield {"moderation": moderation}
        for complexity in ("low", "medium", "high"):
            yield {"complexity": complexity}
        yield {"output_format": "gif"}
        for frames, duration in itertools.product((2, 9, 16), (None, 0, 200, 655_350)):
            gif: dict[str, Any] = {"output_format": "gif", "frame_count": frames}
            yield gif if duration is None else {**gif, "frame_duration_ms": duration}
        yield {"output_format": "svg"}
        for effort in (None, "none", "minimal", "low", "medium", "high", "xhigh", "max"):
            svg: dict[str, Any] = {"model": "svg-author"}
            if effort is not None:
                svg["reasoning"] = {"effort": effort}
            yield {"output_format": "svg", "svg": svg, "complexity": "low"}
    yield {"user": "user-1234"}
    yield {"safety_identifier": "hashed-user-1234"}
    yield {"safety_identifier": "hashed-user-1234", "user": "user-1234"}
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
        *NEWER_OPTIONS,
    }
    assert any(params.get("size") == "3840x2160" for model, params in CASES)
    assert len(CASES) > 300


def test_every_grid_payload_validates(contract: PayloadContract) -> None:
    failures = []
    newer_seen: set[str] = set()
    for model, params in CASES:
        payload = build_payload(
            "A paper boat floating on calm water at sunrise.", model=model, **params
        )
        verdict = contract.check(payload)
        newer_seen |= set(verdict.newer)
        if not verdict.ok or not _only_documented_newer(verdict.newer):
            failures.append((model, params, verdict))
    assert failures == []
    # Both halves of the contract did work: the SDK alone judged every newer option.
    assert newer_seen == NEWER_OPTIONS | set(NEWER_VALUES)


@pytest.mark.parametrize("model", sorted(MODELS))
def test_the_longest_allowed_prompt_validates(contract: PayloadContract, model: str) -> None:
    payload = build_payload("x" * MODELS[model].max_prompt, model=model)
    assert contract.check(payload).ok


def test_the_contract_is_strict_enough_to_catch_mistakes(contract: PayloadContract) -> None:
    """Guards the test itself: payloads the client must never make are refused, by the schema
    for what it knows and by the SDK's types for what it predates."""
    good = build_payload("a boat", model="gpt-image-2")
    for bad in (
        {**good, "n": "2"},
        {**good, "n": 11},
        {**good, "quality": "ultra"},
        {**good, "response_format": "png"},
        {**good, "style": "anime"},
        {**good, "size": None},
        {key: value for key, value in good.items() if key != "prompt"},
        {**good, "complexity": "max"},
        {**good, "frame_count": "4"},
        {**good, "svg": {"reasoning": {"effort": "low"}}},
        {**good, "svg": {"model": "a", "reasoning": {"effort": "huge"}}},
        {**good, "safety_identifier": 12},
        {**good, "output_format": "bmp"},
        {**good, "seed": 3},
    ):
        assert not contract.check(bad).ok, bad
    assert contract.check({**good, "seed": 3}, extra={"seed"}).ok


async def test_a_request_captured_on_the_wire_validates(
    client: AsyncImageClient,
    fake: FakeAPI,
    contract: PayloadContract,
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
        verdict = contract.check(body)
        assert verdict.ok, verdict
        assert verdict.newer == {}
    assert "response_format" not in sent[1]
