"""generate_many over real loopback sockets against the fake API."""

from __future__ import annotations

import asyncio
import json
import random
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from comet_widgets import AsyncImageClient, generate_many, read_metadata
from comet_widgets._errors import AuthenticationError, InvalidParameterError, MissingAPIKeyError
from comet_widgets.batch._generate import BatchError, InvalidItemError
from comet_widgets.batch._manifest import MANIFEST_NAME, merge_manifests, read_manifest
from comet_widgets.batch._results import COLUMNS, StoredImage
from comet_widgets.testing import FAKE_API_KEY, FakeAPI, FakeServer, serve_fake

CHEAP = {"model": "dall-e-2", "size": "256x256", "response_format": "b64_json"}


def is_file(path: str | Path) -> bool:
    return Path(path).is_file()


def read_text(path: str | Path) -> str:
    return Path(path).read_text(encoding="utf-8")


def generations(fake: FakeAPI) -> list[Any]:
    return [r for r in fake.requests if r.path.endswith("/images/generations")]


class RandomLatency:
    """ASGI middleware: a random delay before each generation (the fake's own latency is fixed)."""

    def __init__(self, app: FakeAPI, high: float, seed: int) -> None:
        self.app = app
        self.high = high
        self.rng = random.Random(seed)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if str(scope.get("path", "")).endswith("/images/generations"):
            await asyncio.sleep(self.rng.uniform(0, self.high))
        await self.app(scope, receive, send)


@pytest.fixture
def jittery() -> Iterator[tuple[FakeServer, FakeAPI]]:
    app = FakeAPI()
    with serve_fake(RandomLatency(app, 0.08, seed=7)) as server:  # type: ignore[arg-type]
        yield server, app


async def test_results_keep_input_order_with_random_latencies(
    jittery: tuple[FakeServer, FakeAPI], tmp_path: Path
) -> None:
    server, app = jittery
    prompts = [f"a numbered tile, number {i}" for i in range(24)]
    finished: list[int] = []
    async with AsyncImageClient(api_key=FAKE_API_KEY, base_url=server.base_url) as client:
        results = await generate_many(
            prompts,
            client=client,
            **CHEAP,
            concurrency=6,
            output_dir=tmp_path,
            on_result=lambda item: finished.append(item.index),
        )
    assert [item.prompt for item in results] == prompts
    assert [item.index for item in results] == list(range(24))
    assert all(item.ok for item in results)
    assert sorted(finished) == list(range(24))
    assert finished != list(range(24)), "random latencies should finish out of order"
    # the manifest is in completion order, but each line names its input index
    lines = read_manifest(tmp_path / MANIFEST_NAME)
    assert sorted(line["index"] for line in lines) == list(range(24))
    assert {line["prompt"] for line in lines} == set(prompts)
    assert app.max_in_flight <= 6


async def test_a_failed_item_records_its_error_and_the_others_go_on(
    client: AsyncImageClient, fake: FakeAPI, tmp_path: Path
) -> None:
    fake.fail_next(1, 400, message="your prompt was refused", code="content_policy_violation")
    fake.fail_next(1, 500)  # may have been billed: not retried by default
    prompts = ["first", "second", "third", "fourth", "fifth"]
    results = await generate_many(
        prompts, client=client, **CHEAP, concurrency=1, output_dir=tmp_path
    )
    assert [item.ok for item in results] == [False, False, True, True, True]
    first, second = results[0], results[1]
    assert first.error is not None
    assert first.error["type"] == "ContentPolicyError"
    assert first.error["status_code"] == 400
    assert first.error["request_id"].startswith("fake-")
    assert "refused" in first.error["message"]
    assert second.error is not None
    assert second.error["type"] == "ServerError"
    assert [item.index for item in results.failed] == [0, 1]
    assert len(results.succeeded) == 3
    assert not results.ok  # a bool, as on an item: True only when every item succeeded
    assert len(results.images) == 3
    assert "2 failed" in results.summary()
    assert "failed: item 0" in results.summary()
    rows = results.to_records()
    assert rows[0]["error"]
    assert rows[0]["path"] is None
    assert rows[2]["error"] is None
    assert is_file(rows[2]["path"])
    lines = {line["index"]: line for line in read_manifest(tmp_path / MANIFEST_NAME)}
    assert lines[0]["error"]["type"] == "ContentPolicyError"
    assert lines[0]["paths"] == []
    assert lines[2]["error"] is None


