"""build_payload: validation of one generation's parameters and the JSON body it produces."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comet_widgets import MODELS, InvalidParameterError, build_payload
from comet_widgets._catalog import PARAMETERS

GPT_MODELS = ["gpt-image-1", "gpt-image-1-mini", "gpt-image-1.5", "gpt-image-2"]
DALLE_AND_QWEN = ["dall-e-2", "dall-e-3", "qwen-image"]


def refused(field: str, **params: Any) -> InvalidParameterError:
    prompt = params.pop("prompt", "a paper boat")
    with pytest.raises(InvalidParameterError) as info:
        build_payload(prompt, **params)
    assert info.value.field == field, str(info.value)
    return info.value


def test_defaults_give_a_current_model() -> None:
    """gpt-image-2 by default: CometAPI's Create-images page starts with it (dall-e-3, the
    seed page's example, was retired on 2026-05-12)."""
    assert build_payload("a paper boat") == {
        "model": "gpt-image-2",
        "prompt": "a paper boat",
        "n": 1,
        "size": "1024x1024",
    }


def test_a_full_dalle_3_request() -> None:
    payload = build_payload(
        "a boat",
        model="dall-e-3",
        size="1792x1024",
        response_format="b64_json",
        quality="hd",
        style="natural",
        user="user-1",
    )
    assert payload == {
        "model": "dall-e-3",
        "prompt": "a boat",
        "n": 1,
        "size": "1792x1024",
        "response_format": "b64_json",
        "quality": "hd",
        "style": "natural",
        "user": "user-1",
    }


def test_a_full_gpt_image_request() -> None:
    payload = build_payload(
        "a boat",
        model="gpt-image-1",
        n=3,
        size="1536x1024",
        quality="high",
        background="transparent",
        output_format="webp",
        output_compression=80,
        moderation="low",
    )
    assert payload == {
        "model": "gpt-image-1",
        "prompt": "a boat",
        "n": 3,
        "size": "1536x1024",
        "quality": "high",
        "background": "transparent",
        "output_format": "webp",
        "output_compression": 80,
        "moderation": "low",
    }


def test_none_means_not_given() -> None:
    payload = build_payload(
        "a boat",
        model="gpt-image-1",
        quality=None,
        background=None,
        output_format=None,
        output_compression=None,
        moderation=None,
        user=None,
        stream=None,
        extra_body=None,
    )
    assert set(payload) == {"model", "prompt", "n", "size"}
    assert None not in payload.values()


def test_the_caller_s_prompt_is_sent_unchanged() -> None:
    prompt = "  Ein Papierboot 🛶 — auf ruhigem Wasser\n"
    assert build_payload(prompt)["prompt"] == prompt


# -- response_format ---------------------------------------------------------------------------


@pytest.mark.parametrize("model", GPT_MODELS)
@pytest.mark.parametrize("value", ["url", "b64_json"])
def test_response_format_is_never_sent_to_gpt_models(model: str, value: str) -> None:
    error = refused("response_format", model=model, response_format=value)
    assert "base64" in str(error)
    assert model in str(error)
    assert "response_format" not in build_payload("a boat", model=model)


@pytest.mark.parametrize("model", DALLE_AND_QWEN)
def test_response_format_for_dalle_and_qwen(model: str) -> None:
    for value in ("url", "b64_json"):
        assert build_payload("a", model=model, response_format=value)["response_format"] == value
    error = refused("response_format", model=model, response_format="png")
    assert "url, b64_json" in str(error)


# -- n -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["dall-e-3", "qwen-image"])
def test_single_image_models_refuse_n_above_1(model: str) -> None:
    assert build_payload("a", model=model, n=1)["n"] == 1
    error = refused("n", model=model, n=2)
    assert f"{model} accepts only n=1" in str(error)


@pytest.mark.parametrize("model", ["dall-e-2", *GPT_MODELS, "some-new-model"])
def test_n_from_1_to_10(model: str) -> None:
    assert build_payload("a", model=model, n=10)["n"] == 10
    assert "1 to 10" in str(refused("n", model=model, n=11))
    refused("n", model=model, n=0)
    refused("n", model=model, n=-1)


