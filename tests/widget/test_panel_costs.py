"""The panel's money: the estimate beside Generate, the actual cost in the usage line, and the
session's total (``gen.spent_usd``), on the in-process fake."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from PIL import Image
from traitlets import TraitError
from widget_parts import part, shown

from comet_widgets import Cost, ImageGenerator, Price, estimate_cost
from comet_widgets.widget._gallery import format_usage

MakePanel = Callable[..., ImageGenerator]
PROMPT = "A paper boat on a pond"


def estimate_of(panel: ImageGenerator) -> str:
    return str(part(panel, "cw-estimate").value)


def expected(panel: ImageGenerator, **extra: object) -> str:
    """What ``estimate_cost`` says for the panel's values, as the panel shows it."""
    cost = estimate_cost(
        prompt=panel.prompt,
        model=panel.model,
        n=panel.n,
        size=panel.size,
        quality=panel.quality,
        partial_images=panel.partial_images,
        **extra,
    )
    return str(cost)


async def test_the_estimate_follows_quality_n_and_previews(make_panel: MakePanel) -> None:
    panel = make_panel(prompt=PROMPT, model="gpt-image-2", size="1024x1024", quality="low")
    panel.partial_images = 0
    low = estimate_of(panel)
    assert f">{expected(panel)}<" in low
    assert "about $" in low
    part(panel, "cw-quality").value = "high"
    assert estimate_of(panel) != low
    assert f">{expected(panel)}<" in estimate_of(panel)
    one = estimate_of(panel)
    part(panel, "cw-n").value = 4
    assert estimate_of(panel) != one
    assert f">{expected(panel)}<" in estimate_of(panel)
    panel.quality, panel.n = "low", 1
    before = estimate_of(panel)
    panel.partial_images = 3  # 100 output tokens each: a third more than a low image
    assert estimate_of(panel) != before
    assert f">{expected(panel)}<" in estimate_of(panel)


def test_a_model_without_a_price_says_unpriced(make_panel: MakePanel) -> None:
    panel = make_panel(prompt=PROMPT, model="dall-e-2")
    assert ">unpriced<" in estimate_of(panel)
    assert "no known price for dall-e-2" in estimate_of(panel)


def test_a_refused_value_shows_no_estimate(make_panel: MakePanel) -> None:
    panel = make_panel(prompt=PROMPT, model="gpt-image-2")
    part(panel, "cw-size").value = ""  # "Custom…"
    part(panel, "cw-size-custom").value = "13x13"
    assert estimate_of(panel) == ""


def test_an_edit_counts_its_inputs(make_panel: MakePanel) -> None:
    panel = make_panel(prompt=PROMPT, model="gpt-image-2", quality="low", partial_images=0)
    buffer = io.BytesIO()
    Image.new("RGB", (1024, 1024), "teal").save(buffer, "PNG")
    first = buffer.getvalue()
    generating = estimate_of(panel)
    panel.inputs = [first]
    assert panel.mode == "edit"
    edit = estimate_cost(
        prompt=PROMPT, model="gpt-image-2", n=1, size=panel.size, quality="low", image=[first]
    )
    assert f">{edit}<" in estimate_of(panel)
    assert estimate_of(panel) != generating
    panel.inputs = [first, first]  # each input is image input
    two = estimate_cost(
        prompt=PROMPT, model="gpt-image-2", n=1, size=panel.size, quality="low", image=[first] * 2
    )
    assert two.usd is not None
    assert edit.usd is not None
    assert two.usd > edit.usd
    assert f">{two}<" in estimate_of(panel)


async def test_after_a_run_the_usage_line_says_what_it_cost(make_panel: MakePanel) -> None:
    panel = make_panel(prompt=PROMPT, model="gpt-image-2", quality="low", partial_images=0)
    generation = await panel.generate()
    assert generation.cost.basis == "usage"
    usage = part(panel, "cw-usage").value
    assert shown(part(panel, "cw-usage"))
    assert f"Cost: {generation.cost} · Usage: " in usage
    assert f"this session: {generation.cost}" in usage
    assert panel.spent_usd == generation.cost.usd


async def test_spent_usd_sums_runs_and_batches(make_panel: MakePanel) -> None:
    panel = make_panel(prompt=PROMPT, model="gpt-image-2", quality="low", partial_images=0)
    first = await panel.generate()
    panel.quality = "medium"
    second = await panel.generate()
    results = await panel.generate_many(["a kite", "a lighthouse"])
    costs = [first.cost, second.cost] + [
        item.generation.cost for item in results if item.generation
    ]
    assert len(costs) == 4
    total = sum(costs[1:], costs[0])
    assert total.usd is not None
    assert panel.spent_usd == pytest.approx(total.usd)
    assert f"this session: {total}" in part(panel, "cw-usage").value
    batch = sum(costs[3:], costs[2])
    assert part(panel, "cw-usage").value.startswith(f"Cost: {batch} · this session: ")
    panel.model = "dall-e-2"  # no known price: adds nothing, and the line says so
    await panel.generate()
    assert panel.spent_usd == pytest.approx(total.usd)
    assert "Cost: unpriced" in part(panel, "cw-usage").value
    assert f"this session: {total} and unpriced runs" in part(panel, "cw-usage").value


def test_spent_usd_cannot_be_set(make_panel: MakePanel) -> None:
    panel = make_panel()
    assert panel.spent_usd == 0.0
    with pytest.raises(TraitError, match="read-only"):
        panel.spent_usd = 1.0
    with pytest.raises(TypeError):
        make_panel(spent_usd=1.0)


def test_the_usage_line_words_an_estimate() -> None:
    estimate = Cost(usd=0.05, basis="estimate")
    assert format_usage(None, estimate) == ("Cost: about $0.05 (estimated: no usage in the answer)")
    assert format_usage({"total_tokens": 4210}, Cost(usd=0.0052, basis="usage"), "$0.42") == (
        "Cost: $0.0052 · Usage: 4,210 total tokens · this session: $0.42"
    )


async def test_the_clients_prices_price_the_panel(loopback_panel: MakePanel) -> None:
    """Over loopback, with ``AsyncImageClient(prices=...)``: the estimate (once the panel has
    its client), the run's cost and the session's total all use the client's prices."""
    dear = Price(unit="token", text_input=100.0, image_input=100.0, image_output=1000.0)
    panel = loopback_panel(
        api_key="sk-test",
        client_options={"prices": {"gpt-image-2": dear}},
        prompt=PROMPT,
        model="gpt-image-2",
        quality="low",
        partial_images=0,
    )
    generation = await panel.generate()
    assert generation.cost.usd == pytest.approx(
        generation.usage["input_tokens"] * 100 / 1e6
        + generation.usage["output_tokens"] * 1000 / 1e6
    )
    assert panel.spent_usd == generation.cost.usd
    assert f"Cost: {generation.cost}" in part(panel, "cw-usage").value
    panel.quality = "medium"
    assert f">{expected(panel, prices={'gpt-image-2': dear})}<" in estimate_of(panel)
    assert expected(panel, prices={"gpt-image-2": dear}) != expected(panel)