async def test_raise_on_error_raises_after_the_batch_with_the_results(
    client: AsyncImageClient, fake: FakeAPI
) -> None:
    fake.fail_next(1, 500)
    with pytest.raises(
        BatchError, match=r"^1 of 3 items failed; first: item 0: HTTP 500"
    ) as caught:
        await generate_many(
            ["a", "b", "c"], client=client, **CHEAP, concurrency=1, raise_on_error=True
        )
    results = caught.value.results
    assert len(results) == 3
    assert [item.ok for item in results] == [False, True, True]
    assert fake.generation_count == 3


async def test_resume_requests_only_what_is_missing_or_failed(
    client: AsyncImageClient, fake: FakeAPI, tmp_path: Path
) -> None:
    prompts = [f"resumable {i}" for i in range(5)]
    fake.fail_next(1, 500)
    first = await generate_many(prompts, client=client, **CHEAP, concurrency=1, output_dir=tmp_path)
    assert len(first.failed) == 1
    fake.reset()
    second = await generate_many(prompts, client=client, **CHEAP, output_dir=tmp_path)
    assert fake.generation_count == 1  # only the failed one
    assert [g.json["prompt"] for g in generations(fake)] == [prompts[0]]
    assert all(item.ok for item in second)
    assert [item.skipped for item in second] == [False, True, True, True, True]
    assert "4 resumed" in second.summary()
    # resumed items are complete: images readable from their files, metadata intact
    image = second[3].images[0]
    assert isinstance(image, StoredImage)
    assert image.image.size == (256, 256)
    assert image.generation is not None
    assert image.generation.request_id == first[3].generation.request_id  # type: ignore[union-attr]
    assert image.metadata["prompt"] == prompts[3]
    # a third run sends nothing; resume=False sends everything again
    fake.reset()
    await generate_many(prompts, client=client, **CHEAP, output_dir=tmp_path)
    assert fake.generation_count == 0
    await generate_many(prompts, client=client, **CHEAP, output_dir=tmp_path, resume=False)
    assert fake.generation_count == 5


async def test_resume_regenerates_an_item_whose_file_was_deleted(
    client: AsyncImageClient, fake: FakeAPI, tmp_path: Path
) -> None:
    results = await generate_many(["keep", "lose"], client=client, **CHEAP, output_dir=tmp_path)
    results[1].paths[0].unlink()
    fake.reset()
    again = await generate_many(["keep", "lose"], client=client, **CHEAP, output_dir=tmp_path)
    assert [g.json["prompt"] for g in generations(fake)] == ["lose"]
    assert again[1].paths[0].is_file()


@pytest.fixture
async def real_sleep_client(fake_server: FakeServer) -> AsyncIterator[AsyncImageClient]:
    """A client that waits for real: a batch waits with its client's sleep."""
    async with AsyncImageClient(api_key=FAKE_API_KEY, base_url=fake_server.base_url) as c:
        yield c


@pytest.mark.slow
async def test_requests_per_minute_is_honoured_at_the_fake(
    real_sleep_client: AsyncImageClient, fake: FakeAPI
) -> None:
    client = real_sleep_client
    results = await generate_many(
        [f"paced {i}" for i in range(5)],
        client=client,
        **CHEAP,
        concurrency=5,
        requests_per_minute=120,
    )
    assert all(item.ok for item in results)
    starts = sorted(r.started for r in generations(fake))
    assert len(starts) == 5
    # 120/min = one start every 0.5 s: any 1 s window holds at most 2 starts (the first request
    # goes at once; scheduling noise gets 50 ms)
    for start in starts:
        in_window = [s for s in starts if start <= s < start + 0.95]
        assert len(in_window) <= 2, starts
    assert starts[-1] - starts[0] >= 4 * 0.5 - 0.05


async def test_concurrency_cap_is_honoured_at_the_fake(
    client: AsyncImageClient, fake: FakeAPI
) -> None:
    fake.latency = 0.1
    results = await generate_many(
        [f"capped {i}" for i in range(12)], client=client, **CHEAP, concurrency=3
    )
    assert all(item.ok for item in results)
    assert fake.max_in_flight == 3


