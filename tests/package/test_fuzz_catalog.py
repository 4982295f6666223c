"""Fuzzing the catalogue: any parameters give a schema-valid payload or InvalidParameterError.

Strategies mix valid values with garbage of every type (unknown models, malformed sizes, wrong
types for n, unknown enum values, unknown keywords). The property: ``build_payload`` either
returns a body that validates against OpenAI's ``CreateImageRequest`` schema, or raises
``InvalidParameterError`` naming a field; never any other exception.

One documented carve-out: for a model the catalogue does not know, ``quality`` and ``style`` are
passed through with a type check only (gateways route models with their own values), so for those
models the two enums are relaxed to "any string" before validating. Everything else (types, n in
1..10, the other enums) is still checked against the schema.
"""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from comet_widgets import MODELS, InvalidParameterError, build_payload
from comet_widgets._catalog import PARAMETERS

KNOWN_SIZES = sorted({size for spec in MODELS.values() for size in spec.sizes})
ENUM_VALUES = ["standard", "hd", "low", "medium", "high", "auto", "vivid", "natural"]
ENUM_VALUES += ["transparent", "opaque", "png", "jpeg", "webp", "url", "b64_json", "ultra"]

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
        "output_format": of(("png", "webp") if gpt else ()),
        "moderation": of(("low", "auto") if gpt else ()),
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
def validators(openapi: dict[str, Any]) -> dict[bool, jsonschema.Draft202012Validator]:
    """Validators for known models (the schema as is) and unknown ones (free quality/style)."""
    root = {"components": openapi["components"], "$ref": "#/components/schemas/CreateImageRequest"}
    relaxed = copy.deepcopy(root)
    properties = relaxed["components"]["schemas"]["CreateImageRequest"]["properties"]
    for name in ("quality", "style"):
        del properties[name]["enum"]
    return {
        True: jsonschema.Draft202012Validator(root),
        False: jsonschema.Draft202012Validator(relaxed),
    }


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(params=parameters())
def test_any_parameters_give_a_valid_payload_or_invalid_parameter_error(
    params: dict[str, Any], validators: dict[bool, jsonschema.Draft202012Validator]
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
    errors = [e.message for e in validators[known].iter_errors(payload)]
    assert not errors, (payload, errors)
    assert payload["prompt"] == prompt
    assert set(params) - {"extra_body", "stream"} <= set(PARAMETERS)


def test_the_relaxed_validator_still_checks_types(
    validators: dict[bool, jsonschema.Draft202012Validator],
) -> None:
    """The carve-out for unknown models relaxes only the two enums, nothing else."""
    good = {"prompt": "a boat", "model": "flux", "quality": "ultra", "style": "cinematic"}
    assert validators[False].is_valid(good)
    assert not validators[True].is_valid(good)
    for bad in ({"n": "2"}, {"quality": 3}, {"background": "pink"}, {"n": 11}):
        assert not validators[False].is_valid({**good, **bad}), bad


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
