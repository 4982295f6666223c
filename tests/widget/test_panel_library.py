"""The panel records every run into its ``Library``, off the landing path: generations, edits
(with their inputs), batches; ``library=False`` records nothing; a library that cannot be
written never loses the run (one quiet line says why); another process sees the runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from widget_parts import part, shown, text

from comet_widgets import Generation, ImageGenerator, InvalidParameterError, Library
from comet_widgets.testing import FakeAPI

MakePanel = Callable[..., ImageGenerator]
WaitUntil = Callable[..., float]

REPO = Path(__file__).resolve().parents[2]


def in_a_new_process(code: str) -> str:
    """What ``code`` prints, run by a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=True,
    )
    return done.stdout


def entries(library: Library, count: int, wait_until: WaitUntil) -> list[Any]:
    """The library's entries once it holds ``count`` (recording runs in the panel's thread)."""
    wait_until(lambda: len(library) >= count, timeout=10)
    return library.search(limit=100)


async def test_a_generation_is_recorded_with_its_provenance(
    make_panel: MakePanel, tmp_path: Path, wait_until: WaitUntil
) -> None:
    panel = make_panel(
        prompt="A lighthouse at dusk", model="gpt-image-2", n=2, library=tmp_path / "lib"
    )
    assert isinstance(panel.library, Library)
    assert panel.library.path == tmp_path / "lib"
    generation = await panel.generate()
    found = entries(panel.library, 2, wait_until)
    assert [e.index for e in found] == [1, 0]  # newest first: the last image recorded last
    for entry in found:
        assert entry.prompt == "A lighthouse at dusk"
        assert entry.model == "gpt-image-2"
        assert entry.params == generation.params
        assert entry.request_id == generation.request_id
        assert entry.elapsed == pytest.approx(generation.elapsed)
        assert entry.cost.usd == pytest.approx(generation.cost.usd)
        assert entry.thumbnail  # stored: browsing never decodes the image
        assert entry.image.size == generation.images[entry.index].image.size
    assert not shown(part(panel, "cw-library-notice"))


async def test_an_edit_is_recorded_with_its_inputs_and_mask(
    make_panel: MakePanel, tmp_path: Path, wait_until: WaitUntil
) -> None:
    import numpy as np

    panel = make_panel(prompt="make it winter", model="gpt-image-2", library=tmp_path / "lib")
    panel.inputs = [Image.new("RGB", (1024, 1024), (200, 30, 30))]
    mask = np.zeros((1024, 1024), dtype=bool)
    mask[:512] = True
    panel.mask = mask
    generation = await panel.edit()
    (entry,) = entries(panel.library, 1, wait_until)
    assert entry.prompt == "make it winter"
    assert len(entry.inputs) == 2  # the image, then the mask: the edit can be repeated
    assert all(path.is_file() for path in entry.inputs)
    sent = [generation.params["image"], generation.params["mask"]]
    hashes = [
        (item[0] if isinstance(item, list) else item)["sha256"] for item in sent
    ]  # as the client described what it sent
    assert entry.input_hashes == hashes


async def test_library_false_records_nothing(make_panel: MakePanel, tmp_path: Path) -> None:
    panel = make_panel(prompt="A boat", model="dall-e-2", library=False)
    assert panel.library is None
    await panel.generate()
    assert not shown(part(panel, "cw-library-notice"))
    assert not (tmp_path / "library").exists()


def test_the_default_library_is_the_environment_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COMET_WIDGETS_LIBRARY", str(tmp_path / "env-lib"))
    panel = ImageGenerator(offline=True)
    try:
        assert panel.library is not None
        assert panel.library.path == tmp_path / "env-lib"
    finally:
        panel.close()
    given = Library(tmp_path / "given")
    panel = ImageGenerator(offline=True, library=given)
    try:
        assert panel.library is given
    finally:
        panel.close()


def test_a_wrong_library_is_refused_naming_it() -> None:
    with pytest.raises(InvalidParameterError, match="library"):
        ImageGenerator(offline=True, library=42)  # type: ignore[arg-type]


