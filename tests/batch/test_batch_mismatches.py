"""A batch records what came back unlike what was asked: in its manifest lines, its records
and each saved file's metadata (the fake's ``silent_changes`` plays the gateway)."""

from __future__ import annotations

from pathlib import Path

from comet_widgets import AsyncImageClient, generate_many, read_metadata
from comet_widgets.batch._manifest import MANIFEST_NAME, read_manifest
from comet_widgets.testing import FakeAPI

ASKED = {"model": "gpt-image-2", "size": "1536x1024", "output_format": "webp"}


async def test_the_manifest_records_the_mismatches(
    client: AsyncImageClient, fake: FakeAPI, tmp_path: Path
) -> None:
    fake.silent_changes = {"size": "1024x1024", "output_format": "png"}
    results = await generate_many(["a teapot"], client=client, output_dir=tmp_path, **ASKED)
    expected = {"size": ["1536x1024", "1024x1024"], "output_format": ["webp", "png"]}
    [line] = read_manifest(tmp_path / MANIFEST_NAME)
    assert line["images"][0]["mismatches"] == expected
    [row] = results.to_records()
    assert row["mismatches"] == {k: tuple(v) for k, v in expected.items()}
    assert read_metadata(results.paths[0])["mismatches"] == expected


async def test_a_faithful_answer_records_none(client: AsyncImageClient, tmp_path: Path) -> None:
    await generate_many(["a teapot"], client=client, output_dir=tmp_path, **ASKED)
    [line] = read_manifest(tmp_path / MANIFEST_NAME)
    assert line["images"][0]["mismatches"] == {}


async def test_a_resumed_item_keeps_what_the_answer_said(
    client: AsyncImageClient, fake: FakeAPI, tmp_path: Path
) -> None:
    """The quality the answer reported is in the manifest, so a resumed item (not requested
    again) still knows it came back unlike what was asked."""
    fake.silent_changes = {"quality": "low"}
    asked = {**ASKED, "quality": "high"}
    await generate_many(["a teapot"], client=client, output_dir=tmp_path, **asked)
    fake.silent_changes = {}
    resumed = await generate_many(["a teapot"], client=client, output_dir=tmp_path, **asked)
    assert fake.generation_count == 1
    [item] = resumed
    assert item.skipped
    assert item.images[0].mismatches["quality"] == ("high", "low")
