"""Batches of edits: items carry ``image`` (and ``mask``) paths; the manifest key includes the
inputs' hashes, so resume reuses a result only for the same input bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from comet_widgets import AsyncImageClient, InvalidItemError, InvalidParameterError, generate_many
from comet_widgets.testing import FakeAPI


def folder_of_images(tmp_path: Path, count: int) -> list[Path]:
    paths = []
    for number in range(count):
        path = tmp_path / f"photo-{number}.png"
        Image.new("RGB", (64, 64), (40 * number, 90, 200)).save(path)
        paths.append(path)
    return paths


def edits(fake: FakeAPI) -> list[object]:
    return [r for r in fake.requests if r.path == "/v1/images/edits"]


async def test_one_prompt_over_a_folder_of_images_and_resume(
    client: AsyncImageClient, fake: FakeAPI, tmp_path: Path
) -> None:
    paths = folder_of_images(tmp_path, 3)
    mask = tmp_path / "mask.png"
    Image.new("L", (64, 64), 255).save(mask)
    items = [{"prompt": "make it winter", "image": str(p), "mask": str(mask)} for p in paths]
    out = tmp_path / "out"
    results = await generate_many(
        items, client=client, model="gpt-image-2", output_dir=out, concurrency=2
    )
    assert results.ok
    assert fake.edit_count == 3
    assert fake.generation_count == 0
    records = [
        json.loads(line)
        for manifest in out.glob("*.jsonl")
        for line in manifest.read_text().splitlines()
        if line.strip()
    ]
    assert len({r["key"] for r in records if "key" in r}) == 3
    text = "\n".join(json.dumps(r) for r in records)
    assert "sha256" in text
    # resume: nothing is sent again
    again = await generate_many(items, client=client, model="gpt-image-2", output_dir=out)
    assert again.ok
    assert fake.edit_count == 3
    # an input that changed is a new key: only that one is edited again
    Image.new("RGB", (64, 64), (1, 2, 3)).save(paths[1])
    await generate_many(items, client=client, model="gpt-image-2", output_dir=out)
    assert fake.edit_count == 4


async def test_several_images_per_item_go_as_image_array(
    client: AsyncImageClient, fake: FakeAPI, tmp_path: Path
) -> None:
    paths = folder_of_images(tmp_path, 2)
    results = await generate_many(
        [{"prompt": "both on one sofa", "image": [str(p) for p in paths]}],
        client=client,
        model="gpt-image-1.5",
    )
    assert results.ok
    form = edits(fake)[0].form  # type: ignore[attr-defined]
    assert [p.name for p in form if p.value is None] == ["image[]", "image[]"]
    assert not [p for p in form if p.name in ("n", "size")]  # not given: not sent


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ({"prompt": "x", "image": "/nonexistent.png"}, "image"),
        ({"prompt": "x", "mask": "m.png"}, "image"),
        ({"prompt": "x", "image": "PHOTO", "model": "dall-e-3"}, "model"),
        ({"prompt": "x", "extra_body": {"image": "a"}}, "extra_body"),
    ],
)
async def test_bad_edit_items_are_refused_before_sending(
    client: AsyncImageClient, fake: FakeAPI, tmp_path: Path, item: dict[str, object], field: str
) -> None:
    if item.get("image") == "PHOTO":
        item = {**item, "image": str(folder_of_images(tmp_path, 1)[0])}
    with pytest.raises(InvalidItemError) as caught:
        await generate_many([item], client=client, model="gpt-image-2")
    assert caught.value.errors[0][1].field == field
    assert fake.requests == []


async def test_in_memory_inputs_are_encoded_once_and_resume_by_their_hash(
    client: AsyncImageClient, fake: FakeAPI, tmp_path: Path
) -> None:
    import numpy as np

    picture = Image.new("RGB", (64, 64), (10, 120, 30))
    mask = np.zeros((64, 64), dtype=bool)
    mask[:32] = True
    items = [
        {"prompt": prompt, "image": picture, "mask": mask}
        for prompt in ("make it winter", "make it night")
    ]
    out = tmp_path / "out"
    results = await generate_many(items, client=client, model="gpt-image-2", output_dir=out)
    assert results.ok
    assert fake.edit_count == 2
    sent = [{p.name: p for p in r.form} for r in edits(fake)]  # type: ignore[attr-defined]
    assert {s["image"].sha256 for s in sent} == {sent[0]["image"].sha256}  # the same PNG
    for item in results:
        changed = np.abs(
            np.asarray(item.images[0].image.convert("RGB"), dtype=int)
            - np.asarray(picture, dtype=int)
        ).sum(axis=2)
        assert (changed[mask] > 0).mean() > 0.9
        assert not changed[~mask].any()
    text = "\n".join(p.read_text() for p in out.glob("*.jsonl"))
    assert '"sha256"' in text
    assert "PNG" not in text  # the hash is recorded, never the bytes
    # Resume: the same pixels are the same key; other pixels are a new one.
    again = await generate_many(items, client=client, model="gpt-image-2", output_dir=out)
    assert len(again.skipped) == 2
    assert fake.edit_count == 2
    items[1]["image"] = Image.new("RGB", (64, 64), (200, 0, 0))
    await generate_many(items, client=client, model="gpt-image-2", output_dir=out)
    assert fake.edit_count == 3


async def test_an_in_memory_input_that_cannot_be_sent_is_refused_with_its_index(
    client: AsyncImageClient, fake: FakeAPI
) -> None:
    good = Image.new("RGB", (64, 64))
    with pytest.raises(InvalidItemError) as caught:
        await generate_many(
            [{"prompt": "a", "image": good}, {"prompt": "b", "image": 3.5}],
            client=client,
            model="gpt-image-2",
        )
    [(index, error)] = caught.value.errors
    assert index == 1
    assert error.field == "image"
    assert "float" in str(error)
    assert fake.requests == []


async def test_on_partial_gets_each_edit_items_previews_with_its_index(
    client: AsyncImageClient, fake: FakeAPI, tmp_path: Path
) -> None:
    """Edit items stream as generation items do: ``on_partial(index, partial)``."""
    paths = folder_of_images(tmp_path, 2)
    seen: list[tuple[int, int, int]] = []
    items = [{"prompt": "make it winter", "image": str(p)} for p in paths]
    results = await generate_many(
        items,
        client=client,
        model="gpt-image-2",
        partial_images=2,
        on_partial=lambda index, partial: seen.append(
            (index, partial.index, partial.partial_index)
        ),
    )
    assert results.ok
    assert sorted(seen) == [(0, 0, 0), (0, 0, 1), (1, 0, 0), (1, 0, 1)]
    assert len(edits(fake)) == 2


async def test_an_item_with_a_markup_sends_it_and_keys_on_its_bytes(
    client: AsyncImageClient, fake: FakeAPI, tmp_path: Path
) -> None:
    from PIL import ImageDraw

    [photo] = folder_of_images(tmp_path, 1)
    marks = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    ImageDraw.Draw(marks).line((8, 8, 56, 56), fill=(255, 0, 0), width=4)
    markup = tmp_path / "marks.png"
    marks.save(markup)
    items = [{"prompt": "a lamp where the line is", "image": str(photo), "markup": str(markup)}]
    out = tmp_path / "out"
    model = "gpt-image-2.5-flare"
    results = await generate_many(items, client=client, model=model, output_dir=out)
    assert results.ok
    [request] = edits(fake)
    form = request.form  # type: ignore[attr-defined]
    assert [(p.name, p.filename) for p in form if p.value is None] == [
        ("image", photo.name),
        ("markup", "marks.png"),
    ]
    assert results[0].generation is not None
    assert results[0].generation.params["markup"]["name"] == "marks.png"
    await generate_many(items, client=client, model=model, output_dir=out)
    assert fake.edit_count == 1  # resumed: the same bytes
    ImageDraw.Draw(marks).line((8, 56, 56, 8), fill=(255, 0, 0), width=4)
    marks.save(markup)
    await generate_many(items, client=client, model=model, output_dir=out)
    assert fake.edit_count == 2  # a changed markup is a new item
    with pytest.raises(InvalidItemError, match="takes no markup"):
        await generate_many(items, client=client, model="gpt-image-2")
    with pytest.raises(InvalidItemError, match="a markup without image"):
        await generate_many([{"prompt": "x", "markup": str(markup)}], client=client, model=model)


async def test_every_edit_rule_is_checked_for_every_item_before_anything_is_sent(
    client: AsyncImageClient, fake: FakeAPI, tmp_path: Path
) -> None:
    """The rules ``client.edit`` applies to its files, in the items after a good one: the
    good one must not be sent (and paid for) before a later one is refused."""
    good = folder_of_images(tmp_path, 17)
    Image.new("RGB", (64, 64)).save(tmp_path / "anim.gif")
    Image.new("RGB", (96, 64)).save(tmp_path / "wide.png")
    Image.new("RGBA", (32, 32)).save(tmp_path / "small-mask.png")
    Image.new("L", (64, 64), 255).save(tmp_path / "big-mask.jpg")
    (tmp_path / "text.png").write_text("not an image")
    (tmp_path / "cut.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(64) + b"\xff\xd9")
    bad = {
        "GIF for gpt-image-2": ({"image": str(tmp_path / "anim.gif")}, "image"),
        "17 inputs": ({"image": [str(p) for p in good]}, "image"),
        "wrong-size mask": (
            {"image": str(good[0]), "mask": str(tmp_path / "small-mask.png")},
            "mask",
        ),
        "non-square for dall-e-2": (
            {"image": str(tmp_path / "wide.png"), "model": "dall-e-2"},
            "image",
        ),
        "not an image": ({"image": str(tmp_path / "text.png")}, "image"),
        "a mask that does not decode": (
            {"image": str(good[0]), "mask": str(tmp_path / "cut.jpg")},
            "mask",
        ),
    }
    items = [{"prompt": "fine", "image": str(good[0]), "mask": str(tmp_path / "big-mask.jpg")}]
    items += [{"prompt": kind, **item} for kind, (item, _) in bad.items()]
    with pytest.raises(InvalidItemError) as caught:
        await generate_many(items, client=client, model="gpt-image-2")
    refused = {index: error.field for index, error in caught.value.errors}
    assert refused == {i + 1: field for i, (_, field) in enumerate(bad.values())}
    assert fake.requests == []
    # Each alone is refused the same way by client.edit (the rules are the same).
    for item, field in bad.values():
        params = {"model": "gpt-image-2", **{k: v for k, v in item.items() if k != "image"}}
        with pytest.raises(InvalidParameterError) as single:
            await client.edit("x", image=item["image"], **params)
        assert single.value.field.startswith(field)
    assert fake.requests == []
