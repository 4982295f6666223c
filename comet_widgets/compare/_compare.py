"""``compare``: one prompt (or several) across models, qualities, sizes and options.

The grid is planned and checked first (``plan_grid``: nothing is sent for bad input), its
estimate is printed, then its cells run as one ``generate_many`` batch: concurrent, paced,
budgeted, resumable in ``output_dir`` through its manifest, each cell requested (and billed)
once. Cells the catalogue refuses are never sent. The sheet is drawn in a thread, so awaiting a
comparison never holds the event loop for Pillow.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._constants import COMPARE_MAX_CELLS, DEFAULT_MODEL
from .._types import ImageParams, signed
from ._comparison import Comparison
from ._grid import Cell, Grid, plan_grid

if TYPE_CHECKING:
    from ..batch._progress import Progress, ProgressCallback
    from ..batch._results import BatchItem
    from ..batch._run import PayloadClient
    from ..library._library import Library

__all__ = ["SHEET_NAME", "TABLE_NAME", "compare", "compare_grid", "fill_cell", "run_grid"]

#: What ``compare(output_dir=...)`` writes beside the images and the manifest.
SHEET_NAME = "comparison.png"
TABLE_NAME = "comparison.csv"


def fill_cell(cell: Cell, item: BatchItem) -> None:
    """Record what became of ``cell``'s request (``item``, from the batch). A failure is said in
    a few words: the status and what the server said, when it said something (the full
    message, with what to do, stays in the manifest)."""
    cell.item = item
    if item.over_budget:
        cell.status, cell.error = "over budget", "over budget: not sent"
    elif item.ok:
        cell.status, cell.error = "ok", None
    else:
        said = str(getattr(item.exception, "server_message", "") or "").strip()
        status = getattr(item.exception, "status_code", None)
        short = f"HTTP {status}: {said}" if said and status else said
        cell.status = "failed"
        cell.error = short or str((item.error or {}).get("message") or "no image came back")


async def run_grid(
    grid: Grid,
    *,
    client: PayloadClient | None,
    on_cell: Callable[[Cell], object] | None = None,
    **batch: Any,
) -> None:
    """Send every sendable cell of ``grid`` through ``generate_many`` (``batch`` are its
    options) and fill the cells as their answers land; ``on_cell(cell)`` (sync or async) is
    called for each."""
    from ..batch._generate import generate_many

    sendable = grid.sendable
    items = [{**cell.params, "meta": {"cell": cell.index}} for cell in sendable]

    def landed(item: BatchItem) -> object:
        cell = sendable[item.index]
        fill_cell(cell, item)
        return None if on_cell is None else on_cell(cell)  # generate_many awaits a coroutine

    results = await generate_many(items, client=client, on_result=landed, **batch)
    for item in results:  # every item, also one on_result did not see (a cancelled run)
        fill_cell(sendable[item.index], item)


@signed(ImageParams, model=DEFAULT_MODEL, annotate=lambda kind: f"{kind} | list")
async def compare(
    prompts: str | Iterable[str],
    *,
    client: PayloadClient | None = None,
    max_cells: int = COMPARE_MAX_CELLS,
    layout: Sequence[str] | None = None,
    budget_usd: float | None = None,
    output_dir: str | os.PathLike[str] | None = None,
    resume: bool | None = None,
    concurrency: int = 4,
    requests_per_minute: float | None = None,
    progress: bool | ProgressCallback | Progress = False,
    quiet: bool = False,
    on_cell: Callable[[Cell], object] | None = None,
    library: Library | None = None,
    **axes: Any,
) -> Comparison:
    """Generate the product of the axes and return it as a labelled ``Comparison``.

    ``prompts`` is one prompt or a list (the ``prompt`` axis); every generation parameter of
    ``ImageParams`` may be given as one value (shared by every cell) or a list (an axis):
    ``compare(["a fox", "a lighthouse"], model=["gpt-image-2", "gpt-image-2.5-flare"],
    quality=["low", "high"], size="1024x1024")`` makes 8 cells. Two axes make rows and
    columns, a third one sheet per value; ``layout`` names the axes in that order instead
    (rows, columns, then sheets).

    Each cell is checked as the client checks a request (``build_payload``). A cell the model
    refuses (a quality it lacks) is "not applicable": marked in the sheet and the data, never
    sent. The rest run as one ``generate_many`` batch (``client``, ``concurrency``,
    ``requests_per_minute``, ``progress`` are its): ``budget_usd`` caps what it spends (a cell
    that would pass it is "over budget", not sent), ``output_dir`` keeps the images and the
    manifest there, so running the same comparison again (after a crash, or with a larger
    budget) sends only the cells not done yet (``resume``, on by default with a folder); the
    sheet (``comparison.png``) and one CSV line per cell (``comparison.csv``) are written there
    at the end. A failed cell keeps its short error and the others go on. Before anything is
    sent one line gives the cells and their estimated cost (``quiet=True`` leaves it out).
    ``on_cell(cell)`` (sync or async) is called as each cell lands. With ``library`` every new
    image is recorded there as one run (its batch name is the folder's, else
    ``compare-<time>``).

    Raises ``InvalidParameterError`` before anything is sent for an unknown parameter name, an
    axis with no values (or a value listed twice), more than ``max_cells`` cells, a bad
    ``layout``, a value refused on every cell it is in, or no cell to send; and what
    ``generate_many`` raises (``MissingAPIKeyError`` without a client or a key...).
    """
    prices = getattr(client, "prices", None)
    grid = plan_grid(prompts, axes, max_cells=max_cells, layout=layout, prices=prices)
    if not quiet:
        budget = f" (budget ${budget_usd:g})" if budget_usd is not None else ""
        print(f"compare: {grid.describe()}{budget}")
    return await compare_grid(
        grid,
        client=client,
        on_cell=on_cell,
        library=library,
        budget_usd=budget_usd,
        output_dir=output_dir,
        resume=resume,
        concurrency=concurrency,
        requests_per_minute=requests_per_minute,
        progress=progress,
    )


async def compare_grid(
    grid: Grid,
    *,
    output_dir: str | os.PathLike[str] | None = None,
    budget_usd: float | None = None,
    library: Library | None = None,
    **batch: Any,
) -> Comparison:
    """``compare`` of a grid already planned (``plan_grid``): run its cells (``run_grid``;
    ``batch`` are its options), then draw the sheet and write it and the CSV."""
    folder = Path(output_dir) if output_dir is not None else None
    started = time.monotonic()
    await run_grid(grid, budget_usd=budget_usd, output_dir=folder, **batch)
    comparison = Comparison(
        grid, output_dir=folder, budget_usd=budget_usd, elapsed=time.monotonic() - started
    )
    await asyncio.to_thread(_finish, comparison, folder, library)
    return comparison


def _finish(comparison: Comparison, folder: Path | None, library: Library | None) -> None:
    """Draw the sheet; write it and the CSV into ``folder``; record new images in ``library``
    (in a thread: Pillow and file writes)."""
    comparison.render()
    if folder is not None:
        from ..images._metadata import write_file

        comparison.save(folder / SHEET_NAME)
        write_file(folder / TABLE_NAME, comparison.to_csv().encode("utf-8"))
    if library is not None:
        run = folder.name if folder is not None else time.strftime("compare-%Y%m%d-%H%M%S")
        for cell in comparison.cells:
            generation = cell.generation
            if cell.status == "ok" and generation is not None and not cell.resumed:
                library.add(generation, batch=run, item=cell.index)
