"""``generate_many(budget_usd=...)`` on loopback: the batch stops before passing its budget,
items over it are not sent (the fake counts them), a resume with a larger budget goes on, and
every item's cost is in the manifest; bad budgets are refused before anything is sent."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from comet_widgets import AsyncImageClient, InvalidParameterError, estimate_cost, generate_many
from comet_widgets.batch._manifest import MANIFEST_NAME, read_manifest
from comet_widgets.testing import FakeAPI

#: Explicit quality and size: the fake bills exactly the estimate for these.
LOW = {"quality": "low", "size": "1024x1024"}
PROMPTS = [f"a paper boat, number {i}" for i in range(6)]  # equal lengths: equal text tokens


def each() -> float:
    usd = estimate_cost(prompt=PROMPTS[0], **LOW).usd
    assert usd is not None
    return usd


@pytest.mark.parametrize("concurrency", [1, 4])
async def test_a_batch_stops_before_passing_its_budget(
    client: AsyncImageClient, fake: FakeAPI, concurrency: int
) -> None:
    budget = 3.5 * each()
    results = await generate_many(
        PROMPTS, client=client, **LOW, budget_usd=budget, concurrency=concurrency
    )
    assert fake.generation_count == 3  # the three over budget were never requested
    assert [item.ok for item in results] == [True] * 3 + [False] * 3
    assert [item.over_budget for item in results] == [False] * 3 + [True] * 3
    assert results.failed == []
    assert results.over_budget == list(results)[3:]
    assert not results.ok
    assert results.cost.basis == "usage"
    assert results.cost.usd == pytest.approx(3 * each(), abs=1e-9)
    assert results.cost.usd <= budget
    assert all(item.cost is None for item in results.over_budget)
    summary = results.summary()
    assert "3 ok, 0 failed, 3 over budget (not sent)" in summary
    assert f"cost: {results.cost} (budget ${budget:g})" in summary
    assert "over budget: not sent" in repr(results[4])
    rows = results.to_records()
    assert [row["error"] for row in rows] == [None] * 3 + ["over budget: not sent"] * 3


async def test_actual_costs_below_the_estimates_make_room_for_more(
    client: AsyncImageClient, fake: FakeAPI
) -> None:
    """Quality unset is estimated as high; the fake makes medium: finished items count at
    what they cost, so more fit than the estimates alone would allow."""
    estimate = estimate_cost(prompt=PROMPTS[0], size="1024x1024").usd
    assert estimate is not None
    budget = 2 * estimate
    results = await generate_many(
        PROMPTS, client=client, size="1024x1024", budget_usd=budget, concurrency=1
    )
    actual = results[0].cost
    assert actual is not None
    assert actual.usd is not None
    assert actual.basis == "usage"
    # item k starts while k finished items + one estimate stay within the budget
    expected = math.floor((budget - estimate) / actual.usd) + 1
    assert expected > 2  # more than budget / estimate
    assert fake.generation_count == expected
    assert results.cost.usd is not None
    assert results.cost.usd <= budget


async def test_a_resume_with_a_larger_budget_goes_on_counting_what_was_spent(
    client: AsyncImageClient, fake: FakeAPI, tmp_path: Path
) -> None:
    first = await generate_many(
        PROMPTS, client=client, **LOW, output_dir=tmp_path, budget_usd=2.5 * each()
    )
    assert fake.generation_count == 2
    assert len(first.over_budget) == 4
    rows = read_manifest(tmp_path / MANIFEST_NAME)
    assert len(rows) == 2  # over-budget items have no line: they were not sent
    for row, item in zip(rows, first, strict=False):
        assert item.cost is not None
        assert row["cost"] == item.cost.as_dict()
        assert row["cost"]["basis"] == "usage"
        assert row["cost"]["tokens"]["image_output"] == row["usage"]["output_tokens"]
    # 2 spent before + 2 more = 4 items: the budget counts the earlier run's spending
    second = await generate_many(
        PROMPTS, client=client, **LOW, output_dir=tmp_path, budget_usd=4.5 * each()
    )
    assert fake.generation_count == 4
    assert len(second.skipped) == 2
    assert [item.ok for item in second] == [True] * 4 + [False] * 2
    assert second.cost.usd == pytest.approx(4 * each(), abs=1e-9)
    third = await generate_many(
        PROMPTS, client=client, **LOW, output_dir=tmp_path, budget_usd=10 * each()
    )
    assert fake.generation_count == 6
    assert third.ok
    assert third.cost.usd == pytest.approx(6 * each(), abs=1e-9)


async def test_a_failure_that_may_have_been_billed_counts_its_estimate(
    client: AsyncImageClient, fake: FakeAPI
) -> None:
    fake.fail_next(1, 500)  # may have made (and billed) the image: not retried, counted
    results = await generate_many(
        PROMPTS, client=client, **LOW, budget_usd=2.5 * each(), concurrency=1
    )
    assert fake.generation_count == 2
    failed = results[0]
    assert failed.error is not None
    assert failed.cost is not None
    assert failed.cost.basis == "estimate"
    assert [item.over_budget for item in results] == [False, False] + [True] * 4
    assert results.cost.basis == "estimate"  # part of the total is an estimate


async def test_a_refused_request_costs_nothing(client: AsyncImageClient, fake: FakeAPI) -> None:
    fake.fail_next(1, 400, message="bad prompt")
    results = await generate_many(
        PROMPTS, client=client, **LOW, budget_usd=2.5 * each(), concurrency=1
    )
    assert results[0].cost is None
    assert fake.generation_count == 3  # the refusal spent nothing: two more fit


async def test_duplicates_cost_once(client: AsyncImageClient, fake: FakeAPI) -> None:
    results = await generate_many(
        [PROMPTS[0]] * 3 + [PROMPTS[1]], client=client, **LOW, budget_usd=2 * each()
    )
    assert fake.generation_count == 2
    assert results.ok
    assert [item.cost is None for item in results] == [False, True, True, False]
    assert results.cost.usd == pytest.approx(2 * each(), abs=1e-9)


async def test_a_zero_budget_sends_nothing(client: AsyncImageClient, fake: FakeAPI) -> None:
    results = await generate_many(PROMPTS, client=client, **LOW, budget_usd=0)
    assert fake.requests == []
    assert len(results.over_budget) == len(PROMPTS)
    assert results.cost.usd == 0


@pytest.mark.parametrize("budget", [-0.01, math.nan, math.inf, "5", True, [5]], ids=repr)
async def test_a_bad_budget_is_refused_before_anything_is_sent(
    client: AsyncImageClient, fake: FakeAPI, budget: Any
) -> None:
    with pytest.raises(InvalidParameterError) as info:
        await generate_many(PROMPTS, client=client, **LOW, budget_usd=budget)
    assert info.value.field == "budget_usd"
    assert "budget_usd" in str(info.value)
    assert fake.requests == []


async def test_a_budget_for_an_unpriced_model_is_refused(
    client: AsyncImageClient, fake: FakeAPI
) -> None:
    old = {"prompt": PROMPTS[1], "model": "dall-e-2", "size": "256x256", "quality": "standard"}
    items: list[Any] = [PROMPTS[0], old]
    with pytest.raises(InvalidParameterError) as info:
        await generate_many(items, client=client, **LOW, budget_usd=1.0)
    assert info.value.field == "budget_usd"
    assert "item 1 uses dall-e-2, which has no known price" in str(info.value)
    assert fake.requests == []
    # without a budget it runs, and its total says it is unpriced
    results = await generate_many(items, client=client, **LOW)
    assert results.ok
    assert (results.cost.usd, results.cost.basis) == (None, "unpriced")


async def test_the_progress_line_counts_items_over_budget_as_such_not_as_resumed(
    client: AsyncImageClient, fake: FakeAPI
) -> None:
    import io

    from comet_widgets.batch._progress import PlainProgress

    out = io.StringIO()
    progress = PlainProgress(len(PROMPTS), stream=out)
    await generate_many(PROMPTS, client=client, **LOW, budget_usd=3.5 * each(), progress=progress)
    final = out.getvalue().splitlines()[-1]
    assert "3 ok · 0 failed · 3 over budget" in final
    assert "resumed" not in final
