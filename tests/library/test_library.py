"""The library: recording generations from the fake, searching, curating, exporting, rebuilding."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from comet_widgets import (
    AsyncImageClient,
    CometError,
    GeneratedImage,
    Generation,
    InvalidParameterError,
    Library,
    LibraryEntry,
    LibraryError,
    generate_many,
)
from comet_widgets.testing import FakeAPI

CHEAP = {"model": "gpt-image-2", "size": "1024x1024", "quality": "low"}


async def test_a_generation_is_recorded_with_its_provenance(
    client: AsyncImageClient, fake: FakeAPI, tmp_path: Path
) -> None:
    fake.silent_changes = {"prompt": "A lighthouse at dusk, oil painting"}
    generation = await client.generate("A lighthouse", n=2, **CHEAP)
    lib = Library(tmp_path / "lib")
    entries = lib.add(generation, batch="b1", item=3)
    assert [e.index for e in entries] == [0, 1]
    first = entries[0]
    assert isinstance(first, LibraryEntry)
    assert first.prompt == "A lighthouse"
    assert first.revised_prompt == "A lighthouse at dusk, oil painting"
    assert first.model == "gpt-image-2"
    assert first.params == generation.params
    assert first.request_id == generation.request_id
    assert first.cost == generation.cost
    assert first.usage == generation.usage
    assert first.elapsed == pytest.approx(generation.elapsed)
    assert first.created.timestamp() == generation.created
    assert first.mismatches == generation.images[0].mismatches
    assert (first.batch, first.item, first.starred, first.missing) == ("b1", 3, False, False)
    assert first.path.read_bytes().startswith(b"\x89PNG")
    assert first.image.size == (1024, 1024)
    with Image.open(io.BytesIO(first.thumbnail)) as thumb:
        assert max(thumb.size) == 256
    # The file carries its provenance, as any saved image does.
    from comet_widgets import read_metadata

    assert read_metadata(first.path)["prompt"] == "A lighthouse"


async def test_a_restarted_process_sees_what_an_earlier_one_recorded(
    client: AsyncImageClient, tmp_path: Path
) -> None:
    Library(tmp_path).add(await client.generate("A red kite", **CHEAP))
    assert _in_another_process(tmp_path) == "1 A red kite (1024, 1024)"


def _in_another_process(folder: Path) -> str:
    code = (
        "from comet_widgets import Library; import sys;"
        "hits = Library(sys.argv[1]).search('kite');"
        "print(len(hits), hits[0].prompt, hits[0].image.size)"
    )
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    out = subprocess.run(
        [sys.executable, "-c", code, str(folder)], capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_the_library_folder_comes_from_the_argument_the_environment_or_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMET_WIDGETS_LIBRARY", str(tmp_path / "env"))
    assert Library().path == tmp_path / "env"
    assert Library(tmp_path / "given").path == tmp_path / "given"
    monkeypatch.delenv("COMET_WIDGETS_LIBRARY")
    import platformdirs

    assert Library().path.is_relative_to(platformdirs.user_data_dir("comet-widgets"))


async def _three(client: AsyncImageClient, lib: Library) -> list[LibraryEntry]:
    entries = lib.add(await client.generate("A lighthouse on a cliff", **CHEAP))
    entries += lib.add(await client.generate("A red kite over the sea", model="dall-e-2"))
    entries += lib.add(await client.generate("Lighthouses in fog", **CHEAP))
    return entries


async def test_search_filters_star_and_collections(
    client: AsyncImageClient, tmp_path: Path
) -> None:
    lib = Library(tmp_path)
    cliff, kite, fog = await _three(client, lib)
    newest_first = [e.id for e in lib.search()]
    assert newest_first == [fog.id, kite.id, cliff.id]
    assert {e.id for e in lib.search("cliff lighthouse")} == {cliff.id}
    assert {e.id for e in lib.search("CLIFF")} == {cliff.id}
    assert lib.search("cliffs") == []
    assert {e.id for e in lib.search("lighth")} == {cliff.id, fog.id}  # a word's start
    assert [e.id for e in lib.search("red sea")] == [kite.id]  # every word, any order
    assert [e.id for e in lib.search('kite "(')] == [kite.id]  # text, never query syntax
    assert lib.search("kite OR cliff") == []  # OR is a word here, not an operator
    assert [e.id for e in lib.search(model="dall-e-2")] == [kite.id]
    assert [e.id for e in lib.search(limit=1, offset=1)] == [kite.id]
    assert lib.search(since=fog.created.timestamp() + 10) == []
    assert len(lib.search(until=fog.created)) == 3
    lib.star([cliff, fog])
    assert cliff.starred
    assert [e.id for e in lib.search("lighth", starred=True)] == [fog.id, cliff.id]
    lib.star(fog, on=False)
    assert [e.id for e in lib.search(starred=True)] == [cliff.id]
    assert lib.get(fog.id).starred is False
    lib.add_to("coast", [cliff, kite])
    lib.add_to("coast", [cliff])  # twice is once
    lib.add_to("fog", [fog.id])
    assert lib.collections == {"coast": 2, "fog": 1}
    assert [e.id for e in lib.search(collection="coast")] == [kite.id, cliff.id]
    assert len(lib) == 3


@pytest.mark.parametrize(
    ("options", "field"),
    [({"limit": -1}, "limit"), ({"offset": "2"}, "offset"), ({"since": "yesterday"}, "since")],
)
def test_bad_search_arguments_are_refused(
    tmp_path: Path, options: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        Library(tmp_path).search(**options)  # type: ignore[arg-type]
    assert caught.value.field == field


async def test_delete_removes_a_file_only_when_no_other_entry_uses_it(
    client: AsyncImageClient, tmp_path: Path
) -> None:
    lib = Library(tmp_path)
    generation = await client.generate("A boat", **CHEAP)
    [first] = lib.add(generation)
    [second] = lib.add(generation)  # the same bytes: one file
    assert first.path == second.path
    assert lib.delete(first) == 1
    assert second.path.is_file()
    assert lib.get(second.id).thumbnail
    assert lib.delete([second.id]) == 1
    assert not second.path.exists()
    assert len(lib) == 0
    with pytest.raises(LibraryError, match="no entry"):
        lib.get(second.id)


async def test_an_edit_keeps_its_inputs_so_it_can_be_repeated(
    client: AsyncImageClient, tmp_path: Path
) -> None:
    buffer = io.BytesIO()
    Image.new("RGBA", (64, 64), (200, 10, 10, 255)).save(buffer, "PNG")
    source = buffer.getvalue()
    edit = await client.edit("Make it blue", image=source, **CHEAP)
    lib = Library(tmp_path)
    [entry] = lib.add(edit, inputs=[source])
    [sent] = entry.params["image"]
    assert [p.read_bytes() for p in entry.inputs] == [source]
    assert entry.inputs[0].name == sent["sha256"]
    lib.delete(entry)
    assert not entry.inputs[0].exists()


async def test_a_file_deleted_by_hand_marks_the_entry_missing(
    client: AsyncImageClient, tmp_path: Path
) -> None:
    lib = Library(tmp_path)
    [entry] = lib.add(await client.generate("A boat", **CHEAP))
    entry.path.unlink()
    [found] = lib.search()
    assert found.missing
    assert found.thumbnail  # browsing still works
    with pytest.raises(LibraryError, match="deleted"):
        _ = found.image


async def test_export_as_zip_and_as_an_imagefolder(
    client: AsyncImageClient, tmp_path: Path
) -> None:
    lib = Library(tmp_path / "lib")
    entries = await _three(client, lib)
    folder = lib.export(entries, tmp_path / "out")
    lines = [json.loads(line) for line in (folder / "metadata.jsonl").read_text().splitlines()]
    assert [line["prompt"] for line in lines] == [e.prompt for e in entries]
    assert len({tuple(line) for line in lines}) == 1  # the same columns on every line
    for line in lines:
        assert (folder / line["file_name"]).is_file()
        assert all(not isinstance(v, (dict, list)) for v in line.values())
        assert json.loads(line["params"])["prompt"] == line["prompt"]
    archive = lib.export(entries[:2], tmp_path / "two.zip")
    with zipfile.ZipFile(archive) as opened:
        names = opened.namelist()
        lines = [json.loads(x) for x in opened.read("metadata.jsonl").splitlines()]
    assert sorted(names) == sorted([line["file_name"] for line in lines] + ["metadata.jsonl"])


async def test_to_pandas_has_one_row_per_image(client: AsyncImageClient, tmp_path: Path) -> None:
    lib = Library(tmp_path)
    lib.add(await client.generate("Two kites", n=2, **CHEAP))
    frame = lib.to_pandas()
    assert len(frame) == 2
    assert {"prompt", "model", "params", "cost_usd", "request_id", "path", "created"} <= set(
        frame.columns
    )
    assert str(frame["created"].dtype).startswith("datetime64")


def test_to_pandas_without_pandas_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from comet_widgets import MissingDependencyError

    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas now fails
    with pytest.raises(MissingDependencyError, match="pip install pandas"):
        Library(tmp_path).to_pandas()


async def test_rebuild_recreates_the_database_from_the_files(
    client: AsyncImageClient, tmp_path: Path
) -> None:
    lib = Library(tmp_path)
    before = await _three(client, lib)
    lib.star(before)
    lib.add_to("coast", before)
    lib.close()
    (tmp_path / "library.db").write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(LibraryError, match=r"rebuild\(\)"):
        Library(tmp_path).search()
    fresh = Library(tmp_path)
    assert fresh.rebuild() == 3
    after = fresh.search()
    assert sorted(e.prompt for e in after) == sorted(e.prompt for e in before)
    by_prompt = {e.prompt: e for e in after}
    for old in before:
        new = by_prompt[old.prompt]
        assert (new.params, new.request_id, new.cost, new.created) == (
            old.params,
            old.request_id,
            old.cost,
            old.created,
        )
    assert _files(tmp_path, "library.db.old-*")  # the damaged file is kept
    assert fresh.search(starred=True) == []  # stars and collections start empty
    assert fresh.collections == {}


async def test_import_batch_records_a_generate_many_folder(
    client: AsyncImageClient, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    await generate_many(["a gull", "a crab"], client=client, output_dir=out, **CHEAP)
    lib = Library(tmp_path / "lib")
    added = lib.import_batch(out)
    assert sorted(e.prompt for e in added) == ["a crab", "a gull"]
    assert {e.batch for e in added} == {"run"}
    assert {e.item for e in added} == {0, 1}
    assert lib.import_batch(out) == []  # already there
    with pytest.raises(LibraryError, match="manifest"):
        lib.import_batch(tmp_path)


def test_a_foreign_or_newer_database_is_refused_untouched(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    with sqlite3.connect(foreign / "library.db") as db:
        db.execute("CREATE TABLE notes (text)")
    with pytest.raises(LibraryError, match="another program"):
        Library(foreign).search()
    newer = tmp_path / "newer"
    Library(newer).search()
    with sqlite3.connect(newer / "library.db") as db:
        db.execute("PRAGMA user_version = 99")
    with pytest.raises(LibraryError, match="newer comet-widgets"):
        Library(newer).search()


async def test_a_library_that_cannot_be_written_raises_a_comet_error(
    client: AsyncImageClient, tmp_path: Path
) -> None:
    generation = await client.generate("A boat", **CHEAP)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(CometError, match=r"cannot write to the library.*intact"):
        Library(blocker / "lib").add(generation)
    assert generation.images[0].ok  # the run itself is intact


async def test_the_key_is_in_no_file_of_the_library(
    fake_server: object, fake: FakeAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = "sk-library-secret-0123456789"
    monkeypatch.setenv("COMETAPI_KEY", key)
    fake.silent_changes = {"prompt": f"echoing {key}"}  # the service echoes the key
    async with AsyncImageClient(base_url=fake_server.base_url) as client:  # type: ignore[attr-defined]
        generation = await client.generate("A boat", n=2, **CHEAP)
    lib = Library(tmp_path)
    lib.add(generation)
    lib.close()
    files = _files(tmp_path, "**/*")
    assert len(files) >= 3
    for path in files:
        assert key.encode() not in path.read_bytes(), path


def _files(folder: Path, pattern: str) -> list[Path]:
    return [path for path in folder.glob(pattern) if path.is_file()]


async def test_without_fts5_search_falls_back_to_like(
    client: AsyncImageClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from comet_widgets.library import _store

    monkeypatch.setattr(_store, "has_fts5", lambda: False)  # an SQLite built without FTS5
    lib = Library(tmp_path)
    cliff, kite, fog = await _three(client, lib)
    assert lib.full_text is False
    assert {e.id for e in lib.search("LIGHTH")} == {cliff.id, fog.id}
    assert [e.id for e in lib.search("red sea")] == [kite.id]
    assert lib.search("100%_") == []  # LIKE's wildcards are text
    assert [e.id for e in lib.search("fog", model="gpt-image-2")] == [fog.id]


async def test_the_docs_example_runs(
    client: AsyncImageClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = (Path(__file__).parents[2] / "docs" / "python-api.md").read_text(encoding="utf-8")
    section = page.split("\n## Library\n", 1)[1].split("\n## ", 1)[0]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    monkeypatch.setenv("COMET_WIDGETS_LIBRARY", str(tmp_path / "lib"))
    monkeypatch.chdir(tmp_path)
    names = {"generation": await client.generate("A lighthouse", **CHEAP)}
    exec(code, names)
    assert names["lib"].path == tmp_path / "lib"
    assert names["lib"].collections == {"coast": 1}
    with zipfile.ZipFile(tmp_path / "lighthouses.zip") as archive:
        assert len(archive.namelist()) == 2


_LOAD = """
import sys, datasets
data = datasets.load_dataset("imagefolder", data_dir=sys.argv[1], split="train")
print(data.num_rows, sorted(data.column_names)[:3], data[0]["image"].size, data[0]["prompt"])
"""


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_hugging_face_datasets_loads_an_export_offline(
    client: AsyncImageClient, tmp_path: Path
) -> None:
    import importlib.util

    if importlib.util.find_spec("datasets") is None:
        pytest.skip("datasets is not installed (the dev extra adds it)")
    lib = Library(tmp_path / "lib")
    entries = lib.add(await client.generate("A lighthouse", n=2, **CHEAP))
    folder = lib.export(entries, tmp_path / "dataset")
    assert _load_offline(folder, tmp_path / "hf") == "2 ['batch', 'cost_basis', 'cost_usd']"


def _load_offline(folder: Path, home: Path) -> str:
    offline = {"HF_DATASETS_OFFLINE": "1", "HF_HUB_OFFLINE": "1", "HF_HOME": str(home)}
    out = subprocess.run(
        [sys.executable, "-c", _LOAD, str(folder)],
        capture_output=True,
        text=True,
        env={**os.environ, **offline},
        timeout=150,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    count, rest = out.stdout.strip().split(" ", 1)
    assert rest.endswith("(1024, 1024) A lighthouse"), rest
    return f"{count} {rest.split(']')[0]}]"


def test_bad_arguments_to_add_are_refused(tmp_path: Path) -> None:
    lib = Library(tmp_path)
    with pytest.raises(InvalidParameterError) as caught:
        lib.add("a lighthouse")  # type: ignore[arg-type]
    assert caught.value.field == "generation"
    generation = Generation(prompt="p", model="m", created=1, images=[], params={})
    with pytest.raises(InvalidParameterError) as caught:
        lib.add(generation, inputs=["photo.png"])  # type: ignore[list-item]
    assert caught.value.field == "inputs"
    with pytest.raises(InvalidParameterError) as caught:
        lib.search(42)  # type: ignore[arg-type]
    assert caught.value.field == "text"


def test_a_damaged_image_is_kept_without_a_thumbnail(tmp_path: Path) -> None:
    cut = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40  # a PNG cut short: Pillow cannot decode it
    image = GeneratedImage(index=0, data=cut, format="png", width=8, height=8)
    generation = Generation(prompt="cut", model="m", created=1, images=[image], params={})
    lib = Library(tmp_path)
    [entry] = lib.add(generation)
    assert entry.path.read_bytes() == cut
    assert entry.thumbnail == b""
    assert lib.rebuild() == 1  # its provenance is in the sidecar
    assert lib.search("cut")[0].thumbnail == b""


def test_libraries_opening_one_new_database_at_once_all_open(tmp_path: Path) -> None:
    """Several kernels opening one new library together each open it. Two races failed one:
    turning the new database to WAL takes an exclusive lock, and SQLite answers 'database is
    locked' at once (no busy wait) to the opener that would deadlock; and an opener that read
    the application id before another's creation committed, and the table count after it, took
    the library for another program's database."""
    import threading

    failures: list[BaseException] = []
    for attempt in range(50):
        folder = tmp_path / str(attempt)
        start = threading.Barrier(6)

        def open_it(folder: Path = folder, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                library = Library(folder)
                len(library)
                library.close()
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=open_it) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []
