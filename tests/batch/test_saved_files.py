"""Files a batch writes: modes that respect the umask, and metadata written once on re-save."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from comet_widgets import AsyncImageClient, generate_many, read_metadata
from comet_widgets.batch._manifest import MANIFEST_NAME

CHEAP = {"model": "dall-e-2", "size": "256x256"}


@pytest.fixture(params=[0o022, 0o027])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_saved_images_respect_the_umask(
    client: AsyncImageClient, tmp_path: Path, umask: int
) -> None:
    results = await generate_many(
        ["a heron"], client=client, **CHEAP, output_dir=tmp_path, sidecar=True
    )
    [image] = results[0].generation.images  # type: ignore[union-attr]
    files = [p for p in tmp_path.rglob("*") if p.is_file()]  # noqa: ASYNC240 - a few files
    assert files
    expected = 0o666 & ~umask
    for path in files:
        assert mode(path) == expected, (path.name, oct(mode(path)), oct(expected))
    again = image.save(tmp_path / "copy.png")
    assert mode(again) == expected
    assert mode(tmp_path / MANIFEST_NAME) == expected


async def test_saving_a_stored_image_again_writes_its_metadata_once(
    client: AsyncImageClient, tmp_path: Path
) -> None:
    results = await generate_many(["a heron"], client=client, **CHEAP, output_dir=tmp_path)
    [image] = results[0].generation.images  # type: ignore[union-attr]
    copy = image.save(tmp_path / "elsewhere" / "copy.png")
    data = copy.read_bytes()
    assert data.count(b"iTXtcomet-widgets\x00") == 1
    assert data.count(b"iTXtTitle\x00") == 1
    assert read_metadata(copy)["prompt"] == "a heron"