@pytest.mark.parametrize("value", [True, 1.0, "2", 2.5])
def test_n_must_be_an_int(value: object) -> None:
    error = refused("n", model="dall-e-2", n=value)
    assert "n must be int" in str(error)


# -- quality and style -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "good", "bad"),
    [
        ("dall-e-2", ["standard"], ["hd", "high", "auto"]),
        ("dall-e-3", ["standard", "hd"], ["low", "high", "auto"]),
        ("gpt-image-1", ["low", "medium", "high", "auto"], ["standard", "hd"]),
        ("gpt-image-2", ["low", "medium", "high", "auto"], ["hd", "ultra"]),
        ("qwen-image", [], ["standard", "high"]),
    ],
)
def test_quality_per_model(model: str, good: list[str], bad: list[str]) -> None:
    for value in good:
        assert build_payload("a", model=model, quality=value)["quality"] == value
    for value in bad:
        error = refused("quality", model=model, quality=value)
        assert model in str(error)


def test_style_is_dalle_3_only() -> None:
    for value in ("vivid", "natural"):
        assert build_payload("a", model="dall-e-3", style=value)["style"] == value
    refused("style", model="dall-e-3", style="anime")
    for model in ("dall-e-2", "gpt-image-1", "qwen-image"):
        error = refused("style", model=model, style="vivid")
        assert f"style is not supported by {model}" in str(error)
        assert "leave style unset" in str(error)


# -- GPT image options -------------------------------------------------------------------------


@pytest.mark.parametrize("model", DALLE_AND_QWEN)
@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("background", "opaque"),
        ("output_format", "png"),
        ("moderation", "low"),
        ("output_compression", 50),
    ],
)
def test_gpt_options_are_refused_for_other_models(model: str, option: str, value: Any) -> None:
    error = refused(option, model=model, **{option: value})
    assert f"{option} is not supported by {model}" in str(error)


@pytest.mark.parametrize(
    ("option", "good", "bad"),
    [
        ("background", ["transparent", "opaque", "auto"], ["white", ""]),
        ("output_format", ["png", "jpeg", "webp", "gif", "svg"], ["jpg", "bmp", "PNG"]),
        ("complexity", ["low", "medium", "high"], ["max", "auto"]),
        ("moderation", ["low", "auto"], ["high", "none"]),
    ],
)
def test_gpt_option_values(option: str, good: list[str], bad: list[str]) -> None:
    for value in good:
        assert build_payload("a", model="gpt-image-1", **{option: value})[option] == value
    for value in bad:
        error = refused(option, model="gpt-image-1", **{option: value})
        assert "choose one of" in str(error)


def test_output_compression_range_and_type() -> None:
    for value in (0, 55, 100):
        payload = build_payload(
            "a", model="gpt-image-2", output_format="jpeg", output_compression=value
        )
        assert payload["output_compression"] == value
    for value in (-1, 101):
        assert "out of range" in str(
            refused(
                "output_compression",
                model="gpt-image-2",
                output_format="webp",
                **{"output_compression": value},
            )
        )
    for value in (50.0, "50", True):
        refused("output_compression", model="gpt-image-2", output_compression=value)


@pytest.mark.parametrize("fmt", [None, "png", "gif", "svg"])
def test_output_compression_is_for_jpeg_and_webp_only(fmt: str | None) -> None:
    """The SDK documents output_compression for webp and jpeg only (png is the default)."""
    error = refused(
        "output_compression", model="gpt-image-2", output_format=fmt, output_compression=80
    )
    assert "jpeg and webp only" in str(error)
    assert "output_format 'jpeg' or 'webp'" in error.allowed
    for ok in ("jpeg", "webp"):
        build_payload("a", model="gpt-image-2", output_format=ok, output_compression=80)


