"""``compare`` against the loopback fake: the product of the axes is what the fake receives,
cells a model refuses are never sent, a failed cell keeps its error apart, a second run resumes
without paying any cell twice, the budget holds, and the sheet is labelled as the data says."""

from __future__ import annotations

import itertools
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from comet_widgets import (
    AsyncImageClient,
    Comparison,
    InvalidParameterError,
    Library,
    MissingDependencyError,
    compare,
    estimate_cost,
    read_metadata,
)
from comet_widgets._constants import COMPARE_CELL_SIDE
from comet_widgets.batch._manifest import MANIFEST_NAME, read_manifest
from comet_widgets.testing import FakeAPI

PROMPTS = ["a red fox in snow", "a lighthouse at dusk"]
MODELS = ["gpt-image-2", "gpt-image-2.5-flare"]


def sent(fake: FakeAPI) -> list[dict[str, Any]]:
    """The bodies of the generations the fake received."""
    return [r.json for r in fake.requests if r.path.endswith("/images/generations")]


def answered(fake: FakeAPI) -> Counter[tuple[str, str, str]]:
    """(prompt, model, quality) of every generation the fake answered with an image."""
    return Counter(
        (r.json["prompt"], r.json["model"], r.json.get("quality"))
        for r in fake.requests
        if r.path.endswith("/images/generations") and r.status == 200 and not r.fault
    )


async def test_the_cells_are_the_product_of_the_axes(
    client: AsyncImageClient, fake: FakeAPI
) -> None:
    grid = await compare(
        PROMPTS, client=client, model=MODELS, quality=["low", "high"], size="1024x1024", quiet=True
    )
    assert isinstance(grid, Comparison)
    product = set(itertools.product(PROMPTS, MODELS, ["low", "high"]))
    assert fake.generation_count == 8
    assert {(b["prompt"], b["model"], b["quality"]) for b in sent(fake)} == product
    assert all(b["size"] == "1024x1024" for b in sent(fake))
    assert grid.axes == {"prompt": PROMPTS, "model": MODELS, "quality": ["low", "high"]}
    assert grid.layout == {"rows": "prompt", "columns": "model", "sheets": ["quality"]}
    assert [c.status for c in grid.cells] == ["ok"] * 8
    assert grid.ok
    one = grid.cell(prompt=0, model="gpt-image-2.5-flare", quality="high")
    assert one is grid.cell(prompt="a red fox in snow", model="gpt-image-2.5-flare", quality="high")
    assert one.generation is not None
    assert one.generation.params["model"] == "gpt-image-2.5-flare"
    assert one.generation.params["quality"] == "high"
    assert one.image is not None
    assert one.image.size == (1024, 1024)
    frame = grid.to_pandas()
    assert list(frame.columns[:4]) == ["cell", "prompt", "model", "quality"]
    assert set(zip(frame["prompt"], frame["model"], frame["quality"], strict=True)) == product
    assert (frame["status"] == "ok").all()
    assert (frame["cost"] > 0).all()
    assert (frame["tokens"] > 0).all()
    assert frame["elapsed"].notna().all()
    assert frame["path"].isna().all()  # no output_dir: the images stay in memory
    assert grid.cost.usd == pytest.approx(frame["cost"].sum())
    with pytest.raises(InvalidParameterError, match="2 cells match"):
        grid.cell(model="gpt-image-2", quality="low")
    with pytest.raises(InvalidParameterError, match="not a value of this comparison"):
        grid.cell(prompt=0, model="dall-e-3", quality="low")
    with pytest.raises(InvalidParameterError, match="not an axis"):
        grid.cell(size="1024x1024")


async def test_cells_a_model_refuses_are_marked_and_never_sent(
    client: AsyncImageClient, fake: FakeAPI
) -> None:
    grid = await compare(
        "a paper boat", client=client, model=MODELS, quality=["low", "xhigh"], quiet=True
    )
    # xhigh: gpt-image-2.5 models only
    assert fake.generation_count == 3
    assert ("gpt-image-2", "xhigh") not in {(b["model"], b.get("quality")) for b in sent(fake)}
    refused = grid.cell(model="gpt-image-2", quality="xhigh")
    assert refused.status == "not applicable"
    assert refused.error == "quality 'xhigh' is not supported by gpt-image-2"
    assert refused.item is None
    assert refused.cost is None
    assert grid.counts() == {"ok": 3, "not applicable": 1}
    assert grid.ok  # every cell that could be sent succeeded
    rows = {(r["model"], r["quality"]): r for r in grid.to_records()}
    assert rows["gpt-image-2", "xhigh"]["status"] == "not applicable"
    assert rows["gpt-image-2", "xhigh"]["cost"] is None
    assert rows["gpt-image-2.5-flare", "xhigh"]["status"] == "ok"


