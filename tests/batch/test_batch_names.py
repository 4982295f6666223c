"""The names of a batch's files: ``<index>-<prompt slug>-<image>.<ext>``, unique in the folder
and stable on resume (files written under the earlier ``<index>-<key[:12]>`` scheme included)."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from comet_widgets import AsyncImageClient, generate_many
from comet_widgets.batch._manifest import MANIFEST_NAME, read_manifest
from comet_widgets.testing import FakeAPI

CHEAP = {"model": "dall-e-2", "size": "256x256", "response_format": "b64_json"}


def listing(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.suffix == ".png"}


async def test_names_carry_the_index_a_short_slug_and_the_image_number(
    client: AsyncImageClient, tmp_path: Path
) -> None:
    long = "An extremely detailed, 4K photograph of a lighthouse at dawn; waves, gulls & fog!"
    items = ["a red fox", {"prompt": "a red fox", "size": "512x512"}, {"prompt": long, "n": 2}]
    results = await generate_many(items, client=client, **CHEAP, output_dir=tmp_path)
    assert [p.name for p in results.paths] == [
        "00000-a-red-fox-0.png",
        "00001-a-red-fox-0.png",
        "00002-an-extremely-detailed-4k-photograph-of-a-0.png",
        "00002-an-extremely-detailed-4k-photograph-of-a-1.png",
    ]
    rows = read_manifest(tmp_path / MANIFEST_NAME)
    assert sorted(image["path"] for row in rows for image in row["images"]) == [
        p.name for p in results.paths
    ]


async def test_a_resumed_run_renames_and_duplicates_nothing(
    client: AsyncImageClient, fake: FakeAPI, tmp_path: Path
) -> None:
    prompts = ["a red fox", "a blue whale", "a red fox"]  # the third shares the first's files
    await generate_many(prompts, client=client, **CHEAP, output_dir=tmp_path)
    before = listing(tmp_path)
    assert sorted(before) == ["00000-a-red-fox-0.png", "00001-a-blue-whale-0.png"]
    fake.reset()
    again = await generate_many(prompts, client=client, **CHEAP, output_dir=tmp_path)
    assert fake.generation_count == 0
    assert all(item.skipped for item in again)
    assert listing(tmp_path) == before
    fox, whale = "00000-a-red-fox-0.png", "00001-a-blue-whale-0.png"
    assert [p.name for p in again.paths] == [fox, whale, fox]


async def test_files_of_the_earlier_key_scheme_are_resumed_where_they_are(
    client: AsyncImageClient, fake: FakeAPI, tmp_path: Path
) -> None:
    prompts = ["a red fox", "a blue whale"]
    first = await generate_many(prompts, client=client, **CHEAP, output_dir=tmp_path)
    # Rewrite the folder as an earlier version left it: 00000-<key[:12]>-0.png in the manifest.
    manifest = tmp_path / MANIFEST_NAME
    rows = read_manifest(manifest)
    for row in rows:
        old = f"{row['index']:05d}-{row['key'][:12]}-0.png"
        (tmp_path / row["images"][0]["path"]).rename(tmp_path / old)
        row["images"][0]["path"] = old
    manifest.write_text("".join(json.dumps(row) + "\n" for row in rows))
    before = listing(tmp_path)
    fake.reset()
    again = await generate_many(prompts, client=client, **CHEAP, output_dir=tmp_path)
    assert fake.generation_count == 0  # found by the manifest's paths: nothing paid twice
    assert listing(tmp_path) == before  # nor renamed
    assert [p.name for p in again.paths] == [f"{i.index:05d}-{i.key[:12]}-0.png" for i in first]
    assert again[1].images[0].image.size == (256, 256)


async def test_a_taken_name_is_never_replaced(
    client: AsyncImageClient, fake: FakeAPI, tmp_path: Path
) -> None:
    await generate_many(["a red fox"], client=client, **CHEAP, output_dir=tmp_path)
    before = listing(tmp_path)
    # Same index and prompt, another body (another size): another item, the old file is kept.
    other = await generate_many(
        [{"prompt": "a red fox", "size": "512x512"}], client=client, **CHEAP, output_dir=tmp_path
    )
    name = other.paths[0].name
    assert name == f"00000-a-red-fox-{other[0].key[:8]}-0.png"
    assert listing(tmp_path) == {**before, name: other.paths[0].read_bytes()}
    # A --no-resume rerun keeps the paid image it would have overwritten too.
    rerun = await generate_many(
        ["a red fox"], client=client, **CHEAP, output_dir=tmp_path, resume=False
    )
    assert rerun.paths[0].name == f"00000-a-red-fox-{rerun[0].key[:8]}-0.png"
    assert (tmp_path / "00000-a-red-fox-0.png").read_bytes() == before["00000-a-red-fox-0.png"]


async def test_edit_batches_are_named_by_their_instruction(
    client: AsyncImageClient, tmp_path: Path
) -> None:
    photo = tmp_path / "photo.png"
    Image.new("RGB", (64, 64), (200, 10, 10)).save(photo)
    items = [
        {"prompt": "Make it WINTER", "image": str(photo)},
        {"prompt": "add a moon", "image": str(photo)},
    ]
    out = tmp_path / "out"
    results = await generate_many(items, client=client, model="gpt-image-2", output_dir=out)
    assert [p.name for p in results.paths] == [
        "00000-make-it-winter-0.png",
        "00001-add-a-moon-0.png",
    ]
    again = await generate_many(items, client=client, model="gpt-image-2", output_dir=out)
    assert all(item.skipped for item in again)
    assert sorted(p.name for p in out.glob("*.png")) == sorted(p.name for p in results.paths)