def test_a_transparent_background_cannot_be_jpeg() -> None:
    error = refused(
        "background", model="gpt-image-1", background="transparent", output_format="jpeg"
    )
    assert "png" in str(error)
    assert "webp" in str(error)
    for fmt in ("png", "webp"):
        build_payload("a", model="gpt-image-1", background="transparent", output_format=fmt)
    build_payload("a", model="gpt-image-1", background="opaque", output_format="jpeg")


def test_partial_images_turn_streaming_on_and_zero_or_false_sends_nothing() -> None:
    body = build_payload("a", model="gpt-image-2", partial_images=2)
    assert body["stream"] is True
    assert body["partial_images"] == 2
    for quiet in ({"partial_images": 0}, {"stream": False}, {}):
        body = build_payload("a", model="gpt-image-2", **quiet)
        assert "stream" not in body
        assert "partial_images" not in body
    # 0 is "no partials" for every model, so a panel's 0 never refuses dall-e.
    assert "stream" not in build_payload("a", model="dall-e-3", partial_images=0)
    # stream=True alone: a stream with only the final image.
    assert build_payload("a", model="gpt-image-2", stream=True)["stream"] is True
    # Unknown models pass through.
    assert build_payload("a", model="my-gateway-model", partial_images=1)["partial_images"] == 1


def test_partial_images_are_refused_for_formats_that_cannot_stream() -> None:
    # The catalogue may or may not accept gif/svg itself; with streaming they are refused.
    for fmt in ("gif", "svg"):
        with pytest.raises(InvalidParameterError) as info:
            build_payload("a", model="gpt-image-2", output_format=fmt, partial_images=2)
        assert info.value.field in ("partial_images", "output_format")
        assert fmt in str(info.value)


# -- prompt, model, user -----------------------------------------------------------------------


@pytest.mark.parametrize("model", sorted(MODELS))
def test_prompt_length_limit_per_model(model: str) -> None:
    limit = MODELS[model].max_prompt
    assert len(build_payload("x" * limit, model=model)["prompt"]) == limit
    error = refused("prompt", model=model, prompt="x" * (limit + 1))
    assert f"at most {limit} characters" in str(error)
    assert str(limit + 1) in str(error)


def test_unknown_models_have_no_prompt_limit() -> None:
    assert len(build_payload("x" * 40_000, model="flux-pro")["prompt"]) == 40_000


@pytest.mark.parametrize("prompt", ["", "   ", "\n\t"])
def test_empty_prompt_is_refused(prompt: str) -> None:
    assert "prompt is empty" in str(refused("prompt", prompt=prompt))


@pytest.mark.parametrize("prompt", [None, 42, b"a boat", ["a boat"]])
def test_prompt_must_be_a_string(prompt: object) -> None:
    assert "prompt must be str" in str(refused("prompt", prompt=prompt))


@pytest.mark.parametrize("model", ["", "  ", None, 3])
def test_model_must_be_a_non_empty_string(model: object) -> None:
    refused("model", model=model)


def test_user_must_be_a_string() -> None:
    assert build_payload("a", user="u-1")["user"] == "u-1"
    refused("user", user=123)


# -- unknown models pass through ---------------------------------------------------------------


def test_unknown_models_pass_through_with_type_checks_only() -> None:
    payload = build_payload(
        "a boat",
        model="flux-pro-1.1",
        size="1280x720",
        quality="ultra",
        style="cinematic",
        background="opaque",
        output_format="webp",
        output_compression=10,
        moderation="auto",
        response_format="url",
    )
    assert payload["model"] == "flux-pro-1.1"
    assert payload["size"] == "1280x720"
    assert payload["quality"] == "ultra"
    assert payload["style"] == "cinematic"
    refused("quality", model="flux-pro-1.1", quality=3)
    refused("size", model="flux-pro-1.1", size="large")
    refused("response_format", model="flux-pro-1.1", response_format="png")
    refused("output_format", model="flux-pro-1.1", output_format="bmp")


# -- unknown keywords and extra_body -----------------------------------------------------------