async def test_a_failed_cell_keeps_its_short_error_and_the_others_go_on(
    client: AsyncImageClient, fake: FakeAPI
) -> None:
    fake.fail_next(1, 400, message="your prompt was refused", code="content_policy_violation")
    grid = await compare(
        "a paper boat", client=client, model=MODELS, quality=["low", "high"], concurrency=1,
        quiet=True,
    )  # fmt: skip
    failed = [c for c in grid.cells if c.status == "failed"]
    assert [c.index for c in failed] == [0]
    assert failed[0].error == "HTTP 400: your prompt was refused"
    assert [c.status for c in grid.cells[1:]] == ["ok"] * 3
    assert not grid.ok
    row = grid.to_records()[0]
    assert row["status"] == "failed"
    assert "your prompt was refused" in row["error"]
    assert grid.image.size == grid.sheets[0].size  # the failed cell is drawn, not dropped


class Stopped(Exception):
    pass


async def test_a_second_run_in_the_folder_sends_only_what_is_missing(
    client: AsyncImageClient, fake: FakeAPI, tmp_path: Path
) -> None:
    landed: list[int] = []

    def stop_after_two(cell: Any) -> None:
        landed.append(cell.index)
        if len(landed) == 2:
            raise Stopped  # an exception in on_cell stops the batch, as a kill would

    axes: dict[str, Any] = {"model": MODELS, "quality": ["low", "medium", "high"]}
    with pytest.raises(Stopped):
        await compare(
            "a paper boat", client=client, output_dir=tmp_path, concurrency=1,
            on_cell=stop_after_two, quiet=True, **axes,
        )  # fmt: skip
    first = answered(fake)
    done = len(read_manifest(tmp_path / MANIFEST_NAME))
    assert 2 <= done < 6
    assert sum(first.values()) == done
    grid = await compare("a paper boat", client=client, output_dir=tmp_path, quiet=True, **axes)
    assert grid.ok
    assert sum(c.resumed for c in grid.cells) == done
    # every cell answered exactly once over both runs: none paid twice
    assert answered(fake) == Counter(
        ("a paper boat", m, q) for m, q in itertools.product(MODELS, ["low", "medium", "high"])
    )
    frame = grid.to_pandas()
    assert frame["path"].map(lambda p: Path(p).is_file()).all()
    assert (tmp_path / "comparison.png").is_file()
    csv_lines = (tmp_path / "comparison.csv").read_text().splitlines()
    assert csv_lines[0].startswith("cell,model,quality,status,error,cost")
    assert len(csv_lines) == 7


