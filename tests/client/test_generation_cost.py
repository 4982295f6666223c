"""``Generation.cost`` against the loopback fake: its ``usage`` times the published token prices
to the cent, for generations, streams and edits; ``AsyncImageClient(prices=...)`` overrides."""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from comet_widgets import (
    PRICES,
    AsyncImageClient,
    Generation,
    InvalidParameterError,
    Price,
    estimate_cost,
)
from comet_widgets.testing import FAKE_API_KEY, FakeAPI, FakeServer

#: CometAPI's published gpt-image-2 prices, USD per 1M tokens (2026-12-06).
INPUT, OUTPUT = 4.0, 24.0


def published(usage: dict[str, Any]) -> float:
    """The usage the fake sent, times the published prices (input is one price on CometAPI)."""
    return (usage["input_tokens"] * INPUT + usage["output_tokens"] * OUTPUT) / 1_000_000


def assert_priced(gen: Generation) -> None:
    assert gen.usage is not None
    cost = gen.cost
    assert cost.basis == "usage"
    assert cost.usd is not None
    assert abs(cost.usd - published(gen.usage)) < 1e-9
    assert round(cost.usd, 2) == round(published(gen.usage), 2)
    details = gen.usage["input_tokens_details"]
    assert cost.tokens == {
        "text_input": details["text_tokens"],
        "image_input": details["image_tokens"],
        "image_output": gen.usage["output_tokens"],
    }


@pytest.mark.parametrize(
    ("quality", "size", "n"),
    [
        ("low", "1024x1024", 1),
        ("medium", "1536x1024", 2),
        ("high", "1024x1536", 3),
        (None, None, 1),
    ],
)
async def test_the_cost_of_an_answer_is_its_usage_times_the_published_prices(
    client: AsyncImageClient, quality: str | None, size: str | None, n: int
) -> None:
    gen = await client.generate("a paper boat on a pond", quality=quality, size=size, n=n)  # type: ignore[arg-type]
    assert_priced(gen)
    assert gen.usage is not None
    assert gen.usage["output_tokens"] > 0


async def test_the_estimate_of_an_explicit_request_is_what_the_fake_bills(
    client: AsyncImageClient,
) -> None:
    """Both count tokens with the same table: an exact quality and size estimate exactly."""
    params: dict[str, Any] = {"quality": "medium", "size": "1536x1024", "n": 2}
    gen = await client.generate("a paper boat", **params)
    assert gen.cost.usd == estimate_cost(prompt="a paper boat", **params).usd
    # auto quality is estimated as high, and the fake makes medium: the guard errs high
    auto = await client.generate("a paper boat")
    estimate = estimate_cost(prompt="a paper boat").usd
    assert auto.cost.usd is not None
    assert estimate is not None
    assert auto.cost.usd < estimate


async def test_a_streamed_answer_costs_its_previews_too(client: AsyncImageClient) -> None:
    gen = await client.generate("a paper boat", quality="low", partial_images=2)
    assert_priced(gen)
    plain = await client.generate("a paper boat", quality="low")
    assert gen.cost.tokens["image_output"] == plain.cost.tokens["image_output"] + 200
    assert gen.cost.usd == pytest.approx(
        estimate_cost(prompt="a paper boat", quality="low", size="1024x1024", partial_images=2).usd
    )


def png(side: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (side, side), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


async def test_an_edit_costs_its_input_images(client: AsyncImageClient) -> None:
    gen = await client.edit("make it blue", image=[png(64), png(1024)], quality="low")
    assert_priced(gen)
    # OpenAI's tile rule: a small image is one tile (255 tokens), 1024x1024 four (765)
    assert gen.cost.tokens["image_input"] == 255 + 765
    assert gen.cost.breakdown["image_input"] == pytest.approx(1020 * INPUT / 1e6)
    estimate = estimate_cost(prompt="make it blue", quality="low", image=["a", "b"])
    assert estimate.usd is not None
    assert gen.cost.usd is not None
    assert gen.cost.usd <= estimate.usd  # the estimate counts each input at its most


async def test_a_model_without_a_price_is_unpriced(client: AsyncImageClient) -> None:
    gen = await client.generate("a paper boat", model="dall-e-2", size="256x256")
    assert gen.ok
    assert (gen.cost.usd, gen.cost.basis, str(gen.cost)) == (None, "unpriced", "unpriced")


async def test_prices_override_and_extend_the_table(fake_server: FakeServer) -> None:
    mine = {
        "gpt-image-2": Price(unit="token", text_input=5, image_input=8, image_output=30),
        "dall-e-2": Price(unit="image", per_image=0.02, source="my bill", as_of="2026-05-01"),
    }
    async with AsyncImageClient(
        api_key=FAKE_API_KEY, base_url=fake_server.base_url, prices=mine
    ) as client:
        assert client.prices["gpt-image-2"] is mine["gpt-image-2"]
        assert client.prices["gpt-image-2.5-flare"] is PRICES["gpt-image-2.5-flare"]
        gen = await client.generate("a paper boat", quality="low")
        assert gen.usage is not None
        expected = (gen.usage["input_tokens"] * 5 + gen.usage["output_tokens"] * 30) / 1e6
        assert gen.cost.usd == pytest.approx(expected, abs=1e-9)
        old = await client.generate("a paper boat", model="dall-e-2", size="256x256", n=3)
        assert (old.cost.usd, old.cost.basis) == (pytest.approx(0.06), "usage")
    assert PRICES["gpt-image-2"].image_output == OUTPUT  # the defaults are untouched


@pytest.mark.parametrize(
    ("prices", "field"),
    [
        (
            {"gpt-image-2": Price(unit="token", text_input=4, image_input=4, image_output=-24)},
            "prices['gpt-image-2'].image_output",
        ),
        (
            {"my-model": Price(unit="token", text_input=math.nan, image_input=4, image_output=24)},
            "prices['my-model'].text_input",
        ),
        ({"my-model": Price(unit="image", per_image="0.04")}, "prices['my-model'].per_image"),  # type: ignore[arg-type]
        ({"my-model": 0.04}, "prices['my-model']"),
        ("cheap", "prices"),
    ],
)
def test_bad_prices_are_refused_when_the_client_is_built(
    prices: Any, field: str, fake: FakeAPI
) -> None:
    with pytest.raises(InvalidParameterError) as info:
        AsyncImageClient(api_key=FAKE_API_KEY, prices=prices)
    assert info.value.field == field
    assert fake.requests == []


async def test_the_docs_cost_example(client: AsyncImageClient) -> None:
    page = (Path(__file__).parents[2] / "docs" / "costs.md").read_text(encoding="utf-8")
    gen = await client.generate("a paper boat", quality="low")
    assert f"print(gen.cost)  # {gen.cost}, from the answer's usage" in page
    assert gen.cost.basis == "usage"