@pytest.mark.slow
async def test_a_429_with_retry_after_pauses_the_whole_batch(
    real_sleep_client: AsyncImageClient, fake: FakeAPI
) -> None:
    client = real_sleep_client
    fake.latency = 0.05
    fake.fail_next(1, 429, headers={"Retry-After": "0.6"})
    results = await generate_many(
        [f"paused {i}" for i in range(8)], client=client, **CHEAP, concurrency=3
    )
    assert all(item.ok for item in results)
    requests = generations(fake)
    limited = next(r for r in requests if r.status == 429)
    assert limited.finished is not None
    later = [r for r in requests if r.started > limited.finished]
    assert len(later) >= 5  # the retry and the items not yet started
    # none of them started before the pause was over: the 429 held back every worker
    assert min(r.started for r in later) >= limited.finished + 0.55
    assert len(requests) == 9


async def test_an_invalid_item_refuses_the_whole_batch_before_any_request(
    client: AsyncImageClient, fake: FakeAPI, tmp_path: Path
) -> None:
    items: list[Any] = [f"fine {i}" for i in range(1000)]
    items[950] = {"prompt": "a typo", "size": "1024x1023"}
    items[970] = {"prompt": "another", "qualty": "hd"}
    out = tmp_path / "never"
    with pytest.raises(InvalidItemError) as caught:
        await generate_many(items, client=client, **CHEAP, output_dir=out)
    error = caught.value
    assert error.index == 950
    assert error.field == "size"
    assert error.value == "1024x1023"
    assert "256x256" in error.allowed
    assert [index for index, _ in error.errors] == [950, 970]
    assert "item 950" in str(error)
    assert "970" in str(error)
    assert "nothing was sent" in str(error)
    assert isinstance(error, ValueError)
    assert fake.generation_count == 0
    assert not out.exists()


@pytest.mark.parametrize("concurrency", [None, 0, 1.5, "8"])
async def test_a_bad_concurrency_is_refused_before_any_request(
    client: AsyncImageClient, fake: FakeAPI, concurrency: Any
) -> None:
    with pytest.raises(InvalidParameterError, match="concurrency"):
        await generate_many(["a fox"], client=client, **CHEAP, concurrency=concurrency)
    assert fake.generation_count == 0


async def test_identical_items_are_requested_once(
    client: AsyncImageClient, fake: FakeAPI, tmp_path: Path
) -> None:
    items: list[Any] = ["a fox", "a whale", "a fox", {"prompt": "a fox", "meta": {"copy": 2}}]
    items.append({"prompt": "a fox", "size": "512x512"})  # other params: another item
    results = await generate_many(items, client=client, **CHEAP, output_dir=tmp_path)
    assert fake.generation_count == 3
    assert [item.duplicate_of for item in results] == [None, None, 0, 0, None]
    assert results[2].generation is results[0].generation
    assert results[3].meta == {"copy": 2}
    assert results[0].key == results[3].key != results[4].key
    # One request per body, but one manifest row per item, each with its own index and labels.
    rows = read_manifest(tmp_path / MANIFEST_NAME)
    assert sorted(row["index"] for row in rows) == [0, 1, 2, 3, 4]
    assert next(row for row in rows if row["index"] == 3)["meta"] == {"copy": 2}
    by_index = {row["index"]: row for row in rows}
    assert by_index[0]["images"] == by_index[2]["images"]  # the shared files
    frame = results.to_dataframe()
    assert sorted(set(frame["index"])) == [0, 1, 2, 3, 4]
    assert list(frame.loc[frame["index"] == 3, "copy"]) == [2]
    merged = merge_manifests([tmp_path], tmp_path / "merged.jsonl")
    assert merged.items == 5
    fake.reset()
    again = await generate_many(items, client=client, **CHEAP, output_dir=tmp_path)
    assert fake.generation_count == 0
    assert all(item.skipped and item.ok for item in again)
    assert len(read_manifest(tmp_path / MANIFEST_NAME)) == 5, "resuming adds no rows"


