"""Costs (``_cost.py``): the price table, the estimate before sending, ``usage`` priced after,
``Cost`` arithmetic and text, and every bad input refused or tolerated as documented."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest

import comet_widgets
from comet_widgets import (
    MODELS,
    PRICES,
    Cost,
    Generation,
    InvalidParameterError,
    Price,
    build_payload,
    estimate_cost,
)
from comet_widgets._catalog import OUTPUT_TOKENS, PARTIAL_IMAGE_TOKENS
from comet_widgets._cost import check_prices, image_tokens, input_image_tokens

#: CometAPI's published gpt-image-2 prices (USD per 1M tokens, 2026-12-06): the test states them
#: itself, so a changed table fails here until its source is checked.
COMET_INPUT, COMET_OUTPUT = 4.0, 24.0


def tokens_usd(text: int, image: int, output: int) -> float:
    return (text * COMET_INPUT + image * COMET_INPUT + output * COMET_OUTPUT) / 1_000_000


def test_the_price_table_has_sources_dates_and_only_catalogue_models() -> None:
    assert set(PRICES) <= set(MODELS)
    for model, price in PRICES.items():
        assert price.source, model
        assert price.as_of == "2026-12-06", model
    comet = PRICES["gpt-image-2"]
    assert (comet.unit, comet.text_input, comet.image_input, comet.image_output) == (
        "token",
        COMET_INPUT,
        COMET_INPUT,
        COMET_OUTPUT,
    )
    assert "cometapi.com/models/openai/gpt-image-2/" in comet.source
    upper = PRICES["gpt-image-2.5-sunburst"]
    assert (upper.text_input, upper.image_input, upper.image_output) == (5.0, 8.0, 30.0)
    assert "upper bound" in upper.source
    # No price is known for these: they are absent, not zero.
    for model in ("dall-e-3", "qwen-image", "gpt-image-1.5"):
        assert model not in PRICES
    check_prices(PRICES)


def test_the_price_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        PRICES["gpt-image-2"] = PRICES["gpt-image-2.5-flare"]  # type: ignore[index]


@pytest.mark.parametrize(
    ("quality", "size", "per_image"),
    [
        ("low", "1024x1024", 272),
        ("medium", "1024x1024", 1056),
        ("high", "1024x1024", 4160),
        ("low", "1536x1024", 408),
        ("medium", "1024x1536", 1584),
        ("high", "1536x1024", 6240),
        # auto and unset quality count as high; auto size as 1536x1024 (a budget guard errs high)
        ("auto", "1024x1024", 4160),
        (None, "1024x1024", 4160),
        ("low", "auto", 408),
        # free sizes scale by pixel area
        ("low", "2048x2048", 1088),
        ("medium", "3840x2160", 8353),
    ],
)
def test_estimates_from_the_output_token_table(
    quality: str | None, size: str, per_image: int
) -> None:
    prompt = "a paper boat on a pond"  # 22 bytes: 6 text tokens
    cost = estimate_cost(prompt=prompt, quality=quality, size=size)  # type: ignore[arg-type]
    assert cost.basis == "estimate"
    assert cost.tokens == {"text_input": 6, "image_input": 0, "image_output": per_image}
    assert cost.usd == pytest.approx(tokens_usd(6, 0, per_image), abs=1e-12)
    assert sum(cost.breakdown.values()) == pytest.approx(cost.usd, abs=1e-12)


def test_n_partials_gif_frames_and_edit_inputs_add_up() -> None:
    cost = estimate_cost(prompt="x", quality="low", size="1024x1024", n=3, partial_images=2)
    assert cost.tokens["image_output"] == 3 * (272 + 2 * 100)
    gif = estimate_cost(prompt="x", quality="low", output_format="gif", frame_count=4)
    assert gif.tokens["image_output"] == 4 * 272
    edit = estimate_cost(prompt="x", quality="low", image=["a.png", "b.png"], mask="m.png")
    # each input at the most any image costs (1,445 tokens); no size: 1536x1024
    assert edit.tokens == {"text_input": 1, "image_input": 2 * 1445, "image_output": 408}
    assert edit.breakdown["image_input"] == pytest.approx(2 * 1445 * COMET_INPUT / 1e6)
    one = estimate_cost(prompt="x", quality="low", size="1024x1024", image="a.png")
    assert one.tokens["image_input"] == 1445
    assert one.tokens["image_output"] == 272


def test_the_prompt_counts_one_token_per_four_bytes() -> None:
    assert estimate_cost(prompt="").tokens["text_input"] == 1
    assert estimate_cost(prompt=" \n ").tokens["text_input"] == 1  # blank: no error
    assert estimate_cost(prompt="abcd" * 100).tokens["text_input"] == 100
    assert estimate_cost(prompt="abcde").tokens["text_input"] == 2
    assert estimate_cost(prompt="紙の舟").tokens["text_input"] == 3  # 9 bytes of UTF-8


def test_prices_override_an_estimate() -> None:
    mine = Price(unit="token", text_input=0, image_input=0, image_output=1_000_000)
    cost = estimate_cost(quality="low", size="1024x1024", prices={"gpt-image-2": mine})
    assert cost.usd == 272
    per_image = Price(unit="image", per_image=0.04, source="my invoice", as_of="2026-12-01")
    qwen = estimate_cost(model="qwen-image", prices={"qwen-image": per_image})
    assert (qwen.usd, qwen.basis, dict(qwen.breakdown)) == (0.04, "estimate", {"images": 0.04})


@pytest.mark.parametrize("model", ["flux-pro", "qwen-image", "dall-e-3", "gpt-image-1.5"])
def test_a_model_without_a_price_is_unpriced_not_an_error(model: str) -> None:
    cost = estimate_cost(prompt="a boat", model=model)
    assert cost.usd is None
    assert cost.basis == "unpriced"
    assert str(cost) == "unpriced"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"n": "2"}, "n"),
        ({"n": 2.0}, "n"),
        ({"n": True}, "n"),
        ({"n": 11}, "n"),
        ({"prompt": 5}, "prompt"),
        ({"prompt": 0}, "prompt"),
        ({"prompt": None}, "prompt"),
        ({"prompt": "x" * 32001}, "prompt"),
        ({"size": "big"}, "size"),
        ({"quality": "ultra"}, "quality"),
        ({"partial_images": 4}, "partial_images"),
        ({"partial_images": "2"}, "partial_images"),
        ({"model": "GPT-IMAGE-2"}, "model"),
        ({"qualty": "low"}, "qualty"),
        ({"image": []}, "image"),
        ({"prices": {"gpt-image-2": "4"}}, "prices['gpt-image-2']"),
    ],
)
def test_invalid_values_are_refused_like_build_payload(params: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        estimate_cost(**params)
    assert info.value.field == field
    assert field in str(info.value)


def test_costs_add_up_to_their_weakest_basis() -> None:
    usage = Cost(0.25, "usage", {"image_output": 0.25}, {"image_output": 10})
    estimate = Cost(0.5, "estimate", {"image_output": 0.5}, {"image_output": 20})
    unpriced = Cost(None, "unpriced")
    assert usage + usage == Cost(0.5, "usage", {"image_output": 0.5}, {"image_output": 20})
    both = usage + estimate
    assert (both.usd, both.basis, both.tokens["image_output"]) == (0.75, "estimate", 30)
    assert sum([usage, estimate]) == both
    # any unpriced part: the total is unknown, not the known part's sum
    for total in (usage + unpriced, unpriced + estimate, sum([usage, unpriced, estimate])):
        assert isinstance(total, Cost)
        assert (total.usd, total.basis) == (None, "unpriced")
    assert (usage + unpriced).breakdown == {"image_output": 0.25}


@pytest.mark.parametrize(
    ("cost", "text"),
    [
        (Cost(0.0052, "usage"), "$0.0052"),
        (Cost(12.3456, "usage"), "$12.35"),
        (Cost(0.05, "estimate"), "about $0.05"),
        (Cost(0.0998, "estimate"), "about $0.10"),
        (Cost(0.006528, "estimate"), "about $0.0065"),
        (Cost(3.456, "estimate"), "about $3.50"),
        (Cost(1234.0, "estimate"), "about $1,200"),
        (Cost(0.3, "estimate", upper_bound=True), "up to $0.30"),
        (Cost(None, "unpriced"), "unpriced"),
    ],
)
def test_costs_read_briefly(cost: Cost, text: str) -> None:
    assert str(cost) == text


@pytest.mark.parametrize(
    ("params", "upper"),
    [
        ({}, True),  # quality unset: counted as high, the fake bills less
        ({"quality": "auto", "size": "1024x1024"}, True),
        ({"quality": "low", "size": "auto"}, True),  # size auto: counted as 1536x1024
        ({"quality": "low", "size": "1024x1024", "image": b"x"}, True),  # an edit's inputs
        ({"quality": "high", "size": "1024x1024"}, False),
    ],
)
def test_an_estimate_that_assumed_the_dearer_case_says_up_to(
    params: dict[str, Any], upper: bool
) -> None:
    cost = estimate_cost(prompt="a paper boat", **params)
    assert cost.upper_bound is upper
    assert str(cost).startswith("up to $" if upper else "about $")
    exact = estimate_cost(prompt="a paper boat", quality="low", size="1024x1024")
    assert (cost + exact).upper_bound is upper
    assert (cost + exact).as_dict().get("upper_bound", False) is upper
    assert Cost(**(cost + exact).as_dict()) == cost + exact


def generation(usage: object, **params: Any) -> Generation:
    payload = build_payload("a paper boat on a pond", quality="low", size="1024x1024", **params)
    return Generation(
        prompt=payload["prompt"],
        model=payload["model"],
        created=1,
        images=[],
        params=payload,
        usage=usage,  # type: ignore[arg-type]
    )


def test_usage_is_priced_by_token_kind() -> None:
    usage = {
        "input_tokens": 1500,
        "output_tokens": 4160,
        "total_tokens": 5660,
        "input_tokens_details": {"text_tokens": 55, "image_tokens": 1445},
    }
    cost = generation(usage).cost
    assert cost.basis == "usage"
    assert cost.tokens == {"text_input": 55, "image_input": 1445, "image_output": 4160}
    assert cost.usd is not None
    assert abs(cost.usd - tokens_usd(55, 1445, 4160)) < 1e-9
    # without details every input token is text
    plain = generation({"input_tokens": 20, "output_tokens": 208}).cost
    assert plain.tokens == {"text_input": 20, "image_input": 0, "image_output": 208}
    assert str(plain) == "$0.0051"


@pytest.mark.parametrize(
    "usage",
    [
        None,
        {},
        "lots",
        {"input_tokens": 20},
        {"output_tokens": 208},
        {"input_tokens": -1, "output_tokens": 208},
        {"input_tokens": 20, "output_tokens": "208"},
        {"input_tokens": 20, "output_tokens": math.nan},
        {"input_tokens": 20, "output_tokens": math.inf},
        {"input_tokens": 20, "output_tokens": 10**30},
        {"input_tokens": 20, "output_tokens": 208.5},
        {"input_tokens": True, "output_tokens": 208},
        {"input_tokens": 20, "output_tokens": 208, "input_tokens_details": "x"},
        {"input_tokens": 20, "output_tokens": 208, "input_tokens_details": {"image_tokens": 21}},
        {"input_tokens": 20, "output_tokens": 208, "input_tokens_details": {"image_tokens": -1}},
    ],
    ids=repr,
)
def test_a_missing_or_absurd_usage_gives_the_estimate(usage: object) -> None:
    cost = generation(usage).cost
    assert cost.basis == "estimate"
    assert cost == estimate_cost(prompt="a paper boat on a pond", quality="low", size="1024x1024")
    assert str(cost).startswith("about $")


def test_a_cost_never_raises_on_odd_recorded_params() -> None:
    """A Generation rebuilt from an edited manifest may hold anything: its images are kept."""
    gen = generation(None)
    gen.params = {"n": "2", "size": 7, "quality": ["x"], "partial_images": True, "image": "a"}
    cost = gen.cost
    assert cost.basis == "estimate"
    assert cost.tokens["image_output"] == image_tokens("high", 1536, 1024)
    assert cost.tokens["image_input"] == 1445


def test_a_generation_of_an_unpriced_model_is_unpriced() -> None:
    gen = generation({"input_tokens": 20, "output_tokens": 208}, model="flux-pro")
    assert (gen.cost.usd, gen.cost.basis) == (None, "unpriced")


@pytest.mark.parametrize(
    ("price", "field", "shown"),
    [
        (Price(unit="token", text_input=4, image_input=4, image_output=-1), "image_output", "-1"),
        (
            Price(unit="token", text_input=math.nan, image_input=4, image_output=24),
            "text_input",
            "nan",
        ),
        (Price(unit="token", text_input=4, image_input="4", image_output=24), "image_input", "'4'"),  # type: ignore[arg-type]
        (
            Price(unit="token", text_input=4, image_input=4, image_output=True),
            "image_output",
            "True",
        ),
        (Price(unit="token", text_input=4, image_input=4), "image_output", "None"),
        (Price(unit="image", per_image=math.inf), "per_image", "inf"),
        (Price(unit="image"), "per_image", "None"),
        (Price(unit="pixel", per_image=1), "unit", "'pixel'"),  # type: ignore[arg-type]
        (Price(unit=["token"], per_image=1), "unit", "['token']"),  # type: ignore[arg-type]
    ],
)
def test_a_bad_price_names_the_model_and_the_field(price: Price, field: str, shown: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        check_prices({"my-model": price})
    assert info.value.field == f"prices['my-model'].{field}"
    assert f"prices['my-model'].{field}" in str(info.value)
    assert shown in str(info.value)


@pytest.mark.parametrize(
    "prices", [["gpt-image-2"], {"gpt-image-2": 4.0}, {3: PRICES["gpt-image-2"]}]
)
def test_a_price_table_of_the_wrong_shape_is_refused(prices: object) -> None:
    with pytest.raises(InvalidParameterError, match="prices"):
        check_prices(prices)


def test_cost_price_and_estimate_cost_are_public() -> None:
    for name in ("Cost", "Price", "PRICES", "estimate_cost"):
        assert name in comet_widgets.__all__


COSTS_PAGE = (Path(__file__).parents[2] / "docs" / "costs.md").read_text(encoding="utf-8")


def costs_page() -> str:
    """The docs' "Costs and prices" page (docs/costs.md)."""
    return COSTS_PAGE.split("# Costs and prices\n", 1)[1]


