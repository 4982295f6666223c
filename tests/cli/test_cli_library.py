"""``comet-images library search|show|export|import|rebuild`` over a library the fake filled."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from comet_widgets import AsyncImageClient, Library, generate_many
from comet_widgets.cli._main import main

CHEAP = {"model": "gpt-image-2", "size": "1024x1024", "quality": "low"}


async def _filled(client: AsyncImageClient, folder: Path) -> Library:
    lib = Library(folder)
    lib.add(await client.generate("A lighthouse on a cliff", **CHEAP))
    lib.add(await client.generate("A red kite", model="dall-e-2"))
    return lib


async def test_search_show_and_export(
    client: AsyncImageClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lib = await _filled(client, tmp_path / "lib")
    where = ["--library", str(lib.path)]
    assert main(["library", "search", "lighthouse", *where]) == 0
    shown = capsys.readouterr()
    assert "A lighthouse on a cliff" in shown.out
    assert "kite" not in shown.out
    assert "1 of 2 entries" in shown.err
    assert main(["library", "search", "--model", "dall-e-2", *where]) == 0
    assert "A red kite" in capsys.readouterr().out
    [kite] = lib.search("kite")
    assert main(["library", "show", str(kite.id), *where]) == 0
    record = json.loads(capsys.readouterr().out)
    assert (record["prompt"], record["model"]) == ("A red kite", "dall-e-2")
    archive = tmp_path / "all.zip"
    assert main(["library", "export", str(archive), *where]) == 0
    with zipfile.ZipFile(archive) as opened:
        assert len(opened.read("metadata.jsonl").splitlines()) == 2
    assert main(["library", "show", "999", *where]) == 1
    assert "error: the library at" in capsys.readouterr().err


async def test_import_and_rebuild(
    client: AsyncImageClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    await generate_many(["a gull", "a crab"], client=client, output_dir=run, **CHEAP)
    where = ["--library", str(tmp_path / "lib")]
    assert main(["library", "import", str(run), *where]) == 0
    assert "recorded 2 image(s)" in capsys.readouterr().out
    (tmp_path / "lib" / "library.db").write_bytes(b"garbage" * 1000)
    assert main(["library", "search", *where]) == 1
    assert "rebuild()" in capsys.readouterr().err  # one line, no traceback
    assert main(["library", "rebuild", *where]) == 0
    assert "2 entries" in capsys.readouterr().out
    assert main(["library", "import", str(tmp_path / "nowhere"), *where]) == 2