async def test_the_budget_holds_and_the_estimate_is_printed_first(
    client: AsyncImageClient, fake: FakeAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    each = estimate_cost(prompt="a paper boat", quality="low", size="1024x1024").usd
    assert each is not None
    printed: list[str] = []
    grid = await compare(
        "a paper boat", client=client, model="gpt-image-2", quality="low",
        size=["1024x1024", "1024x1536", "1536x1024"],
        budget_usd=1.5 * each, concurrency=1,
        on_cell=lambda cell: printed.append(capsys.readouterr().out),
    )  # fmt: skip
    assert printed[0].startswith("compare: 3 cell(s), 3 to send: estimate about $")
    assert printed[0].rstrip().endswith(f"(budget ${1.5 * each:g})")
    assert fake.generation_count == 1
    assert [c.status for c in grid.cells] == ["ok", "over budget", "over budget"]
    assert grid.cells[1].error == "over budget: not sent"
    assert grid.cost.usd is not None
    assert grid.cost.usd <= 1.5 * each


async def test_the_sheet_is_laid_out_and_labelled_as_the_data_says(
    client: AsyncImageClient,
) -> None:
    two_by_two = await compare(
        PROMPTS, client=client, model=MODELS, size="1024x1024", quality="low", quiet=True
    )
    frame = two_by_two.to_pandas()
    assert two_by_two.headers == {
        "rows": list(dict.fromkeys(frame["prompt"])),
        "columns": list(dict.fromkeys(frame["model"])),
    }
    two_by_three = await compare(
        PROMPTS, client=client, model=[*MODELS, "gpt-image-2.5-sunburst"], size="1024x1024",
        quality="low", quiet=True,
    )  # fmt: skip
    width, height = two_by_two.image.size
    wider, same = two_by_three.image.size
    assert same == height
    pitch = wider - width
    assert COMPARE_CELL_SIDE < pitch < COMPARE_CELL_SIDE + 20  # one more column, one cell wide
    assert height > 2 * COMPARE_CELL_SIDE  # two rows
    # layout= turns it: models are now the rows
    turned = await compare(
        PROMPTS, client=client, model=[*MODELS, "gpt-image-2.5-sunburst"], size="1024x1024",
        quality="low", layout=["model", "prompt"], quiet=True,
    )  # fmt: skip
    assert turned.layout == {"rows": "model", "columns": "prompt", "sheets": []}
    assert turned.headers["rows"] == [*MODELS, "gpt-image-2.5-sunburst"]
    assert turned.image.height > height
    # a third axis: one sheet per value, stacked
    cube = await compare(
        PROMPTS, client=client, model=MODELS, size="1024x1024", quality=["low", "medium"],
        quiet=True,
    )  # fmt: skip
    assert len(cube.sheets) == 2
    assert cube.image.size == (width, 2 * height)
    # the labels are drawn: dark text over the last column and beside the first row, where
    # the sheet is otherwise white (the cells start about 100 px down, right of 170 px)
    sheet = two_by_two.image.convert("L")
    column_header = sheet.crop((width - COMPARE_CELL_SIDE, 25, width, 95))
    row_header = sheet.crop((0, 100, 160, 140))
    assert column_header.getextrema()[0] < 128  # type: ignore[index]
    assert row_header.getextrema()[0] < 128  # type: ignore[index]


async def test_save_writes_the_sheet_with_its_provenance(
    client: AsyncImageClient, tmp_path: Path
) -> None:
    grid = await compare(
        "a paper boat", client=client, model=MODELS, quality=["low", "xhigh"], quiet=True
    )
    path = grid.save(tmp_path / "boats")
    assert path == tmp_path / "boats.png"
    record = read_metadata(path)
    assert record["prompt"] == "a paper boat"
    assert record["software"].startswith("comet-widgets ")
    assert (record["width"], record["height"]) == grid.image.size
    assert record["comparison"]["axes"] == {"model": MODELS, "quality": ["low", "xhigh"]}
    statuses = [cell["status"] for cell in record["comparison"]["cells"]]
    assert statuses == ["ok", "not applicable", "ok", "ok"]
    from PIL import Image

    with Image.open(path) as saved:
        assert saved.size == grid.image.size
    bundle = grid._repr_mimebundle_()
    assert bundle["image/png"].startswith(b"\x89PNG")
    assert "2 model x 2 quality: 3 ok, 1 not applicable" in bundle["text/plain"]


async def test_the_library_records_the_comparison_as_one_run(
    client: AsyncImageClient, tmp_path: Path
) -> None:
    library = Library(tmp_path / "library")
    grid = await compare(
        "a paper boat", client=client, model=MODELS, quality=["low", "xhigh"],
        output_dir=tmp_path / "boats", library=library, quiet=True,
    )  # fmt: skip
    entries = library.search()
    assert len(entries) == 3
    assert {entry.batch for entry in entries} == {"boats"}
    assert {entry.item for entry in entries} == {c.index for c in grid.cells if c.status == "ok"}
    # a second run resumes everything: nothing new is recorded
    await compare(
        "a paper boat", client=client, model=MODELS, quality=["low", "xhigh"],
        output_dir=tmp_path / "boats", library=library, quiet=True,
    )  # fmt: skip
    assert len(library.search()) == 3
    library.close()


@pytest.mark.parametrize(
    ("prompts", "axes", "field", "words"),
    [
        ("a boat", {"model": []}, "model", "the model axis has no values"),
        ([], {}, "prompt", "the prompt axis has no values"),
        ("a boat", {"quality": ["low", "low"]}, "quality", "given twice"),
        ("a boat", {"qualty": ["low", "high"]}, "qualty", "did you mean 'quality'"),
        (
            [f"boat {i}" for i in range(5)],
            {"model": MODELS, "quality": ["low", "medium", "high", "auto"], "n": [1, 2]},
            "max_cells",
            "80 cells (5 prompt x 2 model x 4 quality x 2 n), more than max_cells=64",
        ),
        ("a boat", {"model": MODELS, "quality": ["low", "hd"]}, "quality", "refused on every"),
        ("a boat", {"model": MODELS, "quality": "hd"}, "quality", "no cell of the comparison"),
        ("a boat", {"model": MODELS, "layout": ["size"]}, "layout", "each axis of the"),
        ("a boat", {"max_cells": 0}, "max_cells", "a whole number of 1 or more"),
    ],
)
async def test_bad_input_is_refused_before_anything_is_sent(
    client: AsyncImageClient,
    fake: FakeAPI,
    prompts: Any,
    axes: dict[str, Any],
    field: str,
    words: str,
) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        await compare(prompts, client=client, quiet=True, **axes)
    assert caught.value.field == field
    assert words in str(caught.value)
    assert caught.value.allowed in str(caught.value)
    assert fake.generation_count == 0


async def test_max_cells_can_be_raised(client: AsyncImageClient, fake: FakeAPI) -> None:
    sizes = ["1024x1024", "1536x1024", "1024x1536"]
    with pytest.raises(InvalidParameterError, match="raise max_cells= to 6"):
        await compare("a boat", client=client, model=MODELS, size=sizes, max_cells=5)
    grid = await compare(
        "a boat", client=client, model=MODELS, size=sizes, quality="low", max_cells=6, quiet=True
    )
    assert len(grid.cells) == 6
    assert fake.generation_count == 6


async def test_to_pandas_without_pandas_says_what_to_install(
    client: AsyncImageClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    grid = await compare("a boat", client=client, model=MODELS, quality="low", quiet=True)
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(MissingDependencyError, match="pip install pandas"):
        grid.to_pandas()
    assert [row["model"] for row in grid.to_records()] == MODELS