async def test_shards_merged_equal_the_unsharded_run(
    client: AsyncImageClient, fake: FakeAPI, tmp_path: Path
) -> None:
    prompts = [f"sharded {i}" for i in range(11)]
    whole = await generate_many(prompts, client=client, **CHEAP, output_dir=tmp_path / "whole")
    shared = tmp_path / "shards"
    zero = await generate_many(prompts, client=client, **CHEAP, output_dir=shared, shard="0/2")
    one = await generate_many(prompts, client=client, **CHEAP, output_dir=shared, shard=(1, 2))
    assert [item.index for item in zero] == [0, 2, 4, 6, 8, 10]
    assert [item.index for item in one] == [1, 3, 5, 7, 9]
    assert (shared / "manifest.shard-0-of-2.jsonl").is_file()
    merge_manifests([shared], shared / MANIFEST_NAME)
    merged = read_manifest(shared / MANIFEST_NAME)
    unsharded = read_manifest(tmp_path / "whole" / MANIFEST_NAME)
    unsharded.sort(key=lambda line: line["index"])

    def view(lines: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [(line["index"], line["key"], line["prompt"], line["error"]) for line in lines]

    assert view(merged) == view(unsharded)
    assert [item.key for item in whole] == [line["key"] for line in merged]
    # the merged folder resumes as one: nothing is requested again
    fake.reset()
    again = await generate_many(prompts, client=client, **CHEAP, output_dir=shared)
    assert fake.generation_count == 0
    assert len(again.skipped) == 11


async def test_cancelling_keeps_finished_items_on_disk_and_in_the_manifest(
    client: AsyncImageClient, fake: FakeAPI, tmp_path: Path
) -> None:
    fake.latency = 0.15
    prompts = [f"interrupted {i}" for i in range(12)]
    manifest = tmp_path / MANIFEST_NAME
    three_done = asyncio.Event()
    finished: list[int] = []

    def on_result(item: Any) -> None:
        finished.append(item.index)
        if len(finished) == 3:
            three_done.set()

    task = asyncio.ensure_future(
        generate_many(
            prompts,
            client=client,
            **CHEAP,
            concurrency=2,
            output_dir=tmp_path,
            on_result=on_result,
        )
    )
    await three_done.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    lines = read_manifest(manifest)
    assert 3 <= len(lines) < 12
    for line in lines:
        assert line["error"] is None
        assert all(is_file(tmp_path / path) for path in line["paths"])
    done = {line["prompt"] for line in lines}
    fake.reset()
    fake.latency = 0
    results = await generate_many(prompts, client=client, **CHEAP, output_dir=tmp_path)
    assert all(item.ok for item in results)
    assert {g.json["prompt"] for g in generations(fake)} == set(prompts) - done


async def test_records_dataframe_and_provenance(client: AsyncImageClient, tmp_path: Path) -> None:
    items: list[Any] = [
        {"prompt": "a lighthouse", "meta": {"subject": "lighthouse", "style": "ink"}},
        {
            "prompt": "an owl",
            "model": "dall-e-2",
            "size": "256x256",
            "n": 2,
            "meta": {"subject": "owl"},
        },
        {"prompt": "a cactus", "model": "gpt-image-1", "quality": "low", "output_format": "webp"},
    ]
    results = await generate_many(items, client=client, model="dall-e-3", output_dir=tmp_path)
    frame = results.to_dataframe()
    assert list(frame.columns[: len(COLUMNS)]) == list(COLUMNS)
    assert {"subject", "style"} <= set(frame.columns)
    assert len(frame) == 4  # one row per image
    assert list(frame["prompt"]) == ["a lighthouse", "an owl", "an owl", "a cactus"]
    assert frame["revised_prompt"][0]  # dall-e-3 rewrites prompts
    assert list(frame["format"]) == ["png", "png", "png", "webp"]
    assert frame["usage"][3]["total_tokens"] > 0
    assert frame["subject"][1] == "owl"
    for path, prompt in zip(frame["path"], frame["prompt"], strict=True):
        metadata = read_metadata(path)  # PNG text chunks, or the sidecar for WebP
        assert metadata["prompt"] == prompt
    assert is_file(frame["path"][3] + ".json")
    line = read_manifest(tmp_path / MANIFEST_NAME)[0]
    assert set(line) >= {
        "key", "index", "prompt", "params", "model", "size", "revised_prompt", "revised_prompts",
        "paths", "format", "width", "height", "created", "request_id", "usage", "error",
        "elapsed", "meta",
    }  # fmt: skip
    assert repr(results) == "<BatchResults 3 item(s): 3 ok, 0 failed>"


async def test_sidecar_true_writes_json_for_png_too(
    client: AsyncImageClient, tmp_path: Path
) -> None:
    results = await generate_many(
        ["a teapot"], client=client, **CHEAP, output_dir=tmp_path, sidecar=True
    )
    path = results.paths[0]
    assert path.suffix == ".png"
    assert json.loads(read_text(f"{path}.json"))["prompt"] == "a teapot"


async def test_without_output_dir_results_stay_in_memory(client: AsyncImageClient) -> None:
    results = await generate_many(["in memory"], client=client, **CHEAP)
    image = results.images[0]
    assert not isinstance(image, StoredImage)
    assert image.data is not None
    assert results.paths == []
    assert results.to_records()[0]["path"] is None
    with pytest.raises(ValueError, match="output_dir"):
        await generate_many(["x"], client=client, resume=True)


async def test_progress_callback_and_on_result(client: AsyncImageClient, fake: FakeAPI) -> None:
    fake.fail_next(1, 500)
    calls: list[tuple[int, int, int]] = []
    seen: list[int] = []

    async def on_result(item: Any) -> None:
        seen.append(item.index)

    await generate_many(
        ["p", "q", "r"],
        client=client,
        **CHEAP,
        concurrency=1,
        progress=lambda done, failed, total: calls.append((done, failed, total)),
        on_result=on_result,
    )
    assert calls[-1] == (3, 1, 3)
    assert [done for done, _, _ in calls[:3]] == [1, 2, 3]
    assert seen == [0, 1, 2]


async def test_an_authentication_failure_stops_the_batch(
    client: AsyncImageClient, fake: FakeAPI, tmp_path: Path
) -> None:
    fake.fail_next(1, 401)
    with pytest.raises(AuthenticationError):
        await generate_many([f"x{i}" for i in range(20)], client=client, **CHEAP, concurrency=1)
    assert fake.generation_count == 1


async def test_client_none_builds_one_from_the_environment(
    fake_server: FakeServer, fake: FakeAPI, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("COMETAPI_KEY", raising=False)
    with pytest.raises(MissingAPIKeyError, match="COMETAPI_KEY"):
        await generate_many(["x"], **CHEAP)
    assert fake.generation_count == 0
    monkeypatch.setenv("COMETAPI_KEY", FAKE_API_KEY)
    monkeypatch.setenv("COMETAPI_BASE_URL", fake_server.base_url)
    results = await generate_many(["from the environment"], **CHEAP)
    assert results[0].ok
    assert fake.generation_count == 1


async def test_parameter_checks(client: AsyncImageClient) -> None:
    for bad in ({"concurrency": 0}, {"requests_per_minute": 0}, {"shard": "2/2"}, {"shard": "x"}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            await generate_many(["x"], client=client, **bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidItemError, match=r"item 0: .*prompt"):
        await generate_many([{"size": "256x256"}], client=client)
    with pytest.raises(InvalidItemError, match="item 1"):
        await generate_many(["ok", 42], client=client)  # type: ignore[list-item]


async def test_an_unmerged_shard_folder_resumes_and_fills_its_own_manifest(
    client: AsyncImageClient, fake: FakeAPI, tmp_path: Path
) -> None:
    prompts = [f"one folder {i}" for i in range(6)]
    for shard in ("0/3", "1/3", "2/3"):
        await generate_many(prompts, client=client, **CHEAP, output_dir=tmp_path, shard=shard)
    fake.reset()
    results = await generate_many(prompts, client=client, **CHEAP, output_dir=tmp_path)
    assert fake.generation_count == 0  # found in the shard manifests: nothing paid twice
    assert all(item.skipped and item.ok for item in results)
    # copied into manifest.jsonl, which now describes the whole folder alone
    lines = read_manifest(tmp_path / MANIFEST_NAME)
    assert sorted(line["index"] for line in lines) == list(range(6))


def test_to_dataframe_without_pandas_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from comet_widgets import BatchResults, MissingDependencyError

    monkeypatch.setitem(sys.modules, "pandas", None)  # makes `import pandas` fail
    with pytest.raises(MissingDependencyError, match="pip install pandas"):
        BatchResults([]).to_dataframe()
    assert BatchResults([]).to_records() == []


async def test_records_are_the_manifest_rows_one_per_image(
    client: AsyncImageClient, fake: FakeAPI, tmp_path: Path
) -> None:
    fake.fail_next(1, 400, message="bad prompt")
    items: list[Any] = ["fails", {"prompt": "two images", "n": 2, "meta": {"label": "x"}}]
    results = await generate_many(items, client=client, **CHEAP, concurrency=1, output_dir=tmp_path)
    rows = {row["index"]: row for row in read_manifest(tmp_path / MANIFEST_NAME)}
    records = results.to_records()
    assert [(r["index"], r["image_index"]) for r in records] == [(0, None), (1, 0), (1, 1)]
    assert records[0]["error"] == rows[0]["error"]["message"]
    for record in records[1:]:
        image = rows[1]["images"][record["image_index"]]
        assert record["path"] == str(tmp_path / image["path"])
        assert (record["format"], record["width"]) == (image["format"], image["width"])
        assert (record["request_id"], record["label"]) == (rows[1]["request_id"], "x")
