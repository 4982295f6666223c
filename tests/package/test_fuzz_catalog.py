"""Fuzzing the catalogue: any parameters give a schema-valid payload or InvalidParameterError.

Strategies mix valid values with garbage of every type (unknown models, malformed sizes, wrong
types for n, unknown enum values, unknown keywords). The property: ``build_payload`` either
returns a body that meets the payload contract (OpenAI's ``CreateImageRequest`` schema for what it
knows, the SDK's parameter types for all of it: ``tests/payload_contract.py``), or raises
``InvalidParameterError`` naming a field; never any other exception.

One documented carve-out: for a model the catalogue does not know, ``quality`` and ``style`` are
passed through with a type check only (gateways route models with their own values), so for those
models the two enums are relaxed to "any string" before validating. Everything else (types, n in
1..10, the other enums) is still checked against the schema.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from payload_contract import PayloadContract

from comet_widgets import MODELS, InvalidParameterError, build_payload
from comet_widgets._catalog import PARAMETERS

KNOWN_SIZES = sorted({size for spec in MODELS.values() for size in spec.sizes})
ENUM_VALUES = ["standard", "hd", "low", "medium", "high", "auto", "vivid", "natural"]
ENUM_VALUES += ["transparent", "opaque", "png", "jpeg", "webp", "url", "b64_json", "ultra"]
ENUM_VALUES += ["xhigh", "max", "gif", "svg"]

garbage = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 20),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.binary(max_size=4),
    st.lists(st.integers(), max_size=2),
)
bad_sizes = st.one_of(
    st.sampled_from(["1024*1024", "abc", "0x0", "1024x", " 1024x1024", "1000x1000", "4096x4096"]),
    st.builds(lambda w, h: f"{w}x{h}", st.integers(0, 5000), st.integers(0, 5000)),
)
unknown_models = st.one_of(st.sampled_from(["flux-pro", "sdxl", "", " "]), st.text(max_size=12))
# Keyword names that build_payload does not know (a typo of a real one is among them).
unknown_keywords = st.dictionaries(
    st.sampled_from(["sise", "qualty", "seed", "negative_prompt", "steps"]), garbage, max_size=2
)


def mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` three times in four, else ``bad``: enough valid draws to reach the schema check."""
    return st.integers(0, 3).flatmap(lambda i: good if i else bad)


@st.composite
def parameters(draw: st.DrawFn) -> dict[str, Any]:
    """Parameters for one call: mostly what the drawn model accepts, with garbage mixed in."""
    model = draw(mostly(st.sampled_from(sorted(MODELS)), st.one_of(unknown_models, garbage)))
    spec = MODELS.get(model) if isinstance(model, str) else None
    any_enum = st.sampled_from(ENUM_VALUES)

    def of(values: tuple[str, ...] | None) -> st.SearchStrategy[Any]:
        good = st.sampled_from(values) if values else any_enum
        return mostly(good, st.one_of(any_enum, garbage))

    gpt = spec is None or spec.family == "gpt-image"
    prompt_limit = spec.max_prompt if spec else 40_000
    optional: dict[str, st.SearchStrategy[Any]] = {
        "n": mostly(
            st.integers(1, spec.max_n if spec else 10),
            st.one_of(st.integers(-2, 12), st.sampled_from(["2", 2.0, True]), garbage),
        ),
        "size": mostly(
            st.sampled_from(spec.sizes) if spec else st.sampled_from(KNOWN_SIZES),
            st.one_of(bad_sizes, garbage),
        ),
        "response_format": of(spec.response_formats if spec else ("url", "b64_json")),
        "quality": of(spec.qualities if spec else None),
        "style": of(spec.styles if spec else None),
        "background": of(("transparent", "opaque", "auto") if gpt else ()),
        "output_format": of(("png", "webp", "jpeg", "gif", "svg") if gpt else ()),
        "moderation": of(("low", "auto") if gpt else ()),
        "complexity": of(("low", "medium", "high") if gpt else ()),
        "frame_count": mostly(st.integers(2, 16), st.one_of(st.integers(-2, 20), garbage)),
        "frame_duration_ms": mostly(st.integers(0, 1000), garbage),
        "svg": mostly(
            st.fixed_dictionaries(
                {"model": st.sampled_from(["svg-author"])},
                optional={
                    "reasoning": st.fixed_dictionaries(
                        {}, optional={"effort": st.sampled_from(["low", "max", "huge"])}
                    )
                },
            ),
            garbage,
        ),
        "safety_identifier": mostly(st.text(max_size=8), garbage),
        "output_compression": mostly(
            st.integers(0, 100), st.one_of(st.integers(-10, 110), garbage)
        ),
        "user": mostly(st.text(max_size=8), garbage),
        "extra_body": mostly(
            st.dictionaries(st.sampled_from(["seed", "negative_prompt"]), st.integers(0, 9)),
            garbage,
        ),
    }
    params: dict[str, Any] = {
        "prompt": draw(
            mostly(
                st.text(min_size=1, max_size=60),
                st.one_of(st.sampled_from(["", "  ", "x" * (prompt_limit + 1)]), garbage),
            )
        ),
        "model": model,
    }
    for name in draw(st.sets(st.sampled_from(sorted(optional)), max_size=4)):
        params[name] = draw(optional[name])
    if draw(st.integers(0, 9)) == 0:
        params.update(draw(unknown_keywords))
    return params