@pytest.mark.parametrize(
    ("typo", "meant"),
    [
        ("sise", "size"),
        ("qualty", "quality"),
        ("responseformat", "response_format"),
        ("output_compresion", "output_compression"),
        ("extra_bdy", "extra_body"),
    ],
)
def test_unknown_keywords_are_refused_with_a_did_you_mean(typo: str, meant: str) -> None:
    error = refused(typo, **{typo: "x"})
    message = str(error)
    assert f"unknown parameter {typo!r}" in message
    assert f"did you mean {meant!r}?" in message
    assert "pass provider-specific fields as extra_body={...}" in message


def test_an_unrelated_unknown_keyword_gets_no_guess() -> None:
    message = str(refused("seed", seed=42))
    assert "did you mean" not in message
    assert "extra_body" in message


def test_extra_body_is_merged_into_the_payload() -> None:
    payload = build_payload(
        "a boat", model="qwen-image", extra_body={"seed": 7, "negative_prompt": "fog"}
    )
    assert payload["seed"] == 7
    assert payload["negative_prompt"] == "fog"
    assert payload["model"] == "qwen-image"


@pytest.mark.parametrize("value", [["seed", 7], "seed=7", 7])
def test_extra_body_must_be_a_mapping(value: object) -> None:
    refused("extra_body", extra_body=value)


@pytest.mark.parametrize(
    "override",
    [{"model": "gpt-image-1"}, {"prompt": "other"}, {"response_format": "url"}, {"n": 5}],
)
def test_extra_body_cannot_override_validated_fields(override: dict[str, object]) -> None:
    error = refused("extra_body", model="gpt-image-1", extra_body={"seed": 1, **override})
    (field,) = override
    assert f"must not override {field}" in str(error)


def test_parameter_list_has_no_duplicates() -> None:
    assert len(PARAMETERS) == len(set(PARAMETERS))


# -- properties --------------------------------------------------------------------------------


def _valid_params(model: str) -> st.SearchStrategy[dict[str, Any]]:
    spec = MODELS[model]
    fields: dict[str, st.SearchStrategy[Any]] = {
        "n": st.integers(1, spec.max_n),
        "size": st.sampled_from(spec.sizes),
    }
    if spec.response_formats:
        fields["response_format"] = st.sampled_from(spec.response_formats)
    if spec.qualities:
        fields["quality"] = st.sampled_from(spec.qualities)
    if spec.styles:
        fields["style"] = st.sampled_from(spec.styles)
    if spec.accepts("background"):
        fields["background"] = st.sampled_from(["opaque", "auto"])
        fields["output_format"] = st.sampled_from(["jpeg", "webp"])
        fields["output_compression"] = st.integers(0, 100)
        fields["moderation"] = st.sampled_from(["low", "auto"])
    return st.fixed_dictionaries({}, optional=fields).map(_with_compressible_format)


def _with_compressible_format(params: dict[str, Any]) -> dict[str, Any]:
    """output_compression comes with jpeg or webp (the SDK documents it for those only)."""
    if "output_compression" in params and "output_format" not in params:
        return {**params, "output_format": "webp"}
    return params


@given(
    data=st.data(),
    model=st.sampled_from(sorted(MODELS)),
    prompt=st.text(min_size=1, max_size=200).filter(str.strip),
)
def test_valid_parameters_give_a_payload_that_echoes_them(
    data: st.DataObject, model: str, prompt: str
) -> None:
    params = data.draw(_valid_params(model))
    payload = build_payload(prompt, model=model, **params)
    assert payload["model"] == model
    assert payload["prompt"] == prompt
    for key, value in params.items():
        assert payload[key] == value
    assert set(payload) <= {"model", "prompt", *PARAMETERS}
    assert None not in payload.values()
    assert 1 <= payload["n"] <= MODELS[model].max_n


def test_the_error_is_a_value_error_naming_field_value_and_allowed() -> None:
    error = refused("quality", model="dall-e-3", quality="ultra")
    assert isinstance(error, ValueError)
    assert error.value == "ultra"
    assert error.allowed == "choose one of standard, hd"
    assert str(error) == (
        "quality 'ultra' is not supported by dall-e-3; choose one of standard, hd"
    )