class SlowLibrary(Library):
    """A library whose recording waits for ``release`` (the run must land before)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.release = threading.Event()
        self.threads: list[str] = []

    def add(self, generation: Generation, **kwargs: Any) -> Any:
        self.threads.append(threading.current_thread().name)
        self.release.wait(10)
        return super().add(generation, **kwargs)


async def test_landing_does_not_wait_for_the_library(
    make_panel: MakePanel, tmp_path: Path, wait_until: WaitUntil
) -> None:
    library = SlowLibrary(tmp_path / "slow")
    panel = make_panel(prompt="A boat", model="dall-e-2", n=2, library=library)
    try:
        generation = await panel.generate()
        assert panel.status == "done"
        assert panel.history == [generation]
        assert len(library) == 0  # still waiting: the run landed first
        wait_until(lambda: library.threads, timeout=5)
        assert library.threads[0].startswith("comet-library")
    finally:
        library.release.set()
    assert len(entries(library, 2, wait_until)) == 2


@pytest.mark.parametrize("damage", ["unwritable", "corrupt", "foreign"])
async def test_a_library_that_cannot_record_never_loses_the_run(
    make_panel: MakePanel, tmp_path: Path, wait_until: WaitUntil, damage: str
) -> None:
    folder = tmp_path / "lib"
    if damage == "unwritable":
        folder.write_text("a file where the folder should be")  # fails for root too
    else:
        folder.mkdir()
        if damage == "corrupt":
            (folder / "library.db").write_bytes(b"this is not a database" * 100)
        else:
            import sqlite3

            db = sqlite3.connect(folder / "library.db")
            db.execute("CREATE TABLE other (x)")
            db.commit()
            db.close()
    panel = make_panel(prompt="A boat", model="dall-e-2", n=2, library=folder)
    generation = await panel.generate()
    assert panel.status == "done"
    assert panel.history == [generation]
    assert len(panel.images) == 2
    notice = part(panel, "cw-library-notice")
    wait_until(lambda: shown(notice), timeout=10)
    said = text(panel, "cw-library-notice")
    assert said.startswith("The library could not record this run")
    assert str(folder) in said
    assert {"unwritable": "cannot", "corrupt": "damaged", "foreign": "not a comet"}[damage] in (
        said
    )
    # One line in words; the library's own reason (its path, a Python hint) behind Details.
    line, details = notice.value.split('<details class="cw-details">')
    assert str(folder) not in line, line
    assert "rebuild()" not in line, line
    assert str(folder) in details
    assert not shown(part(panel, "cw-error"))  # quiet: the run itself went well


async def test_another_process_sees_what_the_panel_recorded(
    make_panel: MakePanel, tmp_path: Path, wait_until: WaitUntil
) -> None:
    folder = tmp_path / "one-library"
    panel = make_panel(prompt="A kite over the dunes", model="dall-e-2", n=2, library=folder)
    first = await panel.generate()
    panel.prompt = "A fox in the snow"
    second = await panel.generate()
    entries(panel.library, 4, wait_until)
    code = textwrap.dedent(
        f"""
        import json
        from comet_widgets import Library
        lib = Library({str(folder)!r})
        print(json.dumps([[e.prompt, e.request_id, e.image.size[0]] for e in lib.search()]))
        print(json.dumps([e.prompt for e in lib.search("kite")]))
        """
    )
    seen, kites = (json.loads(line) for line in in_a_new_process(code).splitlines())
    assert [row[:2] for row in seen] == [
        ["A fox in the snow", second.request_id],
        ["A fox in the snow", second.request_id],
        ["A kite over the dunes", first.request_id],
        ["A kite over the dunes", first.request_id],
    ]
    assert all(row[2] > 0 for row in seen)
    assert kites == ["A kite over the dunes"] * 2


async def test_a_batch_is_recorded_item_by_item(
    make_panel: MakePanel, tmp_path: Path, wait_until: WaitUntil, app: FakeAPI
) -> None:
    panel = make_panel(model="dall-e-2", library=tmp_path / "lib")
    app.fail_next(1, 400)  # one prompt fails: the others keep their own item numbers
    prompts = ["a red kite", "a blue kite", "a green kite"]
    results = await panel.generate_many(prompts, output_dir=tmp_path / "b")
    assert len(results.succeeded) == 2
    found = entries(panel.library, 2, wait_until)
    assert {e.prompt for e in found} == {item.prompt for item in results.succeeded}
    assert all(e.item == prompts.index(e.prompt) for e in found), [
        (e.item, e.prompt) for e in found
    ]
    assert all(e.batch and e.batch.startswith("panel batch") for e in found)
