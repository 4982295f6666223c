"""The model catalogue: one table of what each model accepts, and the size rules it enforces."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from comet_widgets import MODELS, InvalidParameterError, ModelSpec, get_model
from comet_widgets._catalog import GPT_OPTIONS, PARAMETERS, build_payload, validate_size

GPT_MODELS = [
    "gpt-image-2",
    "gpt-image-2-2026-04-21",
    "gpt-image-2.5-sunburst",
    "gpt-image-2.5-sunburst-2026-09-08",
    "gpt-image-2.5-flare",
    "gpt-image-2.5-flare-2026-09-08",
    "gpt-image-2.6-sunburst",
    "gpt-image-2.6-flare",
    "chatgpt-image-latest",
    "gpt-image-1.5",
    "gpt-image-1-mini",
    "gpt-image-1",
]
FREE_SIZE = [m for m in GPT_MODELS if m.startswith(("gpt-image-2-", "gpt-image-2.5"))]
FREE_SIZE.append("gpt-image-2")


def test_catalogue_holds_the_documented_models() -> None:
    assert set(MODELS) == {"dall-e-2", "dall-e-3", "qwen-image", *GPT_MODELS}
    for name, spec in MODELS.items():
        assert spec.name == name
        assert isinstance(spec, ModelSpec)
        assert spec.source, name  # every entry says where its facts come from
        assert spec.lifecycle_source, name


def test_a_deprecated_model_is_shut_down_from_its_announced_date() -> None:
    """The catalogue says what was announced; the status follows the calendar (UTC)."""
    from datetime import date

    spec = MODELS["gpt-image-1.5"]
    assert (spec.announced, spec.shutdown) == ("deprecated", "2026-12-01")
    assert spec.status_on(date(2026, 11, 30)) == "deprecated"
    assert spec.status_on(date(2026, 12, 1)) == "shut down"
    assert MODELS["gpt-image-2"].status_on(date(2030, 1, 1)) == "current"
    assert MODELS["dall-e-3"].status_on(date(2026, 1, 1)) == "shut down"  # announced as such


def test_edit_suggestions_name_only_models_that_still_work() -> None:
    from comet_widgets._catalog import edit_models, edit_rules_for

    suggested = edit_models()
    assert "gpt-image-2" in suggested
    assert not {"dall-e-2", "gpt-image-1"} & set(suggested)
    with pytest.raises(InvalidParameterError) as refused:
        edit_rules_for("dall-e-3")
    assert "use gpt-image-2" in str(refused.value)
    assert "dall-e-2" not in str(refused.value)


@pytest.mark.parametrize(
    ("name", "sizes", "max_n", "max_prompt"),
    [
        ("dall-e-2", {"256x256", "512x512", "1024x1024"}, 10, 1000),
        ("dall-e-3", {"1024x1024", "1792x1024", "1024x1792"}, 1, 4000),
        ("gpt-image-1", {"1024x1024", "1536x1024", "1024x1536", "auto"}, 10, 32000),
        ("gpt-image-2", {"1024x1024", "1536x1024", "1024x1536", "auto"}, 10, 32000),
        ("gpt-image-2.6-flare", {"1024x1024", "1536x1024", "1024x1536", "auto"}, 10, 32000),
        ("qwen-image", {"1024x1024", "1328x1328", "1664x928", "928x1664"}, 1, 4000),
    ],
)
def test_model_rules_match_the_api_facts(
    name: str, sizes: set[str], max_n: int, max_prompt: int
) -> None:
    spec = MODELS[name]
    assert sizes <= set(spec.sizes)
    assert spec.max_n == max_n
    assert spec.max_prompt == max_prompt


def test_only_dalle_and_qwen_take_response_format() -> None:
    for name in GPT_MODELS:
        assert MODELS[name].response_formats == ()
    for name in ("dall-e-2", "dall-e-3", "qwen-image"):
        assert set(MODELS[name].response_formats) == {"url", "b64_json"}


def test_gpt_options_belong_to_gpt_models_only() -> None:
    for name, spec in MODELS.items():
        gpt = spec.family == "gpt-image"
        assert gpt == (name in GPT_MODELS)
        for option in GPT_OPTIONS:
            assert spec.accepts(option) is gpt, (name, option)


def test_only_gpt_image_2_5_takes_xhigh_and_max() -> None:
    """SDK: "gpt-image-2.5-sunburst and gpt-image-2.5-flare, including their 2026-09-08
    snapshots, also support xhigh and max"."""
    extra = {n for n, s in MODELS.items() if {"xhigh", "max"} <= set(s.qualities)}
    assert extra == {m for m in GPT_MODELS if m.startswith("gpt-image-2.5")}
    build_payload("a", model="gpt-image-2.5-flare", quality="max")
    with pytest.raises(InvalidParameterError, match="quality 'xhigh' is not supported"):
        build_payload("a", model="gpt-image-2", quality="xhigh")


def test_prompt_rewrite_and_usage_flags() -> None:
    assert [n for n, s in MODELS.items() if s.revises_prompt] == ["dall-e-3"]
    assert {n for n, s in MODELS.items() if s.returns_usage} == set(GPT_MODELS)
    assert {n for n, s in MODELS.items() if s.free_size} == set(FREE_SIZE)


def test_default_size_is_accepted_by_every_model() -> None:
    for spec in MODELS.values():
        assert spec.default_size == "1024x1024"
        validate_size(spec.default_size, spec)