def test_the_docs_estimates_are_what_estimate_cost_says() -> None:
    found = r"^(estimate_cost\(.*\))  # ((?:about|up to) \$[0-9.,]+)"
    calls = re.findall(found, costs_page(), re.M)
    assert len(calls) == 3
    for call, figure in calls:
        assert str(eval(call, {"estimate_cost": estimate_cost})) == figure, call


def test_the_docs_price_table_and_figures_are_the_catalogues() -> None:
    text = costs_page()
    rows = {
        cells[0]: cells[1:4]
        for line in text.splitlines()
        if line.startswith("| gpt-image")
        for cells in [[cell.strip() for cell in line.strip("|").split("|")]]
    }
    assert rows["gpt-image-2"] == ["$4", "$4", "$24"]
    others = rows["gpt-image-2-2026-04-21, gpt-image-2.5-*, gpt-image-2.6-*"]
    for model, price in PRICES.items():
        shown = rows["gpt-image-2"] if model == "gpt-image-2" else others
        assert shown == [
            f"${price.text_input:g}",
            f"${price.image_input:g}",
            f"${price.image_output:g}",
        ], model
        assert f"as of {price.as_of}" in text
    assert "OpenAI's list price" in PRICES["gpt-image-2.5-flare"].source
    low, medium, high = (OUTPUT_TOKENS[q] for q in ("low", "medium", "high"))
    assert f"({low} low, {medium} medium, {high} high at 1024x1024" in text
    assert f"each partial preview adds {PARTIAL_IMAGE_TOKENS} output tokens" in text
    assert f"counts {input_image_tokens(768, 2048)} image input tokens" in text
    assert estimate_cost(size="auto").tokens["image_output"] == image_tokens("high", 1536, 1024)
    assert "size\n  `auto` (or an edit's unset size) as 1536x1024" in text