@pytest.fixture(scope="module")
def contracts(openapi: dict[str, Any]) -> dict[bool, PayloadContract]:
    """Contracts for known models (schema and SDK types as they are) and unknown ones (free
    quality and style)."""
    return {True: PayloadContract(openapi), False: PayloadContract(openapi, relaxed=True)}


@pytest.mark.slow
@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(params=parameters())
def test_any_parameters_give_a_valid_payload_or_invalid_parameter_error(
    params: dict[str, Any], contracts: dict[bool, PayloadContract]
) -> None:
    prompt = params.pop("prompt")
    refused: InvalidParameterError | None = None
    try:
        payload = build_payload(prompt, **params)
    except InvalidParameterError as error:
        refused = error
    if refused is not None:
        # The error names a real field (or the unknown keyword it refuses) and what is allowed.
        assert refused.field in {"prompt", *PARAMETERS, *params}, refused.field
        assert refused.allowed
        return
    known = isinstance(payload["model"], str) and payload["model"] in MODELS
    extra = params.get("extra_body")
    verdict = contracts[known].check(
        payload, extra=set(extra) if isinstance(extra, dict) else set()
    )
    assert verdict.ok, (payload, verdict)
    assert payload["prompt"] == prompt
    assert set(params) - {"extra_body", "stream"} <= set(PARAMETERS)


def test_the_relaxed_contract_still_checks_types(
    contracts: dict[bool, PayloadContract],
) -> None:
    """The carve-out for unknown models relaxes only the two enums, nothing else."""
    good = {"prompt": "a boat", "model": "flux", "quality": "ultra", "style": "cinematic"}
    assert contracts[False].check(good).ok
    assert not contracts[True].check(good).ok
    for bad in (
        {"n": "2"},
        {"quality": 3},
        {"background": "pink"},
        {"n": 11},
        {"frame_count": "2"},
    ):
        assert not contracts[False].check({**good, **bad}).ok, bad


@pytest.mark.parametrize(
    "params",
    [
        {"model": "dall-e-3", "n": "2"},
        {"model": "dall-e-2", "quality": "hd"},
        {"model": "gpt-image-1", "response_format": "url"},
        {"model": "flux", "output_format": "bmp"},
        {"model": "gpt-image-2", "size": "1000x1000"},
    ],
)
def test_examples_of_refused_parameters_are_refused(params: dict[str, Any]) -> None:
    """The property's refusal branch is exercised by known cases (so it cannot pass vacuously)."""
    with pytest.raises(InvalidParameterError):
        build_payload("a boat", **params)