def test_get_model_returns_none_for_unknown_names() -> None:
    assert get_model("dall-e-3") is MODELS["dall-e-3"]
    assert get_model("flux-pro-1.1") is None
    assert get_model("DALL-E-3") is None  # names are exact: gateways are case-sensitive


def test_every_generate_keyword_is_a_build_payload_parameter() -> None:
    import inspect

    signature = inspect.signature(build_payload).parameters
    for name in PARAMETERS:
        assert name in signature, name


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_listed_size_is_accepted(name: str) -> None:
    spec = MODELS[name]
    for size in spec.sizes:
        validate_size(size, spec)


@pytest.mark.parametrize(
    ("model", "size"),
    [
        ("dall-e-2", "1792x1024"),
        ("dall-e-2", "auto"),
        ("dall-e-3", "512x512"),
        ("dall-e-3", "1536x1024"),
        ("gpt-image-1", "1792x1024"),
        ("gpt-image-1.5", "2048x2048"),
        ("qwen-image", "1536x1024"),
    ],
)
def test_fixed_size_models_refuse_other_sizes(model: str, size: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        validate_size(size, MODELS[model])
    assert info.value.field == "size"
    assert info.value.value == size
    message = str(info.value)
    assert repr(size) in message
    assert model in message
    for allowed in MODELS[model].sizes:
        assert allowed in message


def test_size_error_matches_the_docs_example() -> None:
    with pytest.raises(InvalidParameterError) as info:
        build_payload("a boat", size="800x600")  # the default model, gpt-image-2
    page = (Path(__file__).parents[2] / "docs" / "python-api.md").read_text(encoding="utf-8")
    assert f"InvalidParameterError: {info.value}\n" in page


@pytest.mark.parametrize(
    "size",
    [
        "1536x864",
        "2560x1440",
        "3840x2160",  # the largest
        "2160x3840",
        "1024x3072",  # exactly 3:1
        "3072x1024",
        "816x816",  # 665,856 px, just above the minimum
        "1280x512",
    ],
)
def test_gpt_image_2_takes_free_sizes(size: str) -> None:
    validate_size(size, MODELS["gpt-image-2"])


@pytest.mark.parametrize(
    ("size", "problem"),
    [
        ("1000x1000", "multiples of 16"),
        ("1536x865", "multiples of 16"),
        ("3856x1024", "at most 3840"),
        ("4096x2304", "at most 3840"),
        ("3840x1056", "ratio"),
        ("1024x3088", "ratio"),
        ("512x512", "pixels"),
        ("3840x2176", "pixels"),
        ("1024X1024", "malformed"),
        ("1024x", "malformed"),
        (" 1024x1024", "malformed"),
        ("01024x1024", "malformed"),
        ("-1024x1024", "malformed"),
    ],
)
def test_gpt_image_2_refuses_sizes_outside_its_rule(size: str, problem: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        validate_size(size, MODELS["gpt-image-2"])
    message = str(info.value)
    assert problem in message
    assert "multiples of 16" in message  # the rule is always explained
    assert info.value.field == "size"


def test_free_sizes_are_refused_by_the_other_gpt_models() -> None:
    with pytest.raises(InvalidParameterError):
        validate_size("1536x864", MODELS["gpt-image-1"])


def test_unknown_models_take_any_well_formed_size() -> None:
    validate_size("1234x567", None)
    validate_size("auto", None)
    for bad in ("big", "1024*1024", "1024x1024x3", "", "0x0", "x1024"):
        with pytest.raises(InvalidParameterError, match="malformed"):
            validate_size(bad, None)


@pytest.mark.parametrize("size", [1024, None, (1024, 1024), b"1024x1024"])
def test_size_must_be_a_string(size: object) -> None:
    with pytest.raises(InvalidParameterError, match="size must be str"):
        validate_size(size, MODELS["dall-e-3"])  # type: ignore[arg-type]


def _documented_rule(width: int, height: int) -> bool:
    """gpt-image-2's free-size rule as api-facts.md and the OpenAPI description state it."""
    return (
        width % 16 == 0
        and height % 16 == 0
        and max(width, height) <= 3 * min(width, height)
        and max(width, height) <= 3840
        and 655_360 <= width * height <= 3840 * 2160
    )


@given(
    width=st.integers(min_value=16, max_value=4200),
    height=st.integers(min_value=16, max_value=4200),
)
def test_gpt_image_2_free_size_rule(width: int, height: int) -> None:
    size = f"{width}x{height}"
    spec = MODELS["gpt-image-2"]
    if size in spec.sizes or _documented_rule(width, height):
        validate_size(size, spec)
    else:
        with pytest.raises(InvalidParameterError):
            validate_size(size, spec)


@given(
    width=st.integers(min_value=1, max_value=256).map(lambda k: 16 * k),
    height=st.integers(min_value=1, max_value=256).map(lambda k: 16 * k),
)
def test_gpt_image_2_accepted_sizes_satisfy_the_rule(width: int, height: int) -> None:
    size = f"{width}x{height}"
    try:
        validate_size(size, MODELS["gpt-image-2"])
    except InvalidParameterError:
        assert not _documented_rule(width, height)
    else:
        assert _documented_rule(width, height) or size in MODELS["gpt-image-2"].sizes
